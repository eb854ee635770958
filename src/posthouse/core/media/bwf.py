"""Broadcast WAV (EBU Tech 3285) with iXML: a writer, and a reader built on ``wavinfo``.

``soundfile`` writes PCM but neither ``bext`` nor ``iXML``, so the writer here lays out the RIFF chunks
itself (``fmt``, ``bext``, ``iXML``, ``data``) with the samples converted by NumPy. Files over 4 GiB
are refused rather than silently corrupted (RF64 is not written yet).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree as ET

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError
from posthouse.core.fsutil import atomic_path

__all__ = [
    "Bext",
    "BwfInfo",
    "BwfWriter",
    "IXml",
    "read_bwf",
    "to_pcm_bytes",
    "track_names_or_default",
    "write_bwf",
]

_RIFF_LIMIT = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Bext:
    """The ``bext`` chunk fields a production recorder writes."""

    description: str = ""
    originator: str = "posthouse"
    originator_reference: str = ""
    origination_date: str = "2026-01-01"  # yyyy-mm-dd
    origination_time: str = "00:00:00"  # hh:mm:ss
    time_reference: int = 0  # samples since midnight
    coding_history: str = ""


@dataclass(frozen=True, slots=True)
class IXml:
    """The iXML fields the picture department relies on (scene, take, tape, circled, track names)."""

    project: str = ""
    scene: str = ""
    take: str = ""
    tape: str = ""
    circled: bool = False
    note: str = ""
    file_uid: str = ""
    track_names: tuple[str, ...] = ()
    track_functions: tuple[str, ...] = ()
    timecode_rate: Fraction | None = None  # e.g. Fraction(24000, 1001)
    timecode_drop: bool = False


@dataclass(frozen=True, slots=True)
class BwfInfo:
    """What a BWF/iXML file says about itself (any field may be missing)."""

    time_reference: int | None = None
    description: str | None = None
    originator: str | None = None
    origination_date: str | None = None
    origination_time: str | None = None
    coding_history: str | None = None
    project: str | None = None
    scene: str | None = None
    take: str | None = None
    tape: str | None = None
    circled: bool | None = None
    note: str | None = None
    file_uid: str | None = None
    track_names: tuple[str, ...] = field(default_factory=tuple)
    timecode_rate: Fraction | None = None
    timecode_drop: bool | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "time_reference": self.time_reference,
            "description": self.description,
            "originator": self.originator,
            "origination_date": self.origination_date,
            "origination_time": self.origination_time,
            "project": self.project,
            "scene": self.scene,
            "take": self.take,
            "tape": self.tape,
            "circled": self.circled,
            "note": self.note,
            "file_uid": self.file_uid,
            "track_names": list(self.track_names),
            "timecode_rate": str(self.timecode_rate) if self.timecode_rate is not None else None,
            "timecode_drop": self.timecode_drop,
        }


def _fixed(text: str, size: int) -> bytes:
    return text.encode("ascii", "replace")[:size].ljust(size, b"\0")


def _bext_bytes(b: Bext) -> bytes:
    ref = b.time_reference
    if ref < 0:
        raise MediaError(f"bext TimeReference must be >= 0 samples, got {ref}")
    head = (
        _fixed(b.description, 256)
        + _fixed(b.originator, 32)
        + _fixed(b.originator_reference, 32)
        + _fixed(b.origination_date, 10)
        + _fixed(b.origination_time, 8)
        + struct.pack("<IIH", ref & 0xFFFFFFFF, ref >> 32, 2)
        + b"\0" * 64  # UMID
        + struct.pack("<hhhhh", 0x7FFF, 0x7FFF, 0x7FFF, 0x7FFF, 0x7FFF)  # loudness: not measured
        + b"\0" * 180
    )
    history = b.coding_history
    if history and not history.endswith("\r\n"):
        history += "\r\n"
    return head + history.encode("ascii", "replace")


def _ixml_bytes(x: IXml, sample_rate: int, bit_depth: int, time_reference: int) -> bytes:
    root = ET.Element("BWFXML")

    def sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
        el = ET.SubElement(parent, tag)
        el.text = text
        return el

    sub(root, "IXML_VERSION", "2.10")
    sub(root, "PROJECT", x.project)
    sub(root, "SCENE", x.scene)
    sub(root, "TAKE", x.take)
    sub(root, "TAPE", x.tape)
    sub(root, "CIRCLED", "TRUE" if x.circled else "FALSE")
    sub(root, "NOTE", x.note)
    if x.file_uid:
        sub(root, "FILE_UID", x.file_uid)
    speed = ET.SubElement(root, "SPEED")
    if x.timecode_rate is not None:
        sub(speed, "MASTER_SPEED", f"{x.timecode_rate.numerator}/{x.timecode_rate.denominator}")
        sub(speed, "TIMECODE_RATE", f"{x.timecode_rate.numerator}/{x.timecode_rate.denominator}")
        sub(speed, "TIMECODE_FLAG", "DF" if x.timecode_drop else "NDF")
    sub(speed, "FILE_SAMPLE_RATE", str(sample_rate))
    sub(speed, "AUDIO_BIT_DEPTH", str(bit_depth))
    sub(speed, "TIMESTAMP_SAMPLE_RATE", str(sample_rate))
    sub(speed, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI", str(time_reference >> 32))
    sub(speed, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO", str(time_reference & 0xFFFFFFFF))
    if x.track_names:
        tl = ET.SubElement(root, "TRACK_LIST")
        sub(tl, "TRACK_COUNT", str(len(x.track_names)))
        for i, name in enumerate(x.track_names, start=1):
            tr = ET.SubElement(tl, "TRACK")
            sub(tr, "CHANNEL_INDEX", str(i))
            sub(tr, "INTERLEAVE_INDEX", str(i))
            sub(tr, "NAME", name)
            if i <= len(x.track_functions):
                sub(tr, "FUNCTION", x.track_functions[i - 1])
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(ET.tostring(root, encoding="utf-8"))


def to_pcm_bytes(audio: npt.NDArray[np.generic], bit_depth: int) -> bytes:
    """Interleaved little-endian PCM bytes from ``(channels, samples)`` float (−1..1) or integer audio.

    Floats are scaled, rounded and clipped; integer input is taken as already at ``bit_depth``.
    """
    if audio.ndim != 2:
        raise MediaError(f"audio must be (channels, samples), got shape {audio.shape}")
    inter = np.ascontiguousarray(audio.T)
    if np.issubdtype(inter.dtype, np.floating):
        scale = float(2 ** (bit_depth - 1))
        ints = np.clip(np.rint(inter * scale), -scale, scale - 1).astype(np.int32)
    else:
        ints = inter.astype(np.int32)
    if bit_depth == 16:
        return ints.astype("<i2").tobytes()
    if bit_depth == 24:
        b = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
        return np.ascontiguousarray(b).tobytes()
    if bit_depth == 32:
        return ints.astype("<i4").tobytes()
    raise MediaError(f"unsupported PCM bit depth {bit_depth} (use 16, 24 or 32)")


def _chunk(ident: bytes, payload: bytes) -> bytes:
    pad = b"\0" if len(payload) % 2 else b""
    return ident + struct.pack("<I", len(payload)) + payload + pad


def _header(channels: int, sample_rate: int, bit_depth: int, bext: Bext | None, ixml: IXml | None) -> bytes:
    """``fmt ``, ``bext`` and ``iXML`` chunks (everything before ``data``)."""
    block_align = channels * bit_depth // 8
    fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, sample_rate * block_align, block_align, bit_depth)
    b = bext or Bext()
    chunks = _chunk(b"fmt ", fmt) + _chunk(b"bext", _bext_bytes(b))
    if ixml is not None:
        chunks += _chunk(b"iXML", _ixml_bytes(ixml, sample_rate, bit_depth, b.time_reference))
    return chunks


def write_bwf(
    path: str | Path,
    audio: npt.NDArray[np.generic],
    sample_rate: int,
    *,
    bit_depth: int = 24,
    bext: Bext | None = None,
    ixml: IXml | None = None,
) -> Path:
    """Write a polyphonic Broadcast WAV with ``bext`` and ``iXML`` chunks, atomically.

    ``audio`` is ``(channels, samples)``. The format tag is WAVE_FORMAT_PCM, as production recorders write
    for polyphonic files.
    """
    channels = int(audio.shape[0]) if audio.ndim == 2 else 0
    with BwfWriter(path, channels, sample_rate, bit_depth=bit_depth, bext=bext, ixml=ixml) as writer:
        writer.write(audio)
    return Path(path)


class BwfWriter:
    """Stream a Broadcast WAV block by block (bounded memory); it appears atomically on a clean close."""

    def __init__(
        self,
        path: str | Path,
        channels: int,
        sample_rate: int,
        *,
        bit_depth: int = 24,
        bext: Bext | None = None,
        ixml: IXml | None = None,
    ) -> None:
        self.path = Path(path)
        if channels < 1:
            raise MediaError("audio must be (channels, samples) with at least one channel", path=self.path)
        self.channels, self.bit_depth = channels, bit_depth
        self._head = _header(channels, sample_rate, bit_depth, bext, ixml)
        self._ctx = atomic_path(self.path)
        self._fh: BinaryIO | None = None
        self.data_bytes = 0

    def __enter__(self) -> BwfWriter:
        tmp = self._ctx.__enter__()
        self._fh = open(tmp, "wb")
        self._fh.write(b"RIFF\0\0\0\0WAVE" + self._head + b"data\0\0\0\0")
        return self

    def write(self, block: npt.NDArray[np.generic]) -> None:
        """Append ``(channels, n)`` samples (float −1..1, or integers at the bit depth)."""
        if self._fh is None:
            raise MediaError("BwfWriter used outside its with-block", path=self.path)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise MediaError(f"block has shape {block.shape}, expected ({self.channels}, n)", path=self.path)
        data = to_pcm_bytes(block, self.bit_depth)
        if 4 + len(self._head) + 8 + self.data_bytes + len(data) > _RIFF_LIMIT:
            raise MediaError("file would exceed 4 GiB (RF64 is not supported yet)", path=self.path)
        self._fh.write(data)
        self.data_bytes += len(data)

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            if exc is None:
                pad = self.data_bytes & 1
                if pad:
                    fh.write(b"\0")
                fh.seek(4)
                fh.write(struct.pack("<I", 4 + len(self._head) + 8 + self.data_bytes + pad))
                fh.seek(4 + 4 + 4 + len(self._head) + 4)
                fh.write(struct.pack("<I", self.data_bytes))
            fh.close()
        if exc is None:
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)


def _text(root: ET.Element | None, xpath: str) -> str | None:
    if root is None:
        return None
    el = root.find(xpath)
    if el is None or el.text is None:
        return None
    return el.text.strip()


def _rate(text: str | None) -> Fraction | None:
    if not text:
        return None
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        return None


def read_bwf(path: str | Path) -> BwfInfo | None:
    """Read ``bext`` and ``iXML`` with ``wavinfo``; ``None`` when the file has neither."""
    from wavinfo import WavInfoReader

    try:
        info = WavInfoReader(str(path))
    except Exception as exc:  # wavinfo raises bare errors on malformed RIFF
        raise MediaError(f"cannot read BWF metadata: {exc}", path=path) from exc
    bext = info.bext
    ixml_root: ET.Element | None = None
    if info.ixml is not None:
        try:
            ixml_root = ET.fromstring(info.ixml.xml_str())
        except ET.ParseError:
            ixml_root = None
    if bext is None and ixml_root is None:
        return None
    names: tuple[str, ...] = ()
    if ixml_root is not None:
        tracks = sorted(
            ixml_root.findall("./TRACK_LIST/TRACK"),
            key=lambda t: int(_text(t, "CHANNEL_INDEX") or 0),
        )
        names = tuple(_text(t, "NAME") or "" for t in tracks)
    circled = _text(ixml_root, "CIRCLED")
    flag = _text(ixml_root, "SPEED/TIMECODE_FLAG")
    return BwfInfo(
        time_reference=int(bext.time_reference) if bext is not None else None,
        description=(bext.description or None) if bext is not None else None,
        originator=(bext.originator or None) if bext is not None else None,
        origination_date=(bext.originator_date or None) if bext is not None else None,
        origination_time=(bext.originator_time or None) if bext is not None else None,
        coding_history=(bext.coding_history or None) if bext is not None else None,
        project=_text(ixml_root, "PROJECT"),
        scene=_text(ixml_root, "SCENE"),
        take=_text(ixml_root, "TAKE"),
        tape=_text(ixml_root, "TAPE"),
        circled=None if circled is None else circled.upper() == "TRUE",
        note=_text(ixml_root, "NOTE"),
        file_uid=_text(ixml_root, "FILE_UID"),
        track_names=names,
        timecode_rate=_rate(_text(ixml_root, "SPEED/TIMECODE_RATE")),
        timecode_drop=None if flag is None else flag.upper() == "DF",
    )


def track_names_or_default(info: BwfInfo | None, channels: int) -> Sequence[str]:
    """Track names from iXML, or ``1..N`` when the recorder wrote none."""
    if info is not None and len(info.track_names) == channels:
        return info.track_names
    return [str(i) for i in range(1, channels + 1)]
