"""ADR: cue sheet from markers (CSV/HTML, drop-frame timecode), guide tracks with beeps, aligned takes."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from fractions import Fraction
from html.parser import HTMLParser
from math import ceil
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from posthouse.core.errors import UsageError
from posthouse.core.media.bwf import Bext, read_bwf, write_bwf
from posthouse.core.time import Timecode
from posthouse.demo.soundscape import room_tone
from posthouse.demo.speech import WordTiming, synth_line_timed, voice_for
from posthouse.engine.audio import iter_mix_blocks
from posthouse.engine.plan import plan_timeline
from posthouse.sound.adr import (
    CSV_FIELDS,
    align_cue,
    find_cue,
    parse_note,
    read_cue_sheet,
    timeline_cues,
    write_cue_sheet,
)
from posthouse.sound.adr_guides import write_guides
from posthouse.sound.session import add_track, load_session, place_clip, save_session, wav_clip

SR = 48_000
RATE = "29.97"
START = Timecode.parse("01:00:00;00", RATE)  # drop-frame session
LINE = "Maya, the sound is late again. I said it once, and nobody listens."
LINE_AT = 5 * SR + 24_000  # production file sample where the line's audio starts (5.5 s)
SECONDS = 14


def samples(frame: int) -> int:
    """Independent frames → samples at 29.97: the first sample at or after the frame's start."""
    return ceil(Fraction(frame) * SR * 1001 / 30000)


@dataclass
class Session:
    timeline: otio.schema.Timeline
    path: Path
    production: np.ndarray
    words: tuple[WordTiming, ...]


def _marker(name: str, frame: int, dur: int, note: str = "", **meta: str) -> otio.schema.Marker:
    fps = 30000 / 1001
    rng = otio.opentime.TimeRange(
        otio.opentime.RationalTime(frame, fps), otio.opentime.RationalTime(dur, fps)
    )
    data = {"note": note, **meta} if note or meta else {}
    return otio.schema.Marker(name=name, marked_range=rng, metadata={"posthouse": data} if data else {})


@pytest.fixture()
def session(tmp_path: Path) -> Session:
    line, words = synth_line_timed(LINE, voice_for("MAYA"), SR, np.random.default_rng(1))
    prod = room_tone(SECONDS * SR, SR, np.random.default_rng(2), -54.0).astype(np.float64)
    prod[LINE_AT : LINE_AT + line.size] += line
    tref = START.to_samples(SR)
    wav = tmp_path / "media" / "5A-1.wav"
    wav.parent.mkdir()
    write_bwf(wav, prod[None, :].astype(np.float32), SR, bext=Bext(time_reference=tref))
    prod = sf.read(str(wav), dtype="float32")[0]  # as quantised to 24 bits

    tl = otio.schema.Timeline(name="reel one")
    tl.global_start_time = otio.opentime.RationalTime(START.frames, 30000 / 1001)
    tl.metadata["posthouse"] = {"drop_frame": True}
    dx = add_track(tl, "dialogue")
    frames = SECONDS * 30 - 5
    clip = wav_clip(wav, name="5A-1", frames=frames, rate=RATE, source_start=tref, time_reference=tref,
                    file_samples=prod.size)  # fmt: skip
    # a clip marker (clip source time: samples since midnight): a cue by metadata, no duration
    jonah_at = tref + samples(330)
    clip.markers.append(
        otio.schema.Marker(
            name="loop",
            marked_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(jonah_at, SR), otio.opentime.RationalTime(0, SR)
            ),
            metadata={"posthouse": {"cue": "adr", "character": "Jonah", "line": "Where were you?",
                                    "reason": "performance"}},
        )
    )  # fmt: skip
    place_clip(dx, clip, 0, RATE)
    tl.tracks.markers.append(_marker("ADR", 150, 210, "MAYA: " + LINE + " | reason: plane overhead"))
    tl.tracks.markers.append(_marker("ADR MAYA", 1800, 0, "Again? <louder> & faster | reason: level"))
    tl.tracks.markers.append(_marker("SC 5", 0, 1, "EXT. ROOF - DAY"))
    path = tmp_path / "sound" / "reel1_v001" / "session.otio"
    save_session(tl, path)
    return Session(load_session(path), path, prod, words)


# -------------------------------------------------------------------------------------------- cues


def test_parse_note() -> None:
    assert parse_note("MAYA: Time: 5 o'clock. | reason: plane | priority: high") == {
        "character": "MAYA",
        "line": "Time: 5 o'clock.",
        "reason": "plane",
        "priority": "high",
    }
    assert parse_note("Just the line") == {"line": "Just the line"}
    assert parse_note("") == {}


def test_cues_from_markers(session: Session) -> None:
    cues = timeline_cues(session.timeline)
    assert [c.cue_id for c in cues] == ["MA101", "JO101", "MA102"]
    ma, jo, ma2 = cues
    assert (ma.character, ma.line, ma.reason) == ("MAYA", LINE, "plane overhead")
    assert (ma.record_in, ma.record_out) == (150, 360)
    assert (ma.timecode_in, ma.timecode_out) == ("01:00:05;00", "01:00:12;00")
    assert (jo.character, jo.line, jo.reason) == ("JONAH", "Where were you?", "performance")
    assert (jo.record_in, jo.record_out) == (330, 330 + 4 * 30)  # no duration: 4 s
    # drop-frame: 1800 frames after 01:00:00;00 the labels ;00 and ;01 of minute 1 are skipped
    assert ma2.timecode_in == "01:01:00;02"
    assert ma2.timecode_out == "01:01:04;02"
    assert (ma2.line, ma2.reason) == ("Again? <louder> & faster", "level")
    # the same session read as non-drop
    assert timeline_cues(session.timeline, drop=False)[2].timecode_in == "01:00:56:12"  # same frame count
    assert timeline_cues(session.timeline, reel=3)[0].cue_id == "MA301"
    with pytest.raises(UsageError, match="no ADR cue"):
        find_cue(cues, "XX999")
    assert find_cue(cues, "jo101") is jo


def test_a_marker_from_posthouse_edit_marker(session: Session) -> None:
    from posthouse.picture.edit import add_marker

    tl, _ = add_marker(session.timeline, 600, "ADR THEO: Only by a frame or two. | reason: noise")
    cue = find_cue(timeline_cues(tl), "TH101")
    assert (cue.character, cue.line, cue.reason) == ("THEO", "Only by a frame or two.", "noise")
    assert (cue.record_in, cue.timecode_in) == (600, "01:00:20;00")


def test_fixed_cue_ids_are_kept(session: Session) -> None:
    session.timeline.tracks.markers.append(_marker("ADR", 100, 30, "MAYA: Earlier line.", cue_id="ma201"))
    session.timeline.metadata["posthouse"]["reel"] = "R2"
    cues = {c.line: c.cue_id for c in timeline_cues(session.timeline)}
    assert cues["Earlier line."] == "MA201"  # fixed
    assert cues[LINE] == "MA202" and cues["Again? <louder> & faster"] == "MA203"  # numbering steps over it


def test_character_codes_stay_unique(session: Session) -> None:
    session.timeline.tracks.markers.append(_marker("ADR", 900, 60, "MARK: Hello."))
    ids = {c.character: c.cue_id[:2] for c in timeline_cues(session.timeline)}
    assert ids == {"MARK": "MA", "MAYA": "MY", "JONAH": "JO"}


def test_cue_sheet_csv_and_html(session: Session, tmp_path: Path) -> None:
    csv_path, html_path = write_cue_sheet(session.timeline, tmp_path / "out")
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CSV_FIELDS
    assert rows[1][:6] == ["MA101", "1", "MAYA", "01:00:05;00", "01:00:12;00", "00:00:07:00"]
    assert rows[1][6] == LINE and rows[1][7] == "plane overhead"
    assert [r[0] for r in rows[1:]] == ["MA101", "JO101", "MA102"]
    assert read_cue_sheet(csv_path)[2]["line"] == "Again? <louder> & faster"

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[list[str]] = []
            self.in_td = False

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag == "tr":
                self.rows.append([])
            self.in_td = tag in ("td", "th")
            if self.in_td:
                self.rows[-1].append("")

        def handle_endtag(self, tag: str) -> None:
            self.in_td = self.in_td and tag not in ("td", "th")

        def handle_data(self, data: str) -> None:
            if self.in_td:
                self.rows[-1][-1] += data

    text = html_path.read_text(encoding="utf-8")
    parser = Cells()
    parser.feed(text)
    assert parser.rows[0][:4] == ["Cue", "Character", "In", "Out"]
    assert [r[0] for r in parser.rows[1:]] == ["MA101", "JO101", "MA102"]
    assert parser.rows[3][5] == "Again? <louder> & faster"  # escaped in the file, text again when parsed
    assert "&lt;louder&gt; &amp; faster" in text
    assert "@media print" in text and "display: table-header-group" in text
    assert not list((tmp_path / "out").glob(".*partial*"))


# ------------------------------------------------------------------------------------------ guides


def test_guide_track_beeps_and_guide(session: Session, tmp_path: Path) -> None:
    cue = find_cue(timeline_cues(session.timeline), "MA101")
    (path,) = write_guides(session.timeline, [cue], tmp_path / "guides")
    audio, sr = sf.read(str(path), dtype="float64", always_2d=True)
    assert sr == SR and audio.shape[1] == 2
    first = 150 - 4 * 30  # 4 s of pre-roll
    assert audio.shape[0] == samples(360 + 30) - samples(first)
    info = read_bwf(path)
    assert info is not None
    assert info.time_reference == samples(START.frames + first)
    assert info.track_names == ("BEEPS", "GUIDE")
    # beeps: three runs, each exactly one frame, on the frames 3, 2 and 1 s (30 frames) before the in point
    beeps = audio[:, 0]
    on = np.flatnonzero(np.abs(beeps) > 0)
    runs = np.split(on, np.flatnonzero(np.diff(on) > 1) + 1)
    assert len(runs) == 3
    for run, frame in zip(runs, (60, 90, 120), strict=True):
        a, b = samples(frame) - samples(first), samples(frame + 1) - samples(first)
        assert (run[0], run[-1] + 1) == (a, b)
        seg = beeps[a:b]
        spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size), 1 << 18))
        assert np.fft.rfftfreq(1 << 18, 1 / SR)[np.argmax(spec)] == pytest.approx(1000.0, abs=0.5)
        assert 20 * np.log10(np.sqrt(np.mean(seg**2))) == pytest.approx(-18.0, abs=0.1)
    assert not np.any(beeps[samples(121) - samples(first) :])  # the fourth beat and the cue: silent
    # the guide channel is the production sound at that place
    guide = audio[:, 1]
    np.testing.assert_allclose(
        guide, session.production[samples(first) : samples(first) + guide.size], atol=1e-6
    )


def test_guide_from_a_guide_wav(session: Session, tmp_path: Path) -> None:
    cue = find_cue(timeline_cues(session.timeline), "MA101")
    other = tmp_path / "turnover_guide.wav"
    tone = np.tile(np.linspace(-0.5, 0.5, 100, dtype=np.float32), 30 * SR // 100)  # 30 s
    lead = 10 * SR  # this file starts 10 s before the session
    write_bwf(other, tone[None, :], SR, bext=Bext(time_reference=START.to_samples(SR) - lead))
    (path,) = write_guides(session.timeline, [cue], tmp_path / "g", guide_wav=other)
    guide = sf.read(str(path), dtype="float64", always_2d=True)[0][:, 1]
    at = lead + samples(30)
    np.testing.assert_allclose(guide, tone[at : at + guide.size], atol=1e-6)


# ------------------------------------------------------------------------------------------- align


def _adr_take(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """The line said again (another reading: other word timing), 150 ms later than the guide cue point,
    6 dB down, in a quiet studio; returns the file and its word onsets (samples)."""
    line, words = synth_line_timed(LINE, voice_for("MAYA"), SR, np.random.default_rng(11))
    lead = int(0.65 * SR)
    take = np.concatenate([np.zeros(lead), 0.5 * line, np.zeros(SR // 2)])
    take += room_tone(take.size, SR, np.random.default_rng(12), -72.0)
    path = tmp_path / "MA101_t3.wav"
    sf.write(str(path), take.astype(np.float32), SR, subtype="PCM_24")
    return path, np.array([w.start for w in words]) + lead


def test_align_cue_places_an_aligned_take(session: Session, tmp_path: Path) -> None:
    cue = find_cue(timeline_cues(session.timeline), "MA101")
    take, take_onsets = _adr_take(tmp_path)
    adr_dir = session.path.parent / "adr"
    placed = align_cue(session.timeline, cue, take, adr_dir)
    first = 150 - 15  # half a second of handle
    assert placed.track == "ADR1" and placed.record_in == first and placed.path.parent == adr_dir
    # word onsets, mapped through the alignment, land on the production line's (timeline samples)
    landed = placed.result.time_map.guide_at(take_onsets) + samples(first)
    truth = LINE_AT + np.array([w.start for w in session.words])
    err_ms = np.abs(landed - truth) / SR * 1000
    assert err_ms.max() < 10.0, err_ms
    assert placed.result.residual_median_ms < 5.0
    # the aligned file is a BWF at the guide stretch's timecode
    info = read_bwf(placed.path)
    assert info is not None and info.time_reference == samples(START.frames + first)
    aligned = sf.read(str(placed.path), dtype="float64")[0]
    # the engine plays it from that frame, sample for sample (fades of a frame at the ends aside)
    save_session(session.timeline, session.path)
    plan = plan_timeline(load_session(session.path))
    assert plan.audio_names == ["DX1", "ADR1"]
    plan.audio, plan.audio_names = plan.audio[1:], plan.audio_names[1:]
    played = np.concatenate(list(iter_mix_blocks(plan, sample_rate=SR, per_track=True)), axis=1)[0]
    a = samples(first)
    inner = slice(2000, aligned.size - 2000)
    np.testing.assert_allclose(played[a : a + aligned.size][inner], aligned[inner], atol=1e-6)
    # a second take of the same cue replaces the first
    again = align_cue(session.timeline, cue, take, adr_dir)
    adr_clips = [c for t in session.timeline.tracks if t.name.startswith("ADR") for c in t.find_clips()]
    assert again.track == "ADR1" and len(adr_clips) == 1


def test_align_cue_refuses_a_silent_guide(session: Session, tmp_path: Path) -> None:
    cue = find_cue(timeline_cues(session.timeline), "MA102")  # beyond the production sound
    take, _ = _adr_take(tmp_path)
    with pytest.raises(UsageError, match="guide is silent"):
        align_cue(session.timeline, cue, take, tmp_path / "adr")


# --------------------------------------------------------------------------------------------- CLI


def test_cli(session: Session, tmp_path: Path) -> None:
    from posthouse.cli import adr

    app = typer.Typer()
    app.add_typer(adr.app, name="adr")
    runner = CliRunner()
    ref = str(session.path)
    res = runner.invoke(app, ["adr", "cues", ref, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [c["cue"] for c in data["cues"]] == ["MA101", "JO101", "MA102"]
    assert Path(data["csv"]) == session.path.parent / "adr" / "adr_cues.csv" and Path(data["html"]).exists()

    res = runner.invoke(app, ["adr", "guides", ref, "--cue", "MA101", "--json"])
    assert res.exit_code == 0, res.output
    assert (
        Path(json.loads(res.stdout)[0]["path"]) == session.path.parent / "adr" / "guides" / "MA101_guide.wav"
    )

    take, _ = _adr_take(tmp_path)
    res = runner.invoke(app, ["adr", "align", ref, str(take), "--cue", "ma101", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["cue"] == "MA101" and out["track"] == "ADR1" and out["saved"]
    assert out["residual_median_ms"] < 5.0 and Path(out["aligned"]).exists()
    saved = load_session(session.path)
    assert [t.name for t in saved.tracks] == ["DX1", "ADR1"]

    res = runner.invoke(app, ["adr", "align", ref, str(take), "--cue", "ZZ101"])
    assert res.exit_code == 2 and "no ADR cue" in res.output
