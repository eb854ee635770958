"""Index table segments (SMPTE ST 377-1 §11): VBR (one entry per frame) and CBR (constant edit unit size)."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from . import labels
from .klv import batch, local_set, rational, u32

__all__ = ["ENTRIES_PER_SEGMENT", "cbr_index", "vbr_index"]

#: asdcplib's CBRIndexEntriesPerSegment: keeps IndexEntryArray (8 + 11·n bytes) under the 64 KiB local-set
#: item limit.
ENTRIES_PER_SEGMENT = 5000

_TAG = {name: tag for name, (tag, _key) in labels.STATIC_TAGS.items()}


def _segment(
    edit_rate: Fraction,
    start: int,
    duration: int,
    edit_unit_byte_count: int,
    delta: bytes | None,
    entries: bytes | None,
    entry_count: int,
) -> bytes:
    items = [
        (_TAG["InstanceUID"], uuid.uuid4().bytes),
        (_TAG["IndexEditRate"], rational(edit_rate)),
        (_TAG["IndexStartPosition"], struct.pack(">q", start)),
        (_TAG["IndexDuration"], struct.pack(">q", duration)),
        (_TAG["EditUnitByteCount"], u32(edit_unit_byte_count)),
        (_TAG["IndexSID"], u32(129)),
        (_TAG["BodySID"], u32(1)),
        (_TAG["SliceCount"], b"\x00"),
        (_TAG["PosTableCount"], b"\x00"),
    ]
    if delta is not None:
        items.append((_TAG["DeltaEntryArray"], delta))
    if entries is not None:
        items.append((_TAG["IndexEntryArray"], struct.pack(">II", entry_count, 11) + entries))
    return local_set(labels.INDEX_TABLE_SEGMENT, items)


def vbr_index(edit_rate: Fraction, stream_offsets: Sequence[int]) -> bytes:
    """Index segments with one 11-byte entry per edit unit (TemporalOffset 0, KeyFrameOffset 0, Flags 0,
    StreamOffset of the frame's KL within the essence container), 5,000 entries a segment."""
    offsets = np.asarray(stream_offsets, dtype=np.uint64)
    # one delta entry: PosTableIndex 0, Slice 0, ElementDelta 0 (a single element per edit unit)
    delta = batch([struct.pack(">bBI", 0, 0, 0)], 6)
    out = []
    for start in range(0, max(len(offsets), 1), ENTRIES_PER_SEGMENT):
        chunk = offsets[start : start + ENTRIES_PER_SEGMENT]
        rec = np.zeros(len(chunk), dtype=[("head", "u1", (3,)), ("offset", ">u8")])
        rec["offset"] = chunk
        out.append(_segment(edit_rate, start, len(chunk), 0, delta, rec.tobytes(), len(chunk)))
    return b"".join(out)


def cbr_index(edit_rate: Fraction, edit_unit_byte_count: int, duration: int) -> bytes:
    """One segment for constant-size edit units (KL + payload), no entry array, as asdcplib does for PCM."""
    return _segment(edit_rate, 0, duration, edit_unit_byte_count, None, None, 0)
