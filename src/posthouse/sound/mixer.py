"""The mixer: session tracks → stem buses → printmaster, M&E and stems, normalised to a loudness spec.

Every audio track of the session feeds one stem (see :mod:`posthouse.sound.session`). Per track: the
clips as the engine renders them (clip gain, fades, crossfades), then the track's fader
(``metadata["posthouse"]["gain_db"]``), its gain automation (``automation``: ``[[record_frame, dB], …]``,
linear in dB between points, held before the first and after the last), its pan (``pan``, see
:mod:`posthouse.sound.panning`; the stem's default otherwise) and an optional LFE send (``lfe_db``: the
track low-passed at 120 Hz into the LFE). Muted tracks (``mute``) are left out.

The buses are 5.1 (L R C LFE Ls Rs). Outputs per layout: ``5.1`` the bus itself, ``stereo`` its Lo/Ro
downmix. The printmaster is the sum of the stems; the M&E is music + effects + Foley + backgrounds. Each
layout is normalised on its own: pass 1 measures the printmaster (dialogue-gated on the dialogue stem's
speech when the spec asks), pass 2 renders again with the gain and a true-peak limiter whose gain is
shared by the stems, so the delivered stems still sum to the printmaster; when the limiter cost loudness,
pass 2 runs again with the difference made up. Everything streams in blocks, so memory does not grow with
the length of the timeline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import opentimelineio as otio
from scipy import signal

from posthouse.core.errors import UsageError
from posthouse.core.media.bwf import Bext, BwfWriter, IXml
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import Timecode, frames_to_samples
from posthouse.engine import plan_timeline
from posthouse.engine.audio import iter_mix_blocks
from posthouse.engine.plan import AudioClipPlan, TimelinePlan, clip_media_path, read_posthouse_meta
from posthouse.sound.limiter import TruePeakLimiter
from posthouse.sound.loudness import LoudnessMeter
from posthouse.sound.panning import CHANNELS_51, DEFAULT_PAN, LORO, pan_matrix
from posthouse.sound.session import STEMS, track_stem
from posthouse.sound.specs import LoudnessSpec
from posthouse.sound.speech import SpeechDetector

__all__ = ["STEM_CODES", "MixOutput", "MixReport", "TrackSetup", "mix_session", "track_setups"]

STEM_CODES: Final = {
    "dialogue": "DX",
    "music": "MX",
    "effects": "FX",
    "foley": "FOL",
    "backgrounds": "BG",
    "me": "ME",
    "printmaster": "PM",
}
_ME: Final = ("music", "effects", "foley", "backgrounds")
_LAYOUT_CODE: Final = {"5.1": "51", "stereo": "20"}
_CLIP_LEVEL: Final = 0.999  # |sample| at or above: clipped (full scale in 16/24-bit)


@dataclass(frozen=True, slots=True)
class TrackSetup:
    """How one session track enters the mix."""

    name: str
    stem: str
    channels: int  # 1 or 2
    pan: str | float
    gain_db: float = 0.0
    automation: tuple[tuple[int, float], ...] = ()
    lfe_db: float | None = None


@dataclass(frozen=True, slots=True)
class MixOutput:
    """A written file and its measurement."""

    layout: str
    stem: str  # a stem name, "me" or "printmaster"
    path: Path
    loudness: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"layout": self.layout, "stem": self.stem, "path": str(self.path), "loudness": self.loudness}


@dataclass
class MixReport:
    """What the mix did and whether the printmaster meets the spec."""

    spec: LoudnessSpec
    duration_s: float
    outputs: list[MixOutput] = field(default_factory=list)
    gain_db: dict[str, float] = field(default_factory=dict)  # per layout
    measured_before: dict[str, float] = field(default_factory=dict)
    measured_after: dict[str, float] = field(default_factory=dict)  # by the spec's gating
    true_peak_after: dict[str, float] = field(default_factory=dict)
    limiter_db: dict[str, float] = field(default_factory=dict)
    gating: str = "program"
    target_lufs: float = 0.0
    dialogue_percent: float = 0.0
    passes: int = 0
    tracks: list[TrackSetup] = field(default_factory=list)
    clipping: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    resampled: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every printmaster within tolerance of the target and under the true-peak ceiling."""
        tol = self.spec.tolerance_lu
        return bool(self.measured_after) and all(
            abs(v - self.target_lufs) <= tol and self.true_peak_after[k] <= self.spec.true_peak_dbtp + 1e-6
            for k, v in self.measured_after.items()
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""

        def r(x: float) -> float | None:
            return None if math.isinf(x) or math.isnan(x) else round(x, 2)

        return {
            "spec": self.spec.to_dict(),
            "passed": self.passed,
            "duration_s": round(self.duration_s, 3),
            "gating": self.gating,
            "target_lufs": self.target_lufs,
            "dialogue_percent": round(self.dialogue_percent, 1),
            "gain_db": {k: r(v) for k, v in self.gain_db.items()},
            "measured_before_lufs": {k: r(v) for k, v in self.measured_before.items()},
            "measured_after_lufs": {k: r(v) for k, v in self.measured_after.items()},
            "true_peak_after_dbtp": {k: r(v) for k, v in self.true_peak_after.items()},
            "limiter_max_reduction_db": {k: r(v) for k, v in self.limiter_db.items()},
            "passes": self.passes,
            "tracks": [dataclasses.asdict(t) for t in self.tracks],
            "outputs": [o.to_dict() for o in self.outputs],
            "clipping": self.clipping,
            "missing": self.missing,
            "resampled": self.resampled,
            "warnings": self.warnings,
        }


def _file_channels(clip: AudioClipPlan) -> int:
    import soundfile as sf

    if clip.channel is not None or clip.path is None:
        return 1
    try:
        return int(sf.info(str(clip.path)).channels)
    except (RuntimeError, OSError):
        return 1


def track_setups(session: otio.schema.Timeline, plan: TimelinePlan | None = None) -> list[TrackSetup | None]:
    """The mix setup of each audio track of ``session`` in order; ``None`` for a muted track (``mute`` in
    its metadata, or disabled in OTIO) or one that feeds no stem."""
    plan = plan or plan_timeline(session)
    tracks = [t for t in session.tracks if t.kind == otio.schema.TrackKind.Audio]
    out: list[TrackSetup | None] = []
    for i, track in enumerate(tracks):
        meta = read_posthouse_meta(track)
        stem = track_stem(track)
        if stem is None or meta.get("mute") or not track.enabled:
            out.append(None)
            continue
        clips = plan.audio[i] if i < len(plan.audio) else []
        width = 2 if any(_file_channels(c) == 2 for c in clips) else 1
        autom = tuple(sorted((int(f), float(db)) for f, db in meta.get("automation", ())))
        lfe = meta.get("lfe_db")
        out.append(
            TrackSetup(
                name=track.name,
                stem=stem,
                channels=width,
                pan=meta.get("pan", DEFAULT_PAN[stem]),
                gain_db=float(meta.get("gain_db", 0.0)),
                automation=autom,
                lfe_db=float(lfe) if lfe is not None else None,
            )
        )
    return out


def _sum(
    buses: dict[str, npt.NDArray[np.float32]], stems: tuple[str, ...] = STEMS
) -> npt.NDArray[np.float32]:
    total = np.zeros_like(buses[stems[0]])
    for stem in stems:
        total += buses[stem]
    return total


def _resample_sources(
    session: otio.schema.Timeline, sample_rate: int, cache: Path, report: MixReport
) -> otio.schema.Timeline:
    """A copy of ``session`` whose clips at another sample rate point at resampled copies in ``cache``."""
    import soundfile as sf
    from scipy.signal import resample_poly

    from posthouse.core.fsutil import atomic_path

    done: dict[Path, Path] = {}
    copy = session.deepcopy()
    for clip in copy.find_clips():
        path = clip_media_path(clip)
        if path is None or not path.exists():
            continue
        if path not in done:
            try:
                info = sf.info(str(path))
            except RuntimeError:
                continue
            if int(info.samplerate) == sample_rate:
                done[path] = path
                continue
            key = hashlib.sha1(f"{path.resolve()}:{path.stat().st_mtime_ns}".encode()).hexdigest()[:16]
            dest = cache / f"{path.stem}_{key}_{sample_rate}.wav"
            if not dest.exists():
                data, rate = sf.read(str(path), dtype="float32", always_2d=True)
                g = math.gcd(sample_rate, int(rate))
                out = resample_poly(data, sample_rate // g, int(rate) // g, axis=0).astype(np.float32)
                cache.mkdir(parents=True, exist_ok=True)
                with atomic_path(dest) as tmp:
                    sf.write(str(tmp), out, sample_rate, subtype="FLOAT", format="WAV")
            done[path] = dest
            report.resampled.append(
                {"file": str(path), "from_hz": int(info.samplerate), "to_hz": sample_rate}
            )
            report.warnings.append(f"{path}: {int(info.samplerate)} Hz resampled to {sample_rate} Hz")
        target = done[path]
        if target != path:
            ref = clip.media_reference
            ref.target_url = target.resolve().as_uri()
    return copy


class _TrackRender:
    """One track's blocks: the engine's clip render, fader and automation, pan, LFE send."""

    def __init__(
        self,
        plan: TimelinePlan,
        index: int,
        setup: TrackSetup,
        sr: int,
        fpb: int,
        problems: list[tuple[AudioClipPlan, str]],
        cancel: CancelToken | None,
    ) -> None:
        sub = dataclasses.replace(
            plan, video=[], video_names=[], audio=[plan.audio[index]], audio_names=[plan.audio_names[index]]
        )
        self.setup = setup
        self.clips = plan.audio[index]
        self.blocks = iter_mix_blocks(
            sub,
            sample_rate=sr,
            frames_per_block=fpb,
            per_track=setup.channels == 1,
            problems=problems,
            cancel=cancel,
        )
        self.matrix = pan_matrix(setup.pan, setup.channels)
        self.gain = 10.0 ** (setup.gain_db / 20.0)
        self.rate = plan.rate
        self.sr = sr
        if setup.automation:
            self.auto_x = np.array([frames_to_samples(f, plan.rate, sr) for f, _ in setup.automation], float)
            self.auto_y = np.array([db for _, db in setup.automation], float)
        self.lfe_sos = None
        if setup.lfe_db is not None:
            self.lfe_sos = signal.butter(4, 120.0, btype="lowpass", fs=sr, output="sos")
            self.lfe_zi = np.zeros((self.lfe_sos.shape[0], 2))
            self.lfe_gain = 10.0 ** (setup.lfe_db / 20.0)

    def next(self, start: int) -> tuple[npt.NDArray[np.float32], float]:
        """The track's ``(6, n)`` contribution at bus sample ``start`` and its input peak."""
        x = next(self.blocks)
        peak = float(np.abs(x).max()) if x.size else 0.0
        n = x.shape[1]
        if self.setup.automation:
            pos = np.arange(start, start + n, dtype=np.float64)
            env = (10.0 ** (np.interp(pos, self.auto_x, self.auto_y) / 20.0) * self.gain).astype(np.float32)
            x = x * env
        elif self.gain != 1.0:
            x = x * np.float32(self.gain)
        out = (self.matrix @ x).astype(np.float32)
        if self.lfe_sos is not None:
            y, self.lfe_zi = signal.sosfilt(self.lfe_sos, x.mean(axis=0), zi=self.lfe_zi)
            out[3] += (y * self.lfe_gain).astype(np.float32)
        return out, peak


def _stem_blocks(
    plan: TimelinePlan,
    setups: list[TrackSetup | None],
    sr: int,
    fpb: int,
    problems: list[tuple[AudioClipPlan, str]],
    clipping: list[dict[str, Any]] | None,
    cancel: CancelToken | None,
) -> Iterator[tuple[int, dict[str, npt.NDArray[np.float32]]]]:
    """``(first_sample, {stem: (6, n) bus})`` for each block of the timeline."""
    renders = [
        _TrackRender(plan, i, s, sr, fpb, problems, cancel) for i, s in enumerate(setups) if s is not None
    ]
    frame = 0
    open_clip: dict[str, bool] = {}
    while frame < plan.duration:
        stop = min(frame + fpb, plan.duration)
        a = frames_to_samples(frame, plan.rate, sr)
        b = frames_to_samples(stop, plan.rate, sr)
        buses = {stem: np.zeros((6, b - a), np.float32) for stem in STEMS}
        for tr in renders:
            out, peak = tr.next(a)
            buses[tr.setup.stem] += out
            if clipping is not None:
                clipped = peak >= _CLIP_LEVEL
                if clipped and not open_clip.get(tr.setup.name):
                    clipping.append(_clip_note(plan, tr, frame, stop))
                open_clip[tr.setup.name] = clipped
        yield a, buses
        frame = stop


def _clip_note(plan: TimelinePlan, tr: _TrackRender, frame: int, stop: int) -> dict[str, Any]:
    tc = Timecode(plan.start_frame + frame, plan.rate)
    names = [c.name for c in tr.clips if c.start < stop and c.end > frame]
    return {
        "track": tr.setup.name,
        "clips": names,
        "record_frame": frame,
        "timecode": str(tc),
        "message": f"clipped input on {tr.setup.name} ({', '.join(names) or 'no clip'}) at {tc}",
    }


def _layout_block(bus: npt.NDArray[np.float32], layout: str) -> npt.NDArray[np.float32]:
    if layout == "5.1":
        return bus
    k = LORO[0, 2]  # -3 dB; the same BS.775 matrix as LORO, without a slow small-matrix product
    centre = bus[2] * k
    return np.stack((bus[0] + centre + bus[4] * k, bus[1] + centre + bus[5] * k))


def _meter(sr: int, layout: str) -> LoudnessMeter:
    return LoudnessMeter(sr, 6, "5.1") if layout == "5.1" else LoudnessMeter(sr, 2)


def _measure(meter: LoudnessMeter, gating: str, speech: npt.NDArray[np.bool_] | None) -> float:
    if gating == "dialogue" and speech is not None:
        return meter.gated_integrated(speech)
    return meter.result().integrated_lufs


def mix_session(
    session: otio.schema.Timeline,
    out_dir: str | Path,
    spec: LoudnessSpec,
    *,
    name: str | None = None,
    layouts: tuple[str, ...] | None = None,
    sample_rate: int = 48_000,
    bit_depth: int = 24,
    stems: bool = True,
    normalize: bool = True,
    frames_per_block: int = 48,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> MixReport:
    """Mix ``session`` to ``out_dir``: per layout the printmaster, the M&E and (``stems``) every stem,
    as BWF with the timeline's start as TimeReference, normalised to ``spec``. Returns the report."""
    out = Path(out_dir)
    layouts = tuple(layouts or spec.layouts)
    for lay in layouts:
        if lay not in _LAYOUT_CODE:
            raise UsageError(f"unknown layout {lay!r}", hint="use 5.1 or stereo")
    base = name or (session.name or "mix").replace(" ", "_")
    plan0 = plan_timeline(session)
    report = MixReport(spec=spec, duration_s=0.0)
    session = _resample_sources(session, sample_rate, out / "resampled", report)
    plan = plan_timeline(session)
    report.warnings.extend(plan0.warnings)
    setups = track_setups(session, plan)
    report.tracks = [s for s in setups if s is not None]
    if not report.tracks:
        raise UsageError(f"{session.name!r} has no audio tracks to mix", hint="add tracks with a stem")
    total = frames_to_samples(plan.duration, plan.rate, sample_rate)
    report.duration_s = total / sample_rate
    time_ref = frames_to_samples(plan.start_frame, plan.rate, sample_rate)
    fpb = frames_per_block

    # pass 1: measure each layout's printmaster and find the speech in the dialogue stem
    problems: list[tuple[AudioClipPlan, str]] = []
    meters = {lay: _meter(sample_rate, lay) for lay in layouts}
    speech = SpeechDetector(sample_rate)
    progress.start("mix: measuring", total=2 * total)
    for _a, buses in _stem_blocks(plan, setups, sample_rate, fpb, problems, report.clipping, cancel):
        pm = _sum(buses)
        for lay in layouts:
            meters[lay].push(_layout_block(pm, lay))
        speech.push(buses["dialogue"])
        progress.advance(buses["dialogue"].shape[1])
    for clip, reason in problems:
        report.missing.append(
            {"track": clip.track, "clip": clip.name, "record_frame": clip.record_in, "reason": reason}
        )
        report.warnings.append(f"{clip.track}: {clip.name!r} plays silent ({reason})")
    activity = speech.activity()
    report.dialogue_percent = 100.0 * float(activity.mean()) if activity.size else 0.0
    gating, target = spec.gating, spec.target_lufs
    if gating == "dialogue" and report.dialogue_percent < spec.dialogue_min_percent:
        gating = "program"
        target = spec.fallback_target_lufs if spec.fallback_target_lufs is not None else target
        report.warnings.append(
            f"dialogue is {report.dialogue_percent:.1f} % of the programme (under "
            f"{spec.dialogue_min_percent:g} %): programme-gated loudness at {target} LUFS"
        )
    report.gating, report.target_lufs = gating, target
    for lay in layouts:
        measured = _measure(meters[lay], gating, activity)
        report.measured_before[lay] = measured
        if not normalize or math.isinf(measured):
            report.gain_db[lay] = 0.0
            if normalize:
                report.warnings.append(f"{lay}: the mix is silent, not normalised")
        else:
            report.gain_db[lay] = target - measured

    # pass 2 (and a third when the limiter cost more than 0.1 LU): render, limit, write, measure
    for attempt in range(3):
        report.passes = attempt + 2
        report.outputs = []
        results = _render_outputs(
            plan,
            setups,
            out,
            base,
            layouts,
            spec,
            report,
            sample_rate,
            bit_depth,
            stems,
            time_ref,
            activity,
            gating,
            fpb,
            progress,
            cancel,
        )
        redo = False
        for lay, (level, tp, lim_db) in results.items():
            report.measured_after[lay] = level
            report.true_peak_after[lay] = tp
            report.limiter_db[lay] = lim_db
            if normalize and not math.isinf(level) and abs(level - target) > 0.1:
                report.gain_db[lay] += target - level
                redo = True
        if not redo:
            break
    progress.finish()
    return report


def _render_outputs(
    plan: TimelinePlan,
    setups: list[TrackSetup | None],
    out: Path,
    base: str,
    layouts: tuple[str, ...],
    spec: LoudnessSpec,
    report: MixReport,
    sr: int,
    bit_depth: int,
    stems: bool,
    time_ref: int,
    activity: npt.NDArray[np.bool_],
    gating: str,
    fpb: int,
    progress: Progress,
    cancel: CancelToken | None,
) -> dict[str, tuple[float, float, float]]:
    """Write every file of pass 2; returns per layout (printmaster level by ``gating``, true peak, limiter
    max reduction)."""
    names = ["printmaster", "me", *(STEMS if stems else ())]
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[tuple[str, str], BwfWriter] = {}
    meters: dict[tuple[str, str], LoudnessMeter] = {}
    limiters: dict[str, TruePeakLimiter] = {}
    gains: dict[str, np.float32] = {}
    for lay in layouts:
        ch = 6 if lay == "5.1" else 2
        limiters[lay] = TruePeakLimiter(sr, ch * len(names), spec.true_peak_dbtp, detect_channels=ch)
        gains[lay] = np.float32(10.0 ** (report.gain_db[lay] / 20.0))
        track_names = CHANNELS_51 if lay == "5.1" else ("Lo", "Ro")
        for stem in names:
            path = out / f"{base}_{STEM_CODES[stem]}_{_LAYOUT_CODE[lay]}.wav"
            desc = f"{base} {stem} {lay} ({spec.name})"
            writers[lay, stem] = BwfWriter(
                path,
                ch,
                sr,
                bit_depth=bit_depth,
                bext=Bext(description=desc[:256], time_reference=time_ref),
                ixml=IXml(project=base, note=desc, track_names=tuple(track_names)),
            )
            meters[lay, stem] = _meter(sr, lay)
    with contextlib.ExitStack() as stack:
        for w in writers.values():
            stack.enter_context(w)

        def emit(lay: str, block: npt.NDArray[np.float32]) -> None:
            ch = 6 if lay == "5.1" else 2
            for k, stem in enumerate(names):
                part = block[k * ch : (k + 1) * ch]
                writers[lay, stem].write(part)
                meters[lay, stem].push(part)

        for _a, buses in _stem_blocks(plan, setups, sr, fpb, [], None, cancel):
            pm = _sum(buses)
            me = _sum(buses, _ME)
            parts = [pm, me, *(buses[s] for s in STEMS)] if stems else [pm, me]
            for lay in layouts:
                stacked = np.concatenate([_layout_block(p, lay) for p in parts], axis=0) * gains[lay]
                done = limiters[lay].process(stacked)
                if done.shape[1]:
                    emit(lay, done)
            progress.advance(buses["dialogue"].shape[1])
        for lay in layouts:
            rest = limiters[lay].flush()
            if rest.shape[1]:
                emit(lay, rest)
    results: dict[str, tuple[float, float, float]] = {}
    for (lay, stem), meter in meters.items():
        res = meter.result()
        loud = res.to_dict()
        if stem == "printmaster":
            level = _measure(meter, gating, activity)
            loud["dialogue_gated_lufs"] = (
                round(meter.gated_integrated(activity), 2) if activity.any() else None
            )
            results[lay] = (level, res.true_peak_dbtp, limiters[lay].max_reduction_db)
        report.outputs.append(MixOutput(lay, stem, writers[lay, stem].path, loud))
    return results
