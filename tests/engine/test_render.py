"""The render engine on tiny synthetic sources: cuts, gaps, tracks, transitions, speed, offline, sound."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import opentimelineio as otio
import pytest

from posthouse.core.media import Bext, VideoWriter, iter_video_frames, read_audio, write_bwf
from posthouse.core.progress import Cancelled, CancelToken, NullProgress
from posthouse.engine import (
    BurnInSpec,
    iter_timeline_audio,
    iter_timeline_frames,
    plan_timeline,
    render_timeline,
)

RATE = 24.0
W, H = 160, 90
TC_A = 86400  # 01:00:00:00 at 24 fps
TC_B = 2 * 86400
T_REF = 3600 * 48000  # BWF TimeReference of the sounds: 01:00:00:00


# Nominal grey levels of the sources' frames; what a decode gives back (one 8-bit -> 10-bit Y'CbCr
# generation) is measured into _DECODED, since that round trip is off by a level or two.
_DECODED: dict[str, list[float]] = {}


def level_a(i: int) -> float:
    return _DECODED["A"][i] if _DECODED else 8 + 5 * i


def level_b(i: int) -> float:
    return _DECODED["B"][i] if _DECODED else 250 - 5 * i


def _movie(path: Path, grey: list[int], timecode: str) -> Path:
    with VideoWriter(
        path, width=W, height=H, rate=Fraction(24), preset="prores-proxy", start_timecode=timecode
    ) as vw:
        for lv in grey:
            vw.write_frame(np.full((H, W, 3), lv, np.uint8))
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    n = 48000
    ramp = (np.arange(n) / n * 0.9).astype(np.float32)
    _DECODED.clear()
    movies = {
        "A": _movie(root / "A.mov", [8 + 5 * i for i in range(48)], "01:00:00:00"),
        "B": _movie(root / "B.mov", [250 - 5 * i for i in range(48)], "02:00:00:00"),
    }
    _DECODED.update({k: rendered_levels(p) for k, p in movies.items()})
    return {
        **movies,
        "ramp": write_bwf(root / "ramp.wav", ramp[None], 48000, bext=Bext(time_reference=T_REF)),
        "poly": write_bwf(
            root / "poly.wav",
            np.stack([ramp, np.full(n, -0.3, np.float32)]),
            48000,
            bext=Bext(time_reference=T_REF),
        ),
    }


def rt(v: float, rate: float = RATE) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(v, rate)


def vclip(
    name: str, path: Path, tc: int, src_in: int, dur: int, *effects: otio.schema.Effect
) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=path.as_uri(), available_range=otio.opentime.TimeRange(rt(tc), rt(48))
    )
    clip = otio.schema.Clip(
        name=name, media_reference=ref, source_range=otio.opentime.TimeRange(rt(tc + src_in), rt(dur))
    )
    for effect in effects:
        clip.effects.append(effect)
    return clip


def aclip(path: Path, src_in: int, dur: int, **meta: object) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=str(path), available_range=otio.opentime.TimeRange(rt(T_REF, 48000), rt(48000, 48000))
    )
    clip = otio.schema.Clip(
        name=path.stem,
        media_reference=ref,
        source_range=otio.opentime.TimeRange(rt(T_REF + src_in, 48000), rt(dur, 48000)),
    )
    clip.metadata["posthouse"] = dict(meta)
    return clip


def gap(dur: int) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(dur)))


def timeline(*tracks: otio.schema.Track) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="cut", global_start_time=rt(TC_A))
    for t in tracks:
        tl.tracks.append(t)
    return tl


def track(
    name: str, *items: otio.core.Composable, kind: str = otio.schema.TrackKind.Video
) -> otio.schema.Track:
    t = otio.schema.Track(name=name, kind=kind)
    for item in items:
        t.append(item)
    return t


def levels(frames: list[npt.NDArray[np.uint8]] | npt.NDArray[np.uint8]) -> list[float]:
    return [float(np.mean(f[30:60, 40:120])) for f in frames]


def rendered_levels(path: Path) -> list[float]:
    """Grey level of each frame, decoded through planar RGB (swscale's rgb24 path reads dark)."""
    with av.open(str(path)) as container:
        return levels([f.reformat(format="gbrp").to_ndarray() for f in container.decode(video=0)])


def close(got: list[float], want: list[float], tol: float = 1.5) -> None:
    assert len(got) == len(want)
    bad = [(k, g, w) for k, (g, w) in enumerate(zip(got, want, strict=True)) if abs(g - w) > tol]
    assert not bad, f"frames off (record, got, want): {bad[:8]}"


def test_cuts_gap_speed_freeze_render(media: dict[str, Path], tmp_path: Path) -> None:
    v1 = track(
        "V1",
        vclip("A1", media["A"], TC_A, 10, 10),
        gap(5),
        vclip("B1", media["B"], TC_B, 5, 10),
        vclip("A2", media["A"], TC_A, 0, 6, otio.schema.LinearTimeWarp(time_scalar=2.0)),
        vclip("B2", media["B"], TC_B, 20, 4, otio.schema.FreezeFrame()),
    )
    out = tmp_path / "cut.mov"
    report = render_timeline(timeline(v1), out, preset="prores-hq")
    want = (
        [level_a(10 + k) for k in range(10)]
        + [0] * 5
        + [level_b(5 + k) for k in range(10)]
        + [level_a(2 * k) for k in range(6)]
        + [level_b(20)] * 4
    )
    assert report.frames == 35 and report.offline == [] and report.size == (W, H)
    assert report.audio_samples == 35 * 2000
    close(rendered_levels(out), [float(x) for x in want])
    sound, rate = read_audio(out)
    assert rate == 48000 and sound.shape == (2, 35 * 2000) and not sound.any()


def test_two_tracks_composite(media: dict[str, Path]) -> None:
    v1 = track("V1", vclip("A", media["A"], TC_A, 0, 20))
    v2 = track("V2", gap(5), vclip("B", media["B"], TC_B, 0, 10), gap(5))
    got = levels(list(iter_timeline_frames(timeline(v1, v2))))
    want = [level_a(k) if k < 5 or k >= 15 else level_b(k - 5) for k in range(20)]
    close(got, [float(x) for x in want])


def test_empty_track_area_is_black(media: dict[str, Path]) -> None:
    v1 = track("V1", gap(3), vclip("A", media["A"], TC_A, 0, 2))
    frames = list(iter_timeline_frames(timeline(v1), size=(64, 36)))
    assert len(frames) == 5 and frames[0].shape == (36, 64, 3)
    assert not frames[0].any() and frames[4].mean() > 5


def test_dissolve_midpoint_is_average(media: dict[str, Path]) -> None:
    dissolve = otio.schema.Transition(
        transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve, in_offset=rt(2), out_offset=rt(3)
    )
    v1 = track("V1", vclip("A", media["A"], TC_A, 0, 10), dissolve, vclip("B", media["B"], TC_B, 10, 10))
    got = levels(list(iter_timeline_frames(timeline(v1))))
    assert len(got) == 20
    close(got[:8], [float(level_a(k)) for k in range(8)])  # A alone, then the span [8, 13)
    close(got[13:], [float(level_b(k)) for k in range(13, 20)])
    assert abs(got[10] - (level_a(10) + level_b(10)) / 2) < 3  # t = 0.5 exactly at frame 10
    assert level_a(9) < got[9] < got[10] < got[11] < level_b(11)


def test_custom_transitions(media: dict[str, Path]) -> None:
    dip = otio.schema.Transition(
        name="dip_to_black", transition_type="Custom_Transition", in_offset=rt(2), out_offset=rt(3)
    )
    odd = otio.schema.Transition(transition_type="Custom_Transition", in_offset=rt(1), out_offset=rt(1))
    v1 = track(
        "V1",
        vclip("A", media["A"], TC_A, 20, 10),
        dip,
        vclip("B", media["B"], TC_B, 10, 10),
        odd,
        vclip("A2", media["A"], TC_A, 0, 5),
    )
    plan = plan_timeline(timeline(v1))
    assert [c.transition_in.kind for c in plan.video[0][1:] if c.transition_in] == [
        "dip_to_black",
        "dissolve",
    ]
    assert any("unknown transition" in w for w in plan.warnings)
    got = levels(list(iter_timeline_frames(timeline(v1))))
    assert got[10] < 3  # the middle of the dip is black


def test_offline_media_slate_and_report(media: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "C001.mov"
    v1 = track(
        "V1",
        vclip("A", media["A"], TC_A, 0, 4),
        vclip("C001", missing, TC_A, 0, 6),
        vclip("A", media["A"], TC_A, 10, 2),
    )
    out = tmp_path / "offline.mp4"
    report = render_timeline(timeline(v1), out, preset="h264")
    assert report.frames == 12
    assert [(o.name, o.record_in, o.record_out, o.reason) for o in report.offline] == [
        ("C001", "01:00:00:04", "01:00:00:10", "file not found")
    ]
    frames = [f for _, f in iter_video_frames(out)]
    assert len(frames) == 12
    r, g, b = (float(frames[6][..., c].mean()) for c in range(3))
    assert r > 70 and g < 40 and b < 40  # dark red slate
    assert abs(float(frames[1][30:60, 40:120].mean()) - level_a(1)) < 4


def test_sound_placement_gain_and_length(media: dict[str, Path], tmp_path: Path) -> None:
    v1 = track("V1", vclip("A", media["A"], TC_A, 0, 48))
    a1 = track(
        "A1", gap(12), aclip(media["ramp"], 12000, 24000, gain_db=-6.0), kind=otio.schema.TrackKind.Audio
    )
    out = tmp_path / "sound.mov"
    report = render_timeline(timeline(v1, a1), out, preset="prores-hq")
    assert report.audio_samples == 48 * 2000
    sound, _ = read_audio(out)
    assert sound.shape == (2, 96000)
    g = 10 ** (-6 / 20)
    ramp = np.arange(48000) / 48000 * 0.9
    assert not sound[:, :24000].any() and not sound[:, 48000:].any()
    np.testing.assert_allclose(sound[0, 24000:48000], ramp[12000:36000] * g, atol=1e-4)
    np.testing.assert_array_equal(sound[0], sound[1])


def test_fades_channel_and_per_track(media: dict[str, Path]) -> None:
    a1 = track(
        "A1", aclip(media["poly"], 0, 24000, channel=1, fade_in_frames=6), kind=otio.schema.TrackKind.Audio
    )
    a2 = track(
        "A2", gap(6), aclip(media["ramp"], 0, 12000, fade_out_frames=6), kind=otio.schema.TrackKind.Audio
    )
    tl = timeline(a1, a2)
    tl.tracks.append(track("V1", gap(12)))
    stereo = np.concatenate(list(iter_timeline_audio(tl, frames_per_block=5)), axis=1)
    assert stereo.shape == (2, 24000)
    per = np.concatenate(list(iter_timeline_audio(tl, per_track=True)), axis=1)
    assert per.shape == (2, 24000)
    np.testing.assert_allclose(per[0, 6000], -0.3 * 6000.5 / 12000, atol=1e-4)  # linear fade in
    np.testing.assert_allclose(per[0, 12000:], -0.3, atol=1e-4)
    np.testing.assert_allclose(per[1, 12000 + 6000], 0.9 * 6000 / 48000 * 0.5, atol=1e-3)  # fading out
    np.testing.assert_allclose(stereo[0], per[0] + per[1], atol=1e-6)
    eq = np.concatenate(list(iter_timeline_audio(tl, per_track=True, fade="equal-power")), axis=1)
    np.testing.assert_allclose(eq[0, 6000], -0.3 * np.sin(np.pi / 4 * 6000.5 / 6000), atol=1e-4)


def test_burn_in_draws_timecodes_name_and_watermark(media: dict[str, Path]) -> None:
    v1 = track("V1", vclip("A001C003", media["A"], TC_A, 0, 3, otio.schema.FreezeFrame()))
    tl = timeline(v1)
    plain = [f.copy() for f in iter_timeline_frames(tl, size=(320, 180))]
    burnt = list(iter_timeline_frames(tl, size=(320, 180), burn_in=BurnInSpec(watermark="v003")))
    diff = np.abs(plain[0].astype(int) - burnt[0].astype(int)).sum(axis=2)
    assert diff[150:, :100].any() and diff[150:, 220:].any()  # record TC, source TC
    assert diff[:30, :100].any() and diff[:30, 260:].any()  # clip name, watermark
    assert not diff[60:120, 100:220].any()  # the middle stays clean
    assert not np.array_equal(burnt[0][150:, :100], burnt[1][150:, :100])  # the record TC runs
    assert np.array_equal(plain[0], plain[2])  # (frozen picture underneath)


def test_cancel_leaves_no_file(media: dict[str, Path], tmp_path: Path) -> None:
    token = CancelToken()

    class Stopper(NullProgress):
        done = 0

        def advance(self, n: int = 1) -> None:
            self.done += n
            if self.done == 5:
                token.cancel()

    out = tmp_path / "cancelled.mov"
    with pytest.raises(Cancelled):
        render_timeline(
            timeline(track("V1", vclip("A", media["A"], TC_A, 0, 40))),
            out,
            preset="prores-proxy",
            progress=Stopper(),
            cancel=token,
        )
    assert list(tmp_path.iterdir()) == []


def test_markers_and_warnings_reported(media: dict[str, Path], tmp_path: Path) -> None:
    clip = vclip("A", media["A"], TC_A, 40, 12)  # runs 4 frames past the media's end
    v1 = track("V1", gap(2), clip)
    v1.markers.append(otio.schema.Marker(name="note", marked_range=otio.opentime.TimeRange(rt(5), rt(1))))
    report = render_timeline(timeline(v1), tmp_path / "m.mov", preset="prores-proxy")
    assert report.markers[0]["record_tc"] == "01:00:00:05"
    assert any("past the end" in w for w in report.warnings)
    assert report.to_dict()["frames"] == 14


def test_seek_once_far_into_a_source(media: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import posthouse.engine.video as video

    monkeypatch.setattr(video, "SEEK_AHEAD", 4)
    v1 = track("V1", vclip("A", media["A"], TC_A, 30, 6), vclip("B", media["B"], TC_B, 40, 4))
    got = levels(list(iter_timeline_frames(timeline(v1))))
    close(got, [level_a(30 + k) for k in range(6)] + [level_b(40 + k) for k in range(4)])


def test_letterbox_to_another_aspect(media: dict[str, Path]) -> None:
    frame = next(
        iter_timeline_frames(timeline(track("V1", vclip("A", media["A"], TC_A, 20, 1))), size=(160, 160))
    )
    assert frame.shape == (160, 160, 3)
    assert not frame[:30].any() and not frame[-30:].any()
    assert abs(float(frame[60:100].mean()) - level_a(20)) < 1.5


def test_ntsc_sound_length_crossfade_and_offline_sound(media: dict[str, Path], tmp_path: Path) -> None:
    ntsc = 24000 / 1001
    fade = otio.schema.Transition(in_offset=rt(2, ntsc), out_offset=rt(2, ntsc))
    a1 = track(
        "A1",
        aclip(media["poly"], 0, 20000, channel=1),
        fade,
        aclip(media["ramp"], 24000, 20000),
        aclip(tmp_path / "missing.wav", 0, 4004),
        kind=otio.schema.TrackKind.Audio,
    )
    tl = otio.schema.Timeline(name="ntsc", global_start_time=rt(86400, ntsc))
    tl.tracks.append(a1)
    tl.tracks.append(
        track("V1", otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0, ntsc), rt(22, ntsc))))
    )
    plan = plan_timeline(tl)
    assert plan.duration == 22 and [(c.head, c.tail) for c in plan.audio[0]] == [(0, 2), (2, 0), (0, 0)]
    mix = np.concatenate(list(iter_timeline_audio(tl, per_track=True)), axis=1)
    assert mix.shape == (1, 44044)  # 22 frames × 2002 samples
    # clips are 9, 9 and 2 frames (20000 samples floor to whole frames); the crossfade spans frames [7, 11)
    np.testing.assert_allclose(mix[0, :14000], -0.3, atol=1e-4)  # clip 1 alone
    cut = 9 * 2002  # half of each: -0.3 from the poly file, ramp[24000] = 0.45 from the other
    np.testing.assert_allclose(mix[0, cut], -0.3 * 0.5 + 0.45 * 0.5, atol=1e-3)
    np.testing.assert_allclose(mix[0, 11 * 2002 + 100], (24000 + 2 * 2002 + 100) / 48000 * 0.9, atol=1e-4)
    assert not mix[0, 18 * 2002 :].any()  # the missing file is silent
    report = render_timeline(tl, tmp_path / "ntsc.mov", preset="prores-proxy", size=(32, 18))
    assert report.frames == 22 and report.audio_samples == 44044
    assert [(o.track, o.name, o.reason) for o in report.offline] == [("A1", "missing", "file not found")]


def test_blend_styles() -> None:
    from posthouse.engine.plan import TransitionSpan
    from posthouse.engine.video import blend_transition

    a = np.full((4, 16, 3), 100, np.uint8)
    b = np.full((4, 16, 3), 200, np.uint8)
    wipe = blend_transition(a, b, TransitionSpan(10, 4, "wipe"), 11)  # t = 0.375: 6 of 16 columns
    assert (wipe[:, :6] == 200).all() and (wipe[:, 6:] == 100).all()
    dip = [int(blend_transition(a, b, TransitionSpan(0, 4, "dip_to_black"), k)[0, 0, 0]) for k in range(4)]
    assert dip == [75, 25, 50, 150]
    mid = blend_transition(a, b, TransitionSpan(0, 5, "dissolve"), 2)
    assert (mid == 150).all()
