"""Tempo solving: hits made within a frame, misses reported truthfully, bars|beats ↔ timecode, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from posthouse.core.errors import UsageError
from posthouse.core.time import Timecode
from posthouse.score.cues import HitPoint, MusicCue
from posthouse.score.tempo import (
    TempoSolution,
    bars_beats_to_timecode,
    solve_cue,
    solve_tempo,
    timecode_to_bars_beats,
)
from posthouse.score.tempomap import TempoChange, TempoMap

FPS_23 = 24000 / 1001


# ------------------------------------------------------------------------------- independent checking


def _beat_seconds(doc: dict[str, Any], count: int) -> np.ndarray:
    """Seconds of beat indices −8 … count−9 from the JSON map alone (its own arithmetic, not TempoMap's)."""
    num = int(doc["meter"].split("/")[0])
    changes = sorted(((t["bar"] - 1) * num + (t["beat"] - 1), t["bpm"]) for t in doc["tempos"])
    out = []
    for i in range(-8, count - 8):
        t, pos = doc["offset_s"], 0.0
        if i < 0:
            out.append(t + i * 60.0 / changes[0][1])
            continue
        for k, (start, bpm) in enumerate(changes):
            stop = changes[k + 1][0] if k + 1 < len(changes) else float("inf")
            span = min(i, stop) - start
            if span <= 0:
                break
            t += span * 60.0 / bpm
            pos = start + span
        assert pos == i or i == 0
        out.append(t)
    return np.array(out)


def _check_truthful(sol: TempoSolution, hits: list[HitPoint], fps: float, cue_start: int = 0) -> None:
    """Every reported error and made/missed flag agrees with a recomputation from the JSON map."""
    doc = sol.to_dict()
    num = int(doc["meter"].split("/")[0])
    last = max(h.frame for h in hits) - cue_start
    beats = _beat_seconds(doc, int(last / fps / (60.0 / 400.0)) + 32)
    index = np.arange(-8, beats.size - 8)
    by_frame = {h["frame"]: h for h in doc["hits"]}
    misses = {h["frame"] for h in doc["misses"]}
    for hit in hits:
        t = (hit.frame - cue_start) / fps
        allowed = beats[(index % num == 0)] if hit.kind == "downbeat" else beats
        err = (allowed[np.argmin(np.abs(allowed - t))] - t) * fps
        rep = by_frame[hit.frame]
        assert rep["error_frames"] == pytest.approx(err, abs=2e-3)
        made = hit.kind == "any" or abs(err) <= sol.tolerance + 1e-6
        assert rep["made"] == made
        assert (hit.frame in misses) == (not made)


def _random_cue(rng: np.random.Generator, meter: tuple[int, int]) -> tuple[TempoMap, list[HitPoint]]:
    """Hits on beats of a random map (0–2 tempo changes, maybe a pickup), jittered under half a frame."""
    bpb = meter[0]
    changes = [TempoChange(1, 1.0, round(float(rng.uniform(60, 160)), 3))]
    bar = 1
    for _ in range(int(rng.integers(0, 3))):
        bar += int(rng.integers(3, 10))
        changes.append(TempoChange(bar, 1.0, round(float(rng.uniform(60, 160)), 3)))
    pickup = int(rng.integers(0, bpb)) if rng.random() < 0.3 else 0
    tmap = TempoMap(tuple(changes), meter, pickup * 60.0 / changes[0].bpm)
    beats = np.arange(-pickup, (bar + 6) * bpb)
    chosen = np.sort(rng.choice(beats[beats > -pickup], size=int(rng.integers(2, 12)), replace=False))
    secs = np.asarray(tmap.seconds_at_index(chosen.astype(float)))
    frames = np.rint(secs * FPS_23 + rng.uniform(-0.45, 0.45, secs.size)).astype(int)
    hits: dict[int, HitPoint] = {}
    for f, i in zip(frames.tolist(), chosen.tolist(), strict=True):
        kind = "downbeat" if i % bpb == 0 and rng.random() < 0.7 else "beat"
        hits.setdefault(f, HitPoint(f, kind))
    return tmap, list(hits.values())


# ------------------------------------------------------------------------------------------- solving


def test_hits_from_random_maps_are_made_within_a_frame() -> None:
    rng = np.random.default_rng(7)
    total = made = 0
    for n in range(200):
        meter = (4, 4) if n % 3 else (3, 4)
        tmap, hits = _random_cue(rng, meter)
        sol = solve_tempo(hits, "23.976", meter=meter)
        _check_truthful(sol, hits, FPS_23)
        total += len(hits)
        made += len(hits) - len(sol.misses)
        # as few changes as possible: never more than the map the hits came from
        assert sol.changes <= len(tmap.changes) - 1
    assert made / total >= 0.95


def test_single_tempo_and_meter_are_found() -> None:
    rng = np.random.default_rng(3)
    for meter in ((4, 4), (3, 4), (4, 4), (3, 4)):
        bpm = float(rng.uniform(70, 150))
        tmap = TempoMap.constant(bpm, meter)
        idx = np.array([meter[0] * b for b in (2, 5, 9, 12)] + [3 * meter[0] + 1])
        secs = np.asarray(tmap.seconds_at_index(idx.astype(float)))
        hits = [
            HitPoint(int(f), "downbeat" if i % meter[0] == 0 else "beat")
            for f, i in zip(np.rint(secs * 24).astype(int).tolist(), idx.tolist(), strict=True)
        ]
        sol = solve_tempo(hits, 24)
        assert sol.changes == 0 and not sol.misses
        assert sol.tempo_map.meter == meter
        ratio = sol.tempo_map.changes[0].bpm / bpm  # sparse hits also fit double or half time
        assert min(abs(ratio - k) for k in (0.5, 1.0, 2.0)) < 0.01
        _check_truthful(sol, hits, 24.0)


def test_hits_at_random_frames_get_a_tempo_map() -> None:
    """The synthetic cut's case: hit points at random frames (no map behind them)."""
    rng = np.random.default_rng(11)
    total = made = 0
    for _ in range(25):
        frames = np.cumsum(rng.integers(36, 200, int(rng.integers(2, 9))))
        hits = [HitPoint(int(f), str(rng.choice(["downbeat", "beat"]))) for f in frames]
        sol = solve_tempo(hits, 24)
        _check_truthful(sol, hits, 24.0)
        total += len(hits)
        made += len(hits) - len(sol.misses)
        bpms = [c.bpm for c in sol.tempo_map.changes]
        assert all(40.0 <= b <= 208.0 for b in bpms)
    assert made / total >= 0.95


def test_impossible_hits_are_reported_never_silently_wrong() -> None:
    hits = [HitPoint(0), HitPoint(48), HitPoint(50), HitPoint(53, "beat"), HitPoint(100, "beat")]
    sol = solve_tempo(hits, 24, meter="4/4")
    _check_truthful(sol, hits, 24.0)
    assert sol.misses and {h.frame for h in sol.misses} <= {48, 50, 53}
    assert any("closer than" in w for w in sol.warnings)
    assert all(abs(h.error_frames) > 1.0 for h in sol.misses)

    # two tempos cannot be made by one: with max_changes=0 the misses say so
    tmap = TempoMap((TempoChange(1, 1.0, 90.0), TempoChange(4, 1.0, 140.0)))
    idx = np.array([4.0, 8.0, 12.0, 16.0, 20.0, 24.0, 28.0])
    frames = np.rint(np.asarray(tmap.seconds_at_index(idx)) * 24).astype(int)
    hits = [HitPoint(int(f)) for f in frames]
    capped = solve_tempo(hits, 24, meter="4/4", max_changes=0)
    assert capped.changes == 0 and capped.misses
    _check_truthful(capped, hits, 24.0)
    free = solve_tempo(hits, 24, meter="4/4")
    assert not free.misses and free.changes == 1
    _check_truthful(free, hits, 24.0)


def test_edge_cases() -> None:
    one = solve_tempo([HitPoint(100)], 24)
    assert not one.misses and one.changes == 0
    at_start = solve_tempo([HitPoint(0), HitPoint(0, "beat")][:1], 24)
    assert at_start.hits[0].bar == 1 and at_start.hits[0].beat == 1 and at_start.hits[0].error_frames == 0
    soft = solve_tempo([HitPoint(30, "any")], 24)
    assert not soft.misses and soft.hits[0].made
    with pytest.raises(UsageError):
        solve_tempo([HitPoint(10)], 24, cue_start=20)
    with pytest.raises(UsageError):
        solve_tempo([HitPoint(10)], 24, meter="4/5")
    with pytest.raises(UsageError):
        solve_tempo([HitPoint(10)], 24, tolerance=0)


def test_pickup_when_the_hits_ask_for_it() -> None:
    # downbeats 1 s and 3 s after the cue start at 120 bpm: bar 1 starts two beats after the cue start
    sol = solve_tempo([HitPoint(24), HitPoint(72)], 24, meter="4/4", prefer_bpm=120)
    assert not sol.misses and sol.tempo_map.offset_s > 0
    assert sol.hits[0].beat == sol.hits[1].beat == 1 and sol.hits[0].bar < sol.hits[1].bar


def test_drop_frame_labels_and_cue() -> None:
    cue = MusicCue("1M1", 1000, 2000, (HitPoint(1100), HitPoint(1400, "beat"), HitPoint(1700)))
    sol = solve_cue(cue, "29.97", cut_start="00:59:58;00")
    assert all(";" in h.timecode for h in sol.hits)
    start = Timecode.parse("00:59:58;00", "29.97")
    assert sol.hits[0].timecode == str(Timecode(start.frames + 1100, start.rate, True)) == "01:00:34;20"
    _check_truthful(sol, list(cue.hits), 30000 / 1001, cue_start=1000)


def test_bars_beats_timecode_round_trip() -> None:
    tmap = TempoMap((TempoChange(1, 1.0, 96.0), TempoChange(5, 3.0, 132.0)), (4, 4), 0.25)
    for bar, beat in ((1, 1.0), (3, 2.0), (5, 3.0), (9, 4.0)):
        tc = bars_beats_to_timecode(tmap, bar, beat, "23.976", cue_start=240, cut_start="01:00:00:00")
        back_bar, back_beat = timecode_to_bars_beats(
            tmap, tc, "23.976", cue_start=240, cut_start="01:00:00:00"
        )
        beats_per_frame = max(c.bpm for c in tmap.changes) / 60.0 / FPS_23
        got = (back_bar - 1) * 4 + back_beat
        assert got == pytest.approx((bar - 1) * 4 + beat, abs=beats_per_frame / 2 + 1e-9)


# ------------------------------------------------------------------------------------------------ CLI


def _app() -> typer.Typer:
    from posthouse.cli import score_tempo

    app = typer.Typer()
    sub = typer.Typer()
    sub.command("tempo")(score_tempo.tempo)
    app.add_typer(sub, name="score")
    return app


def test_cli_json_click_and_midi(tmp_path: Path) -> None:
    runner = CliRunner()
    click, midi = tmp_path / "1M1_click.wav", tmp_path / "1M1.mid"
    args = [
        "score",
        "tempo",
        "--hits",
        "01:00:10:00,01:00:12:00/beat,01:00:14:00=door slam",
        "--rate",
        "23.976",
        "--start",
        "01:00:10:00",
        "--click",
        str(click),
        "--midi",
        str(midi),
        "--json",
    ]
    res = runner.invoke(_app(), args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["meter"] in ("4/4", "3/4", "6/8", "2/4") and doc["tempos"][0]["bar"] == 1
    assert {"bpm", "bar", "beat"} <= set(doc["tempos"][0])
    assert [h["timecode"] for h in doc["hits"]] == ["01:00:10:00", "01:00:12:00", "01:00:14:00"]
    assert all({"timecode", "bar", "beat", "error_frames"} <= set(h) for h in doc["hits"])
    assert doc["misses"] == [] and doc["hits"][2]["label"] == "door slam"
    assert click.exists() and midi.exists() and doc["click"]["clicks"] > 4

    res = runner.invoke(_app(), ["score", "tempo", "--hits", "01:00:10:00,01:00:10:02", "--rate", "24"])
    assert res.exit_code == 0, res.output
    assert "MISSED" in res.stdout

    res = runner.invoke(_app(), ["score", "tempo", "--hits", "01:00:10:00/sometimes", "--rate", "24"])
    assert res.exit_code == 2 and "--hits" in res.output


def test_solution_json_reads_back(tmp_path: Path) -> None:
    sol = solve_tempo(
        [HitPoint(0), HitPoint(40, "beat", "glance"), HitPoint(96)], 24, cut_start="01:00:00:00"
    )
    doc = json.loads(sol.write_json(tmp_path / "1M1" / "tempo.json").read_text())
    assert TempoMap.from_dict(doc) == sol.tempo_map
    assert [h["timecode"] for h in doc["hits"]] == ["01:00:00:00", "01:00:01:16", "01:00:04:00"]
    at, text = sol.markers()[1]
    assert at == pytest.approx(40 / 24) and text == "glance 01:00:01:16"
