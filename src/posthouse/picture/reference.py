"""Turnover reference movie: SMPTE-style head leader with a 2-pop, the cut with burn-ins, a tail pop.

The reference that goes to sound, music and VFX is built as a new OTIO timeline and rendered by
:func:`posthouse.engine.render_timeline`: the cut's tracks, each pushed later by the 8-second leader,
under an extra top picture track and an extra sound track carrying generated media (the countdown
leader movie, the pop frames and a 1 kHz pop tone), written to a work folder next to ``out``.

Layout, in frames, with ``tb`` the timebase (24 at 23.976, 25 at 25):

* ``[0, 6·tb)`` countdown cards 8…3, one per timecode second;
* ``6·tb`` the 2-pop: one frame showing "2" with one frame of 1 kHz tone at −20 dBFS in both channels,
  exactly ``2·tb`` frames before the first frame of action (FFOA), then black and silence;
* ``[8·tb, 8·tb + cut)`` the cut (FFOA = ``8·tb``, last frame of action LFOA = FFOA + cut − 1);
* ``FFOA + cut + 2·tb`` the tail pop: one white frame with the same tone, starting exactly 2 s after
  the end of LFOA; then ``tb`` frames of black.

The record timecode starts ``8·tb`` frames before the cut's (00:59:52:00 for a 01:00:00:00 cut).
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import opentimelineio as otio
from PIL import Image, ImageDraw, ImageFont

from posthouse.core.errors import MediaError, TimecodeError, UsageError
from posthouse.core.media import Bext, VideoWriter, write_bwf
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import (
    Rate,
    RateLike,
    Timecode,
    frames_to_rational_time,
    frames_to_time_range,
    rational_time_to_frames,
)
from posthouse.engine import (
    SAMPLE_RATE,
    BurnInSpec,
    RenderReport,
    default_size,
    plan_timeline,
    render_timeline,
)
from posthouse.engine.text import load_font

__all__ = [
    "LEADER_SECONDS",
    "POP_FREQUENCY",
    "POP_LEVEL_DBFS",
    "ReferenceReport",
    "render_reference",
]

LEADER_SECONDS = 8
"""Head leader length in timecode seconds; it ends exactly at the first frame of action."""
POP_FREQUENCY = 1000.0
"""Pop tone frequency in Hz."""
POP_LEVEL_DBFS = -20.0
"""Pop tone peak level in dBFS."""

_COUNTDOWN = (8, 7, 6, 5, 4, 3)
_POP_SECONDS = 2
_TAIL_SECONDS = 1
_FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSansMono-Bold.ttf", "LiberationSans-Bold.ttf")

Frame = npt.NDArray[np.uint8]


@dataclass(slots=True)
class ReferenceReport:
    """Where everything landed in the reference movie (frame indices from its first frame)."""

    output: str
    rate: str
    start_timecode: str
    frames: int
    ffoa_frame: int
    lfoa_frame: int
    two_pop_frame: int
    tail_pop_frame: int
    cut_frames: int
    render: RenderReport

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["render"] = self.render.to_dict()
        return data


# ------------------------------------------------------------------------------------------- generated media


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return load_font(size, _FONTS)


def _centered_text(draw: ImageDraw.ImageDraw, size: tuple[int, int], text: str, fill: int) -> None:
    w, h = size
    font = _font(max(8, int(h * 0.55)))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((w - (right - left)) / 2 - left, (h - (bottom - top)) / 2 - top), text, font=font, fill=fill)


def _card(size: tuple[int, int], number: int) -> Frame:
    """A countdown card: mid grey, two rings, a crosshair and the number in black."""
    w, h = size
    image = Image.new("L", (w, h), 128)
    draw = ImageDraw.Draw(image)
    line = max(1, h // 90)
    cx, cy = w / 2, h / 2
    for radius in (0.45 * h, 0.38 * h):
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=235, width=line)
    draw.line((0, cy, w, cy), fill=40, width=line)
    draw.line((cx, 0, cx, h), fill=40, width=line)
    _centered_text(draw, size, str(number), 0)
    grey = np.asarray(image, dtype=np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _pop_frames(size: tuple[int, int]) -> tuple[Frame, Frame]:
    """The head pop frame (white, a black "2") and the tail pop frame (plain white)."""
    w, h = size
    image = Image.new("L", (w, h), 255)
    _centered_text(ImageDraw.Draw(image), size, "2", 0)
    head = np.repeat(np.asarray(image, dtype=np.uint8)[:, :, None], 3, axis=2)
    return head, np.full((h, w, 3), 255, np.uint8)


def _write_leader_media(work: Path, size: tuple[int, int], rate: Rate) -> tuple[Path, Path, Path]:
    """Write the countdown movie, the two-frame pop movie and the pop tone into ``work``."""
    w, h = size
    leader, pops, tone = work / "leader.mov", work / "pop.mov", work / "pop.wav"
    with VideoWriter(leader, width=w, height=h, rate=rate.fps, preset="prores-hq") as writer:
        for number in _COUNTDOWN:
            card = _card(size, number)
            for _ in range(rate.timebase):
                writer.write_frame(card)
    with VideoWriter(pops, width=w, height=h, rate=rate.fps, preset="prores-hq") as writer:
        for frame in _pop_frames(size):
            writer.write_frame(frame)
    # one second of tone; the clips on the timeline take exactly one frame of it
    t = np.arange(SAMPLE_RATE, dtype=np.float64) / SAMPLE_RATE
    amplitude = 10.0 ** (POP_LEVEL_DBFS / 20.0)
    samples = (amplitude * np.sin(2.0 * np.pi * POP_FREQUENCY * t)).astype(np.float32)
    write_bwf(tone, samples[None], SAMPLE_RATE, bext=Bext(description="posthouse 1 kHz pop"))
    return leader, pops, tone


# ------------------------------------------------------------------------------------------- timeline


def _gap(frames: int, rate: Rate) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=frames_to_time_range(0, frames, rate))


def _clip(path: Path, start: int, frames: int, rate: Rate, *, sound: bool = False) -> otio.schema.Clip:
    """A generated-media clip without a name or source timecode (so no clip burn-ins are drawn)."""
    available = None
    if sound:  # sound sources count samples since midnight; the pop file's TimeReference is 0
        available = otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, SAMPLE_RATE), otio.opentime.RationalTime(SAMPLE_RATE, SAMPLE_RATE)
        )
    ref = otio.schema.ExternalReference(target_url=path.as_uri(), available_range=available)
    return otio.schema.Clip(
        name="", media_reference=ref, source_range=frames_to_time_range(start, frames, rate)
    )


def _shift_markers(item: otio.core.Item | otio.schema.Stack, frames: int, rate: Rate) -> None:
    offset = frames_to_rational_time(frames, rate)
    for marker in item.markers:
        rng = marker.marked_range
        marker.marked_range = otio.opentime.TimeRange(rng.start_time + offset, rng.duration)


def _cut_rate(timeline: otio.schema.Timeline, rate: RateLike) -> Rate:
    try:
        want = Rate.parse(rate)
    except TimecodeError as exc:
        raise UsageError(f"unsupported reference rate {rate!r}", where=f"timeline {timeline.name!r}") from exc
    have = plan_timeline(timeline).rate
    if have != want:
        raise UsageError(
            f"the cut runs at {have} fps, not the requested {want} fps",
            where=f"timeline {timeline.name!r}",
            hint="render the reference at the cut's own rate",
        )
    return want


def _reference_timeline(
    cut: otio.schema.Timeline, rate: Rate, media: tuple[Path, Path, Path], start: int, cut_frames: int
) -> otio.schema.Timeline:
    leader_path, pop_path, tone_path = media
    tb = rate.timebase
    lead = LEADER_SECONDS * tb
    head_pop = lead - _POP_SECONDS * tb
    tail_pop = lead + cut_frames + _POP_SECONDS * tb
    ref = otio.schema.Timeline(
        name=f"{cut.name} reference" if cut.name else "reference",
        global_start_time=frames_to_rational_time(start, rate),
    )
    ref.metadata["posthouse"] = {"reference_of": cut.name, "leader_frames": lead}
    ref.tracks.markers.extend(copy.deepcopy(m) for m in cut.tracks.markers)
    _shift_markers(ref.tracks, lead, rate)
    cut_video: list[otio.schema.Track] = []
    cut_audio: list[otio.schema.Track] = []
    for track in cut.tracks:
        moved = copy.deepcopy(track)
        _shift_markers(moved, lead, rate)
        moved.insert(0, _gap(lead, rate))
        (cut_audio if moved.kind == otio.schema.TrackKind.Audio else cut_video).append(moved)

    count = len(_COUNTDOWN) * tb
    leader = otio.schema.Track(name="LEADER", kind=otio.schema.TrackKind.Video)
    leader.append(_clip(leader_path, 0, count, rate))
    leader.append(_gap(head_pop - count, rate))
    leader.append(_clip(pop_path, 0, 1, rate))
    leader.append(_gap(tail_pop - head_pop - 1, rate))
    leader.append(_clip(pop_path, 1, 1, rate))
    leader.append(_gap(_TAIL_SECONDS * tb, rate))

    pops = otio.schema.Track(name="POP", kind=otio.schema.TrackKind.Audio)
    pops.append(_gap(head_pop, rate))
    pops.append(_clip(tone_path, 0, 1, rate, sound=True))
    pops.append(_gap(tail_pop - head_pop - 1, rate))
    pops.append(_clip(tone_path, 0, 1, rate, sound=True))
    pops.append(_gap(_TAIL_SECONDS * tb, rate))

    for track in [*cut_video, leader, *cut_audio, pops]:
        ref.tracks.append(track)
    return ref


def _output_size(timeline: otio.schema.Timeline, size: tuple[int, int] | None) -> tuple[int, int]:
    """``size``, else the engine's default: the first readable picture source's size."""
    return size if size is not None else default_size(plan_timeline(timeline))


def render_reference(
    timeline: otio.schema.Timeline,
    out: Path,
    *,
    rate: RateLike,
    size: tuple[int, int] | None = None,
    watermark: str | None = None,
    preset: str = "h264-mov",
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> ReferenceReport:
    """Render the turnover reference of ``timeline`` to ``out`` (atomically): leader, 2-pop, the cut
    with burn-ins (record TC, source TC, clip name, ``watermark`` such as ``"reel1 v005"``), tail pop.

    ``rate`` must be the cut's rate. ``preset`` defaults to ``h264-mov`` (H.264 with PCM sound, so the
    pops sit on exact samples). Raises :class:`UsageError` for an empty cut, a rate mismatch or a bad
    size, and :class:`~posthouse.core.progress.Cancelled` when ``cancel`` is set.
    """
    out = Path(out)
    r = _cut_rate(timeline, rate)
    cut_frames = rational_time_to_frames(timeline.duration(), r)
    if cut_frames <= 0:
        raise UsageError(f"timeline {timeline.name!r} is empty: no reference to render", path=out)
    w, h = _output_size(timeline, size)
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise UsageError(f"output size must be positive and even, got {w}x{h}", path=out)
    tb = r.timebase
    lead = LEADER_SECONDS * tb
    cut_start = rational_time_to_frames(timeline.global_start_time, r) if timeline.global_start_time else 0
    start = (cut_start - lead) % r.frames_per_day()
    if not out.parent.is_dir():
        raise MediaError("output folder does not exist", path=out.parent)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.reference-", dir=out.parent))
    try:
        media = _write_leader_media(work, (w, h), r)
        reference = _reference_timeline(timeline, r, media, start, cut_frames)
        report = render_timeline(
            reference,
            out,
            preset=preset,
            size=(w, h),
            burn_in=BurnInSpec(watermark=watermark),
            progress=progress,
            cancel=cancel,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ReferenceReport(
        output=str(out),
        rate=str(r),
        start_timecode=str(Timecode.from_frames(start, r)),
        frames=report.frames,
        ffoa_frame=lead,
        lfoa_frame=lead + cut_frames - 1,
        two_pop_frame=lead - _POP_SECONDS * tb,
        tail_pop_frame=lead + cut_frames + _POP_SECONDS * tb,
        cut_frames=cut_frames,
        render=report,
    )
