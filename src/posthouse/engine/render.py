"""Render an OTIO timeline to a movie: composited picture, burn-ins, and the stereo sound mix.

``render_timeline`` streams: one frame is decoded, composited and encoded at a time, sound is mixed a
second ahead, and only the decoders of clips playing now are open, so memory does not grow with the
timeline's length. Missing or unreadable media becomes a "MEDIA OFFLINE" slate (or silence) and is
listed in the :class:`RenderReport`; it never stops the render.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import opentimelineio as otio

from posthouse.core.errors import UsageError
from posthouse.core.media import VideoWriter
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.engine.audio import FadeShape, iter_mix_blocks
from posthouse.engine.composite import IMAGE_EXTENSIONS
from posthouse.engine.picture import BurnInSpec, ClipFilter, OfflineClip, Picture
from posthouse.engine.plan import AudioClipPlan, TimelinePlan, plan_timeline
from posthouse.engine.subtitles import SubtitleTrack, parse_subtitles

__all__ = [
    "SAMPLE_RATE",
    "BurnInSpec",
    "ClipFilter",
    "OfflineClip",
    "RenderReport",
    "default_size",
    "iter_timeline_audio",
    "iter_timeline_frames",
    "render_timeline",
]

SAMPLE_RATE = 48_000
_AUDIO_BLOCK_FRAMES = 24
_DEFAULT_SIZE = (1920, 1080)

Frame = npt.NDArray[np.uint8]


@dataclass(slots=True)
class RenderReport:
    """What a render produced and what went wrong along the way."""

    output: str | None
    frames: int
    audio_samples: int
    sample_rate: int
    size: tuple[int, int]
    preset: str
    offline: list[OfflineClip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    markers: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["size"] = list(self.size)
        return data


def default_size(plan: TimelinePlan) -> tuple[int, int]:
    """The first readable picture source's size, rounded up to even (1920x1080 when there is none)."""
    import av

    for track in plan.video:
        for clip in track:
            if clip.path is not None and clip.path.exists():
                if clip.sequence or clip.path.suffix.lower() in IMAGE_EXTENSIONS:
                    import OpenImageIO as oiio

                    image = oiio.ImageInput.open(str(clip.path))
                    if image is None:
                        continue
                    w, h = int(image.spec().width), int(image.spec().height)
                    image.close()
                    return (w + 1) // 2 * 2, (h + 1) // 2 * 2
                try:
                    with av.open(str(clip.path)) as container:
                        cc = container.streams.video[0].codec_context
                        return (int(cc.width) + 1) // 2 * 2, (int(cc.height) + 1) // 2 * 2
                except (av.error.FFmpegError, IndexError, ValueError):
                    continue
    return _DEFAULT_SIZE


def _check_size(plan: TimelinePlan, size: tuple[int, int] | None) -> tuple[int, int]:
    w, h = size if size is not None else default_size(plan)
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise UsageError(
            f"output size must be positive and even, got {w}x{h}", where=f"timeline {plan.name!r}"
        )
    return w, h


def _frames(picture: Picture, plan: TimelinePlan, cancel: CancelToken | None) -> Iterator[Frame]:
    try:
        for record in range(plan.duration):
            if cancel is not None:
                cancel.raise_if_cancelled()
            frame, clip, source = picture.frame(record)
            frame = picture.draw_burn_in(frame, record, clip, source)
            yield picture.subtitles.draw(frame, record) if picture.subtitles is not None else frame
    finally:
        picture.close()


def iter_timeline_frames(
    timeline: otio.schema.Timeline,
    *,
    size: tuple[int, int] | None = None,
    burn_in: BurnInSpec | None = None,
    subtitles: Path | None = None,
    clip_filter: ClipFilter | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[Frame]:
    """Yield the composited ``(height, width, 3)`` uint8 RGB frames of ``timeline``, one per record frame.

    Frames may be shared with the renderer's caches: copy one before changing it. ``size`` defaults to
    the first readable video source's size. ``subtitles`` and ``clip_filter`` are as for
    :func:`render_timeline`.
    """
    plan = plan_timeline(timeline)
    picture = _picture(plan, _check_size(plan, size), burn_in, subtitles, clip_filter)
    return _frames(picture, plan, cancel)


def _picture(
    plan: TimelinePlan,
    size: tuple[int, int],
    burn_in: BurnInSpec | None,
    subtitles: Path | None,
    clip_filter: ClipFilter | None,
) -> Picture:
    subs = None
    if subtitles is not None:
        subs = SubtitleTrack(parse_subtitles(Path(subtitles)), plan.rate.fps, size)
    return Picture(plan, size, burn_in, clip_filter=clip_filter, subtitles=subs)


def iter_timeline_audio(
    timeline: otio.schema.Timeline,
    *,
    sample_rate: int = SAMPLE_RATE,
    frames_per_block: int = _AUDIO_BLOCK_FRAMES,
    per_track: bool = False,
    fade: FadeShape = "linear",
    cancel: CancelToken | None = None,
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield the sound mix of ``timeline`` as float32 ``(channels, n)`` blocks of ``frames_per_block``
    frames each: stereo, or one mono channel per audio track with ``per_track=True``."""
    plan = plan_timeline(timeline)
    return iter_mix_blocks(
        plan,
        sample_rate=sample_rate,
        frames_per_block=frames_per_block,
        per_track=per_track,
        fade=fade,
        cancel=cancel,
    )


def render_timeline(
    timeline: otio.schema.Timeline,
    out: Path,
    *,
    preset: str = "h264",
    size: tuple[int, int] | None = None,
    burn_in: BurnInSpec | None = None,
    subtitles: Path | None = None,
    clip_filter: ClipFilter | None = None,
    fade: FadeShape = "linear",
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> RenderReport:
    """Render ``timeline`` to the movie ``out`` (written atomically) with 48 kHz stereo sound.

    ``preset`` is a :data:`posthouse.core.media.PRESETS` name (``h264`` review, ``prores-hq``
    mezzanine...). ``subtitles`` (an ``.srt``/``.vtt`` file, cue times counted from the first record
    frame) are burned in bottom-centred. ``clip_filter(clip, record, rgb) -> rgb`` is called on each
    media clip's picture at each record frame it plays (uint8 RGB ``(h, w, 3)`` at the output size,
    after retiming and before fades, opacity, transitions and compositing; generators and offline slates
    are not filtered) and must return a new array of the same shape and dtype, e.g. a grade. Raises
    :class:`~posthouse.core.progress.Cancelled` when ``cancel`` is set (no file is left behind) and
    :class:`UsageError` for an empty timeline, a bad size or a bad ``clip_filter`` result.
    """
    plan = plan_timeline(timeline)
    if plan.duration <= 0:
        raise UsageError(f"timeline {timeline.name!r} is empty: nothing to render", path=out)
    w, h = _check_size(plan, size)
    picture = _picture(plan, (w, h), burn_in, subtitles, clip_filter)
    problems: list[tuple[AudioClipPlan, str]] = []
    blocks = iter_mix_blocks(
        plan, sample_rate=SAMPLE_RATE, frames_per_block=_AUDIO_BLOCK_FRAMES, fade=fade, problems=problems
    )
    start_tc = picture.tc(0)
    progress.start(f"render {timeline.name or Path(out).name}", plan.duration)
    try:
        with VideoWriter(
            out,
            width=w,
            height=h,
            rate=plan.rate.fps,
            preset=preset,
            start_timecode=start_tc,
            audio_channels=2,
            sample_rate=SAMPLE_RATE,
            metadata={"title": timeline.name} if timeline.name else None,
        ) as writer:
            for record, frame in enumerate(_frames(picture, plan, cancel)):
                if record % _AUDIO_BLOCK_FRAMES == 0:
                    writer.write_audio(next(blocks))
                writer.write_frame(frame)
                progress.advance()
            frames, samples = writer.frames_written, writer.samples_written
    finally:
        blocks.close()
        picture.close()
        progress.finish()
    for clip, reason in problems:
        picture.mark_offline(clip, reason)
    return RenderReport(
        output=str(out),
        frames=frames,
        audio_samples=samples,
        sample_rate=SAMPLE_RATE,
        size=(w, h),
        preset=preset,
        offline=list(picture.offline.values()),
        warnings=plan.warnings + picture.warnings,
        markers=[
            {
                "name": m.name,
                "record_tc": picture.tc(m.record_frame),
                "frame": m.record_frame,
                "duration": m.duration,
                "color": m.color,
                "comment": m.comment,
            }
            for m in plan.markers
        ],
    )
