"""A small text painter for burn-ins and slates: glyphs drawn once by Pillow, composed with NumPy.

Each character is rendered once per size into an 8-bit coverage mask; a string is the horizontal
concatenation of its glyph masks, blended onto the frame over a dimmed box with integer arithmetic.
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

__all__ = ["TextPainter", "load_font", "painter"]

_FONTS: Final = ("DejaVuSansMono-Bold.ttf", "DejaVuSansMono.ttf", "LiberationMono-Bold.ttf")

FontT = ImageFont.FreeTypeFont | ImageFont.ImageFont


def load_font(size: int, names: tuple[str, ...] = _FONTS) -> FontT:
    """The first of ``names`` that Pillow can load at ``size`` pixels, else Pillow's built-in font."""
    for name in names:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


class TextPainter:
    """Draws single-line text of one pixel size; glyph masks are cached per character."""

    def __init__(self, size: int) -> None:
        self.size = max(6, size)
        self._font = load_font(self.size)
        ascent, descent = (
            self._font.getmetrics() if isinstance(self._font, ImageFont.FreeTypeFont) else (size, 0)
        )
        self.height = int(ascent + descent)
        self._glyphs: dict[str, npt.NDArray[np.uint8]] = {}

    def _glyph(self, char: str) -> npt.NDArray[np.uint8]:
        mask = self._glyphs.get(char)
        if mask is None:
            width = max(1, round(self._font.getlength(char)))
            image = Image.new("L", (width, self.height), 0)
            ImageDraw.Draw(image).text((0, 0), char, font=self._font, fill=255)
            mask = np.asarray(image, dtype=np.uint8)
            self._glyphs[char] = mask
        return mask

    def mask(self, text: str) -> npt.NDArray[np.uint8]:
        """Coverage mask ``(height, width)`` of ``text`` (0 = none, 255 = full)."""
        if not text:
            return np.zeros((self.height, 1), np.uint8)
        return np.concatenate([self._glyph(c) for c in text], axis=1)

    def width(self, text: str) -> int:
        """Width in pixels of ``text``."""
        return sum(int(self._glyph(c).shape[1]) for c in text)

    def draw(
        self,
        frame: npt.NDArray[np.uint8],
        text: str,
        x: int,
        y: int,
        *,
        color: tuple[int, int, int] = (255, 255, 255),
        box: bool = True,
    ) -> None:
        """Draw ``text`` with its top-left at (x, y) in place, clipped to the frame, over a dimmed box."""
        mask = self.mask(text)
        pad = max(2, self.size // 6)
        fh, fw = frame.shape[:2]
        h, w = mask.shape
        bx0, by0, bx1, by1 = x - pad, y - pad, x + w + pad, y + h + pad
        cx0, cy0, cx1, cy1 = max(bx0, 0), max(by0, 0), min(bx1, fw), min(by1, fh)
        if cx0 >= cx1 or cy0 >= cy1:
            return
        region = frame[cy0:cy1, cx0:cx1]
        if box:
            region[...] = (region.astype(np.uint16) * 90 >> 8).astype(np.uint8)
        full = np.zeros((by1 - by0, bx1 - bx0), np.uint16)
        full[pad : pad + h, pad : pad + w] = mask
        a = full[cy0 - by0 : cy1 - by0, cx0 - bx0 : cx1 - bx0, None]
        a = a + (a >> 7)  # 0..255 -> 0..256
        col = np.asarray(color, np.uint16)
        region[...] = ((region.astype(np.uint16) * (256 - a) + col * a) >> 8).astype(np.uint8)


@functools.lru_cache(maxsize=8)
def painter(size: int) -> TextPainter:
    """A shared :class:`TextPainter` for ``size`` px."""
    return TextPainter(size)
