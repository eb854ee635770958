"""Markers in AAF with pyaaf2, the format-level part shared by every department that writes AAF.

OTIO's AAF writer drops markers, so they are added with pyaaf2. Each marker becomes a ``DescriptiveMarker``
(position in edit units from the sequence start, the note as ``Comment``, the colour as
``CommentMarkerColor`` and as Avid's ``_ATN_CRM_COLOR`` attribute) in one ``EventMobSlot`` on a composition
mob, which is where Avid Media Composer and Pro Tools put timeline markers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aaf2  # type: ignore[import-untyped]

from posthouse.core.errors import PosthouseError
from posthouse.core.time import Rate

__all__ = ["MARKER_COLORS", "AafMarker", "add_marker_slot", "mob_markers", "read_markers", "top_level_mob"]

MARKER_COLORS: Final[dict[str, tuple[int, int, int]]] = {
    "RED": (41471, 12134, 6564),
    "GREEN": (13107, 52428, 13107),
    "BLUE": (13107, 13107, 52428),
    "CYAN": (13107, 52428, 52428),
    "MAGENTA": (52428, 13107, 52428),
    "YELLOW": (52428, 52428, 13107),
    "BLACK": (0, 0, 0),
    "WHITE": (65535, 65535, 65535),
}
"""16-bit RGB of the marker colours Avid knows; any other colour is written red."""


@dataclass(frozen=True, slots=True)
class AafMarker:
    """A marker at ``position`` edit units from the sequence start (record time minus the record start)."""

    position: int
    comment: str
    color: str = "RED"
    user: str = ""
    length: int = 1


def top_level_mob(f: Any, path: Path) -> Any:
    """The first top-level composition mob of the open pyaaf2 file ``f`` (read from ``path``)."""
    mobs = list(f.content.toplevel())
    if not mobs:
        raise PosthouseError("AAF has no top-level composition mob to put markers on", path=path)
    return mobs[0]


def add_marker_slot(
    f: Any, mob: Any, markers: Sequence[AafMarker], rate: Rate, described: Iterable[int]
) -> Any:
    """Append one ``EventMobSlot`` at ``rate`` holding ``markers`` (in position order) to the composition
    ``mob`` of the open pyaaf2 file ``f``, each marker describing the slot ids ``described``; returns it."""
    slots = set(described)
    seq = f.create.Sequence(media_kind="DescriptiveMetadata")
    for m in sorted(markers, key=lambda m: m.position):
        dm = f.create.DescriptiveMarker()
        dm["Position"].value = int(m.position)
        dm["Length"].value = int(m.length)
        dm["Comment"].value = m.comment
        dm["CommentMarkerUser"].value = m.user
        red, green, blue = MARKER_COLORS.get(m.color.upper(), MARKER_COLORS["RED"])
        dm["CommentMarkerColor"].value = {"red": red, "green": green, "blue": blue}
        dm["DescribedSlots"].value = slots
        attrs = aaf2.misc.TaggedValueHelper(dm["CommentMarkerAttributeList"])
        attrs["_ATN_CRM_COLOR"] = m.color.capitalize()
        seq.components.append(dm)
    slot = f.create.EventMobSlot()
    slot["EditRate"].value = f"{rate.num}/{rate.den}"
    slot["SlotID"].value = max(s.slot_id for s in mob.slots) + 1
    slot["PhysicalTrackNumber"].value = 1
    slot.segment = seq
    mob.slots.append(slot)
    return slot


def mob_markers(mob: Any) -> list[AafMarker]:
    """Every ``DescriptiveMarker`` on the event slots of the pyaaf2 ``mob``, in position order."""
    out: list[AafMarker] = []
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


def read_markers(path: str | Path) -> list[AafMarker]:
    """Every ``DescriptiveMarker`` on the top-level composition's event slots of the AAF at ``path``."""
    path = Path(path)
    with aaf2.open(str(path), "r") as f:
        return mob_markers(top_level_mob(f, path))
