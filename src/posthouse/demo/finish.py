"""The demo's finishing stage: conform the locked cut's EDL to the camera originals (frame-checked), pull the
VFX shot's plates, bring a simulated vendor return back and cut it in, grade per scene and render the
graded master.

The VFX note (a shot to fix) is put on the assembly before it is locked by :func:`vfx_marker`, as the
editor would; the turnover's VFX pull list carries it to finishing (an EDL has no room for it).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio

from posthouse.core.fsutil import atomic_write_text
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.project import Project
from posthouse.core.time import Rate

__all__ = ["run_finish", "vfx_marker"]


def vfx_marker(cut: otio.schema.Timeline, rate: Rate) -> None:
    """Mark the cut's last shot for VFX (``VFX SH010``: remove the boom that dips into frame)."""
    v1 = cut.video_tracks()[0]
    clips = list(v1.find_clips(shallow_search=True))
    if not clips:
        return
    shot = clips[-1]
    at = shot.source_range.start_time + otio.opentime.RationalTime(12, rate.otio_rate)
    shot.markers.append(
        otio.schema.Marker(
            name="VFX SH010",
            marked_range=otio.opentime.TimeRange(at, otio.opentime.RationalTime(1, rate.otio_rate)),
            color=otio.schema.MarkerColor.GREEN,
            comment="boom in frame: paint out",
        )
    )


def _deliver(shot: Any, plate_dir: Path, folder: Path) -> None:
    """The vendor's comp: the plate with the top band (where the boom dips in) painted a flat sky grey."""
    import shutil

    import OpenImageIO as oiio

    from posthouse.finish.vfx import read_image

    partial = folder.with_name(folder.name + ".partial")  # complete or absent, as a vendor's upload
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for n in range(shot.first_frame, shot.last_frame + 1):
        img = read_image(plate_dir / f"{plate_dir.name}.{n:04d}.exr")
        band = max(1, img.shape[0] // 6)
        img[:band] = img[band : 2 * band].mean(axis=(0, 1), keepdims=True)
        h, w = img.shape[:2]
        spec = oiio.ImageSpec(w, h, 3, oiio.HALF)
        spec.attribute("compression", "zip")
        path = partial / f"{folder.name}.{n:04d}.exr"
        out = oiio.ImageOutput.create(str(path))
        if out is None or not out.open(str(path), spec):
            raise OSError(f"cannot write {path}")
        out.write_image(np.ascontiguousarray(img))
        out.close()
    partial.rename(folder)


def run_finish(
    project: Project,
    cut_name: str,
    version: int,
    *,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Run the finishing stage for ``cut_name@v{version}``; returns (and saves) its summary. Resumes: a
    finished stage is not run again."""
    from posthouse.finish.cdl import Cdl
    from posthouse.finish.conform import conform, read_cut, write_conform
    from posthouse.finish.grading import GradeSet
    from posthouse.finish.master import render_graded
    from posthouse.finish.originals import scan_originals
    from posthouse.finish.vfx import approve, ingest_returns, pull_plates, write_cut_in

    root = project.root
    base = f"{cut_name}_v{version:03d}"
    fdir = root / "finish" / base
    summary_path = fdir / "finish_summary.json"
    if summary_path.is_file():
        done: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
        if Path(done["master"]["output"]).is_file():
            return done
    rate = project.config.rate
    turnover = root / "turnovers" / base

    # conform: the EDL another system would send, against the camera originals on the project's storage
    edl = read_cut(turnover / f"{base}_V1.edl", rate=rate)
    index = scan_originals([root / "media"], cache=root / "finish" / "originals.json")
    conformed, report = conform(edl, index, rate=rate, handles=8, verify=True, cut_name=base)
    write_conform(conformed, report, fdir / "conform.otio", fdir / "conform_report.json")
    doc = report.to_dict()
    summary: dict[str, Any] = {
        "conform": {
            "otio": str(fdir / "conform.otio"),
            "report": str(fdir / "conform_report.json"),
            "events": doc["events"],
            "conformed": doc["conformed"],
            "matched_by": doc["matched_by"],
            "differing_frames": doc["differing_frames"],
            "verified": doc["verified"],
            "ok": report.ok,
            "index_failures": len(report.index_failures),
        }
    }

    # VFX: pull the plates, simulate the vendor's comp, ingest, approve, cut it in
    pulls = pull_plates(
        conformed, fdir / "vfx" / "pulls", name=base, pull_list=turnover / f"{base}_vfx_pulls.json"
    )
    vendor = root.parent / "vfx_vendor"
    for shot in pulls.shots:
        folder = vendor / f"{shot.shot}_comp_v001"
        if not folder.is_dir():
            _deliver(shot, pulls.out_dir / Path(shot.plate).parent, folder)
    checks = ingest_returns(
        [vendor / f"{s.shot}_comp_v001" for s in pulls.shots], pulls.shots, catalog=project.catalog
    )
    for check in checks:
        if check.status != "rejected":
            approve(project.catalog, check.shot, check.version)
    cut_in = write_cut_in(conformed, pulls.shots, project.catalog, fdir / "conform_vfx.otio")
    summary["vfx"] = {
        "shots": [s.shot for s in pulls.shots],
        "plates": [s.plate for s in pulls.shots],
        "frames": [s.frames for s in pulls.shots],
        "returns": [{"path": c.path, "status": c.status, "reasons": c.reasons} for c in checks],
        "cut_in": [r.get("shot") for r in cut_in.replaced],
        "timeline": str(fdir / "conform_vfx.otio"),
    }

    # grade per shot (an EDL carries no scenes): warm, then cooler for the VFX shot; through the engine
    grades = GradeSet()
    names = [c.name for c in conformed.video_tracks()[0].find_clips(shallow_search=True)]
    looks = (
        Cdl(slope=(1.06, 1.0, 0.94), offset=(0.01, 0.0, -0.01), saturation=1.1),
        Cdl(slope=(0.95, 1.0, 1.07), power=(1.0, 1.0, 0.97), saturation=0.9),
    )
    for k, name in enumerate(names):
        grades.shots[name] = replace(looks[k % 2], id=name)
    for shot in pulls.shots:
        grades.shots[shot.shot] = replace(looks[1], id=shot.shot)
    grades.save(fdir / "grades")
    timeline = otio.adapters.read_from_file(str(fdir / "conform_vfx.otio"))
    master = render_graded(
        timeline, grades, fdir / f"{base}_graded.mov", preset="h264-mov", progress=progress, cancel=cancel
    )
    summary["master"] = master.to_dict()
    atomic_write_text(summary_path, json.dumps(summary, indent=2, default=str) + "\n")
    return summary
