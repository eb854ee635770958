"""Spotting library effects onto a sound session at markers and cuts, checked by rendering the mix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import typer
from typer.testing import CliRunner

from posthouse.demo.sfx import generate_sfx_library
from posthouse.engine import plan_timeline
from posthouse.engine.audio import iter_mix_blocks
from posthouse.sound.session import audio_tracks, load_session, save_session, session_from_cut
from posthouse.sound.sfxlib import SfxIndex, index_library, load_index
from posthouse.sound.spotting import cut_events, cut_frames, marker_events, spot

RATE = 24
SR = 48000
SHOT_A, SHOT_B = 72, 168  # 3 s and 7 s
TOTAL = SHOT_A + SHOT_B


def _rt(frames: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, RATE)


def _marker(name: str, frame: int, comment: str = "", duration: int = 0, **meta: str) -> otio.schema.Marker:
    m = otio.schema.Marker(
        name=name, marked_range=otio.opentime.TimeRange(_rt(frame), _rt(duration)), comment=comment
    )
    if meta:
        m.metadata["posthouse"] = dict(meta)
    return m


def _cut() -> otio.schema.Timeline:
    """A two-shot cut (V1) with spotting markers on the timeline and one on the first shot."""
    tl = otio.schema.Timeline(name="tiny", global_start_time=_rt(86400 * RATE))
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for name, start, frames in (("A001C001", 1000, SHOT_A), ("A002C004", 5000, SHOT_B)):
        ref = otio.schema.ExternalReference(
            target_url=f"file:///nowhere/{name}.mov",
            available_range=otio.opentime.TimeRange(_rt(0), _rt(10000)),
        )
        v1.append(
            otio.schema.Clip(
                name=name, media_reference=ref, source_range=otio.opentime.TimeRange(_rt(start), _rt(frames))
            )
        )
    tl.tracks.append(v1)
    # on the first shot, at its first frame (source frame 1000): a background for the whole shot
    v1[0].markers.append(_marker("BG", 1000, "wind forest"))
    tl.tracks.markers.extend(
        [
            _marker("SFX", 24, "door knock"),
            _marker("FX whoosh", 30),  # overlaps the knock: goes to FX2
            _marker("FOLEY", 100, "cup"),
            _marker("BG", SHOT_A, "room tone"),  # shorter than the shot: repeats with crossfades
            _marker("hit", 150, "car pass by", cue="sfx"),  # a cue by metadata; runs past the end: trimmed
            _marker("note", 40, "fix the colour here"),  # not a spotting marker
            _marker("SFX", 60),  # no words
            _marker("SFX", 80, "xylophone solo"),  # nothing matches
        ]
    )
    return tl


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SfxIndex:
    root = tmp_path_factory.mktemp("spot")
    generate_sfx_library(root / "library", seed=2)
    path = root / "sfx_index.json"
    index_library([root / "library"], path)
    return load_index(path)


def _clips(track: otio.schema.Track) -> list[tuple[str, int, int]]:
    out = []
    for clip in track.find_clips(shallow_search=True):
        rng = track.range_of_child(clip)
        out.append(
            (
                clip.name.split("_")[0],
                round(rng.start_time.value_rescaled_to(RATE)),
                round(rng.duration.to_seconds() * RATE),
            )
        )
    return out


def _by_track(tl: otio.schema.Timeline) -> dict[str, list[tuple[str, int, int]]]:
    return {t.name: _clips(t) for t in audio_tracks(tl)}


def test_marker_events_read_prefixes_comments_and_metadata() -> None:
    events = marker_events(_cut())
    got = [(e.frame, e.stem, e.query) for e in events]
    assert got == [
        (0, "backgrounds", "wind forest"),
        (24, "effects", "door knock"),
        (30, "effects", "whoosh"),
        (60, "effects", ""),
        (SHOT_A, "backgrounds", "room tone"),
        (80, "effects", "xylophone solo"),
        (100, "foley", "cup"),
        (150, None, "car pass by"),
    ]
    assert cut_frames(_cut()) == [0, SHOT_A]


def test_spot_markers_places_clips_on_stem_tracks(index: SfxIndex, tmp_path: Path) -> None:
    session = session_from_cut(_cut())
    report = spot(session, index, marker_events(session))
    tracks = _by_track(session)
    assert tracks["FX1"] == [("DOORWood", 24, 36), ("VEHCar", 150, TOTAL - 150)]
    assert tracks["FX2"] == [("WHSH", 30, 19)]  # 0.8 s = 19.2 frames: whole frames inside the file
    assert tracks["FOL1"] == [("FOLYProp", 100, 12)]
    # backgrounds: the wind covers shot A; the 4 s room tone repeats over the 7 s shot B, overlapping 12
    assert tracks["BG1"] == [("AMBForst", 0, SHOT_A), ("AMBRoom", SHOT_A, 96)]
    assert tracks["BG2"] == [("AMBRoom", SHOT_A + 96 - 12, TOTAL - (SHOT_A + 84))]
    stems = {t.name: t.metadata["posthouse"]["stem"] for t in audio_tracks(session)}
    assert stems == {
        "FX1": "effects",
        "FX2": "effects",
        "FOL1": "foley",
        "BG1": "backgrounds",
        "BG2": "backgrounds",
    }
    skipped = {(s.event.frame, s.kind) for s in report.skipped}
    assert skipped == {(60, "no-words"), (80, "no-match")}
    # fades: a short one on every clip; the background repeats crossfade over the overlap
    fades = {
        (c.name.split("_")[0], t.name): (
            c.metadata["posthouse"]["fade_in_frames"],
            c.metadata["posthouse"]["fade_out_frames"],
        )
        for t in audio_tracks(session)
        for c in t.find_clips()
    }
    assert fades[("DOORWood", "FX1")] == (1, 1)
    assert fades[("AMBRoom", "BG1")] == (1, 12)
    assert fades[("AMBRoom", "BG2")] == (12, 1)
    # saved and read back by OTIO's own reader: the same clips in the same places
    path = save_session(session, tmp_path / "session.otio")
    again = otio.adapters.read_from_file(str(path))
    assert _by_track(again) == tracks
    # spotting again changes nothing
    before = otio.adapters.write_to_string(session, "otio_json")
    second = spot(session, index, marker_events(session))
    assert not second.placed
    assert {s.kind for s in second.skipped} == {"already-spotted", "no-words", "no-match"}
    assert otio.adapters.write_to_string(session, "otio_json") == before


def _render(session: otio.schema.Timeline) -> tuple[np.ndarray, list[str]]:
    plan = plan_timeline(session)
    problems: list[object] = []
    mix = np.concatenate(list(iter_mix_blocks(plan, per_track=True, problems=problems)), axis=1)  # type: ignore[arg-type]
    assert not problems
    return mix, plan.audio_names


def test_rendered_effect_starts_at_its_marker(index: SfxIndex) -> None:
    session = session_from_cut(_cut())
    spot(session, index, marker_events(session))
    mix, names = _render(session)
    assert mix.shape[1] == TOTAL * SR // RATE
    fx1 = mix[names.index("FX1")]
    marker = 24 * SR // RATE  # the knock's marker, in samples
    assert np.max(np.abs(fx1[:marker])) == 0.0
    loud = np.flatnonzero(np.abs(fx1) > 10 ** (-40 / 20))
    # the first knock is 20 ms into the file
    assert marker + 0.015 * SR <= loud[0] <= marker + 0.03 * SR
    burst = fx1[marker : marker + SR // 10]
    assert 20 * np.log10(np.sqrt(np.mean(burst**2))) > -30.0
    # the whoosh on FX2 starts at its own marker
    fx2 = mix[names.index("FX2")]
    assert np.max(np.abs(fx2[: 30 * SR // RATE])) == 0.0 and np.max(np.abs(fx2)) > 0.1
    # backgrounds play without a hole from the first frame to the last (100 ms windows)
    bg = mix[names.index("BG1")] + mix[names.index("BG2")]
    win = SR // 10
    rms = np.sqrt(np.mean(bg[: len(bg) // win * win].reshape(-1, win) ** 2, axis=1))
    assert 20 * np.log10(rms.min()) > -60.0
    # the crossfade between the room tone's repeats keeps the level steady
    room = slice((SHOT_A + 10) * SR // RATE // win, TOTAL * SR // RATE // win - 1)
    levels = 20 * np.log10(rms[room])
    assert levels.max() - levels.min() < 6.0


def test_spot_cuts_whoosh_on_every_cut_and_backgrounds_per_shot(index: SfxIndex) -> None:
    session = session_from_cut(_cut())
    whoosh = spot(session, index, cut_events(session, "whoosh"))
    assert [(p.track, p.record_in) for p in whoosh.placed] == [("FX1", SHOT_A)]
    assert [s.kind for s in whoosh.skipped] == ["first-frame"]
    bgs = spot(session, index, cut_events(session, "wind"))
    tracks = _by_track(session)
    # 6 s of wind: one clip for shot A, a repeat at the end of shot B
    assert tracks["BG1"] == [("AMBForst", 0, SHOT_A), ("AMBForst", SHOT_A, 144)]
    assert tracks["BG2"] == [("AMBForst", SHOT_A + 144 - 12, TOTAL - (SHOT_A + 132))]
    assert {p.stem for p in bgs.placed} == {"backgrounds"}
    # forcing a stem and a category
    session = session_from_cut(_cut())
    rep = spot(session, index, cut_events(session, "wood", stem="foley", category="FOOTSTEPS"))
    assert [(p.track, p.record_in, p.cat_id) for p in rep.placed] == [("FOL1", SHOT_A, "FEETHmn")]


def test_cli_spot(index: SfxIndex, tmp_path: Path) -> None:
    from posthouse.cli import sfx

    idx = tmp_path / "sfx_index.json"
    index.save(idx)
    path = save_session(session_from_cut(_cut()), tmp_path / "session.otio")
    app = typer.Typer()
    app.add_typer(sfx.app, name="sfx")
    runner = CliRunner()
    res = runner.invoke(app, ["sfx", "spot", str(path), "--index", str(idx), "--dry-run", "--json"])
    assert res.exit_code == 1  # two markers found no sound
    data = json.loads(res.stdout)
    assert len(data["placed"]) == 7 and data["saved"] is False
    assert not [t for t in load_session(path).tracks if t.kind == otio.schema.TrackKind.Audio]
    res = runner.invoke(app, ["sfx", "spot", str(path), "--index", str(idx), "--cuts", "whoosh", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["saved"] is True
    assert _by_track(load_session(path)) == {"FX1": [("WHSH", SHOT_A, 19)]}
    res = runner.invoke(app, ["sfx", "spot", str(path), "--index", str(idx), "--markers"])
    assert res.exit_code == 1
    assert "placed 7 clips" in res.stdout
    tracks = _by_track(load_session(path))
    assert tracks["FX1"][0] == ("DOORWood", 24, 36) and ("WHSH", SHOT_A, 19) in tracks["FX1"] + tracks["FX2"]
