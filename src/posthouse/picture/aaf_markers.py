"""Markers in a turnover AAF: OTIO's AAF writer drops them, so they are added afterwards with pyaaf2.

The marker layout (``DescriptiveMarker`` in one ``EventMobSlot`` on the top-level composition mob, where
Avid Media Composer and Pro Tools put timeline markers) lives in :mod:`posthouse.core.aaf_markers`; here
the markers describe the cut's picture slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aaf2  # type: ignore[import-untyped]

from posthouse.core.aaf_markers import AafMarker, add_marker_slot, read_markers, top_level_mob
from posthouse.core.errors import PosthouseError
from posthouse.core.time import Rate

__all__ = ["AafMarker", "add_markers", "read_markers"]


def add_markers(path: str | Path, markers: Sequence[AafMarker], rate: Rate) -> int:
    """Add ``markers`` to the AAF at ``path`` in place; returns how many were written."""
    path = Path(path)
    if not markers:
        return 0
    try:
        with aaf2.open(str(path), "rw") as f:
            mob = top_level_mob(f, path)
            picture = [s.slot_id for s in mob.slots if str(getattr(s.segment, "media_kind", "")) == "Picture"]
            described = {picture[0]} if picture else {mob.slots[0].slot_id}
            add_marker_slot(f, mob, markers, rate, described)
    except PosthouseError:
        raise
    except Exception as exc:
        raise PosthouseError(f"cannot add markers to AAF: {exc}", path=path) from None
    return len(markers)
