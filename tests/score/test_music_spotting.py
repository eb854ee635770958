"""Spotting: the music cue list from the cut's markers; CSV/HTML/JSON; the CSV round trip; the CLI.

(Named ``test_music_spotting.py``: ``tests/sound/test_spotting.py`` already takes the module name.)
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import opentimelineio as otio
import pytest
import typer
from opentimelineio.opentime import RationalTime as RT
from opentimelineio.opentime import TimeRange as TR
from typer.testing import CliRunner

from posthouse.core.errors import UsageError
from posthouse.core.time import Rate, Timecode
from posthouse.score.cues import HitPoint, MusicCue
from posthouse.score.spotting import (
    CueList,
    classify_marker,
    cue_list_csv,
    cue_list_html,
    load_cues,
    read_cue_list,
    save_cues,
    spot_cues,
    write_cue_list,
)

R23 = 24000 / 1001
R29 = 30000 / 1001


def _marker(
    name: str, at: float, dur: float = 0, rate: float = R23, comment: str = "", **meta: object
) -> otio.schema.Marker:
    return otio.schema.Marker(
        name=name,
        marked_range=TR(RT(at, rate), RT(dur, rate)),
        comment=comment,
        metadata={"posthouse": dict(meta)} if meta else {},
    )


def _cut(rate: float = R23, start: int = 86400, **tl_meta: object) -> otio.schema.Timeline:
    """Three 240-frame shots on V1; clip sources start at 1000, 2000, 3000 (then trimmed)."""
    tl = otio.schema.Timeline("reel one", global_start_time=RT(start, rate))
    if tl_meta:
        tl.metadata["posthouse"] = dict(tl_meta)
    v1 = otio.schema.Track("V1")
    tl.tracks.append(v1)
    for i in range(3):
        v1.append(otio.schema.Clip(f"shot{i + 1}", source_range=TR(RT(1000 * (i + 1), rate), RT(240, rate))))
    return tl


def _marked_cut() -> otio.schema.Timeline:
    tl = _cut()
    v1 = tl.tracks[0]
    tl.tracks.markers.extend(
        [
            _marker("MUSIC IN", 24, comment="Opening theme | usage: theme | composer: A. Writer"),
            _marker("HIT", 48, comment="door <slams> & rattles"),
            _marker("MUSIC OUT", 96),
            _marker("SC 1", 10),  # not music
            # what `posthouse edit marker --note "MUSIC OUT: stinger"` writes: no name, a note
            _marker("", 400, note="MUSIC OUT: stinger"),
            _marker("MUSIC", 500, 100, comment="Radio song | source | usage: visual vocal"),
        ]
    )
    # clip markers sit in source time: shot1 starts at source 1000 (record 0), shot2 at 2000 (record 240)
    v1[0].markers.append(_marker("HIT beat", 1000 + 72, comment="car door"))
    v1[1].markers.append(_marker("M IN", 2000 + 10, comment="Chase"))
    v1[1].markers.append(_marker("HIT any", 2000 + 100))
    v1[2].markers.append(_marker("HIT", 2990))  # before shot3's source range: trimmed out of the cut
    return tl


def test_markers_become_numbered_cues_with_timecode_and_hits() -> None:
    cues = spot_cues(_marked_cut())
    assert [c.cue_id for c in cues.cues] == ["1M1", "1M2", "1M3"]
    m1, m2, m3 = cues.cues
    assert (m1.start, m1.end, m1.title, m1.usage, m1.composer) == (
        24,
        96,
        "Opening theme",
        "theme",
        "A. Writer",
    )
    assert m1.hits == (
        HitPoint(48, "downbeat", "door <slams> & rattles"),
        HitPoint(72, "beat", "car door"),
    )
    assert (m2.start, m2.end, m2.title, m2.description) == (250, 400, "Chase", "out: stinger")
    assert m2.hits == (HitPoint(340, "any", ""),)
    assert (m3.start, m3.end, m3.title, m3.source, m3.usage) == (500, 600, "Radio song", True, "visual vocal")
    assert cues.warnings == []
    t1 = m1.times(cues.rate, cues.start_frame)
    assert (t1.start, t1.end, t1.duration, t1.hits) == (
        "01:00:01:00",
        "01:00:04:00",
        "00:00:03:00",
        ("01:00:02:00", "01:00:03:00"),
    )
    assert cues.tc(m2.start) == "01:00:10:10" and cues.tc(m2.end) == "01:00:16:16"
    assert cues.duration_tc(m3.duration) == "00:00:04:04"


def test_reels_and_fixed_ids() -> None:
    tl = _cut(reel="R2")
    tl.tracks.markers.extend(
        [
            _marker("MUSIC", 10, 20),
            _marker("MUSIC", 40, 20, cue_id="2M1"),  # fixed: the numbering steps over it
            _marker("MUSIC", 70, 20),
            _marker("REEL 3", 300),
            _marker("MUSIC", 400, 20),
        ]
    )
    assert [c.cue_id for c in spot_cues(tl).cues] == ["2M2", "2M1", "2M3", "3M1"]
    assert [c.cue_id for c in spot_cues(tl, reel=5).cues] == ["5M1", "2M1", "5M2", "3M1"]


def test_drop_frame_labels_at_29_97() -> None:
    rate = Rate.parse("29.97")
    start = Timecode.parse("01:00:00;00", rate).frames
    assert start == 107892
    tl = _cut(R29, start, drop_frame=True)
    # record frame 1798 is 01:00:59;28; the minute drops ;00 and ;01, so 1810 is 01:01:00;12
    tl.tracks.markers.extend(
        [_marker("M IN", 1798, rate=R29), _marker("HIT", 1800, rate=R29), _marker("M OUT", 1810, rate=R29)]
    )
    cues = spot_cues(tl)
    (c,) = cues.cues
    t = c.times(cues.rate, cues.start_frame, cues.drop)
    assert (t.start, t.end, t.hits) == ("01:00:59;28", "01:01:00;12", ("01:01:00;02",))
    assert cues.tc(c.start) == t.start
    assert spot_cues(tl, drop=False).tc(1810) == "01:00:56:22"  # the same frame, labelled non-drop
    with pytest.raises(UsageError, match="no drop-frame"):
        spot_cues(_cut(), drop=True)


def test_drop_frame_csv_round_trip(tmp_path: Path) -> None:
    rate = Rate.parse("29.97")
    tl = _cut(R29, 107892, drop_frame=True)
    tl.tracks.markers.extend([_marker("MUSIC", 1798, 400, rate=R29), _marker("HIT beat", 1800, rate=R29)])
    cues = spot_cues(tl)
    csv_path, _, _ = write_cue_list(cues, tmp_path)
    assert "01:00:59;28,01:01:13;10,00:00:13:10,01:01:00;02/b" in csv_path.read_text()
    back = read_cue_list(csv_path, rate=rate, start_frame=107892)
    assert back.drop and back.cues == cues.cues and cue_list_csv(back) == csv_path.read_text()


def test_markers_duplicated_on_linked_clips_count_once() -> None:
    tl = _cut()
    a1 = otio.schema.Track("A1", kind=otio.schema.TrackKind.Audio)
    a1.append(otio.schema.Clip("shot1 sound", source_range=TR(RT(1000, R23), RT(240, R23))))
    tl.tracks.append(a1)
    for track in tl.tracks:
        track[0].markers.extend([_marker("MUSIC IN", 1010), _marker("HIT", 1020), _marker("MUSIC OUT", 1100)])
    tl.tracks.markers.append(_marker("MUSIC IN: other words", 10))
    cues = spot_cues(tl)
    assert [(c.start, c.end, len(c.hits)) for c in cues.cues] == [(10, 100, 1)]
    assert cues.cues[0].title == "other words" and "merged" in cues.warnings[0]


def test_marker_kinds_and_metadata() -> None:
    assert classify_marker(_marker("m-out", 0)).kind == "out"
    assert classify_marker(_marker("Music_In: x", 0)).text == "x"
    assert classify_marker(_marker("MUSIC", 0, 20), 20).kind == "cue"
    assert classify_marker(_marker("MUSIC", 0)).kind == "in"
    assert classify_marker(_marker("Maya close-up", 0)).kind is None
    assert classify_marker(_marker("MIX NOTE", 0)).kind is None
    for note in ("Music in this scene is too loud", "Hit the lights", "Music cue too long", "Minor fix"):
        assert classify_marker(_marker("", 0, note=note)).kind is None, note
    assert classify_marker(_marker("M IN | usage: theme", 0)).text == "| usage: theme"
    assert classify_marker(_marker("music - out", 0)).kind == "out"
    spot = classify_marker(_marker("Theme", 0, 48, cue="music", note="big theme"), 48)
    assert (spot.kind, spot.text) == ("cue", "big theme")
    hit = classify_marker(_marker("", 0, note="HIT beat: gunshot"))
    assert (hit.kind, hit.hit_kind, hit.text) == ("hit", "beat", "gunshot")


def test_unpaired_markers_warn() -> None:
    tl = _cut()
    tl.tracks.markers.extend(
        [
            _marker("MUSIC OUT", 5),
            _marker("HIT", 8),
            _marker("MUSIC IN", 10),
            _marker("MUSIC IN", 50),
            _marker("HIT", 60),  # on the cue's out frame: belongs to it, out moves on one frame
            _marker("MUSIC OUT", 60),
            _marker("MUSIC IN", 600),
        ]
    )
    cues = spot_cues(tl)
    assert [(c.cue_id, c.start, c.end) for c in cues.cues] == [
        ("1M1", 10, 50),
        ("1M2", 50, 61),
        ("1M3", 600, 720),
    ]
    assert cues.cues[1].hits == (HitPoint(60),)
    text = "\n".join(cues.warnings)
    assert "no open cue" in text and "outside every music cue" in text
    assert "no MUSIC OUT before the next" in text and "never closed" in text


def test_csv_html_json_round_trip(tmp_path: Path) -> None:
    cues = spot_cues(_marked_cut())
    csv_path, html_path, json_path = write_cue_list(cues, tmp_path / "score")
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert (
        rows[0]["cue"] == "1M1" and rows[0]["start"] == "01:00:01:00" and rows[0]["duration"] == "00:00:03:00"
    )
    assert rows[0]["hits"] == "01:00:02:00/d[door <slams> & rattles] 01:00:03:00/b[car door]"
    back = read_cue_list(csv_path, rate="23.976", start_frame=86400)
    assert back.cues == cues.cues and back.warnings == []
    assert load_cues(json_path).cues == cues.cues
    assert json.loads(json_path.read_text())["cues"][1]["start_tc"] == "01:00:10:10"
    page = html_path.read_text()
    assert "door &lt;slams&gt; &amp; rattles" in page and "<slams>" not in page
    assert "@media print" in page and "3 cues" in page


def test_edited_csv_comes_back(tmp_path: Path) -> None:
    cues = spot_cues(_marked_cut())
    path = tmp_path / "cues.csv"
    text = cue_list_csv(cues)
    text = text.replace("Opening theme", '"Main Title, extended"').replace("01:00:02:00/d", "01:00:02:12/d")
    text = text.replace("01:00:16:16,00:00:06:06", "01:00:17:00,00:00:06:06")  # end moved, length stale
    text += '1M2A,"Insert, new",01:00:17:00,,00:00:02:00,,"two\nlines",bv,,,\n'
    path.write_text(text, encoding="utf-8")
    back = read_cue_list(path, rate="23.976", start_frame=86400)
    m1 = back.find("1m1")
    assert m1.title == "Main Title, extended" and m1.hits[0] == HitPoint(
        60, "downbeat", "door <slams> & rattles"
    )
    assert back.find("1M2").end == 408 and "end kept" in back.warnings[0]
    ins = back.find("1M2A")
    assert (ins.start, ins.end, ins.usage, ins.description) == (408, 456, "background vocal", "two\nlines")
    assert [c.cue_id for c in back.cues] == ["1M1", "1M2", "1M2A", "1M3"]


def test_excel_semicolon_csv_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "cues.csv"
    path.write_text("\ufeffCue;Title;Start TC;End TC\n1M1;Rain;01:00:01:00;01:00:02:00\n", encoding="utf-8")
    (c,) = read_cue_list(path, rate="23.976", start_frame=86400).cues
    assert (c.cue_id, c.title, c.start, c.end) == ("1M1", "Rain", 24, 48)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1M3,x,01:00:30:00,01:00:29:00,,,,,,,", "not after start"),
        ("1M3,x,01:00:30:99,01:00:31:00,,,,,,,", "start"),
        ("1M3,x,01:00:30:00,01:00:31:00,,01:00:40:00/d,,,,,", "outside the cue"),
        ("1M3,x,01:00:30:00,01:00:31:00,,01:00:30:05/q,,,,,", "hit kind"),
        ("1M3,x,01:00:30:00,01:00:31:00,,soon,,,,,", "cannot read hit"),
        ("1M3,x,01:00:30:00,01:00:31:00,,,,muzak,,,", "usage"),
        ("1M3,x,01:00:30:00,01:00:31:00,,,,,maybe,,", "source"),
        ("M3,x,01:00:30:00,01:00:31:00,,,,,,,", "not a cue ID"),
        ("1M1,x,01:00:30:00,01:00:31:00,,,,,,,", "also on line 2"),
        ("1M3,x,00:59:59:00,01:00:31:00,,,,,,,", "before the cut's start"),
    ],
)
def test_malformed_rows_name_their_line(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "cues.csv"
    good = '1M1,"a\nmultiline title",01:00:01:00,01:00:02:00,,,,,,,'
    header = "cue,title,start,end,duration,hits,description,usage,source,composer,publisher"
    path.write_text(f"{header}\n{good}\n\n{row}\n")
    with pytest.raises(UsageError, match=message) as info:
        read_cue_list(path, rate="23.976", start_frame=86400)
    assert info.value.path == str(path) and info.value.where == "line 5"


def test_not_a_cue_list(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,value\na,b\n")
    with pytest.raises(UsageError, match="no cue, start column") as info:
        read_cue_list(path, rate="24", start_frame=0)
    assert info.value.where == "line 1"


def test_json_keeps_everything(tmp_path: Path) -> None:
    cue = MusicCue("1M1", 0, 48, (HitPoint(10, "beat", "x"),), title="T", publisher="P", metadata={"k": 1})
    saved = save_cues(CueList([cue], Rate.parse("25"), 90000, title="film"), tmp_path / "c.json")
    back = load_cues(saved)
    assert back.cues == [cue] and back.cues[0].metadata == {"k": 1}
    assert (str(back.rate), back.start_frame, back.title) == ("25", 90000, "film")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(UsageError, match=r"not a posthouse cues\.json"):
        load_cues(tmp_path / "bad.json")


def test_empty_cut_gives_an_empty_list() -> None:
    cues = spot_cues(_cut())
    assert cues.cues == [] and "No music cues spotted" in cue_list_html(cues)


# --------------------------------------------------------------------------------------------- CLI


def test_cli_spot_from_project_cut_and_csv_round_trip(tmp_path: Path) -> None:
    from posthouse.cli import score_spot
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutStore

    project = Project.init(tmp_path / "film", fps="23.976", name="the-film")
    CutStore(project.root / "cuts").save("reel1", _marked_cut(), message="lock")
    app = typer.Typer()
    app.command("spot")(score_spot.spot)
    app.command("cuesheet")(score_spot.cuesheet)
    runner = CliRunner()
    proj = ["--project", str(project.root)]
    res = runner.invoke(app, ["spot", "reel1@v1", "--json", *proj])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    folder = project.root / "score" / "reel1_v001"
    assert Path(data["csv"]) == folder / "cues.csv" and (folder / "cues.html").exists()
    assert [c["cue_id"] for c in data["cues"]] == ["1M1", "1M2", "1M3"]

    # the music editor edits the CSV: spot refuses to overwrite it
    edited = (folder / "cues.csv").read_text().replace("Chase", "Rooftop chase")
    (folder / "cues.csv").write_text(edited)
    later = (folder / "cues.json").stat().st_mtime + 5
    os.utime(folder / "cues.csv", (later, later))
    res = runner.invoke(app, ["spot", "reel1@v1", *proj])
    assert res.exit_code == 2 and "--from-csv" in res.output
    res = runner.invoke(app, ["spot", "reel1@v1", "--from-csv", str(folder / "cues.csv"), "--json", *proj])
    assert res.exit_code == 0, res.output
    assert load_cues(folder / "cues.json").find("1M2").title == "Rooftop chase"
    res = runner.invoke(app, ["spot", "reel1", "--force", *proj])
    assert res.exit_code == 0 and load_cues(folder / "cues.json").find("1M2").title == "Chase"

    res = runner.invoke(app, ["cuesheet", "reel1@v1", "--company", "Acme & Co", "--json", *proj])
    assert res.exit_code == 0, res.output
    sheet = json.loads(res.stdout)
    assert [r["cue"] for r in sheet["rows"]] == ["1M1", "1M2", "1M3"]
    assert "Acme &amp; Co" in (folder / "cue_sheet.html").read_text()
    assert "the-film" in (folder / "cue_sheet.html").read_text()
