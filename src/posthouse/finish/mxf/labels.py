"""The SMPTE universal labels and keys used by the D-Cinema track files, each with its source.

Values checked against the SMPTE metadata registers as carried by asdcplib's ``MDD.cpp`` (the reference
writer for SMPTE DCP track files) and FFmpeg's ``mxf.c``/``mxfenc.c``.
"""

from __future__ import annotations

from .klv import ul

__all__ = [
    "CHANNEL_CFG_MCA",
    "CLOSED_COMPLETE_BODY",
    "CLOSED_COMPLETE_HEADER",
    "COMPLETE_FOOTER",
    "CONTENT_STORAGE",
    "DATA_DEF_DATA",
    "DATA_DEF_PICTURE",
    "DATA_DEF_SOUND",
    "DATA_DEF_TIMECODE",
    "DC_TIMED_TEXT_DESCRIPTOR",
    "DC_TIMED_TEXT_RESOURCE_SUBDESCRIPTOR",
    "DYNAMIC_TAGS",
    "EC_GC_MULTIPLE",
    "EC_JPEG2000_FRAME",
    "EC_TIMED_TEXT",
    "EC_WAVE_FRAME",
    "ENCRYPTED_TRIPLET",
    "ESSENCE_CONTAINER_DATA",
    "ESSENCE_ELEMENT_PREFIX",
    "FILL",
    "GENERIC_STREAM_DATA",
    "GENERIC_STREAM_PARTITION",
    "IDENTIFICATION",
    "INDEX_TABLE_SEGMENT",
    "JP2K_2K_CODING",
    "JP2K_4K_CODING",
    "JPEG2000_SUBDESCRIPTOR",
    "KEY_AUDIO_CHANNEL_LABEL",
    "KEY_JPEG2000_FRAME",
    "KEY_SOUNDFIELD_GROUP_LABEL",
    "KEY_TIMED_TEXT",
    "KEY_WAVE_FRAME",
    "MATERIAL_PACKAGE",
    "MCA_CHANNELS",
    "MCA_SOUNDFIELDS",
    "OP_ATOM",
    "PARTITION_PREFIX",
    "PREFACE",
    "PRIMER",
    "RANDOM_INDEX_PACK",
    "RGBA_DESCRIPTOR",
    "SEQUENCE",
    "SOURCE_CLIP",
    "SOURCE_PACKAGE",
    "STATIC_TAGS",
    "TIMECODE_COMPONENT",
    "TRACK",
    "WAVE_DESCRIPTOR",
]

# --- Partitions, primer, RIP, fill (ST 377-1:2011 §6, §9, §12) -------------------------------------
#: Partition pack key prefix; byte 13 = kind (02 header, 03 body, 04 footer), byte 14 = status.
PARTITION_PREFIX = ul("06.0e.2b.34.02.05.01.01.0d.01.02.01.01.00.00.00")[:13]
CLOSED_COMPLETE_HEADER = ul("06.0e.2b.34.02.05.01.01.0d.01.02.01.01.02.04.00")  # ST 377-1 closed+complete
CLOSED_COMPLETE_BODY = ul("06.0e.2b.34.02.05.01.01.0d.01.02.01.01.03.04.00")
COMPLETE_FOOTER = ul("06.0e.2b.34.02.05.01.01.0d.01.02.01.01.04.04.00")
GENERIC_STREAM_PARTITION = ul("06.0e.2b.34.02.05.01.01.0d.01.02.01.01.03.11.00")  # ST 410 generic stream
PRIMER = ul("06.0e.2b.34.02.05.01.01.0d.01.02.01.01.05.01.00")  # ST 377-1 primer pack
RANDOM_INDEX_PACK = ul("06.0e.2b.34.02.05.01.01.0d.01.02.01.01.11.01.00")  # ST 377-1 §12
FILL = ul("06.0e.2b.34.01.01.01.02.03.01.02.10.01.00.00.00")  # KLV fill item (ST 377-1:2009 version 2)
INDEX_TABLE_SEGMENT = ul("06.0e.2b.34.02.53.01.01.0d.01.02.01.01.10.01.00")  # ST 377-1 §11

# --- Operational pattern and essence containers ----------------------------------------------------
OP_ATOM = ul("06.0e.2b.34.04.01.01.02.0d.01.02.01.10.00.00.00")  # ST 390 OP-Atom (SMPTE, not Interop)
EC_GC_MULTIPLE = ul("06.0e.2b.34.04.01.01.03.0d.01.03.01.02.7f.01.00")  # ST 379 "GC multiple wrappings"
EC_JPEG2000_FRAME = ul("06.0e.2b.34.04.01.01.07.0d.01.03.01.02.0c.01.00")  # ST 422 JPEG 2000, frame wrap
EC_WAVE_FRAME = ul("06.0e.2b.34.04.01.01.01.0d.01.03.01.02.06.01.00")  # ST 382 BWF, frame wrapped
EC_TIMED_TEXT = ul("06.0e.2b.34.04.01.01.0a.0d.01.03.01.02.13.01.01")  # ST 429-5 timed text, clip wrap

# --- Essence element keys (ST 379 generic container; last byte = element number 1) -----------------
ESSENCE_ELEMENT_PREFIX = ul("06.0e.2b.34.01.02.01.01.0d.01.03.01.00.00.00.00")[:12]
KEY_JPEG2000_FRAME = ul("06.0e.2b.34.01.02.01.01.0d.01.03.01.15.01.08.01")  # ST 422 picture item
KEY_WAVE_FRAME = ul("06.0e.2b.34.01.02.01.01.0d.01.03.01.16.01.01.01")  # ST 382 wave sound item
KEY_TIMED_TEXT = ul("06.0e.2b.34.01.02.01.01.0d.01.03.01.17.01.0b.01")  # ST 429-5 timed text item
ENCRYPTED_TRIPLET = ul("06.0e.2b.34.02.04.01.01.0d.01.03.01.02.7e.01.00")  # ST 429-6 encrypted essence
GENERIC_STREAM_DATA = ul("06.0e.2b.34.01.01.01.0c.0d.01.05.09.01.00.00.00")  # ST 410 data element

# --- Data definitions (ST 377-1 Annex; RP 224) -------------------------------------------------------
DATA_DEF_PICTURE = ul("06.0e.2b.34.04.01.01.01.01.03.02.02.01.00.00.00")
DATA_DEF_SOUND = ul("06.0e.2b.34.04.01.01.01.01.03.02.02.02.00.00.00")
DATA_DEF_TIMECODE = ul("06.0e.2b.34.04.01.01.01.01.03.02.01.01.00.00.00")
DATA_DEF_DATA = ul("06.0e.2b.34.04.01.01.01.01.03.02.02.03.00.00.00")  # asdcplib uses it for timed text

# --- Picture coding (ST 429-4: JPEG 2000 DCI 2K / 4K profiles) -------------------------------------
JP2K_2K_CODING = ul("06.0e.2b.34.04.01.01.09.04.01.02.02.03.01.01.03")
JP2K_4K_CODING = ul("06.0e.2b.34.04.01.01.09.04.01.02.02.03.01.01.04")

# --- Sound channel assignment (ST 429-2:2013, MCA labels per ST 377-4) ------------------------------
CHANNEL_CFG_MCA = ul("06.0e.2b.34.04.01.01.0d.04.02.02.10.03.02.00.00")  # DCAudioChannelCfg_MCA
#: (symbol, name, dictionary UL) per channel, ST 429-2 Table 3 / ST 377-4 channel labels.
MCA_CHANNELS: dict[str, tuple[str, str, bytes]] = {
    "L": ("chL", "Left", ul("06.0e.2b.34.04.01.01.0d.03.02.01.01.00.00.00.00")),
    "R": ("chR", "Right", ul("06.0e.2b.34.04.01.01.0d.03.02.01.02.00.00.00.00")),
    "C": ("chC", "Center", ul("06.0e.2b.34.04.01.01.0d.03.02.01.03.00.00.00.00")),
    "LFE": ("chLFE", "LFE", ul("06.0e.2b.34.04.01.01.0d.03.02.01.04.00.00.00.00")),
    "Ls": ("chLs", "Left Surround", ul("06.0e.2b.34.04.01.01.0d.03.02.01.05.00.00.00.00")),
    "Rs": ("chRs", "Right Surround", ul("06.0e.2b.34.04.01.01.0d.03.02.01.06.00.00.00.00")),
}
#: layout → (soundfield symbol, name, dictionary UL, channel order). 5.1 is ST 429-2's "51"; stereo uses
#: ST 2067-8's "ST" (standard stereo) soundfield, which D-Cinema has no own label for.
MCA_SOUNDFIELDS: dict[str, tuple[str, str, bytes, tuple[str, ...]]] = {
    "5.1": (
        "sg51",
        "5.1",
        ul("06.0e.2b.34.04.01.01.0d.03.02.02.01.00.00.00.00"),
        ("L", "R", "C", "LFE", "Ls", "Rs"),
    ),
    "stereo": ("sgST", "Standard Stereo", ul("06.0e.2b.34.04.01.01.0d.03.02.02.20.01.00.00.00"), ("L", "R")),
}

# --- Header metadata set keys (ST 377-1 Annex B; ST 422; ST 382; ST 429-5; ST 377-4) ----------------
_SET = "06.0e.2b.34.02.53.01.01.0d.01.01.01.01.01.{}.00"
PREFACE = ul(_SET.format("2f"))
IDENTIFICATION = ul(_SET.format("30"))
CONTENT_STORAGE = ul(_SET.format("18"))
ESSENCE_CONTAINER_DATA = ul(_SET.format("23"))
MATERIAL_PACKAGE = ul(_SET.format("36"))
SOURCE_PACKAGE = ul(_SET.format("37"))
TRACK = ul(_SET.format("3b"))
SEQUENCE = ul(_SET.format("0f"))
SOURCE_CLIP = ul(_SET.format("11"))
TIMECODE_COMPONENT = ul(_SET.format("14"))
RGBA_DESCRIPTOR = ul(_SET.format("29"))
WAVE_DESCRIPTOR = ul(_SET.format("48"))
JPEG2000_SUBDESCRIPTOR = ul(_SET.format("5a"))  # ST 422
DC_TIMED_TEXT_DESCRIPTOR = ul(_SET.format("64"))  # ST 429-5
DC_TIMED_TEXT_RESOURCE_SUBDESCRIPTOR = ul(_SET.format("65"))  # ST 429-5
KEY_AUDIO_CHANNEL_LABEL = ul(_SET.format("6b"))  # ST 377-4
KEY_SOUNDFIELD_GROUP_LABEL = ul(_SET.format("6c"))  # ST 377-4

# --- Local tags -----------------------------------------------------------------------------------
#: Static local tags (ST 377-1 Annex B and ST 377-1 index table), name → (tag, property UL).
STATIC_TAGS: dict[str, tuple[int, bytes]] = {
    "InstanceUID": (0x3C0A, ul("06.0e.2b.34.01.01.01.01.01.01.15.02.00.00.00.00")),
    "LastModifiedDate": (0x3B02, ul("06.0e.2b.34.01.01.01.02.07.02.01.10.02.04.00.00")),
    "Version": (0x3B05, ul("06.0e.2b.34.01.01.01.02.03.01.02.01.05.00.00.00")),
    "PrimaryPackage": (0x3B08, ul("06.0e.2b.34.01.01.01.04.06.01.01.04.01.08.00.00")),
    "Identifications": (0x3B06, ul("06.0e.2b.34.01.01.01.02.06.01.01.04.06.04.00.00")),
    "ContentStorage": (0x3B03, ul("06.0e.2b.34.01.01.01.02.06.01.01.04.02.01.00.00")),
    "OperationalPattern": (0x3B09, ul("06.0e.2b.34.01.01.01.05.01.02.02.03.00.00.00.00")),
    "EssenceContainers": (0x3B0A, ul("06.0e.2b.34.01.01.01.05.01.02.02.10.02.01.00.00")),
    "DMSchemes": (0x3B0B, ul("06.0e.2b.34.01.01.01.05.01.02.02.10.02.02.00.00")),
    "ThisGenerationUID": (0x3C09, ul("06.0e.2b.34.01.01.01.02.05.20.07.01.01.00.00.00")),
    "CompanyName": (0x3C01, ul("06.0e.2b.34.01.01.01.02.05.20.07.01.02.01.00.00")),
    "ProductName": (0x3C02, ul("06.0e.2b.34.01.01.01.02.05.20.07.01.03.01.00.00")),
    "ProductVersion": (0x3C03, ul("06.0e.2b.34.01.01.01.02.05.20.07.01.04.00.00.00")),
    "VersionString": (0x3C04, ul("06.0e.2b.34.01.01.01.02.05.20.07.01.05.01.00.00")),
    "ProductUID": (0x3C05, ul("06.0e.2b.34.01.01.01.02.05.20.07.01.07.00.00.00")),
    "ModificationDate": (0x3C06, ul("06.0e.2b.34.01.01.01.02.07.02.01.10.02.03.00.00")),
    "ToolkitVersion": (0x3C07, ul("06.0e.2b.34.01.01.01.02.05.20.07.01.0a.00.00.00")),
    "Platform": (0x3C08, ul("06.0e.2b.34.01.01.01.02.05.20.07.01.06.01.00.00")),
    "Packages": (0x1901, ul("06.0e.2b.34.01.01.01.02.06.01.01.04.05.01.00.00")),
    "EssenceContainerData": (0x1902, ul("06.0e.2b.34.01.01.01.02.06.01.01.04.05.02.00.00")),
    "LinkedPackageUID": (0x2701, ul("06.0e.2b.34.01.01.01.02.06.01.01.06.01.00.00.00")),
    "IndexSID": (0x3F06, ul("06.0e.2b.34.01.01.01.04.01.03.04.05.00.00.00.00")),
    "BodySID": (0x3F07, ul("06.0e.2b.34.01.01.01.04.01.03.04.04.00.00.00.00")),
    "PackageUID": (0x4401, ul("06.0e.2b.34.01.01.01.01.01.01.15.10.00.00.00.00")),
    "Name": (0x4402, ul("06.0e.2b.34.01.01.01.01.01.03.03.02.01.00.00.00")),
    "PackageCreationDate": (0x4405, ul("06.0e.2b.34.01.01.01.02.07.02.01.10.01.03.00.00")),
    "PackageModifiedDate": (0x4404, ul("06.0e.2b.34.01.01.01.02.07.02.01.10.02.05.00.00")),
    "Tracks": (0x4403, ul("06.0e.2b.34.01.01.01.02.06.01.01.04.06.05.00.00")),
    "Descriptor": (0x4701, ul("06.0e.2b.34.01.01.01.02.06.01.01.04.02.03.00.00")),
    "TrackID": (0x4801, ul("06.0e.2b.34.01.01.01.02.01.07.01.01.00.00.00.00")),
    "TrackNumber": (0x4804, ul("06.0e.2b.34.01.01.01.02.01.04.01.03.00.00.00.00")),
    "TrackName": (0x4802, ul("06.0e.2b.34.01.01.01.02.01.07.01.02.01.00.00.00")),
    "Sequence": (0x4803, ul("06.0e.2b.34.01.01.01.02.06.01.01.04.02.04.00.00")),
    "EditRate": (0x4B01, ul("06.0e.2b.34.01.01.01.02.05.30.04.05.00.00.00.00")),
    "Origin": (0x4B02, ul("06.0e.2b.34.01.01.01.02.07.02.01.03.01.03.00.00")),
    "DataDefinition": (0x0201, ul("06.0e.2b.34.01.01.01.02.04.07.01.00.00.00.00.00")),
    "Duration": (0x0202, ul("06.0e.2b.34.01.01.01.02.07.02.02.01.01.03.00.00")),
    "StructuralComponents": (0x1001, ul("06.0e.2b.34.01.01.01.02.06.01.01.04.06.09.00.00")),
    "RoundedTimecodeBase": (0x1502, ul("06.0e.2b.34.01.01.01.02.04.04.01.01.02.06.00.00")),
    "StartTimecode": (0x1501, ul("06.0e.2b.34.01.01.01.02.07.02.01.03.01.05.00.00")),
    "DropFrame": (0x1503, ul("06.0e.2b.34.01.01.01.01.04.04.01.01.05.00.00.00")),
    "StartPosition": (0x1201, ul("06.0e.2b.34.01.01.01.02.07.02.01.03.01.04.00.00")),
    "SourcePackageID": (0x1101, ul("06.0e.2b.34.01.01.01.02.06.01.01.03.01.00.00.00")),
    "SourceTrackID": (0x1102, ul("06.0e.2b.34.01.01.01.02.06.01.01.03.02.00.00.00")),
    "LinkedTrackID": (0x3006, ul("06.0e.2b.34.01.01.01.05.06.01.01.03.05.00.00.00")),
    "SampleRate": (0x3001, ul("06.0e.2b.34.01.01.01.01.04.06.01.01.00.00.00.00")),
    "ContainerDuration": (0x3002, ul("06.0e.2b.34.01.01.01.01.04.06.01.02.00.00.00.00")),
    "EssenceContainer": (0x3004, ul("06.0e.2b.34.01.01.01.02.06.01.01.04.01.02.00.00")),
    "FrameLayout": (0x320C, ul("06.0e.2b.34.01.01.01.01.04.01.03.01.04.00.00.00")),
    "StoredWidth": (0x3203, ul("06.0e.2b.34.01.01.01.01.04.01.05.02.02.00.00.00")),
    "StoredHeight": (0x3202, ul("06.0e.2b.34.01.01.01.01.04.01.05.02.01.00.00.00")),
    "AspectRatio": (0x320E, ul("06.0e.2b.34.01.01.01.01.04.01.01.01.01.00.00.00")),
    "VideoLineMap": (0x320D, ul("06.0e.2b.34.01.01.01.02.04.01.03.02.05.00.00.00")),
    "PictureEssenceCoding": (0x3201, ul("06.0e.2b.34.01.01.01.02.04.01.06.01.00.00.00.00")),
    "ComponentMaxRef": (0x3406, ul("06.0e.2b.34.01.01.01.05.04.01.05.03.0b.00.00.00")),
    "ComponentMinRef": (0x3407, ul("06.0e.2b.34.01.01.01.05.04.01.05.03.0c.00.00.00")),
    "PixelLayout": (0x3401, ul("06.0e.2b.34.01.01.01.02.04.01.05.03.06.00.00.00")),
    "AudioSamplingRate": (0x3D03, ul("06.0e.2b.34.01.01.01.05.04.02.03.01.01.01.00.00")),
    "Locked": (0x3D02, ul("06.0e.2b.34.01.01.01.04.04.02.03.01.04.00.00.00")),
    "ChannelCount": (0x3D07, ul("06.0e.2b.34.01.01.01.05.04.02.01.01.04.00.00.00")),
    "QuantizationBits": (0x3D01, ul("06.0e.2b.34.01.01.01.04.04.02.03.03.04.00.00.00")),
    "BlockAlign": (0x3D0A, ul("06.0e.2b.34.01.01.01.05.04.02.03.02.01.00.00.00")),
    "AvgBps": (0x3D09, ul("06.0e.2b.34.01.01.01.05.04.02.03.03.05.00.00.00")),
    "ChannelAssignment": (0x3D32, ul("06.0e.2b.34.01.01.01.07.04.02.01.01.05.00.00.00")),
    # index table segment (ST 377-1 §11.2)
    "IndexEditRate": (0x3F0B, ul("06.0e.2b.34.01.01.01.05.05.30.04.06.00.00.00.00")),
    "IndexStartPosition": (0x3F0C, ul("06.0e.2b.34.01.01.01.05.07.02.01.03.01.0a.00.00")),
    "IndexDuration": (0x3F0D, ul("06.0e.2b.34.01.01.01.05.07.02.02.01.01.02.00.00")),
    "EditUnitByteCount": (0x3F05, ul("06.0e.2b.34.01.01.01.04.04.06.02.01.00.00.00.00")),
    "SliceCount": (0x3F08, ul("06.0e.2b.34.01.01.01.04.04.04.04.01.01.00.00.00")),
    "PosTableCount": (0x3F0E, ul("06.0e.2b.34.01.01.01.05.04.04.04.01.07.00.00.00")),
    "DeltaEntryArray": (0x3F09, ul("06.0e.2b.34.01.01.01.05.04.04.04.01.06.00.00.00")),
    "IndexEntryArray": (0x3F0A, ul("06.0e.2b.34.01.01.01.05.04.04.04.02.05.00.00.00")),
}

#: Properties without a static tag: the primer gives them dynamic tags (asdcplib counts down from 0xffff).
DYNAMIC_TAGS: dict[str, bytes] = {
    "SubDescriptors": ul("06.0e.2b.34.01.01.01.09.06.01.01.04.06.10.00.00"),  # ST 377-1:2009
    # JPEG2000PictureSubDescriptor (ST 422)
    "Rsiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.01.00.00.00"),
    "Xsiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.02.00.00.00"),
    "Ysiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.03.00.00.00"),
    "XOsiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.04.00.00.00"),
    "YOsiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.05.00.00.00"),
    "XTsiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.06.00.00.00"),
    "YTsiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.07.00.00.00"),
    "XTOsiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.08.00.00.00"),
    "YTOsiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.09.00.00.00"),
    "Csiz": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.0a.00.00.00"),
    "PictureComponentSizing": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.0b.00.00.00"),
    "CodingStyleDefault": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.0c.00.00.00"),
    "QuantizationDefault": ul("06.0e.2b.34.01.01.01.0a.04.01.06.03.0d.00.00.00"),
    # MCA label sub-descriptors (ST 377-4)
    "MCALabelDictionaryID": ul("06.0e.2b.34.01.01.01.0e.01.03.07.01.01.00.00.00"),
    "MCALinkID": ul("06.0e.2b.34.01.01.01.0e.01.03.07.01.05.00.00.00"),
    "MCATagSymbol": ul("06.0e.2b.34.01.01.01.0e.01.03.07.01.02.00.00.00"),
    "MCATagName": ul("06.0e.2b.34.01.01.01.0e.01.03.07.01.03.00.00.00"),
    "MCAChannelID": ul("06.0e.2b.34.01.01.01.0e.01.03.04.0a.00.00.00.00"),
    "RFC5646SpokenLanguage": ul("06.0e.2b.34.01.01.01.0d.03.01.01.02.03.15.00.00"),
    "SoundfieldGroupLinkID": ul("06.0e.2b.34.01.01.01.0e.01.03.07.01.06.00.00.00"),
    # DC timed text (ST 429-5)
    "ResourceID": ul("06.0e.2b.34.01.01.01.0c.01.01.15.12.00.00.00.00"),
    "UCSEncoding": ul("06.0e.2b.34.01.01.01.0c.04.09.05.00.00.00.00.00"),
    "NamespaceURI": ul("06.0e.2b.34.01.01.01.08.01.02.01.05.01.00.00.00"),
    "RFC5646LanguageTagList": ul("06.0e.2b.34.01.01.01.0e.03.01.01.02.02.16.00.00"),
    "AncillaryResourceID": ul("06.0e.2b.34.01.01.01.0c.01.01.15.13.00.00.00.00"),
    "MIMEMediaType": ul("06.0e.2b.34.01.01.01.07.04.09.02.01.00.00.00.00"),
    "EssenceStreamID": ul("06.0e.2b.34.01.01.01.04.01.03.04.04.00.00.00.00"),
}
