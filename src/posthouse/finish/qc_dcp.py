"""QC of a DCP folder: the composition's picture and sound checked as the projector plays them, reel by reel.

``run_dcp_qc(folder, spec)`` reads the ASSETMAP (SMPTE ST 429-9, or Interop ``ASSETMAP``) and every CPL in it
(ST 429-7) with a small namespace-agnostic parser, then for each composition:

- structure: every asset a reel names is in the folder; the reel's picture, sound and subtitle durations are
  equal; entry point + duration fit in each track file, whose own header (our MXF reader) agrees on edit
  rate and duration; the PKL's sizes and SHA-1 hashes match the files;
- picture: the JPEG 2000 frames' sizes against the 250 Mbit/s cap (``frame_limit_bytes``), resolution and
  rate against the spec; every frame decoded by FFmpeg (PyAV, the MXF demuxer and jpeg2000 decoder) at a
  quarter of its size (``lowres``: the two finest wavelet levels skipped, ~10× faster; ``full_decode``
  decodes everything and takes every 4th pixel), X'Y'Z' taken back to display RGB with ``xyz12_to_rgb`` and
  run through the picture checks (black, freeze, flashes...), which work on ≤ 96-pixel-wide block means and
  single-pixel samples anyway;
- sound: the 24-bit PCM of every edit unit through the sound checks (clipping, silence, dropouts, phase),
  channel count against the spec; loudness is measured and reported (cinema has no loudness target).

Reels play back to back, so the checks run across reel joins, and events carry composition timecodes
(00:00:00:00 at the first frame of the first reel) plus the reel in their detail.
"""

from __future__ import annotations

import base64
import hashlib
import math
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.finish.dcp_picture import frame_limit_bytes, xyz12_to_rgb
from posthouse.finish.qc import Timecoder
from posthouse.finish.qc_audio import AudioAnalyzer, LoudnessFactory
from posthouse.finish.qc_report import Check, QCEvent, QCReport
from posthouse.finish.qc_specs import QCSpec, load_spec
from posthouse.finish.qc_video import VideoAnalyzer

__all__ = ["CplAssetRef", "CplInfo", "CplReel", "find_assets", "is_dcp", "read_cpl", "run_dcp_qc"]

_STRIDE_WIDTH = 480  # analysis picture at most about this wide (every Nth pixel)
_LOWRES = 2  # JPEG 2000 resolution levels skipped when decoding for the picture checks
_FULL_SCALE_24 = float(1 << 23)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: ET.Element | None, name: str, default: str = "") -> str:
    c = _child(el, name) if el is not None else None
    return (c.text or "").strip() if c is not None and c.text else default


def _uuid(text: str, path: Path, where: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip().removeprefix("urn:uuid:"))
    except ValueError as exc:
        raise MediaError(f"bad UUID {text!r}", path=path, where=where) from exc


def _rate(text: str, path: Path, where: str) -> Fraction:
    try:
        num, den = (int(x) for x in text.split())
        return Fraction(num, den)
    except (ValueError, ZeroDivisionError) as exc:
        raise MediaError(f"bad edit rate {text!r}", path=path, where=where) from exc


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise MediaError(f"cannot parse XML: {exc}", path=path) from exc


@dataclass(frozen=True, slots=True)
class CplAssetRef:
    """One track file a reel plays: ``kind`` is ``picture``, ``sound`` or ``subtitle``."""

    kind: str
    asset_id: uuid.UUID
    edit_rate: Fraction
    intrinsic_duration: int
    entry_point: int
    duration: int


@dataclass(frozen=True, slots=True)
class CplReel:
    """A reel of a composition."""

    reel_id: uuid.UUID
    assets: tuple[CplAssetRef, ...]

    def of(self, kind: str) -> CplAssetRef | None:
        """The reel's asset of ``kind`` (None when the reel has none)."""
        return next((a for a in self.assets if a.kind == kind), None)


@dataclass(frozen=True, slots=True)
class CplInfo:
    """What QC needs of a Composition Playlist."""

    path: Path
    cpl_id: uuid.UUID
    title: str
    edit_rate: Fraction
    reels: tuple[CplReel, ...]


_KINDS = {
    "MainPicture": "picture",
    "MainStereoscopicPicture": "picture",
    "MainSound": "sound",
    "MainSubtitle": "subtitle",
    "ClosedCaption": "subtitle",
}


def read_cpl(path: str | Path) -> CplInfo:
    """Parse a CPL (SMPTE or Interop): title, edit rate and each reel's picture, sound and subtitle assets."""
    p = Path(path)
    root = _parse(p)
    if _local(root.tag) != "CompositionPlaylist":
        raise MediaError("not a Composition Playlist", path=p, where=_local(root.tag))
    reels: list[CplReel] = []
    reel_list = _child(root, "ReelList")
    first_rate: Fraction | None = None
    for n, reel in enumerate(reel_list if reel_list is not None else [], start=1):
        assets: list[CplAssetRef] = []
        alist = _child(reel, "AssetList")
        for a in alist if alist is not None else []:
            kind = _KINDS.get(_local(a.tag))
            if kind is None:
                continue
            where = f"reel {n} {_local(a.tag)}"
            rate = _rate(_text(a, "EditRate", "24 1"), p, where)
            first_rate = first_rate or rate
            intrinsic = int(_text(a, "IntrinsicDuration", "0") or 0)
            entry = int(_text(a, "EntryPoint", "0") or 0)
            duration = int(_text(a, "Duration", "") or intrinsic - entry)
            assets.append(
                CplAssetRef(kind, _uuid(_text(a, "Id"), p, where), rate, intrinsic, entry, duration)
            )
        reels.append(CplReel(_uuid(_text(reel, "Id", str(uuid.UUID(int=n))), p, f"reel {n}"), tuple(assets)))
    rate_text = _text(root, "EditRate")
    edit_rate = _rate(rate_text, p, "EditRate") if rate_text else first_rate or Fraction(24)
    return CplInfo(
        p, _uuid(_text(root, "Id"), p, "Id"), _text(root, "ContentTitleText"), edit_rate, tuple(reels)
    )


def _assetmap_path(folder: Path) -> Path | None:
    for name in ("ASSETMAP.xml", "ASSETMAP"):
        if (folder / name).is_file():
            return folder / name
    return None


def is_dcp(folder: str | Path) -> bool:
    """True when ``folder`` is a directory with an ASSETMAP."""
    p = Path(folder)
    return p.is_dir() and _assetmap_path(p) is not None


def find_assets(folder: str | Path) -> dict[uuid.UUID, Path]:
    """The ASSETMAP's asset UUIDs and the files they point at (files may be missing: check ``exists``)."""
    d = Path(folder)
    am = _assetmap_path(d)
    if am is None:
        raise UsageError("no ASSETMAP in this folder: not a DCP", path=d, hint="give the DCP's folder")
    root = _parse(am)
    assets: dict[uuid.UUID, Path] = {}
    alist = _child(root, "AssetList")
    for n, a in enumerate(alist if alist is not None else [], start=1):
        chunks = _child(a, "ChunkList")
        chunk = _child(chunks, "Chunk") if chunks is not None else None
        rel = _text(chunk, "Path")
        if rel:
            assets[_uuid(_text(a, "Id"), am, f"asset {n}")] = d / rel
    return assets


# ------------------------------------------------------------------------------------------ decoding


def _xyz_frames(path: Path, first: int, count: int, lowres: int) -> Iterator[npt.NDArray[np.uint16]]:
    """X'Y'Z' 12-bit frames ``[first, first + count)`` of a picture track file, decoded by FFmpeg
    (``lowres`` resolution levels left out: 2 gives a quarter-size picture)."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, ValueError) as exc:
        raise MediaError(f"FFmpeg cannot open the picture track file: {exc}", path=path) from exc
    with container:
        if not container.streams.video:
            raise MediaError("no picture stream in the track file", path=path)
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        if lowres:
            vs.codec_context.options = {"lowres": str(lowres)}
        index = 0
        try:
            for frame in container.decode(vs):
                if index >= first + count:
                    return
                if index >= first:
                    yield _frame_xyz(frame, path, index)
                index += 1
        except av.error.FFmpegError as exc:
            raise MediaError(f"decode failed: {exc}", path=path, where=f"frame {index}") from exc


def _frame_xyz(frame: Any, path: Path, index: int) -> npt.NDArray[np.uint16]:
    w, h = frame.width, frame.height
    name = frame.format.name
    if name in ("xyz12le", "xyz12be"):
        plane = frame.planes[0]
        raw = np.frombuffer(bytes(plane), dtype="<u2" if name.endswith("le") else ">u2")
        rows = raw.reshape(h, plane.line_size // 2)[:, : w * 3].reshape(h, w, 3)
        return (rows >> 4).astype(np.uint16)  # 12 bits in the top of each 16-bit word
    if name in ("rgb48le", "rgb48be", "gbrp12le", "gbrp16le"):
        arr = np.asarray(frame.to_ndarray(format="rgb48le"), np.uint16)  # 16-bit codes: keep the top 12
        out: npt.NDArray[np.uint16] = (arr >> 4).astype(np.uint16)
        return out
    raise MediaError(
        f"picture decoded as {name}, not 12-bit X'Y'Z'",
        path=path,
        where=f"frame {index}",
        hint="not a DCI picture",
    )


def _to_yuv420(rgb: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """Display RGB (float 0–1, even size) to planar BT.709 legal-range yuv420p as PyAV lays it out."""
    h, w = rgb.shape[:2]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    cb = (b - y) / 1.8556
    cr = (r - y) / 1.5748

    def sub(c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        m: npt.NDArray[np.float64] = c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        return m

    yq = np.rint(16.0 + 219.0 * y)
    uq = np.rint(128.0 + 224.0 * sub(cb)).reshape(h // 4, w)
    vq = np.rint(128.0 + 224.0 * sub(cr)).reshape(h // 4, w)
    planes: npt.NDArray[np.uint8] = np.clip(np.concatenate((yq, uq, vq)), 0, 255).astype(np.uint8)
    return planes


def _analysis_picture(xyz: npt.NDArray[np.uint16], stride: int) -> npt.NDArray[np.uint8]:
    small = xyz[::stride, ::stride]
    h, w = small.shape[0] - small.shape[0] % 4, small.shape[1] - small.shape[1] % 2
    return _to_yuv420(xyz12_to_rgb(small[:h, :w]))


def _pcm_blocks(path: Path, first: int, count: int, channels: int) -> Iterator[npt.NDArray[np.float32]]:
    """Edit units ``[first, first + count)`` of a sound track file as ``(channels, n)`` float32."""
    from posthouse.finish.mxf import iter_mxf_essence

    for index, raw in enumerate(iter_mxf_essence(path)):
        if index >= first + count:
            return
        if index < first:
            continue
        b = np.frombuffer(raw, np.uint8)
        if b.size % (3 * channels):
            raise MediaError(
                f"edit unit of {b.size} bytes is not whole 24-bit samples of {channels} channels",
                path=path,
                where=f"edit unit {index}",
            )
        t = b.reshape(-1, 3).astype(np.int32)
        v = t[:, 0] | (t[:, 1] << 8) | (t[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        yield np.ascontiguousarray((v.reshape(-1, channels).T / _FULL_SCALE_24).astype(np.float32))


def _sha1_b64(path: Path) -> str:
    h = hashlib.sha1()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return base64.b64encode(h.digest()).decode("ascii")


# ------------------------------------------------------------------------------------------ the QC


def _check_pkl(folder: Path, assets: dict[uuid.UUID, Path], report: QCReport) -> None:
    bad: list[str] = []
    checked = 0
    for path in assets.values():
        if not path.is_file() or path.suffix.lower() != ".xml":
            continue
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            continue
        if _local(root.tag) != "PackingList":
            continue
        alist = _child(root, "AssetList")
        for a in alist if alist is not None else []:
            aid = _uuid(_text(a, "Id"), path, "PKL asset")
            target = assets.get(aid)
            if target is None or not target.is_file():
                bad.append(f"{aid}: not in the folder")
                continue
            checked += 1
            size = int(_text(a, "Size", "-1") or -1)
            if size != target.stat().st_size:
                bad.append(f"{target.name}: size {target.stat().st_size}, PKL says {size}")
            elif _text(a, "Hash") != _sha1_b64(target):
                bad.append(f"{target.name}: SHA-1 differs from the PKL")
    report.checks.append(
        Check(
            "pkl_hashes",
            "dcp",
            "fail" if bad else "pass" if checked else "skip",
            f"{checked - len([b for b in bad if 'not in' not in b])}/{checked} match",
            "sizes and SHA-1 as the PKL",
            "; ".join(bad[:5]) or ("" if checked else "no PKL in the folder"),
        )
    )


def run_dcp_qc(
    folder: str | Path,
    spec: QCSpec | str | Path = "dci-dcp",
    *,
    loudness_fn: LoudnessFactory | None = None,
    progress: Callable[[int, int], None] | None = None,
    verify_hashes: bool = True,
    full_decode: bool = False,
) -> QCReport:
    """QC every composition (CPL) in the DCP at ``folder`` against ``spec``; one report for the folder.

    Raises UsageError when the folder has no ASSETMAP, MediaError for unreadable XML. A missing or
    unreadable track file is a failed check, not an exception, so the rest of the DCP is still checked.
    ``progress(done, total)`` is called per picture frame. The picture checks decode a quarter-size picture
    (FFmpeg's ``lowres``: the two finest wavelet levels are skipped, about 10× faster); ``full_decode``
    decodes every level and samples every 4th pixel instead.
    """
    d = Path(folder)
    sp = spec if isinstance(spec, QCSpec) else load_spec(spec)
    assets = find_assets(d)
    report = QCReport(path=str(d), spec=sp.name)
    cpls: list[CplInfo] = []
    for path in assets.values():
        if path.suffix.lower() == ".xml" and path.is_file():
            root = _parse(path)
            if _local(root.tag) == "CompositionPlaylist":
                cpls.append(read_cpl(path))
    missing = [p.name for p in assets.values() if not p.exists()]
    report.checks.append(
        Check(
            "assetmap",
            "dcp",
            "fail" if missing or not cpls else "pass",
            f"{len(assets)} assets, {len(cpls)} CPL(s)",
            "every asset present, at least one CPL",
            ("missing: " + ", ".join(missing[:5])) if missing else "" if cpls else "no CPL in the ASSETMAP",
        )
    )
    if verify_hashes:
        _check_pkl(d, assets, report)
    report.info["compositions"] = []
    total = sum(a.duration for c in cpls for r in c.reels for a in r.assets if a.kind == "picture")
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    for cpl in cpls:
        _check_composition(
            report, cpl, assets, sp, loudness_fn, tick, prefix=len(cpls) > 1, full_decode=full_decode
        )
    report.events.sort(key=lambda e: (e.start_s, e.check))
    return report


def _check_composition(
    report: QCReport,
    cpl: CplInfo,
    assets: dict[uuid.UUID, Path],
    sp: QCSpec,
    loudness_fn: LoudnessFactory | None,
    tick: Callable[[], None],
    *,
    prefix: bool,
    full_decode: bool,
) -> None:
    from posthouse.finish.mxf import iter_mxf_essence, read_mxf_info

    name = f"{cpl.title}: " if prefix else ""
    fps = cpl.edit_rate
    label = Timecoder(fps, "00:00:00:00").seconds
    vs, aus = sp.video, sp.audio
    cap = frame_limit_bytes(round(fps))
    structure: list[tuple[str, float]] = []  # (problem, composition seconds of its reel's start)
    sizes_max, over, frames_total = 0, 0, 0
    va: VideoAnalyzer | None = None
    aa: AudioAnalyzer | None = None
    channels_seen: set[int] = set()
    resolutions: set[str] = set()
    pos = 0  # composition frame of the reel's first frame

    def problem(text: str) -> None:
        structure.append((text, pos / float(fps)))

    reel_info: list[dict[str, Any]] = []
    for n, reel in enumerate(cpl.reels, start=1):
        here = f"reel {n}"
        durations = {a.kind: a.duration for a in reel.assets}
        if len(set(durations.values())) > 1:
            problem(f"{here}: durations differ ({', '.join(f'{k} {v}' for k, v in durations.items())})")
        reel_info.append({"reel": n, "start_tc": label(pos / float(fps)), "durations": durations})
        for ref in reel.assets:
            path = assets.get(ref.asset_id)
            if path is None or not path.is_file():
                problem(f"{here}: {ref.kind} asset {ref.asset_id} is not in this DCP")
                continue
            if ref.entry_point + ref.duration > ref.intrinsic_duration:
                problem(
                    f"{here}: {ref.kind} entry point {ref.entry_point} + duration {ref.duration} exceeds "
                    f"its intrinsic duration {ref.intrinsic_duration}"
                )
            if ref.edit_rate != fps and ref.kind != "subtitle":
                problem(f"{here}: {ref.kind} edit rate {ref.edit_rate} differs from the CPL's {fps}")
            try:
                info = read_mxf_info(path)
            except MediaError as exc:
                problem(f"{here}: {ref.kind} track file unreadable: {exc}")
                continue
            if info.duration != ref.intrinsic_duration or info.edit_rate != ref.edit_rate:
                problem(
                    f"{here}: {path.name} holds {info.duration} units at {info.edit_rate}, the CPL says "
                    f"{ref.intrinsic_duration} at {ref.edit_rate}"
                )
            if ref.kind == "picture":
                resolutions.add(f"{info.width}x{info.height}")
                try:
                    sizes = [len(cs) for cs in iter_mxf_essence(path)]
                except MediaError as exc:
                    problem(f"{here}: picture: {exc}")
                    sizes = []
                for i, size in enumerate(sizes):
                    if ref.entry_point <= i < ref.entry_point + ref.duration:
                        sizes_max = max(sizes_max, size)
                        if size > cap:
                            over += 1
                            if over <= 20:
                                t = (pos + i - ref.entry_point) / float(fps)
                                report.events.append(
                                    QCEvent(
                                        "j2k_bitrate",
                                        "fail",
                                        t,
                                        t + 1 / float(fps),
                                        label(t),
                                        label(t + 1 / float(fps)),
                                        f"{name}{here}: frame of {size:,} bytes over the {cap:,} allowed "
                                        f"({size * 8 * float(fps) / 1e6:.1f} Mbit/s)",
                                    )
                                )
                try:
                    frames = _xyz_frames(path, ref.entry_point, ref.duration, 0 if full_decode else _LOWRES)
                    for k, xyz in enumerate(frames):
                        pic = _analysis_picture(xyz, max(1, xyz.shape[1] // _STRIDE_WIDTH))
                        if va is None:
                            va = VideoAnalyzer(pic.shape[1], pic.shape[0] * 2 // 3, float(fps), 8, vs)
                        va.push(pos + k, pic)
                        frames_total += 1
                        tick()
                except MediaError as exc:
                    problem(f"{here}: picture: {exc}")
            elif ref.kind == "sound":
                channels_seen.add(info.channels)
                if aa is None:
                    aa = AudioAnalyzer(info.sample_rate, info.channels, aus, loudness_fn)
                elif aa.channels != info.channels:
                    problem(f"{here}: sound has {info.channels} channels, reel 1 had {aa.channels}")
                    continue
                try:
                    for block in _pcm_blocks(path, ref.entry_point, ref.duration, info.channels):
                        aa.push(block)
                except MediaError as exc:
                    problem(f"{here}: sound: {exc}")
        picture = reel.of("picture")
        pos += picture.duration if picture is not None else max(durations.values(), default=0)
    checks = report.checks
    checks.append(
        Check(
            f"{name}structure" if prefix else "structure",
            "dcp",
            "fail" if structure else "pass",
            f"{len(cpl.reels)} reel(s), {pos} frames",
            "assets present, equal durations per reel, track files agree with the CPL",
            "; ".join(t for t, _ in structure[:6]),
        )
    )
    for text, at in structure:
        report.events.append(QCEvent("structure", "fail", at, at, label(at), label(at), f"{name}{text}"))
    res = ", ".join(sorted(resolutions)) or None
    ok_res = bool(resolutions) and all(not vs.resolutions or r in vs.resolutions for r in resolutions)
    rate_s = str(fps)
    checks.append(Check("resolution", "video", "pass" if ok_res else "fail", res, list(vs.resolutions)))
    checks.append(
        Check(
            "frame_rate",
            "video",
            "pass" if not vs.rates or rate_s in vs.rates else "fail",
            rate_s,
            list(vs.rates),
        )
    )
    checks.append(
        Check(
            "j2k_bitrate",
            "video",
            "fail" if over else "pass" if sizes_max else "skip",
            f"max {sizes_max:,} bytes ({sizes_max * 8 * float(fps) / 1e6:.1f} Mbit/s)",
            f"<= {cap:,} bytes a frame (250 Mbit/s)",
            f"{over} frame(s) over" if over else "",
        )
    )
    if va is not None:
        for fe in va.finish():
            t0, t1 = fe.start / float(fps), fe.end / float(fps)
            report.events.append(
                QCEvent(
                    fe.check, fe.severity, t0, t1, label(t0), label(t1), f"{name}{fe.detail}", fe.thumbnail
                )
            )
        for check in ("black", "freeze", "flash", "red_flash"):
            evs = [e for e in report.events_of(check) if e.detail.startswith(name)]
            sev = {e.severity for e in evs}
            status = "fail" if "fail" in sev else "warn" if "warn" in sev else "pass"
            checks.append(Check(check, "video", status, len(evs), 0, f"{len(evs)} event(s)" if evs else ""))
    else:
        checks.append(Check("picture", "video", "fail", None, "a picture track", "no picture decoded"))
    summary: dict[str, Any] = {}
    if aa is not None:
        aevents, summ = aa.finish()
        for ae in aevents:
            report.events.append(
                QCEvent(
                    ae.check, ae.severity, ae.start_s, ae.end_s, label(ae.start_s), label(ae.end_s), ae.detail
                )
            )
        chans = sorted(channels_seen)
        checks.append(
            Check(
                "channels",
                "audio",
                "pass" if all(not aus.channels or c in aus.channels for c in chans) else "fail",
                chans[0] if len(chans) == 1 else chans,
                list(aus.channels),
                "5.1 (L R C LFE Ls Rs)" if chans == [6] else "",
            )
        )
        if loudness_fn is not None:
            checks.append(
                Check(
                    "integrated_loudness",
                    "audio",
                    "skip" if not math.isfinite(aus.integrated_lufs) else "pass",
                    round(summ.integrated_lufs, 2) if math.isfinite(summ.integrated_lufs) else None,
                    None,
                    "reported only: cinema has no loudness target (calibrated playback)",
                )
            )
            summary["integrated_lufs"] = (
                round(summ.integrated_lufs, 2) if math.isfinite(summ.integrated_lufs) else None
            )
            summary["true_peak_dbtp"] = (
                round(summ.true_peak_dbtp, 2) if math.isfinite(summ.true_peak_dbtp) else None
            )
        for check in ("clipping", "silence", "dropout", "phase"):
            evs = report.events_of(check)
            sev = {e.severity for e in evs}
            measured: object = len(evs)
            if check == "phase":
                measured = round(summ.phase_correlation, 3) if math.isfinite(summ.phase_correlation) else None
            status = "fail" if "fail" in sev else "warn" if "warn" in sev else "pass"
            checks.append(
                Check(check, "audio", status, measured, None, f"{len(evs)} event(s)" if evs else "")
            )
        summary["sample_peak_dbfs"] = (
            round(summ.sample_peak_dbfs, 2) if math.isfinite(summ.sample_peak_dbfs) else None
        )
    else:
        checks.append(Check("sound", "audio", "fail", None, "a sound track", "no sound in the composition"))
    report.info["compositions"].append(
        {
            "cpl": str(cpl.path.name),
            "id": str(cpl.cpl_id),
            "title": cpl.title,
            "edit_rate": str(fps),
            "frames": pos,
            "duration": label(pos / float(fps)),
            "decoded_frames": frames_total,
            "reels": reel_info,
            **summary,
        }
    )
