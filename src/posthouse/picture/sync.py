"""Sync picture with production sound: timecode, waveform (scratch track), and slate (flash and clap).

Offsets follow the ground truth's convention: ``offset_samples`` is the index of the production-sound
sample (at the sound's own rate) that lines up with the picture's first frame; negative when the sound
started after the picture. ``drift_ppm`` is the recorder clock's error against the camera's, positive
when the recorder is fast: the sound sample under picture time ``t`` is
``offset + t · rate · (1 + ppm·1e-6)``.

Methods:

- ``timecode``: the camera's start timecode (a label at the picture rate, drop-frame from its ``;``) in
  samples since midnight against the BWF ``TimeReference``, less the recorder's known jam error.
  Plausible only when the two ranges overlap.
- ``waveform``: the camera's scratch audio located in the boom (or the mix) by a whitened correlation,
  coarse at 8 kHz then sample-accurate in windows across the take, which also measure the drift
  (:mod:`posthouse.picture.sync_waveform`).
- ``slate``: the flash frame in picture against the clap in the sound
  (:mod:`posthouse.picture.sync_slate`); frame-accurate at best.
- ``auto``: waveform when the camera has scratch audio, checked against timecode; a disagreement of more
  than two frames is noted and resolved by the waveform when it is confident. A weak waveform stands
  when timecode or the slate agrees with it; when timecode disagrees and the slate settles nothing, the
  result is a ``conflict``. Without scratch audio (or a usable waveform): timecode checked by the slate
  (the clap's offset is reported when they agree within two frames, a ``conflict`` when not); without
  plausible timecode, the slate alone. ``sync_all`` also says whose timecode is wrong when several
  cameras share a sound file.

A damaged clip, a missing sound file or a failed method never raises: the result says ``unsynced`` and
why.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

from posthouse.core.errors import TimecodeError, UsageError
from posthouse.core.jobs import Executor, SerialExecutor
from posthouse.core.media import MediaInfo
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import Rate, frames_to_samples_exact, samples_to_timecode, timecode_to_frames

__all__ = [
    "METHODS",
    "PictureClip",
    "SoundClip",
    "SyncResult",
    "pair_clips",
    "picture_clip_from_probe",
    "sound_clip_from_probe",
    "sync_all",
    "sync_pair",
]

METHODS: Final = ("auto", "timecode", "waveform", "slate")
ACCEPT: Final = 0.5  # a waveform fit at least this confident is trusted over timecode
_AGREE_FRAMES: Final = 2.0  # two methods within this many frames agree
_TIMECODE_CONFIDENCE: Final = 0.4  # timecode alone: right within the jam error, when nothing is wrong
_SLATE_CONFIDENCE: Final = 0.6  # slate alone at best: frame-accurate
_SLATE_WITH_TIMECODE: Final = 0.75  # slate and timecode agreeing
_CLAP_SEARCH_S: Final = 1.0  # either side of where timecode puts the clap
_CLAP_FIRST_S: Final = 20.0  # without timecode: the first seconds of sound
_DAY_S: Final = 86_400
_EITHER = "timecode wrong on the sound or the camera"


@dataclass(frozen=True, slots=True)
class PictureClip:
    """One camera clip, as probed (see :func:`picture_clip_from_probe`)."""

    path: Path
    name: str
    scene: str | None
    take: str | None
    camera: str | None
    start_timecode: str | None
    rate: Fraction
    frames: int
    has_audio: bool
    damaged: bool = False


@dataclass(frozen=True, slots=True)
class SoundClip:
    """One production sound file, as probed (see :func:`sound_clip_from_probe`)."""

    path: Path
    name: str
    scene: str | None
    take: str | None
    time_reference: int | None  # samples since midnight at sample_rate (BWF bext)
    sample_rate: int
    samples: int
    channels: int
    damaged: bool = False


@dataclass(frozen=True, slots=True)
class SyncResult:
    """How one camera clip lines up with its production sound.

    ``offset_samples``: the sound's sample (at its own rate) under the picture's first frame, negative
    when the sound starts after the picture; ``offset_frames`` the same in picture frames;
    ``drift_ppm``: recorder clock error (waveform only); ``timecode_offset_samples``: what timecode alone
    said. ``status``: ``synced``, ``conflict`` (methods disagree and none is trusted) or ``unsynced``.
    """

    take: str
    picture: Path
    sound: Path | None
    method: str
    offset_samples: int | None
    offset_frames: float | None
    drift_ppm: float | None
    confidence: float
    status: str
    notes: tuple[str, ...]
    timecode_offset_samples: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "take": self.take,
            "picture": str(self.picture),
            "sound": str(self.sound) if self.sound is not None else None,
            "method": self.method,
            "offset_samples": self.offset_samples,
            "offset_frames": self.offset_frames,
            "drift_ppm": self.drift_ppm,
            "confidence": self.confidence,
            "status": self.status,
            "notes": list(self.notes),
            "timecode_offset_samples": self.timecode_offset_samples,
        }


# ------------------------------------------------------------------------------------------ from probe


def _tag(tags: dict[str, str], *keys: str) -> str | None:
    lowered = {k.lower(): v for k, v in tags.items()}
    for key in keys:
        value = lowered.get(key)
        if value is not None and value.strip():
            return value.strip()
    return None


def picture_clip_from_probe(info: MediaInfo, **overrides: Any) -> PictureClip:
    """A :class:`PictureClip` from a probe: scene/take/camera from the container tags, start timecode,
    exact rate and frame count of the first video stream. ``overrides`` replace any field (e.g. scene and
    take from a camera report). A file without a readable video stream is marked damaged."""
    video = info.video[0] if info.video else None
    fields: dict[str, Any] = {
        "path": info.path,
        "name": info.path.stem,
        "scene": _tag(info.tags, "scene"),
        "take": _tag(info.tags, "take"),
        "camera": _tag(info.tags, "camera", "camera_id"),
        "start_timecode": info.start_timecode,
        "rate": video.rate if video is not None and video.rate else Fraction(0),
        "frames": video.frames if video is not None else 0,
        "has_audio": bool(info.audio),
        "damaged": info.damaged or video is None,
    }
    fields.update(overrides)
    return PictureClip(**fields)


def sound_clip_from_probe(info: MediaInfo, **overrides: Any) -> SoundClip:
    """A :class:`SoundClip` from a probe: scene/take from iXML, ``TimeReference`` from bext, and the
    first audio stream's rate, length and channels. ``overrides`` replace any field."""
    audio = info.audio[0] if info.audio else None
    bwf = info.bwf
    fields: dict[str, Any] = {
        "path": info.path,
        "name": info.path.stem,
        "scene": (bwf.scene or None) if bwf is not None else None,
        "take": (bwf.take or None) if bwf is not None else None,
        "time_reference": bwf.time_reference if bwf is not None else None,
        "sample_rate": audio.sample_rate if audio is not None else 0,
        "samples": audio.samples if audio is not None else 0,
        "channels": audio.channels if audio is not None else 0,
        "damaged": info.damaged or audio is None,
    }
    fields.update(overrides)
    return SoundClip(**fields)


# --------------------------------------------------------------------------------------------- pairing


def _key(scene: str | None, take: str | None) -> tuple[str, str] | None:
    if not scene or not take:
        return None
    t = take.strip().upper()
    return scene.strip().upper(), t.lstrip("0") or t


def _take_name(picture: PictureClip) -> str:
    if picture.scene and picture.take:
        return f"{picture.scene.strip()}-{picture.take.strip()}"
    return picture.name


def _picture_span(picture: PictureClip) -> tuple[Fraction, Fraction] | None:
    """Start and length of a picture clip in seconds since midnight, from its timecode."""
    if picture.start_timecode is None or not picture.rate:
        return None
    try:
        rate = Rate.parse(picture.rate)
        start = timecode_to_frames(picture.start_timecode, rate)
    except TimecodeError:
        return None
    return start * rate.frame_duration, picture.frames * rate.frame_duration


def _sound_span(sound: SoundClip, jam: int) -> tuple[Fraction, Fraction] | None:
    if sound.time_reference is None or sound.sample_rate <= 0:
        return None
    return Fraction(sound.time_reference - jam, sound.sample_rate), Fraction(sound.samples, sound.sample_rate)


def _overlap(picture: PictureClip, sound: SoundClip, jam: int) -> Fraction:
    """Seconds of timecode overlap (across midnight too); 0 when none or unknown."""
    p, s = _picture_span(picture), _sound_span(sound, jam)
    if p is None or s is None:
        return Fraction(0)
    best = Fraction(0)
    for wrap in (-_DAY_S, 0, _DAY_S):
        a, b = p[0] + wrap, p[0] + wrap + p[1]
        best = max(best, min(b, s[0] + s[1]) - max(a, s[0]))
    return best


def pair_clips(
    pictures: Sequence[PictureClip], sounds: Sequence[SoundClip], *, jam_offset_samples: int = 0
) -> list[tuple[PictureClip, SoundClip | None]]:
    """Pair each picture clip with its production sound: the sound with the same scene and take (by
    iXML/container metadata; the one overlapping most in timecode when several match), else the sound
    overlapping it most in timecode, else ``None``. One pair per picture clip, in order."""
    by_key: dict[tuple[str, str], list[SoundClip]] = defaultdict(list)
    for sound in sounds:
        key = _key(sound.scene, sound.take)
        if key is not None:
            by_key[key].append(sound)
    pairs: list[tuple[PictureClip, SoundClip | None]] = []
    for picture in pictures:
        key = _key(picture.scene, picture.take)
        matches = by_key.get(key, []) if key is not None else []
        pool = matches if matches else list(sounds)
        scored = [(_overlap(picture, s, jam_offset_samples), i) for i, s in enumerate(pool)]
        best = max(scored, default=(Fraction(0), -1))
        if matches:
            pairs.append((picture, matches[best[1]] if best[0] > 0 else matches[0]))
        else:
            pairs.append((picture, pool[best[1]] if best[0] > 0 else None))
    return pairs


# --------------------------------------------------------------------------------------------- methods


@dataclass(frozen=True, slots=True)
class _Estimate:
    method: str
    offset: float
    confidence: float
    drift_ppm: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Timecode:
    offset: int | None  # None: no timecode to use
    plausible: bool
    note: str | None = None


def _timecode(picture: PictureClip, sound: SoundClip, jam: int) -> _Timecode:
    if picture.start_timecode is None:
        return _Timecode(None, False, "camera clip has no start timecode")
    if sound.time_reference is None:
        return _Timecode(None, False, "sound file has no timecode (bext TimeReference)")
    try:
        rate = Rate.parse(picture.rate)
        frames = timecode_to_frames(picture.start_timecode, rate)
    except TimecodeError as exc:
        return _Timecode(None, False, f"camera timecode {picture.start_timecode!r} unusable: {exc.message}")
    sr = sound.sample_rate
    start = frames_to_samples_exact(frames, rate, sr)
    day = _DAY_S * sr
    offset = round(start - (sound.time_reference - jam))
    offset = (offset + day // 2) % day - day // 2  # across midnight
    length = frames_to_samples_exact(picture.frames, rate, sr)
    if -length < offset < sound.samples:
        return _Timecode(offset, True)
    sound_tc = samples_to_timecode(sound.time_reference % day, sr, rate)
    return _Timecode(
        offset,
        False,
        f"timecodes do not overlap (camera {picture.start_timecode}, sound {sound_tc}): timecode unusable",
    )


def _span(samples: float, sample_rate: int, frame: float) -> str:
    """A time difference for people: ``2h13m07s``, ``4m05s``, ``3.25s`` or ``1.4 frames (58.4 ms)``."""
    seconds = abs(samples) / sample_rate
    if seconds >= 60:
        whole = round(seconds)
        h, rest = divmod(whole, 3600)
        m, s = divmod(rest, 60)
        return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"
    if seconds >= 1:
        return f"{seconds:.2f}s"
    return f"{abs(samples) / frame:.1f} frames ({seconds * 1000:.1f} ms)"


def _scratch_rate(path: Path) -> int | None:
    from posthouse.core.media import probe

    info = probe(path)
    return info.audio[0].sample_rate if info.audio and info.audio[0].sample_rate else None


def _waveform(picture: PictureClip, sound: SoundClip) -> tuple[_Estimate | None, str | None]:
    from posthouse.picture.sync_waveform import align, file_stream

    rate = _scratch_rate(picture.path)
    if rate is None:
        return None, "camera clip has no scratch audio"
    scratch = file_stream(picture.path, rate, channel=None)
    best = None
    # The boom first (closest to what the camera hears), then the mix of every track.
    for channel in (0, None) if sound.channels > 1 else (None,):
        fit = align(scratch, file_stream(sound.path, sound.sample_rate, channel=channel))
        if fit is not None and (best is None or fit.confidence > best[0].confidence):
            label = "track 1 (boom)" if channel == 0 else "the mix of all tracks"
            best = (fit, label if sound.channels > 1 else "the sound")
        if best is not None and best[0].confidence >= ACCEPT:
            break
    if best is None:
        return None, "scratch audio or sound is empty"
    fit, track = best
    drift = f", drift {fit.drift_ppm:+.2f} ppm" if fit.drift_ppm is not None else ", drift not measurable"
    note = (
        f"waveform: scratch vs {track}, {fit.windows}/{fit.tried} windows agree "
        f"(fit residual {fit.residual:.2f} samples){drift}"
    )
    return _Estimate("waveform", fit.offset, round(fit.confidence, 3), fit.drift_ppm, (note,)), None


def _slate(picture: PictureClip, sound: SoundClip, tc: _Timecode) -> tuple[_Estimate | None, str]:
    from posthouse.picture.sync_slate import find_clap, find_flash
    from posthouse.picture.sync_waveform import file_stream, read_ranges

    flash = find_flash(picture.path, picture.rate)
    if flash is None:
        return None, "slate: no flash frame in the first 10 s of picture"
    sr = sound.sample_rate
    at = frames_to_samples_exact(flash.frame, Rate.parse(picture.rate), sr)
    if tc.offset is not None and tc.plausible:
        centre = round(tc.offset + at)
        lo, hi = (
            max(0, centre - round(_CLAP_SEARCH_S * sr)),
            min(sound.samples, centre + round(_CLAP_SEARCH_S * sr)),
        )
        where = "near where timecode puts it"
    else:
        lo, hi = 0, min(sound.samples, round(_CLAP_FIRST_S * sr))
        where = f"in the first {_CLAP_FIRST_S:g} s of sound"
    if hi - lo < sr // 10:
        return None, f"slate: flash at frame {flash.frame}, but no sound {where}"
    audio = read_ranges(file_stream(sound.path, sr, channel=0), [(lo, hi)])[0]
    clap = find_clap(audio, sr, strongest=tc.plausible)
    if clap is None:
        return None, f"slate: flash at frame {flash.frame}, but no clap {where}"
    flash_score = min(1.0, flash.contrast / 0.5)
    clap_score = min(1.0, max(0.0, (clap.jump_db - 15.0) / 15.0))
    confidence = round(_SLATE_CONFIDENCE * flash_score * (0.5 + 0.5 * clap_score), 3)
    note = (
        f"slate: flash at frame {flash.frame}, clap at sound sample {lo + clap.sample} "
        f"({clap.jump_db:.0f} dB attack)"
    )
    return _Estimate("slate", lo + clap.sample - float(at), confidence, None, (note,)), note


def _agreement(
    name: str, offset: float, tc: _Timecode, sr: int, frame: float
) -> tuple[bool | None, str | None]:
    """Whether timecode agrees with another method's offset, and a note saying so."""
    if tc.offset is None:
        return None, None
    delta = tc.offset - offset
    if abs(delta) <= _AGREE_FRAMES * frame:
        return True, f"timecode agrees with {name} within {abs(delta) / frame:.2f} frames"
    return False, f"timecode disagrees with {name} by {_span(delta, sr, frame)}: {_EITHER}"


# ----------------------------------------------------------------------------------------------- sync


def _result(
    picture: PictureClip,
    sound: SoundClip | None,
    method: str,
    offset: float | None,
    drift: float | None,
    confidence: float,
    status: str,
    notes: Sequence[str],
    tc: _Timecode | None = None,
) -> SyncResult:
    offset_samples = round(offset) if offset is not None else None
    frames: float | None = None
    if offset_samples is not None and sound is not None and sound.sample_rate and picture.rate:
        frames = round(float(Fraction(offset_samples) * picture.rate / sound.sample_rate), 4)
    return SyncResult(
        take=_take_name(picture),
        picture=picture.path,
        sound=sound.path if sound is not None else None,
        method=method,
        offset_samples=offset_samples,
        offset_frames=frames,
        drift_ppm=round(drift, 3) if drift is not None else None,
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        status=status,
        notes=tuple(n for n in notes if n),
        timecode_offset_samples=tc.offset if tc is not None else None,
    )


def sync_pair(
    picture: PictureClip,
    sound: SoundClip | None,
    *,
    method: str = "auto",
    jam_offset_samples: int = 0,
) -> SyncResult:
    """Sync one camera clip with its production sound by ``method`` (``auto``, ``timecode``,
    ``waveform`` or ``slate``). ``jam_offset_samples`` is the recorder's timecode minus true time, in the
    sound's samples, when known. Never raises for bad media: the result is ``unsynced`` with the reason."""
    if method not in METHODS:
        raise UsageError(f"unknown sync method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    if picture.damaged:
        return _result(
            picture, sound, "none", None, None, 0.0, "unsynced",
            ["camera file is damaged (unreadable or truncated): recover or re-offload it, then sync again"],
        )  # fmt: skip
    if sound is None:
        return _result(
            picture, None, "none", None, None, 0.0, "unsynced",
            ["no production sound found for this clip (no scene/take match, no timecode overlap)"],
        )  # fmt: skip
    if sound.sample_rate <= 0 or sound.samples <= 0:
        return _result(
            picture, sound, "none", None, None, 0.0, "unsynced", ["sound file has no readable audio"]
        )
    if not picture.rate:
        return _result(picture, sound, "none", None, None, 0.0, "unsynced", ["camera clip has no frame rate"])
    notes: list[str] = ["sound file is reported damaged; synced on what is readable"] if sound.damaged else []
    try:
        return _sync(picture, sound, method, jam_offset_samples, notes)
    except Exception as exc:  # bad media in any library's words: reported on the clip, never raised
        why = f"sync failed ({type(exc).__name__}): {exc}"
        return _result(picture, sound, "none", None, None, 0.0, "unsynced", [*notes, why])


def _sync(picture: PictureClip, sound: SoundClip, method: str, jam: int, notes: list[str]) -> SyncResult:
    sr = sound.sample_rate
    frame = float(sr / picture.rate)
    tc = _timecode(picture, sound, jam)

    def done(est: _Estimate | None, status: str, *more: str | None) -> SyncResult:
        if est is None:
            return _result(picture, sound, "none", None, None, 0.0, status, [*notes, *filter(None, more)], tc)
        extra = [*notes, *est.notes, *filter(None, more)]
        return _result(
            picture, sound, est.method, est.offset, est.drift_ppm, est.confidence, status, extra, tc
        )

    tc_est = (
        _Estimate("timecode", float(tc.offset), _TIMECODE_CONFIDENCE)
        if tc.offset is not None and tc.plausible
        else None
    )
    if method == "timecode":
        return done(tc_est, "synced" if tc_est else "unsynced", tc.note)

    wf: _Estimate | None = None
    if method == "waveform" or (method == "auto" and picture.has_audio):
        wf, why = (
            _waveform(picture, sound) if picture.has_audio else (None, "camera clip has no scratch audio")
        )
        if wf is None:
            if method == "waveform":
                return done(None, "unsynced", why, tc.note)
            notes.append(f"waveform: {why}")
        else:
            agrees, said = _agreement("waveform", wf.offset, tc, sr, frame)
            if wf.confidence >= ACCEPT:
                return done(wf, "synced", said or tc.note)
            if agrees:  # weak on its own, but timecode says the same
                return done(replace(wf, confidence=max(wf.confidence, ACCEPT)), "synced", said)
            if method == "waveform":
                return done(wf, "unsynced", f"waveform confidence {wf.confidence:.2f} too low to trust", said)
            notes.append(f"waveform confidence {wf.confidence:.2f} too low on its own; checking the slate")

    if method == "slate":
        slate, why = _slate(picture, sound, tc)
        if slate is None:
            return done(None, "unsynced", why, tc.note)
        agrees, said = _agreement("slate", slate.offset, tc, sr, frame)
        if agrees:
            slate = replace(slate, confidence=max(slate.confidence, _SLATE_WITH_TIMECODE))
        return done(slate, "synced", said, tc.note)

    # auto without a trusted waveform: a weak waveform confirmed by the slate, else timecode checked by
    # the slate, else the slate alone.
    slate, why = _slate(picture, sound, tc)
    if wf is not None and slate is not None and abs(wf.offset - slate.offset) <= _AGREE_FRAMES * frame:
        wf = replace(wf, confidence=max(wf.confidence, ACCEPT))
        return done(
            wf, "synced", "slate agrees with waveform", _agreement("waveform", wf.offset, tc, sr, frame)[1]
        )
    if tc_est is not None:
        if slate is None:
            if wf is not None:  # timecode and a weak waveform disagree, and nothing settles it
                return done(wf, "conflict", why, _agreement("waveform", wf.offset, tc, sr, frame)[1])
            return done(tc_est, "synced", f"timecode not verified ({why})")
        agrees, said = _agreement("slate", slate.offset, tc, sr, frame)
        if agrees:
            slate = replace(slate, confidence=max(slate.confidence, _SLATE_WITH_TIMECODE))
            return done(slate, "synced", said)
        return done(slate, "conflict", said)
    if slate is not None:
        return done(slate, "synced", tc.note)
    if wf is not None:
        return done(wf, "unsynced", why, tc.note)
    return done(None, "unsynced", why, tc.note)


# ------------------------------------------------------------------------------------------- batches


@dataclass(frozen=True, slots=True)
class _Job:
    picture: PictureClip
    sound: SoundClip | None
    method: str
    jam_offset_samples: int

    def __str__(self) -> str:
        return str(self.picture.path)


def _sync_job(job: _Job) -> SyncResult:
    """One pair, in a worker (module-level, so executors can send it to other processes)."""
    return sync_pair(job.picture, job.sound, method=job.method, jam_offset_samples=job.jam_offset_samples)


_DISAGREES = re.compile(r"^timecode disagrees with (\w+) by (.+): " + re.escape(_EITHER) + "$")


def _blame(
    results: list[SyncResult], pairs: Sequence[tuple[PictureClip, SoundClip | None]]
) -> list[SyncResult]:
    """Say whose timecode is wrong where several cameras share a sound file: when every camera on it
    disagrees alike, the sound's; when the others agree, that camera's."""
    groups: dict[Path, list[int]] = defaultdict(list)
    for i, r in enumerate(results):
        if r.sound is not None and r.status == "synced" and r.offset_samples is not None:
            groups[r.sound].append(i)
    out = list(results)
    for members in groups.values():
        wrong = [i for i in members if any(_DISAGREES.match(n) for n in results[i].notes)]
        if len(members) < 2 or not wrong:
            continue
        right = [i for i in members if i not in wrong and results[i].timecode_offset_samples is not None]
        deltas = [(results[i].timecode_offset_samples or 0) - (results[i].offset_samples or 0) for i in wrong]
        picture, sound = pairs[wrong[0]]
        frame = float(sound.sample_rate / picture.rate) if sound is not None and picture.rate else 0.0
        alike = max(deltas) - min(deltas) <= 2 * _AGREE_FRAMES * frame
        for i in wrong:
            if len(wrong) == len(members) and alike:
                who = "sound timecode wrong (every camera on this sound disagrees alike)"
            elif right:
                who = f"camera {pairs[i][0].camera or pairs[i][0].name} timecode wrong (other cameras agree)"
            else:
                continue
            notes = tuple(
                f"timecode disagrees with {m.group(1)} by {m.group(2)}: {who}"
                if (m := _DISAGREES.match(n))
                else n
                for n in results[i].notes
            )
            out[i] = replace(results[i], notes=notes)
    return out


def sync_all(
    pictures: Sequence[PictureClip],
    sounds: Sequence[SoundClip],
    *,
    method: str = "auto",
    jam_offset_samples: int = 0,
    executor: Executor | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> list[SyncResult]:
    """Pair and sync every picture clip (see :func:`pair_clips`, :func:`sync_pair`): one result per clip,
    in order. Pairs run through ``executor`` (default: in this process); a damaged clip or a pair whose
    sync fails gets an ``unsynced`` result with the reason, never an exception (except
    :class:`~posthouse.core.progress.Cancelled` when ``cancel`` is set)."""
    if method not in METHODS:
        raise UsageError(f"unknown sync method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    pairs = pair_clips(pictures, sounds, jam_offset_samples=jam_offset_samples)
    results: list[SyncResult | None] = [None] * len(pairs)
    todo: list[int] = []
    for i, (picture, sound) in enumerate(pairs):
        if picture.damaged or sound is None:
            results[i] = sync_pair(picture, sound, method=method, jam_offset_samples=jam_offset_samples)
        else:
            todo.append(i)
    jobs = [_Job(pairs[i][0], pairs[i][1], method, jam_offset_samples) for i in todo]
    own = executor is None
    ex = executor if executor is not None else SerialExecutor()
    try:
        outcomes = ex.map(_sync_job, jobs, label="syncing", progress=progress, cancel=cancel)
    finally:
        if own:
            ex.close()
    for i, outcome in zip(todo, outcomes, strict=True):
        if outcome.ok and outcome.value is not None:
            results[i] = outcome.value
        else:
            picture, sound = pairs[i]
            results[i] = _result(
                picture, sound, "none", None, None, 0.0, "unsynced", [f"sync failed: {outcome.error}"]
            )
    final = [r for r in results if r is not None]
    return _blame(final, pairs)
