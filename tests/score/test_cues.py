"""Music cues and tempo maps: the shared types every scoring step uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posthouse.core.errors import UsageError
from posthouse.score.cues import HitPoint, MusicCue, parse_cue_id, read_cues
from posthouse.score.tempomap import TempoChange, TempoMap


def test_cue_ids_times_and_validation() -> None:
    assert parse_cue_id("2m10a") == (2, 10, "A")
    with pytest.raises(UsageError, match="not a cue ID"):
        parse_cue_id("M1")
    cue = MusicCue("1M2", 100, 1900, (HitPoint(1000, "beat", "door"),), title="Chase")
    times = cue.times("29.97", 107892, drop=True)  # 01:00:00;00 at 29.97 DF
    assert times.start == "01:00:03;10" and times.hits == ("01:00:33;10",)
    assert times.duration == "00:01:00:00"  # a length is never labelled drop-frame
    with pytest.raises(UsageError, match="outside"):
        MusicCue("1M3", 0, 10, (HitPoint(10),))
    with pytest.raises(UsageError, match="usage"):
        MusicCue("1M3", 0, 10, usage="loud")


def test_cue_json_round_trip_and_plain_lists(tmp_path: Path) -> None:
    cue = MusicCue("1M1", 24, 300, (HitPoint(100), HitPoint(150, "any")), title="Open", composer="A. B.")
    assert MusicCue.from_dict(cue.to_dict()) == cue
    plain = tmp_path / "cues.json"
    plain.write_text(json.dumps([{"cue_id": "1M1", "start": 0, "end": 48, "hits": [{"frame": 12}]}]))
    (read,) = read_cues(plain)
    assert read.hits == (HitPoint(12),) and read.usage == "background"
    plain.write_text(json.dumps({"cues": [{"cue_id": "1M1", "start": 50, "end": 48}]}))
    with pytest.raises(UsageError, match="cue 1"):
        read_cues(plain)


def test_tempo_map_bars_beats_and_seconds() -> None:
    tmap = TempoMap((TempoChange(1, 1, 120), TempoChange(3, 1, 60)), (4, 4), offset_s=0.5)
    assert tmap.seconds_at(1) == 0.5 and tmap.seconds_at(3) == 4.5 and tmap.seconds_at(4) == 8.5
    assert tmap.position_at(5.5) == (3, 2.0)
    assert list(tmap.beat_times(2.0)) == [0.5, 1.0, 1.5, 2.0]
    assert tmap.bpm_at(4.4) == 120 and tmap.bpm_at(4.5) == 60
    assert TempoMap.from_dict(tmap.to_dict()) == tmap
    six_eight = TempoMap.constant(90, (6, 8))
    assert six_eight.bar_beat(7) == (2, 2.0)
    with pytest.raises(UsageError, match="bar 1 beat 1"):
        TempoMap((TempoChange(2, 1, 100),))
    with pytest.raises(UsageError, match="in order"):
        TempoMap((TempoChange(1, 1, 100), TempoChange(1, 1, 90)))
