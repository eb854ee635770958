"""Chunked jobs: split a job into frame ranges, run them on any executor, join them exactly, resume.

- :func:`split_frames` cuts ``[0, total)`` into consecutive ranges that cover every frame once.
- :func:`run_chunked` maps a chunk function over the ranges; with a :class:`Lineage` each chunk that
  finishes is recorded by the worker that ran it, and chunks already recorded under the same fingerprint
  (same inputs, settings and range, outputs still there) are not run again: a killed job resumes.
- :func:`encode_dcp_picture` is the DCP picture encode as a chunked job: every chunk decodes its frames of
  the master, converts them to X'Y'Z' and writes ``NNNNNN.j2c`` files; the join is the numbered folder.
- :func:`render_timeline_chunked` renders a timeline as intra-frame (ProRes/DNxHR) segment movies, one per
  chunk, and :func:`join_segments` remuxes their packets (no re-encode) into one movie, checking every
  segment's frame count, and mixes the sound over the whole timeline: frame for frame the same movie as a
  single-pass :func:`~posthouse.engine.render.render_timeline`.

Work functions travel to other processes: they are module-level functions taking a payload and a
:class:`FrameRange`; outputs are written atomically, and the shared storage is the hand-off.
"""

from __future__ import annotations

import itertools
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_path
from posthouse.core.jobs import Executor, SerialExecutor, get_executor, raise_for_failures
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.pipeline.lineage import FileState, Lineage, fingerprint, settings_hash

__all__ = [
    "INTRA_PRESETS",
    "ChunkTask",
    "ChunkedResult",
    "FrameRange",
    "encode_dcp_picture",
    "join_segments",
    "render_timeline_chunked",
    "run_chunked",
    "split_frames",
]

INTRA_PRESETS = (
    "prores-proxy",
    "prores-lt",
    "prores-422",
    "prores-hq",
    "prores-4444",
    "dnxhr-lb",
    "dnxhr-sq",
    "dnxhr-hq",
    "dnxhr-hqx",
    "dnxhr-444",
)
"""Presets whose every frame is a key frame: segments of these join by remuxing, exactly."""

if TYPE_CHECKING:
    import opentimelineio as otio

    from posthouse.engine.picture import BurnInSpec

ChunkInfo = dict[str, Any]
WorkFn = Callable[[Any, "FrameRange"], ChunkInfo]


@dataclass(frozen=True, slots=True)
class FrameRange:
    """Frames ``start`` (included) to ``stop`` (excluded)."""

    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start

    def __str__(self) -> str:
        return f"frames {self.start}-{self.stop - 1}"


def split_frames(
    total: int, *, chunk_frames: int | None = None, chunks: int | None = None
) -> list[FrameRange]:
    """Cut ``[0, total)`` into consecutive ranges of ``chunk_frames`` (the last shorter), or into
    ``chunks`` ranges of near-equal length; every frame is in exactly one range."""
    if total < 0:
        raise UsageError(f"frame count must not be negative, got {total}")
    if (chunk_frames is None) == (chunks is None):
        raise UsageError("give either chunk_frames or chunks")
    if total == 0:
        return []
    if chunks is not None:
        if chunks < 1:
            raise UsageError(f"chunks must be at least 1, not {chunks}")
        n = min(chunks, total)
        bounds = [total * i // n for i in range(n + 1)]
        return [FrameRange(a, b) for a, b in itertools.pairwise(bounds)]
    assert chunk_frames is not None
    if chunk_frames < 1:
        raise UsageError(f"chunk_frames must be at least 1, not {chunk_frames}")
    return [FrameRange(a, min(a + chunk_frames, total)) for a in range(0, total, chunk_frames)]


# ------------------------------------------------------------------------------------- the machinery


@dataclass(frozen=True, slots=True)
class ChunkTask:
    """One chunk as it travels to a worker: what to run, on which frames, and where to record it."""

    stage: str
    target: str
    index: int
    frames: FrameRange
    fingerprint: str
    work: WorkFn
    payload: Any
    catalog_url: str | None = None

    def __str__(self) -> str:
        return f"{self.stage} chunk {self.index} ({self.frames})"


@dataclass(slots=True)
class ChunkedResult:
    """What a chunked job did: ``"fresh"`` (nothing to do) or ``"ran"``, the chunks run and reused."""

    state: str
    stage: str
    target: str
    chunks: int = 0
    ran: list[int] = field(default_factory=list)
    reused: list[int] = field(default_factory=list)
    info: dict[int, ChunkInfo] = field(default_factory=dict)
    frames: int = 0
    output: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "stage": self.stage,
            "target": self.target,
            "chunks": self.chunks,
            "ran": list(self.ran),
            "reused": list(self.reused),
            "frames": self.frames,
            "output": self.output,
        }


_WORKER_LINEAGE: dict[str, Lineage] = {}
_WORKER_LOCK = threading.Lock()


def _worker_lineage(url: str) -> Lineage:
    """One catalog connection per worker process and URL (the driver has upgraded the schema)."""
    with _WORKER_LOCK:
        lineage = _WORKER_LINEAGE.get(url)
        if lineage is None:
            lineage = _WORKER_LINEAGE[url] = Lineage(url, upgrade=False)
        return lineage


def _run_chunk(task: ChunkTask) -> ChunkInfo:
    """The worker side: run the chunk, then record it as finished (files with their sizes)."""
    info = task.work(task.payload, task.frames)
    if task.catalog_url is not None:
        files = [FileState(str(p), "", Path(p).stat().st_size).to_dict() for p in info.get("files", [])]
        outputs = {"files": files, "info": {k: v for k, v in info.items() if k != "files"}}
        _worker_lineage(task.catalog_url).record_chunk(
            task.stage, task.target, task.index, task.fingerprint, outputs
        )
    return info


def _still_whole(outputs: dict[str, Any]) -> bool:
    for d in outputs.get("files", []):
        p = Path(d["path"])
        try:
            if p.stat().st_size != int(d["size"]):
                return False
        except OSError:
            return False
    return True


def run_chunked(
    stage: str,
    target: str,
    work: WorkFn,
    payload: Any,
    ranges: Sequence[FrameRange],
    *,
    base_fingerprint: str,
    executor: Executor | None = None,
    lineage: Lineage | None = None,
    reuse: bool = True,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> ChunkedResult:
    """Run ``work(payload, range)`` for every range not finished already (every range when not
    ``reuse``); raises ``BatchFailed`` naming the chunks that failed (the others stay recorded, so a
    re-run does only those).

    A chunk is reused when ``lineage`` holds it under the same fingerprint (``base_fingerprint`` — the
    stage's input hashes and settings — with the range) and its recorded files still have their sizes.
    ``work`` returns ``{"files": [paths written], ...}``; ``executor`` defaults to this process.
    """
    recorded = lineage.chunks(stage, target) if lineage is not None and reuse else {}
    result = ChunkedResult("ran", stage, target, chunks=len(ranges), frames=sum(len(r) for r in ranges))
    tasks: list[ChunkTask] = []
    for index, frames in enumerate(ranges):
        fp = fingerprint(base_fingerprint, frames.start, frames.stop)
        row = recorded.get(index)
        if row is not None and row.fingerprint == fp and _still_whole(row.outputs):
            result.reused.append(index)
            result.info[index] = {
                "files": [d["path"] for d in row.outputs.get("files", [])],
                **row.outputs.get("info", {}),
            }
            continue
        url = lineage.url if lineage is not None else None
        tasks.append(ChunkTask(stage, target, index, frames, fp, work, payload, url))
    ex = executor or SerialExecutor()
    outcomes = ex.map(_run_chunk, tasks, label=stage, progress=progress, cancel=cancel)
    values = raise_for_failures(outcomes, what="chunks")
    for task, info in zip(tasks, values, strict=True):
        result.ran.append(task.index)
        result.info[task.index] = info
    return result


def _executor(executor: Executor | None) -> tuple[Executor, bool]:
    return (executor, False) if executor is not None else (get_executor(), True)


# ------------------------------------------------------------------------------------------ DCP J2K


@dataclass(frozen=True, slots=True)
class _J2kPayload:
    master: str
    out_dir: str
    size: tuple[int, int]
    source: str
    fps: int
    max_bitrate: int
    fit: tuple[int, int] | None = None  # scale to this and centre in ``container`` (as a DCP carries it)
    container: tuple[int, int] | None = None
    bit_depth: int = 16  # the master's: 8-bit decodes exactly as rgb24 (then ×257), deeper as rgb48


def _j2k_work(p: _J2kPayload, frames: FrameRange) -> ChunkInfo:
    """Decode ``frames`` of the master, convert to X'Y'Z' and write ``NNNNNN.j2c`` (kept when valid).

    The master is decoded as :func:`posthouse.finish.dcp.make_dcp` decodes it (full bit depth), so a
    farm-encoded frame is the same frame; the chunk seeks to its first frame.
    """
    from posthouse.core.media import iter_video_frames
    from posthouse.finish.dcp import dcp_frame
    from posthouse.finish.dcp_picture import encode_sequence, rgb_to_xyz12

    fmt = "rgb24" if p.bit_depth <= 8 else "rgb48le"

    def xyz() -> Iterator[npt.NDArray[np.uint16]]:
        expected = frames.start
        decoded = iter_video_frames(p.master, format=fmt, start=frames.start, count=len(frames), seek=True)
        for i, rgb in decoded:
            if i != expected:
                raise MediaError(
                    "a frame is missing from the master", path=p.master, where=f"frame {expected}"
                )
            expected += 1
            if p.container is not None and p.fit is not None:
                yield dcp_frame(rgb, size=p.fit, container=p.container, source=p.source)  # type: ignore[arg-type]
            else:
                yield rgb_to_xyz12(rgb, source=p.source)  # type: ignore[arg-type]
        if expected < frames.stop:  # never pad with a repeated last frame
            raise MediaError("the master ends before this frame", path=p.master, where=f"frame {expected}")

    res = encode_sequence(xyz(), p.out_dir, fps=p.fps, max_bitrate=p.max_bitrate, start=frames.start)
    return {"files": [str(x) for x in res.paths], "encoded": res.encoded, "skipped": res.skipped}


def encode_dcp_picture(
    master: str | Path,
    out_dir: str | Path,
    *,
    fps: int = 24,
    source: str = "rec709",
    max_bitrate: int = 250_000_000,
    chunk_frames: int = 24,
    fit: tuple[int, int] | None = None,
    container: tuple[int, int] | None = None,
    executor: Executor | None = None,
    lineage: Lineage | None = None,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> ChunkedResult:
    """Encode every frame of ``master`` to ``out_dir/NNNNNN.j2c`` (cinema 2K), ``chunk_frames`` a chunk.

    With ``container`` (and ``fit``, the picture's size inside it) each frame is scaled and centred as
    :func:`posthouse.finish.dcp.dcp_frame` does, so a master of any size fits; without, the master must
    already be container-sized.

    With ``lineage`` the stage is skipped when the master (by content) and settings did not change and
    the frames are all there (``state == "fresh"``); a killed encode resumes from its finished chunks,
    and inside a chunk from its finished frames. ``executor`` defaults to :func:`get_executor` (local
    processes, or ``POSTHOUSE_CLUSTER``).
    """
    from posthouse.core.media import probe
    from posthouse.finish.dcp_picture import SOURCES

    master, out = Path(master).absolute(), Path(out_dir).absolute()
    if source not in SOURCES:
        raise UsageError(f"unknown colour source {source!r}", hint=f"use one of {', '.join(SOURCES)}")
    settings: dict[str, Any] = {"profile": "2k", "fps": fps, "source": source, "max_bitrate": max_bitrate}
    if container is not None:
        settings["container"], settings["fit"] = list(container), list(fit or container)
    stage, target = "dcp-picture", str(out)
    states = [_input_state(master)]
    if (
        lineage is not None
        and not force
        and not lineage.why_stale(stage, [master], settings, target=target, input_states=states)
    ):
        return ChunkedResult("fresh", stage, target, output=target)
    info = probe(master)
    if not info.video:
        raise MediaError("no video stream to encode", path=master)
    video = info.video[0]
    total = video.frames
    if total <= 0:
        raise MediaError("no frames to encode", path=master)
    out.mkdir(parents=True, exist_ok=True)
    _remove_partials(out)
    if force or not _same_run(lineage, stage, target, states, settings):
        for old in out.glob("[0-9]*.j2c"):  # made from another master or settings: not ours to keep
            old.unlink()
    payload = _J2kPayload(
        str(master),
        str(out),
        (video.width, video.height),
        source,
        fps,
        max_bitrate,
        fit=(fit or container) if container is not None else None,
        container=container,
        bit_depth=video.bit_depth or 16,
    )
    base = fingerprint([s.hash for s in states], settings_hash(settings), video.width, video.height)
    if lineage is not None:
        lineage.begin(stage, states, settings, target=target)
    ex, owned = _executor(executor)
    try:
        with _jobs_end_on_error(lineage, stage, target):
            result = run_chunked(
                stage,
                target,
                _j2k_work,
                payload,
                split_frames(total, chunk_frames=chunk_frames),
                base_fingerprint=base,
                executor=ex,
                lineage=lineage,
                reuse=not force,
                progress=progress,
                cancel=cancel,
            )
    finally:
        if owned:
            ex.close()
    _check_j2k_folder(out, total)
    if lineage is not None:
        lineage.record(stage, states, settings, [out], target=target)
        lineage.clear_chunks(stage, target)
    result.output = target
    return result


def _jobs_end_on_error(lineage: Lineage | None, stage: str, target: str) -> AbstractContextManager[None]:
    """An error or cancel in the chunks ends the run's logged job; the run stays unfinished (its chunks
    are kept), so it resumes."""
    return lineage.jobs_end_on_error(stage, target) if lineage is not None else nullcontext()


def _same_run(
    lineage: Lineage | None, stage: str, target: str, states: Sequence[FileState], settings: dict[str, Any]
) -> bool:
    """True when the last run recorded for ``target`` used the same inputs and settings (so the frames it
    left are good to keep), or when there is no lineage to tell (frames are then kept: resume by file)."""
    if lineage is None:
        return True
    row = lineage.run(stage, target)
    if row is None:
        return False
    return row.settings_hash == settings_hash(settings) and [s.hash for s in row.input_states()] == [
        s.hash for s in states
    ]


def _remove_partials(folder: Path) -> None:
    """Drop the temporary files a killed run left behind (``.NAME.XXXX.partial.EXT``)."""
    for tmp in folder.glob(".*.partial.*"):
        tmp.unlink(missing_ok=True)


def _input_state(path: Path) -> FileState:
    from posthouse.pipeline.lineage import file_state

    state = file_state(path)
    if not state.exists:
        raise MediaError("file not found", path=path)
    return state


def _check_j2k_folder(out: Path, total: int) -> None:
    from posthouse.finish.dcp_picture import is_valid_j2c

    names = {p.name for p in out.glob("*.j2c")}
    missing = [
        i for i in range(total) if f"{i:06d}.j2c" not in names or not is_valid_j2c(out / f"{i:06d}.j2c")
    ]
    if missing:
        raise MediaError(
            f"{len(missing)} of {total} frames missing or damaged after the encode (first: {missing[0]:06d})",
            path=out,
            hint="run the encode again: finished frames are kept",
        )


# ------------------------------------------------------------------------------------------- render


@dataclass(frozen=True, slots=True)
class _RenderPayload:
    timeline_json: str
    segments: str
    size: tuple[int, int]
    preset: str
    burn_in: BurnInSpec | None
    stamp: str  # the fingerprint base: segment names change when inputs or settings do


def _segment_path(p: _RenderPayload, frames: FrameRange) -> Path:
    return Path(p.segments) / f"{p.stamp[:12]}_{frames.start:08d}_{frames.stop:08d}.mov"


def _render_work(p: _RenderPayload, frames: FrameRange) -> ChunkInfo:
    """Render record frames ``frames`` of the timeline to one picture-only segment movie."""
    import opentimelineio as otio

    from posthouse.core.media import VideoWriter
    from posthouse.engine.picture import Picture
    from posthouse.engine.plan import plan_timeline

    timeline = otio.adapters.read_from_string(p.timeline_json, "otio_json")
    plan = plan_timeline(timeline)
    picture = Picture(plan, p.size, p.burn_in)
    out = _segment_path(p, frames)
    w, h = p.size
    try:
        with VideoWriter(
            out,
            width=w,
            height=h,
            rate=plan.rate.fps,
            preset=p.preset,
            start_timecode=picture.tc(frames.start),
        ) as writer:
            for record in range(frames.start, frames.stop):
                frame, clip, src = picture.frame(record)
                writer.write_frame(picture.draw_burn_in(frame, record, clip, src))
    finally:
        picture.close()
    return {"files": [str(out)], "frames": len(frames), "warnings": picture.warnings}


def render_timeline_chunked(
    timeline: otio.schema.Timeline | str | Path,
    out: str | Path,
    *,
    preset: str = "prores-hq",
    size: tuple[int, int] | None = None,
    burn_in: BurnInSpec | None = None,
    chunk_frames: int = 48,
    executor: Executor | None = None,
    lineage: Lineage | None = None,
    force: bool = False,
    keep_segments: bool = False,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> ChunkedResult:
    """Render an OTIO timeline (object or ``.otio`` path) to ``out`` in chunks, joined exactly.

    Chunks of ``chunk_frames`` record frames render on the executor's workers as ``preset`` segments
    (an intra-frame codec, see :data:`INTRA_PRESETS`) in ``.NAME.segments/`` beside ``out``; the join
    remuxes them and adds the 48 kHz stereo mix. With ``lineage`` an unchanged render (same timeline,
    same media by content, same settings) does nothing, and a killed one resumes from finished segments.
    """
    import opentimelineio as otio

    from posthouse.engine.plan import plan_timeline
    from posthouse.engine.render import default_size

    if preset not in INTRA_PRESETS:
        raise UsageError(
            f"preset {preset!r} is not intra-frame: chunks could not be joined exactly",
            hint=f"use one of {', '.join(INTRA_PRESETS)} and transcode the master afterwards",
        )
    otio_path: Path | None = None
    if isinstance(timeline, str | Path):
        otio_path = Path(timeline).absolute()
        timeline = otio.adapters.read_from_file(str(otio_path))
    out = Path(out).absolute()
    plan = plan_timeline(timeline)
    if plan.duration <= 0:
        raise UsageError(f"timeline {timeline.name!r} is empty: nothing to render", path=out)
    w, h = size if size is not None else default_size(plan)
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise UsageError(f"output size must be positive and even, got {w}x{h}", path=out)
    timeline_json = otio.adapters.write_to_string(timeline, "otio_json")
    media = _media_inputs(plan)
    settings = {
        "preset": preset,
        "size": [w, h],
        "burn_in": repr(burn_in),
        "timeline": _text_hash(timeline_json),
    }
    stage, target = "render", str(out)
    inputs = [Path(m) for m in media] + ([otio_path] if otio_path is not None else [])
    from posthouse.pipeline.lineage import file_state

    states = [file_state(p) for p in inputs]
    if (
        lineage is not None
        and not force
        and not lineage.why_stale(stage, inputs, settings, target=target, input_states=states)
    ):
        return ChunkedResult("fresh", stage, target, frames=plan.duration, output=target)
    base = fingerprint([s.hash for s in states], settings_hash(settings))
    segments = out.parent / f".{out.stem}.segments"
    segments.mkdir(parents=True, exist_ok=True)
    _remove_partials(segments)
    payload = _RenderPayload(timeline_json, str(segments), (w, h), preset, burn_in, base)
    ranges = split_frames(plan.duration, chunk_frames=chunk_frames)
    if lineage is not None:
        lineage.begin(stage, states, settings, target=target)
    ex, owned = _executor(executor)
    try:
        with _jobs_end_on_error(lineage, stage, target):
            result = run_chunked(
                stage,
                target,
                _render_work,
                payload,
                ranges,
                base_fingerprint=base,
                executor=ex,
                lineage=lineage,
                reuse=not force,
                progress=progress,
                cancel=cancel,
            )
    finally:
        if owned:
            ex.close()
    from posthouse.engine.render import SAMPLE_RATE, iter_timeline_audio

    seg_paths = [_segment_path(payload, r) for r in ranges]
    blocks = iter_timeline_audio(timeline, sample_rate=SAMPLE_RATE, frames_per_block=_AUDIO_BLOCK_FRAMES)
    try:
        frames = join_segments(
            seg_paths,
            out,
            expected=[len(r) for r in ranges],
            rate=plan.rate.fps,
            timecode=str(_start_tc(plan)),
            audio=blocks,
            title=timeline.name or None,
        )
    finally:
        blocks.close()  # type: ignore[attr-defined]
    if lineage is not None:
        lineage.record(stage, states, settings, [out], target=target)
        lineage.clear_chunks(stage, target)
    if not keep_segments:
        shutil.rmtree(segments, ignore_errors=True)
    result.frames, result.output = frames, target
    return result


_AUDIO_BLOCK_FRAMES = 24


def _media_inputs(plan: Any) -> list[str]:
    """Every media file the timeline reads (picture, image-sequence frames, sound) that exists."""
    found: set[str] = set()
    for track in plan.video:
        for clip in track:
            paths = list(clip.sequence or ()) + ([clip.path] if clip.path is not None else [])
            found.update(str(p) for p in paths if Path(p).is_file())
    for track in plan.audio:
        for aclip in track:
            if aclip.path is not None and Path(aclip.path).is_file():
                found.add(str(aclip.path))
    return sorted(found)


def _text_hash(text: str) -> str:
    return fingerprint(text)


def _start_tc(plan: Any) -> str:
    from posthouse.core.time import Timecode

    return str(Timecode.from_frames(plan.start_frame, plan.rate))


def join_segments(
    segments: Sequence[Path],
    out: str | Path,
    *,
    expected: Sequence[int] | None = None,
    rate: Fraction,
    timecode: str | None = None,
    audio: Iterator[npt.NDArray[np.float32]] | None = None,
    sample_rate: int = 48_000,
    title: str | None = None,
) -> int:
    """Remux the video packets of intra-frame ``segments`` in order into ``out`` (atomically); returns the
    frame count. ``expected`` frame counts per segment are checked (a short or long segment is a
    MediaError naming it). ``audio`` blocks (stereo float32, one per 24 frames, as the renderer mixes
    them) are encoded as 24-bit PCM alongside."""
    import av

    out = Path(out)
    if not segments:
        raise UsageError("no segments to join", path=out)
    if expected is not None and len(expected) != len(segments):
        raise UsageError(f"{len(segments)} segments but {len(expected)} expected frame counts", path=out)
    total = samples = 0
    with atomic_path(out) as tmp:
        options = {"write_tmcd": "1"} if timecode else {}
        with av.open(str(tmp), "w", format="mov", options=options) as dst:
            if title:
                dst.metadata["title"] = title
            vout: Any = None
            aout: Any = None
            for n, seg in enumerate(segments):
                try:
                    src = av.open(str(seg))
                except (av.error.FFmpegError, OSError) as exc:
                    raise MediaError(f"cannot open segment: {exc}", path=seg, where=f"segment {n}") from exc
                with src:
                    vin = src.streams.video[0]
                    if vout is None:
                        vout = dst.add_stream_from_template(vin)
                        vout.codec_context.framerate = Fraction(rate)  # the timecode track needs it
                        if timecode:
                            vout.metadata["timecode"] = timecode
                        if audio is not None:
                            aout = dst.add_stream("pcm_s24le", rate=sample_rate, layout="stereo")
                    count = 0
                    step = round(1 / (Fraction(rate) * Fraction(vin.time_base or Fraction(1, 12288))))
                    first: int | None = None
                    for packet in src.demux(vin):
                        if packet.size == 0 or packet.pts is None:
                            continue
                        if aout is not None and (total + count) % _AUDIO_BLOCK_FRAMES == 0:
                            samples = _mux_audio(dst, aout, audio, sample_rate, samples)
                        first = int(packet.pts) if first is None else first
                        packet.pts = packet.dts = int(packet.pts) - first + total * step
                        packet.stream = vout
                        dst.mux(packet)
                        count += 1
                    if expected is not None and count != expected[n]:
                        raise MediaError(
                            f"segment has {count} frames, expected {expected[n]}",
                            path=seg,
                            where=f"segment {n}",
                            hint="render that chunk again",
                        )
                    total += count
            if aout is not None:
                for packet in aout.encode(None):
                    dst.mux(packet)
    return total


def _mux_audio(dst: Any, aout: Any, audio: Any, sample_rate: int, samples: int) -> int:
    import av

    block = next(audio, None)
    if block is None:
        return samples
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(block, dtype=np.float32), format="fltp", layout=aout.codec_context.layout
    )
    frame.sample_rate = sample_rate
    frame.pts = samples
    frame.time_base = Fraction(1, sample_rate)
    for packet in aout.encode(frame):
        dst.mux(packet)
    return samples + int(block.shape[1])
