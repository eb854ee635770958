"""Sound side of the renderer: stream every audio clip from its file and mix with gain and fades.

Each clip's file is opened when the clip starts, sought once to its first sample and read sequentially
in blocks; envelopes (gain, fades, crossfades) are NumPy ramps. The mix is stereo: a mono channel goes
to both sides, a stereo file to left and right, a wider file without a ``channel`` its first channel;
with ``per_track=True`` each track is one mono channel (a stereo file summed to mono by its mean).
Files not at the mix's sample rate are not resampled: they play silent and are reported.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError
from posthouse.core.progress import CancelToken
from posthouse.core.time import frames_to_samples
from posthouse.engine.plan import AudioClipPlan, TimelinePlan

__all__ = ["FadeShape", "iter_mix_blocks"]

FadeShape = Literal["linear", "equal-power"]

Block = npt.NDArray[np.float32]


@dataclass(slots=True)
class _Active:
    clip: AudioClipPlan
    start: int  # record sample of its first sample
    end: int
    fade_in: int
    fade_out: int
    gain: float
    record_in_sample: int
    reader: Any = None  # soundfile.SoundFile
    lead: int = 0  # silent samples before the file's first sample (clip reaches before the file)
    failed: bool = False
    file_rate: int = 0
    notes: list[str] = field(default_factory=list)


def _ramp(pos: npt.NDArray[np.float64], length: int, shape: FadeShape) -> npt.NDArray[np.float64]:
    t = np.clip(pos / max(length, 1), 0.0, 1.0)
    return np.sin(t * (math.pi / 2)) if shape == "equal-power" else t


def _open(act: _Active, sample_rate: int, problems: list[tuple[AudioClipPlan, str]]) -> None:
    import soundfile as sf

    clip = act.clip
    try:
        if clip.path is None:
            raise MediaError("no media reference")
        act.reader = sf.SoundFile(str(clip.path))
    except (MediaError, RuntimeError, OSError) as exc:
        act.failed = True
        problems.append(
            (clip, "file not found" if clip.path is not None and not clip.path.exists() else str(exc))
        )
        return
    act.file_rate = int(act.reader.samplerate)
    if act.file_rate != sample_rate:
        act.failed = True
        problems.append((clip, f"sample rate {act.file_rate} Hz is not {sample_rate} Hz (not resampled)"))
        act.reader.close()
        return
    if clip.channel is not None and not 0 <= clip.channel < act.reader.channels:
        act.failed = True
        problems.append((clip, f"channel {clip.channel} not in a {act.reader.channels}-channel file"))
        act.reader.close()
        return
    # file sample at record_in, moved back by the head (transition) the clip plays before it
    first = round(clip.source_offset * sample_rate) - (act.record_in_sample - act.start)
    if first < 0:
        act.lead = -first
        first = 0
    act.reader.seek(min(first, act.reader.frames))


def _read(act: _Active, n: int, per_track: bool) -> Block:
    """The clip's next ``n`` samples as (2, n) or (1, n), silence where the file has none."""
    out_ch = 1 if per_track else 2
    out = np.zeros((out_ch, n), np.float32)
    if act.failed:
        return out
    skip = min(act.lead, n)
    act.lead -= skip
    if skip < n:
        data = act.reader.read(n - skip, dtype="float32", always_2d=True).T  # (channels, m)
        if act.clip.channel is not None:
            data = data[act.clip.channel : act.clip.channel + 1]
        m = data.shape[1]
        if per_track:
            out[0, skip : skip + m] = data.mean(axis=0) if data.shape[0] > 1 else data[0]
        elif data.shape[0] == 2:
            out[:, skip : skip + m] = data
        else:
            out[:, skip : skip + m] = data[0]
    return out


def iter_mix_blocks(
    plan: TimelinePlan,
    *,
    sample_rate: int = 48_000,
    frames_per_block: int = 24,
    per_track: bool = False,
    fade: FadeShape = "linear",
    problems: list[tuple[AudioClipPlan, str]] | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Block, None, None]:
    """Yield the mix as float32 ``(channels, n)`` blocks, each covering ``frames_per_block`` frames.

    Block ``i`` holds samples ``[S(i·f), S((i+1)·f))`` with ``S = frames_to_samples`` at the timeline
    rate, so the blocks add up to exactly ``S(duration)`` samples. Clips that cannot be read are silent
    and appended to ``problems`` as ``(clip, reason)``.
    """
    issues = problems if problems is not None else []
    channels = len(plan.audio) if per_track else 2
    pending: list[tuple[int, _Active]] = []
    for t, track in enumerate(plan.audio):
        for clip in track:
            start = frames_to_samples(clip.start, plan.rate, sample_rate)
            end = frames_to_samples(clip.end, plan.rate, sample_rate)
            if end <= start:
                continue
            fade_in = frames_to_samples(clip.fade_in, plan.rate, sample_rate)
            fade_out = frames_to_samples(clip.fade_out, plan.rate, sample_rate)
            gain = 10.0 ** (clip.gain_db / 20.0)
            rec_in = frames_to_samples(clip.record_in, plan.rate, sample_rate)
            pending.append((t, _Active(clip, start, end, fade_in, fade_out, gain, rec_in)))
    pending.sort(key=lambda item: item[1].start)
    active: list[tuple[int, _Active]] = []
    nxt = 0
    frame = 0
    while frame < plan.duration:
        if cancel is not None:
            cancel.raise_if_cancelled()
        stop = min(frame + frames_per_block, plan.duration)
        a = frames_to_samples(frame, plan.rate, sample_rate)
        b = frames_to_samples(stop, plan.rate, sample_rate)
        mix = np.zeros((max(channels, 1) if per_track else 2, b - a), np.float32)
        while nxt < len(pending) and pending[nxt][1].start < b:
            active.append(pending[nxt])
            nxt += 1
        keep = []
        for t, act in active:
            s, e = max(a, act.start), min(b, act.end)
            if s < e:
                if act.reader is None and not act.failed:
                    _open(act, sample_rate, issues)
                block = _read(act, e - s, per_track)
                pos = np.arange(s, e, dtype=np.float64)
                env = np.full(e - s, act.gain)
                if act.fade_in:
                    env *= _ramp(pos - act.start + 0.5, act.fade_in, fade)
                if act.fade_out:
                    env *= _ramp(act.end - pos - 0.5, act.fade_out, fade)
                block *= env.astype(np.float32)
                if per_track:
                    mix[t, s - a : e - a] += block[0]
                else:
                    mix[:, s - a : e - a] += block
            if act.end > b:
                keep.append((t, act))
            elif act.reader is not None:
                act.reader.close()
        active = keep
        yield mix
        frame = stop
    for _, act in active:
        if act.reader is not None:
            act.reader.close()
