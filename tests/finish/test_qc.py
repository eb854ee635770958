"""Automated QC: planted faults are found with their timecodes; the clean master raises no alarm."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from posthouse.core.errors import UsageError
from posthouse.finish.qc import run_qc, write_reports
from posthouse.finish.qc_specs import VideoSpec, load_spec, preset_names
from posthouse.finish.qc_subs import check_cues, parse_srt
from posthouse.finish.qc_video import VideoAnalyzer
from posthouse.sound.loudness import LoudnessMeter

W, H, FPS, SR = 320, 180, 24, 48000
SECONDS = 10
START_TC = "01:00:00:00"
# planted faults, in frames (24 fps) and seconds
BLACK = (48, 72)
FREEZE = (96, 120)
WHITE = (144, 156)
FLASH = (168, 192)
LOUD = (8.5, 9.5)


def _yuv(y: np.ndarray, u: float = 128.0, v: float = 128.0) -> np.ndarray:
    cu = np.full((H // 2, W // 2), u, np.uint8).reshape(H // 4, W)
    cv = np.full((H // 2, W // 2), v, np.uint8).reshape(H // 4, W)
    return np.concatenate((np.clip(y, 0, 255).astype(np.uint8), cu, cv))


def _picture(i: int, rng: np.random.Generator) -> np.ndarray:
    x = np.arange(W)[None, :] + 3 * i
    base = 110 + 60 * np.sin(x / 25.0) + 20 * np.cos(np.arange(H)[:, None] / 17.0 + i / 10)
    return base + rng.normal(0, 2.0, (H, W))


def _sound(faults: bool) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(SECONDS * SR) / SR
    left = 0.1 * np.sin(2 * np.pi * 440 * t) + 0.03 * rng.standard_normal(t.size)
    right = 0.1 * np.sin(2 * np.pi * 550 * t) + 0.03 * rng.standard_normal(t.size)
    x = np.stack((left, right)).astype(np.float32)
    meter = LoudnessMeter(SR, 2)
    meter.push(x)
    x *= np.float32(10 ** ((-23.0 - meter.result().integrated_lufs) / 20))
    if faults:
        a, b = int(LOUD[0] * SR), int(LOUD[1] * SR)
        x[:, a:b] *= np.float32(10 ** (16 / 20))
    return x


def make_master(path: Path, *, faults: bool) -> Path:
    """A 10 s 320x180 24 fps H.264 + PCM stereo master, with the planted faults when asked."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w", format="mov") as c:
        vs = c.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.options = {"crf": "14", "preset": "ultrafast"}
        vs.metadata["timecode"] = START_TC
        aus = c.add_stream("pcm_s24le", rate=SR, layout="stereo")
        held = None
        for i in range(SECONDS * FPS):
            y = _picture(i, rng)
            if faults:
                if BLACK[0] <= i < BLACK[1]:
                    y = np.full((H, W), 16.0)
                elif FREEZE[0] <= i < FREEZE[1]:
                    held = y if held is None else held
                    y = held
                elif WHITE[0] <= i < WHITE[1]:
                    y[40:100, 100:200] = 252.0  # super-white patch: 10 % of the picture
                elif FLASH[0] <= i < FLASH[1]:
                    y = np.full((H, W), 235.0 if (i - FLASH[0]) // 2 % 2 == 0 else 16.0)  # 6 Hz
            frame = av.VideoFrame.from_ndarray(_yuv(y), format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        snd = _sound(faults)
        for s in range(0, snd.shape[1], SR):
            af = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(snd[:, s : s + SR]), format="fltp", layout="stereo"
            )
            af.sample_rate, af.pts, af.time_base = SR, s, Fraction(1, SR)
            for p in aus.encode(af):
                c.mux(p)
        for p in aus.encode():
            c.mux(p)
    return path


def _spec_file(tmp: Path) -> Path:
    """A user's copy of the EBU preset with the picture size opened up (the presets want HD)."""
    src = (Path(__file__).parents[2] / "src/posthouse/finish/qc_specs/ebu-r128.toml").read_text()
    lines = ["resolutions = []" if ln.startswith("resolutions") else ln for ln in src.splitlines()]
    dest = tmp / "my_spec.toml"
    dest.write_text("\n".join(lines) + "\n")
    return dest


@pytest.fixture(scope="module")
def masters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("qc")
    return {
        "clean": make_master(d / "clean.mov", faults=False),
        "faulty": make_master(d / "faulty.mov", faults=True),
        "spec": _spec_file(d),
    }


def _tc(frame: int) -> str:
    s, f = divmod(frame, FPS)
    return f"01:00:{s:02d}:{f:02d}"


def test_clean_master_raises_no_alarm(masters: dict[str, Path]) -> None:
    report = run_qc(masters["clean"], masters["spec"], loudness_fn=LoudnessMeter)
    assert report.events == [], [e.to_dict() for e in report.events]
    bad = [c.to_dict() for c in report.checks if c.status not in ("pass", "skip")]
    assert bad == []
    assert not report.failed


def test_planted_faults_found_with_timecodes(masters: dict[str, Path], tmp_path: Path) -> None:
    report = run_qc(masters["faulty"], masters["spec"], loudness_fn=LoudnessMeter)
    assert report.failed

    def one(check: str) -> tuple[int, int]:
        evs = report.events_of(check)
        assert len(evs) == 1, [e.to_dict() for e in report.events]
        e = evs[0]
        return round(e.start_s * FPS), round(e.end_s * FPS)

    assert one("black") == BLACK
    assert report.events_of("black")[0].start_tc == _tc(BLACK[0]) == "01:00:02:00"
    s, e = one("freeze")
    assert abs(s - FREEZE[0]) <= 1 and abs(e - FREEZE[1]) <= 1
    assert one("broadcast_range") == WHITE
    s, e = one("flash")
    assert abs(s - FLASH[0]) <= 2 and abs(e - FLASH[1]) <= 2
    assert report.events_of("flash")[0].start_tc.startswith("01:00:07:")
    loud = report.events_of("over_loud")
    assert len(loud) == 1 and abs(loud[0].start_s - LOUD[0]) < 0.25 and abs(loud[0].end_s - LOUD[1]) < 0.25
    assert loud[0].start_tc.startswith("01:00:08:")
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["black"] == statuses["freeze"] == statuses["flash"] == statuses["over_loud"] == "fail"
    assert statuses["integrated_loudness"] == "fail"  # the loud passage lifts the programme
    assert statuses["red_flash"] == "pass" and statuses["clipping"] == "pass"
    # reports: JSON re-read, HTML carries timecodes and thumbnails
    j, h = write_reports(report, tmp_path)
    import json

    data = json.loads(j.read_text())
    assert data["result"] == "fail" and any(ev["check"] == "flash" for ev in data["events"])
    page = h.read_text()
    assert "01:00:02:00" in page and "data:image/png;base64," in page
    # every picture event carries a thumbnail that an independent PNG reader opens
    import base64
    import io

    from PIL import Image

    for ev in report.events:
        if ev.check in ("black", "freeze", "broadcast_range", "flash"):
            assert ev.thumbnail, ev.check
            img = Image.open(io.BytesIO(base64.b64decode(ev.thumbnail)))
            assert img.size == (80, 45) and img.mode == "RGB"
    white = Image.open(io.BytesIO(base64.b64decode(report.events_of("broadcast_range")[0].thumbnail or "")))
    assert np.asarray(white)[22, 40].min() == 255  # the super-white patch shows white


def _analyse(frames: list[np.ndarray]) -> list[str]:
    va = VideoAnalyzer(W, H, FPS, 8, VideoSpec())
    for i, f in enumerate(frames):
        va.push(i, f)
    return [e.check for e in va.finish()]


def test_red_flash_and_flash_rate_limit() -> None:
    # saturated red (BT.709 Y=63, Cb=102, Cr=240) against black, 6 Hz: a red flash
    red = _yuv(np.full((H, W), 63.0), 102.0, 240.0)
    black = _yuv(np.full((H, W), 16.0))
    frames = [red if (i // 2) % 2 == 0 else black for i in range(48)]
    assert "red_flash" in _analyse(frames)
    # grey flashing at 2 a second is within the limit of 3
    grey, white = _yuv(np.full((H, W), 40.0)), _yuv(np.full((H, W), 200.0))
    slow = [white if (i // 6) % 2 == 0 else grey for i in range(72)]
    assert not {"flash", "red_flash"} & set(_analyse(slow))


def test_subtitle_checks() -> None:
    srt = (
        "1\n00:00:01,000 --> 00:00:03,000\nHello there.\n\n"
        "2\n00:00:03,010 --> 00:00:03,400\nThis cue is far too fast to read at all, really.\n\n"
        "3\n00:00:03,300 --> 00:00:12,000\n"
        "A line that is much longer than forty-two characters\nand\nthree lines\n"
    )
    track = parse_srt(srt)
    assert len(track.cues) == 3 and track.cues[0].lines == ("Hello there.",)
    found = {i.check for i in check_cues(track, load_spec("netflix").subtitles)}
    assert found == {"gap", "subtitle_duration", "reading_speed", "line_length", "lines_per_cue", "overlap"}
    first = dataclasses.replace(track, cues=track.cues[:1])
    assert check_cues(first, load_spec("netflix").subtitles) == []


def test_presets_load() -> None:
    assert {"netflix", "ebu-r128", "dci-dcp", "apple-hls"} <= set(preset_names())
    assert load_spec("ebu-r128").audio.integrated_lufs == -23.0


def test_cli_exit_codes(masters: dict[str, Path], tmp_path: Path) -> None:
    from posthouse.cli.deliver_qc import qc

    app = typer.Typer()
    app.command()(qc)
    app.command("other")(lambda: None)
    runner = CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["qc", str(masters["clean"]), "--spec", str(masters["spec"]), "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert (out / "clean_qc.html").exists() and (out / "clean_qc.json").exists()
    res = runner.invoke(
        app, ["qc", str(masters["faulty"]), "--spec", str(masters["spec"]), "--out", str(out)]
    )
    assert res.exit_code == 1, res.output
    res = runner.invoke(app, ["qc", str(masters["clean"]), "--spec", "nope"])
    assert res.exit_code == 2


def test_ten_bit_prores_master(tmp_path: Path) -> None:
    from posthouse.core.media import VideoWriter

    path = tmp_path / "tenbit.mov"
    rng = np.random.default_rng(5)
    with VideoWriter(path, width=160, height=90, rate=Fraction(24), preset="prores-422") as w:
        for i in range(36):
            ramp = (np.linspace(20, 230, 160)[None, :] + 2 * i + rng.normal(0, 3, (90, 160))) % 255
            w.write_frame(np.repeat(ramp[..., None], 3, axis=2).astype(np.uint8))
    report = run_qc(path, "netflix")
    assert report.info["frames"] == 36
    assert report.events == [], [e.to_dict() for e in report.events]
    assert {c.name: c.status for c in report.checks}["broadcast_range"] == "pass"


def test_programme_window_leaves_out_the_leader_and_keeps_timecodes(masters: dict[str, Path]) -> None:
    full = run_qc(masters["faulty"], masters["spec"], loudness_fn=LoudnessMeter)
    window = run_qc(
        masters["faulty"], masters["spec"], loudness_fn=LoudnessMeter, programme_start="01:00:05:00"
    )
    assert {"black", "freeze"} <= {e.check for e in full.events}
    assert not {"black", "freeze"} & {e.check for e in window.events}  # before the programme: not faults
    assert window.info["programme"] == {"start": "01:00:05:00", "end": None}
    loud_full = [e.start_tc for e in full.events_of("over_loud")]
    loud_window = [e.start_tc for e in window.events_of("over_loud")]
    assert loud_window == loud_full and loud_full  # sound events keep their place in the file
    with pytest.raises(UsageError, match="not inside the file"):
        run_qc(masters["faulty"], masters["spec"], programme_start="00:59:00:00")
