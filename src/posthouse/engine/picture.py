"""Per-frame picture assembly: every video track's clip as a layer, composited top over bottom.

Clips are decoded by a :class:`~posthouse.engine.video.SourceReader` (movies) or an
:class:`~posthouse.engine.composite.ImageReader` (stills, image sequences), or drawn by a generator
(titles, credits). Each clip's frame is retimed (frame blending for fractional speeds), passed through
the optional ``clip_filter``, faded and made see-through by its opacity; a track's transition mixes two
such layers; the tracks composite over black. Burn-ins and subtitles go on top.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.time import Timecode
from posthouse.engine.composite import (
    IMAGE_EXTENSIONS,
    ImageReader,
    Layer,
    blend_frames,
    composite,
    fade_level,
    transition_layers,
)
from posthouse.engine.generators import GENERATOR_KINDS, CreditsRoll, TitleCard
from posthouse.engine.plan import AudioClipPlan, TimelinePlan, TransitionSpan, VideoClipPlan
from posthouse.engine.subtitles import SubtitleTrack
from posthouse.engine.text import painter
from posthouse.engine.video import SourceReader, offline_slate

__all__ = ["BurnInSpec", "ClipFilter", "OfflineClip", "Picture"]

Frame = npt.NDArray[np.uint8]

ClipFilter = Callable[[VideoClipPlan, int, npt.NDArray[np.uint8]], npt.NDArray[np.uint8]]
"""``(clip, record_frame, rgb) -> rgb``: a per-clip hook on each clip's picture (uint8 RGB at the output
size, already retimed), before fades, opacity, transitions and compositing; same shape and dtype back."""


@dataclass(frozen=True, slots=True)
class BurnInSpec:
    """Which burn-ins to draw: record TC (bottom left), source TC (bottom right), clip name (top left)
    and a watermark such as the cut version ``"v003"`` (top right)."""

    record_tc: bool = True
    source_tc: bool = True
    clip_name: bool = True
    watermark: str | None = None


@dataclass(frozen=True, slots=True)
class OfflineClip:
    """A clip whose media could not be used, with where it sits on the record side."""

    track: str
    name: str
    path: str | None
    record_in: str
    record_out: str
    reason: str


class Picture:
    """Per-frame compositor over the video tracks of a plan; owns the open decoders."""

    def __init__(
        self,
        plan: TimelinePlan,
        size: tuple[int, int],
        burn_in: BurnInSpec | None,
        clip_filter: ClipFilter | None = None,
        subtitles: SubtitleTrack | None = None,
    ) -> None:
        self.plan, self.size, self.burn_in = plan, size, burn_in
        self.clip_filter, self.subtitles = clip_filter, subtitles
        self.ptr = [0] * len(plan.video)
        self.readers: dict[int, SourceReader | ImageReader] = {}
        self.generated: dict[int, TitleCard | CreditsRoll] = {}
        self.offline: dict[int, OfflineClip] = {}
        self.warned: set[tuple[int, str]] = set()
        self.warnings: list[str] = []
        w, h = size
        self.black = np.zeros((h, w, 3), np.uint8)
        self.black.flags.writeable = False
        for track in plan.video:
            for clip in track:
                if clip.generator is not None:
                    if clip.generator not in GENERATOR_KINDS:
                        self.mark_offline(clip, f"unknown generator {clip.generator!r}")
                elif clip.path is None:
                    self.mark_offline(clip, "no media reference")
                elif not clip.path.exists():
                    self.mark_offline(clip, "file not found")

    def tc(self, frame: int) -> str:
        """Record timecode of record frame ``frame``."""
        return str(Timecode.from_frames(self.plan.start_frame + frame, self.plan.rate))

    def mark_offline(self, clip: VideoClipPlan | AudioClipPlan, reason: str) -> None:
        """List ``clip`` as offline (once); its frames become the MEDIA OFFLINE slate."""
        if id(clip) not in self.offline:
            path = str(clip.path) if clip.path is not None else None
            self.offline[id(clip)] = OfflineClip(
                clip.track, clip.name, path, self.tc(clip.record_in), self.tc(clip.record_out), reason
            )

    def warn_once(self, clip: VideoClipPlan, key: str, text: str) -> None:
        """Add a warning about ``clip`` once per ``key``."""
        if (id(clip), key) not in self.warned:
            self.warned.add((id(clip), key))
            self.warnings.append(f"track {clip.track}, clip {clip.name!r}: {text}")

    def close_reader(self, clip: VideoClipPlan) -> None:
        """Release the decoder (or generator) of a clip that has finished playing."""
        self.generated.pop(id(clip), None)
        reader = self.readers.pop(id(clip), None)
        if reader is not None:
            reader.close()

    def close(self) -> None:
        """Release every decoder."""
        for reader in self.readers.values():
            reader.close()
        self.readers.clear()
        self.generated.clear()

    def _reader(self, clip: VideoClipPlan) -> SourceReader | ImageReader:
        reader = self.readers.get(id(clip))
        if reader is None:
            assert clip.path is not None
            if clip.sequence or clip.path.suffix.lower() in IMAGE_EXTENSIONS:
                reader = ImageReader(clip.sequence or (clip.path,), self.size)
            else:
                reader = SourceReader(clip.path, self.size)
            self.readers[id(clip)] = reader
        return reader

    def _generated_layer(self, clip: VideoClipPlan, record: int) -> Layer:
        gen = self.generated.get(id(clip))
        where = f"track {clip.track}, clip {clip.name!r} ({clip.generator} generator)"
        if gen is None:
            if clip.generator == "title":
                gen = TitleCard(clip.parameters, self.size, where)
            else:
                gen = CreditsRoll(clip.parameters, self.size, clip.end - clip.start, where)
            self.generated[id(clip)] = gen
        k = record - clip.start
        return gen.frame(k, clip.end - clip.start) if isinstance(gen, TitleCard) else gen.frame(k)

    def _source_layer(self, clip: VideoClipPlan, record: int) -> Layer:
        reader = self._reader(clip)
        position = clip.source_position(record)
        index = math.floor(position)
        if index < 0:
            self.warn_once(clip, "head", "reaches before the start of its media; first frame held")
        rgb, alpha = reader.get_rgba(index)
        if reader.past_end:
            self.warn_once(clip, "tail", "reaches past the end of its media; last frame held")
        frac = float(position - index)
        if frac and clip.retime == "blend" and index >= 0:
            past_end = reader.past_end
            rgb2, alpha2 = reader.get_rgba(index + 1)
            reader.past_end = past_end  # the next frame only feeds the blend
            rgb, alpha = blend_frames(rgb, alpha, rgb2, alpha2, frac)
        if self.clip_filter is not None:
            rgb = self._filtered(clip, record, rgb)
        premultiplied = clip.alpha == "premultiplied" or (
            clip.alpha is None and isinstance(reader, ImageReader) and reader.premultiplied
        )
        return Layer.from_straight(rgb, alpha, premultiplied=premultiplied)

    def _filtered(self, clip: VideoClipPlan, record: int, rgb: Frame) -> Frame:
        assert self.clip_filter is not None
        out = self.clip_filter(clip, record, rgb)
        if not isinstance(out, np.ndarray) or out.shape != rgb.shape or out.dtype != rgb.dtype:
            got = f"{out.shape} {out.dtype}" if isinstance(out, np.ndarray) else type(out).__name__
            raise UsageError(
                f"clip_filter returned {got}, expected {rgb.shape} {rgb.dtype}",
                where=f"track {clip.track}, clip {clip.name!r}, record frame {record}",
            )
        return out

    def clip_layer(self, clip: VideoClipPlan, record: int) -> Layer:
        """The clip's picture at ``record`` with its fades and opacity applied."""
        if id(clip) in self.offline:
            return Layer(offline_slate(self.size, clip.name))
        try:
            if clip.generator is not None:
                layer = self._generated_layer(clip, record)
            else:
                layer = self._source_layer(clip, record)
        except (MediaError, UsageError) as exc:
            if isinstance(exc, UsageError) and clip.generator is None:
                raise
            self.close_reader(clip)
            self.mark_offline(clip, str(exc))
            return Layer(offline_slate(self.size, clip.name))
        level = fade_level(record - clip.start, clip.fade_in, clip.end - 1 - record, clip.fade_out)
        return layer.scaled(level).with_opacity(clip.opacity)

    def clip_frame(self, clip: VideoClipPlan, record: int) -> Frame:
        """The clip alone at ``record`` (over black when it has alpha)."""
        return composite([self.clip_layer(clip, record)], self.size)

    def frame(self, record: int) -> tuple[Frame, VideoClipPlan | None, int]:
        """Composited frame at ``record``, the clip it mostly shows and that clip's source frame.

        Tracks are visited top down; a track's layer hides those below unless it has alpha or opacity.
        """
        layers: list[Layer] = []
        shown: VideoClipPlan | None = None
        covered = False
        for t in range(len(self.plan.video) - 1, -1, -1):
            clips = self.plan.video[t]
            while self.ptr[t] < len(clips) and clips[self.ptr[t]].end <= record:
                self.close_reader(clips[self.ptr[t]])
                self.ptr[t] += 1
            if covered:
                continue
            picked: list[VideoClipPlan] = []
            j = self.ptr[t]
            while j < len(clips) and clips[j].start <= record:
                if clips[j].end > record:
                    picked.append(clips[j])
                j += 1
            if not picked:
                continue
            if len(picked) == 1:
                top = picked[0]
                layer = self.clip_layer(top, record)
            else:
                a, b = picked[0], picked[-1]
                span = b.transition_in or TransitionSpan(b.start, max(a.end - b.start, 1), "dissolve")
                layer = transition_layers(
                    self.clip_layer(a, record), self.clip_layer(b, record), span, record
                )
                top = a if 2 * (record - span.start) < span.duration else b
            shown = shown or top
            layers.append(layer)
            covered = layer.opaque
        if not layers:
            return self.black, None, 0
        assert shown is not None
        return composite(layers, self.size), shown, shown.source_frame(record)

    def draw_burn_in(self, frame: Frame, record: int, clip: VideoClipPlan | None, source: int) -> Frame:
        """``frame`` with the burn-ins of ``record`` on a copy (``frame`` itself when there are none)."""
        spec = self.burn_in
        if spec is None:
            return frame
        out = frame.copy()
        w, h = self.size
        text = painter(max(8, h // 22))
        margin = max(2, h // 36)
        bottom = h - margin - text.height
        if spec.record_tc:
            text.draw(out, self.tc(record), margin, bottom)
        if clip is not None and spec.source_tc and clip.source_tc_frames is not None and clip.source_rate:
            label = str(Timecode.from_frames(clip.source_tc_frames + max(source, 0), clip.source_rate))
            text.draw(out, label, w - margin - text.width(label), bottom)
        if clip is not None and spec.clip_name and clip.name:
            text.draw(out, clip.name, margin, margin)
        if spec.watermark:
            text.draw(out, spec.watermark, w - margin - text.width(spec.watermark), margin)
        return out
