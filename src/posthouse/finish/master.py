"""Render the graded master: every clip of a timeline through its shot/scene grade, frame by frame.

The timeline is flattened with :func:`posthouse.engine.plan_timeline`; at each record frame the topmost
video clip wins (cuts only: a transition is drawn as a cut at its nominal edit point, with a warning; a gap
or an offline clip is black). Each stretch of one clip is decoded sequentially with
:func:`posthouse.core.media.iter_video_frames`, graded with :meth:`GradePipeline.apply_u8` and encoded with
:class:`posthouse.core.media.VideoWriter` — one frame in memory at a time. Picture only (the sound mix
is the sound department's deliverable).

The grade of a clip: ``GradeSet.grade_for`` tried with the clip name, then ``metadata["posthouse"]``
``shot``/``vfx_shot``/``reel``; then the clip's ``scene`` (``"12A"``, then its scene number ``"12"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import opentimelineio as otio

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import Timecode
from posthouse.engine import plan_timeline, read_posthouse_meta
from posthouse.engine.plan import VideoClipPlan
from posthouse.finish.cdl import Cdl
from posthouse.finish.grading import GradePipeline, GradeSet

__all__ = ["GradedRender", "clip_grades", "render_graded"]


@dataclass(slots=True)
class GradedRender:
    """What :func:`render_graded` wrote."""

    output: str
    frames: int
    size: tuple[int, int]
    preset: str
    graded_clips: int
    ungraded_clips: list[str] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return asdict(self)


def _meta_by_position(timeline: otio.schema.Timeline) -> dict[tuple[str, int], dict[str, Any]]:
    """``(clip name, record_in frame)`` → clip metadata, for the video tracks."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for track in timeline.video_tracks():
        for clip in track.find_clips(shallow_search=True):
            try:
                rin = clip.range_in_parent().start_time
            except otio.exceptions.OTIOError:
                continue
            out[(clip.name, round(rin.value))] = read_posthouse_meta(clip)
    return out


def clip_grades(timeline: otio.schema.Timeline, grades: GradeSet) -> dict[tuple[str, int], Cdl | None]:
    """The grade of each video clip, keyed by ``(clip name, record_in)``; None = ungraded."""
    out: dict[tuple[str, int], Cdl | None] = {}
    for (name, rin), meta in _meta_by_position(timeline).items():
        cdl = None
        for key in (name, meta.get("shot"), meta.get("vfx_shot"), meta.get("reel")):
            if key:
                cdl = grades.grade_for(str(key), None)
                if cdl is not None:
                    break
        scene = str(meta.get("scene") or "")
        for key in (scene, re.sub(r"^(\d+).*$", r"\1", scene)):  # "12A" (scene 12, setup A), then "12"
            if cdl is None and key:
                cdl = grades.grade_for("\0", key)
        out[(name, rin)] = cdl
    return out


def _segments(owner: npt.NDArray[np.int64]) -> Iterator[tuple[int, int, int]]:
    """Runs ``(start, end, owner)`` of equal owner values."""
    if owner.size == 0:
        return
    edges = np.flatnonzero(np.diff(owner)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [owner.size]])
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        yield s, e, int(owner[s])


def _fit(frame: npt.NDArray[np.uint8], w: int, h: int) -> npt.NDArray[np.uint8]:
    if frame.shape[0] == h and frame.shape[1] == w:
        return frame
    from PIL import Image

    return np.asarray(Image.fromarray(frame).resize((w, h), Image.Resampling.BILINEAR))


def _clip_frames(
    clip: VideoClipPlan, start: int, end: int, w: int, h: int
) -> Iterator[npt.NDArray[np.uint8]]:
    """The clip's pictures for record frames ``[start, end)``, decoded once, in order (speed honoured)."""
    from posthouse.core.media import iter_video_frames

    wanted = [max(0, clip.source_frame(r)) for r in range(start, end)]
    first, last = min(wanted), max(wanted)
    assert clip.path is not None
    current: npt.NDArray[np.uint8] | None = None
    pos = 0
    frames = iter_video_frames(clip.path, start=first, count=last - first + 1)
    try:
        for index, rgb in frames:
            current = _fit(rgb, w, h)
            while pos < len(wanted) and wanted[pos] == index:
                yield current
                pos += 1
            if pos >= len(wanted):
                return
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    if pos < len(wanted):  # the file ran out: hold its last frame, else black
        hold = current if current is not None else np.zeros((h, w, 3), np.uint8)
        for _ in range(len(wanted) - pos):
            yield hold
        raise _ShortMedia(len(wanted) - pos)


class _ShortMedia(Exception):
    def __init__(self, missing: int) -> None:
        super().__init__(missing)
        self.missing = missing


def render_graded(
    timeline: otio.schema.Timeline,
    grades: GradeSet,
    out: str | Path,
    *,
    pipeline: GradePipeline | None = None,
    lut: str | Path | None = None,
    preset: str = "prores-hq",
    size: tuple[int, int] | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> GradedRender:
    """Render ``timeline``'s picture graded per shot/scene to ``out`` (atomically), streamed.

    ``pipeline`` defaults to ``GradePipeline(grades.input_space, "rec709")``; ``lut`` (else
    ``grades.lut``) is applied after each CDL in the working space. Ungraded clips still go through the
    pipeline (input → output transform) so the whole master shares one look. ``size`` defaults to the
    first clip's picture size. ``preset`` is a :data:`posthouse.core.media.PRESETS` name.
    """
    from posthouse.core.media import VideoWriter, probe

    out = Path(out)
    plan = plan_timeline(timeline)
    if plan.duration <= 0:
        raise UsageError(f"timeline {timeline.name!r} is empty: nothing to render", path=out)
    pipe = pipeline or GradePipeline(input_space=grades.input_space, output="rec709")
    lut = lut if lut is not None else grades.lut
    warnings = list(plan.warnings)
    clips: list[VideoClipPlan] = []
    owner = np.full(plan.duration, -1, np.int64)
    for track in plan.video:  # bottom first: upper tracks overwrite
        for cp in track:
            if cp.transition_in is not None:
                warnings.append(f"{cp.track} {cp.name!r}: {cp.transition_in.kind} drawn as a cut")
            lo, hi = max(0, cp.record_in), min(plan.duration, cp.record_out)
            if hi > lo:
                clips.append(cp)
                owner[lo:hi] = len(clips) - 1
    offline: list[str] = []
    for cp in clips:
        if cp.path is None or not cp.path.is_file():
            offline.append(f"{cp.name} ({cp.path or 'no media'})")
    if size is None:
        online = [cp.path for cp in clips if cp.path is not None and cp.path.is_file()]
        if not online:
            raise UsageError("no clip of this timeline has media online: nothing to grade", path=out)
        info = probe(online[0])
        if not info.video:
            raise MediaError("no video stream", path=online[0])
        size = (info.video[0].width, info.video[0].height)
    w, h = size
    per_clip = clip_grades(timeline, grades)
    ungraded = sorted({cp.name for cp in clips if per_clip.get((cp.name, cp.record_in)) is None})
    black = np.zeros((h, w, 3), np.uint8)
    start_tc = Timecode.from_frames(plan.start_frame, plan.rate).format()
    progress.start(f"grade {timeline.name or out.name}", plan.duration)
    try:
        with VideoWriter(
            out,
            width=w,
            height=h,
            rate=plan.rate.fps,
            preset=preset,
            start_timecode=start_tc,
            metadata={"title": timeline.name} if timeline.name else None,
        ) as writer:
            for start, end, who in _segments(owner):
                media = clips[who].path if who >= 0 else None
                if media is None or not media.is_file():
                    for _ in range(start, end):
                        if cancel is not None:
                            cancel.raise_if_cancelled()
                        writer.write_frame(black)
                        progress.advance()
                    continue
                cp = clips[who]
                cdl = per_clip.get((cp.name, cp.record_in))
                gen = _clip_frames(cp, start, end, w, h)
                try:
                    for rgb in gen:
                        if cancel is not None:
                            cancel.raise_if_cancelled()
                        writer.write_frame(pipe.apply_u8(rgb, cdl, lut))
                        progress.advance()
                except _ShortMedia as short:
                    warnings.append(
                        f"{cp.name!r} ({cp.path}): media ends {short.missing} frame(s) early; last frame held"
                    )
            frames = writer.frames_written
    finally:
        progress.finish()
    return GradedRender(
        output=str(out),
        frames=frames,
        size=(w, h),
        preset=preset,
        graded_clips=sum(1 for cp in clips if per_clip.get((cp.name, cp.record_in)) is not None),
        ungraded_clips=ungraded,
        offline=offline,
        warnings=warnings,
    )
