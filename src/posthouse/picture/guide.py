"""The production-dialogue guide track of a cut: one mono BWF, timecode-stamped at the cut's start.

Sound editors and the ADR stage line up against it. It is the boom where the cut has boom tracks
(``metadata["posthouse"]["track_name"] == "BOOM"``), else an equal mix of every sound track.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import opentimelineio as otio

from posthouse.core.media.bwf import Bext, BwfWriter, IXml
from posthouse.core.time import Rate, RateLike, frames_to_samples
from posthouse.engine import iter_timeline_audio

__all__ = ["write_guide_track"]


def _weights(timeline: otio.schema.Timeline) -> np.ndarray:
    tracks = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio]
    boom = [
        any(
            str((c.metadata.get("posthouse") or {}).get("track_name") or "").upper().startswith("BOOM")
            for c in t.find_clips()
        )
        for t in tracks
    ]
    if any(boom):
        return np.array([1.0 if b else 0.0 for b in boom], np.float32)
    return np.full(len(tracks), 1.0 / max(len(tracks), 1), np.float32)


def write_guide_track(
    timeline: otio.schema.Timeline, path: str | Path, *, rate: RateLike, sample_rate: int = 48000
) -> Path:
    """Write the cut's production-dialogue guide track (mono, 24-bit) with its record start as bext time."""
    r = Rate.parse(rate)
    start = timeline.global_start_time
    start_frames = round(start.rescaled_to(float(r.fps)).value) if start is not None else 0
    tref = frames_to_samples(start_frames, r, sample_rate)
    weights = _weights(timeline)
    bext = Bext(description=f"guide track: {timeline.name}", originator="posthouse", time_reference=tref)
    ixml = IXml(
        project=timeline.name, note="production dialogue guide", track_names=("GUIDE",), timecode_rate=r.fps
    )
    with BwfWriter(path, 1, sample_rate, bext=bext, ixml=ixml) as writer:
        if len(weights):
            for block in iter_timeline_audio(timeline, sample_rate=sample_rate, per_track=True):
                mono = np.clip(weights @ block, -1.0, 1.0)[None, :]
                writer.write(mono.astype(np.float32))
    return Path(path)
