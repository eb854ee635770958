"""Media I/O on PyAV: probe, streaming decode, encode, and BWF/iXML."""

from posthouse.core.media.bwf import Bext, BwfInfo, IXml, read_bwf, write_bwf
from posthouse.core.media.decode import iter_audio_blocks, iter_video_frames, read_audio
from posthouse.core.media.encode import PRESETS, VideoPreset, VideoWriter
from posthouse.core.media.probe import AudioInfo, MediaInfo, VideoInfo, probe

__all__ = [
    "PRESETS",
    "AudioInfo",
    "Bext",
    "BwfInfo",
    "IXml",
    "MediaInfo",
    "VideoInfo",
    "VideoPreset",
    "VideoWriter",
    "iter_audio_blocks",
    "iter_video_frames",
    "probe",
    "read_audio",
    "read_bwf",
    "write_bwf",
]
