"""Click track and MIDI tempo map: clicks detected in the WAV land on the map's beats; MIDI re-read."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import wavinfo

from posthouse.core.errors import UsageError
from posthouse.core.time import Timecode
from posthouse.score.click import click_times, write_click, write_midi
from posthouse.score.tempomap import TempoChange, TempoMap

MAP = TempoMap(
    (TempoChange(1, 1.0, 100.0), TempoChange(3, 1.0, 132.5), TempoChange(5, 3.0, 88.25)), (4, 4), 0.6
)


def _onsets(x: np.ndarray, fs: int) -> np.ndarray:
    """Click onsets by envelope threshold: first sample over 5 % of peak after 50 ms of quiet."""
    loud = np.abs(x) > 0.05 * np.abs(x).max()
    idx = np.flatnonzero(loud)
    starts = idx[np.concatenate([[True], np.diff(idx) > fs // 20])]
    return np.asarray(starts / fs, np.float64)


def _dominant_hz(x: np.ndarray, fs: int, at: float) -> float:
    seg = x[round(at * fs) : round(at * fs) + 240]
    spec = np.abs(np.fft.rfft(seg, 4800))
    return float(np.argmax(spec) * fs / 4800)


def test_clicks_land_on_the_map_beats(tmp_path: Path) -> None:
    path = tmp_path / "1M1_click.wav"
    ct = write_click(path, MAP, 9.0, rate="23.976", cue_start_tc="01:00:10:00", count_off_bars=1)
    x, fs = sf.read(path)
    assert fs == 48000 and sf.info(path).subtype == "PCM_24" and x.ndim == 1
    # expected: every beat from one bar before the cue start (at the first tempo) to the end, from the map
    first = -1 - 4  # the cue start is beat index −1 (a one-beat pickup); count-off one bar before it
    last = int(np.floor(MAP.index_at(9.0)))
    expected = np.array([MAP.seconds_at_index(float(i)) for i in range(first, last + 1)])
    found = _onsets(x, fs) + ct.start_s
    assert found.size == expected.size
    assert np.max(np.abs(found - expected)) < 1e-3
    # accents: the count-off's first beat and the map's bar lines are at 1.5 kHz, the rest at 1 kHz
    for i, t in zip(range(first, last + 1), found - ct.start_s, strict=True):
        accent = i == first or (i >= -1 and i % 4 == 0)
        assert _dominant_hz(x, fs, t) == pytest.approx(1500 if accent else 1000, abs=30)
    # BWF TimeReference (read with wavinfo): the cue start's samples since midnight, less the count-off
    cue_samples = Timecode.parse("01:00:10:00", "23.976").to_samples(48000)
    ref = wavinfo.WavInfoReader(str(path)).bext.time_reference
    assert ref == ct.time_reference == cue_samples - round(-ct.start_s * 48000)
    assert ct.start_s == pytest.approx(-4 * 60 / 100.0)


def test_click_without_count_off_starts_at_cue_start(tmp_path: Path) -> None:
    tm = TempoMap.constant(120.0, (3, 4))
    ct = write_click(tmp_path / "c.wav", tm, 3.0, rate=24, cue_start_tc=24 * 3600, count_off_bars=0)
    x, fs = sf.read(tmp_path / "c.wav")
    found = _onsets(x, fs)
    assert np.allclose(found, np.arange(7) * 0.5, atol=1e-3)
    assert ct.time_reference == 3600 * 48000
    times, accents, _ = click_times(tm, 3.0)
    assert accents.tolist() == [True, False, False] * 2 + [True]
    assert np.allclose(times, found, atol=1e-3)


def test_count_off_before_midnight_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        write_click(tmp_path / "c.wav", MAP, 2.0, rate=24, cue_start_tc=10, count_off_bars=1)
    assert not (tmp_path / "c.wav").exists()


def test_midi_tempo_map_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "1M1.mid"
    write_midi(path, MAP, 9.0, rate="23.976", cue_start_tc="01:00:10:00", markers=[(2.0, "door slam")])
    pm = pretty_midi.PrettyMIDI(str(path))
    times, qpm = pm.get_tempo_changes()
    want = [0.0] + [MAP.seconds_at(c.bar, c.beat) for c in MAP.changes[1:]]
    assert np.allclose(times, want, atol=1e-4)
    assert np.allclose(qpm, [c.bpm for c in MAP.changes], atol=1e-3)
    sigs = [(ts.numerator, ts.denominator, round(ts.time, 4)) for ts in pm.time_signature_changes]
    assert sigs == [(1, 4, 0.0), (4, 4, 0.6)]  # the pickup is a one-beat bar
    # the click notes sound on the map's beats
    beats = np.array([MAP.seconds_at_index(float(i)) for i in range(-1, int(MAP.index_at(9.0)) + 1)])
    starts = np.array([n.start for n in pm.instruments[0].notes])
    assert pm.instruments[0].is_drum and np.allclose(starts, beats, atol=1e-3)
    mid = mido.MidiFile(str(path))
    metas = [m for m in mid.tracks[0] if m.is_meta]
    smpte = next(m for m in metas if m.type == "smpte_offset")
    assert (smpte.frame_rate, smpte.hours, smpte.minutes, smpte.seconds, smpte.frames) == (24, 1, 0, 10, 0)
    assert [m.text for m in metas if m.type == "marker"] == ["door slam"]
    assert sum(m.type == "set_tempo" for m in metas) == 3


def test_midi_compound_meter_and_drop_frame(tmp_path: Path) -> None:
    tm = TempoMap((TempoChange(1, 1.0, 180.0), TempoChange(3, 1.0, 150.0)), (6, 8))
    path = tmp_path / "6_8.mid"
    write_midi(path, tm, 6.0, rate="29.97", cue_start_tc="01:00:00;02", clicks=False)
    pm = pretty_midi.PrettyMIDI(str(path))
    times, qpm = pm.get_tempo_changes()
    assert np.allclose(qpm, [90.0, 75.0]) and np.allclose(times, [0.0, 12 * 60 / 180.0], atol=1e-4)
    assert [(ts.numerator, ts.denominator) for ts in pm.time_signature_changes] == [(6, 8)]
    smpte = next(m for m in mido.MidiFile(str(path)).tracks[0] if m.type == "smpte_offset")
    assert smpte.frame_rate == 29.97 and smpte.frames == 2
