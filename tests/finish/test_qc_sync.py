"""Sync QC against the guide track: a known shift is found to the millisecond, drift is flagged, unrelated
sound is "no match" (never a made-up offset), and `posthouse qc --guide` reports it with timecodes."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
import typer
from scipy import signal
from typer.testing import CliRunner

from posthouse.core.errors import UsageError
from posthouse.finish.qc import run_qc
from posthouse.finish.qc_specs import SyncSpec, load_spec
from posthouse.finish.qc_sync import analysis_signal, measure_sync

SR, FPS = 48000, 24
FRAME_MS = 1000.0 / FPS


def speechy(seconds: float, seed: int) -> npt.NDArray[np.float32]:
    """Dialogue-like sound: band-limited noise in syllable bursts with pauses, plus a voiced hum."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = signal.sosfilt(
        signal.butter(4, [200, 3000], btype="band", fs=SR, output="sos"), rng.standard_normal(n)
    )
    ctrl = rng.random(int(seconds * 5) + 2)
    env = np.repeat((ctrl > 0.35) * ctrl, SR // 5)[:n]
    env = np.clip(signal.sosfiltfilt(signal.butter(2, 8, fs=SR, output="sos"), env), 0, None)
    t = np.arange(n) / SR
    hum = 0.05 * np.sin(2 * np.pi * (120 + 30 * np.sin(2 * np.pi * 0.3 * t)) * t)
    return ((0.3 * x + hum) * env).astype(np.float32)


def delayed(x: npt.NDArray[np.float32], ms: float) -> npt.NDArray[np.float32]:
    """``x`` heard ``ms`` later (fractional delays through the FFT), same length."""
    n = x.size
    spec = np.fft.rfft(x, 2 * n)
    f = np.fft.rfftfreq(2 * n, 1 / SR)
    return np.fft.irfft(spec * np.exp(-2j * np.pi * f * ms / 1000.0), 2 * n)[:n].astype(np.float32)


def measure(programme: npt.NDArray[np.float32], guide: npt.NDArray[np.float32], **kw: float):  # type: ignore[no-untyped-def]
    p, rate = analysis_signal([programme[None, :]], SR)
    g, _ = analysis_signal([guide[None, :]], SR)
    return measure_sync(p, g, rate, fps=FPS, settings=SyncSpec(**kw))


@pytest.fixture(scope="module")
def guide() -> npt.NDArray[np.float32]:
    return speechy(40, 1)


def test_clean_programme_passes(guide: npt.NDArray[np.float32]) -> None:
    res = measure(guide.copy(), guide)
    assert res.status == "pass"
    assert len(res.windows) == 4 and all(w.status == "pass" for w in res.windows)
    assert res.offset_ms is not None and abs(res.offset_ms) < 0.1
    assert not res.drifting


@pytest.mark.parametrize("ms", [40.0, 2 * FRAME_MS, -2 * FRAME_MS])
def test_shift_found_within_a_millisecond(guide: npt.NDArray[np.float32], ms: float) -> None:
    res = measure(delayed(guide, ms), guide)
    assert len(res.matched) == 4
    for w in res.matched:
        assert w.offset_ms is not None and abs(w.offset_ms - ms) < 1.0  # sign: positive = sound late
        assert w.offset_frames is not None and abs(w.offset_frames - ms / FRAME_MS) < 0.03
    # ±1 frame tolerance: 40 ms passes at 24 fps, two frames fail in every window
    assert res.status == ("pass" if abs(ms) < FRAME_MS else "fail")
    assert not res.drifting


def test_guide_is_dialogue_programme_the_full_mix(guide: npt.NDArray[np.float32]) -> None:
    """The turnover's guide is production dialogue; the programme adds music/effects as loud as it."""
    mix = delayed(guide, 30.0) + speechy(40, 5)
    res = measure(mix, guide)
    assert len(res.matched) == 4 and res.status == "pass"
    assert all(abs((w.offset_ms or 0.0) - 30.0) < 1.0 for w in res.matched)


def test_drift_is_flagged(guide: npt.NDArray[np.float32]) -> None:
    stretched = signal.resample_poly(guide, 1001, 1000)[: guide.size].astype(np.float32)  # 0.1 % slow
    res = measure(stretched, guide)
    assert res.drifting and res.status == "fail"
    assert res.drift_ms_per_min is not None and res.drift_ms_per_min == pytest.approx(60.0, rel=0.1)
    offsets = [w.offset_ms for w in res.matched]
    assert len(offsets) == 4 and offsets == sorted(offsets)  # later and later along the programme


def test_unrelated_sound_is_no_match_not_an_offset(guide: npt.NDArray[np.float32]) -> None:
    res = measure(speechy(40, 2), guide)
    assert res.status == "no_match"
    assert res.offset_ms is None and res.matched == []
    assert all(w.status == "no_match" for w in res.windows)


def test_periodic_sound_is_ambiguous_not_an_offset() -> None:
    clicks = np.zeros(30 * SR, np.float32)
    clicks[:: SR // 2] = 0.8  # a click track: every half second looks the same
    clicks = signal.sosfilt(signal.butter(2, [500, 2000], btype="band", fs=SR, output="sos"), clicks)
    res = measure(delayed(clicks.astype(np.float32), 120.0), clicks.astype(np.float32))
    assert res.matched == [] and res.status == "no_match"


def test_silent_programme_is_not_measured(guide: npt.NDArray[np.float32]) -> None:
    res = measure(np.zeros_like(guide), guide)
    assert all(w.status == "silent" for w in res.windows) and res.status == "no_match"


def test_bad_settings_are_usage_errors(guide: npt.NDArray[np.float32]) -> None:
    p, rate = analysis_signal([guide[None, :]], SR)
    with pytest.raises(UsageError):
        measure_sync(p, p, rate, fps=0)
    with pytest.raises(UsageError):
        measure_sync(p, p, rate, fps=24, settings=SyncSpec(window_s=0))


def test_spec_sync_table(tmp_path: Path) -> None:
    assert load_spec("netflix").sync.tolerance_frames == 1.0
    spec = tmp_path / "mine.toml"
    spec.write_text('name = "mine"\n[sync]\ntolerance_frames = 0.5\nwindow_s = 5\n', encoding="utf-8")
    loaded = load_spec(spec)
    assert loaded.sync.tolerance_frames == 0.5 and loaded.sync.window_s == 5.0
    spec.write_text('name = "bad"\n[sync]\ntolerance = 1\n', encoding="utf-8")
    with pytest.raises(UsageError, match="tolerance"):
        load_spec(spec)


def make_movie(path: Path, sound: npt.NDArray[np.float32], tc: str = "01:00:00:00") -> Path:
    """A tiny 24 fps movie starting at timecode ``tc`` with ``sound`` as stereo PCM."""
    frames = round(sound.size / SR * FPS)
    with av.open(str(path), "w", format="mov") as c:
        vs = c.add_stream("mpeg4", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = 64, 36, "yuv420p"
        vs.metadata["timecode"] = tc
        aus = c.add_stream("pcm_s16le", rate=SR, layout="stereo")
        rng = np.random.default_rng(0)
        for i in range(frames):
            img = rng.integers(40, 200, (36, 64, 3), dtype=np.uint8)
            fr = av.VideoFrame.from_ndarray(img, format="rgb24")
            fr.pts, fr.time_base = i, Fraction(1, FPS)
            for pkt in vs.encode(fr):
                c.mux(pkt)
        for pkt in vs.encode():
            c.mux(pkt)
        st = np.ascontiguousarray(np.stack([sound, sound]))
        for s in range(0, sound.size, SR):
            af = av.AudioFrame.from_ndarray(st[:, s : s + SR], format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = SR, s, Fraction(1, SR)
            for pkt in aus.encode(af):
                c.mux(pkt)
        for pkt in aus.encode():
            c.mux(pkt)
    return path


@pytest.fixture(scope="module")
def late_master(
    tmp_path_factory: pytest.TempPathFactory, guide: npt.NDArray[np.float32]
) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("sync")
    g = d / "guide.wav"
    sf.write(g, guide[: 30 * SR], SR, subtype="PCM_24")
    movie = make_movie(d / "master.mov", delayed(guide[: 30 * SR], 2 * FRAME_MS))
    return movie, g


def test_run_qc_with_guide_reports_sync_with_timecodes(late_master: tuple[Path, Path]) -> None:
    movie, g = late_master
    report = run_qc(movie, "netflix", guide=g)
    checks = {c.name: c for c in report.checks if c.category == "sync"}
    assert checks["sync_offset"].status == "fail"
    assert checks["sync_offset"].measured == pytest.approx(2 * FRAME_MS, abs=1.0)
    assert checks["sync_match"].status == "pass"
    events = report.events_of("sync")
    assert len(events) == 3 and all(e.severity == "fail" for e in events)
    assert events[0].start_tc == "01:00:00:00" and events[1].start_tc == "01:00:10:00"
    assert "late" in events[0].detail and "2.00 frames" in events[0].detail
    windows = report.info["sync"]["windows"]
    assert [w["offset_frames"] for w in windows] == pytest.approx([2.0, 2.0, 2.0], abs=0.03)


def test_cli_guide_option(late_master: tuple[Path, Path], tmp_path: Path) -> None:
    from posthouse.cli.deliver_qc import qc

    movie, g = late_master
    app = typer.Typer()
    app.command()(qc)
    app.command("other")(lambda: None)  # two commands: typer keeps the sub-command name
    res = CliRunner().invoke(app, ["qc", str(movie), "--guide", str(g), "--out", str(tmp_path), "--json"])
    assert res.exit_code == 1, res.output  # the sync check fails
    data = json.loads(res.stdout)
    assert {c["name"]: c["status"] for c in data["checks"] if c["category"] == "sync"}[
        "sync_offset"
    ] == "fail"
    saved = json.loads((tmp_path / "master_qc.json").read_text(encoding="utf-8"))
    assert saved["info"]["sync"]["windows"][0]["status"] == "fail"
    assert "sync" in (tmp_path / "master_qc.html").read_text(encoding="utf-8")


def test_reference_movie_placed_by_timecode(
    late_master: tuple[Path, Path], guide: npt.NDArray[np.float32], tmp_path: Path
) -> None:
    """A turnover reference movie starts 8 s early (leader): its timecode places it, no option needed."""
    movie, _ = late_master
    leader = np.zeros(8 * SR, np.float32)
    ref = make_movie(tmp_path / "reference.mov", np.concatenate([leader, guide[: 30 * SR]]), "00:59:52:00")
    report = run_qc(movie, "netflix", guide=ref)
    sync = report.info["sync"]
    assert sync["guide_lead_s"] == pytest.approx(8.0) and sync["guide_placed"] == "by timecode"
    assert [w["offset_frames"] for w in sync["windows"]] == pytest.approx([2.0, 2.0, 2.0], abs=0.03)
