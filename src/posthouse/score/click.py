"""Click tracks and MIDI tempo maps for a solved cue.

The click is a mono Broadcast WAV (48 kHz, 24-bit) with a short tone burst on every beat of a
:class:`~posthouse.score.tempomap.TempoMap` — 1.5 kHz on downbeats, 1 kHz on the other beats — from the cue
start (or a count-off bar before it) to the cue's end. Its ``TimeReference`` is the timecode of its first
sample in samples since midnight, so a DAW spots it where the cue starts.

The MIDI file (type 1, 480 ticks a quarter) carries the map as ``set_tempo`` and ``time_signature`` meta
messages (a pickup becomes a short first bar), an optional ``smpte_offset`` at the cue start, hit markers,
and the click as General MIDI percussion notes (hi/lo wood block) on channel 10. MIDI tick 0 is the cue
start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError
from posthouse.core.media.bwf import Bext, IXml, write_bwf
from posthouse.core.time import Rate, RateLike, Timecode, frames_to_samples
from posthouse.score.midi import save_midi, track_from_events
from posthouse.score.tempomap import TempoMap

__all__ = [
    "ACCENT_HZ",
    "BEAT_HZ",
    "CLICK_MS",
    "ClickTrack",
    "click_times",
    "render_click",
    "write_click",
    "write_midi",
]

ACCENT_HZ: Final = 1500.0
BEAT_HZ: Final = 1000.0
CLICK_MS: Final = 5.0
TICKS_PER_QUARTER: Final = 480
_GM_ACCENT: Final = 76  # hi wood block
_GM_BEAT: Final = 77  # low wood block
_SMPTE_RATES: Final = {Fraction(24): 24, Fraction(24000, 1001): 24, Fraction(25): 25, Fraction(30): 30}


@dataclass(frozen=True, slots=True)
class ClickTrack:
    """A written click: where it is, where it starts, and when each click sounds."""

    path: Path
    sample_rate: int
    time_reference: int  # samples since midnight of the file's first sample
    start_s: float  # seconds of the file's first sample from the cue start (≤ 0 with a count-off)
    times: npt.NDArray[np.float64]  # click times, seconds from the cue start
    accents: npt.NDArray[np.bool_]  # True on downbeats (and the count-off's first beat)

    @property
    def onsets(self) -> npt.NDArray[np.int64]:
        """Sample index of each click in the file."""
        return np.rint((self.times - self.start_s) * self.sample_rate).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sample_rate": self.sample_rate,
            "time_reference": self.time_reference,
            "start_s": self.start_s,
            "clicks": int(self.times.size),
        }


def click_times(
    tempo_map: TempoMap, duration_s: float, *, count_off_bars: int = 0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """(times, accents, beat indices) of every beat from the cue start (minus a count-off) to ``duration_s``.

    The count-off is ``count_off_bars`` whole bars at the first tempo before the cue start; its first beat
    is accented, as are the map's bar lines.
    """
    if duration_s <= 0:
        raise UsageError(f"click duration must be positive, not {duration_s} s")
    if count_off_bars < 0:
        raise UsageError(f"count-off must be 0 or more bars, not {count_off_bars}")
    bpb = tempo_map.beats_per_bar
    first = math.ceil(float(tempo_map.index_at(0.0)) - 1e-6)
    last = math.floor(float(tempo_map.index_at(duration_s)) + 1e-9)
    start = first - count_off_bars * bpb
    idx = np.arange(start, last + 1, dtype=np.float64)
    times = np.asarray(tempo_map.seconds_at_index(idx), np.float64).reshape(-1)
    accents = np.mod(idx, bpb) == 0
    if count_off_bars:
        accents[: count_off_bars * bpb] = False
        accents[0] = True
    return times, accents, idx


def _burst(freq: float, sample_rate: int, ms: float) -> npt.NDArray[np.float64]:
    n = max(2, round(sample_rate * ms / 1000.0))
    k = np.arange(n)
    env = np.exp(-k / (n / 5.0))
    return np.sin(2 * np.pi * freq * k / sample_rate + np.pi / 4) * env


def render_click(
    onsets: npt.NDArray[np.int64],
    accents: npt.NDArray[np.bool_],
    n_samples: int,
    *,
    sample_rate: int = 48_000,
    level_db: float = -6.0,
    click_ms: float = CLICK_MS,
) -> npt.NDArray[np.float32]:
    """A ``(1, n_samples)`` float32 click: a decaying tone burst at each onset sample (accents higher)."""
    gain = 10.0 ** (level_db / 20.0)
    hi = _burst(ACCENT_HZ, sample_rate, click_ms) * gain
    lo = _burst(BEAT_HZ, sample_rate, click_ms) * gain * 0.7
    out = np.zeros((1, n_samples), np.float32)
    tmpl = np.where(accents[:, None], hi[None, :], lo[None, :]).astype(np.float32)
    pos = onsets[:, None] + np.arange(hi.size)[None, :]
    keep = (pos >= 0) & (pos < n_samples)
    np.add.at(out[0], pos[keep], tmpl[keep])
    return out


def _start_samples(cue_start_tc: int | str, rate: Rate, sample_rate: int) -> tuple[int, bool]:
    if isinstance(cue_start_tc, str):
        tc = Timecode.parse(cue_start_tc, rate)
        return frames_to_samples(tc.frames, rate, sample_rate), tc.drop
    return frames_to_samples(int(cue_start_tc), rate, sample_rate), False


def write_click(
    path: str | Path,
    tempo_map: TempoMap,
    duration_s: float,
    *,
    rate: RateLike,
    cue_start_tc: int | str = 0,
    count_off_bars: int = 1,
    sample_rate: int = 48_000,
    level_db: float = -6.0,
    description: str = "",
) -> ClickTrack:
    """Write the click of ``tempo_map`` for a cue of ``duration_s`` seconds as a mono 24-bit BWF.

    ``cue_start_tc`` is the cue's first frame as a timecode label or frames since midnight at ``rate``; the
    file starts ``count_off_bars`` bars earlier and its ``TimeReference`` says so.
    """
    r = Rate.parse(rate)
    times, accents, _ = click_times(tempo_map, duration_s, count_off_bars=count_off_bars)
    start_s = min(0.0, float(times[0])) if count_off_bars else 0.0
    cue_samples, drop = _start_samples(cue_start_tc, r, sample_rate)
    pre = round(-start_s * sample_rate)
    if cue_samples - pre < 0:
        raise UsageError(
            "the count-off would start before midnight",
            path=path,
            hint="use --count-off 0 or a later cue start",
        )
    onsets = np.rint((times - start_s) * sample_rate).astype(np.int64)
    tail = round(0.5 * sample_rate)
    n = pre + round(duration_s * sample_rate) + tail
    audio = render_click(onsets, accents, n, sample_rate=sample_rate, level_db=level_db)
    bext = Bext(
        description=description or f"click {tempo_map.meter[0]}/{tempo_map.meter[1]}",
        time_reference=cue_samples - pre,
        coding_history=f"A=PCM,F={sample_rate},W=24,M=mono,T=posthouse score click",
    )
    ixml = IXml(note="click track", track_names=("CLICK",), timecode_rate=r.fps, timecode_drop=drop)
    out = write_bwf(path, audio, sample_rate, bit_depth=24, bext=bext, ixml=ixml)
    return ClickTrack(out, sample_rate, cue_samples - pre, start_s, times, accents)


def _ticks_per_beat(meter: tuple[int, int]) -> int:
    return TICKS_PER_QUARTER * 4 // meter[1]


def write_midi(
    path: str | Path,
    tempo_map: TempoMap,
    duration_s: float,
    *,
    rate: RateLike | None = None,
    cue_start_tc: int | str | None = None,
    markers: Sequence[tuple[float, str]] = (),
    clicks: bool = True,
    name: str = "tempo map",
) -> Path:
    """Write a type-1 MIDI file with the tempo map (tick 0 = the cue start), markers and click notes.

    ``markers`` are ``(seconds from the cue start, text)``, e.g. the hits. With ``rate`` and
    ``cue_start_tc`` an ``smpte_offset`` places the file at the cue's timecode (24, 25, 29.97 DF and 30
    fps timecode only; 23.976 is written as 24, as DAWs expect).
    """
    import mido

    num, den = tempo_map.meter
    tpb = _ticks_per_beat(tempo_map.meter)
    origin = float(tempo_map.index_at(0.0))  # beat index at the cue start (−pickup)

    def tick(index: float) -> int:
        return max(0, round((index - origin) * tpb))

    def us_per_quarter(bpm: float) -> int:
        return round(60_000_000 * den / (4.0 * bpm))

    events: list[tuple[int, int, Any]] = []  # (tick, order, message)
    events.append((0, 0, mido.MetaMessage("track_name", name=name)))
    if rate is not None and cue_start_tc is not None:
        r = Rate.parse(rate)
        if isinstance(cue_start_tc, str):
            tc = Timecode.parse(cue_start_tc, r)
        else:
            tc = Timecode(int(cue_start_tc), r, False)
        fr: float | None = 29.97 if (tc.drop and r.timebase == 30) else _SMPTE_RATES.get(r.fps)
        if fr is not None:
            hh, mm, ss, ff = tc.components
            events.append(
                (
                    0,
                    1,
                    mido.MetaMessage(
                        "smpte_offset", frame_rate=fr, hours=hh, minutes=mm, seconds=ss, frames=ff
                    ),
                )
            )
    pickup = -origin
    if pickup > 1e-9:
        events.append(
            (0, 2, mido.MetaMessage("time_signature", numerator=max(1, round(pickup)), denominator=den))
        )
        events.append((tick(0.0), 2, mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    else:
        events.append((0, 2, mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    for k, c in enumerate(tempo_map.changes):
        at = 0 if k == 0 else tick(tempo_map.beat_index(c.bar, c.beat))
        events.append((at, 3, mido.MetaMessage("set_tempo", tempo=us_per_quarter(c.bpm))))
    for secs, text in markers:
        events.append((tick(float(tempo_map.index_at(secs))), 4, mido.MetaMessage("marker", text=text)))
    end = tick(float(tempo_map.index_at(duration_s)))
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    mid.tracks.append(track_from_events(events, end=end))
    if clicks:
        _, accents, idx = click_times(tempo_map, duration_s)
        notes: list[tuple[int, int, Any]] = [(0, 0, mido.MetaMessage("track_name", name="click"))]
        length = max(1, tpb // 4)
        for i, acc in zip(idx.tolist(), accents.tolist(), strict=True):
            at = tick(i)
            note = _GM_ACCENT if acc else _GM_BEAT
            notes.append((at, 2, mido.Message("note_on", channel=9, note=note, velocity=110 if acc else 80)))
            notes.append((at + length, 1, mido.Message("note_off", channel=9, note=note, velocity=0)))
        mid.tracks.append(track_from_events(notes, end=end))
    return save_midi(mid, path)
