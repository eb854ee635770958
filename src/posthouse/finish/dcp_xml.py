"""SMPTE DCP XML: CPL (ST 429-7, with the ST 429-16 metadata asset), PKL (ST 429-8), ASSETMAP and VOLINDEX
(ST 429-9), and the SHA-1 file hashes the PKL carries.

Documents are built from frozen dataclasses and written UTF-8 with an XML declaration; UUIDs as
``urn:uuid:…``, rationals as ``"24 1"``, dates as ``xs:dateTime`` with a UTC offset, hashes as base64 SHA-1
of the whole file. The namespaces are those ClairMeta, libdcp and asdcplib read for SMPTE packages.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Literal

from posthouse.core.errors import MediaError

__all__ = [
    "AM_NS",
    "CPL_META_NS",
    "CPL_NS",
    "PKL_NS",
    "AssetMapEntry",
    "Cpl",
    "CplAsset",
    "CplMetadata",
    "CplReel",
    "PklAsset",
    "assetmap_xml",
    "cpl_xml",
    "file_sha1_b64",
    "pkl_xml",
    "volindex_xml",
]

CPL_NS = "http://www.smpte-ra.org/schemas/429-7/2006/CPL"
CPL_META_NS = "http://www.smpte-ra.org/schemas/429-16/2014/CPL-Metadata"
PKL_NS = "http://www.smpte-ra.org/schemas/429-8/2007/PKL"
AM_NS = "http://www.smpte-ra.org/schemas/429-9/2007/AM"

_CHUNK = 1 << 20


def file_sha1_b64(path: str | Path) -> str:
    """Base64 of the SHA-1 of the file's bytes (the PKL ``Hash``), read in 1 MiB chunks."""
    h = hashlib.sha1()  # the hash SMPTE ST 429-8 prescribes
    try:
        with Path(path).open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    except OSError as exc:
        raise MediaError(f"cannot hash: {exc}", path=path) from exc
    return base64.b64encode(h.digest()).decode("ascii")


def _urn(value: uuid.UUID) -> str:
    return f"urn:uuid:{value}"


def _rational(value: Fraction | int) -> str:
    f = Fraction(value)
    return f"{f.numerator} {f.denominator}"


def _date(value: datetime) -> str:
    when = value if value.tzinfo else value.replace(tzinfo=UTC)
    return when.replace(microsecond=0).isoformat()


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


# ------------------------------------------------------------------------------------------------ CPL


@dataclass(frozen=True, slots=True)
class CplAsset:
    """A reel's track file: picture, sound or subtitle (``MainPicture``/``MainSound``/``MainSubtitle``)."""

    kind: Literal["picture", "sound", "subtitle"]
    id: uuid.UUID
    edit_rate: Fraction
    intrinsic_duration: int
    entry_point: int = 0
    duration: int | None = None
    hash: str | None = None
    annotation: str = ""
    language: str = ""
    frame_rate: Fraction | None = None
    screen_aspect: tuple[int, int] = (1998, 1080)

    @property
    def played(self) -> int:
        """Edit units played (``Duration``, else intrinsic minus entry point)."""
        return self.duration if self.duration is not None else self.intrinsic_duration - self.entry_point


@dataclass(frozen=True, slots=True)
class CplReel:
    """A reel: its id and its picture, sound and subtitle track files."""

    id: uuid.UUID
    picture: CplAsset
    sound: CplAsset | None = None
    subtitle: CplAsset | None = None


@dataclass(frozen=True, slots=True)
class CplMetadata:
    """SMPTE ST 429-16 ``CompositionMetadataAsset`` (asked for by ISDCF Bv2.1), placed in the first reel."""

    full_title: str
    sound_configuration: str = "51/L,R,C,LFE,Ls,Rs"
    sound_sample_rate: int = 48000
    stored_area: tuple[int, int] = (1998, 1080)
    active_area: tuple[int, int] = (1998, 1080)
    release_territory: str = ""
    version_number: int = 1
    facility: str = ""
    subtitle_languages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cpl:
    """A composition playlist."""

    id: uuid.UUID
    title: str
    kind: str
    reels: tuple[CplReel, ...]
    issue_date: datetime
    issuer: str = "posthouse"
    creator: str = "posthouse"
    annotation: str = ""
    content_version_id: str = ""
    content_version_label: str = ""
    ratings: tuple[tuple[str, str], ...] = ()
    metadata: CplMetadata | None = None
    markers: bool = True


def _asset(parent: ET.Element, tag: str, a: CplAsset) -> None:
    el = _sub(parent, tag)
    _sub(el, "Id", _urn(a.id))
    if a.annotation:
        _sub(el, "AnnotationText", a.annotation)
    _sub(el, "EditRate", _rational(a.edit_rate))
    _sub(el, "IntrinsicDuration", str(a.intrinsic_duration))
    _sub(el, "EntryPoint", str(a.entry_point))
    _sub(el, "Duration", str(a.played))
    if a.hash:
        _sub(el, "Hash", a.hash)
    if a.kind == "picture":
        _sub(el, "FrameRate", _rational(a.frame_rate if a.frame_rate is not None else a.edit_rate))
        _sub(el, "ScreenAspectRatio", f"{a.screen_aspect[0]} {a.screen_aspect[1]}")
    elif a.language:
        _sub(el, "Language", a.language)


def _markers(parent: ET.Element, reel: CplReel, first: bool, last: bool) -> None:
    pic = reel.picture
    marks: list[tuple[str, int]] = []
    if first:
        marks.append(("FFOC", 1))
    if last:
        marks.append(("LFOC", pic.played))
    if not marks:
        return
    el = _sub(parent, "MainMarkers")
    _sub(el, "Id", _urn(uuid.uuid5(reel.id, "markers")))
    _sub(el, "EditRate", _rational(pic.edit_rate))
    _sub(el, "IntrinsicDuration", str(pic.played))
    _sub(el, "EntryPoint", "0")
    _sub(el, "Duration", str(pic.played))
    lst = _sub(el, "MarkerList")
    for label, offset in marks:
        m = _sub(lst, "Marker")
        _sub(m, "Label", label)
        _sub(m, "Offset", str(offset))


def _metadata(parent: ET.Element, cpl: Cpl, reel: CplReel, meta: CplMetadata) -> None:
    pic = reel.picture
    el = _sub(parent, "meta:CompositionMetadataAsset", **{"xmlns:meta": CPL_META_NS})
    _sub(el, "Id", _urn(uuid.uuid5(cpl.id, "composition-metadata")))
    _sub(el, "EditRate", _rational(pic.edit_rate))
    _sub(el, "IntrinsicDuration", str(pic.played))
    _sub(el, "meta:FullContentTitleText", meta.full_title)
    if meta.release_territory:
        _sub(el, "meta:ReleaseTerritory", meta.release_territory)
    _sub(el, "meta:VersionNumber", str(meta.version_number), status="final")
    if meta.facility:
        _sub(el, "meta:Facility", meta.facility)
    _sub(el, "meta:MainSoundConfiguration", meta.sound_configuration)
    _sub(el, "meta:MainSoundSampleRate", f"{meta.sound_sample_rate} 1")
    stored = _sub(el, "meta:MainPictureStoredArea")
    _sub(stored, "meta:Width", str(meta.stored_area[0]))
    _sub(stored, "meta:Height", str(meta.stored_area[1]))
    active = _sub(el, "meta:MainPictureActiveArea")
    _sub(active, "meta:Width", str(meta.active_area[0]))
    _sub(active, "meta:Height", str(meta.active_area[1]))
    if meta.subtitle_languages:
        _sub(el, "meta:MainSubtitleLanguageList", " ".join(meta.subtitle_languages))


def cpl_xml(cpl: Cpl) -> bytes:
    """The CPL document (SMPTE ST 429-7, namespace ``…/429-7/2006/CPL``), unsigned."""
    root = ET.Element("CompositionPlaylist", {"xmlns": CPL_NS})
    _sub(root, "Id", _urn(cpl.id))
    _sub(root, "AnnotationText", cpl.annotation or cpl.title)
    _sub(root, "IssueDate", _date(cpl.issue_date))
    _sub(root, "Issuer", cpl.issuer)
    _sub(root, "Creator", cpl.creator)
    _sub(root, "ContentTitleText", cpl.title)
    _sub(root, "ContentKind", cpl.kind)
    version = _sub(root, "ContentVersion")
    _sub(version, "Id", cpl.content_version_id or _urn(uuid.uuid5(cpl.id, "content-version")))
    _sub(version, "LabelText", cpl.content_version_label or cpl.title)
    ratings = _sub(root, "RatingList")
    for agency, label in cpl.ratings:
        r = _sub(ratings, "Rating")
        _sub(r, "Agency", agency)
        _sub(r, "Label", label)
    reels = _sub(root, "ReelList")
    for n, reel in enumerate(cpl.reels):
        el = _sub(reels, "Reel")
        _sub(el, "Id", _urn(reel.id))
        assets = _sub(el, "AssetList")
        if cpl.markers:
            _markers(assets, reel, n == 0, n == len(cpl.reels) - 1)
        _asset(assets, "MainPicture", reel.picture)
        if reel.sound is not None:
            _asset(assets, "MainSound", reel.sound)
        if reel.subtitle is not None:
            _asset(assets, "MainSubtitle", reel.subtitle)
        if n == 0 and cpl.metadata is not None:
            _metadata(assets, cpl, reel, cpl.metadata)
    return _serialise(root)


# ------------------------------------------------------------------------------------------------ PKL


@dataclass(frozen=True, slots=True)
class PklAsset:
    """A file the PKL lists: id, hash (base64 SHA-1), size in bytes, MIME type and file name."""

    id: uuid.UUID
    hash: str
    size: int
    type: str
    original_filename: str
    annotation: str = ""

    @classmethod
    def of_file(cls, asset_id: uuid.UUID, path: str | Path, type: str, annotation: str = "") -> PklAsset:
        """Hash and size ``path`` now."""
        p = Path(path)
        return cls(asset_id, file_sha1_b64(p), p.stat().st_size, type, p.name, annotation)


def pkl_xml(
    pkl_id: uuid.UUID,
    assets: Sequence[PklAsset],
    *,
    annotation: str,
    issue_date: datetime,
    issuer: str = "posthouse",
    creator: str = "posthouse",
) -> bytes:
    """The packing list (SMPTE ST 429-8, namespace ``…/429-8/2007/PKL``), unsigned."""
    root = ET.Element("PackingList", {"xmlns": PKL_NS})
    _sub(root, "Id", _urn(pkl_id))
    _sub(root, "AnnotationText", annotation)
    _sub(root, "IssueDate", _date(issue_date))
    _sub(root, "Issuer", issuer)
    _sub(root, "Creator", creator)
    lst = _sub(root, "AssetList")
    for a in assets:
        el = _sub(lst, "Asset")
        _sub(el, "Id", _urn(a.id))
        _sub(el, "AnnotationText", a.annotation or a.original_filename)
        _sub(el, "Hash", a.hash)
        _sub(el, "Size", str(a.size))
        _sub(el, "Type", a.type)
        _sub(el, "OriginalFileName", a.original_filename)
    return _serialise(root)


# ------------------------------------------------------------------------------------- ASSETMAP, VOLINDEX


@dataclass(frozen=True, slots=True)
class AssetMapEntry:
    """An ASSETMAP asset: id, path relative to the volume root, length in bytes, whether it is the PKL."""

    id: uuid.UUID
    path: str
    length: int
    packing_list: bool = False


def assetmap_xml(
    am_id: uuid.UUID,
    entries: Sequence[AssetMapEntry],
    *,
    annotation: str,
    issue_date: datetime,
    issuer: str = "posthouse",
    creator: str = "posthouse",
) -> bytes:
    """The ASSETMAP (SMPTE ST 429-9, namespace ``…/429-9/2007/AM``) for a one-volume package."""
    root = ET.Element("AssetMap", {"xmlns": AM_NS})
    _sub(root, "Id", _urn(am_id))
    _sub(root, "AnnotationText", annotation)
    _sub(root, "Creator", creator)
    _sub(root, "VolumeCount", "1")
    _sub(root, "IssueDate", _date(issue_date))
    _sub(root, "Issuer", issuer)
    lst = _sub(root, "AssetList")
    for e in entries:
        el = _sub(lst, "Asset")
        _sub(el, "Id", _urn(e.id))
        if e.packing_list:
            _sub(el, "PackingList", "true")
        chunks = _sub(el, "ChunkList")
        chunk = _sub(chunks, "Chunk")
        _sub(chunk, "Path", e.path)
        _sub(chunk, "VolumeIndex", "1")
        _sub(chunk, "Offset", "0")
        _sub(chunk, "Length", str(e.length))
    return _serialise(root)


def volindex_xml() -> bytes:
    """The VOLINDEX of volume 1 (SMPTE ST 429-9)."""
    root = ET.Element("VolumeIndex", {"xmlns": AM_NS})
    _sub(root, "Index", "1")
    return _serialise(root)
