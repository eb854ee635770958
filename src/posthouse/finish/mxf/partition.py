"""Partition packs, the primer pack, KLV fill and the random index pack (SMPTE ST 377-1 §6, §9, §12)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import labels
from .klv import KL_SIZE, batch, ber_length, klv

__all__ = ["KAG_SIZE", "PartitionPack", "fill", "primer_pack", "random_index_pack"]

#: KLV alignment grid: asdcplib writes D-Cinema track files with KAG 1 (no alignment fill in the body).
KAG_SIZE = 1


@dataclass
class PartitionPack:
    """The fields of one partition pack (ST 377-1 Table 5), in file order."""

    key: bytes
    this_partition: int = 0
    previous_partition: int = 0
    footer_partition: int = 0
    header_byte_count: int = 0
    index_byte_count: int = 0
    index_sid: int = 0
    body_offset: int = 0
    body_sid: int = 0
    operational_pattern: bytes = labels.OP_ATOM
    essence_containers: list[bytes] = field(default_factory=list)
    major_version: int = 1
    minor_version: int = 2  # MXF 1.2 (ST 377-1:2009/2011), as asdcplib writes

    def pack(self) -> bytes:
        """The complete KLV packet."""
        value = struct.pack(
            ">HHIQQQQQIQI",
            self.major_version,
            self.minor_version,
            KAG_SIZE,
            self.this_partition,
            self.previous_partition,
            self.footer_partition,
            self.header_byte_count,
            self.index_byte_count,
            self.index_sid,
            self.body_offset,
            self.body_sid,
        )
        value += self.operational_pattern + batch(self.essence_containers, 16)
        return klv(self.key, value)


def fill(total: int) -> bytes:
    """A KLV fill item exactly ``total`` bytes long (key + 4-byte BER + zeros); ``total`` ≥ 20."""
    if total < KL_SIZE:
        raise ValueError(f"a fill item needs at least {KL_SIZE} bytes, got {total}")
    return labels.FILL + ber_length(total - KL_SIZE) + bytes(total - KL_SIZE)


def primer_pack(entries: Sequence[tuple[int, bytes]]) -> bytes:
    """The primer pack: a batch of (local tag u16, property UL) pairs, 18 bytes each."""
    return klv(labels.PRIMER, batch([struct.pack(">H", tag) + key for tag, key in entries], 18))


def random_index_pack(pairs: Sequence[tuple[int, int]]) -> bytes:
    """The RIP: (BodySID u32, ByteOffset u64) per partition, then the pack's own total length (u32)."""
    body = b"".join(struct.pack(">IQ", sid, offset) for sid, offset in pairs)
    total = 16 + 4 + len(body) + 4  # key + 4-byte BER + pairs + overall length
    return labels.RANDOM_INDEX_PACK + ber_length(len(body) + 4) + body + struct.pack(">I", total)
