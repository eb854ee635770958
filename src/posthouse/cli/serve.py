"""`posthouse serve`, `posthouse users`, `posthouse share` and `posthouse notes`: the review room."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from posthouse.cli.common import console, err_console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION

if TYPE_CHECKING:
    from posthouse.web.notes import CutInfo
    from posthouse.web.store import Note

__all__ = ["notes_app", "serve", "share", "users_app"]

users_app = typer.Typer(help="Review room accounts: add, list, change passwords.", no_args_is_help=True)
notes_app = typer.Typer(help="Review notes on a cut version: list them, export them.", no_args_is_help=True)


@handle_errors
def serve(
    project_dir: Path | None = PROJECT_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8765, "--port", help="TCP port."),
    public_url: str | None = typer.Option(
        None, "--public-url", help="Address share links are built on (default: the address of the request)."
    ),
) -> None:
    """Open the review room: dashboard, dailies, cut review with notes, QC, in a browser."""
    import uvicorn

    from posthouse.core.project import Project
    from posthouse.web.app import create_app
    from posthouse.web.store import ReviewStore

    project = Project.open(project_dir)
    app = create_app(project, public_url=public_url)
    if not ReviewStore(project.catalog).users():
        console.print("[yellow]no accounts yet:[/] add one with `posthouse users add NAME --role admin`")
    console.print(f"review room for [bold]{project.config.name}[/] on http://{host}:{port}/", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


def _password(password: str | None) -> str:
    if password is not None:
        return password
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@users_app.command("add")
@handle_errors
def users_add(
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option("reviewer", "--role", help="reviewer, editor or admin."),
    password: str | None = typer.Option(
        None, "--password", envvar="POSTHOUSE_PASSWORD", help="Password (prompted when not given)."
    ),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Add an account (its password is stored as an argon2id hash)."""
    from posthouse.core.project import Project
    from posthouse.web.store import ReviewStore

    user = ReviewStore(Project.open(project_dir).catalog).add_user(name, _password(password), role)
    if as_json:
        print_json(user.to_dict())
    else:
        console.print(f"added {user.name} ({user.role})", highlight=False)


@users_app.command("list")
@handle_errors
def users_list(
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List the accounts."""
    from posthouse.core.project import Project
    from posthouse.web.store import ReviewStore

    users = ReviewStore(Project.open(project_dir).catalog).users()
    if as_json:
        print_json([u.to_dict() for u in users])
        return
    for u in users:
        console.print(f"{u.name:<24} {u.role:<9} since {u.created:%Y-%m-%d}", highlight=False)
    if not users:
        console.print("no accounts")


@users_app.command("passwd")
@handle_errors
def users_passwd(
    name: str = typer.Argument(..., help="User name."),
    password: str | None = typer.Option(
        None, "--password", envvar="POSTHOUSE_PASSWORD", help="New password (prompted when not given)."
    ),
    role: str | None = typer.Option(None, "--role", help="Also change the role."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Change a user's password (and role); their open sessions end."""
    from posthouse.core.project import Project
    from posthouse.web.store import ReviewStore

    user = ReviewStore(Project.open(project_dir).catalog).set_password(name, _password(password), role=role)
    console.print(f"changed the password of {user.name} ({user.role})", highlight=False)


@handle_errors
def share(
    cut: str = typer.Argument(..., help="CUT@vN (the latest version when no version is given)."),
    hours: float = typer.Option(48.0, "--hours", help="How long the link works."),
    url: str = typer.Option("http://127.0.0.1:8765", "--url", help="The review room's public address."),
    by: str | None = typer.Option(None, "--by", help="Who made the link (recorded)."),
    render: bool = typer.Option(
        False, "--render", help="Render the review copy first when the cut version has none."
    ),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Print an expiring link to one cut version for an outside reviewer (who may watch it and leave notes,
    nothing else). Only a hash of the link's token is stored."""
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.web.media import find_review_render, render_review
    from posthouse.web.store import ReviewStore

    project = Project.open(project_dir)
    ref = CutStore(project.root / "cuts").resolve(CutRef.parse(cut))
    assert ref.version is not None
    store = CutStore(project.root / "cuts")
    playable = find_review_render(project.root, store, ref) is not None
    if not playable and render:
        with rich_progress(not as_json) as progress:
            render_review(store, ref, progress=progress)
        playable = True
    token, link = ReviewStore(project.catalog).create_share(ref.name, ref.version, hours=hours, created_by=by)
    full = f"{url.rstrip('/')}/s/{token}"
    if as_json:
        print_json({"cut": str(ref), "url": full, "expires": link.expires.isoformat(), "playable": playable})
    else:
        console.print(full, highlight=False, soft_wrap=True)
        console.print(f"[dim]{ref}, reviewer, expires {link.expires:%Y-%m-%d %H:%M} UTC[/]", highlight=False)
    if not playable:
        err_console.print(
            f"[yellow]{ref} has no review render yet:[/] the reviewer sees no picture until one is made "
            "(run again with --render, or press Render in the review room)",
            highlight=False,
        )


def _notes(project_dir: Path | None, cut: str) -> tuple[CutInfo, list[Note], list[dict[str, Any]], Path]:
    """The cut version's shape, its notes (as records and JSON rows) and its rewritten notes OTIO file."""
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.web.notes import cut_info, write_notes_otio
    from posthouse.web.store import ReviewStore

    project = Project.open(project_dir)
    store = CutStore(project.root / "cuts")
    ref = store.resolve(CutRef.parse(cut))
    assert ref.version is not None
    info = cut_info(store, ref, default_drop=project.config.drop_frame)
    notes = ReviewStore(project.catalog).notes(ref.name, ref.version)
    path = write_notes_otio(store, ref, notes)
    rows = [
        {
            **n.to_dict(),
            "tc": info.timecode(n.frame),
            "tc_out": info.timecode(n.frame + n.duration) if n.duration else None,
        }
        for n in notes
    ]
    return info, notes, rows, path


@notes_app.command("list")
@handle_errors
def notes_list(
    cut: str = typer.Argument(..., help="CUT@vN (the latest version when no version is given)."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """The notes on a cut version as markers: record timecode, frame, status, author, cue and text."""
    info, _, rows, path = _notes(project_dir, cut)
    if as_json:
        print_json({"cut": info.ref, "markers_file": str(path), "notes": rows})
        return
    console.print(f"{info.ref}: {len(rows)} notes (markers in {path})", highlight=False, soft_wrap=True)
    for r in rows:
        span = f"–{r['tc_out']}" if r["tc_out"] else ""
        cue = f" [{str(r['cue']).upper()}]" if r["cue"] else ""
        console.print(
            f"  #{r['id']:<4} {r['tc']}{span:<13} frame {r['frame']:<6} {r['status']:<9} {r['author']}{cue}: "
            f"{r['text']}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@notes_app.command("export")
@handle_errors
def notes_export(
    cut: str = typer.Argument(..., help="CUT@vN (the latest version when no version is given)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the notes and cues as JSON (.json) or CSV (.csv) here too."
    ),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Rewrite the cut version's ``vNNN.notes.otio`` (the cut plus a marker per note and per cue) and
    optionally write the notes with the cue list as JSON or CSV."""
    import csv
    import io
    import json

    from posthouse.core.fsutil import atomic_write_text
    from posthouse.web.notes import cue_list

    info, notes, rows, path = _notes(project_dir, cut)
    cues = cue_list(info, notes)
    doc = {"cut": info.ref, "markers_file": str(path), "notes": rows, "cues": cues}
    if out is not None:
        if out.suffix.lower() == ".csv":
            buf = io.StringIO()
            fields = ["id", "tc", "tc_out", "frame", "duration", "status", "author", "cue", "text"]
            writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            atomic_write_text(out, buf.getvalue())
        else:
            atomic_write_text(out, json.dumps(doc, indent=2, default=str) + "\n")
    if as_json:
        print_json(doc)
    else:
        console.print(
            f"{info.ref}: {len(rows)} notes, {len(cues)} cues → {path}" + (f" and {out}" if out else ""),
            highlight=False,
        )
