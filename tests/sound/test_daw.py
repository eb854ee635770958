"""DAW interchange: the BWF + OTIO + AAF export keeps sync (stems coming back in: test_stems.py)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import aaf2
import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from posthouse.core.media.bwf import Bext, IXml, read_bwf, write_bwf
from posthouse.core.time import Rate, frames_to_samples
from posthouse.engine import plan_timeline
from posthouse.engine.audio import iter_mix_blocks
from posthouse.sound.daw import export_session, load_daw_timeline
from posthouse.sound.session import add_track, place_clip, save_session, wav_clip

SR = 48_000
RATE = Rate(24)
HOUR = 86_400  # 01:00:00:00 in frames at 24
DX_TR = SR * 3600 - SR  # the production file starts a second before the hour
FX_TR = 5_000_000


def _noise(channels: int, n: int, seed: int, level: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal((channels, n))).astype(np.float32)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[otio.schema.Timeline, Path]:
    root = tmp_path_factory.mktemp("daw")
    src = root / "sources"
    src.mkdir()
    dx = src / "1A-1.wav"
    write_bwf(dx, _noise(2, 6 * SR, 1), SR, bext=Bext(time_reference=DX_TR), ixml=IXml(scene="1A", take="1"))
    mx = src / "score cue.wav"
    sf.write(str(mx), _noise(2, 4 * SR, 2).T, SR, subtype="PCM_24")  # plain WAV: no TimeReference
    fx = src / "door.wav"
    write_bwf(fx, _noise(1, 5 * SR, 3), SR, bext=Bext(time_reference=FX_TR))

    tl = otio.schema.Timeline(name="reel 1 sound")
    tl.global_start_time = otio.opentime.RationalTime(HOUR, 24)
    dx1, mx1, fx1 = add_track(tl, "dialogue"), add_track(tl, "music"), add_track(tl, "effects")
    # DX: channel 1 of the polyphonic file, from 1.5 s into it (head handle limited to 1.5 s)
    place_clip(
        dx1,
        wav_clip(dx, name="1A-1 LAV", frames=48, rate=RATE, source_start=DX_TR + 72_000,
                 time_reference=DX_TR, file_samples=6 * SR, channel=1, metadata={"scene": "1A", "take": "1"}),
        12,
        RATE,
    )  # fmt: skip
    # MX: stereo, from the file's first sample (no head handle), with gain and fades
    place_clip(
        mx1,
        wav_clip(mx, name="score cue", frames=72, rate=RATE, source_start=0, file_samples=4 * SR,
                 metadata={"gain_db": -6.0, "fade_in_frames": 12, "fade_out_frames": 6}),
        0,
        RATE,
    )  # fmt: skip
    # FX: a sub-frame placement (source start 7 samples past a whole frame)
    place_clip(
        fx1,
        wav_clip(fx, name="door slam", frames=24, rate=RATE, source_start=FX_TR + 2 * SR + 7,
                 time_reference=FX_TR, file_samples=5 * SR),
        30,
        RATE,
    )  # fmt: skip
    tl.tracks.markers.append(
        otio.schema.Marker(
            name="door slam",
            marked_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(40, 24), otio.opentime.RationalTime(1, 24)
            ),
            color=otio.schema.MarkerColor.GREEN,
        )
    )
    path = save_session(tl, root / "session" / "session.otio")
    return tl, path


@pytest.fixture(scope="module")
def exported(session: tuple[otio.schema.Timeline, Path], tmp_path_factory: pytest.TempPathFactory):
    tl, _ = session
    out = tmp_path_factory.mktemp("export") / "daw" / "reel1"
    return export_session(tl, out, name="reel1")


def _render(tl: otio.schema.Timeline, missing: int = 0) -> np.ndarray:
    problems: list = []
    blocks = list(iter_mix_blocks(plan_timeline(tl), problems=problems))
    assert len(problems) == missing, problems
    return np.concatenate(blocks, axis=1)


def test_wavs_have_handles_and_time_reference(exported, session) -> None:
    by_track = {c.track: c for c in exported.clips}
    assert set(by_track) == {"DX1", "MX1", "FX1"}
    dx, mx, fx = by_track["DX1"], by_track["MX1"], by_track["FX1"]
    # DX: 1.5 s available before the clip, 2 s after; channel 1 only
    assert (dx.head, dx.tail) == (72_000, 2 * SR)
    assert dx.time_reference == DX_TR
    data, rate = sf.read(str(dx.wav), dtype="float32", always_2d=True)
    assert rate == SR and data.shape == (72_000 + 2 * SR + 2 * SR, 1)
    assert sf.info(str(dx.wav)).subtype == "PCM_24"
    source, _ = sf.read(str(Path(exported.clips[0].source.removeprefix("file://"))), dtype="float32")
    np.testing.assert_array_equal(data[:, 0], source[: data.shape[0], 1])
    info = read_bwf(dx.wav)
    assert info is not None and info.time_reference == DX_TR
    assert info.track_names == ("DX1",) and info.originator == "posthouse"
    assert "1A-1 LAV" in (info.description or "") and info.scene == "1A"
    # MX: stereo, starts at the file's first sample, so no head; 3 s played + 1 s left of tail
    assert (mx.head, mx.tail, mx.channels) == (0, SR, 2)
    assert read_bwf(mx.wav).time_reference == 0  # type: ignore[union-attr]
    assert sf.info(str(mx.wav)).channels == 2
    # FX: full 2 s handles, TimeReference = sample since midnight where the head handle starts
    assert (fx.head, fx.tail) == (2 * SR, 2 * SR - 7)  # the file ends 7 samples short of a full tail
    assert fx.time_reference == FX_TR + 7
    assert read_bwf(fx.wav).time_reference == FX_TR + 7  # type: ignore[union-attr]
    names = [c.wav.name for c in exported.clips]
    assert len(set(names)) == len(names)
    assert all(all(ch.isalnum() or ch in "_-." for ch in n) for n in names)


def test_exported_otio_renders_sample_for_sample(exported, session) -> None:
    tl, _ = session
    assert exported.otio_path is not None
    raw = otio.adapters.read_from_file(str(exported.otio_path))
    urls = [c.media_reference.target_url for c in raw.find_clips()]
    assert all(u.startswith("media/") for u in urls)  # relative to the .otio's folder
    daw = load_daw_timeline(exported.otio_path)
    assert [t.name for t in daw.tracks] == ["DX1", "MX1", "FX1"]
    mx = daw.tracks[1][0]
    assert mx.metadata["posthouse"]["gain_db"] == -6.0 and mx.metadata["posthouse"]["fade_in_frames"] == 12
    assert daw.tracks.markers[0].name == "door slam"
    assert daw.global_start_time == tl.global_start_time
    original, copy = _render(tl), _render(daw)
    assert original.shape == copy.shape == (2, frames_to_samples(72, RATE, SR))
    assert np.abs(original).max() > 0.1
    np.testing.assert_array_equal(original, copy)


def test_aaf_with_pyaaf2(exported) -> None:
    assert exported.aaf_path is not None
    with aaf2.open(str(exported.aaf_path), "r") as f:
        top = list(f.content.toplevel())
        assert len(top) == 1
        comp = top[0]
        sound = [s for s in comp.slots if str(getattr(s.segment, "media_kind", "")) == "Sound"]
        assert [s.name for s in sound] == ["DX1", "MX1.L", "MX1.R", "FX1"]
        assert all(int(s.edit_rate) == SR for s in sound)
        tc = next(s.segment for s in comp.slots if type(s.segment).__name__ == "Timecode")
        assert tc.start == HOUR and tc.fps == 24
        # DX1: filler to record frame 12, then the clip from 1.5 s (the handle) into its master mob
        comps = list(sound[0].segment.components)
        assert comps[0].length == frames_to_samples(12, RATE, SR)
        clip = comps[1]
        assert clip.start == 72_000 and clip.length == frames_to_samples(48, RATE, SR)
        assert clip.mob.name == "1A-1 LAV"
        file_mob = clip.mob.slots[0].segment.mob
        url = file_mob.descriptor["Locator"][0]["URLString"].value
        assert url.endswith(".wav") and Path(url.removeprefix("file://")).exists()
        assert file_mob.slots[0].segment.start == DX_TR  # source timecode: samples since midnight
        # MX1: gain and fades as Audio Gain keyframes
        group = next(iter(sound[1].segment.components))
        assert type(group).__name__ == "OperationGroup" and group.operation.name == "Audio Gain"
        points = [
            (Fraction(p["Time"].value), float(p["Value"].value))
            for p in next(iter(group.parameters))["PointList"]
        ]
        assert points[0] == (0, 0.0) and points[-1] == (1, 0.0)
        assert points[1][1] == pytest.approx(10 ** (-6 / 20), abs=1e-5)
        assert points[1][0] == Fraction(12, 72)
        markers = [c for s in comp.slots if type(s).__name__ == "EventMobSlot" for c in s.segment.components]
        assert [(m["Position"].value, m["Comment"].value) for m in markers] == [(40, "door slam")]


def test_aaf_with_otio_adapter(exported, session) -> None:
    tl = otio.adapters.read_from_file(str(exported.aaf_path), adapter_name="AAF")
    assert tl.global_start_time.rescaled_to(24).value == HOUR
    audio = [t for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio]
    assert [t.name for t in audio] == ["DX1", "MX1.L", "MX1.R", "FX1"]

    def clips(track: otio.schema.Track) -> list[tuple[str, int, int, int]]:
        out = []
        for c in track.find_clips():
            rec = track.range_of_child(c)
            out.append(
                (
                    c.name,
                    round(rec.start_time.rescaled_to(24).value),
                    round(rec.duration.rescaled_to(24).value),
                    round(c.source_range.start_time.rescaled_to(SR).value),
                )
            )
        return out

    assert clips(audio[0]) == [("1A-1 LAV", 12, 48, DX_TR + 72_000)]
    assert clips(audio[1]) == [("score cue", 0, 72, 0)]
    assert clips(audio[3]) == [("door slam", 30, 24, FX_TR + 2 * SR + 7)]
    dx = audio[0].find_clips()[0]
    assert dx.media_reference.target_url.endswith(".wav")
    # the marker comes back on the clip under it; its record position is frame 40
    found = []
    for track in audio:
        for c in track.find_clips():
            for m in c.markers:
                rec = track.range_of_child(c).start_time + (
                    m.marked_range.start_time - c.source_range.start_time
                )
                found.append((m.name, round(rec.rescaled_to(24).value)))
    assert found == [("door slam", 40)]


def test_embed_and_formats(session, tmp_path: Path) -> None:
    tl, _ = session
    res = export_session(tl, tmp_path / "emb", formats=["aaf"], handles=Fraction(1, 2), embed=True)
    assert res.otio_path is None and res.aaf_path is not None and res.embedded
    assert any("stereo media is linked" in w for w in res.warnings)
    fx = next(c for c in res.clips if c.track == "FX1")
    assert fx.head == fx.tail == SR // 2
    with aaf2.open(str(res.aaf_path), "r") as f:
        assert len(list(f.content.essencedata)) == 2  # DX and FX mono clips embedded
        pcm = [m for m in f.content.sourcemobs() if type(m.descriptor).__name__ == "PCMDescriptor"]
        assert {m.descriptor["Channels"].value for m in pcm} == {1}
    with pytest.raises(Exception, match="unknown export format"):
        export_session(tl, tmp_path / "bad", formats=["omf"])


def test_resampled_source(tmp_path: Path) -> None:
    src = tmp_path / "old.wav"
    sf.write(str(src), _noise(1, 44_100 * 2, 4)[0], 44_100, subtype="PCM_16")
    tl = otio.schema.Timeline(name="x")
    tl.global_start_time = otio.opentime.RationalTime(HOUR, 24)
    track = add_track(tl, "effects")
    clip = wav_clip(src, name="old", frames=24, rate=RATE, sample_rate=44_100, source_start=22_050,
                    file_samples=88_200)  # fmt: skip
    place_clip(track, clip, 0, RATE)
    res = export_session(tl, tmp_path / "out", handles=2)
    assert any("resampled" in w for w in res.warnings)
    (c,) = res.clips
    assert sf.info(str(c.wav)).samplerate == SR
    assert c.time_reference == 0 and c.samples == 2 * SR
    daw = load_daw_timeline(res.otio_path)
    assert np.abs(_render(daw)).max() > 0.05  # the 44.1 kHz original plays silent in the renderer


# ----------------------------------------------------------------------------------------------- CLI


def test_cli(session, tmp_path: Path) -> None:
    from posthouse.cli import sound_daw

    _, path = session
    app = typer.Typer()
    app.command("export")(sound_daw.export)
    app.command("import-stems")(sound_daw.import_stems)
    runner = CliRunner()
    res = runner.invoke(app, ["export", str(path), "--handles", "1", "--format", "otio", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["otio"].endswith("daw/session/session.otio") and data["aaf"] is None
    assert Path(data["otio"]).exists() and len(data["clips"]) == 3
    res = runner.invoke(app, ["export", str(path), "--handles", "x"])
    assert res.exit_code == 2


def test_2997_transition_lead_and_missing_media(tmp_path: Path) -> None:
    """At 29.97 (1601.6 samples a frame) with a crossfade, a clip reaching before its file's first sample
    and a clip whose file is missing: the export still renders sample for sample."""
    rate = Rate(30000, 1001)
    tr = 3_000_000
    src = tmp_path / "fx.wav"
    write_bwf(src, _noise(1, 3 * SR, 5), SR, bext=Bext(time_reference=tr))
    tl = otio.schema.Timeline(name="ntsc")
    tl.global_start_time = otio.opentime.RationalTime(107_892, rate.otio_rate)  # 01:00:00;00 DF count
    fx1, fx2 = add_track(tl, "effects"), add_track(tl, "effects")
    a = wav_clip(src, name="a", frames=30, rate=rate, source_start=tr - 10, time_reference=tr,
                 file_samples=3 * SR, metadata={"fade_out_frames": 3})  # fmt: skip
    b = wav_clip(src, name="b", frames=20, rate=rate, source_start=tr + SR, time_reference=tr,
                 file_samples=3 * SR, metadata={"gain_db": 3.0})  # fmt: skip
    place_clip(fx1, a, 7, rate)
    place_clip(fx1, b, 37, rate)
    fx1.insert(
        2,
        otio.schema.Transition(
            transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
            in_offset=otio.opentime.RationalTime(4, rate.otio_rate),
            out_offset=otio.opentime.RationalTime(4, rate.otio_rate),
        ),
    )
    gone = wav_clip(tmp_path / "gone.wav", name="gone", frames=10, rate=rate)
    place_clip(fx2, gone, 3, rate)
    res = export_session(tl, tmp_path / "out")
    assert any("gone" in w and "left out" in w for w in res.warnings)
    assert any("trimmed to its media" in w for w in res.warnings)
    assert [c.name for c in res.clips] == ["a", "b"]
    assert res.clips[0].time_reference == tr and res.clips[0].head == 0
    daw = load_daw_timeline(res.otio_path)
    np.testing.assert_array_equal(_render(tl, missing=1), _render(daw, missing=1))
    aaf = otio.adapters.read_from_file(str(res.aaf_path), adapter_name="AAF")
    track = next(t for t in aaf.tracks if t.name == "FX1")
    starts = [track.range_of_child(c).start_time.rescaled_to(SR).value for c in track.find_clips()]
    # clip a starts 10 samples late in the AAF (its media begins there); b at record frame 37
    assert starts == [frames_to_samples(7, rate, SR) + 10, frames_to_samples(37, rate, SR)]
    with aaf2.open(str(res.aaf_path), "r") as f:
        comp = next(iter(f.content.toplevel()))
        slot = next(s for s in comp.slots if s.name == "FX1")
        kinds = [type(c).__name__ for c in slot.segment.components]
        assert kinds == ["Filler", "SourceClip", "OperationGroup"]  # the crossfade is a cut in the AAF
        (param,) = list(slot.segment.components)[2].parameters
        assert type(param).__name__ == "ConstantValue"
        assert float(param.value) == pytest.approx(10 ** (3 / 20), abs=1e-5)
