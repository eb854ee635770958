"""Mock-up rendering: sketches land on the tempo map, renders are timed, deterministic and stamped."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner
from wavinfo import WavInfoReader

from posthouse.core.errors import MediaError
from posthouse.score import mockup
from posthouse.score.cues import HitPoint, MusicCue
from posthouse.score.mockup import load_midi, render_cue, render_midi, sketch_cue_midi
from posthouse.score.tempomap import TempoChange, TempoMap

SR = 48_000


def _cue() -> MusicCue:
    return MusicCue("1M1", 0, 24 * 8, hits=(HitPoint(96, "downbeat", "door"),), title="Opening")


def _map() -> TempoMap:
    return TempoMap((TempoChange(1, 1.0, 120.0), TempoChange(3, 1.0, 90.0)), (4, 4))


def _onsets_ms(audio: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each time, where the 1 ms RMS envelope first reaches half its peak within −30…+50 ms (ms)."""
    env = np.sqrt(np.convolve((audio.astype(np.float64) ** 2).sum(axis=0), np.ones(48) / 48, mode="same"))
    out = []
    for t in times:
        c = round(t * SR)
        lo = max(c - 1440, 0)
        seg = env[lo : c + 2400]
        out.append((lo + int(np.argmax(seg >= 0.5 * seg.max())) - c) / 48.0)
    return np.asarray(out)


def test_sketch_notes_fall_on_the_tempo_maps_beats(tmp_path: Path) -> None:
    tmap = TempoMap((TempoChange(1, 1.0, 132.0), TempoChange(3, 1.0, 96.0)), (3, 4), offset_s=0.25)
    cue = MusicCue("2M3", 10, 10 + 24 * 9, hits=(HitPoint(10 + 24 * 5, "any"),))
    path = tmp_path / "sketch.mid"
    sketch_cue_midi(cue, tmap, 24, path=path)
    pm = pretty_midi.PrettyMIDI(str(path))  # read back from the file
    length = cue.duration / 24
    beats = tmap.beat_times(length)
    beats = beats[beats < length - 1e-6]
    piano = next(i for i in pm.instruments if i.name == "Piano")
    onsets = np.array(sorted(n.start for n in piano.notes))
    assert len(onsets) == len(beats)
    np.testing.assert_allclose(onsets, beats, atol=1e-3)
    # tempo changes and meter written as MIDI events
    times, tempi = pm.get_tempo_changes()
    np.testing.assert_allclose(tempi, [132.0, 96.0], atol=0.01)
    np.testing.assert_allclose(times[1], tmap.seconds_at(3), atol=1e-3)
    assert (pm.time_signature_changes[0].numerator, pm.time_signature_changes[0].denominator) == (3, 4)
    # 4–6 parts, GM programs, drums on channel 10, an accent on the hit
    assert 4 <= len(pm.instruments) <= 6
    drums = [i for i in pm.instruments if i.is_drum]
    assert drums and drums[0].notes
    assert any(m.channel == 9 for m in mido.MidiFile(str(path)).tracks[-1] if m.type == "note_on")
    timp = next(i for i in pm.instruments if i.program == 47)
    assert timp.notes[0].start == pytest.approx(5.0, abs=1e-3)
    # nothing after the cue's end
    assert max(n.end for i in pm.instruments for n in i.notes) <= length + 1e-3


def test_render_is_stereo_and_onsets_match_note_ons() -> None:
    pm = load_midi(sketch_cue_midi(_cue(), _map(), 24))
    audio, engine = render_midi(pm, length_s=8.0, tail_s=1.0)
    assert engine == "tinysoundfont"
    assert audio.shape == (2, 9 * SR) and audio.dtype == np.float32
    assert np.abs(audio).max() > 0.05
    assert not np.allclose(audio[0], audio[1])  # panned parts: really stereo
    pm.instruments = [i for i in pm.instruments if i.name == "Piano"]  # the melody part, one note a beat
    solo, _ = render_midi(pm, length_s=8.0, tail_s=0.5)
    starts = np.array([n.start for n in pm.instruments[0].notes])
    late = _onsets_ms(solo, starts)
    assert np.all(np.abs(late) <= 10.0), late


def test_render_is_deterministic() -> None:
    mid = sketch_cue_midi(_cue(), _map(), 24)
    a, _ = render_midi(mid, tail_s=0.5)
    b, _ = render_midi(mid, tail_s=0.5)
    assert np.array_equal(a, b)


def test_drums_on_channel_ten_and_programs_per_instrument() -> None:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    for program, is_drum, pitch in ((0, True, 38), (73, False, 72)):
        inst = pretty_midi.Instrument(program=program, is_drum=is_drum)
        inst.notes.append(pretty_midi.Note(100, pitch, 0.1, 0.4))
        pm.instruments.append(inst)
    snare = pretty_midi.PrettyMIDI(initial_tempo=120)
    snare.instruments.append(pm.instruments[0])
    flute = pretty_midi.PrettyMIDI(initial_tempo=120)
    flute.instruments.append(pm.instruments[1])
    a, _ = render_midi(snare, tail_s=0.3)
    b, _ = render_midi(flute, tail_s=0.3)
    assert np.abs(a).max() > 0.01 and np.abs(b).max() > 0.01
    assert np.abs(a[:, : round(0.1 * SR)]).max() == 0.0  # nothing before the first note-on
    assert a.shape == b.shape and not np.allclose(a, b, atol=1e-3)


def test_render_cue_writes_a_stamped_bwf(tmp_path: Path) -> None:
    tref = 172_800_000 + 24 * 2000  # 01:00:01:00 at 24 fps
    res = render_cue(
        sketch_cue_midi(_cue(), _map(), 24),
        tmp_path / "cue.wav",
        time_reference=tref,
        cue_id="1M1",
        title="Opening",
        length_s=8.0,
        tail_s=1.5,
    )
    info = sf.info(str(res.path))
    assert (info.samplerate, info.channels, info.subtype) == (SR, 2, "PCM_24")
    assert info.frames == res.samples == round(9.5 * SR)
    bext = WavInfoReader(str(res.path)).bext
    assert bext.time_reference == tref
    assert "1M1" in bext.description and "Opening" in bext.description
    data, _ = sf.read(str(res.path), dtype="float32", always_2d=True)
    assert np.abs(data).max() > 0.05
    assert res.to_dict()["realtime_factor"] > 1


def test_length_trims_and_releases(tmp_path: Path) -> None:
    mid = sketch_cue_midi(_cue(), _map(), 24)
    audio, _ = render_midi(mid, length_s=2.0, tail_s=0.25)
    assert audio.shape[1] == round(2.25 * SR)


def test_sine_fallback_when_the_synth_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kw: object) -> None:
        raise RuntimeError("no synth here")

    monkeypatch.setattr(mockup, "_render_tsf", broken)
    notes: list[str] = []
    with pytest.warns(RuntimeWarning, match="sine"):
        audio, engine = render_midi(
            sketch_cue_midi(_cue(), _map(), 24), length_s=3.0, tail_s=0.5, notes=notes
        )
    assert engine == "sine" and notes
    assert audio.shape == (2, round(3.5 * SR)) and np.abs(audio).max() > 0.01


def test_missing_soundfont_and_midi_are_named(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="SoundFont"):
        render_midi(sketch_cue_midi(_cue(), _map(), 24), soundfont=tmp_path / "none.sf2")
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF0000sfbk")
    with pytest.raises(MediaError, match=r"junk\.sf2"):
        render_midi(sketch_cue_midi(_cue(), _map(), 24), soundfont=junk)
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    with pytest.raises(MediaError) as err:
        render_midi(bad)
    assert "bad.mid" in str(err.value)


def test_cli_render_stamps_the_start_timecode(tmp_path: Path) -> None:
    from posthouse.cli import score_mockup

    app = typer.Typer()
    app.command("render")(score_mockup.render)
    app.command("place")(score_mockup.place)
    mid = tmp_path / "cue.mid"
    sketch_cue_midi(_cue(), _map(), 24, path=mid)
    out = tmp_path / "cue.wav"
    args = ["render", str(mid), str(out), "--start", "01:00:00:00", "--rate", "24", "--tail", "0.5", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["time_reference"] == 172_800_000 and doc["engine"] == "tinysoundfont"
    assert WavInfoReader(str(out)).bext.time_reference == 172_800_000


def test_sustain_pedal_holds_notes_until_it_lifts() -> None:
    def piano(pedal: bool) -> pretty_midi.PrettyMIDI:
        pm = pretty_midi.PrettyMIDI(initial_tempo=120)
        inst = pretty_midi.Instrument(program=0)
        inst.notes.append(pretty_midi.Note(100, 60, 0.1, 0.2))
        if pedal:
            inst.control_changes += [
                pretty_midi.ControlChange(64, 127, 0.05),
                pretty_midi.ControlChange(64, 0, 0.9),
            ]
        pm.instruments.append(inst)
        return pm

    dry, _ = render_midi(piano(False), length_s=1.0, tail_s=0.0)
    held, _ = render_midi(piano(True), length_s=1.0, tail_s=0.0)
    late = slice(round(0.6 * SR), round(0.8 * SR))
    assert np.abs(held[:, late]).max() > 4 * np.abs(dry[:, late]).max()
