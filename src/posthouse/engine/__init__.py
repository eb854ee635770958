"""posthouse.engine — the renderer: an OTIO timeline in, composited frames, a sound mix and a movie out.

Video tracks composite top over bottom (a gap shows the track below; nothing at all is black); media
with alpha (ProRes 4444, PNG/TIFF/EXR stills and image sequences) and clips with an ``opacity`` let the
tracks below show through; clips fade from/to black; transitions dissolve (or dip to black, or wipe)
over their in/out offsets; ``LinearTimeWarp`` retimes with frame blending and ``FreezeFrame`` holds;
``GeneratorReference`` clips draw title cards and credit rolls; subtitles burn in on request; a
``clip_filter`` hook sees every clip's frame (for grading). Sound clips mix with gain and fades to
48 kHz stereo. See docs/engine-compositing.md.
Every source is decoded sequentially, and missing media renders as a "MEDIA OFFLINE" slate that the
:class:`RenderReport` lists. The engine sits on ``posthouse.core`` only.
"""

from posthouse.engine.audio import FadeShape
from posthouse.engine.plan import TimelinePlan, clip_media_path, plan_timeline, read_posthouse_meta
from posthouse.engine.render import (
    SAMPLE_RATE,
    BurnInSpec,
    ClipFilter,
    OfflineClip,
    RenderReport,
    default_size,
    iter_timeline_audio,
    iter_timeline_frames,
    render_timeline,
)

__all__ = [
    "SAMPLE_RATE",
    "BurnInSpec",
    "ClipFilter",
    "FadeShape",
    "OfflineClip",
    "RenderReport",
    "TimelinePlan",
    "clip_media_path",
    "default_size",
    "iter_timeline_audio",
    "iter_timeline_frames",
    "plan_timeline",
    "read_posthouse_meta",
    "render_timeline",
]
