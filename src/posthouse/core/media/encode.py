"""Encode picture and sound with PyAV: H.264, ProRes, DNxHR and PCM, with explicit pts and timecode.

A :class:`VideoWriter` writes to a temporary name next to the destination and renames it on a clean
close, so a killed encode never leaves a half file under the real name. RGB frames are converted to the
codec's Y'CbCr with the BT.709 matrix and tagged as such.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_path

__all__ = ["PRESETS", "VideoPreset", "VideoWriter"]


@dataclass(frozen=True, slots=True)
class VideoPreset:
    """A codec with the pixel format, options and container it is delivered in."""

    name: str
    codec: str
    pix_fmt: str
    options: dict[str, str] = field(default_factory=dict)
    audio_codec: str = "pcm_s24le"
    container: str = "mov"
    description: str = ""


PRESETS: dict[str, VideoPreset] = {
    p.name: p
    for p in (
        VideoPreset(
            "h264",
            "libx264",
            "yuv420p",
            {"crf": "18", "preset": "medium", "profile": "high"},
            "aac",
            "mp4",
            "H.264 High, review copies",
        ),
        VideoPreset(
            "h264-mov",
            "libx264",
            "yuv420p",
            {"crf": "18", "preset": "medium", "profile": "high"},
            "pcm_s24le",
            "mov",
            "H.264 High in QuickTime with PCM sound",
        ),
        VideoPreset(
            "prores-proxy",
            "prores_aw",
            "yuv422p10le",
            {"profile": "0", "vendor": "apl0"},
            description="Apple ProRes 422 Proxy",
        ),
        VideoPreset(
            "prores-lt",
            "prores_aw",
            "yuv422p10le",
            {"profile": "1", "vendor": "apl0"},
            description="Apple ProRes 422 LT",
        ),
        VideoPreset(
            "prores-422",
            "prores_aw",
            "yuv422p10le",
            {"profile": "2", "vendor": "apl0"},
            description="Apple ProRes 422",
        ),
        VideoPreset(
            "prores-hq",
            "prores_aw",
            "yuv422p10le",
            {"profile": "3", "vendor": "apl0"},
            description="Apple ProRes 422 HQ (mezzanine)",
        ),
        VideoPreset(
            "prores-4444",
            "prores_ks",
            "yuv444p10le",
            {"profile": "4", "vendor": "apl0"},
            description="Apple ProRes 4444",
        ),
        VideoPreset("dnxhr-lb", "dnxhd", "yuv422p", {"profile": "dnxhr_lb"}, description="Avid DNxHR LB"),
        VideoPreset("dnxhr-sq", "dnxhd", "yuv422p", {"profile": "dnxhr_sq"}, description="Avid DNxHR SQ"),
        VideoPreset("dnxhr-hq", "dnxhd", "yuv422p", {"profile": "dnxhr_hq"}, description="Avid DNxHR HQ"),
        VideoPreset(
            "dnxhr-hqx", "dnxhd", "yuv422p10le", {"profile": "dnxhr_hqx"}, description="Avid DNxHR HQX 10-bit"
        ),
        VideoPreset(
            "dnxhr-444", "dnxhd", "yuv444p10le", {"profile": "dnxhr_444"}, description="Avid DNxHR 444"
        ),
    )
}


class VideoWriter:
    """Write RGB frames (and optionally PCM sound) to a movie with timecode and reel name.

    Use as a context manager; the file appears under ``path`` only when the block ends without error.
    Frames are ``(height, width, 3)`` ``uint8`` RGB; sound blocks are ``(channels, samples)`` float32.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        rate: Fraction,
        preset: str = "prores-hq",
        start_timecode: str | None = None,
        reel: str | None = None,
        audio_channels: int = 0,
        sample_rate: int = 48000,
        metadata: dict[str, str] | None = None,
    ) -> None:
        if preset not in PRESETS:
            raise UsageError(f"unknown preset '{preset}'", hint=f"choose one of {', '.join(PRESETS)}")
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise UsageError(f"frame size must be positive and even, got {width}x{height}", path=path)
        self.path = Path(path)
        self.preset = PRESETS[preset]
        self.width, self.height, self.rate = width, height, Fraction(rate)
        self.start_timecode, self.reel = start_timecode, reel
        self.audio_channels, self.sample_rate = audio_channels, sample_rate
        self.metadata = dict(metadata or {})
        self.frames_written = 0
        self.samples_written = 0
        self._ctx: Any = None
        self._container: Any = None
        self._video: Any = None
        self._audio: Any = None

    def __enter__(self) -> VideoWriter:
        import av

        self._ctx = atomic_path(self.path)
        tmp = self._ctx.__enter__()
        try:
            options: dict[str, str] = {}
            if self.preset.container == "mov":
                options["write_tmcd"] = "1"
                if self.metadata:  # custom keys (scene, take, camera) need QuickTime 'mdta' tags
                    options["movflags"] = "use_metadata_tags"
            self._container = av.open(str(tmp), "w", format=self.preset.container, options=options)
            for k, v in self.metadata.items():
                self._container.metadata[k] = v
            vs = self._container.add_stream(self.preset.codec, rate=self.rate)
            vs.width, vs.height, vs.pix_fmt = self.width, self.height, self.preset.pix_fmt
            cc = vs.codec_context
            cc.thread_type = "FRAME"  # ProRes/DNxHR/x264 all scale with frame threads
            cc.thread_count = 0
            cc.colorspace = av.video.reformatter.Colorspace.ITU709
            cc.color_primaries = av.video.reformatter.ColorPrimaries.BT709
            cc.color_trc = av.video.reformatter.ColorTrc.BT709
            cc.color_range = av.video.reformatter.ColorRange.MPEG
            if self.preset.codec == "libx264":
                cc.gop_size = max(1, round(self.rate * 2))  # IDR every 2 s
            vs.options = dict(self.preset.options)
            if self.start_timecode:
                vs.metadata["timecode"] = self.start_timecode
            if self.reel:
                vs.metadata["reel_name"] = self.reel
            self._video = vs
            if self.audio_channels:
                n = self.audio_channels
                layout = {1: "mono", 2: "stereo", 6: "5.1"}.get(n, f"{n} channels")
                aus = self._container.add_stream(
                    self.preset.audio_codec, rate=self.sample_rate, layout=layout
                )
                self._audio = aus
        except BaseException as exc:
            self._abort(exc)
            raise
        return self

    def write_frame(self, rgb: npt.NDArray[np.uint8]) -> None:
        """Append one RGB frame; its pts is the running frame count."""
        import av

        if rgb.shape != (self.height, self.width, 3):
            raise MediaError(
                f"frame {self.frames_written} has shape {rgb.shape}, "
                f"expected ({self.height}, {self.width}, 3)",
                path=self.path,
            )
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame = frame.reformat(
            format=self.preset.pix_fmt,
            src_colorspace="ITU709",
            dst_colorspace="ITU709",
            src_color_range="JPEG",
            dst_color_range="MPEG",
        )
        frame.pts = self.frames_written
        frame.time_base = 1 / self.rate
        frame.pict_type = av.video.frame.PictureType.NONE
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def write_audio(self, block: npt.NDArray[np.float32]) -> None:
        """Append a ``(channels, samples)`` float block of sound."""
        import av

        if self._audio is None:
            raise MediaError("this writer was opened without sound (audio_channels=0)", path=self.path)
        if block.ndim != 2 or block.shape[0] != self.audio_channels:
            raise MediaError(
                f"sound block has shape {block.shape}, expected ({self.audio_channels}, n)", path=self.path
            )
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block, dtype=np.float32),
            format="fltp",
            layout=self._audio.codec_context.layout,
        )
        frame.sample_rate = self.sample_rate
        frame.pts = self.samples_written
        frame.time_base = Fraction(1, self.sample_rate)
        for packet in self._audio.encode(frame):
            self._container.mux(packet)
        self.samples_written += block.shape[1]

    def _abort(self, exc: BaseException) -> None:
        if self._container is not None:
            with contextlib.suppress(Exception):  # the file is being discarded anyway
                self._container.close()
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            ctx.__exit__(type(exc), exc, exc.__traceback__)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            self._abort(exc)
            return
        try:
            for packet in self._video.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                for packet in self._audio.encode(None):
                    self._container.mux(packet)
            self._container.close()
        except BaseException as err:
            self._abort(err)
            raise MediaError(f"could not finish writing: {err}", path=self.path) from err
        ctx, self._ctx = self._ctx, None
        ctx.__exit__(None, None, None)
