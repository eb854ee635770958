"""KLV building blocks (SMPTE ST 336): BER lengths, packets, local sets, MXF value types (ST 377-1)."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from fractions import Fraction

__all__ = [
    "BER4_MAX",
    "KL_SIZE",
    "batch",
    "ber_length",
    "i64",
    "klv",
    "local_set",
    "rational",
    "read_ber",
    "timestamp",
    "u8",
    "u16",
    "u32",
    "u64",
    "ul",
    "umid_for",
    "utf16",
    "version_type",
]

#: Key (16) + 4-byte BER length, the KL size asdcplib uses for every packet below 16 MiB.
KL_SIZE = 20
#: Largest value a 4-byte BER length (0x83 + 3 bytes) can carry.
BER4_MAX = 0xFFFFFF


def ul(text: str) -> bytes:
    """A 16-byte SMPTE UL from dotted hex (``"06.0e.2b.34...."``)."""
    raw = bytes.fromhex(text.replace(".", "").replace(" ", ""))
    if len(raw) != 16:
        raise ValueError(f"a UL has 16 bytes, got {len(raw)}: {text}")
    return raw


def ber_length(n: int) -> bytes:
    """BER long-form length: 4 bytes (0x83 + 24 bits) like asdcplib, 9 bytes (0x88 + 64 bits) above 16 MiB."""
    if n < 0:
        raise ValueError("negative KLV length")
    if n <= BER4_MAX:
        return b"\x83" + n.to_bytes(3, "big")
    return b"\x88" + n.to_bytes(8, "big")


def read_ber(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode a BER length at ``pos``; return ``(length, position after it)``. Raises ValueError when bad."""
    if pos >= len(buf):
        raise ValueError("truncated BER length")
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 8 or pos + 1 + count > len(buf):
        raise ValueError(f"bad BER length byte 0x{first:02x}")
    return int.from_bytes(bytes(buf[pos + 1 : pos + 1 + count]), "big"), pos + 1 + count


def klv(key: bytes, value: bytes) -> bytes:
    """One KLV packet."""
    return key + ber_length(len(value)) + value


def local_set(key: bytes, items: Iterable[tuple[int, bytes]]) -> bytes:
    """A local set (2-byte tag, 2-byte length) as MXF header metadata and index segments use."""
    parts = []
    for tag, value in items:
        if len(value) > 0xFFFF:
            raise ValueError(f"local set item 0x{tag:04x} is {len(value)} bytes, over 65535")
        parts.append(struct.pack(">HH", tag, len(value)) + value)
    return klv(key, b"".join(parts))


def u8(v: int) -> bytes:
    return struct.pack(">B", v)


def u16(v: int) -> bytes:
    return struct.pack(">H", v)


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def u64(v: int) -> bytes:
    return struct.pack(">Q", v)


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def rational(r: Fraction) -> bytes:
    """MXF Rational: int32 numerator, int32 denominator."""
    return struct.pack(">ii", r.numerator, r.denominator)


def batch(items: Sequence[bytes], item_size: int) -> bytes:
    """MXF Batch/Array: uint32 count, uint32 item size, then the items."""
    for it in items:
        if len(it) != item_size:
            raise ValueError(f"batch item of {len(it)} bytes, expected {item_size}")
    return struct.pack(">II", len(items), item_size) + b"".join(items)


def utf16(text: str) -> bytes:
    """MXF UTF-16 string, big-endian, no terminator."""
    return text.encode("utf-16-be")


def timestamp(dt: datetime) -> bytes:
    """MXF TimeStamp: year u16, month, day, hour, minute, second, 1/250 s ticks (u8 each)."""
    return struct.pack(
        ">HBBBBBB", dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond // 4000
    )


def version_type(major: int, minor: int, patch: int, build: int = 0, release: int = 0) -> bytes:
    """MXF ProductVersion: five uint16 (major, minor, patch, build, release)."""
    return struct.pack(">HHHHH", major, minor, patch, build, release)


#: SMPTE ST 330 UMID universal label prefix as asdcplib makes it: type 0x0f (not identified), material
#: number made from a UUID (0x20), length 0x13, instance number 0.
_UMID_PREFIX = bytes.fromhex("060a2b340101010501010f2013000000")


def umid_for(material: uuid.UUID) -> bytes:
    """A 32-byte basic UMID whose material number is ``material`` (asdcplib ``MakeUMID(0x0f, uuid)``)."""
    return _UMID_PREFIX + material.bytes
