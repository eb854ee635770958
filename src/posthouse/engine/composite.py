"""Layers with alpha and the ``over`` operator; still images and image sequences read with OpenImageIO.

A :class:`Layer` is one track's picture at one record frame: opaque uint8 RGB (``alpha is None``, the
fast path every plain camera clip takes), or premultiplied float32 RGB (0..255) with a float32 alpha
(0..1). Sources with *straight* alpha (ProRes 4444, PNG, TIFF, QuickTime RGBA) are premultiplied on
the way in; EXR is premultiplied already (a clip's ``metadata["posthouse"]["alpha"]`` =
``"straight"``/``"premultiplied"`` overrides the guess). Opacity scales colour and alpha together;
fades to black scale colour only. Layers composite bottom up with ``out = top + (1 - a) * below`` and
round once to 8 bits at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import DamagedMediaError, MediaError
from posthouse.engine.plan import TransitionSpan
from posthouse.engine.video import blend_transition, letterbox

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageReader",
    "Layer",
    "blend_frames",
    "composite",
    "fade_level",
    "transition_layers",
]

IMAGE_EXTENSIONS: Final = frozenset({".png", ".tif", ".tiff", ".exr", ".dpx", ".jpg", ".jpeg", ".tga"})
"""File suffixes read as still images (one file held for the whole clip) with OpenImageIO."""

Frame = npt.NDArray[np.uint8]
Alpha = npt.NDArray[np.float32]
Float = npt.NDArray[np.float32]


@dataclass(slots=True)
class Layer:
    """A picture with optional alpha: uint8 RGB when opaque, premultiplied float32 RGB otherwise."""

    rgb: Frame | Float
    alpha: Alpha | None = None

    @classmethod
    def from_straight(cls, rgb: Frame, alpha: Alpha | None, *, premultiplied: bool = False) -> Layer:
        """A layer from RGB and alpha as decoded (``premultiplied`` says how the colour is stored)."""
        if alpha is None:
            return cls(rgb)
        colour = rgb.astype(np.float32)
        if not premultiplied:
            colour *= alpha[..., None]
        return cls(colour, alpha)

    @property
    def opaque(self) -> bool:
        """True when it hides everything below it."""
        return self.alpha is None

    def premultiplied(self) -> tuple[Float, Alpha]:
        """Premultiplied float32 colour and alpha (alpha 1 for an opaque layer)."""
        if self.alpha is None:
            h, w = self.rgb.shape[:2]
            return self.rgb.astype(np.float32), np.ones((h, w), np.float32)
        return self.rgb.astype(np.float32, copy=False), self.alpha

    def scaled(self, level: float) -> Layer:
        """Colour times ``level`` (a fade to black), alpha kept."""
        if level >= 1.0:
            return self
        if self.alpha is None:
            rgb = self.rgb.astype(np.float32) * np.float32(level)
            return Layer(np.rint(rgb).astype(np.uint8))
        return Layer(self.rgb * np.float32(level), self.alpha)

    def with_opacity(self, opacity: float) -> Layer:
        """Colour and alpha times ``opacity`` (the layer turns see-through)."""
        if opacity >= 1.0:
            return self
        rgb, alpha = self.premultiplied()
        o = np.float32(max(opacity, 0.0))
        return Layer(rgb * o, alpha * o)


def fade_level(k_in: int, fade_in: int, k_out: int, fade_out: int) -> float:
    """Picture level of a clip frame ``k_in`` frames after its start and ``k_out`` before its last one:
    ``k/N`` over an N-frame fade (the first frame of a fade in, the last of a fade out, are black)."""
    level = 1.0
    if fade_in > 0 and k_in < fade_in:
        level = min(level, max(k_in, 0) / fade_in)
    if fade_out > 0 and k_out < fade_out:
        level = min(level, max(k_out, 0) / fade_out)
    return level


def transition_layers(a: Layer, b: Layer, span: TransitionSpan, record: int) -> Layer:
    """Frame ``record`` of a transition from ``a`` to ``b``; layers with alpha mix premultiplied."""
    if a.opaque and b.opaque:
        return Layer(blend_transition(a.rgb, b.rgb, span, record))  # type: ignore[arg-type]
    t = (record - span.start + 0.5) / span.duration
    if span.kind == "dip_to_black":
        return a.scaled(max(1.0 - 2.0 * t, 0.0)) if t < 0.5 else b.scaled(max(2.0 * t - 1.0, 0.0))
    ca, aa = a.premultiplied()
    cb, ab = b.premultiplied()
    if span.kind == "wipe":
        edge = round(t * ca.shape[1])
        colour, alpha = ca.copy(), aa.copy()
        colour[:, :edge] = cb[:, :edge]
        alpha[:, :edge] = ab[:, :edge]
        return Layer(colour, alpha)
    tf = np.float32(t)
    return Layer(ca * (1 - tf) + cb * tf, aa * (1 - tf) + ab * tf)


def composite(layers: list[Layer], size: tuple[int, int]) -> Frame:
    """Layers (top first) composited over black; the first opaque layer hides those after it."""
    stack: list[Layer] = []
    for layer in layers:
        stack.append(layer)
        if layer.opaque:
            break
    if not stack:
        w, h = size
        return np.zeros((h, w, 3), np.uint8)
    if len(stack) == 1 and stack[0].opaque:
        return stack[0].rgb  # type: ignore[return-value]
    bottom = stack.pop()
    out = bottom.rgb.astype(np.float32, copy=True)
    for layer in reversed(stack):
        colour, alpha = layer.premultiplied()
        out *= (1 - alpha)[..., None]
        out += colour
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class ImageReader:
    """Still images or an image sequence (PNG, TIFF, EXR, DPX, JPEG) decoded with OpenImageIO at the
    output size, letterboxed; alpha kept when the file has one, colour as stored (``premultiplied``
    tells which: PNG and unassociated TIFF are straight, EXR and associated TIFF premultiplied). Float
    images are clipped to 0..1 and shown as display values (no colour management here)."""

    def __init__(self, paths: tuple[Path, ...], size: tuple[int, int]) -> None:
        if not paths:
            raise MediaError("image sequence without images")
        self.paths, self.size = paths, size
        self.past_end = False
        self._index = -1
        self._frame: tuple[Frame, Alpha | None] | None = None
        self.premultiplied = False  # how the last image read stores colour (PNG straight, EXR not)

    def get_rgba(self, index: int) -> tuple[Frame, Alpha | None]:
        """Image ``index`` of the sequence (held at the ends): RGB uint8 and alpha as stored."""
        if index >= len(self.paths):
            self.past_end = True
        index = min(max(index, 0), len(self.paths) - 1)
        if index != self._index or self._frame is None:
            self._frame = self._read(self.paths[index])
            self._index = index
        return self._frame

    def _read(self, path: Path) -> tuple[Frame, Alpha | None]:
        import OpenImageIO as oiio

        config = oiio.ImageSpec()
        config.attribute("oiio:UnassociatedAlpha", 1)  # colour as stored, not premultiplied on read
        buf = oiio.ImageBuf(str(path), 0, 0, config)
        if buf.has_error:
            raise (MediaError if not path.exists() else DamagedMediaError)(
                f"cannot read image: {buf.geterror()}", path=path
            )
        spec = buf.spec()
        self.premultiplied = spec.get_int_attribute("oiio:UnassociatedAlpha", 0) != 1
        nch = int(spec.nchannels)
        alpha_ch = int(spec.alpha_channel)
        if nch < 3:  # grey (+ alpha): spread to RGB
            chans = (0, 0, 0) + ((alpha_ch,) if alpha_ch >= 0 else ())
        else:
            chans = (0, 1, 2) + ((alpha_ch,) if alpha_ch >= 3 else ())
        buf = oiio.ImageBufAlgo.channels(buf, chans)
        w, h = self.size
        sw, sh = int(spec.width), int(spec.height)
        scale = min(w / sw, h / sh)
        fw, fh = min(w, max(1, round(sw * scale))), min(h, max(1, round(sh * scale)))
        if (fw, fh) != (sw, sh):
            buf = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, fw, 0, fh, 0, 1, 0, len(chans)))
        pixels = buf.get_pixels(oiio.FLOAT)
        if pixels is None or buf.has_error:
            raise DamagedMediaError(f"cannot decode image: {buf.geterror()}", path=path)
        data = np.clip(np.rint(np.asarray(pixels, np.float32).reshape(fh, fw, -1) * 255), 0, 255)
        return letterbox(data.astype(np.uint8), self.size)

    def close(self) -> None:
        """Nothing to release (kept for the reader protocol)."""
        self._frame = None


def blend_frames(
    a: Frame, alpha_a: Alpha | None, b: Frame, alpha_b: Alpha | None, frac: float
) -> tuple[Frame, Alpha | None]:
    """``(1 - frac)·a + frac·b`` of two decoded frames (and their alphas), rounded back to uint8."""
    f = np.float32(frac)
    mixed = a.astype(np.float32) * (1 - f)
    mixed += b.astype(np.float32) * f
    rgb = np.rint(mixed).astype(np.uint8)
    if alpha_a is None and alpha_b is None:
        return rgb, None
    h, w = a.shape[:2]
    one = np.ones((h, w), np.float32)
    aa = alpha_a if alpha_a is not None else one
    ab = alpha_b if alpha_b is not None else one
    return rgb, aa * (1 - f) + ab * f
