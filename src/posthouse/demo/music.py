"""A stand-in music cue for the demo mix: a soft stereo pad over a four-chord progression.

Until the scoring department renders real cues, the demo's music stem needs something musical and
stereo to mix against the dialogue. NumPy only; a minute of it takes well under a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from posthouse.core.media.bwf import Bext, IXml, write_bwf

__all__ = ["music_cue", "write_music_cue"]

_CHORDS = (  # MIDI notes: Am, F, C, G
    (57, 60, 64, 69),
    (53, 57, 60, 65),
    (48, 55, 60, 64),
    (55, 59, 62, 67),
)


def _hz(note: int) -> float:
    return float(440.0 * 2.0 ** ((note - 69) / 12.0))


def music_cue(seconds: float, sample_rate: int = 48_000, *, bpm: float = 72.0) -> npt.NDArray[np.float32]:
    """``(2, n)`` float32: two bars per chord at ``bpm`` in 4/4, peaks around -12 dBFS."""
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    chord_s = 8 * 60.0 / bpm
    out = np.zeros((2, n))
    for k in range(int(np.ceil(seconds / chord_s))):
        a, b = round(k * chord_s * sample_rate), min(n, round((k + 1) * chord_s * sample_rate))
        if a >= n:
            break
        seg = t[a:b] - t[a]
        span = seg[-1] if seg.size else 1.0
        env = np.minimum(1.0, seg / 1.5) * np.minimum(1.0, (span - seg) / 1.0 + 0.05)
        for i, note in enumerate(_CHORDS[k % len(_CHORDS)]):
            f = _hz(note)
            for side, detune in ((0, -0.15), (1, 0.15)):  # a little detune either side: width
                ph = 2 * np.pi * (f + detune * (1 + i)) * seg
                out[side, a:b] += env * (np.sin(ph) + 0.3 * np.sin(2 * ph) + 0.1 * np.sin(3 * ph))
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 2.0) if n else np.zeros(0)
    out *= fade
    peak = float(np.abs(out).max()) if n else 1.0
    return (out * (0.25 / max(peak, 1e-9))).astype(np.float32)


def write_music_cue(path: str | Path, seconds: float, sample_rate: int = 48_000) -> Path:
    """Write :func:`music_cue` as a 24-bit stereo BWF (TimeReference 0)."""
    audio = music_cue(seconds, sample_rate)
    return write_bwf(
        path,
        audio,
        sample_rate,
        bext=Bext(description="posthouse demo music cue 1M1 (stand-in pad)"),
        ixml=IXml(project="POSTHOUSE DEMO", note="1M1 stand-in", track_names=("L", "R")),
    )
