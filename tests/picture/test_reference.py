"""Turnover reference movie: leader length, 2-pop and tail pop to the frame and sample, the cut at FFOA."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import opentimelineio as otio
import pytest

from posthouse.core.errors import UsageError
from posthouse.core.media import Bext, VideoWriter, read_audio, write_bwf
from posthouse.core.progress import Cancelled, CancelToken
from posthouse.core.time import Rate, frames_to_samples, timecode_to_samples
from posthouse.picture.reference import render_reference

W, H = 160, 90


def _levels(path: Path) -> list[float]:
    """Grey level of each frame's centre, decoded through planar RGB."""
    with av.open(str(path)) as container:
        return [
            float(np.mean(f.reformat(format="gbrp").to_ndarray()[30:60, 40:120]))
            for f in container.decode(video=0)
        ]


def _timecode(path: Path) -> str | None:
    with av.open(str(path)) as container:
        tc = container.streams.video[0].metadata.get("timecode")
        return str(tc) if tc is not None else None


def _source(path: Path, rate: Rate, grey: list[int]) -> Path:
    with VideoWriter(
        path, width=W, height=H, rate=rate.fps, preset="prores-proxy", start_timecode="01:00:00:00"
    ) as vw:
        for lv in grey:
            vw.write_frame(np.full((H, W, 3), lv, np.uint8))
    return path


def _rt(v: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(v, rate)


def _cut(tmp: Path, rate: Rate) -> tuple[otio.schema.Timeline, list[float], Path]:
    """A three-clip cut at 01:00:00:00 with a sound clip under it; returns the expected levels too."""
    fr = rate.otio_rate
    tc = 3600 * rate.timebase  # 01:00:00:00 in frames
    a = _source(tmp / "A.mov", rate, [40 + 4 * i for i in range(30)])
    b = _source(tmp / "B.mov", rate, [220 - 4 * i for i in range(30)])
    a_levels, b_levels = _levels(a), _levels(b)
    t_ref = timecode_to_samples("01:00:00:00", rate)
    n = 48000
    sound = write_bwf(
        tmp / "dx.wav", np.full((1, n), 0.25, np.float32), 48000, bext=Bext(time_reference=t_ref)
    )

    def vclip(name: str, path: Path, src_in: int, dur: int) -> otio.schema.Clip:
        ref = otio.schema.ExternalReference(
            target_url=path.as_uri(), available_range=otio.opentime.TimeRange(_rt(tc, fr), _rt(30, fr))
        )
        return otio.schema.Clip(
            name=name,
            media_reference=ref,
            source_range=otio.opentime.TimeRange(_rt(tc + src_in, fr), _rt(dur, fr)),
        )

    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for item in (vclip("A_01", a, 2, 8), vclip("B_01", b, 5, 7), vclip("A_02", a, 20, 6)):
        v1.append(item)
    want = a_levels[2:10] + b_levels[5:12] + a_levels[20:26]
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    sref = otio.schema.ExternalReference(
        target_url=str(sound), available_range=otio.opentime.TimeRange(_rt(t_ref, 48000), _rt(n, 48000))
    )
    dur = frames_to_samples(21, rate)
    a1.append(
        otio.schema.Clip(
            name="dx",
            media_reference=sref,
            source_range=otio.opentime.TimeRange(_rt(t_ref, 48000), _rt(dur, 48000)),
        )
    )
    tl = otio.schema.Timeline(name="reel1", global_start_time=_rt(tc, fr))
    tl.tracks.append(v1)
    tl.tracks.append(a1)
    return tl, want, a


def _rms(sound: npt.NDArray[np.float32], rate: Rate, frame: int) -> npt.NDArray[np.float64]:
    s, e = frames_to_samples(frame, rate), frames_to_samples(frame + 1, rate)
    rms: npt.NDArray[np.float64] = np.sqrt(np.mean(sound[:, s:e].astype(np.float64) ** 2, axis=1))
    return rms


@pytest.mark.parametrize("rate_name", ["24", "23.976", "25"])
def test_reference_leader_pops_and_cut(tmp_path: Path, rate_name: str) -> None:
    rate = Rate.parse(rate_name)
    tb = rate.timebase
    cut, want, _ = _cut(tmp_path, rate)
    out = tmp_path / "reel1_ref.mov"
    report = render_reference(cut, out, rate=rate, watermark="reel1 v005")

    cut_frames = 21
    total = 8 * tb + cut_frames + 2 * tb + 1 + tb
    assert report.cut_frames == cut_frames and report.frames == total
    assert report.ffoa_frame == 8 * tb and report.lfoa_frame == 8 * tb + cut_frames - 1
    assert report.two_pop_frame == report.ffoa_frame - 2 * tb
    assert report.tail_pop_frame == report.lfoa_frame + 1 + 2 * tb
    assert report.start_timecode == "00:59:52:00" and report.render.offline == []
    assert _timecode(out) == "00:59:52:00"
    assert not list(tmp_path.glob(".reel1_ref.mov*")), "work folder left behind"

    got = _levels(out)
    assert len(got) == total
    ffoa, lfoa = report.ffoa_frame, report.lfoa_frame
    # the cut, to the frame: FFOA shows the first source frame, LFOA the last, black around it
    assert lfoa - ffoa + 1 == cut_frames
    bad = [
        (k, g, w) for k, (g, w) in enumerate(zip(got[ffoa : lfoa + 1], want, strict=True)) if abs(g - w) > 2
    ]
    assert not bad, f"cut frames off (frame, got, want): {bad[:6]}"
    assert got[ffoa - 1] < 5 and got[lfoa + 1] < 5
    # leader cards are grey-ish, not black
    assert all(got[k] > 40 for k in range(0, 6 * tb, tb // 2))
    # 2-pop: one bright frame 2 s before FFOA; tail pop with black either side; black tail
    pop, tail = report.two_pop_frame, report.tail_pop_frame
    # (SMPTE: the "3" card runs right up to the pop frame, black follows it)
    assert got[pop] > 150 and got[pop - 1] < got[pop] - 60 and got[pop + 1] < 5
    assert max(got[pop + 1 : ffoa]) < 5 and got[pop - tb] > 40
    assert got[tail] > 240 and got[tail - 1] < 5 and got[tail + 1] < 5
    assert max(got[tail + 1 :]) < 5 and len(got[tail + 1 :]) == tb

    sound, sr = read_audio(out)
    assert sr == 48000 and sound.shape == (2, frames_to_samples(total, rate))
    tone = 10 ** (-20 / 20) / np.sqrt(2)  # RMS of a -20 dBFS sine
    for frame in (pop, tail):
        assert np.allclose(_rms(sound, rate, frame), tone, rtol=0.02), frame
        assert _rms(sound, rate, frame - 1).max() < 1e-4 and _rms(sound, rate, frame + 1).max() < 1e-4
    # nothing but the pop before FFOA; the dialogue starts exactly at FFOA
    s_pop, e_pop = frames_to_samples(pop, rate), frames_to_samples(pop + 1, rate)
    s_ffoa = frames_to_samples(ffoa, rate)
    assert not np.abs(sound[:, :s_pop]).max() and not np.abs(sound[:, e_pop:s_ffoa]).max()
    assert np.allclose(sound[:, s_ffoa : frames_to_samples(lfoa + 1, rate)], 0.25, atol=1e-3)
    assert not np.abs(sound[:, frames_to_samples(lfoa + 1, rate) : frames_to_samples(tail, rate)]).max()


def test_reference_rejects_wrong_rate_and_empty(tmp_path: Path) -> None:
    cut, _, _ = _cut(tmp_path, Rate.parse(24))
    with pytest.raises(UsageError, match="not the requested"):
        render_reference(cut, tmp_path / "x.mov", rate=25)
    empty = otio.schema.Timeline(name="empty", global_start_time=_rt(86400, 24))
    empty.tracks.append(otio.schema.Track(name="V1"))
    with pytest.raises(UsageError, match="empty"):
        render_reference(empty, tmp_path / "y.mov", rate=24)
    assert not (tmp_path / "x.mov").exists() and not (tmp_path / "y.mov").exists()


def test_reference_cancel_leaves_nothing(tmp_path: Path) -> None:
    cut, _, _ = _cut(tmp_path, Rate.parse(24))
    token = CancelToken()
    token.cancel()
    out = tmp_path / "ref.mov"
    with pytest.raises(Cancelled):
        render_reference(cut, out, rate=24, cancel=token)
    assert not out.exists() and not list(tmp_path.glob(".ref.mov*"))


def test_reference_of_a_midnight_cut_wraps_timecode(tmp_path: Path) -> None:
    cut, _, _ = _cut(tmp_path, Rate.parse(25))
    cut.global_start_time = _rt(0, 25)
    report = render_reference(cut, tmp_path / "ref.mov", rate="25")
    assert report.start_timecode == "23:59:52:00" and report.ffoa_frame == 200 and report.two_pop_frame == 150
    assert _timecode(tmp_path / "ref.mov") == "23:59:52:00"
