"""Flatten an OTIO timeline into per-track render plans: clips placed in record frames and samples.

Conventions (see the package docstring): the timeline rate is the project rate; video sources count
frames from their start timecode (``available_range``); audio sources count samples since midnight
(BWF ``TimeReference``). A transition extends the outgoing clip by its ``out_offset`` and the incoming
clip by its ``in_offset`` (OTIO semantics); the renderer blends the two over that span.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from posthouse.core.errors import TimecodeError, UsageError
from posthouse.core.time import Rate, rational_time_to_frames, rational_time_to_seconds

__all__ = [
    "TRANSITION_KINDS",
    "AudioClipPlan",
    "MarkerInfo",
    "TimelinePlan",
    "TransitionSpan",
    "VideoClipPlan",
    "clip_media_path",
    "plan_timeline",
    "read_posthouse_meta",
]

TRANSITION_KINDS: Final = ("dissolve", "dip_to_black", "wipe")
"""Transition styles rendered; anything else is drawn as a dissolve and reported."""


@dataclass(frozen=True, slots=True)
class TransitionSpan:
    """A transition into a clip: record frames ``[start, start + duration)``, blended by ``kind``."""

    start: int
    duration: int
    kind: str


@dataclass(slots=True)
class VideoClipPlan:
    """One picture clip on a track: where it plays (record frames) and which source frames it shows."""

    track: str
    name: str
    path: Path | None
    record_in: int  # nominal record in (frames, timeline start = 0)
    record_out: int  # nominal record out, exclusive
    head: int = 0  # frames played before record_in (incoming transition)
    tail: int = 0  # frames played after record_out (outgoing transition)
    source_in: int = 0  # file frame index shown at record_in
    speed: Fraction = Fraction(1)  # source frames per record frame; 0 = freeze
    source_tc_frames: int | None = None  # timecode frame count of file frame 0
    source_rate: Rate | None = None
    transition_in: TransitionSpan | None = None
    opacity: float = 1.0  # metadata posthouse.opacity, 0..1
    fade_in: int = 0  # frames faded up from black (metadata fade_in_frames)
    fade_out: int = 0  # frames faded down to black (metadata fade_out_frames)
    retime: str = "blend"  # "blend" | "nearest": how a fractional source position is shown
    alpha: str | None = None  # "straight" | "premultiplied"; None = by format (EXR premultiplied)
    sequence: tuple[Path, ...] = ()  # image files of an ImageSequenceReference, by image number
    generator: str | None = None  # GeneratorReference generator_kind ("title", "credits")
    parameters: dict[str, Any] = field(default_factory=dict)  # the generator's parameters

    @property
    def start(self) -> int:
        """First record frame it plays (transition included)."""
        return self.record_in - self.head

    @property
    def end(self) -> int:
        """Record frame after its last (transition included)."""
        return self.record_out + self.tail

    def source_frame(self, record: int) -> int:
        """File frame index shown at record frame ``record``: ``in + floor(k·speed)``."""
        return self.source_in + math.floor((record - self.record_in) * self.speed)

    def source_position(self, record: int) -> Fraction:
        """Exact (fractional) source position at record frame ``record``: ``in + k·speed``."""
        return self.source_in + (record - self.record_in) * self.speed


@dataclass(slots=True)
class AudioClipPlan:
    """One sound clip on a track, in seconds into its file and record frames."""

    track: str
    name: str
    path: Path | None
    record_in: int
    record_out: int
    head: int = 0
    tail: int = 0
    source_offset: Fraction = Fraction(0)  # seconds into the file at record_in
    channel: int | None = None
    gain_db: float = 0.0
    fade_in: int = 0  # frames (a transition's span when it is one)
    fade_out: int = 0

    @property
    def start(self) -> int:
        return self.record_in - self.head

    @property
    def end(self) -> int:
        return self.record_out + self.tail


@dataclass(frozen=True, slots=True)
class MarkerInfo:
    """A marker placed in record frames."""

    name: str
    record_frame: int
    duration: int
    color: str
    comment: str


@dataclass(slots=True)
class TimelinePlan:
    """Everything the renderer needs, in integers: video tracks bottom first, audio tracks in order."""

    name: str
    rate: Rate
    start_frame: int  # record timecode of frame 0 (global_start_time)
    duration: int
    video: list[list[VideoClipPlan]] = field(default_factory=list)
    video_names: list[str] = field(default_factory=list)
    audio: list[list[AudioClipPlan]] = field(default_factory=list)
    audio_names: list[str] = field(default_factory=list)
    markers: list[MarkerInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _frac_rate(rate: float) -> Fraction:
    try:
        return Rate.parse(rate).fps
    except TimecodeError:
        return Fraction(rate).limit_denominator(1_000_000)


def _url_path(url: str) -> Path:
    if url.startswith("file:"):
        return Path(unquote(urlparse(url).path))
    return Path(url)


def clip_media_path(clip: otio.schema.Clip) -> Path | None:
    """The file a clip's ``ExternalReference`` points at (a ``file:`` URL decoded, else the URL as a
    path); None for any other media reference or an empty URL."""
    ref = clip.media_reference
    if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
        return None
    return _url_path(str(ref.target_url))


def _sequence_paths(clip: otio.schema.Clip) -> tuple[Path, ...]:
    ref = clip.media_reference
    if not isinstance(ref, otio.schema.ImageSequenceReference):
        return ()
    try:
        count = int(ref.number_of_images_in_sequence())
        return tuple(_url_path(str(ref.target_url_for_image_number(i))) for i in range(count))
    except (ValueError, otio.exceptions.OTIOError):
        return ()


def read_posthouse_meta(obj: Any) -> dict[str, Any]:
    """A copy of ``obj.metadata["posthouse"]`` (an OTIO item, track, marker or timeline); ``{}`` when it
    is unset or not a mapping. Changing the copy leaves ``obj`` alone."""
    meta: Any = obj.metadata.get("posthouse") if obj.metadata else None
    return dict(meta) if meta is not None and hasattr(meta, "items") else {}


def _transition_kind(tr: otio.schema.Transition, where: str, warnings: list[str]) -> str:
    named = str(read_posthouse_meta(tr).get("transition") or tr.metadata.get("transition") or tr.name or "")
    key = named.strip().lower().replace("-", "_").replace(" ", "_")
    if key in TRANSITION_KINDS:
        return key
    if tr.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve:
        return "dissolve"
    warnings.append(f"{where}: unknown transition {tr.transition_type!r} {named!r}, rendered as a dissolve")
    return "dissolve"


def _speed(clip: otio.schema.Clip, where: str, warnings: list[str]) -> Fraction:
    speed = Fraction(1)
    for effect in clip.effects:
        if isinstance(effect, otio.schema.FreezeFrame):
            speed = Fraction(0)
        elif isinstance(effect, otio.schema.LinearTimeWarp):
            scalar = Fraction(effect.time_scalar).limit_denominator(10_000)
            if scalar < 0:
                warnings.append(f"{where}: reverse speed {float(scalar)} is not supported, played forward")
                scalar = -scalar
            speed *= scalar
        else:
            warnings.append(f"{where}: effect {effect.effect_name or effect.schema_name()!r} ignored")
    return speed


def plan_timeline(timeline: otio.schema.Timeline) -> TimelinePlan:
    """Place every clip of ``timeline`` in record frames; unusable pieces become warnings, not errors."""
    rate_time = timeline.global_start_time or timeline.duration()
    try:
        rate = Rate.parse(rate_time.rate)
    except TimecodeError as exc:
        raise UsageError(
            f"timeline {timeline.name!r}: unsupported frame rate {rate_time.rate}", hint=str(exc)
        ) from exc
    start = rational_time_to_frames(timeline.global_start_time, rate) if timeline.global_start_time else 0
    plan = TimelinePlan(
        name=timeline.name,
        rate=rate,
        start_frame=start,
        duration=rational_time_to_frames(timeline.duration(), rate),
    )
    v = a = 0
    for track in timeline.tracks:
        if track.kind == otio.schema.TrackKind.Audio:
            a += 1
            name = track.name or f"A{a}"
            plan.audio.append(_plan_audio_track(track, name, rate, plan.warnings))
            plan.audio_names.append(name)
        else:
            v += 1
            name = track.name or f"V{v}"
            plan.video.append(_plan_video_track(track, name, rate, plan.warnings))
            plan.video_names.append(name)
        for marker in track.markers:
            plan.markers.append(_marker(marker, rate, 0))
    for marker in timeline.tracks.markers:
        plan.markers.append(_marker(marker, rate, 0))
    for track in timeline.tracks:
        for item in track.find_children(descended_from_type=otio.core.Item, shallow_search=True):
            if item.markers:
                offset = rational_time_to_frames(track.range_of_child(item).start_time, rate)
                src_start = item.trimmed_range().start_time
                for marker in item.markers:
                    rel = marker.marked_range.start_time - src_start
                    plan.markers.append(_marker(marker, rate, offset, rel))
    plan.markers.sort(key=lambda m: m.record_frame)
    return plan


def _marker(
    marker: otio.schema.Marker, rate: Rate, offset: int, rel: otio.opentime.RationalTime | None = None
) -> MarkerInfo:
    at = rel if rel is not None else marker.marked_range.start_time
    return MarkerInfo(
        name=marker.name,
        record_frame=offset + rational_time_to_frames(at, rate),
        duration=rational_time_to_frames(marker.marked_range.duration, rate),
        color=str(marker.color),
        comment=str(marker.comment or ""),
    )


def _walk(
    track: otio.schema.Track, name: str, rate: Rate, warnings: list[str]
) -> list[tuple[otio.schema.Clip, int, int, int, int, TransitionSpan | None]]:
    """``(clip, record_in, record_out, head, tail, transition_in)`` for each clip of a track."""
    out: list[tuple[otio.schema.Clip, int, int, int, int, TransitionSpan | None]] = []
    pos = 0
    pending: TransitionSpan | None = None
    pending_head = 0
    previous: int | None = None  # index into out of the clip just before
    for child in track:
        if isinstance(child, otio.schema.Transition):
            where = f"track {name} at record frame {pos}"
            in_off = rational_time_to_frames(child.in_offset, rate)
            out_off = rational_time_to_frames(child.out_offset, rate)
            if previous is None or in_off + out_off <= 0:
                warnings.append(f"{where}: transition without a clip before it, ignored")
                continue
            clip, ri, ro, h, t, tr = out[previous]
            out[previous] = (clip, ri, ro, h, t + out_off, tr)
            pending = TransitionSpan(pos - in_off, in_off + out_off, _transition_kind(child, where, warnings))
            pending_head = in_off
            continue
        dur = rational_time_to_frames(child.duration(), rate)
        if isinstance(child, otio.schema.Clip):
            out.append((child, pos, pos + dur, pending_head if pending else 0, 0, pending))
            previous = len(out) - 1
        else:
            if pending is not None:
                warnings.append(f"track {name} at record frame {pos}: transition into a gap, ignored")
                clip, ri, ro, h, t, tr = out[-1]
                out[-1] = (clip, ri, ro, h, t - (pending.duration - pending_head), tr)
            if not isinstance(child, otio.schema.Gap):
                warnings.append(
                    f"track {name} at record frame {pos}: nested {child.schema_name()} not rendered (gap)"
                )
            previous = None
        pending, pending_head = None, 0
        pos += dur
    return out


def _available_start(clip: otio.schema.Clip) -> otio.opentime.RationalTime | None:
    ref = clip.media_reference
    rng = ref.available_range if ref is not None else None
    return rng.start_time if rng is not None else None


def _plan_video_track(
    track: otio.schema.Track, name: str, rate: Rate, warnings: list[str]
) -> list[VideoClipPlan]:
    plans: list[VideoClipPlan] = []
    for clip, ri, ro, head, tail, tr in _walk(track, name, rate, warnings):
        where = f"track {name}, clip {clip.name!r} at record frame {ri}"
        src = clip.trimmed_range().start_time
        clip_fps = _frac_rate(src.rate)
        avail = _available_start(clip)
        avail_frames = round(avail.rescaled_to(src.rate).value) if avail is not None else 0
        source_in = round(src.value) - avail_frames
        speed = _speed(clip, where, warnings) * clip_fps / rate.fps
        try:
            source_rate: Rate | None = Rate.parse(src.rate)
        except TimecodeError:
            source_rate = None
        meta = read_posthouse_meta(clip)
        ref = clip.media_reference
        sequence = _sequence_paths(clip)
        generator = str(ref.generator_kind) if isinstance(ref, otio.schema.GeneratorReference) else None
        retime = str(meta.get("retime", "blend")).lower()
        if retime not in ("blend", "nearest"):
            warnings.append(f"{where}: unknown retime {retime!r}, frames blended")
            retime = "blend"
        alpha = meta.get("alpha")
        plans.append(
            VideoClipPlan(
                track=name,
                name=clip.name,
                record_in=ri,
                record_out=ro,
                head=head,
                tail=tail,
                source_in=source_in,
                speed=speed,
                source_tc_frames=avail_frames if avail is not None else None,
                source_rate=source_rate,
                transition_in=tr,
                opacity=min(max(float(meta.get("opacity", 1.0)), 0.0), 1.0),
                fade_in=max(int(meta.get("fade_in_frames", 0)), 0),
                fade_out=max(int(meta.get("fade_out_frames", 0)), 0),
                retime=retime,
                alpha=str(alpha) if alpha in ("straight", "premultiplied") else None,
                sequence=sequence,
                path=sequence[0] if sequence else clip_media_path(clip),
                generator=generator,
                parameters=dict(ref.parameters) if generator is not None and ref.parameters else {},
            )
        )
    return plans


def _plan_audio_track(
    track: otio.schema.Track, name: str, rate: Rate, warnings: list[str]
) -> list[AudioClipPlan]:
    plans: list[AudioClipPlan] = []
    for clip, ri, ro, head, tail, tr in _walk(track, name, rate, warnings):
        where = f"track {name}, clip {clip.name!r} at record frame {ri}"
        if clip.effects:
            warnings.append(f"{where}: effects on sound clips are not rendered")
        meta = read_posthouse_meta(clip)
        avail = _available_start(clip)
        offset = rational_time_to_seconds(clip.trimmed_range().start_time)
        if avail is not None:
            offset -= rational_time_to_seconds(avail)
        channel = meta.get("channel")
        fade_in = int(meta.get("fade_in_frames", 0))
        if tr is not None:  # a crossfade: fade this clip in and the one before out over its span
            fade_in = tr.duration
            if plans:
                plans[-1].fade_out = tr.duration
        plans.append(
            AudioClipPlan(
                track=name,
                name=clip.name,
                path=clip_media_path(clip),
                record_in=ri,
                record_out=ro,
                head=head,
                tail=tail,
                source_offset=offset,
                channel=int(channel) if channel is not None else None,
                gain_db=float(meta.get("gain_db", 0.0)),
                fade_in=fade_in,
                fade_out=int(meta.get("fade_out_frames", 0)) if tail == 0 else 0,
            )
        )
    return plans
