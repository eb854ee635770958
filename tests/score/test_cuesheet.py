"""The music cue sheet: rows from the final cut's music tracks, PRO durations, totals, CSV and HTML."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest
import typer
from opentimelineio.opentime import RationalTime as RT
from opentimelineio.opentime import TimeRange as TR
from typer.testing import CliRunner

from posthouse.core.errors import UsageError
from posthouse.core.time import Rate
from posthouse.score.cues import MusicCue
from posthouse.score.cuesheet import (
    Party,
    cue_sheet_csv,
    cue_sheet_from_cues,
    cue_sheet_from_timeline,
    cue_sheet_html,
    format_mmss,
    is_music_track,
    parse_parties,
    pro_seconds,
    write_cue_sheet,
)
from posthouse.score.spotting import CueList

R23 = 24000 / 1001


def _clip(name: str, frames: int, **meta: Any) -> otio.schema.Clip:
    clip = otio.schema.Clip(name, source_range=TR(RT(0, R23), RT(frames, R23)))
    clip.metadata["posthouse"] = meta
    return clip


def _gap(frames: int) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=TR(RT(0, R23), RT(frames, R23)))


def _final_cut() -> otio.schema.Timeline:
    """23.976 from 01:00:00:00: a 1000-frame V1, music on MX1 (stem metadata) and MX2 (by name)."""
    tl = otio.schema.Timeline("Episode 101", global_start_time=RT(86400, R23))
    v1 = otio.schema.Track("V1")
    v1.append(otio.schema.Clip("picture", source_range=TR(RT(0, R23), RT(1000, R23))))
    mx1 = otio.schema.Track(
        "Score", kind=otio.schema.TrackKind.Audio, metadata={"posthouse": {"stem": "music"}}
    )
    writers = "Jane Doe (ASCAP) 50%; John Roe (BMI) 50%"
    mx1.extend(
        [
            _gap(24),
            # 1M1 edited in two touching pieces: one use, 48 frames = 2.002 s → listed 00:03
            _clip(
                "1M1 a",
                24,
                cue_id="1M1",
                title="Main Title",
                composer=writers,
                usage="MT",
                publisher="Doe Songs (ASCAP) 50%; Roe Music (BMI) 50%",
            ),
            _clip("1M1 b", 24, cue_id="1M1"),
            _gap(100),
            # no cue_id: takes the spotted cue it overlaps (1M2)
            _clip("chase_v3.wav", 240),
            _gap(100),
            # 1M1 again later: a second use of the same cue
            _clip("1M1 reprise", 24, cue_id="1M1", title="Main Title"),
        ]
    )
    mx2 = otio.schema.Track("MX2", kind=otio.schema.TrackKind.Audio)
    mx2.extend(
        [
            _gap(600),
            _clip(
                "radio",
                100,
                cue_id="1M3",
                title="Love & <Rockets>",
                composer="Ann Bee",
                pro="PRS",
                share="100",
                publisher="Bee Pub (PRS)",
                usage="visual vocal",
                source=True,
                rights_holder="Groove Records Ltd",
            ),
        ]
    )
    muted = otio.schema.Track("MX3", kind=otio.schema.TrackKind.Audio, metadata={"posthouse": {"mute": True}})
    muted.append(_clip("temp love theme", 500, cue_id="9M9", title="Temp"))
    dx = otio.schema.Track("DX1", kind=otio.schema.TrackKind.Audio)
    dx.append(_clip("dialogue", 1000))
    tl.tracks.extend([v1, mx1, mx2, muted, dx])
    return tl


def _spotted() -> CueList:
    cues = [
        MusicCue("1M1", 24, 72, title="Main Title"),
        MusicCue("1M2", 150, 400, title="Rooftop Chase", composer="Jane Doe (ASCAP)", usage="background"),
    ]
    return CueList(cues, Rate.parse("23.976"), 86400, title="Episode 101")


def test_rows_from_music_tracks() -> None:
    sheet = cue_sheet_from_timeline(_final_cut(), cues=_spotted())
    assert [(r.cue_id, r.start, r.end) for r in sheet.rows] == [
        ("1M1", 24, 72),
        ("1M2", 172, 412),
        ("1M1", 512, 536),
        ("1M3", 600, 700),
    ]
    m1, m2, reprise, m3 = sheet.rows
    assert m1.title == "Main Title" and m1.usage == "theme"
    assert m1.composers == (Party("Jane Doe", "ASCAP", 50.0), Party("John Roe", "BMI", 50.0))
    assert m1.publishers == (Party("Doe Songs", "ASCAP", 50.0), Party("Roe Music", "BMI", 50.0))
    assert (m2.title, m2.composers) == ("Rooftop Chase", (Party("Jane Doe", "ASCAP"),))
    assert (reprise.title, reprise.usage, reprise.composers) == ("Main Title", "theme", m1.composers)
    assert m3.source and m3.usage == "visual vocal" and m3.rights_holder == "Groove Records Ltd"
    assert m3.composers == (Party("Ann Bee", "PRS", 100.0),)
    assert sheet.tc(m3.start) == "01:00:25:00" and sheet.tc(m3.end) == "01:00:29:04"
    assert not any("9M9" in w for w in sheet.warnings)  # muted track left out
    assert sheet.warnings == []


def test_pro_durations_round_up() -> None:
    assert pro_seconds(48, "23.976") == 3  # 2.002 s
    assert pro_seconds(48, "24") == 2
    assert pro_seconds(1, "24") == 1 and pro_seconds(0, "24") == 0
    assert format_mmss(3) == "00:03" and format_mmss(5525) == "92:05"
    sheet = cue_sheet_from_timeline(_final_cut(), cues=_spotted())
    assert [sheet.seconds(r) for r in sheet.rows] == [3, 11, 2, 5]  # 240 fr = 10.01 s, 100 fr = 4.17 s
    totals = sheet.totals()
    assert (totals["all"], totals["score"], totals["source"]) == (21, 16, 5)
    assert totals["theme"] == 5 and totals["visual vocal"] == 5 and totals["background"] == 11


def test_clips_without_cue_ids_are_numbered_in_record_order() -> None:
    tl = otio.schema.Timeline("t", global_start_time=RT(0, 24))
    mx = otio.schema.Track("MX1", kind=otio.schema.TrackKind.Audio)
    mx.extend([_clip("a", 24), _gap(24), _clip("b", 24, cue_id="1M1"), _gap(24), _clip("a", 24)])
    tl.tracks.append(mx)
    sheet = cue_sheet_from_timeline(tl)
    assert [(r.cue_id, r.title) for r in sheet.rows] == [("1M2", "a"), ("1M1", "b"), ("1M2", "a")]


def test_party_parsing_and_warnings() -> None:
    assert parse_parties([{"name": "A", "pro": "bmi", "share": 25}, "B (SOCAN) 75%"]) == (
        Party("A", "BMI", 25.0),
        Party("B", "SOCAN", 75.0),
    )
    assert parse_parties("A / B", pro="ASCAP; BMI", share="60;40") == (
        Party("A", "ASCAP", 60.0),
        Party("B", "BMI", 40.0),
    )
    assert parse_parties("") == ()
    with pytest.raises(UsageError, match="not a percentage"):
        parse_parties("A", share="half")
    cues = CueList(
        [MusicCue("1M1", 0, 24, title="x", composer="A (XYZ) 60%; B (BMI) 30%", usage="source", source=True)],
        Rate.parse("24"),
        0,
    )
    text = "\n".join(cue_sheet_from_cues(cues).warnings)
    assert (
        "unknown society 'XYZ'" in text and "add to 90%" in text and "no publisher or rights holder" in text
    )


def test_falls_back_to_the_cue_list_without_music_tracks() -> None:
    tl = otio.schema.Timeline("t", global_start_time=RT(86400, R23))
    tl.tracks.append(otio.schema.Track("V1"))
    sheet = cue_sheet_from_timeline(tl, cues=_spotted())
    assert [(r.cue_id, r.start, r.end) for r in sheet.rows] == [("1M1", 24, 72), ("1M2", 150, 400)]
    assert "spotted cues" in sheet.warnings[0]
    assert cue_sheet_from_timeline(tl).rows == []


def test_csv_and_html(tmp_path: Path) -> None:
    sheet = cue_sheet_from_timeline(_final_cut(), cues=_spotted())
    csv_path, html_path = write_cue_sheet(
        sheet, tmp_path, title="The <Last> Frame", company="Acme & Sons", episode="101 / reel 1"
    )
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    cues, totals = rows[:4], rows[4:]
    assert [r["cue"] for r in cues] == ["1M1", "1M2", "1M1", "1M3"]
    assert cues[0]["composers"] == "Jane Doe (ASCAP) 50%; John Roe (BMI) 50%"
    assert (cues[0]["in"], cues[0]["out"], cues[0]["duration"]) == ("01:00:01:00", "01:00:03:00", "00:03")
    assert cues[3]["title"] == "Love & <Rockets>" and cues[3]["source"] == "yes"
    assert cues[3]["rights holder"] == "Groove Records Ltd"
    assert [(t["cue"], t["title"], t["duration"]) for t in totals[:3]] == [
        ("TOTAL", "all music", "00:21"),
        ("TOTAL", "score", "00:16"),
        ("TOTAL", "source", "00:05"),
    ]
    page = html_path.read_text(encoding="utf-8")
    for escaped in (
        "Love &amp; &lt;Rockets&gt;",
        "The &lt;Last&gt; Frame",
        "Acme &amp; Sons",
        "101 / reel 1",
    ):
        assert escaped in page
    assert "<Rockets>" not in page and "<Last>" not in page and "@media print" in page
    assert cue_sheet_csv(sheet) == csv_path.read_text(encoding="utf-8")
    assert "No music on this cut" in cue_sheet_html(
        cue_sheet_from_timeline(otio.schema.Timeline("e", global_start_time=RT(0, 24)))
    )


def test_music_track_detection() -> None:
    assert is_music_track(otio.schema.Track("MX4", kind=otio.schema.TrackKind.Audio))
    assert not is_music_track(otio.schema.Track("MX4", kind=otio.schema.TrackKind.Video))
    assert not is_music_track(
        otio.schema.Track(
            "MX4", kind=otio.schema.TrackKind.Audio, metadata={"posthouse": {"stem": "effects"}}
        )
    )


def test_cli_cuesheet_from_an_otio_file(tmp_path: Path) -> None:
    from posthouse.cli import score_spot

    path = tmp_path / "final.otio"
    otio.adapters.write_to_file(_final_cut(), str(path))
    app = typer.Typer()
    app.command("spot")(score_spot.spot)
    app.command("cuesheet")(score_spot.cuesheet)
    res = CliRunner().invoke(
        app, ["cuesheet", str(path), "--title", "Film", "--out", str(tmp_path / "o"), "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [r["cue"] for r in data["rows"]] == ["1M1", "1M2", "1M1", "1M3"]
    assert data["totals"]["all"] == "00:21" and (tmp_path / "o" / "cue_sheet.html").exists()
