"""Small MIDI-writing helpers shared by the score department (and the demo theme).

Writers collect events at absolute ticks — ``(tick, message)`` or ``(tick, priority, message)`` —
and :func:`track_from_events` turns them into one delta-timed ``mido.MidiTrack`` ending in
``end_of_track``; :func:`save_midi` writes a ``mido.MidiFile`` atomically.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posthouse.core.fsutil import atomic_path

if TYPE_CHECKING:
    import mido

__all__ = ["save_midi", "track_from_events"]


def track_from_events(events: Iterable[tuple[Any, ...]], *, end: int | None = None) -> mido.MidiTrack:
    """A ``mido.MidiTrack`` of ``events`` — ``(tick, message)`` or ``(tick, priority, message)`` at
    absolute ticks — in order of tick then priority (a stable sort: ties keep the given order), each
    message copied with its delta time, then ``end_of_track`` at tick ``end`` (right after the last
    event when ``end`` is None or earlier)."""
    import mido

    keyed = sorted(events, key=lambda e: (e[0], e[1] if len(e) == 3 else 0))
    track = mido.MidiTrack()
    now = 0
    for event in keyed:
        at, msg = int(event[0]), event[-1]
        track.append(msg.copy(time=at - now))
        now = at
    track.append(mido.MetaMessage("end_of_track", time=0 if end is None else max(0, end - now)))
    return track


def save_midi(mid: mido.MidiFile, path: str | Path) -> Path:
    """Write ``mid`` to ``path`` atomically (the folder made if missing); returns the path."""
    dest = Path(path)
    with atomic_path(dest) as tmp:
        mid.save(str(tmp))
    return dest
