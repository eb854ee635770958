"""The music edit: cues placed at their spotted frames, checkerboarded, faded, mixed into the music stem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pretty_midi
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner
from wavinfo import WavInfoReader

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.media.bwf import Bext, write_bwf
from posthouse.core.time import frames_to_samples
from posthouse.engine import plan_timeline
from posthouse.engine.audio import iter_mix_blocks
from posthouse.score.cues import MusicCue, score_dir
from posthouse.score.music_edit import (
    CuePlacement,
    build_music_edit,
    music_tracks,
    render_music_stem,
    save_music_edit,
)

SR = 48_000
FPS = 24
SPF = SR // FPS  # samples a frame
START = 86_400  # 01:00:00:00 at 24 fps
CUT_FRAMES = 240


def _cut() -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="reel1", global_start_time=otio.opentime.RationalTime(START, FPS))
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    v1.append(
        otio.schema.Clip(
            name="picture",
            media_reference=otio.schema.MissingReference(),
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, FPS), otio.opentime.RationalTime(CUT_FRAMES, FPS)
            ),
        )
    )
    tl.tracks.append(v1)
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    a1.append(otio.schema.Gap(duration=otio.opentime.RationalTime(CUT_FRAMES, FPS)))
    tl.tracks.append(a1)
    return tl


def _tone_wav(path: Path, cue: MusicCue, tail_s: float = 1.0, freq: float = 440.0) -> Path:
    """A steady stereo tone as long as the cue plus a tail, stamped with the cue's start."""
    n = cue.duration * SPF + round(tail_s * SR)
    t = np.arange(n) / SR
    x = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    tref = (START + cue.start) * SPF
    return write_bwf(path, np.stack([x, 0.8 * x]), SR, bext=Bext(description=cue.cue_id, time_reference=tref))


@pytest.fixture
def placed(tmp_path: Path) -> tuple[otio.schema.Timeline, list[CuePlacement]]:
    cues = [
        MusicCue("1M1", 24, 72, title="Opening", composer="A. Composer", publisher="Pub Ltd"),
        MusicCue("1M2", 84, 150, title="Chase", usage="visual instrumental"),
        MusicCue("1M3", 180, 230, title="End", source=True, usage="source"),
    ]
    placements = [
        CuePlacement(c, _tone_wav(tmp_path / f"{c.cue_id}.wav", c, freq=330.0 + 110 * k), 2, 6)
        for k, c in enumerate(cues)
    ]
    return build_music_edit(_cut(), placements, cut_name="reel1@v1"), placements


def _clips(track: otio.schema.Track) -> list[tuple[int, otio.schema.Clip]]:
    out = []
    for item in track:
        if isinstance(item, otio.schema.Clip):
            out.append((round(track.range_of_child(item).start_time.rescaled_to(FPS).value), item))
    return out


def test_music_edit_tracks_clips_and_metadata(
    placed: tuple[otio.schema.Timeline, list[CuePlacement]],
) -> None:
    edit, _ = placed
    assert edit.global_start_time.to_frames() == START
    assert [t.name for t in edit.tracks] == ["V1", "MX1", "MX2"]  # the cut's audio is not music
    assert edit.tracks[0].find_clips()[0].name == "picture"
    assert all(t.metadata["posthouse"]["stem"] == "music" for t in music_tracks(edit))
    mx1, mx2 = music_tracks(edit)
    # 1M1 rings 1 s past its end (frame 96) into 1M2 (84): 1M2 goes to MX2; 1M3 back on MX1
    assert [(f, c.metadata["posthouse"]["cue_id"]) for f, c in _clips(mx1)] == [(24, "1M1"), (180, "1M3")]
    assert [(f, c.metadata["posthouse"]["cue_id"]) for f, c in _clips(mx2)] == [(84, "1M2")]
    _, first = _clips(mx1)[0]
    meta = first.metadata["posthouse"]
    assert meta["title"] == "Opening" and meta["composer"] == "A. Composer" and meta["publisher"] == "Pub Ltd"
    assert (meta["fade_in_frames"], meta["fade_out_frames"], meta["usage"], meta["source"]) == (
        2,
        6,
        "background",
        False,
    )
    tref = (START + 24) * SPF
    assert first.media_reference.available_range.start_time.value == tref
    assert first.media_reference.available_range.start_time.rate == SR
    assert first.source_range.start_time.value == tref
    assert first.duration().rescaled_to(FPS).value == 48 + 24  # the cue and its tail
    _, last = _clips(mx1)[1]
    assert last.duration().rescaled_to(FPS).value == CUT_FRAMES - 180  # tail trimmed at the cut's end
    assert last.metadata["posthouse"]["source"] is True
    assert edit.duration().rescaled_to(FPS).value == CUT_FRAMES


def test_music_stem_places_cues_at_their_frames(
    placed: tuple[otio.schema.Timeline, list[CuePlacement]], tmp_path: Path
) -> None:
    edit, _ = placed
    res = render_music_stem(edit, tmp_path / "music_stem.wav")
    assert not res.problems
    info = sf.info(str(res.path))
    assert (info.samplerate, info.channels, info.subtype) == (SR, 2, "PCM_24")
    assert info.frames == CUT_FRAMES * SPF
    assert WavInfoReader(str(res.path)).bext.time_reference == START * SPF
    stem, _ = sf.read(str(res.path), dtype="float64", always_2d=True)
    env = np.abs(stem).max(axis=1)
    loud = env > 1e-3
    # energy starts at each cue's start sample (within a frame, after the 2-frame fade-in)
    for cue_start in (24, 84, 180):
        s = cue_start * SPF
        assert not loud[s - SPF : s].any() or cue_start == 84  # 1M1's tail is still playing under 1M2
        first = s + int(np.argmax(loud[s:]))
        assert first - s < SPF
        assert np.abs(stem[s + 3 * SPF : s + 4 * SPF]).max() > 0.3  # full level after the fade-in
    # silence outside the cues: before 1M1, between 1M2's tail and 1M3
    assert np.abs(stem[: 24 * SPF]).max() == 0.0
    gap = slice((84 + 66 + 24) * SPF, 180 * SPF)
    assert np.abs(stem[gap]).max() == 0.0
    # fades: the fade-in ramps up over 2 frames, the fade-out reaches silence at the clip's end
    s = 24 * SPF
    head = [np.abs(stem[s + k * SPF // 2 : s + (k + 1) * SPF // 2]).max() for k in range(5)]
    assert head[0] < head[1] < head[2] < head[3] and head[4] > 0.45
    end = (84 + 66 + 24) * SPF  # 1M2's clip: the cue and its 1 s tail
    tail = [np.abs(stem[end - (k + 1) * SPF : end - k * SPF]).max() for k in range(8)]
    assert tail[0] < 0.1 < tail[3] < tail[5] and tail[6] > 0.45
    assert np.abs(stem[end - 10 : end]).max() < 0.01


def test_music_edit_reread_renders_the_same_stem(
    placed: tuple[otio.schema.Timeline, list[CuePlacement]], tmp_path: Path
) -> None:
    edit, _ = placed
    res = render_music_stem(edit, tmp_path / "music_stem.wav")
    path = save_music_edit(edit, tmp_path / "music.otio")
    again = otio.adapters.read_from_file(str(path))
    mix = np.concatenate(list(iter_mix_blocks(plan_timeline(again))), axis=1)
    stem, _ = sf.read(str(res.path), dtype="float64", always_2d=True)
    assert mix.shape == stem.T.shape
    np.testing.assert_allclose(mix, stem.T, atol=2.0**-22)


def test_bad_placements_are_named(tmp_path: Path) -> None:
    cue = MusicCue("1M1", 24, 72)
    with pytest.raises(MediaError, match="not found"):
        build_music_edit(_cut(), [CuePlacement(cue, tmp_path / "missing.wav")])
    wav = tmp_path / "44k.wav"
    sf.write(str(wav), np.zeros((4410, 2)), 44_100)
    with pytest.raises(MediaError, match="44100"):
        build_music_edit(_cut(), [CuePlacement(cue, wav)])
    late = MusicCue("9M9", 300, 320)
    with pytest.raises(UsageError, match="after the cut"):
        build_music_edit(_cut(), [CuePlacement(late, _tone_wav(tmp_path / "l.wav", late))])


def test_cli_place_mocks_up_every_cue_and_writes_the_stem(tmp_path: Path) -> None:
    from posthouse.cli import score_mockup
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutStore

    project = Project.init(tmp_path / "film", fps="24")
    ref = CutStore(project.root / "cuts").save("reel1", _cut())
    out = score_dir(project.root, "reel1", int(ref.version or 1))
    out.mkdir(parents=True)
    cues = [
        {
            "cue_id": "1M1",
            "start": 24,
            "end": 96,
            "title": "Opening",
            "hits": [{"frame": 48, "kind": "downbeat"}],
        },
        {"cue_id": "1M2", "start": 110, "end": 200, "title": "Chase", "composer": "B. Writer"},
        {"cue_id": "1M3", "start": 205, "end": 230, "title": "Composed"},
        {"cue_id": "1M4", "start": 232, "end": 238, "title": "Broken"},
    ]
    (out / "cues.json").write_text(json.dumps(cues))
    (out / "1M2").mkdir()
    tempo = {"tempos": [{"bar": 1, "beat": 1, "bpm": 140}], "meter": "3/4", "offset_s": 0.0}
    (out / "1M2" / "tempo.json").write_text(json.dumps(tempo))
    (out / "1M3").mkdir()
    composed = pretty_midi.PrettyMIDI(initial_tempo=100)
    flute = pretty_midi.Instrument(program=73)
    flute.notes.append(pretty_midi.Note(90, 79, 0.0, 0.8))
    composed.instruments.append(flute)
    composed.write(str(out / "1M3" / "cue.mid"))
    (out / "1M4").mkdir()
    (out / "1M4" / "cue.mid").write_bytes(b"MThd broken")

    app = typer.Typer()
    app.command("render")(score_mockup.render)
    app.command("place")(score_mockup.place)
    result = CliRunner().invoke(app, ["place", "reel1@v1", "-p", str(project.root), "--tail", "1", "--json"])
    assert result.exit_code == 1, result.output  # one cue failed, the others are placed
    doc = json.loads(result.stdout)
    by_id = {c["cue_id"]: c for c in doc["cues"]}
    assert "error" in by_id["1M4"] and "cue.mid" in by_id["1M4"]["error"]
    assert not by_id["1M3"].get("sketch") and by_id["1M3"]["midi"].endswith("cue.mid")
    assert not (out / "1M3" / "sketch.mid").exists()
    assert by_id["1M1"]["sketch"] and by_id["1M1"]["track"] == "MX1"
    assert by_id["1M2"]["track"] == "MX2"  # 1M1's tail reaches into 1M2
    for cid, start in (("1M1", 24), ("1M2", 110)):
        wav = out / cid / "cue.wav"
        assert WavInfoReader(str(wav)).bext.time_reference == frames_to_samples(START + start, 24)
        assert (out / cid / "sketch.mid").is_file()
    edit = otio.adapters.read_from_file(str(out / "music.otio"))
    assert [t.name for t in music_tracks(edit)] == ["MX1", "MX2"]
    starts = {c.metadata["posthouse"]["cue_id"]: f for t in music_tracks(edit) for f, c in _clips(t)}
    assert starts == {"1M1": 24, "1M2": 110, "1M3": 205}
    stem, rate = sf.read(str(out / "music_stem.wav"), dtype="float64", always_2d=True)
    assert rate == SR and stem.shape == (CUT_FRAMES * SPF, 2)
    assert WavInfoReader(str(out / "music_stem.wav")).bext.time_reference == START * SPF
    loud = np.abs(stem).max(axis=1) > 10 ** (-50 / 20)
    assert not loud[: 24 * SPF].any()
    assert 24 * SPF <= int(np.argmax(loud)) < 25 * SPF  # the first cue sounds within its first frame
