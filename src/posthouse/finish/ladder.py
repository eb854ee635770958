"""ABR ladders as data: TOML files listing rungs (bitrate and size), codecs, segment and IDR durations.

The default ladder (``ladders/default.toml``) is Apple's HLS authoring reference ladder; copy and edit it.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from posthouse.core.errors import UsageError

__all__ = ["CODECS", "AudioSpec", "Ladder", "Rung", "default_ladder", "load_ladder", "parse_ladder"]

CODECS = ("h264", "hevc")


@dataclass(frozen=True, slots=True)
class Rung:
    """One rung of the ladder: an average bitrate at a frame size."""

    bitrate_kbps: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class AudioSpec:
    """The stereo AAC rendition."""

    bitrate_kbps: int = 128
    sample_rate: int = 48000
    channels: int = 2


@dataclass(frozen=True, slots=True)
class Ladder:
    """A whole ladder: rungs, codecs, segmenting and rate-control settings."""

    name: str
    rungs: tuple[Rung, ...]
    codecs: tuple[str, ...] = ("h264",)
    segment_seconds: float = 6.0
    idr_seconds: float = 2.0
    hevc_bitrate_factor: float = 0.7
    peak_ratio: float = 1.5
    h264_profile: str = "high"
    h264_level: str = "auto"  # x264 picks the lowest level that fits; or force one, e.g. "4.2"
    hevc_pix_fmt: str = "yuv420p10le"
    preset: str = "medium"
    audio: AudioSpec = field(default_factory=AudioSpec)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "codecs": list(self.codecs),
            "segment_seconds": self.segment_seconds,
            "idr_seconds": self.idr_seconds,
            "hevc_bitrate_factor": self.hevc_bitrate_factor,
            "peak_ratio": self.peak_ratio,
            "rungs": [
                {"bitrate_kbps": r.bitrate_kbps, "width": r.width, "height": r.height} for r in self.rungs
            ],
            "audio": {
                "bitrate_kbps": self.audio.bitrate_kbps,
                "sample_rate": self.audio.sample_rate,
                "channels": self.audio.channels,
            },
        }


def _num(data: dict[str, Any], key: str, default: float, where: str, path: Path | None) -> float:
    value = data.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise UsageError(f"'{key}' must be a positive number, got {value!r}", path=path, where=where)
    return float(value)


def parse_ladder(data: dict[str, Any], *, path: Path | None = None) -> Ladder:
    """Build and check a :class:`Ladder` from parsed TOML."""
    rungs_raw = data.get("rungs")
    if not isinstance(rungs_raw, list) or not rungs_raw:
        raise UsageError("the ladder has no [[rungs]]", path=path, hint="add [[rungs]] tables")
    rungs: list[Rung] = []
    for i, r in enumerate(rungs_raw):
        where = f"rungs[{i}]"
        if not isinstance(r, dict):
            raise UsageError("a rung must be a table", path=path, where=where)
        w, h = int(_num(r, "width", 0, where, path)), int(_num(r, "height", 0, where, path))
        if w % 2 or h % 2:
            raise UsageError(f"rung size must be even, got {w}x{h}", path=path, where=where)
        rungs.append(Rung(int(_num(r, "bitrate_kbps", 0, where, path)), w, h))
    codecs = tuple(str(c).lower() for c in data.get("codecs", ["h264"]))
    bad = [c for c in codecs if c not in CODECS]
    if bad or not codecs:
        raise UsageError(
            f"unknown codec(s) {bad or codecs}", path=path, where="codecs", hint="use h264, hevc"
        )
    seg = _num(data, "segment_seconds", 6.0, "segment_seconds", path)
    idr = _num(data, "idr_seconds", 2.0, "idr_seconds", path)
    if abs(seg / idr - round(seg / idr)) > 1e-9:
        raise UsageError(
            f"segment_seconds ({seg}) must be a whole multiple of idr_seconds ({idr})",
            path=path,
            where="segment_seconds",
        )
    a = data.get("audio", {})
    if not isinstance(a, dict):
        raise UsageError("[audio] must be a table", path=path, where="audio")
    audio = AudioSpec(
        int(_num(a, "bitrate_kbps", 128, "audio", path)),
        int(_num(a, "sample_rate", 48000, "audio", path)),
        int(_num(a, "channels", 2, "audio", path)),
    )
    return Ladder(
        name=str(data.get("name", path.stem if path else "ladder")),
        rungs=tuple(sorted(rungs, key=lambda r: (r.bitrate_kbps, r.width))),
        codecs=codecs,
        segment_seconds=seg,
        idr_seconds=idr,
        hevc_bitrate_factor=_num(data, "hevc_bitrate_factor", 0.7, "hevc_bitrate_factor", path),
        peak_ratio=_num(data, "peak_ratio", 1.5, "peak_ratio", path),
        h264_profile=str(data.get("h264_profile", "high")),
        h264_level=str(data.get("h264_level", "auto")),
        hevc_pix_fmt=str(data.get("hevc_pix_fmt", "yuv420p10le")),
        preset=str(data.get("preset", "medium")),
        audio=audio,
    )


def load_ladder(path: str | Path) -> Ladder:
    """Read a ladder TOML file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("ladder file not found", path=p) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"ladder is not valid TOML: {exc}", path=p) from exc
    return parse_ladder(data, path=p)


def default_ladder() -> Ladder:
    """The packaged default ladder (Apple HLS reference ladder, H.264 + HEVC)."""
    text = resources.files("posthouse.finish").joinpath("ladders/default.toml").read_text(encoding="utf-8")
    return parse_ladder(tomllib.loads(text), path=Path("ladders/default.toml"))
