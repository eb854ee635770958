"""Write SMPTE D-Cinema MXF track files: picture (ST 429-4), sound (ST 429-3), timed text (ST 429-5).

Layout (as asdcplib writes SMPTE DCP track files, OP-Atom ST 390): a closed complete header partition
(primer + header metadata, KLV-filled to a fixed size so it can be rewritten with the final durations), a
closed complete body partition (BodySID 1) holding the frame-wrapped essence, for timed text one generic
stream partition per ancillary resource, a complete footer partition (IndexSID 129) with the index table,
and the random index pack. Essence is streamed; only the per-frame offsets are kept until the end.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_path

from . import labels
from .index import cbr_index, vbr_index
from .klv import KL_SIZE, batch, ber_length, rational, u8, u16, u32, utf16
from .metadata import BODY_SID, INDEX_SID, Descriptor, HeaderBuilder, SubDescriptor, mca_subdescriptors
from .partition import PartitionPack, fill, random_index_pack

__all__ = ["TrackFileInfo", "write_picture_mxf", "write_sound_mxf", "write_timed_text_mxf"]

#: Reserved header partition size (asdcplib's default ``HeaderSize``), grown if the metadata needs more.
HEADER_SIZE = 16384
#: asdcplib's first essence stream ID for timed-text ancillary resources (generic stream partitions).
FIRST_RESOURCE_SID = 10

Essence = Literal["picture", "sound", "timed-text"]


@dataclass(frozen=True, slots=True)
class TrackFileInfo:
    """What a track file holds: the asset UUID the CPL/PKL/ASSETMAP use, the essence, rate and duration."""

    path: Path
    asset_id: uuid.UUID
    essence: Essence
    edit_rate: Fraction
    duration: int
    width: int = 0
    height: int = 0
    channels: int = 0
    sample_rate: int = 0
    bits: int = 0
    language: str = ""


class _FileWriter:
    """Partition bookkeeping for one OP-Atom file being written to ``fh``."""

    def __init__(self, fh: BinaryIO, builder: HeaderBuilder, path: Path) -> None:
        self.fh = fh
        self.builder = builder
        self.path = path
        containers = builder.essence_containers
        self.header = PartitionPack(labels.CLOSED_COMPLETE_HEADER, essence_containers=containers)
        meta = builder.build(0)
        need = len(self.header.pack()) + len(meta) + KL_SIZE
        self.header_size = max(HEADER_SIZE, -(-need // 4096) * 4096)
        self._write_header(0)
        # (offset, pack) of every partition after the header, for the RIP and the final footer offsets
        self.partitions: list[tuple[int, PartitionPack]] = []
        self._open_partition(labels.CLOSED_COMPLETE_BODY, BODY_SID)
        self.essence_start = fh.tell()

    def _write_header(self, duration: int) -> None:
        meta = self.builder.build(duration)
        pack_len = len(self.header.pack())
        self.header.header_byte_count = self.header_size - pack_len
        self.fh.seek(0)
        self.fh.write(self.header.pack())
        self.fh.write(meta)
        self.fh.write(fill(self.header_size - pack_len - len(meta)))

    def _open_partition(self, key: bytes, body_sid: int) -> None:
        here = self.fh.tell()
        previous = self.partitions[-1][0] if self.partitions else 0
        pack = PartitionPack(
            key,
            this_partition=here,
            previous_partition=previous,
            body_sid=body_sid,
            essence_containers=self.builder.essence_containers,
        )
        self.partitions.append((here, pack))
        self.fh.write(pack.pack())

    def write_element(self, key: bytes, data: bytes | memoryview) -> int:
        """Write one essence KLV; return its stream offset (from the start of the essence container)."""
        offset = self.fh.tell() - self.essence_start
        self.fh.write(key + ber_length(len(data)))
        self.fh.write(data)
        return offset

    def write_generic_stream(self, sid: int, data: bytes) -> None:
        """A generic stream partition (ST 410) holding one data element."""
        self._open_partition(labels.GENERIC_STREAM_PARTITION, sid)
        self.fh.write(labels.GENERIC_STREAM_DATA + ber_length(len(data)))
        self.fh.write(data)

    def finish(self, duration: int, index: bytes) -> None:
        """Footer partition with the index, the RIP, then the final header and partition offsets."""
        here = self.fh.tell()
        footer = PartitionPack(
            labels.COMPLETE_FOOTER,
            this_partition=here,
            previous_partition=self.partitions[-1][0],
            footer_partition=here,
            index_byte_count=len(index),
            index_sid=INDEX_SID,
            essence_containers=self.builder.essence_containers,
        )
        self.fh.write(footer.pack())
        self.fh.write(index)
        pairs = [(0, 0)] + [(p.body_sid, off) for off, p in self.partitions] + [(0, here)]
        self.fh.write(random_index_pack(pairs))
        for off, pack in self.partitions:  # closed partitions carry the real footer offset
            pack.footer_partition = here
            self.fh.seek(off)
            self.fh.write(pack.pack())
        self.header.footer_partition = here
        self._write_header(duration)
        self.fh.flush()
        os.fsync(self.fh.fileno())


def _check_rate(edit_rate: Fraction, path: Path) -> Fraction:
    rate = Fraction(edit_rate)
    if rate <= 0:
        raise UsageError(f"edit rate must be positive, got {edit_rate}", path=path)
    return rate


# --- picture -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _J2KHeader:
    rsiz: int
    xsiz: int
    ysiz: int
    xosiz: int
    yosiz: int
    xtsiz: int
    ytsiz: int
    xtosiz: int
    ytosiz: int
    components: tuple[tuple[int, int, int], ...]  # (Ssiz, XRsiz, YRsiz)
    cod: bytes  # COD marker segment body (after Lcod)
    qcd: bytes  # QCD marker segment body (after Lqcd)


def _parse_j2k_header(cs: bytes, path: Path, frame: int) -> _J2KHeader:
    """SIZ, COD and QCD of a JPEG 2000 codestream's main header (ISO/IEC 15444-1 Annex A)."""
    where = f"frame {frame}"
    if cs[:2] != b"\xff\x4f":
        raise MediaError("not a JPEG 2000 codestream (no SOC marker)", path=path, where=where)
    pos, siz, cod, qcd = 2, b"", b"", b""
    while pos + 4 <= len(cs):
        marker = int.from_bytes(cs[pos : pos + 2], "big")
        if marker == 0xFF90:  # SOT: end of the main header
            break
        seg_len = int.from_bytes(cs[pos + 2 : pos + 4], "big")
        body = cs[pos + 4 : pos + 2 + seg_len]
        if marker == 0xFF51:
            siz = body
        elif marker == 0xFF52:
            cod = body
        elif marker == 0xFF5C:
            qcd = body
        pos += 2 + seg_len
    if len(siz) < 38 or not cod or not qcd:
        raise MediaError("JPEG 2000 main header lacks SIZ/COD/QCD", path=path, where=where)
    f = [int.from_bytes(siz[i : i + 4], "big") for i in range(2, 34, 4)]
    csiz = int.from_bytes(siz[34:36], "big")
    comps = tuple((siz[36 + 3 * i], siz[37 + 3 * i], siz[38 + 3 * i]) for i in range(csiz))
    return _J2KHeader(
        int.from_bytes(siz[0:2], "big"),
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        comps,
        cod,
        qcd,
    )


#: ST 377-1 RGBALayout for DCI X'Y'Z' 12-bit ('X' 0xd8, 'Y' 0xd9, 'Z' 0xda, 12 bits each), 16 bytes.
_PIXEL_LAYOUT_XYZ = bytes([0xD8, 12, 0xD9, 12, 0xDA, 12]) + bytes(10)


def _picture_descriptor(j2k: _J2KHeader, width: int, height: int) -> Descriptor:
    sizing = batch([bytes(c) for c in j2k.components], 3)
    sub = SubDescriptor(
        labels.JPEG2000_SUBDESCRIPTOR,
        [
            ("Rsiz", u16(j2k.rsiz)),
            ("Xsiz", u32(j2k.xsiz)),
            ("Ysiz", u32(j2k.ysiz)),
            ("XOsiz", u32(j2k.xosiz)),
            ("YOsiz", u32(j2k.yosiz)),
            ("XTsiz", u32(j2k.xtsiz)),
            ("YTsiz", u32(j2k.ytsiz)),
            ("XTOsiz", u32(j2k.xtosiz)),
            ("YTOsiz", u32(j2k.ytosiz)),
            ("Csiz", u16(len(j2k.components))),
            ("PictureComponentSizing", sizing),
            ("CodingStyleDefault", j2k.cod),
            ("QuantizationDefault", j2k.qcd),
        ],
    )
    coding = labels.JP2K_2K_CODING if width <= 2048 else labels.JP2K_4K_CODING
    return Descriptor(
        labels.RGBA_DESCRIPTOR,
        labels.EC_JPEG2000_FRAME,
        [
            ("FrameLayout", u8(0)),  # full frame
            ("StoredWidth", u32(width)),
            ("StoredHeight", u32(height)),
            ("AspectRatio", _ratio(width, height)),
            ("VideoLineMap", batch([bytes(4), bytes(4)], 4)),  # (0, 0): not interlaced video, as asdcplib
            ("PictureEssenceCoding", coding),
            ("ComponentMaxRef", u32(4095)),
            ("ComponentMinRef", u32(0)),
            ("PixelLayout", _PIXEL_LAYOUT_XYZ),
        ],
        [sub],
    )


def _ratio(num: int, den: int) -> bytes:
    """Aspect ratio as the unreduced width/height pair, as asdcplib takes it from the codestream."""
    return num.to_bytes(4, "big", signed=True) + den.to_bytes(4, "big", signed=True)


def write_picture_mxf(
    path: str | Path,
    codestreams: Iterable[bytes],
    *,
    edit_rate: Fraction,
    width: int,
    height: int,
    asset_id: uuid.UUID | None = None,
) -> TrackFileInfo:
    """Wrap JPEG 2000 codestreams (one per frame) into a SMPTE ST 429-4 picture track file, atomically.

    Frame wrapping in the ST 422 JPEG 2000 essence container, RGBA descriptor (X'Y'Z' 12-bit) with the
    JPEG 2000 sub-descriptor taken from the first codestream's SIZ/COD/QCD, VBR index table.
    """
    out = Path(path)
    rate = _check_rate(edit_rate, out)
    asset = asset_id or uuid.uuid4()
    frames = iter(codestreams)
    first = next(frames, None)
    if first is None:
        raise UsageError("no picture frames to wrap", path=out, hint="give at least one codestream")
    j2k = _parse_j2k_header(bytes(first), out, 0)
    if (j2k.xsiz - j2k.xosiz, j2k.ysiz - j2k.yosiz) != (width, height):
        raise MediaError(
            f"codestream is {j2k.xsiz - j2k.xosiz}×{j2k.ysiz - j2k.yosiz}, expected {width}×{height}",
            path=out,
            where="frame 0",
        )
    builder = HeaderBuilder(
        asset_id=asset,
        edit_rate=rate,
        essence_key=labels.KEY_JPEG2000_FRAME,
        data_definition=labels.DATA_DEF_PICTURE,
        track_name="Picture Track",
        package_name="File Package: SMPTE 429-4 frame wrapping of JPEG 2000 codestreams",
        descriptor=_picture_descriptor(j2k, width, height),
    )
    offsets: list[int] = []
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        w = _FileWriter(fh, builder, out)
        geometry = bytes(first[8:24])  # SIZ (which must follow SOC): Xsiz, Ysiz, XOsiz, YOsiz
        for n, cs in enumerate(_chain(first, frames)):
            if cs[:2] != b"\xff\x4f" or cs[2:4] != b"\xff\x51":
                raise MediaError("not a JPEG 2000 codestream (no SOC, SIZ)", path=out, where=f"frame {n}")
            if cs[8:24] != geometry:
                raise MediaError("codestream image size differs from frame 0", path=out, where=f"frame {n}")
            offsets.append(w.write_element(labels.KEY_JPEG2000_FRAME, cs))
        w.finish(len(offsets), vbr_index(rate, offsets))
    return TrackFileInfo(out, asset, "picture", rate, len(offsets), width=width, height=height, bits=12)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


# --- sound -------------------------------------------------------------------------------------------

_LAYOUT_CHANNELS = {"5.1": 6, "stereo": 2}


def _pack_pcm24(block: npt.NDArray[np.int32], spf: int, channels: int, path: Path, n: int) -> bytes:
    arr = np.asarray(block)
    where = f"edit unit {n}"
    if arr.shape != (spf, channels):
        raise UsageError(
            f"sound block has shape {arr.shape}, expected ({spf}, {channels})",
            path=path,
            where=where,
            hint="each block is one edit unit: sample_rate / edit_rate samples × channels",
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise UsageError(f"sound block must hold integers, got {arr.dtype}", path=path, where=where)
    if arr.size and (int(arr.min()) < -(2**23) or int(arr.max()) > 2**23 - 1):
        raise UsageError("sound sample outside the 24-bit range", path=path, where=where)
    le = np.ascontiguousarray(arr, dtype="<i4")
    return le.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def write_sound_mxf(
    path: str | Path,
    blocks: Iterable[npt.NDArray[np.int32]],
    *,
    edit_rate: Fraction,
    channels: int,
    sample_rate: int = 48000,
    layout: Literal["5.1", "stereo"] | None = None,
    language: str = "",
    asset_id: uuid.UUID | None = None,
) -> TrackFileInfo:
    """Wrap 24-bit PCM into a SMPTE ST 429-3 sound track file (frame-wrapped BWF, ST 382), atomically.

    Each block is one edit unit, shape ``(sample_rate / edit_rate, channels)``, int32 holding 24-bit values;
    written little-endian 24-bit. WAVE descriptor with ST 377-4 MCA labels (5.1: L R C LFE Ls Rs; stereo:
    L R) and the ST 429-2 MCA channel configuration; CBR index.
    """
    out = Path(path)
    rate = _check_rate(edit_rate, out)
    if sample_rate not in (48000, 96000):
        raise UsageError(f"D-Cinema sound is 48 or 96 kHz, got {sample_rate}", path=out)
    spf_exact = Fraction(sample_rate) / rate
    if spf_exact.denominator != 1:
        raise UsageError(f"{sample_rate} Hz does not divide into whole edit units at {rate} fps", path=out)
    spf = int(spf_exact)
    if layout is None:
        layout = "5.1" if channels == 6 else "stereo" if channels == 2 else None
    if layout is not None and _LAYOUT_CHANNELS[layout] != channels:
        raise UsageError(f"layout {layout} has {_LAYOUT_CHANNELS[layout]} channels, not {channels}", path=out)
    if not 1 <= channels <= 16:
        raise UsageError(f"channel count must be 1–16, got {channels}", path=out)
    block_align = 3 * channels
    props = [
        ("AudioSamplingRate", rational(Fraction(sample_rate))),
        ("Locked", u8(0)),
        ("ChannelCount", u32(channels)),
        ("QuantizationBits", u32(24)),
        ("BlockAlign", u16(block_align)),
        ("AvgBps", u32(sample_rate * block_align)),
    ]
    subs: list[SubDescriptor] = []
    if layout is not None:
        props.append(("ChannelAssignment", labels.CHANNEL_CFG_MCA))
        subs = mca_subdescriptors(layout, language)
    builder = HeaderBuilder(
        asset_id=asset_id or uuid.uuid4(),
        edit_rate=rate,
        essence_key=labels.KEY_WAVE_FRAME,
        data_definition=labels.DATA_DEF_SOUND,
        track_name="Sound Track",
        package_name="File Package: SMPTE 382M frame wrapping of wave audio",
        descriptor=Descriptor(labels.WAVE_DESCRIPTOR, labels.EC_WAVE_FRAME, props, subs),
    )
    count = 0
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        w = _FileWriter(fh, builder, out)
        for n, block in enumerate(blocks):
            w.write_element(labels.KEY_WAVE_FRAME, _pack_pcm24(block, spf, channels, out, n))
            count += 1
        if count == 0:
            raise UsageError("no sound edit units to wrap", path=out)
        w.finish(count, cbr_index(rate, KL_SIZE + spf * block_align, count))
    return TrackFileInfo(
        out,
        builder.asset_id,
        "sound",
        rate,
        count,
        channels=channels,
        sample_rate=sample_rate,
        bits=24,
        language=language,
    )


# --- timed text --------------------------------------------------------------------------------------

_ID_RE = re.compile(rb"<(?:\w+:)?Id>\s*urn:uuid:([0-9a-fA-F-]{36})\s*</(?:\w+:)?Id>")
_NS_RE = re.compile(rb"<(?:\w+:)?SubtitleReel[^>]*?\sxmlns(?::\w+)?=\"([^\"]+)\"")


def write_timed_text_mxf(
    path: str | Path,
    xml: bytes,
    *,
    edit_rate: Fraction,
    duration: int,
    resources: Sequence[tuple[uuid.UUID, str, bytes]] = (),
    language: str = "",
    asset_id: uuid.UUID | None = None,
) -> TrackFileInfo:
    """Wrap an ST 428-7 subtitle document (and its fonts/PNGs) into an ST 429-5 timed text track file.

    The XML is the clip-wrapped essence in the body partition; each ancillary resource ``(id, mime, data)``
    sits in its own generic stream partition and is described by a timed text resource sub-descriptor.
    """
    out = Path(path)
    rate = _check_rate(edit_rate, out)
    if duration <= 0:
        raise UsageError(f"timed text duration must be positive, got {duration}", path=out)
    if not xml.strip():
        raise UsageError("empty timed text document", path=out)
    found = _ID_RE.search(xml)
    resource_id = uuid.UUID(found.group(1).decode()) if found else uuid.uuid4()
    ns = _NS_RE.search(xml)
    namespace = ns.group(1).decode() if ns else "http://www.smpte-ra.org/schemas/428-7/2010/DCST"
    subs = [
        SubDescriptor(
            labels.DC_TIMED_TEXT_RESOURCE_SUBDESCRIPTOR,
            [
                ("AncillaryResourceID", rid.bytes),
                ("MIMEMediaType", utf16(mime)),
                ("EssenceStreamID", u32(FIRST_RESOURCE_SID + i)),
            ],
        )
        for i, (rid, mime, _data) in enumerate(resources)
    ]
    props = [
        ("ResourceID", resource_id.bytes),
        ("UCSEncoding", utf16("UTF-8")),
        ("NamespaceURI", utf16(namespace)),
    ]
    if language:
        props.append(("RFC5646LanguageTagList", utf16(language)))
    builder = HeaderBuilder(
        asset_id=asset_id or uuid.uuid4(),
        edit_rate=rate,
        essence_key=labels.KEY_TIMED_TEXT,
        data_definition=labels.DATA_DEF_DATA,
        track_name="Timed Text Track",
        package_name="File Package: SMPTE 429-5 clip wrapping of D-Cinema Timed Text data",
        descriptor=Descriptor(labels.DC_TIMED_TEXT_DESCRIPTOR, labels.EC_TIMED_TEXT, props, subs),
    )
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        w = _FileWriter(fh, builder, out)
        offset = w.write_element(labels.KEY_TIMED_TEXT, xml)
        for i, (_rid, _mime, data) in enumerate(resources):
            w.write_generic_stream(FIRST_RESOURCE_SID + i, data)
        w.finish(duration, vbr_index(rate, [offset]))
    return TrackFileInfo(out, builder.asset_id, "timed-text", rate, duration, language=language)
