"""The turnover package: a locked cut handed to sound, music, VFX and finishing in the trade's formats.

``turnover(timeline, out_dir, name=…, rate=…)`` writes into ``out_dir``::

    NAME_V1.edl …, NAME_AUDIO.edl   CMX 3600 (record start, reels, dissolves, M2: posthouse.picture.edl)
    NAME.xml                        FCP7 XML (OTIO fcp_xml adapter)
    NAME.otio                       OTIO JSON: the whole cut, nothing lost
    NAME.otioz                      OTIO bundle with the media files that exist locally (others: missing refs)
    NAME.aaf                        AAF for Pro Tools / Media Composer (OTIO AAF adapter + our markers)
    NAME_vfx_pulls.csv / .json      events marked VFX with handles
    NAME_markers.csv                every marker and note at record timecode
    NAME_reels.csv                  CMX reel name ↔ original reel/tape/file
    README.txt, NAME_turnover.json  contents and what each format cannot carry

Every file is written atomically. Rendering the reference movie is the render engine's job, not this module's.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from posthouse.core.errors import PosthouseError, UsageError
from posthouse.core.fsutil import atomic_path, atomic_write_text
from posthouse.core.time import Rate, RateLike, Timecode, rational_time_to_frames
from posthouse.picture.aaf_markers import AafMarker, add_markers
from posthouse.picture.edl import MAX_AUDIO_CHANNELS, ReelMap, reel_source, write_edls

__all__ = [
    "CANNOT_CARRY",
    "DEFAULT_HANDLES",
    "MarkerRow",
    "TurnoverReport",
    "VfxPull",
    "collect_markers",
    "turnover",
    "vfx_pulls",
]

DEFAULT_HANDLES: Final = 8
"""Handle frames each side of a VFX pull."""

CANNOT_CARRY: Final[dict[str, tuple[str, ...]]] = {
    "EDL (CMX 3600)": (
        "one video track per file (NAME_V1.edl, NAME_V2.edl…); no track layering in one EDL",
        f"audio: only {MAX_AUDIO_CHANNELS} channels (A, A2, A3, A4); later audio tracks are left out",
        "audio positions at whole frames, not samples",
        "speed: constant speed only (M2, fps × speed to 0.1 fps); no speed ramps or other time effects",
        "transitions: dissolves only; wipes and other transitions become cuts",
        "reel names: 8 characters A–Z 0–9 _ (mapping in * REEL MAP comments and NAME_reels.csv)",
        "markers: clip markers only, as * LOC comments; timeline/track markers and notes are lost",
        "metadata: none beyond clip name and file in comments; no colour, effects, nesting",
    ),
    "FCP7 XML": (
        "speed changes (LinearTimeWarp) and freeze frames are not written by OTIO's fcp_xml adapter",
        "audio positions at whole frames (sample-rate source ranges are converted to frames)",
        "markers keep name, colour and position; posthouse notes and VFX flags in metadata are not carried",
        "posthouse clip metadata (reel/tape, link, channel) is not carried",
    ),
    "AAF": (
        "speed changes (LinearTimeWarp) and freeze frames are dropped by OTIO's AAF writer",
        "markers: added by posthouse as DescriptiveMarkers on the composition mob (timeline markers); "
        "clip markers move to the timeline at their record position",
        "empty mob IDs (use_empty_mob_ids): the DAW/NLE relinks by clip name and source timecode",
        "no embedded media; audio positions at whole frames",
        "transitions: SMPTE dissolves only",
    ),
    "OTIO JSON": ("nothing lost: the reference for everything the other formats drop",),
    "OTIOZ": (
        "bundles only media that exist as local files; others become MissingReference "
        "(original URL kept in the reference metadata)",
    ),
}

_VIDEO_DISSOLVE: Final = {
    "Identification": "0c3bea41-fc05-11d2-8a29-0050040ef7d2",
    "Name": "Video Dissolve",
    "DataDefinition": {"Name": "Picture"},
}
_AUDIO_DISSOLVE: Final = {
    "Identification": "0c3bea44-fc05-11d2-8a29-0050040ef7d2",
    "Name": "Mono Audio Dissolve",
    "DataDefinition": {"Name": "Sound"},
}


# ------------------------------------------------------------------------------------------ data


@dataclass(frozen=True, slots=True)
class MarkerRow:
    """A marker at its record position (frames since midnight at the cut's rate)."""

    record_frame: int
    record_tc: str
    track: str
    clip: str
    reel: str
    name: str
    color: str
    note: str
    vfx_shot: str


@dataclass(frozen=True, slots=True)
class VfxPull:
    """One VFX event: the source range to pull, with handles, and where it sits in the cut."""

    shot: str
    clip: str
    reel: str
    source_file: str
    source_in: str
    source_out: str
    handles: int
    pull_in: str
    pull_out: str
    record_in: str
    record_out: str
    frames: int
    speed: float
    note: str
    within_media: bool


@dataclass(frozen=True, slots=True)
class TurnoverReport:
    """What a turnover wrote, the reels it renamed, and what each format cannot carry."""

    out_dir: Path
    name: str
    files: dict[str, list[Path]]
    reels: dict[str, str]
    vfx_pulls: list[VfxPull]
    markers: list[MarkerRow]
    cannot_carry: dict[str, tuple[str, ...]]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The report as JSON (paths relative to ``out_dir``)."""
        data: dict[str, Any] = {
            "name": self.name,
            "files": {k: [p.name for p in v] for k, v in self.files.items()},
            "reels": self.reels,
            "vfx_pulls": [asdict(v) for v in self.vfx_pulls],
            "markers": [asdict(m) for m in self.markers],
            "cannot_carry": {k: list(v) for k, v in self.cannot_carry.items()},
            "warnings": self.warnings,
        }
        return json.dumps(data, indent=2) + "\n"


# --------------------------------------------------------------------------------------- helpers


def _frames(time: otio.opentime.RationalTime, rate: Rate) -> int:
    return rational_time_to_frames(time, rate, "floor")


def _record_start(timeline: otio.schema.Timeline, rate: Rate) -> int:
    start = timeline.global_start_time
    return _frames(start, rate) if start is not None else 0


def _speed(clip: otio.schema.Clip) -> Fraction:
    for fx in clip.effects:
        if isinstance(fx, otio.schema.FreezeFrame) or fx.effect_name == "FreezeFrame":
            return Fraction(0)
        if isinstance(fx, otio.schema.LinearTimeWarp):
            return Fraction(fx.time_scalar).limit_denominator(1000)
    return Fraction(1)


def _file_of(clip: otio.schema.Clip) -> str:
    url = getattr(clip.media_reference, "target_url", None)
    if not url:
        return ""
    parsed = urlparse(str(url))
    return unquote(parsed.path) if parsed.scheme in ("", "file") else str(url)


def _vfx_shot(marker: otio.schema.Marker) -> str | None:
    meta = marker.metadata.get("posthouse") or {}
    vfx = meta.get("vfx")
    if isinstance(vfx, Mapping) and vfx.get("shot"):
        return str(vfx["shot"])
    if vfx or (marker.name or "").strip().upper().startswith("VFX"):
        return str(vfx) if isinstance(vfx, str) and vfx else (marker.name or "VFX")
    return None


def _clip_record(clip: otio.schema.Clip, track: otio.schema.Track, rate: Rate) -> tuple[int, int]:
    rng = track.range_of_child(clip)
    return _frames(rng.start_time, rate), _frames(rng.end_time_exclusive(), rate)


def _clip_under(timeline: otio.schema.Timeline, frame: int, rate: Rate) -> otio.schema.Clip | None:
    """The clip on the topmost enabled video track at ``frame`` (relative to the record start)."""
    for track in reversed(timeline.video_tracks()):
        if not track.enabled:
            continue
        for child in track:
            if isinstance(child, otio.schema.Clip):
                start, end = _clip_record(child, track, rate)
                if start <= frame < end:
                    return child
    return None


def _all_markers(
    timeline: otio.schema.Timeline, rate: Rate
) -> list[tuple[int, otio.schema.Marker, str, otio.schema.Clip | None]]:
    """``(record frame relative to the start, marker, track name, clip)`` for every marker in the cut."""
    out: list[tuple[int, otio.schema.Marker, str, otio.schema.Clip | None]] = []
    for marker in timeline.tracks.markers:
        at = _frames(marker.marked_range.start_time, rate)
        out.append((at, marker, "", _clip_under(timeline, at, rate)))
    for track in timeline.tracks:
        for marker in track.markers:
            at = _frames(marker.marked_range.start_time, rate)
            out.append((at, marker, track.name, _clip_under(timeline, at, rate)))
        for child in track:
            if not isinstance(child, otio.schema.Clip):
                continue
            rec_in, _ = _clip_record(child, track, rate)
            src_in = child.trimmed_range().start_time
            for marker in child.markers:
                offset = marker.marked_range.start_time - src_in
                out.append((rec_in + _frames(offset, rate), marker, track.name, child))
    out.sort(key=lambda item: item[0])
    return out


def collect_markers(timeline: otio.schema.Timeline, rate: RateLike) -> list[MarkerRow]:
    """Every marker (timeline, track and clip markers) at its record timecode, in record order."""
    r = Rate.parse(rate)
    start = _record_start(timeline, r)
    rows = []
    for at, marker, track, clip in _all_markers(timeline, r):
        meta = marker.metadata.get("posthouse") or {}
        rows.append(
            MarkerRow(
                record_frame=start + at,
                record_tc=str(Timecode(start + at, r)),
                track=track,
                clip=clip.name if clip is not None else "",
                reel=reel_source(clip) if clip is not None else "",
                name=marker.name or "",
                color=str(marker.color or ""),
                note=str(meta.get("note") or ""),
                vfx_shot=_vfx_shot(marker) or "",
            )
        )
    return rows


def vfx_pulls(
    timeline: otio.schema.Timeline, rate: RateLike, *, handles: int = DEFAULT_HANDLES
) -> list[VfxPull]:
    """One pull per clip carrying a VFX marker (or under a timeline/track VFX marker), in record order."""
    r = Rate.parse(rate)
    if handles < 0:
        raise UsageError(f"VFX handles must be ≥ 0 frames, not {handles}")
    start = _record_start(timeline, r)
    seen: set[int] = set()
    pulls: list[VfxPull] = []

    def tc(frames: int) -> str:
        return str(Timecode(frames, r))

    for _, marker, _track, clip in _all_markers(timeline, r):
        shot = _vfx_shot(marker)
        if shot is None or clip is None or id(clip) in seen:
            continue
        seen.add(id(clip))
        parent = clip.parent()
        if not isinstance(parent, otio.schema.Track):
            continue
        rec_in, rec_out = _clip_record(clip, parent, r)
        speed = _speed(clip)
        src_in = _frames(clip.trimmed_range().start_time, r)
        used = max(1, math.ceil((rec_out - rec_in) * abs(speed))) if speed != 1 else rec_out - rec_in
        src_out = src_in + used
        within = True
        available = clip.media_reference.available_range if clip.media_reference else None
        if available is not None:
            a_in = _frames(available.start_time, r)
            a_out = _frames(available.end_time_exclusive(), r)
            within = a_in <= src_in - handles and src_out + handles <= a_out
        meta = marker.metadata.get("posthouse") or {}
        pulls.append(
            VfxPull(
                shot=shot,
                clip=clip.name,
                reel=reel_source(clip),
                source_file=_file_of(clip),
                source_in=tc(src_in),
                source_out=tc(src_out),
                handles=handles,
                pull_in=tc(src_in - handles),
                pull_out=tc(src_out + handles),
                record_in=tc(start + rec_in),
                record_out=tc(start + rec_out),
                frames=used + 2 * handles,
                speed=float(speed),
                note=str(meta.get("note") or ""),
                within_media=within,
            )
        )
    return pulls


def _framed_copy(timeline: otio.schema.Timeline, rate: Rate) -> otio.schema.Timeline:
    """A copy whose every time is in frames at ``rate`` (FCP7 XML and AAF need one edit rate)."""
    tl = copy.deepcopy(timeline)
    fps = rate.otio_rate

    def rt(t: otio.opentime.RationalTime) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(rational_time_to_frames(t, rate, "nearest"), fps)

    def tr(t: otio.opentime.TimeRange) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(rt(t.start_time), rt(t.duration))

    if tl.global_start_time is not None:
        tl.global_start_time = rt(tl.global_start_time)
    for item in tl.find_children():
        if isinstance(item, otio.schema.Transition):
            item.in_offset = rt(item.in_offset)
            item.out_offset = rt(item.out_offset)
            continue
        if isinstance(item, otio.schema.Clip | otio.schema.Gap) and item.source_range is not None:
            item.source_range = tr(item.source_range)
        if isinstance(item, otio.schema.Clip):
            ref = item.media_reference
            if ref is not None and ref.available_range is not None:
                ref.available_range = tr(ref.available_range)
            elif ref is not None:
                ref.available_range = item.source_range
        for marker in getattr(item, "markers", []):
            marker.marked_range = tr(marker.marked_range)
    return tl


def _aaf_ready(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """Fill the transition metadata OTIO's AAF writer insists on (Avid's stock dissolves)."""
    for track in timeline.tracks:
        op = _AUDIO_DISSOLVE if track.kind == otio.schema.TrackKind.Audio else _VIDEO_DISSOLVE
        for item in track:
            if not isinstance(item, otio.schema.Transition):
                continue
            item.metadata["AAF"] = {
                "PointList": [{"Value": 0.0, "Time": 0.0}, {"Value": 1.0, "Time": 1.0}],
                "CutPoint": int(item.in_offset.value),
                "OperationGroup": {
                    "Operation": {
                        **op,
                        "Description": "",
                        "IsTimeWarp": False,
                        "Bypass": 1,
                        "NumberInputs": 2,
                        "OperationCategory": "OperationCategory_Effect",
                    }
                },
            }
    return timeline


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _readme(name: str, files: dict[str, list[Path]], warnings: list[str]) -> str:
    lines = [f"Turnover {name}", "=" * (9 + len(name)), "", "Files", "-----"]
    for kind, paths in files.items():
        for p in paths:
            lines.append(f"  {p.name:<32} {kind}")
    lines += ["", "What each format cannot carry", "-----------------------------"]
    for fmt, items in CANNOT_CARRY.items():
        lines.append(f"{fmt}:")
        lines.extend(f"  - {item}" for item in items)
    if warnings:
        lines += ["", "Warnings for this cut", "---------------------"]
        lines.extend(f"  - {w}" for w in warnings)
    lines += ["", "The reference movie is rendered separately (posthouse render)."]
    return "\n".join(lines) + "\n"


def _warnings(timeline: otio.schema.Timeline) -> list[str]:
    out: list[str] = []
    audio = [t for t in timeline.audio_tracks() if t.enabled]
    if len(audio) > MAX_AUDIO_CHANNELS:
        dropped = ", ".join(t.name or "?" for t in audio[MAX_AUDIO_CHANNELS:])
        out.append(f"EDL: audio tracks beyond {MAX_AUDIO_CHANNELS} are not in the audio EDL: {dropped}")
    for clip in timeline.find_clips():
        for fx in clip.effects:
            if not isinstance(fx, otio.schema.LinearTimeWarp):
                out.append(
                    f"clip {clip.name!r}: effect {fx.effect_name or fx.schema_name()} is lost in EDL/XML/AAF"
                )
            else:
                out.append(f"clip {clip.name!r}: speed change kept in EDL (M2) and OTIO only, not in XML/AAF")
    for item in timeline.find_children(descended_from_type=otio.schema.Transition):
        if item.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve:
            out.append(f"transition {item.name!r} ({item.transition_type}) is a cut in EDL and AAF")
    return out


# -------------------------------------------------------------------------------------------- API


def turnover(
    timeline: otio.schema.Timeline,
    out_dir: str | Path,
    *,
    name: str,
    rate: RateLike,
    handles: int = DEFAULT_HANDLES,
    bundle_media: bool = True,
    author: str = "",
    drop: bool = False,
) -> TurnoverReport:
    """Write the turnover package of ``timeline`` into ``out_dir`` (see the module docstring).

    ``drop`` labels EDL timecode drop-frame (29.97/59.94 only). ``bundle_media=False`` writes the
    ``.otioz`` with every media reference missing (a small file);
    otherwise local media files are copied into it and missing ones become ``MissingReference``.
    """
    r = Rate.parse(rate)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"turnover name {name!r} cannot name files", hint="use e.g. REEL1_v003")
    files: dict[str, list[Path]] = {}
    warnings = _warnings(timeline)
    reels = ReelMap()

    files["EDL"] = write_edls(timeline, out, name=name, rate=r, reels=reels, drop=drop)

    framed = _framed_copy(timeline, r)
    xml = out / f"{name}.xml"
    try:
        text = otio.adapters.write_to_string(framed, adapter_name="fcp_xml")
    except Exception as exc:
        raise PosthouseError(f"FCP7 XML writer failed: {exc}", path=xml) from None
    atomic_write_text(xml, text)
    files["FCP7 XML"] = [xml]

    otio_path = out / f"{name}.otio"
    atomic_write_text(otio_path, otio.adapters.write_to_string(timeline, adapter_name="otio_json"))
    files["OTIO JSON"] = [otio_path]

    otioz = out / f"{name}.otioz"
    policy = (
        otio.adapters.file_bundle_utils.MediaReferencePolicy.MissingIfNotFile
        if bundle_media
        else otio.adapters.file_bundle_utils.MediaReferencePolicy.AllMissing
    )
    with atomic_path(otioz) as tmp:
        tmp.unlink()  # the otioz adapter refuses to overwrite
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name="otioz", media_policy=policy)
    files["OTIOZ"] = [otioz]

    aaf = out / f"{name}.aaf"
    markers = collect_markers(timeline, r)
    start = _record_start(timeline, r)
    with atomic_path(aaf) as tmp:
        tmp.unlink()
        try:
            otio.adapters.write_to_file(
                _aaf_ready(copy.deepcopy(framed)), str(tmp), adapter_name="AAF", use_empty_mob_ids=True
            )
        except Exception as exc:
            raise PosthouseError(f"AAF writer failed: {exc}", path=aaf) from None
        add_markers(
            tmp,
            [
                AafMarker(
                    position=m.record_frame - start,
                    comment=" — ".join(x for x in (m.vfx_shot and f"VFX {m.vfx_shot}", m.name, m.note) if x),
                    color=m.color or "RED",
                    user=author,
                )
                for m in markers
            ],
            r,
        )
    files["AAF"] = [aaf]

    pulls = vfx_pulls(timeline, r, handles=handles)
    vfx_csv, vfx_json = out / f"{name}_vfx_pulls.csv", out / f"{name}_vfx_pulls.json"
    pull_rows = [asdict(p) for p in pulls]
    atomic_write_text(vfx_csv, _csv(pull_rows, list(VfxPull.__dataclass_fields__)))
    atomic_write_text(vfx_json, json.dumps(pull_rows, indent=2) + "\n")
    files["VFX pulls"] = [vfx_csv, vfx_json]

    marker_csv = out / f"{name}_markers.csv"
    atomic_write_text(marker_csv, _csv([asdict(m) for m in markers], list(MarkerRow.__dataclass_fields__)))
    files["Markers"] = [marker_csv]

    reels_csv = out / f"{name}_reels.csv"
    atomic_write_text(
        reels_csv,
        _csv([{"reel": v, "source": k} for k, v in sorted(reels.mapping.items())], ["reel", "source"]),
    )
    files["Reels"] = [reels_csv]

    readme = out / "README.txt"
    report_path = out / f"{name}_turnover.json"
    files["Report"] = [readme, report_path]
    report = TurnoverReport(
        out_dir=out,
        name=name,
        files=files,
        reels=dict(reels.mapping),
        vfx_pulls=pulls,
        markers=markers,
        cannot_carry=dict(CANNOT_CARRY),
        warnings=warnings,
    )
    atomic_write_text(readme, _readme(name, files, warnings))
    atomic_write_text(report_path, report.to_json())
    return report
