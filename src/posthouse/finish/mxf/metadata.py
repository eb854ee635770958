"""Header metadata of an OP-Atom D-Cinema track file, as local sets with a primer (SMPTE ST 377-1).

The structure follows what asdcplib writes for SMPTE DCP track files: a Preface, one Identification, a
ContentStorage with one EssenceContainerData (BodySID 1, IndexSID 129), a MaterialPackage and a file
SourcePackage, each with a timecode track (TrackID 1) and an essence track (TrackID 2); the file package's
UMID carries the asset UUID; the essence descriptor (with its sub-descriptors) hangs off the file package.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction

from posthouse import __version__

from . import labels
from .klv import (
    batch,
    i64,
    local_set,
    rational,
    timestamp,
    u8,
    u16,
    u32,
    umid_for,
    utf16,
    version_type,
)
from .partition import primer_pack

__all__ = ["BODY_SID", "INDEX_SID", "Descriptor", "HeaderBuilder", "SubDescriptor", "mca_subdescriptors"]

BODY_SID = 1
INDEX_SID = 129
#: Fixed product UUID identifying posthouse as the writing application (Identification.ProductUID).
PRODUCT_UID = uuid.uuid5(uuid.NAMESPACE_URL, "https://posthouse.invalid/mxf-writer")
_TC_TRACK_ID = 1
_ESSENCE_TRACK_ID = 2

Props = list[tuple[str, bytes]]


@dataclass
class SubDescriptor:
    """A sub-descriptor set: key and properties (InstanceUID is added)."""

    key: bytes
    props: Props
    instance: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class Descriptor:
    """The essence descriptor: key, its own properties (the FileDescriptor part is added) and children."""

    key: bytes
    essence_container: bytes
    props: Props
    subs: list[SubDescriptor] = field(default_factory=list)


class _Primer:
    """Local tag allocation: static tags from ST 377-1, dynamic ones counting down from 0xffff."""

    def __init__(self) -> None:
        self.by_ul: dict[bytes, int] = {}
        self.entries: list[tuple[int, bytes]] = []
        self._next = 0xFFFF

    def tag(self, name: str) -> int:
        if name in labels.STATIC_TAGS:
            static, key = labels.STATIC_TAGS[name]
        else:
            static, key = 0, labels.DYNAMIC_TAGS[name]
        if key in self.by_ul:
            return self.by_ul[key]
        if static == 0:
            static = self._next
            self._next -= 1
        self.by_ul[key] = static
        self.entries.append((static, key))
        return static


class HeaderBuilder:
    """Builds the header metadata (primer + sets) for one track file; rebuilt with the final duration."""

    def __init__(
        self,
        *,
        asset_id: uuid.UUID,
        edit_rate: Fraction,
        essence_key: bytes,
        data_definition: bytes,
        track_name: str,
        package_name: str,
        descriptor: Descriptor,
        created: datetime | None = None,
    ) -> None:
        self.asset_id = asset_id
        self.edit_rate = edit_rate
        self.essence_key = essence_key
        self.data_definition = data_definition
        self.track_name = track_name
        self.package_name = package_name
        self.descriptor = descriptor
        self.created = created or datetime.now(UTC)
        self.file_umid = umid_for(asset_id)
        self.material_umid = umid_for(uuid.uuid4())
        self._ids: dict[str, uuid.UUID] = {}

    def _id(self, name: str) -> bytes:
        return self._ids.setdefault(name, uuid.uuid4()).bytes

    @property
    def essence_containers(self) -> list[bytes]:
        """Partition/Preface essence container list: GC multiple wrappings + the wrapping (as asdcplib)."""
        return [labels.EC_GC_MULTIPLE, self.descriptor.essence_container]

    def build(self, duration: int) -> bytes:
        """Primer pack followed by every header metadata set, for ``duration`` edit units."""
        primer = _Primer()
        sets: list[bytes] = []

        def add(key: bytes, instance: bytes, props: Props) -> None:
            items = [(primer.tag("InstanceUID"), instance)]
            items += [(primer.tag(name), value) for name, value in props]
            sets.append(local_set(key, items))

        parts = [int(p) if p.isdigit() else 0 for p in __version__.split(".")[:3]]
        ver = [*parts, 0, 0, 0]
        stamp = timestamp(self.created)
        ref = self._id
        tc_base = -(-self.edit_rate.numerator // self.edit_rate.denominator)  # ceil, asdcplib's rule

        add(
            labels.PREFACE,
            ref("preface"),
            [
                ("LastModifiedDate", stamp),
                ("Version", u16(258)),  # 1.2, ST 377-1:2009
                ("PrimaryPackage", ref("file_package")),
                ("Identifications", batch([ref("ident")], 16)),
                ("ContentStorage", ref("storage")),
                ("OperationalPattern", labels.OP_ATOM),
                ("EssenceContainers", batch(self.essence_containers, 16)),
                ("DMSchemes", batch([], 16)),
            ],
        )
        add(
            labels.IDENTIFICATION,
            ref("ident"),
            [
                ("ThisGenerationUID", ref("generation")),
                ("CompanyName", utf16("posthouse")),
                ("ProductName", utf16("posthouse D-Cinema MXF writer")),
                ("ProductVersion", version_type(ver[0], ver[1], ver[2], 0, 1)),
                ("VersionString", utf16(__version__)),
                ("ProductUID", PRODUCT_UID.bytes),
                ("ModificationDate", stamp),
                ("ToolkitVersion", version_type(ver[0], ver[1], ver[2], 0, 1)),
                ("Platform", utf16("posthouse (Python)")),
            ],
        )
        add(
            labels.CONTENT_STORAGE,
            ref("storage"),
            [
                ("Packages", batch([ref("material_package"), ref("file_package")], 16)),
                ("EssenceContainerData", batch([ref("ecd")], 16)),
            ],
        )
        add(
            labels.ESSENCE_CONTAINER_DATA,
            ref("ecd"),
            [
                ("LinkedPackageUID", self.file_umid),
                ("IndexSID", u32(INDEX_SID)),
                ("BodySID", u32(BODY_SID)),
            ],
        )

        def package(prefix: str, key: bytes, umid: bytes, name: str, extra: Props) -> None:
            add(
                key,
                ref(prefix + "_package"),
                [
                    ("PackageUID", umid),
                    ("Name", utf16(name)),
                    ("PackageCreationDate", stamp),
                    ("PackageModifiedDate", stamp),
                    ("Tracks", batch([ref(prefix + "_tc_track"), ref(prefix + "_track")], 16)),
                    *extra,
                ],
            )

        def tracks(prefix: str, tc_start: int, track_number: int, clip_source: tuple[bytes, int]) -> None:
            # timecode track
            add(
                labels.TRACK,
                ref(prefix + "_tc_track"),
                [
                    ("TrackID", u32(_TC_TRACK_ID)),
                    ("TrackNumber", u32(0)),
                    ("TrackName", utf16("Timecode Track")),
                    ("EditRate", rational(self.edit_rate)),
                    ("Origin", i64(0)),
                    ("Sequence", ref(prefix + "_tc_seq")),
                ],
            )
            add(
                labels.SEQUENCE,
                ref(prefix + "_tc_seq"),
                [
                    ("DataDefinition", labels.DATA_DEF_TIMECODE),
                    ("Duration", i64(duration)),
                    ("StructuralComponents", batch([ref(prefix + "_tc")], 16)),
                ],
            )
            add(
                labels.TIMECODE_COMPONENT,
                ref(prefix + "_tc"),
                [
                    ("DataDefinition", labels.DATA_DEF_TIMECODE),
                    ("Duration", i64(duration)),
                    ("RoundedTimecodeBase", u16(tc_base)),
                    ("StartTimecode", i64(tc_start)),
                    ("DropFrame", u8(0)),
                ],
            )
            # essence track
            add(
                labels.TRACK,
                ref(prefix + "_track"),
                [
                    ("TrackID", u32(_ESSENCE_TRACK_ID)),
                    ("TrackNumber", u32(track_number)),
                    ("TrackName", utf16(self.track_name)),
                    ("EditRate", rational(self.edit_rate)),
                    ("Origin", i64(0)),
                    ("Sequence", ref(prefix + "_seq")),
                ],
            )
            add(
                labels.SEQUENCE,
                ref(prefix + "_seq"),
                [
                    ("DataDefinition", self.data_definition),
                    ("Duration", i64(duration)),
                    ("StructuralComponents", batch([ref(prefix + "_clip")], 16)),
                ],
            )
            add(
                labels.SOURCE_CLIP,
                ref(prefix + "_clip"),
                [
                    ("DataDefinition", self.data_definition),
                    ("Duration", i64(duration)),
                    ("StartPosition", i64(0)),
                    ("SourcePackageID", clip_source[0]),
                    ("SourceTrackID", u32(clip_source[1])),
                ],
            )

        package("material", labels.MATERIAL_PACKAGE, self.material_umid, "posthouse Material Package", [])
        tracks("material", 0, 0, (self.file_umid, _ESSENCE_TRACK_ID))
        package(
            "file",
            labels.SOURCE_PACKAGE,
            self.file_umid,
            self.package_name,
            [("Descriptor", ref("descriptor"))],
        )
        # ST 379 §6.3: the track number is the essence element key's last four bytes; the file package's
        # timecode starts at 01:00:00:00 and its clip points at nothing (original essence), as asdcplib.
        tracks("file", 3600 * tc_base, int.from_bytes(self.essence_key[12:16], "big"), (bytes(32), 0))

        desc = self.descriptor
        file_props: Props = []
        if desc.subs:
            file_props.append(("SubDescriptors", batch([s.instance.bytes for s in desc.subs], 16)))
        file_props += [
            ("LinkedTrackID", u32(_ESSENCE_TRACK_ID)),
            ("SampleRate", rational(self.edit_rate)),
            ("ContainerDuration", i64(duration)),
            ("EssenceContainer", desc.essence_container),
        ]
        add(desc.key, ref("descriptor"), file_props + desc.props)
        for sub in desc.subs:
            add(sub.key, sub.instance.bytes, sub.props)

        # index table segments (footer) use static tags: list them in the primer too
        for name in (
            "IndexEditRate",
            "IndexStartPosition",
            "IndexDuration",
            "EditUnitByteCount",
            "IndexSID",
            "BodySID",
            "SliceCount",
            "PosTableCount",
            "DeltaEntryArray",
            "IndexEntryArray",
        ):
            primer.tag(name)
        return primer_pack(primer.entries) + b"".join(sets)


def mca_subdescriptors(layout: str, language: str) -> list[SubDescriptor]:
    """ST 377-4 MCA labels: one soundfield group (5.1 or stereo) and one channel label per channel."""
    symbol, name, dict_ul, order = labels.MCA_SOUNDFIELDS[layout]
    link = uuid.uuid4()
    lang: Props = [("RFC5646SpokenLanguage", language.encode("ascii"))] if language else []
    group = SubDescriptor(
        labels.KEY_SOUNDFIELD_GROUP_LABEL,
        [
            ("MCALabelDictionaryID", dict_ul),
            ("MCALinkID", link.bytes),
            ("MCATagSymbol", utf16(symbol)),
            ("MCATagName", utf16(name)),
            *lang,
        ],
    )
    subs = [group]
    for i, ch in enumerate(order, start=1):
        ch_symbol, ch_name, ch_ul = labels.MCA_CHANNELS[ch]
        subs.append(
            SubDescriptor(
                labels.KEY_AUDIO_CHANNEL_LABEL,
                [
                    ("MCALabelDictionaryID", ch_ul),
                    ("MCALinkID", uuid.uuid4().bytes),
                    ("MCATagSymbol", utf16(ch_symbol)),
                    ("MCATagName", utf16(ch_name)),
                    ("MCAChannelID", u32(i)),
                    *lang,
                    ("SoundfieldGroupLinkID", link.bytes),
                ],
            )
        )
    return subs
