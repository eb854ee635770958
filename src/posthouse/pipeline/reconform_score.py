"""Reconform of the music cues: remap each cue's start, end and hits along the record map.

- A cue whose span only moved (a ripple, or inside the kept part of a trimmed or moved event) shifts
  whole, start, end and hits — *shifted*; its tempo map still fits.
- A cue across a change keeps the kept parts of its span: its start and end follow the picture under
  them. A hit whose picture moved relative to the cue start is flagged and the cue's tempo is solved again
  with :func:`posthouse.score.tempo.solve_cue` (every hit within ``tolerance`` frames, one by default); a
  hit on removed picture is dropped and flagged; a changed length is flagged (the music must be edited).
- A cue entirely on removed picture is *removed*.

The other cues' tempo maps (``CUE/tempo.json`` of the old version) are carried over, measured against
their hits at the new place, without solving.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from posthouse.core.errors import UsageError
from posthouse.pipeline.reconform import DepartmentResult, ItemChange, ReconformError, RecordMap
from posthouse.score.cues import HitPoint, MusicCue
from posthouse.score.spotting import CueList, load_cues, write_cue_list
from posthouse.score.tempo import TempoSolution, evaluate_hits, solve_cue
from posthouse.score.tempomap import TempoMap

__all__ = ["reconform_cues", "reconform_score_dir"]


def _hit_name(h: HitPoint) -> str:
    return h.label or f"{h.kind} hit"


def reconform_cues(
    cues: CueList, rmap: RecordMap, *, resolve: bool = True, tolerance: float = 1.0, **solve_options: Any
) -> tuple[CueList, list[ItemChange], dict[str, TempoSolution]]:
    """The cue list on the new cut, what happened to each cue, and the tempo solutions of the cues solved
    again (see the module docstring). ``solve_options`` go to :func:`~posthouse.score.tempo.solve_cue`."""
    if cues.rate != rmap.rate:
        raise ReconformError(f"the cue list runs at {cues.rate} fps, the cut at {rmap.rate} fps")
    out: list[MusicCue] = []
    items: list[ItemChange] = []
    solutions: dict[str, TempoSolution] = {}
    for cue in cues.cues:
        sm = rmap.span(cue.start, cue.end)
        if sm.removed:
            items.append(
                ItemChange(
                    "score",
                    cue.cue_id,
                    "removed",
                    cue.start,
                    cue.end,
                    needs_human=True,
                    reason="its picture was removed: drop the cue or re-spot it",
                    events=sm.events,
                )
            )
            continue
        if sm.shift is not None:
            s = sm.shift
            moved = replace(
                cue,
                start=cue.start + s,
                end=cue.end + s,
                hits=tuple(replace(h, frame=h.frame + s) for h in cue.hits),
            )
            out.append(moved)
            status: Any = "shifted" if s else "unchanged"
            items.append(
                ItemChange("score", cue.cue_id, status, cue.start, cue.end, moved.start, moved.end, s)
            )
            continue
        new_cue, item, sol = _remap(cue, sm, rmap, resolve, tolerance, solve_options)
        if new_cue is not None:
            out.append(new_cue)
        if sol is not None:
            solutions[cue.cue_id] = sol
        items.append(item)
    out.sort(key=lambda c: (c.start, c.cue_id))
    new_list = CueList(out, cues.rate, rmap.new_start, cues.drop, cues.title, list(cues.warnings))
    return new_list, items, solutions


def _remap(
    cue: MusicCue,
    sm: Any,
    rmap: RecordMap,
    resolve: bool,
    tolerance: float,
    solve_options: dict[str, Any],
) -> tuple[MusicCue | None, ItemChange, TempoSolution | None]:
    kept = sm.kept
    start = min(int(p.lo) + p.shift for p in kept)
    end = max(int(-(-p.hi // 1)) + p.shift for p in kept)
    head = rmap.segment_at(cue.start)
    ref = head.shift if head.shift is not None else kept[0].shift
    notes: list[str] = []
    hits: list[HitPoint] = []
    moved: list[str] = []
    for h in cue.hits:
        seg = rmap.segment_at(h.frame)
        if seg.shift is None:
            notes.append(f"hit {_hit_name(h)!r} dropped: its picture was removed")
            continue
        frame = h.frame + seg.shift
        if not start <= frame < end:
            notes.append(f"hit {_hit_name(h)!r} dropped: now outside the cue")
            continue
        if seg.shift != ref:
            moved.append(f"{_hit_name(h)!r} {seg.shift - ref:+d}")
        hits.append(replace(h, frame=frame))
    hits.sort(key=lambda h: h.frame)
    length = (end - start) - cue.duration
    if head.shift is None:
        notes.append("its start was removed: it now starts with the first kept picture")
    if length:
        notes.append(
            f"{abs(length)} frames {'longer' if length > 0 else 'shorter'}: the music must be edited"
        )
    new_cue = replace(cue, start=start, end=end, hits=tuple(hits))
    sol: TempoSolution | None = None
    if moved:
        notes.insert(0, "hits moved against the cue start: " + ", ".join(moved) + " frames")
        if resolve and any(h.kind != "any" for h in hits):
            try:
                sol = solve_cue(
                    new_cue, rmap.rate, cut_start=rmap.new_start, tolerance=tolerance, **solve_options
                )
            except UsageError as exc:
                notes.append(f"cannot re-solve: {exc.message}")
            if sol is not None:
                bpm = ", ".join(f"{c.bpm:g}" for c in sol.tempo_map.changes)
                worst = max((abs(h.error_frames) for h in sol.hits if h.kind != "any"), default=0.0)
                meter = "/".join(str(x) for x in sol.tempo_map.meter)
                text = f"re-solved: {meter} at {bpm} bpm, worst hit {worst:.2f} frames"
                if sol.misses:
                    text += f", {len(sol.misses)} hit(s) missed"
                notes.append(text)
    item = ItemChange(
        "score",
        cue.cue_id,
        "updated",
        cue.start,
        cue.end,
        start,
        end,
        None,
        needs_human=True,
        reason="; ".join(notes) or "crosses a picture change",
        events=sm.events,
    )
    return new_cue, item, sol


def reconform_score_dir(
    cues_path: Path, rmap: RecordMap, out_dir: Path, *, resolve: bool = True, tolerance: float = 1.0
) -> DepartmentResult:
    """Reconform the old ``cues.json`` into ``out_dir/score/`` (cue list CSV/HTML/JSON; per re-solved cue
    ``CUE/tempo.json``, ``click.wav``, ``tempo.mid``; per other cue with an old ``tempo.json``, that map
    measured at the cue's new place); skipped when there is no cue list."""
    from posthouse.score.click import write_click, write_midi

    result = DepartmentResult("score")
    if not cues_path.is_file():
        result.skipped = f"no cue list at {cues_path}"
        return result
    cues = load_cues(cues_path)
    new, items, solutions = reconform_cues(cues, rmap, resolve=resolve, tolerance=tolerance)
    result.items = items
    folder = out_dir / "score"
    result.outputs += list(write_cue_list(new, folder))
    by_id = {c.cue_id: c for c in new.cues}
    rate = rmap.rate
    for cue_id, sol in solutions.items():
        cue = by_id[cue_id]
        seconds = cue.duration / float(rate.fps)
        result.outputs.append(sol.write_json(folder / cue_id / "tempo.json"))
        write_click(
            folder / cue_id / "click.wav",
            sol.tempo_map,
            seconds,
            rate=rate,
            cue_start_tc=rmap.new_start + cue.start,
            description=f"{cue.cue_id} {cue.title}".strip(),
        )
        write_midi(
            folder / cue_id / "tempo.mid",
            sol.tempo_map,
            seconds,
            rate=rate,
            cue_start_tc=rmap.new_start + cue.start,
            markers=sol.markers(),
            name=f"{cue.cue_id} tempo map",
        )
        result.outputs += [folder / cue_id / "click.wav", folder / cue_id / "tempo.mid"]
    carried = _carry_tempo_maps(
        cues_path.parent, folder, [c for c in new.cues if c.cue_id not in solutions], rmap
    )
    result.outputs += carried
    result.stats = {
        "cues": len(cues.cues),
        "resolved": sorted(solutions),
        "solver_calls": len(solutions),
        "tempo_maps_carried": len(carried),
    }
    return result


def _carry_tempo_maps(old_dir: Path, new_dir: Path, cues: list[MusicCue], rmap: RecordMap) -> list[Path]:
    """For cues not solved again: the old ``CUE/tempo.json`` map measured against the cue's new hits and
    start (no solving; the map is relative to the cue start, so it still fits)."""
    out: list[Path] = []
    for cue in cues:
        src = old_dir / cue.cue_id / "tempo.json"
        if not src.is_file():
            continue
        try:
            doc = json.loads(src.read_text(encoding="utf-8"))
            tmap = TempoMap.from_dict(doc)
            tolerance = float(doc.get("tolerance_frames", 1.0))
        except (OSError, ValueError, TypeError, KeyError, UsageError):
            continue  # an unreadable map is simply not carried (the cue keeps its old folder)
        hits = evaluate_hits(
            tmap, cue.hits, rmap.rate, cue_start=cue.start, tolerance=tolerance, cut_start=rmap.new_start
        )
        sol = TempoSolution(tmap, hits, rmap.rate, cue.start, tolerance)
        out.append(sol.write_json(new_dir / cue.cue_id / "tempo.json"))
    return out
