"""Automated QC of a master: every picture, sound and subtitle check against a delivery spec in one
streaming decode of each stream, reported as JSON and HTML with timecodes and thumbnails.

``run_qc(path, spec)`` probes the file, checks its format (resolution, rate, codec, profile, duration,
channels) against the spec, decodes the picture once (:mod:`posthouse.finish.qc_video`) and the sound once
(:mod:`posthouse.finish.qc_audio`), and checks optional subtitles (:mod:`posthouse.finish.qc_subs`).
Loudness needs a BS.1770 meter injected as ``loudness_fn`` (departments do not import each other; the CLI
passes ``posthouse.sound.loudness.LoudnessMeter``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from posthouse.core.errors import MediaError, TimecodeError, UsageError
from posthouse.core.media import iter_audio_blocks, iter_video_frames, probe
from posthouse.core.time import Rate, frames_to_timecode, is_drop_label, timecode_to_frames
from posthouse.finish.qc_audio import AudioAnalyzer, LoudnessFactory
from posthouse.finish.qc_report import Check, QCEvent, QCReport, write_html, write_json
from posthouse.finish.qc_specs import QCSpec, load_spec
from posthouse.finish.qc_subs import check_cues
from posthouse.finish.qc_sync import AnalysisSignal, measure_sync, read_analysis_signal, sync_findings
from posthouse.finish.qc_video import VideoAnalyzer, analysis_format
from posthouse.finish.subtitles import SubtitleTrack

__all__ = ["Timecoder", "run_qc", "write_reports"]

_VIDEO_CHECKS = ("black", "freeze", "broadcast_range", "flash", "red_flash")
_AUDIO_CHECKS = ("over_loud", "clipping", "silence", "dropout", "phase")
_SUB_CHECKS = ("reading_speed", "line_length", "lines_per_cue", "subtitle_duration", "gap", "overlap")


class Timecoder:
    """Seconds and frame numbers to timecode labels from the file's start timecode and rate."""

    def __init__(self, fps: Fraction | None, start_tc: str | None) -> None:
        self.fps = fps
        self.rate: Rate | None = None
        self.drop = bool(start_tc and is_drop_label(start_tc))
        self.origin = 0
        if fps:
            try:
                self.rate = Rate.parse(fps)
                self.origin = timecode_to_frames(start_tc, self.rate) if start_tc else 0
            except TimecodeError:
                self.rate, self.origin = None, 0

    def frame(self, index: int) -> str:
        """The label of frame ``index`` (0 = the file's first frame)."""
        if self.rate is None:
            return self.seconds(index / float(self.fps) if self.fps else 0.0)
        return frames_to_timecode(self.origin + index, self.rate, self.drop)

    def seconds(self, t: float) -> str:
        """The label of the frame showing at ``t`` seconds (``HH:MM:SS.mmm`` without a picture rate)."""
        if self.rate is not None and self.fps:
            return self.frame(math.floor(t * float(self.fps) + 1e-6))
        ms = round(t * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _programme(tc: Timecoder, start: str | None, end: str | None, path: Path) -> tuple[int, int | None]:
    """File frame indices ``[first, last)`` of the programme from timecode labels (``last`` None: the end)."""
    if start is None and end is None:
        return 0, None
    if tc.rate is None:
        raise UsageError("a programme window needs a picture rate and start timecode", path=path)
    rate = tc.rate

    def index(label: str) -> int:
        try:
            return timecode_to_frames(label, rate) - tc.origin
        except TimecodeError as exc:
            raise UsageError(f"programme timecode {label!r}: {exc}", path=path) from exc

    first = index(start) if start is not None else 0
    last = index(end) if end is not None else None
    if first < 0 or (last is not None and last <= first):
        raise UsageError(
            f"programme window {start or 'start'}–{end or 'end'} is not inside the file",
            path=path,
            hint=f"the file starts at {tc.frame(0)}",
        )
    return first, last


def _in(value: object, allowed: tuple[object, ...]) -> bool:
    return not allowed or value in allowed


def _status(events: list[QCEvent], check: str) -> str:
    sev = {e.severity for e in events if e.check == check}
    return "fail" if "fail" in sev else "warn" if "warn" in sev else "pass"


def run_qc(
    path: str | Path,
    spec: QCSpec | str | Path = "netflix",
    *,
    subtitles: SubtitleTrack | None = None,
    loudness_fn: LoudnessFactory | None = None,
    progress: Callable[[int, int], None] | None = None,
    programme_start: str | None = None,
    programme_end: str | None = None,
    guide: str | Path | None = None,
    guide_lead_s: float | None = None,
) -> QCReport:
    """Check ``path`` against ``spec`` (a :class:`QCSpec`, preset name or TOML path) and return the report.

    ``programme_start``/``programme_end`` (timecode labels in the file's timecode) limit the picture and
    sound checks to the programme, so a master's bars, tone, slate and leader black are not faults; the
    end is exclusive. ``progress(done, total)`` is called per picture frame. ``guide`` (a WAV or a movie
    with the editor's reference sound) adds sync checks against it (:mod:`posthouse.finish.qc_sync`), the
    programme's sound analysed in the same decode; ``guide_lead_s`` is how much guide comes before the
    programme's first frame (default: from both files' timecodes, else 0). Raises MediaError for
    unreadable files.
    """
    p = Path(path)
    sp = spec if isinstance(spec, QCSpec) else load_spec(spec)
    info = probe(p)
    if info.damaged:
        raise MediaError(f"damaged: {'; '.join(info.problems)}", path=p)
    report = QCReport(path=str(p), spec=sp.name)
    v = info.video[0] if info.video else None
    a = info.audio[0] if info.audio else None
    tc = Timecoder(v.rate if v else None, info.start_timecode)
    duration = float(info.duration) if info.duration is not None else 0.0
    first, last = _programme(tc, programme_start, programme_end, p)
    report.info = {
        "duration_s": round(duration, 3),
        "start_timecode": info.start_timecode,
        "video": f"{v.codec} {v.profile or ''} {v.width}x{v.height} {v.pix_fmt} {v.rate}" if v else None,
        "audio": f"{a.codec} {a.channels} ch {a.sample_rate} Hz" if a else None,
        "spec_source": sp.source,
    }
    if programme_start is not None or programme_end is not None:
        report.info["programme"] = {"start": programme_start, "end": programme_end}
    vs, aus = sp.video, sp.audio
    checks = report.checks
    # format checks
    if v is not None:
        res = f"{v.width}x{v.height}"
        rate = str(v.rate) if v.rate is not None else None
        checks.append(
            Check(
                "resolution",
                "video",
                "pass" if _in(res, vs.resolutions) else "fail",
                res,
                list(vs.resolutions),
            )
        )
        checks.append(
            Check("frame_rate", "video", "pass" if _in(rate, vs.rates) else "fail", rate, list(vs.rates))
        )
        checks.append(
            Check("codec", "video", "pass" if _in(v.codec, vs.codecs) else "fail", v.codec, list(vs.codecs))
        )
        checks.append(
            Check(
                "profile",
                "video",
                "pass" if _in(v.profile, vs.profiles) else "fail",
                v.profile,
                list(vs.profiles),
            )
        )
    else:
        checks.append(Check("picture", "video", "fail", None, "a video stream", "no video stream"))
    too_short = vs.min_duration_s > 0 and duration < vs.min_duration_s
    too_long = vs.max_duration_s > 0 and duration > vs.max_duration_s
    checks.append(
        Check(
            "duration",
            "video",
            "fail" if too_short or too_long else "pass",
            round(duration, 3),
            [vs.min_duration_s, vs.max_duration_s or None],
        )
    )
    if a is not None:
        checks.append(
            Check(
                "channels",
                "audio",
                "pass" if _in(a.channels, aus.channels) else "fail",
                a.channels,
                list(aus.channels),
            )
        )
    else:
        checks.append(Check("sound", "audio", "fail", None, "an audio stream", "no audio stream"))
    # picture pass
    if v is not None and v.rate:
        fps = float(v.rate)
        va = VideoAnalyzer(v.width - v.width % 2, v.height - v.height % 2, fps, v.bit_depth, vs)
        fmt = analysis_format(v.bit_depth)
        for index, frame in iter_video_frames(p, format=fmt):
            if index < first or (last is not None and index >= last):
                continue
            if frame.shape[1] != va.width:  # odd sizes: the converter pads to even
                frame = frame[:, : va.width]
            va.push(index, frame)
            if progress is not None:
                progress(index + 1, v.frames)
        for fe in va.finish():
            report.events.append(
                QCEvent(
                    fe.check,
                    fe.severity,
                    fe.start / fps,
                    fe.end / fps,
                    tc.frame(fe.start),
                    tc.frame(fe.end),
                    fe.detail,
                    fe.thumbnail,
                )
            )
        report.info["frames"] = va.frames
        for name in _VIDEO_CHECKS:
            if name == "broadcast_range" and vs.range_tolerance >= 1.0:
                checks.append(Check(name, "video", "skip", message="not checked by this spec"))
                continue
            n = len(report.events_of(name))
            checks.append(
                Check(name, "video", _status(report.events, name), n, 0, f"{n} event(s)" if n else "")
            )
    # sound pass
    if a is not None:
        aa = AudioAnalyzer(a.sample_rate, a.channels, aus, loudness_fn)
        sync_sig = AnalysisSignal(a.sample_rate) if guide is not None else None
        fps_a = float(v.rate) if v is not None and v.rate else 0.0
        s0 = round(first / fps_a * a.sample_rate) if fps_a else 0
        s1 = round(last / fps_a * a.sample_rate) if fps_a and last is not None else None
        pos = 0
        for block in iter_audio_blocks(p, block=a.sample_rate):
            lo, hi = max(0, s0 - pos), block.shape[1] if s1 is None else min(block.shape[1], s1 - pos)
            pos += block.shape[1]
            if hi > lo:
                aa.push(block[:, lo:hi])
                if sync_sig is not None:
                    sync_sig.push(block[:, lo:hi])
        aevents, summ = aa.finish()
        offset = s0 / a.sample_rate
        for ae in aevents:
            ae.start_s += offset
            ae.end_s += offset
        for ae in aevents:
            report.events.append(
                QCEvent(
                    ae.check,
                    ae.severity,
                    ae.start_s,
                    ae.end_s,
                    tc.seconds(ae.start_s),
                    tc.seconds(ae.end_s),
                    ae.detail,
                )
            )
        if loudness_fn is None:
            for name in ("integrated_loudness", "true_peak", "over_loud"):
                checks.append(Check(name, "audio", "skip", message="no loudness meter given"))
        else:
            target = aus.integrated_lufs
            if math.isfinite(target):
                ok = (
                    math.isfinite(summ.integrated_lufs)
                    and abs(summ.integrated_lufs - target) <= aus.integrated_tolerance
                )
                checks.append(
                    Check(
                        "integrated_loudness",
                        "audio",
                        "pass" if ok else "fail",
                        summ.integrated_lufs,
                        f"{target:g} ± {aus.integrated_tolerance:g} LUFS",
                    )
                )
            else:
                checks.append(
                    Check("integrated_loudness", "audio", "skip", summ.integrated_lufs, message="no target")
                )
            tp_ok = not summ.true_peak_dbtp > aus.max_true_peak_dbtp
            checks.append(
                Check(
                    "true_peak",
                    "audio",
                    "pass" if tp_ok else "fail",
                    summ.true_peak_dbtp,
                    f"<= {aus.max_true_peak_dbtp:g} dBTP",
                )
            )
        for name in _AUDIO_CHECKS:
            if name == "over_loud" and loudness_fn is None:
                continue
            n = len(report.events_of(name))
            measured: object = n
            if name == "phase":
                measured = round(summ.phase_correlation, 3) if math.isfinite(summ.phase_correlation) else None
            checks.append(
                Check(
                    name, "audio", _status(report.events, name), measured, None, f"{n} event(s)" if n else ""
                )
            )
        report.info["sample_peak_dbfs"] = (
            round(summ.sample_peak_dbfs, 2) if math.isfinite(summ.sample_peak_dbfs) else None
        )
        if sync_sig is not None and guide is not None:
            _check_sync(
                report, sync_sig, Path(guide), sp, tc, info.start_timecode, fps_a, first, offset, guide_lead_s
            )
    elif guide is not None:
        checks.append(Check("sync_offset", "sync", "fail", None, "a sound stream", "no sound to sync"))
    # subtitles
    if subtitles is not None:
        if v is not None and v.rate is not None:  # gaps in frames and timecodes at the picture's rate
            subtitles = dataclasses.replace(subtitles, rate=Rate.parse(v.rate))
        for issue in check_cues(subtitles, sp.subtitles):
            report.events.append(
                QCEvent(
                    issue.check,
                    issue.severity,
                    issue.start,
                    issue.end,
                    tc.seconds(issue.start),
                    tc.seconds(issue.end),
                    issue.detail,
                )
            )
        report.info["subtitle_cues"] = len(subtitles.cues)
        for name in _SUB_CHECKS:
            n = len(report.events_of(name))
            checks.append(
                Check(name, "subtitles", _status(report.events, name), n, 0, f"{n} event(s)" if n else "")
            )
    report.events.sort(key=lambda e: (e.start_s, e.check))
    return report


def _guide_lead_s(
    prog_tc: str | None, guide_tc: str | None, tc: Timecoder, first: int, guide_rate: Fraction | None
) -> float:
    """Where the programme's first frame sits in the guide, from both timecodes (0 without them).

    Labels are counted at the programme's picture rate, else the guide's (a sound-only programme).
    """
    rate_like = tc.fps or guide_rate
    if prog_tc is None or guide_tc is None or not rate_like:
        return 0.0
    try:
        rate = Rate.parse(rate_like)
        start = timecode_to_frames(prog_tc, rate) + first - timecode_to_frames(guide_tc, rate)
    except TimecodeError:
        return 0.0
    return start / float(rate_like)


def _check_sync(
    report: QCReport,
    sig: AnalysisSignal,
    guide: Path,
    sp: QCSpec,
    tc: Timecoder,
    prog_tc: str | None,
    fps: float,
    first: int,
    offset_s: float,
    lead_s: float | None,
) -> None:
    ginfo = probe(guide)
    if not ginfo.audio:
        raise MediaError("the guide has no sound stream", path=guide, hint="give a WAV or a movie with sound")
    grate = ginfo.video[0].rate if ginfo.video else None
    gsig, gsr = read_analysis_signal(guide)
    placed = "given (--guide-lead)"
    if lead_s is None:
        lead = _guide_lead_s(prog_tc, ginfo.start_timecode, tc, first, grate)
        placed = "by timecode" if lead else "at the programme's start"
        if not 0.0 <= lead < gsig.size / float(gsr or 1):  # timecodes that do not overlap: not the same clock
            lead, placed = 0.0, "at the programme's start (the timecodes do not overlap)"
    else:
        lead = lead_s
    result = measure_sync(
        sig.result(),
        gsig,
        sig.rate,
        fps=fps or float(grate or 24),
        settings=sp.sync,
        guide_rate=gsr,
        guide_lead_s=lead,
    )
    checks, events = sync_findings(result, tc.seconds, offset_s=offset_s)
    report.checks.extend(checks)
    report.events.extend(events)
    report.info["sync"] = {
        "guide": str(guide),
        "guide_start_timecode": ginfo.start_timecode,
        "guide_lead_s": round(lead, 4),
        "guide_placed": placed,
        "windows": [
            {
                "start_tc": tc.seconds(w.start_s + offset_s),
                "status": w.status,
                "offset_ms": round(w.offset_ms, 2) if w.offset_ms is not None else None,
                "offset_frames": round(w.offset_frames, 3) if w.offset_frames is not None else None,
                "correlation": w.correlation,
            }
            for w in result.windows
        ],
    }


def write_reports(report: QCReport, out_dir: str | Path, stem: str | None = None) -> tuple[Path, Path]:
    """Write ``STEM_qc.json`` and ``STEM_qc.html`` into ``out_dir``; returns both paths."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    name = stem or Path(report.path).stem
    j, h = d / f"{name}_qc.json", d / f"{name}_qc.html"
    write_json(report, j)
    write_html(report, h)
    return j, h
