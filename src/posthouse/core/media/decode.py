"""Streaming decode to NumPy: picture frames one at a time, sound in blocks. Memory stays bounded."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import DamagedMediaError, MediaError

__all__ = ["audio_sample_rate", "iter_audio_blocks", "iter_video_frames", "read_audio"]


def _open(path: str | Path) -> Any:
    import av

    try:
        return av.open(str(path))
    except FileNotFoundError as exc:
        raise MediaError("file not found", path=path) from exc
    except (av.error.FFmpegError, ValueError) as exc:
        raise DamagedMediaError(f"cannot open for decoding: {exc}", path=path) from exc


def iter_video_frames(
    path: str | Path,
    *,
    format: str = "rgb24",
    stream: int = 0,
    start: int = 0,
    count: int | None = None,
    seek: bool = False,
) -> Iterator[tuple[int, npt.NDArray[Any]]]:
    """Yield ``(frame_index, array)`` for each picture frame, decoding sequentially from the start.

    Frame indices count from 0 at the stream's first frame. ``format`` is any PyAV pixel format
    (``rgb24``, ``gray``, ``rgb48le``...). With ``seek`` the decoder jumps to the key frame at or before
    ``start`` (frames counted by their timestamps from there) instead of decoding every frame before it:
    what a render-farm chunk in the middle of a long master wants. A decode error mid-stream raises
    DamagedMediaError naming the frame reached.
    """
    import av

    with _open(path) as container:
        if not container.streams.video:
            raise MediaError("no video stream", path=path)
        vs = container.streams.video[stream]
        vs.thread_type = "AUTO"
        # swscale's packed rgb24 path reads 10-bit sources about 2 levels dark; planar gbrp is exact and
        # PyAV hands it back in R, G, B order.
        fmt = "gbrp" if format == "rgb24" else format
        index = 0
        per_frame: Fraction | None = None  # timestamp ticks a frame, once seeking counts frames by time
        rate = vs.average_rate or vs.guessed_rate
        first = int(vs.start_time or 0)
        if seek and start > 0 and rate and vs.time_base:
            per_frame = 1 / (Fraction(rate) * Fraction(vs.time_base))
            container.seek(first + int(start * per_frame), stream=vs, backward=True)
        try:
            for frame in container.decode(vs):
                if per_frame is not None and frame.pts is not None:
                    index = round((int(frame.pts) - first) / per_frame)
                if index >= start:
                    if count is not None and index >= start + count:
                        return
                    yield index, frame.to_ndarray(format=fmt)
                index += 1
        except av.error.FFmpegError as exc:
            raise DamagedMediaError(f"decode failed: {exc}", path=path, where=f"frame {index}") from exc


def iter_audio_blocks(
    path: str | Path, *, block: int = 48000, stream: int = 0
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield ``(channels, n)`` float32 blocks of ``block`` samples (the last may be shorter).

    WAV/BWF is read with soundfile (exact and fast); everything else is decoded by PyAV and resampled
    only in sample format, never in rate.
    """
    p = Path(path)
    if p.suffix.lower() in (".wav", ".bwf", ".w64", ".aif", ".aiff", ".flac"):
        import soundfile as sf

        try:
            for chunk in sf.blocks(str(p), blocksize=block, dtype="float32", always_2d=True):
                yield np.ascontiguousarray(chunk.T)
        except RuntimeError as exc:
            raise DamagedMediaError(f"cannot read sound: {exc}", path=p) from exc
        return
    yield from _pyav_audio_blocks(p, block, stream)


def _pyav_audio_blocks(path: Path, block: int, stream: int) -> Iterator[npt.NDArray[np.float32]]:
    import av

    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError("no audio stream", path=path)
        aus = container.streams.audio[stream]
        pending: list[npt.NDArray[np.float32]] = []
        have = 0
        decoded = 0
        try:
            for frame in container.decode(aus):
                arr = frame.to_ndarray()
                if not frame.format.is_planar:
                    arr = arr.reshape(-1, frame.layout.nb_channels).T
                arr = _to_float(arr, frame.format.name)
                pending.append(arr)
                have += arr.shape[1]
                decoded += arr.shape[1]
                if have >= block:
                    joined = np.concatenate(pending, axis=1)  # once per filled block, not per frame
                    full = (have // block) * block
                    for start in range(0, full, block):
                        yield joined[:, start : start + block]
                    rest = joined[:, full:]
                    pending, have = [rest], rest.shape[1]
        except av.error.FFmpegError as exc:
            raise DamagedMediaError(f"decode failed: {exc}", path=path, where=f"sample {decoded}") from exc
        if have:
            yield np.concatenate(pending, axis=1)


def _to_float(arr: npt.NDArray[Any], fmt: str) -> npt.NDArray[np.float32]:
    if arr.dtype.kind == "f":
        return arr.astype(np.float32, copy=False)
    if fmt.startswith("u8"):
        return ((arr.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    scale = float(2 ** (8 * arr.dtype.itemsize - 1))
    return (arr.astype(np.float32) / scale).astype(np.float32)


def read_audio(path: str | Path, *, stream: int = 0) -> tuple[npt.NDArray[np.float32], int]:
    """Read a whole sound stream as ``(channels, samples)`` float32 and its sample rate (small files)."""
    p = Path(path)
    blocks = list(iter_audio_blocks(p, block=1 << 20, stream=stream))
    rate = audio_sample_rate(p, stream)
    if not blocks:
        return np.zeros((1, 0), np.float32), rate
    return np.concatenate(blocks, axis=1), rate


def audio_sample_rate(path: str | Path, stream: int = 0) -> int:
    """The sample rate of a sound stream (WAV/AIFF/FLAC through soundfile, anything else through PyAV)."""
    path = Path(path)
    if path.suffix.lower() in (".wav", ".bwf", ".w64", ".aif", ".aiff", ".flac"):
        import soundfile as sf

        return int(sf.info(str(path)).samplerate)
    with _open(path) as container:
        return int(container.streams.audio[stream].codec_context.sample_rate)
