"""`posthouse conform CUT@vN|FILE --originals DIR...`: relink a locked cut to the camera originals."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

__all__ = ["conform"]


def _warn_unlocked(root: Path, timeline: object, name: str, version: int) -> None:
    from posthouse.picture.lock import load_lock, lock_path, verify_lock

    lock = lock_path(root / "locks", name, version)
    if not lock.exists() or not verify_lock(timeline, load_lock(lock)):
        err_console.print(f"[yellow]warning:[/] {name}@v{version} is not locked; conforming an open cut")


@handle_errors
def conform(
    cut: str = typer.Argument(
        ..., help="CUT@vN (a saved cut) or a cut file: .otio, .edl, .xml (FCP7), .aaf."
    ),
    originals: list[Path] = typer.Option(
        ..., "--originals", "-o", help="Folder (or file) of camera originals; repeat for several."
    ),
    handles: int = typer.Option(8, "--handles", min=0, help="Handle frames wanted each side of an event."),
    out: Path | None = typer.Option(
        None, "--out", help="Conformed .otio (default PROJECT/finish/CUT_vNNN/conform.otio)."
    ),
    rate: str | None = typer.Option(None, "--rate", help="Frame rate of an EDL (default: the project's)."),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Compare first/last frames of each event with the offline media."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Relink every picture event to the originals by reel and timecode, then clip name, then picture.

    Writes the conformed timeline and ``conform_report.json`` beside it. Exit code 1 when an event is
    missing, has a timecode break or its frames differ from the offline.
    """
    from posthouse.core.errors import UsageError
    from posthouse.core.project import Project
    from posthouse.finish.conform import conform as run_conform
    from posthouse.finish.conform import read_cut, write_conform
    from posthouse.finish.originals import CACHE_NAME, scan_originals
    from posthouse.pipeline.track import track_stage

    project: Project | None = None
    as_path = Path(cut)
    if as_path.exists():
        try:
            project = Project.open(project_dir)
        except Exception:  # a bare cut file needs no project
            project = None
    else:
        if "@" not in cut:
            raise UsageError(f"no such cut file or CUT@vN: {cut}", hint="give CUT@vN or a path to a cut file")
        project = Project.open(project_dir)
    cut_rate = rate or (project.config.fps if project is not None else None)

    finish_dir: Path
    if as_path.exists():
        finish_dir = out.parent if out is not None else as_path.parent
        timeline_src = as_path
        cut_name = as_path.stem
        default_out = as_path.with_name(f"{as_path.stem}_conform.otio")
    else:
        from posthouse.picture.cuts import CutRef, CutStore

        assert project is not None
        store = CutStore(project.root / "cuts")
        ref = store.resolve(CutRef.parse(cut))
        version = int(ref.version or 1)
        cut_name = f"{ref.name}@v{version}"
        finish_dir = project.root / "finish" / f"{ref.name}_v{version:03d}"
        timeline_src = store.path(ref)
        default_out = finish_dir / "conform.otio"
        _warn_unlocked(project.root, store.open(ref), ref.name, version)
    cache = (project.root / "finish" if project is not None else finish_dir) / CACHE_NAME
    cache.parent.mkdir(parents=True, exist_ok=True)
    target = out or default_out
    settings = {
        "cut": cut_name,
        "originals": sorted(str(p.resolve()) for p in originals),  # checksummed at offload, not re-hashed
        "handles": handles,
        "rate": cut_rate,
        "verify": verify,
    }
    if project is not None:
        project.close()
    with track_stage(project_dir, "conform", [timeline_src], settings, target=target) as run:
        index = scan_originals(originals, cache=cache)
        if cut_rate is None and index.records:
            cut_rate = str(Counter(r.rate for r in index.records).most_common(1)[0][0])
        timeline = read_cut(timeline_src, rate=cut_rate)
        conformed, report = run_conform(
            timeline,
            index,
            rate=cut_rate if as_path.suffix.lower() == ".edl" else None,
            handles=handles,
            verify=verify,
            cut_name=cut_name,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        report_path = (
            target.with_name("conform_report.json")
            if target.name == "conform.otio"
            else target.with_name(f"{target.stem}_report.json")
        )
        write_conform(conformed, report, target, report_path)
        run.outputs += [target, report_path]
    data = report.to_dict()
    if as_json:
        print_json({k: v for k, v in data.items() if k != "details"} | {"output": str(target)})
    else:
        console.print(report.table(), highlight=False, soft_wrap=True)
        console.print(f"conformed timeline: {target}\nreport: {report_path}", highlight=False)
        for failure in index.failures:
            err_console.print(f"[yellow]warning:[/] {failure['path']}: {failure['error']}", highlight=False)
    if not report.ok:
        raise typer.Exit(EXIT_PARTIAL)
