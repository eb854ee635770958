"""Sound palettes as data: ensembles of instruments with ranges, transpositions, clefs and speed limits.

A palette is a TOML file: the built-in ones ship in ``posthouse/score/palettes/`` (``string-quartet``,
``wind-quintet``, ``brass-quintet``, ``chamber-orchestra``, ``guitar-trio``); a user passes their own file
with the same layout::

    name = "String quartet"
    description = "Two violins, viola and cello."
    lead = "Violin I"            # optional: the preferred melody instrument

    [[instrument]]               # one table per instrument, in score order (top to bottom)
    name = "Violin I"
    abbreviation = "Vln. I"
    program = 40                 # General MIDI program, 0-based as in mido/pretty_midi (Violin = 40)
    family = "strings"           # woodwinds, brass, percussion, keyboards, plucked, strings, voices
    lowest = "G3"                # sounding range, scientific pitch names (C4 = middle C = MIDI 60)
    highest = "E7"
    transposition = "P1"         # written -> sounding interval: "M-2" Bb clarinet, "P-5" horn in F,
                                 # "P-8" double bass and guitar, "P8" piccolo ("P1" or absent: in C)
    clef = "treble"              # treble, bass, alto, tenor, treble8vb, bass8vb, percussion
    max_notes_per_second = 16    # fastest practical repeated/running notes
    max_leap = 24                # optional, semitones: wider leaps between adjacent notes are reported

Ranges are *sounding* pitches (what the audience hears); the written part is the sounding line moved by the
inverse of ``transposition``. Pitch names take ``#``/``b`` (or music21's ``-``) accidentals.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from posthouse.core.errors import UsageError

__all__ = [
    "CLEFS",
    "FAMILIES",
    "Instrument",
    "Palette",
    "builtin_palettes",
    "interval_semitones",
    "load_palette",
    "parse_palette",
    "pitch_name",
    "pitch_number",
]

CLEFS: Final = ("alto", "bass", "bass8vb", "percussion", "tenor", "treble", "treble8vb")
FAMILIES: Final = ("brass", "keyboards", "percussion", "plucked", "strings", "voices", "woodwinds")

_PITCH = re.compile(r"^([A-Ga-g])(#{1,2}|b{1,2}|-{1,2}|)(-?\d+)$")
_STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ALTER = {"": 0, "#": 1, "##": 2, "b": -1, "bb": -2, "-": -1, "--": -2}
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_INTERVAL = re.compile(r"^([PMmAd])(-?)(\d+)$")
# semitones of the simple intervals by generic number (1..7): perfect or major size
_SIZE = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 11}
_PERFECT = {1, 4, 5}


def pitch_number(name: str) -> int:
    """MIDI note number of a scientific pitch name (``"C4"`` → 60, ``"Bb2"`` → 46, ``"F#5"`` → 78)."""
    m = _PITCH.match(name.strip())
    if not m:
        raise ValueError(f"{name!r} is not a pitch name like C4, Bb2 or F#5")
    letter, acc, octave = m.groups()
    number = (int(octave) + 1) * 12 + _STEP[letter.upper()] + _ALTER[acc]
    if not 0 <= number <= 127:
        raise ValueError(f"{name!r} is outside the MIDI range C-1..G9")
    return number


def pitch_name(number: int) -> str:
    """Scientific pitch name of a MIDI note number (flats for black keys: 70 → ``"Bb4"``)."""
    return f"{_NAMES[number % 12]}{number // 12 - 1}"


def interval_semitones(name: str) -> int:
    """Semitones of an interval name in music21's notation (``"M-2"`` → -2, ``"P-5"`` → -7, ``"P8"`` → 12)."""
    m = _INTERVAL.match(name.strip())
    if not m:
        raise ValueError(f"{name!r} is not an interval like P1, M-2, P-5, m3 or P-8")
    quality, sign, num_text = m.groups()
    number = int(num_text)
    if number < 1:
        raise ValueError(f"{name!r}: the interval number starts at 1 (unison)")
    octaves, simple = divmod(number - 1, 7)
    simple += 1
    perfect = simple in _PERFECT
    if (perfect and quality in "Mm") or (not perfect and quality == "P"):
        raise ValueError(f"{name!r}: a {simple}th is {'perfect' if perfect else 'major or minor'}")
    size = _SIZE[simple] + 12 * octaves
    size += {"P": 0, "M": 0, "m": -1, "A": 1, "d": -1 if perfect else -2}[quality]
    return -size if sign else size


@dataclass(frozen=True, slots=True)
class Instrument:
    """One instrument of a palette; ``lowest``/``highest`` are sounding MIDI note numbers."""

    name: str
    abbreviation: str
    program: int
    family: str
    lowest: int
    highest: int
    transposition: str = "P1"
    clef: str = "treble"
    max_notes_per_second: float = 12.0
    max_leap: int = 19

    @property
    def transposition_semitones(self) -> int:
        """Sounding minus written pitch in semitones (Bb clarinet: -2)."""
        return interval_semitones(self.transposition)

    @property
    def centre(self) -> float:
        """The middle of the sounding range (a MIDI note number, maybe fractional)."""
        return (self.lowest + self.highest) / 2.0

    def in_range(self, pitch: int) -> bool:
        """Whether a sounding MIDI pitch is playable."""
        return self.lowest <= pitch <= self.highest

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (pitches as names, like the TOML)."""
        return {
            "name": self.name,
            "abbreviation": self.abbreviation,
            "program": self.program,
            "family": self.family,
            "lowest": pitch_name(self.lowest),
            "highest": pitch_name(self.highest),
            "transposition": self.transposition,
            "clef": self.clef,
            "max_notes_per_second": self.max_notes_per_second,
            "max_leap": self.max_leap,
        }


@dataclass(frozen=True, slots=True)
class Palette:
    """An ensemble: instruments in score order, and optionally the preferred melody instrument."""

    name: str
    instruments: tuple[Instrument, ...]
    description: str = ""
    lead: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "name": self.name,
            "description": self.description,
            "lead": self.lead,
            "source": self.source,
            "instruments": [i.to_dict() for i in self.instruments],
        }


def _palette_dir() -> Any:
    return resources.files("posthouse.score").joinpath("palettes")


def builtin_palettes() -> list[str]:
    """Names of the palettes shipped with posthouse (file stems: ``string-quartet``…)."""
    return sorted(p.name[:-5] for p in _palette_dir().iterdir() if p.name.endswith(".toml"))


def _instrument(doc: Any, index: int, where: str) -> Instrument:
    label = f"[[instrument]] {index}"
    if not isinstance(doc, dict):
        raise UsageError("each [[instrument]] must be a table", path=where, where=label)
    if isinstance(doc.get("name"), str) and doc["name"].strip():
        label += f" ({doc['name']})"

    def fail(key: str, message: str, hint: str | None = None) -> UsageError:
        return UsageError(message, path=where, where=f"{label}, key {key!r}", hint=hint)

    def text(key: str, default: str | None = None) -> str:
        value = doc.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise fail(key, f"must be a non-empty string, not {value!r}")
        return value.strip()

    def number(key: str, default: float | None = None, *, lo: float, hi: float) -> float:
        value = doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(key, f"must be a number, not {value!r}")
        if not lo <= value <= hi:
            raise fail(key, f"{value} is outside {lo:g}..{hi:g}")
        return float(value)

    def pitch(key: str) -> int:
        value = text(key)
        try:
            return pitch_number(value)
        except ValueError as exc:
            raise fail(key, str(exc), hint="write scientific pitch names, C4 = middle C") from exc

    name = text("name")
    family = text("family").lower()
    if family not in FAMILIES:
        raise fail("family", f"unknown family {family!r}", hint=f"use one of {', '.join(FAMILIES)}")
    clef = text("clef", "treble").lower()
    if clef not in CLEFS:
        raise fail("clef", f"unknown clef {clef!r}", hint=f"use one of {', '.join(CLEFS)}")
    transposition = text("transposition", "P1")
    try:
        interval_semitones(transposition)
    except ValueError as exc:
        raise fail("transposition", str(exc), hint="written → sounding, e.g. M-2 for a Bb clarinet") from exc
    lowest, highest = pitch("lowest"), pitch("highest")
    if highest - lowest < 12:
        raise fail("highest", f"the range {doc['lowest']}..{doc['highest']} is less than an octave")
    unknown = sorted(set(doc) - _INSTRUMENT_KEYS)
    if unknown:
        raise fail(unknown[0], "unknown key", hint=f"known keys: {', '.join(sorted(_INSTRUMENT_KEYS))}")
    return Instrument(
        name=name,
        abbreviation=text("abbreviation", name[:4] + "."),
        program=int(number("program", lo=0, hi=127)),
        family=family,
        lowest=lowest,
        highest=highest,
        transposition=transposition,
        clef=clef,
        max_notes_per_second=number("max_notes_per_second", 12.0, lo=0.5, hi=50.0),
        max_leap=int(number("max_leap", 19, lo=1, hi=60)),
    )


_INSTRUMENT_KEYS: Final = frozenset(
    {
        "name",
        "abbreviation",
        "program",
        "family",
        "lowest",
        "highest",
        "transposition",
        "clef",
        "max_notes_per_second",
        "max_leap",
    }
)


def parse_palette(doc: dict[str, Any], where: str | Path = "<palette>") -> Palette:
    """A :class:`Palette` from a parsed TOML document; errors name ``where`` and the instrument and key."""
    src = str(where)
    items = doc.get("instrument")
    if not isinstance(items, list) or not items:
        raise UsageError(
            "a palette needs at least one [[instrument]] table", path=src, where="key 'instrument'"
        )
    instruments = tuple(_instrument(item, i, src) for i, item in enumerate(items, 1))
    names = [i.name for i in instruments]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(
            f"instrument names must be unique: {', '.join(dupes)}",
            path=src,
            where="key 'name'",
            hint='number them, e.g. "Violin I", "Violin II"',
        )
    lead = doc.get("lead")
    if lead is not None and lead not in names:
        raise UsageError(f"lead {lead!r} is not one of the instruments", path=src, where="key 'lead'")
    stem = Path(src).stem
    return Palette(
        name=str(doc.get("name") or stem),
        instruments=instruments,
        description=str(doc.get("description", "")),
        lead=lead,
        source=src,
    )


def load_palette(name_or_path: str | Path) -> Palette:
    """A built-in palette by name (``string-quartet``…) or a user's TOML file."""
    p = Path(name_or_path)
    is_file = p.suffix.lower() == ".toml"  # a missing "NAME.toml" of a built-in name loads the built-in
    if is_file and (p.is_file() or p.stem.lower() not in builtin_palettes()):
        if not p.is_file():
            raise UsageError(
                "no such palette file", path=p, hint=f"built-in: {', '.join(builtin_palettes())}"
            )
        try:
            doc = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the palette: {exc}", path=p) from exc
        return parse_palette(doc, p)
    name = p.stem.lower() if is_file else str(name_or_path).lower()
    res = _palette_dir().joinpath(f"{name}.toml")
    if not res.is_file():
        raise UsageError(
            f"unknown palette {str(name_or_path)!r}",
            hint=f"built-in: {', '.join(builtin_palettes())}; or give a .toml file",
        )
    return parse_palette(tomllib.loads(res.read_text(encoding="utf-8")), f"{name}.toml")
