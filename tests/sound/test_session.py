"""The sound session: stems on tracks, placing clips frame-exact, importing the music edit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from typer.testing import CliRunner

from posthouse.core.errors import UsageError
from posthouse.engine import plan_timeline
from posthouse.engine.audio import iter_mix_blocks
from posthouse.sound.session import (
    add_track,
    audio_tracks,
    free_track,
    import_tracks,
    load_session,
    place_clip,
    save_session,
    session_from_cut,
    track_stem,
    wav_clip,
)

RATE = "24"
SR = 48_000


def _cut() -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="reel1", global_start_time=otio.opentime.RationalTime(86400, 24))
    v1 = otio.schema.Track(name="V1")
    v1.append(otio.schema.Gap(duration=otio.opentime.RationalTime(96, 24)))
    tl.tracks.append(v1)
    for name in ("A1", "A2"):
        tl.tracks.append(otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio))
    return tl


def test_session_from_cut_names_dialogue_tracks_and_guesses_stems() -> None:
    session = session_from_cut(_cut(), cut_name="reel1@v3")
    assert [t.name for t in audio_tracks(session)] == ["DX1", "DX2"]
    assert all(track_stem(t) == "dialogue" for t in audio_tracks(session))
    assert session.metadata["posthouse"]["sound_session"]["cut"] == "reel1@v3"
    for name, stem in (("SFX 3", "effects"), ("MX2", "music"), ("FOLEY", "foley"), ("AMB L", "backgrounds")):
        assert track_stem(otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)) == stem
    assert track_stem(otio.schema.Track(name="Temp", kind=otio.schema.TrackKind.Audio)) is None
    with pytest.raises(UsageError, match="unknown stem"):
        add_track(session, "drums")


def test_place_clip_is_frame_exact_and_checkerboards(tmp_path: Path) -> None:
    tone = np.zeros(SR * 2, np.float32)
    tone[: SR // 100] = 0.5  # a click at the file's first sample
    sf.write(str(tmp_path / "click.wav"), tone, SR, subtype="PCM_24")
    session = session_from_cut(_cut())
    fx = add_track(session, "effects")
    place_clip(
        fx, wav_clip(tmp_path / "click.wav", name="a", frames=24, rate=RATE, file_samples=2 * SR), 30, RATE
    )
    with pytest.raises(UsageError, match="overlaps"):
        place_clip(fx, wav_clip(tmp_path / "click.wav", name="b", frames=24, rate=RATE), 40, RATE)
    other = free_track(session, "effects", 40, 64)
    assert other.name == "FX2"
    place_clip(other, wav_clip(tmp_path / "click.wav", name="b", frames=24, rate=RATE), 40, RATE)
    assert free_track(session, "effects", 60, 70).name == "FX1"  # FX1 is free again after frame 54
    place_clip(fx, wav_clip(tmp_path / "click.wav", name="c", frames=10, rate=RATE), 5, RATE)  # into the gap
    plan = plan_timeline(session)
    fx1 = plan.audio[plan.audio_names.index("FX1")]
    assert [(c.name, c.record_in, c.record_out) for c in fx1] == [("c", 5, 15), ("a", 30, 54)]
    mix = np.concatenate(list(iter_mix_blocks(plan, per_track=True)), axis=1)
    row = mix[plan.audio_names.index("FX2")]
    assert np.flatnonzero(row)[0] == 40 * SR // 24  # the click sounds at frame 40 exactly


def test_import_tracks_replaces_an_earlier_import(tmp_path: Path) -> None:
    sf.write(str(tmp_path / "cue.wav"), np.zeros(SR, np.float32), SR)
    session = session_from_cut(_cut())
    music = _cut()
    mx = music.tracks[1]
    place_clip(mx, wav_clip(tmp_path / "cue.wav", name="1M1", frames=12, rate=RATE), 0, RATE)
    assert import_tracks(session, music) == ["MX1", "MX2"]
    assert import_tracks(session, music) == ["MX1", "MX2"]  # replaced, not added again
    assert [t.name for t in audio_tracks(session, "music")] == ["MX1", "MX2"]
    shifted = _cut()
    shifted.global_start_time = otio.opentime.RationalTime(90000, 24)
    with pytest.raises(UsageError, match="another timecode"):
        import_tracks(session, shifted)
    path = save_session(session, tmp_path / "s" / "session.otio")
    music_path = tmp_path / "music.otio"
    otio.adapters.write_to_file(music, str(music_path))
    from posthouse.cli.app import app

    res = CliRunner().invoke(app, ["sound", "import-music", str(path), str(music_path), "--json"])
    assert res.exit_code == 0, res.output
    assert [t.name for t in audio_tracks(load_session(path), "music")] == ["MX1", "MX2"]
