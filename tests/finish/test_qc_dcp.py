"""DCP QC: a two-reel SMPTE DCP built here (our MXF writer + hand-written CPL, PKL and ASSETMAP) is decoded by
FFmpeg through its MXF demuxer and checked: planted black found at its composition timecode, frame sizes
against 250 Mbit/s, 5.1 sound checks, loudness reported; broken DCPs (short sound, missing asset, changed
file, oversized frame, clipping) fail with the reel and place named."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import struct
import uuid
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import typer
from typer.testing import CliRunner

from posthouse.core.errors import UsageError
from posthouse.finish.dcp_picture import encode_j2k, rgb_to_xyz12
from posthouse.finish.mxf import write_picture_mxf, write_sound_mxf
from posthouse.finish.qc_dcp import is_dcp, read_cpl, run_dcp_qc
from posthouse.sound.loudness import LoudnessMeter

W, H, FPS, SR = 1998, 1080, 24, 48000
SPF = SR // FPS
REEL1, REEL2 = 48, 24  # frames
BLACK = (12, 36)  # reel 1 frames that are black


def codestreams(tmp: Path) -> tuple[list[bytes], bytes]:
    """Six distinct pictures (a disc moving over a still gradient) and a black frame, as cinema J2K."""
    x = np.linspace(0.15, 0.6, W)[None, :, None]
    base = np.broadcast_to(x, (H, W, 3)) * np.array([1.0, 0.9, 0.8])
    yy, xx = np.mgrid[0:H:1, 0:W:1]
    out = []
    for i in range(6):
        rgb = base.copy()
        rgb[((xx - 400 - 60 * i) ** 2 + (yy - 540) ** 2) < 90**2] = (0.7, 0.6, 0.3)
        p = tmp / f"p{i}.j2c"
        encode_j2k(rgb_to_xyz12(rgb), p)
        out.append(p.read_bytes())
    encode_j2k(np.zeros((H, W, 3), np.uint16), tmp / "black.j2c")
    return out, (tmp / "black.j2c").read_bytes()


def sound(frames: int, seed: int, clip_at: int | None = None) -> list[npt.NDArray[np.int32]]:
    """5.1 at about −20 dBFS: tones in L R C, 40 Hz in the LFE, noise in the surrounds; per-frame blocks."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames * SPF) / SR
    a = 0.1
    ch = [
        a * np.sin(2 * np.pi * 440 * t),
        a * np.sin(2 * np.pi * 554 * t),
        a * np.sin(2 * np.pi * 330 * t),
        a * np.sin(2 * np.pi * 40 * t),
        0.05 * rng.standard_normal(t.size),
        0.05 * rng.standard_normal(t.size),
    ]
    x = np.stack(ch, axis=1)
    if clip_at is not None:
        x[clip_at * SPF : clip_at * SPF + 200, 0] = 1.0
    pcm = np.clip(np.rint(x * (2**23 - 1)), -(2**23), 2**23 - 1).astype(np.int32)
    return [pcm[i * SPF : (i + 1) * SPF] for i in range(frames)]


def oversize(cs: bytes) -> bytes:
    """The same picture with 1.3 MB of COM marker segments after SIZ: still decodable, over the cap."""
    lsiz = struct.unpack(">H", cs[4:6])[0]
    at = 4 + lsiz
    com = b"".join(b"\xff\x64" + struct.pack(">HH", 65002, 1) + b"x" * 64998 for _ in range(21))
    return cs[:at] + com + cs[at:]


def urn(u: uuid.UUID) -> str:
    return f"urn:uuid:{u}"


def sha1_b64(p: Path) -> str:
    return base64.b64encode(hashlib.sha1(p.read_bytes()).digest()).decode()


def write_dcp(
    folder: Path,
    pics: list[bytes],
    black: bytes,
    *,
    sound_frames: tuple[int, int] = (REEL1, REEL2),
    big_frame: int | None = None,
    clip_at: int | None = None,
) -> Path:
    """A two-reel SMPTE OV: picture + 5.1 sound MXF per reel, CPL, PKL, ASSETMAP, VOLINDEX."""
    folder.mkdir(parents=True)
    rate = Fraction(FPS)
    reels = []
    for n, frames in enumerate((REEL1, REEL2), start=1):
        streams = []
        for i in range(frames):
            cs = black if n == 1 and BLACK[0] <= i < BLACK[1] else pics[i % len(pics)]
            if n == 2 and i == big_frame:
                cs = oversize(cs)
            streams.append(cs)
        pic = write_picture_mxf(folder / f"j2c_r{n}.mxf", streams, edit_rate=rate, width=W, height=H)
        snd = write_sound_mxf(
            folder / f"pcm_r{n}.mxf",
            sound(sound_frames[n - 1], n, clip_at if n == 2 else None),
            edit_rate=rate,
            channels=6,
            layout="5.1",
        )
        reels.append((pic, snd))
    cpl_id, pkl_id = uuid.uuid4(), uuid.uuid4()
    reel_xml = ""
    for pic, snd in reels:
        reel_xml += (
            f"<Reel><Id>{urn(uuid.uuid4())}</Id><AssetList>"
            f"<MainPicture><Id>{urn(pic.asset_id)}</Id><EditRate>24 1</EditRate>"
            f"<IntrinsicDuration>{pic.duration}</IntrinsicDuration><EntryPoint>0</EntryPoint>"
            f"<Duration>{pic.duration}</Duration><FrameRate>24 1</FrameRate>"
            f"<ScreenAspectRatio>1998 1080</ScreenAspectRatio></MainPicture>"
            f"<MainSound><Id>{urn(snd.asset_id)}</Id><EditRate>24 1</EditRate>"
            f"<IntrinsicDuration>{snd.duration}</IntrinsicDuration><EntryPoint>0</EntryPoint>"
            f"<Duration>{snd.duration}</Duration></MainSound></AssetList></Reel>"
        )
    title = "QcTest_FTR-1_F_EN-XX_51_2K_20261124_SMPTE_OV"
    (folder / "CPL.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CompositionPlaylist xmlns="http://www.smpte-ra.org/schemas/429-7/2006/CPL">'
        f"<Id>{urn(cpl_id)}</Id><AnnotationText>{title}</AnnotationText>"
        f"<IssueDate>2026-11-24T12:00:00+00:00</IssueDate><Creator>test</Creator>"
        f"<ContentTitleText>{title}</ContentTitleText><ContentKind>feature</ContentKind>"
        f"<ReelList>{reel_xml}</ReelList></CompositionPlaylist>\n",
        encoding="utf-8",
    )
    files = {cpl_id: folder / "CPL.xml"}
    for pic, snd in reels:
        files[pic.asset_id] = pic.path
        files[snd.asset_id] = snd.path
    pkl_assets = "".join(
        f"<Asset><Id>{urn(i)}</Id><Hash>{sha1_b64(p)}</Hash><Size>{p.stat().st_size}</Size>"
        f"<Type>{'text/xml' if p.suffix == '.xml' else 'application/mxf'}</Type></Asset>"
        for i, p in files.items()
    )
    (folder / "PKL.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<PackingList xmlns="http://www.smpte-ra.org/schemas/429-8/2007/PKL">'
        f"<Id>{urn(pkl_id)}</Id><AssetList>{pkl_assets}</AssetList></PackingList>\n",
        encoding="utf-8",
    )
    files[pkl_id] = folder / "PKL.xml"
    am_assets = "".join(
        f"<Asset><Id>{urn(i)}</Id>{'<PackingList>true</PackingList>' if i == pkl_id else ''}"
        f"<ChunkList><Chunk><Path>{p.name}</Path></Chunk></ChunkList></Asset>"
        for i, p in files.items()
    )
    (folder / "ASSETMAP.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<AssetMap xmlns="http://www.smpte-ra.org/schemas/429-9/2007/AM">'
        f"<Id>{urn(uuid.uuid4())}</Id><VolumeCount>1</VolumeCount><AssetList>{am_assets}</AssetList></AssetMap>\n",
        encoding="utf-8",
    )
    (folder / "VOLINDEX.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VolumeIndex xmlns="http://www.smpte-ra.org/schemas/429-9/2007/AM"><Index>1</Index></VolumeIndex>\n',
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], bytes]:
    return codestreams(tmp_path_factory.mktemp("j2k"))


@pytest.fixture(scope="module")
def dcp(tmp_path_factory: pytest.TempPathFactory, pictures: tuple[list[bytes], bytes]) -> Path:
    return write_dcp(tmp_path_factory.mktemp("dcp") / "QcTest_OV", *pictures)


def test_dcp_is_parsed(dcp: Path) -> None:
    assert is_dcp(dcp) and not is_dcp(dcp / "CPL.xml")
    cpl = read_cpl(dcp / "CPL.xml")
    assert cpl.edit_rate == 24 and len(cpl.reels) == 2
    assert [a.kind for a in cpl.reels[0].assets] == ["picture", "sound"]
    assert cpl.reels[1].of("picture") is not None and cpl.reels[1].of("picture").duration == REEL2  # type: ignore[union-attr]


@pytest.mark.parametrize("full", [False, True], ids=["quarter-size", "full-decode"])
def test_good_dcp_checks_and_planted_black(dcp: Path, full: bool) -> None:
    report = run_dcp_qc(dcp, "dci-dcp", loudness_fn=LoudnessMeter, full_decode=full)
    checks = {c.name: c for c in report.checks}
    for name in (
        "assetmap",
        "pkl_hashes",
        "structure",
        "resolution",
        "frame_rate",
        "j2k_bitrate",
        "channels",
    ):
        assert checks[name].status == "pass", checks[name]
    assert checks["resolution"].measured == "1998x1080"
    assert checks["channels"].measured == 6
    for name in ("freeze", "flash", "clipping", "silence"):
        assert checks[name].status == "pass", (checks[name], report.events)
    # loudness is reported, not judged (cinema has no target)
    assert checks["integrated_loudness"].status == "skip"
    assert -30 < checks["integrated_loudness"].measured < -10
    comp = report.info["compositions"][0]
    assert comp["decoded_frames"] == REEL1 + REEL2 and comp["frames"] == REEL1 + REEL2
    assert comp["reels"][1]["start_tc"] == "00:00:02:00"
    black = report.events_of("black")
    assert len(black) == 1 and black[0].severity == "fail"
    assert black[0].start_tc == "00:00:00:12" and black[0].end_tc == "00:00:01:12"
    assert checks["black"].status == "fail" and report.failed


def test_broken_dcp_is_failed_with_places(tmp_path: Path, pictures: tuple[list[bytes], bytes]) -> None:
    bad = write_dcp(tmp_path / "bad", *pictures, sound_frames=(REEL1, REEL2 - 4), big_frame=5, clip_at=10)
    report = run_dcp_qc(bad, "dci-dcp")
    checks = {c.name: c for c in report.checks}
    assert checks["structure"].status == "fail"
    assert "reel 2: durations differ (picture 24, sound 20)" in checks["structure"].message
    assert checks["j2k_bitrate"].status == "fail"
    big = report.events_of("j2k_bitrate")
    assert len(big) == 1 and big[0].start_tc == "00:00:02:05" and "reel 2" in big[0].detail
    clips = report.events_of("clipping")
    assert clips and clips[0].start_tc == "00:00:02:10"
    assert checks["clipping"].status == "fail"
    assert report.info["compositions"][0]["decoded_frames"] == REEL1 + REEL2  # the big frame decodes too


def test_missing_and_changed_files(tmp_path: Path, dcp: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(dcp, copy)
    (copy / "pcm_r2.mxf").unlink()
    with (copy / "CPL.xml").open("a", encoding="utf-8") as fh:
        fh.write("\n")  # the PKL's hash no longer matches
    report = run_dcp_qc(copy, "dci-dcp")
    checks = {c.name: c for c in report.checks}
    assert checks["assetmap"].status == "fail" and "pcm_r2.mxf" in checks["assetmap"].message
    assert checks["pkl_hashes"].status == "fail" and "CPL.xml: size" in checks["pkl_hashes"].message
    assert checks["structure"].status == "fail" and "reel 2: sound asset" in checks["structure"].message
    missing = [e for e in report.events_of("structure") if "not in this DCP" in e.detail]
    assert len(missing) == 1 and missing[0].start_tc == "00:00:02:00"  # at the start of reel 2
    assert report.info["compositions"][0]["decoded_frames"] == REEL1 + REEL2  # the rest is still checked


def test_not_a_dcp(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="ASSETMAP"):
        run_dcp_qc(tmp_path)


def test_cli_qc_on_a_dcp_folder(dcp: Path, tmp_path: Path) -> None:
    from posthouse.cli.deliver_qc import qc

    app = typer.Typer()
    app.command()(qc)
    app.command("other")(lambda: None)
    res = CliRunner().invoke(app, ["qc", str(dcp), "--spec", "dci-dcp", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 1, res.output  # the planted black fails
    data = json.loads(res.stdout)
    assert data["info"]["compositions"][0]["title"].startswith("QcTest_FTR")
    assert {c["name"]: c["status"] for c in data["checks"]}["j2k_bitrate"] == "pass"
    assert (tmp_path / "QcTest_OV_qc.html").is_file() and (tmp_path / "QcTest_OV_qc.json").is_file()
