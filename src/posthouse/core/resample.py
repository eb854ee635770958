"""Band-limited reading of sound at fractional sample positions (clock drift, sub-sample shifts).

One windowed-sinc interpolator for the whole house: the demo shoot uses it to simulate a drifting
recorder clock, the dailies to undo that drift when laying production sound under picture.
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["TAPS", "read_at"]

TAPS: Final = 16  # half-length of the kernel: 32 input samples weigh each output sample
_PHASES: Final = 4096  # fractional positions tabulated (1/4096 sample)
_CUTOFF: Final = 0.95  # of Nyquist: a little headroom against aliasing
_BETA: Final = 9.0  # Kaiser window
_CHUNK: Final = 1 << 18  # output samples per vectorised step, to bound memory


@functools.lru_cache(maxsize=1)
def _table() -> npt.NDArray[np.float32]:
    """``table[j, p]``: weight of input ``floor(pos) + j - TAPS + 1`` when ``pos`` has fraction p/_PHASES."""
    frac = np.arange(_PHASES + 1) / _PHASES
    k = np.arange(-TAPS + 1, TAPS + 1)[:, None]
    u = k - frac[None, :]
    window = np.i0(_BETA * np.sqrt(np.clip(1.0 - (u / TAPS) ** 2, 0.0, 1.0))) / np.i0(_BETA)
    table = _CUTOFF * np.sinc(_CUTOFF * u) * window
    table /= table.sum(axis=0, keepdims=True)  # unity gain at DC for every phase
    return table.astype(np.float32)


def read_at(source: npt.NDArray[np.floating], positions: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """``source`` (``(channels, n)`` or ``(n,)``) read at fractional ``positions``; silence outside it.

    Integer positions return the samples themselves (up to the kernel's DC normalisation); positions
    must be increasing for the memory bound to hold. Vectorised over samples, looping over the 32 taps.
    """
    src = np.asarray(source, dtype=np.float32)
    flat = src.reshape(-1, src.shape[-1])
    channels, available = flat.shape
    pos = np.asarray(positions, dtype=np.float64)
    out = np.zeros((channels, pos.size), np.float32)
    table = _table()
    for a in range(0, pos.size, _CHUNK):
        p = pos[a : a + _CHUNK]
        base = np.floor(p).astype(np.int64)
        phase = np.rint((p - base) * _PHASES).astype(np.intp)
        lo = int(base.min()) - TAPS + 1
        hi = int(base.max()) + TAPS + 1
        window = np.zeros((channels, hi - lo), np.float32)
        s, e = max(lo, 0), min(hi, available)
        if s < e:
            window[:, s - lo : e - lo] = flat[:, s:e]
        index = (base - lo - TAPS + 1).astype(np.intp)  # window column of tap 0
        acc = out[:, a : a + p.size]
        for j in range(2 * TAPS):
            acc += window[:, index + j] * table[j][phase]
    return out.reshape((*src.shape[:-1], pos.size))
