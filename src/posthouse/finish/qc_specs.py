"""QC specs: delivery requirements as TOML data files (netflix, ebu-r128, dci-dcp, apple-hls presets).

A spec has ``[video]``, ``[audio]``, ``[subtitles]`` and ``[sync]`` (against a guide track) tables; any
key left out keeps its default, so a user copies a preset, edits the few numbers that differ, and passes
the file to ``posthouse qc --spec``. ``nan`` for a loudness number means "not checked".
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from posthouse.core.errors import UsageError

__all__ = ["AudioSpec", "QCSpec", "SubtitleSpec", "SyncSpec", "VideoSpec", "load_spec", "preset_names"]


@dataclass(frozen=True, slots=True)
class VideoSpec:
    """Picture requirements and detector thresholds (fractions are of the legal range 16-235)."""

    resolutions: tuple[str, ...] = ()
    rates: tuple[str, ...] = ()
    codecs: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    min_duration_s: float = 0.0
    max_duration_s: float = 0.0
    black_max_level: float = 0.1
    black_min_duration_s: float = 0.5
    freeze_noise: float = 0.003
    freeze_min_duration_s: float = 1.0
    range_tolerance: float = 0.01
    range_margin: int = 0
    flash_area: float = 0.25
    flash_per_second: int = 3
    flash_display_nits: float = 200.0


@dataclass(frozen=True, slots=True)
class AudioSpec:
    """Sound requirements: loudness target, peaks, silence/dropouts, clipping, phase."""

    channels: tuple[int, ...] = ()
    integrated_lufs: float = float("nan")
    integrated_tolerance: float = 1.0
    max_true_peak_dbtp: float = -1.0
    max_momentary_lufs: float = float("nan")
    silence_dbfs: float = -60.0
    silence_min_s: float = 3.0
    dropout_max_s: float = 0.5
    clip_run: int = 3
    min_phase_correlation: float = -0.3


@dataclass(frozen=True, slots=True)
class SubtitleSpec:
    """Subtitle timing and layout limits."""

    max_chars_per_second: float = 20.0
    max_line_length: int = 42
    max_lines: int = 2
    min_duration_s: float = 0.833
    max_duration_s: float = 7.0
    min_gap_s: float = 0.083


@dataclass(frozen=True, slots=True)
class SyncSpec:
    """Sync against the guide track: tolerance per window, drift limit and how windows are measured."""

    tolerance_frames: float = 1.0
    max_drift_ms_per_min: float = 5.0
    window_s: float = 10.0
    max_offset_s: float = 2.0
    min_correlation: float = 0.3


@dataclass(frozen=True, slots=True)
class QCSpec:
    """A whole delivery spec."""

    name: str
    description: str = ""
    video: VideoSpec = field(default_factory=VideoSpec)
    audio: AudioSpec = field(default_factory=AudioSpec)
    subtitles: SubtitleSpec = field(default_factory=SubtitleSpec)
    source: str = ""
    sync: SyncSpec = field(default_factory=SyncSpec)


def preset_names() -> list[str]:
    """The built-in spec names."""
    folder = resources.files("posthouse.finish").joinpath("qc_specs")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _section(cls: type[Any], table: Any, where: str, path: str) -> Any:
    if not isinstance(table, dict):
        raise UsageError(f"[{where}] must be a table", path=path)
    known = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise UsageError(
                f"unknown key '{key}' in [{where}]", path=path, hint=f"known keys: {', '.join(known)}"
            )
        default = getattr(cls(), key)
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise UsageError(f"[{where}] {key} must be a list", path=path)
            values[key] = tuple(value)
        elif isinstance(default, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"[{where}] {key} must be a number, got {value!r}", path=path)
        else:
            values[key] = type(default)(value)
    return cls(**values)


def load_spec(name_or_path: str | Path) -> QCSpec:
    """Load a preset by name (``netflix``...) or a spec TOML file a user copied and edited."""
    text: str
    source: str
    p = Path(name_or_path)
    if p.suffix.lower() == ".toml" or p.exists():
        if not p.is_file():
            raise UsageError("spec file not found", path=p)
        text, source = p.read_text(encoding="utf-8"), str(p)
    else:
        name = str(name_or_path)
        if name not in preset_names():
            raise UsageError(f"unknown QC spec '{name}'", hint=f"presets: {', '.join(preset_names())}")
        res = resources.files("posthouse.finish").joinpath("qc_specs", f"{name}.toml")
        text, source = res.read_text(encoding="utf-8"), f"preset:{name}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"spec is not valid TOML: {exc}", path=source) from exc
    extra = set(data) - {"name", "description", "video", "audio", "subtitles", "sync"}
    if extra:
        raise UsageError(f"unknown spec keys: {', '.join(sorted(extra))}", path=source)
    return QCSpec(
        name=str(data.get("name", p.stem)),
        description=str(data.get("description", "")),
        video=_section(VideoSpec, data.get("video", {}), "video", source),
        audio=_section(AudioSpec, data.get("audio", {}), "audio", source),
        subtitles=_section(SubtitleSpec, data.get("subtitles", {}), "subtitles", source),
        source=source,
        sync=_section(SyncSpec, data.get("sync", {}), "sync", source),
    )
