"""Shot matching: a CDL that balances a shot to a reference shot, computed in the working log space.

Both frames go into ACEScct (the grading space, see :mod:`posthouse.finish.grading`). There a CDL's slope
and offset are a per-channel gain and lift of log values, i.e. exposure and balance. Per channel we match
robust statistics — the median and the spread between the 10th and 90th percentiles — so highlights and
specular clipping do not steer the match; then saturation matches the median chroma distance from Rec.709
luma. Power stays 1.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError
from posthouse.finish.cdl import LUMA_709, Cdl, apply_cdl
from posthouse.finish.grading import DEFAULT_CONFIG, DEFAULT_INPUT, GradePipeline

__all__ = ["match_shot", "to_working"]

_LO: Final = 10.0
_HI: Final = 90.0
_MAX_PIXELS: Final = 1 << 18


def _as_float(img: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    a = np.asarray(img)
    if a.ndim < 2 or a.shape[-1] != 3:
        raise UsageError(f"expected an RGB image (..., 3), got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255.0)
    if a.dtype == np.uint16:
        return a.astype(np.float32) / np.float32(65535.0)
    return a.astype(np.float32)


def _subsample(a: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    flat = a.reshape(-1, 3)
    step = max(1, flat.shape[0] // _MAX_PIXELS)
    return flat[::step]


def to_working(
    img: npt.NDArray[Any], input_space: str = DEFAULT_INPUT, config: str = DEFAULT_CONFIG
) -> npt.NDArray[np.float32]:
    """Pixels (uint8/uint16/float RGB in ``input_space``) in ACEScct, as ``(n, 3)`` (subsampled to ≤256 k)."""
    px = _subsample(_as_float(img))
    if input_space == "ACEScct":
        return px.copy()
    return GradePipeline(input_space=input_space, output="working", config=config).apply(px)


def match_shot(
    shot: npt.NDArray[Any],
    reference: npt.NDArray[Any],
    *,
    input_space: str = DEFAULT_INPUT,
    config: str = DEFAULT_CONFIG,
    saturation: bool = True,
    cdl_id: str = "",
) -> Cdl:
    """The CDL (applied in ACEScct) that makes ``shot``'s per-channel statistics match ``reference``'s.

    Frames are RGB arrays in ``input_space`` (uint8, uint16 or float). Slope = reference spread / shot
    spread (10th–90th percentile), offset aligns the medians, saturation (when asked) aligns the median
    chroma distance. A flat shot (no spread in a channel) keeps slope 1 there and only shifts.
    """
    s = to_working(shot, input_space, config)
    r = to_working(reference, input_space, config)
    s_lo, s_med, s_hi = np.percentile(s, [_LO, 50.0, _HI], axis=0)
    r_lo, r_med, r_hi = np.percentile(r, [_LO, 50.0, _HI], axis=0)
    s_spread, r_spread = s_hi - s_lo, r_hi - r_lo
    slope = np.where(s_spread > 1e-4, r_spread / np.maximum(s_spread, 1e-4), 1.0)
    slope = np.clip(slope, 0.1, 10.0)
    offset = r_med - slope * s_med
    cdl = Cdl(cdl_id, tuple(float(x) for x in slope), tuple(float(x) for x in offset))  # type: ignore[arg-type]
    if saturation:
        luma = np.asarray(LUMA_709, dtype=np.float32)
        graded = apply_cdl(s, cdl, clamp=True)

        def chroma(a: npt.NDArray[np.float32]) -> float:
            return float(np.median(np.linalg.norm(a - (a @ luma)[:, None], axis=1)))

        cs, cr = chroma(graded), chroma(r)
        if cs > 1e-5:
            sat = float(np.clip(cr / cs, 0.0, 4.0))
            cdl = Cdl(cdl_id, cdl.slope, cdl.offset, cdl.power, sat, "matched")
    return Cdl(cdl_id, cdl.slope, cdl.offset, cdl.power, cdl.saturation, "matched").rounded()
