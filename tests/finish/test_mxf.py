"""D-Cinema MXF track files written by posthouse, re-read by FFmpeg (PyAV), glymur and a KLV walker."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import mxf_walker as mw
import numpy as np
import numpy.typing as npt
import pytest

from posthouse.core.errors import MediaError, UsageError
from posthouse.finish.mxf import (
    iter_mxf_essence,
    read_mxf_info,
    read_timed_text_resources,
    write_picture_mxf,
    write_sound_mxf,
    write_timed_text_mxf,
)

glymur = pytest.importorskip("glymur")
if tuple(int(x) for x in (glymur.version.openjpeg_version or "0").split(".")[:2]) < (2, 3):
    pytest.skip("the system OpenJPEG library is missing", allow_module_level=True)

from posthouse.finish.dcp_picture import encode_j2k  # noqa: E402

# Keys and property ULs spelled out here again (not imported from the writer), from the SMPTE registers.
RGBA_DESCRIPTOR = "060e2b34025301010d01010101012900"
J2K_SUBDESCRIPTOR = "060e2b34025301010d01010101015a00"
WAVE_DESCRIPTOR = "060e2b34025301010d01010101014800"
SOURCE_PACKAGE = "060e2b34025301010d01010101013700"
TRACK = "060e2b34025301010d01010101013b00"
CHANNEL_LABEL = "060e2b34025301010d01010101016b00"
SOUNDFIELD_LABEL = "060e2b34025301010d01010101016c00"
TT_DESCRIPTOR = "060e2b34025301010d01010101016400"
TT_RESOURCE = "060e2b34025301010d01010101016500"
OP_ATOM = bytes.fromhex("060e2b34040101020d01020110000000")
JPEG2000_EC = bytes.fromhex("060e2b34040101070d01030102 0c0100".replace(" ", ""))
WAVE_EC = bytes.fromhex("060e2b34040101010d01030102060100")
TT_EC = bytes.fromhex("060e2b340401010a0d01030102130101")
J2K_KEY = bytes.fromhex("060e2b34010201010d01030115010801")
WAVE_KEY = bytes.fromhex("060e2b34010201010d01030116010101")
TT_KEY = bytes.fromhex("060e2b34010201010d010301170 10b01".replace(" ", ""))
RSIZ_UL = "060e2b340101010a0401060301000000"
XSIZ_UL = "060e2b340101010a0401060302000000"
MCA_SYMBOL_UL = "060e2b340101010e0103070102000000"
MCA_CHANNEL_ID_UL = "060e2b340101010e01030 40a00000000".replace(" ", "")
ANC_ID_UL = "060e2b340101010c0101151300000000"
RESOURCE_ID_UL = "060e2b340101010c0101151200000000"
NAMESPACE_UL = "060e2b34010101080102010501000000"


def _xyz_frames(n: int, w: int = 128, h: int = 64) -> list[npt.NDArray[np.uint16]]:
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for i in range(n):
        x = 400 + 3000 * xx / (w - 1)
        y = 400 + 3000 * yy / (h - 1)
        z = 2000 + 1200 * np.sin(xx / 7.0 + yy / 5.0 + i)
        out.append(np.clip(np.stack([x, y, z], -1), 0, 4095).astype(np.uint16))
    return out


@pytest.fixture(scope="module")
def codestreams(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("j2c")
    paths = []
    for i, frame in enumerate(_xyz_frames(5)):
        p = d / f"{i:06d}.j2c"
        encode_j2k(frame, p, fps=24)
        paths.append(p)
    return paths


def _decode_j2k_ffmpeg(data: bytes) -> npt.NDArray[np.int64]:
    ctx = av.CodecContext.create("jpeg2000", "r")
    return _xyz12(ctx.decode(av.Packet(data))[0])


def _xyz12(frame: av.VideoFrame) -> npt.NDArray[np.int64]:
    assert frame.format.name == "xyz12le"
    plane = frame.planes[0]
    rows = np.frombuffer(bytes(plane), np.uint16).reshape(frame.height, plane.line_size // 2)
    return rows[:, : frame.width * 3].reshape(frame.height, frame.width, 3).astype(np.int64) >> 4


# ---------------------------------------------------------------- picture


def test_picture_mxf_reads_back_everywhere(tmp_path: Path, codestreams: list[Path]) -> None:
    data = [p.read_bytes() for p in codestreams]
    asset = uuid.uuid4()
    out = tmp_path / "picture.mxf"
    info = write_picture_mxf(out, iter(data), edit_rate=Fraction(24), width=128, height=64, asset_id=asset)
    assert (info.asset_id, info.duration, info.essence, info.edit_rate) == (asset, 5, "picture", Fraction(24))

    # FFmpeg's MXF demuxer: one jpeg2000 stream, 5 frames at 24 fps, packets byte-exact
    with av.open(str(out)) as c:
        st = c.streams.video[0]
        assert st.codec_context.name == "jpeg2000"
        assert (st.codec_context.width, st.codec_context.height) == (128, 64)
        assert st.time_base == Fraction(1, 24) and st.duration == 5
        packets = [bytes(pkt) for pkt in c.demux(st) if pkt.size]
    assert packets == data
    with av.open(str(out)) as c:
        frames = [_xyz12(f) for f in c.decode(video=0)]
    assert len(frames) == 5
    for frame, cs, path in zip(frames, data, codestreams, strict=True):
        assert np.array_equal(frame, _decode_j2k_ffmpeg(cs))  # same decoder, same bytes: identical
        # OpenJPEG (glymur) and FFmpeg's own decoder differ by rounding in the 9/7 inverse transform only
        ref = glymur.Jp2k(str(path))[:].astype(np.int64)
        assert ref.shape == frame.shape and np.abs(frame - ref).max() <= 1

    # our reader
    assert list(iter_mxf_essence(out)) == data
    back = read_mxf_info(out)
    assert (back.asset_id, back.duration, back.edit_rate, back.essence) == (asset, 5, Fraction(24), "picture")
    assert (back.width, back.height, back.bits) == (128, 64, 12)

    # structure, independently
    w = mw.walk(out)
    assert [p.kind for p in w.partitions] == ["header", "body", "footer"]
    assert w.partitions[0].op == OP_ATOM and JPEG2000_EC in w.partitions[0].containers
    assert [(p.body_sid, p.index_sid) for p in w.partitions] == [(0, 0), (1, 0), (0, 129)]
    assert [k.key for k in w.essence] == [J2K_KEY] * 5
    assert mw.index_offsets(w) == [k.offset for k in w.essence]
    (desc,) = w.sets_of(RGBA_DESCRIPTOR)
    assert mw.uint(desc[0x3203]) == 128 and mw.uint(desc[0x3202]) == 64
    assert mw.uint(desc[0x3406]) == 4095 and mw.uint(desc[0x3407]) == 0
    assert mw.rational(desc[0x3001]) == (24, 1) and mw.uint(desc[0x3002]) == 5
    assert desc[0x3004] == JPEG2000_EC and desc[0x320D] == struct.pack(">IIii", 2, 4, 0, 0)
    assert mw.rational(desc[0x320E]) == (128, 64) and desc[0x3401][:6] == bytes(
        [0xD8, 12, 0xD9, 12, 0xDA, 12]
    )
    (sub,) = w.sets_of(J2K_SUBDESCRIPTOR)
    siz = data[0][data[0].index(b"\xff\x51") + 4 :]
    assert mw.uint(sub[w.tag_for(RSIZ_UL)]) == struct.unpack(">H", siz[:2])[0] == 3  # cinema 2K
    assert mw.uint(sub[w.tag_for(XSIZ_UL)]) == 128
    (pkg,) = w.sets_of(SOURCE_PACKAGE)
    assert pkg[0x4401][16:] == asset.bytes  # UMID material number = asset UUID
    track_numbers = {mw.uint(t[0x4804]) for t in w.sets_of(TRACK)}
    assert int.from_bytes(J2K_KEY[12:], "big") in track_numbers


def test_picture_input_errors(tmp_path: Path, codestreams: list[Path]) -> None:
    cs = codestreams[0].read_bytes()
    with pytest.raises(MediaError, match="128×64, expected 100×64"):
        write_picture_mxf(tmp_path / "a.mxf", [cs], edit_rate=Fraction(24), width=100, height=64)
    with pytest.raises(MediaError, match="frame 1"):
        write_picture_mxf(tmp_path / "b.mxf", [cs, b"junk"], edit_rate=Fraction(24), width=128, height=64)
    with pytest.raises(UsageError):
        write_picture_mxf(tmp_path / "c.mxf", [], edit_rate=Fraction(24), width=128, height=64)
    other = tmp_path / "other.j2c"
    encode_j2k(np.zeros((64, 96, 3), np.uint16), other)
    with pytest.raises(MediaError, match=r"\(frame 2\): codestream image size differs"):
        write_picture_mxf(
            tmp_path / "d.mxf", [cs, cs, other.read_bytes()], edit_rate=Fraction(24), width=128, height=64
        )
    assert [p.name for p in tmp_path.iterdir()] == ["other.j2c"]  # no .mxf, no partial file


def test_failing_iterator_leaves_no_file(tmp_path: Path, codestreams: list[Path]) -> None:
    def frames() -> Iterator[bytes]:
        yield codestreams[0].read_bytes()
        raise RuntimeError("encoder died")

    with pytest.raises(RuntimeError):
        write_picture_mxf(tmp_path / "p.mxf", frames(), edit_rate=Fraction(24), width=128, height=64)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- sound


@pytest.mark.parametrize(("layout", "channels", "rate"), [("5.1", 6, 24), ("stereo", 2, 25)])
def test_sound_mxf_decodes_exactly(tmp_path: Path, layout: str, channels: int, rate: int) -> None:
    spf = 48000 // rate
    rng = np.random.default_rng(channels)
    blocks = [rng.integers(-(2**23), 2**23, (spf, channels)).astype(np.int32) for _ in range(7)]
    blocks[0][:3] = [[-(2**23)] * channels, [2**23 - 1] * channels, [0] * channels]  # the extremes
    out = tmp_path / "sound.mxf"
    info = write_sound_mxf(
        out,
        iter(blocks),
        edit_rate=Fraction(rate),
        channels=channels,
        layout=layout,  # type: ignore[arg-type]
        language="fr",
    )
    assert (info.duration, info.channels, info.bits, info.sample_rate) == (7, channels, 24, 48000)

    with av.open(str(out)) as c:
        st = c.streams.audio[0]
        assert st.codec_context.name == "pcm_s24le"
        assert (st.codec_context.channels, st.codec_context.sample_rate) == (channels, 48000)
        # FFmpeg reads our ST 377-4 MCA labels: channel layout and spoken language
        assert st.codec_context.layout.name == ("5.1(side)" if layout == "5.1" else "stereo")
        assert st.metadata.get("language") == "fre"
        pcm = np.concatenate([f.to_ndarray().reshape(-1, channels) for f in c.decode(st)])
    assert np.array_equal(pcm >> 8, np.concatenate(blocks))  # FFmpeg returns s32 with the 24 bits on top

    raw = list(iter_mxf_essence(out))
    assert len(raw) == 7 and all(len(r) == spf * channels * 3 for r in raw)
    back = read_mxf_info(out)
    assert (back.essence, back.duration, back.channels, back.sample_rate, back.bits) == (
        "sound",
        7,
        channels,
        48000,
        24,
    )
    assert back.edit_rate == rate and back.language == "fr" and back.asset_id == info.asset_id

    w = mw.walk(out)
    assert [p.kind for p in w.partitions] == ["header", "body", "footer"]
    assert WAVE_EC in w.partitions[0].containers
    assert [k.key for k in w.essence] == [WAVE_KEY] * 7
    assert mw.index_offsets(w) == [k.offset for k in w.essence]  # CBR: edit unit size × n
    (seg,) = w.index
    assert mw.uint(seg[0x3F05]) == 20 + spf * channels * 3
    (desc,) = w.sets_of(WAVE_DESCRIPTOR)
    assert mw.uint(desc[0x3D07]) == channels and mw.uint(desc[0x3D01]) == 24
    assert mw.uint(desc[0x3D0A]) == 3 * channels and mw.uint(desc[0x3D09]) == 48000 * 3 * channels
    assert mw.rational(desc[0x3D03]) == (48000, 1) and mw.rational(desc[0x3001]) == (rate, 1)
    assert desc[0x3D32] == bytes.fromhex("060e2b34040101 0d04020210030200 00".replace(" ", ""))
    labels = w.sets_of(CHANNEL_LABEL)
    symbols = [lab[w.tag_for(MCA_SYMBOL_UL)].decode("utf-16-be") for lab in labels]
    expect = ["chL", "chR", "chC", "chLFE", "chLs", "chRs"] if layout == "5.1" else ["chL", "chR"]
    assert symbols == expect
    assert [mw.uint(lab[w.tag_for(MCA_CHANNEL_ID_UL)]) for lab in labels] == list(range(1, channels + 1))
    (group,) = w.sets_of(SOUNDFIELD_LABEL)
    assert group[w.tag_for(MCA_SYMBOL_UL)].decode("utf-16-be") == ("sg51" if layout == "5.1" else "sgST")


def test_sound_input_errors(tmp_path: Path) -> None:
    good = np.zeros((2000, 6), np.int32)
    with pytest.raises(UsageError, match="shape"):
        write_sound_mxf(tmp_path / "a.mxf", [good, good[:10]], edit_rate=Fraction(24), channels=6)
    with pytest.raises(UsageError, match="24-bit"):
        write_sound_mxf(tmp_path / "b.mxf", [good + 2**23], edit_rate=Fraction(24), channels=6)
    with pytest.raises(UsageError, match="layout"):
        write_sound_mxf(tmp_path / "c.mxf", [good], edit_rate=Fraction(24), channels=6, layout="stereo")
    with pytest.raises(UsageError):
        write_sound_mxf(tmp_path / "d.mxf", [good], edit_rate=Fraction(24000, 1001), channels=6)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- timed text

_XML = """<?xml version="1.0" encoding="UTF-8"?>
<SubtitleReel xmlns="http://www.smpte-ra.org/schemas/428-7/2014/DCST">
  <Id>urn:uuid:{rid}</Id>
  <ContentTitleText>Test</ContentTitleText>
  <EditRate>24 1</EditRate>
  <TimeCodeRate>24</TimeCodeRate>
  <LoadFont ID="Font1">urn:uuid:{fid}</LoadFont>
  <SubtitleList><Font ID="Font1"><Subtitle SpotNumber="1" TimeIn="00:00:00:00" TimeOut="00:00:01:00">
    <Text Vposition="10">Héllo ✓</Text></Subtitle></Font></SubtitleList>
</SubtitleReel>
"""


def test_timed_text_round_trip(tmp_path: Path) -> None:
    rid, fid, pid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    xml = _XML.format(rid=rid, fid=fid).encode("utf-8")
    font = bytes(range(256)) * 40
    png = b"\x89PNG\r\n\x1a\n" + bytes(777)
    out = tmp_path / "sub.mxf"
    resources = [(fid, "application/x-font-opentype", font), (pid, "image/png", png)]
    info = write_timed_text_mxf(
        out, xml, edit_rate=Fraction(24), duration=48, resources=resources, language="fr"
    )
    assert list(iter_mxf_essence(out)) == [xml]
    assert read_timed_text_resources(out) == resources
    back = read_mxf_info(out)
    assert (back.essence, back.duration, back.edit_rate, back.language) == (
        "timed-text",
        48,
        Fraction(24),
        "fr",
    )
    assert back.asset_id == info.asset_id

    w = mw.walk(out)
    assert [p.kind for p in w.partitions] == ["header", "body", "generic", "generic", "footer"]
    assert TT_EC in w.partitions[0].containers
    assert [p.body_sid for p in w.partitions] == [0, 1, 10, 11, 0]
    assert [k.key for k in w.essence] == [TT_KEY]
    assert mw.index_offsets(w) == [w.essence[0].offset]
    (desc,) = w.sets_of(TT_DESCRIPTOR)
    assert mw.uint(desc[0x3002]) == 48 and desc[0x3004] == TT_EC
    assert desc[w.tag_for(RESOURCE_ID_UL)] == rid.bytes  # the subtitle document's own <Id>
    namespace = desc[w.tag_for(NAMESPACE_UL)].decode("utf-16-be")
    assert namespace == "http://www.smpte-ra.org/schemas/428-7/2014/DCST"
    subs = w.sets_of(TT_RESOURCE)
    assert [s[w.tag_for(ANC_ID_UL)] for s in subs] == [fid.bytes, pid.bytes]
    data = out.read_bytes()
    assert [data[k.offset + k.kl : k.end] for k in w.generic_data] == [font, png]


# ---------------------------------------------------------------- reader errors


def test_reader_rejects_junk_with_file_and_offset(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mxf"
    junk.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(MediaError, match=r"junk\.mxf \(byte 0\)"):
        read_mxf_info(junk)
    good = tmp_path / "s.mxf"
    write_sound_mxf(good, [np.zeros((2000, 2), np.int32)], edit_rate=Fraction(24), channels=2)
    cut = tmp_path / "cut.mxf"
    cut.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(MediaError, match=r"cut\.mxf \(byte \d+\)"):
        read_mxf_info(cut)
    bad = bytearray(good.read_bytes())
    bad[16384 : 16384 + 4] = b"JUNK"  # the body partition pack's key
    (tmp_path / "bad.mxf").write_bytes(bytes(bad))
    with pytest.raises(MediaError, match=r"bad\.mxf \(byte 16384\)"):
        list(iter_mxf_essence(tmp_path / "bad.mxf"))
    with pytest.raises(MediaError):
        read_mxf_info(tmp_path / "missing.mxf")
    enc = bytearray(good.read_bytes())
    at = mw.walk(good).essence[0].offset
    enc[at : at + 16] = bytes.fromhex("060e2b34020401010d010301027e0100")  # an ST 429-6 encrypted triplet
    (tmp_path / "enc.mxf").write_bytes(bytes(enc))
    with pytest.raises(MediaError, match=f"enc.mxf \\(byte {at}\\): encrypted"):
        list(iter_mxf_essence(tmp_path / "enc.mxf"))


def test_reader_rejects_other_mxf(tmp_path: Path) -> None:
    other = tmp_path / "op1a.mxf"  # an FFmpeg-written OP1a MPEG-2 file: MXF, but not a D-Cinema track file
    with av.open(str(other), "w", format="mxf") as c:
        st = c.add_stream("mpeg2video", rate=25)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
            c.mux(st.encode(frame.reformat(format="yuv420p")))
        c.mux(st.encode())
    with pytest.raises(MediaError, match="not a D-Cinema"):
        read_mxf_info(other)


def test_frames_over_16_mib_use_long_ber_lengths(tmp_path: Path, codestreams: list[Path]) -> None:
    small = codestreams[0].read_bytes()
    big = small + bytes(17 * 2**20)  # not decodable past the codestream, but a valid KLV payload
    out = tmp_path / "big.mxf"
    write_picture_mxf(out, [small, big, small], edit_rate=Fraction(24), width=128, height=64)
    w = mw.walk(out)
    assert [k.kl for k in w.essence] == [20, 25, 20]  # 4-byte BER, then 9-byte BER for the big frame
    assert mw.index_offsets(w) == [k.offset for k in w.essence]
    assert [len(x) for x in iter_mxf_essence(out)] == [len(small), len(big), len(small)]
