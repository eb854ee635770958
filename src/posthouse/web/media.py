"""Media for the review room: ids resolved to files under the project (never a client path), HTTP range
requests for seeking, and H.264 review renders of cut versions.

A client names media by kind and id only (``review/NAME/3``, ``dailies/1A-1_A001C001``); the server looks
the file up, resolves symlinks and refuses anything that ends outside the project folder.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from posthouse.core.errors import MediaError, PosthouseError, UsageError
from posthouse.core.fsutil import atomic_path
from posthouse.core.progress import NULL_PROGRESS, Progress
from posthouse.core.time import Rate
from posthouse.picture.cuts import CutRef, CutStore

__all__ = [
    "DailiesItem",
    "dailies_items",
    "find_review_render",
    "movie_offset",
    "range_response",
    "render_review",
    "resolve_under",
    "review_render_path",
    "safe_id",
]

CHUNK: Final = 256 * 1024
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_. -]{0,200}")
MEDIA_TYPES: Final = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".wav": "audio/wav",
    ".html": "text/html; charset=utf-8",
}


def safe_id(text: str) -> str:
    """``text`` when it is a plain name (no slash, no ``..``), else a :class:`UsageError`."""
    if not _SAFE_ID.fullmatch(text) or ".." in text:
        raise UsageError(f"not a valid media id: {text!r}")
    return text


def resolve_under(root: Path, path: str | Path) -> Path:
    """``path`` (relative to ``root`` or absolute) resolved through symlinks; it must be an existing
    regular file inside ``root``. Raises :class:`MediaError` otherwise (``..`` is refused outright)."""
    p = Path(path)
    if ".." in p.parts:
        raise MediaError("path climbs out with '..'", path=p)
    full = p if p.is_absolute() else root / p
    try:
        real = full.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise MediaError("no such media file", path=full) from exc
    if not real.is_relative_to(root.resolve()):
        raise MediaError("media file lies outside the project", path=full)
    if not real.is_file():
        raise MediaError("not a regular file", path=full)
    return real


def review_render_path(store: CutStore, ref: str | CutRef) -> Path:
    """Where the review render of a cut version is written: ``cuts/NAME/vNNN.review.mp4``."""
    cut = store.resolve(ref)
    return store.root / cut.name / f"v{cut.version:03d}.review.mp4"


def find_review_render(root: Path, store: CutStore, ref: str | CutRef) -> Path | None:
    """An existing browser-playable (MP4) review render of a cut version: ours, else the turnover's
    reference movie when it is an MP4; None when there is none."""
    cut = store.resolve(ref)
    stem = f"{cut.name}_v{cut.version:03d}"
    for candidate in (
        review_render_path(store, cut),
        root / "turnovers" / stem / f"{stem}_reference.mp4",
    ):
        try:
            return resolve_under(root, candidate)
        except MediaError:
            continue
    return None


def _faststart(src: Path, dest: Path) -> None:
    """Remux ``src`` into ``dest`` with the index (moov) first, so a browser starts playing at once."""
    import av

    with (
        atomic_path(dest) as tmp,
        av.open(str(src)) as inp,
        av.open(str(tmp), "w", format="mp4", options={"movflags": "faststart"}) as out,
    ):
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        mapping = {s.index: out.add_stream_from_template(s) for s in streams}
        for packet in inp.demux(streams):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)


def movie_offset(path: Path, start: int, rate: Rate) -> int:
    """Frames of the movie ``path`` before the cut's first frame (``start``, frames since midnight): how far
    its start timecode lies before it, e.g. a turnover reference's 8-second leader; 0 when it has none."""
    from posthouse.core.media import probe
    from posthouse.core.time import timecode_to_frames

    try:
        tc = probe(path).start_timecode
        first = timecode_to_frames(tc, rate) if tc else start
    except PosthouseError:
        return 0
    return max(0, start - first)


def render_review(
    store: CutStore,
    ref: str | CutRef,
    *,
    size: tuple[int, int] | None = None,
    progress: Progress = NULL_PROGRESS,
) -> Path:
    """Render a cut version to ``cuts/NAME/vNNN.review.mp4``: H.264 + AAC in MP4, index first, with record
    timecode, clip name and version burned in."""
    from posthouse.engine import BurnInSpec, render_timeline

    cut = store.resolve(ref)
    dest = review_render_path(store, cut)
    tmp = dest.with_name(f".{dest.stem}.{os.getpid()}.render.mp4")
    try:
        render_timeline(
            store.open(cut),
            tmp,
            preset="h264",
            size=size,
            burn_in=BurnInSpec(watermark=str(cut)),
            progress=progress,
        )
        _faststart(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


@dataclass(frozen=True, slots=True)
class DailiesItem:
    """One rendered dailies take: its id (the file stem), the review movie, the thumbnail and metadata."""

    id: str
    take: str
    clip: str | None
    frames: int | None
    review: Path | None
    thumbnail: Path | None
    sound_source: str | None
    warnings: list[str]
    error: str | None


def _sidecar_file(root: Path, sidecar: Path, output: dict[str, object], key: str) -> Path | None:
    """The file a dailies sidecar names, inside the project; a project moved since the render finds it
    next to the sidecar by name."""
    value = output.get(key)
    if not value or not isinstance(value, str):
        return None
    for candidate in (Path(value), sidecar.parent / Path(value).name):
        try:
            return resolve_under(root, candidate)
        except MediaError:
            continue
    return None


def dailies_items(root: Path) -> list[DailiesItem]:
    """The dailies rendered into ``PROJECT/dailies`` (read from their ``*.dailies.json`` sidecars)."""
    folder = root / "dailies"
    if not folder.is_dir():
        return []
    out: list[DailiesItem] = []
    for sidecar in sorted(folder.glob("*.dailies.json")):
        try:
            doc = json.loads(sidecar.read_text(encoding="utf-8"))
            o = doc.get("output") or {}
        except (OSError, ValueError, AttributeError):
            continue

        out.append(
            DailiesItem(
                id=sidecar.name.removesuffix(".dailies.json"),
                take=str(o.get("take") or ""),
                clip=o.get("clip"),
                frames=o.get("frames"),
                review=_sidecar_file(root, sidecar, o, "review"),
                thumbnail=_sidecar_file(root, sidecar, o, "thumbnail"),
                sound_source=o.get("sound_source"),
                warnings=[str(w) for w in o.get("warnings") or []],
                error=o.get("error"),
            )
        )
    return out


_RANGE_RE: Final = re.compile(r"bytes=(\d*)-(\d*)")


def _iter_file(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(start)
        left = length
        while left > 0:
            block = fh.read(min(CHUNK, left))
            if not block:
                break
            left -= len(block)
            yield block


def range_response(request: Request, path: Path, media_type: str | None = None) -> Response:
    """Serve ``path`` whole (200) or the one byte range the request asks for (206 with Content-Range);
    416 when the range cannot be satisfied. Several ranges at once are answered with the whole file."""
    size = path.stat().st_size
    kind = media_type or MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=60"}
    header = request.headers.get("range")
    if header and "," not in header:
        m = _RANGE_RE.fullmatch(header.strip())
        if m is None or (not m.group(1) and not m.group(2)):
            return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        if m.group(1):
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        else:
            start, end = max(0, size - int(m.group(2))), size - 1
        if start >= size or end < start:
            return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        length = end - start + 1
        headers.update({"Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(length)})
        body = b"" if request.method == "HEAD" else None
        if body is not None:
            return Response(body, status_code=206, headers=headers, media_type=kind)
        return StreamingResponse(
            _iter_file(path, start, length), status_code=206, headers=headers, media_type=kind
        )
    headers["Content-Length"] = str(size)
    if request.method == "HEAD":
        return Response(b"", status_code=200, headers=headers, media_type=kind)
    return StreamingResponse(_iter_file(path, 0, size), status_code=200, headers=headers, media_type=kind)
