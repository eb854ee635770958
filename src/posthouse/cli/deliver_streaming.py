"""`posthouse deliver streaming|mezzanine`: HLS + DASH ABR ladders and a ProRes 422 HQ mezzanine."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

__all__ = ["mezzanine", "streaming"]


def _parse_alternates(values: list[str] | None) -> dict[str, Path]:
    """``LANG=FILE.wav`` pairs, in the order given."""
    from posthouse.core.errors import UsageError

    out: dict[str, Path] = {}
    for v in values or []:
        lang, sep, file = v.partition("=")
        if not sep or not lang.strip() or not file.strip():
            raise UsageError(
                f"--alternate-audio {v!r} is not LANG=FILE.wav",
                hint="e.g. --alternate-audio fr=film_PM_20_fr.wav",
            )
        if lang.strip() in out:
            raise UsageError(f"--alternate-audio gives language {lang.strip()!r} twice")
        out[lang.strip()] = Path(file.strip())
    return out


def _deliver_dir(project_dir: Path | None, master: Path) -> Path:
    """PROJECT/deliver when a project is found, else the master's folder."""
    from posthouse.core.project import Project

    try:
        return Project.open(project_dir).root / "deliver"
    except Exception:  # a bare master needs no project
        return master.resolve().parent


@handle_errors
def streaming(
    master: Path = typer.Argument(..., help="The picture master (.mov/.mxf/.mp4)."),
    audio: Path = typer.Option(..., "--audio", "-a", help="Loudness-normalised stereo mix (WAV)."),
    subtitles: Path | None = typer.Option(None, "--subtitles", "-s", help="Subtitles, .vtt or .srt."),
    ladder: Path | None = typer.Option(
        None, "--ladder", help="Ladder TOML (default: the Apple HLS reference ladder, H.264 + HEVC)."
    ),
    language: str = typer.Option("en", "--language", help="Language of the audio and subtitles (BCP 47)."),
    language_name: str = typer.Option("English", "--language-name", help="Name shown to viewers."),
    alternate_audio: list[str] | None = typer.Option(
        None,
        "--alternate-audio",
        help="A dubbed stereo mix as another audio language, LANG=FILE.wav (repeatable).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default PROJECT/deliver/streaming/MASTER_NAME/)."
    ),
    validate: bool = typer.Option(
        True, "--validate/--no-validate", help="Parse every playlist and decode every segment afterwards."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Encode the ladder (aligned IDRs), package HLS and DASH as CMAF fMP4, add AAC audio and WebVTT.

    Writes ``hls/master.m3u8`` and ``dash/manifest.mpd`` under the output folder. Exit code 1 when the
    validation finds a problem.
    """
    from rich.table import Table

    from posthouse.finish.ladder import default_ladder, load_ladder
    from posthouse.finish.streaming import package_streaming, validate_hls
    from posthouse.pipeline.track import track_stage

    alternates = _parse_alternates(alternate_audio)
    dest = out or _deliver_dir(project_dir, master) / "streaming" / master.stem
    lad = load_ladder(ladder) if ladder else default_ladder()
    settings = {"language": language, "language_name": language_name, "alternates": sorted(alternates)}
    inputs = [master, audio, subtitles, ladder, *alternates.values()]
    with (
        track_stage(project_dir, "streaming", inputs, settings, target=dest) as run,
        err_console.status("encoding and packaging the ladder…"),
    ):
        result = package_streaming(
            master,
            audio,
            dest,
            ladder=lad,
            subtitles=subtitles,
            language=language,
            language_name=language_name,
            alternate_audio=alternates,
        )
        run.outputs.append(dest)
    report = result.to_dict()
    check = None
    if validate:
        with err_console.status("decoding every segment…"):
            check = validate_hls(result.master_playlist)
        report["validation"] = check.to_dict()
    if as_json:
        print_json(report)
    else:
        table = Table("rendition", "size", "codecs", "segments", "average", "peak")
        for r in result.renditions:
            table.add_row(
                r.name,
                f"{r.width}x{r.height}",
                r.codecs,
                str(r.segments),
                f"{r.average_bps / 1000:.0f} kbit/s",
                f"{r.peak_bps / 1000:.0f} kbit/s",
            )
        for a in (result.audio, *result.alternate_audio):
            table.add_row(
                f"{a.name} ({a.language})",
                "stereo",
                a.codecs,
                str(a.segments),
                f"{a.average_bps / 1000:.0f} kbit/s",
                f"{a.peak_bps / 1000:.0f} kbit/s",
            )
        console.print(table)
        console.print(f"HLS  {result.master_playlist}", highlight=False, soft_wrap=True)
        console.print(f"DASH {result.mpd}", highlight=False, soft_wrap=True)
        for s in result.skipped:
            err_console.print(f"[yellow]skipped:[/] {s}", highlight=False)
        if check is not None:
            if check.ok:
                console.print(
                    f"[green]valid:[/] {check.segments_decoded} segments decoded, IDRs aligned",
                    highlight=False,
                )
            for p in check.problems:
                err_console.print(f"[bold red]problem:[/] {p}", highlight=False, soft_wrap=True)
    if check is not None and not check.ok:
        raise typer.Exit(EXIT_PARTIAL)


@handle_errors
def mezzanine(
    master: Path = typer.Argument(..., help="The picture master."),
    audio: Path | None = typer.Option(None, "--audio", "-a", help="The mix to lay in (WAV, any channels)."),
    out: Path | None = typer.Option(
        None, "--out", help="Output .mov (default PROJECT/deliver/mezzanine/MASTER_NAME_prores_hq.mov)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Write a ProRes 422 HQ mezzanine (10-bit 4:2:2, 24-bit PCM) of the master with the mix."""
    from posthouse.core.media import probe
    from posthouse.finish.streaming import make_mezzanine
    from posthouse.pipeline.track import track_stage

    dest = out or _deliver_dir(project_dir, master) / "mezzanine" / f"{master.stem}_prores_hq.mov"
    with (
        track_stage(project_dir, "mezzanine", [master, audio], {}, target=dest) as run,
        err_console.status("encoding ProRes 422 HQ…"),
    ):
        path = make_mezzanine(master, audio, dest)
        run.outputs.append(path)
    info = probe(path)
    if as_json:
        print_json(info.to_dict())
    else:
        v = info.video[0]
        console.print(
            f"{path}: {v.codec} {v.profile} {v.width}x{v.height} {v.pix_fmt}, {v.frames} frames"
            + (f", {info.audio[0].channels} ch sound" if info.audio else ""),
            highlight=False,
            soft_wrap=True,
        )
