"""Dialogue editing on a sound session: clean every production clip, pick the best mic, fill the gaps.

For each clip on the session's production dialogue tracks (``DX1``, ``DX2`` … as made from the cut; the
boom and lavs of one take are linked by ``metadata["posthouse"]["link"]``) the clip's audio is read with
handles, run through :func:`posthouse.sound.cleanup.clean` (high-pass, hum, de-click, spectral gate,
de-ess) and leveled to a dialogue target, and written as a mono BWF whose ``TimeReference`` puts every
sample exactly where the original played. The session then gets a new dialogue layout:

- ``DX1``: per line (speech region), the cleaned clip of the mic with the best measured SNR (speech
  level over that mic's own room-tone floor), with short crossfades where the mic changes;
  ``DX1B`` … only when linked groups overlap in record time;
- ``DX FILL``: room tone from the neighbouring take's quietest stretch, looped with crossfades, under
  every gap between takes on DX1 (faded in and out under the dialogue);
- ``DX ALT n``: every cleaned clip of input track ``n`` at its place, muted (the alternates);
- ``DX RAW n``: the original tracks, muted; a second run starts again from them.

Bad input never stops the run: a 44.1 kHz (or any other rate) file is resampled to the session rate with
a warning, clipped passages are listed with their timecode, and a clip whose file is missing or unreadable
becomes silence and is listed. :func:`measure_improvement` scores the layout against the demo shoot's
clean dialogue (``shoot/truth/TAKE_dialogue.wav``).

The work is split by what it does: :mod:`posthouse.sound.mic_choice` (the per-line microphone choice and
the ``DX1`` lanes), :mod:`posthouse.sound.room_tone` (the ``DX FILL`` track) and
:mod:`posthouse.sound.dialogue_truth` (:func:`measure_improvement`); this module reads and cleans the
clips and lays out the session. Their public names are importable from here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.media.bwf import Bext, IXml, read_bwf, write_bwf
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import (
    Rate,
    frames_to_timecode,
    rational_time_to_frames,
    rational_time_to_seconds,
    samples_to_timecode,
)
from posthouse.engine.plan import clip_media_path
from posthouse.sound.cleanup import clean, detect_clipping, level_dialogue, noise_floor_dbfs
from posthouse.sound.dialogue_truth import Improvement, TakeImprovement, measure_improvement
from posthouse.sound.mic_choice import (
    _ROLE_ALT,
    _ROLE_CHOSEN,
    _ROLE_FILL,
    _ROLE_RAW,
    F32,
    RegionChoice,
    _choose,
    _groups,
    _Input,
    _lane_tracks,
    _record_samples,
    _region_clip,
    _role,
    _speech_db,
    _walk,
)
from posthouse.sound.room_tone import FillReport, _fills, _room_tone
from posthouse.sound.session import audio_tracks, place_clip, posthouse_meta, session_rate, set_track_stem

__all__ = [
    "CleanReport",
    "ClipReport",
    "ClippedRegion",
    "FillReport",
    "Improvement",
    "RegionChoice",
    "TakeImprovement",
    "clean_dialogue",
    "measure_improvement",
]

_OUTPUT_NAME = re.compile(r"[A-Za-z0-9._-]+_\d{3}_[A-Za-z0-9._-]+\.wav|fill_\d{3}\.wav")  # what we write


# ------------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class ClippedRegion:
    """A run of full-scale samples in a source file (flagged, not repaired)."""

    samples: int
    source_timecode: str
    record_timecode: str


@dataclass(frozen=True)
class ClipReport:
    """What happened to one production clip."""

    track: str
    clip: str
    mic: str
    link: str | None
    source: str
    record_in: int  # record frames from the session start
    record_out: int
    record_timecode: str
    output: str | None = None
    hum_hz: int | None = None
    clicks: int = 0
    deess_max_db: float = 0.0
    noise_floor_before_dbfs: float | None = None
    noise_floor_after_dbfs: float | None = None
    loudness_before_lufs: float | None = None
    level_gain_db: float | None = None
    snr_db: float | None = None  # speech over the mic's own room tone, after cleanup
    clipped: tuple[ClippedRegion, ...] = ()
    resampled_from: int | None = None
    missing: str | None = None  # why the clip became silence
    steps: tuple[str, ...] = ()


@dataclass
class CleanReport:
    """Everything :func:`clean_dialogue` did (JSON-able through :meth:`to_dict`)."""

    session: str
    out_dir: str
    sample_rate: int
    target_lufs: float
    clips: list[ClipReport] = field(default_factory=list)
    regions: list[RegionChoice] = field(default_factory=list)
    fills: list[FillReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    improvement: Improvement | None = None

    @property
    def resampled(self) -> list[str]:
        """Source files resampled to the session rate."""
        return sorted({c.source for c in self.clips if c.resampled_from is not None})

    @property
    def missing(self) -> list[str]:
        """Clips that became silence, with why."""
        return [f"{c.track} {c.clip}: {c.missing}" for c in self.clips if c.missing]

    @property
    def clipped(self) -> list[str]:
        """Clipped passages as ``track clip: record TC (source TC), n samples``."""
        return [
            f"{c.track} {c.clip}: {r.record_timecode} (source {r.source_timecode}), {r.samples} samples"
            for c in self.clips
            for r in c.clipped
        ]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["improvement"] = self.improvement.to_dict() if self.improvement is not None else None
        out["resampled"] = self.resampled
        out["missing"] = self.missing
        out["clipped"] = self.clipped
        return out


# ----------------------------------------------------------------------------------------- reading


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "clip"


def _read_input(
    inp: _Input,
    rate: Rate,
    start_frame: int,
    sample_rate: int,
    handle_s: float,
) -> tuple[F32, int, int] | None:
    """The clip's source with handles at ``sample_rate``: ``(audio, time_reference, index of record_in)``;
    ``None`` (with ``inp.report.missing`` set) when it cannot be read."""
    import soundfile as sf

    clip = inp.clip
    path = clip_media_path(clip)
    n48 = _record_samples(inp.record_out, rate, sample_rate) - _record_samples(
        inp.record_in, rate, sample_rate
    )
    if path is None:
        _set(inp, missing="no media reference")
        return None
    if not path.exists():
        _set(inp, missing=f"file not found: {path}")
        return None
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as exc:
        _set(inp, missing=f"cannot read {path.name}: {exc}")
        return None
    fsr, frames, chans = int(info.samplerate), int(info.frames), int(info.channels)
    meta = clip.metadata.get("posthouse") or {}
    channel = meta.get("channel")
    if channel is not None and not 0 <= int(channel) < chans:
        _set(inp, missing=f"channel {channel} not in the {chans}-channel file {path.name}")
        return None
    ref = clip.media_reference
    avail = ref.available_range if ref is not None else None
    avail_s = rational_time_to_seconds(avail.start_time) if avail is not None else Fraction(0)
    src_s = rational_time_to_seconds(clip.source_range.start_time) if clip.source_range else avail_s
    s0 = round((src_s - avail_s) * fsr)  # file sample at record_in
    n_file = math.ceil(n48 * fsr / sample_rate)
    h = round(handle_s * fsr)
    a, b = max(0, s0 - h), min(frames, s0 + n_file + h)
    if b <= a or b <= s0 or s0 + n_file <= 0:
        _set(inp, missing=f"the clip's source range lies outside {path.name}")
        return None
    try:
        data, _ = sf.read(str(path), start=a, stop=b, dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:
        _set(inp, missing=f"cannot read {path.name}: {exc}")
        return None
    raw = np.ascontiguousarray(data.T[int(channel)] if channel is not None else data.T.mean(axis=0))
    # clipped passages inside the part that plays
    lo, hi = max(s0, a) - a, min(s0 + n_file, b) - a
    clipped = []
    for c0, c1 in detect_clipping(raw[lo:hi]):
        at = lo + c0 + a  # file sample
        since_midnight = round(avail_s * fsr) + at
        rec = inp.record_in + math.floor(Fraction(at - s0, fsr) * rate.fps)
        clipped.append(
            ClippedRegion(
                samples=c1 - c0,
                source_timecode=samples_to_timecode(since_midnight, fsr, rate),
                record_timecode=frames_to_timecode(start_frame + rec, rate),
            )
        )
    resampled: int | None = None
    x = raw
    if fsr != sample_rate:
        from scipy.signal import resample_poly

        g = math.gcd(sample_rate, fsr)
        x = np.asarray(resample_poly(raw, sample_rate // g, fsr // g), np.float32)
        resampled = fsr
    tref = round((avail_s + Fraction(a, fsr)) * sample_rate)
    at_ri = round(src_s * sample_rate)
    off = at_ri - tref
    if off < 0:  # the clip starts before the file: silence first
        x = np.concatenate((np.zeros(-off, np.float32), x))
        tref += off
        off = 0
    if off + n48 > len(x):  # …or runs past its end
        x = np.concatenate((x, np.zeros(off + n48 - len(x), np.float32)))
    inp.report = _replace(inp.report, clipped=tuple(clipped), resampled_from=resampled)
    inp.time_reference, inp.at_record_in = tref, at_ri
    return x, tref, off


def _replace(report: ClipReport, **changes: Any) -> ClipReport:
    from dataclasses import replace

    return replace(report, **changes)


def _set(inp: _Input, **changes: Any) -> None:
    inp.report = _replace(inp.report, **changes)


def _process(
    inp: _Input,
    rate: Rate,
    start_frame: int,
    sample_rate: int,
    out_dir: Path,
    target_lufs: float,
    handle_s: float,
    reduction_db: float,
    warnings: list[str],
) -> None:
    got = _read_input(inp, rate, start_frame, sample_rate, handle_s)
    if got is None:
        warnings.append(f"{inp.track} {inp.clip.name}: {inp.report.missing} — it becomes silence")
        return
    x, tref, off = got
    if inp.report.resampled_from is not None:
        warnings.append(
            f"{inp.report.source}: {inp.report.resampled_from} Hz in a {sample_rate} Hz session, "
            f"resampled (cleaned copy at {sample_rate} Hz)"
        )
    res = clean(x, sample_rate, reduction_db=reduction_db)
    lv = level_dialogue(res.audio, sample_rate, target_lufs=target_lufs)
    y = lv.audio.reshape(-1)
    # per record frame power of the cleaned (pre-level) clip, for the mic choice
    frames = np.arange(inp.record_in, inp.record_out + 1, dtype=np.int64)
    fps = rate.fps  # frames_to_samples (ceil) for every frame boundary at once
    bounds = -((-frames * sample_rate * fps.denominator) // fps.numerator)
    bounds = bounds - bounds[0] + off
    pw = np.asarray(res.audio, np.float64) ** 2
    sums = np.add.reduceat(pw, bounds[:-1]) if len(bounds) > 1 else np.zeros(0)
    inp.frame_power = sums / np.maximum(np.diff(bounds), 1)
    inp.floor_db = noise_floor_dbfs(res.audio, sample_rate)
    inp.tone = _room_tone(y, sample_rate)
    speech = _speech_db(inp.frame_power, inp.floor_db)
    name = f"{_safe(inp.track)}_{inp.number:03d}_{_safe(inp.clip.name)}.wav"
    out = out_dir / name
    src = Path(inp.report.source)
    scene = take = ""
    try:
        info = read_bwf(src)
        if info is not None:
            scene, take = info.scene or "", info.take or ""
    except MediaError:
        pass
    steps = (*res.steps, f"level {target_lufs:g} LUFS ({lv.gain_db:+.1f} dB)")
    write_bwf(
        out,
        y[np.newaxis],
        sample_rate,
        bext=Bext(
            description=f"posthouse dialogue clean: {inp.mic} from {src.name}",
            time_reference=tref,
            coding_history="; ".join(steps),
        ),
        ixml=IXml(scene=scene, take=take, note="cleaned dialogue", track_names=(inp.mic,)),
    )
    inp.output, inp.file_samples = out, len(y)
    _set(
        inp,
        output=str(out),
        hum_hz=res.hum_hz,
        clicks=res.clicks,
        deess_max_db=round(res.deess_max_db, 2),
        noise_floor_before_dbfs=round(res.noise_floor_dbfs_before, 2),
        noise_floor_after_dbfs=round(noise_floor_dbfs(y, sample_rate), 2),
        loudness_before_lufs=None if lv.loudness_before_lufs is None else round(lv.loudness_before_lufs, 2),
        level_gain_db=round(lv.gain_db, 2),
        snr_db=None if speech is None else round(speech - inp.floor_db, 2),
        steps=steps,
    )


# ------------------------------------------------------------------------------------------ layout


def _alternate(track_no: int, inputs: Sequence[_Input], rate: Rate, sample_rate: int) -> otio.schema.Track:
    track = otio.schema.Track(name=f"DX ALT {track_no + 1}", kind="Audio")
    set_track_stem(track, "dialogue")
    meta = posthouse_meta(track)
    meta.update({"role": _ROLE_ALT, "mute": True})
    for inp in inputs:
        if inp.output is None:
            continue
        orig = dict(inp.clip.metadata.get("posthouse") or {})
        orig.pop("channel", None)
        orig.update({"role": _ROLE_ALT, "mic": inp.mic, "source_clip": inp.clip.name})
        clip = _region_clip(inp, inp.record_in, inp.record_out, rate, sample_rate, orig)
        posthouse_meta(clip)["role"] = _ROLE_ALT
        place_clip(track, clip, inp.record_in, rate)
    return track


# ------------------------------------------------------------------------------------------ public


def clean_dialogue(
    session: otio.schema.Timeline,
    out_dir: str | Path,
    *,
    target_lufs: float = -27.0,
    sample_rate: int = 48_000,
    handle_s: float = 1.0,
    reduction_db: float = 12.0,
    crossfade_frames: int = 1,
    fill_fade_frames: int = 2,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> CleanReport:
    """Clean every production dialogue clip of ``session`` into ``out_dir`` and lay out the new dialogue
    tracks in ``session`` (modified in place; save it with :func:`posthouse.sound.session.save_session`).

    Input tracks are the unmuted dialogue tracks named ``DXn`` (or, on a second run, the ``DX RAW`` tracks
    the first one kept). Returns the :class:`CleanReport`; no single bad clip stops the run.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rate = session_rate(session)
    start_frame = rational_time_to_frames(session.global_start_time, rate) if session.global_start_time else 0
    dialogue = audio_tracks(session, "dialogue")
    raw = [t for t in dialogue if _role(t) == _ROLE_RAW]
    if raw:
        for t in dialogue:
            if _role(t) in (_ROLE_CHOSEN, _ROLE_FILL, _ROLE_ALT):
                session.tracks.remove(t)
        inputs_tracks = raw
    else:
        inputs_tracks = [
            t
            for t in dialogue
            if _role(t) is None
            and not (t.metadata.get("posthouse") or {}).get("mute")
            and re.fullmatch(r"DX\d+", t.name or "")
        ]
    if not inputs_tracks:
        raise UsageError(
            f"session {session.name!r} has no production dialogue tracks (DX1, DX2 …)",
            hint="make the session from a cut with production sound (posthouse sound session)",
        )
    report = CleanReport(
        session=session.name, out_dir=str(out), sample_rate=sample_rate, target_lufs=target_lufs
    )
    inputs: list[_Input] = []
    for i, track in enumerate(inputs_tracks):
        label = str((track.metadata.get("posthouse") or {}).get("dx_input") or track.name)
        for clip, ri, ro in _walk(track, rate):
            meta = clip.metadata.get("posthouse") or {}
            mic_name = str(meta.get("track_name") or clip.name or label)
            path = clip_media_path(clip)
            inputs.append(
                _Input(
                    index=i,
                    number=len(inputs) + 1,
                    track=label,
                    clip=clip,
                    record_in=ri,
                    record_out=ro,
                    mic=mic_name,
                    link=meta.get("link"),
                    report=ClipReport(
                        track=label,
                        clip=clip.name,
                        mic=mic_name,
                        link=meta.get("link"),
                        source=str(path) if path is not None else "",
                        record_in=ri,
                        record_out=ro,
                        record_timecode=frames_to_timecode(start_frame + ri, rate),
                    ),
                )
            )
    progress.start("cleaning dialogue", len(inputs))
    for inp in inputs:
        if cancel is not None:
            cancel.raise_if_cancelled()
        _process(
            inp, rate, start_frame, sample_rate, out, target_lufs, handle_s, reduction_db, report.warnings
        )
        progress.advance()
    progress.finish()
    for inp in inputs:
        for region in inp.report.clipped:
            report.warnings.append(
                f"{inp.track} {inp.clip.name}: clipped at {region.record_timecode} "
                f"(source {region.source_timecode}), {region.samples} samples"
            )
    groups = _groups(inputs)
    for g in groups:
        _choose(g, rate)
        for r in g.regions:
            report.regions.append(
                RegionChoice(
                    link=g.link,
                    record_in=r.start,
                    record_out=r.end,
                    record_timecode_in=frames_to_timecode(start_frame + r.start, rate),
                    record_timecode_out=frames_to_timecode(start_frame + r.end, rate),
                    mic=r.mic.mic if r.mic is not None else None,
                    why=r.why(),
                    snr_db=r.scores,
                    speech=r.speech,
                )
            )
    lanes = _lane_tracks(groups, rate, sample_rate, crossfade_frames)
    fill, report.fills = _fills(
        groups, rate, start_frame, sample_rate, out, fill_fade_frames, report.warnings
    )
    alts = [
        _alternate(i, [inp for inp in inputs if inp.index == i], rate, sample_rate)
        for i in range(len(inputs_tracks))
    ]
    where = min(list(session.tracks).index(t) for t in inputs_tracks)
    for i, t in enumerate(inputs_tracks):
        session.tracks.remove(t)
        meta = posthouse_meta(t)
        meta.setdefault("dx_input", t.name)
        meta.update({"role": _ROLE_RAW, "mute": True})
        t.name = f"DX RAW {i + 1}"
    for k, t in enumerate([*lanes, fill, *alts, *inputs_tracks]):
        session.tracks.insert(where + k, t)
    report.clips = [inp.report for inp in inputs]
    written = {Path(c.output).name for c in report.clips if c.output} | {
        Path(f.output).name for f in report.fills
    }
    for old in out.glob("*.wav"):  # outputs of an earlier run that this layout no longer uses
        if old.name not in written and _OUTPUT_NAME.fullmatch(old.name):
            old.unlink()
    return report
