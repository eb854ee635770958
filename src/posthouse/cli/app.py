"""The root Typer app. Each sub-command lives in its own module and imports its department lazily."""

from __future__ import annotations

import typer

from posthouse import __version__

app = typer.Typer(
    name="posthouse",
    help="posthouse — an open-source post-production house: dailies to delivered masters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"posthouse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """posthouse — an open-source post-production house."""


def _register() -> None:
    # Sub-command modules are small and import their department code inside the command body.
    from posthouse.cli import (
        adr,
        dailies,
        deliver,
        deliver_archive,
        deliver_qc,
        deliver_subtitles,
        demo,
        dub,
        edit,
        editorial,
        farm,
        finish_conform,
        finish_grade,
        finish_vfx,
        ingest,
        loudness,
        mix,
        probe,
        project,
        reconform,
        render,
        score,
        serve,
        sfx,
        sound,
        supervise,
        tc,
    )

    app.command("tc")(tc.tc)
    app.command("probe")(probe.probe)
    app.command("init")(project.init)
    app.command("ingest")(ingest.ingest)
    app.command("verify")(ingest.verify)
    app.command("scan")(project.scan)
    app.command("catalog")(project.catalog)
    app.command("bins")(project.bins)
    app.command("sync")(dailies.sync)
    app.command("dailies")(dailies.dailies)
    app.command("assemble")(editorial.assemble)
    app.command("cuts")(editorial.cuts)
    app.add_typer(edit.app, name="edit")
    app.command("diff")(editorial.diff)
    app.command("import")(editorial.import_)
    app.command("render")(render.render)
    app.command("loudness")(loudness.loudness)
    app.add_typer(sound.app, name="sound")
    app.add_typer(sfx.app, name="sfx")
    app.add_typer(adr.app, name="adr")
    app.add_typer(score.app, name="score")
    app.command("conform")(finish_conform.conform)
    app.add_typer(finish_vfx.app, name="vfx")
    app.add_typer(deliver_archive.app, name="archive")
    app.add_typer(deliver.app, name="deliver")
    app.command("subtitles")(deliver_subtitles.subtitles)
    app.command("qc")(deliver_qc.qc)
    app.command("grade")(finish_grade.grade)
    app.command("grade-match")(finish_grade.grade_match)
    app.command("scopes")(finish_grade.scopes)
    app.add_typer(finish_grade.cdl_app, name="cdl")
    app.command("mix")(mix.mix)
    app.command("dub")(dub.dub)
    app.command("lock")(editorial.lock)
    app.command("turnover")(editorial.turnover)
    app.add_typer(demo.app, name="demo")
    app.command("reconform")(reconform.reconform)
    app.add_typer(farm.app, name="farm")
    app.command("status")(farm.status)
    app.command("serve")(serve.serve)
    app.add_typer(serve.users_app, name="users")
    app.command("share")(serve.share)
    app.add_typer(serve.notes_app, name="notes")
    app.add_typer(supervise.schedule_app, name="schedule")
    app.add_typer(supervise.budget_app, name="budget")


_register()


def main() -> None:
    """Console-script entry point."""
    app()
