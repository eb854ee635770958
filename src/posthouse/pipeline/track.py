"""Record a CLI stage's run in its project's lineage and job log, when it runs inside a project.

Every department command that makes deliverable outputs (renders, conforms, grades, mixes, streaming
ladders, QC reports, archives…) wraps its work in :func:`track_stage`::

    with track_stage(project_dir, "streaming", [master, mix], {"ladder": "apple"}, target=dest) as run:
        result = package_streaming(master, mix, dest)
        run.outputs.append(dest)

Inside a project the run is recorded as it goes (``running``, then the inputs and outputs by content), so
``posthouse status`` shows it fresh, stale when an input or output changes, or unfinished when it stopped;
the run is also a job in the catalog's job log, whose hours the cost report charges. Outside a project
nothing is recorded and the work runs as it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posthouse.core.errors import ProjectError, UsageError
from posthouse.pipeline.lineage import Lineage, file_state

__all__ = ["TrackedRun", "timeline_media", "track_stage"]


def timeline_media(timeline: Any) -> list[Path]:
    """The media files (and image-sequence folders) an OTIO timeline's clips read, those that exist."""
    import opentimelineio as otio

    found: set[Path] = set()
    for clip in timeline.find_clips():
        ref = clip.media_reference
        url = None
        if isinstance(ref, otio.schema.ExternalReference):
            url = ref.target_url
        elif isinstance(ref, otio.schema.ImageSequenceReference):
            url = ref.target_url_base
        if not url:
            continue
        path = Path(otio.url_utils.filepath_from_url(url)) if "://" in url else Path(url)
        if path.exists():
            found.add(path.resolve())
    return sorted(found)


@dataclass
class TrackedRun:
    """What the ``with`` body of :func:`track_stage` adds: the files it wrote, and inputs it found only
    while working (the media a conform linked, say)."""

    outputs: list[Path] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)


@contextmanager
def track_stage(
    project_dir: str | Path | None,
    stage: str,
    inputs: Sequence[str | Path | None],
    settings: Mapping[str, Any],
    *,
    target: str | Path,
) -> Iterator[TrackedRun]:
    """Run the ``with`` body as one run of ``stage`` for ``target``; it adds what it wrote to ``outputs``.

    ``inputs`` that are ``None`` (options not given) are left out. ``project_dir`` is the command's
    ``--project`` (``None``: the project at or above the working folder, if any).
    """
    from posthouse.core.project import Project

    run = TrackedRun()
    try:
        project = Project.open(project_dir)
    except ProjectError:
        yield run
        return
    try:
        lineage = Lineage(project.catalog, upgrade=False)
        states = [file_state(p) for p in inputs if p is not None]
        name = str(Path(target).absolute()) if isinstance(target, Path) else target
        first = lineage.run(stage, name) is None
        lineage.begin(stage, states, settings, target=name)
        try:
            with lineage.jobs_end_on_error(stage, name):
                yield run
        except UsageError:
            if first:  # refused input made nothing: no run to show
                lineage.forget(stage, name)
            raise
        states += [file_state(p) for p in run.inputs]
        lineage.record(stage, states, settings, run.outputs, target=name)
    finally:
        project.close()
