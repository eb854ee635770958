"""Markers in AAF: OTIO's AAF writer drops them, so they are added afterwards with pyaaf2.

Each marker becomes a ``DescriptiveMarker`` (position in edit units from the sequence start, the note as
``Comment``, colour as ``CommentMarkerColor``) in one ``EventMobSlot`` on the top-level composition mob,
which is where Avid Media Composer and Pro Tools put timeline markers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aaf2  # type: ignore[import-untyped]

from posthouse.core.errors import PosthouseError
from posthouse.core.time import Rate

__all__ = ["AafMarker", "add_markers", "read_markers"]

_COLORS: Final[dict[str, tuple[int, int, int]]] = {
    "RED": (41471, 12134, 6564),
    "GREEN": (13107, 52428, 13107),
    "BLUE": (13107, 13107, 52428),
    "CYAN": (13107, 52428, 52428),
    "MAGENTA": (52428, 13107, 52428),
    "YELLOW": (52428, 52428, 13107),
    "BLACK": (0, 0, 0),
    "WHITE": (65535, 65535, 65535),
}


@dataclass(frozen=True, slots=True)
class AafMarker:
    """A marker at ``position`` frames from the sequence start (record time minus the record start)."""

    position: int
    comment: str
    color: str = "RED"
    user: str = ""
    length: int = 1


def _top_mob(f: Any, path: Path) -> Any:
    mobs = list(f.content.toplevel())
    if not mobs:
        raise PosthouseError("AAF has no top-level composition mob to put markers on", path=path)
    return mobs[0]


def add_markers(path: str | Path, markers: Sequence[AafMarker], rate: Rate) -> int:
    """Add ``markers`` to the AAF at ``path`` in place; returns how many were written."""
    path = Path(path)
    if not markers:
        return 0
    try:
        with aaf2.open(str(path), "rw") as f:
            mob = _top_mob(f, path)
            picture = [s.slot_id for s in mob.slots if str(getattr(s.segment, "media_kind", "")) == "Picture"]
            described = {picture[0]} if picture else {mob.slots[0].slot_id}
            seq = f.create.Sequence(media_kind="DescriptiveMetadata")
            for m in sorted(markers, key=lambda m: m.position):
                dm = f.create.DescriptiveMarker()
                dm["Position"].value = int(m.position)
                dm["Length"].value = int(m.length)
                dm["Comment"].value = m.comment
                dm["CommentMarkerUser"].value = m.user
                red, green, blue = _COLORS.get(m.color.upper(), _COLORS["RED"])
                dm["CommentMarkerColor"].value = {"red": red, "green": green, "blue": blue}
                dm["DescribedSlots"].value = described
                attrs = aaf2.misc.TaggedValueHelper(dm["CommentMarkerAttributeList"])
                attrs["_ATN_CRM_COLOR"] = m.color.capitalize()
                seq.components.append(dm)
            slot = f.create.EventMobSlot()
            slot["EditRate"].value = f"{rate.num}/{rate.den}"
            slot["SlotID"].value = max(s.slot_id for s in mob.slots) + 1
            slot["PhysicalTrackNumber"].value = 1
            slot.segment = seq
            mob.slots.append(slot)
    except PosthouseError:
        raise
    except Exception as exc:
        raise PosthouseError(f"cannot add markers to AAF: {exc}", path=path) from None
    return len(markers)


def read_markers(path: str | Path) -> list[AafMarker]:
    """Every ``DescriptiveMarker`` on the top-level mob's event slots, in position order."""
    path = Path(path)
    out: list[AafMarker] = []
    with aaf2.open(str(path), "r") as f:
        mob = _top_mob(f, path)
        for slot in mob.slots:
            if slot.__class__.__name__ != "EventMobSlot":
                continue
            segment = slot.segment
            components = segment.components if hasattr(segment, "components") else [segment]
            for c in components:
                if c.__class__.__name__ != "DescriptiveMarker":
                    continue
                user = c["CommentMarkerUser"].value if "CommentMarkerUser" in c else ""
                length = c["Length"].value if "Length" in c else 1
                color = "RED"
                if "CommentMarkerAttributeList" in c:
                    tagged = aaf2.misc.TaggedValueHelper(c["CommentMarkerAttributeList"])
                    with contextlib.suppress(KeyError):
                        color = str(tagged["_ATN_CRM_COLOR"]).upper()
                out.append(
                    AafMarker(
                        position=int(c["Position"].value),
                        comment=str(c["Comment"].value or ""),
                        color=color,
                        user=str(user or ""),
                        length=int(length or 1),
                    )
                )
    return sorted(out, key=lambda m: m.position)
