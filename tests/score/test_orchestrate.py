"""Arranging a theme for a palette: ranges, transpositions, MusicXML/MIDI round trips, playability."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import mido
import pretty_midi
import pytest
import typer
from music21 import chord, converter, meter, note, stream, tempo
from typer.testing import CliRunner

from posthouse.cli import score_orchestrate
from posthouse.core.errors import UsageError
from posthouse.demo.theme import DEMO_MELODY, demo_theme
from posthouse.score.orchestrate import (
    Theme,
    ThemeNote,
    Voice,
    arrange,
    check_playability,
    orchestrate,
    read_theme,
    separate_voices,
    write_arrangement,
)
from posthouse.score.palette import builtin_palettes, interval_semitones, load_palette, pitch_number


@pytest.fixture(scope="module")
def theme_mid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_theme(tmp_path_factory.mktemp("theme") / "theme.mid")


def _read_part(path: Path) -> tuple[stream.Part, list[int], list[int]]:
    """music21 part, its written MIDI pitches and its sounding MIDI pitches (tied notes merged)."""
    score = converter.parse(str(path))
    parts = list(score.parts)
    assert len(parts) == 1
    part = parts[0]
    written = [n.pitch.midi for n in part.stripTies().flatten().notes]
    sounding = [n.pitch.midi for n in part.toSoundingPitch().stripTies().flatten().notes]
    return part, written, sounding


def test_builtin_palettes_load() -> None:
    names = builtin_palettes()
    assert {"string-quartet", "wind-quintet", "brass-quintet", "chamber-orchestra"} <= set(names)
    clarinet = next(i for i in load_palette("wind-quintet").instruments if i.name.startswith("Clarinet"))
    assert clarinet.transposition_semitones == -2
    assert clarinet.lowest == pitch_number("D3") == 50
    assert interval_semitones("P-5") == -7 and interval_semitones("P8") == 12


@pytest.mark.parametrize(
    "name", ["string-quartet", "wind-quintet", "brass-quintet", "chamber-orchestra", "guitar-trio"]
)
def test_demo_theme_parts_read_back_in_range(theme_mid: Path, tmp_path: Path, name: str) -> None:
    palette = load_palette(name)
    result = orchestrate(theme_mid, palette, tmp_path / name)
    by_name = {i.name: i for i in palette.instruments}
    assert not [p for p in result.problems if p.kind == "out_of_range"]
    assert len(result.parts) == len(result.arrangement.parts) >= min(len(palette.instruments), 3)
    roles = {p.role for p in result.arrangement.parts}
    assert {"melody", "bass"} <= roles
    for path, arranged in zip(result.parts, result.arrangement.parts, strict=True):
        part, written, sounding = _read_part(path)
        inst = by_name[part.partName]
        assert inst is arranged.instrument
        # music21 reads the part's transposition back from the file, and it is the palette's
        m21_inst = part.getInstrument()
        assert m21_inst is not None and m21_inst.transposition is not None
        assert m21_inst.transposition.semitones == inst.transposition_semitones
        assert sounding == [n.pitch for n in arranged.notes]
        assert all(inst.lowest <= p <= inst.highest for p in sounding), (name, inst.name)
        assert [w + inst.transposition_semitones for w in written] == sounding
    # the full score holds every part, transposed as in the parts
    full = converter.parse(str(result.score))
    assert [p.partName for p in full.parts] == [p.instrument.name for p in result.arrangement.parts]
    # the MIDI mock-up: one instrument per part, its GM program, sounding pitches
    pm = pretty_midi.PrettyMIDI(str(result.midi))
    assert [i.program for i in pm.instruments] == [p.instrument.program for p in result.arrangement.parts]
    for inst_m, arranged in zip(pm.instruments, result.arrangement.parts, strict=True):
        assert [n.pitch for n in sorted(inst_m.notes, key=lambda n: n.start)] == [
            n.pitch for n in arranged.notes
        ]
    assert pm.get_end_time() == pytest.approx(32 * 60 / 96, abs=0.01)
    report = json.loads(result.report.read_text())
    assert report["palette"] == palette.name and report["score_pitch"] == "transposed"
    # the transposed full score read back as a theme gives every part's sounding line
    again = read_theme(result.score)
    lines = {v.name: [n.pitch for n in v.notes] for v in again.voices}
    for arranged in result.arrangement.parts:
        assert lines[arranged.instrument.name] == [n.pitch for n in arranged.notes]


def test_clarinet_written_major_second_above_sounding(theme_mid: Path, tmp_path: Path) -> None:
    result = orchestrate(theme_mid, load_palette("wind-quintet"), tmp_path)
    idx = next(i for i, p in enumerate(result.arrangement.parts) if p.instrument.name == "Clarinet in Bb")
    part, written, sounding = _read_part(result.parts[idx])
    assert written and all(w - s == 2 for w, s in zip(written, sounding, strict=True))
    assert [n.pitch + 2 for n in result.arrangement.parts[idx].notes] == written
    ks = part.flatten().getElementsByClass("KeySignature")
    assert ks and ks[0].sharps == 1  # theme in F major: the Bb clarinet part is in G major


def test_melody_bass_and_piano_theme_split(theme_mid: Path, tmp_path: Path) -> None:
    theme = read_theme(theme_mid)
    assert theme.voices[0].name == "Melody" and theme.voices[-1].name == "Bass"
    assert [n.pitch for n in theme.voices[0].notes] == [p for _, _, p in DEMO_MELODY]
    assert theme.tempos[0][1] == pytest.approx(96.0) and theme.key_sharps == -1
    piano = read_theme(demo_theme(tmp_path / "piano.mid", piano=True))
    assert len(piano.voices) == 5
    assert [n.pitch for n in piano.voices[0].notes] == [p for _, _, p in DEMO_MELODY]
    assert [n.pitch for n in piano.voices[-1].notes] == [n.pitch for n in theme.voices[-1].notes]
    quartet = arrange(piano, load_palette("string-quartet"))
    plays = {p.instrument.name: (p.voice, p.role) for p in quartet.parts}
    assert plays["Violin I"] == ("Piano (top)", "melody")
    assert plays["Cello"] == ("Piano (bottom)", "bass")
    assert quartet.unassigned == ("Piano (4)",)


def test_separate_voices_keeps_held_notes() -> None:
    q = Fraction
    notes = [
        ThemeNote(q(0), q(4), 72),  # held melody note
        ThemeNote(q(0), q(1), 48),
        ThemeNote(q(1), q(1), 50),  # bass moves under the held note
        ThemeNote(q(2), q(2), 52),
    ]
    top, bottom = separate_voices(notes, "Pno")
    assert [n.pitch for n in top.notes] == [72]
    assert [n.pitch for n in bottom.notes] == [48, 50, 52]


def test_octave_displacement_phrase_then_single_notes(tmp_path: Path) -> None:
    toml = tmp_path / "solo.toml"
    toml.write_text(
        'name = "Solo flute"\n[[instrument]]\nname = "Flute"\nprogram = 73\nfamily = "woodwinds"\n'
        'lowest = "C4"\nhighest = "C6"\nmax_notes_per_second = 10\n'
    )
    pal = load_palette(toml)
    q = Fraction
    low_phrase = [ThemeNote(q(i), q(1), p) for i, p in enumerate([48, 50, 52, 53])]  # C3..F3: an octave up
    wide = [ThemeNote(q(8 + i), q(1), p) for i, p in enumerate([60, 72, 84, 96])]  # C4..C7: wider than C4..C6
    arr = arrange(Theme((Voice("Melody", tuple(low_phrase + wide)),)), pal)
    (part,) = arr.parts
    assert [n.pitch for n in part.notes][:4] == [60, 62, 64, 65]
    assert all(60 <= n.pitch <= 84 for n in part.notes)
    kinds = [(d.phrase, d.semitones) for d in part.displacements]
    assert (True, 12) in kinds and (False, -12) in kinds
    problems = check_playability(arr)
    assert not [p for p in problems if p.kind == "out_of_range"]
    # the folded C7 → C6 makes no leap over 19 semitones here; a wide leap elsewhere is reported
    leap_theme = Theme((Voice("Melody", (ThemeNote(q(0), q(1), 60), ThemeNote(q(1), q(1), 84))),))
    leaps = [p for p in check_playability(arrange(leap_theme, pal)) if p.kind == "wide_leap"]
    assert leaps and leaps[0].measure == 1 and leaps[0].beat == 1.0


def _fast_bass_midi(path: Path, bpm: float = 150.0) -> Path:
    """Melody in half notes; the bass plays sixteenths in bar 3 only (10 notes/s at 150 bpm)."""
    tpq = 480
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    mid.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)),
                mido.MetaMessage("time_signature", numerator=4, denominator=4),
            ]
        )
    )
    melody = [(i * 2.0, 2.0, p) for i, p in enumerate([72, 74, 76, 77, 79, 77, 76, 72])]
    bass = [(float(i), 1.0, 43 + (i % 2) * 5) for i in range(8)]
    bass += [(8.0 + i * 0.25, 0.25, 43 + (i % 4)) for i in range(16)]
    bass += [(12.0, 4.0, 36)]
    for ch, (name, notes) in enumerate((("Melody", melody), ("Bass", bass))):
        events = []
        for s, d, p in notes:
            events += [(round(s * tpq), 1, "note_on", p, 90), (round((s + d) * tpq), 0, "note_off", p, 0)]
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        now = 0
        for t, _, kind, p, v in sorted(events):
            track.append(mido.Message(kind, channel=ch, note=p, velocity=v, time=t - now))
            now = t
        mid.tracks.append(track)
    mid.save(str(path))
    return path


def test_too_fast_passage_reported_with_measure(tmp_path: Path) -> None:
    result = orchestrate(
        _fast_bass_midi(tmp_path / "fast.mid"), load_palette("brass-quintet"), tmp_path / "o"
    )
    fast = {p.part: p for p in result.problems if p.kind == "too_fast"}
    assert set(fast) == {"Tuba", "Horn in F"}  # the horn doubles the bass (a spare instrument)
    prob = fast["Tuba"]
    assert prob.measure == 3 and prob.beat == 1.0 and prob.value == pytest.approx(10.0)
    assert (prob.end_measure, prob.end_beat) == (4, 1.0)  # the run ends on the note after the sixteenths
    assert "Tuba" in prob.message and "6" in prob.message
    solo = check_playability(
        arrange(read_theme(tmp_path / "fast.mid"), load_palette("brass-quintet"), doubling=False)
    )
    assert [p.part for p in solo if p.kind == "too_fast"] == ["Tuba"]
    report = json.loads(result.report.read_text())
    assert report["problems"][0]["kind"] == "too_fast" and report["problems"][0]["measure"] == 3
    # at a slower tempo the same passage is playable
    slow = orchestrate(
        _fast_bass_midi(tmp_path / "slow.mid", 80.0), load_palette("brass-quintet"), tmp_path / "s"
    )
    assert not [p for p in slow.problems if p.kind == "too_fast"]


def test_musicxml_theme_input(tmp_path: Path) -> None:
    score = stream.Score()
    piano = stream.Part()
    piano.partName = "Piano"
    piano.insert(0, meter.TimeSignature("3/4"))
    piano.insert(0, tempo.MetronomeMark(number=72))
    for bar, (mel, triad) in enumerate(
        [(76, (48, 55, 64)), (77, (53, 57, 65)), (79, (55, 59, 62)), (72, (48, 55, 64))]
    ):
        piano.insert(bar * 3.0, chord.Chord(list(triad), quarterLength=3.0))
        piano.insert(bar * 3.0, note.Note(mel + 12, quarterLength=1.5))
        piano.insert(bar * 3.0 + 1.5, note.Note(mel + 12, quarterLength=1.5))
    score.insert(0, piano)
    src = tmp_path / "theme.musicxml"
    score.write("musicxml", fp=str(src))
    theme = read_theme(src)
    assert theme.meters[0][1:] == (3, 4) and theme.tempos[0][1] == pytest.approx(72.0)
    assert [n.pitch for n in theme.voices[0].notes][:2] == [88, 88]
    assert [n.pitch for n in theme.voices[-1].notes] == [48, 53, 55, 48]
    result = write_arrangement(arrange(theme, load_palette("brass-quintet")), tmp_path / "out")
    for path in result.parts:
        part, _written, sounding = _read_part(path)
        inst = next(i for i in result.arrangement.palette.instruments if i.name == part.partName)
        assert all(inst.lowest <= p <= inst.highest for p in sounding)
    # the top line (E6…) is above the trumpet: moved down an octave as a phrase
    lead = result.arrangement.parts[0]
    assert lead.role == "melody" and lead.displacements and lead.displacements[0].semitones == -12


_OBOE = '[[instrument]]\nname = "Oboe"\n'


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (_OBOE + 'program = 68\nfamily = "woodwinds"\nlowest = "H3"\nhighest = "G6"\n', "lowest"),
        (_OBOE + 'family = "woodwinds"\nlowest = "Bb3"\nhighest = "G6"\n', "program"),
        (_OBOE + 'program = 68\nfamily = "woodwinds"\nlowest = "Bb3"\nhighest = "G6"\n'
         'transposition = "M5"\n', "transposition"),
        (_OBOE + 'program = 68\nfamily = "reeds"\nlowest = "Bb3"\nhighest = "G6"\n', "family"),
    ],
)  # fmt: skip
def test_bad_palette_names_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "Bad"\n' + text)
    with pytest.raises(UsageError) as info:
        load_palette(bad)
    msg = str(info.value)
    assert str(bad) in msg and f"key {key!r}" in msg and "Oboe" in msg


def test_unknown_palette_and_theme_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="string-quartet"):
        load_palette("gamelan")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = = 1\n")
    with pytest.raises(UsageError, match=r"broken\.toml"):
        load_palette(broken)
    odd = tmp_path / "theme.wav"
    odd.write_bytes(b"RIFF")
    with pytest.raises(UsageError, match="MusicXML"):
        read_theme(odd)


def test_cli_orchestrate_and_palettes(theme_mid: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("orchestrate")(score_orchestrate.orchestrate)
    app.command("palettes")(score_orchestrate.palettes)
    runner = CliRunner()
    out = tmp_path / "arr"
    res = runner.invoke(
        app, ["orchestrate", str(theme_mid), "--palette", "string-quartet", "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["palette"] == "String quartet" and doc["problems"] == []
    assert (out / "score.musicxml").is_file() and (out / "arrangement.mid").is_file()
    assert (out / "playability.json").is_file() and len(list((out / "parts").glob("*.musicxml"))) == 4
    res = runner.invoke(app, ["palettes", "--json"])
    assert res.exit_code == 0 and "chamber-orchestra" in {p["id"] for p in json.loads(res.stdout)}
    res = runner.invoke(app, ["orchestrate", str(theme_mid), "--palette", "gamelan"])
    assert res.exit_code == 2 and "unknown palette" in res.output
