"""Bins: the catalog grouped the way an assistant editor organises a project (scene, camera, day)."""

from __future__ import annotations

from collections import defaultdict

from posthouse.core.catalog import Catalog, MediaRecord
from posthouse.core.errors import UsageError

__all__ = ["BIN_KEYS", "make_bins", "select_media"]

BIN_KEYS = ("scene", "camera", "day", "reel")


def _scene_key(scene: str) -> tuple[int, str]:
    digits = "".join(ch for ch in scene if ch.isdigit())
    return (int(digits) if digits else 1 << 30, scene)


def select_media(
    catalog: Catalog,
    *,
    scene: str | None = None,
    camera: str | None = None,
    day: str | None = None,
    role: str | None = None,
    include_damaged: bool = True,
) -> list[MediaRecord]:
    """Catalog records filtered by scene, camera, shoot day and role, in scene/take/camera order."""
    out = []
    for rec in catalog.media():
        if scene and (rec.scene or "").upper() != scene.upper():
            continue
        if camera and (rec.camera or "").upper() != camera.upper():
            continue
        if day and rec.shoot_day != day:
            continue
        if role and rec.role != role:
            continue
        if not include_damaged and rec.damaged:
            continue
        out.append(rec)
    return sorted(out, key=_order)


def _order(rec: MediaRecord) -> tuple[tuple[int, str], int, str, str]:
    take = rec.take or ""
    return (_scene_key(rec.scene or ""), int(take) if take.isdigit() else 0, rec.camera or "", rec.path)


def make_bins(catalog: Catalog, by: str = "scene") -> dict[str, list[MediaRecord]]:
    """Group the catalog into bins by ``scene``, ``camera``, ``day`` or ``reel``."""
    if by not in BIN_KEYS:
        raise UsageError(f"cannot bin by '{by}'", hint=f"use one of {', '.join(BIN_KEYS)}")
    attr = "shoot_day" if by == "day" else by
    bins: dict[str, list[MediaRecord]] = defaultdict(list)
    for rec in select_media(catalog):
        bins[str(getattr(rec, attr) or "(unknown)")].append(rec)
    keys = sorted(bins, key=_scene_key) if by == "scene" else sorted(bins)
    return {k: bins[k] for k in keys}
