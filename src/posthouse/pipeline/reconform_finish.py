"""Reconform of the finishing work: the conform, the VFX pull list and the subtitles.

- **Conform.** Events the new cut plays with the same source as before reuse the old conform's match (the
  original, its range, the method); only added and trimmed events (and events the old conform could not
  match) are looked up in the originals index again. ``stats["lookups"]`` counts those lookups.
- **VFX pull list.** Shots are matched by shot id between the old pull list and the new cut's VFX
  markers: *unchanged*, *shifted* (same source, new record position), *updated* (new source range: inside
  the old pull's handles the plate still covers it, otherwise it needs a new pull), *removed* (dropped) and
  *added* (new shots).
- **Subtitles.** Each subtitle moves with the picture under it; one on removed picture is dropped; one
  crossing a changed cut keeps its kept part and is flagged.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from posthouse.core.fsutil import atomic_path, atomic_write_text
from posthouse.core.time import timecode_to_frames
from posthouse.finish.conform import (
    ConformReport,
    CutEvent,
    EventResult,
    cut_events,
    match_events,
    picture_matcher,
    verify_events,
)
from posthouse.finish.originals import CACHE_NAME, OriginalsIndex, scan_originals
from posthouse.finish.subtitle_formats import read_subtitles, write_subtitles
from posthouse.finish.subtitles import SubtitleTrack
from posthouse.picture.diff import Event
from posthouse.picture.turnover import DEFAULT_HANDLES, vfx_pulls
from posthouse.pipeline.reconform import DepartmentResult, ItemChange, ReconformError, RecordMap, exact_frames

__all__ = [
    "reconform_conform",
    "reconform_conform_dir",
    "reconform_pulls",
    "reconform_pulls_dir",
    "reconform_subtitles",
    "reconform_subtitles_dir",
]


# ------------------------------------------------------------------------------------------ conform


def _relink(clip: otio.schema.Clip, r: EventResult, rate_otio: float) -> None:
    """Point ``clip`` at ``r``'s original (as :func:`posthouse.finish.conform.conform` does)."""
    o, ev = r.original, r.event
    assert o is not None
    old = clip.media_reference
    o_rate = float(o.rate)
    ref = otio.schema.ExternalReference(
        target_url=Path(o.path).as_uri(),
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(o.start, o_rate), otio.opentime.RationalTime(o.duration, o_rate)
        ),
    )
    ref.name = Path(o.path).stem
    clip.media_reference = ref
    clip.source_range = otio.opentime.TimeRange(
        otio.opentime.RationalTime(ev.src_in, rate_otio), otio.opentime.RationalTime(ev.duration, rate_otio)
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


def _cut_events(
    timeline: otio.schema.Timeline, wanted: Sequence[Event], track_index: dict[str, int], rmap: RecordMap
) -> list[CutEvent | None]:
    """Conform's :class:`CutEvent` of each wanted clip (None for a disabled one), made from a timeline of
    those clips alone so the cost follows the number of events to look up, not the length of the cut."""
    tmp = otio.schema.Timeline(name=timeline.name)
    if timeline.metadata.get("conform"):
        tmp.metadata["conform"] = copy.deepcopy(timeline.metadata["conform"])
    keep: list[int] = []
    for k, e in enumerate(wanted):
        clip = timeline.tracks[track_index[e.track]][e.index]
        if not clip.enabled:
            continue
        track = otio.schema.Track(name=e.track, kind=otio.schema.TrackKind.Video)
        track.append(copy.deepcopy(clip))
        tmp.tracks.append(track)
        keep.append(k)
    found = cut_events(tmp, rate=rmap.rate) if keep else []
    out: list[CutEvent | None] = [None] * len(wanted)
    for k, ev in zip(keep, found, strict=True):
        e = wanted[k]
        children = timeline.tracks[track_index[e.track]]
        ev.track, ev.item, ev.record_in, ev.number = track_index[e.track], e.index, e.record_in, k + 1
        before = children[e.index - 1] if e.index > 0 else None
        after = children[e.index + 1] if e.index + 1 < len(children) else None
        if isinstance(before, otio.schema.Transition):
            ev.head = round(exact_frames(before.in_offset, rmap.rate))
        if isinstance(after, otio.schema.Transition):
            ev.tail = round(exact_frames(after.out_offset, rmap.rate))
        out[k] = ev
    return out


def reconform_conform(
    old_conform: otio.schema.Timeline,
    old_cut: otio.schema.Timeline,
    new_cut: otio.schema.Timeline,
    rmap: RecordMap,
    index: OriginalsIndex | Any,
    *,
    handles: int = 8,
    verify: bool = True,
) -> tuple[otio.schema.Timeline, list[ItemChange], dict[str, Any], ConformReport]:
    """The new cut conformed: the old conform's matches reused for events whose source did not change,
    the others matched again in ``index`` (an :class:`OriginalsIndex`, or a callable returning one, called
    only when something must be looked up). Returns the timeline, the items, stats (``lookups``,
    ``reused``) and the report of the events matched again."""
    rate = rmap.rate
    a_ev, b_ev, matched = rmap.old_events, rmap.new_events, rmap.matched
    back = {i: j for j, i in matched.items()}
    # the old conform's clips by (video track ordinal, record in, duration): it may come from an EDL of
    # the cut, whose tracks are named differently
    old_video = [t.name for t in old_cut.tracks if t.kind == otio.schema.TrackKind.Video]
    old_clips: dict[tuple[int, int, int], otio.schema.Clip] = {}
    for k, track in enumerate(t for t in old_conform.tracks if t.kind == otio.schema.TrackKind.Video):
        pos = 0
        for item in track:
            if isinstance(item, otio.schema.Transition):
                continue
            dur = round(exact_frames(item.duration(), rate))
            if isinstance(item, otio.schema.Clip) and (item.metadata.get("conform") or {}).get("original"):
                old_clips[(k, pos, dur)] = item
            pos += dur
    out = copy.deepcopy(new_cut)
    track_index = {t.name: k for k, t in enumerate(new_cut.tracks)}
    items: list[ItemChange] = []
    redo: list[tuple[int, int | None]] = []  # (index in b_ev, index in a_ev or None)
    reused = 0
    for j, b in enumerate(b_ev):
        i = matched.get(j)
        a = a_ev[i] if i is not None else None
        old_clip = None
        if a is not None and a.track in old_video:
            old_clip = old_clips.get((old_video.index(a.track), a.record_in, a.duration))
        if a is None or old_clip is None or (a.source_in, a.source_out) != (b.source_in, b.source_out):
            redo.append((j, i))
            continue
        clip = out.tracks[track_index[b.track]][b.index]
        clip.media_reference = copy.deepcopy(old_clip.media_reference)
        clip.source_range = copy.deepcopy(old_clip.source_range)
        clip.metadata["conform"] = {**dict(old_clip.metadata["conform"]), "reused": True}
        reused += 1
        shift = b.record_in - a.record_in
        status: Any = "shifted" if shift else "unchanged"
        items.append(
            ItemChange(
                "conform",
                f"{b.track} {b.name}",
                status,
                a.record_in,
                a.record_out,
                b.record_in,
                b.record_out,
                shift,
                reason="match reused" if shift else "",
                track=b.track,
            )
        )
    lookups = 0
    results: list[EventResult] = []
    redo_events = _cut_events(new_cut, [b_ev[j] for j, _ in redo], track_index, rmap)
    redo = [(j, i) for (j, i), ev in zip(redo, redo_events, strict=True) if ev is not None]
    todo = [ev for ev in redo_events if ev is not None]
    if todo:
        idx = index() if callable(index) else index
        results = match_events(todo, idx, handles=handles, picture=picture_matcher())
        lookups = len(todo)
        if verify:
            verify_events(results)
        for ev, (j, i), r in zip(todo, redo, results, strict=True):
            if r.original is not None:
                _relink(out.tracks[ev.track][ev.item], r, rate.otio_rate)
            a = a_ev[i] if i is not None else None
            before = (
                old_clips.get((old_video.index(a.track), a.record_in, a.duration)) if a is not None else None
            )
            want = (
                min(handles, int((before.metadata.get("conform") or {}).get("handles", handles)))
                if before
                else handles
            )
            problems = [
                what
                for what, bad in (
                    ("no original holds it", r.original is None),
                    ("timecode break", r.tc_break),
                    ("frames differ from the offline", r.differs),
                    (f"handles now {r.handles} of {handles}", r.original is not None and r.handles < want),
                )
                if bad
            ]
            b = b_ev[j]
            name = f"{b.track} {b.name}"
            reason = ("matched again" if r.original is not None else "not matched") + (
                f" ({r.method})" if r.method else ""
            )
            if problems:
                reason += ": " + ", ".join(problems)
            end = ev.record_in + ev.duration
            if a is None:
                items.append(
                    ItemChange(
                        "conform",
                        name,
                        "added",
                        None,
                        None,
                        ev.record_in,
                        end,
                        None,
                        needs_human=True,
                        reason="new event " + reason,
                        track=b.track,
                    )
                )
            else:
                items.append(
                    ItemChange(
                        "conform",
                        name,
                        "updated",
                        a.record_in,
                        a.record_out,
                        ev.record_in,
                        end,
                        None,
                        needs_human=bool(problems),
                        reason=reason,
                        track=b.track,
                        events=rmap.span(a.record_in, a.record_out).events,
                    )
                )
    for i, a in enumerate(a_ev):
        if i not in back:
            items.append(
                ItemChange(
                    "conform",
                    f"{a.track} {a.name}",
                    "removed",
                    a.record_in,
                    a.record_out,
                    reason="not in the new cut",
                    track=a.track,
                )
            )
    meta = out.metadata.setdefault("conform", {})
    meta["conformed"] = True
    meta["reconformed_from"] = rmap.changes.old
    report = ConformReport(cut=rmap.changes.new, results=results, verified=verify and bool(results))
    stats = {"events": reused + len(redo), "reused": reused, "lookups": lookups}
    return out, items, stats, report


def reconform_conform_dir(
    conform_path: Path,
    finish_root: Path,
    old_cut: otio.schema.Timeline,
    new_cut: otio.schema.Timeline,
    rmap: RecordMap,
    out_dir: Path,
    *,
    originals: Sequence[str | Path] = (),
    handles: int = 8,
    verify: bool = True,
) -> DepartmentResult:
    """Reconform the old ``conform.otio`` into ``out_dir/conform.otio`` and ``conform_report.json``.

    The originals index is ``finish_root/originals.json`` (or a scan of ``originals``), read only when an
    event must be matched again."""
    result = DepartmentResult("conform")
    if not conform_path.is_file():
        result.skipped = f"no conform at {conform_path}"
        return result
    try:
        old_conform = otio.adapters.read_from_file(str(conform_path))
    except Exception as exc:  # OTIO raises many kinds
        result.skipped = f"cannot read {conform_path}: {exc}"
        return result

    def index() -> OriginalsIndex:
        if originals:
            return scan_originals(originals)
        return OriginalsIndex.load(finish_root / CACHE_NAME)

    timeline, items, stats, report = reconform_conform(
        old_conform, old_cut, new_cut, rmap, index, handles=handles, verify=verify
    )
    result.items, result.stats = items, stats
    target = out_dir / "conform.otio"
    with atomic_path(target) as tmp:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name="otio_json")
    doc = {
        "cut": rmap.changes.new,
        "reconformed_from": rmap.changes.old,
        **stats,
        "reused_events": [
            i.item for i in items if i.status in ("unchanged", "shifted") or "reused" in i.reason
        ],
        "matched_again": report.to_dict(),
    }
    atomic_write_text(out_dir / "conform_report.json", json.dumps(doc, indent=1) + "\n")
    result.outputs += [target, out_dir / "conform_report.json"]
    return result


# ------------------------------------------------------------------------------------------ VFX pulls


def _rows_csv(rows: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def reconform_pulls(
    old_rows: Sequence[dict[str, Any]],
    new_cut: otio.schema.Timeline,
    rmap: RecordMap,
    *,
    handles: int | None = None,
) -> tuple[list[dict[str, Any]], list[ItemChange]]:
    """The new pull list (rows of :class:`~posthouse.picture.turnover.VfxPull` fields plus ``status`` and
    ``reconform``), dropped shots last, and what happened to each shot (see the module docstring)."""
    rate = rmap.rate
    h = handles
    if h is None:
        found = [int(r["handles"]) for r in old_rows if str(r.get("handles", "")).strip().isdigit()]
        h = found[0] if found else DEFAULT_HANDLES
    new_rows = [asdict(p) for p in vfx_pulls(new_cut, rate, handles=h)]
    old_by = {str(r.get("shot")): r for r in old_rows}

    def f(tc: Any) -> int:
        return timecode_to_frames(str(tc), rate)

    rows: list[dict[str, Any]] = []
    items: list[ItemChange] = []
    seen: set[str] = set()
    for row in new_rows:
        shot = str(row["shot"])
        n_in, n_out = f(row["record_in"]) - rmap.new_start, f(row["record_out"]) - rmap.new_start
        old = old_by.get(shot)
        if old is None:
            status, reason, item = (
                "added",
                "new shot: pull plates",
                ItemChange(
                    "vfx",
                    shot,
                    "added",
                    None,
                    None,
                    n_in,
                    n_out,
                    needs_human=True,
                    reason="new shot: pull plates",
                ),
            )
        else:
            seen.add(shot)
            o_in, o_out = f(old["record_in"]) - rmap.old_start, f(old["record_out"]) - rmap.old_start
            same_src = (f(old["source_in"]), f(old["source_out"])) == (
                f(row["source_in"]),
                f(row["source_out"]),
            )
            shift = n_in - o_in
            sm = rmap.span(o_in, o_out)
            if same_src:
                status = "shifted" if shift else "unchanged"
                reason = f"moves {shift:+d} frames, plates unchanged" if shift else ""
                kind: Any = status
                item = ItemChange("vfx", shot, kind, o_in, o_out, n_in, n_out, shift, reason=reason)
            else:
                inside = f(old["pull_in"]) <= f(row["source_in"]) and f(row["source_out"]) <= f(
                    old["pull_out"]
                )
                status = "changed" if inside else "needs new pull"
                reason = f"source now {row['source_in']}–{row['source_out']}: " + (
                    "inside the pulled handles, tell the vendor the new range"
                    if inside
                    else f"outside the pull {old['pull_in']}–{old['pull_out']}: needs a new pull"
                )
                item = ItemChange(
                    "vfx",
                    shot,
                    "updated",
                    o_in,
                    o_out,
                    n_in,
                    n_out,
                    None,
                    needs_human=True,
                    reason=reason,
                    events=sm.events,
                )
        rows.append({**row, "status": status, "reconform": reason})
        items.append(item)
    for shot, old in old_by.items():
        if shot in seen:
            continue
        o_in, o_out = f(old["record_in"]) - rmap.old_start, f(old["record_out"]) - rmap.old_start
        reason = "dropped from the cut: tell the vendor"
        rows.append({**old, "status": "dropped", "reconform": reason})
        items.append(
            ItemChange(
                "vfx",
                shot,
                "removed",
                o_in,
                o_out,
                needs_human=True,
                reason=reason,
                events=rmap.span(o_in, o_out).events,
            )
        )
    return rows, items


def reconform_pulls_dir(
    pulls_path: Path,
    old_cut: otio.schema.Timeline,
    new_cut: otio.schema.Timeline,
    rmap: RecordMap,
    out_dir: Path,
) -> DepartmentResult:
    """Reconform the old turnover pull list (the old cut's VFX markers when there is none) into
    ``out_dir/vfx_pulls.json`` and ``.csv``."""
    from posthouse.finish.vfx import read_pull_list

    result = DepartmentResult("vfx")
    if pulls_path.is_file():
        old_rows: list[dict[str, Any]] = list(read_pull_list(pulls_path))
        source = str(pulls_path)
    else:
        old_rows = [asdict(p) for p in vfx_pulls(old_cut, rmap.rate)]
        source = "the old cut's VFX markers"
    try:
        rows, items = reconform_pulls(old_rows, new_cut, rmap)
    except (KeyError, ValueError, TypeError) as exc:
        raise ReconformError(f"not a usable VFX pull list: {exc!r}", path=pulls_path) from exc
    result.items = items
    result.stats = {"old_pull_list": source, "shots": len(rows)}
    if not rows:
        result.skipped = "no VFX shots in either cut"
        return result
    atomic_write_text(out_dir / "vfx_pulls.json", json.dumps(rows, indent=2) + "\n")
    atomic_write_text(out_dir / "vfx_pulls.csv", _rows_csv(rows))
    result.outputs += [out_dir / "vfx_pulls.json", out_dir / "vfx_pulls.csv"]
    return result


# ------------------------------------------------------------------------------------------ subtitles


def _snap(frames: Fraction, fps: Fraction) -> Fraction:
    """A time within a millisecond of a frame boundary (SRT and WebVTT keep milliseconds) on it."""
    whole = round(frames)
    return Fraction(whole) if abs(frames - whole) <= fps / 1000 else frames


def reconform_subtitles(
    track: SubtitleTrack, rmap: RecordMap, *, origin_s: Fraction = Fraction(0)
) -> tuple[SubtitleTrack, list[ItemChange]]:
    """The subtitles moved with the picture (times are seconds; ``origin_s`` is the time of record frame 0)
    and what happened to each (see the module docstring)."""
    fps = rmap.rate.fps
    cues = []
    items: list[ItemChange] = []
    for cue in track.cues:
        lo, hi = _snap((cue.start - origin_s) * fps, fps), _snap((cue.end - origin_s) * fps, fps)
        name = f"{track.language} #{cue.index} {cue.text.splitlines()[0][:40] if cue.text else ''}".rstrip()
        o_in, o_out = int(lo // 1), int(-(-hi // 1))
        sm = rmap.span(lo, hi)
        if sm.removed:
            items.append(
                ItemChange(
                    "subtitles",
                    name,
                    "removed",
                    o_in,
                    o_out,
                    reason="its picture was removed",
                    events=sm.events,
                )
            )
            continue
        if sm.shift is not None:
            s = sm.shift
            d = Fraction(s) / fps
            cues.append(replace(cue, start=cue.start + d, end=cue.end + d))
            status: Any = "shifted" if s else "unchanged"
            items.append(ItemChange("subtitles", name, status, o_in, o_out, o_in + s, o_out + s, s))
            continue
        kept = sm.kept
        first, last = kept[0], kept[-1]
        assert first.shift is not None and last.shift is not None
        start = (first.lo + first.shift) / fps + origin_s
        end = (last.hi + last.shift) / fps + origin_s
        if end <= start:
            end = start + Fraction(1) / fps
        cues.append(replace(cue, start=start, end=end))
        lost = sum((p.hi - p.lo for p in sm.pieces if not p.kept), Fraction(0))
        why = "crosses a changed cut" if len(kept) > 1 else "part of its picture was removed"
        if lost:
            why += f" ({float(lost):g} frames gone)"
        items.append(
            ItemChange(
                "subtitles",
                name,
                "updated",
                o_in,
                o_out,
                int(start * fps),
                int(end * fps),
                needs_human=True,
                reason=why + ": check timing and reading speed",
                events=sm.events,
            )
        )
    return replace(track, cues=tuple(cues)).renumbered(), items


def reconform_subtitles_dir(files: Sequence[Path], rmap: RecordMap, out_dir: Path) -> DepartmentResult:
    """Reconform each subtitle file into ``out_dir/subtitles/`` in its own format. Times count from
    record frame 0, or from the cut's start timecode when the first subtitle starts after it."""
    result = DepartmentResult("subtitles")
    if not files:
        result.skipped = "no subtitle files: give them, or put them in PROJECT/deliver/subtitles"
        return result
    rate = rmap.rate
    for path in files:
        track = read_subtitles(path, rate=rate)
        start_s = Fraction(rmap.old_start) / rate.fps
        origin = (
            start_s
            if track.cues and start_s > 0 and min(c.start for c in track.cues) >= start_s
            else Fraction(0)
        )
        new, items = reconform_subtitles(track, rmap, origin_s=origin)
        if origin:  # keep the file's clock: the new cut's start timecode
            delta = Fraction(rmap.new_start) / rate.fps - origin
            new = replace(
                new, cues=tuple(replace(c, start=c.start + delta, end=c.end + delta) for c in new.cues)
            )
        result.items += [replace(i, item=f"{path.name} {i.item}") for i in items]
        fmt = "vtt" if path.suffix.lower() == ".vtt" else "srt"
        result.outputs.append(write_subtitles(new, fmt, out_dir / "subtitles" / path.name))
    return result
