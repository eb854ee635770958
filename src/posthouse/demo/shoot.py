"""`posthouse demo shoot`: a small, realistic, fully known film shoot for the pipeline and its tests.

Each take is photographed by every camera (ProRes 422 HQ on A, DNxHR HQ on B, C…) with time-of-day
timecode and a reel name, opening on a slate whose sticks clap on a flash frame, and recorded by a
sound recorder as a polyphonic BWF (boom + two lavs, 48 kHz 24-bit, iXML, bext TimeReference). The
recorder's clock is jammed a little off the cameras' and runs a few ppm fast or slow, as real ones do.
``ground_truth.json`` says exactly where everything is, so every later stage can be measured.

Time model: the cameras' timecode is the reference clock; a camera frame ``F`` (frames since midnight)
starts at ``F / fps`` seconds. The "world" sound of a take is generated on that clock at 48 kHz and the
recorder's file is the world resampled by its drifting clock (:func:`apply_drift`) from the moment it
rolled. Sound travels instantly (no propagation delay), so the truth is sample-exact.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zlib
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.jobs import Executor, SerialExecutor
from posthouse.core.media.bwf import Bext, IXml, write_bwf
from posthouse.core.media.encode import VideoWriter
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import Rate, Timecode, frames_to_timecode
from posthouse.demo.script import Scene, make_script, write_script

__all__ = ["SIZES", "ShootResult", "ShootSpec", "generate_shoot"]

SAMPLE_RATE = 48000
SIZES: dict[str, tuple[int, int]] = {"small": (640, 360), "hd": (1920, 1080), "2k": (2048, 1080)}
PRODUCTION = "POSTHOUSE DEMO"
SHOOT_DATE = "2026-11-02"
DAY_START_S = 8 * 3600 + 30 * 60  # first take rolls at about 08:30
FEMALE = frozenset({"MAYA"})


@dataclass(frozen=True, slots=True)
class ShootSpec:
    """What to generate."""

    scenes: int = 2
    takes: int = 2
    cameras: tuple[str, ...] = ("A",)
    size: str = "small"
    fps: str = "23.976"
    seed: int = 1
    faults: bool = True
    mains_hz: float = 50.0

    def validate(self) -> None:
        if not 1 <= self.scenes <= 99:
            raise UsageError(f"--scenes must be 1..99, got {self.scenes}")
        if not 1 <= self.takes <= 20:
            raise UsageError(f"--takes must be 1..20, got {self.takes}")
        if not self.cameras or any(len(c) != 1 or not c.isalpha() or not c.isupper() for c in self.cameras):
            raise UsageError(
                f"--cameras must be single capital letters such as A,B; got {','.join(self.cameras)}"
            )
        if len(set(self.cameras)) != len(self.cameras):
            raise UsageError("--cameras lists a camera twice")
        if self.size not in SIZES:
            raise UsageError(f"--size must be one of {', '.join(SIZES)}, got '{self.size}'")
        Rate.parse(self.fps)


@dataclass(frozen=True, slots=True)
class _ClipPlan:
    camera: str
    reel: str
    clip: str
    start_frame: int  # camera timecode, frames since midnight
    roll_delay: int  # frames this camera rolled after camera A
    clap_frame: int
    scratch_audio: bool
    truncate: bool
    preset: str


@dataclass(frozen=True, slots=True)
class _TakePlan:
    out: str
    scene: Scene
    scene_label: str
    take: int
    circled: bool
    rate: Rate
    width: int
    height: int
    seed: int
    mains_hz: float
    clips: tuple[_ClipPlan, ...]
    clap_s: Fraction  # camera-clock time of the clap, seconds since midnight
    pic_start_s: Fraction  # camera-clock time of the first picture frame (camera A)
    first_line_s: float  # first line of dialogue, seconds after picture start
    gaps_s: tuple[float, ...]  # pause after each line
    preroll_s: float  # sound rolled this long before picture (negative: after)
    postroll_s: float
    skew_ppm: float
    jam_offset_samples: int  # recorder timecode minus true time, at this take
    wrong_timecode_samples: int  # extra error planted in TimeReference (0: none)
    sound_roll: str


@dataclass
class ShootResult:
    """Where the shoot went and what it contains."""

    root: Path
    truth: dict[str, Any]
    camera_files: list[Path] = field(default_factory=list)
    sound_files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "camera_files": [str(p) for p in self.camera_files],
            "sound_files": [str(p) for p in self.sound_files],
            "takes": len(self.truth["takes"]),
            "faults": self.truth["faults"],
        }


def _seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def _plan(spec: ShootSpec, root: Path, script: list[Scene]) -> list[_TakePlan]:
    rate = Rate.parse(spec.fps)
    fps = rate.fps
    width, height = SIZES[spec.size]
    rng = np.random.default_rng(spec.seed)
    skew_ppm = float(np.round(rng.uniform(2.0, 6.0) * rng.choice([-1.0, 1.0]), 2))
    jam0 = int(rng.integers(-int(0.8 * SAMPLE_RATE / fps), int(0.8 * SAMPLE_RATE / fps)))
    jam_time = DAY_START_S - 1800  # jammed half an hour before the first take
    total = spec.scenes * spec.takes
    faults_at: dict[str, int] = {}
    if spec.faults:
        # The last takes get the faults, so the first take of scene 1 stays clean for smoke tests.
        order = list(range(total - 1, -1, -1))
        kinds = ["truncated_camera_file", "no_scratch_audio", "wrong_sound_timecode"]
        for kind, idx in zip(kinds, order, strict=False):
            faults_at[kind] = int(idx)
    plans: list[_TakePlan] = []
    clip_no = dict.fromkeys(spec.cameras, 0)
    now_s = Fraction(DAY_START_S)
    lead_s = 0.75 if spec.size == "small" else 2.0  # slate held before the clap
    for s_i, scene in enumerate(script):
        circled_take = int(rng.integers(1, spec.takes + 1))
        for t in range(1, spec.takes + 1):
            idx = s_i * spec.takes + t - 1
            start_frame = math.ceil(now_s * fps)
            pic_start = Fraction(start_frame) / fps
            clap_frame_a = round(lead_s * fps)
            clap_s = pic_start + Fraction(clap_frame_a) / fps
            clips: list[_ClipPlan] = []
            for c_i, cam in enumerate(spec.cameras):
                clip_no[cam] += 1
                roll_delay = int(rng.integers(0, 4)) if c_i else 0  # B rolls a few frames after A
                cam_start = start_frame + roll_delay
                reel = f"{cam}001"
                clips.append(
                    _ClipPlan(
                        camera=cam,
                        reel=reel,
                        clip=f"{reel}C{clip_no[cam]:03d}",
                        start_frame=cam_start,
                        roll_delay=roll_delay,
                        clap_frame=clap_frame_a - roll_delay,
                        scratch_audio=not (faults_at.get("no_scratch_audio") == idx and c_i == 0),
                        truncate=faults_at.get("truncated_camera_file") == idx and c_i == 0,
                        preset="prores-hq" if c_i == 0 else "dnxhr-hq",
                    )
                )
            preroll = float(np.round(rng.uniform(0.8, 2.0), 3))
            if idx == 1 and total > 1:
                preroll = -0.25  # the recordist rolled late on one take: sound starts after picture
            elapsed = float(clap_s) - jam_time
            jam = jam0 + round(skew_ppm * 1e-6 * elapsed * SAMPLE_RATE)
            wrong = 0
            if faults_at.get("wrong_sound_timecode") == idx:
                wrong = -(2 * 3600 + 13 * 60 + 7) * SAMPLE_RATE  # recorder lost its jam: 2h13m07s early
            plans.append(
                _TakePlan(
                    out=str(root),
                    scene=scene,
                    scene_label=f"{scene.number}A",
                    take=t,
                    circled=t == circled_take,
                    rate=rate,
                    width=width,
                    height=height,
                    seed=_seed(spec.seed, scene.number, t),
                    mains_hz=spec.mains_hz,
                    clips=tuple(clips),
                    clap_s=clap_s,
                    pic_start_s=pic_start,
                    first_line_s=lead_s + 0.6,
                    gaps_s=tuple(float(g) for g in np.round(rng.uniform(0.25, 0.6, len(scene.lines)), 3)),
                    preroll_s=preroll,
                    postroll_s=float(np.round(rng.uniform(0.4, 1.0), 3)),
                    skew_ppm=skew_ppm,
                    jam_offset_samples=jam,
                    wrong_timecode_samples=wrong,
                    sound_roll="R001",
                )
            )
            now_s = pic_start + Fraction(int(rng.integers(90, 150)))
    return plans


def _world(
    plan: _TakePlan, rng: np.random.Generator
) -> tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    list[npt.NDArray[np.float32]],
    int,
    float,
    list[dict[str, Any]],
]:
    """The take's sound on the camera clock.

    Returns the recorder's tracks and the camera mic (both from world index 0), the dry dialogue per
    character, the world index of picture start, the picture's length in seconds, and the lines.
    """
    from posthouse.demo.soundscape import broadband_noise, clap, mains_hum, mic_mix
    from posthouse.demo.speech import synth_line_timed, voice_for

    characters = list(plan.scene.characters)
    while len(characters) < 2:
        characters.append(f"EXTRA{len(characters)}")
    spoken = [
        synth_line_timed(ln.text, voice_for(ln.character, female=ln.character in FEMALE), SAMPLE_RATE, rng)
        for ln in plan.scene.lines
    ]
    starts: list[float] = []
    cursor = plan.first_line_s
    for (audio, _), gap in zip(spoken, plan.gaps_s, strict=True):
        starts.append(cursor)
        cursor += len(audio) / SAMPLE_RATE + gap
    pic_len_s = cursor + 0.3
    pre = max(plan.preroll_s, 0.0) + 0.5
    pic0 = round(pre * SAMPLE_RATE)  # world index of the first picture frame
    n = pic0 + round((pic_len_s + plan.postroll_s + 0.5) * SAMPLE_RATE)
    dry = [np.zeros(n, np.float32) for _ in characters]
    lines: list[dict[str, Any]] = []
    for line, (audio, words), start_s in zip(plan.scene.lines, spoken, starts, strict=True):
        at = pic0 + round(start_s * SAMPLE_RATE)
        dry[characters.index(line.character)][at : at + len(audio)] += audio
        lines.append(
            {
                "character": line.character,
                "text": line.text,
                "world_start": at,
                "world_end": at + len(audio),
                "words": [
                    {"word": w.word, "world_start": at + w.start, "world_end": at + w.end} for w in words
                ],
            }
        )
    fx = np.zeros(n, np.float32)
    c = clap(SAMPLE_RATE, rng)
    at = pic0 + round(float(plan.clap_s - plan.pic_start_s) * SAMPLE_RATE)
    fx[at : at + len(c)] += c[: n - at]
    mics = mic_mix(dry, SAMPLE_RATE, rng, effects=fx, propagation=False)
    hum = mains_hum(n, SAMPLE_RATE, plan.mains_hz, -50.0)
    rec = mics.recorder().astype(np.float64)
    rec[0] += hum  # ground loop on the boom's cable run
    rec += np.stack([broadband_noise(n, rng, -72.0) for _ in range(rec.shape[0])])
    camera = mics.camera.astype(np.float64) + broadband_noise(n, rng, -58.0) + 0.5 * hum
    return (
        np.clip(rec, -1, 1).astype(np.float32),
        np.clip(camera, -1, 1).astype(np.float32),
        dry,
        pic0,
        pic_len_s,
        lines,
    )


def _picture_frame(plan: _TakePlan, clip: _ClipPlan, i: int, slate_cache: dict[tuple[bool, str], Any]) -> Any:
    from posthouse.demo.picture import flash_frame, scene_frame, slate_frame

    fps = plan.rate.fps
    if i == clip.clap_frame:
        return flash_frame(plan.width, plan.height)
    if i < clip.clap_frame + round(0.4 * fps):
        closed = i > clip.clap_frame
        tc = frames_to_timecode(clip.start_frame + i, plan.rate)
        # The smart slate's LED shows running timecode; redraw it each second, cache otherwise.
        key = (closed, tc[:8])
        if key not in slate_cache:
            slate_cache[key] = slate_frame(
                plan.width,
                plan.height,
                production=PRODUCTION,
                roll=clip.reel,
                scene=plan.scene_label,
                take=plan.take,
                camera=clip.camera,
                date=SHOOT_DATE,
                timecode=tc,
                sticks_closed=closed,
            )
        return slate_cache[key]
    return scene_frame(
        plan.width,
        plan.height,
        scene_index=plan.scene.number - 1,
        take=plan.take,
        camera=clip.camera,
        frame=i,
        fps=float(fps),
        seed=plan.seed,
    )


def _make_take(plan: _TakePlan) -> dict[str, Any]:
    """Generate one take: every camera's clip and the sound roll's file. Runs in a worker."""
    from posthouse.demo.soundscape import apply_drift

    root = Path(plan.out)
    rng = np.random.default_rng(plan.seed)
    rec_world, cam_world, dry, pic0, pic_len_s, lines = _world(plan, rng)
    fps = plan.rate.fps
    frames_a = math.ceil(pic_len_s * fps)
    take_name = f"{plan.scene_label}-{plan.take}"
    ratio = 1.0 + plan.skew_ppm * 1e-6

    # Sound: the world through the recorder's drifting clock, from the moment it rolled.
    drifted = apply_drift(rec_world, plan.skew_ppm)
    pic0_rec = pic0 * ratio  # where picture start falls in the recorder's samples (exact)
    s0 = round(pic0_rec - plan.preroll_s * SAMPLE_RATE * ratio)
    length = round((plan.preroll_s + pic_len_s + plan.postroll_s) * SAMPLE_RATE * ratio)
    sound = drifted[:, s0 : s0 + length]
    offset_exact = pic0_rec - s0
    offset = round(offset_exact)
    # Recorder timecode: true time of its first sample, plus its jam error (and any planted fault).
    rec_start_true = plan.pic_start_s * SAMPLE_RATE - Fraction(offset_exact / ratio).limit_denominator(
        1 << 20
    )
    tref_true = round(rec_start_true)
    tref = tref_true + plan.jam_offset_samples + plan.wrong_timecode_samples
    characters = list(plan.scene.characters)
    names = ("BOOM", *(f"LAV{i + 1} {c}" for i, c in enumerate(characters)))
    names = names + tuple(f"LAV{i + 1}" for i in range(len(names) - 1, sound.shape[0] - 1))
    sound_path = root / "sound" / plan.sound_roll / f"{take_name}.wav"
    tc_label = str(Timecode.from_samples(max(tref, 0), SAMPLE_RATE, plan.rate))
    write_bwf(
        sound_path,
        sound,
        SAMPLE_RATE,
        bit_depth=24,
        bext=Bext(
            description=f"sSCENE={plan.scene_label}\r\nsTAKE={plan.take}\r\nsTAPE={plan.sound_roll}\r\n",
            originator="posthouse demo recorder",
            originator_reference=f"PHD{plan.seed:010d}",
            origination_date=SHOOT_DATE,
            origination_time=tc_label[:8],
            time_reference=max(tref, 0),
            coding_history="A=PCM,F=48000,W=24,M=mono,T=posthouse demo\r\n",
        ),
        ixml=IXml(
            project=PRODUCTION,
            scene=plan.scene_label,
            take=str(plan.take),
            tape=plan.sound_roll,
            circled=plan.circled,
            note="",
            file_uid=f"PHD{plan.seed:010d}",
            track_names=names,
            track_functions=("BOOM",) + ("LAV",) * (len(names) - 1),
            timecode_rate=plan.rate.fps,
            timecode_drop=False,
        ),
    )
    # The clean dialogue, per character, exactly as it sits in the sound file (for measuring cleanup).
    clean = apply_drift(np.stack(dry), plan.skew_ppm)[:, s0 : s0 + length]
    truth_path = root / "truth" / f"{take_name}_dialogue.wav"
    write_bwf(
        truth_path,
        clean,
        SAMPLE_RATE,
        bit_depth=24,
        ixml=IXml(scene=plan.scene_label, take=str(plan.take), track_names=tuple(characters)),
    )

    def to_file(world_index: int) -> int:
        return round(world_index * ratio - s0)

    clips: dict[str, Any] = {}
    files: list[str] = []
    for clip in plan.clips:
        path = root / "camera" / clip.reel / f"{clip.clip}.mov"
        start_world = pic0 + round(float(Fraction(clip.start_frame) / fps - plan.pic_start_s) * SAMPLE_RATE)
        cache: dict[tuple[bool, str], Any] = {}
        with VideoWriter(
            path,
            width=plan.width,
            height=plan.height,
            rate=fps,
            preset=clip.preset,
            start_timecode=frames_to_timecode(clip.start_frame, plan.rate),
            reel=clip.reel,
            audio_channels=1 if clip.scratch_audio else 0,
            sample_rate=SAMPLE_RATE,
            metadata={
                "scene": plan.scene_label,
                "take": str(plan.take),
                "camera": clip.camera,
                "camera_roll": clip.reel,
                "production": PRODUCTION,
                "creation_time": f"{SHOOT_DATE}T{frames_to_timecode(clip.start_frame, plan.rate)[:8]}Z",
            },
        ) as vw:
            done = 0
            frames = frames_a - clip.roll_delay
            for i in range(frames):
                vw.write_frame(_picture_frame(plan, clip, i, cache))
                if clip.scratch_audio:
                    upto = round(Fraction(i + 1) / fps * SAMPLE_RATE)
                    vw.write_audio(cam_world[None, start_world + done : start_world + upto])
                    done = upto
        if clip.truncate:
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * 0.6)])  # the camera lost power mid-write
        clips[clip.clip] = {
            "path": path.relative_to(root).as_posix(),
            "camera": clip.camera,
            "reel": clip.reel,
            "start_timecode": frames_to_timecode(clip.start_frame, plan.rate),
            "frames": frames,
            "clap_frame": clip.clap_frame,
            "scratch_audio": clip.scratch_audio,
            "truncated": clip.truncate,
            "codec": clip.preset,
            "offset_samples": to_file(start_world),
            "offset_samples_exact": start_world * ratio - s0,
        }
        files.append(path.relative_to(root).as_posix())
    first = plan.clips[0]
    clap_world = pic0 + round(float(plan.clap_s - plan.pic_start_s) * SAMPLE_RATE)
    tc_offset = round(first.start_frame / fps * SAMPLE_RATE) - tref  # what timecode sync would say
    return {
        "take": take_name,
        "scene": plan.scene_label,
        "scene_number": plan.scene.number,
        "take_number": plan.take,
        "circled": plan.circled,
        "sound_file": sound_path.relative_to(root).as_posix(),
        "sound_roll": plan.sound_roll,
        "sound_samples": int(sound.shape[1]),
        "track_names": list(names),
        "offset_samples": offset,
        "offset_samples_exact": float(offset_exact),
        "skew_ppm": plan.skew_ppm,
        "time_reference": int(max(tref, 0)),
        "time_reference_true": int(tref_true),
        "timecode_sync_error_samples": int(tc_offset - offset),
        "clap": {"frame": first.clap_frame, "sound_sample": to_file(clap_world)},
        "clips": clips,
        "dialogue": {
            "file": truth_path.relative_to(root).as_posix(),
            "channels": characters,
            "lines": [
                {
                    "character": ln["character"],
                    "text": ln["text"],
                    "start_sample": to_file(ln["world_start"]),
                    "end_sample": to_file(ln["world_end"]),
                    "words": [
                        {
                            "word": w["word"],
                            "start_sample": to_file(w["world_start"]),
                            "end_sample": to_file(w["world_end"]),
                        }
                        for w in ln["words"]
                    ],
                }
                for ln in lines
            ],
        },
    }


def _reports(root: Path, truth: dict[str, Any], spec: ShootSpec) -> None:
    cams = io.StringIO()
    w = csv.writer(cams)
    w.writerow(
        [
            "Date",
            "Camera",
            "Roll",
            "Clip",
            "Scene",
            "Take",
            "Circled",
            "Start TC",
            "Frames",
            "FPS",
            "Lens",
            "Notes",
        ]
    )
    snd = io.StringIO()
    s = csv.writer(snd)
    s.writerow(["Date", "Roll", "File", "Scene", "Take", "Circled", "Start TC", "Tracks", "Notes"])
    lenses = {"A": "32mm", "B": "65mm", "C": "85mm"}
    rate = Rate.parse(spec.fps)
    for name, take in truth["takes"].items():
        for clip_name, clip in take["clips"].items():
            notes = "no scratch audio (XLR unplugged)" if not clip["scratch_audio"] else ""
            w.writerow(
                [
                    SHOOT_DATE,
                    clip["camera"],
                    clip["reel"],
                    clip_name,
                    take["scene"],
                    take["take_number"],
                    "Y" if take["circled"] else "",
                    clip["start_timecode"],
                    clip["frames"],
                    str(rate),
                    lenses.get(clip["camera"], "50mm"),
                    notes,
                ]
            )
        tc = Timecode.from_samples(take["time_reference"], SAMPLE_RATE, rate)
        s.writerow(
            [
                SHOOT_DATE,
                take["sound_roll"],
                Path(take["sound_file"]).name,
                take["scene"],
                take["take_number"],
                "Y" if take["circled"] else "",
                str(tc),
                " ".join(f"{i + 1}:{n}" for i, n in enumerate(take["track_names"])),
                "" if not take["circled"] else f"circled; {name}",
            ]
        )
    atomic_write_text(root / "reports" / "camera_report.csv", cams.getvalue())
    atomic_write_text(root / "reports" / "sound_report.csv", snd.getvalue())


def generate_shoot(
    root: str | Path,
    spec: ShootSpec | None = None,
    *,
    executor: Executor | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> ShootResult:
    """Generate the shoot into ``root`` (created; must be empty or absent). Deterministic for a spec."""
    spec = spec or ShootSpec()
    spec.validate()
    root = Path(root).resolve()
    if root.exists() and any(root.iterdir()):
        raise UsageError("the folder is not empty", path=root, hint="choose a new folder for the shoot")
    root.mkdir(parents=True, exist_ok=True)
    script = make_script(spec.scenes)
    write_script(root, "The Last Frame", script)
    plans = _plan(spec, root, script)
    ex = executor or SerialExecutor()
    outcomes = ex.map(_make_take, plans, label="shooting takes", progress=progress, cancel=cancel)
    from posthouse.core.jobs import raise_for_failures

    takes = raise_for_failures(outcomes, what="takes")
    faults: list[dict[str, Any]] = []
    for t in takes:
        for clip in t["clips"].values():
            if clip["truncated"]:
                faults.append(
                    {
                        "kind": "truncated_camera_file",
                        "take": t["take"],
                        "file": clip["path"],
                        "detail": "camera file cut off mid-write (no moov atom)",
                    }
                )
            if not clip["scratch_audio"]:
                faults.append(
                    {
                        "kind": "no_scratch_audio",
                        "take": t["take"],
                        "file": clip["path"],
                        "detail": "camera recorded no audio: waveform sync impossible",
                    }
                )
    for p in plans:
        if p.wrong_timecode_samples:
            name = f"{p.scene_label}-{p.take}"
            t = next(x for x in takes if x["take"] == name)
            faults.append(
                {
                    "kind": "wrong_sound_timecode",
                    "take": name,
                    "file": t["sound_file"],
                    "detail": f"recorder timecode off by {p.wrong_timecode_samples} samples "
                    f"({p.wrong_timecode_samples / SAMPLE_RATE:+.0f} s): lost jam",
                    "error_samples": p.wrong_timecode_samples,
                }
            )
    truth: dict[str, Any] = {
        "generator": "posthouse demo shoot",
        "spec": {**asdict(spec), "cameras": list(spec.cameras)},
        "production": PRODUCTION,
        "date": SHOOT_DATE,
        "fps": f"{plans[0].rate.fps.numerator}/{plans[0].rate.fps.denominator}",
        "rate": str(plans[0].rate),
        "sample_rate": SAMPLE_RATE,
        "resolution": list(SIZES[spec.size]),
        "sync_convention": "offset_samples: index of the production-sound sample that lines up with the "
        "picture's first frame (negative when sound starts after picture); skew_ppm: "
        "recorder clock error, positive = fast (more samples per real second)",
        "takes": {t["take"]: t for t in takes},
        "faults": faults,
    }
    _reports(root, truth, spec)
    atomic_write_text(root / "ground_truth.json", json.dumps(truth, indent=2))
    result = ShootResult(root=root, truth=truth)
    for t in takes:
        result.sound_files.append(root / t["sound_file"])
        result.camera_files.extend(root / c["path"] for c in t["clips"].values())
    return result
