"""Reconform speed: a one-trim re-cut carried over vs the same downstream steps run again from scratch.

Builds a synthetic project: a cut of ``--events`` picture events (24 fps, V1 + a linked production sound
track, a VFX marker on every tenth event), its sound session (the cut's sound plus two effects per event),
a music cue every ``--events-per-cue`` events hitting the cuts inside it (with its v1 tempo map), the
conform against an originals index, the VFX pull list, and a subtitle per event. Version 2 ripple-trims
one middle event by 6 frames.

- *full re-run*: the same downstream steps for v2 from scratch — sound session from the cut (and the
  effects placed again), every cue's tempo solved (tempo.json, click, MIDI), the whole cut conformed, the
  pull list made again;
- *reconform*: ``reconform(project, "film@1", "film@2")`` — every department updated, the report written.

Prints both times (best of ``--rounds``, per step) and the ratio, also without the effects placement
(the slowest step of the full run); exit 1 when the ratio is under ``--aim`` (10×)::

    .venv/bin/python bench/bench_reconform.py [--events 200] [--events-per-cue 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from posthouse.core.time import Rate
from posthouse.finish.conform import conform, write_conform
from posthouse.finish.originals import OriginalRecord, OriginalsIndex
from posthouse.finish.subtitle_formats import write_subtitles
from posthouse.finish.subtitles import Cue, SubtitleTrack
from posthouse.picture import edit as E
from posthouse.picture.cuts import CutStore
from posthouse.picture.turnover import vfx_pulls
from posthouse.pipeline.reconform import reconform
from posthouse.score.cues import HitPoint, MusicCue
from posthouse.score.spotting import CueList, save_cues
from posthouse.score.tempo import solve_cue, solve_cues
from posthouse.sound.session import (
    add_track,
    free_track,
    place_clip,
    save_session,
    session_from_cut,
    wav_clip,
)

FPS = 24
RATE = Rate(24)


def _clip(n: int, kind: str, dur: int) -> otio.schema.Clip:
    rate, scale = (FPS, 1) if kind == "V" else (48000, 2000)
    ref = otio.schema.ExternalReference(
        target_url=f"file:///media/C{n:04d}.{'mov' if kind == 'V' else 'wav'}",
        available_range=TimeRange(RationalTime(0, rate), RationalTime(10_000 * scale, rate)),
    )
    c = otio.schema.Clip(
        name=f"C{n:04d}",
        media_reference=ref,
        source_range=TimeRange(RationalTime(1000 * scale, rate), RationalTime(dur * scale, rate)),
    )
    c.metadata["posthouse"] = {"link": f"C{n:04d}", "reel": f"C{n:04d}"}
    if kind == "V" and n % 10 == 5:
        c.markers.append(
            otio.schema.Marker(name=f"VFX SH{n:04d}", marked_range=TimeRange(RationalTime(1001, FPS)))
        )
    return c


def build_cut(events: int) -> tuple[otio.schema.Timeline, list[int]]:
    tl = otio.schema.Timeline(name="film")
    tl.global_start_time = RationalTime(86400, FPS)
    v, a = (otio.schema.Track(name=n, kind=k) for n, k in (("V1", "Video"), ("A1", "Audio")))
    durs = [48 + (n * 37) % 73 for n in range(events)]
    for n, d in enumerate(durs):
        v.append(_clip(n, "V", d))
        a.append(_clip(n, "A", d))
    tl.tracks.extend([v, a])
    return tl, durs


def effects(session: otio.schema.Timeline, durs: list[int]) -> None:
    """Two effects per event (the sound editor's work the full re-run must place again)."""
    add_track(session, "effects")
    pos = 0
    for n, d in enumerate(durs):
        for k, at in enumerate((pos + 3, pos + d // 2)):
            clip = wav_clip(
                f"/sfx/fx{n % 50}_{k}.wav", name=f"fx{n}_{k}", frames=10, rate=RATE, source_start=17
            )
            place_clip(free_track(session, "effects", at, at + 10), clip, at, RATE)
        pos += d


def build_cues(durs: list[int], per_cue: int) -> CueList:
    starts = [0]
    for d in durs:
        starts.append(starts[-1] + d)
    cues = []
    for k, first in enumerate(range(0, len(durs) - per_cue, per_cue)):
        lo, hi = starts[first] + 4, starts[first + per_cue] - 4
        # hits at the cuts inside the cue (as a composer catches them), the odd ones on any beat
        cuts = [starts[e] for e in range(first + 1, first + per_cue) if lo < starts[e] < hi]
        hits = tuple(
            HitPoint(f, "downbeat" if q % 2 == 0 else "beat", f"cut {q}") for q, f in enumerate(cuts)
        )
        cues.append(MusicCue(f"1M{k + 1}", lo, hi, hits))
    return CueList(cues, RATE, 86400, title="film")


def originals(events: int) -> OriginalsIndex:
    return OriginalsIndex(
        [
            OriginalRecord(
                f"/originals/C{n:04d}.mov", f"C{n:04d}", f"C{n:04d}", 0, 10_000, Fraction(FPS), 64, 36
            )
            for n in range(events)
        ]
    )


def make_project(root: Path, events: int, per_cue: int) -> tuple[otio.schema.Timeline, list[int], CueList]:
    store = CutStore(root / "cuts")
    cut, durs = build_cut(events)
    store.save("film", cut)
    new, _ = E.ripple_trim(cut, "V1", events // 2, tail=-6)
    store.save("film", new)
    tag = "film_v001"
    session = session_from_cut(cut)
    effects(session, durs)
    save_session(session, root / "sound" / tag / "session.otio")
    cues = build_cues(durs, per_cue)
    (root / "score" / tag).mkdir(parents=True)
    save_cues(cues, root / "score" / tag / "cues.json")
    for cue in cues.cues:  # the v1 tempo maps (the reconform carries them over)
        solve_cue(cue, RATE, cut_start=86400).write_json(root / "score" / tag / cue.cue_id / "tempo.json")
    index = originals(events)
    index.save(root / "finish" / "originals.json")
    conformed, report = conform(cut, index, verify=False, picture=False)
    write_conform(conformed, report, root / "finish" / tag / "conform.otio", None)
    import json

    (root / "turnovers" / tag).mkdir(parents=True)
    pulls = [asdict(p) for p in vfx_pulls(cut, RATE)]
    (root / "turnovers" / tag / f"{tag}_vfx_pulls.json").write_text(json.dumps(pulls))
    pos, subs = 0, []
    for n, d in enumerate(durs):
        subs.append(Cue(n + 1, Fraction(pos + 2, FPS), Fraction(pos + d - 2, FPS), (f"Line {n}.",)))
        pos += d
    write_subtitles(
        SubtitleTrack("en", tuple(subs), RATE), "srt", root / "deliver" / "subtitles" / "film.srt"
    )
    return new, durs, cues


def full_rerun(
    root: Path, new: otio.schema.Timeline, durs: list[int], cues: CueList, out: Path
) -> dict[str, float]:
    """The downstream steps for v2 from scratch; seconds per step."""
    import json

    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    trimmed = list(durs)
    trimmed[len(durs) // 2] -= 6
    session = session_from_cut(new)
    steps["sound session from the cut"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    effects(session, trimmed)
    save_session(session, out / "session.otio")
    steps["effects placed again, session saved"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    solve_cues(cues.cues, RATE, out / "score", cut_start=86400)
    steps["solve every cue"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = OriginalsIndex.load(root / "finish" / "originals.json")
    conformed, report = conform(new, index, verify=False, picture=False)
    write_conform(conformed, report, out / "conform.otio", out / "conform_report.json")
    steps["conform"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pulls = [asdict(p) for p in vfx_pulls(new, RATE)]
    (out / "vfx_pulls.json").write_text(json.dumps(pulls))
    steps["pull list"] = time.perf_counter() - t0
    return steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--events-per-cue", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--aim", type=float, default=10.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_reconform_"))
    try:
        root = tmp / "film"
        new, durs, cues = make_project(root, args.events, args.events_per_cue)
        # warm-up (imports, caches), untimed
        reconform(root, "film@1", "film@2", out_dir=tmp / "warm", verify=False)
        full, rec = [], []
        report = None
        best_steps: dict[str, float] = {}
        for k in range(args.rounds):
            out = tmp / f"full{k}"
            t0 = time.perf_counter()
            steps = full_rerun(root, new, durs, cues, out)
            full.append(time.perf_counter() - t0)
            if full[-1] == min(full):
                best_steps = steps
            t0 = time.perf_counter()
            run = reconform(root, "film@1", "film@2", out_dir=tmp / f"rec{k}", verify=False)
            rec.append(time.perf_counter() - t0)
            if rec[-1] == min(rec):
                report = run
        assert report is not None
        ratio = min(full) / min(rec)
        what = f"{args.events} events, {len(cues.cues)} cues"
        print(f"{what}, one event trimmed by 6 frames (best of {args.rounds})")
        print(f"{'run':<44}{'time':>10}")
        print(f"{'full re-run (session + effects, solve all, conform, pulls)':<44}{min(full):>9.3f}s")
        for name, sec in best_steps.items():
            print(f"  {name:<42}{sec:>8.3f}s")
        print(f"{'reconform (all five departments + report)':<44}{min(rec):>9.3f}s")
        for name, d in report.departments.items():
            print(f"  {name:<12}{d.seconds:>8.3f}s  {d.counts()}  {d.stats if name != 'vfx' else ''}")
        touched = sorted((i.department, i.item) for i in report.touched)
        print(f"touched items: {len(touched)}: {touched}")
        lean = min(full) - best_steps.get("effects placed again, session saved", 0.0)
        print(f"ratio: {ratio:.1f}x (aim ≥ {args.aim:g}x); without the effects step: {lean / min(rec):.1f}x")
        return 0 if ratio >= args.aim else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
