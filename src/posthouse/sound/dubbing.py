"""Dubbed versions: the M&E plus a dubbed dialogue stem make a localized printmaster per language.

The M&E (5.1 or stereo, from :func:`posthouse.sound.mixer.mix_session`) and the dubbing studio's dialogue
stem (mono — it goes to the centre —, stereo or 5.1) are summed block by block from their common
``TimeReference`` (a stem that starts later is padded, one that starts earlier is trimmed), measured
(dialogue-gated on the dubbed dialogue where the spec asks), and written again through the same linked
true-peak limiter as the original mix: ``NAME_PM_51_LANG.wav`` and its Lo/Ro ``NAME_PM_20_LANG.wav``.
Streamed; the sum is computed twice rather than held.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.media.bwf import Bext, BwfWriter, IXml, read_bwf
from posthouse.sound.limiter import TruePeakLimiter
from posthouse.sound.loudness import LoudnessMeter
from posthouse.sound.panning import CHANNELS_51, LORO
from posthouse.sound.specs import LoudnessSpec
from posthouse.sound.speech import SpeechDetector

__all__ = ["DubReport", "dub_mix"]

F32 = npt.NDArray[np.float32]
_BLOCK = 1 << 16


@dataclass
class DubReport:
    """The localized printmasters and how they measure."""

    language: str
    spec: str
    outputs: dict[str, str] = field(default_factory=dict)  # layout → path
    gain_db: dict[str, float] = field(default_factory=dict)
    measured_lufs: dict[str, float] = field(default_factory=dict)
    true_peak_dbtp: dict[str, float] = field(default_factory=dict)
    target_lufs: float = 0.0
    gating: str = "program"
    passed: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return None if math.isinf(x) or math.isnan(x) else round(x, 2)

        return {
            "language": self.language,
            "spec": self.spec,
            "outputs": self.outputs,
            "gain_db": {k: r(v) for k, v in self.gain_db.items()},
            "measured_lufs": {k: r(v) for k, v in self.measured_lufs.items()},
            "true_peak_dbtp": {k: r(v) for k, v in self.true_peak_dbtp.items()},
            "target_lufs": self.target_lufs,
            "gating": self.gating,
            "passed": self.passed,
            "warnings": self.warnings,
        }


def _to51(block: F32, path: Path) -> F32:
    ch = block.shape[0]
    if ch == 6:
        return block
    out = np.zeros((6, block.shape[1]), np.float32)
    if ch == 1:
        out[2] = block[0]
    elif ch == 2:
        out[0], out[1] = block[0], block[1]
    else:
        raise MediaError(f"{ch} channels: give mono, stereo or 5.1 ({' '.join(CHANNELS_51)})", path=path)
    return out


def _blocks(path: Path, skip: int, pad: int, total: int) -> Iterator[F32]:
    """``total`` samples of ``path`` as (6, n) blocks: ``pad`` silent samples first, ``skip`` dropped."""
    done = 0
    if pad:
        while done < min(pad, total):
            n = min(_BLOCK, pad - done, total - done)
            yield np.zeros((6, n), np.float32)
            done += n
    with sf.SoundFile(str(path)) as f:
        f.seek(min(skip, f.frames))
        while done < total:
            data = f.read(min(_BLOCK, total - done), dtype="float32", always_2d=True).T
            if data.shape[1] == 0:
                yield np.zeros((6, min(_BLOCK, total - done)), np.float32)
                done += min(_BLOCK, total - done)
                continue
            yield _to51(np.ascontiguousarray(data), path)
            done += data.shape[1]


def _stems(me: Path, dx: Path, me_ref: int, dx_ref: int, total: int) -> Iterator[tuple[F32, F32]]:
    lead = dx_ref - me_ref  # >0: the dialogue starts later than the M&E
    a = _blocks(me, 0, 0, total)
    b = _blocks(dx, max(0, -lead), max(0, lead), total)
    buf_a: list[F32] = []
    buf_b: list[F32] = []
    have_a = have_b = 0
    while True:  # re-block both streams to common block sizes
        while have_a < _BLOCK:
            nxt = next(a, None)
            if nxt is None:
                break
            buf_a.append(nxt)
            have_a += nxt.shape[1]
        while have_b < have_a:
            nxt = next(b, None)
            if nxt is None:
                break
            buf_b.append(nxt)
            have_b += nxt.shape[1]
        n = min(have_a, have_b)
        if n == 0:
            return
        ja, jb = np.concatenate(buf_a, axis=1), np.concatenate(buf_b, axis=1)
        yield ja[:, :n], jb[:, :n]
        buf_a, buf_b = [ja[:, n:]], [jb[:, n:]]
        have_a, have_b = have_a - n, have_b - n


def _layout(block: F32, layout: str) -> F32:
    return block if layout == "5.1" else (LORO @ block).astype(np.float32)


def dub_mix(
    me: str | Path,
    dialogue: str | Path,
    out_dir: str | Path,
    spec: LoudnessSpec,
    *,
    language: str,
    name: str,
    sample_rate: int = 48_000,
) -> DubReport:
    """Mix ``dialogue`` (the dubbed dialogue stem) over ``me`` (the M&E) into the localized printmasters
    for ``language`` in each of the spec's layouts, normalised to ``spec``; returns the report."""
    me_p, dx_p = Path(me), Path(dialogue)
    infos = {}
    for p in (me_p, dx_p):
        try:
            infos[p] = sf.info(str(p))
        except RuntimeError as exc:
            raise MediaError(f"cannot read: {exc}", path=p) from exc
        if infos[p].samplerate != sample_rate:
            raise UsageError(
                f"{infos[p].samplerate} Hz, not {sample_rate} Hz", path=p, hint="resample it first"
            )
    refs: dict[Path, int] = {}
    for p in (me_p, dx_p):
        info = read_bwf(p)
        refs[p] = int(info.time_reference or 0) if info is not None else 0
    total = int(infos[me_p].frames)
    report = DubReport(language=language, spec=spec.name, target_lufs=spec.target_lufs, gating=spec.gating)
    if refs[dx_p] != refs[me_p]:
        report.warnings.append(
            f"dialogue starts {refs[dx_p] - refs[me_p]:+d} samples from the M&E; placed by its TimeReference"
        )
    layouts = spec.layouts
    meters = {
        lay: LoudnessMeter(sample_rate, 6 if lay == "5.1" else 2, "5.1" if lay == "5.1" else None)
        for lay in layouts
    }
    speech = SpeechDetector(sample_rate)
    for a, b in _stems(me_p, dx_p, refs[me_p], refs[dx_p], total):
        pm = a + b
        for lay in layouts:
            meters[lay].push(_layout(pm, lay))
        speech.push(b)
    activity = speech.activity()
    gating, target = spec.gating, spec.target_lufs
    if (
        gating == "dialogue"
        and 100.0 * float(activity.mean() if activity.size else 0) < spec.dialogue_min_percent
    ):
        gating = "program"
        target = spec.fallback_target_lufs if spec.fallback_target_lufs is not None else target
        report.warnings.append("little dialogue: programme-gated loudness")
    report.gating, report.target_lufs = gating, target

    def level(m: LoudnessMeter) -> float:
        return m.gated_integrated(activity) if gating == "dialogue" else m.result().integrated_lufs

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for lay in layouts:
        measured = level(meters[lay])
        report.gain_db[lay] = 0.0 if math.isinf(measured) else target - measured
    for _attempt in range(3):
        redo = False
        for lay in layouts:
            ch = 6 if lay == "5.1" else 2
            path = out / f"{name}_PM_{'51' if lay == '5.1' else '20'}_{language}.wav"
            gain = np.float32(10.0 ** (report.gain_db[lay] / 20.0))
            limiter = TruePeakLimiter(sample_rate, ch, spec.true_peak_dbtp)
            meter = LoudnessMeter(sample_rate, ch, "5.1" if lay == "5.1" else None)
            names = CHANNELS_51 if lay == "5.1" else ("Lo", "Ro")
            desc = f"{name} printmaster {lay} {language} ({spec.name})"
            with BwfWriter(
                path,
                ch,
                sample_rate,
                bext=Bext(description=desc, time_reference=refs[me_p]),
                ixml=IXml(project=name, note=desc, track_names=tuple(names)),
            ) as writer:
                for a, b in _stems(me_p, dx_p, refs[me_p], refs[dx_p], total):
                    done = limiter.process(_layout(a + b, lay) * gain)
                    if done.shape[1]:
                        writer.write(done)
                        meter.push(done)
                rest = limiter.flush()
                if rest.shape[1]:
                    writer.write(rest)
                    meter.push(rest)
            report.outputs[lay] = str(path)
            report.measured_lufs[lay] = level(meter)
            report.true_peak_dbtp[lay] = meter.result().true_peak_dbtp
            if not math.isinf(report.measured_lufs[lay]) and abs(report.measured_lufs[lay] - target) > 0.1:
                report.gain_db[lay] += target - report.measured_lufs[lay]
                redo = True
        if not redo:
            break
    report.passed = all(
        abs(v - target) <= spec.tolerance_lu and report.true_peak_dbtp[k] <= spec.true_peak_dbtp + 1e-6
        for k, v in report.measured_lufs.items()
    )
    return report
