"""ASC CDL: the slope/offset/power/saturation grade, its math, and its interchange files.

The math follows the ASC CDL v1.2 specification: per channel ``out = max(in * slope + offset, 0) ** power``
(negative values clamped to 0 before the power, which keeps it real), then saturation around Rec.709 luma
(0.2126, 0.7152, 0.0722). :func:`apply_cdl` with ``clamp=True`` also clamps to [0, 1] after SOP and after
saturation, exactly as OCIO's ``CDL_ASC`` style (the one the grading pipeline uses).

Interchange: ``.cdl`` (ColorDecisionList), ``.cc`` (ColorCorrection), ``.ccc`` (ColorCorrectionCollection)
XML in namespace ``urn:ASC:CDL:v1.01`` (v1.2 files and files without a namespace are read too), and EDL
comments as Avid and Resolve write them after an event::

    001  A001C003 V C        01:00:00:00 01:00:02:00 01:00:00:00 01:00:02:00
    *ASC_SOP (1.1 1.0 0.9)(0.01 0.0 -0.01)(1.0 1.0 1.0)
    *ASC_SAT 0.9

Values are written with 6 decimals; reading them back gives the same numbers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError
from posthouse.core.fsutil import atomic_write_text

__all__ = [
    "ASC_NS",
    "LUMA_709",
    "Cdl",
    "EdlGrade",
    "apply_cdl",
    "cdl_to_xml",
    "parse_cdl_xml",
    "parse_edl_cdls",
    "read_cdl_file",
    "write_cdl_file",
    "write_edl_cdls",
]

ASC_NS: Final = "urn:ASC:CDL:v1.01"
LUMA_709: Final = (0.2126, 0.7152, 0.0722)
_DECIMALS: Final = 6

Triple = tuple[float, float, float]


def _r(v: float) -> float:
    return round(float(v), _DECIMALS)


@dataclass(frozen=True, slots=True)
class Cdl:
    """One ASC color decision: slope, offset, power (R, G, B) and saturation."""

    id: str = ""
    slope: Triple = (1.0, 1.0, 1.0)
    offset: Triple = (0.0, 0.0, 0.0)
    power: Triple = (1.0, 1.0, 1.0)
    saturation: float = 1.0
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("slope", "offset", "power"):
            v = getattr(self, name)
            if len(v) != 3:
                raise UsageError(f"CDL {self.id!r}: {name} needs 3 values, got {len(v)}")
            object.__setattr__(self, name, tuple(float(x) for x in v))
        if any(p <= 0 for p in self.power):
            raise UsageError(f"CDL {self.id!r}: power must be > 0, got {self.power}")
        if self.saturation < 0:
            raise UsageError(f"CDL {self.id!r}: saturation must be >= 0, got {self.saturation}")
        object.__setattr__(self, "saturation", float(self.saturation))

    @property
    def is_identity(self) -> bool:
        """True when the grade changes nothing."""
        return (
            self.slope == (1.0, 1.0, 1.0)
            and self.offset == (0.0, 0.0, 0.0)
            and self.power == (1.0, 1.0, 1.0)
            and self.saturation == 1.0
        )

    def rounded(self) -> Cdl:
        """The same grade at the written precision (6 decimals)."""
        return Cdl(
            self.id,
            tuple(_r(x) for x in self.slope),  # type: ignore[arg-type]
            tuple(_r(x) for x in self.offset),  # type: ignore[arg-type]
            tuple(_r(x) for x in self.power),  # type: ignore[arg-type]
            _r(self.saturation),
            self.description,
        )

    def with_id(self, new_id: str) -> Cdl:
        """A copy named ``new_id``."""
        return Cdl(new_id, self.slope, self.offset, self.power, self.saturation, self.description)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "id": self.id,
            "slope": list(self.slope),
            "offset": list(self.offset),
            "power": list(self.power),
            "saturation": self.saturation,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cdl:
        """Inverse of :meth:`to_dict` (missing keys are identity)."""
        try:
            return cls(
                str(data.get("id", "")),
                tuple(data.get("slope", (1.0, 1.0, 1.0))),
                tuple(data.get("offset", (0.0, 0.0, 0.0))),
                tuple(data.get("power", (1.0, 1.0, 1.0))),
                float(data.get("saturation", 1.0)),
                str(data.get("description", "")),
            )
        except (TypeError, ValueError) as exc:
            raise UsageError(f"bad CDL entry {data!r}: {exc}") from exc


def apply_cdl(rgb: npt.ArrayLike, cdl: Cdl, *, clamp: bool = False) -> npt.NDArray[np.float32]:
    """Apply ``cdl`` to float RGB (``(..., 3)``) per ASC CDL v1.2; returns float32.

    Negative values after slope/offset are clamped to 0 before the power (the spec's rule; it keeps the
    power real). With ``clamp`` the result is also clamped to [0, 1] after SOP and after saturation, as
    OCIO's ``CDL_ASC`` style does; without it values above 1 pass (OCIO's ``CDL_NO_CLAMP`` agrees wherever
    slope·in + offset ≥ 0; it passes negatives through instead of clamping them).
    """
    x = np.asarray(rgb, dtype=np.float32)
    slope = np.asarray(cdl.slope, dtype=np.float32)
    offset = np.asarray(cdl.offset, dtype=np.float32)
    power = np.asarray(cdl.power, dtype=np.float32)
    v = x * slope + offset
    v = np.clip(v, 0.0, 1.0) if clamp else np.maximum(v, 0.0)
    v = np.power(v, power, dtype=np.float32)
    if cdl.saturation != 1.0:
        luma = v @ np.asarray(LUMA_709, dtype=np.float32)
        v = luma[..., None] + np.float32(cdl.saturation) * (v - luma[..., None])
        if clamp:
            v = np.clip(v, 0.0, 1.0)
    out: npt.NDArray[np.float32] = v.astype(np.float32, copy=False)
    return out


# --- XML ----------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _floats(text: str | None, n: int, what: str, where: str) -> list[float]:
    parts = (text or "").replace(",", " ").split()
    try:
        vals = [float(p) for p in parts]
    except ValueError as exc:
        raise UsageError(f"{where}: {what} {text!r} is not numbers") from exc
    if len(vals) != n:
        raise UsageError(f"{where}: {what} needs {n} values, got {len(vals)} ({text!r})")
    return vals


def _cc_from_element(cc: ET.Element, where: str, fallback_id: str = "") -> Cdl:
    cid = cc.get("id") or fallback_id
    desc_parts = [(c.text or "").strip() for c in cc if _local(c.tag) == "Description" and c.text]
    slope, offset, power, sat = [1.0] * 3, [0.0] * 3, [1.0] * 3, 1.0
    sop = _child(cc, "SOPNode")
    if sop is not None:
        desc_parts += [(c.text or "").strip() for c in sop if _local(c.tag) == "Description" and c.text]
        s, o, p = _child(sop, "Slope"), _child(sop, "Offset"), _child(sop, "Power")
        if s is not None:
            slope = _floats(s.text, 3, "Slope", where)
        if o is not None:
            offset = _floats(o.text, 3, "Offset", where)
        if p is not None:
            power = _floats(p.text, 3, "Power", where)
    sat_node = _child(cc, "SatNode") or _child(cc, "SATNode")
    if sat_node is not None:
        sv = _child(sat_node, "Saturation")
        if sv is not None:
            sat = _floats(sv.text, 1, "Saturation", where)[0]
    return Cdl(cid, tuple(slope), tuple(offset), tuple(power), sat, "; ".join(d for d in desc_parts if d))  # type: ignore[arg-type]


def parse_cdl_xml(text: str, *, source: str = "<xml>") -> list[Cdl]:
    """Every ColorCorrection in an ASC ``.cdl``, ``.cc`` or ``.ccc`` document (any namespace), in order.

    A ``ColorDecision`` without an id takes ``decision_<n>``; ``ColorCorrectionRef`` entries are skipped.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise UsageError(f"{source}: not valid XML: {exc}", hint="expected an ASC CDL/CC/CCC file") from exc
    kind = _local(root.tag)
    if kind not in ("ColorCorrection", "ColorCorrectionCollection", "ColorDecisionList", "ColorDecision"):
        raise UsageError(f"{source}: root element <{kind}> is not an ASC CDL document")
    out: list[Cdl] = []
    n = 0
    for el in root.iter():
        if _local(el.tag) != "ColorCorrection":
            continue
        n += 1
        out.append(
            _cc_from_element(el, f"{source}, ColorCorrection {n}", f"cc_{n}" if el.get("id") is None else "")
        )
    if not out:
        raise UsageError(f"{source}: no ColorCorrection found")
    return out


def _fmt3(v: Triple) -> str:
    return " ".join(f"{x:.{_DECIMALS}f}" for x in v)


def _cc_element(cdl: Cdl, ns: str) -> ET.Element:
    cc = ET.Element("ColorCorrection", {"id": cdl.id} if cdl.id else {})
    if cdl.description:
        ET.SubElement(cc, "Description").text = cdl.description
    sop = ET.SubElement(cc, "SOPNode")
    ET.SubElement(sop, "Slope").text = _fmt3(cdl.slope)
    ET.SubElement(sop, "Offset").text = _fmt3(cdl.offset)
    ET.SubElement(sop, "Power").text = _fmt3(cdl.power)
    sat = ET.SubElement(cc, "SatNode")
    ET.SubElement(sat, "Saturation").text = f"{cdl.saturation:.{_DECIMALS}f}"
    return cc


def cdl_to_xml(cdls: list[Cdl], kind: str = "ccc") -> str:
    """Serialise ``cdls`` as ``"cc"`` (exactly one), ``"ccc"`` or ``"cdl"`` (a ColorDecisionList) XML text."""
    if kind == "cc":
        if len(cdls) != 1:
            raise UsageError(
                f"a .cc file holds exactly one ColorCorrection, got {len(cdls)}", hint="use .ccc"
            )
        root = _cc_element(cdls[0], ASC_NS)
    elif kind == "ccc":
        root = ET.Element("ColorCorrectionCollection")
        for c in cdls:
            root.append(_cc_element(c, ASC_NS))
    elif kind == "cdl":
        root = ET.Element("ColorDecisionList")
        for c in cdls:
            dec = ET.SubElement(root, "ColorDecision")
            dec.append(_cc_element(c, ASC_NS))
    else:
        raise UsageError(f"unknown CDL file kind {kind!r}", hint="one of cc, ccc, cdl")
    root.set("xmlns", ASC_NS)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- EDL comments ------------------------------------------------------------------------------------

_EVENT_RE: Final = re.compile(r"^\s*(\d{1,6})\s+(\S+)\s+(\S+)\s+(\S+)")
_TRACK_RE: Final = re.compile(r"^(V|A\d*|AA|B|NONE|AA/V|A/V|V/A)$", re.IGNORECASE)
_EDIT_RE: Final = re.compile(r"^(C|D|W\d+|K|KB|K0|KO)$", re.IGNORECASE)


def _event(line: str) -> re.Match[str] | None:
    """The match of a CMX 3600 event line (number, reel, track, edit), or None for comments/headers."""
    if line.lstrip().startswith("*"):
        return None
    m = _EVENT_RE.match(line)
    if m is None or not _TRACK_RE.match(m.group(3)) or not _EDIT_RE.match(m.group(4)):
        return None
    return m


_SOP_RE: Final = re.compile(r"\*\s*ASC_SOP\s*\(\s*([^)]*)\)\s*\(\s*([^)]*)\)\s*\(\s*([^)]*)\)", re.IGNORECASE)
_SAT_RE: Final = re.compile(r"\*\s*ASC_SAT\s+([-+0-9.eE]+)", re.IGNORECASE)


@dataclass(slots=True)
class EdlGrade:
    """The grade carried by one EDL event: event number, reel, clip name (from ``* FROM CLIP NAME:``)."""

    event: int
    reel: str
    clip_name: str
    cdl: Cdl
    line: int = 0
    extra: dict[str, str] = field(default_factory=dict)


def parse_edl_cdls(text: str, *, source: str = "<edl>") -> list[EdlGrade]:
    """The ``*ASC_SOP``/``*ASC_SAT`` comments of a CMX 3600 EDL, one :class:`EdlGrade` per graded event.

    A CDL's id is the clip name when the event names one, else the reel. Saturation without SOP is read
    with identity SOP; SOP without saturation has saturation 1.
    """
    grades: list[EdlGrade] = []
    cur: dict[str, Any] | None = None

    def flush() -> None:
        if cur is not None and (cur["sop"] is not None or cur["sat"] is not None):
            sop = cur["sop"] or ([1.0] * 3, [0.0] * 3, [1.0] * 3)
            name = cur["clip"] or cur["reel"]
            cdl = Cdl(
                name,
                tuple(sop[0]),
                tuple(sop[1]),
                tuple(sop[2]),
                cur["sat"] if cur["sat"] is not None else 1.0,
            )
            grades.append(EdlGrade(cur["event"], cur["reel"], cur["clip"], cdl, cur["line"]))

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        where = f"{source}, line {lineno}"
        m = _event(line)
        if m is not None:
            ev = int(m.group(1))
            if cur is None or cur["event"] != ev:  # a dissolve's second line shares the event number
                flush()
                cur = {"event": ev, "reel": m.group(2), "clip": "", "sop": None, "sat": None, "line": lineno}
            continue
        if cur is None:
            continue
        if sm := _SOP_RE.search(line):
            cur["sop"] = tuple(_floats(sm.group(i), 3, "ASC_SOP", where) for i in (1, 2, 3))
        elif tm := _SAT_RE.search(line):
            cur["sat"] = _floats(tm.group(1), 1, "ASC_SAT", where)[0]
        elif line.lstrip().upper().startswith("* FROM CLIP NAME") or line.lstrip().upper().startswith(
            "*FROM CLIP NAME"
        ):
            cur["clip"] = line.split(":", 1)[1].strip() if ":" in line else ""
    flush()
    return grades


def _edl_comment(cdl: Cdl) -> list[str]:
    return [
        f"*ASC_SOP ({_fmt3(cdl.slope)})({_fmt3(cdl.offset)})({_fmt3(cdl.power)})",
        f"*ASC_SAT {cdl.saturation:.{_DECIMALS}f}",
    ]


def write_edl_cdls(text: str, grades: dict[str, Cdl] | dict[int, Cdl], *, strip_existing: bool = True) -> str:
    """Insert ``*ASC_SOP``/``*ASC_SAT`` comments after each event of EDL ``text`` whose event number (int
    key) or clip name / reel (str key) has a grade. Existing ASC comments are removed first unless
    ``strip_existing`` is False. Returns the new EDL text."""
    lines = text.splitlines()
    # group lines by event: an event runs from its first event line to the next event's line
    out: list[str] = []
    blocks: list[tuple[int | None, str, list[str]]] = []  # (event, reel, lines)
    head: list[str] = []
    for line in lines:
        m = _event(line)
        if m is not None:
            ev = int(m.group(1))
            if blocks and blocks[-1][0] == ev:
                blocks[-1][2].append(line)
            else:
                blocks.append((ev, m.group(2), [line]))
            continue
        if strip_existing and (_SOP_RE.search(line) or _SAT_RE.search(line)):
            continue
        (blocks[-1][2] if blocks else head).append(line)
    out.extend(head)
    for event, reel, blines in blocks:
        clip = ""
        for bl in blines:
            s = bl.lstrip().upper()
            if s.startswith("* FROM CLIP NAME") or s.startswith("*FROM CLIP NAME"):
                clip = bl.split(":", 1)[1].strip()
        cdl = None
        for key in (event, clip, reel):
            if key != "" and key in grades:
                cdl = grades[key]  # type: ignore[index]
                break
        if cdl is None:
            out.extend(blines)
            continue
        # comments go after the event line(s) and the clip-name comments, before a blank line
        body = list(blines)
        while body and not body[-1].strip():
            body.pop()
        trailing = blines[len(body) :]
        out.extend(body)
        out.extend(_edl_comment(cdl))
        out.extend(trailing)
    return "\n".join(out) + "\n"


# --- files ----------------------------------------------------------------------------------------------


def read_cdl_file(path: str | Path) -> list[Cdl]:
    """Read CDLs from ``.cdl``/``.cc``/``.ccc``/``.xml`` (ASC XML) or ``.edl`` (ASC comments) or ``.json``
    (a list of :meth:`Cdl.to_dict` mappings, or ``{"cdls": [...]}``)."""
    import json

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read CDL file: {exc.strerror}", path=p) from exc
    suffix = p.suffix.lower()
    if suffix == ".edl":
        grades = parse_edl_cdls(text, source=str(p))
        if not grades:
            raise UsageError("no *ASC_SOP / *ASC_SAT comments in this EDL", path=p)
        return [g.cdl for g in grades]
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"not valid JSON: {exc}", path=p, where=f"line {exc.lineno}") from exc
        items = data.get("cdls", []) if isinstance(data, dict) else data
        return [Cdl.from_dict(d) for d in items]
    return parse_cdl_xml(text, source=str(p))


def write_cdl_file(path: str | Path, cdls: list[Cdl], *, edl_template: str | None = None) -> Path:
    """Write ``cdls`` to ``path``; the kind follows the suffix (``.cc``, ``.ccc``, ``.cdl``, ``.json``,
    ``.edl``). For ``.edl`` the comments go into ``edl_template`` (matched by CDL id = clip name or reel)
    or, without one, into a minimal EDL with one 1-frame event per CDL named by its id."""
    import json

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".cc", ".ccc", ".cdl"):
        text = cdl_to_xml(cdls, suffix[1:])
    elif suffix == ".json":
        text = json.dumps({"cdls": [c.to_dict() for c in cdls]}, indent=2) + "\n"
    elif suffix == ".edl":
        if edl_template is None:
            lines = ["TITLE: CDL", "FCM: NON-DROP FRAME", ""]
            for i, c in enumerate(cdls, 1):
                reel = (c.id or f"R{i}")[:32].replace(" ", "_")
                tc_in = f"01:00:{(i - 1) // 24 % 60:02d}:{(i - 1) % 24:02d}"
                tc_out = f"01:00:{i // 24 % 60:02d}:{i % 24:02d}"
                lines += [f"{i:03d}  {reel} V     C        {tc_in} {tc_out} {tc_in} {tc_out}"]
                lines += [f"* FROM CLIP NAME: {c.id}", ""]
            edl_template = "\n".join(lines)
        text = write_edl_cdls(edl_template, {c.id: c for c in cdls})
    else:
        raise UsageError(
            f"unknown CDL file type {p.suffix!r}", path=p, hint="use .cc, .ccc, .cdl, .edl or .json"
        )
    atomic_write_text(p, text)
    return p
