"""The demo's delivery stage: subtitles from the lines the cut plays, a mezzanine with the streaming mix,
QC of it, the HLS/DASH ladder, and the archive (verified).

Subtitles come from the shoot's ground truth (the lines each take holds, at their sound-file samples),
mapped through the locked cut's audio clips to record time — what a subtitler would time by ear.
"""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from posthouse.core.fsutil import atomic_write_text
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.project import Project

__all__ = ["record_lines", "run_deliver"]


def record_lines(cut_file: Path, truth: dict[str, Any]) -> list[dict[str, Any]]:
    """The dialogue lines the cut plays, in record seconds from the cut's start: a timed script."""
    import opentimelineio as otio

    from posthouse.engine import plan_timeline

    plan = plan_timeline(otio.adapters.read_from_file(str(cut_file)))
    fps = Fraction(plan.rate.fps)
    rate = int(truth["sample_rate"])
    lines: list[dict[str, Any]] = []
    for clip in plan.audio[0] if plan.audio else []:
        take = truth["takes"].get(clip.name.split()[0])
        if take is None:
            continue
        lo, hi = Fraction(clip.record_in) / fps, Fraction(clip.record_out) / fps
        shift = lo - Fraction(clip.source_offset)  # record second of file second 0
        for line in take["dialogue"]["lines"]:
            a = max(lo, Fraction(line["start_sample"], rate) + shift)
            b = min(hi, Fraction(line["end_sample"], rate) + shift)
            if b - a >= Fraction(1, 2):  # a line the cut plays most of
                lines.append(
                    {"character": line["character"], "text": line["text"], "start": float(a), "end": float(b)}
                )
    lines.sort(key=lambda x: x["start"])
    return lines


def _dcp(
    out: Path,
    master: Path,
    printmaster: Path,
    subtitles: str,
    jobs: int,
    progress: Progress,
    cancel: CancelToken | None,
) -> dict[str, Any]:
    """Make the demo's OV DCP once (a finished one is kept), then check its hashes and sizes."""
    from posthouse.finish.dcp import make_dcp
    from posthouse.finish.dcp_xml import file_sha1_b64

    done = sorted(d for d in out.glob("*") if d.is_dir() and not d.name.startswith("."))
    if done:
        path = done[-1]
    else:
        result = make_dcp(
            master,
            out,
            audio=printmaster,
            subtitles=subtitles,
            title="The Last Frame",
            kind="feature",
            rating="",
            jobs=jobs,
            progress=progress,
            cancel=cancel,
        )
        path = result.path
    # every asset the packing list names carries the SHA-1 of the file as written
    pkl = next(path.glob("PKL_*.xml"))
    text = pkl.read_text(encoding="utf-8")
    files = sorted(
        p
        for p in path.iterdir()
        if p.suffix in (".mxf", ".xml") and p != pkl and p.name not in ("ASSETMAP.xml", "VOLINDEX.xml")
    )
    hashes_ok = bool(files) and all(f"<Hash>{file_sha1_b64(p)}</Hash>" in text for p in files)
    return {"path": str(path), "name": path.name, "files": [p.name for p in files], "hashes_ok": hashes_ok}


def run_deliver(
    project: Project,
    shoot_dir: Path,
    cut_name: str,
    version: int,
    *,
    master: Path,
    jobs: int = 1,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Make the demo's deliverables for ``cut_name@v{version}``; returns (and saves) their summary.
    Resumes: a deliverable already written is kept."""
    from posthouse.finish.archive import create_archive, verify_archive
    from posthouse.finish.qc import run_qc, write_reports
    from posthouse.finish.qc_specs import load_spec
    from posthouse.finish.streaming import make_mezzanine, package_streaming, validate_hls
    from posthouse.finish.subtitle_formats import read_timed_script, write_subtitles
    from posthouse.finish.subtitles import check_subtitles
    from posthouse.sound.loudness import LoudnessMeter

    root = project.root
    base = f"{cut_name}_v{version:03d}"
    ddir = root / "deliver" / base
    summary: dict[str, Any] = {}
    rate = project.config.rate
    mix_dir = root / "sound" / base / "mix"
    stereo = mix_dir / "netflix" / f"{base}_PM_20.wav"

    # subtitles: SRT, WebVTT, IMSC1/TTML, and checked against the reading-speed rules
    truth = json.loads((shoot_dir / "ground_truth.json").read_text(encoding="utf-8"))
    script = ddir / "subtitles" / f"{base}_en.json"
    atomic_write_text(
        script,
        json.dumps(
            {"lines": record_lines(root / "cuts" / cut_name / f"v{version:03d}.otio", truth)}, indent=2
        ),
    )
    track = read_timed_script(script, language="en", rate=rate)
    subs = {
        fmt: str(write_subtitles(track, fmt, ddir / "subtitles" / f"{base}_en.{ext}"))
        for fmt, ext in (("srt", "srt"), ("vtt", "vtt"), ("ttml", "ttml"))
    }
    issues = check_subtitles(track)
    summary["subtitles"] = {"cues": len(track.cues), "files": subs, "issues": [i.to_dict() for i in issues]}

    # mezzanine: the graded picture with the streaming mix, then QC'd against the Netflix preset
    mezz = ddir / f"{base}_mezzanine.mov"
    if not mezz.is_file():
        make_mezzanine(master, stereo, mezz)
    # the Netflix preset, but the demo's small picture size allowed (a real master would be UHD or HD)
    spec = load_spec("netflix")
    size = project.config.resolution
    spec = replace(spec, video=replace(spec.video, resolutions=(*spec.video.resolutions, size)))
    qc = run_qc(mezz, spec, loudness_fn=LoudnessMeter)
    js, html = write_reports(qc, ddir / "qc", stem=f"{base}_mezzanine")
    summary["qc"] = {
        "file": str(mezz),
        "failed": qc.failed,
        "failures": [c.name for c in qc.checks if c.status == "fail"],
        "html": str(html),
        "json": str(js),
    }

    # streaming: HLS + DASH ladder with the WebVTT subtitles, validated segment by segment
    hls_dir = ddir / "streaming"
    if not (hls_dir / "hls" / "master.m3u8").is_file():
        package_streaming(master, stereo, hls_dir, subtitles=subs["vtt"])
    check = validate_hls(hls_dir / "hls" / "master.m3u8")
    summary["streaming"] = {
        "master_playlist": str(hls_dir / "hls" / "master.m3u8"),
        "mpd": str(hls_dir / "dash" / "manifest.mpd"),
        "valid": check.ok,
    }

    # DCP: the graded master in a 2K flat container with the cinema printmaster (5.1) and the subtitles
    summary["dcp"] = _dcp(
        ddir / "dcp", master, mix_dir / "cinema" / f"{base}_PM_51.wav", subs["srt"], jobs, progress, cancel
    )

    # archive: everything the film needs, sealed with ASC MHL and verified
    archive = create_archive(root, cut_name, version, root.parent / "archive")
    verified = verify_archive(archive.root)
    summary["archive"] = {"package": str(archive.root), "files": len(archive.files), "verified": verified.ok}
    atomic_write_text(ddir / "deliver_summary.json", json.dumps(summary, indent=2, default=str) + "\n")
    return summary
