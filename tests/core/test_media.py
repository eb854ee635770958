"""Media I/O: what we write is read back by an independent reader (PyAV/FFmpeg, soundfile, wavinfo)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from posthouse.core.errors import DamagedMediaError, MediaError, UsageError
from posthouse.core.media import (
    PRESETS,
    Bext,
    IXml,
    iter_audio_blocks,
    iter_video_frames,
    probe,
    read_audio,
    read_bwf,
    write_bwf,
)


@pytest.mark.parametrize(
    ("preset", "codec", "profile"),
    [
        ("prores-hq", "prores", "HQ"),
        ("prores-422", "prores", "Standard"),
        ("prores-4444", "prores", "4444"),
        ("dnxhr-hq", "dnxhd", "DNXHR HQ"),
        ("dnxhr-hqx", "dnxhd", "DNXHR HQX"),
        ("h264-mov", "h264", "High"),
    ],
)
def test_encode_presets_carry_codec_timecode_and_reel(
    movie_factory, preset: str, codec: str, profile: str
) -> None:
    size = (256, 144) if preset.startswith("dnxhr") else (160, 90)
    path = movie_factory(
        f"clip_{preset}.mov",
        preset=preset,
        size=size,
        rate=Fraction(24000, 1001),
        timecode="10:59:59:23",
        reel="B007",
        frames=30,
    )
    with av.open(str(path)) as c:  # independent reader first
        vs = c.streams.video[0]
        assert vs.codec_context.name == codec
        assert vs.codec_context.profile == profile
        assert vs.average_rate == Fraction(24000, 1001)
        assert sum(1 for _ in c.decode(vs)) == 30
    info = probe(path)
    assert not info.damaged, info.problems
    assert info.start_timecode == "10:59:59:23"
    assert info.reel == "B007"
    v = info.video[0]
    assert (v.codec, v.profile, v.width, v.height, v.frames) == (codec, profile, *size, 30)
    assert v.rate == Fraction(24000, 1001)
    assert info.duration == Fraction(30 * 1001, 24000)
    assert info.audio[0].sample_rate == 48000 and info.audio[0].bit_depth == 24


def test_drop_frame_timecode_survives(movie_factory) -> None:
    path = movie_factory("df.mov", rate=Fraction(30000, 1001), timecode="00:09:59;29")
    assert probe(path).start_timecode == "00:09:59;29"


def test_h264_review_copy_has_no_intra_only_gop(movie_factory) -> None:
    path = movie_factory("review.mp4", preset="h264", frames=60, size=(160, 90))
    with av.open(str(path)) as c:
        keys = [p.is_keyframe for p in c.demux(c.streams.video[0]) if p.size]
    assert keys[0] and sum(keys) <= 4  # a GOP of 2 s (plus scene cuts), not intra-only


def test_decode_streams_frames_in_order(movie) -> None:
    levels = [int(a.mean()) for _, a in iter_video_frames(movie)]
    assert len(levels) == 12
    assert all(abs(got - 10 * i) <= 1 for i, got in enumerate(levels))
    sub = [i for i, _ in iter_video_frames(movie, start=3, count=4)]
    assert sub == [3, 4, 5, 6]


def test_decode_audio_blocks_are_bounded_and_complete(movie) -> None:
    blocks = list(iter_audio_blocks(movie, block=4000))
    assert all(b.shape[1] <= 4000 and b.dtype == np.float32 for b in blocks)
    total = sum(b.shape[1] for b in blocks)
    assert total == 12 * 2000
    audio, rate = read_audio(movie)
    assert rate == 48000 and audio.shape == (1, 24000)
    assert abs(np.abs(audio).max() - 0.25) < 0.01


def test_bwf_roundtrip_through_wavinfo_and_soundfile(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    audio = (rng.uniform(-0.9, 0.9, (3, 4800))).astype(np.float32)
    tref = 10 * 3600 * 48000 + 12345
    path = write_bwf(
        tmp_path / "12A-3.wav",
        audio,
        48000,
        bext=Bext(time_reference=tref, description="sTAKE=3"),
        ixml=IXml(
            project="demo",
            scene="12A",
            take="3",
            tape="R001",
            circled=True,
            track_names=("BOOM", "LAV1", "LAV2"),
            timecode_rate=Fraction(24000, 1001),
        ),
    )
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    assert rate == 48000 and sf.info(str(path)).subtype == "PCM_24"
    assert np.abs(data.T - audio).max() < 2**-22
    meta = read_bwf(path)
    assert meta is not None
    assert meta.time_reference == tref
    assert (meta.scene, meta.take, meta.tape, meta.circled) == ("12A", "3", "R001", True)
    assert meta.track_names == ("BOOM", "LAV1", "LAV2")
    info = probe(path)
    assert info.kind == "audio" and not info.damaged
    assert info.audio[0].channels == 3 and info.audio[0].samples == 4800 and info.audio[0].bit_depth == 24
    assert info.reel == "R001"
    # samples since midnight at 23.976: 10 h of samples is 35964 frames (+12345 samples = 7.7 frames)
    assert info.start_timecode == "09:59:24:07"


def test_bwf_refuses_negative_time_reference(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="TimeReference"):
        write_bwf(tmp_path / "x.wav", np.zeros((1, 10), np.float32), 48000, bext=Bext(time_reference=-1))
    assert not (tmp_path / "x.wav").exists()


def test_truncated_camera_file_is_reported_damaged(movie: Path, tmp_path: Path) -> None:
    data = movie.read_bytes()
    cut = tmp_path / "cut.mov"
    cut.write_bytes(data[: len(data) // 2])
    info = probe(cut)
    assert info.damaged
    text = " ".join(info.problems)
    assert "moov" in text and "truncated" in text
    assert "mdat" in text  # says what was readable


def test_truncated_wav_reports_samples_present(tmp_path: Path) -> None:
    path = write_bwf(tmp_path / "r.wav", np.zeros((2, 48000), np.float32), 48000)
    data = path.read_bytes()
    (tmp_path / "t.wav").write_bytes(data[: len(data) - 40000])
    info = probe(tmp_path / "t.wav")
    assert info.damaged and "truncated" in " ".join(info.problems)
    assert 0 < info.audio[0].samples < 48000


@pytest.mark.parametrize("content", [b"", b"this is a camera report, not a movie\n" * 20])
def test_not_media_is_damaged_not_a_traceback(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "fake.mov"
    p.write_bytes(content)
    info = probe(p)
    assert info.damaged and info.problems
    with pytest.raises(DamagedMediaError, match=r"fake\.mov"):
        list(iter_video_frames(p))


def test_missing_file_is_a_media_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"nope\.mov"):
        probe(tmp_path / "nope.mov")


def test_writer_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    from posthouse.core.media import VideoWriter

    dest = tmp_path / "out.mov"
    with (
        pytest.raises(MediaError, match="frame 1"),
        VideoWriter(dest, width=64, height=36, rate=Fraction(24)) as vw,
    ):
        vw.write_frame(np.zeros((36, 64, 3), np.uint8))
        vw.write_frame(np.zeros((10, 10, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_unknown_preset(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="prores-hq"):
        from posthouse.core.media import VideoWriter

        VideoWriter(tmp_path / "x.mov", width=64, height=36, rate=Fraction(24), preset="nope")
    assert "prores-hq" in PRESETS


def test_truncated_faststart_file_says_how_many_frames_remain(tmp_path: Path) -> None:
    src = tmp_path / "fs.mov"
    with av.open(str(src), "w", options={"movflags": "faststart"}) as out:
        vs = out.add_stream("prores_ks", rate=24)
        vs.width, vs.height, vs.pix_fmt = 64, 36, "yuv422p10le"
        for i in range(24):
            frame = av.VideoFrame.from_ndarray(np.full((36, 64, 3), i * 8, np.uint8), format="rgb24")
            frame = frame.reformat(format="yuv422p10le")
            frame.pts = i
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
    data = src.read_bytes()
    cut = tmp_path / "cut.mov"
    cut.write_bytes(data[: len(data) - len(data) // 4])
    info = probe(cut)
    assert info.damaged
    assert any("index lists 24 packets" in p for p in info.problems), info.problems
    deep = probe(cut, deep=True)
    assert deep.damaged


@pytest.mark.parametrize("preset", ["prores-hq", "h264"])
def test_decode_with_seek_gives_the_same_frames_as_decoding_from_the_start(
    movie_factory, preset: str
) -> None:
    """A farm chunk in the middle of a master seeks instead of decoding everything before it; a long-GOP
    file seeks to the key frame before and decodes forward, so the frames and their indices are the same."""
    path = movie_factory(f"m_{preset}.mov", preset=preset, frames=60, size=(160, 90))
    for start, count in ((37, 5), (1, 3), (55, 10)):
        seq = list(iter_video_frames(path, format="rgb48le", start=start, count=count))
        jump = list(iter_video_frames(path, format="rgb48le", start=start, count=count, seek=True))
        assert [i for i, _ in jump] == [i for i, _ in seq] == list(range(start, min(start + count, 60)))
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(jump, seq, strict=True))
        assert all(a.dtype == np.uint16 for _, a in jump)
