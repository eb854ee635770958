"""Panning into the 5.1 bus (L R C LFE Ls Rs, SMPTE/ITU order) and the Lo/Ro stereo downmix.

Positions for a mono source: a speaker name (``L``, ``R``, ``C``, ``Ls``, ``Rs``), ``LR`` (phantom centre
between L and R at -3 dB each), ``surround`` (L R Ls Rs at -6 dB each, for ambiences), or a number from -1
(left) to 1 (right), panned with the constant-power (sine) law across L-R. A stereo source goes L→L, R→R,
or with ``surround`` also to Ls/Rs at -3 dB.

The Lo/Ro downmix follows ITU-R BS.775: Lo = L + 0.707 C + 0.707 Ls, Ro = R + 0.707 C + 0.707 Rs, LFE
dropped.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError

__all__ = ["CHANNELS_51", "DEFAULT_PAN", "LORO", "pan_matrix"]

CHANNELS_51: Final = ("L", "R", "C", "LFE", "Ls", "Rs")
_IDX: Final = {name.lower(): i for i, name in enumerate(CHANNELS_51)}
_M3DB: Final = 1.0 / math.sqrt(2.0)

DEFAULT_PAN: Final = {
    "dialogue": "C",
    "music": "LR",
    "effects": "LR",
    "foley": "C",
    "backgrounds": "surround",
}
"""Where a track goes when it says nothing: dialogue and Foley centre, ambiences all around."""

LORO: Final = np.array(
    [
        [1.0, 0.0, _M3DB, 0.0, _M3DB, 0.0],
        [0.0, 1.0, _M3DB, 0.0, 0.0, _M3DB],
    ],
    dtype=np.float32,
)
"""(2, 6) matrix: 5.1 → Lo/Ro."""


def _mono(position: str | float) -> npt.NDArray[np.float32]:
    g = np.zeros(6, np.float32)
    if isinstance(position, int | float) and not isinstance(position, bool):
        p = min(1.0, max(-1.0, float(position)))
        theta = (p + 1.0) * math.pi / 4.0
        g[0], g[1] = math.cos(theta), math.sin(theta)
        return g
    key = str(position).strip().lower()
    if key in _IDX and key != "lfe":
        g[_IDX[key]] = 1.0
    elif key in ("lr", "phantom"):
        g[0] = g[1] = _M3DB
    elif key == "surround":
        g[[0, 1, 4, 5]] = 0.5
    else:
        raise UsageError(
            f"unknown pan position {position!r}",
            hint="use L, R, C, Ls, Rs, LR, surround, or a number from -1 to 1",
        )
    return g


def pan_matrix(position: str | float, source_channels: int) -> npt.NDArray[np.float32]:
    """The ``(6, source_channels)`` gains that put a mono or stereo source into the 5.1 bus."""
    if source_channels == 1:
        return _mono(position)[:, np.newaxis]
    if source_channels != 2:
        raise UsageError(f"a track must be mono or stereo, not {source_channels} channels")
    m = np.zeros((6, 2), np.float32)
    m[0, 0] = m[1, 1] = 1.0
    if str(position).strip().lower() == "surround":
        m[0, 0] = m[1, 1] = _M3DB
        m[4, 0] = m[5, 1] = _M3DB
    elif str(position).strip().lower() not in ("lr", "stereo", "phantom", "c"):
        # a stereo source panned somewhere: fold to mono and pan it
        m = np.repeat(_mono(position)[:, np.newaxis] * 0.5, 2, axis=1)
    return m
