"""Dailies interchange: ALE (Avid Log Exchange) and OTIO synced clips, through OpenTimelineIO.

The ALE is written by OTIO's ALE adapter from clips carrying ``metadata["ALE"]`` columns, so OTIO (and
Avid) read it back. A synced take becomes an OTIO timeline: V1 the camera clip, A1…An the production
sound's channels (one clip per channel, ``metadata["posthouse"]["channel"]``), placed so record time 0
is picture frame 0; a sound that started late is preceded by a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from posthouse.core.catalog import MediaRecord, SyncRecord
from posthouse.core.fsutil import atomic_path
from posthouse.core.time import Rate, Timecode

__all__ = [
    "SyncedTake",
    "ale_collection",
    "sound_channel_clip",
    "sync_timeline",
    "video_clip",
    "write_ale",
    "write_sync_otio",
]

ALE_COLUMNS = [
    "Scene",
    "Take",
    "Tape",
    "Camera",
    "Camroll",
    "Soundroll",
    "Sound TC",
    "Auxiliary TC1",
    "Circled",
    "Sync Method",
    "Sync Offset",
    "Sync Status",
    "Shoot Date",
    "Checksum",
]


@dataclass(frozen=True, slots=True)
class SyncedTake:
    """A picture clip, its production sound (if any) and how they were synced."""

    picture: MediaRecord
    sound: MediaRecord | None
    sync: SyncRecord | None
    picture_path: Path
    sound_path: Path | None


def _rate(rec: MediaRecord, fallback: Rate) -> Rate:
    try:
        return Rate.parse(rec.rate) if rec.rate else fallback
    except ValueError:
        return fallback


def video_clip(take: SyncedTake, rate: Rate) -> otio.schema.Clip:
    """The whole camera clip, its source range in its own timecode frames."""
    pic = take.picture
    fps = float(rate.fps)
    start = Timecode.parse(pic.start_timecode, rate).frames if pic.start_timecode else 0
    frames = int(pic.frames or 0)
    ref = otio.schema.ExternalReference(
        target_url=take.picture_path.resolve().as_uri(),
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start, fps), otio.opentime.RationalTime(frames, fps)
        ),
    )
    clip = otio.schema.Clip(
        name=pic.clip or take.picture_path.stem, media_reference=ref, source_range=ref.available_range
    )
    return clip


def ale_collection(takes: Sequence[SyncedTake], rate: Rate) -> otio.schema.SerializableCollection:
    """The clips of an ALE as an OTIO collection (one clip per picture file, ALE columns in metadata)."""
    coll = otio.schema.SerializableCollection(name="dailies")
    coll.metadata["ALE"] = {
        "header": {"FPS": str(rate), "VIDEO_FORMAT": "1080", "AUDIO_FORMAT": "48khz"},
        "columns": list(ALE_COLUMNS),
    }
    for take in takes:
        pic, snd, sync = take.picture, take.sound, take.sync
        clip_rate = _rate(pic, rate)
        clip = video_clip(take, clip_rate)
        sound_tc = snd.start_timecode if snd is not None else None
        if (
            sync is not None
            and sync.offset_samples is not None
            and snd is not None
            and snd.sample_rate
            and snd.time_reference is not None
            and pic.start_timecode
        ):
            # The sound timecode under the first picture frame, after sync.
            under = snd.time_reference + sync.offset_samples
            sound_tc = str(
                Timecode.from_samples(max(under, 0), snd.sample_rate, clip_rate, ";" in pic.start_timecode)
            )
        clip.metadata["ALE"] = {
            "Scene": pic.scene or "",
            "Take": pic.take or "",
            "Tape": pic.reel or "",
            "Camera": pic.camera or "",
            "Camroll": pic.reel or "",
            "Soundroll": (snd.reel if snd is not None else "") or "",
            "Sound TC": sound_tc or "",
            "Auxiliary TC1": sound_tc or "",
            "Circled": "Y" if (pic.circled or (snd is not None and snd.circled)) else "",
            "Sync Method": sync.method if sync is not None else "",
            "Sync Offset": "" if sync is None or sync.offset_samples is None else str(sync.offset_samples),
            "Sync Status": sync.status if sync is not None else "",
            "Shoot Date": pic.shoot_day or "",
            "Checksum": pic.xxh64 or "",
        }
        coll.append(clip)
    return coll


def write_ale(takes: Sequence[SyncedTake], path: str | Path, rate: Rate) -> Path:
    """Write an ALE of ``takes`` (atomically) with OTIO's ALE adapter."""
    path = Path(path)
    text = otio.adapters.write_to_string(ale_collection(takes, rate), adapter_name="ale", fps=float(rate.fps))
    # The adapter needs the exact float rate for its timecodes but would print it as 23.976023976...;
    # Avid and OTIO both expect the trade name in the header.
    text = "\n".join(f"FPS\t{rate}" if line.startswith("FPS\t") else line for line in text.split("\n"))
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def sound_channel_clip(take: SyncedTake, channel: int, first: float, length: float) -> otio.schema.Clip:
    """One channel of the take's production sound: samples ``[first, first + length)`` of the file.

    The media's available range is in samples since midnight (the BWF TimeReference), so the clip's
    source range is sound timecode; ``metadata["posthouse"]`` names the channel and its iXML track.
    """
    snd, path = take.sound, take.sound_path
    assert snd is not None and path is not None
    sr = int(snd.sample_rate or 48000)
    tref = int(snd.time_reference or 0)
    names = ((snd.probe or {}).get("bwf") or {}).get("track_names") or []
    name = names[channel] if channel < len(names) else f"CH{channel + 1}"
    ref = otio.schema.ExternalReference(
        target_url=path.resolve().as_uri(),
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(tref, sr), otio.opentime.RationalTime(int(snd.samples or 0), sr)
        ),
    )
    clip = otio.schema.Clip(
        name=f"{path.stem} {name}",
        media_reference=ref,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(tref + first, sr), otio.opentime.RationalTime(length, sr)
        ),
    )
    clip.metadata["posthouse"] = {
        "channel": channel,
        "track_name": names[channel] if channel < len(names) else None,
    }
    return clip


def sync_timeline(take: SyncedTake, rate: Rate) -> otio.schema.Timeline:
    """One synced take as an OTIO timeline: the camera clip over the production sound's channels."""
    pic, snd, sync = take.picture, take.sound, take.sync
    clip_rate = _rate(pic, rate)
    video = video_clip(take, clip_rate)
    tl = otio.schema.Timeline(name=f"{pic.scene or ''}-{pic.take or ''} {video.name}".strip(" -"))
    tl.global_start_time = video.source_range.start_time
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    v1.append(video)
    tl.tracks.append(v1)
    tl.metadata["posthouse"] = {
        "take": sync.take if sync is not None else None,
        "sync": None
        if sync is None
        else {
            "method": sync.method,
            "status": sync.status,
            "offset_samples": sync.offset_samples,
            "drift_ppm": sync.drift_ppm,
            "confidence": sync.confidence,
            "notes": list(sync.notes or []),
        },
    }
    if snd is None or take.sound_path is None or sync is None or sync.offset_samples is None:
        return tl
    sr = int(snd.sample_rate or 48000)
    pic_samples = round(Fraction(int(pic.frames or 0)) / clip_rate.fps * sr)
    offset = int(sync.offset_samples)
    lead_gap = max(-offset, 0)
    first = max(offset, 0)
    length = max(0, min(pic_samples - lead_gap, int(snd.samples or 0) - first))
    for ch in range(int(snd.channels or 1)):
        clip = sound_channel_clip(take, ch, first, length)
        track = otio.schema.Track(name=f"A{ch + 1}", kind=otio.schema.TrackKind.Audio)
        if lead_gap:
            track.append(
                otio.schema.Gap(
                    source_range=otio.opentime.TimeRange(
                        otio.opentime.RationalTime(0, sr), otio.opentime.RationalTime(lead_gap, sr)
                    )
                )
            )
        track.append(clip)
        tl.tracks.append(track)
    return tl


def write_sync_otio(takes: Sequence[SyncedTake], path: str | Path, rate: Rate) -> Path:
    """Write every synced take as a collection of OTIO timelines (atomically)."""
    path = Path(path)
    coll = otio.schema.SerializableCollection(
        name="synced dailies", children=[sync_timeline(t, rate) for t in takes]
    )
    with atomic_path(path) as tmp:
        otio.adapters.write_to_file(coll, str(tmp), adapter_name="otio_json")
    return path
