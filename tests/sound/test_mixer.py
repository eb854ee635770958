"""The mixer: stems, M&E, printmaster, Lo/Ro, normalisation to each spec checked with pyloudnorm."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pyloudnorm
import pytest
import soundfile as sf
from scipy import signal
from typer.testing import CliRunner

from posthouse.demo.speech import synth_line_timed, voice_for
from posthouse.sound.mixer import mix_session
from posthouse.sound.session import add_track, place_clip, save_session, wav_clip
from posthouse.sound.specs import LoudnessSpec, builtin_specs, load_spec

SR = 48_000
RATE = "24"
SECONDS = 12


def _speech(seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mono speech lines with pauses, and the mask of where speech is (per sample)."""
    out = np.zeros(int(seconds * SR), np.float32)
    mask = np.zeros(out.size, bool)
    pos = int(0.5 * SR)
    lines = ["The sound is late again.", "Then we wait for it here.", "I told you so, twice."]
    k = 0
    while pos < out.size - SR:
        line, _ = synth_line_timed(lines[k % 3], voice_for("MAYA" if k % 2 else "THEO"), SR, rng)
        n = min(line.size, out.size - pos)
        out[pos : pos + n] = line[:n] * 0.3 / max(1e-9, float(np.abs(line).max()))
        mask[pos : pos + n] = True
        pos += n + int(0.8 * SR)
        k += 1
    return out, mask


def _write(path: Path, data: np.ndarray, rate: int = SR) -> Path:
    sf.write(str(path), data.T if data.ndim == 2 else data, rate, subtype="PCM_24")
    return path


def _session(tmp: Path, *, loud_fx: bool = False) -> tuple[otio.schema.Timeline, np.ndarray]:
    rng = np.random.default_rng(3)
    n = SECONDS * SR
    dx, mask = _speech(SECONDS, rng)
    dx = dx + (rng.standard_normal(n) * 1e-4).astype(np.float32)  # room tone
    t = np.arange(n) / SR
    music = 0.05 * np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 277.2 * t)]).astype(np.float32)
    fx = np.zeros(2 * SR, np.float32)
    if loud_fx:  # a gunshot-like transient: full-scale peak, little energy
        burst = rng.standard_normal(SR // 10) * np.exp(-np.arange(SR // 10) / (0.004 * SR))
        fx[: SR // 10] = 0.99 * burst / np.abs(burst).max()
    else:
        fx[: SR // 10] = rng.standard_normal(SR // 10) * 0.2
    bg = (signal.lfilter([1], [1, -0.95], rng.standard_normal(n)) * 0.005).astype(np.float32)
    tl = otio.schema.Timeline(name="test cut", global_start_time=otio.opentime.RationalTime(86400, 24))
    frames = SECONDS * 24
    for stem, name, data in (
        ("dialogue", "dx.wav", dx),
        ("music", "mx.wav", music),
        ("backgrounds", "bg.wav", bg),
    ):
        path = _write(tmp / name, data)
        track = add_track(tl, stem)
        place_clip(track, wav_clip(path, name=name, frames=frames, rate=RATE, file_samples=n), 0, RATE)
    fxp = _write(tmp / "fx.wav", fx)
    fx_track = add_track(tl, "effects")
    for at in (48, 150):
        place_clip(fx_track, wav_clip(fxp, name="hit", frames=48, rate=RATE, file_samples=2 * SR), at, RATE)
    return tl, mask


def _read(path: Path) -> np.ndarray:
    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    assert rate == SR
    return data


def _pyln(data: np.ndarray) -> float:
    """pyloudnorm's integrated loudness; for 5.1 without the LFE (L R C Ls Rs get its 1/1/1/1.41/1.41)."""
    if data.shape[1] == 6:
        data = data[:, [0, 1, 2, 4, 5]]
    return float(pyloudnorm.Meter(SR).integrated_loudness(data))


def _true_peak_db(data: np.ndarray) -> float:
    up = signal.resample_poly(data, 8, 1, axis=0)
    return 20 * np.log10(max(np.abs(up).max(), np.abs(data).max()))


def _outputs(report: object) -> dict[tuple[str, str], Path]:
    return {(o.layout, o.stem): o.path for o in report.outputs}  # type: ignore[attr-defined]


@pytest.mark.parametrize("spec_name", ["ebu-r128", "atsc-a85", "netflix", "cinema"])
def test_printmaster_meets_each_spec_measured_with_pyloudnorm(tmp_path: Path, spec_name: str) -> None:
    session, mask = _session(tmp_path)
    spec = load_spec(spec_name)
    report = mix_session(session, tmp_path / "mix", spec, name="film")
    assert report.passed
    outs = _outputs(report)
    for layout in spec.layouts:
        pm = _read(outs[layout, "printmaster"])
        assert pm.shape[0] == SECONDS * SR
        # dialogue-gated: only where speech is (ground truth from the test signal)
        level = _pyln(pm) if spec.gating == "program" else _pyln(pm[mask])
        assert abs(level - spec.target_lufs) <= 0.5, (layout, level)
        assert _true_peak_db(pm) <= spec.true_peak_dbtp + 0.05


def test_stems_sum_to_printmaster_and_me_has_no_dialogue(tmp_path: Path) -> None:
    session, _ = _session(tmp_path)
    report = mix_session(session, tmp_path / "mix", load_spec("ebu-r128"), name="film")
    outs = _outputs(report)
    for layout in ("5.1", "stereo"):
        pm = _read(outs[layout, "printmaster"])
        stems = sum(_read(outs[layout, s]) for s in ("dialogue", "music", "effects", "foley", "backgrounds"))
        assert np.abs(stems - pm).max() < 1e-5
        me = _read(outs[layout, "me"])
        dx = _read(outs[layout, "dialogue"])
        assert np.abs(me - (pm - dx)).max() < 1e-5
        # no dialogue in the M&E: it does not correlate with the dialogue stem
        corr = float(np.dot(me.sum(1), dx.sum(1)) / (np.linalg.norm(me) * np.linalg.norm(dx)))
        assert abs(corr) < 0.02
    # 5.1 channel order L R C LFE Ls Rs: dialogue in the centre only, backgrounds all around
    dx51 = _read(outs["5.1", "dialogue"])
    assert np.abs(dx51[:, [0, 1, 3, 4, 5]]).max() == 0.0 and np.abs(dx51[:, 2]).max() > 0.05
    bg51 = _read(outs["5.1", "backgrounds"])
    assert all(np.abs(bg51[:, ch]).max() > 0 for ch in (0, 1, 4, 5)) and np.abs(bg51[:, 2]).max() == 0
    info = sf.info(str(outs["5.1", "printmaster"]))
    assert info.channels == 6 and info.subtype == "PCM_24"


def test_lo_ro_is_the_itu_downmix_of_the_51(tmp_path: Path) -> None:
    session, _ = _session(tmp_path)
    report = mix_session(session, tmp_path / "mix", load_spec("ebu-r128"), name="film", normalize=False)
    outs = _outputs(report)
    five = _read(outs["5.1", "printmaster"])
    lo_ro = _read(outs["stereo", "printmaster"])
    k = 1 / np.sqrt(2)
    expect = np.stack(
        [five[:, 0] + k * five[:, 2] + k * five[:, 4], five[:, 1] + k * five[:, 2] + k * five[:, 5]], 1
    )
    assert np.abs(expect - lo_ro).max() < 1e-4


def test_limiter_holds_the_true_peak_ceiling_on_hot_effects(tmp_path: Path) -> None:
    session, _ = _session(tmp_path, loud_fx=True)
    spec = load_spec("ebu-r128")
    report = mix_session(session, tmp_path / "mix", spec, name="film")
    assert report.limiter_db["5.1"] > 1.0  # the hits had to be limited
    pm = _read(_outputs(report)["5.1", "printmaster"])
    assert _true_peak_db(pm) <= spec.true_peak_dbtp + 0.05
    assert abs(_pyln(pm) + 23.0) <= 0.5


def test_fader_pan_automation_and_lfe_send(tmp_path: Path) -> None:
    session, _ = _session(tmp_path)
    fx = next(t for t in session.tracks if t.name == "FX1")
    fx.metadata["posthouse"].update(
        {"pan": "Ls", "lfe_db": 0.0, "automation": [[0, 0.0], [100, 0.0], [150, -20.0]]}
    )
    report = mix_session(session, tmp_path / "mix", load_spec("ebu-r128"), name="film", normalize=False)
    fx51 = _read(_outputs(report)["5.1", "effects"])
    assert np.abs(fx51[:, [0, 1, 2, 5]]).max() == 0.0  # only Ls and the LFE
    first = np.abs(fx51[2 * SR : 2 * SR + SR // 10, 4]).max()  # hit at frame 48, automation 0 dB
    second = np.abs(fx51[int(6.25 * SR) : int(6.25 * SR) + SR // 10, 4]).max()  # frame 150: -20 dB
    assert 20 * np.log10(first / second) == pytest.approx(20.0, abs=1.5)
    assert np.abs(fx51[:, 3]).max() > 0.01  # LFE got the low end


def test_resampled_missing_and_clipped_sources_are_reported(tmp_path: Path) -> None:
    session, _ = _session(tmp_path)
    rate44 = 44_100
    t = np.arange(rate44) / rate44
    _write(tmp_path / "beep44.wav", (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), rate44)
    track = add_track(session, "effects")
    clip = wav_clip(tmp_path / "beep44.wav", name="beep44", frames=24, rate=RATE, sample_rate=rate44)
    place_clip(track, clip, 24, RATE)
    place_clip(track, wav_clip(tmp_path / "gone.wav", name="gone", frames=24, rate=RATE), 96, RATE)
    clipped = np.zeros(SR, np.float32)
    clipped[1000:3000] = 1.0
    _write(tmp_path / "clip.wav", clipped)
    place_clip(track, wav_clip(tmp_path / "clip.wav", name="clipped", frames=24, rate=RATE), 200, RATE)
    report = mix_session(session, tmp_path / "mix", load_spec("ebu-r128"), name="film", normalize=False)
    assert report.resampled and report.resampled[0]["from_hz"] == rate44
    assert any("44100 Hz resampled" in w for w in report.warnings)
    assert [m["clip"] for m in report.missing] == ["gone"]
    assert report.clipping and report.clipping[0]["clips"] == ["clipped"]
    assert report.clipping[0]["timecode"].startswith("01:00:08")  # frame 200 at 24 fps
    fx = _read(_outputs(report)["5.1", "effects"])
    # the 44.1 kHz beep plays at frame 24 (1 s), a 1 kHz tone at the right pitch
    seg = fx[SR + 100 : 2 * SR - 100].sum(1)
    spectrum = np.abs(np.fft.rfft(seg))
    assert abs(np.argmax(spectrum) * SR / seg.size - 1000) < 3


def test_dialogue_gating_falls_back_when_dialogue_is_scarce(tmp_path: Path) -> None:
    session, _ = _session(tmp_path)
    dx = next(t for t in session.tracks if t.name == "DX1")
    dx.metadata["posthouse"]["mute"] = True
    report = mix_session(session, tmp_path / "mix", load_spec("netflix"), name="film", stems=False)
    assert report.gating == "program" and report.target_lufs == -24.0
    assert report.passed
    assert {o.stem for o in report.outputs} == {"printmaster", "me"}


def test_specs_are_data(tmp_path: Path) -> None:
    assert set(builtin_specs()) >= {"ebu-r128", "atsc-a85", "netflix", "cinema"}
    custom = tmp_path / "house.toml"
    custom.write_text('name = "house"\ntarget_lufs = -16\ntrue_peak_dbtp = -1\nlayouts = ["stereo"]\n')
    spec = load_spec(custom)
    assert spec == LoudnessSpec(
        name="house", target_lufs=-16.0, tolerance_lu=0.5, true_peak_dbtp=-1.0, layouts=("stereo",)
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('target_lufs = "loud"\n')
    with pytest.raises(Exception, match="target_lufs"):
        load_spec(bad)
    with pytest.raises(Exception, match="unknown loudness spec"):
        load_spec("nope")


def test_mix_cli_writes_report_and_exit_code(tmp_path: Path) -> None:
    from posthouse.cli.app import app

    session, _ = _session(tmp_path)
    path = save_session(session, tmp_path / "sess" / "session.otio")
    result = CliRunner().invoke(app, ["mix", str(path), "--spec", "atsc-a85", "--layout", "stereo", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "sess" / "mix" / "atsc-a85" / "mix_report.json").read_text())
    assert doc["passed"] and doc["measured_after_lufs"] == {"stereo": -24.0}
    assert (tmp_path / "sess" / "mix" / "atsc-a85" / "sess_PM_20.wav").exists()
