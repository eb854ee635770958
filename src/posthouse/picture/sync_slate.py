"""Slate sync: the frame where the sticks close (a white flash) and the clap in the production sound.

Only the first seconds of picture are decoded (as grey, subsampled) and only a window of the sound is
read. The flash is a single frame whose mean luma jumps close to white and falls back; the clap is the
sharpest broadband attack, found on a high-passed energy envelope in 1 ms hops and then placed on the
first sample of its rise. The pairing is frame-accurate at best: the flash marks the frame during which
the sticks closed, not the instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

__all__ = ["Clap", "Flash", "find_clap", "find_flash", "flash_in_lumas"]

_WHITE: Final = 0.8  # a flash frame's mean luma, as a fraction of full scale, at least
_JUMP: Final = 0.3  # ... and its rise over the frame before
_ONSET_HP_HZ: Final = 2000.0
_ONSET_JUMP_DB: Final = 15.0


@dataclass(frozen=True, slots=True)
class Flash:
    """The flash frame (index from the clip's first frame) and its contrast over its neighbours (0..1)."""

    frame: int
    contrast: float


@dataclass(frozen=True, slots=True)
class Clap:
    """The clap's first sample, its attack in dB over the 30 ms before, and its level (dBFS, high band)."""

    sample: int
    jump_db: float
    level_db: float


def flash_in_lumas(lumas: Iterable[float]) -> Flash | None:
    """The first flash in a sequence of mean lumas (0..1): near white, well above the frame before and
    the frames a little after (a flash, not a cut to a bright shot)."""
    y = np.asarray(list(lumas), np.float64)
    for i in np.flatnonzero(y >= _WHITE):
        before = y[i - 1] if i > 0 else 0.0
        after = y[i + 1 : i + 4]
        if y[i] - before < _JUMP:
            continue
        if after.size and np.min(after) > y[i] - _JUMP:
            continue
        neighbours = max(before, float(np.min(after)) if after.size else before)
        return Flash(int(i), float(y[i] - neighbours))
    return None


def find_flash(path: str | Path, rate: Fraction, *, seconds: float = 10.0) -> Flash | None:
    """Find the slate's flash frame in the first ``seconds`` of a clip (decoded as grey, streamed)."""
    from posthouse.core.media import iter_video_frames

    count = max(1, round(seconds * rate))
    lumas: list[float] = []
    for _, gray in iter_video_frames(path, format="gray", count=count):
        lumas.append(float(np.mean(gray[::4, ::4])) / 255.0)
        if len(lumas) >= 5 and (found := flash_in_lumas(lumas[:-3])) is not None:
            return found
    return flash_in_lumas(lumas)


def _onsets(
    x: npt.NDArray[np.float32], rate: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    """Per 1 ms hop: energy jump over the preceding 30 ms (dB) and level (dBFS) of the high band."""
    hop = max(1, rate // 1000)
    sos = sps.butter(4, _ONSET_HP_HZ, btype="highpass", fs=rate, output="sos")
    hp = sps.sosfiltfilt(sos, np.asarray(x, np.float64)) if x.size > 64 else np.asarray(x, np.float64)
    frames = hp[: hp.size - hp.size % hop].reshape(-1, hop)
    energy = np.mean(frames**2, axis=1) + 1e-14
    c = np.concatenate(([0.0], np.cumsum(energy)))
    k = np.arange(energy.size)
    lo, hi = np.maximum(k - 32, 0), np.maximum(k - 2, 0)
    before = np.where(hi > lo, (c[hi] - c[lo]) / np.maximum(hi - lo, 1), energy)
    return 10 * np.log10(energy / before), 10 * np.log10(energy), hop


def find_clap(
    x: npt.NDArray[np.float32], rate: int, *, strongest: bool = True, skip_s: float = 0.005
) -> Clap | None:
    """The clap in mono sound ``x``: the loudest sharp attack (``strongest``), or the first attack within
    6 dB of the loudest one. ``None`` when nothing rises ``15 dB`` above what went before."""
    if x.size < rate // 50:
        return None
    jump, level, hop = _onsets(x, rate)
    skip = int(skip_s * 1000)
    jump[:skip] = -np.inf
    candidates = np.flatnonzero(jump >= _ONSET_JUMP_DB)
    if candidates.size == 0:
        return None
    loudness = level[candidates]
    if strongest:
        pick = int(candidates[np.argmax(loudness)])
    else:
        pick = int(candidates[np.flatnonzero(loudness >= np.max(loudness) - 6.0)[0]])
    strength, loud = float(jump[pick]), float(level[pick])
    # Back to the first hop of this attack, then to the first sample reaching a fifth of its peak.
    while pick > 0 and jump[pick - 1] >= _ONSET_JUMP_DB:
        pick -= 1
    a, b = max(0, (pick - 1) * hop), min(x.size, (pick + 3) * hop)
    seg = np.abs(np.asarray(x[a:b], np.float64))
    peak = int(np.argmax(seg))
    rise = np.flatnonzero(seg[: peak + 1] >= 0.2 * seg[peak])
    return Clap(a + int(rise[0]), strength, loud)
