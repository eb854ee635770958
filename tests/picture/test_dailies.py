"""Dailies: review copies re-opened with PyAV — frames, rate, sound placement, burned-in timecode, look.

The shoot is made once per module (1 scene × 2 takes, 640x360) and rendered once with NLE media; the
LUT/CDL, unsynced, damaged-input and reuse checks run on tiny flat-colour clips made here.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import soundfile as sf

from posthouse.core.jobs import LocalExecutor, SerialExecutor
from posthouse.core.media import VideoWriter, probe, read_audio
from posthouse.core.time import Timecode
from posthouse.demo.shoot import ShootSpec, generate_shoot
from posthouse.picture.burnin import BurnIn, BurnInText
from posthouse.picture.color import read_cdl
from posthouse.picture.dailies import (
    DailiesOutput,
    DailiesTake,
    mix_matrix,
    place_sound,
    render_dailies,
    render_take,
    write_report,
)

SPEC = ShootSpec(scenes=1, takes=2, size="small", seed=5, faults=False)
SR = 48000


# ------------------------------------------------------------------------------------------ helpers


def _decode(path: Path) -> tuple[list[np.ndarray], Fraction]:
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(vs)]
        return frames, Fraction(vs.average_rate)


def _decode_audio(path: Path) -> tuple[np.ndarray, int | None]:
    """All decoded samples and the first frame's pts (AAC priming is trimmed by the mp4 edit list)."""
    with av.open(str(path)) as c:
        blocks, first = [], None
        for f in c.decode(c.streams.audio[0]):
            first = f.pts if first is None else first
            blocks.append(f.to_ndarray())
    return np.concatenate(blocks, axis=1), first


def _phat_lag(ref: np.ndarray, sig: np.ndarray, max_lag: int = 4800) -> int:
    """Lag of ``sig`` against ``ref`` by GCC-PHAT (positive: ``sig`` is late)."""
    n = 1 << int(np.ceil(np.log2(len(ref) + len(sig))))
    x = np.fft.rfft(sig, n) * np.conj(np.fft.rfft(ref, n))
    r = np.fft.irfft(x / (np.abs(x) + 1e-12), n)
    r = np.concatenate([r[-max_lag:], r[: max_lag + 1]])
    return int(np.argmax(r)) - max_lag


def _item(truth: dict[str, Any], root: Path, take: str, **kw: Any) -> DailiesTake:
    t = truth["takes"][take]
    clip_name, clip = next(iter(t["clips"].items()))
    sound = root / t["sound_file"]
    base = DailiesTake(
        take=take,
        picture=root / clip["path"],
        sound=sound,
        offset_samples=clip["offset_samples"],
        drift_ppm=t["skew_ppm"],
        scene=t["scene"],
        take_number=str(t["take_number"]),
        camera=clip["camera"],
        clip=clip_name,
        circled=t["circled"],
        start_timecode=clip["start_timecode"],
        rate=Fraction(truth["fps"]),
        sound_timecode=probe(sound).start_timecode,
        sync_method="waveform",
        confidence=0.93,
        status="synced",
    )
    return replace(base, **kw)


def _flat_clip(
    path: Path,
    color: tuple[int, int, int],
    *,
    frames: int = 6,
    audio: bool = True,
    size: tuple[int, int] = (320, 180),
) -> Path:
    w, h = size
    with VideoWriter(
        path,
        width=w,
        height=h,
        rate=Fraction(24),
        preset="prores-hq",
        start_timecode="01:00:00:00",
        reel="T001",
        audio_channels=1 if audio else 0,
    ) as vw:
        for i in range(frames):
            vw.write_frame(np.full((h, w, 3), color, np.uint8))
            if audio:
                t = np.arange(i * 2000, (i + 1) * 2000) / SR
                vw.write_audio((0.3 * np.sin(2 * np.pi * 440 * t) * (t > 0.05)).astype(np.float32)[None])
    return path


def _tiny_item(picture: Path, take: str = "9Z-1", **kw: Any) -> DailiesTake:
    base = DailiesTake(
        take=take,
        picture=picture,
        sound=None,
        offset_samples=None,
        drift_ppm=None,
        scene="9Z",
        take_number="1",
        camera="A",
        clip=picture.stem,
        circled=False,
        start_timecode="01:00:00:00",
        rate=Fraction(24),
        sound_timecode=None,
        sync_method=None,
        confidence=None,
        status="unsynced",
    )
    return replace(base, **kw)


def _centre(path: Path, frame: int = 2) -> np.ndarray:
    frames, _ = _decode(path)
    h, w, _ = frames[frame].shape
    return frames[frame][h // 2 - 10 : h // 2 + 10, w // 2 - 10 : w // 2 + 10].reshape(-1, 3).mean(axis=0)


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("shoot")
    generate_shoot(root, SPEC, executor=SerialExecutor())
    return root, json.loads((root / "ground_truth.json").read_text())


@pytest.fixture(scope="module")
def rendered(
    shoot: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[DailiesTake], list[DailiesOutput], Path]:
    root, truth = shoot
    items = [_item(truth, root, name) for name in sorted(truth["takes"])]
    out = tmp_path_factory.mktemp("dailies")
    outputs = render_dailies(items, out, nle=True)
    return items, outputs, out


# ------------------------------------------------------------------------------------------ the shoot


def test_review_copies_frames_rate_and_sound_length(rendered: Any) -> None:
    items, outputs, _ = rendered
    for item, out in zip(items, outputs, strict=True):
        assert out.error is None, out.error
        assert out.review is not None and out.review.name == f"{item.take}_{item.clip}.mp4"
        info = probe(out.review)
        expected = probe(item.picture).video[0].frames
        assert out.frames == expected == info.video[0].frames
        assert info.video[0].codec == "h264" and info.video[0].rate == item.rate
        assert info.audio[0].codec == "aac" and info.audio[0].channels == 2
        picture_samples = expected * 2002  # 48000 / (24000/1001) samples per frame, exactly
        assert out.audio_samples == picture_samples
        audio, first_pts = _decode_audio(out.review)
        assert first_pts == 0  # the encoder's priming samples are hidden by the edit list
        assert picture_samples <= audio.shape[1] < picture_samples + 1024  # within one AAC frame
        assert out.thumbnail is not None and out.thumbnail.stat().st_size > 1000


def test_production_sound_is_placed_by_offset_and_drift(rendered: Any) -> None:
    items, outputs, _ = rendered
    offsets = [it.offset_samples for it in items]
    assert min(offsets) < 0 < max(offsets)  # one take where sound rolled first, one where it rolled late
    for item, out in zip(items, outputs, strict=True):
        sound, _ = read_audio(item.sound)
        audio, _ = _decode_audio(out.review)
        ratio = 1 + item.drift_ppm * 1e-6
        for at in (2 * SR, 6 * SR):  # one-second windows with dialogue
            start = item.offset_samples + round(at * ratio)
            ref = sound[0, start : start + SR]  # the boom, where the truth says it belongs
            lag = _phat_lag(ref, audio[0, at : at + SR])
            assert abs(lag) <= 2, (item.take, at, lag)
        if item.offset_samples < 0:  # sound rolled late: silence until it starts
            lead = audio[:, : -item.offset_samples - 1100]  # less an AAC frame of pre-echo
            assert float(np.abs(lead).max()) < 1e-3
            assert float(np.abs(audio[:, -item.offset_samples + 100 :]).max()) > 0.01


def test_nle_media_carries_every_track_timecode_and_reel(rendered: Any) -> None:
    items, outputs, _ = rendered
    for item, out in zip(items, outputs, strict=True):
        assert out.nle is not None
        info = probe(out.nle)
        assert info.video[0].codec == "dnxhd" and "LB" in (info.video[0].profile or "")
        assert info.start_timecode == item.start_timecode and info.reel == "A001"
        assert info.audio[0].channels == 3 and info.audio[0].bit_depth == 24
        assert info.audio[0].samples == out.audio_samples == out.frames * 2002
        pcm, _ = read_audio(out.nle, stream=0)
        sound, _ = read_audio(item.sound)
        expected = place_sound(sound, 0, pcm.shape[1], item.offset_samples, item.drift_ppm)
        assert np.abs(pcm - expected).max() < 1e-4  # streamed windows == one-shot placement


def test_burned_in_timecodes_read_back_frame_by_frame(rendered: Any) -> None:
    items, outputs, _ = rendered
    for item, out in zip(items, outputs, strict=True):
        frames, _ = _decode(out.review)
        h, w, _ = frames[0].shape
        burn = BurnIn(w, h, BurnInText())  # the timecode cells depend only on the frame size
        start = Timecode.parse(item.start_timecode, item.rate)
        sound_start = Timecode.parse(item.sound_timecode, item.rate)
        spf = Fraction(SR) / item.rate
        length = sf.info(str(item.sound)).frames
        ratio = 1 + item.drift_ppm * 1e-6
        for i, frame in enumerate(frames):
            assert burn.read_timecode(frame, "source") == str(start + i), (item.take, i)
            pos = item.offset_samples + float(i * spf) * ratio
            want = str(sound_start + int(pos // float(spf))) if 0 <= pos < length else "-" * 11
            assert burn.read_timecode(frame, "sound") == want, (item.take, i)
        # the reader is not fooled: a neighbouring label does not match
        assert burn.read_timecode(frames[5], "source") != str(start + 6)


def test_rerun_reuses_unchanged_outputs(rendered: Any) -> None:
    items, outputs, out_dir = rendered
    before = {o.review: o.review.stat().st_mtime_ns for o in outputs}
    again = render_dailies(items, out_dir, nle=True)
    assert all(o.skipped and o.error is None for o in again)
    assert {o.review: o.review.stat().st_mtime_ns for o in again} == before
    assert [o.frames for o in again] == [o.frames for o in outputs]


def test_report_lists_every_take_and_fault(rendered: Any, tmp_path: Path) -> None:
    items, outputs, _ = rendered
    broken = _tiny_item(tmp_path / "gone.mov", take="3C-9")
    bad = DailiesOutput("3C-9", None, None, None, 0, 0, "gone.mov: file not found", clip="gone")
    conflict = replace(items[1], status="conflict", notes=("slate and waveform disagree by 3 frames",))
    report = write_report(
        [items[0], conflict, broken],
        [outputs[0], outputs[1], bad],
        tmp_path / "report.html",
        title="Dailies <Day 1> & co",
        faults=["damaged: camera/A001/A001C009.mov: no moov atom"],
    )
    page = report.read_text("utf-8")
    assert "Dailies &lt;Day 1&gt; &amp; co" in page and "<Day 1>" not in page
    for item in items:
        assert f"<b>{item.take}</b>" in page and item.clip in page
    assert page.count('class="circled"') == sum(i.circled for i in items)
    assert "★" in page and "data:image/jpeg;base64," in page
    assert "no moov atom" in page
    assert "render failed: 3C-9" in page and "gone.mov: file not found" in page
    assert "sync conflict: 1A-2" in page and "disagree by 3 frames" in page
    assert f"{items[0].offset_samples:+d} smp" in page
    assert not list(tmp_path.glob(".report*"))  # written atomically: no temporary left


# ------------------------------------------------------------------------------------ tiny clips


def _write_cube(path: Path, fn: Any) -> Path:
    lines = ["LUT_3D_SIZE 2"]
    for b in (0.0, 1.0):
        for g in (0.0, 1.0):
            for r in (0.0, 1.0):
                lines.append("{:.6f} {:.6f} {:.6f}".format(*fn(r, g, b)))
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_cdl(path: Path, slope: str, *, cid: str = "shot1") -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ColorDecisionList xmlns="urn:ASC:CDL:v1.01"><ColorDecision>'
        f'<ColorCorrection id="{cid}"><SOPNode><Slope>{slope}</Slope><Offset>0 0 0</Offset>'
        "<Power>1 1 1</Power></SOPNode><SatNode><Saturation>1</Saturation></SatNode></ColorCorrection>"
        "</ColorDecision></ColorDecisionList>\n"
    )
    return path


def test_lut_and_cdl_change_pixels_as_expected(tmp_path: Path) -> None:
    clip = _flat_clip(tmp_path / "flat.mov", (200, 60, 30))
    invert = _write_cube(tmp_path / "invert.cube", lambda r, g, b: (1 - r, 1 - g, 1 - b))
    swap = _write_cube(tmp_path / "swap.cube", lambda r, g, b: (g, b, r))
    cdl = _write_cdl(tmp_path / "grade.cdl", "2 2 2")
    item = _tiny_item(clip)
    cases = {
        "none": ({}, (200, 60, 30)),
        "invert": ({"lut": invert}, (55, 195, 225)),
        "swap": ({"lut": swap}, (60, 30, 200)),
        "cdl": ({"cdl": cdl}, (255, 120, 60)),  # slope 2, clamped
        "cdl+lut": ({"cdl": cdl, "lut": invert}, (0, 135, 195)),  # CDL first, then the LUT
    }
    for name, (kw, want) in cases.items():
        out = render_take(item, tmp_path / name, **kw)
        assert out.error is None, out.error
        got = _centre(out.review)
        assert np.allclose(got, want, atol=5), (name, got, want)


def test_read_cdl_picks_the_matching_correction(tmp_path: Path) -> None:
    ccc = tmp_path / "show.ccc"
    ccc.write_text(
        '<ColorCorrectionCollection xmlns="urn:ASC:CDL:v1.01">'
        '<ColorCorrection id="A001C001"><SOPNode><Slope>1.1 1.2 1.3</Slope><Offset>0.01 0 -0.01</Offset>'
        "<Power>1 1 0.9</Power></SOPNode><SATNode><Saturation>0.8</Saturation></SATNode></ColorCorrection>"
        '<ColorCorrection id="A001C002"><SOPNode><Slope>2 2 2</Slope></SOPNode></ColorCorrection>'
        "</ColorCorrectionCollection>"
    )
    first = read_cdl(ccc)
    assert first.id == "A001C001" and first.slope == (1.1, 1.2, 1.3) and first.saturation == 0.8
    assert first.offset == (0.01, 0.0, -0.01) and first.power == (1.0, 1.0, 0.9)
    second = read_cdl(ccc, prefer=("A001C002",))
    assert second.slope == (2.0, 2.0, 2.0) and second.power == (1.0, 1.0, 1.0)


def test_unsynced_take_uses_scratch_audio_and_says_so(shoot: Any, tmp_path: Path) -> None:
    root, truth = shoot
    item = _item(truth, root, "1A-1", status="unsynced", sound=None, offset_samples=None, drift_ppm=None)
    out = render_take(item, tmp_path, size=(320, 180))
    assert out.error is None and out.sound_source == "scratch"
    frames, _ = _decode(out.review)
    assert frames[0].shape == (180, 320, 3)
    flagged = BurnIn(320, 180, BurnInText(flags=("UNSYNCED · SCRATCH AUDIO",)))
    y0, y1, x0, x1 = flagged.flag_boxes[0]
    r, g, b = np.median(frames[10][y0:y1, x0:x1].reshape(-1, 3), axis=0)
    assert r > 120 and r > 2 * g and r > 2 * b  # the red UNSYNCED box
    scratch, _ = read_audio(item.picture)
    audio, _ = _decode_audio(out.review)
    assert _phat_lag(scratch[0, SR : 3 * SR], audio[0, SR : 3 * SR]) == 0


def test_conflict_without_a_usable_offset_is_flagged(tmp_path: Path) -> None:
    clip = _flat_clip(tmp_path / "conf.mov", (40, 140, 40))
    out = render_take(_tiny_item(clip, status="conflict", sync_method="slate"), tmp_path / "out")
    assert out.error is None and out.sound_source == "scratch"
    frames, _ = _decode(out.review)
    y0, y1, x0, x1 = BurnIn(320, 180, BurnInText(flags=("CONFLICT · SCRATCH AUDIO",))).flag_boxes[0]
    r, g, b = np.median(frames[3][y0:y1, x0:x1].reshape(-1, 3), axis=0)
    assert r > 120 and r > 2 * g and r > 2 * b  # a red box where the picture is green


def test_take_without_any_sound_is_silent_and_flagged(tmp_path: Path) -> None:
    clip = _flat_clip(tmp_path / "mute.mov", (90, 90, 90), audio=False)
    out = render_take(_tiny_item(clip), tmp_path / "out")
    assert out.error is None and out.sound_source == "silence"
    assert any("silent" in w for w in out.warnings)
    audio, _ = _decode_audio(out.review)
    assert float(np.abs(audio).max()) < 1e-4


def test_damaged_inputs_give_errors_and_the_batch_goes_on(tmp_path: Path) -> None:
    good = _flat_clip(tmp_path / "good.mov", (120, 120, 120))
    cut = tmp_path / "cut.mov"
    cut.write_bytes(good.read_bytes()[: int(good.stat().st_size * 0.6)])  # camera lost power
    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"not a movie at all" * 100)
    items = [_tiny_item(cut, "1-1"), _tiny_item(junk, "1-2"), _tiny_item(good, "1-3")]
    with LocalExecutor(1) as ex:  # the worker is picklable and runs in another process
        outs = render_dailies(items, tmp_path / "out", executor=ex)
    assert outs[0].error is not None and str(cut) in outs[0].error and "damaged" in outs[0].error
    assert outs[1].error is not None and str(junk) in outs[1].error
    assert outs[0].review is None and outs[1].review is None
    assert outs[2].error is None and outs[2].frames == 6
    assert not (tmp_path / "out" / "1-1_cut.mp4").exists()
    assert not [p for p in os.listdir(tmp_path / "out") if ".partial" in p]


def test_changed_settings_or_inputs_render_again(tmp_path: Path) -> None:
    clip = _flat_clip(tmp_path / "c.mov", (100, 50, 25))
    item = _tiny_item(clip)
    first = render_take(item, tmp_path / "out")
    assert not first.skipped
    assert render_take(item, tmp_path / "out").skipped
    assert not render_take(replace(item, circled=True), tmp_path / "out").skipped  # item changed
    cube = _write_cube(tmp_path / "i.cube", lambda r, g, b: (1 - r, 1 - g, 1 - b))
    assert not render_take(replace(item, circled=True), tmp_path / "out", lut=cube).skipped
    assert render_take(replace(item, circled=True), tmp_path / "out", lut=cube).skipped
    _write_cube(cube, lambda r, g, b: (g, b, r))  # the show LUT was updated in place
    assert not render_take(replace(item, circled=True), tmp_path / "out", lut=cube).skipped


# ------------------------------------------------------------------------------------------- units


def test_place_sound_shifts_pads_and_trims_exactly() -> None:
    src = np.arange(1, 101, dtype=np.float32)[None, :]
    out = place_sound(src, 0, 30, -10, 0.0)  # sound starts 10 samples after picture
    assert np.all(out[0, :10] == 0) and np.array_equal(out[0, 10:], src[0, :20])
    out = place_sound(src, 0, 30, 90, 0.0)  # only 10 samples left after the offset
    assert np.array_equal(out[0, :10], src[0, 90:]) and np.all(out[0, 10:] == 0)


def test_place_sound_corrects_drift() -> None:
    ppm = 400.0  # large enough to measure in a short test; the interpolator does not care
    ratio = 1 + ppm * 1e-6
    n = np.arange(3 * SR)
    f = 1000.0
    recorded = np.sin(2 * np.pi * f * n / (SR * ratio)).astype(np.float32)[None]  # a fast clock
    offset = 480
    out = place_sound(recorded, 0, 2 * SR, offset, ppm)
    t = np.arange(2 * SR)
    expected = np.sin(2 * np.pi * f * (offset / ratio + t) / SR)
    assert np.abs(out[0, 100:-100] - expected[100:-100]).max() < 2e-3
    uncorrected = recorded[0, offset : offset + 2 * SR]
    assert np.abs(uncorrected[-1000:] - expected[-1000:]).max() > 0.3  # what drift does otherwise


def test_mix_matrix_boom_centre_lavs_blended() -> None:
    m = mix_matrix(["BOOM", "LAV1 MAYA", "LAV2 THEO"], 3)
    assert np.allclose(m, [[0.6, 0.4, 0.4], [0.6, 0.4, 0.4]])
    assert np.allclose(mix_matrix(["MIX L", "MIX R", "BOOM"], 3), [[1, 0, 0], [0, 1, 0]])
    assert np.allclose(mix_matrix([], 2), [[0.6, 0.4], [0.6, 0.4]])  # unnamed: track 1 is the boom
    assert np.allclose(mix_matrix(["X"], 1), [[1], [1]])
