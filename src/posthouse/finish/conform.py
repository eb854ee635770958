"""Conform a locked cut to the camera originals: relink every picture event by reel and timecode.

The cut is any timeline OTIO reads: ours (``.otio``), a CMX 3600 EDL (with our ``* REEL MAP`` comments
mapping 8-character reels to full names, and ``* FROM CLIP NAME`` / ``* SOURCE FILE`` comments), FCP7 XML or
AAF. Each video event is matched to an original:

1. ``reel_tc`` — the event's reel, and its source range plus handles inside the original's timecode range
   (the bare range when the handles do not fit; a range only partly covered is a *timecode break*);
2. ``clip_name`` — the clip name (or the offline file's name) equal to an original's file name;
3. ``picture`` — when the offline media is reachable: the original, on any reel, holding the range whose
   frame at the event's first timecode looks like the offline's (a 64×36 grey thumbnail).

Several originals holding the range is *ambiguous* (reported; the pick prefers the cut's rate, then the
exact reel, then the path). An original at another rate is flagged. The result is a copy of the cut with each
matched clip's media reference pointing at the original (``available_range`` = its timecode range at its
rate) and ``metadata["conform"]``; speed effects, transitions and any reposition metadata are kept.
Verification compares each event's first and last frame between the offline media and the original.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlparse

import numpy as np
import numpy.typing as npt
import opentimelineio as otio

from posthouse.core.edl import read_edl
from posthouse.core.errors import PosthouseError, UsageError
from posthouse.core.fsutil import atomic_path, atomic_write_text
from posthouse.core.time import Rate, RateLike, Timecode, rational_time_to_frames
from posthouse.finish.originals import OriginalRecord, OriginalsIndex, ticks

__all__ = [
    "CUT_SUFFIXES",
    "DIFF_THRESHOLD",
    "ConformReport",
    "CutEvent",
    "EventResult",
    "conform",
    "cut_events",
    "match_events",
    "picture_matcher",
    "read_cut",
    "thumbnail",
    "verify_events",
    "write_conform",
]

CUT_SUFFIXES: Final = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml", ".aaf": "AAF"}
"""Cut file types read, and the OTIO adapter for each (``.otioz`` too)."""

DIFF_THRESHOLD: Final = 8.0
"""Mean absolute difference (0–255 grey, 64×36 thumbnails) above which two frames differ."""

_THUMB: Final = (36, 64)
_SEQUENTIAL_LIMIT: Final = 48  # frames: below this, one decode pass beats a seek
_REEL_MAP_RE: Final = re.compile(r"^\*\s*REEL MAP:\s*(\S+)\s*=\s*(.+?)\s*$", re.MULTILINE)
_SOURCE_FILE_RE: Final = re.compile(r"^\*?\s*SOURCE FILE:\s*(.+?)\s*$")
_NAME_NOTES_RE: Final = re.compile(r"\s*\([^)]*\)|\s+FF$")  # "Z682_156 (LAY3) FF" → "Z682_156"
_REEL_KEYS: Final = ("reel", "tape", "reel_name", "tapename", "tape_name")


# ------------------------------------------------------------------------------------------------ reading


def read_cut(path: str | Path, *, rate: RateLike | None = None) -> otio.schema.Timeline:
    """Read a cut file with the OTIO adapter for its type; EDL ``* REEL MAP`` comments are kept in
    ``timeline.metadata["conform"]["reel_map"]`` (8-character reel → full name); EDLs are read with
    :func:`posthouse.core.edl.read_edl` (the line of a malformed event named, the record start kept)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in CUT_SUFFIXES and suffix != ".otioz":
        raise UsageError(
            f"cannot read a cut from '{p.suffix}' files",
            path=p,
            hint="give an .otio, .otioz, .edl (CMX 3600), .xml (FCP7) or .aaf",
        )
    if not p.exists():
        raise UsageError("cut file not found", path=p)
    reel_map: dict[str, str] = {}
    result: Any
    if suffix == ".edl":  # line-numbered errors, the record start kept (OTIO's reader drops it)
        if rate is None:
            raise UsageError("an EDL needs a frame rate", path=p, hint="pass rate= (--rate) or a project")
        text = p.read_text(encoding="utf-8", errors="replace")
        reel_map = {m.group(1).upper(): m.group(2) for m in _REEL_MAP_RE.finditer(text)}
        result = read_edl(p, rate, snap_speed=False)
    else:
        try:
            result = otio.adapters.read_from_file(str(p))
        except Exception as exc:  # adapters raise anything
            raise PosthouseError(
                f"cannot read the cut: {exc}", path=p, hint="check the file against its format"
            ) from None
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline))
        if not timelines:
            raise PosthouseError("the file holds no timeline", path=p)
        result = timelines[0]
    if not isinstance(result, otio.schema.Timeline):
        raise PosthouseError("the file did not read as a timeline", path=p)
    if reel_map:
        result.metadata.setdefault("conform", {})["reel_map"] = reel_map
    return result


def _find_meta(meta: Any, keys: Sequence[str], depth: int = 0) -> str | None:
    """First non-empty string value under one of ``keys`` (case-insensitive), searching nested dicts."""
    if depth > 4 or not hasattr(meta, "items"):
        return None
    for k, v in meta.items():
        if str(k).lower() in keys and isinstance(v, str) and v.strip():
            return v.strip()
    for v in meta.values():
        if hasattr(v, "items"):
            found = _find_meta(v, keys, depth + 1)
            if found:
                return found
    return None


def _url_path(url: str | None) -> Path | None:
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("", "file"):
        return None
    return Path(unquote(parsed.path))


def _speed(clip: otio.schema.Clip) -> Fraction:
    speed = Fraction(1)
    for fx in clip.effects:
        if isinstance(fx, otio.schema.FreezeFrame) or getattr(fx, "effect_name", "") == "FreezeFrame":
            return Fraction(0)
        if isinstance(fx, otio.schema.LinearTimeWarp):
            speed *= Fraction(fx.time_scalar).limit_denominator(1000)
    return speed


# ------------------------------------------------------------------------------------------------ events


@dataclass(slots=True)
class CutEvent:
    """One picture event of the cut: reel, source range (timecode frames at ``rate``) and where it plays."""

    number: int
    track: int
    item: int  # index of the clip among its track's children
    name: str
    reel: str | None
    src_in: int  # first source timecode frame at record_in
    duration: int  # record frames
    rate: Rate
    speed: Fraction = Fraction(1)
    record_in: int = 0
    head: int = 0  # extra source frames before (incoming transition)
    tail: int = 0  # extra source frames after (outgoing transition)
    offline: Path | None = None  # reachable offline media (proxy, dailies)
    offline_start: int | None = None  # timecode frame of the offline's first frame
    names: tuple[str, ...] = ()

    @property
    def extent(self) -> tuple[int, int]:
        """Source timecode frames ``[lo, hi)`` the event shows (speed and transitions included)."""
        n = max(self.duration, 1)
        if self.speed == 0:
            lo, hi = self.src_in, self.src_in + 1
        elif self.speed > 0:
            lo, hi = self.src_in, self.src_in + max(1, math.ceil(n * self.speed))
        else:
            count = max(1, math.ceil(n * -self.speed))
            lo, hi = self.src_in - count + 1, self.src_in + 1
        step = abs(self.speed) if self.speed else Fraction(1)
        return lo - math.ceil(self.head * step), hi + math.ceil(self.tail * step)

    def tc(self, frames: int) -> str:
        """Timecode label of source frame ``frames``."""
        return str(Timecode(frames, self.rate))


def _timeline_rate(timeline: otio.schema.Timeline, rate: RateLike | None) -> Rate:
    if rate is not None:
        return Rate.parse(rate)
    for clip in timeline.find_clips():
        if clip.source_range is not None:
            try:
                return Rate.parse(clip.source_range.start_time.rate)
            except PosthouseError:
                break
    if timeline.global_start_time is not None:
        return Rate.parse(timeline.global_start_time.rate)
    raise UsageError("cannot tell the cut's frame rate", hint="pass rate=")


def cut_events(timeline: otio.schema.Timeline, *, rate: RateLike | None = None) -> list[CutEvent]:
    """The picture events of every enabled video track, numbered in track then record order."""
    r = _timeline_rate(timeline, rate)
    reel_map: dict[str, str] = dict(timeline.metadata.get("conform", {}).get("reel_map", {}) or {})
    events: list[CutEvent] = []
    for t_index, track in enumerate(timeline.tracks):
        if track.kind != otio.schema.TrackKind.Video or not track.enabled:
            continue
        children = list(track)
        for i, item in enumerate(children):
            if not isinstance(item, otio.schema.Clip) or not item.enabled:
                continue
            events.append(_event(item, track, children, i, t_index, r, reel_map, len(events) + 1))
    return events


def _event(
    clip: otio.schema.Clip,
    track: otio.schema.Track,
    children: list[Any],
    i: int,
    t_index: int,
    r: Rate,
    reel_map: dict[str, str],
    number: int,
) -> CutEvent:
    sr = clip.source_range if clip.source_range is not None else clip.available_range()
    src_in = rational_time_to_frames(sr.start_time, r, "nearest")
    duration = rational_time_to_frames(sr.duration, r, "nearest")
    ref = clip.media_reference
    avail = getattr(ref, "available_range", None)
    offline_start: int | None = None
    if avail is not None:
        offline_start = rational_time_to_frames(avail.start_time, r, "nearest")
        if src_in < offline_start:  # source counted from the file's start, not its timecode
            src_in += offline_start
    reel = (
        _find_meta(clip.metadata.get("posthouse", {}), ("reel", "tape"))
        or _find_meta(clip.metadata, _REEL_KEYS)
        or _find_meta(getattr(ref, "metadata", {}), _REEL_KEYS)
    )
    if reel is not None and reel.upper() in reel_map:
        reel = reel_map[reel.upper()]
    url = getattr(ref, "target_url", None)
    offline = _url_path(url)
    for comment in clip.metadata.get("cmx_3600", {}).get("comments", []) or []:
        m = _SOURCE_FILE_RE.match(str(comment).strip())
        if m:
            offline = offline or _url_path(m.group(1))
            if url is None:
                url = m.group(1)
    names = [clip.name or "", _NAME_NOTES_RE.sub("", clip.name or "").strip()]
    if url:
        names.append(Path(unquote(urlparse(str(url)).path)).stem)
    head = tail = 0
    if i > 0 and isinstance(children[i - 1], otio.schema.Transition):
        head = rational_time_to_frames(children[i - 1].in_offset, r, "nearest")
    if i + 1 < len(children) and isinstance(children[i + 1], otio.schema.Transition):
        tail = rational_time_to_frames(children[i + 1].out_offset, r, "nearest")
    record = track.range_of_child_at_index(i).start_time
    return CutEvent(
        number=number,
        track=t_index,
        item=i,
        name=clip.name or "",
        reel=reel,
        src_in=src_in,
        duration=duration,
        rate=r,
        speed=_speed(clip),
        record_in=rational_time_to_frames(record, r, "nearest"),
        head=head,
        tail=tail,
        offline=offline if offline is not None and offline.is_file() else None,
        offline_start=offline_start,
        names=tuple(dict.fromkeys(n for n in names if n)),
    )


# ------------------------------------------------------------------------------------------------ results


@dataclass(slots=True)
class EventResult:
    """What conform found for one event."""

    event: CutEvent
    original: OriginalRecord | None = None
    method: str | None = None  # reel_tc, clip_name, picture
    handles: int = 0
    tc_break: bool = False
    unknown_reel: bool = False
    candidates: list[str] = field(default_factory=list)
    rate_mismatch: bool = False
    reason: str = ""
    frame_diff: tuple[float, float] | None = None  # first, last frame MAD vs the offline
    differs: bool = False

    @property
    def status(self) -> str:
        """``conformed``, ``tc_break`` or ``missing``."""
        if self.original is None:
            return "missing"
        return "tc_break" if self.tc_break else "conformed"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        ev = self.event
        lo, hi = ev.extent
        return {
            "event": ev.number,
            "track": ev.track,
            "name": ev.name,
            "reel": ev.reel,
            "source_in": ev.tc(ev.src_in),
            "source_range": [ev.tc(lo), ev.tc(hi)],
            "record_in": ev.record_in,
            "speed": str(ev.speed),
            "status": self.status,
            "method": self.method,
            "original": self.original.path if self.original else None,
            "handles": self.handles,
            "ambiguous": self.candidates,
            "rate_mismatch": self.rate_mismatch,
            "unknown_reel": self.unknown_reel,
            "frame_diff": list(self.frame_diff) if self.frame_diff else None,
            "differs": self.differs,
            "reason": self.reason,
        }


@dataclass(slots=True)
class ConformReport:
    """Every event's result plus the summary a finishing artist reads first."""

    cut: str
    results: list[EventResult]
    index_failures: list[dict[str, str]] = field(default_factory=list)
    verified: bool = False

    @property
    def missing(self) -> list[EventResult]:
        """Events with no original."""
        return [r for r in self.results if r.original is None]

    @property
    def unknown_reels(self) -> list[str]:
        """Reels of unmatched events that no original carries."""
        return sorted(
            {r.event.reel for r in self.results if r.unknown_reel and r.event.reel and not r.original}
        )

    @property
    def ok(self) -> bool:
        """True when every event conformed without a timecode break or differing frames."""
        return not any(r.original is None or r.tc_break or r.differs for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``conform_report.json``)."""
        methods: dict[str, int] = {}
        for r in self.results:
            if r.method:
                methods[r.method] = methods.get(r.method, 0) + 1
        return {
            "cut": self.cut,
            "events": len(self.results),
            "conformed": sum(r.original is not None for r in self.results),
            "matched_by": methods,
            "missing": [r.event.number for r in self.missing],
            "unknown_reels": self.unknown_reels,
            "tc_breaks": [r.event.number for r in self.results if r.tc_break],
            "ambiguous": [r.event.number for r in self.results if r.candidates],
            "rate_mismatches": [r.event.number for r in self.results if r.rate_mismatch],
            "differing_frames": [r.event.number for r in self.results if r.differs],
            "verified": self.verified,
            "ok": self.ok,
            "index_failures": self.index_failures,
            "details": [r.to_dict() for r in self.results],
        }

    def table(self) -> str:
        """A plain-text table, one line per event, then the summary."""
        lines = [f"{'#':>4}  {'reel':<10} {'source in':<12} {'status':<10} {'method':<10} original / note"]
        for r in self.results:
            ev = r.event
            flags = [
                f"ambiguous ({len(r.candidates)})" if r.candidates else "",
                "rate mismatch" if r.rate_mismatch else "",
                "frames differ" if r.differs else "",
            ]
            note = Path(r.original.path).name if r.original else r.reason
            extra = ", ".join(f for f in flags if f)
            lines.append(
                f"{ev.number:>4}  {(ev.reel or '-')[:10]:<10} {ev.tc(ev.src_in):<12} {r.status:<10} "
                f"{(r.method or '-'):<10} {note}{'  [' + extra + ']' if extra else ''}"
            )
        d = self.to_dict()
        lines.append(
            f"{d['conformed']}/{d['events']} conformed {d['matched_by']}; missing {len(d['missing'])}, "
            f"TC breaks {len(d['tc_breaks'])}, ambiguous {len(d['ambiguous'])}, "
            f"rate mismatches {len(d['rate_mismatches'])}, differing frames {len(d['differing_frames'])}"
        )
        if d["unknown_reels"]:
            lines.append("unknown reels: " + ", ".join(d["unknown_reels"]))
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ matching


def _pick(cands: list[OriginalRecord], ev: CutEvent) -> OriginalRecord:
    reel = (ev.reel or "").upper()
    return sorted(cands, key=lambda o: (o.rate != ev.rate.fps, (o.reel or "").upper() != reel, o.path))[0]


def _available_handles(orig: OriginalRecord, ev: CutEvent, lo: int, hi: int) -> int:
    o_rate = orig.picture_rate
    per = Fraction(o_rate.timebase, ev.rate.timebase)
    head = Fraction(ticks(lo, ev.rate) - ticks(orig.start, o_rate), 1200 // o_rate.timebase) / per
    tail = Fraction(ticks(orig.end, o_rate) - ticks(hi, ev.rate), 1200 // o_rate.timebase) / per
    return max(0, math.floor(min(head, tail)))


def match_events(
    events: Sequence[CutEvent],
    index: OriginalsIndex,
    *,
    handles: int = 8,
    picture: Callable[[CutEvent, list[OriginalRecord]], OriginalRecord | None] | None = None,
) -> list[EventResult]:
    """Match each event to an original: reel + timecode, then clip name, then ``picture`` (a callable
    choosing among originals holding the range on any reel; None skips that step)."""
    results: list[EventResult] = []
    for ev in events:
        lo, hi = ev.extent
        t_lo, t_hi = ticks(lo, ev.rate), ticks(hi, ev.rate)
        h = ticks(handles, ev.rate)
        res = EventResult(ev)
        partial: list[OriginalRecord] = []
        found: list[OriginalRecord] = []
        if ev.reel:
            if not index.resolve_reel(ev.reel):
                res.unknown_reel = True
            else:
                found = index.containing(ev.reel, t_lo - h, t_hi + h) or index.containing(ev.reel, t_lo, t_hi)
                if found:
                    res.method = "reel_tc"
                else:
                    partial = index.overlapping(ev.reel, t_lo, t_hi)
        if not found:
            for name in ev.names:
                named = index.by_name(name)
                spans = [(o, ticks(o.start, o.picture_rate), ticks(o.end, o.picture_rate)) for o in named]
                found = [o for o, s, e in spans if s <= t_lo and e >= t_hi]
                if found:
                    res.method = "clip_name"
                    break
                partial = partial or [o for o, s, e in spans if s < t_hi and e > t_lo]
        if not found and partial:
            res.original = _pick(partial, ev)
            res.method = "reel_tc" if ev.reel and index.resolve_reel(ev.reel) else "clip_name"
            res.tc_break = True
            o = res.original
            res.reason = (
                f"timecode break: {ev.tc(lo)}–{ev.tc(hi)} only partly inside "
                f"{o.start_timecode()}+{o.duration} of {Path(o.path).name}"
            )
        elif not found and picture is not None and ev.offline is not None:
            cands = index.containing(None, t_lo, t_hi)
            chosen = picture(ev, cands) if cands else None
            if chosen is not None:
                found = [chosen]
                res.method = "picture"
        if found:
            res.original = _pick(found, ev)
            if len(found) > 1:
                res.candidates = [o.path for o in found]
            res.handles = min(handles, _available_handles(res.original, ev, lo, hi))
        elif res.original is None:
            what = f"reel {ev.reel}" if ev.reel else "no reel"
            res.reason = (
                f"unknown reel {ev.reel}" if res.unknown_reel else f"{what}: no original holds {ev.tc(lo)}"
            )
            res.method = None
        if res.original is not None:
            res.rate_mismatch = res.original.rate != ev.rate.fps
        results.append(res)
    return results


# ------------------------------------------------------------------------------------------------ pictures


def thumbnail(frame: npt.NDArray[Any], size: tuple[int, int] = _THUMB) -> npt.NDArray[np.float32]:
    """A small grey thumbnail (``size`` = rows, cols) by area averaging, for comparing frames of any size."""
    arr = np.asarray(frame, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr.mean(axis=2)
    rows, cols = size
    h, w = arr.shape
    ys = np.linspace(0, h, min(rows, h) + 1).astype(np.int64)[:-1]
    xs = np.linspace(0, w, min(cols, w) + 1).astype(np.int64)[:-1]
    sums = np.add.reduceat(np.add.reduceat(arr, ys, axis=0), xs, axis=1)
    counts = np.outer(np.diff(np.append(ys, h)), np.diff(np.append(xs, w))).astype(np.float32)
    small = sums / counts
    if small.shape != (rows, cols):  # tiny frames: repeat up to the common size
        small = small[np.linspace(0, small.shape[0] - 1, rows).astype(np.int64)][
            :, np.linspace(0, small.shape[1] - 1, cols).astype(np.int64)
        ]
    return small.astype(np.float32)


def _thumbs(path: str | Path, indices: Iterable[int]) -> dict[int, npt.NDArray[np.float32]]:
    """Thumbnails of the wanted frame indices: frames near the start are decoded in one pass, later ones
    by seeking to the keyframe before each (so a long original is not decoded from its head)."""
    wanted = sorted({i for i in indices if i >= 0})
    if not wanted:
        return {}
    if wanted[-1] < _SEQUENTIAL_LIMIT:
        return _thumbs_sequential(path, wanted)
    try:
        return _thumbs_seek(path, wanted)
    except PosthouseError:
        raise
    except Exception:  # a container PyAV cannot seek in: decode through
        return _thumbs_sequential(path, wanted)


def _thumbs_sequential(path: str | Path, wanted: list[int]) -> dict[int, npt.NDArray[np.float32]]:
    from posthouse.core.media import iter_video_frames

    out: dict[int, npt.NDArray[np.float32]] = {}
    keep = set(wanted)
    for i, frame in iter_video_frames(path, start=wanted[0], count=wanted[-1] - wanted[0] + 1):
        if i in keep:
            out[i] = thumbnail(frame)
    return out


def _thumbs_seek(path: str | Path, wanted: list[int]) -> dict[int, npt.NDArray[np.float32]]:
    import av

    out: dict[int, npt.NDArray[np.float32]] = {}
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise PosthouseError(f"cannot open for decoding: {exc}", path=path) from None
    with container:
        vs = container.streams.video[0]
        rate = Fraction(vs.average_rate or vs.guessed_rate or 0)
        tb = Fraction(vs.time_base or 0)
        if not rate or not tb:
            raise ValueError("no rate or time base to seek with")
        first = int(vs.start_time or 0)
        for i in wanted:
            target = first + round(Fraction(i) / rate / tb)
            half = Fraction(1) / rate / tb / 2
            container.seek(target, stream=vs, backward=True, any_frame=False)
            for frame in container.decode(vs):
                if frame.pts is None:
                    raise ValueError("frames without timestamps")
                if frame.pts >= target - half:
                    if abs(frame.pts - target) <= half:
                        out[i] = thumbnail(frame.to_ndarray(format="gbrp"))
                    break
    return out


def _offline_start(ev: CutEvent, cache: dict[Path, int]) -> int | None:
    if ev.offline is None:
        return None
    if ev.offline_start is not None:
        return ev.offline_start
    if ev.offline not in cache:
        from posthouse.core.media import probe

        info = probe(ev.offline)
        cache[ev.offline] = Timecode.parse(info.start_timecode or "00:00:00:00", ev.rate).frames
    return cache[ev.offline]


def _orig_index(o: OriginalRecord, ev: CutEvent, tc: int) -> int:
    o_rate = o.picture_rate
    return (ticks(tc, ev.rate) - ticks(o.start, o_rate)) // (1200 // o_rate.timebase)


def picture_matcher(
    threshold: float = DIFF_THRESHOLD,
) -> Callable[[CutEvent, list[OriginalRecord]], OriginalRecord | None]:
    """A ``picture`` step for :func:`match_events`: the candidate whose frame at the event's first
    timecode is closest to the offline's, when under ``threshold``."""
    starts: dict[Path, int] = {}

    def choose(ev: CutEvent, cands: list[OriginalRecord]) -> OriginalRecord | None:
        start = _offline_start(ev, starts)
        if ev.offline is None or start is None:
            return None
        lo, _ = ev.extent
        try:
            ref = _thumbs(ev.offline, [lo - start]).get(lo - start)
            if ref is None:
                return None
            best: tuple[float, OriginalRecord] | None = None
            for o in cands[:16]:
                i = _orig_index(o, ev, lo)
                got = _thumbs(o.path, [i]).get(i)
                if got is None:
                    continue
                mad = float(np.abs(got - ref).mean())
                if best is None or mad < best[0]:
                    best = (mad, o)
        except PosthouseError:
            return None
        return best[1] if best is not None and best[0] <= threshold else None

    return choose


def verify_events(results: Sequence[EventResult], *, threshold: float = DIFF_THRESHOLD) -> int:
    """Compare each matched event's first and last frame between offline media and original; sets
    ``frame_diff``/``differs``. Returns how many events were compared. Each file is decoded once."""
    starts: dict[Path, int] = {}
    wanted: dict[str, set[int]] = {}
    plan: list[tuple[EventResult, str, str, list[int], list[int]]] = []
    for r in results:
        ev, o = r.event, r.original
        if o is None or ev.offline is None or r.tc_break:
            continue
        try:
            start = _offline_start(ev, starts)
        except PosthouseError:
            continue
        if start is None:
            continue
        lo, hi = ev.extent
        tcs = [lo, hi - 1]
        off = [tc - start for tc in tcs]
        org = [_orig_index(o, ev, tc) for tc in tcs]
        wanted.setdefault(str(ev.offline), set()).update(off)
        wanted.setdefault(o.path, set()).update(org)
        plan.append((r, str(ev.offline), o.path, off, org))
    thumbs: dict[str, dict[int, npt.NDArray[np.float32]]] = {}
    for path, idx in wanted.items():
        try:
            thumbs[path] = _thumbs(path, idx)
        except PosthouseError:
            thumbs[path] = {}
    compared = 0
    for r, off_path, org_path, off, org in plan:
        diffs: list[float] = []
        for a, b in zip(off, org, strict=True):
            ta, tb = thumbs[off_path].get(a), thumbs[org_path].get(b)
            if ta is not None and tb is not None:
                diffs.append(float(np.abs(ta - tb).mean()))
        if len(diffs) != 2:
            r.reason = r.reason or "frames not decodable for verification"
            continue
        first, last = diffs
        r.frame_diff = (round(first, 3), round(last, 3))
        r.differs = max(first, last) > threshold
        compared += 1
    return compared


# ------------------------------------------------------------------------------------------------ output


def _conformed(timeline: otio.schema.Timeline, results: Sequence[EventResult]) -> otio.schema.Timeline:
    out = copy.deepcopy(timeline)
    for r in results:
        o, ev = r.original, r.event
        if o is None:
            continue
        clip = out.tracks[ev.track][ev.item]
        assert isinstance(clip, otio.schema.Clip)
        old = clip.media_reference
        o_rate = float(o.rate)
        clip.media_reference = otio.schema.ExternalReference(
            target_url=Path(o.path).as_uri(),
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(o.start, o_rate), otio.opentime.RationalTime(o.duration, o_rate)
            ),
        )
        clip.media_reference.name = Path(o.path).stem
        r_rate = ev.rate.otio_rate
        clip.source_range = otio.opentime.TimeRange(
            otio.opentime.RationalTime(ev.src_in, r_rate), otio.opentime.RationalTime(ev.duration, r_rate)
        )
        clip.metadata["conform"] = {
            "original": o.path,
            "reel": o.reel,
            "method": r.method,
            "handles": r.handles,
            "offline": getattr(old, "target_url", None),
            "rate_mismatch": r.rate_mismatch,
            "tc_break": r.tc_break,
        }
    out.metadata.setdefault("conform", {})["conformed"] = True
    return out


def conform(
    timeline: otio.schema.Timeline,
    index: OriginalsIndex,
    *,
    rate: RateLike | None = None,
    handles: int = 8,
    verify: bool = True,
    picture: bool = True,
    threshold: float = DIFF_THRESHOLD,
    cut_name: str = "",
) -> tuple[otio.schema.Timeline, ConformReport]:
    """Relink every picture event of ``timeline`` to ``index``'s originals; return the conformed copy
    and the report (the input timeline is not changed)."""
    if handles < 0:
        raise UsageError(f"handles must be 0 or more, not {handles}")
    events = cut_events(timeline, rate=rate)
    matcher = picture_matcher(threshold) if picture else None
    results = match_events(events, index, handles=handles, picture=matcher)
    report = ConformReport(
        cut=cut_name or timeline.name or "", results=results, index_failures=index.failures
    )
    if verify:
        verify_events(results, threshold=threshold)
        report.verified = True
    return _conformed(timeline, results), report


def write_conform(
    timeline: otio.schema.Timeline,
    report: ConformReport,
    otio_path: str | Path,
    report_path: str | Path | None,
) -> None:
    """Write the conformed timeline and (when given) the JSON report, each atomically."""
    with atomic_path(otio_path) as tmp:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name="otio_json")
    if report_path is not None:
        atomic_write_text(report_path, json.dumps(report.to_dict(), indent=1) + "\n")
