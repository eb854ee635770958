"""Delivered stems: checked against the cut (rate, depth, layout, length, start, clipping) and recorded."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from posthouse.core.media.bwf import Bext, IXml, write_bwf
from posthouse.core.time import Rate, frames_to_samples
from posthouse.sound.session import add_track, place_clip, save_session, wav_clip
from posthouse.sound.stems import MANIFEST_NAME, check_stems, import_stems, stem_kind_of_name

SR = 48_000
RATE = Rate(24)
HOUR = 86_400  # 01:00:00:00 in frames at 24


def _noise(channels: int, n: int, seed: int, level: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal((channels, n))).astype(np.float32)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[otio.schema.Timeline, Path]:
    """A cut of 72 frames at 24 fps starting at 01:00:00:00, saved as a session."""
    root = tmp_path_factory.mktemp("stems")
    mx = root / "score cue.wav"
    sf.write(str(mx), _noise(2, 4 * SR, 2).T, SR, subtype="PCM_24")
    tl = otio.schema.Timeline(name="reel 1 sound")
    tl.global_start_time = otio.opentime.RationalTime(HOUR, 24)
    place_clip(add_track(tl, "music"), wav_clip(mx, name="score cue", frames=72, rate=RATE, source_start=0,
                                                file_samples=4 * SR), 0, RATE)  # fmt: skip
    return tl, save_session(tl, root / "session" / "session.otio")


DUR = 72  # frames: the cut's duration
START = frames_to_samples(HOUR, RATE, SR)


def _stem(path: Path, channels: int, *, n: int | None = None, rate: int = SR, tr: int | None = START,
          subtype: str = "PCM_24", clip_at: int | None = None) -> Path:  # fmt: skip
    samples = n if n is not None else frames_to_samples(DUR, RATE, rate)
    audio = _noise(channels, samples, hash(path.name) % 1000, 0.1)
    if clip_at is not None:
        audio[0, clip_at : clip_at + 5] = 1.0
    if tr is None or subtype != "PCM_24":
        sf.write(str(path), audio.T, rate, subtype=subtype)
    else:
        write_bwf(path, audio, rate, bext=Bext(time_reference=tr))
    return path


def test_stem_names() -> None:
    assert stem_kind_of_name("FILM_R1_DX_51") == "dialogue"
    assert stem_kind_of_name("film-dial") == "dialogue"
    assert stem_kind_of_name("FILM MUS") == "music"
    assert stem_kind_of_name("film_SFX") == "effects"
    assert stem_kind_of_name("FILM_FOLEY") == "foley"
    assert stem_kind_of_name("film_BG") == "backgrounds"
    assert stem_kind_of_name("FILM_PRINTMASTER") == "printmaster"
    assert stem_kind_of_name("FILM_M&E") == "me"
    assert stem_kind_of_name("film_ME_51") == "me"
    assert stem_kind_of_name("reel one") is None
    assert stem_kind_of_name("reel1_v005_ME_20") == "me"  # as posthouse mix names them
    assert stem_kind_of_name("reel1_v005_PM_51") == "printmaster"
    assert stem_kind_of_name("mix_test_DX") == "dialogue"
    assert stem_kind_of_name("FILM_DX_MIX") == "dialogue"
    assert stem_kind_of_name("FILM_MIX") == "printmaster"


def test_import_stems(session: tuple[otio.schema.Timeline, Path], tmp_path: Path) -> None:
    tl, _ = session
    d = tmp_path / "delivery"
    d.mkdir()
    spf = SR // 24
    files = [
        _stem(d / "FILM_DX.wav", 2),
        _stem(d / "FILM_MX.wav", 2, rate=44_100, tr=None),
        _stem(d / "FILM_FX.wav", 2, n=frames_to_samples(DUR + 2, RATE, SR)),
        _stem(d / "FILM_FOL.wav", 2, n=frames_to_samples(DUR, RATE, SR) - spf // 2),
        _stem(d / "FILM_BG.wav", 2, tr=START + 24 * spf),
        _stem(d / "FILM_DX16.wav", 2, subtype="PCM_16"),
        _stem(d / "take 3.wav", 2),
        *[_stem(d / f"FILM_PM.{c}.wav", 1, clip_at=SR if c == "C" else None)
          for c in ("L", "R", "C", "LFE", "Ls", "Rs")],
        *[_stem(d / f"FILM_ME.{c}.wav", 1) for c in ("L", "R", "C")],
    ]  # fmt: skip
    sdir = tmp_path / "session"
    report = import_stems(tl, files, session_dir=sdir)
    by = {s.name: s for s in report.stems}
    assert len(report.stems) == 9  # 6 + 3 mono files grouped into two stems

    assert by["FILM_DX"].accepted and by["FILM_DX"].kind == "dialogue" and by["FILM_DX"].layout == "stereo"
    assert by["FILM_DX"].offset_frames == 0 and by["FILM_DX"].length_diff_frames == 0
    assert not by["FILM_MX"].accepted and "44100 Hz" in " ".join(by["FILM_MX"].problems)
    assert not by["FILM_FX"].accepted and by["FILM_FX"].length_diff_frames == 2
    fol = by["FILM_FOL"]
    assert fol.accepted and fol.length_diff_frames == Fraction(-1, 2) and fol.warnings
    bg = by["FILM_BG"]
    assert not bg.accepted and bg.offset_frames == 24 and "01:00:01:00" in " ".join(bg.problems)
    assert not by["FILM_DX16"].accepted and "16-bit" in " ".join(by["FILM_DX16"].problems)
    assert not by["take 3"].accepted and by["take 3"].kind is None

    pm = by["FILM_PM"]
    assert pm.accepted and pm.kind == "printmaster" and pm.layout == "5.1"
    assert pm.channels == ("L", "R", "C", "LFE", "Ls", "Rs") and len(pm.files) == 6
    assert pm.clipped_samples == 5 and pm.clipping == ("01:00:01:00",)
    me = by["FILM_ME"]
    assert not me.accepted and "missing LFE Ls Rs" in " ".join(me.problems)

    manifest = json.loads((sdir / MANIFEST_NAME).read_text())
    assert manifest["record_start"] == "01:00:00:00" and manifest["duration_frames"] == DUR
    kinds = sorted((s["kind"], s["layout"]) for s in manifest["stems"])
    assert kinds == [("dialogue", "stereo"), ("foley", "stereo"), ("printmaster", "5.1")]
    pm_entry = next(s for s in manifest["stems"] if s["kind"] == "printmaster")
    assert [f["channel"] for f in pm_entry["files"]] == ["L", "R", "C", "LFE", "Ls", "Rs"]
    assert pm_entry["printed"] is True and pm_entry["mute"] is True
    # a re-delivery replaces the stem of the same name, keeps the others
    import_stems(tl, [files[0]], session_dir=sdir)
    again = json.loads((sdir / MANIFEST_NAME).read_text())
    assert len(again["stems"]) == 3


def test_check_stems_interleaved_51_and_channel_order(tmp_path: Path) -> None:
    good = _stem(tmp_path / "FILM_PM_51.wav", 6)
    odd = tmp_path / "FILM_ME_51.wav"
    write_bwf(odd, _noise(6, frames_to_samples(DUR, RATE, SR), 9, 0.1), SR, bext=Bext(time_reference=START),
              ixml=IXml(track_names=("L", "C", "R", "Ls", "Rs", "LFE")))  # fmt: skip
    checks = check_stems([good, odd], rate="24", record_start=HOUR, duration=DUR)
    assert checks[0].accepted and checks[0].layout == "5.1"
    assert not checks[1].accepted and "channel order" in checks[1].problems[0]


def test_cli_import_stems(session: tuple[otio.schema.Timeline, Path], tmp_path: Path) -> None:
    from posthouse.cli import sound_daw

    _, path = session
    app = typer.Typer()
    app.command("export")(sound_daw.export)
    app.command("import-stems")(sound_daw.import_stems)
    runner = CliRunner()
    stem = _stem(tmp_path / "FILM_DX.wav", 2)
    bad = _stem(tmp_path / "FILM_MX.wav", 2, tr=START - 48 * (SR // 24))
    res = runner.invoke(app, ["import-stems", str(path), str(stem), str(bad), "--json"])
    assert res.exit_code == 1, res.output
    data = json.loads(res.stdout)
    assert data["accepted"] == 1 and data["rejected"] == 1
    assert (path.parent / MANIFEST_NAME).exists()
