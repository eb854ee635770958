"""Import a cut from another editing system: CMX 3600 EDL, FCP7 XML, AAF or OTIO.

Malformed files give an error with the line (EDL, XML); media that cannot be found is listed as
offline, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse
from xml.etree import ElementTree as ET

import opentimelineio as otio

from posthouse.core.errors import PosthouseError, UsageError
from posthouse.core.time import Rate, RateLike
from posthouse.picture.edl import read_edl

__all__ = ["CutImportError", "ImportedCut", "import_cut", "offline_clips"]


class CutImportError(PosthouseError):
    """A cut file that cannot be read."""


@dataclass
class ImportedCut:
    """The timeline read, and the clips whose media is not where the file says."""

    timeline: otio.schema.Timeline
    offline: list[str] = field(default_factory=list)


def _media_path(clip: otio.schema.Clip) -> Path | None:
    ref = clip.media_reference
    url = getattr(ref, "target_url", None)
    if not url:
        return None
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme in ("file", "") else None


def offline_clips(timeline: otio.schema.Timeline) -> list[str]:
    """``TRACK clip-name: path`` for every clip whose media file does not exist (or has no reference)."""
    out: list[str] = []
    for track in timeline.tracks:
        for clip in track.find_clips():
            path = _media_path(clip)
            if path is None or not path.is_file():
                out.append(f"{track.name} {clip.name}: {path if path is not None else 'no media reference'}")
    return out


def _read_xml(path: Path) -> otio.schema.Timeline:
    try:
        ET.parse(path)
    except ET.ParseError as exc:
        line, column = exc.position
        raise CutImportError(
            f"not well-formed XML: {exc.msg if hasattr(exc, 'msg') else exc}",
            path=path,
            where=f"line {line}, column {column}",
        ) from None
    try:
        result = otio.adapters.read_from_file(str(path), adapter_name="fcp_xml")
    except Exception as exc:
        raise CutImportError(f"not a readable FCP7 XML sequence: {exc}", path=path) from None
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline))
        if not timelines:
            raise CutImportError("the XML holds no sequence", path=path)
        return timelines[0]
    return result


def import_cut(path: str | Path, *, rate: RateLike) -> ImportedCut:
    """Read ``path`` by its extension (.edl, .xml, .aaf, .otio) and list its offline clips."""
    path = Path(path)
    if not path.is_file():
        raise UsageError("file not found", path=path)
    suffix = path.suffix.lower()
    if suffix == ".edl":
        timeline = read_edl(path, Rate.parse(rate))
    elif suffix == ".xml":
        timeline = _read_xml(path)
    elif suffix in (".aaf", ".otio"):
        try:
            result = otio.adapters.read_from_file(str(path))
        except Exception as exc:
            raise CutImportError(f"cannot read the cut: {exc}", path=path) from None
        if not isinstance(result, otio.schema.Timeline):
            raise CutImportError("the file holds no single timeline", path=path)
        timeline = result
    else:
        raise UsageError(f"cannot import '{suffix}' files", path=path, hint="use .edl, .xml, .aaf or .otio")
    return ImportedCut(timeline=timeline, offline=offline_clips(timeline))
