"""DAW interchange: a sound session out to Pro Tools / Nuendo (BWF + OTIO + AAF).

Export (:func:`export_session`) writes ``OUT/`` with

``media/``
    every audio clip consolidated as its own 48 kHz 24-bit Broadcast WAV: mono (the clip's channel, or
    the first channel of a wider file, as the renderer plays it), stereo interleaved for a stereo file
    played without a ``channel``. Each file holds the clip plus handles (default 2 s a side, limited by
    the source file); ``bext`` TimeReference is the sample since midnight where the file starts, so a DAW
    that spots by timestamp lands it in sync; the ``bext`` description names the clip, track and source,
    iXML carries the track name, scene/take/tape when the clip has them, and the timecode rate.
``NAME.otio``
    the session with every audio clip pointing at its WAV by a URL *relative to the .otio's folder*
    (``media/DX1_0001_1A-1_BOOM.wav``), so the folder can move; :func:`load_daw_timeline` reads it back with
    absolute paths for the renderer. Source ranges stay in samples since midnight, so the clip plays the
    same samples; track names, clip names, ``gain_db``/fade metadata, transitions and markers are kept.
``NAME.aaf``
    one top-level composition (pyaaf2): a timecode track starting at the cut's record start, one mono slot
    per session track (two, ``NAME.L``/``NAME.R``, for a track holding stereo clips) at the 48 kHz edit
    rate, each clip a SourceClip → MasterMob → file SourceMob (WAVEDescriptor + NetworkLocator to the WAV,
    or PCMDescriptor + embedded essence with ``embed=True``) → import SourceMob carrying the source's
    samples since midnight. Clip gain and fades become an ``Audio Gain`` (Amplitude) operation: constant
    for gain alone, linear keyframes for fades. Markers are DescriptiveMarkers on an event slot
    (:mod:`posthouse.core.aaf_markers`).

Delivered stems come back in through :mod:`posthouse.sound.stems`.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import opentimelineio as otio

from posthouse.core.errors import MediaError, PosthouseError, UsageError
from posthouse.core.fsutil import atomic_path, atomic_write_text
from posthouse.core.media.bwf import Bext, BwfWriter, IXml
from posthouse.core.progress import NULL_PROGRESS, Progress
from posthouse.core.resample import read_at
from posthouse.core.time import (
    Rate,
    frames_to_samples,
    frames_to_timecode,
    rational_time_to_seconds,
)
from posthouse.engine.plan import AudioClipPlan, TimelinePlan, plan_timeline, read_posthouse_meta

__all__ = ["EXPORT_FORMATS", "SAMPLE_RATE", "DawClip", "DawExport", "export_session", "load_daw_timeline"]

SAMPLE_RATE: Final = 48_000
"""Rate of every exported WAV and of every accepted stem."""
EXPORT_FORMATS: Final = ("aaf", "otio")
_BLOCK: Final = 1 << 18  # samples per streamed read

# AAF definitions (SMPTE / Avid AUIDs) for clip gain.
_AAF_OPDEF_MONO_AUDIO_GAIN: Final = "9d2ea894-0968-11d3-8a38-0050040ef7d2"
_AAF_PARAMDEF_AMPLITUDE: Final = "e4962321-2267-11d3-8a4c-0050040ef7d2"


# ------------------------------------------------------------------------------------------------ export


@dataclass(frozen=True, slots=True)
class DawClip:
    """One consolidated clip: where it plays (record frames) and what its WAV holds (48 kHz samples)."""

    track: str
    name: str
    wav: Path
    record_in: int
    record_out: int
    source_in: int  # samples since midnight at record_in
    time_reference: int  # samples since midnight of the WAV's first sample (handle start)
    samples: int  # WAV length
    head: int  # handle samples before the first played sample
    tail: int  # handle samples after the last played sample
    channels: int
    source: str  # original media URL
    source_channel: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "name": self.name,
            "wav": str(self.wav),
            "record_in": self.record_in,
            "record_out": self.record_out,
            "source_in": self.source_in,
            "time_reference": self.time_reference,
            "samples": self.samples,
            "head": self.head,
            "tail": self.tail,
            "channels": self.channels,
            "source": self.source,
            "source_channel": self.source_channel,
        }


@dataclass(frozen=True, slots=True)
class DawExport:
    """What :func:`export_session` wrote."""

    folder: Path
    clips: tuple[DawClip, ...]
    otio_path: Path | None = None
    aaf_path: Path | None = None
    embedded: bool = False
    record_start: str = ""
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "otio": str(self.otio_path) if self.otio_path else None,
            "aaf": str(self.aaf_path) if self.aaf_path else None,
            "embedded": self.embedded,
            "record_start": self.record_start,
            "clips": [c.to_dict() for c in self.clips],
            "warnings": list(self.warnings),
        }


@dataclass(slots=True)
class _Job:
    """A clip to consolidate, worked out from the plan before anything is written."""

    track_index: int
    track: str
    clip: otio.schema.Clip
    plan: AudioClipPlan
    path: Path
    file_rate: int
    file_channels: int
    file_frames: int
    avail_start: Fraction  # seconds since midnight of the source file's first sample
    channel: int | None  # source channel written (None: all channels of a stereo file)
    lo: int = 0  # first source-file sample written
    hi: int = 0  # after the last
    out_tr: int = 0  # TimeReference of the new WAV (48 kHz samples since midnight)
    out_samples: int = 0
    head: int = 0
    tail: int = 0
    wav: Path = field(default_factory=Path)

    @property
    def out_channels(self) -> int:
        return 2 if self.channel is None else 1


def _safe(text: str, limit: int = 40) -> str:
    """A file-name piece every DAW and file system takes: ``A-Z a-z 0-9 _ -``, no leading dot."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")
    return cleaned[:limit] or "clip"


def _jobs(
    timeline: otio.schema.Timeline, plan: TimelinePlan, handle: Fraction, warnings: list[str]
) -> list[_Job]:
    """Every audio clip with readable media, paired with its plan; unusable clips become warnings."""
    import soundfile as sf

    warnings.extend(plan.warnings)
    jobs: list[_Job] = []
    audio = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio]
    for t, (track, plans) in enumerate(zip(audio, plan.audio, strict=True)):
        clips = [c for c in track if isinstance(c, otio.schema.Clip)]
        for clip, cp in zip(clips, plans, strict=True):
            label = frames_to_timecode(plan.start_frame + cp.record_in, plan.rate)
            where = f"track {cp.track}, clip {clip.name!r} at {label}"
            if cp.path is None:
                warnings.append(f"{where}: no media reference, left out")
                continue
            try:
                info = sf.info(str(cp.path))
            except (RuntimeError, OSError) as exc:
                warnings.append(f"{where}: cannot read {cp.path} ({exc}), left out")
                continue
            ref = clip.media_reference
            avail = ref.available_range if ref is not None else None
            avail_start = rational_time_to_seconds(avail.start_time) if avail is not None else Fraction(0)
            channel = cp.channel
            if channel is not None and not 0 <= channel < info.channels:
                warnings.append(f"{where}: channel {channel} not in a {info.channels}-channel file, left out")
                continue
            if channel is None and info.channels != 2:
                channel = 0  # the renderer plays a wider file's first channel
            job = _Job(
                t, cp.track, clip, cp, cp.path, int(info.samplerate), int(info.channels), int(info.frames),
                avail_start, channel,
            )  # fmt: skip
            if not _extent(job, plan.rate, handle):
                warnings.append(f"{where}: plays none of its file's samples, left out")
                continue
            if job.file_rate != SAMPLE_RATE:
                warnings.append(f"{where}: {job.file_rate} Hz source resampled to {SAMPLE_RATE} Hz")
            jobs.append(job)
    return jobs


def _extent(job: _Job, rate: Rate, handle: Fraction) -> bool:
    """Work out the file samples to write (played span + handles, within the file) and the new
    TimeReference; ``False`` when the clip plays nothing of its file."""
    cp, fr = job.plan, job.file_rate
    rec_in = frames_to_samples(cp.record_in, rate, fr)
    start = frames_to_samples(cp.start, rate, fr)
    end = frames_to_samples(cp.end, rate, fr)
    first = round(cp.source_offset * fr) - (rec_in - start)  # file sample where the clip starts playing
    last = first + (end - start)
    a, b = max(first, 0), min(last, job.file_frames)
    if a >= b:
        return False
    h = math.ceil(handle * fr)
    job.lo, job.hi = max(a - h, 0), min(b + h, job.file_frames)
    # first new sample: at the 48 kHz sample at/after the source sample ``lo`` (equal when fr is 48 kHz)
    t0 = job.avail_start + Fraction(job.lo, fr)
    job.out_tr = math.ceil(t0 * SAMPLE_RATE)
    t1 = job.avail_start + Fraction(job.hi, fr)
    job.out_samples = math.floor(t1 * SAMPLE_RATE) - job.out_tr
    job.head = round(Fraction(a - job.lo, fr) * SAMPLE_RATE)
    job.tail = round(Fraction(job.hi - b, fr) * SAMPLE_RATE)
    return job.out_samples > 0


def _pick(data: npt.NDArray[np.float32], channel: int | None) -> npt.NDArray[np.float32]:
    return data[channel : channel + 1] if channel is not None else data


def _write_wav(job: _Job, timeline_name: str, rate: Rate) -> None:
    """Consolidate one clip (streamed for 48 kHz sources, resampled in memory otherwise)."""
    import soundfile as sf

    meta = read_posthouse_meta(job.clip)
    source_name = job.path.name
    chan = "all channels" if job.channel is None else f"ch {job.channel + 1}"
    names = (f"{job.track}.L", f"{job.track}.R") if job.channel is None else (job.track,)
    mode = "mono" if job.channel is not None else "stereo"
    bext = Bext(
        description=f"{job.clip.name} | {job.track} | {source_name} {chan}"[:256],
        originator="posthouse",
        originator_reference=_safe(f"{job.wav.stem}", 32),
        origination_date=datetime.now(UTC).strftime("%Y-%m-%d"),
        origination_time=datetime.now(UTC).strftime("%H:%M:%S"),
        time_reference=job.out_tr,
        coding_history=f"A=PCM,F={SAMPLE_RATE},W=24,M={mode},T=posthouse",
    )
    ixml = IXml(
        project=timeline_name,
        scene=str(meta.get("scene") or ""),
        take=str(meta.get("take") or ""),
        tape=str(meta.get("reel") or meta.get("tape") or ""),
        note=job.clip.name,
        track_names=names,
        timecode_rate=rate.fps,
    )
    try:
        with (
            sf.SoundFile(str(job.path)) as src,
            BwfWriter(job.wav, job.out_channels, SAMPLE_RATE, bit_depth=24, bext=bext, ixml=ixml) as out,
        ):
            src.seek(job.lo)
            if job.file_rate == SAMPLE_RATE:
                left = job.out_samples
                while left > 0:
                    block = src.read(min(left, _BLOCK), dtype="float32", always_2d=True).T
                    if block.shape[1] == 0:
                        break
                    out.write(_pick(block, job.channel))
                    left -= block.shape[1]
                if left > 0:
                    out.write(np.zeros((job.out_channels, left), np.float32))
            else:
                data = _pick(src.read(job.hi - job.lo, dtype="float32", always_2d=True).T, job.channel)
                k = np.arange(job.out_samples, dtype=np.float64)
                # time of new sample k minus time of source sample lo, in source samples
                offset = (Fraction(job.out_tr, SAMPLE_RATE) - job.avail_start) * job.file_rate - job.lo
                positions = float(offset) + k * (job.file_rate / SAMPLE_RATE)
                out.write(read_at(data, positions))
    except (RuntimeError, OSError) as exc:
        raise MediaError(f"cannot consolidate clip {job.clip.name!r}: {exc}", path=job.path) from exc


def _daw_clip(job: _Job) -> DawClip:
    cp = job.plan
    ref = job.clip.media_reference
    src_start = rational_time_to_seconds(job.clip.trimmed_range().start_time)
    return DawClip(
        track=job.track,
        name=job.clip.name,
        wav=job.wav,
        record_in=cp.record_in,
        record_out=cp.record_out,
        source_in=round(src_start * SAMPLE_RATE),
        time_reference=job.out_tr,
        samples=job.out_samples,
        head=job.head,
        tail=job.tail,
        channels=job.out_channels,
        source=str(getattr(ref, "target_url", "") or ""),
        source_channel=cp.channel,
    )


def _exported_timeline(
    timeline: otio.schema.Timeline, jobs: Sequence[_Job], folder: Path
) -> otio.schema.Timeline:
    """A copy of ``timeline`` whose audio clips point at their WAVs (URLs relative to ``folder``)."""
    by_clip = {id(j.clip): j for j in jobs}
    out: otio.schema.Timeline = copy.deepcopy(timeline)
    originals = [c for t in timeline.tracks for c in t.find_clips()]
    copies = [c for t in out.tracks for c in t.find_clips()]
    for orig, clip in zip(originals, copies, strict=True):
        job = by_clip.get(id(orig))
        if job is None:
            continue
        old = clip.media_reference
        src_range = clip.source_range
        if job.file_rate != SAMPLE_RATE and src_range is not None:
            clip.source_range = otio.opentime.TimeRange(
                otio.opentime.RationalTime(
                    round(rational_time_to_seconds(src_range.start_time) * SAMPLE_RATE), SAMPLE_RATE
                ),
                otio.opentime.RationalTime(
                    round(rational_time_to_seconds(src_range.duration) * SAMPLE_RATE), SAMPLE_RATE
                ),
            )
        clip.media_reference = otio.schema.ExternalReference(
            target_url=job.wav.relative_to(folder).as_posix(),
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(job.out_tr, SAMPLE_RATE),
                otio.opentime.RationalTime(job.out_samples, SAMPLE_RATE),
            ),
        )
        meta = clip.metadata.setdefault("posthouse", {})
        meta.pop("channel", None)
        meta["daw"] = {
            "source": str(getattr(old, "target_url", "") or ""),
            "source_channel": job.plan.channel,
            "handle_head_samples": job.head,
            "handle_tail_samples": job.tail,
        }
    meta = out.metadata.setdefault("posthouse", {})
    meta["daw_export"] = {"urls": "relative to this file's folder", "sample_rate": SAMPLE_RATE}
    return out


def load_daw_timeline(path: str | Path) -> otio.schema.Timeline:
    """Read an exported ``.otio`` and make its relative media URLs absolute ``file://`` URLs (for the
    renderer and other posthouse tools, which resolve bare paths from the working directory)."""
    p = Path(path)
    try:
        tl = otio.adapters.read_from_file(str(p))
    except Exception as exc:  # OTIO raises many kinds for unreadable files
        raise MediaError(f"cannot read the DAW timeline: {exc}", path=p) from exc
    if not isinstance(tl, otio.schema.Timeline):
        raise MediaError("not an OTIO timeline", path=p)
    base = p.resolve().parent
    for clip in tl.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.target_url and "://" not in ref.target_url:
            url = Path(ref.target_url)
            ref.target_url = (url if url.is_absolute() else base / url).as_uri()
    return tl


# ----------------------------------------------------------------------------------------------- AAF


class _Aaf:
    """Builds the composition in an open pyaaf2 file."""

    def __init__(self, f: Any, rate: Rate) -> None:
        import aaf2  # type: ignore[import-untyped]

        self.aaf2 = aaf2
        self.f = f
        self.rate = rate
        self._gain_op: Any = None
        self._amp: Any = None
        self._linear: Any = None

    def _gain_defs(self) -> tuple[Any, Any, Any]:
        if self._gain_op is None:
            aaf2, f = self.aaf2, self.f
            amp = f.create.ParameterDef(
                aaf2.auid.AUID(_AAF_PARAMDEF_AMPLITUDE), "Amplitude", "Amplitude",
                f.dictionary.lookup_typedef("Rational"),
            )  # fmt: skip
            f.dictionary.register_def(amp)
            op = f.create.OperationDef(aaf2.auid.AUID(_AAF_OPDEF_MONO_AUDIO_GAIN), "Audio Gain", "")
            op.media_kind = "sound"
            op["NumberInputs"].value = 1
            op["IsTimeWarp"].value = False
            op["ParametersDefined"].append(amp)
            f.dictionary.register_def(op)
            linear = f.create.InterpolationDef(aaf2.misc.LinearInterp, "LinearInterp", "LinearInterp")
            f.dictionary.register_def(linear)
            self._gain_op, self._amp, self._linear = op, amp, linear
        return self._gain_op, self._amp, self._linear

    def master(self, job: _Job, embed: bool, warnings: list[str]) -> Any:
        """Import mob (source timecode) → file mob (the WAV) → master mob; returns the master mob."""
        f, n, ch = self.f, job.out_samples, job.out_channels
        tape = f.create.SourceMob()
        tape.name = job.path.stem
        tape.descriptor = f.create.ImportDescriptor()
        f.content.mobs.append(tape)
        day = SAMPLE_RATE * 86_400
        for c in range(ch):
            slot = tape.create_empty_slot(SAMPLE_RATE, "sound", slot_id=c + 1)
            slot.segment.length = day
            slot["PhysicalTrackNumber"].value = c + 1
        tc = tape.create_timecode_slot(
            f"{self.rate.num}/{self.rate.den}", self.rate.timebase, False, length=self.rate.frames_per_day()
        )
        tc["PhysicalTrackNumber"].value = 1

        fmob = f.create.SourceMob()
        fmob.name = job.wav.name
        f.content.mobs.append(fmob)
        if embed and ch == 1:
            tape_clip = tape.create_source_clip(1, start=job.out_tr, length=n, media_kind="sound")
            slot = fmob.import_audio_essence(str(job.wav), SAMPLE_RATE, tape=tape_clip)
            slot["PhysicalTrackNumber"].value = 1
        else:
            if embed:
                warnings.append(
                    f"{job.wav.name}: stereo media is linked, not embedded (AAF embeds mono essence)"
                )
            from aaf2.ama import get_wave_fmt  # type: ignore[import-untyped]

            d = f.create.WAVEDescriptor()
            d["SampleRate"].value = SAMPLE_RATE
            d["Summary"].value = get_wave_fmt(str(job.wav))
            d["Length"].value = n
            d["ContainerFormat"].value = f.dictionary.lookup_containerdef("AAF")
            loc = f.create.NetworkLocator()
            loc["URLString"].value = job.wav.resolve().as_uri()
            d["Locator"].append(loc)
            fmob.descriptor = d
            for c in range(ch):
                slot = fmob.create_timeline_slot(SAMPLE_RATE, c + 1)
                slot.segment = tape.create_source_clip(c + 1, start=job.out_tr, length=n, media_kind="sound")
                slot["PhysicalTrackNumber"].value = c + 1

        master = f.create.MasterMob()
        master.name = job.clip.name
        f.content.mobs.append(master)
        for c in range(ch):
            slot = master.create_timeline_slot(SAMPLE_RATE, c + 1)
            slot.segment = fmob.create_source_clip(c + 1, start=0, length=n, media_kind="sound")
            slot["PhysicalTrackNumber"].value = c + 1
        return master

    def gain(self, clip: Any, length: int, gain_db: float, fade_in: int, fade_out: int) -> Any:
        """``clip`` wrapped in an Audio Gain operation (constant, or keyframed with fades)."""
        aaf2, f = self.aaf2, self.f
        op, amp, linear = self._gain_defs()
        group = f.create.OperationGroup(op, length=length, media_kind="sound")
        g = Fraction(10 ** (gain_db / 20)).limit_denominator(1 << 20)
        if not fade_in and not fade_out:
            group.parameters.append(f.create.ConstantValue(amp, aaf2.rational.AAFRational(g)))
        else:
            varying = f.create.VaryingValue()
            varying.parameterdef = amp
            varying["Interpolation"].value = linear
            points = [(Fraction(0), Fraction(0) if fade_in else g)]
            if fade_in:
                points.append((Fraction(min(fade_in, length), length), g))
            if fade_out:
                points.append((Fraction(max(length - fade_out, 0), length), g))
            points.append((Fraction(1), Fraction(0) if fade_out else g))
            for t, v in points:
                cp = f.create.ControlPoint()
                cp["Time"].value = aaf2.rational.AAFRational(t)
                cp["Value"].value = aaf2.rational.AAFRational(v)
                cp["ControlPointSource"].value = 2
                varying["PointList"].append(cp)
            group.parameters.append(varying)
        group.segments.append(clip)
        return group


def _write_aaf(
    path: Path,
    name: str,
    jobs: Sequence[_Job],
    track_names: Sequence[str],
    rate: Rate,
    start_frame: int,
    markers: Sequence[tuple[int, int, str, str, str]],
    embed: bool,
    warnings: list[str],
) -> None:
    import aaf2

    with atomic_path(path) as tmp:
        tmp.unlink()
        try:
            with aaf2.open(str(tmp), "w") as f:
                _build_aaf(f, name, jobs, track_names, rate, start_frame, markers, embed, warnings)
        except PosthouseError:
            raise
        except Exception as exc:  # pyaaf2 raises plain exceptions
            raise MediaError(f"AAF writer failed: {exc}", path=path) from exc


def _build_aaf(
    f: Any,
    name: str,
    jobs: Sequence[_Job],
    track_names: Sequence[str],
    rate: Rate,
    start_frame: int,
    markers: Sequence[tuple[int, int, str, str, str]],
    embed: bool,
    warnings: list[str],
) -> None:
    b = _Aaf(f, rate)
    comp = f.create.CompositionMob()
    comp.name = name
    comp.usage = "Usage_TopLevel"
    f.content.mobs.append(comp)
    tc_slot = comp.create_timeline_slot(f"{rate.num}/{rate.den}")
    tc_slot.name = "TC"
    tc_slot["PhysicalTrackNumber"].value = 1
    tc = f.create.Timecode(rate.timebase, False)
    tc.start = start_frame
    tc.length = rate.frames_per_day()
    tc_slot.segment = tc

    masters = {id(j): b.master(j, embed, warnings) for j in jobs}
    first_audio: int | None = None
    number = 0
    for t, tname in enumerate(track_names):
        tjobs = sorted((j for j in jobs if j.track_index == t), key=lambda j: j.plan.record_in)
        width = 2 if any(j.channel is None for j in tjobs) else 1
        for c in range(width):
            number += 1
            slot = comp.create_sound_slot(SAMPLE_RATE)
            slot.name = tname if width == 1 else f"{tname}.{'LR'[c]}"
            slot["PhysicalTrackNumber"].value = number
            first_audio = first_audio or slot.slot_id
            seq = f.create.Sequence(media_kind="sound")
            pos = 0
            for j in tjobs:
                if c >= j.out_channels:
                    continue  # a mono clip on a stereo track sits on the left slot
                pos = _place(b, seq, j, masters[id(j)], c, rate, pos, warnings)
            seq.length = pos
            slot.segment = seq

    if markers:
        from posthouse.core.aaf_markers import AafMarker, add_marker_slot

        ordered = [
            AafMarker(position, comment, color, user, max(length, 1))
            for position, length, comment, color, user in sorted(markers)
        ]
        add_marker_slot(f, comp, ordered, rate, {first_audio or tc_slot.slot_id})


def _place(
    b: _Aaf, seq: Any, job: _Job, master: Any, channel: int, rate: Rate, pos: int, warnings: list[str]
) -> int:
    """Append (filler +) the clip's source clip at its record position (48 kHz edit units)."""
    cp = job.plan
    rec_in = frames_to_samples(cp.record_in, rate, SAMPLE_RATE)
    rec_out = frames_to_samples(cp.record_out, rate, SAMPLE_RATE)
    # new-file sample at record_in
    src_start = rational_time_to_seconds(job.clip.trimmed_range().start_time)
    start = round((src_start - Fraction(job.out_tr, SAMPLE_RATE)) * SAMPLE_RATE)
    cut_in = max(0, -start)  # the clip reaches before its media: start the AAF clip later
    cut_out = max(0, start + (rec_out - rec_in) - job.out_samples)
    a, z = rec_in + cut_in, rec_out - cut_out
    if cut_in or cut_out:
        warnings.append(
            f"AAF: {job.clip.name!r} on {job.track} trimmed to its media ({cut_in + cut_out} samples)"
        )
    if a < pos:
        warnings.append(f"AAF: {job.clip.name!r} on {job.track} overlaps the clip before; trimmed")
        a = pos
    if z <= a:
        return pos
    if a > pos:
        seq.components.append(b.f.create.Filler("sound", a - pos))
    length = z - a
    clip = master.create_source_clip(
        channel + 1, start=start + (a - rec_in), length=length, media_kind="sound"
    )
    # a crossfade (transition) is cut at its nominal edit point: its fades stay in the OTIO only
    fade_in = frames_to_samples(cp.fade_in, rate, SAMPLE_RATE) if cp.fade_in and not cp.head else 0
    fade_out = frames_to_samples(cp.fade_out, rate, SAMPLE_RATE) if cp.fade_out and not cp.tail else 0
    if cp.gain_db or fade_in or fade_out:
        clip = b.gain(clip, length, cp.gain_db, fade_in, fade_out)
    seq.components.append(clip)
    return z


def export_session(
    timeline: otio.schema.Timeline,
    folder: str | Path,
    *,
    name: str | None = None,
    formats: Iterable[str] = EXPORT_FORMATS,
    handles: Fraction | int = 2,
    embed: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> DawExport:
    """Export ``timeline``'s audio for a DAW into ``folder`` (``media/``, ``NAME.otio``, ``NAME.aaf``).

    ``handles`` is in seconds (a Fraction or int) each side of every clip, limited by its source file.
    Clips whose media cannot be read are left out and listed in ``warnings``. Every file is written
    atomically; the session itself is not changed.
    """
    fmts = tuple(dict.fromkeys(x.strip().lower() for x in formats if x.strip()))
    bad = [x for x in fmts if x not in EXPORT_FORMATS]
    if bad or not fmts:
        raise UsageError(f"unknown export format {', '.join(bad) or '(none)'}", hint="use aaf, otio or both")
    handle = Fraction(handles)
    if handle < 0:
        raise UsageError(f"handles must be >= 0 seconds, got {handle}")
    out = Path(folder)
    name = _safe(name or timeline.name or out.name, 80)
    warnings: list[str] = []
    plan = plan_timeline(timeline)
    jobs = _jobs(timeline, plan, handle, warnings)
    track_names = plan.audio_names
    rate = plan.rate
    media = out / "media"
    taken: set[str] = set()
    for k, job in enumerate(jobs, start=1):
        stem = f"{_safe(job.track, 12)}_{k:04d}_{_safe(job.clip.name)}"
        while stem.lower() in taken:
            stem += "_x"
        taken.add(stem.lower())
        job.wav = media / f"{stem}.wav"
    progress.start("consolidating clips", len(jobs))
    for job in jobs:
        _write_wav(job, timeline.name or name, rate)
        progress.advance()
    progress.finish()
    written = {j.wav.name for j in jobs}
    for stale in media.glob("*.wav") if media.is_dir() else ():
        if stale.name not in written:  # left by an earlier export of this package
            stale.unlink()

    otio_path = aaf_path = None
    if "otio" in fmts:
        otio_path = out / f"{name}.otio"
        exported = _exported_timeline(timeline, jobs, out)
        atomic_write_text(otio_path, otio.adapters.write_to_string(exported, "otio_json"))
    if "aaf" in fmts:
        aaf_path = out / f"{name}.aaf"
        markers = [
            (m.record_frame, m.duration, m.name or m.comment, m.color, "posthouse") for m in plan.markers
        ]
        _write_aaf(
            aaf_path,
            timeline.name or name,
            jobs,
            track_names,
            rate,
            plan.start_frame,
            markers,
            embed,
            warnings,
        )
    return DawExport(
        folder=out,
        clips=tuple(_daw_clip(j) for j in jobs),
        otio_path=otio_path,
        aaf_path=aaf_path,
        embedded=embed and aaf_path is not None,
        record_start=frames_to_timecode(plan.start_frame, rate),
        warnings=tuple(warnings),
    )
