"""How much the dialogue cleanup helped, measured against the demo shoot's clean dialogue.

The demo shoot keeps every take's clean dialogue (``shoot/truth/TAKE_dialogue.wav``, all characters
summed, found through ``ground_truth.json`` by the clip's sound file name). :func:`measure_improvement`
renders the production track as cut and the cleaned layout through the engine and scores both against it
(SNR and segmental SNR, gain fitted by least squares), per cut clip and weighted by length.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio

from posthouse.core.errors import UsageError
from posthouse.engine.plan import clip_media_path
from posthouse.sound.cleanup import segmental_snr, snr_db
from posthouse.sound.mic_choice import (
    _ROLE_ALT,
    _ROLE_CHOSEN,
    _ROLE_RAW,
    _record_samples,
    _role,
    _walk,
)
from posthouse.sound.session import posthouse_meta, session_rate

__all__ = ["Improvement", "TakeImprovement", "measure_improvement"]


# ------------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class TakeImprovement:
    """SNR of one cut clip against the shoot's clean dialogue, before (as cut) and after cleanup."""

    take: str
    clip: str
    record_in: int
    record_out: int
    snr_before_db: float
    snr_after_db: float
    segsnr_before_db: float
    segsnr_after_db: float


@dataclass(frozen=True)
class Improvement:
    """Measured improvement over every cut clip that has ground truth (gain fitted by least squares)."""

    takes: tuple[TakeImprovement, ...]
    snr_before_db: float
    snr_after_db: float
    segsnr_before_db: float
    segsnr_after_db: float
    before_track: str
    after_tracks: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    # every raw and cleaned alternate track alone over the same clips: what cleanup does per mic
    per_track: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------ public


def measure_improvement(
    session: otio.schema.Timeline, shoot_dir: str | Path, *, sample_rate: int = 48_000
) -> Improvement:
    """SNR and segmental SNR of the dialogue against the demo shoot's clean dialogue, per cut clip:
    before = the first production track as cut (``DX RAW 1``), after = the cleaned layout (``DX1``…);
    ``per_track`` scores each raw track and each cleaned alternate alone over the same clips.

    Both are rendered by the engine, so this also checks that the cleaned clips play in sync. The
    reference is the shoot's ``truth/TAKE_dialogue.wav`` (all characters summed), found through
    ``ground_truth.json`` by the clip's sound file name.
    """
    from posthouse.engine import plan_timeline
    from posthouse.engine.audio import iter_mix_blocks

    shoot = Path(shoot_dir)
    gt_path = shoot / "ground_truth.json"
    try:
        truth = json.loads(gt_path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the shoot's ground truth: {exc}", path=gt_path) from exc
    by_file = {
        Path(t["sound_file"]).name: (name, shoot / t["dialogue"]["file"])
        for name, t in truth.get("takes", {}).items()
        if "dialogue" in t
    }
    tracks = list(session.tracks)
    raw = [t for t in tracks if _role(t) == _ROLE_RAW]
    chosen = [t for t in tracks if _role(t) == _ROLE_CHOSEN]
    if not raw or not chosen:
        raise UsageError(
            f"session {session.name!r} has no cleaned dialogue layout", hint="run posthouse sound clean first"
        )
    before = raw[0]
    ref_track = copy.deepcopy(before)
    ref_track.name = "TRUTH"
    skipped: list[str] = []
    for clip in ref_track.find_clips():
        path = clip_media_path(clip)
        hit = by_file.get(path.name) if path is not None else None
        if hit is None or not hit[1].exists():
            skipped.append(f"{clip.name}: no ground truth for {path.name if path else 'it'}")
            clip.media_reference = otio.schema.MissingReference()
            continue
        ref = clip.media_reference
        ref.target_url = hit[1].resolve().as_uri()
        posthouse_meta(clip).pop("channel", None)
    others = [t for t in tracks if _role(t) == _ROLE_ALT] + raw[1:]
    probe = otio.schema.Timeline(name="measure", global_start_time=session.global_start_time)
    for t in [ref_track, before, *chosen, *others]:
        probe.tracks.append(copy.deepcopy(t))
    plan = plan_timeline(probe)
    audio = np.concatenate(list(iter_mix_blocks(plan, sample_rate=sample_rate, per_track=True)), axis=1)
    ref, bef = audio[0], audio[1]
    aft = audio[2 : 2 + len(chosen)].sum(axis=0)
    rate = session_rate(session)
    takes: list[TakeImprovement] = []
    spans: list[tuple[int, int]] = []
    for clip, ri, ro in _walk(before, rate):
        path = clip_media_path(clip)
        hit = by_file.get(path.name) if path is not None else None
        if hit is None or not hit[1].exists():
            continue
        a, b = _record_samples(ri, rate, sample_rate), _record_samples(ro, rate, sample_rate)
        if not np.any(ref[a:b]):
            skipped.append(f"{clip.name}: the ground truth is silent there")
            continue
        spans.append((a, b))
        takes.append(
            TakeImprovement(
                take=hit[0],
                clip=clip.name,
                record_in=ri,
                record_out=ro,
                snr_before_db=round(snr_db(bef[a:b], ref[a:b]), 2),
                snr_after_db=round(snr_db(aft[a:b], ref[a:b]), 2),
                segsnr_before_db=round(segmental_snr(bef[a:b], ref[a:b], sample_rate), 2),
                segsnr_after_db=round(segmental_snr(aft[a:b], ref[a:b], sample_rate), 2),
            )
        )
    if not spans:
        raise UsageError("no cut clip has ground truth in this shoot", path=gt_path)
    weights = np.array([b - a for a, b in spans], np.float64)

    def mean(values: list[float]) -> float:
        v = np.array(values)
        ok = np.isfinite(v)
        return round(float(np.average(v[ok], weights=weights[ok])), 2) if np.any(ok) else float("nan")

    per_track: dict[str, dict[str, float]] = {}
    for k, t in enumerate([before, *others]):
        sig = audio[1] if k == 0 else audio[2 + len(chosen) + k - 1]
        per_track[t.name] = {
            "snr_db": mean([snr_db(sig[a:b], ref[a:b]) for a, b in spans]),
            "segsnr_db": mean([segmental_snr(sig[a:b], ref[a:b], sample_rate) for a, b in spans]),
        }
    return Improvement(
        takes=tuple(takes),
        snr_before_db=mean([t.snr_before_db for t in takes]),
        snr_after_db=mean([t.snr_after_db for t in takes]),
        segsnr_before_db=mean([t.segsnr_before_db for t in takes]),
        segsnr_after_db=mean([t.segsnr_after_db for t in takes]),
        before_track=before.name,
        after_tracks=tuple(t.name for t in chosen),
        skipped=tuple(skipped),
        per_track=per_track,
    )
