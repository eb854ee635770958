"""`posthouse grade`, `posthouse grade-match`, `posthouse scopes`, `posthouse cdl convert`: color.

``grade`` renders the graded master of a cut (its conformed timeline when there is one) through the ACES
pipeline with per-shot/per-scene CDLs and an optional ``.cube``; ``grade-match`` balances a shot to a
reference shot and writes a ``.cc``; ``scopes`` draws waveform/parade/vectorscope/histogram PNGs of one
frame; ``cdl convert`` converts between ``.cdl``, ``.cc``, ``.ccc``, ``.json`` and EDL ``*ASC_SOP`` comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from posthouse.cli.common import console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import opentimelineio as otio

__all__ = ["cdl_app", "cdl_convert", "grade", "grade_match", "scopes"]

cdl_app = typer.Typer(help="ASC CDL files: convert between .cdl, .cc, .ccc, .json and EDL comments.")


def _open_cut(ref: str, project_dir: Path | None) -> tuple[otio.schema.Timeline, Path, str]:
    """The timeline, the ``finish/STEM`` folder its outputs go to (next to a bare ``.otio`` outside a
    project), and the stem (``CUT_vNNN``)."""
    from posthouse.cli.finish_timeline import open_finish_timeline
    from posthouse.core.project import Project

    project = None
    try:
        project = Project.open(project_dir)
    except Exception:  # a bare timeline needs no project: outputs go next to it
        if not ref.endswith(".otio"):
            raise
    tl, finish, stem = open_finish_timeline(ref, project)
    return tl, finish or Path(ref).parent, stem


@handle_errors
def grade(
    cut: str = typer.Argument(..., help="CUT@vN (its conformed timeline when there is one) or a .otio."),
    grades: Path = typer.Option(..., "--grades", "-g", help="Grades: .ccc, .cdl, .cc, .json or an EDL."),
    lut: Path | None = typer.Option(None, "--lut", help="A .cube applied after each CDL, in ACEScct."),
    input_space: str | None = typer.Option(
        None, "--input-space", help="Footage color space (default rec709-inverse; e.g. 'ARRI LogC4')."
    ),
    output: str = typer.Option("rec709", "--output", help="rec709 or p3."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Movie to write (default finish/CUT_vNNN/)."),
    preset: str = typer.Option("prores-hq", "--preset", help="Codec preset (prores-hq, h264, dnxhr-hqx...)."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Render the graded master: each clip through its shot (else scene) CDL in ACEScct, then the ACES
    output for Rec.709 or P3. The grades are also saved as grades.json + grades.ccc next to the master."""
    from posthouse.finish.grading import GradePipeline, GradeSet
    from posthouse.finish.master import render_graded
    from posthouse.pipeline.track import track_stage

    timeline, finish, stem = _open_cut(cut, project_dir)
    gs = GradeSet.load(grades)
    if input_space is not None:
        gs.input_space = input_space
    if lut is not None:
        gs.lut = str(lut)
    pipe = GradePipeline(input_space=gs.input_space, output=output)
    target = out or finish / f"{stem}_graded_{output}.mov"
    settings = {"cut": cut, "input_space": gs.input_space, "output": output, "preset": preset}
    inputs = [grades, lut, Path(cut) if cut.endswith(".otio") else finish / "conform.otio"]
    with (
        track_stage(
            project_dir, "grade", [p for p in inputs if p is None or p.exists()], settings, target=target
        ) as run,
        rich_progress(not as_json) as progress,
    ):
        report = render_graded(timeline, gs, target, pipeline=pipe, preset=preset, progress=progress)
        saved = (
            gs.save(finish / "grades") if out is None else gs.save(target.parent / f"{target.stem}_grades")
        )
        run.outputs += [target, *saved]
    result: dict[str, Any] = {
        **report.to_dict(),
        "grades": [str(p) for p in saved],
        "output_transform": output,
    }
    if as_json:
        print_json(result)
        return
    console.print(f"graded master: [bold]{report.output}[/] ({report.frames} frames, {report.preset})")
    console.print(f"  {report.graded_clips} graded clip(s); grades saved to {saved[0].parent}")
    if report.ungraded_clips:
        console.print(f"  [yellow]ungraded:[/] {', '.join(report.ungraded_clips)}")
    for line in report.offline:
        console.print(f"  [red]offline:[/] {line}")
    for line in report.warnings:
        console.print(f"  [yellow]warning:[/] {line}")


def _frame(path: Path, frame: int) -> npt.NDArray[np.uint8]:
    """Frame ``frame`` of a movie, or an image file (PNG, TIFF, JPEG, DPX/EXR via OpenImageIO)."""
    import numpy as np

    from posthouse.core.errors import UsageError

    if not path.is_file():
        raise UsageError("file not found", path=path)
    if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"):
        from PIL import Image

        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    if path.suffix.lower() in (".exr", ".dpx"):
        import OpenImageIO as oiio

        buf = oiio.ImageBuf(str(path))
        px = buf.get_pixels(oiio.FLOAT)
        if px is None or px.ndim != 3:
            raise UsageError("cannot read image", path=path)
        img: npt.NDArray[np.uint8] = (np.clip(px[..., :3], 0, 1) * 255 + 0.5).astype(np.uint8)
        return img
    from posthouse.core.media import iter_video_frames

    for _, rgb in iter_video_frames(path, start=frame, count=1):
        out: npt.NDArray[np.uint8] = rgb
        return out
    raise UsageError(f"the movie has no frame {frame}", path=path)


@handle_errors
def scopes(
    media: Path = typer.Argument(..., help="A movie or an image."),
    frame: int = typer.Option(0, "--frame", "-f", help="Frame index in the movie (0 = first)."),
    out: Path = typer.Option(Path("scopes"), "--out", "-o", help="Folder for the PNGs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Write waveform, RGB parade, vectorscope and histogram PNGs of one frame."""
    from posthouse.finish.scopes import write_scopes

    rgb = _frame(media, frame)
    paths = write_scopes(rgb, out, stem=f"{media.stem}_f{frame:06d}")
    if as_json:
        print_json({"media": str(media), "frame": frame, **{k: str(v) for k, v in paths.items()}})
        return
    for kind, p in paths.items():
        console.print(f"{kind}: {p}")


@handle_errors
def grade_match(
    shot: Path = typer.Argument(..., help="The shot to balance (movie or image)."),
    reference: Path = typer.Option(..., "--reference", "-r", help="The reference shot (movie or image)."),
    frame: int = typer.Option(0, "--frame", "-f", help="Frame of the shot to measure."),
    reference_frame: int | None = typer.Option(None, "--reference-frame", help="Default: --frame."),
    input_space: str = typer.Option("rec709-inverse", "--input-space", help="Footage color space."),
    out: Path | None = typer.Option(None, "--out", "-o", help="The .cc to write (default SHOT.cc)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Balance a shot to a reference shot: a CDL (applied in ACEScct) written as an ASC .cc."""
    from posthouse.finish.cdl import write_cdl_file
    from posthouse.finish.matching import match_shot

    s = _frame(shot, frame)
    r = _frame(reference, frame if reference_frame is None else reference_frame)
    cdl = match_shot(s, r, input_space=input_space, cdl_id=shot.stem)
    target = write_cdl_file(out or shot.with_suffix(".cc"), [cdl])
    if as_json:
        print_json({"cc": str(target), **cdl.to_dict()})
        return
    console.print(f"{target}: slope {cdl.slope} offset {cdl.offset} saturation {cdl.saturation}")


@cdl_app.command("convert")
@handle_errors
def cdl_convert(
    src: Path = typer.Argument(..., help="Input: .cdl, .cc, .ccc, .json or .edl (ASC_SOP comments)."),
    dst: Path = typer.Argument(..., help="Output: .cdl, .cc, .ccc, .json or .edl."),
    edl: Path | None = typer.Option(
        None, "--edl", help="For an .edl output: the EDL to put the comments in (matched by clip name/reel)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Convert CDLs between ASC XML files, JSON and EDL comments (values kept to 6 decimals)."""
    from posthouse.core.errors import UsageError
    from posthouse.finish.cdl import read_cdl_file, write_cdl_file

    cdls = read_cdl_file(src)
    template = None
    if edl is not None:
        if not edl.is_file():
            raise UsageError("EDL not found", path=edl)
        template = edl.read_text(encoding="utf-8-sig", errors="replace")
    write_cdl_file(dst, cdls, edl_template=template)
    if as_json:
        print_json({"input": str(src), "output": str(dst), "cdls": [c.to_dict() for c in cdls]})
        return
    console.print(f"{len(cdls)} CDL(s): {src} → {dst}")
