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

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.media import VideoWriter
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import Timecode
from posthouse.engine.audio import FadeShape, iter_mix_blocks
from posthouse.engine.plan import AudioClipPlan, TimelinePlan, TransitionSpan, VideoClipPlan, plan_timeline
from posthouse.engine.text import painter
from posthouse.engine.video import SourceReader, blend_transition, offline_slate

__all__ = [
    "SAMPLE_RATE",
    "BurnInSpec",
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


@dataclass(frozen=True, slots=True)
class BurnInSpec:
    """Which burn-ins to draw: record TC (bottom left), source TC (bottom right), clip name (top left)
    and a watermark such as the cut version ``"v003"`` (top right)."""

    record_tc: bool = True
    source_tc: bool = True
    clip_name: bool = True
    watermark: str | None = None


@dataclass(frozen=True, slots=True)
class OfflineClip:
    """A clip whose media could not be used, with where it sits on the record side."""

    track: str
    name: str
    path: str | None
    record_in: str
    record_out: str
    reason: str


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


class _Picture:
    """Per-frame compositor over the video tracks of a plan; owns the open decoders."""

    def __init__(self, plan: TimelinePlan, size: tuple[int, int], burn_in: BurnInSpec | None) -> None:
        self.plan, self.size, self.burn_in = plan, size, burn_in
        self.ptr = [0] * len(plan.video)
        self.readers: dict[int, SourceReader] = {}
        self.offline: dict[int, OfflineClip] = {}
        self.warned: set[tuple[int, str]] = set()
        self.warnings: list[str] = []
        w, h = size
        self.black = np.zeros((h, w, 3), np.uint8)
        self.black.flags.writeable = False
        for track in plan.video:
            for clip in track:
                if clip.path is None:
                    self.mark_offline(clip, "no media reference")
                elif not clip.path.exists():
                    self.mark_offline(clip, "file not found")

    def tc(self, frame: int) -> str:
        return str(Timecode.from_frames(self.plan.start_frame + frame, self.plan.rate))

    def mark_offline(self, clip: VideoClipPlan | AudioClipPlan, reason: str) -> None:
        if id(clip) not in self.offline:
            path = str(clip.path) if clip.path is not None else None
            self.offline[id(clip)] = OfflineClip(
                clip.track, clip.name, path, self.tc(clip.record_in), self.tc(clip.record_out), reason
            )

    def warn_once(self, clip: VideoClipPlan, key: str, text: str) -> None:
        if (id(clip), key) not in self.warned:
            self.warned.add((id(clip), key))
            self.warnings.append(f"track {clip.track}, clip {clip.name!r}: {text}")

    def close_reader(self, clip: VideoClipPlan) -> None:
        reader = self.readers.pop(id(clip), None)
        if reader is not None:
            reader.close()

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()
        self.readers.clear()

    def clip_frame(self, clip: VideoClipPlan, record: int) -> Frame:
        if id(clip) in self.offline:
            return offline_slate(self.size, clip.name)
        assert clip.path is not None
        try:
            reader = self.readers.get(id(clip))
            if reader is None:
                reader = self.readers[id(clip)] = SourceReader(clip.path, self.size)
            index = clip.source_frame(record)
            if index < 0:
                self.warn_once(clip, "head", "reaches before the start of its media; first frame held")
            frame = reader.get(index)
            if reader.past_end:
                self.warn_once(clip, "tail", "reaches past the end of its media; last frame held")
            return frame
        except MediaError as exc:
            self.close_reader(clip)
            self.mark_offline(clip, str(exc))
            return offline_slate(self.size, clip.name)

    def frame(self, record: int) -> tuple[Frame, VideoClipPlan | None, int]:
        """Composited frame at ``record``, the clip it mostly shows and that clip's source frame."""
        picked: list[VideoClipPlan] = []
        for t in range(len(self.plan.video) - 1, -1, -1):
            clips = self.plan.video[t]
            while self.ptr[t] < len(clips) and clips[self.ptr[t]].end <= record:
                self.close_reader(clips[self.ptr[t]])
                self.ptr[t] += 1
            if picked:
                continue
            j = self.ptr[t]
            while j < len(clips) and clips[j].start <= record:
                if clips[j].end > record:
                    picked.append(clips[j])
                j += 1
        if not picked:
            return self.black, None, 0
        if len(picked) == 1:
            clip = picked[0]
            return self.clip_frame(clip, record), clip, clip.source_frame(record)
        a, b = picked[0], picked[-1]
        span = b.transition_in or TransitionSpan(b.start, max(a.end - b.start, 1), "dissolve")
        mixed = blend_transition(self.clip_frame(a, record), self.clip_frame(b, record), span, record)
        shown = a if 2 * (record - span.start) < span.duration else b
        return mixed, shown, shown.source_frame(record)

    def draw_burn_in(self, frame: Frame, record: int, clip: VideoClipPlan | None, source: int) -> Frame:
        spec = self.burn_in
        if spec is None:
            return frame
        out = frame.copy()
        w, h = self.size
        text = painter(max(8, h // 22))
        margin = max(2, h // 36)
        bottom = h - margin - text.height
        if spec.record_tc:
            text.draw(out, self.tc(record), margin, bottom)
        if clip is not None and spec.source_tc and clip.source_tc_frames is not None and clip.source_rate:
            label = str(Timecode.from_frames(clip.source_tc_frames + max(source, 0), clip.source_rate))
            text.draw(out, label, w - margin - text.width(label), bottom)
        if clip is not None and spec.clip_name and clip.name:
            text.draw(out, clip.name, margin, margin)
        if spec.watermark:
            text.draw(out, spec.watermark, w - margin - text.width(spec.watermark), margin)
        return out


def default_size(plan: TimelinePlan) -> tuple[int, int]:
    """The first readable picture source's size, rounded up to even (1920x1080 when there is none)."""
    import av

    for track in plan.video:
        for clip in track:
            if clip.path is not None and clip.path.exists():
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


def _frames(picture: _Picture, plan: TimelinePlan, cancel: CancelToken | None) -> Iterator[Frame]:
    try:
        for record in range(plan.duration):
            if cancel is not None:
                cancel.raise_if_cancelled()
            frame, clip, source = picture.frame(record)
            yield picture.draw_burn_in(frame, record, clip, source)
    finally:
        picture.close()


def iter_timeline_frames(
    timeline: otio.schema.Timeline,
    *,
    size: tuple[int, int] | None = None,
    burn_in: BurnInSpec | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[Frame]:
    """Yield the composited ``(height, width, 3)`` uint8 RGB frames of ``timeline``, one per record frame.

    Frames may be shared with the renderer's caches: copy one before changing it. ``size`` defaults to
    the first readable video source's size.
    """
    plan = plan_timeline(timeline)
    picture = _Picture(plan, _check_size(plan, size), burn_in)
    return _frames(picture, plan, cancel)


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
    fade: FadeShape = "linear",
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> RenderReport:
    """Render ``timeline`` to the movie ``out`` (written atomically) with 48 kHz stereo sound.

    ``preset`` is a :data:`posthouse.core.media.PRESETS` name (``h264`` review, ``prores-hq``
    mezzanine...). Raises :class:`~posthouse.core.progress.Cancelled` when ``cancel`` is set (no file is
    left behind) and :class:`UsageError` for an empty timeline or a bad size.
    """
    plan = plan_timeline(timeline)
    if plan.duration <= 0:
        raise UsageError(f"timeline {timeline.name!r} is empty: nothing to render", path=out)
    w, h = _check_size(plan, size)
    picture = _Picture(plan, (w, h), burn_in)
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
