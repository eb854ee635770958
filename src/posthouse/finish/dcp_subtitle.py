"""SMPTE ST 428-7:2014 DCP timed text from the subtitle model, with its font as an ancillary resource.

The document is a ``SubtitleReel`` (namespace ``http://www.smpte-ra.org/schemas/428-7/2014/DCST``) whose
``Id`` is the timed-text track file's asset id, with one ``LoadFont`` naming the font resource by
``urn:uuid:`` and every cue as a ``Subtitle`` timed in edit units at the DCP's projection rate. Cue times
are counted in the master's frames (rounded to the nearest frame) and labelled at the DCP rate, so a
23.976 master playing at 24 keeps its subtitles on the same frames. The font is DejaVu Sans
(``fonts-dejavu-core``) unless another TrueType/OpenType file is given.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.time import Rate, RateLike, seconds_to_frames
from posthouse.finish.subtitles import SubtitleTrack

__all__ = [
    "DCST_2014_NS",
    "DEFAULT_FONT",
    "FONT_LIMIT",
    "DcpSubtitles",
    "dcp_subtitles",
    "edit_units_timecode",
    "fit_font",
    "load_font",
    "subtitle_reel_xml",
]

DCST_2014_NS = "http://www.smpte-ra.org/schemas/428-7/2014/DCST"
DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_FONT_ID = "Font1"
#: Largest font a DCP's timed text may carry (ISDCF Bv2.1; ClairMeta's ``font_max_size``): 640 KiB.
FONT_LIMIT = 640 * 1024


def load_font(path: str | Path | None = None) -> bytes:
    """The font file's bytes (default DejaVu Sans); MediaError saying how to install it when missing."""
    p = Path(path) if path is not None else DEFAULT_FONT
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise MediaError(
            f"subtitle font not readable: {exc.strerror or exc}",
            path=p,
            hint="install it (Debian/Ubuntu: apt-get install fonts-dejavu-core) or pass another .ttf",
        ) from exc
    if data[:4] not in (b"\x00\x01\x00\x00", b"OTTO", b"true"):
        raise MediaError("not a TrueType/OpenType font", path=p, hint="DCP subtitles need a .ttf or .otf")
    return data


def fit_font(font: bytes, text: str, limit: int = FONT_LIMIT) -> bytes:
    """``font`` itself when within ``limit`` bytes, else subset (fontTools) to ``text`` plus Latin-1."""
    if len(font) <= limit:
        return font
    import io
    import logging

    try:
        from fontTools import subset  # type: ignore[import-untyped,unused-ignore]
        from fontTools.ttLib import TTFont  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise MediaError(
            f"subtitle font is {len(font)} bytes, over the {limit} a DCP allows, and fontTools is missing",
            hint="install fonttools or pass a smaller font",
        ) from exc
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "FFTM NOT subset" chatter
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    tt = TTFont(io.BytesIO(font))
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text + "".join(chr(c) for c in range(0x20, 0x100)))
    subsetter.subset(tt)
    out = io.BytesIO()
    tt.save(out)
    data = out.getvalue()
    if len(data) > limit:
        raise MediaError(
            f"subtitle font is still {len(data)} bytes after subsetting", hint="use a smaller font"
        )
    return data


def edit_units_timecode(units: int, rate: int) -> str:
    """``HH:MM:SS:EE`` for ``units`` edit units at an integer ``rate`` (non-drop, as ST 428-7 counts)."""
    seconds, frames = divmod(units, rate)
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours:02d}:{mins:02d}:{secs:02d}:{frames:02d}"


@dataclass(frozen=True, slots=True)
class DcpSubtitles:
    """A rendered ST 428-7 document, ready for ``write_timed_text_mxf``."""

    xml: bytes
    resource_id: uuid.UUID
    """The document's ``Id`` (the MXF's ResourceID; distinct from the track file's asset id)."""
    font_id: uuid.UUID
    font: bytes
    language: str
    edit_rate: int
    duration: int
    cues: int


def subtitle_reel_xml(
    track: SubtitleTrack,
    *,
    asset_id: uuid.UUID,
    font_id: uuid.UUID,
    edit_rate: int,
    duration: int,
    title: str = "",
    source_rate: RateLike | None = None,
    issue_date: datetime | None = None,
    reel_number: int = 1,
    offset: int = 0,
    font_size: int = 42,
) -> bytes:
    """The track as an ST 428-7:2014 ``SubtitleReel``; cues past ``duration`` edit units are cut there.

    ``source_rate`` is the master's rate (default the track's): cue seconds become master frames, which are
    the DCP's edit units (1:1 even when a 23.976 master plays at 24). For reel ``reel_number`` starting at
    master frame ``offset``, times count from the reel's start and cues crossing its ends are clipped.
    """
    rate = Rate.parse(source_rate) if source_rate is not None else track.rate
    lang = track.language or "en"
    root = ET.Element("SubtitleReel", {"xmlns": DCST_2014_NS})
    ET.SubElement(root, "Id").text = f"urn:uuid:{asset_id}"
    ET.SubElement(root, "ContentTitleText").text = title or track.title or "Untitled"
    ET.SubElement(root, "AnnotationText").text = f"{title or track.title or 'Untitled'} subtitles {lang}"
    when = (issue_date or datetime.now(UTC)).replace(microsecond=0)
    ET.SubElement(root, "IssueDate").text = (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()
    ET.SubElement(root, "ReelNumber").text = str(reel_number)
    ET.SubElement(root, "Language").text = lang
    ET.SubElement(root, "EditRate").text = f"{edit_rate} 1"
    ET.SubElement(root, "TimeCodeRate").text = str(edit_rate)
    ET.SubElement(root, "StartTime").text = "00:00:00:00"
    ET.SubElement(root, "LoadFont", {"ID": _FONT_ID}).text = f"urn:uuid:{font_id}"
    sub_list = ET.SubElement(root, "SubtitleList")
    font = ET.SubElement(
        sub_list,
        "Font",
        {
            "ID": _FONT_ID,
            "Size": str(font_size),
            "Color": "FFFFFFFF",
            "Effect": "border",
            "EffectColor": "FF000000",
            "Italic": "no",
            "Weight": "normal",
        },
    )
    spot = 0
    for cue in sorted(track.cues, key=lambda c: (c.start, c.end)):
        t_in = max(seconds_to_frames(Fraction(cue.start), rate, rounding="nearest") - offset, 0)
        t_out = min(seconds_to_frames(Fraction(cue.end), rate, rounding="nearest") - offset, duration)
        if t_in >= duration or t_out <= t_in:
            continue
        spot += 1
        el = ET.SubElement(
            font,
            "Subtitle",
            {
                "SpotNumber": str(spot),
                "TimeIn": edit_units_timecode(t_in, edit_rate),
                "TimeOut": edit_units_timecode(t_out, edit_rate),
                "FadeUpTime": "00:00:00:00",
                "FadeDownTime": "00:00:00:00",
            },
        )
        n = len(cue.lines)
        for k, line in enumerate(cue.lines):
            step = (n - 1 - k) if cue.position == "bottom" else k  # bottom: last line lowest
            attrs = {
                "Valign": cue.position,
                "Vposition": str(8 + 6 * step),
                "Halign": "center",
                "Hposition": "0",
                "Direction": "ltr",
            }
            text = ET.SubElement(el, "Text", attrs)
            if cue.italic:
                ET.SubElement(text, "Font", {"Italic": "yes"}).text = line
            else:
                text.text = line
    ET.indent(root, space="  ")
    for text_el in root.iter("Text"):  # no layout whitespace inside the displayed text
        if len(text_el):
            text_el.text = None
            for child in text_el:
                child.tail = None
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def dcp_subtitles(
    track: SubtitleTrack,
    *,
    edit_rate: int,
    duration: int,
    title: str = "",
    source_rate: RateLike | None = None,
    font_path: str | Path | None = None,
    resource_id: uuid.UUID | None = None,
    issue_date: datetime | None = None,
    reel_number: int = 1,
    offset: int = 0,
) -> DcpSubtitles:
    """Render ``track`` for a DCP reel of ``duration`` edit units at ``edit_rate``, with its font.

    A font over the 640 KiB that ISDCF Bv2.1 (and ClairMeta) allow is subset to the characters the cues use
    plus Latin-1 (with fontTools)."""
    if edit_rate <= 0 or duration <= 0:
        raise UsageError(
            f"bad subtitle reel: edit rate {edit_rate}, duration {duration}", where="dcp_subtitles"
        )
    aid = resource_id or uuid.uuid4()
    fid = uuid.uuid5(aid, "font")
    font = fit_font(load_font(font_path), "".join(c.text for c in track.cues))
    xml = subtitle_reel_xml(
        track,
        asset_id=aid,
        font_id=fid,
        edit_rate=edit_rate,
        duration=duration,
        title=title,
        source_rate=source_rate,
        issue_date=issue_date,
        reel_number=reel_number,
        offset=offset,
    )
    count = xml.count(b"<Subtitle ")
    return DcpSubtitles(xml, aid, fid, font, track.language or "en", edit_rate, duration, count)
