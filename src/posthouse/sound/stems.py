"""Delivered stems back in: check printed stems against the cut and record the accepted ones.

:func:`import_stems` checks delivered stems (rate, bit depth, layout, length, TimeReference, clipping),
groups mono-per-channel files into one stem, and records the accepted ones in ``SESSION_DIR/stems.json``
(see :data:`MANIFEST_NAME`). :func:`check_stems` does the checks alone, against a rate, record start and
duration.
"""

from __future__ import annotations

import contextlib
import json
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

from posthouse.core.errors import MediaError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.media.bwf import read_bwf
from posthouse.core.progress import NULL_PROGRESS, Progress
from posthouse.core.time import Rate, frames_to_samples, frames_to_timecode, samples_to_timecode
from posthouse.engine.plan import plan_timeline
from posthouse.sound.daw import SAMPLE_RATE

__all__ = [
    "CHANNEL_ORDER",
    "MANIFEST_NAME",
    "STEM_KINDS",
    "StemCheck",
    "StemReport",
    "check_stems",
    "import_stems",
    "stem_kind_of_name",
]

MANIFEST_NAME: Final = "stems.json"
"""The manifest of accepted printed stems in the session folder, read by the mixer."""
STEM_KINDS: Final = ("dialogue", "music", "effects", "foley", "backgrounds", "printmaster", "me")
"""Kinds of delivered stems: the session's five, the printmaster (full mix) and the M&E."""
CHANNEL_ORDER: Final = ("L", "R", "C", "LFE", "Ls", "Rs")
"""SMPTE / WAV channel order of a 5.1 stem (a stereo stem is the first two)."""

_LAYOUTS: Final[dict[int, str]] = {1: "mono", 2: "stereo", 6: "5.1"}
_BIT_DEPTH: Final[dict[str, int]] = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}
_NAME_KIND: Final[dict[str, str]] = {
    "DX": "dialogue",
    "DIA": "dialogue",
    "DIAL": "dialogue",
    "DIALOG": "dialogue",
    "DIALOGUE": "dialogue",
    "MX": "music",
    "MUS": "music",
    "MUSIC": "music",
    "FX": "effects",
    "SFX": "effects",
    "EFFECTS": "effects",
    "FOL": "foley",
    "FOLEY": "foley",
    "BG": "backgrounds",
    "BGS": "backgrounds",
    "AMB": "backgrounds",
    "PM": "printmaster",
    "PRINTMASTER": "printmaster",
    "MIX": "printmaster",
    "FULLMIX": "printmaster",
    "ME": "me",
    "MNE": "me",
}
_WEAK_TOKENS: Final = frozenset({"MIX", "FULLMIX"})
_CHANNEL_TOKENS: Final[dict[str, str]] = {c.upper(): c for c in CHANNEL_ORDER}
_BLOCK: Final = 1 << 18  # samples per streamed read
_CLIP_EVENTS: Final = 20  # clipping events listed per stem


@dataclass(frozen=True, slots=True)
class StemCheck:
    """One delivered stem (an interleaved file, or mono files grouped by channel) and what was found."""

    name: str
    kind: str | None
    files: tuple[Path, ...]
    channels: tuple[str, ...] = ()  # channel labels in file order (L R C LFE Ls Rs)
    layout: str | None = None  # mono, stereo, 5.1
    sample_rate: int | None = None
    bit_depth: int | None = None
    samples: int | None = None
    length_diff_frames: Fraction | None = None  # stem length minus the cut's, in frames
    time_reference: int | None = None
    offset_frames: Fraction | None = None  # stem start minus the cut's record start, in frames
    clipped_samples: int = 0
    clipping: tuple[str, ...] = ()  # timecodes of clipping events (first ones)
    problems: tuple[str, ...] = ()  # reasons for rejection
    warnings: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        def num(x: Fraction | None) -> float | None:
            return None if x is None else round(float(x), 3)

        return {
            "name": self.name,
            "kind": self.kind,
            "files": [str(p) for p in self.files],
            "channels": list(self.channels),
            "layout": self.layout,
            "sample_rate": self.sample_rate,
            "bit_depth": self.bit_depth,
            "samples": self.samples,
            "length_diff_frames": num(self.length_diff_frames),
            "time_reference": self.time_reference,
            "offset_frames": num(self.offset_frames),
            "clipped_samples": self.clipped_samples,
            "clipping": list(self.clipping),
            "accepted": self.accepted,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class StemReport:
    """Every stem checked against a cut, and where the accepted ones were recorded."""

    stems: tuple[StemCheck, ...]
    rate: str
    record_start: str
    duration_frames: int
    manifest: Path | None = None

    @property
    def accepted(self) -> tuple[StemCheck, ...]:
        return tuple(s for s in self.stems if s.accepted)

    @property
    def rejected(self) -> tuple[StemCheck, ...]:
        return tuple(s for s in self.stems if not s.accepted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "record_start": self.record_start,
            "duration_frames": self.duration_frames,
            "manifest": str(self.manifest) if self.manifest else None,
            "accepted": len(self.accepted),
            "rejected": len(self.rejected),
            "stems": [s.to_dict() for s in self.stems],
        }


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^A-Za-z0-9&]+", text.upper()) if t]


def stem_kind_of_name(text: str) -> str | None:
    """The stem kind a file or track name declares (``DX``/``DIA``/``DIAL`` dialogue, ``MX``/``MUS`` music,
    ``FX``/``SFX`` effects, ``FOL``/``FOLEY`` Foley, ``BG`` backgrounds, ``PM``/``PRINTMASTER``/``MIX``
    printmaster, ``ME``/``M&E`` M&E); ``None`` when no word of it does. The last such word wins (titles
    come first: ``MIXTAPE_R1_DX``), and ``MIX`` only when no other word names a stem (``FILM_DX_MIX``)."""
    weak = None
    for token in reversed(_tokens(text)):
        if token in ("M&E", "ME"):
            return "me"
        kind = _NAME_KIND.get(token)
        if kind is not None and token in _WEAK_TOKENS:
            weak = weak or kind
        elif kind is not None:
            return kind
    return weak


@dataclass(slots=True)
class _StemFile:
    path: Path
    base: str
    channel: str | None  # from a .L/.R/... suffix
    kind: str | None
    rate: int = 0
    channels: int = 0
    frames: int = 0
    bit_depth: int | None = None
    subtype: str = ""
    time_reference: int | None = None
    track_names: tuple[str, ...] = ()
    clipped: int = 0
    events: list[int] = field(default_factory=list)
    error: str | None = None


def _split_channel(stem: str) -> tuple[str, str | None]:
    m = re.match(r"^(.*?)[._ -]+([A-Za-z]{1,3})$", stem)
    if m and m.group(2).upper() in _CHANNEL_TOKENS:
        return m.group(1), _CHANNEL_TOKENS[m.group(2).upper()]
    return stem, None


def _clip_runs(mask: npt.NDArray[np.bool_], offset: int, carry: int | None) -> tuple[list[int], int | None]:
    """Starts of runs of ≥ 2 full-scale samples in ``mask`` (sample ``offset`` on), carrying an open run."""
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    runs = [(int(a) + offset, int(b) + offset) for a, b in zip(starts, ends, strict=True)]
    if carry is not None:
        if runs and runs[0][0] == offset:
            runs[0] = (carry, runs[0][1])
        else:
            runs.insert(0, (carry, offset))
    open_start = None
    if runs and runs[-1][1] == offset + mask.size:
        open_start = runs.pop()[0]
    return [a for a, b in runs if b - a >= 2], open_start


def _scan_file(path: Path) -> _StemFile:
    import soundfile as sf

    base, channel = _split_channel(path.stem)
    sfile = _StemFile(path=path, base=base, channel=channel, kind=stem_kind_of_name(base))
    try:
        info = sf.info(str(path))
        bwf = read_bwf(path) if path.suffix.lower() in (".wav", ".bwf") else None
    except (RuntimeError, OSError, MediaError) as exc:
        sfile.error = f"cannot read: {exc}"
        return sfile
    sfile.rate, sfile.channels, sfile.frames = int(info.samplerate), int(info.channels), int(info.frames)
    sfile.subtype = str(info.subtype)
    sfile.bit_depth = _BIT_DEPTH.get(sfile.subtype)
    if bwf is not None:
        sfile.time_reference = bwf.time_reference
        sfile.track_names = bwf.track_names
        if sfile.kind is None:
            sfile.kind = stem_kind_of_name(
                " ".join([*bwf.track_names, bwf.description or "", bwf.note or ""])
            )
    if sfile.bit_depth is None:
        return sfile
    floating = sfile.subtype in ("FLOAT", "DOUBLE")
    full = 1.0 if floating else 1.0 - 2.0 ** -(min(sfile.bit_depth, 24) - 1)
    carry: int | None = None
    pos = 0
    with sf.SoundFile(str(path)) as src:
        while True:
            block = src.read(_BLOCK, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            mask = (np.abs(block) >= full).any(axis=1)
            sfile.clipped += int(np.count_nonzero(np.abs(block) >= full))
            starts, carry = _clip_runs(mask, pos, carry)
            sfile.events.extend(starts)
            pos += block.shape[0]
    if carry is not None and pos - carry >= 2:
        sfile.events.append(carry)
    return sfile


def _group(files: Sequence[_StemFile]) -> list[list[_StemFile]]:
    groups: dict[tuple[str, str], list[_StemFile]] = {}
    order: list[list[_StemFile]] = []
    for f in files:
        if f.channel is None or f.error is not None or f.channels != 1:
            order.append([f])
            continue
        key = (f.base.lower(), f.kind or "")
        if key not in groups:
            groups[key] = []
            order.append(groups[key])
        groups[key].append(f)
    return order


def _check_group(group: list[_StemFile], rate: Rate, start_frame: int, duration: int) -> StemCheck:
    problems: list[str] = []
    warnings: list[str] = []
    first = group[0]
    name = first.base if first.channel is not None else first.path.stem
    kind = next((f.kind for f in group if f.kind), None)
    paths = tuple(f.path for f in group)
    errors = [f"{f.path.name}: {f.error}" for f in group if f.error]
    if errors:
        return StemCheck(name, kind, paths, problems=tuple(errors))
    if kind is None:
        problems.append(
            "cannot tell the stem from the name or iXML (use DX, MX, FX, FOL, BG, PM or ME in it)"
        )
    channels: tuple[str, ...]
    if len(group) > 1 or first.channel is not None:
        group.sort(key=lambda f: CHANNEL_ORDER.index(f.channel or "L"))
        channels = tuple(f.channel or "" for f in group)
        if len(set(channels)) != len(channels):
            problems.append(f"channel given twice: {', '.join(channels)}")
        layout = next(
            (lay for n, lay in _LAYOUTS.items() if n > 1 and set(CHANNEL_ORDER[:n]) == set(channels)), None
        )
        if layout is None:
            missing = [c for c in CHANNEL_ORDER if c not in channels]
            problems.append(
                f"incomplete channel set {' '.join(channels)} (missing {' '.join(missing)} for 5.1)"
            )
        for f in group[1:]:
            for what, a, b in (("sample rate", f.rate, first.rate), ("length", f.frames, first.frames),
                               ("TimeReference", f.time_reference, first.time_reference),
                               ("bit depth", f.bit_depth, first.bit_depth)):  # fmt: skip
                if a != b:
                    problems.append(f"{f.path.name}: {what} {a} differs from {first.path.name} ({b})")
    else:
        layout = _LAYOUTS.get(first.channels)
        channels = CHANNEL_ORDER[: first.channels] if layout in ("stereo", "5.1") else ("M",)
        if layout is None:
            problems.append(f"{first.channels} channels: not mono, stereo or 5.1")
        names = tuple(n.upper() for n in first.track_names)
        if (
            layout in ("stereo", "5.1")
            and len(names) == first.channels
            and set(names) <= set(_CHANNEL_TOKENS)
        ):
            declared = tuple(_CHANNEL_TOKENS[n] for n in names)
            if declared != CHANNEL_ORDER[: first.channels]:
                problems.append(f"iXML channel order {' '.join(declared)}, expected {' '.join(channels)}")
    if first.rate != SAMPLE_RATE:
        problems.append(f"sample rate {first.rate} Hz; deliver {SAMPLE_RATE} Hz (stems are not resampled)")
    if first.bit_depth is None:
        problems.append(f"sample format {first.subtype}: deliver 24-bit PCM")
    elif first.bit_depth < 24:
        problems.append(f"{first.bit_depth}-bit; deliver 24-bit")
    spf = Fraction(SAMPLE_RATE) / rate.fps  # samples per frame
    want = frames_to_samples(duration, rate, SAMPLE_RATE)
    diff = Fraction(first.frames - want) / spf
    if abs(diff) > 1:
        problems.append(
            f"length {first.frames} samples is {float(diff):+.2f} frames off the cut's "
            f"{duration} frames (±1 allowed)"
        )
    elif diff:
        warnings.append(f"length {float(diff):+.2f} frames off the cut (within ±1 frame)")
    expected = frames_to_samples(start_frame, rate, SAMPLE_RATE)
    tr = first.time_reference
    offset: Fraction | None = None
    if tr is None:
        warnings.append(
            "no BWF TimeReference; taken to start at the record start "
            + frames_to_timecode(start_frame, rate)
        )
    else:
        offset = Fraction(tr - expected) / spf
        if tr != expected:
            label = samples_to_timecode(tr, SAMPLE_RATE, rate)
            problems.append(
                f"starts at {label} (TimeReference {tr}): {float(offset):+.2f} frames off the record start "
                f"{frames_to_timecode(start_frame, rate)}"
            )
    events = sorted({e for f in group for e in f.events})
    clipped = sum(f.clipped for f in group)
    at = tr if tr is not None else expected
    stamps = tuple(samples_to_timecode(at + e, SAMPLE_RATE, rate) for e in events[:_CLIP_EVENTS])
    if events:
        more = f" (+{len(events) - len(stamps)} more)" if len(events) > len(stamps) else ""
        warnings.append(f"clipping: {len(events)} runs at full scale, at {', '.join(stamps)}{more}")
    return StemCheck(
        name=name,
        kind=kind,
        files=paths,
        channels=channels,
        layout=layout,
        sample_rate=first.rate,
        bit_depth=first.bit_depth,
        samples=first.frames,
        length_diff_frames=diff,
        time_reference=tr,
        offset_frames=offset,
        clipped_samples=clipped,
        clipping=stamps,
        problems=tuple(problems),
        warnings=tuple(warnings),
    )


def check_stems(
    files: Iterable[str | Path],
    *,
    rate: Rate | str,
    record_start: int,
    duration: int,
    progress: Progress = NULL_PROGRESS,
) -> list[StemCheck]:
    """Check delivered stem files against a cut (``record_start`` frames since midnight, ``duration``
    frames at ``rate``): one :class:`StemCheck` per stem, mono files named ``.L .R .C .LFE .Ls .Rs``
    grouped into one. One bad file never stops the others."""
    r = Rate.parse(rate)
    paths = [Path(p) for p in files]
    progress.start("checking stems", len(paths))
    scanned = []
    for p in paths:
        scanned.append(_scan_file(p))
        progress.advance()
    progress.finish()
    return [_check_group(g, r, record_start, duration) for g in _group(scanned)]


def _manifest_entry(stem: StemCheck) -> dict[str, Any]:
    files = []
    for k, path in enumerate(stem.files):
        if len(stem.files) > 1:
            files.append({"path": str(path.resolve()), "channel": stem.channels[k], "index": 0})
        else:
            files.extend(
                {"path": str(path.resolve()), "channel": c, "index": i} for i, c in enumerate(stem.channels)
            )
    return {
        "name": stem.name,
        "kind": stem.kind,
        "layout": stem.layout,
        "channels": list(stem.channels),
        "files": files,
        "sample_rate": stem.sample_rate,
        "bit_depth": stem.bit_depth,
        "samples": stem.samples,
        "time_reference": stem.time_reference,
        "printed": True,
        "mute": True,
        "warnings": list(stem.warnings),
        "imported": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def import_stems(
    timeline: otio.schema.Timeline,
    files: Iterable[str | Path],
    *,
    session_dir: str | Path | None = None,
    progress: Progress = NULL_PROGRESS,
) -> StemReport:
    """Check delivered stems against the cut ``timeline`` (its rate, record start and duration) and, when
    ``session_dir`` is given, record the accepted ones in ``session_dir/stems.json`` (replacing earlier
    entries of the same kind and name; rejected stems are only reported)."""
    plan = plan_timeline(timeline)
    stems = check_stems(
        files, rate=plan.rate, record_start=plan.start_frame, duration=plan.duration, progress=progress
    )
    manifest = None
    if session_dir is not None:
        manifest = Path(session_dir) / MANIFEST_NAME
        data: dict[str, Any] = {}
        if manifest.exists():
            with contextlib.suppress(ValueError, OSError):
                data = json.loads(manifest.read_text(encoding="utf-8"))
        accepted = [s for s in stems if s.accepted]
        replaced = {(s.kind, s.name) for s in accepted}
        kept = [e for e in data.get("stems", []) if (e.get("kind"), e.get("name")) not in replaced]
        data = {
            "version": 1,
            "cut": timeline.name,
            "rate": str(plan.rate),
            "record_start": frames_to_timecode(plan.start_frame, plan.rate),
            "duration_frames": plan.duration,
            "sample_rate": SAMPLE_RATE,
            "stems": kept + [_manifest_entry(s) for s in accepted],
        }
        atomic_write_text(manifest, json.dumps(data, indent=2) + "\n")
    return StemReport(
        stems=tuple(stems),
        rate=str(plan.rate),
        record_start=frames_to_timecode(plan.start_frame, plan.rate),
        duration_frames=plan.duration,
        manifest=manifest,
    )
