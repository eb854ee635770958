"""A tiny synthetic theme for tests and the demo: 8 bars in F major, 4/4, melody with chords and bass.

The melody has two four-bar phrases (a rest ends the first), the chords are half-note triads in the middle
register (F, Dm, Bb, C, F, Gm, C7, F) and the bass walks root–fifth in quarter notes. ``piano=True`` puts
everything on one piano track (a chordal theme to be split into voices by pitch layer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from posthouse.score.midi import save_midi, track_from_events

__all__ = ["DEMO_CHORDS", "DEMO_MELODY", "demo_theme"]

# (start in quarters, length in quarters, MIDI pitch)
DEMO_MELODY: Final[tuple[tuple[float, float, int], ...]] = (
    # bar 1 (F)
    (0, 1, 72), (1, 0.5, 69), (1.5, 0.5, 70), (2, 1, 72), (3, 1, 77),
    # bar 2 (Dm)
    (4, 1.5, 74), (5.5, 0.5, 72), (6, 2, 69),
    # bar 3 (Bb)
    (8, 1, 70), (9, 1, 74), (10, 1, 77), (11, 0.5, 74), (11.5, 0.5, 70),
    # bar 4 (C): a rest on beat 4 ends the phrase
    (12, 3, 72),
    # bar 5 (F)
    (16, 0.5, 69), (16.5, 0.5, 70), (17, 0.5, 72), (17.5, 0.5, 69),
    (18, 1, 77), (19, 0.5, 76), (19.5, 0.5, 74),
    # bar 6 (Gm)
    (20, 1, 74), (21, 1, 70), (22, 1, 67), (23, 1, 70),
    # bar 7 (C7)
    (24, 1.5, 72), (25.5, 0.5, 70), (26, 1, 67), (27, 1, 64),
    # bar 8 (F)
    (28, 4, 65),
)  # fmt: skip

DEMO_CHORDS: Final[tuple[tuple[int, int, int], ...]] = (
    (57, 60, 65),  # F
    (57, 62, 65),  # Dm
    (58, 62, 65),  # Bb
    (55, 60, 64),  # C
    (57, 60, 65),  # F
    (55, 58, 62),  # Gm
    (55, 58, 64),  # C7
    (57, 60, 65),  # F
)
_BASS: Final = ((41, 48), (38, 45), (46, 41), (48, 43), (41, 48), (43, 50), (48, 43), (41, 41))


def _notes() -> dict[str, list[tuple[float, float, int, int]]]:
    melody = [(s, d, p, 92) for s, d, p in DEMO_MELODY]
    chords: list[tuple[float, float, int, int]] = []
    bass: list[tuple[float, float, int, int]] = []
    for bar, (triad, (root, fifth)) in enumerate(zip(DEMO_CHORDS, _BASS, strict=True)):
        t0 = 4.0 * bar
        if bar == 7:
            chords += [(t0, 4.0, p, 60) for p in triad]
            bass.append((t0, 4.0, root, 80))
            continue
        chords += [(t0 + h, 2.0, p, 60) for h in (0.0, 2.0) for p in triad]
        bass += [(t0 + q, 1.0, root if q % 2 == 0 else fifth, 80) for q in range(4)]
    return {"Melody": melody, "Chords": chords, "Bass": bass}


def demo_theme(dest: str | Path, *, bpm: float = 96.0, piano: bool = False) -> Path:
    """Write the demo theme as a type-1 MIDI file at ``dest`` and return its path.

    Tracks: a conductor track (tempo, 4/4, F major), then ``Melody`` (flute), ``Chords`` (strings) and
    ``Bass`` (acoustic bass); or, with ``piano=True``, one ``Piano`` track holding everything.
    """
    import mido

    tpq = 480
    parts = _notes()
    if piano:
        parts = {"Piano": [n for notes in parts.values() for n in notes]}
    programs = {"Melody": 73, "Chords": 48, "Bass": 32, "Piano": 0}
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    conductor = [
        (0, mido.MetaMessage("track_name", name="Demo theme")),
        (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))),
        (0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
        (0, mido.MetaMessage("key_signature", key="F")),
    ]
    mid.tracks.append(track_from_events(conductor))
    for ch, (name, notes) in enumerate(parts.items()):
        events: list[tuple[int, int, mido.MetaMessage | mido.Message]] = [
            (0, -1, mido.MetaMessage("track_name", name=name)),
            (0, -1, mido.Message("program_change", channel=ch, program=programs[name])),
        ]
        for start, length, pitch, vel in notes:
            on, off = round(start * tpq), round((start + length) * tpq)
            events.append((on, 1, mido.Message("note_on", channel=ch, note=pitch, velocity=vel)))
            events.append((off, 0, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
        mid.tracks.append(track_from_events(events))
    return save_midi(mid, dest)
