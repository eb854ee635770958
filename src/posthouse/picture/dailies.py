"""Dailies: review copies of every take with synced sound, show look and burn-ins; optional NLE media.

For each take, one pass over the camera original (decode → grade → burn in → encode, frame by frame):

- ``<out>/<take>_<clip>.mp4``: H.264 High (preset ``h264``) + AAC stereo at the source rate, with the
  production sound placed by the sync result and the burn-ins of :mod:`posthouse.picture.burnin`;
- with ``nle=True`` also ``<out>/<take>_<clip>.mov``: DNxHR LB, clean picture (graded, no burn-ins),
  the production tracks as separate 24-bit PCM channels, the source timecode and reel in the file;
- ``<out>/<take>_<clip>.jpg``: a graded thumbnail from the middle of the take (well after the slate);
- ``<out>/<take>_<clip>.dailies.json``: what was made and the fingerprint of what made it. A later run
  whose inputs (files, sync result, LUT/CDL, settings) did not change reuses the outputs.

Sound placement: picture frame 0 lies on production-sound sample ``offset_samples``, and the recorder's
clock runs ``drift_ppm`` fast, so output sample ``n`` (picture time ``n / sr``) is the sound at position
``offset + n · (1 + ppm·1e-6)``. That position is evaluated with a 32-tap Kaiser-windowed sinc (vectorised
over samples, a loop over the taps only), which resamples by ``1/(1 + ppm·1e-6)``; where the sound does
not cover the picture (sound rolled late, cut early) the output is silence, and the output is exactly as
long as the picture (frame ``i`` carries samples ``ceil(i·sr/fps)`` up to ``ceil((i+1)·sr/fps)``).
The sound file is read in one-second windows with random access (bounded memory). Camera scratch audio
(for unsynced takes) is decoded as a stream alongside the picture.

Review mix (documented choice): if the recorder wrote a mix track (named ``MIX``, or ``MIX L``/``MIX R``)
it is used as is; otherwise a dual-mono centre mix of ``0.6 · boom + 0.4 · Σ lavs`` (boom = the track
named ``BOOM``/``BM``/``SHOTGUN``, or track 1 when the file names none; lavs are summed rather than
averaged because each carries its own actor), clipped to ±1. The NLE file carries every track unmixed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import DamagedMediaError, MediaError, PosthouseError, TimecodeError
from posthouse.core.fsutil import atomic_path, atomic_write_text
from posthouse.core.jobs import Executor, SerialExecutor
from posthouse.core.media.encode import VideoWriter
from posthouse.core.media.probe import MediaInfo, probe
from posthouse.core.progress import NULL_PROGRESS, Cancelled, CancelToken, Progress
from posthouse.core.resample import TAPS, read_at
from posthouse.core.time import Rate, Timecode
from posthouse.picture.burnin import BurnIn, BurnInText
from posthouse.picture.color import ColorPipeline
from posthouse.picture.dailies_report import write_report

__all__ = [
    "DailiesOutput",
    "DailiesTake",
    "mix_matrix",
    "output_stem",
    "place_sound",
    "render_dailies",
    "render_take",
    "write_report",
]

_SIDECAR_VERSION: Final = 1
_THUMB_WIDTH: Final = 320
_HASH_SPAN: Final = 1 << 20  # bytes hashed at each end of a large input for the fingerprint
_STATUSES: Final = ("synced", "conflict", "unsynced")
_T = TypeVar("_T")


# ----------------------------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class DailiesTake:
    """One camera clip of a take with its sync result: what :func:`render_take` renders."""

    take: str  # "1A-2"
    picture: Path  # camera original
    sound: Path | None  # production sound (polyphonic BWF) or None
    offset_samples: int | None  # sound sample under picture frame 0 (negative: sound starts later)
    drift_ppm: float | None  # recorder clock error, positive = fast
    scene: str | None
    take_number: str | None
    camera: str | None
    clip: str
    circled: bool
    start_timecode: str | None
    rate: Fraction
    sound_timecode: str | None  # the sound file's own start timecode label
    sync_method: str | None
    confidence: float | None
    status: str  # "synced" | "conflict" | "unsynced"
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DailiesOutput:
    """What :func:`render_take` made for one take (``error`` set, outputs ``None``, when it failed)."""

    take: str
    review: Path | None
    nle: Path | None
    thumbnail: Path | None
    frames: int
    audio_samples: int
    error: str | None
    clip: str | None = None
    sample_rate: int | None = None
    sound_source: str | None = None  # "production", "scratch" or "silence"
    warnings: tuple[str, ...] = ()
    skipped: bool = False  # reused from an earlier run: inputs and settings unchanged

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("review", "nle", "thumbnail"):
            d[key] = str(d[key]) if d[key] is not None else None
        d["warnings"] = list(self.warnings)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DailiesOutput:
        paths = {k: Path(d[k]) if d.get(k) else None for k in ("review", "nle", "thumbnail")}
        return cls(
            take=str(d["take"]),
            frames=int(d["frames"]),
            audio_samples=int(d["audio_samples"]),
            error=d.get("error"),
            clip=d.get("clip"),
            sample_rate=d.get("sample_rate"),
            sound_source=d.get("sound_source"),
            warnings=tuple(d.get("warnings", ())),
            skipped=bool(d.get("skipped", False)),
            **paths,
        )


# ------------------------------------------------------------------------------------------ naming


def output_stem(item: DailiesTake) -> str:
    """``<take>_<clip>`` with anything unsafe in a file name replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{item.take}_{item.clip}").strip("._") or "take"


# ------------------------------------------------------------------------------------------- sound


def place_sound(
    source: npt.NDArray[np.float32], start: int, count: int, offset: int, ppm: float, *, source_start: int = 0
) -> npt.NDArray[np.float32]:
    """Output samples ``start .. start+count`` of picture-locked sound from ``source`` (channels, n).

    Output sample ``n`` is the source at position ``offset + n·(1 + ppm·1e-6)``, where ``source[:, 0]``
    is sample ``source_start`` of the sound file; outside the source it is silence. With ``ppm == 0`` it
    is an exact integer shift; else a windowed-sinc interpolation, vectorised over samples.
    """
    channels, available = source.shape
    out = np.zeros((channels, count), np.float32)
    if count <= 0:
        return out
    if ppm == 0.0:
        lo = offset + start - source_start
        a, b = max(lo, 0), min(lo + count, available)
        if a < b:
            out[:, a - lo : b - lo] = source[:, a:b]
        return out
    ratio = 1.0 + ppm * 1e-6
    pos = offset - source_start + np.arange(start, start + count, dtype=np.float64) * ratio
    return read_at(source, pos)


class _Feed(Protocol):
    channels: int
    sample_rate: int
    kind: str

    def render(self, start: int, count: int) -> npt.NDArray[np.float32]:
        """Output-timeline samples ``start .. start+count``, called with consecutive ranges."""

    def close(self) -> None: ...


class _ProductionFeed:
    """The production sound placed on the picture by offset and drift, read in windows from the file."""

    kind = "production"

    def __init__(self, path: Path, offset: int, ppm: float) -> None:
        import soundfile as sf

        try:
            self._file = sf.SoundFile(str(path))
        except (RuntimeError, OSError) as exc:
            raise DamagedMediaError(f"cannot read the production sound: {exc}", path=path) from exc
        self.path = path
        self.channels = int(self._file.channels)
        self.sample_rate = int(self._file.samplerate)
        self.length = int(self._file.frames)
        self.offset, self.ppm = offset, ppm

    def position(self, n: float) -> float:
        """Position in the sound file of output sample ``n``."""
        return self.offset + n * (1.0 + self.ppm * 1e-6)

    def render(self, start: int, count: int) -> npt.NDArray[np.float32]:
        lo = math.floor(self.position(start)) - TAPS
        hi = math.ceil(self.position(start + count)) + TAPS + 1
        a, b = max(lo, 0), min(hi, self.length)
        if a >= b:
            return np.zeros((self.channels, count), np.float32)
        try:
            self._file.seek(a)
            data = self._file.read(b - a, dtype="float32", always_2d=True)
        except (RuntimeError, OSError) as exc:
            raise DamagedMediaError(f"cannot read samples {a}..{b}: {exc}", path=self.path) from exc
        source = np.ascontiguousarray(data.T)
        return place_sound(source, start, count, self.offset, self.ppm, source_start=a)

    def close(self) -> None:
        self._file.close()


class _ScratchFeed:
    """The camera's own sound, streamed from the clip (already locked to its picture)."""

    kind = "scratch"

    def __init__(self, path: Path, channels: int, sample_rate: int) -> None:
        from posthouse.core.media.decode import iter_audio_blocks

        self.channels, self.sample_rate = channels, sample_rate
        self._blocks: Iterator[npt.NDArray[np.float32]] | None = iter_audio_blocks(path, block=sample_rate)
        self._pending = np.zeros((channels, 0), np.float32)

    def render(self, start: int, count: int) -> npt.NDArray[np.float32]:
        while self._pending.shape[1] < count and self._blocks is not None:
            block = next(self._blocks, None)
            if block is None:
                self._blocks = None
                break
            self._pending = np.concatenate([self._pending, block[: self.channels]], axis=1)
        out = np.zeros((self.channels, count), np.float32)
        got = min(count, self._pending.shape[1])
        out[:, :got] = self._pending[:, :got]
        self._pending = self._pending[:, got:]
        return out

    def close(self) -> None:
        blocks, self._blocks = self._blocks, None
        if blocks is not None and hasattr(blocks, "close"):
            blocks.close()


class _SilenceFeed:
    kind = "silence"

    def __init__(self, sample_rate: int = 48000) -> None:
        self.channels, self.sample_rate = 1, sample_rate

    def render(self, start: int, count: int) -> npt.NDArray[np.float32]:
        return np.zeros((1, count), np.float32)

    def close(self) -> None:
        pass


class _FrameAudio:
    """Cuts a feed into per-frame blocks (frame ``i``: samples ``ceil(i·sr/fps) .. ceil((i+1)·sr/fps)``)."""

    def __init__(self, feed: _Feed, rate: Fraction) -> None:
        self.feed, self.rate = feed, rate
        self._chunk_frames = max(1, math.ceil(rate))  # render about a second at a time
        self._start_frame = 0
        self._chunk = np.zeros((feed.channels, 0), np.float32)
        self._chunk_at = 0  # output sample of the chunk's first column

    def boundary(self, frame: int) -> int:
        """First output sample of ``frame``."""
        num, den = self.rate.numerator, self.rate.denominator
        return -((-frame * self.feed.sample_rate * den) // num)

    def block(self, frame: int) -> npt.NDArray[np.float32]:
        a, b = self.boundary(frame), self.boundary(frame + 1)
        if b > self._chunk_at + self._chunk.shape[1] or a < self._chunk_at:
            end = self.boundary(frame + self._chunk_frames)
            self._chunk = self.feed.render(a, end - a)
            self._chunk_at = a
        return self._chunk[:, a - self._chunk_at : b - self._chunk_at]


_BOOM = re.compile(r"\b(BOOM|BM|SHOTGUN|MS\s*MID)\b")
_MIX = re.compile(r"^\s*(MIX|MIXDOWN|MX)\s*([LR])?\s*$")


def mix_matrix(track_names: Sequence[str], channels: int) -> npt.NDArray[np.float32]:
    """The ``(2, channels)`` review downmix of a polyphonic recording (see the module docstring)."""
    names = [n.upper() for n in track_names] if len(track_names) == channels else [""] * channels
    m = np.zeros((2, channels), np.float32)
    if channels == 1:
        m[:, 0] = 1.0
        return m
    mixes = [(i, mt) for i, n in enumerate(names) if (mt := _MIX.match(n)) is not None]
    if mixes:
        sides = {mt.group(2): i for i, mt in mixes}
        if "L" in sides and "R" in sides:
            m[0, sides["L"]] = m[1, sides["R"]] = 1.0
        else:
            m[:, mixes[0][0]] = 1.0
        return m
    booms = [i for i, n in enumerate(names) if _BOOM.search(n)]
    if not booms and not any(names):
        booms = [0]  # no names: track 1 is the boom by convention
    lavs = [i for i in range(channels) if i not in booms]
    if not booms or not lavs:  # all one kind: an equal blend
        m[:, :] = 1.0 / channels
        return m
    for i in booms:
        m[:, i] = 0.6 / len(booms)
    for i in lavs:
        m[:, i] = 0.4
    return m


# ------------------------------------------------------------------------------------------ picture


def _iter_frames(path: Path, fmt: str, size: tuple[int, int] | None) -> Iterator[npt.NDArray[Any]]:
    """Decode the first picture stream frame by frame as ``fmt`` at ``size`` (scaled by swscale)."""
    import av

    try:
        container = av.open(str(path))
    except FileNotFoundError as exc:
        raise MediaError("camera file not found", path=path) from exc
    except (av.error.FFmpegError, ValueError) as exc:
        raise DamagedMediaError(f"cannot open for decoding: {exc}", path=path) from exc
    with container:
        if not container.streams.video:
            raise MediaError("no picture stream", path=path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = size if size is not None else (None, None)
        index = 0
        try:
            for frame in container.decode(stream):
                untagged = int(frame.colorspace) == 2  # unspecified: HD and up is Rec.709
                yield frame.to_ndarray(
                    format=fmt,
                    width=width,
                    height=height,
                    interpolation="BICUBIC" if size is not None else None,
                    src_colorspace="ITU709" if untagged else None,
                )
                index += 1
        except av.error.FFmpegError as exc:
            raise DamagedMediaError(f"decode failed: {exc}", path=path, where=f"frame {index}") from exc


def _graded_frames(
    path: Path, fmt: str, size: tuple[int, int] | None, color: ColorPipeline | None
) -> Iterator[npt.NDArray[np.uint8]]:
    """Decoded frames with the look applied, as 8-bit RGB."""
    for decoded in _iter_frames(path, fmt, size):
        yield color.apply(decoded) if color is not None else decoded


def _prefetch(source: Iterator[_T], depth: int) -> Iterator[_T]:
    """Run ``source`` in a helper thread, ``depth`` items ahead (bounded memory).

    Decoding, swscale and OpenColorIO release the GIL, so the next frames are decoded and graded while
    this thread burns in and encodes. Errors are re-raised here; leaving early stops the helper, which
    closes ``source`` in its own thread.
    """
    q: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: int, value: Any) -> bool:
        while not stop.is_set():
            try:
                q.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for value in source:
                if not put(0, value):
                    break
            else:
                put(1, None)
        except BaseException as exc:  # handed to the consumer
            put(2, exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=run, name="dailies-decode", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = q.get()
            if kind == 0:
                yield value
            elif kind == 2:
                raise value
            else:
                return
    finally:
        stop.set()
        worker.join()


def _timecode_labels(
    item: DailiesTake, rate: Fraction, warnings: list[str]
) -> tuple[Timecode | None, Timecode | None]:
    """The picture's and the sound's start timecodes (``None`` when absent or not readable)."""
    try:
        tc_rate = Rate.parse(rate)
    except TimecodeError:
        warnings.append(f"no timecode burn-in: {float(rate):.3f} fps is not a timecode rate")
        return None, None
    start: Timecode | None = None
    sound: Timecode | None = None
    if item.start_timecode:
        try:
            start = Timecode.parse(item.start_timecode, tc_rate)
        except TimecodeError as exc:
            warnings.append(f"source timecode {item.start_timecode!r} unreadable: {exc.message}")
    else:
        warnings.append("the camera file has no timecode: burn-in counts from 00:00:00:00")
    if start is None:
        start = Timecode.from_frames(0, tc_rate)
    if item.sound_timecode:
        try:
            sound = Timecode.parse(item.sound_timecode, tc_rate)
        except TimecodeError as exc:
            warnings.append(f"sound timecode {item.sound_timecode!r} unreadable: {exc.message}")
    return start, sound


def _even(n: int) -> int:
    return max(2, n - n % 2)


# ------------------------------------------------------------------------------------------ fingerprint


def _file_print(path: Path | None) -> list[Any] | None:
    """Size, mtime and an xxh64 of the first and last MiB: cheap, and catches a re-copied file."""
    if path is None:
        return None
    import xxhash

    try:
        st = path.stat()
        h = xxhash.xxh64()
        with open(path, "rb") as fh:
            h.update(fh.read(_HASH_SPAN))
            if st.st_size > 2 * _HASH_SPAN:
                fh.seek(st.st_size - _HASH_SPAN)
                h.update(fh.read(_HASH_SPAN))
    except OSError:
        return [str(path), None]
    return [str(path.resolve()), st.st_size, st.st_mtime_ns, h.hexdigest()]


def _fingerprint(
    item: DailiesTake, lut: Path | None, cdl: Path | None, nle: bool, size: tuple[int, int] | None
) -> str:
    fields = {k: (str(v) if isinstance(v, Path | Fraction) else v) for k, v in asdict(item).items()}
    fields["notes"] = list(item.notes)
    doc = {
        "version": _SIDECAR_VERSION,
        "item": fields,
        "files": [
            _file_print(Path(item.picture)),
            _file_print(Path(item.sound) if item.sound is not None else None),
            _file_print(Path(lut) if lut is not None else None),
            _file_print(Path(cdl) if cdl is not None else None),
        ],
        "settings": {"nle": nle, "size": list(size) if size else None},
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _reuse(sidecar: Path, fingerprint: str) -> DailiesOutput | None:
    try:
        doc = json.loads(sidecar.read_text("utf-8"))
        if doc.get("fingerprint") != fingerprint or doc.get("version") != _SIDECAR_VERSION:
            return None
        out = DailiesOutput.from_dict(doc["output"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    made = [p for p in (out.review, out.nle, out.thumbnail) if p is not None]
    if out.error is not None or not all(p.is_file() for p in made):
        return None
    return replace(out, skipped=True)


# --------------------------------------------------------------------------------------------- render


def _failure(item: DailiesTake, message: str) -> DailiesOutput:
    return DailiesOutput(
        take=item.take,
        review=None,
        nle=None,
        thumbnail=None,
        frames=0,
        audio_samples=0,
        error=message,
        clip=item.clip,
    )


def render_take(
    item: DailiesTake,
    out_dir: Path,
    *,
    lut: Path | None = None,
    cdl: Path | None = None,
    nle: bool = False,
    size: tuple[int, int] | None = None,
    force: bool = False,
) -> DailiesOutput:
    """Render one take's dailies into ``out_dir``; a failure comes back as ``DailiesOutput.error``.

    Outputs already made from the same inputs and settings are reused (``skipped=True``) unless
    ``force``. ``size`` scales the picture (width, height; rounded down to even numbers).
    """
    out_dir = Path(out_dir)
    stem = output_stem(item)
    sidecar = out_dir / f"{stem}.dailies.json"
    try:
        fingerprint = _fingerprint(item, lut, cdl, nle, size)
        if not force:
            reused = _reuse(sidecar, fingerprint)
            if reused is not None:
                return reused
        result = _render(item, out_dir, stem, lut=lut, cdl=cdl, nle=nle, size=size)
        doc = {"version": _SIDECAR_VERSION, "fingerprint": fingerprint, "output": result.to_dict()}
        atomic_write_text(sidecar, json.dumps(doc, indent=2) + "\n")
        return result
    except Cancelled:
        raise
    except PosthouseError as exc:
        return _failure(item, str(exc))
    except Exception as exc:  # one take never sinks the batch: name it and go on
        return _failure(item, f"{item.picture}: {type(exc).__name__}: {exc}")


def _choose_feed(item: DailiesTake, info: MediaInfo, warnings: list[str], flags: list[str]) -> _Feed:
    """The sound for the review copy, with the burn-in flag that says what it is when it is not synced."""
    status = item.status
    if status not in _STATUSES:
        warnings.append(f"unknown sync status {status!r}: treated as unsynced")
        status = "unsynced"
    problem: str | None = None
    if status != "unsynced" and item.sound is not None:
        if item.offset_samples is None:
            warnings.append("the sync result has no offset: camera scratch audio used")
        else:
            try:
                feed = _ProductionFeed(
                    Path(item.sound), int(item.offset_samples), float(item.drift_ppm or 0.0)
                )
            except PosthouseError as exc:
                warnings.append(f"production sound unreadable, camera scratch audio used: {exc}")
                problem = "SOUND UNREADABLE"
            else:
                if status == "conflict":
                    flags.append("CONFLICT · CHECK SYNC")
                return feed
    elif status == "synced":
        warnings.append("marked synced but no sound file given: camera scratch audio used")
    prefix = problem or ("CONFLICT" if status == "conflict" else "UNSYNCED")
    if info.audio:
        a = info.audio[0]
        flags.append(f"{prefix} · SCRATCH AUDIO")
        return _ScratchFeed(Path(item.picture), max(1, a.channels), a.sample_rate or 48000)
    flags.append(f"{prefix} · NO SOUND")
    warnings.append("no production sound and no camera audio: the review copy is silent")
    return _SilenceFeed()


@dataclass(slots=True)
class _Plan:
    """Everything decided about one take before its frames are rendered."""

    item: DailiesTake
    info: MediaInfo
    rate: Fraction
    width: int
    height: int
    scale: tuple[int, int] | None  # decode size when it differs from the source
    color: ColorPipeline | None
    start_tc: Timecode | None
    sound_tc: Timecode | None
    review: Path
    nle: Path | None
    thumbnail: Path
    warnings: list[str]
    flags: list[str]


def _render(
    item: DailiesTake,
    out_dir: Path,
    stem: str,
    *,
    lut: Path | None,
    cdl: Path | None,
    nle: bool,
    size: tuple[int, int] | None,
) -> DailiesOutput:
    picture = Path(item.picture)
    info = probe(picture)
    if info.damaged or not info.video:
        problems = "; ".join(info.problems) or "no picture stream"
        raise DamagedMediaError(
            f"camera file is damaged: {problems}", path=picture, hint="re-offload it from the card or backup"
        )
    video = info.video[0]
    rate = Fraction(item.rate) if item.rate else (video.rate or Fraction(24))
    width, height = (_even(size[0]), _even(size[1])) if size else (_even(video.width), _even(video.height))
    warnings: list[str] = []
    start_tc, sound_tc = _timecode_labels(item, rate, warnings)
    plan = _Plan(
        item=item,
        info=info,
        rate=rate,
        width=width,
        height=height,
        scale=(width, height) if (width, height) != (video.width, video.height) else None,
        color=ColorPipeline.from_files(lut=lut, cdl=cdl, prefer=(item.clip, item.take)),
        start_tc=start_tc,
        sound_tc=sound_tc,
        review=out_dir / f"{stem}.mp4",
        nle=out_dir / f"{stem}.mov" if nle else None,
        thumbnail=out_dir / f"{stem}.jpg",
        warnings=warnings,
        flags=[],
    )
    feed = _choose_feed(item, info, plan.warnings, plan.flags)
    try:
        return _encode(plan, feed)
    finally:
        feed.close()


def _writers(plan: _Plan, feed: _Feed, stack: contextlib.ExitStack) -> tuple[VideoWriter, VideoWriter | None]:
    """The review writer and, when asked for, the NLE writer, both closed (or discarded) by ``stack``."""
    item = plan.item
    comment = _comment(item, plan.color)
    common: dict[str, Any] = {
        "width": plan.width,
        "height": plan.height,
        "rate": plan.rate,
        "start_timecode": str(plan.start_tc) if plan.start_tc is not None else None,
        "reel": plan.info.reel or item.clip,
        "sample_rate": feed.sample_rate,
    }
    review = stack.enter_context(
        VideoWriter(
            plan.review,
            preset="h264",
            audio_channels=2,
            metadata={"title": f"{item.take} {item.clip} dailies", "comment": comment},
            **common,
        )
    )
    if plan.nle is None:
        return review, None
    tags = {"scene": item.scene, "take": item.take_number, "camera": item.camera, "clip": item.clip}
    editorial = stack.enter_context(
        VideoWriter(
            plan.nle,
            preset="dnxhr-lb",
            audio_channels=feed.channels,
            metadata={k: v for k, v in {**tags, "comment": comment}.items() if v},
            **common,
        )
    )
    return review, editorial


def _encode(plan: _Plan, feed: _Feed) -> DailiesOutput:
    """The one pass: decode → grade → (NLE copy) → burn in → review copy, frame by frame."""
    item = plan.item
    production = isinstance(feed, _ProductionFeed)
    burn = BurnIn(
        plan.width,
        plan.height,
        BurnInText(
            scene=item.scene,
            take=item.take_number,
            camera=item.camera,
            clip=item.clip,
            circled=item.circled,
            flags=tuple(plan.flags),
        ),
    )
    names: Sequence[str] = ()
    if isinstance(feed, _ProductionFeed):
        bwf = probe(feed.path).bwf
        names = bwf.track_names if bwf is not None else ()
    mix = mix_matrix(names, feed.channels) if production else _plain_mix(feed.channels)
    audio = _FrameAudio(feed, plan.rate)
    spf = Fraction(feed.sample_rate) / plan.rate  # samples per frame
    thumb_at = max(0, plan.info.video[0].frames // 2)
    thumb: npt.NDArray[np.uint8] | None = None
    frames = 0
    with contextlib.ExitStack() as stack:  # on any error both writers discard their files
        review, editorial = _writers(plan, feed, stack)
        graded = _graded_frames(
            Path(item.picture), "rgb48le" if plan.color else "rgb24", plan.scale, plan.color
        )
        for i, rgb in enumerate(_prefetch(graded, depth=3)):
            if i == thumb_at:
                thumb = rgb.copy()
            block = audio.block(i)
            if editorial is not None:  # clean picture, every track
                editorial.write_frame(rgb)
                editorial.write_audio(block)
            source_label = str(plan.start_tc + i) if plan.start_tc is not None else "--:--:--:--"
            sound_label = None
            if isinstance(feed, _ProductionFeed) and plan.sound_tc is not None:
                pos = feed.position(float(i * spf))  # the sound sample under this frame
                if 0 <= pos < feed.length:
                    sound_label = str(plan.sound_tc + int(pos // float(spf)))
            burn.apply(rgb, source_label, sound_label)
            review.write_frame(rgb)
            review.write_audio(np.clip(mix @ block, -1.0, 1.0).astype(np.float32))
            frames += 1
        if frames == 0:
            raise DamagedMediaError("no picture frame could be decoded", path=item.picture)
    expected = plan.info.video[0].frames
    if expected and frames != expected:
        plan.warnings.append(f"decoded {frames} frames, the file's index says {expected}")
    return DailiesOutput(
        take=item.take,
        review=plan.review,
        nle=plan.nle,
        thumbnail=_write_thumbnail(thumb, plan.thumbnail) if thumb is not None else None,
        frames=frames,
        audio_samples=review.samples_written,
        error=None,
        clip=item.clip,
        sample_rate=feed.sample_rate,
        sound_source=feed.kind,
        warnings=tuple(plan.warnings),
    )


def _plain_mix(channels: int) -> npt.NDArray[np.float32]:
    """Camera audio to stereo: mono to both sides, stereo as is, more channels averaged."""
    if channels == 2:
        return np.eye(2, dtype=np.float32)
    return np.full((2, channels), 1.0 / channels if channels > 2 else 1.0, np.float32)


def _comment(item: DailiesTake, color: ColorPipeline | None) -> str:
    parts = [f"sync {item.status}"]
    if item.sync_method:
        parts.append(f"by {item.sync_method}")
    if color is not None:
        parts.append(f"look {color.describe()}")
    return "; ".join(parts)


def _write_thumbnail(rgb: npt.NDArray[np.uint8], path: Path) -> Path:
    from PIL import Image

    img = Image.fromarray(rgb)
    h = max(2, round(rgb.shape[0] * _THUMB_WIDTH / rgb.shape[1]))
    img = img.resize((_THUMB_WIDTH, h), Image.Resampling.LANCZOS)
    with atomic_path(path) as tmp:
        img.save(tmp, format="JPEG", quality=85)
    return path


# ---------------------------------------------------------------------------------------------- batch


@dataclass(frozen=True, slots=True)
class _Job:
    item: DailiesTake
    out_dir: Path
    lut: Path | None = None
    cdl: Path | None = None
    nle: bool = False
    size: tuple[int, int] | None = None
    force: bool = False


def _run_job(job: _Job) -> DailiesOutput:
    """The worker: module-level so local processes and Dask can run it."""
    return render_take(
        job.item, job.out_dir, lut=job.lut, cdl=job.cdl, nle=job.nle, size=job.size, force=job.force
    )


def render_dailies(
    items: Sequence[DailiesTake],
    out_dir: Path,
    *,
    lut: Path | None = None,
    cdl: Path | None = None,
    nle: bool = False,
    size: tuple[int, int] | None = None,
    executor: Executor | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    force: bool = False,
) -> list[DailiesOutput]:
    """Render every take through ``executor`` (default: in this process), outputs in input order.

    A take that fails (damaged file, a crash in its worker) gets its error in its output and the rest
    go on; unchanged takes are reused (see :func:`render_take`). Raises
    :class:`~posthouse.core.progress.Cancelled` when ``cancel`` is set.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [_Job(item, out_dir, lut, cdl, nle, size, force) for item in items]
    ex = executor or SerialExecutor()
    outcomes = ex.map(_run_job, jobs, label="dailies", progress=progress, cancel=cancel)
    results: list[DailiesOutput] = []
    for job, outcome in zip(jobs, outcomes, strict=True):
        if outcome.error is not None or outcome.value is None:
            results.append(_failure(job.item, f"{job.item.picture}: {outcome.error}"))
        else:
            results.append(outcome.value)
    return results
