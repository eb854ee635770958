"""`posthouse deliver dcp`: a SMPTE DCP (OV) from the graded master and the cinema printmaster, plus a
version file (VF) per dubbed mix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import console, err_console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION

__all__ = ["dcp", "find_cut_master", "find_printmaster", "parse_dubs"]


def parse_dubs(values: list[str] | None) -> dict[str, Path]:
    """``LANG=FILE.wav`` pairs, in the order given."""
    from posthouse.core.errors import UsageError

    out: dict[str, Path] = {}
    for v in values or []:
        lang, sep, file = v.partition("=")
        if not sep or not lang.strip() or not file.strip():
            raise UsageError(f"--dub {v!r} is not LANG=FILE.wav", hint="e.g. --dub fr=film_PM_51_fr.wav")
        if lang.strip() in out:
            raise UsageError(f"--dub gives language {lang.strip()!r} twice")
        out[lang.strip()] = Path(file.strip())
    return out


def find_cut_master(root: Path, cut: str) -> tuple[Path, str]:
    """The newest graded master of ``CUT@vN`` under ``root/finish/CUT_vNNN/`` and that folder's stem."""
    from posthouse.core.errors import UsageError
    from posthouse.picture.cuts import CutRef, CutStore

    ref = CutStore(root / "cuts").resolve(CutRef.parse(cut))
    stem = f"{ref.name}_v{int(ref.version or 1):03d}"
    folder = root / "finish" / stem
    masters = sorted(folder.glob("*_graded*.mov"), key=lambda p: p.stat().st_mtime)
    if not masters:
        raise UsageError(
            f"no graded master for {ref.name}@v{ref.version}",
            path=folder,
            hint="run `posthouse finish grade` first, or pass --master FILE",
        )
    return masters[-1], stem


def find_printmaster(root: Path, stem: str) -> Path | None:
    """The cut's printmaster: ``sound/STEM/mix/cinema/STEM_PM_51.wav``, else another 5.1, else stereo."""
    mix = root / "sound" / stem / "mix"
    for pattern in (
        f"cinema/{stem}_PM_51.wav",
        f"*/{stem}_PM_51.wav",
        f"cinema/{stem}_PM_20.wav",
        f"*/{stem}_PM_20.wav",
    ):
        found = sorted(mix.glob(pattern))
        if found:
            return found[0]
    return None


def _farm_encoder(address: str, project: Any, progress: Any) -> Any:
    """A picture encoder for ``make_dcp`` that runs the frames in chunks on the farm at ``address``
    (recorded in the project's lineage, so a killed encode resumes from its finished chunks)."""
    from posthouse.finish.dcp import PictureJob
    from posthouse.pipeline.chunks import encode_dcp_picture
    from posthouse.pipeline.farm import get_farm_executor
    from posthouse.pipeline.lineage import Lineage

    lineage = Lineage(project.catalog) if project is not None else None

    def encode(job: PictureJob) -> None:
        with get_farm_executor(None if address == "local" else address) as ex:
            encode_dcp_picture(
                job.master,
                job.work,
                fps=job.fps,
                source=job.source,
                fit=job.size,
                container=job.container,
                executor=ex,
                lineage=lineage,
                progress=progress,
            )

    return encode


@handle_errors
def dcp(
    cut: str | None = typer.Argument(None, help="CUT@vN: its graded master and cinema printmaster."),
    master: Path | None = typer.Option(None, "--master", "-m", help="The picture master (instead of a cut)."),
    audio: Path | None = typer.Option(
        None, "--audio", "-a", help="Printmaster WAV, 5.1 (L R C LFE Ls Rs) or stereo (default: the cut's)."
    ),
    subtitles: Path | None = typer.Option(
        None, "--subtitles", "-s", help="Subtitles carried as SMPTE timed text (.srt, .vtt, .ttml)."
    ),
    title: str | None = typer.Option(None, "--title", help="Film title (default: the project's name)."),
    kind: str = typer.Option(
        "feature", "--kind", help="feature, trailer, teaser, short, advertisement, test…"
    ),
    container: str | None = typer.Option(
        None, "--container", help="flat (1998×1080) or scope (2048×858); default from the master's aspect."
    ),
    lang: str = typer.Option("en", "--lang", help="Language of the sound (RFC 5646, e.g. en, fr)."),
    subtitle_lang: str | None = typer.Option(
        None, "--subtitle-lang", help="Subtitle language (default --lang)."
    ),
    territory: str = typer.Option("US", "--territory", help="Release territory (ISDCF code, e.g. US, FR)."),
    rating: str = typer.Option("", "--rating", help="Local rating for the name (e.g. 13, R, 12)."),
    studio: str = typer.Option("PH", "--studio", help="Studio code (2–4 letters)."),
    facility: str = typer.Option("PH", "--facility", help="Facility code (2–4 letters)."),
    fps: int | None = typer.Option(
        None, "--fps", help="DCP rate (default: the master's; 23.976 plays at 24)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for the DCPs (default PROJECT/deliver/dcp)."
    ),
    reel_seconds: int | None = typer.Option(
        None, "--reel-seconds", min=1, help="Cut into reels of this many seconds (default one reel)."
    ),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="JPEG 2000 encoder processes."),
    farm: str | None = typer.Option(
        None,
        "--farm",
        help="Encode the JPEG 2000 frames in chunks on a Dask farm (tcp://HOST:8786, or 'local').",
    ),
    dub: list[str] | None = typer.Option(
        None, "--dub", help="Also make a VF with a dubbed printmaster, LANG=FILE.wav (repeatable)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace a DCP folder of the same name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Make a SMPTE DCP in PROJECT/deliver/dcp/<ISDCF NAME>/: JPEG 2000 X'Y'Z' picture, 24-bit sound,
    optional timed text, CPL/PKL/ASSETMAP/VOLINDEX; a killed run resumes its JPEG 2000 frames."""
    from posthouse.core.errors import UsageError
    from posthouse.core.media import probe
    from posthouse.core.project import Project
    from posthouse.finish.dcp import make_dcp, make_version_file

    dubs = parse_dubs(dub)
    project: Project | None = None
    try:
        project = Project.open(project_dir)
    except Exception:  # a bare master needs no project
        if cut is not None:
            raise
    stem = ""
    if master is None:
        if cut is None:
            raise UsageError("give a cut (CUT@vN) or --master FILE")
        assert project is not None
        master, stem = find_cut_master(project.root, cut)
    elif cut is not None:
        raise UsageError("give either a cut or --master, not both")
    if audio is None and project is not None and stem:
        audio = find_printmaster(project.root, stem)
        if audio is None:
            err_console.print("[yellow]no printmaster found:[/] the DCP will have no sound", highlight=False)
    if container not in (None, "flat", "scope"):
        raise UsageError(f"--container {container!r}", hint="flat or scope")
    dest = out or ((project.root / "deliver" / "dcp") if project is not None else master.resolve().parent)
    film = title or (project.config.name if project is not None else master.stem)
    with rich_progress(not as_json) as progress:
        encoder = _farm_encoder(farm, project, progress) if farm is not None else None
        result = make_dcp(
            master,
            dest,
            audio=audio,
            subtitles=subtitles,
            title=film,
            kind=kind,
            container="scope" if container == "scope" else "flat" if container == "flat" else None,
            fps=fps,
            language=lang,
            subtitle_language=subtitle_lang or "",
            territory=territory,
            rating=rating,
            studio=studio,
            facility=facility,
            reel_seconds=reel_seconds,
            jobs=jobs,
            overwrite=force,
            picture_encoder=encoder,
            progress=progress,
        )
    rate = probe(master).video[0].rate
    versions = []
    for language, wav in dubs.items():
        with err_console.status(f"version file for {language}…"):
            versions.append(
                make_version_file(result.path, wav, dest, language=language, source_fps=rate, overwrite=force)
            )
    report: dict[str, Any] = result.to_dict() | {
        "master": str(master),
        "audio": str(audio) if audio else None,
    }
    report["version_files"] = [v.to_dict() for v in versions]
    if as_json:
        print_json(report)
        return
    console.print(f"DCP [bold]{result.name}[/]", highlight=False, soft_wrap=True)
    console.print(f"  {result.path}", highlight=False, soft_wrap=True)
    console.print(
        f"  {result.duration} frames at {result.edit_rate} fps, picture {result.active_area[0]}×"
        f"{result.active_area[1]} in {result.container[0]}×{result.container[1]}, "
        f"{report['average_mbit_s']} Mbit/s; sound {result.channels or 'none'} ch; "
        f"{result.encoded} frames encoded, {result.skipped} resumed",
        highlight=False,
    )
    for note in result.notes:
        console.print(f"  note: {note}", highlight=False)
    for v in versions:
        console.print(f"VF  [bold]{v.name}[/]\n  {v.path}", highlight=False, soft_wrap=True)
