"""Streamers and punches burnt onto a reference picture, for the conductor at the scoring stage.

A *streamer* is a vertical band that sweeps the picture from left to right over a fixed number of
frames and ends exactly on a sync point, where a *punch* (a bright disc in the centre) marks the hit.
Streamers are colour-coded by kind: yellow for a cue start, green for a hit, red for a cue end. *Flutter
punches* are small punches on the beats of the click leading into a hit.

Frame convention (all frames are whole picture frames; the sync frame is ``S``, the length ``L``):

* the streamer is drawn on the ``L`` frames ``S − L + 1 … S``; on the ``k``-th of them (``k = 1 … L``)
  its *right* edge is at column ``x = round(W · k / L)`` (exclusive), the band covering
  ``[x − band, x)``; so it enters at the left on ``S − L + 1`` and its right edge reaches the right side of
  the picture (``x = W``) on the sync frame ``S`` itself;
* the punch is drawn on ``S`` (and ``S + 1`` … when ``punch_frames`` > 1); a flutter (beat) punch is one
  frame, on the frame that holds the beat (``cue start + round(seconds × fps)``).

Event positions are *record frames*: 0 is the first frame of action (the cut's first frame, the frame of
a :class:`~posthouse.score.cues.MusicCue`'s ``start``), so in a turnover reference movie with its 8-second
leader the picture frame index is ``first_frame_of_action + frame``.

Frames are streamed (decoded, drawn and encoded one at a time) and the output is written atomically by
:class:`posthouse.core.media.VideoWriter`, with the source's size, rate, start timecode and, when it has
any, its sound copied (decoded and re-encoded with the preset's sound codec: PCM for ``.mov``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import Rate, RateLike
from posthouse.score.cues import MusicCue

__all__ = [
    "DEFAULT_COLOURS",
    "EVENT_KINDS",
    "PlacedEvent",
    "StreamerReport",
    "StreamerStyle",
    "SyncEvent",
    "cue_events",
    "default_length",
    "draw_streamers",
    "flutter_events",
    "place_events",
    "render_streamers",
]

RGB = tuple[int, int, int]
Frame = npt.NDArray[np.uint8]

EVENT_KINDS: Final = ("start", "hit", "end", "beat")
"""Kinds of sync event: a cue's start, a hit inside it, its end, and a flutter punch on a beat."""

DEFAULT_COLOURS: Final[dict[str, RGB]] = {
    "start": (255, 210, 0),  # yellow
    "hit": (0, 210, 60),  # green
    "end": (235, 30, 30),  # red
    "beat": (255, 255, 255),  # white
}
"""Streamer colour of each kind (RGB, 8-bit)."""

_DEFAULT_SECONDS: Final = 2


def default_length(rate: RateLike) -> int:
    """The default streamer length: 2 timecode seconds (48 frames at 24 or 23.976, 50 at 25)."""
    return _DEFAULT_SECONDS * Rate.parse(rate).timebase


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """A sync point to mark: its record frame (0 = first frame of action), kind, streamer length, colour.

    ``length`` 0 draws no streamer (punch only); ``colour`` None takes the kind's
    :data:`DEFAULT_COLOURS` entry; ``punch`` False draws the streamer only.
    """

    frame: int
    kind: str = "hit"
    length: int = 48
    colour: RGB | None = None
    label: str = ""
    punch: bool = True

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise UsageError(f"sync event kind {self.kind!r} is not one of {', '.join(EVENT_KINDS)}")
        if isinstance(self.frame, bool) or not isinstance(self.frame, int | np.integer):
            raise UsageError(f"sync event frame must be a whole frame, not {self.frame!r}")
        if self.length < 0:
            raise UsageError(f"streamer length must be 0 or more frames, not {self.length}")
        if self.colour is not None and (len(self.colour) != 3 or any(not 0 <= c <= 255 for c in self.colour)):
            raise UsageError(f"colour must be three values 0-255, not {self.colour!r}")

    @property
    def rgb(self) -> RGB:
        """The colour drawn: ``colour`` or the kind's default."""
        if self.colour is not None:
            r, g, b = self.colour
            return int(r), int(g), int(b)
        return DEFAULT_COLOURS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "frame": int(self.frame),
            "kind": self.kind,
            "length": self.length,
            "colour": list(self.rgb),
            "label": self.label,
            "punch": self.punch,
        }


@dataclass(frozen=True, slots=True)
class StreamerStyle:
    """How streamers and punches look. Sizes are fractions of the picture (``None``: automatic)."""

    band_width: int | None = None  # pixels; None: 0.8 % of the width, even, at least 4
    streamer_alpha: float = 1.0
    punch_radius: float = 0.12  # of the picture height
    beat_radius: float = 0.05  # of the picture height
    punch_colour: RGB = (255, 255, 255)
    punch_alpha: float = 1.0
    punch_frames: int = 1  # frames the punch stays up: the sync frame and the next ones
    labels: bool = True  # cue ID / hit label in the event's colour, top centre, while it is drawn
    text_size: int | None = None  # pixels; None: a 18th of the height, at least 10

    def __post_init__(self) -> None:
        if not 0.0 <= self.streamer_alpha <= 1.0 or not 0.0 <= self.punch_alpha <= 1.0:
            raise UsageError("streamer and punch opacity must be between 0 and 1")
        if self.punch_frames < 1:
            raise UsageError(f"punch_frames must be 1 or more, not {self.punch_frames}")
        if self.band_width is not None and self.band_width < 1:
            raise UsageError(f"band width must be at least 1 pixel, not {self.band_width}")

    def band(self, width: int) -> int:
        """Band width in pixels for a picture ``width`` wide."""
        if self.band_width is not None:
            return min(self.band_width, width)
        return min(width, max(4, 2 * round(width * 0.004)))


# ------------------------------------------------------------------------------------------ making events


def cue_events(
    cues: Iterable[MusicCue],
    *,
    length: int,
    kinds: Sequence[str] = ("start", "hit", "end"),
    colours: dict[str, RGB] | None = None,
) -> list[SyncEvent]:
    """Sync events of music cues, sorted by frame: a streamer into each cue's start, each hit, and its end.

    The end event sits on ``cue.end`` (the first frame after the music, the cue's end timecode). Labels
    are ``"1M1 START"``, ``"1M1 door slam"`` (the hit's label, else ``"1M1 HIT"``), ``"1M1 END"``.
    """
    bad = [k for k in kinds if k not in ("start", "hit", "end")]
    if bad:
        raise UsageError(f"cue event kinds must be start, hit or end, not {', '.join(bad)}")
    pick = dict(colours or {})
    out: list[SyncEvent] = []
    for cue in cues:
        if "start" in kinds:
            out.append(SyncEvent(cue.start, "start", length, pick.get("start"), f"{cue.cue_id} START"))
        if "hit" in kinds:
            out.extend(
                SyncEvent(h.frame, "hit", length, pick.get("hit"), f"{cue.cue_id} {h.label or 'HIT'}")
                for h in cue.hits
            )
        if "end" in kinds:
            out.append(SyncEvent(cue.end, "end", length, pick.get("end"), f"{cue.cue_id} END"))
    return sorted(out, key=lambda e: (e.frame, EVENT_KINDS.index(e.kind)))


def flutter_events(
    beat_times: npt.ArrayLike,
    *,
    cue_start: int,
    rate: RateLike,
    hits: Sequence[int] | None = None,
    beats: int = 8,
    colour: RGB | None = None,
) -> list[SyncEvent]:
    """Flutter punches: one-frame small punches on beats (seconds from the cue start, e.g.
    ``TempoMap.beat_times``) of a cue starting at record frame ``cue_start``.

    With ``hits``, only the ``beats`` beats before each hit frame are kept (a beat on the hit frame
    itself is left to the hit's own punch); without, every beat. A beat lands on the frame that holds it:
    ``cue_start + round(seconds × fps)``.
    """
    fps = Rate.parse(rate).fps
    times = np.asarray(beat_times, np.float64).ravel()
    frames = cue_start + np.floor(times * float(fps) + 0.5).astype(np.int64)
    frames = np.unique(frames)
    if hits is not None:
        keep = np.zeros(frames.shape, bool)
        for hit in hits:
            before = np.flatnonzero(frames < hit)
            keep[before[-beats:] if beats > 0 else before[:0]] = True
        frames = frames[keep & ~np.isin(frames, np.asarray(list(hits), np.int64))]
    return [SyncEvent(int(f), "beat", 0, colour) for f in frames]


# ------------------------------------------------------------------------------------------- placement


@dataclass(frozen=True, slots=True)
class PlacedEvent:
    """An event at picture frame indices: the streamer's first frame, the sync frame, the last drawn."""

    event: SyncEvent
    sync: int
    first: int
    last: int


def place_events(
    events: Iterable[SyncEvent], *, first_frame_of_action: int = 0, punch_frames: int = 1
) -> list[PlacedEvent]:
    """Picture frame indices of each event (sorted by sync frame), per the module's frame convention."""
    placed = []
    for e in events:
        sync = first_frame_of_action + int(e.frame)
        first = sync - e.length + 1 if e.length else sync
        held = (1 if e.kind == "beat" else punch_frames) if e.punch else 1
        placed.append(PlacedEvent(e, sync, min(first, sync), sync + held - 1))
    return sorted(placed, key=lambda p: (p.sync, EVENT_KINDS.index(p.event.kind)))


# ---------------------------------------------------------------------------------------------- drawing


def _blend_region(region: Frame, colour: RGB, alpha: npt.NDArray[np.uint16] | int) -> None:
    """``region = region·(1−a) + colour·a`` in place, ``a`` in 0..256 (scalar or broadcastable)."""
    col = np.asarray(colour, np.uint16)
    region[...] = ((region.astype(np.uint16) * (256 - alpha) + col * alpha) >> 8).astype(np.uint8)


class _Disc:
    """A filled, edge-smoothed disc centred on the picture: its bounding box and 0..256 coverage."""

    def __init__(self, width: int, height: int, radius: float) -> None:
        r = max(1.0, radius)
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        self.y0, self.y1 = max(0, int(np.floor(cy - r - 1))), min(height, int(np.ceil(cy + r + 2)))
        self.x0, self.x1 = max(0, int(np.floor(cx - r - 1))), min(width, int(np.ceil(cx + r + 2)))
        ys = np.arange(self.y0, self.y1, dtype=np.float64)[:, None] - cy
        xs = np.arange(self.x0, self.x1, dtype=np.float64)[None, :] - cx
        cover = np.clip(r + 0.5 - np.hypot(ys, xs), 0.0, 1.0)
        self.cover = cover

    def alpha(self, opacity: float) -> npt.NDArray[np.uint16]:
        return np.rint(self.cover * opacity * 256.0).astype(np.uint16)[:, :, None]


class _Painter:
    """Draws the events active on a frame; masks are computed once per picture size."""

    def __init__(self, width: int, height: int, style: StreamerStyle) -> None:
        self.width, self.height, self.style = width, height, style
        self.band = style.band(width)
        self.band_alpha = round(style.streamer_alpha * 256)
        self.punch = _Disc(width, height, style.punch_radius * height)
        self.beat = _Disc(width, height, style.beat_radius * height)
        self.punch_alpha = self.punch.alpha(style.punch_alpha)
        self.beat_alpha = self.beat.alpha(style.punch_alpha)
        self.text_size = style.text_size or max(10, height // 18)

    def right_edge(self, placed: PlacedEvent, index: int) -> int:
        """Exclusive right edge of the band on picture frame ``index`` (k-th of L: round(W·k/L))."""
        length = placed.event.length
        k = index - (placed.sync - length)
        return (2 * self.width * k + length) // (2 * length)

    def draw(self, frame: Frame, index: int, active: Sequence[PlacedEvent]) -> None:
        for p in active:  # streamers under punches
            if p.event.length and p.first <= index <= p.sync:
                x1 = self.right_edge(p, index)
                x0 = max(0, x1 - self.band)
                if x1 > x0:
                    _blend_region(frame[:, x0:x1], p.event.rgb, self.band_alpha)
        for p in active:
            if p.event.punch and p.sync <= index <= p.last:
                disc, alpha = (
                    (self.beat, self.beat_alpha) if p.event.kind == "beat" else (self.punch, self.punch_alpha)
                )
                colour = p.event.rgb if p.event.kind == "beat" else self.style.punch_colour
                _blend_region(frame[disc.y0 : disc.y1, disc.x0 : disc.x1], colour, alpha)
        if self.style.labels:
            labelled = [p for p in active if p.event.label and p.event.kind != "beat"]
            if labelled:
                from posthouse.engine.text import painter

                text = painter(self.text_size)
                pad = max(4, self.text_size // 2)
                for row, p in enumerate(labelled):  # top centre, clear of the usual corner burn-ins
                    x = (self.width - text.width(p.event.label)) // 2
                    text.draw(frame, p.event.label, x, pad + row * (text.height + pad), color=p.event.rgb)


def draw_streamers(
    frames: Iterable[tuple[int, Frame]],
    events: Iterable[SyncEvent],
    *,
    first_frame_of_action: int = 0,
    style: StreamerStyle | None = None,
) -> Iterator[tuple[int, Frame]]:
    """Overlay streamers, punches and labels on ``(index, rgb)`` frames (as from
    :func:`posthouse.core.media.iter_video_frames`), lazily; frames with nothing to draw pass through."""
    st = style or StreamerStyle()
    placed = place_events(events, first_frame_of_action=first_frame_of_action, punch_frames=st.punch_frames)
    firsts = np.asarray([p.first for p in placed], np.int64)
    lasts = np.asarray([p.last for p in placed], np.int64)
    painter: _Painter | None = None
    for index, frame in frames:
        active = np.flatnonzero((firsts <= index) & (index <= lasts))
        if active.size:
            h, w = frame.shape[:2]
            if painter is None or (painter.width, painter.height) != (w, h):
                painter = _Painter(w, h, st)
            frame = np.array(frame, dtype=np.uint8, copy=True)
            painter.draw(frame, index, [placed[i] for i in active])
        yield index, frame


# ---------------------------------------------------------------------------------------------- render


@dataclass(slots=True)
class StreamerReport:
    """What was drawn where (picture frame indices from the output's first frame)."""

    output: str
    rate: str
    width: int
    height: int
    frames: int
    first_frame_of_action: int
    start_timecode: str | None
    preset: str
    audio_channels: int
    audio_samples: int
    events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def outside(self) -> list[dict[str, Any]]:
        """Events whose sync frame is not in the movie (not drawn, or only a streamer that never lands)."""
        return [e for e in self.events if not e["in_movie"]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["outside"] = self.outside
        return data


def _preset_for(out: Path, preset: str | None) -> str:
    if preset is not None:
        return preset
    suffix = out.suffix.lower()
    if suffix == ".mp4":
        return "h264"
    if suffix == ".mov":
        return "h264-mov"
    raise UsageError(
        f"cannot choose a codec for a {suffix or 'suffix-less'} file", path=out, hint="name it .mov or .mp4"
    )


class _AudioCopy:
    """Feeds the source's sound to the writer in step with the picture (bounded memory)."""

    def __init__(self, blocks: Iterator[npt.NDArray[np.float32]], sample_rate: int, fps: Fraction) -> None:
        self.blocks, self.sample_rate, self.fps = blocks, sample_rate, fps
        self.pending: npt.NDArray[np.float32] | None = None
        self.done = False

    def until(self, writer: Any, samples: int | None) -> None:
        """Write sound up to sample ``samples`` (None: all of it)."""
        while samples is None or writer.samples_written < samples:
            if self.pending is None or self.pending.shape[1] == 0:
                if self.done:
                    return
                try:
                    self.pending = next(self.blocks)
                except StopIteration:
                    self.done = True
                    return
            want = self.pending.shape[1] if samples is None else samples - writer.samples_written
            chunk, self.pending = self.pending[:, :want], self.pending[:, want:]
            writer.write_audio(np.ascontiguousarray(chunk))

    def after_frame(self, writer: Any, index: int) -> None:
        self.until(writer, int((index + 1) * self.sample_rate / self.fps))


def render_streamers(
    source: str | Path | Iterable[tuple[int, Frame]],
    out: str | Path,
    events: Sequence[SyncEvent],
    *,
    first_frame_of_action: int = 0,
    rate: RateLike | None = None,
    style: StreamerStyle | None = None,
    preset: str | None = None,
    audio: bool = True,
    start_timecode: str | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> StreamerReport:
    """Burn streamers and punches for ``events`` into a copy of ``source``, written atomically to ``out``.

    ``source`` is a movie (its rate, size, start timecode and sound are kept) or ``(index, rgb)`` frames
    (then ``rate`` is required and there is no sound). ``first_frame_of_action`` is the picture frame index
    of record frame 0 (192 in a 23.976 turnover reference with its 8 s leader). ``preset`` defaults to
    ``h264-mov`` for ``.mov`` (PCM sound) and ``h264`` for ``.mp4`` (AAC). Events whose sync frame is not
    in the movie are drawn as far as they reach and listed in :attr:`StreamerReport.outside`.
    """
    from posthouse.core.media import VideoWriter, iter_audio_blocks, iter_video_frames, probe

    out = Path(out)
    st = style or StreamerStyle()
    chosen = _preset_for(out, preset)
    if first_frame_of_action < 0:
        raise UsageError(f"first frame of action must be 0 or more, not {first_frame_of_action}", path=out)
    if not out.parent.is_dir():
        raise MediaError("output folder does not exist", path=out.parent)
    total: int | None = None
    channels, sample_rate = 0, 48000
    if isinstance(source, str | Path):
        src = Path(source)
        if src.resolve() == out.resolve():
            raise UsageError(
                "the output would overwrite the source movie", path=out, hint="choose another --out"
            )
        info = probe(src)
        if not info.video:
            raise MediaError("no picture stream", path=src)
        video = info.video[0]
        if video.rate is None:
            raise MediaError("the picture stream has no frame rate", path=src)
        r = Rate.parse(rate if rate is not None else video.rate)
        if r.fps != video.rate:
            raise UsageError(f"rate {r} does not match the movie's {Rate.parse(video.rate)}", path=src)
        width, height, total = video.width, video.height, video.frames or None
        start_timecode = start_timecode or info.start_timecode
        if audio and info.audio:
            channels, sample_rate = info.audio[0].channels, info.audio[0].sample_rate
        frames: Iterable[tuple[int, Frame]] = iter_video_frames(src)
    else:
        if rate is None:
            raise UsageError("frames need a rate", path=out, hint="pass rate=")
        r = Rate.parse(rate)
        it = iter(source)
        try:
            first = next(it)
        except StopIteration:
            raise UsageError("no frames to draw on", path=out) from None
        height, width = first[1].shape[:2]
        frames = _chain(first, it)
        src = None
    placed = place_events(events, first_frame_of_action=first_frame_of_action, punch_frames=st.punch_frames)
    progress.start(f"streamers {out.name}", total)
    written = 0
    with VideoWriter(
        out,
        width=width,
        height=height,
        rate=r.fps,
        preset=chosen,
        start_timecode=start_timecode,
        audio_channels=channels,
        sample_rate=sample_rate,
    ) as writer:
        feed = (
            _AudioCopy(iter_audio_blocks(src, block=sample_rate // 10), sample_rate, r.fps)
            if channels and src is not None
            else None
        )
        for index, frame in draw_streamers(
            frames, events, first_frame_of_action=first_frame_of_action, style=st
        ):
            if cancel is not None:
                cancel.raise_if_cancelled()
            writer.write_frame(frame)
            written += 1
            if feed is not None:
                feed.after_frame(writer, index)
            progress.advance()
        if feed is not None:
            feed.until(writer, None)
        samples = writer.samples_written
    progress.finish()
    report = StreamerReport(
        output=str(out),
        rate=str(r),
        width=width,
        height=height,
        frames=written,
        first_frame_of_action=first_frame_of_action,
        start_timecode=start_timecode,
        preset=chosen,
        audio_channels=channels,
        audio_samples=samples,
    )
    for p in placed:
        in_movie = 0 <= p.sync < written
        shown = max(0, min(p.sync, written - 1) - max(p.first, 0) + 1) if p.event.length else 0
        entry = {
            **p.event.to_dict(),
            "sync_frame": p.sync,
            "streamer_from": p.first,
            "in_movie": in_movie,
            "streamer_frames_shown": shown,
        }
        report.events.append(entry)
        name = p.event.label or p.event.kind
        if not in_movie:
            report.problems.append(
                f"{name}: sync at record frame {p.event.frame} (picture frame {p.sync}) is outside the "
                f"movie's frames 0-{written - 1}"
            )
        elif p.event.length and p.first < 0:
            report.problems.append(
                f"{name}: streamer starts before the movie; only {shown} of {p.event.length} frames shown"
            )
        elif p.event.frame < 0:
            report.problems.append(f"{name}: sync is before the first frame of action (in the leader)")
    return report


def _chain(first: tuple[int, Frame], rest: Iterator[tuple[int, Frame]]) -> Iterator[tuple[int, Frame]]:
    yield first
    yield from rest
