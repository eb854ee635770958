"""Finding the sound session a sound command works on: ``CUT@vN`` or a path to a session ``.otio``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from posthouse.cli.common import err_console

if TYPE_CHECKING:
    import opentimelineio as otio

    from posthouse.core.project import Project

__all__ = ["SESSION_ARG", "open_session", "session_dir"]

SESSION_ARG = typer.Argument(
    ...,
    help="CUT@vN (its session in PROJECT/sound/CUT_vNNN/, made from the cut on first use) or a .otio.",
)


def session_dir(project: Project, cut_name: str, version: int) -> Path:
    """``PROJECT/sound/CUT_vNNN``: the session and every sound output for that cut version."""
    return project.root / "sound" / f"{cut_name}_v{version:03d}"


def open_session(ref: str, project_dir: Path | None) -> tuple[otio.schema.Timeline, Path, Project | None]:
    """The session timeline, where it is saved, and the project (``None`` for a bare ``.otio`` path).

    ``CUT@vN`` opens ``PROJECT/sound/CUT_vNNN/session.otio``, creating it from the cut version when it is
    missing (with a warning when that version is not locked).
    """
    from posthouse.core.project import Project
    from posthouse.sound.session import load_session, save_session, session_from_cut

    as_path = Path(ref)
    if ref.endswith(".otio") and as_path.exists():
        project = None
        try:
            project = Project.open(project_dir) if project_dir is not None else None
        except Exception:  # a bare session file needs no project
            project = None
        return load_session(as_path), as_path, project

    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.picture.lock import load_lock, lock_path, verify_lock

    project = Project.open(project_dir)
    store = CutStore(project.root / "cuts")
    cut_ref = store.resolve(CutRef.parse(ref))
    version = int(cut_ref.version or 1)
    path = session_dir(project, cut_ref.name, version) / "session.otio"
    if path.exists():
        return load_session(path), path, project
    cut = store.open(cut_ref)
    lock = lock_path(project.root / "locks", cut_ref.name, version)
    if not lock.exists() or not verify_lock(cut, load_lock(lock)):
        err_console.print(
            f"[yellow]warning:[/] {cut_ref.name}@v{version} is not locked; sound is working on an open cut"
        )
    session = session_from_cut(cut, cut_name=f"{cut_ref.name}@v{version}")
    save_session(session, path)
    return session, path, project
