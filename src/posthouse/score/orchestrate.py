"""Arrange a theme (MIDI or MusicXML) for a sound palette and report what is hard to play.

The steps, each a public function:

1. :func:`read_theme` turns a ``.mid``/``.midi`` file (pretty_midi) or a ``.musicxml``/``.xml``/``.mxl``
   file (music21, read at sounding pitch) into :class:`Voice` lines on a quarter-note grid (onsets and ends
   snapped to sixteenths or eighth-note triplets). Each track or part is a voice; a track that plays more
   than one note at a time (a piano theme, a chord track) is split by :func:`separate_voices` into pitch
   layers: at each onset the sounding notes are ranked by pitch, the highest goes to the top layer (the
   melody), the lowest to the bottom layer (the bass) and the others to the inner layers in order; a layer
   that is still holding a note passes the new note to the nearest free layer. The melody is the voice named
   melody/lead/theme/tune if there is one, else the highest voice; the bass is the lowest.
2. :func:`arrange` gives the melody to the palette's ``lead`` (when it covers 80 % of the melody as
   written) or to the instrument whose sounding range covers most of it (ties: the instrument whose range
   centre is nearest the melody); the bass to the lowest remaining instrument; inner voices to the remaining
   instruments by register (an optimal assignment: range coverage first, then the squared distance from the
   range centre, which keeps the voices' order; instruments of the lead's family are preferred). Inner
   voices left over when the ensemble is small are dropped (listed in ``unassigned``). Spare instruments
   double a voice (``doubling=True``: the voice nearest their register at the octave that fits, melody
   first, spreading the doublings). Each line is then moved into range by octaves: a whole phrase (notes
   between rests of a beat or more) by the shift that leaves the fewest notes out of range, the smallest
   shift winning ties; notes still out of range (a phrase wider than the instrument) are folded in one at a
   time.
3. :func:`check_playability` lists :class:`Problem` s: notes out of range, passages faster than the
   instrument's ``max_notes_per_second`` (four or more notes in a row), and leaps wider than its
   ``max_leap`` without a rest of a beat between them — each with part, measure and beat.
4. :func:`write_arrangement` writes ``score.musicxml`` (the full score), ``parts/NN-name.musicxml`` (one per
   instrument), ``arrangement.mid`` (one track per part, its General MIDI program, sounding pitch) and
   ``playability.json``. The full score and the parts are **transposed scores**: every transposing
   instrument is written at its written pitch with a MusicXML ``<transpose>`` element (every part has one,
   ``P1`` for instruments in C), so notation programs can toggle concert pitch and music21 reads the
   sounding pitch back with ``toSoundingPitch()``.

Times are quarter lengths (:class:`fractions.Fraction`) from the theme's start; seconds come from the
theme's tempo changes, measure and beat from its time signatures.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_write_bytes, atomic_write_text
from posthouse.score.midi import save_midi, track_from_events
from posthouse.score.palette import Instrument, Palette, pitch_name

if TYPE_CHECKING:
    from music21 import stream

__all__ = [
    "ArrangedPart",
    "Arrangement",
    "Displacement",
    "OrchestrationResult",
    "Problem",
    "Theme",
    "ThemeNote",
    "Voice",
    "arrange",
    "check_playability",
    "orchestrate",
    "part_slug",
    "read_theme",
    "separate_voices",
    "to_music21",
    "write_arrangement",
    "write_midi",
]

MIDI_SUFFIXES: Final = (".mid", ".midi")
MUSICXML_SUFFIXES: Final = (".musicxml", ".xml", ".mxl")
_MELODY_NAMES = re.compile(r"melody|lead|theme|tune|solo", re.IGNORECASE)
_TPQ: Final = 480  # MIDI ticks per quarter note in what we write
_GRID_MIN = Fraction(1, 4)

# key signature (sharps, + major; flats negative) of each major-key tonic pitch class
_MAJOR_SHARPS = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 1: -5, 8: -4, 3: -3, 10: -2, 5: -1}


def _quantize(x: Fraction | float) -> Fraction:
    """Snap a quarter length to the nearest sixteenth or eighth-note triplet (sixteenth on ties)."""
    x = Fraction(x).limit_denominator(960)
    a = Fraction(round(x * 4), 4)
    b = Fraction(round(x * 3), 3)
    return b if abs(b - x) < abs(a - x) else a


@dataclass(frozen=True, slots=True)
class ThemeNote:
    """A note at sounding pitch: onset and duration in quarter lengths, MIDI pitch and velocity."""

    start: Fraction
    duration: Fraction
    pitch: int
    velocity: int = 80

    @property
    def end(self) -> Fraction:
        """Quarter length where the note stops."""
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class Voice:
    """One monophonic line of a theme (notes in time order, no overlaps)."""

    name: str
    notes: tuple[ThemeNote, ...]

    @property
    def mean_pitch(self) -> float:
        """Average MIDI pitch (the voice's register)."""
        return float(np.mean([n.pitch for n in self.notes])) if self.notes else 0.0

    @property
    def pitches(self) -> npt.NDArray[np.int64]:
        """MIDI pitches as an array."""
        return np.array([n.pitch for n in self.notes], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Theme:
    """Voices (melody first, then the others from high to low: the last is the bass), tempo and meter.

    ``tempos`` are ``(quarter offset, quarter-note bpm)``; ``meters`` ``(quarter offset, numerator,
    denominator)``; both start at 0. ``key_sharps`` is the key signature (flats negative) or None.
    """

    voices: tuple[Voice, ...]
    tempos: tuple[tuple[Fraction, float], ...] = ((Fraction(0), 120.0),)
    meters: tuple[tuple[Fraction, int, int], ...] = ((Fraction(0), 4, 4),)
    key_sharps: int | None = None
    source: str = ""
    title: str = ""

    @property
    def length(self) -> Fraction:
        """Quarter length up to the end of the last note."""
        return max((n.end for v in self.voices for n in v.notes), default=Fraction(0))

    def seconds_at(self, quarters: float | npt.ArrayLike) -> Any:
        """Seconds from the start at quarter offset(s), following the tempo changes."""
        offs = np.array([float(o) for o, _ in self.tempos])
        spq = np.array([60.0 / bpm for _, bpm in self.tempos])
        knots = np.concatenate([[0.0], np.cumsum(np.diff(offs) * spq[:-1])])
        q = np.asarray(quarters, dtype=np.float64)
        i = np.clip(np.searchsorted(offs, q, side="right") - 1, 0, len(offs) - 1)
        out = knots[i] + (q - offs[i]) * spq[i]
        return float(out) if out.ndim == 0 else out

    def measure_beat(self, quarters: Fraction | float) -> tuple[int, float]:
        """``(measure, beat)`` (1-based; beats in the meter's note value) at a quarter offset."""
        q = Fraction(quarters).limit_denominator(960)
        measure = 1
        for i, (off, num, den) in enumerate(self.meters):
            bar = Fraction(4 * num, den)
            nxt = self.meters[i + 1][0] if i + 1 < len(self.meters) else None
            if nxt is None or q < nxt:
                bars, rest = divmod(q - off, bar)
                return measure + int(bars), round(1.0 + float(rest / Fraction(4, den)), 3)
            measure += math.ceil((nxt - off) / bar)
        raise AssertionError("unreachable")

    def tempo_at(self, quarters: float) -> float:
        """Quarter-note bpm in force at a quarter offset."""
        bpm = self.tempos[0][1]
        for off, b in self.tempos:
            if off <= quarters:
                bpm = b
        return bpm


# ----------------------------------------------------------------------------------------------- reading


def _voice_order(voices: list[Voice]) -> tuple[Voice, ...]:
    voices = [v for v in voices if v.notes]
    named = [v for v in voices if _MELODY_NAMES.search(v.name)]
    ordered = sorted(voices, key=lambda v: -v.mean_pitch)
    melody = named[0] if named else (ordered[0] if ordered else None)
    if melody is None:
        return ()
    return (melody, *[v for v in ordered if v is not melody])


def separate_voices(notes: Iterable[ThemeNote], name: str) -> list[Voice]:
    """Split notes into monophonic :class:`Voice` s by pitch layer (see the module docstring).

    A line that never plays two notes at once comes back as one voice named ``name``; otherwise the layers
    are named ``NAME (top)``, ``NAME (2)``…, ``NAME (bottom)``, top first.
    """
    ordered = sorted(notes, key=lambda n: (n.start, -n.pitch))
    if not ordered:
        return []
    starts = np.array([float(n.start) for n in ordered])
    ends = np.array([float(n.end) for n in ordered])
    # most notes sounding at once = at some onset: notes started by then minus notes ended by then
    started = np.searchsorted(starts, starts, side="right")
    ended = np.searchsorted(np.sort(ends), starts, side="right")
    layers = int((started - ended).max())
    if layers <= 1:
        return [Voice(name, tuple(ordered))]
    held: list[ThemeNote | None] = [None] * layers
    lines: list[list[ThemeNote]] = [[] for _ in range(layers)]
    for onset, grouped in itertools.groupby(ordered, key=lambda n: n.start):
        group = list(grouped)
        held = [h if h is not None and h.end > onset else None for h in held]
        current = sorted([h for h in held if h is not None] + group, key=lambda n: -n.pitch)
        k = len(current)
        for note in group:
            rank = next(r for r, n in enumerate(current) if n is note)
            want = 0 if rank == 0 else layers - 1 if rank == k - 1 else min(rank, layers - 2)
            free = [j for j in range(layers) if held[j] is None]
            j = min(free, key=lambda j: (abs(j - want), j))
            held[j] = note
            lines[j].append(note)
    labels = ["top", *[str(j + 1) for j in range(1, layers - 1)], "bottom"]
    return [Voice(f"{name} ({labels[j]})", tuple(line)) for j, line in enumerate(lines) if line]


def _key_sharps_from_midi(key_number: int) -> int:
    tonic = key_number % 12 if key_number < 12 else (key_number - 12 + 3) % 12
    return _MAJOR_SHARPS[tonic]


def _theme_from_midi(path: Path) -> Theme:
    import pretty_midi

    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # pretty_midi/mido raise many kinds
        raise MediaError(f"cannot read the MIDI file: {exc}", path=path) from exc
    res = pm.resolution

    def ql(seconds: float) -> Fraction:
        return _quantize(Fraction(int(pm.time_to_tick(seconds)), int(res)))

    voices: list[Voice] = []
    for index, inst in enumerate(pm.instruments, 1):
        if inst.is_drum or not inst.notes:
            continue
        name = inst.name.strip() or pretty_midi.program_to_instrument_name(inst.program)
        if any(v.name == name or v.name.startswith(name + " (") for v in voices):
            name = f"{name} {index}"
        notes = []
        for n in inst.notes:
            start, end = ql(n.start), ql(n.end)
            notes.append(ThemeNote(start, max(end - start, _GRID_MIN), int(n.pitch), int(n.velocity)))
        voices.extend(separate_voices(notes, name))
    if not voices:
        raise MediaError("the MIDI file has no pitched notes", path=path)
    times, bpms = pm.get_tempo_changes()
    tempos = _dedupe([(ql(float(t)), float(b)) for t, b in zip(times, bpms, strict=True)]) or [
        (Fraction(0), 120.0)
    ]
    meters = _dedupe([(ql(ts.time), ts.numerator, ts.denominator) for ts in pm.time_signature_changes])
    keys = pm.key_signature_changes
    return Theme(
        voices=_voice_order(voices),
        tempos=_from_zero(tempos, (Fraction(0), 120.0)),
        meters=_from_zero(meters, (Fraction(0), 4, 4)),
        key_sharps=_key_sharps_from_midi(keys[0].key_number) if keys else None,
        source=str(path),
        title=path.stem,
    )


def _dedupe(items: list[Any]) -> list[Any]:
    """Keep the last entry at each offset, in offset order."""
    by_offset = {item[0]: item for item in items}
    return [by_offset[k] for k in sorted(by_offset)]


def _from_zero(items: list[Any], default: Any) -> tuple[Any, ...]:
    if not items:
        return (default,)
    if items[0][0] != 0:
        items = [(Fraction(0), *items[0][1:]), *items]
    return tuple(items)


def _theme_from_musicxml(path: Path) -> Theme:
    from music21 import chord, converter, key, meter, note, tempo

    try:
        score = converter.parse(str(path))
    except Exception as exc:  # music21 raises many kinds
        raise MediaError(f"cannot read the MusicXML file: {exc}", path=path) from exc
    parts = list(getattr(score, "parts", [])) or [score]
    voices: list[Voice] = []
    for index, part in enumerate(parts, 1):
        flat = part.toSoundingPitch().stripTies().flatten()
        notes: list[ThemeNote] = []
        for el in flat.notes:
            start = _quantize(Fraction(el.offset))
            dur = max(_quantize(Fraction(el.quarterLength)), _GRID_MIN)
            if el.quarterLength == 0:  # grace notes
                continue
            vel = el.volume.velocity if el.volume.velocity is not None else 80
            if isinstance(el, chord.Chord):
                notes += [ThemeNote(start, dur, int(p.midi), int(vel)) for p in el.pitches]
            elif isinstance(el, note.Note):
                notes.append(ThemeNote(start, dur, int(el.pitch.midi), int(vel)))
        name = (getattr(part, "partName", None) or f"Part {index}").strip()
        if any(v.name == name or v.name.startswith(name + " (") for v in voices):
            name = f"{name} {index}"
        voices.extend(separate_voices(notes, name))
    if not voices:
        raise MediaError("the MusicXML file has no pitched notes", path=path)
    first = parts[0].flatten()
    tempos = _dedupe(
        [
            (_quantize(Fraction(mm.offset)), float(mm.getQuarterBPM() or 120.0))
            for mm in first.getElementsByClass(tempo.MetronomeMark)
        ]
    )
    meters = _dedupe(
        [
            (_quantize(Fraction(ts.offset)), int(ts.numerator), int(ts.denominator))
            for ts in first.getElementsByClass(meter.TimeSignature)
        ]
    )
    sigs = list(first.getElementsByClass(key.KeySignature))
    title = score.metadata.title if getattr(score, "metadata", None) and score.metadata.title else path.stem
    return Theme(
        voices=_voice_order(voices),
        tempos=_from_zero(tempos, (Fraction(0), 120.0)),
        meters=_from_zero(meters, (Fraction(0), 4, 4)),
        key_sharps=int(sigs[0].sharps) if sigs else None,
        source=str(path),
        title=str(title),
    )


def read_theme(path: str | Path) -> Theme:
    """Read a theme from a MIDI (``.mid``/``.midi``) or MusicXML (``.musicxml``/``.xml``/``.mxl``) file."""
    p = Path(path)
    if not p.is_file():
        raise UsageError("no such theme file", path=p)
    suffix = p.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return _theme_from_midi(p)
    if suffix in MUSICXML_SUFFIXES:
        return _theme_from_musicxml(p)
    raise UsageError(
        f"unknown theme format {suffix or '(no extension)'!r}",
        path=p,
        hint=f"give a MIDI ({', '.join(MIDI_SUFFIXES)}) or MusicXML ({', '.join(MUSICXML_SUFFIXES)}) file",
    )


# ----------------------------------------------------------------------------------------------- arranging


@dataclass(frozen=True, slots=True)
class Displacement:
    """Notes moved by octaves into range: a whole phrase (``phrase``) or a single folded note.

    ``start`` is the first moved note's onset and ``last`` the last one's (quarter lengths).
    """

    start: Fraction
    last: Fraction
    semitones: int
    notes: int
    phrase: bool

    def to_dict(self, theme: Theme) -> dict[str, Any]:
        """JSON-ready dict with measure|beat positions of the first and last moved notes."""
        m0, b0 = theme.measure_beat(self.start)
        m1, b1 = theme.measure_beat(self.last)
        return {
            "from": {"measure": m0, "beat": b0},
            "to": {"measure": m1, "beat": b1},
            "semitones": self.semitones,
            "notes": self.notes,
            "kind": "phrase" if self.phrase else "note",
        }


@dataclass(frozen=True, slots=True)
class ArrangedPart:
    """An instrument's line at sounding pitch, the voice it plays and its role."""

    instrument: Instrument
    voice: str
    role: str  # "melody", "bass", "inner", or "doubling"
    notes: tuple[ThemeNote, ...]
    displacements: tuple[Displacement, ...] = ()

    def to_dict(self, theme: Theme) -> dict[str, Any]:
        """JSON-ready summary."""
        pitches = [n.pitch for n in self.notes]
        return {
            "instrument": self.instrument.name,
            "voice": self.voice,
            "role": self.role,
            "notes": len(self.notes),
            "lowest": pitch_name(min(pitches)) if pitches else None,
            "highest": pitch_name(max(pitches)) if pitches else None,
            "transposition": self.instrument.transposition,
            "displacements": [d.to_dict(theme) for d in self.displacements],
        }


@dataclass(frozen=True, slots=True)
class Arrangement:
    """A theme arranged for a palette: parts in score order, voices left out, instruments left idle."""

    theme: Theme
    palette: Palette
    parts: tuple[ArrangedPart, ...]
    unassigned: tuple[str, ...] = ()
    idle: tuple[str, ...] = ()


def _coverage(pitches: npt.NDArray[np.int64], inst: Instrument, shift: int = 0) -> float:
    if pitches.size == 0:
        return 1.0
    p = pitches + shift
    return float(np.mean((p >= inst.lowest) & (p <= inst.highest)))


_OCTAVES = np.arange(-4, 5)


def _best_octave(pitches: npt.NDArray[np.int64], inst: Instrument, prefer: int = 0) -> tuple[int, int]:
    """``(octaves, notes left out of range)`` of the best whole-line octave shift."""
    shifted = pitches[None, :] + 12 * _OCTAVES[:, None]
    out = ((shifted < inst.lowest) | (shifted > inst.highest)).sum(axis=1)
    order = np.lexsort((np.abs(_OCTAVES), np.abs(_OCTAVES - prefer), out))
    best = int(order[0])
    return int(_OCTAVES[best]), int(out[best])


def _phrases(notes: Sequence[ThemeNote], gap: Fraction) -> list[list[ThemeNote]]:
    phrases: list[list[ThemeNote]] = []
    for n in notes:
        if phrases and n.start - phrases[-1][-1].end < gap:
            phrases[-1].append(n)
        else:
            phrases.append([n])
    return phrases


def _displace(
    notes: Sequence[ThemeNote], inst: Instrument, *, prefer: int = 0, phrase_gap: Fraction = Fraction(1)
) -> tuple[tuple[ThemeNote, ...], tuple[Displacement, ...]]:
    """Move whole phrases by octaves into ``inst``'s range, then fold single notes still outside it."""
    out: list[ThemeNote] = []
    moves: list[Displacement] = []
    for phrase in _phrases(notes, phrase_gap):
        octaves, _left = _best_octave(np.array([n.pitch for n in phrase], dtype=np.int64), inst, prefer)
        shift = 12 * octaves
        if shift:
            moves.append(Displacement(phrase[0].start, phrase[-1].start, shift, len(phrase), True))
        for n in phrase:
            p = n.pitch + shift
            if p < inst.lowest:
                fold = 12 * math.ceil((inst.lowest - p) / 12)
            elif p > inst.highest:
                fold = -12 * math.ceil((p - inst.highest) / 12)
            else:
                fold = 0
            if fold and inst.in_range(p + fold):
                moves.append(Displacement(n.start, n.start, shift + fold, 1, False))
                p += fold
            out.append(ThemeNote(n.start, n.duration, p, n.velocity))
    return tuple(out), tuple(moves)


def arrange(theme: Theme, palette: Palette, *, doubling: bool = True) -> Arrangement:
    """Assign the theme's voices to the palette's instruments and move them into range (see module doc)."""
    from scipy.optimize import linear_sum_assignment

    insts = list(palette.instruments)
    voices = [v for v in theme.voices if v.notes]
    if not voices:
        raise UsageError("the theme has no notes to arrange", path=theme.source or None)
    order = {inst.name: i for i, inst in enumerate(insts)}
    plan: dict[str, tuple[Voice, str]] = {}
    free = list(insts)
    melody, rest = voices[0], voices[1:]

    def lowest_of(cands: list[Instrument]) -> Instrument:
        return min(cands, key=lambda i: (i.lowest, i.highest, -order[i.name]))

    bass_cand = lowest_of(free) if rest and len(free) > 1 else None  # kept for the bass
    lead_cands = [i for i in free if i is not bass_cand]
    mel_p = melody.pitches
    lead = next((i for i in lead_cands if i.name == palette.lead and _coverage(mel_p, i) >= 0.8), None)
    if lead is None:
        lead = max(
            lead_cands,
            key=lambda i: (round(_coverage(mel_p, i), 2), -abs(melody.mean_pitch - i.centre), -order[i.name]),
        )
    plan[lead.name] = (melody, "melody")
    free.remove(lead)
    unassigned: list[str] = []
    if rest:
        if free:
            bass_inst = lowest_of(free)
            plan[bass_inst.name] = (rest[-1], "bass")
            free.remove(bass_inst)
        else:
            unassigned.append(rest[-1].name)
        inner = rest[:-1]
        if inner and free:
            cost = np.array(
                [
                    [
                        2.0 * (1.0 - _coverage(v.pitches, i))
                        + ((v.mean_pitch - i.centre) / 12.0) ** 2
                        + (0.0 if i.family == lead.family else 2.0)
                        for i in free
                    ]
                    for v in inner
                ]
            )
            rows, cols = linear_sum_assignment(cost)
            chosen = [free[c] for c in cols]
            for r, inst in zip(rows, chosen, strict=True):
                plan[inst.name] = (inner[r], "inner")
            unassigned += [v.name for k, v in enumerate(inner) if k not in set(rows.tolist())]
            free = [i for i in free if i not in chosen]
        else:
            unassigned += [v.name for v in inner]
    doubled: dict[str, int] = {}
    idle: list[str] = []
    played = [plan[n][0] for n in plan]
    for inst in list(free):
        if not doubling:
            idle.append(inst.name)
            continue

        def cost_of(v: Voice, inst: Instrument = inst) -> float:
            octs, left = _best_octave(v.pitches, inst)
            fit = 1.0 - left / max(len(v.notes), 1)
            c = 2.0 * (1.0 - fit) + abs(v.mean_pitch + 12 * octs - inst.centre) / 24.0 + 0.4 * abs(octs)
            return c + 0.75 * doubled.get(v.name, 0) - (0.5 if v is melody else 0.0)

        voice = min(played, key=cost_of)
        doubled[voice.name] = doubled.get(voice.name, 0) + 1
        plan[inst.name] = (voice, "doubling")
    parts: list[ArrangedPart] = []
    for inst in insts:
        if inst.name not in plan:
            continue
        voice, role = plan[inst.name]
        prefer = _best_octave(voice.pitches, inst)[0] if role == "doubling" else 0
        notes, moves = _displace(voice.notes, inst, prefer=prefer)
        parts.append(ArrangedPart(inst, voice.name, role, notes, moves))
    return Arrangement(theme, palette, tuple(parts), tuple(unassigned), tuple(idle))


# ----------------------------------------------------------------------------------------------- checking


@dataclass(frozen=True, slots=True)
class Problem:
    """A playability problem in a part, at a measure and beat (and up to one, for passages)."""

    kind: str  # "out_of_range", "too_fast" or "wide_leap"
    part: str
    measure: int
    beat: float
    message: str
    value: float
    end_measure: int | None = None
    end_beat: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "kind": self.kind,
            "part": self.part,
            "measure": self.measure,
            "beat": self.beat,
            "end_measure": self.end_measure,
            "end_beat": self.end_beat,
            "value": self.value,
            "message": self.message,
        }


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``(first, last)`` indices of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def check_playability(arrangement: Arrangement, *, min_run: int = 4) -> list[Problem]:
    """Out-of-range notes, passages of ``min_run``+ notes over the speed limit, and wide leaps."""
    theme = arrangement.theme
    problems: list[Problem] = []
    for part in arrangement.parts:
        inst, notes = part.instrument, part.notes
        if not notes:
            continue
        name = inst.name
        pitches = np.array([n.pitch for n in notes])
        starts = np.array([float(n.start) for n in notes])
        ends = np.array([float(n.end) for n in notes])
        for i in np.flatnonzero((pitches < inst.lowest) | (pitches > inst.highest)):
            m, b = theme.measure_beat(notes[i].start)
            problems.append(
                Problem(
                    "out_of_range",
                    name,
                    m,
                    b,
                    f"{pitch_name(int(pitches[i]))} is outside {pitch_name(inst.lowest)}"
                    f"–{pitch_name(inst.highest)}",
                    float(pitches[i]),
                )
            )
        if len(notes) >= 2:
            secs = theme.seconds_at(starts)
            ioi = np.diff(secs)
            rate = np.divide(1.0, ioi, out=np.full_like(ioi, np.inf), where=ioi > 0)
            for a, b_ in _runs(rate > inst.max_notes_per_second + 1e-9):
                if b_ - a + 2 < min_run:  # a run of k intervals is k + 1 notes
                    continue
                m0, b0 = theme.measure_beat(notes[a].start)
                m1, b1 = theme.measure_beat(notes[b_ + 1].start)
                peak = float(rate[a : b_ + 1].max())
                problems.append(
                    Problem(
                        "too_fast",
                        name,
                        m0,
                        b0,
                        f"{b_ - a + 2} notes at up to {peak:.1f} notes/s; "
                        f"{inst.name} manages about {inst.max_notes_per_second:g}",
                        round(peak, 2),
                        m1,
                        b1,
                    )
                )
            leaps = np.abs(np.diff(pitches))
            connected = starts[1:] - ends[:-1] < 1.0
            for i in np.flatnonzero((leaps > inst.max_leap) & connected):
                m0, b0 = theme.measure_beat(notes[i].start)
                m1, b1 = theme.measure_beat(notes[i + 1].start)
                problems.append(
                    Problem(
                        "wide_leap",
                        name,
                        m0,
                        b0,
                        f"leap of {int(leaps[i])} semitones {pitch_name(int(pitches[i]))}→"
                        f"{pitch_name(int(pitches[i + 1]))} (limit {inst.max_leap})",
                        float(leaps[i]),
                        m1,
                        b1,
                    )
                )
    problems.sort(key=lambda p: (p.measure, p.beat, p.part, p.kind))
    return problems


# ----------------------------------------------------------------------------------------------- writing


def part_slug(index: int, inst: Instrument) -> str:
    """File stem of a part: ``01-violin-i``."""
    slug = re.sub(r"[^a-z0-9]+", "-", inst.name.lower()).strip("-") or "part"
    return f"{index:02d}-{slug}"


_CLEF_CLASSES = {
    "treble": "TrebleClef",
    "bass": "BassClef",
    "alto": "AltoClef",
    "tenor": "TenorClef",
    "treble8vb": "Treble8vbClef",
    "bass8vb": "Bass8vbClef",
    "percussion": "PercussionClef",
}


def _m21_part(arrangement: Arrangement, part: ArrangedPart, index: int) -> stream.Part:
    """A music21 part at *written* pitch, with measures, ties and a ``<transpose>``-carrying instrument."""
    from music21 import clef, interval, key, meter, note, pitch, stream, tempo
    from music21 import instrument as m21inst

    theme, inst = arrangement.theme, part.instrument
    p = stream.Part()  # type: ignore[no-untyped-call]
    p.partName = inst.name
    p.partAbbreviation = inst.abbreviation
    i = m21inst.Instrument()
    i.partName = inst.name
    i.partAbbreviation = inst.abbreviation
    i.instrumentName = inst.name
    i.instrumentAbbreviation = inst.abbreviation
    i.midiProgram = inst.program
    i.transposition = interval.Interval(inst.transposition)
    p.insert(0, i)
    p.insert(0, getattr(clef, _CLEF_CLASSES[inst.clef])())
    if theme.key_sharps is not None:
        p.insert(0, key.KeySignature(theme.key_sharps))
    for off, num, den in theme.meters:
        p.insert(off, meter.TimeSignature(f"{num}/{den}"))
    for off, bpm in theme.tempos:
        p.insert(off, tempo.MetronomeMark(number=round(bpm, 2), referent=1.0))
    flats = theme.key_sharps is not None and theme.key_sharps < 0
    for n in part.notes:
        m = note.Note()
        m.pitch = pitch.Pitch(midi=n.pitch)
        if flats and m.pitch.accidental is not None and m.pitch.accidental.alter > 0:
            m.pitch = m.pitch.getEnharmonic() or m.pitch
        m.quarterLength = n.duration
        m.volume.velocity = n.velocity
        p.insert(n.start, m)
    p.atSoundingPitch = True
    written = cast("stream.Part", p.toWrittenPitch(inPlace=False))
    written.makeNotation(inPlace=True)
    written.id = f"P{index}"  # stable ids: the same arrangement writes the same bytes
    for found in written.recurse().getElementsByClass(m21inst.Instrument):
        found.partId = f"P{index}"
        found.instrumentId = f"P{index}-I1"
    return written


def to_music21(arrangement: Arrangement) -> stream.Score:
    """The full score as a music21 Score, every part at written pitch (a transposed score)."""
    from music21 import metadata, stream

    score = stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = arrangement.theme.title or "Theme"
    score.metadata.movementName = arrangement.palette.name
    for index, part in enumerate(arrangement.parts, 1):
        score.insert(0, _m21_part(arrangement, part, index))
    return score


def _xml_bytes(obj: Any) -> bytes:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    data = GeneralObjectExporter(obj).parse()
    return bytes(data)


def write_midi(arrangement: Arrangement, dest: str | Path) -> Path:
    """A type-1 MIDI file: a conductor track (tempo, meter), then one track per part at sounding pitch."""
    import mido

    theme = arrangement.theme

    def tick(q: Fraction) -> int:
        return round(q * _TPQ)

    mid = mido.MidiFile(type=1, ticks_per_beat=_TPQ)
    conductor: list[tuple[int, int, mido.MetaMessage | mido.Message]] = [
        (0, 0, mido.MetaMessage("track_name", name=theme.title or "arrangement"))
    ]
    conductor += [
        (tick(o), 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(b))) for o, b in theme.tempos
    ]
    conductor += [
        (tick(o), 1, mido.MetaMessage("time_signature", numerator=n, denominator=d))
        for o, n, d in theme.meters
    ]
    tracks = [conductor]
    channels = [c for c in range(16) if c != 9]
    for index, part in enumerate(arrangement.parts):
        ch = channels[index % len(channels)]
        events: list[tuple[int, int, mido.MetaMessage | mido.Message]] = [
            (0, 0, mido.MetaMessage("track_name", name=part.instrument.name)),
            (0, 1, mido.Message("program_change", channel=ch, program=part.instrument.program)),
        ]
        for n in part.notes:
            events.append(
                (tick(n.start), 3, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity))
            )
            events.append((tick(n.end), 2, mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
        tracks.append(events)
    mid.tracks.extend(track_from_events(events) for events in tracks)
    return save_midi(mid, dest)


@dataclass(frozen=True, slots=True)
class OrchestrationResult:
    """What :func:`write_arrangement` wrote and what it found."""

    out_dir: Path
    score: Path
    parts: tuple[Path, ...]
    midi: Path
    report: Path
    problems: tuple[Problem, ...]
    arrangement: Arrangement = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the same document as ``playability.json``, plus the paths)."""
        return {
            **_report(self.arrangement, self.problems),
            "out_dir": str(self.out_dir),
            "score_file": str(self.score),
            "part_files": [str(p) for p in self.parts],
            "midi_file": str(self.midi),
            "report_file": str(self.report),
        }


def _report(arrangement: Arrangement, problems: Sequence[Problem]) -> dict[str, Any]:
    theme = arrangement.theme
    return {
        "theme": theme.source,
        "palette": arrangement.palette.name,
        "score_pitch": "transposed",
        "tempo_bpm": theme.tempos[0][1],
        "meter": f"{theme.meters[0][1]}/{theme.meters[0][2]}",
        "voices": [v.name for v in theme.voices],
        "parts": [p.to_dict(theme) for p in arrangement.parts],
        "unassigned_voices": list(arrangement.unassigned),
        "idle_instruments": list(arrangement.idle),
        "problems": [p.to_dict() for p in problems],
    }


def write_arrangement(arrangement: Arrangement, out_dir: str | Path) -> OrchestrationResult:
    """Write ``score.musicxml``, ``parts/*.musicxml``, ``arrangement.mid`` and ``playability.json``."""
    from music21 import stream

    out = Path(out_dir)
    (out / "parts").mkdir(parents=True, exist_ok=True)
    score = to_music21(arrangement)
    part_paths: list[Path] = []
    for index, (part, m21part) in enumerate(zip(arrangement.parts, score.parts, strict=True), 1):
        single = stream.Score()
        single.metadata = score.metadata
        single.insert(0, m21part)  # a part can sit in two streams; the exporter does not change it
        dest = out / "parts" / f"{part_slug(index, part.instrument)}.musicxml"
        atomic_write_bytes(dest, _xml_bytes(single))
        part_paths.append(dest)
    score_path = out / "score.musicxml"
    atomic_write_bytes(score_path, _xml_bytes(score))
    midi_path = write_midi(arrangement, out / "arrangement.mid")
    problems = tuple(check_playability(arrangement))
    report_path = out / "playability.json"
    atomic_write_text(report_path, json.dumps(_report(arrangement, problems), indent=2) + "\n")
    return OrchestrationResult(
        out, score_path, tuple(part_paths), midi_path, report_path, problems, arrangement
    )


def orchestrate(
    theme: str | Path | Theme, palette: Palette, out_dir: str | Path, *, doubling: bool = True
) -> OrchestrationResult:
    """Read (if a path), arrange, check and write a theme for a palette in one call."""
    th = theme if isinstance(theme, Theme) else read_theme(theme)
    return write_arrangement(arrange(th, palette, doubling=doubling), out_dir)
