"""`posthouse deliver dcp` (before registration: a local Typer app around the command)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from posthouse.cli.deliver_dcp import dcp, find_printmaster, parse_dubs
from posthouse.core.errors import UsageError

CPL = "{http://www.smpte-ra.org/schemas/429-7/2006/CPL}"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("dcp")(dcp)

    @app.callback()
    def _root() -> None:
        """posthouse deliver (test harness)."""

    return app


def _master(path: Path, frames: int, fps: Fraction, size: tuple[int, int], *, prores: bool = False) -> None:
    """A graded master: PNG (8-bit RGB) or, with ``prores``, ProRes 422 HQ (10-bit 4:2:2) with a ramp."""
    import av

    w, h = size
    with av.open(str(path), "w") as out:
        st = out.add_stream("prores_ks" if prores else "png", rate=fps)
        st.width, st.height, st.pix_fmt = w, h, "yuv422p10le" if prores else "rgb24"
        if prores:
            st.options = {"profile": "3"}
        for i in range(frames):
            img = np.full((h, w, 3), (90, 120, 150), np.uint8)
            img[:, : (i + 1) * 8] = 220
            if prores:  # a ramp, where an 8-bit decode of a 10-bit master would band
                img[h // 2 :] = np.linspace(0, 255, w, dtype=np.uint8)[None, :, None]
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            for pkt in st.encode(vf):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)


def _wav(path: Path, seconds: float, channels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((int(48000 * seconds), channels)) * 0.05).astype(np.float32)
    sf.write(str(path), data, 48000, subtype="PCM_24")


def test_parse_dubs_and_find_printmaster(tmp_path: Path) -> None:
    assert parse_dubs(["fr=a.wav", "de = b.wav"]) == {"fr": Path("a.wav"), "de": Path("b.wav")}
    with pytest.raises(UsageError, match="LANG=FILE"):
        parse_dubs(["fr"])
    with pytest.raises(UsageError, match="twice"):
        parse_dubs(["fr=a.wav", "fr=b.wav"])
    mix = tmp_path / "sound" / "film_v001" / "mix"
    (mix / "netflix").mkdir(parents=True)
    (mix / "netflix" / "film_v001_PM_51.wav").write_bytes(b"")
    assert find_printmaster(tmp_path, "film_v001") == mix / "netflix" / "film_v001_PM_51.wav"
    (mix / "cinema").mkdir()
    (mix / "cinema" / "film_v001_PM_51.wav").write_bytes(b"")
    assert find_printmaster(tmp_path, "film_v001") == mix / "cinema" / "film_v001_PM_51.wav"
    assert find_printmaster(tmp_path, "other_v001") is None


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        _app(), ["dcp", "--project", str(tmp_path / "nowhere"), "--master", "x.mov", "--dub", "fr"]
    )
    assert res.exit_code == 2, res.output


@pytest.mark.slow
def test_deliver_dcp_scope_2398_with_a_dub(tmp_path: Path) -> None:
    """A 2.39 master at 23.976 → scope DCP at 24 fps with a French VF; JSON; 2 encoder processes."""
    master = tmp_path / "film.mov"
    rate = Fraction(24000, 1001)
    _master(master, 48, rate, (478, 200))
    pm = tmp_path / "pm.wav"
    _wav(pm, 2.1, 6, 1)
    dub = tmp_path / "pm_fr.wav"
    _wav(dub, 2.1, 6, 2)
    out = tmp_path / "dcp"
    args = ["dcp", "--master", str(master), "--audio", str(pm), "--title", "My Film", "--kind", "trailer"]
    args += ["--out", str(out), "--jobs", "2", "--dub", f"fr={dub}", "--rating", "13", "--reel-seconds", "1"]
    args += ["--json"]
    args += ["--project", str(tmp_path / "no-project")]
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["name"].startswith("MyFilm_TLR-1_S_EN-XX_US-13_51_2K_PH_")
    assert data["container"] == "2048x858" and data["edit_rate"] == 24 and data["duration_frames"] == 48
    assert data["frames_encoded"] == 48 and data["reels"] == 2
    assert any("1001/1000" in n for n in data["notes"])
    [vf] = data["version_files"]
    assert vf["name"].startswith("MyFilm_TLR-1_S_FR-XX_US-13_51_2K_PH_") and vf["name"].endswith("_VF")
    assert vf["picture_id"] == data["picture_id"] and vf["reels"] == 2
    cpl = next(Path(data["path"]).glob("CPL_*.xml"))
    root = ET.parse(cpl).getroot()
    assert root.findtext(f"{CPL}ContentKind") == "trailer"
    assert root.findtext(f".//{CPL}MainPicture/{CPL}ScreenAspectRatio") == "2048 858"
    assert [d.text for d in root.iter(f"{CPL}Duration")][:3] == ["24", "24", "24"]  # markers, picture, sound
    assert len(root.findall(f"{CPL}ReelList/{CPL}Reel")) == 2
    # no timed text here, so ClairMeta runs as it is (it skips the MXF probing without asdcplib)
    import clairmeta

    for path, ov in ((data["path"], None), (vf["path"], data["path"])):
        _ok, report = clairmeta.DCP(path).check(ov_path=ov)
        errors = [f"{e.full_name()}: {e.message}" for e in report.errors_by_criticality("ERROR")]
        assert not errors, "\n".join(errors)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        [data["name"], vf["name"]]
    )


@pytest.mark.slow
def test_deliver_dcp_on_the_farm_matches_the_local_encode(tmp_path: Path) -> None:
    """`--farm local`: the frames of a 10-bit master are encoded in chunks on farm workers (scaled and
    pillarboxed like a local encode), make_dcp keeps all of them, and the picture is the local encode's."""
    import av

    master = tmp_path / "film.mov"
    _master(master, 12, Fraction(24), (320, 180), prores=True)
    runs = {}
    for how, extra in (("farm", ["--farm", "local"]), ("local", [])):
        out = tmp_path / how
        args = ["dcp", "--master", str(master), "--out", str(out), "--json", "--title", "Farm Test"]
        res = CliRunner().invoke(_app(), [*args, *extra, "--project", str(tmp_path / "no-project")])
        assert res.exit_code == 0, res.output
        runs[how] = json.loads(res.stdout)
    assert runs["farm"]["frames_resumed"] == 12 and runs["farm"]["frames_encoded"] == 0
    assert runs["local"]["frames_encoded"] == 12
    pictures = []
    for data in runs.values():
        mxf = next(Path(data["path"]).glob("j2c_*.mxf"))
        with av.open(str(mxf)) as c:
            pictures.append(np.stack([f.to_ndarray(format="rgb48le") for f in c.decode(video=0)]))
    assert pictures[0].shape == pictures[1].shape == (12, 1080, 1998, 3)
    # the same picture: the farm decodes the 10-bit master at full depth as the local encode does
    assert np.array_equal(pictures[0], pictures[1])
