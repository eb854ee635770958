"""Generator clips: title cards and an end-credits roll, drawn by Pillow once and composed with NumPy.

A clip whose media reference is an OTIO ``GeneratorReference`` renders from its ``parameters``:

``generator_kind="title"``
    ``text`` (a string, lines split on newlines, or a list of lines), ``font_size`` (px, default a
    tenth of the frame height), ``color`` (``"#rrggbb"`` or ``[r, g, b]``, default white),
    ``background`` (a colour, default ``"black"``; ``"transparent"`` or None for a title over the
    tracks below), ``position`` (``"center"``, ``"top"``, ``"bottom"``, ``"lower_third"``), ``fade``
    (frames: opacity fades in at the start and out at the end; over black that is a fade from black).

``generator_kind="credits"``
    ``path`` (a credits text file, see below) or ``text`` (the same format inline), ``font_size``
    (default a twentieth of the frame height), ``color``, ``background`` (default black),
    ``speed`` (px per frame; default: fitted to the clip).

Credits file format (UTF-8): ``# HEADING`` lines are headings (larger, with a gap above);
``Role: Name`` lines put the role right-aligned left of centre and the name left-aligned right of
centre; other lines are centred; a blank line is a gap of one line. The roll is rendered once into a
tall strip cropped to its ink (row 0 holds the first line's top pixels, the last row the last line's
bottom ones) and scrolls up at a constant speed ``v`` px per frame, its top at ``y = H - (k + 1)·v`` on
clip frame k. By default ``v = (H + S) / (N + 1)`` for strip height S and an N-frame clip: the first
frame shows the first ``v`` rows entering at the bottom and the last frame the last ``v`` rows leaving
at the top. A fractional ``y`` is drawn by linear interpolation between the two nearest whole-row
positions (sub-pixel scrolling: smooth, a touch soft); when ``v`` is a whole number every frame is an
exact row shift and stays crisp. The ``speed`` parameter (a whole number of px per frame) forces
whole-row scrolling: the strip still enters on frame 0 and moves ``speed`` rows a frame, however long
the clip is.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageColor, ImageDraw, ImageFont

from posthouse.core.errors import MediaError, UsageError
from posthouse.engine.composite import Layer
from posthouse.engine.text import FontT, load_font

__all__ = [
    "GENERATOR_KINDS",
    "CreditLine",
    "CreditsRoll",
    "TitleCard",
    "parse_color",
    "parse_credits",
]

GENERATOR_KINDS: Final = ("title", "credits")
_SANS: Final = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "LiberationSans-Bold.ttf", "DejaVuSansMono-Bold.ttf")
_POSITIONS: Final = {"center": 0.5, "centre": 0.5, "top": 0.15, "bottom": 0.85, "lower_third": 0.75}

Mask = npt.NDArray[np.uint8]


def parse_color(value: Any, where: str) -> tuple[int, int, int] | None:
    """``"#rrggbb"``, a colour name or ``[r, g, b]`` (0..255) as a tuple; None for transparent."""
    if value is None or (isinstance(value, str) and value.lower() in ("transparent", "none", "")):
        return None
    try:
        if isinstance(value, str):
            rgb = ImageColor.getrgb(value)
            return int(rgb[0]), int(rgb[1]), int(rgb[2])
        r, g, b = (int(v) for v in value)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"bad colour {value!r}", where=where, hint="use '#rrggbb' or [r, g, b]") from exc
    return r, g, b


@functools.lru_cache(maxsize=16)
def _font(size: int) -> FontT:
    return load_font(max(6, size), _SANS)


def _line_height(font: FontT, size: int) -> int:
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return int(ascent + descent)
    return size


def _layer(mask: Mask, color: tuple[int, int, int], background: tuple[int, int, int] | None) -> Layer:
    """Text coverage ``mask`` as a layer: colour over an opaque background, or colour with alpha."""
    a = mask.astype(np.float32) * np.float32(1 / 255)
    col = np.asarray(color, np.float32)
    if background is None:
        return Layer(a[..., None] * col, a)
    bg = np.asarray(background, np.float32)
    rgb = bg + a[..., None] * (col - bg)
    return Layer(np.rint(rgb).astype(np.uint8))


class TitleCard:
    """A title card rendered once at the output size."""

    def __init__(self, params: dict[str, Any], size: tuple[int, int], where: str) -> None:
        w, h = size
        text = params.get("text", params.get("lines", ""))
        lines = str(text).split("\n") if isinstance(text, str) else [str(t) for t in text]
        font_size = int(params.get("font_size", max(8, h // 10)))
        color = parse_color(params.get("color", "white"), where) or (255, 255, 255)
        background = parse_color(params.get("background", "black"), where)
        position = params.get("position", "center")
        centre_y = _POSITIONS.get(str(position).lower()) if isinstance(position, str) else None
        if centre_y is None:
            raise UsageError(f"unknown title position {position!r}", where=where, hint=", ".join(_POSITIONS))
        self.fade = max(int(params.get("fade", 0)), 0)
        font = _font(font_size)
        step = round(_line_height(font, font_size) * 1.15)
        image = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(image)
        top = round(centre_y * h - step * len(lines) / 2)
        for i, line in enumerate(lines):
            x = round((w - font.getlength(line)) / 2)
            draw.text((x, top + i * step), line, font=font, fill=255)
        self.layer = _layer(np.asarray(image, np.uint8), color, background)

    def frame(self, k: int, n: int) -> Layer:
        """The card on clip frame ``k`` of ``n`` (opacity fades over ``fade`` frames at both ends)."""
        if self.fade <= 0:
            return self.layer
        level = min(1.0, max(k, 0) / self.fade, max(n - 1 - k, 0) / self.fade)
        return self.layer.with_opacity(level)


@dataclass(frozen=True, slots=True)
class CreditLine:
    """One line of a credits file: ``kind`` is ``heading``, ``role`` (role and name), ``text`` or
    ``blank``."""

    kind: str
    text: str = ""
    name: str = ""


def parse_credits(text: str) -> list[CreditLine]:
    """Parse the credits format (``# HEADING``, ``Role: Name``, plain and blank lines)."""
    out: list[CreditLine] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            out.append(CreditLine("blank"))
        elif line.startswith("#"):
            out.append(CreditLine("heading", line.lstrip("#").strip()))
        elif ": " in line:
            role, name = line.split(": ", 1)
            out.append(CreditLine("role", role.strip(), name.strip()))
        else:
            out.append(CreditLine("text", line))
    while out and out[0].kind == "blank":
        out.pop(0)
    while out and out[-1].kind == "blank":
        out.pop()
    return out


def _strip(lines: Sequence[CreditLine], width: int, font_size: int) -> Mask:
    """The whole roll as a coverage mask ``(strip_height, width)``; row 0 is the first line's top."""
    body, head = _font(font_size), _font(round(font_size * 1.3))
    body_h, head_h = _line_height(body, font_size), _line_height(head, round(font_size * 1.3))
    gutter = max(4, font_size // 2)
    rows: list[tuple[int, CreditLine]] = []
    y = 0
    for i, line in enumerate(lines):
        if line.kind == "heading" and i > 0 and lines[i - 1].kind != "blank":
            y += body_h
        rows.append((y, line))
        y += round((head_h if line.kind == "heading" else body_h) * 1.2)
    image = Image.new("L", (width, max(y, 1)), 0)
    draw = ImageDraw.Draw(image)
    centre = width // 2
    for top, line in rows:
        if line.kind == "heading":
            draw.text((round(centre - head.getlength(line.text) / 2), top), line.text, font=head, fill=255)
        elif line.kind == "role":
            draw.text(
                (round(centre - gutter - body.getlength(line.text)), top), line.text, font=body, fill=190
            )
            draw.text((centre + gutter, top), line.name, font=body, fill=255)
        elif line.kind == "text":
            draw.text((round(centre - body.getlength(line.text) / 2), top), line.text, font=body, fill=255)
    mask = np.asarray(image, np.uint8)
    ink = np.flatnonzero(mask.any(axis=1))
    return mask[ink[0] : ink[-1] + 1] if ink.size else mask[:1]


class CreditsRoll:
    """An end-credits roll: the strip rendered once, scrolled up ``speed`` (exact, px per frame) a frame."""

    def __init__(self, params: dict[str, Any], size: tuple[int, int], frames: int, where: str) -> None:
        w, h = size
        self.size = size
        if params.get("path"):
            path = Path(str(params["path"])).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise MediaError(f"cannot read credits file: {exc.strerror or exc}", path=path) from exc
        else:
            text = str(params.get("text", ""))
        font_size = int(params.get("font_size", max(8, h // 20)))
        self.color = parse_color(params.get("color", "white"), where) or (255, 255, 255)
        self.background = parse_color(params.get("background", "black"), where)
        self.strip = _strip(parse_credits(text), w, font_size)
        strip_h = int(self.strip.shape[0])
        speed = params.get("speed")
        self.speed = Fraction(max(1, int(speed))) if speed else Fraction(h + strip_h, max(frames, 1) + 1)
        self._padded = np.pad(self.strip.astype(np.float32), ((1, 1), (0, 0)))

    def top(self, k: int) -> Fraction:
        """Row of the frame (fractional) where the strip's top sits on clip frame ``k``."""
        return self.size[1] - (k + 1) * self.speed

    def frame(self, k: int) -> Layer:
        """The roll on clip frame ``k``."""
        w, h = self.size
        y = self.top(k)
        i = math.floor(y)
        f = np.float32(float(y - i))
        mask = np.zeros((h, w), np.uint8)
        r0, r1 = max(i, 0), min(i + self.strip.shape[0] + 1, h)  # rows the strip touches
        if r0 < r1:
            q = np.arange(r0, r1) - i  # strip row at the whole-row position i, padded by one
            rows = self._padded[q + 1] * (1 - f) + self._padded[q] * f
            mask[r0:r1] = np.rint(rows).astype(np.uint8)
        return _layer(mask, self.color, self.background)
