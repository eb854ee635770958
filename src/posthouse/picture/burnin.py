"""Burn-ins for dailies, drawn with Pillow once and composed per frame with NumPy.

FFmpeg's ``drawtext`` is not in PyAV's build, and drawing text with Pillow on every frame is slow, so:

- the running timecodes use a **glyph atlas**: ``0123456789:;-`` (and space) rendered once, each in a
  fixed-width cell on the semi-opaque box; a label is a row of cells picked by NumPy indexing;
- the static text (scene/take with the circled marker, camera and clip, UNSYNCED/CONFLICT flags, the
  ``TC``/``SND`` captions) is rendered once per take into RGBA patches;
- every patch is kept as premultiplied colour and ``256 - alpha`` in ``uint16`` and blended into the
  frame's small region with integer arithmetic (``(dst·(256-a) + src·a) >> 8``).

Layout (margins and text size scale with the picture height, legible from 640x360 to 4K)::

    SC 1A  (TK 2)                           CAM A  A001C001
                 UNSYNCED · SCRATCH AUDIO
    TC 08:29:29:11                       SND 08:29:30:12
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

__all__ = ["GLYPHS", "BurnIn", "BurnInText", "GlyphAtlas", "load_font"]

GLYPHS: Final = "0123456789:;- "
"""Characters the timecode atlas holds; anything else is drawn as ``-``."""

_FONT_FILES: Final = ("DejaVuSansMono-Bold.ttf", "DejaVuSansMono.ttf", "LiberationMono-Bold.ttf")
_BOX_ALPHA: Final = 0.6
_TEXT: Final = (255, 255, 255)
_CIRCLE: Final = (255, 200, 40)
_FLAG_BOXES: Final = {"warn": ((190, 20, 20), 0.85), "note": ((200, 130, 0), 0.85)}

FontT = ImageFont.FreeTypeFont | ImageFont.ImageFont


def load_font(size: int) -> FontT:
    """A bold monospaced TrueType font at ``size`` px (DejaVu Sans Mono), else Pillow's built-in font."""
    for name in _FONT_FILES:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


@dataclass(slots=True)
class _Patch:
    """A pre-rendered RGBA overlay: premultiplied colour and inverse alpha, both uint16 on a 256 scale."""

    y: int
    x: int
    inv: npt.NDArray[np.uint16]  # (h, w, 1): 256 - alpha
    pre: npt.NDArray[np.uint16]  # (h, w, 3): colour * alpha

    @classmethod
    def from_rgba(cls, rgba: npt.NDArray[np.uint8], y: int = 0, x: int = 0) -> _Patch:
        a = rgba[..., 3:4].astype(np.uint16)
        a = a + (a >> 7)  # 0..255 -> 0..256 so that opaque really is opaque
        return cls(y, x, (256 - a).astype(np.uint16), (rgba[..., :3].astype(np.uint16) * a).astype(np.uint16))

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.inv.shape[0]), int(self.inv.shape[1])


def _blend(
    frame: npt.NDArray[np.uint8], y: int, x: int, inv: npt.NDArray[np.uint16], pre: npt.NDArray[np.uint16]
) -> None:
    """Blend an overlay into ``frame`` at (y, x) in place, clipped to the frame."""
    fh, fw = frame.shape[:2]
    h, w = inv.shape[:2]
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + h, fh), min(x + w, fw)
    if y0 >= y1 or x0 >= x1:
        return
    sy, sx = slice(y0 - y, y1 - y), slice(x0 - x, x1 - x)
    region = frame[y0:y1, x0:x1]
    mixed = region * inv[sy, sx] + pre[sy, sx]  # <= 255*256: fits uint16
    region[...] = (mixed >> 8).astype(np.uint8)


def _box_rgba(width: int, height: int, color: tuple[int, int, int], alpha: float) -> Image.Image:
    return Image.new("RGBA", (width, height), (*color, round(255 * alpha)))


class GlyphAtlas:
    """The timecode characters rendered once on the box, one fixed-width cell each."""

    def __init__(self, font: FontT, *, pad_y: int, chars: str = GLYPHS) -> None:
        ascent, descent = font.getmetrics()  # type: ignore[union-attr]
        self.chars = chars
        self.cell_h = int(ascent + descent + 2 * pad_y)
        self.cell_w = int(np.ceil(max(font.getlength(c) for c in chars)))
        n = len(chars)
        rgba = np.zeros((n, self.cell_h, self.cell_w, 4), np.uint8)
        masks = np.zeros((n, self.cell_h, self.cell_w), bool)
        for i, c in enumerate(chars):
            box = _box_rgba(self.cell_w, self.cell_h, (0, 0, 0), _BOX_ALPHA)
            glyph = Image.new("L", (self.cell_w, self.cell_h), 0)
            x = (self.cell_w - font.getlength(c)) / 2
            ImageDraw.Draw(glyph).text((x, pad_y), c, font=font, fill=255)
            box.paste(Image.new("RGBA", box.size, (*_TEXT, 255)), (0, 0), glyph)
            rgba[i] = np.asarray(box)
            masks[i] = np.asarray(glyph) >= 128
        patch = _Patch.from_rgba(rgba.reshape(n * self.cell_h, self.cell_w, 4))
        self._inv = patch.inv.reshape(n, self.cell_h, self.cell_w, 1)
        self._pre = patch.pre.reshape(n, self.cell_h, self.cell_w, 3)
        self.masks = masks
        self._index = np.full(128, chars.index("-") if "-" in chars else 0, np.intp)
        for i, c in enumerate(chars):
            self._index[ord(c)] = i

    def indices(self, label: str) -> npt.NDArray[np.intp]:
        """Atlas cell index of every character of ``label``."""
        codes = np.frombuffer(label.encode("ascii", "replace"), np.uint8)
        return self._index[np.minimum(codes, 127)]

    def compose(self, label: str) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]:
        """The ``(inv, pre)`` overlay of ``label``: its cells side by side."""
        idx = self.indices(label)
        n = len(idx)
        inv = self._inv[idx].transpose(1, 0, 2, 3).reshape(self.cell_h, n * self.cell_w, 1)
        pre = self._pre[idx].transpose(1, 0, 2, 3).reshape(self.cell_h, n * self.cell_w, 3)
        return inv, pre


@dataclass(frozen=True, slots=True)
class BurnInText:
    """The static text of a take's burn-in."""

    scene: str | None = None
    take: str | None = None
    camera: str | None = None
    clip: str | None = None
    circled: bool = False
    flags: tuple[str, ...] = ()
    """Warnings burned in red in the top centre (``UNSYNCED · SCRATCH AUDIO``, ``CONFLICT``)."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Quieter notes in amber under the flags."""
    source_caption: str = "TC"
    sound_caption: str = "SND"


_TcKind = Literal["source", "sound"]


class BurnIn:
    """Everything burned into one take's frames; :meth:`apply` draws a frame in place.

    ``tc_length`` is the number of characters of the timecode labels (``HH:MM:SS:FF`` = 11).
    """

    def __init__(
        self, width: int, height: int, text: BurnInText, *, sound_tc: bool = True, tc_length: int = 11
    ) -> None:
        self.width, self.height, self.text = width, height, text
        self.font_px = max(12, round(height * 0.042))
        font = load_font(self.font_px)
        self.margin = max(4, round(height * 0.025))
        pad_y = max(2, self.font_px // 6)
        self.pad_x = max(3, self.font_px // 3)
        self.atlas = GlyphAtlas(font, pad_y=pad_y)
        self._font, self._pad_y = font, pad_y
        self.tc_length = tc_length
        row_h = self.atlas.cell_h
        m = self.margin
        self.patches: list[_Patch] = []
        self.flag_boxes: list[tuple[int, int, int, int]] = []  # (y0, y1, x0, x1) of each flag
        # top row: scene/take (circled marker), camera/clip
        left = self._text_patch(self._slate_text(), circle=text.circled)
        self._place(left, m, m)
        cam = " ".join(x for x in (f"CAM {text.camera}" if text.camera else "", text.clip or "") if x)
        if cam:
            right = self._text_patch(cam)
            self._place(right, m, width - m - right.shape[1])
        # flags and notes, centred under the top row
        y = m + row_h + max(2, m // 2)
        for line, style in [*((f, "warn") for f in text.flags), *((n, "note") for n in text.notes)]:
            color, alpha = _FLAG_BOXES[style]
            patch = self._text_patch(line, box=color, alpha=alpha)
            x = (width - patch.shape[1]) // 2
            self._place(patch, y, x)
            if style == "warn":
                self.flag_boxes.append((y, y + patch.shape[0], x, x + patch.shape[1]))
            y += patch.shape[0] + max(2, m // 3)
        # bottom row: running timecodes; caption patch + digit cells + a right pad
        y_tc = height - m - row_h
        digits_w = tc_length * self.atlas.cell_w
        self._tc_at: dict[_TcKind, tuple[int, int]] = {}
        cap = self._text_patch(f"{text.source_caption} ", pad_right=0)
        self._place(cap, y_tc, m)
        self._tc_at["source"] = (y_tc, m + cap.shape[1])
        self._place(self._pad_patch(), y_tc, m + cap.shape[1] + digits_w)
        if sound_tc:
            cap = self._text_patch(f"{text.sound_caption} ", pad_right=0)
            x_end = width - m - self.pad_x
            x_digits = x_end - digits_w
            self._place(cap, y_tc, x_digits - cap.shape[1])
            self._tc_at["sound"] = (y_tc, x_digits)
            self._place(self._pad_patch(), y_tc, x_end)

    # ------------------------------------------------------------------------------ static rendering

    def _slate_text(self) -> str:
        t = self.text
        parts = [f"SC {t.scene}" if t.scene else "", f"TK {t.take}" if t.take else ""]
        return "  ".join(p for p in parts if p) or "-"

    def _place(self, patch: _Patch, y: int, x: int) -> None:
        patch.y, patch.x = y, x
        self.patches.append(patch)

    def _pad_patch(self) -> _Patch:
        return _Patch.from_rgba(np.asarray(_box_rgba(self.pad_x, self.atlas.cell_h, (0, 0, 0), _BOX_ALPHA)))

    def _text_patch(
        self,
        line: str,
        *,
        circle: bool = False,
        box: tuple[int, int, int] = (0, 0, 0),
        alpha: float = _BOX_ALPHA,
        pad_right: int | None = None,
    ) -> _Patch:
        font, pad_x = self._font, self.pad_x
        right = pad_x if pad_right is None else pad_right
        extra = self.font_px if circle else 0  # room for the ring round the take number
        w = int(np.ceil(font.getlength(line))) + pad_x + right + extra
        img = _box_rgba(w, self.atlas.cell_h, box, alpha)
        draw = ImageDraw.Draw(img)
        split = max(line.rfind("TK "), 0) if circle else len(line)
        head, tail = line[:split], line[split:]
        x_tail = pad_x + font.getlength(head) + extra / 2
        draw.text((pad_x, self._pad_y), head, font=font, fill=(*_TEXT, 255))
        draw.text((x_tail, self._pad_y), tail, font=font, fill=(*_TEXT, 255))
        if circle:  # a circled take is circled, as on the camera report: ring the take number
            lw = max(2, self.font_px // 12)
            ring = (
                x_tail - extra / 2 + 1,
                1,
                x_tail + font.getlength(tail) + extra / 2 - 1,
                self.atlas.cell_h - 2,
            )
            draw.ellipse(ring, outline=(*_CIRCLE, 255), width=lw)
        return _Patch.from_rgba(np.asarray(img))

    # --------------------------------------------------------------------------------------- per frame

    def apply(self, frame: npt.NDArray[np.uint8], source_tc: str, sound_tc: str | None = None) -> None:
        """Burn the static text and the two running timecodes into ``frame`` (H, W, 3) in place."""
        for p in self.patches:
            _blend(frame, p.y, p.x, p.inv, p.pre)
        self._draw_tc(frame, "source", source_tc)
        if "sound" in self._tc_at:
            self._draw_tc(frame, "sound", sound_tc or "-" * self.tc_length)

    def _draw_tc(self, frame: npt.NDArray[np.uint8], kind: _TcKind, label: str) -> None:
        y, x = self._tc_at[kind]
        inv, pre = self.atlas.compose(label[: self.tc_length].rjust(self.tc_length))
        _blend(frame, y, x, inv, pre)

    # ------------------------------------------------------------------------------ for verification

    def timecode_cells(self, kind: _TcKind = "source") -> list[tuple[int, int, int, int]]:
        """``(y0, y1, x0, x1)`` of every character cell of a timecode label (for reading it back)."""
        if kind not in self._tc_at:
            return []
        y, x = self._tc_at[kind]
        cw, ch = self.atlas.cell_w, self.atlas.cell_h
        return [(y, y + ch, x + i * cw, x + (i + 1) * cw) for i in range(self.tc_length)]

    def read_timecode(self, frame: npt.NDArray[Any], kind: _TcKind = "source") -> str:
        """Read a burned-in timecode back from a (decoded) frame by matching each cell to the atlas.

        The glyphs are white on a dark box, so a luma threshold gives each cell's ink; the atlas glyph
        with the fewest differing pixels wins. Used by tests and QC to prove what was burned in.
        """
        cells = self.timecode_cells(kind)
        if not cells:
            return ""
        y0, y1, x0 = cells[0][0], cells[0][1], cells[0][2]
        x1 = cells[-1][3]
        crop = frame[y0:y1, x0:x1]
        if crop.shape[0] != y1 - y0 or crop.shape[1] != x1 - x0:
            return "?" * len(cells)
        gray = crop.astype(np.float32).mean(axis=2) if crop.ndim == 3 else crop.astype(np.float32)
        n, cw = len(cells), self.atlas.cell_w
        ink = (gray >= 160).reshape(y1 - y0, n, cw).transpose(1, 0, 2).reshape(n, -1)
        masks = self.atlas.masks.reshape(len(self.atlas.chars), -1)
        errors = (ink[:, None, :] != masks[None, :, :]).sum(axis=2)  # (cells, glyphs)
        return "".join(self.atlas.chars[int(k)] for k in errors.argmin(axis=1))
