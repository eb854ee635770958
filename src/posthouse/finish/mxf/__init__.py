"""SMPTE D-Cinema MXF track files: our own writer and reader (OP-Atom, ST 429-3/4/5), KLV up.

No Python library writes D-Cinema MXF, so this package builds the files from the standards, with the
layout asdcplib gives SMPTE DCP track files; PyAV/FFmpeg and an independent KLV walker check them in tests.
"""

from __future__ import annotations

from .reader import iter_mxf_essence, read_mxf_info, read_timed_text_resources
from .writer import TrackFileInfo, write_picture_mxf, write_sound_mxf, write_timed_text_mxf

__all__ = [
    "TrackFileInfo",
    "iter_mxf_essence",
    "read_mxf_info",
    "read_timed_text_resources",
    "write_picture_mxf",
    "write_sound_mxf",
    "write_timed_text_mxf",
]
