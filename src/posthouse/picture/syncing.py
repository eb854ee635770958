"""Sync in the project: build sync inputs from the catalog, record results, and export them.

The signal work lives in :mod:`posthouse.picture.sync`; this module is the glue between it and the
catalog (``syncs`` table), the ALE and the OTIO export.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from sqlalchemy import select

from posthouse.core.catalog import MediaRecord, SyncRecord
from posthouse.core.jobs import Executor
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.project import Project
from posthouse.picture.interchange import SyncedTake, write_ale, write_sync_otio
from posthouse.picture.sync import PictureClip, SoundClip, SyncResult, sync_all

__all__ = ["picture_clip", "run_sync", "sound_clip", "synced_takes", "write_takes_ale", "write_takes_otio"]


def picture_clip(project: Project, rec: MediaRecord) -> PictureClip:
    """A sync input for one catalogued camera clip."""
    rate = Fraction(rec.rate) if rec.rate else project.config.rate.fps
    probe = rec.probe or {}
    return PictureClip(
        path=project.abspath(rec.path),
        name=rec.clip or Path(rec.path).stem,
        scene=rec.scene,
        take=rec.take,
        camera=rec.camera,
        start_timecode=rec.start_timecode,
        rate=rate,
        frames=int(rec.frames or 0),
        has_audio=bool(probe.get("audio")),
        damaged=rec.damaged,
    )


def sound_clip(project: Project, rec: MediaRecord) -> SoundClip:
    """A sync input for one catalogued production sound file."""
    return SoundClip(
        path=project.abspath(rec.path),
        name=Path(rec.path).stem,
        scene=rec.scene,
        take=rec.take,
        time_reference=rec.time_reference,
        sample_rate=int(rec.sample_rate or 48000),
        samples=int(rec.samples or 0),
        channels=int(rec.channels or 1),
        damaged=rec.damaged,
    )


def run_sync(
    project: Project,
    *,
    method: str = "auto",
    jam_offset_samples: int = 0,
    executor: Executor | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> list[SyncResult]:
    """Sync every picture clip in the catalog with its production sound and record the results."""
    records = project.catalog.media()
    pictures = {project.abspath(r.path): r for r in records if r.role == "picture"}
    sounds = {project.abspath(r.path): r for r in records if r.role == "sound"}
    results = sync_all(
        [picture_clip(project, r) for r in pictures.values()],
        [sound_clip(project, r) for r in sounds.values()],
        method=method,
        jam_offset_samples=jam_offset_samples,
        executor=executor,
        progress=progress,
        cancel=cancel,
    )
    with project.catalog.session() as s:
        for res in results:
            pic = pictures[res.picture]
            snd = sounds.get(res.sound) if res.sound is not None else None
            row = s.scalars(select(SyncRecord).where(SyncRecord.picture_id == pic.id)).one_or_none()
            if row is None:
                row = SyncRecord(picture_id=pic.id)
                s.add(row)
            row.sound_id = snd.id if snd is not None else None
            row.take = res.take
            row.method = res.method
            row.status = res.status
            row.offset_samples = res.offset_samples
            row.offset_frames = res.offset_frames
            row.drift_ppm = res.drift_ppm
            row.confidence = float(res.confidence)
            row.timecode_offset_samples = res.timecode_offset_samples
            row.notes = list(res.notes)
    return results


def synced_takes(project: Project, pictures: Sequence[MediaRecord] | None = None) -> list[SyncedTake]:
    """Picture clips with their sound and sync record (all picture clips when ``pictures`` is None)."""
    with project.catalog.session() as s:
        media = {r.id: r for r in s.scalars(select(MediaRecord))}
        syncs = {r.picture_id: r for r in s.scalars(select(SyncRecord))}
    chosen = pictures if pictures is not None else [r for r in media.values() if r.role == "picture"]
    out: list[SyncedTake] = []
    for pic in sorted(chosen, key=lambda r: r.path):
        sync = syncs.get(pic.id)
        snd = media.get(sync.sound_id) if sync is not None and sync.sound_id is not None else None
        out.append(
            SyncedTake(
                pic,
                snd,
                sync,
                project.abspath(pic.path),
                project.abspath(snd.path) if snd is not None else None,
            )
        )
    return out


def write_takes_ale(project: Project, takes: Sequence[SyncedTake], path: str | Path) -> Path:
    """The ALE of ``takes`` at the project rate."""
    return write_ale(takes, path, project.config.rate)


def write_takes_otio(project: Project, takes: Sequence[SyncedTake], path: str | Path) -> Path:
    """The synced takes as OTIO timelines (picture over its production sound channels)."""
    return write_sync_otio([t for t in takes if t.sync is not None], path, project.config.rate)
