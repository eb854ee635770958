"""Picture side of the renderer: sequential source decoders, transitions, offline slates, compositing.

A :class:`SourceReader` keeps one decoder open per clip and advances it frame by frame; it seeks only
when asked for a frame far ahead of (or behind) where it stands, e.g. once at the clip's start. Frames
are converted and scaled to the output size by FFmpeg (PyAV ``reformat``), letterboxed when the aspect
differs. Tracks are opaque: the topmost track with a clip at a frame is the picture.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import DamagedMediaError, MediaError
from posthouse.engine.plan import TransitionSpan
from posthouse.engine.text import painter

__all__ = ["SEEK_AHEAD", "SourceReader", "blend_transition", "letterbox", "offline_slate"]

SEEK_AHEAD: Final = 48
"""A reader seeks instead of decoding forward when the wanted frame is further ahead than this."""

Frame = npt.NDArray[np.uint8]
Alpha = npt.NDArray[np.float32]


class SourceReader:
    """Sequential picture decoder for one file, returning RGB frames at the output size."""

    def __init__(self, path: Path, size: tuple[int, int]) -> None:
        import av

        self.path = path
        self.size = size
        try:
            self._container: Any = av.open(str(path))
        except FileNotFoundError as exc:
            raise MediaError("file not found", path=path) from exc
        except (av.error.FFmpegError, ValueError) as exc:
            raise DamagedMediaError(f"cannot open for decoding: {exc}", path=path) from exc
        if not self._container.streams.video:
            self._container.close()
            raise MediaError("no video stream", path=path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate or 24
        self._fps = float(rate)
        self._tb = float(self._stream.time_base) if self._stream.time_base else 1.0 / self._fps
        self._start_pts = int(self._stream.start_time or 0)
        self._frames: Iterator[Any] = self._container.decode(self._stream)
        self._index = -1  # index of the frame last decoded
        self._frame: Any = None
        self._cache: dict[int, tuple[Frame, Alpha | None]] = {}  # the last two frames converted
        self.past_end = False
        self.src_size = (int(self._stream.codec_context.width), int(self._stream.codec_context.height))
        fmt = self._stream.codec_context.format
        self.has_alpha = fmt is not None and (len(fmt.components) == 4 or str(fmt.name).startswith("ya"))

    def _frame_index(self, frame: Any) -> int:
        if frame.pts is None:
            return self._index + 1
        return round((int(frame.pts) - self._start_pts) * self._tb * self._fps)

    def _seek(self, index: int) -> None:
        target = self._start_pts + round(index / self._fps / self._tb)
        self._container.seek(target, stream=self._stream, backward=True)
        self._frames = self._container.decode(self._stream)
        self._index = -(1 << 40)
        self._frame = None

    def get(self, index: int) -> Frame:
        """RGB frame ``index`` (counted from the file's first frame); the last frame past the end."""
        return self.get_rgba(index)[0]

    def get_rgba(self, index: int) -> tuple[Frame, Alpha | None]:
        """RGB frame ``index`` and its straight alpha (float32 0..1, 0 in letterbox bars) when the
        stream has one (ProRes 4444, PNG/QuickTime RGBA...), else None."""
        import av

        index = max(index, 0)
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        if index < self._index or (index > self._index + SEEK_AHEAD and index > SEEK_AHEAD):
            self._seek(index)
        try:
            while self._index < index:
                try:
                    frame = next(self._frames)
                except StopIteration:
                    if self._frame is None:
                        raise DamagedMediaError(
                            "no picture at or after this frame", path=self.path, where=f"frame {index}"
                        ) from None
                    self.past_end = True
                    break
                self._frame = frame
                self._index = self._frame_index(frame)
        except av.error.FFmpegError as exc:
            raise DamagedMediaError(f"decode failed: {exc}", path=self.path, where=f"frame {index}") from exc
        result = self._convert(self._frame)
        if len(self._cache) >= 2:
            self._cache.pop(min(self._cache))
        self._cache[index] = result
        return result

    def _convert(self, frame: Any) -> tuple[Frame, Alpha | None]:
        w, h = self.size
        sw, sh = frame.width, frame.height
        scale = min(w / sw, h / sh)
        fw, fh = min(w, round(sw * scale / 2) * 2), min(h, round(sh * scale / 2) * 2)
        planes = frame.reformat(
            width=fw,
            height=fh,
            # swscale's rgb24 path reads 10-bit sources ~2 levels dark; gbrp is exact
            format="gbrap" if self.has_alpha else "gbrp",
            src_colorspace="ITU709",
            dst_colorspace="ITU709",
            src_color_range="MPEG",
            dst_color_range="JPEG",
            interpolation="BILINEAR",
        ).to_ndarray()
        return letterbox(planes, (w, h))

    def close(self) -> None:
        """Close the decoder."""
        self._container.close()


def letterbox(pixels: npt.NDArray[np.uint8], size: tuple[int, int]) -> tuple[Frame, Alpha | None]:
    """Split ``(h, w, 3|4)`` uint8 pixels into RGB and float32 alpha, centred in a ``size`` frame (black,
    alpha 0 around when they are smaller)."""
    w, h = size
    fh, fw = pixels.shape[:2]
    rgb, alpha = pixels[..., :3], None
    if pixels.shape[2] == 4:
        alpha = pixels[..., 3].astype(np.float32) * np.float32(1 / 255)
    if (fw, fh) == (w, h):
        return np.ascontiguousarray(rgb), alpha
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - fh) // 2, (w - fw) // 2
    out[y : y + fh, x : x + fw] = rgb
    if alpha is not None:
        full = np.zeros((h, w), np.float32)
        full[y : y + fh, x : x + fw] = alpha
        alpha = full
    return out, alpha


def blend_transition(a: Frame, b: Frame, span: TransitionSpan, record: int) -> Frame:
    """Frame ``record`` of a transition from ``a`` (outgoing) to ``b`` (incoming)."""
    t = (record - span.start + 0.5) / span.duration  # 0..1 across the span, centred in each frame
    if span.kind == "wipe":
        out = a.copy()
        edge = round(t * a.shape[1])
        out[:, :edge] = b[:, :edge]
        return out
    if span.kind == "dip_to_black":
        src, level = (a, 1.0 - 2.0 * t) if t < 0.5 else (b, 2.0 * t - 1.0)
        w = round(max(level, 0.0) * 256)
        return ((src.astype(np.uint16) * w) >> 8).astype(np.uint8)
    w = round(t * 256)
    mixed = a.astype(np.uint16) * (256 - w)
    mixed += b.astype(np.uint16) * w
    mixed += 128
    return (mixed >> 8).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def _slate(size: tuple[int, int], name: str) -> Frame:
    w, h = size
    frame = np.empty((h, w, 3), np.uint8)
    frame[...] = (110, 0, 0)
    big = painter(max(8, h // 10))
    small = painter(max(6, h // 20))
    title = "MEDIA OFFLINE"
    big.draw(frame, title, (w - big.width(title)) // 2, h // 2 - big.height, box=False)
    if name:
        small.draw(frame, name, (w - small.width(name)) // 2, h // 2 + small.height // 2, box=False)
    frame.flags.writeable = False
    return frame


def offline_slate(size: tuple[int, int], name: str) -> Frame:
    """The read-only "MEDIA OFFLINE" slate (white text on dark red) for clip ``name``."""
    return _slate(size, name)
