"""Subtitle file formats: read SRT, WebVTT, IMSC1 TTML and timed-script JSON; write SRT, WebVTT, IMSC1 Text
Profile TTML and SMPTE ST 428-7 DCP timed text.

Conventions
    SRT keeps italics as ``<i>…</i>`` and a top position as the ``{\\an8}`` tag; WebVTT as ``<i>`` and the cue
    setting ``line:10%``. TTML is the IMSC1 Text Profile (``ttp:profile`` ``…/imsc1/text``) with media time
    expressions, either ``HH:MM:SS.mmm`` or frame-accurate ``HH:MM:SS:FF`` at ``ttp:frameRate`` (IMSC1 does
    not permit the ``smpte`` time base, so frames are written as clock-time-with-frames). DCP timed text
    counts edit units at the integer projection rate: a 23.976 programme plays at 24 in the cinema, so its
    frame numbers are kept and labelled at ``EditRate 24 1``.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeAlias
from xml.sax.saxutils import escape

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, RateLike, frames_to_timecode, seconds_to_frames
from posthouse.finish.subtitles import (
    Cue,
    Position,
    SubtitleRules,
    SubtitleTrack,
    TimedLine,
    cues_from_timed_lines,
)

__all__ = [
    "DCST_NS",
    "EXTENSIONS",
    "FORMATS",
    "TTML_NS",
    "SubtitleFormat",
    "TtmlTime",
    "dcp_edit_rate",
    "format_dcp",
    "format_srt",
    "format_ttml",
    "format_vtt",
    "parse_srt",
    "parse_ttml",
    "parse_vtt",
    "read_subtitles",
    "read_timed_script",
    "write_subtitles",
]

SubtitleFormat: TypeAlias = Literal["srt", "vtt", "ttml", "dcp"]
TtmlTime: TypeAlias = Literal["media", "frames"]
FORMATS: tuple[SubtitleFormat, ...] = ("srt", "vtt", "ttml", "dcp")
EXTENSIONS: dict[str, str] = {"srt": ".srt", "vtt": ".vtt", "ttml": ".ttml", "dcp": "_dcst.xml"}

TTML_NS = "http://www.w3.org/ns/ttml"
TTS_NS = "http://www.w3.org/ns/ttml#styling"
TTP_NS = "http://www.w3.org/ns/ttml#parameter"
XML_NS = "http://www.w3.org/XML/1998/namespace"
IMSC1_TEXT = "http://www.w3.org/ns/ttml/profile/imsc1/text"
DCST_NS = "http://www.smpte-ra.org/schemas/428-7/2010/DCST"

_TOP_TAG = "{\\an8}"

# ------------------------------------------------------------------------------------------- time text


def _ms(seconds: Fraction) -> int:
    """Whole milliseconds, halves rounded up."""
    return int((seconds * 1000 + Fraction(1, 2)) // 1)


def _clock(seconds: Fraction, sep: str) -> str:
    ms = _ms(seconds)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})\s*$")


def _parse_clock(text: str, where: str, path: str | Path | None) -> Fraction:
    m = _CLOCK.match(text)
    if not m:
        raise MediaError(f"not a time: {text.strip()!r}", path=path, where=where, hint="use HH:MM:SS,mmm")
    h, mi, s, frac = m.groups()
    ms = int(frac.ljust(3, "0"))
    return Fraction((int(h or 0) * 3600 + int(mi) * 60 + int(s)) * 1000 + ms, 1000)


def _frames(seconds: Fraction, rate: Rate) -> int:
    return seconds_to_frames(seconds, rate, rounding="nearest")


# ------------------------------------------------------------------------------------------------- SRT

_ITALIC = re.compile(r"^<i>(.*)</i>$", re.S)


def _plain_italic(text: str) -> str | None:
    """The inside of ``<i>…</i>`` when it wraps all of ``text`` and holds no other italic tag."""
    m = _ITALIC.match(text)
    if m and "<i>" not in m.group(1) and "</i>" not in m.group(1):
        return m.group(1)
    return None


def _style_from_text(lines: list[str]) -> tuple[tuple[str, ...], bool, Position]:
    """Strip the whole-cue ``{\\an8}`` tag and ``<i>…</i>`` (around each line, or around all of them);
    inner tags stay as text."""
    position: Position = "bottom"
    if lines and lines[0].startswith(_TOP_TAG):
        lines = [lines[0][len(_TOP_TAG) :], *lines[1:]]
        position = "top"
    per_line = [_plain_italic(line) for line in lines]
    if lines and all(x is not None for x in per_line):
        return tuple(x or "" for x in per_line), True, position
    whole = _plain_italic("\n".join(lines))
    if lines and whole is not None:
        return tuple(whole.split("\n")), True, position
    return tuple(lines), False, position


def _styled_lines(cue: Cue, top_tag: str | None) -> list[str]:
    lines = [f"<i>{line}</i>" for line in cue.lines] if cue.italic else list(cue.lines)
    if top_tag and cue.position == "top" and lines:
        lines[0] = top_tag + lines[0]
    return lines


def format_srt(track: SubtitleTrack) -> str:
    """The track as SubRip text (CRLF-free, one blank line after each cue)."""
    out: list[str] = []
    for cue in track.cues:
        out += [str(cue.index), f"{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}"]
        out += _styled_lines(cue, _TOP_TAG)
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


_ARROW = re.compile(r"^(\S+)\s*-->\s*(\S+)(.*)$")


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks with the 1-based line number where each starts."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for n, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if line.strip():
            if not current:
                start = n
            current.append(line.rstrip())
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def parse_srt(
    text: str, *, language: str = "en", rate: RateLike = 24, path: str | Path | None = None
) -> SubtitleTrack:
    """Read SubRip text. Cue numbers are kept; a missing number gets the next one."""
    cues: list[Cue] = []
    for line_no, block in _blocks(text.lstrip("\ufeff")):
        i = 0
        index = len(cues) + 1
        if block[0].strip().isdigit():
            index = int(block[0].strip())
            i = 1
        if i >= len(block) or not (m := _ARROW.match(block[i].strip())):
            raise MediaError("expected 'start --> end'", path=path, where=f"line {line_no + i}")
        where = f"line {line_no + i}"
        start, end = _parse_clock(m.group(1), where, path), _parse_clock(m.group(2), where, path)
        lines, italic, position = _style_from_text(block[i + 1 :])
        cues.append(Cue(index, start, end, lines, italic, position))
    return SubtitleTrack(language=language, cues=tuple(cues), rate=Rate.parse(rate))


# ---------------------------------------------------------------------------------------------- WebVTT


def format_vtt(track: SubtitleTrack) -> str:
    """The track as WebVTT (cue identifiers are the cue numbers; top cues get ``line:10%``)."""
    out = ["WEBVTT", ""]
    for cue in track.cues:
        setting = " line:10%" if cue.position == "top" else ""
        out += [str(cue.index), f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}{setting}"]
        out += _styled_lines(cue, None)
        out.append("")
    return "\n".join(out)


def parse_vtt(
    text: str, *, language: str = "en", rate: RateLike = 24, path: str | Path | None = None
) -> SubtitleTrack:
    """Read WebVTT cues (minimal: NOTE, STYLE and REGION blocks are skipped; cue settings other than a top
    ``line:`` are ignored)."""
    blocks = _blocks(text.lstrip("\ufeff"))
    if not blocks or not blocks[0][1][0].startswith("WEBVTT"):
        raise MediaError("not a WebVTT file (no 'WEBVTT' header)", path=path, where="line 1")
    cues: list[Cue] = []
    for line_no, block in blocks[1:]:
        if block[0].split(" ")[0] in ("NOTE", "STYLE", "REGION"):
            continue
        i = 0 if "-->" in block[0] else 1
        if i >= len(block) or not (m := _ARROW.match(block[i].strip())):
            raise MediaError("expected 'start --> end'", path=path, where=f"line {line_no + i}")
        where = f"line {line_no + i}"
        start, end = _parse_clock(m.group(1), where, path), _parse_clock(m.group(2), where, path)
        ident = block[0].strip() if i == 1 else ""
        index = int(ident) if ident.isdigit() else len(cues) + 1
        lines, italic, _ = _style_from_text(block[i + 1 :])
        top = re.search(r"\bline:(\d+(?:\.\d+)?)%", m.group(3))
        position: Position = "top" if top and float(top.group(1)) < 50 else "bottom"
        cues.append(Cue(index, start, end, lines, italic, position))
    return SubtitleTrack(language=language, cues=tuple(cues), rate=Rate.parse(rate))


# ------------------------------------------------------------------------------------------ IMSC1 TTML


def _ttml_time(seconds: Fraction, rate: Rate, mode: TtmlTime) -> str:
    if mode == "frames":
        return frames_to_timecode(_frames(seconds, rate), rate)
    return _clock(seconds, ".")


def format_ttml(track: SubtitleTrack, *, time_expression: TtmlTime = "media") -> str:
    """The track as an IMSC1 Text Profile TTML document.

    ``time_expression="media"`` writes ``HH:MM:SS.mmm``; ``"frames"`` writes ``HH:MM:SS:FF`` frames at
    ``ttp:frameRate`` (with ``ttp:frameRateMultiplier`` for 23.976/29.97/59.94)."""
    rate = track.rate
    lang = escape(track.language, {'"': "&quot;"})
    rate_attrs = f' ttp:frameRate="{rate.timebase}"'
    if rate.den != 1:
        rate_attrs += ' ttp:frameRateMultiplier="1000 1001"'
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<tt xmlns="{TTML_NS}" xmlns:ttp="{TTP_NS}" xmlns:tts="{TTS_NS}"\n'
        '    xmlns:ttm="http://www.w3.org/ns/ttml#metadata"\n'
        f'    ttp:profile="{IMSC1_TEXT}" ttp:timeBase="media"{rate_attrs}\n'
        f'    ttp:cellResolution="32 15" xml:lang="{lang}">\n'
        "  <head>\n"
        f"    <metadata><ttm:title>{escape(track.title)}</ttm:title></metadata>\n"
        "    <styling>\n"
        '      <style xml:id="s_default" tts:fontFamily="proportionalSansSerif" tts:fontSize="100%"'
        ' tts:color="white" tts:textAlign="center" tts:textOutline="black 5%"/>\n'
        '      <style xml:id="s_italic" tts:fontStyle="italic"/>\n'
        "    </styling>\n"
        "    <layout>\n"
        '      <region xml:id="r_bottom" tts:origin="10% 10%" tts:extent="80% 80%"'
        ' tts:displayAlign="after"/>\n'
        '      <region xml:id="r_top" tts:origin="10% 10%" tts:extent="80% 80%" tts:displayAlign="before"/>\n'
        "    </layout>\n"
        "  </head>\n"
        '  <body style="s_default">\n'
        "    <div>\n"
    )
    body: list[str] = []
    for cue in track.cues:
        text = "<br/>".join(escape(line) for line in cue.lines)
        if cue.italic:
            text = f'<span style="s_italic">{text}</span>'
        body.append(
            f'      <p xml:id="c{cue.index}" begin="{_ttml_time(cue.start, rate, time_expression)}"'
            f' end="{_ttml_time(cue.end, rate, time_expression)}" region="r_{cue.position}">{text}</p>\n'
        )
    return head + "".join(body) + "    </div>\n  </body>\n</tt>\n"


def _parse_ttml_time(value: str, rate: Rate, where: str, path: str | Path | None) -> Fraction:
    value = value.strip()
    if re.fullmatch(r"\d+:\d{2}:\d{2}:\d{2}", value):
        h, m, s, f = (int(x) for x in value.split(":"))
        frames = (h * 3600 + m * 60 + s) * rate.timebase + f
        return frames * rate.frame_duration
    if m2 := re.fullmatch(r"(\d+(?:\.\d+)?)(h|m|s|ms|f)", value):
        n, unit = Fraction(m2.group(1)), m2.group(2)
        scale = {"h": Fraction(3600), "m": Fraction(60), "s": Fraction(1), "ms": Fraction(1, 1000)}
        return n * rate.frame_duration if unit == "f" else n * scale[unit]
    return _parse_clock(value, where, path)


def parse_ttml(text: str, *, rate: RateLike | None = None, path: str | Path | None = None) -> SubtitleTrack:
    """Read a TTML/IMSC1 document's ``<p>`` cues (clock, frames and offset times; one level of ``<span>``)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise MediaError(f"not well-formed XML: {exc}", path=path) from exc
    if root.tag != f"{{{TTML_NS}}}tt":
        raise MediaError(f"not a TTML document (root {root.tag})", path=path)
    fr = root.get(f"{{{TTP_NS}}}frameRate")
    mult = root.get(f"{{{TTP_NS}}}frameRateMultiplier", "1 1").split()
    fps = Rate.parse(rate) if rate is not None else Rate(24)
    if fr is not None:
        fps = Rate.parse(Fraction(int(fr)) * Fraction(int(mult[0]), int(mult[1])))
    cues: list[Cue] = []
    for n, p in enumerate(root.iter(f"{{{TTML_NS}}}p"), 1):
        where = f"<p> #{n}"
        start = _parse_ttml_time(p.get("begin", ""), fps, where, path)
        end = _parse_ttml_time(p.get("end", ""), fps, where, path)
        parts: list[str] = [p.text or ""]
        italic = False
        for child in p:
            tag = child.tag.split("}")[-1]
            if tag == "br":
                parts.append("\n")
            elif tag == "span":
                italic = (
                    italic
                    or "italic" in (child.get("style") or "")
                    or (child.get(f"{{{TTS_NS}}}fontStyle") == "italic")
                )
                for sub in [
                    child.text or "",
                    *((("\n" if s.tag.endswith("br") else "") + (s.tail or "")) for s in child),
                ]:
                    parts.append(sub)
            parts.append(child.tail or "")
        lines = tuple(line.strip() for line in "".join(parts).split("\n"))
        position: Position = "top" if (p.get("region") or "").endswith("top") else "bottom"
        ident = (p.get(f"{{{XML_NS}}}id") or "").lstrip("c")
        cues.append(Cue(int(ident) if ident.isdigit() else n, start, end, lines, italic, position))
    lang = root.get(f"{{{XML_NS}}}lang") or "und"
    return SubtitleTrack(language=lang, cues=tuple(cues), rate=fps)


# -------------------------------------------------------------------------------------- DCP timed text


def dcp_edit_rate(rate: Rate) -> int:
    """The integer projection rate a programme at ``rate`` plays at in a DCP (24 for 23.976)."""
    return rate.timebase


def _dcp_time(seconds: Fraction, rate: Rate) -> str:
    """``HH:MM:SS:EE`` in edit units: the programme's frame number, labelled at the projection rate."""
    return frames_to_timecode(_frames(seconds, rate), Rate(dcp_edit_rate(rate)))


def format_dcp(
    track: SubtitleTrack,
    *,
    reel_number: int = 1,
    font_uri: str | None = None,
    issue_date: datetime | None = None,
    asset_id: str | None = None,
    font_size: int = 42,
) -> str:
    """The track as SMPTE ST 428-7:2010 DCP timed text (a ``SubtitleReel``), times in edit units.

    Bottom cues are stacked from ``Vposition`` 8 % upward, top cues from 8 % down, 6 % per line."""
    rate = track.rate
    edit = dcp_edit_rate(rate)
    rid = asset_id or f"urn:uuid:{uuid.uuid4()}"
    font = font_uri or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'posthouse:dcp-subtitle-font')}"
    annotation = f"{track.title or 'Untitled'} subtitles {track.language}"
    date = (issue_date or datetime.now(UTC)).replace(microsecond=0).isoformat()
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<SubtitleReel xmlns="{DCST_NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema">',
        f"  <Id>{rid}</Id>",
        f"  <ContentTitleText>{escape(track.title or 'Untitled')}</ContentTitleText>",
        f"  <AnnotationText>{escape(annotation)}</AnnotationText>",
        f"  <IssueDate>{date}</IssueDate>",
        f"  <ReelNumber>{reel_number}</ReelNumber>",
        f"  <Language>{escape(track.language)}</Language>",
        f"  <EditRate>{edit} 1</EditRate>",
        f"  <TimeCodeRate>{edit}</TimeCodeRate>",
        "  <StartTime>00:00:00:00</StartTime>",
        f'  <LoadFont ID="Font1">{font}</LoadFont>',
        "  <SubtitleList>",
        f'    <Font ID="Font1" Size="{font_size}" Color="FFFFFFFF" Effect="border" EffectColor="FF000000"'
        ' Italic="no" Weight="normal">',
    ]
    for spot, cue in enumerate(track.cues, 1):
        out.append(
            f'      <Subtitle SpotNumber="{spot}" TimeIn="{_dcp_time(cue.start, rate)}"'
            f' TimeOut="{_dcp_time(cue.end, rate)}" FadeUpTime="00:00:00:00" FadeDownTime="00:00:00:00">'
        )
        n = len(cue.lines)
        for k, line in enumerate(cue.lines):
            # bottom: last line lowest; top: first line highest
            step = (n - 1 - k) if cue.position == "bottom" else k
            vpos = 8 + 6 * step
            text = escape(line)
            if cue.italic:
                text = f'<Font Italic="yes">{text}</Font>'
            out.append(
                f'        <Text Valign="{cue.position}" Vposition="{vpos}" Halign="center" Hposition="0"'
                f' Direction="ltr">{text}</Text>'
            )
        out.append("      </Subtitle>")
    out += ["    </Font>", "  </SubtitleList>", "</SubtitleReel>", ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------- timed script


def _seconds(value: Any, rate: Rate, where: str, path: str | Path) -> Fraction:
    if isinstance(value, bool) or value is None:
        raise UsageError(f"missing or bad time {value!r}", path=path, where=where)
    if isinstance(value, int | float):
        return Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+:\d{2}:\d{2}[:;]\d{2}", text):
        from posthouse.core.time import timecode_to_frames

        return timecode_to_frames(text, rate) * rate.frame_duration
    try:
        return Fraction(text)
    except ValueError:
        return _parse_clock(text, where, path)


def read_timed_script(
    path: str | Path,
    *,
    language: str = "en",
    rate: RateLike = 24,
    rules: SubtitleRules | None = None,
    show_character: bool = False,
) -> SubtitleTrack:
    """Cues from a timed script JSON: a list of lines, or ``{"lines": [...]}``, or the demo's script.json
    shape ``{"title", "scenes": [{"lines": [...]}]}`` — each line with ``character``, ``text`` and times
    ``start``/``end`` (or ``start_s``/``end_s``): seconds, ``HH:MM:SS.mmm`` or a timecode at ``rate``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MediaError(f"cannot read timed script: {exc}", path=path) from exc
    fps = Rate.parse(rate)
    title = ""
    if isinstance(data, dict):
        title = str(data.get("title", ""))
        if "scenes" in data:
            raw = [ln for sc in data["scenes"] for ln in sc.get("lines", [])]
        else:
            raw = list(data.get("lines", []))
    elif isinstance(data, list):
        raw = data
    else:
        raise UsageError("a timed script is a JSON list of lines or an object with 'lines'", path=path)
    lines: list[TimedLine] = []
    for n, item in enumerate(raw, 1):
        where = f"line {n}"
        if not isinstance(item, dict) or "text" not in item:
            raise UsageError("each line needs 'text'", path=path, where=where)
        start = item.get("start_s", item.get("start"))
        end = item.get("end_s", item.get("end"))
        if start is None or end is None:
            raise UsageError(
                "line has no times",
                path=path,
                where=where,
                hint="add 'start' and 'end' (seconds or HH:MM:SS.mmm) to each line of the script",
            )
        lines.append(
            (
                _seconds(start, fps, where, path),
                _seconds(end, fps, where, path),
                item.get("character"),
                str(item["text"]),
            )
        )
    return cues_from_timed_lines(
        lines, language=language, rate=fps, rules=rules, title=title, show_character=show_character
    )


# -------------------------------------------------------------------------------------------- dispatch


def read_subtitles(
    path: str | Path,
    *,
    language: str = "en",
    rate: RateLike = 24,
    rules: SubtitleRules | None = None,
) -> SubtitleTrack:
    """Read ``.srt``, ``.vtt``, ``.ttml``/``.xml`` (TTML) or a timed script ``.json`` into a track."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".json":
        return read_timed_script(path, language=language, rate=rate, rules=rules)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MediaError(f"cannot read subtitles: {exc}", path=path) from exc
    title = path.stem
    if ext == ".srt":
        track = parse_srt(text, language=language, rate=rate, path=path)
    elif ext == ".vtt":
        track = parse_vtt(text, language=language, rate=rate, path=path)
    elif ext in (".ttml", ".xml", ".dfxp"):
        track = parse_ttml(text, rate=rate, path=path)
    else:
        raise UsageError(f"unknown subtitle type {ext!r}", path=path, hint="use .srt, .vtt, .ttml or .json")
    return replace(track, title=title)


_WRITERS: dict[str, Callable[[SubtitleTrack], str]] = {
    "srt": format_srt,
    "vtt": format_vtt,
    "ttml": format_ttml,
    "dcp": format_dcp,
}


def write_subtitles(
    track: SubtitleTrack, fmt: str, dest: str | Path, *, ttml_time: TtmlTime = "media"
) -> Path:
    """Write ``track`` as ``fmt`` (srt, vtt, ttml, dcp) to ``dest`` atomically; return the path."""
    if fmt not in _WRITERS:
        raise UsageError(f"unknown subtitle format {fmt!r}", hint=f"choose from {', '.join(FORMATS)}")
    text = format_ttml(track, time_expression=ttml_time) if fmt == "ttml" else _WRITERS[fmt](track)
    dest = Path(dest)
    atomic_write_text(dest, text)
    return dest
