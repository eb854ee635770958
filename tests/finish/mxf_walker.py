"""An independent structural KLV walker for MXF files, for tests only.

Written from SMPTE ST 336 (KLV), ST 377-1 (partitions, primer, local sets, index tables, RIP) and ST 410
(generic stream partitions). It deliberately imports nothing from ``posthouse.finish.mxf``: every key and
field layout here is spelled out again, so a mistake in the writer's tables is not mirrored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

SMPTE = bytes.fromhex("060e2b34")
PARTITION = bytes.fromhex("060e2b34020501010d01020101")  # + kind, status, 00
GENERIC_STREAM = bytes.fromhex("060e2b34020501010d01020101031100")
PRIMER = bytes.fromhex("060e2b34020501010d01020101050100")
RIP = bytes.fromhex("060e2b34020501010d01020101110100")
INDEX_SEGMENT = bytes.fromhex("060e2b34025301010d01020101100100")
FILL_PREFIX = bytes.fromhex("060e2b34010101")  # + version, 03 01 02 10 01 00 00 00
FILL_SUFFIX = bytes.fromhex("03010210010000 00".replace(" ", ""))
ESSENCE_PREFIX = bytes.fromhex("060e2b34010201010d010301")
GENERIC_DATA = bytes.fromhex("060e2b340101010c0d01050901000000")

KINDS = {2: "header", 3: "body", 4: "footer"}


def ul_hex(key: bytes) -> str:
    return ".".join(f"{b:02x}" for b in key)


@dataclass
class Packet:
    offset: int
    key: bytes
    kl: int  # bytes of key + length
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.kl + self.length


@dataclass
class PartitionInfo:
    offset: int
    kind: str  # header, body, footer, generic
    status: int
    major: int
    minor: int
    kag: int
    this: int
    previous: int
    footer: int
    header_byte_count: int
    index_byte_count: int
    index_sid: int
    body_offset: int
    body_sid: int
    op: bytes
    containers: list[bytes]
    pack_end: int


@dataclass
class Walk:
    size: int
    packets: list[Packet] = field(default_factory=list)
    partitions: list[PartitionInfo] = field(default_factory=list)
    primer: dict[int, bytes] = field(default_factory=dict)
    sets: list[tuple[bytes, dict[int, bytes]]] = field(default_factory=list)  # header metadata local sets
    index: list[dict[int, bytes]] = field(default_factory=list)  # index table segments (tag → value)
    rip: list[tuple[int, int]] = field(default_factory=list)
    essence: list[Packet] = field(default_factory=list)
    generic_data: list[Packet] = field(default_factory=list)

    def sets_of(self, key_hex: str) -> list[dict[int, bytes]]:
        key = bytes.fromhex(key_hex.replace(".", ""))
        return [props for k, props in self.sets if k == key]

    def tag_for(self, ul_hex_: str) -> int:
        key = bytes.fromhex(ul_hex_.replace(".", ""))
        tags = [t for t, u in self.primer.items() if u[:7] == key[:7] and u[8:] == key[8:]]
        assert tags, f"primer has no tag for {ul_hex_}"
        return tags[0]


def _ber(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, 1
    n = first & 0x7F
    assert 1 <= n <= 8, f"bad BER at {pos}"
    return int.from_bytes(data[pos + 1 : pos + 1 + n], "big"), 1 + n


def _local_set(value: bytes, where: int) -> dict[int, bytes]:
    props: dict[int, bytes] = {}
    pos = 0
    while pos < len(value):
        assert pos + 4 <= len(value), f"local set at {where}: dangling bytes"
        tag, n = struct.unpack_from(">HH", value, pos)
        assert pos + 4 + n <= len(value), f"local set at {where}: item 0x{tag:04x} overruns"
        assert tag not in props, f"local set at {where}: tag 0x{tag:04x} twice"
        props[tag] = value[pos + 4 : pos + 4 + n]
        pos += 4 + n
    return props


def walk(path: Path) -> Walk:
    """Parse every KLV of ``path``; assert the structural rules of ST 377-1 that need no metadata model."""
    data = path.read_bytes()
    w = Walk(size=len(data))
    pos = 0
    while pos < len(data):
        key = data[pos : pos + 16]
        assert len(key) == 16 and key[:4] == SMPTE, f"no SMPTE key at byte {pos}"
        length, nlen = _ber(data, pos + 16)
        pkt = Packet(pos, key, 16 + nlen, length)
        assert pkt.end <= len(data), f"KLV at {pos} runs past the end of the file"
        w.packets.append(pkt)
        value = data[pos + pkt.kl : pkt.end]
        if key[:13] == PARTITION and ((key[13] in KINDS and key[15] == 0) or key == GENERIC_STREAM):
            f = struct.unpack_from(">HHIQQQQQIQI", value, 0)
            (count, size) = struct.unpack_from(">II", value, 80)
            assert size == 16 and len(value) == 88 + 16 * count, "partition pack essence container batch"
            kind = "generic" if key == GENERIC_STREAM else KINDS[key[13]]
            w.partitions.append(
                PartitionInfo(
                    pos,
                    kind,
                    key[14],
                    f[0],
                    f[1],
                    f[2],
                    f[3],
                    f[4],
                    f[5],
                    f[6],
                    f[7],
                    f[8],
                    f[9],
                    f[10],
                    op=value[64:80],
                    containers=[value[88 + 16 * i : 104 + 16 * i] for i in range(count)],
                    pack_end=pkt.end,
                )
            )
        elif key == PRIMER:
            count, size = struct.unpack_from(">II", value, 0)
            assert size == 18 and len(value) == 8 + 18 * count, "primer batch"
            for i in range(count):
                tag = struct.unpack_from(">H", value, 8 + 18 * i)[0]
                assert tag not in w.primer, f"primer lists tag 0x{tag:04x} twice"
                w.primer[tag] = value[10 + 18 * i : 26 + 18 * i]
        elif key == INDEX_SEGMENT:
            w.index.append(_local_set(value, pos))
        elif key[4] == 0x02 and key[5] == 0x53:
            w.sets.append((key, _local_set(value, pos)))
        elif key == RIP:
            assert pkt.end == len(data), "the RIP is not the last packet"
            assert struct.unpack(">I", value[-4:])[0] == pkt.kl + pkt.length, "RIP overall length"
            body = value[:-4]
            assert len(body) % 12 == 0
            w.rip = [struct.unpack_from(">IQ", body, i) for i in range(0, len(body), 12)]
        elif key[:12] == ESSENCE_PREFIX:
            w.essence.append(pkt)
        elif key == GENERIC_DATA:
            w.generic_data.append(pkt)
        else:
            assert key[:7] == FILL_PREFIX and key[8:] == FILL_SUFFIX, f"unknown key {ul_hex(key)} at {pos}"
        pos = pkt.end
    _check_partitions(w)
    return w


def _check_partitions(w: Walk) -> None:
    parts = w.partitions
    assert parts and parts[0].offset == 0 and parts[0].kind == "header", "file must start with a header"
    assert parts[-1].kind == "footer", "last partition must be the footer"
    footer = parts[-1].offset
    offsets = [p.offset for p in parts]
    for i, p in enumerate(parts):
        assert p.this == p.offset, f"{p.kind} ThisPartition {p.this} != {p.offset}"
        assert p.previous == (offsets[i - 1] if i else 0), f"{p.kind} PreviousPartition"
        assert p.footer == footer, f"{p.kind} FooterPartition {p.footer} != {footer}"
        assert (p.major, p.minor) == (1, 2) and p.kag >= 1
        assert p.containers == parts[0].containers and p.op == parts[0].op
    header = parts[0]
    assert header.status == 4, "header partition must be closed and complete"
    # header metadata (primer, sets, fill) exactly fills HeaderByteCount up to the next partition
    assert header.pack_end + header.header_byte_count == parts[1].offset, "HeaderByteCount"
    assert (header.index_sid, header.body_sid, header.index_byte_count) == (0, 0, 0)
    idx_pkts = [k for k in w.packets if k.key == INDEX_SEGMENT]
    assert idx_pkts and all(k.offset > footer for k in idx_pkts), "index segments live in the footer"
    last = parts[-1]
    assert last.index_sid == 129 and last.body_sid == 0 and last.header_byte_count == 0
    assert last.pack_end + last.index_byte_count == idx_pkts[-1].end, "IndexByteCount"
    assert w.rip == [(p.body_sid, p.offset) for p in parts], "RIP must list every partition"
    # every local tag used in the header metadata is in the primer
    used = {tag for _k, props in w.sets for tag in props}
    assert used <= set(w.primer), (
        f"tags missing from the primer: {sorted(hex(t) for t in used - set(w.primer))}"
    )
    assert {tag for props in w.index for tag in props} <= set(w.primer) | _INDEX_STATIC


#: ST 377-1 index table segment tags (static, may be used without a primer in the footer).
_INDEX_STATIC = {0x3C0A, 0x3F0B, 0x3F0C, 0x3F0D, 0x3F05, 0x3F06, 0x3F07, 0x3F08, 0x3F0E, 0x3F09, 0x3F0A}


def index_offsets(w: Walk) -> list[int]:
    """Absolute file offsets of each edit unit's essence KL, from the index table (VBR or CBR)."""
    body = next(p for p in w.partitions if p.kind == "body")
    container_start = body.pack_end
    out: list[int] = []
    for seg in w.index:
        assert struct.unpack(">I", seg[0x3F06])[0] == 129 and struct.unpack(">I", seg[0x3F07])[0] == 1
        start = struct.unpack(">q", seg[0x3F0C])[0]
        duration = struct.unpack(">q", seg[0x3F0D])[0]
        eubc = struct.unpack(">I", seg[0x3F05])[0]
        assert start == len(out), "index segments must be contiguous"
        if eubc:
            out += [container_start + i * eubc for i in range(duration)]
        else:
            count, size = struct.unpack_from(">II", seg[0x3F0A], 0)
            assert size == 11 and count == duration
            for i in range(count):
                out.append(container_start + struct.unpack_from(">Q", seg[0x3F0A], 8 + 11 * i + 3)[0])
    return out


def rational(v: bytes) -> tuple[int, int]:
    num, den = struct.unpack(">ii", v)
    return num, den


def uint(v: bytes) -> int:
    return int.from_bytes(v, "big")
