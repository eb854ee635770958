"""ISDCF Digital Cinema Naming Convention (v9.x): build a DCP's name from its parts and parse one back.

A name has twelve fields joined by ``_``::

    FilmTitle_FTR-1_F_EN-XX_US-13_51_2K_STUDIO_20261124_FAC_SMPTE_OV
    title     kind  aspect language territory-rating audio resolution studio date facility standard package

- title: up to 14 letters, digits or ``-`` (no spaces, no accents);
- kind: FTR, TLR, TSR, PRO, TST, RTG-F, RTG-T, SHR, ADV, XSN, PSA, POL, CLP, STR, HLT, EVT, optionally ``-N``
  for the version (``FTR-1``);
- aspect: ``F`` (flat 1.85), ``S`` (scope 2.39) or ``C`` (full container), optionally ``-NNN`` for the image
  aspect ratio inside the container (``F-133``);
- language: audio language ``-`` subtitle language (``XX`` none), upper case 2–3 letters;
- territory and rating: ``US-13``; audio: ``10``, ``20``, ``51``, ``71`` or ``MOS``;
- resolution ``2K``/``4K``; studio and facility: 2–6 upper-case letters or digits (ISDCF asks for 2–4);
  date ``YYYYMMDD``;
- standard ``SMPTE`` (or ``IOP``) and package ``OV`` or ``VF`` (optionally ``-N``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from posthouse.core.errors import UsageError

__all__ = ["CONTENT_KINDS", "KIND_CODES", "IsdcfName", "isdcf_title", "parse_isdcf_name"]

#: ISDCF content-type codes and the CPL ``ContentKind`` (SMPTE ST 429-7) each stands for.
KIND_CODES: dict[str, str] = {
    "FTR": "feature",
    "TLR": "trailer",
    "TSR": "teaser",
    "PRO": "promo",
    "TST": "test",
    "RTG-F": "rating",
    "RTG-T": "rating",
    "SHR": "short",
    "ADV": "advertisement",
    "XSN": "transitional",
    "PSA": "psa",
    "POL": "policy",
    "CLP": "clip",
    "STR": "stereocard",
    "HLT": "highlight",
    "EVT": "event",
}
#: CPL content kinds → ISDCF code (the first code naming each kind).
CONTENT_KINDS: dict[str, str] = {kind: code for code, kind in reversed(KIND_CODES.items())}

_TITLE = re.compile(r"[A-Za-z0-9-]{1,14}")
_KIND = re.compile(r"(?P<code>RTG-F|RTG-T|[A-Z]{3})(?:-(?P<version>\d+))?")
_ASPECT = re.compile(r"(?P<aspect>[FSC])(?:-(?P<ratio>\d{1,3}))?")
_LANG = re.compile(r"(?P<audio>[A-Z]{2,3})-(?P<subs>[A-Z]{2,3})")
_TERRITORY = re.compile(r"(?P<territory>[A-Z]{2,3})(?:-(?P<rating>[A-Z0-9+]{1,3}))?")
_AUDIO = re.compile(r"10|20|51|71|MOS")
_RES = re.compile(r"2K|4K")
_CODE = re.compile(r"[A-Z0-9]{2,6}")  # ISDCF asks for 2–4; longer codes are seen in the wild
_DATE = re.compile(r"\d{8}")
_STANDARD = re.compile(r"SMPTE|IOP")
_PACKAGE = re.compile(r"(?P<type>OV|VF)(?:-(?P<version>\d+))?")


def isdcf_title(text: str, limit: int = 14) -> str:
    """A film title shortened to ISDCF form: accents dropped, words CamelCased, only ``A-Za-z0-9-``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[A-Za-z0-9]+", plain)
    out = "".join(w[:1].upper() + w[1:] for w in words)[:limit]
    return out or "Untitled"


def _bad(name: str, field: str, value: str, why: str) -> UsageError:
    return UsageError(
        f"ISDCF name {name!r}: {field} {value!r} {why}",
        where="ISDCF naming convention",
        hint="e.g. FilmTitle_FTR-1_F_EN-XX_US-13_51_2K_STUDIO_20261124_FAC_SMPTE_OV",
    )


@dataclass(frozen=True, slots=True)
class IsdcfName:
    """The fields of an ISDCF name; :meth:`build` joins and validates them."""

    title: str
    kind: str = "FTR"
    version: int | None = 1
    aspect: str = "F"
    image_ratio: int | None = None
    audio_language: str = "EN"
    subtitle_language: str = "XX"
    territory: str = "US"
    rating: str = ""
    audio: str = "51"
    resolution: str = "2K"
    studio: str = "PH"
    date: date | None = None
    facility: str = "PH"
    standard: str = "SMPTE"
    package: str = "OV"
    package_version: int | None = None

    @property
    def content_kind(self) -> str:
        """The CPL ``ContentKind`` for :attr:`kind` (``feature`` for FTR)."""
        return KIND_CODES.get(self.kind, "feature")

    def build(self) -> str:
        """The name as one string; raises UsageError naming the bad field."""
        day = (self.date or date.today()).strftime("%Y%m%d")
        parts = [
            self.title,
            self.kind + (f"-{self.version}" if self.version is not None else ""),
            self.aspect + (f"-{self.image_ratio}" if self.image_ratio is not None else ""),
            f"{self.audio_language.upper()}-{(self.subtitle_language or 'XX').upper()}",
            self.territory.upper() + (f"-{self.rating.upper()}" if self.rating else ""),
            self.audio,
            self.resolution,
            self.studio.upper(),
            day,
            self.facility.upper(),
            self.standard,
            self.package + (f"-{self.package_version}" if self.package_version is not None else ""),
        ]
        name = "_".join(parts)
        parse_isdcf_name(name)  # validates every field, naming the first bad one
        return name


def parse_isdcf_name(name: str) -> IsdcfName:
    """Parse an ISDCF name into its fields; UsageError says which field is wrong and why."""
    fields = name.split("_")
    if len(fields) != 12:
        raise UsageError(
            f"ISDCF name {name!r} has {len(fields)} fields, expected 12 separated by '_'",
            where="ISDCF naming convention",
            hint="title_kind_aspect_lang_territory_audio_res_studio_date_facility_standard_package",
        )
    title, kind, aspect, lang, territory, audio, res, studio, day, facility, standard, package = fields
    if not _TITLE.fullmatch(title):
        raise _bad(name, "title", title, "must be 1–14 letters, digits or '-'")
    mk = _KIND.fullmatch(kind)
    if not mk or mk["code"] not in KIND_CODES:
        raise _bad(name, "content type", kind, f"is not one of {', '.join(KIND_CODES)} (with -N version)")
    ma = _ASPECT.fullmatch(aspect)
    if not ma:
        raise _bad(name, "aspect", aspect, "must be F, S or C (optionally -NNN)")
    ml = _LANG.fullmatch(lang)
    if not ml:
        raise _bad(name, "language", lang, "must be AUDIO-SUBTITLE, e.g. EN-XX or FR-EN")
    mt = _TERRITORY.fullmatch(territory)
    if not mt:
        raise _bad(name, "territory", territory, "must be a territory code and rating, e.g. US-13")
    if not _AUDIO.fullmatch(audio):
        raise _bad(name, "audio", audio, "must be 10, 20, 51, 71 or MOS")
    if not _RES.fullmatch(res):
        raise _bad(name, "resolution", res, "must be 2K or 4K")
    if not _CODE.fullmatch(studio):
        raise _bad(name, "studio", studio, "must be 2–6 upper-case letters or digits")
    if not _DATE.fullmatch(day):
        raise _bad(name, "date", day, "must be YYYYMMDD")
    try:
        when = date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError as exc:
        raise _bad(name, "date", day, f"is not a calendar date ({exc})") from exc
    if not _CODE.fullmatch(facility):
        raise _bad(name, "facility", facility, "must be 2–6 upper-case letters or digits")
    if not _STANDARD.fullmatch(standard):
        raise _bad(name, "standard", standard, "must be SMPTE or IOP")
    mp = _PACKAGE.fullmatch(package)
    if not mp:
        raise _bad(name, "package type", package, "must be OV or VF (optionally -N)")
    return IsdcfName(
        title=title,
        kind=mk["code"],
        version=int(mk["version"]) if mk["version"] else None,
        aspect=ma["aspect"],
        image_ratio=int(ma["ratio"]) if ma["ratio"] else None,
        audio_language=ml["audio"],
        subtitle_language=ml["subs"],
        territory=mt["territory"],
        rating=mt["rating"] or "",
        audio=audio,
        resolution=res,
        studio=studio,
        date=when,
        facility=facility,
        standard=standard,
        package=mp["type"],
        package_version=int(mp["version"]) if mp["version"] else None,
    )
