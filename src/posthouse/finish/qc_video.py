"""Picture QC in one streaming pass: black, freeze, broadcast range and photosensitive flashes.

Frames come in as planar ``yuv420p`` (8-bit) or ``yuv420p10le`` arrays exactly as decoded, so the luma code
values are checked before any conversion. Range is checked on every pixel; black and flashes on a
small analysis picture (2x2 block means down to at most 96 pixels wide), which does not change their outcome
and keeps the per-frame cost a fraction of the decode; freeze on the same grid of single pixels (a strided
sample, so a still shot's grain still counts as change and only a held frame is frozen).

Flashes follow ITU-R BT.1702 / Ofcom (see REFERENCE.md): luminance is modelled on a display of
``flash_display_nits`` (gamma 2.2); a transition is a change of at least 20 cd/m² with the darker state below
160 cd/m²; a flash is a pair of opposing transitions; a frame fails when more than ``flash_area`` of the
screen has had more than ``flash_per_second`` flashes in the second ending there. Saturated red
(R/(R+G+B) >= 0.8, linear) counts as a red flash when (R-G-B)·320 changes by more than 20.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.finish.qc_report import thumbnail_b64
from posthouse.finish.qc_specs import VideoSpec

__all__ = ["FrameEvent", "VideoAnalyzer", "analysis_format"]

_MAX_THUMBS = 400
_ANALYSIS_WIDTH = 96


def analysis_format(bit_depth: int | None) -> str:
    """The PyAV pixel format QC decodes to for a source of ``bit_depth`` bits."""
    return "yuv420p10le" if (bit_depth or 8) > 8 else "yuv420p"


@dataclass(slots=True)
class FrameEvent:
    """A run of frames ``[start, end)`` a check flagged."""

    check: str
    severity: str
    start: int
    end: int
    detail: str
    thumbnail: str | None = None


@dataclass(slots=True)
class _Run:
    start: int = -1
    last: int = -1
    worst: float = 0.0
    thumb: str | None = None


@dataclass(slots=True)
class _Flash:
    """Per-cell transition state for one quantity (luminance or red)."""

    threshold: float
    dark_limit: float | None
    hi: npt.NDArray[np.float32] | None = None
    lo: npt.NDArray[np.float32] | None = None
    direction: npt.NDArray[np.int8] | None = None
    ring: npt.NDArray[np.uint8] | None = None
    counts: npt.NDArray[np.int32] | None = None
    area: list[float] = field(default_factory=list)

    def push(self, index: int, value: npt.NDArray[np.float32], window: int) -> npt.NDArray[np.int32]:
        if self.hi is None or self.lo is None or self.direction is None:
            self.hi, self.lo = value.copy(), value.copy()
            self.direction = np.zeros(value.shape, np.int8)
            self.ring = np.zeros((window, *value.shape), np.uint8)
            self.counts = np.zeros(value.shape, np.int32)
        assert self.ring is not None and self.counts is not None
        np.maximum(self.hi, value, out=self.hi)
        np.minimum(self.lo, value, out=self.lo)
        rise = (value - self.lo >= self.threshold) & (self.direction != 1)
        fall = (self.hi - value >= self.threshold) & (self.direction != -1)
        if self.dark_limit is not None:
            rise &= self.lo < self.dark_limit
            fall &= value < self.dark_limit
        trans = rise | fall
        self.direction[rise] = 1
        self.direction[fall] = -1
        self.hi[trans] = value[trans]
        self.lo[trans] = value[trans]
        slot = index % window
        self.counts += trans.astype(np.int32) - self.ring[slot]
        self.ring[slot] = trans
        self.area.append(float(trans.mean()))
        return self.counts


class VideoAnalyzer:
    """Feed decoded frames with :meth:`push`; :meth:`finish` returns the flagged frame runs."""

    def __init__(self, width: int, height: int, fps: float, bit_depth: int | None, spec: VideoSpec) -> None:
        self.spec = spec
        self.width, self.height = width, height
        self.fps = fps
        self.shift = 2 if (bit_depth or 8) > 8 else 0  # 10-bit codes to the 8-bit scale
        scale = 1 << self.shift
        margin = spec.range_margin * scale
        self.lo_code = 16 * scale - margin
        self.hi_code = 235 * scale + margin
        cw, ch = width // 2, height // 2
        self.g = max(1, -(-cw // _ANALYSIS_WIDTH))
        self.aw, self.ah = cw // self.g, ch // self.g
        self.window = max(1, round(fps))
        self.frames = 0
        self._prev: npt.NDArray[np.float32] | None = None
        self._runs: dict[str, _Run] = {}
        self._events: list[FrameEvent] = []
        self._lum = _Flash(20.0, 160.0)
        self._red = _Flash(20.0, None)
        self._flash_fail: dict[str, list[int]] = {"flash": [], "red_flash": []}
        self._thumbs: dict[int, str] = {}
        self._recent: dict[int, str] = {}
        self._run_thumbs = 0
        self.black_frames = 0
        self.out_of_range_frames = 0

    # -- per frame -------------------------------------------------------------------------------
    def _small(self, frame: npt.NDArray[Any]) -> tuple[npt.NDArray[np.float32], ...]:
        h, w = self.height, self.width
        g, aw, ah = self.g, self.aw, self.ah
        y = frame[:h]
        cw, ch = w // 2, h // 2
        chroma = frame[h:].reshape(-1)  # U then V, each (h/2, w/2), packed into rows of w
        u = chroma[: ch * cw].reshape(ch, cw)
        v = chroma[ch * cw : 2 * ch * cw].reshape(ch, cw)
        k = 2 * g
        ys = y[: ah * k, : aw * k].reshape(ah, k, aw, k).mean(axis=(1, 3), dtype=np.float32)
        us = u[: ah * g, : aw * g].reshape(ah, g, aw, g).mean(axis=(1, 3), dtype=np.float32)
        vs = v[: ah * g, : aw * g].reshape(ah, g, aw, g).mean(axis=(1, 3), dtype=np.float32)
        s = np.float32(1 << self.shift)
        return ys / s, us / s, vs / s

    def push(self, index: int, frame: npt.NDArray[Any]) -> None:
        """Analyse one ``yuv420p``/``yuv420p10le`` frame (as PyAV's ``to_ndarray`` gives it)."""
        spec = self.spec
        self.frames = index + 1
        y_full = frame[: self.height]
        out = np.count_nonzero(y_full < self.lo_code) + np.count_nonzero(y_full > self.hi_code)
        out_frac = out / y_full.size
        ys, us, vs = self._small(frame)
        yn = (ys - 16.0) / 219.0  # legal-range normalised luma
        rgb: npt.NDArray[np.uint8] | None = None
        png: str | None = None

        def thumb() -> str:
            nonlocal rgb, png
            if png is None:
                if rgb is None:
                    rgb = _rgb(ys, us, vs)
                png = thumbnail_b64(rgb)
            return png

        black = bool(float(np.mean(yn <= spec.black_max_level)) >= 0.98)
        self.black_frames += int(black)
        self._flag("black", black, index, float(yn.mean()), thumb)
        if spec.range_tolerance < 1.0:
            bad = bool(out_frac > spec.range_tolerance)
            self.out_of_range_frames += int(bad)
            self._flag("broadcast_range", bad, index, out_frac, thumb)
        # freeze on a strided sample of the full picture, not the block means: averaging would erase the
        # grain that tells a still, locked-off shot from a frame held by a digital freeze
        k = 2 * self.g
        sample = (
            y_full[: self.ah * k : k, : self.aw * k : k].astype(np.float32) / np.float32(1 << self.shift)
        ) / 219.0
        if self._prev is not None:
            mad = float(np.mean(np.abs(sample - self._prev)))
            self._flag("freeze", (mad < spec.freeze_noise) and not black, index, mad, thumb)
        self._prev = sample
        # photosensitive flashes
        lin = np.clip(yn, 0.0, 1.0) ** 2.2
        counts = self._lum.push(index, lin * np.float32(spec.flash_display_nits), self.window)
        limit = 2 * spec.flash_per_second
        failing = False
        if float(np.mean(counts > limit)) > spec.flash_area:
            self._flash_fail["flash"].append(index)
            failing = True
        rgb_now: npt.NDArray[np.uint8] = _rgb(ys, us, vs) if rgb is None else rgb
        rgb = rgb_now
        lr = (rgb_now.astype(np.float32) / 255.0) ** 2.2
        total = lr.sum(axis=2) + 1e-6
        red = np.where(
            lr[..., 0] / total >= 0.8, np.maximum(lr[..., 0] - lr[..., 1] - lr[..., 2], 0) * 320, 0
        )
        rcounts = self._red.push(index, red.astype(np.float32), self.window)
        if float(np.mean(rcounts > limit)) > spec.flash_area:
            self._flash_fail["red_flash"].append(index)
            failing = True
        # thumbnails of large transitions: kept for the last second, and for good once flashing fails
        if self._lum.area[-1] >= spec.flash_area or self._red.area[-1] >= spec.flash_area:
            self._recent[index] = thumb()
        for old in [i for i in self._recent if i <= index - self.window]:
            del self._recent[old]
        if failing and len(self._thumbs) < _MAX_THUMBS:
            self._thumbs.update(self._recent)

    def _flag(self, check: str, on: bool, index: int, value: float, thumb: Callable[[], str]) -> None:
        run = self._runs.setdefault(check, _Run())
        if on:
            if run.start < 0:
                run.start, run.worst = index, value
                if self._run_thumbs < _MAX_THUMBS:
                    run.thumb = thumb()
                    self._run_thumbs += 1
            run.last = index
            run.worst = max(run.worst, value) if check != "freeze" else min(run.worst, value)
        elif run.start >= 0:
            self._close(check, run)

    def _close(self, check: str, run: _Run) -> None:
        spec = self.spec
        start, end = run.start, run.last + 1
        if check == "freeze":
            start -= 1  # the frame that froze is the one before the first repeat
        seconds = (end - start) / self.fps
        if check == "black" and seconds >= spec.black_min_duration_s:
            edge = start == 0 or end >= self.frames  # closed at finish: touches the end
            self._events.append(
                FrameEvent(
                    "black",
                    "warn" if edge else "fail",
                    start,
                    end,
                    f"{seconds:.2f} s of black" + (" at the head/tail" if edge else ""),
                    run.thumb,
                )
            )
        elif check == "freeze" and seconds >= spec.freeze_min_duration_s:
            self._events.append(
                FrameEvent("freeze", "fail", start, end, f"{seconds:.2f} s frozen", run.thumb)
            )
        elif check == "broadcast_range":
            self._events.append(
                FrameEvent(
                    "broadcast_range",
                    "fail",
                    start,
                    end,
                    f"up to {100 * run.worst:.1f}% of pixels outside legal range",
                    run.thumb,
                )
            )
        run.start = run.last = -1
        run.thumb = None

    def finish(self) -> list[FrameEvent]:
        """Close open runs and return every event, in frame order."""
        self.frames = max(self.frames, 0)
        ending = self.frames
        for check, run in self._runs.items():
            if run.start >= 0:
                run.last = ending - 1
                self._close(check, run)
        for check, state in (("flash", self._lum), ("red_flash", self._red)):
            self._events.extend(self._flash_events(check, self._flash_fail[check], state.area))
        return sorted(self._events, key=lambda e: (e.start, e.check))

    def _flash_events(self, check: str, failing: list[int], area: list[float]) -> list[FrameEvent]:
        if not failing:
            return []
        idx = np.asarray(failing)
        breaks = np.flatnonzero(np.diff(idx) > 1)
        starts = np.concatenate(([idx[0]], idx[breaks + 1]))
        ends = np.concatenate((idx[breaks], [idx[-1]]))
        a = np.asarray(area)
        thr = self.spec.flash_area
        events = []
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            lo = max(0, s - self.window + 1)
            active = np.flatnonzero(a[lo : e + 1] >= thr)
            first = lo + int(active[0]) if active.size else lo
            last = lo + int(active[-1]) + 1 if active.size else e + 1
            rate = len(active) / 2 / max((last - first) / self.fps, 1e-9) if active.size else 0.0
            thumb = next((self._thumbs[i] for i in range(first, e + 1) if i in self._thumbs), None)
            kind = "red flashes" if check == "red_flash" else "flashes"
            events.append(
                FrameEvent(check, "fail", first, last, f"{kind} at about {rate:.1f} a second", thumb)
            )
        return events


def _rgb(
    ys: npt.NDArray[np.float32], us: npt.NDArray[np.float32], vs: npt.NDArray[np.float32]
) -> npt.NDArray[np.uint8]:
    """BT.709 legal-range YCbCr (8-bit scale) to full-range RGB uint8."""
    y = (ys - 16.0) / 219.0
    cb = (us - 128.0) / 224.0
    cr = (vs - 128.0) / 224.0
    r = y + 1.5748 * cr
    g = y - 0.1873 * cb - 0.4681 * cr
    b = y + 1.8556 * cb
    rgb = np.stack((r, g, b), axis=-1)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
