"""Subtitles: cues from a timed script, SRT/WebVTT/IMSC1 TTML/DCP timed text, and subtitle QC."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.time import Rate
from posthouse.finish.subtitle_formats import (
    DCST_NS,
    TTML_NS,
    format_dcp,
    format_srt,
    format_ttml,
    format_vtt,
    parse_srt,
    parse_ttml,
    parse_vtt,
    read_subtitles,
    read_timed_script,
)
from posthouse.finish.subtitles import (
    Cue,
    SubtitleRules,
    SubtitleTrack,
    check_subtitles,
    cues_from_timed_lines,
    wrap_text,
)

LONG = (
    "A frame is a lifetime in here, and I have been counting every single one of them since the "
    "picture was locked last Tuesday night at eleven."
)
SCRIPT = [
    (1.0, 2.6, "MAYA", "The sound is late again."),
    (3.0, 4.4, "THEO", "Only by a frame or two."),
    (5.0, 5.3, "MAYA", "Yes."),
    (7.0, 16.0, "THEO", LONG),
]

SRT = """1
00:00:01,000 --> 00:00:02,500
The sound is late again.

2
00:00:03,000 --> 00:00:04,750
<i>Only by a frame</i>
<i>or two.</i>

3
00:00:05,000 --> 00:00:07,125
{\\an8}<i>A frame is a lifetime</i>
<i>in here.</i>

4
00:00:08,000 --> 00:00:10,000
Listen to <i>that</i> city hum.

"""


def _cue(i: int, start: float, end: float, *lines: str) -> Cue:
    return Cue(i, Fraction(str(start)), Fraction(str(end)), tuple(lines))


def test_wrap_text_balances_two_lines_at_word_boundaries() -> None:
    lines = wrap_text("That is the mains, not the city, and we will clean it later tonight.", 42)
    assert len(lines) == 2
    assert all(len(line) <= 42 for line in lines)
    assert " ".join(lines) == "That is the mains, not the city, and we will clean it later tonight."
    assert abs(len(lines[0]) - len(lines[1])) <= 10
    assert wrap_text("Short.", 42) == ["Short."]


def test_cues_from_timed_script_follow_the_rules() -> None:
    rules = SubtitleRules()
    track = cues_from_timed_lines(SCRIPT, rate="23.976", title="The Last Frame")
    rate = Rate.parse("23.976")
    words = " ".join(" ".join(c.lines) for c in track.cues).split()
    assert words == " ".join(t for *_, t in SCRIPT).split()  # nothing lost or reordered
    for cue in track.cues:
        assert len(cue.lines) <= 2 and all(len(line) <= 42 for line in cue.lines)
        assert rules.min_duration <= cue.duration <= rules.max_duration
        assert cue.chars / cue.duration <= rules.max_cps
        assert (cue.start / rate.frame_duration).denominator == 1  # whole frames
        assert (cue.end / rate.frame_duration).denominator == 1
    yes = next(c for c in track.cues if c.lines == ("Yes.",))
    assert yes.duration >= Fraction(5, 6)  # held for the minimum, although spoken in 0.3 s
    long_cues = [c for c in track.cues if c.character == "THEO" and c.start >= 6]
    assert len(long_cues) >= 2  # 135 characters need more than one two-line cue
    assert check_subtitles(track) == []  # gaps of 2+ frames, no overlaps


def test_show_character_prefixes_the_speaker() -> None:
    track = cues_from_timed_lines([(0, 2, "MAYA", "Hello.")], show_character=True)
    assert track.cues[0].lines == ("MAYA: Hello.",)


def test_srt_round_trip_is_identical_and_keeps_style() -> None:
    track = parse_srt(SRT)
    assert format_srt(track) == SRT
    assert track.cues[1].italic and track.cues[1].lines == ("Only by a frame", "or two.")
    assert track.cues[2].position == "top" and track.cues[2].italic
    assert not track.cues[3].italic and "<i>that</i>" in track.cues[3].lines[0]
    assert track.cues[2].end == Fraction(7125, 1000)
    # CRLF and a byte-order mark read the same
    assert parse_srt("\ufeff" + SRT.replace("\n", "\r\n")).cues == track.cues


def test_bad_srt_names_the_line() -> None:
    with pytest.raises(MediaError, match=r"line 6"):
        parse_srt("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03 -> 4\nbad\n", path="x.srt")


def test_vtt_written_and_reread() -> None:
    track = parse_srt(SRT)
    text = format_vtt(track)
    assert text.startswith("WEBVTT\n\n")
    assert "00:00:05.000 --> 00:00:07.125 line:10%" in text
    again = parse_vtt(text)
    assert again.cues == track.cues
    # a hand-written minimal file: no hours, a NOTE, no identifiers
    minimal = parse_vtt("WEBVTT\n\nNOTE hello\n\n00:01.500 --> 00:03.000\nHi <b>there</b>\n")
    assert minimal.cues[0].start == Fraction(3, 2) and minimal.cues[0].lines == ("Hi <b>there</b>",)


@pytest.mark.parametrize("mode", ["media", "frames"])
def test_ttml_is_imsc1_text_and_rereads(mode: str) -> None:
    track = cues_from_timed_lines(SCRIPT, rate="23.976", title="The Last Frame", language="fr")
    text = format_ttml(track, time_expression=mode)  # type: ignore[arg-type]
    root = ET.fromstring(text)
    assert root.tag == f"{{{TTML_NS}}}tt"
    assert (
        root.get("{http://www.w3.org/ns/ttml#parameter}profile")
        == "http://www.w3.org/ns/ttml/profile/imsc1/text"
    )
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    ps = list(root.iter(f"{{{TTML_NS}}}p"))
    assert len(ps) == len(track.cues)
    pattern = r"\d{2}:\d{2}:\d{2}:\d{2}" if mode == "frames" else r"\d{2}:\d{2}:\d{2}\.\d{3}"
    assert all(re.fullmatch(pattern, p.get("begin", "")) for p in ps)
    again = parse_ttml(text)
    assert again.language == "fr" and again.rate == Rate.parse("23.976")
    for a, b in zip(again.cues, track.cues, strict=True):
        assert a.lines == b.lines
        if mode == "frames":
            assert (a.start, a.end) == (b.start, b.end)  # frame-exact
        else:
            assert abs(a.start - b.start) <= Fraction(1, 2000) and abs(a.end - b.end) <= Fraction(1, 2000)


def test_ttml_keeps_italics_and_position() -> None:
    track = parse_srt(SRT)
    again = parse_ttml(format_ttml(track))
    assert [(c.italic, c.position) for c in again.cues] == [(c.italic, c.position) for c in track.cues]


def test_dcp_timed_text_structure_and_edit_units() -> None:
    track = SubtitleTrack(
        "en",
        (
            _cue(1, 1.5, 3.0, "The sound is late again."),
            Cue(2, Fraction(4), Fraction(6), ("Only by a frame", "or two."), italic=True),
        ),
        Rate(24),
        "The Last Frame",
    )
    text = format_dcp(track, issue_date=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    root = ET.fromstring(text)
    ns = f"{{{DCST_NS}}}"
    assert root.tag == f"{ns}SubtitleReel"
    order = [child.tag.removeprefix(ns) for child in root]
    assert order == [
        "Id",
        "ContentTitleText",
        "AnnotationText",
        "IssueDate",
        "ReelNumber",
        "Language",
        "EditRate",
        "TimeCodeRate",
        "StartTime",
        "LoadFont",
        "SubtitleList",
    ]
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", root.findtext(f"{ns}Id") or "")
    assert root.findtext(f"{ns}EditRate") == "24 1" and root.findtext(f"{ns}TimeCodeRate") == "24"
    assert root.findtext(f"{ns}IssueDate") == "2026-11-24T09:00:00+00:00"
    font_id = root.find(f"{ns}LoadFont").get("ID")  # type: ignore[union-attr]
    font = root.find(f"{ns}SubtitleList/{ns}Font")
    assert font is not None and font.get("ID") == font_id
    subs = font.findall(f"{ns}Subtitle")
    assert [s.get("SpotNumber") for s in subs] == ["1", "2"]
    assert (subs[0].get("TimeIn"), subs[0].get("TimeOut")) == ("00:00:01:12", "00:00:03:00")
    texts = subs[1].findall(f"{ns}Text")
    assert [t.get("Valign") for t in texts] == ["bottom", "bottom"]
    assert float(texts[0].get("Vposition", 0)) > float(texts[1].get("Vposition", 0))  # first line above
    assert texts[0].find(f"{ns}Font").get("Italic") == "yes"  # type: ignore[union-attr]
    for s in subs:
        assert all(re.fullmatch(r"\d{2}:\d{2}:\d{2}:\d{2}", s.get(k, "")) for k in ("TimeIn", "TimeOut"))


def test_dcp_from_23976_keeps_frame_numbers_at_24() -> None:
    rate = Rate.parse("23.976")
    cue = Cue(1, 100 * rate.frame_duration, 148 * rate.frame_duration, ("Hi.",))
    root = ET.fromstring(format_dcp(SubtitleTrack("en", (cue,), rate)))
    ns = f"{{{DCST_NS}}}"
    sub = root.find(f"{ns}SubtitleList/{ns}Font/{ns}Subtitle")
    assert sub is not None and (sub.get("TimeIn"), sub.get("TimeOut")) == ("00:00:04:04", "00:00:06:04")


def test_qc_finds_each_planted_fault_with_cue_and_timecode() -> None:
    cues = (
        _cue(1, 1.0, 3.0, "Fine."),
        _cue(2, 4.0, 4.5, "No."),
        _cue(3, 5.0, 13.0, "Too long."),
        _cue(4, 14.0, 15.0, "Far too many words for the time it stays."),
        _cue(5, 16.0, 19.0, "This line is much too long to fit on a single row."),
        _cue(6, 20.0, 23.0, "One", "two", "three"),
        _cue(7, 24.0, 26.0, "Gap of one frame next."),
        _cue(8, 26.0 + 1 / 24, 28.0, "Overlaps the next."),
        _cue(9, 27.5, 30.0, "Overlapped."),
    )
    issues = check_subtitles(SubtitleTrack("en", cues, Rate(24)))
    found = {(i.kind, i.cue) for i in issues}
    assert found == {
        ("min_duration", 2),
        ("max_duration", 3),
        ("reading_speed", 4),
        ("line_length", 5),
        ("lines", 6),
        ("gap", 7),
        ("overlap", 8),
    }
    by_kind = {i.kind: i for i in issues}
    assert by_kind["max_duration"].timecode == "00:00:05:00"
    assert by_kind["gap"].severity == "warning" and "1 frames" in by_kind["gap"].message
    assert "00:00:27:12" not in by_kind["overlap"].timecode and by_kind["overlap"].timecode == "00:00:26:01"
    assert json.dumps([i.to_dict() for i in issues])


def test_timed_script_json_shapes(tmp_path: Path) -> None:
    demo = {
        "title": "The Last Frame",
        "scenes": [
            {
                "number": 1,
                "lines": [
                    {"character": "MAYA", "text": "The sound is late again.", "start": 1.0, "end": 2.6},
                    {"character": "THEO", "text": "Only by a frame.", "start": "00:00:03.000", "end": "4.4"},
                ],
            },
            {"number": 2, "lines": [{"character": "MAYA", "text": "Later.", "start_s": 6, "end_s": 7}]},
        ],
    }
    p = tmp_path / "script.json"
    p.write_text(json.dumps(demo))
    track = read_timed_script(p, rate=25)
    assert track.title == "The Last Frame" and len(track.cues) == 3
    assert track.cues[1].start == 3 and track.cues[2].start == 6
    untimed = tmp_path / "untimed.json"
    untimed.write_text(json.dumps({"scenes": [{"lines": [{"character": "A", "text": "x"}]}]}))
    with pytest.raises(UsageError, match="no times"):
        read_subtitles(untimed)


def _app() -> typer.Typer:
    from posthouse.cli import deliver_subtitles

    app = typer.Typer()
    app.command("subtitles")(deliver_subtitles.subtitles)
    app.command("noop")(lambda: None)
    return app


def test_cli_writes_every_format_and_prints_qc(tmp_path: Path) -> None:
    src = tmp_path / "film.srt"
    src.write_text(SRT)
    out = tmp_path / "deliver"
    r = CliRunner().invoke(
        _app(),
        ["subtitles", str(src), "--to", "srt,vtt,ttml,dcp", "--rate", "24", "--out", str(out), "--json"],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert set(data["outputs"]) == {"srt", "vtt", "ttml", "dcp"}
    assert Path(data["outputs"]["srt"]).read_text() == SRT
    assert parse_vtt(Path(data["outputs"]["vtt"]).read_text()).cues == parse_srt(SRT).cues
    assert len(parse_ttml(Path(data["outputs"]["ttml"]).read_text()).cues) == 4
    ET.parse(data["outputs"]["dcp"])
    assert not list(out.glob(".*"))  # no temporary files left
    assert data["qc"]["errors"] == sum(1 for i in data["qc"]["issues"] if i["severity"] == "error")
    r = CliRunner().invoke(_app(), ["subtitles", str(src), "--to", "stl", "--out", str(out)])
    assert r.exit_code == 2 and "stl" in r.output


def test_cli_from_timed_script_reports_faults(tmp_path: Path) -> None:
    p = tmp_path / "script.json"
    lines = [
        {
            "character": "A",
            "text": "Far too many words for the time it stays up on screen.",
            "start": 0,
            "end": 1,
        },
        {"character": "B", "text": "Next.", "start": 1.0, "end": 3.0},
    ]
    p.write_text(json.dumps(lines))
    r = CliRunner().invoke(_app(), ["subtitles", str(p), "--to", "srt", "--out", str(tmp_path), "--strict"])
    assert r.exit_code == 1, r.output
    assert "reading_speed" in r.output and "00:00:00:00" in r.output
    assert (tmp_path / "script_en.srt").is_file()
