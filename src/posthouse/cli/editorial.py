"""Editorial commands: `assemble`, `cuts`, `lock` and `turnover`."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION


@handle_errors
def assemble(
    script: Path = typer.Option(..., "--script", help="script.json (posthouse) or a Fountain screenplay."),
    takes: str = typer.Option("circled", "--takes", help="circled, best or all (circled first)."),
    name: str = typer.Option("assembly", "--name", help="Cut name: saved as cuts/NAME/vNNN.otio."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Lay the synced takes out in script order as a new cut version (picture and sound linked)."""
    from posthouse.core.project import Project
    from posthouse.picture.assemble import assemble as build
    from posthouse.picture.assemble import read_script
    from posthouse.picture.cuts import CutStore

    project = Project.open(project_dir)
    timeline = build(project, read_script(script), takes=takes, name=name)
    store = CutStore(project.root / "cuts")
    ref = store.save(name, timeline, message=f"assembly ({takes} takes)")
    v1 = timeline.tracks[0]
    info = {
        "cut": str(ref),
        "path": str(store.path(ref)),
        "events": len(v1),
        "frames": round(v1.duration().value),
        "scenes_without_takes": [
            str(s) for s in timeline.metadata["posthouse"]["assembly"]["scenes_without_takes"]
        ],
    }
    if as_json:
        print_json(info)
        return
    console.print(f"saved {info['cut']}: {info['events']} takes, {info['frames']} frames → {info['path']}")
    if info["scenes_without_takes"]:
        console.print(f"[yellow]scenes with no synced take:[/] {', '.join(info['scenes_without_takes'])}")


@handle_errors
def cuts(
    name: str | None = typer.Argument(None, help="A cut name: list its versions."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List the cuts and their versions."""
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutStore

    store = CutStore(Project.open(project_dir).root / "cuts")
    listing = {n: [str(r) for r in store.versions(n)] for n in ([name] if name else store.names())}
    if as_json:
        print_json(listing)
        return
    for cut, versions in listing.items():
        console.print(f"[bold]{cut}[/]: {', '.join(versions) or '(no versions)'}")


@handle_errors
def lock(
    cut: str = typer.Argument(..., help="CUT or CUT@vN (the latest version when no version is given)."),
    author: str | None = typer.Option(None, "--author", help="Who locks it (default: $USER)."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Lock a cut version: its content hash, when and by whom, in PROJECT/locks/NAME_vNNN.lock.json."""
    import getpass

    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.picture.lock import lock_cut

    project = Project.open(project_dir)
    store = CutStore(project.root / "cuts")
    ref = CutRef.parse(cut)
    path = store.path(ref)
    version = int(path.stem[1:])
    record = lock_cut(
        store.open(ref),
        cut_name=ref.name,
        version=version,
        author=author or getpass.getuser(),
        locks_dir=project.root / "locks",
    )
    if as_json:
        print_json(
            {
                "cut": f"{ref.name}@v{version:03d}",
                "lock": str(record.path),
                "content_hash": record.content_hash,
                "locked_at": record.locked_at,
                "author": record.author,
            }
        )
        return
    console.print(
        f"locked {ref.name}@v{version:03d} ({record.content_hash[:19]}…) by {record.author} "
        f"at {record.locked_at} → {record.path}",
        highlight=False,
    )


@handle_errors
def turnover(
    locked: str = typer.Argument(..., help="A lock file, or CUT@vN of a locked version."),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default: PROJECT/turnovers/CUT_vNNN)."
    ),
    handles: int = typer.Option(8, "--handles", help="VFX pull handles, frames each side."),
    bundle_media: bool = typer.Option(
        False, "--bundle-media/--no-bundle-media", help="Copy the media into the .otioz."
    ),
    reference: bool = typer.Option(
        True,
        "--reference/--no-reference",
        help="Render the reference movie (leader, 2-pop, burn-ins, tail pop).",
    ),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Write the turnover of a locked cut: EDLs, FCP7 XML, OTIO/.otioz, AAF with markers, VFX pulls, markers.

    The cut must still match its lock (content hash); what each format cannot carry is listed in the
    package's README.txt.
    """
    import json

    from posthouse.core.errors import UsageError
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutStore
    from posthouse.picture.lock import load_lock, lock_path, verify_lock
    from posthouse.picture.turnover import turnover as write_turnover

    project = Project.open(project_dir)
    store = CutStore(project.root / "cuts")
    as_path = Path(locked)
    if as_path.suffix == ".json" and as_path.is_file():
        record = load_lock(as_path)
    else:
        from posthouse.picture.cuts import CutRef

        ref = CutRef.parse(locked)
        version = int(store.path(ref).stem[1:])
        lock_file = lock_path(project.root / "locks", ref.name, version)
        if not lock_file.is_file():
            raise UsageError(
                f"{ref.name}@v{version:03d} is not locked",
                path=lock_file,
                hint=f"run `posthouse lock {ref.name}@v{version}` first",
            )
        record = load_lock(lock_file)
    timeline = store.open(f"{record.cut_name}@v{record.version}")
    if not verify_lock(timeline, record):
        raise UsageError(
            f"{record.cut_name}@v{record.version:03d} no longer matches its lock",
            path=record.path,
            hint="the cut file was changed after lock; re-lock a new version",
        )
    name = f"{record.cut_name}_v{record.version:03d}"
    dest = out or project.root / "turnovers" / name
    report = write_turnover(
        timeline,
        dest,
        name=name,
        rate=project.config.rate,
        handles=handles,
        bundle_media=bundle_media,
        author=record.author,
        drop=project.config.drop_frame,
    )
    from posthouse.picture.guide import write_guide_track

    guide = write_guide_track(timeline, dest / f"{name}_guide.wav", rate=project.config.rate)
    movie = None
    if reference:
        from posthouse.cli.common import rich_progress
        from posthouse.picture.reference import render_reference

        with rich_progress(not as_json) as progress:
            movie = render_reference(
                timeline,
                dest / f"{name}_reference.mov",
                rate=project.config.rate,
                watermark=f"{record.cut_name} v{record.version:03d}",
                progress=progress,
            )
    if as_json:
        print_json(
            {
                "out_dir": str(dest),
                "guide_track": str(guide),
                **json.loads(report.to_json()),
                "reference": movie.to_dict() if movie is not None else None,
            }
        )
        return
    console.print(f"turnover of {name} in {dest}:")
    for kind, files in report.files.items():
        console.print(f"  {kind}: {', '.join(p.name for p in files)}", highlight=False)
    if movie is not None:
        console.print(
            f"  reference movie: {Path(movie.output).name} ({movie.frames} frames; 2-pop at frame "
            f"{movie.two_pop_frame}, first frame of action at {movie.ffoa_frame}, tail pop at "
            f"{movie.tail_pop_frame})",
            highlight=False,
        )
    for warning in report.warnings:
        console.print(f"  [yellow]{warning}[/]", highlight=False)


@handle_errors
def diff(
    old: str = typer.Argument(..., help="CUT@vN: the earlier version."),
    new: str = typer.Argument(..., help="CUT@vM: the later version."),
    edl: Path | None = typer.Option(
        None, "--edl", help="Also write a change EDL of the new and changed events."
    ),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """The change list between two cut versions: events added, removed, trimmed and moved."""
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.picture.diff import change_edl, diff_cuts

    store = CutStore(Project.open(project_dir).root / "cuts")
    a, b = store.resolve(CutRef.parse(old)), store.resolve(CutRef.parse(new))
    changes = diff_cuts(store.open(a), store.open(b), old_name=str(a), new_name=str(b))
    if edl is not None:
        change_edl(changes, edl)
    if as_json:
        print_json(changes.to_dict())
    else:
        console.print(changes.to_text(), highlight=False, markup=False)


@handle_errors
def import_(
    path: Path = typer.Argument(..., help="An EDL, FCP7 XML, AAF or OTIO file from another editing system."),
    name: str = typer.Option(..., "--name", help="Cut name to save it under (next version)."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Import a cut as a new version; a malformed file names the line, offline media is listed (exit 1)."""
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutStore
    from posthouse.picture.importing import import_cut

    project = Project.open(project_dir)
    imported = import_cut(path, rate=project.config.rate)
    ref = CutStore(project.root / "cuts").save(name, imported.timeline, message=f"imported from {path.name}")
    if as_json:
        print_json({"cut": str(ref), "offline": imported.offline})
    else:
        console.print(f"imported {path.name} as {ref}", highlight=False)
        for clip in imported.offline:
            console.print(f"  [red]offline[/] {clip}", highlight=False)
    if imported.offline:
        raise typer.Exit(1)
