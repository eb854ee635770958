"""Synthetic picture for the demo shoot: the slate card, the clap flash and moving scene frames.

Pure functions from arguments to ``(height, width, 3)`` ``uint8`` RGB arrays; no file I/O. The slate is
drawn with Pillow (its scalable default font, so text scales with the frame); scene frames are composed
with vectorised NumPy from a cached, per-camera background plate plus moving actors and film grain.
"""

from __future__ import annotations

import functools
import itertools
import math
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

__all__ = ["flash_frame", "scene_frame", "slate_frame"]

_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_RGB = tuple[int, int, int]

_CARD = (24, 24, 28)
_CHALK = (236, 236, 232)
_LABEL = (178, 178, 172)
_LED = (255, 52, 40)


# ----------------------------------------------------------------------------------------------- slate


@functools.lru_cache(maxsize=64)
def _font(size: int) -> _Font:
    return ImageFont.load_default(size=max(size, 6))


def _fitted(draw: ImageDraw.ImageDraw, text: str, max_width: float, size: int) -> _Font:
    """The default font at ``size``, shrunk until ``text`` fits in ``max_width`` pixels."""
    font = _font(size)
    while size > 6 and draw.textlength(text, font=font) > max_width:
        size = max(6, int(size * 0.9))
        font = _font(size)
    return font


def _stick(length: int, thick: int) -> Image.Image:
    """One clapstick: diagonal black-and-white stripes on an RGBA strip."""
    img = Image.new("RGBA", (length, thick), (*_CHALK, 255))
    draw = ImageDraw.Draw(img)
    stripe = max(thick, length // 9)
    for x in range(-thick, length + thick, 2 * stripe):
        draw.polygon(
            [(x, 0), (x + stripe, 0), (x + stripe - thick, thick), (x - thick, thick)], fill=(14, 14, 14)
        )
    draw.rectangle([0, 0, length - 1, thick - 1], outline=(90, 90, 90), width=max(1, thick // 16))
    return img


def _cell(
    draw: ImageDraw.ImageDraw,
    box: tuple[float, float, float, float],
    label: str,
    value: str,
    *,
    label_size: int,
    value_size: int,
    pad: float,
) -> None:
    """A slate field: small label top-left, the value large and centred below it."""
    x0, y0, x1, y1 = box
    draw.text((x0 + pad, y0 + pad * 0.6), label, fill=_LABEL, font=_font(label_size), anchor="la")
    top = y0 + pad * 0.6 + label_size
    font = _fitted(draw, value, x1 - x0 - 2 * pad, value_size)
    draw.text(((x0 + x1) / 2, (top + y1) / 2), value, fill=_CHALK, font=font, anchor="mm")


def slate_frame(
    width: int,
    height: int,
    *,
    production: str,
    roll: str,
    scene: str,
    take: int,
    camera: str,
    date: str,
    timecode: str,
    sticks_closed: bool,
) -> NDArray[np.uint8]:
    """A clapperboard held in front of the lens, as an ``(height, width, 3)`` uint8 RGB image.

    Striped sticks on top (hinged on the left, raised about 9° when open), a dark card with chalk-white
    fields PROD, ROLL, SCENE, TAKE, CAMERA, DATE, and a red LED timecode display.
    """
    w, h = int(width), int(height)
    # A dim, slightly warm set behind the slate.
    rows = np.linspace(72.0, 44.0, h, dtype=np.float32)[:, None, None]
    cols = (1.0 - 0.18 * np.linspace(-1.0, 1.0, w, dtype=np.float32) ** 2)[None, :, None]
    tint = np.array([1.0, 0.94, 0.86], dtype=np.float32)[None, None, :]
    img = Image.fromarray((rows * cols * tint).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)

    x0, x1 = round(0.10 * w), round(0.90 * w)
    body_top, body_bot = round(0.34 * h), round(0.965 * h)
    thick = max(4, round(0.075 * h))
    line = max(1, round(h / 200))
    pad = max(2.0, 0.012 * h)

    # Sticks: the lower one fixed on the card, the upper one hinged at its bottom-left corner.
    lower = _stick(x1 - x0, thick)
    img.paste(lower, (x0, body_top - thick), lower)
    hinge = (x0, body_top - thick)
    upper = _stick(x1 - x0, thick).transpose(Image.Transpose.FLIP_TOP_BOTTOM)  # chevrons when closed
    if sticks_closed:
        img.paste(upper, (hinge[0], hinge[1] - thick), upper)
    else:
        angle = 9.0
        rot = upper.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        dx = thick * math.sin(math.radians(angle))
        img.paste(rot, (round(hinge[0] - dx), hinge[1] - rot.height), rot)
    r = thick * 0.35
    draw.ellipse([hinge[0] - r, hinge[1] - r, hinge[0] + r, hinge[1] + r], fill=(120, 120, 120))

    # The card and its fields.
    draw.rectangle([x0, body_top, x1, body_bot], fill=_CARD, outline=_CHALK, width=line)
    bh = body_bot - body_top
    y_rows = [body_top + round(f * bh) for f in (0.0, 0.2, 0.5, 0.78, 1.0)]
    for y in y_rows[1:-1]:
        draw.line([(x0, y), (x1, y)], fill=_CHALK, width=line)
    cw = x1 - x0
    label_size = max(8, round(0.036 * h))

    _cell(
        draw,
        (x0, y_rows[0], x1, y_rows[1]),
        "PROD",
        production,
        label_size=label_size,
        value_size=round(0.06 * h),
        pad=pad,
    )
    xs = [x0, x0 + round(0.3 * cw), x0 + round(0.7 * cw), x1]
    for xa in xs[1:-1]:
        draw.line([(xa, y_rows[1]), (xa, y_rows[2])], fill=_CHALK, width=line)
    cells = zip(itertools.pairwise(xs), ("ROLL", "SCENE", "TAKE"), (roll, scene, str(take)), strict=True)
    for (xa, xb), label, value in cells:
        _cell(
            draw,
            (xa, y_rows[1], xb, y_rows[2]),
            label,
            value,
            label_size=label_size,
            value_size=round(0.11 * h),
            pad=pad,
        )

    # LED timecode panel.
    inset = 2 * pad
    panel = (x0 + cw * 0.18, y_rows[2] + inset * 0.6, x1 - cw * 0.18, y_rows[3] - inset * 0.6)
    draw.rectangle(panel, fill=(6, 4, 4), outline=(70, 70, 70), width=line)
    tc_font = _fitted(draw, timecode, panel[2] - panel[0] - 2 * pad, round(0.8 * (panel[3] - panel[1])))
    draw.text(
        ((panel[0] + panel[2]) / 2, (panel[1] + panel[3]) / 2), timecode, fill=_LED, font=tc_font, anchor="mm"
    )

    xm = x0 + round(0.42 * cw)
    draw.line([(xm, y_rows[3]), (xm, y_rows[4])], fill=_CHALK, width=line)
    _cell(
        draw,
        (x0, y_rows[3], xm, y_rows[4]),
        "CAMERA",
        camera,
        label_size=label_size,
        value_size=round(0.06 * h),
        pad=pad,
    )
    _cell(
        draw,
        (xm, y_rows[3], x1, y_rows[4]),
        "DATE",
        date,
        label_size=label_size,
        value_size=round(0.06 * h),
        pad=pad,
    )
    return np.asarray(img, dtype=np.uint8).copy()


def flash_frame(width: int, height: int) -> NDArray[np.uint8]:
    """The clap's sync flash: a full-white ``(height, width, 3)`` uint8 frame."""
    return np.full((int(height), int(width), 3), 255, dtype=np.uint8)


# ----------------------------------------------------------------------------------------------- scenes

# (wall/sky top, wall/sky at the horizon, floor at the horizon, floor at the bottom, accent) per look.
_PALETTES: tuple[tuple[_RGB, _RGB, _RGB, _RGB, _RGB], ...] = (
    ((118, 92, 70), (150, 118, 88), (92, 62, 40), (52, 34, 24), (210, 170, 90)),  # warm interior
    ((22, 32, 66), (44, 60, 96), (30, 32, 38), (16, 18, 22), (240, 210, 120)),  # night exterior
    ((120, 160, 205), (176, 200, 222), (78, 118, 56), (42, 74, 34), (230, 90, 60)),  # park, daylight
    ((142, 146, 140), (168, 170, 164), (96, 98, 104), (64, 66, 72), (60, 120, 200)),  # office
    ((170, 96, 74), (222, 150, 96), (70, 46, 52), (36, 26, 34), (250, 220, 140)),  # sunset
)
_WARDROBE: tuple[_RGB, ...] = ((170, 50, 45), (45, 80, 160), (70, 130, 70), (150, 120, 60))
_SKIN: tuple[_RGB, ...] = ((224, 172, 140), (150, 104, 76))
_HORIZON = 0.62  # world v of the wall/floor line
_MARGIN = 0.03  # background pan range, in world units (frame heights)
_GRAIN_PAD = 32


@dataclass(frozen=True, slots=True)
class _Camera:
    zoom: float  # 1.0 = wide; 2.0 shows half the width
    flip: bool  # a reverse angle is mirrored
    cu: float  # world point at the frame centre (u in frame heights, v in frame heights)
    cv: float
    wb: tuple[float, float, float]  # white-balance gains, so cameras need matching in color


def _camera(camera: str, aspect: float) -> _Camera:
    name = camera.strip().upper()
    idx = ord(name) - ord("A") if len(name) == 1 and name.isalpha() else zlib.crc32(name.encode()) % 8
    presets = (
        _Camera(1.0, False, aspect / 2, 0.5, (1.0, 1.0, 1.0)),
        _Camera(1.55, True, aspect / 2 + 0.18, 0.47, (1.05, 1.0, 0.93)),
        _Camera(2.1, False, aspect / 2 - 0.25, 0.42, (0.95, 1.0, 1.06)),
    )
    if idx < len(presets):
        return presets[idx]
    return _Camera(
        1.2 + 0.25 * (idx % 4),
        idx % 2 == 1,
        aspect / 2 + 0.1 * ((idx % 5) - 2),
        0.46,
        (1.0 + 0.02 * (idx % 3), 1.0, 1.0 - 0.02 * (idx % 3)),
    )


def _u64(*values: int) -> list[int]:
    return [v & 0xFFFF_FFFF_FFFF_FFFF for v in values]


@functools.lru_cache(maxsize=16)
def _plate(width: int, height: int, scene_index: int, camera: str, seed: int) -> NDArray[np.int16]:
    """The static set seen by ``camera``, with a pan margin on every side: int16 (H+2m, W+2m, 3)."""
    aspect = width / height
    cam = _camera(camera, aspect)
    m = math.ceil(_MARGIN * height * cam.zoom) + 1
    hp, wp = height + 2 * m, width + 2 * m
    scale = height * cam.zoom  # pixels per world unit
    sign = -1.0 if cam.flip else 1.0
    u = cam.cu + sign * (np.arange(wp, dtype=np.float64) - m - width / 2 + 0.5) / scale
    v = cam.cv + (np.arange(hp, dtype=np.float64) - m - height / 2 + 0.5) / scale
    look = _PALETTES[scene_index % len(_PALETTES)]
    pal = np.roll(np.array(look, dtype=np.float64), (scene_index // len(_PALETTES)) % 3, axis=1)
    rng = np.random.default_rng(_u64(seed, scene_index, 0x5E7))

    # Vertical gradient: wall (or sky) above the horizon, floor (or ground) below it.
    wall = np.clip(v / _HORIZON, 0.0, 1.0)[:, None]
    floor = np.clip((v - _HORIZON) / (1.0 - _HORIZON + 0.2), 0.0, 1.0)[:, None]
    above = (v < _HORIZON)[:, None]
    rows = np.where(above, pal[0] + (pal[1] - pal[0]) * wall, pal[2] + (pal[3] - pal[2]) * floor)
    img: NDArray[np.float64] = np.broadcast_to(rows[:, None, :], (hp, wp, 3)).astype(np.float64)

    # Texture in world coordinates (so every camera sees the same wall): two octaves of value noise.
    tex = np.zeros((hp, wp), dtype=np.float64)
    for cells, amp in ((3.0, 0.10), (24.0, 0.05)):
        grid = rng.standard_normal((int(cells * 1.6) + 3, int(cells * (aspect + 1.0)) + 3))
        gu = np.clip((u + 0.5) * cells, 0, grid.shape[1] - 2)
        gv = np.clip((v + 0.3) * cells, 0, grid.shape[0] - 2)
        iu, iv = gu.astype(np.intp), gv.astype(np.intp)
        fu, fv = (gu - iu)[None, :], (gv - iv)[:, None]
        fu, fv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
        g00, g01 = grid[iv][:, iu], grid[iv][:, iu + 1]
        g10, g11 = grid[iv + 1][:, iu], grid[iv + 1][:, iu + 1]
        tex += amp * ((g00 * (1 - fu) + g01 * fu) * (1 - fv) + (g10 * (1 - fu) + g11 * fu) * fv)
    planks = 0.06 * np.sin(u * 38.0)[None, :] * (~above)
    img *= (1.0 + tex + planks)[:, :, None]

    # Set dressing on the wall: a few framed panels (windows, doors, pictures) in the accent colors.
    for _ in range(int(rng.integers(2, 5))):
        pu, pw = rng.uniform(0.0, aspect), rng.uniform(0.08, 0.35)
        pv, ph = rng.uniform(0.08, 0.3), rng.uniform(0.12, 0.3)
        color = pal[4] * rng.uniform(0.55, 1.0) if rng.random() < 0.5 else pal[1] * rng.uniform(0.4, 0.7)
        inside = ((u > pu) & (u < pu + pw))[None, :] & ((v > pv) & (v < min(pv + ph, _HORIZON)))[:, None]
        frame = ((u > pu - 0.012) & (u < pu + pw + 0.012))[None, :] & (
            (v > pv - 0.012) & (v < min(pv + ph, _HORIZON) + 0.012)
        )[:, None]
        img[frame & ~inside] *= 0.45
        img[inside] = color * (1.0 + 0.5 * tex[inside])[:, None]

    # Vignette and the camera's white balance.
    yy = (np.arange(hp) - hp / 2) / (hp / 2)
    xx = (np.arange(wp) - wp / 2) / (wp / 2)
    vig = 1.0 - 0.28 * (yy[:, None] ** 2 * 0.8 + xx[None, :] ** 2) / 1.8
    img *= vig[:, :, None] * np.array(cam.wb)[None, None, :]
    return np.clip(img, 6.0, 240.0).astype(np.int16)


@functools.lru_cache(maxsize=4)
def _grain(width: int, height: int) -> NDArray[np.int16]:
    """A film-grain tile a little larger than the frame; a per-frame offset makes it move."""
    rng = np.random.default_rng(_u64(width, height, 0x62A1))
    tile = rng.normal(0.0, 3.5, (height + _GRAIN_PAD, width + _GRAIN_PAD))
    return np.round(tile).astype(np.int16)[:, :, None]


@dataclass(frozen=True, slots=True)
class _Action:
    """What happens in one take: each actor's and the ball's motion."""

    base: tuple[float, ...]
    amp: tuple[float, ...]
    freq: tuple[float, ...]
    phase: tuple[float, ...]
    ball: tuple[float, ...]  # fx, fy, phase x, phase y, amp x, amp y
    pan: tuple[float, ...]  # pan frequencies and phases


@functools.lru_cache(maxsize=64)
def _action(seed: int, scene_index: int, take: int, aspect: float) -> _Action:
    rng = np.random.default_rng(_u64(seed, scene_index, take, 0xAC7))
    scene_rng = np.random.default_rng(_u64(seed, scene_index, 0xB10C))
    base = aspect * (np.sort(scene_rng.uniform(0.25, 0.75, 2)) + np.array([-0.08, 0.08]))

    def floats(*arrays: NDArray[np.float64]) -> tuple[float, ...]:
        return tuple(float(x) for a in arrays for x in a)

    return _Action(
        base=floats(base),
        amp=floats(rng.uniform(0.05, 0.25, 2)),
        freq=floats(rng.uniform(0.04, 0.25, 2)),
        phase=floats(rng.uniform(0, 2 * np.pi, 2)),
        ball=floats(rng.uniform(0.08, 0.35, 2), rng.uniform(0, 2 * np.pi, 2), rng.uniform(0.3, 0.7, 2)),
        pan=floats(rng.uniform(0.03, 0.12, 2), rng.uniform(0, 2 * np.pi, 2)),
    )


def _blob(
    img: NDArray[np.int16],
    xc: float,
    yc: float,
    rx: float,
    ry: float,
    color: NDArray[np.float32],
) -> None:
    """Composite a shaded, anti-aliased ellipse (pixel units) into ``img`` in place, inside its bbox."""
    h, w = img.shape[:2]
    xa, xb = max(0, int(xc - rx) - 1), min(w, int(xc + rx) + 2)
    ya, yb = max(0, int(yc - ry) - 1), min(h, int(yc + ry) + 2)
    if xa >= xb or ya >= yb or rx < 0.5 or ry < 0.5:
        return
    dx = ((np.arange(xa, xb, dtype=np.float32) + 0.5 - xc) / rx) ** 2
    dy = ((np.arange(ya, yb, dtype=np.float32) + 0.5 - yc) / ry) ** 2
    d = np.sqrt(dy[:, None] + dx[None, :])
    alpha = np.clip((1.0 - d) * min(rx, ry), 0.0, 1.0)[:, :, None]
    lit = color * (1.05 - 0.35 * d)[:, :, None]  # brighter in the middle: a rounded, lit form
    region = img[ya:yb, xa:xb]
    region += (alpha * (lit - region)).astype(np.int16)


def scene_frame(
    width: int,
    height: int,
    *,
    scene_index: int,
    take: int,
    camera: str,
    frame: int,
    fps: float,
    seed: int,
) -> NDArray[np.uint8]:
    """Frame ``frame`` of a take, as ``(height, width, 3)`` uint8 RGB; deterministic in its arguments.

    The scene sets the look (palette, set dressing, where the two actors stand); the take sets the
    action (how the actors and a ball move, and the camera's drift); the camera sets the angle (A wide,
    B a mirrored reverse closer in, C a tight single; others derived from the name) and its white
    balance. Grain moves every frame so codecs have real work to do.
    """
    w, h = int(width), int(height)
    aspect = w / h
    cam = _camera(camera, aspect)
    act = _action(seed, scene_index, take, aspect)
    t = frame / fps
    scale = h * cam.zoom
    sign = -1.0 if cam.flip else 1.0

    # Slow camera drift: a pan of the background plate (whole pixels) and the same shift for the actors.
    plate = _plate(w, h, scene_index, camera, seed)
    m = (plate.shape[0] - h) // 2
    fx, fy, phx, phy = act.pan
    pan_u = 0.8 * _MARGIN * math.sin(2 * math.pi * fx * t + phx)
    pan_v = 0.5 * _MARGIN * math.sin(2 * math.pi * fy * t + phy)
    ox, oy = round(pan_u * scale), round(pan_v * scale)
    img = plate[m + oy : m + oy + h, m + ox : m + ox + w].copy()

    def to_px(uw: float, vw: float) -> tuple[float, float]:
        return w / 2 + sign * (uw - cam.cu) * scale - ox, h / 2 + (vw - cam.cv) * scale - oy

    wb = np.array(cam.wb, dtype=np.float32)
    for i in range(2):
        phase = 2 * math.pi * act.freq[i] * t + act.phase[i]
        uw = act.base[i] + act.amp[i] * math.sin(phase)
        bob = 0.008 * math.sin(2 * phase * 3.0)
        px, py = to_px(uw, _HORIZON - 0.02 + bob)
        hx, hy = to_px(uw, _HORIZON - 0.30 + bob)
        _blob(img, px, py, 0.085 * scale, 0.2 * scale, np.array(_WARDROBE[(scene_index + i) % 4]) * wb)
        _blob(img, hx, hy, 0.058 * scale, 0.07 * scale, np.array(_SKIN[i % 2]) * wb)
    bfx, bfy, bpx, bpy, bax, bay = act.ball
    bu = aspect / 2 + bax * aspect / 2 * math.sin(2 * math.pi * bfx * t + bpx)
    bv = 0.4 + 0.5 * bay * math.sin(2 * math.pi * bfy * t + bpy)
    px, py = to_px(bu, bv)
    accent = _PALETTES[scene_index % len(_PALETTES)][4]
    _blob(img, px, py, 0.04 * scale, 0.04 * scale, np.array(accent, dtype=np.float32) * wb)

    grain = _grain(w, h)
    gx = (frame * 13 + seed) % _GRAIN_PAD
    gy = (frame * 7 + 3 * seed) % _GRAIN_PAD
    img += grain[gy : gy + h, gx : gx + w]
    np.clip(img, 4, 250, out=img)
    return img.astype(np.uint8)
