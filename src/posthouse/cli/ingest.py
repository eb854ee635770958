"""`posthouse ingest` and `posthouse verify`: verified offload of cards and rolls, with ASC MHL."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json, rich_progress

__all__ = ["ingest", "verify"]


def _mb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


@handle_errors
def ingest(
    sources: list[Path] = typer.Argument(
        ..., help="Camera cards and sound rolls: folders (each lands as DEST/<folder name>) or files."
    ),
    dest: Path = typer.Option(..., "--dest", "-d", help="Destination folder (created if missing)."),
    hash: list[str] = typer.Option(
        ["xxh64"],
        "--hash",
        help="Hash format to record, repeatable or comma-separated: xxh64 (default), xxh128, md5, sha1.",
    ),
    log: bool = typer.Option(
        True,
        "--log/--no-log",
        help="Probe and log the copies into the project's catalog (when in a project).",
    ),
    project_dir: Path | None = typer.Option(
        None, "--project", "-p", envvar="POSTHOUSE_PROJECT", help="Project folder (default: found from cwd)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Offload cards and rolls: copy, hash in the same read, read back and verify, write an ASC MHL per card.

    Files already at the destination and identical are skipped, so a re-run after an interruption copies
    only what is missing. Inside a project the verified copies are then probed and logged into the
    catalog (as `posthouse scan` does; damaged files are listed). Exit code 1 when a different file of
    the same name is in the way (it is never overwritten), a file failed, or a copy is damaged media.
    """
    from posthouse.core.errors import ProjectError
    from posthouse.core.project import Project
    from posthouse.picture.offload import offload

    algorithms = [a.strip() for item in hash for a in item.split(",") if a.strip()]
    project: Project | None = None
    if log:
        try:
            project = Project.open(project_dir)
        except ProjectError:
            if project_dir is not None:
                raise
    with rich_progress(not as_json) as progress:
        report = offload(sources, dest, algorithms=algorithms, progress=progress)
        logged = None
        if project is not None and report.files:
            from posthouse.picture.logging import log_media

            logged = log_media(project, [dest], progress=progress)
    if as_json:
        print_json({**report.to_dict(), "catalog": logged.to_dict() if logged is not None else None})
    else:
        console.print(
            f"{len(report.copied)} copied and verified ({_mb(report.bytes_copied)}, "
            f"{report.mb_per_s:.0f} MB/s), {len(report.skipped)} already there, "
            f"{len(report.conflicts)} conflicts, {len(report.failed)} failed",
            highlight=False,
        )
        for mhl in report.mhl:
            console.print(f"ASC MHL {mhl}", highlight=False, markup=False)
        for where, why in report.conflicts.items():
            console.print(f"[red]conflict[/] {escape(f'{where}: {why}')}", highlight=False)
        for where, why in report.failed.items():
            console.print(f"[red]failed[/] {escape(f'{where}: {why}')}", highlight=False)
        if report.cleaned:
            n = len(report.cleaned)
            console.print(f"removed {n} partial copies left by an earlier run", highlight=False)
        if logged is not None:
            console.print(
                f"catalog: {len(logged.added)} added, {len(logged.updated)} updated", highlight=False
            )
            for path, problems in logged.damaged.items():
                text = f"{path}: {'; '.join(problems)}"
                console.print(f"[red]damaged[/] {escape(text)}", highlight=False)
    if not report.ok or (logged is not None and not logged.ok):
        raise typer.Exit(EXIT_PARTIAL)


@handle_errors
def verify(
    root: Path = typer.Argument(
        ..., help="An offloaded card folder (holding ascmhl/), or a folder of them: each is verified."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts (a list, one per card)."),
) -> None:
    """Re-hash offloaded media against its ASC MHL history; report missing, changed and new files.

    Each verification is recorded as a new generation. Exit code 1 when a file is missing, changed or
    unreadable, or a manifest was altered; new files are reported but are not an error.
    """
    from posthouse.core.errors import UsageError
    from posthouse.picture.mhl import MHLError, find_roots
    from posthouse.picture.offload import verify as verify_root

    if not root.is_dir():
        raise UsageError("no such folder", path=root)
    roots = find_roots(root)
    if not roots:
        raise UsageError(
            "no ASC MHL history (ascmhl/ folder) here or below",
            path=root,
            hint="offload with `posthouse ingest` first",
        )
    results: list[dict[str, object]] = []
    all_ok = True
    with rich_progress(not as_json) as progress:
        for mhl_root in roots:
            try:
                report = verify_root(mhl_root, progress=progress)
            except MHLError as err:
                all_ok = False
                results.append({"root": str(mhl_root), "ok": False, "error": str(err)})
                if not as_json:
                    console.print(f"[red]error[/] {escape(str(err))}", highlight=False)
                continue
            all_ok = all_ok and report.ok
            results.append(report.to_dict())
            if as_json:
                continue
            status = "[green]ok[/]" if report.ok else "[red]FAILED[/]"
            console.print(
                f"{status} {escape(str(mhl_root))}: {len(report.verified)} verified, "
                f"{len(report.changed)} changed, {len(report.missing)} missing, {len(report.new)} new",
                highlight=False,
            )
            for rel, why in report.changed.items():
                console.print(f"  [red]changed[/] {escape(f'{rel}: {why}')}", highlight=False)
            for rel in report.missing:
                console.print(f"  [red]missing[/] {escape(rel)}", highlight=False)
            for rel in report.new:
                console.print(f"  [yellow]new[/] {escape(rel)}", highlight=False)
            for rel, why in report.failed.items():
                console.print(f"  [red]failed[/] {escape(f'{rel}: {why}')}", highlight=False)
            for problem in report.problems:
                console.print(f"  [red]manifest[/] {escape(problem)}", highlight=False)
    if as_json:
        print_json(results)
    if not all_ok:
        raise typer.Exit(EXIT_PARTIAL)
