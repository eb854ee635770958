"""Notes on a cut version as markers: the cut's shape for the review page, the ``vNNN.notes.otio`` file
(the cut plus one marker per note, rewritten atomically on every change) and notes turned into cues.

A note's ``frame`` counts from the cut's first frame (0); its timecode adds the cut's start timecode.
Cue markers use the formats the departments read: ``ADR`` markers with ``posthouse.cue = "adr"``
(:mod:`posthouse.sound.adr`), ``MUSIC`` markers with ``posthouse.cue = "music"``
(:mod:`posthouse.score.spotting`) and ``VFX`` markers with ``posthouse.vfx.shot``
(:mod:`posthouse.picture.turnover`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import opentimelineio as otio

from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, Timecode, frames_to_time_range, rational_time_to_frames
from posthouse.picture.cuts import CutRef, CutStore
from posthouse.picture.edit import timeline_rate
from posthouse.web.store import Note

__all__ = [
    "CutInfo",
    "cue_list",
    "cut_info",
    "notes_path",
    "notes_timeline",
    "write_notes_otio",
]

STATUS_COLORS: Final = {"open": otio.schema.MarkerColor.RED, "addressed": otio.schema.MarkerColor.GREEN}
CUE_COLORS: Final = {
    "adr": otio.schema.MarkerColor.PURPLE,
    "music": otio.schema.MarkerColor.CYAN,
    "vfx": otio.schema.MarkerColor.ORANGE,
}


@dataclass(frozen=True, slots=True)
class CutInfo:
    """What the review page needs of a cut version: rate, start timecode, length, tracks and markers."""

    name: str
    version: int
    rate: Rate
    start: int  # frames since midnight of the first frame
    drop: bool
    frames: int
    tracks: list[dict[str, Any]] = field(default_factory=list)
    markers: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    @property
    def ref(self) -> str:
        return str(CutRef(self.name, self.version))

    def timecode(self, frame: int) -> str:
        """The record timecode of cut frame ``frame``."""
        return str(Timecode(self.start + frame, self.rate, self.drop))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "ref": self.ref,
            "rate": str(self.rate),
            "fps_num": self.rate.num,
            "fps_den": self.rate.den,
            "timebase": self.rate.timebase,
            "start": self.start,
            "start_tc": self.timecode(0),
            "drop": self.drop,
            "frames": self.frames,
            "tracks": self.tracks,
            "markers": self.markers,
            "message": self.message,
        }


def _frames(t: otio.opentime.RationalTime, rate: Rate) -> int:
    return rational_time_to_frames(t, rate, "nearest")


def cut_info(store: CutStore, ref: str | CutRef, *, default_drop: bool = False) -> CutInfo:
    """The shape of a saved cut version (tracks with their clips at record frames, and its markers)."""
    cut = store.resolve(ref)
    assert cut.version is not None
    tl = store.open(cut)
    rate = timeline_rate(tl)
    meta = tl.metadata.get("posthouse") or {}
    drop = bool(meta.get("drop_frame", default_drop)) and rate.drop_capable
    start = _frames(tl.global_start_time, rate) if tl.global_start_time is not None else 0
    tracks: list[dict[str, Any]] = []
    markers: list[dict[str, Any]] = []

    def marker_dict(m: otio.schema.Marker, at: int, where: str) -> dict[str, Any]:
        ph = m.metadata.get("posthouse") or {}
        note = ph.get("note") if hasattr(ph, "get") else None
        text = note if isinstance(note, str) else (m.comment or "")
        return {
            "name": m.name,
            "frame": at,
            "duration": _frames(m.marked_range.duration, rate),
            "color": m.color,
            "text": text,
            "where": where,
        }

    markers += [
        marker_dict(m, _frames(m.marked_range.start_time, rate), "timeline") for m in tl.tracks.markers
    ]
    for track in tl.tracks:
        clips: list[dict[str, Any]] = []
        markers += [
            marker_dict(m, _frames(m.marked_range.start_time, rate), track.name) for m in track.markers
        ]
        for child, rng in track.range_of_all_children().items():
            if not isinstance(child, otio.schema.Clip):
                continue
            rec_in = _frames(rng.start_time, rate)
            clips.append({"name": child.name, "in": rec_in, "out": rec_in + _frames(rng.duration, rate)})
            src = child.trimmed_range().start_time
            for m in child.markers:
                markers.append(
                    marker_dict(m, rec_in + _frames(m.marked_range.start_time - src, rate), track.name)
                )
        tracks.append({"name": track.name, "kind": str(track.kind).lower(), "clips": clips})
    markers.sort(key=lambda m: (m["frame"], m["name"]))
    version_meta = meta.get("version") or {}
    return CutInfo(
        cut.name,
        cut.version,
        rate,
        start,
        drop,
        _frames(tl.duration(), rate),
        tracks,
        markers,
        str(version_meta.get("message") or "") if hasattr(version_meta, "get") else "",
    )


def notes_path(store: CutStore, ref: str | CutRef) -> Path:
    """``PROJECT/cuts/NAME/vNNN.notes.otio`` of a cut version."""
    cut = store.resolve(ref)
    return store.root / cut.name / f"v{cut.version:03d}.notes.otio"


def _cue_name(note: Note) -> str:
    return f"{note.cut}_N{note.id:04d}".replace(" ", "_")


def _cue_marker(note: Note, rate: Rate) -> otio.schema.Marker:
    rng = frames_to_time_range(note.frame, note.duration, rate)
    ph: dict[str, Any] = {"note": note.text, "review_note": note.id, "author": note.author}
    if note.cue == "adr":
        ph["cue"] = "adr"
        name = "ADR"
    elif note.cue == "music":
        ph["cue"] = "music"
        name = "MUSIC" if note.duration > 1 else "MUSIC IN"
    else:
        ph["vfx"] = {"shot": _cue_name(note)}
        name = f"VFX {_cue_name(note)}"
    color = CUE_COLORS[note.cue or "vfx"]
    return otio.schema.Marker(name=name, marked_range=rng, color=color, metadata={"posthouse": ph})


def notes_timeline(timeline: otio.schema.Timeline, notes: Sequence[Note]) -> otio.schema.Timeline:
    """A copy of ``timeline`` with one marker per note on its stack (red open, green addressed) and one
    more marker per note turned into a cue, in the department's format."""
    tl = timeline.deepcopy()
    rate = timeline_rate(tl)
    for note in sorted(notes, key=lambda n: (n.frame, n.id)):
        rng = frames_to_time_range(note.frame, note.duration, rate)
        body: dict[str, Any] = {
            "id": note.id,
            "author": note.author,
            "status": note.status,
            "text": note.text,
        }
        if note.cue:
            body["cue"] = note.cue
        meta = {"posthouse": {"note": body, "review_note": note.id}}
        tl.tracks.markers.append(
            otio.schema.Marker(
                name=f"NOTE {note.id}",
                marked_range=rng,
                color=STATUS_COLORS.get(note.status, otio.schema.MarkerColor.RED),
                metadata=meta,
                comment=note.text,
            )
        )
        if note.cue:
            tl.tracks.markers.append(_cue_marker(note, rate))
    return tl


def write_notes_otio(store: CutStore, ref: str | CutRef, notes: Sequence[Note]) -> Path:
    """Rewrite ``vNNN.notes.otio`` (atomically) from the cut version and its notes; the cut stays as is."""
    path = notes_path(store, ref)
    tl = notes_timeline(store.open(ref), notes)
    atomic_write_text(path, otio.adapters.write_to_string(tl, adapter_name="otio_json"))
    return path


def cue_list(info: CutInfo, notes: Sequence[Note]) -> list[dict[str, Any]]:
    """The notes turned into cues, in record order, as a JSON-ready list."""
    out: list[dict[str, Any]] = []
    for note in sorted(notes, key=lambda n: (n.frame, n.id)):
        if not note.cue:
            continue
        out.append(
            {
                "note": note.id,
                "kind": note.cue,
                "name": _cue_name(note),
                "frame": note.frame,
                "duration": note.duration,
                "tc_in": info.timecode(note.frame),
                "tc_out": info.timecode(note.frame + max(note.duration, 1)),
                "text": note.text,
                "author": note.author,
                "status": note.status,
            }
        )
    return out
