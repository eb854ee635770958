"""Read back D-Cinema MXF track files: header metadata (asset UUID, essence, rate, duration) and essence."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from posthouse.core.errors import DamagedMediaError, MediaError

from . import labels
from .writer import Essence, TrackFileInfo

__all__ = ["iter_mxf_essence", "read_mxf_info", "read_timed_text_resources"]

_STATIC_UL = {tag: key for tag, key in labels.STATIC_TAGS.values()}
_UL = {name: key for name, (_tag, key) in labels.STATIC_TAGS.items()} | dict(labels.DYNAMIC_TAGS)


def _same_ul(a: bytes, b: bytes) -> bool:
    """UL equality ignoring the registry version byte (byte 7), as MXF readers do."""
    return len(a) == len(b) == 16 and a[:7] == b[:7] and a[8:] == b[8:]


@dataclass
class _Set:
    key: bytes
    props: dict[bytes, bytes] = field(default_factory=dict)

    def get(self, name: str) -> bytes | None:
        return self.props.get(_UL[name])


@dataclass
class _Header:
    sets: dict[bytes, _Set]
    end: int  # file offset where the header partition ends


def _read_exact(fh: BinaryIO, n: int, path: Path, offset: int, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise DamagedMediaError(f"truncated {what}", path=path, where=f"byte {offset}")
    return data


def _read_kl(fh: BinaryIO, path: Path) -> tuple[int, bytes, int] | None:
    """Read a key and BER length at the current position: (offset, key, length), or None at end of file."""
    offset = fh.tell()
    key = fh.read(16)
    if not key:
        return None
    if len(key) != 16:
        raise DamagedMediaError("truncated KLV key", path=path, where=f"byte {offset}")
    if key[:4] != b"\x06\x0e\x2b\x34":
        raise DamagedMediaError(
            "not a SMPTE KLV key", path=path, where=f"byte {offset}", hint="the file is not MXF or is damaged"
        )
    first = _read_exact(fh, 1, path, offset + 16, "KLV length")[0]
    if first < 0x80:
        return offset, key, first
    count = first & 0x7F
    if count == 0 or count > 8:
        raise DamagedMediaError(f"bad BER length byte 0x{first:02x}", path=path, where=f"byte {offset + 16}")
    length = int.from_bytes(_read_exact(fh, count, path, offset + 17, "KLV length"), "big")
    return offset, key, length


def _is_partition(key: bytes) -> bool:
    return key[:13] == labels.PARTITION_PREFIX and key[13] in (2, 3, 4)


def _parse_local_set(value: bytes, primer: dict[int, bytes], path: Path, offset: int) -> dict[bytes, bytes]:
    props: dict[bytes, bytes] = {}
    pos = 0
    while pos + 4 <= len(value):
        tag, n = struct.unpack_from(">HH", value, pos)
        if pos + 4 + n > len(value):
            raise DamagedMediaError(
                f"local set item 0x{tag:04x} overruns its set", path=path, where=f"byte {offset}"
            )
        key = primer.get(tag) or _STATIC_UL.get(tag)
        if key is not None:
            props[key] = value[pos + 4 : pos + 4 + n]
        pos += 4 + n
    return props


def _read_header(fh: BinaryIO, path: Path) -> _Header:
    fh.seek(0)
    head = fh.read(16)
    if len(head) < 16 or head[:13] != labels.PARTITION_PREFIX or head[13] != 2:
        raise MediaError(
            "not an MXF file (no header partition pack)",
            path=path,
            where="byte 0",
            hint="expected a SMPTE MXF track file",
        )
    fh.seek(0)
    kl = _read_kl(fh, path)
    assert kl is not None
    _off, _key, length = kl
    pack = _read_exact(fh, length, path, fh.tell(), "partition pack")
    if len(pack) < 88:
        raise DamagedMediaError("partition pack too short", path=path, where="byte 0")
    header_byte_count = struct.unpack_from(">Q", pack, 32)[0]
    start = fh.tell()
    end = start + header_byte_count
    primer: dict[int, bytes] = {}
    sets: dict[bytes, _Set] = {}
    while fh.tell() < end:
        kl = _read_kl(fh, path)
        if kl is None:
            raise DamagedMediaError(
                "file ends inside the header metadata", path=path, where=f"byte {fh.tell()}"
            )
        offset, key, length = kl
        value = _read_exact(fh, length, path, offset, "header metadata")
        if _same_ul(key, labels.PRIMER):
            count, size = struct.unpack_from(">II", value, 0)
            if size != 18 or 8 + count * 18 > len(value):
                raise DamagedMediaError("bad primer pack", path=path, where=f"byte {offset}")
            for i in range(count):
                tag = struct.unpack_from(">H", value, 8 + 18 * i)[0]
                primer[tag] = value[10 + 18 * i : 26 + 18 * i]
        elif key[4:6] == b"\x02\x53":  # a local set
            props = _parse_local_set(value, primer, path, offset)
            instance = props.get(_UL["InstanceUID"])
            if instance is not None:
                sets[instance] = _Set(key, props)
    if not sets:
        raise DamagedMediaError("no header metadata sets", path=path, where=f"byte {start}")
    return _Header(sets, end)


def _rational(v: bytes | None) -> Fraction:
    if v is None or len(v) != 8:
        return Fraction(0)
    num, den = struct.unpack(">ii", v)
    return Fraction(num, den) if den else Fraction(0)


def _uint(v: bytes | None) -> int:
    return int.from_bytes(v, "big") if v else 0


def _refs(v: bytes | None) -> list[bytes]:
    if not v or len(v) < 8:
        return []
    count, size = struct.unpack_from(">II", v, 0)
    return [v[8 + size * i : 8 + size * (i + 1)] for i in range(count)]


def _descriptor(header: _Header, path: Path) -> tuple[_Set, _Set]:
    """(file source package, its essence descriptor)."""
    for s in header.sets.values():
        if _same_ul(s.key, labels.SOURCE_PACKAGE):
            desc_ref = s.get("Descriptor")
            if desc_ref is not None and desc_ref in header.sets:
                return s, header.sets[desc_ref]
    raise DamagedMediaError("no file package with an essence descriptor", path=path, where="header metadata")


def _open(path: str | Path) -> tuple[Path, BinaryIO]:
    p = Path(path)
    try:
        return p, open(p, "rb")
    except OSError as exc:
        raise MediaError(f"cannot open: {exc.strerror or exc}", path=p) from exc


def read_mxf_info(path: str | Path) -> TrackFileInfo:
    """Asset UUID (the file package UMID's material number), essence kind, edit rate, duration and format."""
    p, fh = _open(path)
    with fh:
        header = _read_header(fh, p)
    package, desc = _descriptor(header, p)
    umid = package.get("PackageUID") or b""
    if len(umid) != 32:
        raise DamagedMediaError("file package has no 32-byte UMID", path=p, where="header metadata")
    asset = uuid.UUID(bytes=umid[16:32])
    subs = [header.sets[r] for r in _refs(desc.get("SubDescriptors")) if r in header.sets]
    essence: Essence
    if _same_ul(desc.key, labels.RGBA_DESCRIPTOR):
        essence = "picture"
    elif _same_ul(desc.key, labels.WAVE_DESCRIPTOR):
        essence = "sound"
    elif _same_ul(desc.key, labels.DC_TIMED_TEXT_DESCRIPTOR):
        essence = "timed-text"
    else:
        raise MediaError("not a D-Cinema picture, sound or timed text track file", path=p, where="descriptor")
    language = ""
    if essence == "timed-text":
        raw = desc.get("RFC5646LanguageTagList")
        language = raw.decode("utf-16-be") if raw else ""
    else:
        for s in subs:
            raw = s.get("RFC5646SpokenLanguage")
            if raw:
                language = raw.decode("ascii", "replace").rstrip("\x00")
                break
    bits = 12 if essence == "picture" else _uint(desc.get("QuantizationBits"))
    return TrackFileInfo(
        p,
        asset,
        essence,
        _rational(desc.get("SampleRate")),
        _uint(desc.get("ContainerDuration")),
        width=_uint(desc.get("StoredWidth")),
        height=_uint(desc.get("StoredHeight")),
        channels=_uint(desc.get("ChannelCount")),
        sample_rate=int(_rational(desc.get("AudioSamplingRate"))),
        bits=bits,
        language=language,
    )


def iter_mxf_essence(path: str | Path) -> Iterator[bytes]:
    """Each essence element in file order: picture codestreams, sound edit units' raw PCM, the timed text XML.

    Streams the file; ancillary resources of timed text are not included (see
    :func:`read_timed_text_resources`).
    """
    p, fh = _open(path)
    with fh:
        header = _read_header(fh, p)
        fh.seek(header.end)
        while True:
            kl = _read_kl(fh, p)
            if kl is None:
                return
            offset, key, length = kl
            if _same_ul(key, labels.RANDOM_INDEX_PACK) or (_is_partition(key) and key[13] == 4):
                return  # footer or RIP: no more essence
            if _same_ul(key, labels.ENCRYPTED_TRIPLET):
                raise MediaError(
                    "encrypted essence",
                    path=p,
                    where=f"byte {offset}",
                    hint="this track file is encrypted (ST 429-6); decrypting needs its KDM",
                )
            if (
                key[:7] == labels.ESSENCE_ELEMENT_PREFIX[:7]
                and key[8:12] == labels.ESSENCE_ELEMENT_PREFIX[8:12]
            ):
                yield _read_exact(fh, length, p, offset, "essence element")
            else:
                fh.seek(length, 1)


def read_timed_text_resources(path: str | Path) -> list[tuple[uuid.UUID, str, bytes]]:
    """The ancillary resources (fonts, PNGs) of a timed text track file: ``(id, MIME type, data)``."""
    p, fh = _open(path)
    with fh:
        header = _read_header(fh, p)
        _package, desc = _descriptor(header, p)
        wanted: dict[int, tuple[uuid.UUID, str]] = {}
        for ref in _refs(desc.get("SubDescriptors")):
            s = header.sets.get(ref)
            if s is None or not _same_ul(s.key, labels.DC_TIMED_TEXT_RESOURCE_SUBDESCRIPTOR):
                continue
            rid = s.get("AncillaryResourceID") or bytes(16)
            mime = (s.get("MIMEMediaType") or b"").decode("utf-16-be")
            wanted[_uint(s.get("EssenceStreamID"))] = (uuid.UUID(bytes=rid), mime)
        found: dict[int, bytes] = {}
        fh.seek(header.end)
        current_sid = -1
        while True:
            kl = _read_kl(fh, p)
            if kl is None:
                break
            offset, key, length = kl
            if _same_ul(key, labels.RANDOM_INDEX_PACK):
                break
            if _same_ul(key, labels.GENERIC_STREAM_PARTITION) or _is_partition(key):
                value = _read_exact(fh, length, p, offset, "partition pack")
                current_sid = struct.unpack_from(">I", value, 60)[0] if len(value) >= 64 else -1
                if key[13] == 4:
                    break
            elif _same_ul(key, labels.GENERIC_STREAM_DATA) and current_sid in wanted:
                found[current_sid] = _read_exact(fh, length, p, offset, "generic stream data")
            else:
                fh.seek(length, 1)
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise DamagedMediaError(
            f"resource stream(s) {missing} not found", path=p, where="generic stream partitions"
        )
    return [(rid, mime, found[sid]) for sid, (rid, mime) in sorted(wanted.items())]
