"""Mock-ups: render a cue's MIDI with a General MIDI SoundFont to a 48 kHz Broadcast WAV.

The synthesiser is ``tinysoundfont`` (TinySoundFont, no audio device) with the ``TimGM6mb.sf2`` General
MIDI SoundFont that ``pretty_midi`` ships, or any ``.sf2`` the user names. ``pretty_midi`` reads the MIDI
(tempo changes included: every event gets its time in seconds); each instrument gets its own synth channel
with its GM program (drums: the percussion bank), and the events are applied at their exact sample while
the synth renders the stretches between them into one stereo buffer. After the cue's last event, all notes
are released and a tail lets them ring out. The same MIDI always renders to the same samples.

When the SoundFont synth cannot run, ``pretty_midi``'s sine synthesis stands in (with a warning), so a
cue can still be placed and timed.

:func:`sketch_cue_midi` writes a simple cue for any spotted cue without a composer's MIDI: chords, bass
and a melody pattern laid bar by bar on its :class:`~posthouse.score.tempomap.TempoMap` (tempo changes as
``set_tempo`` events, so the notes fall on the map's beats), and a cymbal and timpani accent on each hit.
"""

from __future__ import annotations

import io
import math
import time
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.media.bwf import Bext, write_bwf
from posthouse.core.time import Rate
from posthouse.score.cues import MusicCue
from posthouse.score.midi import save_midi, track_from_events
from posthouse.score.tempomap import TempoMap

if TYPE_CHECKING:
    import mido
    import pretty_midi

__all__ = [
    "DEFAULT_TAIL_S",
    "SAMPLE_RATE",
    "MockupResult",
    "default_soundfont",
    "load_midi",
    "render_cue",
    "render_midi",
    "sketch_cue_midi",
]

SAMPLE_RATE: Final = 48_000
DEFAULT_TAIL_S: Final = 2.0
"""Seconds rendered after the last event (or the cue's end) for the notes' release to ring out."""

_BLOCK: Final = 8192  # most samples rendered in one synth call
_PPQ: Final = 960


@dataclass(frozen=True, slots=True)
class MockupResult:
    """A rendered cue: the file, its length, where it sits in time and how it was made."""

    path: Path
    samples: int
    sample_rate: int
    time_reference: int  # samples since midnight of its first sample
    engine: str  # "tinysoundfont" or "sine"
    render_s: float  # wall-clock seconds spent synthesising
    peak: float
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "samples": self.samples,
            "seconds": round(self.seconds, 6),
            "sample_rate": self.sample_rate,
            "time_reference": self.time_reference,
            "engine": self.engine,
            "render_s": round(self.render_s, 4),
            "realtime_factor": round(self.seconds / self.render_s, 1) if self.render_s > 0 else None,
            "peak": round(self.peak, 6),
            "warnings": list(self.warnings),
        }


def default_soundfont() -> Path:
    """The General MIDI SoundFont ``pretty_midi`` ships (``TimGM6mb.sf2``; tinysoundfont's copy otherwise)."""
    import importlib.util

    for pkg in ("pretty_midi", "tinysoundfont"):
        spec = importlib.util.find_spec(pkg)
        if spec is not None and spec.origin is not None:
            cand = Path(spec.origin).parent / "TimGM6mb.sf2"
            if cand.is_file():
                return cand
    raise MediaError(
        "no General MIDI SoundFont found (TimGM6mb.sf2 ships with pretty_midi)",
        hint="install pretty_midi, or pass a SoundFont with --soundfont",
    )


def load_midi(midi: str | Path | pretty_midi.PrettyMIDI | mido.MidiFile) -> pretty_midi.PrettyMIDI:
    """``midi`` as a ``pretty_midi.PrettyMIDI`` (a path, a ``mido.MidiFile`` or one already loaded)."""
    import mido
    import pretty_midi

    if isinstance(midi, pretty_midi.PrettyMIDI):
        return midi
    if isinstance(midi, mido.MidiFile):
        buf = io.BytesIO()
        midi.save(file=buf)
        buf.seek(0)
        return pretty_midi.PrettyMIDI(buf)
    path = Path(midi)
    if not path.is_file():
        raise MediaError("MIDI file not found", path=path, hint="give the cue's .mid file")
    try:
        return pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido/pretty_midi raise many kinds for damaged files
        raise MediaError(f"cannot read MIDI: {exc}", path=path, hint="export a Standard MIDI File") from exc


# ----------------------------------------------------------------------------------------------------------
# rendering


def _pedal_ends(inst: pretty_midi.Instrument, ends: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Note ends held on by the sustain pedal (CC 64 ≥ 64) to the pedal's release (TinySoundFont has
    no pedal of its own)."""
    cc = sorted((c.time, c.value >= 64) for c in inst.control_changes if c.number == 64)
    if not cc:
        return ends
    downs: list[float] = []
    ups: list[float] = []
    held = False
    for t, down in cc:
        if down and not held:
            downs.append(t)
        elif held and not down:
            ups.append(t)
        held = down
    if held:
        ups.append(math.inf)
    d, u = np.asarray(downs), np.asarray(ups)
    k = np.searchsorted(d, ends, side="right") - 1
    inside = (k >= 0) & (ends < u[np.maximum(k, 0)])
    return np.where(inside, u[np.maximum(k, 0)], ends)


def _events(pm: pretty_midi.PrettyMIDI, sample_rate: int, stop: int) -> npt.NDArray[np.int64]:
    """Every event as rows ``(sample, kind, channel, a, b)``, sorted by sample then kind; events at or
    after ``stop`` are dropped. Kinds: 0 control change, 1 pitch wheel, 2 note off, 3 note on — so at one
    sample a note ends before the same key sounds again; every note lasts at least one sample."""
    rows: list[npt.NDArray[np.int64]] = []

    def add(at: npt.NDArray[np.int64], kind: int, ch: int, a: npt.ArrayLike, b: npt.ArrayLike) -> None:
        n = at.shape[0]
        cols = [at, np.full(n, kind), np.full(n, ch), np.broadcast_to(a, (n,)), np.broadcast_to(b, (n,))]
        rows.append(np.stack([np.asarray(c, np.int64) for c in cols], axis=1))

    def samples(times: npt.ArrayLike) -> npt.NDArray[np.int64]:
        return np.round(np.asarray(times, np.float64) * sample_rate).astype(np.int64)

    for ch, inst in enumerate(pm.instruments):
        if inst.notes:
            on = samples([n.start for n in inst.notes])
            ends = _pedal_ends(inst, np.array([n.end for n in inst.notes], np.float64))
            off = np.maximum(samples(np.minimum(ends, 1e7)), on + 1)
            pitch = np.array([n.pitch for n in inst.notes])
            add(on, 3, ch, pitch, np.array([n.velocity for n in inst.notes]))
            add(off, 2, ch, pitch, 0)
        ccs = [c for c in inst.control_changes if c.number != 64]
        if ccs:
            add(samples([c.time for c in ccs]), 0, ch, [c.number for c in ccs], [c.value for c in ccs])
        if inst.pitch_bends:
            bends = inst.pitch_bends
            add(samples([p.time for p in bends]), 1, ch, [p.pitch + 8192 for p in bends], 0)
    if not rows:
        return np.zeros((0, 5), np.int64)
    ev = np.concatenate(rows)
    ev = ev[ev[:, 0] < stop]
    ev[:, 0] = np.maximum(ev[:, 0], 0)
    return ev[np.lexsort((ev[:, 1], ev[:, 0]))]


def _render_tsf(
    pm: pretty_midi.PrettyMIDI, total: int, stop: int, sample_rate: int, soundfont: Path, gain_db: float
) -> npt.NDArray[np.float32]:
    """TinySoundFont into an interleaved ``(total, 2)`` buffer; everything is released at ``stop``."""
    from tinysoundfont._tinysoundfont import OutputMode, SoundFont

    try:
        sf = SoundFont(str(soundfont))
    except Exception as exc:  # the binding raises bare exceptions for unreadable files
        raise MediaError(f"cannot load SoundFont: {exc}", path=soundfont) from exc
    sf.set_output(OutputMode.StereoInterleaved, sample_rate, gain_db)
    sf.set_max_voices(256)
    for ch, inst in enumerate(pm.instruments):
        sf.channel_set_preset_number(ch, int(inst.program), bool(inst.is_drum))
    out = np.zeros((total, 2), np.float32)
    ev = _events(pm, sample_rate, stop)
    at = np.unique(np.concatenate([ev[:, 0], [stop, total]]))
    groups = np.searchsorted(ev[:, 0], at, side="left")
    pos = 0
    for k, target in enumerate(at.tolist()):
        while pos < target:  # render up to the next event time
            n = min(_BLOCK, target - pos)
            sf.render(out[pos : pos + n])
            pos += n
        if target == stop:
            sf.note_off()  # release everything: the tail rings out
        lo = int(groups[k])
        hi = int(groups[k + 1]) if k + 1 < len(groups) else ev.shape[0]
        for _, kind, ch, a, b in ev[lo:hi].tolist():
            if kind == 3:
                sf.channel_note_on(ch, a, b / 127.0)
            elif kind == 2:
                sf.channel_note_off(ch, a)
            elif kind == 1:
                sf.channel_set_pitch_wheel(ch, a)
            else:
                sf.channel_midi_control(ch, a, b)
    return out


def render_midi(
    midi: str | Path | pretty_midi.PrettyMIDI | mido.MidiFile,
    *,
    sample_rate: int = SAMPLE_RATE,
    soundfont: str | Path | None = None,
    length_s: float | None = None,
    tail_s: float = DEFAULT_TAIL_S,
    gain_db: float = -6.0,
    notes: list[str] | None = None,
) -> tuple[npt.NDArray[np.float32], str]:
    """Render ``midi`` to float32 stereo ``(2, n)`` at ``sample_rate``; returns ``(audio, engine)``.

    ``n`` is ``length_s + tail_s`` seconds (``length_s`` defaults to the MIDI's end): notes still sounding
    at ``length_s`` are released there, and later events are dropped. ``engine`` says which synth ran
    (``"tinysoundfont"``, or ``"sine"`` when it failed — a warning is issued and added to ``notes``).
    """
    if tail_s < 0 or (length_s is not None and length_s <= 0):
        raise UsageError(f"length {length_s} s and tail {tail_s} s must be positive")
    pm = load_midi(midi)
    end = float(pm.get_end_time()) if length_s is None else float(length_s)
    stop = round(end * sample_rate)
    total = stop + round(tail_s * sample_rate)
    if total <= 0:
        raise UsageError("the MIDI has no events and no length was given", hint="pass a cue length")
    sf2 = Path(soundfont) if soundfont is not None else default_soundfont()
    if soundfont is not None and not sf2.is_file():
        raise MediaError("SoundFont not found", path=sf2, hint="give a .sf2 file")
    try:
        inter = _render_tsf(pm, total, stop, sample_rate, sf2, gain_db)
        return np.ascontiguousarray(inter.T), "tinysoundfont"
    except (ImportError, RuntimeError, OSError, MediaError) as exc:
        if soundfont is not None and isinstance(exc, MediaError):
            raise  # the user's own SoundFont is unreadable: say so rather than play sines
        msg = f"tinysoundfont could not render ({exc}); falling back to pretty_midi sine synthesis"
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        if notes is not None:
            notes.append(msg)
    mono = np.asarray(pm.synthesize(fs=sample_rate), np.float64)
    buf = np.zeros(total, np.float32)
    m = min(total, mono.shape[0])
    buf[:m] = mono[:m] * (10.0 ** (gain_db / 20.0)) * 0.5
    if m > stop:  # release at the cue's end with a short ramp
        ramp = min(m - stop, sample_rate // 10)
        buf[stop : stop + ramp] *= np.linspace(1.0, 0.0, ramp, dtype=np.float32)
        buf[stop + ramp :] = 0.0
    return np.stack([buf, buf]), "sine"


def render_cue(
    midi: str | Path | pretty_midi.PrettyMIDI | mido.MidiFile,
    out: str | Path,
    *,
    time_reference: int = 0,
    cue_id: str = "",
    title: str = "",
    length_s: float | None = None,
    tail_s: float = DEFAULT_TAIL_S,
    soundfont: str | Path | None = None,
    sample_rate: int = SAMPLE_RATE,
    gain_db: float = -6.0,
) -> MockupResult:
    """Render ``midi`` and write it to ``out`` as a 24-bit stereo BWF whose ``TimeReference`` is
    ``time_reference`` (samples since midnight of the cue's start) and whose description names the cue.

    A mix that would clip is scaled down to −1 dBFS peak (and said so in the result's warnings)."""
    notes: list[str] = []
    t0 = time.perf_counter()
    audio, engine = render_midi(
        midi,
        sample_rate=sample_rate,
        soundfont=soundfont,
        length_s=length_s,
        tail_s=tail_s,
        gain_db=gain_db,
        notes=notes,
    )
    elapsed = time.perf_counter() - t0
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    limit = 10.0 ** (-1.0 / 20.0)
    if peak > 1.0:
        audio *= np.float32(limit / peak)
        notes.append(f"peak {20 * math.log10(peak):+.1f} dBFS scaled down to -1 dBFS")
        peak = limit
    desc = " ".join(x for x in (f"cue {cue_id}" if cue_id else "", title, f"(mock-up, {engine})") if x)
    bext = Bext(description=desc, time_reference=int(time_reference), coding_history=f"A=PCM,F={sample_rate}")
    path = write_bwf(out, audio, sample_rate, bit_depth=24, bext=bext)
    return MockupResult(
        path=path,
        samples=int(audio.shape[1]),
        sample_rate=sample_rate,
        time_reference=int(time_reference),
        engine=engine,
        render_s=elapsed,
        peak=peak,
        warnings=tuple(notes),
    )


# ----------------------------------------------------------------------------------------------------------
# the sketch generator

_MAJOR: Final = (0, 2, 4, 5, 7, 9, 11)
_MINOR: Final = (0, 2, 3, 5, 7, 8, 10)
_PROGRESSIONS: Final = {
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 5, 3, 4)),  # i–VI–III–VII, i–iv–v–i, i–VI–iv–v
    "major": ((0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4)),  # I–V–vi–IV, I–IV–V–I, I–vi–IV–V
}
_NOTE_NAMES: Final = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_MELODY_SHAPES: Final = ((0, 1, 2, 1), (2, 1, 0, 1), (0, 2, 1, 2), (1, 2, 3, 2))

# GM programs (0-based) per sketch part: (name, program, channel, pan); channel index 9 is drums
_PARTS: Final = {
    1: ("Strings", 48, 0, 44),
    2: ("Horn", 60, 1, 80),
    3: ("Piano", 0, 2, 64),
    4: ("Contrabass", 43, 3, 56),
    5: ("Timpani", 47, 4, 72),
    6: ("Drums", 0, 9, 64),
}
_CRASH, _KICK = 49, 36


def _triad(scale: Sequence[int], degree: int, root: int) -> list[int]:
    """Pitches of the triad on scale ``degree`` (and its octave) above MIDI note ``root``."""
    out = []
    for step in (0, 2, 4, 7):
        d = degree + step
        out.append(root + 12 * (d // 7) + scale[d % 7])
    return out


def sketch_cue_midi(
    cue: MusicCue,
    tempo_map: TempoMap,
    rate: Rate | str,
    *,
    key: str | None = None,
    mode: str | None = None,
    path: str | Path | None = None,
) -> mido.MidiFile:
    """A sketch of ``cue`` on ``tempo_map``: strings and horn chords a bar each, contrabass on each bar's
    first and middle beat, a piano melody pattern on every beat, and a crash cymbal, bass drum and timpani
    accent on each hit point. A map that starts bar 1 after the cue start (a pickup) gets a soft pad and
    pickup notes on those beats, so the music sounds from the cue's first frame.

    The map's meter and tempo changes are written as ``time_signature`` and ``set_tempo`` events, so every
    beat's note-on falls at the map's beat time (within the rounding of tempos to whole microseconds a
    quarter note). ``key``/``mode`` default to a stable choice made from the cue ID. Written to ``path``
    (atomically) when given.
    """
    import mido

    r = Rate.parse(rate)
    length_s = float(cue.duration * r.frame_duration)
    seed = zlib.crc32(cue.cue_id.encode())
    mode = mode or ("minor" if seed % 3 else "major")
    if mode not in _PROGRESSIONS:
        raise UsageError(f"mode {mode!r} is not major or minor")
    if key is not None and key.strip().upper() not in _NOTE_NAMES:
        raise UsageError(f"key {key!r} is not a note name", hint="C, C#, D … B")
    tonic = _NOTE_NAMES.index(key.strip().upper()) if key is not None else (seed // 3) % 12
    scale = _MAJOR if mode == "major" else _MINOR
    prog = _PROGRESSIONS[mode][(seed // 36) % len(_PROGRESSIONS[mode])]
    shape = _MELODY_SHAPES[(seed // 108) % len(_MELODY_SHAPES)]
    num, den = tempo_map.meter
    tpb = _PPQ * 4 // den  # ticks a beat (the meter's note value)
    first_spb = 60.0 / tempo_map.changes[0].bpm
    pickup = round(tempo_map.offset_s / first_spb * tpb)  # ticks before bar 1 beat 1

    def tick(index: float) -> int:
        return pickup + round(index * tpb)

    last_index = float(tempo_map.index_at(length_s))
    end_tick = max(1, tick(last_index))
    n_beats = math.ceil(last_index - 1e-9) if last_index > 0 else 0
    events: dict[int, list[tuple[int, mido.Message]]] = {}  # part → [(absolute tick, message)]

    def note(part: int, start: int, stop: int, pitch: int, vel: int) -> None:
        stop = min(stop, end_tick)
        if stop <= start or start < 0:
            return
        ch = _PARTS[part][2]
        lst = events.setdefault(part, [])
        lst.append((start, mido.Message("note_on", channel=ch, note=pitch, velocity=vel)))
        lst.append((stop, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))

    root = 48 + tonic if tonic < 7 else 36 + tonic  # chords around C3..F#3
    middle = num // 2 if num >= 2 else 0
    for beat in range(n_beats):
        bar, in_bar = divmod(beat, num)
        chord = _triad(scale, prog[bar % len(prog)], root)
        t0, t1 = tick(beat), tick(beat + 1)
        if in_bar == 0:
            for p in chord[:3]:
                note(1, t0, tick(beat + num), p + 12, 64)  # strings, a bar
            note(2, t0, tick(beat + num), chord[0] + 12, 52)  # horn on the root
            note(4, t0, tick(beat + max(middle, 1)), chord[0] - 12, 92)  # contrabass
        elif in_bar == middle:
            note(4, t0, tick(beat + num - middle), chord[0] - 12 + 7, 80)  # the fifth
        melody = chord[shape[in_bar % len(shape)]] + 24
        note(3, t0, t0 + max(1, (t1 - t0) * 9 // 10), melody, 86 if in_bar == 0 else 70)
    # the pickup (anacrusis): the music starts at the cue's first frame, not at bar 1 — a soft dominant
    # pad under melody notes climbing to bar 1's first note
    n_pick = round(tempo_map.offset_s / first_spb)
    if n_pick > 0:
        dominant = _triad(scale, 4, root)
        for p in dominant[:3]:
            note(1, tick(-n_pick), tick(0), p + 12, 48)
        for k in range(n_pick):
            beat = k - n_pick
            t0, t1 = tick(beat), tick(beat + 1)
            note(3, t0, t0 + max(1, (t1 - t0) * 9 // 10), dominant[k % 3] + 24, 62)
    timp = 36 + tonic if tonic >= 2 else 48 + tonic  # D2..B2, C3, C#3
    for h in cue.hits:
        at = float((h.frame - cue.start) * r.frame_duration)
        t = max(0, tick(float(tempo_map.index_at(at))))
        note(5, t, t + 2 * tpb, timp, 112)
        note(6, t, t + tpb, _CRASH, 110)
        note(6, t, t + tpb // 2, _KICK, 100)

    mid = mido.MidiFile(type=1, ticks_per_beat=_PPQ)
    meta: list[tuple[int, Any]] = [
        (0, mido.MetaMessage("track_name", name=f"{cue.cue_id} {cue.title}".strip())),
        (0, mido.MetaMessage("time_signature", numerator=num, denominator=den)),
    ]
    for k, c in enumerate(tempo_map.changes):
        at_tick = 0 if k == 0 else tick(tempo_map.beat_index(c.bar, c.beat))
        meta.append((at_tick, mido.MetaMessage("set_tempo", tempo=round(60e6 / c.bpm * den / 4))))
    meta.append((end_tick, mido.MetaMessage("marker", text="end")))
    mid.tracks.append(track_from_events(meta))
    for part in sorted(events):
        name, program, ch, pan = _PARTS[part]
        head: list[tuple[int, Any]] = [(0, mido.MetaMessage("track_name", name=name))]
        if ch != 9:
            head.append((0, mido.Message("program_change", channel=ch, program=program)))
        head.append((0, mido.Message("control_change", channel=ch, control=10, value=pan)))
        body = sorted(events[part], key=lambda e: (e[0], e[1].type == "note_on"))  # offs before ons
        mid.tracks.append(track_from_events(head + body))
    if path is not None:
        save_midi(mid, path)
    return mid
