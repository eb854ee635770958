"""Assembly: the synced takes laid out in script order, picture and production sound linked.

The script is the demo shoot's ``script.json`` or a Fountain screenplay with scene numbers (``#12#``).
A take belongs to a script scene when its slate's scene number is that scene's (``12``, ``12A``,
``12B`` all belong to scene 12). Per scene: the circled takes (``circled``), the best take (``best``:
circled first, then sync confidence, then the latest), or every take circled first (``all``). Camera A
(or the first camera) of each take goes on V1; each channel of its production sound on A1, A2, …;
picture and sound share ``metadata["posthouse"]["link"]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from posthouse.core.errors import UsageError
from posthouse.core.project import Project
from posthouse.core.time import Rate, Timecode
from posthouse.picture.interchange import SyncedTake, sound_channel_clip, video_clip
from posthouse.picture.syncing import synced_takes

__all__ = ["TAKE_CHOICES", "ScriptScene", "assemble", "read_script", "take_items"]

TAKE_CHOICES = ("circled", "best", "all")
RECORD_START = "01:00:00:00"


@dataclass(frozen=True, slots=True)
class ScriptScene:
    """A scene of the script: its number and heading."""

    number: str
    heading: str


def read_script(path: str | Path) -> list[ScriptScene]:
    """Scenes in script order from ``script.json`` (posthouse) or a Fountain file with scene numbers."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the script: {exc}", path=path) from exc
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
            return [ScriptScene(str(s["number"]), str(s.get("heading", ""))) for s in doc["scenes"]]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise UsageError(f"not a posthouse script.json: {exc}", path=path) from exc
    scenes: list[ScriptScene] = []
    heading = re.compile(r"^(?:\.(?=[A-Z])|(?:INT|EXT|EST|INT\./EXT|I/E)[. ])(.*?)(?:#([\w.-]+)#)?\s*$", re.I)
    for line_no, line in enumerate(text.splitlines(), start=1):
        m = heading.match(line.strip())
        if not m:
            continue
        if not m.group(2):
            raise UsageError(
                "scene heading has no scene number (#N#)",
                path=path,
                where=f"line {line_no}",
                hint="number the scenes, e.g. 'INT. KITCHEN - DAY #12#'",
            )
        scenes.append(ScriptScene(m.group(2), line.strip()))
    if not scenes:
        raise UsageError("no scene headings found", path=path, hint="is this a Fountain screenplay?")
    return scenes


def _scene_number(label: str | None) -> str | None:
    if not label:
        return None
    m = re.match(r"\d+", label)
    return str(int(m.group(0))) if m else label.upper()


def _choose(takes: list[SyncedTake], how: str) -> list[SyncedTake]:
    def circled(t: SyncedTake) -> bool:
        return bool(t.picture.circled or (t.sound is not None and t.sound.circled))

    def take_no(t: SyncedTake) -> int:
        label = t.picture.take or ""
        return int(label) if label.isdigit() else 0

    ordered = sorted(takes, key=lambda t: (not circled(t), take_no(t)))
    if how == "all":
        return ordered
    if how == "circled":
        chosen = [t for t in ordered if circled(t)]
        return chosen or _choose(takes, "best")
    best = max(takes, key=lambda t: (circled(t), t.sync.confidence if t.sync else 0.0, take_no(t)))
    return [best]


def _video_clip(take: SyncedTake, rate: Rate, link: str) -> otio.schema.Clip:
    pic = take.picture
    clip = video_clip(take, Rate.parse(pic.rate) if pic.rate else rate)
    clip.metadata["posthouse"] = {
        "link": link,
        "reel": pic.reel,
        "scene": pic.scene,
        "take": pic.take,
        "camera": pic.camera,
        "circled": bool(pic.circled),
    }
    return clip


def _audio_clips(take: SyncedTake, rate: Rate, link: str) -> tuple[int, list[otio.schema.Clip]]:
    """Production-sound clips (one per channel) and the record frame they start at, relative to picture."""
    snd, sync = take.sound, take.sync
    if snd is None or take.sound_path is None or sync is None or sync.offset_samples is None:
        return 0, []
    sr = int(snd.sample_rate or 48000)
    spf = Fraction(sr) / rate.fps  # samples per frame (2002 at 23.976)
    frames = int(take.picture.frames or 0)
    offset = int(sync.offset_samples)
    lead = int(-(Fraction(offset) // spf)) if offset < 0 else 0  # whole frames before the sound starts
    first = offset + lead * spf  # sound sample under record frame `lead`
    usable = int((Fraction(int(snd.samples or 0)) - first) // spf)
    length = max(0, min(frames - lead, usable))
    clips = []
    for ch in range(int(snd.channels or 1)):
        clip = sound_channel_clip(take, ch, float(first), float(length * spf))
        clip.metadata["posthouse"].update({"link": link, "reel": snd.reel, "drift_ppm": sync.drift_ppm})
        clips.append(clip)
    return lead, clips


def _frames(track: otio.schema.Track, fps: float) -> int:
    frames: int = round(track.duration().rescaled_to(fps).value)
    return frames


def take_items(
    take: SyncedTake, rate: Rate, *, source_in: int | None = None, source_out: int | None = None
) -> tuple[otio.schema.Clip, list[otio.schema.Clip]]:
    """A camera clip and its linked production-sound clips, cut to source frames ``[source_in, source_out)``.

    Source frames are the picture's timecode frame numbers; the default is the whole stretch that has
    sound (or the whole clip when it has none). Picture and sound start on the same record frame.
    """
    link = f"{take.picture.scene}-{take.picture.take}/{take.picture.clip}"
    video = _video_clip(take, rate, link)
    lead, audio = _audio_clips(take, rate, link)
    fps = video.source_range.start_time.rate
    start = int(video.source_range.start_time.value)
    have_from = start + lead
    have_to = have_from + (
        round(audio[0].source_range.duration.value * rate.fps / audio[0].source_range.start_time.rate)
        if audio
        else int(video.source_range.duration.value) - lead
    )
    lo = have_from if source_in is None else source_in
    hi = have_to if source_out is None else source_out
    if not (have_from <= lo < hi <= have_to):
        raise UsageError(
            f"source range {lo}–{hi} is outside what {video.name} has with sound ({have_from}–{have_to})"
        )
    video.source_range = otio.opentime.TimeRange(
        otio.opentime.RationalTime(lo, fps), otio.opentime.RationalTime(hi - lo, fps)
    )
    for clip in audio:
        sr = clip.source_range.start_time.rate
        spf = sr / float(rate.fps)
        begin = clip.source_range.start_time.value + (lo - have_from) * spf
        clip.source_range = otio.opentime.TimeRange(
            otio.opentime.RationalTime(begin, sr), otio.opentime.RationalTime((hi - lo) * spf, sr)
        )
    return video, audio


def _gap(frames: int, rate: Rate) -> otio.schema.Gap:
    fps = float(rate.fps)
    return otio.schema.Gap(
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, fps), otio.opentime.RationalTime(frames, fps)
        )
    )


def assemble(
    project: Project, scenes: Sequence[ScriptScene], *, takes: str = "circled", name: str = "assembly"
) -> otio.schema.Timeline:
    """The assembly timeline (not yet saved): chosen synced takes in script order."""
    if takes not in TAKE_CHOICES:
        raise UsageError(f"--takes must be one of {', '.join(TAKE_CHOICES)}, got '{takes}'")
    rate = project.config.rate
    fps = float(rate.fps)
    available = [
        t
        for t in synced_takes(project)
        if not t.picture.damaged and t.sync is not None and t.sync.status == "synced"
    ]
    by_scene: dict[str, dict[str, list[SyncedTake]]] = {}
    for t in available:
        key = _scene_number(t.picture.scene)
        if key is None:
            continue
        by_take = by_scene.setdefault(key, {})
        by_take.setdefault(f"{t.picture.scene}-{t.picture.take}", []).append(t)
    tl = otio.schema.Timeline(name=name)
    tl.global_start_time = otio.opentime.RationalTime(Timecode.parse(RECORD_START, rate).frames, fps)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(v1)
    audio: list[otio.schema.Track] = []
    record = 0
    missing: list[str] = []
    for scene in scenes:
        groups = by_scene.get(_scene_number(scene.number) or "", {})
        if not groups:
            missing.append(scene.number)
            continue
        # One camera per take on V1: camera A, else the first camera.
        per_take = [min(g, key=lambda t: (t.picture.camera or "~", t.picture.path)) for g in groups.values()]
        for i, take in enumerate(_choose(per_take, takes)):
            link = f"{take.picture.scene}-{take.picture.take}/{take.picture.clip}"
            video = _video_clip(take, rate, link)
            frames = int(video.source_range.duration.value)
            if i == 0:
                marker = otio.schema.Marker(
                    name=f"SC {scene.number}",
                    # a clip marker lives in the clip's source time: its first frame is the source in
                    marked_range=otio.opentime.TimeRange(
                        video.source_range.start_time, otio.opentime.RationalTime(1, fps)
                    ),
                    color=otio.schema.MarkerColor.BLUE,
                )
                marker.metadata["posthouse"] = {"note": scene.heading}
                video.markers.append(marker)
            v1.append(video)
            lead, clips = _audio_clips(take, rate, link)
            while len(audio) < len(clips):
                track = otio.schema.Track(name=f"A{len(audio) + 1}", kind=otio.schema.TrackKind.Audio)
                audio.append(track)
            for ch, track in enumerate(audio):
                filled = _frames(track, fps)
                if filled < record + lead:
                    track.append(_gap(record + lead - filled, rate))
                if ch < len(clips):
                    track.append(clips[ch])
            record += frames
    for track in audio:
        filled = _frames(track, fps)
        if filled < record:
            track.append(_gap(record - filled, rate))
        tl.tracks.append(track)
    tl.metadata["posthouse"] = {
        "assembly": {"takes": takes, "scenes_without_takes": missing, "rate": str(rate)}
    }
    return tl
