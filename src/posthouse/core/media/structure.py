"""Container structure walks (QuickTime atoms, RIFF chunks) used to tell a damaged file from a bad one.

FFmpeg only says "moov atom not found" or "invalid data"; a cheap walk of the top-level boxes says what
is there and what is missing, which is what an assistant editor needs to decide whether a card is
recoverable.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["Box", "StructureReport", "scan_structure"]

_QT_TOP = {
    b"ftyp",
    b"moov",
    b"mdat",
    b"free",
    b"skip",
    b"wide",
    b"uuid",
    b"pnot",
    b"udta",
    b"meta",
    b"moof",
    b"mfra",
    b"sidx",
    b"styp",
    b"pdin",
}


@dataclass(frozen=True, slots=True)
class Box:
    """One top-level atom or chunk: its four-character code, offset and declared size."""

    kind: str
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class StructureReport:
    """What a walk of the container found: family, boxes, and the problems seen."""

    family: str  # "quicktime", "riff", "unknown"
    boxes: tuple[Box, ...]
    problems: tuple[str, ...]
    truncated: bool


def _walk_quicktime(fh: BinaryIO, size: int) -> StructureReport:
    boxes: list[Box] = []
    problems: list[str] = []
    truncated = False
    pos = 0
    while pos + 8 <= size:
        fh.seek(pos)
        head = fh.read(16)
        box_size, kind = struct.unpack(">I4s", head[:8])
        if box_size == 1 and len(head) >= 16:
            box_size = struct.unpack(">Q", head[8:16])[0]
        elif box_size == 0:
            box_size = size - pos
        name = kind.decode("latin-1")
        if box_size < 8:
            problems.append(f"atom '{name}' at byte {pos} has an impossible size {box_size}")
            break
        boxes.append(Box(name, pos, box_size))
        if pos + box_size > size:
            truncated = True
            problems.append(
                f"atom '{name}' at byte {pos} declares {box_size} bytes but only {size - pos} are present "
                "(file truncated)"
            )
            break
        pos += box_size
    kinds = {b.kind for b in boxes}
    if "mdat" in kinds and "moov" not in kinds and "moof" not in kinds:
        mdat = next(b for b in boxes if b.kind == "mdat")
        present = min(mdat.size, size - mdat.offset)
        problems.append(
            f"no movie header (moov atom): the recording was cut off before it was finalised; "
            f"{present} bytes of media data (mdat) are present and can only be recovered with a "
            "reference file from the same camera"
        )
        truncated = True
    return StructureReport("quicktime", tuple(boxes), tuple(problems), truncated)


def _walk_riff(fh: BinaryIO, size: int) -> StructureReport:
    boxes: list[Box] = []
    problems: list[str] = []
    truncated = False
    fh.seek(4)
    (riff_size,) = struct.unpack("<I", fh.read(4))
    if riff_size + 8 > size:
        truncated = True
        problems.append(
            f"RIFF header declares {riff_size + 8} bytes but the file has {size} (file truncated)"
        )
    pos = 12
    while pos + 8 <= size:
        fh.seek(pos)
        kind, chunk_size = struct.unpack("<4sI", fh.read(8))
        name = kind.decode("latin-1")
        boxes.append(Box(name, pos, chunk_size + 8))
        if pos + 8 + chunk_size > size:
            truncated = True
            present = size - pos - 8
            problems.append(
                f"chunk '{name.strip()}' at byte {pos} declares {chunk_size} bytes but only {present} are "
                "present (file truncated)"
            )
            break
        pos += 8 + chunk_size + (chunk_size & 1)
    return StructureReport("riff", tuple(boxes), tuple(problems), truncated)


def scan_structure(path: str | Path) -> StructureReport:
    """Walk the top level of a QuickTime/MP4 or RIFF/WAV file; other files get family ``unknown``."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
            if head[:4] == b"RF64":
                return StructureReport("riff", (), (), False)
            return _walk_riff(fh, size)
        if len(head) >= 8 and head[4:8] in _QT_TOP:
            return _walk_quicktime(fh, size)
    return StructureReport("unknown", (), (), False)
