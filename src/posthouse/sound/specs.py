"""Loudness delivery specs as data: the built-in TOML files in ``posthouse/sound/specs/`` or a user's copy."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from posthouse.core.errors import UsageError

__all__ = ["LAYOUTS", "LoudnessSpec", "builtin_specs", "load_spec"]

LAYOUTS: Final = ("5.1", "stereo")


@dataclass(frozen=True, slots=True)
class LoudnessSpec:
    """A loudness target: integrated level, tolerance, true-peak ceiling, gating and output layouts."""

    name: str
    target_lufs: float
    tolerance_lu: float
    true_peak_dbtp: float
    gating: str = "program"  # "program" or "dialogue"
    dialogue_min_percent: float = 15.0
    fallback_target_lufs: float | None = None
    layouts: tuple[str, ...] = LAYOUTS
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "name": self.name,
            "description": self.description,
            "target_lufs": self.target_lufs,
            "tolerance_lu": self.tolerance_lu,
            "true_peak_dbtp": self.true_peak_dbtp,
            "gating": self.gating,
            "dialogue_min_percent": self.dialogue_min_percent,
            "fallback_target_lufs": self.fallback_target_lufs,
            "layouts": list(self.layouts),
        }


def _spec_dir() -> Any:
    return resources.files("posthouse.sound").joinpath("specs")


def builtin_specs() -> list[str]:
    """Names of the specs shipped with posthouse."""
    return sorted(p.name[:-5] for p in _spec_dir().iterdir() if p.name.endswith(".toml"))


def _parse(doc: dict[str, Any], where: Path | str) -> LoudnessSpec:
    def num(key: str, default: float | None = None) -> float:
        value = doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"spec key {key!r} must be a number, not {value!r}", path=where)
        return float(value)

    gating = str(doc.get("gating", "program"))
    if gating not in ("program", "dialogue"):
        raise UsageError(f"gating must be 'program' or 'dialogue', not {gating!r}", path=where)
    layouts = tuple(str(x) for x in doc.get("layouts", LAYOUTS))
    bad = [x for x in layouts if x not in LAYOUTS]
    if bad or not layouts:
        raise UsageError(f"unknown layouts {bad or layouts!r}", path=where, hint=f"use {', '.join(LAYOUTS)}")
    fallback = doc.get("fallback_target_lufs")
    return LoudnessSpec(
        name=str(doc.get("name") or Path(str(where)).stem),
        target_lufs=num("target_lufs"),
        tolerance_lu=num("tolerance_lu", 0.5),
        true_peak_dbtp=num("true_peak_dbtp", -1.0),
        gating=gating,
        dialogue_min_percent=num("dialogue_min_percent", 15.0),
        fallback_target_lufs=num("fallback_target_lufs") if fallback is not None else None,
        layouts=layouts,
        description=str(doc.get("description", "")),
    )


def load_spec(name_or_path: str | Path) -> LoudnessSpec:
    """A built-in spec by name (``ebu-r128``, ``atsc-a85``, ``netflix``, ``cinema``) or a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.exists():
        try:
            return _parse(tomllib.loads(p.read_text(encoding="utf-8")), p)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"cannot read the spec: {exc}", path=p) from exc
    name = str(name_or_path).lower()
    res = _spec_dir().joinpath(f"{name}.toml")
    if not res.is_file():
        raise UsageError(
            f"unknown loudness spec {str(name_or_path)!r}",
            hint=f"built-in: {', '.join(builtin_specs())}; or give a .toml file",
        )
    return _parse(tomllib.loads(res.read_text(encoding="utf-8")), f"{name}.toml")
