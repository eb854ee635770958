"""The timeline a finishing command works on: ``CUT@vN`` (its conform when there is one) or a .otio."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import opentimelineio as otio

    from posthouse.core.project import Project

__all__ = ["open_finish_timeline"]


def open_finish_timeline(ref: str, project: Project | None) -> tuple[otio.schema.Timeline, Path | None, str]:
    """The timeline, its ``PROJECT/finish/STEM`` folder (``None`` for a bare ``.otio`` outside a project)
    and the stem (``CUT_vNNN``, or the file's stem).

    ``CUT@vN`` prefers ``finish/CUT_vNNN/conform.otio`` (the conformed timeline) over the cut itself.
    """
    import opentimelineio as otio

    from posthouse.core.errors import UsageError

    as_path = Path(ref)
    if ref.endswith(".otio"):
        if not as_path.is_file():
            raise UsageError("timeline not found", path=as_path)
        tl = otio.adapters.read_from_file(str(as_path))
        if not isinstance(tl, otio.schema.Timeline):
            raise UsageError("not an OTIO timeline", path=as_path)
        stem = as_path.stem
        return tl, (project.root / "finish" / stem if project is not None else None), stem
    if project is None:
        raise UsageError(f"{ref!r} is not a .otio file and no project was found", hint="pass -p PROJECT")
    from posthouse.picture.cuts import CutRef, CutStore

    store = CutStore(project.root / "cuts")
    cut_ref = store.resolve(CutRef.parse(ref))
    stem = f"{cut_ref.name}_v{int(cut_ref.version or 1):03d}"
    finish = project.root / "finish" / stem
    conform = finish / "conform.otio"
    if conform.is_file():
        tl = otio.adapters.read_from_file(str(conform))
        if isinstance(tl, otio.schema.Timeline):
            return tl, finish, stem
    return store.open(cut_ref), finish, stem
