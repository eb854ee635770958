"""ASC CDL math and interchange: .cdl/.cc/.ccc XML and EDL comments round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posthouse.core.errors import UsageError
from posthouse.finish.cdl import (
    Cdl,
    apply_cdl,
    cdl_to_xml,
    parse_cdl_xml,
    parse_edl_cdls,
    read_cdl_file,
    write_cdl_file,
    write_edl_cdls,
)

GRADE = Cdl("A001C003", (1.1, 1.0, 0.9), (0.01, 0.0, -0.02), (1.2, 1.0, 0.8), 0.85, "warm it up")
ODD = Cdl("B002_C010", (1.234567, 0.987654, 1.000001), (-0.123456, 0.05, 0.000001), (0.9, 1.1, 1.333333), 1.2)


def test_cdl_math_matches_hand_computed_values() -> None:
    px = np.array([[0.5, 0.5, 0.5], [0.0, 0.2, 1.0]], np.float32)
    got = apply_cdl(px, Cdl("", (1.2, 1.0, 0.8), (0.1, 0.0, -0.1), (2.0, 1.0, 0.5)))
    # R: (0.5*1.2+0.1)^2 = 0.49; G: 0.5; B: (0.5*0.8-0.1)^0.5 = sqrt(0.3)
    assert got[0] == pytest.approx([0.49, 0.5, np.sqrt(0.3)], abs=1e-6)
    # negative after offset (0*1.2+0.1 fine; 0.2; 1*0.8-0.1=0.7^0.5)
    assert got[1] == pytest.approx([0.01, 0.2, np.sqrt(0.7)], abs=1e-6)
    # clamp before power: a negative value becomes 0, never NaN
    neg = apply_cdl(
        np.array([[0.0, 0.0, 0.0]], np.float32), Cdl("", offset=(-0.1, 0.0, 0.0), power=(0.5, 1, 1))
    )
    assert neg[0, 0] == 0.0 and not np.isnan(neg).any()
    # saturation around Rec.709 luma: a grey stays grey, sat 0 gives luma
    sat0 = apply_cdl(np.array([[1.0, 0.0, 0.0]], np.float32), Cdl("", saturation=0.0))
    assert sat0[0] == pytest.approx([0.2126] * 3, abs=1e-6)
    grey = apply_cdl(np.full((1, 3), 0.4, np.float32), Cdl("", saturation=1.7))
    assert grey[0] == pytest.approx([0.4] * 3, abs=1e-6)


def test_cdl_math_matches_ocio_cdltransform() -> None:
    ocio = pytest.importorskip("PyOpenColorIO")
    rng = np.random.default_rng(3)
    px = rng.uniform(0.0, 1.0, (2000, 3)).astype(np.float32)
    t = ocio.CDLTransform()
    t.setSlope(list(GRADE.slope))
    t.setOffset(list(GRADE.offset))
    t.setPower(list(GRADE.power))
    t.setSat(GRADE.saturation)
    t.setStyle(ocio.CDL_ASC)  # v1.2 with clamping
    cfg = ocio.Config.CreateRaw()
    ref = px.copy()
    cfg.getProcessor(t).getDefaultCPUProcessor().applyRGB(ref)
    np.testing.assert_allclose(apply_cdl(px, GRADE, clamp=True), ref, atol=2e-5)
    t.setStyle(ocio.CDL_NO_CLAMP)  # agrees where slope/offset stay positive (OCIO passes negatives linearly)
    px = rng.uniform(0.05, 1.3, (2000, 3)).astype(np.float32)
    ref2 = px.copy()
    cfg.getProcessor(t).getDefaultCPUProcessor().applyRGB(ref2)
    np.testing.assert_allclose(apply_cdl(px, GRADE), ref2, atol=2e-5)


@pytest.mark.parametrize("kind", ["cc", "ccc", "cdl"])
def test_xml_round_trip_is_exact(kind: str) -> None:
    cdls = [GRADE] if kind == "cc" else [GRADE, ODD]
    text = cdl_to_xml(cdls, kind)
    assert "urn:ASC:CDL:v1.01" in text
    back = parse_cdl_xml(text)
    assert back == [c.rounded() for c in cdls]


def test_ccc_file_round_trip_and_independent_reader(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    path = write_cdl_file(tmp_path / "grades.ccc", [GRADE, ODD])
    assert read_cdl_file(path) == [GRADE.rounded(), ODD.rounded()]
    root = ET.parse(path).getroot()
    ns = {"a": "urn:ASC:CDL:v1.01"}
    assert root.tag == "{urn:ASC:CDL:v1.01}ColorCorrectionCollection"
    ccs = root.findall("a:ColorCorrection", ns)
    assert [c.get("id") for c in ccs] == ["A001C003", "B002_C010"]
    assert ccs[1].find("a:SOPNode/a:Slope", ns).text == "1.234567 0.987654 1.000001"  # type: ignore[union-attr]


def test_reads_v12_and_namespace_less_files() -> None:
    v12 = """<?xml version="1.0" encoding="UTF-8"?>
<ColorDecisionList xmlns="urn:ASC:CDL:v1.2">
  <ColorDecision>
    <ColorCorrection id="sh010">
      <SOPNode><Description>sop</Description>
        <Slope>1.1 1.2 1.3</Slope><Offset>0.1 0.2 0.3</Offset><Power>0.9 1.0 1.1</Power>
      </SOPNode>
      <SATNode><Saturation>0.7</Saturation></SATNode>
    </ColorCorrection>
  </ColorDecision>
</ColorDecisionList>"""
    (c,) = parse_cdl_xml(v12)
    assert c == Cdl("sh010", (1.1, 1.2, 1.3), (0.1, 0.2, 0.3), (0.9, 1.0, 1.1), 0.7, "sop")
    bare = "<ColorCorrection id='x'><SOPNode><Slope>2 2 2</Slope></SOPNode></ColorCorrection>"
    assert parse_cdl_xml(bare)[0].slope == (2.0, 2.0, 2.0)
    with pytest.raises(UsageError, match="Slope needs 3 values"):
        parse_cdl_xml("<ColorCorrection id='x'><SOPNode><Slope>2 2</Slope></SOPNode></ColorCorrection>")


RESOLVE_EDL = """TITLE: REEL 1 GRADE
FCM: NON-DROP FRAME

001  A001C003 V     C        10:00:01:00 10:00:03:00 01:00:00:00 01:00:02:00
* FROM CLIP NAME: A001C003_230101_R1AB.mov
*ASC_SOP (1.100000 1.000000 0.900000)(0.010000 0.000000 -0.020000)(1.200000 1.000000 0.800000)
*ASC_SAT 0.850000

002  B002C010 V     C        11:00:00:00 11:00:01:12 01:00:02:00 01:00:03:12
* FROM CLIP NAME: B002C010.mov
*ASC_SOP (0.95 1.02 1.08)(-0.01 0.00 0.015)(1.0 1.0 1.0)

003  BL       V     C        00:00:00:00 00:00:01:00 01:00:03:12 01:00:04:12

004  A001C004 V     C        10:00:05:00 10:00:06:00 01:00:04:12 01:00:05:12
004  A001C005 V     D    012 10:01:00:00 10:01:01:00 01:00:05:00 01:00:06:00
* FROM CLIP NAME: A001C005.mov
*ASC_SAT 1.1
"""


def test_parse_resolve_style_edl_comments() -> None:
    grades = parse_edl_cdls(RESOLVE_EDL)
    assert [g.event for g in grades] == [1, 2, 4]
    g1, g2, g4 = grades
    assert g1.clip_name == "A001C003_230101_R1AB.mov" and g1.reel == "A001C003"
    assert g1.cdl == Cdl("A001C003_230101_R1AB.mov", GRADE.slope, GRADE.offset, GRADE.power, GRADE.saturation)
    assert g2.cdl.slope == (0.95, 1.02, 1.08) and g2.cdl.offset == (-0.01, 0.0, 0.015)
    assert g2.cdl.saturation == 1.0
    assert g4.cdl.saturation == 1.1 and g4.cdl.slope == (1.0, 1.0, 1.0)


def test_edl_comment_round_trip_is_exact() -> None:
    stripped = write_edl_cdls(RESOLVE_EDL, {})
    assert "ASC_SOP" not in stripped and "ASC_SAT" not in stripped
    assert stripped.count("FROM CLIP NAME") == 3
    text = write_edl_cdls(stripped, {1: GRADE, "B002C010.mov": ODD, "BL": Cdl("bl", saturation=0.5)})
    back = {g.event: g.cdl for g in parse_edl_cdls(text)}
    assert set(back) == {1, 2, 3}
    for ev, src in ((1, GRADE), (2, ODD)):
        c = back[ev]
        assert (c.slope, c.offset, c.power, c.saturation) == (
            src.slope,
            src.offset,
            src.power,
            src.saturation,
        )
    # the events themselves are untouched: OTIO still reads the EDL
    otio_cmx = pytest.importorskip("opentimelineio")
    tl = otio_cmx.adapters.read_from_string(text, "cmx_3600", rate=24)
    assert len(list(tl.find_clips())) >= 4


def test_cdl_file_kinds_round_trip(tmp_path: Path) -> None:
    for suffix in (".cdl", ".ccc", ".edl", ".json"):
        p = write_cdl_file(tmp_path / f"x{suffix}", [GRADE, ODD])
        back = read_cdl_file(p)
        assert [(c.slope, c.offset, c.power, c.saturation) for c in back] == [
            (c.slope, c.offset, c.power, c.saturation) for c in (GRADE.rounded(), ODD.rounded())
        ], suffix
    with pytest.raises(UsageError, match="exactly one"):
        write_cdl_file(tmp_path / "two.cc", [GRADE, ODD])
    (tmp_path / "bad.ccc").write_text("<nope")
    with pytest.raises(UsageError, match="not valid XML"):
        read_cdl_file(tmp_path / "bad.ccc")


def test_cli_cdl_convert_ccc_to_edl_and_back(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from posthouse.cli.finish_grade import cdl_app

    app = typer.Typer()
    app.add_typer(cdl_app, name="cdl")
    ccc = write_cdl_file(tmp_path / "in.ccc", [GRADE, ODD])
    edl_template = tmp_path / "cut.edl"
    edl_template.write_text(write_edl_cdls(RESOLVE_EDL, {}))
    runner = CliRunner()
    res = runner.invoke(app, ["cdl", "convert", str(ccc), str(tmp_path / "out.edl")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["cdl", "convert", str(tmp_path / "out.edl"), str(tmp_path / "back.ccc")])
    assert res.exit_code == 0, res.output
    back = read_cdl_file(tmp_path / "back.ccc")
    assert [(c.slope, c.offset, c.power, c.saturation) for c in back] == [
        (c.slope, c.offset, c.power, c.saturation) for c in (GRADE, ODD)
    ]
    # into a real EDL, matched by reel / clip name
    renamed = write_cdl_file(tmp_path / "named.ccc", [GRADE.with_id("B002C010")])
    res = runner.invoke(
        app, ["cdl", "convert", str(renamed), str(tmp_path / "graded.edl"), "--edl", str(edl_template)]
    )
    assert res.exit_code == 0, res.output
    (g,) = parse_edl_cdls((tmp_path / "graded.edl").read_text())
    assert g.event == 2 and g.cdl.slope == GRADE.slope
