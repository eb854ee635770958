"""VFX pulls and returns: plates out as EXR (or DPX) sequences with handles, versions back in, cut in.

**Which shots.** A clip of the cut is a VFX shot when it carries ``metadata["posthouse"]["vfx"]`` (a shot
id, a ``{"shot": ...}`` mapping or ``True``), or when a marker on it (or a timeline/track marker over it)
is a VFX marker: ``marker.metadata["posthouse"]["vfx"]`` set, or a name starting with ``VFX``; the
marker's ``posthouse.note`` is the shot description. Alternatively the turnover's pull list
(``CUT_vNNN_vfx_pulls.csv/.json``) names the events by record in. Shots without a proper id are numbered
SH010, SH020 … in record order.

**Pulls.** Each shot's original frames ``source in − handles … source out + handles`` (default 8, clamped
to the original, short handles reported) are decoded at 16 bit, written as half-float RGB EXRs (zip) or
10-bit DPX named ``SH010_plate_v001.1001.exr``: frame numbers start at :data:`FIRST_FRAME` (1001, the
trade's habit: the cut's first frame is 1001 + handles). Each sequence is written into a hidden
``.NAME.partial`` folder and renamed when complete; a pull re-run skips sequences already complete and
verified. Every frame carries its source timecode (``smpte:TimeCode``), shot, reel, source clip and colour
space. Plates keep the original's Rec.709 video code values (colour space ``g24_rec709_display``) unless
``linearize`` (then ``lin_rec709_scene``). A shot list (CSV + JSON) and an H.264 reference per shot go next
to the sequences.

**Returns.** A vendor delivers one folder per version, ``SH010_comp_v002/SH010_comp_v002.####.exr``.
:func:`ingest_returns` checks the name, the frame range (the pull's first..last, handles included), holes,
the resolution (the plate's) and that every file reads; a failing version is rejected with the reasons
and the rest of the batch goes on. Every version is kept in the catalog (``vfx_versions``).

**Cut in.** :func:`cut_in` replaces each VFX event with an OTIO ``ImageSequenceReference`` on the latest
approved version, trimmed so the record range is unchanged; the clip gets
``metadata["posthouse"]["vfx"] = {shot, task, version, path, plate}``.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlparse

import numpy as np
import numpy.typing as npt
import opentimelineio as otio

from posthouse.core.catalog import Catalog, VfxVersionRecord
from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.media import VideoWriter, iter_video_frames, probe
from posthouse.core.time import Rate, Timecode, is_drop_label, rational_time_to_frames, timecode_to_frames

__all__ = [
    "DEFAULT_HANDLES",
    "FIRST_FRAME",
    "STATUSES",
    "CutInReport",
    "PullReport",
    "ReturnCheck",
    "VfxShot",
    "approve",
    "check_return",
    "cut_in",
    "find_vfx_shots",
    "ingest_returns",
    "load_shot_list",
    "parse_version_name",
    "pull_plates",
    "read_image",
    "read_pull_list",
    "smpte_timecode",
    "timeline_rate",
    "write_cut_in",
]

DEFAULT_HANDLES: Final = 8
"""Handle frames each side of a pull."""

FIRST_FRAME: Final = 1001
"""The frame number of a plate's first frame (its first handle frame)."""

STATUSES: Final = ("submitted", "approved", "rejected")
"""The states of a delivered version."""

_SHOT_ID = re.compile(r"^[A-Za-z]{1,12}[0-9]{2,6}[A-Za-z0-9]*$")
_VERSION = re.compile(r"^(?P<shot>[A-Za-z0-9]+)_(?P<task>[A-Za-z0-9]+)_v(?P<version>[0-9]{1,6})$")
_EXTS: Final = ("exr", "dpx")


# --------------------------------------------------------------------------------------- records


@dataclass(slots=True)
class VfxShot:
    """One VFX shot: where it sits in the cut, the source range pulled, and the plate's frame numbers.

    Record frames are absolute (frames since midnight at the cut's rate; out exclusive); source frames
    count from midnight at the original's rate (out exclusive). ``first_frame``..``last_frame`` (inclusive)
    number the plate; the cut uses ``first_frame + handles_in`` … ``last_frame - handles_out``.
    """

    shot: str
    clip: str
    reel: str
    source_file: str
    rate: str
    record_in: str
    record_out: str
    record_in_frame: int
    record_out_frame: int
    source_in: str
    source_out: str
    source_in_frame: int
    source_out_frame: int
    handles: int
    handles_in: int
    handles_out: int
    first_frame: int
    last_frame: int
    frames: int
    width: int
    height: int
    description: str = ""
    plate: str = ""
    reference: str = ""
    short_handles: bool = False
    pull_index: int = 0  # the original's frame index (from its first frame) of the plate's first frame
    drop: bool = False  # the original's timecode is drop-frame

    @property
    def cut_frames(self) -> int:
        """Frames of the shot used in the cut (without handles)."""
        return self.frames - self.handles_in - self.handles_out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VfxShot:
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {k: v for k, v in data.items() if k in names}
        for f in fields(cls):
            if f.name in kw and f.type in ("int", "bool"):
                value = kw[f.name]
                kw[f.name] = (
                    str(value).lower() in ("1", "true", "yes") if f.type == "bool" else int(str(value))
                )
        return cls(**kw)


@dataclass(slots=True)
class PullReport:
    """What a pull wrote (or found complete from an earlier run) and what it had to shorten."""

    out_dir: Path
    shots: list[VfxShot]
    written: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    shot_list: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "shots": [s.to_dict() for s in self.shots],
            "written": self.written,
            "resumed": self.resumed,
            "shot_list": [str(p) for p in self.shot_list],
            "warnings": self.warnings,
        }


@dataclass(slots=True)
class ReturnCheck:
    """The verdict on one delivered version folder."""

    path: str
    shot: str = ""
    task: str = ""
    version: int = 0
    status: str = "rejected"
    reasons: list[str] = field(default_factory=list)
    first: int | None = None
    last: int | None = None
    frames: int = 0
    width: int | None = None
    height: int | None = None
    ext: str = "exr"
    padding: int = 4

    @property
    def accepted(self) -> bool:
        return self.status != "rejected"

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reason"] = self.reason
        return out


@dataclass(slots=True)
class CutInReport:
    """Which events a cut-in replaced, and which shots still show the plate."""

    replaced: list[dict[str, Any]] = field(default_factory=list)
    not_approved: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    out: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out) if self.out else None,
            "replaced": self.replaced,
            "not_approved": self.not_approved,
            "warnings": self.warnings,
        }


# --------------------------------------------------------------------------------------- timeline


def timeline_rate(timeline: otio.schema.Timeline) -> Rate:
    """The cut's rate: its global start time's rate, else the first video clip's, else 24."""
    start = timeline.global_start_time
    if start is not None and start.rate > 0:
        return Rate.parse(start.rate)
    for clip in timeline.find_clips():
        return Rate.parse(clip.trimmed_range().duration.rate)
    return Rate.parse(24)


def _frames(t: otio.opentime.RationalTime, rate: Rate) -> int:
    return rational_time_to_frames(t, rate, "nearest")


def _record_start(timeline: otio.schema.Timeline, rate: Rate) -> int:
    start = timeline.global_start_time
    return _frames(start, rate) if start is not None else 0


def _meta(obj: Any) -> dict[str, Any]:
    meta = obj.metadata.get("posthouse") if obj.metadata else None
    return dict(meta) if meta is not None and hasattr(meta, "items") else {}


def _vfx_of(meta: Mapping[str, Any], name: str = "", *, by_name: bool = True) -> str | None:
    """The shot id a VFX flag names ("" when flagged without an id), ``None`` when not VFX."""
    vfx: Any = meta.get("vfx")
    if vfx is not None and hasattr(vfx, "get") and vfx.get("shot"):
        return str(vfx.get("shot"))
    if isinstance(vfx, str) and vfx:
        return vfx if _SHOT_ID.match(vfx) else ""
    if vfx:
        return ""
    text = (name or "").strip()
    if by_name and text.upper().startswith("VFX"):
        rest = text[3:].strip(" :-_")
        first = rest.split()[0] if rest else ""
        return first if _SHOT_ID.match(first) else ""
    return None


def _clip_file(clip: otio.schema.Clip) -> str:
    url = getattr(clip.media_reference, "target_url", None)
    if not url:
        return ""
    parsed = urlparse(str(url))
    return unquote(parsed.path) if parsed.scheme in ("", "file") else str(url)


@dataclass(slots=True)
class _Event:
    clip: otio.schema.Clip
    record_in: int  # relative to the timeline start
    record_out: int
    shot: str
    description: str
    handles: int | None = None


def _video_clips(timeline: otio.schema.Timeline, rate: Rate) -> list[tuple[int, int, otio.schema.Clip]]:
    out: list[tuple[int, int, otio.schema.Clip]] = []
    for track in timeline.video_tracks():
        if not track.enabled:
            continue
        for child in track:
            if isinstance(child, otio.schema.Clip):
                rng = track.range_of_child(child)
                out.append((_frames(rng.start_time, rate), _frames(rng.end_time_exclusive(), rate), child))
    return out


def _describe(marker: otio.schema.Marker) -> str:
    meta = _meta(marker)
    note = str(meta.get("note") or "") or str(getattr(marker, "comment", "") or "")
    return note or (marker.name or "")


def _marked_events(timeline: otio.schema.Timeline, rate: Rate) -> list[_Event]:
    clips = _video_clips(timeline, rate)
    found: dict[int, _Event] = {}

    def add(clip_entry: tuple[int, int, otio.schema.Clip], shot: str, description: str) -> None:
        rec_in, rec_out, clip = clip_entry
        event = found.get(id(clip))
        if event is None:
            found[id(clip)] = _Event(clip, rec_in, rec_out, shot, description)
        else:
            event.shot = event.shot or shot
            event.description = event.description or description

    def under(frame: int) -> tuple[int, int, otio.schema.Clip] | None:
        hits = [c for c in clips if c[0] <= frame < c[1]]
        return hits[-1] if hits else None  # topmost video track

    for entry in clips:
        rec_in, _rec_out, clip = entry
        shot = _vfx_of(_meta(clip), by_name=False)
        if shot is not None:
            add(entry, shot, str(_meta(clip).get("note") or ""))
        src_in = clip.trimmed_range().start_time
        for marker in clip.markers:
            shot = _vfx_of(_meta(marker), marker.name)
            at = rec_in + _frames(marker.marked_range.start_time - src_in, rate)
            if shot is not None and entry[0] <= at < entry[1]:
                add(entry, shot, _describe(marker))
    containers: list[Any] = [timeline.tracks, *timeline.video_tracks()]
    for container in containers:
        for marker in container.markers:
            shot = _vfx_of(_meta(marker), marker.name)
            hit = under(_frames(marker.marked_range.start_time, rate))
            if shot is not None and hit is not None:
                add(hit, shot, _describe(marker))
    return sorted(found.values(), key=lambda e: (e.record_in, e.record_out))


def read_pull_list(path: str | Path) -> list[dict[str, str]]:
    """The rows of a turnover's VFX pull list (``CUT_vNNN_vfx_pulls.csv`` or ``.json``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the VFX pull list: {exc}", path=p) from exc
    try:
        if p.suffix.lower() == ".json":
            data: Any = json.loads(text)
            rows: list[Any] = (
                list(data.get("vfx_pulls") or data.get("shots") or []) if isinstance(data, dict) else data
            )
            return [{str(k): str(v) for k, v in row.items()} for row in rows]
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    except (ValueError, AttributeError, TypeError) as exc:
        raise UsageError(f"not a VFX pull list: {exc}", path=p) from exc


def _listed_events(
    timeline: otio.schema.Timeline, rate: Rate, rows: Sequence[Mapping[str, str]], where: str
) -> list[_Event]:
    start = _record_start(timeline, rate)
    clips = _video_clips(timeline, rate)
    events: list[_Event] = []
    for n, row in enumerate(rows, 1):
        rec = row.get("record_in") or ""
        try:
            rec_in = timecode_to_frames(rec, rate) - start
        except Exception as exc:
            raise UsageError(f"row {n}: record_in {rec!r} is not a timecode", path=where) from exc
        hits = [c for c in clips if c[0] == rec_in] or [c for c in clips if c[0] <= rec_in < c[1]]
        if not hits:
            raise UsageError(f"row {n}: no video event at record {rec}", path=where)
        r_in, r_out, clip = hits[-1]
        shot = str(row.get("shot") or "")
        handles = row.get("handles")
        events.append(
            _Event(
                clip,
                r_in,
                r_out,
                shot if _SHOT_ID.match(shot) else "",
                str(row.get("note") or row.get("description") or ""),
                int(handles) if handles not in (None, "") else None,
            )
        )
    return sorted(events, key=lambda e: (e.record_in, e.record_out))


def _number(events: list[_Event]) -> None:
    used = {e.shot for e in events if e.shot}
    n = 0
    for event in events:
        if event.shot:
            continue
        n += 10
        while f"SH{n:03d}" in used:
            n += 10
        event.shot = f"SH{n:03d}"
        used.add(event.shot)


def _speed(clip: otio.schema.Clip) -> Fraction:
    for fx in clip.effects:
        if isinstance(fx, otio.schema.FreezeFrame):
            return Fraction(0)
        if isinstance(fx, otio.schema.LinearTimeWarp):
            return Fraction(fx.time_scalar).limit_denominator(1000)
    return Fraction(1)


def find_vfx_shots(
    timeline: otio.schema.Timeline,
    *,
    handles: int | None = None,
    pull_list: Sequence[Mapping[str, str]] | str | Path | None = None,
    first_frame: int = FIRST_FRAME,
) -> list[VfxShot]:
    """The VFX shots of a cut, in record order, with their pull ranges (handles clamped to the original).

    Shots come from VFX markers/flags, or from a turnover pull list when ``pull_list`` is given.
    ``handles`` (default: the list's, else :data:`DEFAULT_HANDLES`) applies to every shot.
    """
    if handles is not None and handles < 0:
        raise UsageError(f"handles must be ≥ 0 frames, not {handles}")
    rate = timeline_rate(timeline)
    start = _record_start(timeline, rate)
    if pull_list is None:
        events = _marked_events(timeline, rate)
    else:
        where = str(pull_list) if isinstance(pull_list, (str, Path)) else "pull list"
        rows = read_pull_list(pull_list) if isinstance(pull_list, (str, Path)) else pull_list
        events = _listed_events(timeline, rate, rows, where)
    _number(events)
    seen: set[str] = set()
    shots: list[VfxShot] = []
    for event in events:
        if event.shot in seen:
            raise UsageError(f"shot id {event.shot} names two events", hint="give each VFX event its own id")
        seen.add(event.shot)
        shots.append(_shot(event, rate, start, handles, first_frame))
    return shots


def _shot(event: _Event, rate: Rate, start: int, handles: int | None, first_frame: int) -> VfxShot:
    clip = event.clip
    path = _clip_file(clip)
    if not path:
        raise UsageError(f"VFX shot {event.shot} ({clip.name}) has no media file to pull from")
    info = probe(path)
    if info.damaged or not info.video:
        raise MediaError(f"cannot pull {event.shot}: {'; '.join(info.problems) or 'no video'}", path=path)
    video = info.video[0]
    mrate = Rate.parse(video.rate or rate.fps)
    drop = bool(info.start_timecode) and is_drop_label(str(info.start_timecode))
    if info.start_timecode:
        media_start = timecode_to_frames(info.start_timecode, mrate)
    else:
        avail = clip.media_reference.available_range
        media_start = _frames(avail.start_time, mrate) if avail is not None else 0
    media_end = media_start + video.frames
    src_in = _frames(clip.trimmed_range().start_time, mrate)
    duration = event.record_out - event.record_in
    speed = _speed(clip)
    used = duration if speed == 1 else max(1, math.ceil(duration * abs(speed)))
    src_out = src_in + used
    if src_in < media_start or src_out > media_end:
        raise MediaError(
            f"VFX shot {event.shot}: source {Timecode(src_in, mrate, drop)}–{Timecode(src_out, mrate, drop)} "
            f"is not inside the original ({Timecode(media_start, mrate, drop)}–"
            f"{Timecode(media_end, mrate, drop)})",
            path=path,
        )
    want = (
        handles if handles is not None else (event.handles if event.handles is not None else DEFAULT_HANDLES)
    )
    h_in = min(want, src_in - media_start)
    h_out = min(want, media_end - src_out)
    frames = used + h_in + h_out
    return VfxShot(
        shot=event.shot,
        clip=clip.name,
        reel=str(_meta(clip).get("reel") or info.reel or Path(path).stem),
        source_file=path,
        rate=str(mrate),
        record_in=str(Timecode(start + event.record_in, rate)),
        record_out=str(Timecode(start + event.record_out, rate)),
        record_in_frame=start + event.record_in,
        record_out_frame=start + event.record_out,
        source_in=str(Timecode(src_in, mrate, drop)),
        source_out=str(Timecode(src_out, mrate, drop)),
        source_in_frame=src_in,
        source_out_frame=src_out,
        handles=want,
        handles_in=h_in,
        handles_out=h_out,
        first_frame=first_frame,
        last_frame=first_frame + frames - 1,
        frames=frames,
        width=video.width,
        height=video.height,
        description=event.description,
        short_handles=h_in < want or h_out < want,
        pull_index=src_in - h_in - media_start,
        drop=drop,
    )


# --------------------------------------------------------------------------------------- images


def smpte_timecode(frames: int, rate: Rate, drop: bool = False) -> list[int]:
    """The two 32-bit words of an SMPTE 12M timecode (BCD hh:mm:ss:ff, no user bits) for EXR/DPX."""
    tc = Timecode(frames, rate, drop)
    hh, mm, ss, ff = tc.components

    def bcd(v: int) -> int:
        return ((v // 10) << 4) | (v % 10)

    word = (bcd(hh) << 24) | (bcd(mm) << 16) | (bcd(ss) << 8) | bcd(ff)
    if tc.drop:
        word |= 1 << 6  # drop-frame flag
    return [word, 0]


def _write_image(path: Path, rgb: npt.NDArray[np.float32], fmt: str, attrs: Mapping[str, Any]) -> None:
    import OpenImageIO as oiio

    h, w = rgb.shape[:2]
    if fmt == "exr":
        spec = oiio.ImageSpec(w, h, 3, oiio.HALF)
        spec.attribute("compression", str(attrs.get("compression", "zip")))
    else:
        spec = oiio.ImageSpec(w, h, 3, oiio.UINT16)
        spec.attribute("oiio:BitsPerSample", 10)
    for key, value in attrs.items():
        if key == "compression":
            continue
        if key == "smpte:TimeCode":
            spec.attribute(key, oiio.TypeTimeCode, np.asarray(value, dtype=np.uint32))
        elif key == "FramesPerSecond":
            spec.attribute(key, oiio.TypeRational, np.asarray(value, dtype=np.int32))
        else:
            spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    if out is None or not out.open(str(path), spec):
        raise MediaError(f"cannot write image: {oiio.geterror()}", path=path)
    try:
        if not out.write_image(np.ascontiguousarray(rgb, dtype=np.float32)):
            raise MediaError(f"cannot write image: {out.geterror()}", path=path)
    finally:
        out.close()


def read_image(path: str | Path) -> npt.NDArray[np.float32]:
    """An EXR/DPX frame as float32 ``(height, width, channels)`` through OpenImageIO."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise MediaError(f"cannot read image: {oiio.geterror()}", path=path)
    try:
        data = inp.read_image("float")
    finally:
        inp.close()
    if data is None:
        raise MediaError("cannot read image pixels", path=path)
    return np.asarray(data, dtype=np.float32)


def _header(path: Path) -> tuple[int, int] | str:
    """``(width, height)`` of an image, or why it cannot be read."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        return oiio.geterror().strip() or "unreadable"
    try:
        spec = inp.spec()
        return int(spec.width), int(spec.height)
    finally:
        inp.close()


def _scan(folder: Path, stem: str) -> tuple[dict[int, Path], list[str], set[str], set[int]]:
    """Frame number → file for ``stem.####.ext`` in ``folder``; the odd names; the extensions; paddings."""
    pattern = re.compile(rf"^{re.escape(stem)}\.([0-9]+)\.({'|'.join(_EXTS)})$", re.IGNORECASE)
    frames: dict[int, Path] = {}
    odd: list[str] = []
    exts: set[str] = set()
    pads: set[int] = set()
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        m = pattern.match(entry.name)
        if m is None:
            odd.append(entry.name)
            continue
        frames[int(m.group(1))] = Path(entry.path)
        exts.add(m.group(2).lower())
        pads.add(len(m.group(1)))
    return frames, odd, exts, pads


def _ranges(numbers: Iterable[int]) -> str:
    nums = sorted(numbers)
    parts: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[i]) if i == j else f"{nums[i]}–{nums[j]}")
        i = j + 1
    return ", ".join(parts[:8]) + (" …" if len(parts) > 8 else "")


def _verify(folder: Path, stem: str, shot: VfxShot, ext: str) -> list[str]:
    """Why the sequence ``folder/stem.####.ext`` is not the shot's complete range (``[]`` when it is)."""
    if not folder.is_dir():
        return [f"{folder.name} is not a folder"]
    frames, odd, exts, pads = _scan(folder, stem)
    reasons: list[str] = []
    if odd:
        reasons.append(f"unexpected file names: {', '.join(odd[:5])}{' …' if len(odd) > 5 else ''}")
    if len(exts) > 1:
        reasons.append(f"mixed file types ({', '.join(sorted(exts))})")
    elif exts and ext not in exts:
        reasons.append(f".{next(iter(exts))} files, .{ext} expected")
    if len(pads) > 1:
        reasons.append("inconsistent frame-number padding")
    if not frames:
        reasons.append(f"no frames named {stem}.####.{ext}")
        return reasons
    want = set(range(shot.first_frame, shot.last_frame + 1))
    have = set(frames)
    first, last = min(have), max(have)
    if (first, last) != (shot.first_frame, shot.last_frame):
        reasons.append(
            f"frame range {first}–{last}, the pull is {shot.first_frame}–{shot.last_frame} (handles included)"
        )
    missing = want - have
    if missing:
        reasons.append(
            f"{len(missing)} frame{'s' if len(missing) > 1 else ''} missing ({_ranges(missing)}): "
            f"{len(have)} frames, {shot.frames} expected"
        )
    extra = have - want
    if extra:
        reasons.append(f"{len(extra)} frames outside the pull ({_ranges(extra)})")
    bad_size: list[str] = []
    unreadable: list[str] = []
    for n in sorted(have):
        head = _header(frames[n])
        if isinstance(head, str):
            unreadable.append(f"{frames[n].name} ({head})")
        elif head != (shot.width, shot.height):
            bad_size.append(f"{frames[n].name} is {head[0]}x{head[1]}")
    if unreadable:
        reasons.append(f"unreadable: {'; '.join(unreadable[:3])}{' …' if len(unreadable) > 3 else ''}")
    if bad_size:
        reasons.append(
            f"resolution: {len(bad_size)} frame{'s' if len(bad_size) > 1 else ''} not "
            f"{shot.width}x{shot.height} like the plate ({bad_size[0]})"
        )
    return reasons


# --------------------------------------------------------------------------------------- pulls


def _plate_name(shot: VfxShot) -> str:
    return f"{shot.shot}_plate_v001"


def _shot_rows(shots: Sequence[VfxShot]) -> str:
    buf = io.StringIO()
    names = [f.name for f in fields(VfxShot)]
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for s in shots:
        writer.writerow(s.to_dict())
    return buf.getvalue()


def load_shot_list(path: str | Path) -> list[VfxShot]:
    """The shots of a pull's shot list (``*_vfx_shots.json`` or ``.csv``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".json":
            data = json.loads(text)
            rows = data["shots"] if isinstance(data, dict) else data
        else:
            rows = list(csv.DictReader(io.StringIO(text)))
        return [VfxShot.from_dict(row) for row in rows]
    except OSError as exc:
        raise UsageError(f"cannot read the shot list: {exc}", path=p) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"not a VFX shot list: {exc}", path=p) from exc


def _to_float(frame: npt.NDArray[Any], linearize: bool) -> npt.NDArray[np.float32]:
    rgb = frame.astype(np.float32) * np.float32(1.0 / 65535.0)
    if linearize:
        rgb = np.power(rgb, np.float32(2.4)).astype(np.float32)  # BT.1886 EOTF
    return rgb


def _write_reference(dest: Path, shot: VfxShot, frames: list[npt.NDArray[np.uint16]]) -> None:
    step = max(1, math.ceil(shot.width / 1920))
    w, h = shot.width // step // 2 * 2, shot.height // step // 2 * 2
    with VideoWriter(
        dest,
        width=w,
        height=h,
        rate=Rate.parse(shot.rate).fps,
        preset="h264-mov",
        start_timecode=str(
            Timecode(shot.source_in_frame - shot.handles_in, Rate.parse(shot.rate), shot.drop)
        ),
        reel=shot.reel,
    ) as writer:
        for frame in frames:
            small = frame[::step, ::step][:h, :w]
            writer.write_frame(np.round(small / 257.0).astype(np.uint8))


def _pull_one(
    shot: VfxShot, out_dir: Path, fmt: str, compression: str, linearize: bool, reference: bool
) -> None:
    rate = Rate.parse(shot.rate)
    name = _plate_name(shot)
    final = out_dir / name
    tmp = out_dir / f".{name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    pull_in = shot.source_in_frame - shot.handles_in
    first_index = shot.pull_index
    colour = "lin_rec709_scene" if linearize else "g24_rec709_display"
    fps = rate.fps
    ref_frames: list[npt.NDArray[np.uint16]] = []
    written = 0
    try:
        for index, frame in iter_video_frames(
            shot.source_file, format="rgb48le", start=first_index, count=shot.frames
        ):
            n = index - first_index
            attrs: dict[str, Any] = {
                "compression": compression,
                "smpte:TimeCode": smpte_timecode(pull_in + n, rate, shot.drop),
                "FramesPerSecond": [fps.numerator, fps.denominator],
                "oiio:ColorSpace": colour,
                "posthouse:shot": shot.shot,
                "posthouse:reel": shot.reel,
                "posthouse:sourceClip": shot.clip,
                "posthouse:sourceFile": shot.source_file,
                "posthouse:sourceTimecode": str(Timecode(pull_in + n, rate, shot.drop)),
                "posthouse:frame": shot.first_frame + n,
            }
            path = tmp / f"{name}.{shot.first_frame + n:04d}.{fmt}"
            _write_image(path, _to_float(frame, linearize), fmt, attrs)
            if reference:
                ref_frames.append(frame)
            written += 1
        if written != shot.frames:
            raise MediaError(
                f"{shot.shot}: the original gave {written} of {shot.frames} frames",
                path=shot.source_file,
                where=f"from frame {first_index}",
            )
        problems = _verify(tmp, name, shot, fmt)
        if problems:
            raise MediaError(
                f"{shot.shot}: the written plate fails its check: {'; '.join(problems)}", path=tmp
            )
        if reference:
            _write_reference(out_dir / f"{shot.shot}_ref.mov", shot, ref_frames)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def pull_plates(
    timeline: otio.schema.Timeline,
    out_dir: str | Path,
    *,
    name: str = "vfx",
    handles: int | None = None,
    fmt: str = "exr",
    compression: str = "zip",
    pull_list: Sequence[Mapping[str, str]] | str | Path | None = None,
    linearize: bool = False,
    reference: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> PullReport:
    """Pull every VFX shot of ``timeline`` into ``out_dir``: plate sequences, references, a shot list.

    Sequences already complete and verified (from an interrupted earlier run) are kept, not rewritten.
    The shot list is ``NAME_vfx_shots.csv`` and ``.json``.
    """
    fmt = fmt.lower()
    if fmt not in _EXTS:
        raise UsageError(f"unknown plate format {fmt!r}", hint="choose exr or dpx")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shots = find_vfx_shots(timeline, handles=handles, pull_list=pull_list)
    report = PullReport(out_dir=out, shots=shots)
    if not shots:
        report.warnings.append("no clip is marked VFX (a VFX marker or metadata posthouse.vfx)")
    for i, shot in enumerate(shots):
        plate = _plate_name(shot)
        shot.plate = f"{plate}/{plate}.####.{fmt}"
        shot.reference = f"{shot.shot}_ref.mov" if reference else ""
        if shot.short_handles:
            report.warnings.append(
                f"{shot.shot}: short handles ({shot.handles_in} in, {shot.handles_out} out "
                f"of {shot.handles}): the original ends"
            )
        if progress is not None:
            progress(shot.shot, i, len(shots))
        done = not _verify(out / plate, plate, shot, fmt)
        if done and (not reference or (out / shot.reference).is_file()):
            report.resumed.append(shot.shot)
            continue
        _pull_one(shot, out, fmt, compression, linearize, reference)
        report.written.append(shot.shot)
    csv_path, json_path = out / f"{name}_vfx_shots.csv", out / f"{name}_vfx_shots.json"
    atomic_write_text(csv_path, _shot_rows(shots))
    doc = {"name": name, "format": fmt, "first_frame": FIRST_FRAME, "shots": [s.to_dict() for s in shots]}
    atomic_write_text(json_path, json.dumps(doc, indent=2) + "\n")
    report.shot_list = [csv_path, json_path]
    return report


# --------------------------------------------------------------------------------------- returns


def parse_version_name(name: str) -> tuple[str, str, int]:
    """``("SH010", "comp", 2)`` from ``SH010_comp_v002`` (a version folder's name)."""
    m = _VERSION.match(name)
    if m is None:
        raise UsageError(f"{name!r} does not follow SHOT_task_vNNN (e.g. SH010_comp_v002)")
    return m.group("shot"), m.group("task"), int(m.group("version"))


def check_return(folder: str | Path, shots: Mapping[str, VfxShot] | Sequence[VfxShot]) -> ReturnCheck:
    """Validate one delivered version folder against the pull of its shot (never raises for bad data)."""
    p = Path(folder)
    by_id = shots if isinstance(shots, Mapping) else {s.shot: s for s in shots}
    check = ReturnCheck(path=str(p))
    if not p.is_dir():
        check.reasons.append("not a folder")
        return check
    try:
        check.shot, check.task, check.version = parse_version_name(p.name)
    except UsageError as exc:
        check.reasons.append(exc.message)
        return check
    shot = by_id.get(check.shot)
    frames, _odd, exts, pads = _scan(p, p.name)
    if frames:
        check.first, check.last, check.frames = min(frames), max(frames), len(frames)
        check.ext = sorted(exts)[0]
        check.padding = min(pads)
        head = _header(frames[min(frames)])
        if not isinstance(head, str):
            check.width, check.height = head
    if shot is None:
        check.reasons.append(f"unknown shot {check.shot}: not in the pull's shot list")
        return check
    check.reasons.extend(_verify(p, p.name, shot, check.ext))
    check.status = "rejected" if check.reasons else "submitted"
    return check


def ingest_returns(
    folders: Iterable[str | Path],
    shots: Sequence[VfxShot],
    *,
    catalog: Catalog | None = None,
    store_path: Callable[[Path], str] | None = None,
) -> list[ReturnCheck]:
    """Validate delivered versions and record each in the catalog (rejected ones with their reason).

    Each folder is a version folder (``SH010_comp_v002``) or a folder of them. One bad version never
    stops the rest. ``store_path`` turns a folder into the path the catalog keeps (e.g.
    ``Project.relpath``).
    """
    by_id = {s.shot: s for s in shots}
    checks: list[ReturnCheck] = []
    for folder in folders:
        p = Path(folder)
        if p.is_dir() and not _VERSION.match(p.name):
            subs = sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))
            checks.extend(check_return(d, by_id) for d in subs)
        else:
            checks.append(check_return(p, by_id))
    if catalog is not None:
        for c in checks:
            if not c.shot:
                continue
            catalog.record_vfx_version(
                shot=c.shot,
                task=c.task,
                version=c.version,
                path=store_path(Path(c.path)) if store_path else str(Path(c.path).resolve()),
                first=c.first,
                last=c.last,
                frames=c.frames,
                width=c.width,
                height=c.height,
                status=c.status,
                reason=c.reason or None,
            )
    return checks


def approve(catalog: Catalog, shot: str, version: int, *, task: str | None = None) -> VfxVersionRecord:
    """Mark a delivered version approved; a rejected version cannot be approved."""
    rows = [
        r for r in catalog.vfx_versions(shot=shot) if r.version == version and (not task or r.task == task)
    ]
    for row in rows:
        if row.status == "rejected":
            raise UsageError(
                f"{shot}_{row.task}_v{version:03d} was rejected ({row.reason}); it cannot be approved",
                hint="ask the vendor for a new version",
            )
    return catalog.set_vfx_status(shot, version, "approved", task=task)


# --------------------------------------------------------------------------------------- cut in


def _sequence_reference(
    folder: Path, shot: VfxShot, row: VfxVersionRecord, ext: str, padding: int
) -> otio.schema.ImageSequenceReference:
    rate = Rate.parse(shot.rate).otio_rate
    first = row.first if row.first is not None else shot.first_frame
    frames = row.frames or shot.frames
    return otio.schema.ImageSequenceReference(
        target_url_base=folder.resolve().as_uri() + "/",
        name_prefix=f"{folder.name}.",
        name_suffix=f".{ext}",
        start_frame=first,
        frame_step=1,
        rate=rate,
        frame_zero_padding=padding,
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(first, rate), otio.opentime.RationalTime(frames, rate)
        ),
    )


def cut_in(
    timeline: otio.schema.Timeline,
    shots: Sequence[VfxShot],
    catalog: Catalog,
    *,
    resolve: Callable[[str], Path] = Path,
) -> tuple[otio.schema.Timeline, CutInReport]:
    """A copy of ``timeline`` with each VFX event showing its shot's latest approved version.

    Events are found by their record range; record positions never move. ``resolve`` turns a catalog
    path into a folder (e.g. ``Project.abspath``).
    """
    tl = copy.deepcopy(timeline)
    rate = timeline_rate(tl)
    start = _record_start(tl, rate)
    report = CutInReport()
    clips = _video_clips(tl, rate)
    for shot in shots:
        row = catalog.latest_approved_vfx(shot.shot)
        if row is None:
            report.not_approved.append(shot.shot)
            continue
        hits = [
            c for c in clips if (start + c[0], start + c[1]) == (shot.record_in_frame, shot.record_out_frame)
        ]
        if not hits:
            report.warnings.append(f"{shot.shot}: no event at record {shot.record_in}–{shot.record_out}")
            continue
        _, _, clip = hits[-1]
        folder = resolve(row.path)
        probe_files, _odd, exts, pads = (
            _scan(folder, folder.name) if folder.is_dir() else ({}, [], set(), set())
        )
        if not probe_files:
            report.warnings.append(f"{shot.shot}: v{row.version:03d} has no frames at {folder}")
            continue
        ext, padding = sorted(exts)[0], min(pads)
        mrate = Rate.parse(shot.rate)
        clip_src = clip.trimmed_range()
        offset = _frames(clip_src.start_time, mrate) - shot.source_in_frame
        duration = _frames(clip_src.duration, mrate)
        first = (row.first if row.first is not None else shot.first_frame) + shot.handles_in + offset
        plate = _clip_file(clip)
        clip.media_reference = _sequence_reference(folder, shot, row, ext, padding)
        fr = mrate.otio_rate
        clip.source_range = otio.opentime.TimeRange(
            otio.opentime.RationalTime(first, fr), otio.opentime.RationalTime(duration, fr)
        )
        meta = _meta(clip)
        meta["vfx"] = {
            "shot": shot.shot,
            "task": row.task,
            "version": row.version,
            "path": row.path,
            "plate": plate,
        }
        clip.metadata["posthouse"] = meta
        report.replaced.append(
            {
                "shot": shot.shot,
                "task": row.task,
                "version": row.version,
                "clip": clip.name,
                "record_in": shot.record_in,
                "record_out": shot.record_out,
                "first_frame": first,
                "last_frame": first + duration - 1,
            }
        )
    return tl, report


def write_cut_in(
    timeline: otio.schema.Timeline,
    shots: Sequence[VfxShot],
    catalog: Catalog,
    dest: str | Path,
    *,
    resolve: Callable[[str], Path] = Path,
) -> CutInReport:
    """:func:`cut_in`, then write the new timeline to ``dest`` (OTIO JSON, atomically)."""
    tl, report = cut_in(timeline, shots, catalog, resolve=resolve)
    atomic_write_text(dest, otio.adapters.write_to_string(tl, "otio_json"))
    report.out = Path(dest)
    return report
