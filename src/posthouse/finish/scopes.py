"""Video scopes drawn with NumPy: waveform (luma and RGB parade), vectorscope, histogram; saved as PNG.

Frames are RGB ``(h, w, 3)``, uint8 (code values 0–255) or float (0–1). Every scope is an accumulation
(``np.bincount``) of pixels into a grid, shown with a log-like brightness so that a few pixels stay
visible next to millions. Levels use Rec.709 luma (0.2126, 0.7152, 0.0722) and Y'CbCr
(Cb = (B'−Y')/1.8556, Cr = (R'−Y')/1.5748). In a waveform level 0 is the bottom row and full scale the top
row; in the vectorscope Cb grows to the right and Cr upwards, with boxes at the 75 % colour-bar targets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError
from posthouse.core.fsutil import atomic_path
from posthouse.finish.cdl import LUMA_709

__all__ = [
    "BAR_TARGETS",
    "histogram",
    "save_png",
    "vectorscope",
    "vectorscope_position",
    "waveform",
    "write_scopes",
]

BAR_TARGETS: Final[dict[str, tuple[float, float, float]]] = {
    "red": (1.0, 0.0, 0.0),
    "yellow": (1.0, 1.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "blue": (0.0, 0.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
}
"""Primary and secondary colours; the graticule boxes sit at 75 % of them."""

_GRATICULE: Final = np.array([90, 90, 90], np.uint8)
_CHANNEL_COLOURS: Final = np.array([[255, 60, 60], [60, 255, 60], [80, 120, 255]], np.uint8)


def _float_rgb(img: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    a = np.asarray(img)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise UsageError(f"a scope needs an RGB frame (h, w, 3), got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float32) * np.float32(1.0 / 255.0)
    if a.dtype == np.uint16:
        return a.astype(np.float32) * np.float32(1.0 / 65535.0)
    return np.clip(a.astype(np.float32), 0.0, 1.0)


def _intensity(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """Counts → 0..255 brightness: any hit is visible, the busiest cells are white."""
    c = counts.astype(np.float32)
    top = float(c.max())
    if top <= 0:
        return np.zeros(c.shape, np.uint8)
    v = np.log1p(c) / np.log1p(top)
    v = np.where(c > 0, 0.25 + 0.75 * v, 0.0)
    out: npt.NDArray[np.uint8] = (v * 255.0 + 0.5).astype(np.uint8)
    return out


def _levels(values: npt.NDArray[np.float32], height: int) -> npt.NDArray[np.int64]:
    lv: npt.NDArray[np.int64] = np.rint(np.clip(values, 0.0, 1.0) * (height - 1)).astype(np.int64)
    return lv


def _trace(values: npt.NDArray[np.float32], width: int, height: int) -> npt.NDArray[np.int64]:
    """Counts ``(height, width)`` of a single-channel ``(h, w)`` waveform; row 0 = full scale."""
    h, w = values.shape
    if w < width:  # a narrow picture: repeat its columns so every scope column is drawn
        values = values[:, np.arange(width) * w // width]
        w = width
    col = (np.arange(w) * width // w).astype(np.int64)
    cols = np.broadcast_to(col, (h, w))
    rows = (height - 1) - _levels(values, height)
    counts = np.bincount((rows * width + cols).ravel(), minlength=height * width)
    return counts.reshape(height, width)


def _graticule_lines(img: npt.NDArray[np.uint8], height: int) -> None:
    for level in (0.0, 0.25, 0.5, 0.75, 1.0):  # five lines, not pixels
        row = (height - 1) - round(level * (height - 1))
        line = img[row]
        empty = line.max(axis=-1) == 0
        line[empty] = _GRATICULE


def waveform(
    img: npt.NDArray[Any], *, mode: str = "luma", width: int = 512, height: int = 256, graticule: bool = True
) -> npt.NDArray[np.uint8]:
    """A waveform monitor as an RGB ``(height, width, 3)`` uint8 image.

    ``mode="luma"``: Rec.709 Y' in white. ``mode="parade"``: R, G and B side by side in their colours
    (each a third of ``width``). Graticule lines at 0, 25, 50, 75 and 100 %.
    """
    rgb = _float_rgb(img)
    if mode == "luma":
        y = rgb @ np.asarray(LUMA_709, np.float32)
        inten = _intensity(_trace(y, width, height))
        out = np.repeat(inten[..., None], 3, axis=-1)
    elif mode == "parade":
        third = width // 3
        out = np.zeros((height, third * 3, 3), np.uint8)
        for c in range(3):  # three channels, each vectorised
            inten = _intensity(_trace(rgb[..., c], third, height)).astype(np.uint16)
            out[:, c * third : (c + 1) * third] = (inten[..., None] * _CHANNEL_COLOURS[c] // 255).astype(
                np.uint8
            )
    else:
        raise UsageError(f"unknown waveform mode {mode!r}", hint="luma or parade")
    if graticule:
        _graticule_lines(out, height)
    return out


def _cbcr(rgb: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    y = rgb @ np.asarray(LUMA_709, np.float32)
    return (rgb[..., 2] - y) / np.float32(1.8556), (rgb[..., 0] - y) / np.float32(1.5748)


def vectorscope_position(rgb: tuple[float, float, float], size: int = 512) -> tuple[int, int]:
    """Pixel ``(x, y)`` of an RGB colour (0–1) in a ``size``² vectorscope."""
    cb, cr = _cbcr(np.asarray([rgb], np.float32))
    x = int(np.rint((float(cb[0]) + 0.5) * (size - 1)))
    y = int(np.rint((0.5 - float(cr[0])) * (size - 1)))
    return x, y


def vectorscope(img: npt.NDArray[Any], *, size: int = 512, graticule: bool = True) -> npt.NDArray[np.uint8]:
    """A vectorscope (Cb right, Cr up) as an RGB ``(size, size, 3)`` uint8 image, with the outer circle
    and boxes at the 75 % colour-bar targets."""
    rgb = _float_rgb(img)
    cb, cr = _cbcr(rgb)
    xs = np.rint((np.clip(cb, -0.5, 0.5) + 0.5) * (size - 1)).astype(np.int64)
    ys = np.rint((0.5 - np.clip(cr, -0.5, 0.5)) * (size - 1)).astype(np.int64)
    counts = np.bincount((ys * size + xs).ravel(), minlength=size * size).reshape(size, size)
    out = np.repeat(_intensity(counts)[..., None], 3, axis=-1)
    if graticule:
        t = np.linspace(0, 2 * np.pi, 4 * size, endpoint=False)
        cx = np.rint((0.5 + 0.5 * np.cos(t)) * (size - 1)).astype(np.int64)
        cy = np.rint((0.5 + 0.5 * np.sin(t)) * (size - 1)).astype(np.int64)
        out[cy, cx] = np.maximum(out[cy, cx], _GRATICULE)
        mid = size // 2
        out[mid, :] = np.maximum(out[mid, :], _GRATICULE // 2)
        out[:, mid] = np.maximum(out[:, mid], _GRATICULE // 2)
        half = max(2, size // 64)
        for colour in BAR_TARGETS.values():  # six boxes
            x, y = vectorscope_position(tuple(0.75 * c for c in colour), size)  # type: ignore[arg-type]
            y0, y1, x0, x1 = (
                max(0, y - half),
                min(size - 1, y + half),
                max(0, x - half),
                min(size - 1, x + half),
            )
            for edge in (
                out[y0, x0 : x1 + 1],
                out[y1, x0 : x1 + 1],
                out[y0 : y1 + 1, x0],
                out[y0 : y1 + 1, x1],
            ):
                edge[:] = np.maximum(edge, np.array([200, 160, 40], np.uint8))
    return out


def histogram(img: npt.NDArray[Any], *, height: int = 200, bins: int = 256) -> npt.NDArray[np.uint8]:
    """Per-channel histograms (R, G, B added as primaries) as an RGB ``(height, bins, 3)`` image;
    column = code value bin, bar height = count relative to the fullest bin of any channel."""
    rgb = _float_rgb(img)
    idx = np.clip((rgb * bins).astype(np.int64), 0, bins - 1).reshape(-1, 3)
    counts = np.stack([np.bincount(idx[:, c], minlength=bins) for c in range(3)])  # (3, bins)
    top = max(1, int(counts.max()))
    heights = np.rint(counts / top * height).astype(np.int64)  # (3, bins)
    rows = np.arange(height)[:, None]  # row 0 = top
    out = np.zeros((height, bins, 3), np.uint16)
    for c in range(3):
        filled = rows >= (height - heights[c])[None, :]
        out[..., c] += filled.astype(np.uint16) * 255  # overlaps mix: R+G yellow, all three white
    return np.clip(out, 0, 255).astype(np.uint8)


def save_png(image: npt.NDArray[np.uint8], path: str | Path) -> Path:
    """Write an RGB/grey uint8 image as PNG (atomically)."""
    from PIL import Image

    p = Path(path)
    with atomic_path(p) as tmp:
        Image.fromarray(np.ascontiguousarray(image)).save(tmp, format="PNG")
    return p


def write_scopes(img: npt.NDArray[Any], out_dir: str | Path, stem: str = "frame") -> dict[str, Path]:
    """Write ``STEM_waveform.png``, ``STEM_parade.png``, ``STEM_vectorscope.png``, ``STEM_histogram.png``."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    return {
        "waveform": save_png(waveform(img), d / f"{stem}_waveform.png"),
        "parade": save_png(waveform(img, mode="parade"), d / f"{stem}_parade.png"),
        "vectorscope": save_png(vectorscope(img), d / f"{stem}_vectorscope.png"),
        "histogram": save_png(histogram(img), d / f"{stem}_histogram.png"),
    }
