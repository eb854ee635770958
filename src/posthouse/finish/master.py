"""Render the graded master: the timeline through the render engine, each clip graded on its way in.

The engine (:func:`posthouse.engine.render.render_timeline`) does the editorial work — tracks, dissolves,
speed changes with frame blending, fades, titles, the sound mix — and calls back for every source frame of
every media clip before it is composited; the callback grades that frame with the clip's shot/scene
grade (:meth:`GradePipeline.apply_u8`). So a dissolve blends two graded shots, as in a grading suite.
Streamed: one frame per clip in flight.

The grade of a clip: ``GradeSet.grade_for`` tried with the clip name, then ``metadata["posthouse"]``
``shot``, ``vfx_shot``, ``vfx.shot`` (a cut-in VFX version) and ``reel``; then the clip's ``scene``
(``"12A"``, then its scene number ``"12"``). Title and credit generators and gaps are not graded.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import opentimelineio as otio

from posthouse.core.errors import UsageError
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
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
        vfx = meta.get("vfx")
        vfx_shot = vfx.get("shot") if isinstance(vfx, dict) else None
        for key in (name, meta.get("shot"), meta.get("vfx_shot"), vfx_shot, meta.get("reel")):
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
    """Render ``timeline`` graded per shot/scene to ``out`` (atomically, with its sound mix), streamed.

    ``pipeline`` defaults to ``GradePipeline(grades.input_space, "rec709")``; ``lut`` (else
    ``grades.lut``) is applied after each CDL in the working space. Ungraded clips still go through the
    pipeline (input → output transform) so the whole master shares one look. ``size`` defaults to the
    engine's default (the first clip's picture size); ``preset`` is a ``posthouse.core.media`` preset.
    """
    from posthouse.engine.render import render_timeline

    out = Path(out)
    plan = plan_timeline(timeline)
    if plan.duration <= 0:
        raise UsageError(f"timeline {timeline.name!r} is empty: nothing to render", path=out)
    pipe = pipeline or GradePipeline(input_space=grades.input_space, output="rec709")
    look = lut if lut is not None else grades.lut
    per_clip = clip_grades(timeline, grades)
    clips = [cp for track in plan.video for cp in track if cp.path is not None]
    ungraded = sorted({cp.name for cp in clips if per_clip.get((cp.name, cp.record_in)) is None})

    def grade(cp: VideoClipPlan, record: int, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        return pipe.apply_u8(rgb, per_clip.get((cp.name, cp.record_in)), look)

    report = render_timeline(
        timeline, out, preset=preset, size=size, clip_filter=grade, progress=progress, cancel=cancel
    )
    return GradedRender(
        output=str(out),
        frames=report.frames,
        size=report.size,
        preset=preset,
        graded_clips=sum(1 for cp in clips if per_clip.get((cp.name, cp.record_in)) is not None),
        ungraded_clips=ungraded,
        offline=[f"{o.name} ({o.path or 'no media'})" for o in report.offline],
        warnings=list(report.warnings),
    )
