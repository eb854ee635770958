"""Exact, rational time: frame rates, SMPTE timecode, seconds, audio samples and OpenTimelineIO time.

Every conversion here is closed-form integer / :class:`~fractions.Fraction` arithmetic: no float seconds and
no per-frame loops. Floats appear only at the OpenTimelineIO boundary, whose ``RationalTime`` stores a float
value and rate.

Frame counts are integers counted from midnight (label ``00:00:00:00``); one frame at 29.97 fps lasts exactly
1001/30000 s. A timecode label is only a *name* for a frame count: drop-frame (DF) renumbers labels so the
count tracks the wall clock, it never drops pictures.

Timecode labels
    Non-drop: ``HH:MM:SS:FF``. Drop-frame: ``HH:MM:SS;FF``, and as used by some systems ``HH;MM;SS;FF``,
    ``HH:MM:SS.FF`` and ``HH:MM:SS,FF``. Drop-frame is decided by the separator, never by the rate
    (production sound is often 29.97 NDF). DF exists only at 29.97 (labels ;00 and ;01 skipped at the start
    of every minute not divisible by 10) and 59.94 (;00–;03 skipped). Hours may be one or two digits;
    minutes, seconds and frames are exactly two. Labels wrap at 24 h.

Rounding
    Frames → samples rounds *up* (``ceil``) by default: the result is the first sample at or after the
    frame's start. Samples → frames (and seconds → frames) rounds *down* (``floor``): the frame that is
    showing at that instant. The pair round-trips exactly: ``samples_to_frames(frames_to_samples(f)) == f``.
    Every such function takes ``rounding=`` to choose otherwise, and ``*_exact`` variants return a Fraction.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal, TypeAlias, overload

from opentimelineio.opentime import RationalTime, TimeRange

from posthouse.core.errors import TimecodeError

__all__ = [
    "RATE_23_976",
    "RATE_24",
    "RATE_25",
    "RATE_29_97",
    "RATE_30",
    "RATE_47_952",
    "RATE_48",
    "RATE_50",
    "RATE_59_94",
    "RATE_60",
    "SUPPORTED_RATES",
    "Rate",
    "RateLike",
    "Rounding",
    "Timecode",
    "frames_per_day",
    "frames_to_rational_time",
    "frames_to_samples",
    "frames_to_samples_exact",
    "frames_to_seconds",
    "frames_to_time_range",
    "frames_to_timecode",
    "is_drop_label",
    "rational_time_to_frames",
    "rational_time_to_seconds",
    "samples_to_frames",
    "samples_to_seconds",
    "samples_to_timecode",
    "seconds_to_frames",
    "seconds_to_samples",
    "time_range_to_frames",
    "timecode_to_frames",
    "timecode_to_samples",
]

Rounding: TypeAlias = Literal["floor", "ceil", "nearest", "exact"]
"""How a non-integral result becomes an integer: ``floor``, ``ceil``, ``nearest`` (halves round up, towards
+∞) or ``exact`` (raise :class:`TimecodeError` unless the value is already whole)."""

_SECONDS_PER_DAY: Final = 86_400
_MINUTES_PER_DAY: Final = 1_440
# Tolerance when matching a decimal spelling ("23.98", "29.97") to an exact rate. Supported rates are at
# least 0.024 fps apart, so this is unambiguous.
_RATE_TOLERANCE: Final = Fraction(1, 100)
# RationalTime values are floats: a result this close to a whole frame is taken as that frame.
_OTIO_SNAP: Final = Fraction(1, 1_000_000)

# (numerator, denominator, trade name)
_RATE_TABLE: Final[tuple[tuple[int, int, str], ...]] = (
    (24000, 1001, "23.976"),
    (24, 1, "24"),
    (25, 1, "25"),
    (30000, 1001, "29.97"),
    (30, 1, "30"),
    (48000, 1001, "47.952"),
    (48, 1, "48"),
    (50, 1, "50"),
    (60000, 1001, "59.94"),
    (60, 1, "60"),
)
_NAMES: Final[dict[Fraction, str]] = {Fraction(n, d): name for n, d, name in _RATE_TABLE}
_SUPPORTED_TEXT: Final = ", ".join(name for _, _, name in _RATE_TABLE)


def _round(value: Fraction, rounding: Rounding, what: str) -> int:
    if rounding not in ("floor", "ceil", "nearest", "exact"):
        raise TimecodeError(f"unknown rounding {rounding!r}", hint="use floor, ceil, nearest or exact")
    if value.denominator == 1:
        return value.numerator
    if rounding == "floor":
        return math.floor(value)
    if rounding == "ceil":
        return math.ceil(value)
    if rounding == "nearest":
        return math.floor(value + Fraction(1, 2))
    raise TimecodeError(f"{what} {value} ({float(value):.6f}) is not a whole number", hint="pick a rounding")


def _as_int(value: object) -> int | None:
    """``value`` as an int when it is an integer (int, numpy integer...) but not a bool, else None."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def _require_int(value: object, what: str) -> int:
    number = _as_int(value)
    if number is None:
        raise TimecodeError(f"{what} must be an integer, not {type(value).__name__} {value!r}")
    return number


def _require_seconds(value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise TimecodeError(
            f"seconds must be a Fraction or int, not {type(value).__name__} {value!r}",
            hint="floats are inexact; use fractions.Fraction('12.5')",
        )
    return Fraction(value)


def _require_sample_rate(value: object) -> int:
    rate = _require_int(value, "sample rate")
    if rate <= 0:
        raise TimecodeError(f"sample rate must be positive, not {rate}")
    return rate


# --------------------------------------------------------------------------------------------------- Rate


@dataclass(frozen=True, slots=True, repr=False)
class Rate:
    """A supported picture frame rate, held as the exact fraction ``num/den`` frames per second."""

    num: int
    den: int = 1

    def __post_init__(self) -> None:
        num = _require_int(self.num, "rate numerator")
        den = _require_int(self.den, "rate denominator")
        if den <= 0:
            raise TimecodeError(f"rate denominator must be positive, not {den}")
        fps = Fraction(num, den)
        if fps not in _NAMES:
            raise TimecodeError(
                f"unsupported frame rate {num}/{den} ({float(fps):.6g} fps)",
                hint=f"supported rates: {_SUPPORTED_TEXT}",
            )
        object.__setattr__(self, "num", fps.numerator)
        object.__setattr__(self, "den", fps.denominator)

    @classmethod
    def parse(cls, value: RateLike) -> Rate:
        """Read a rate from ``"23.976"``, ``"23.98"``, ``"24000/1001"``, ``"29.97"``, ``"24"``, ``"25fps"``,
        an int, a Fraction or a float (e.g. an OpenTimelineIO rate). Decimal spellings match the nearest
        supported rate within 0.01 fps; anything else raises :class:`TimecodeError`."""
        if isinstance(value, Rate):
            return value
        exact = _rate_value(value)
        if exact in _NAMES:
            return cls(exact.numerator, exact.denominator)
        best = min(_NAMES, key=lambda fps: abs(fps - exact))
        if abs(best - exact) < _RATE_TOLERANCE:
            return cls(best.numerator, best.denominator)
        raise TimecodeError(f"unsupported frame rate {value!r}", hint=f"supported rates: {_SUPPORTED_TEXT}")

    @property
    def fps(self) -> Fraction:
        """Exact frames per second."""
        return Fraction(self.num, self.den)

    @property
    def timebase(self) -> int:
        """Frame labels per timecode second: 24 for 23.976, 30 for 29.97, 60 for 59.94."""
        return -(-self.num // self.den)

    @property
    def drop_capable(self) -> bool:
        """True for 29.97 and 59.94, the only rates with a drop-frame labelling."""
        return self.den == 1001 and self.timebase in (30, 60)

    @property
    def drops_per_minute(self) -> int:
        """Labels skipped at each dropped minute in drop-frame (2 at 29.97, 4 at 59.94; 0 elsewhere)."""
        return self.timebase // 15 if self.drop_capable else 0

    @property
    def frame_duration(self) -> Fraction:
        """Exact length of one frame in seconds."""
        return Fraction(self.den, self.num)

    @property
    def otio_rate(self) -> float:
        """The rate as OpenTimelineIO stores it (a float)."""
        return self.num / self.den

    def frames_per_day(self, drop: bool = False) -> int:
        """Frames in 24 h of labels: ``timebase × 86400`` non-drop, fewer in drop-frame."""
        return frames_per_day(self, drop)

    def __str__(self) -> str:
        return _NAMES[self.fps]

    def __repr__(self) -> str:
        return f"Rate({str(self)!r})"


def _rate_value(value: object) -> Fraction:
    if isinstance(value, bool):
        raise TimecodeError(f"unsupported frame rate {value!r}", hint=f"supported rates: {_SUPPORTED_TEXT}")
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TimecodeError(
                f"unsupported frame rate {value!r}", hint=f"supported rates: {_SUPPORTED_TEXT}"
            )
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip().lower().removesuffix("fps").replace(" ", "")
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise TimecodeError(
                f"cannot read frame rate {value!r}", hint=f"supported rates: {_SUPPORTED_TEXT}"
            ) from None
    raise TimecodeError(f"cannot read frame rate from {type(value).__name__} {value!r}")


RateLike: TypeAlias = Rate | str | int | Fraction | float
"""Anything :meth:`Rate.parse` accepts."""

RATE_23_976: Final = Rate(24000, 1001)
RATE_24: Final = Rate(24)
RATE_25: Final = Rate(25)
RATE_29_97: Final = Rate(30000, 1001)
RATE_30: Final = Rate(30)
RATE_47_952: Final = Rate(48000, 1001)
RATE_48: Final = Rate(48)
RATE_50: Final = Rate(50)
RATE_59_94: Final = Rate(60000, 1001)
RATE_60: Final = Rate(60)
SUPPORTED_RATES: Final[tuple[Rate, ...]] = (
    RATE_23_976,
    RATE_24,
    RATE_25,
    RATE_29_97,
    RATE_30,
    RATE_47_952,
    RATE_48,
    RATE_50,
    RATE_59_94,
    RATE_60,
)


def _check_drop(rate: Rate, drop: bool, label: str | None = None) -> None:
    if drop and not rate.drop_capable:
        head, hint = "drop-frame requested", "label it non-drop (drop=False)"
        if label is not None:
            # Frames are always two digits, so the frame separator is third from the end.
            head = f"timecode {label!r}: drop-frame separator {label.strip()[-3]!r}"
            hint = "use ':' separators for non-drop timecode"
        raise TimecodeError(
            f"{head} at {rate} fps, which has no drop-frame (only 29.97 and 59.94 do)", hint=hint
        )


def frames_per_day(rate: RateLike, drop: bool = False) -> int:
    """Frames in one day of labels (where timecode wraps): 2589408 at 29.97 DF, 5178816 at 59.94 DF,
    ``timebase × 86400`` non-drop."""
    r = Rate.parse(rate)
    _check_drop(r, drop)
    day = r.timebase * _SECONDS_PER_DAY
    if drop:
        # Every minute but each tenth drops its first labels: 1440 − 144 = 1296 dropping minutes.
        day -= r.drops_per_minute * (_MINUTES_PER_DAY - _MINUTES_PER_DAY // 10)
    return day


# ---------------------------------------------------------------------------------------- label parsing

_LABEL_RE: Final = re.compile(r"(\d{1,2})([:;])(\d{2})([:;])(\d{2})([:;.,])(\d{2})")
_DF_SEPARATORS: Final = frozenset(";.,")
_ACCEPTED: Final = "HH:MM:SS:FF (non-drop) or HH:MM:SS;FF, HH;MM;SS;FF, HH:MM:SS.FF, HH:MM:SS,FF (drop-frame)"


def _split_label(label: str) -> tuple[int, int, int, int, bool]:
    """Split a label into (hours, minutes, seconds, frames, drop) and check the separators."""
    if not isinstance(label, str):
        raise TimecodeError(f"timecode label must be a string, not {type(label).__name__} {label!r}")
    m = _LABEL_RE.fullmatch(label.strip())
    if m is None:
        raise TimecodeError(f"cannot read timecode {label!r}", hint=f"expected {_ACCEPTED}")
    hh, s1, mm, s2, ss, s3, ff = m.groups()
    seps = (s1, s2, s3)
    if seps == (":", ":", ":"):
        drop = False
    elif s3 in _DF_SEPARATORS and (s1, s2) in ((":", ":"), (";", ";")) and (s1 == ":" or s3 == ";"):
        drop = True
    else:
        raise TimecodeError(
            f"timecode {label!r} mixes separators {''.join(seps)!r}", hint=f"expected {_ACCEPTED}"
        )
    return int(hh), int(mm), int(ss), int(ff), drop


def is_drop_label(label: str) -> bool:
    """True when ``label`` is written with drop-frame separators (``;``, ``.`` or ``,`` before frames)."""
    return _split_label(label)[4]


def _label_to_frames(label: str, rate: Rate) -> tuple[int, bool]:
    hh, mm, ss, ff, drop = _split_label(label)
    _check_drop(rate, drop, label)
    tb = rate.timebase
    if hh >= 24:
        raise TimecodeError(f"timecode {label!r}: hours {hh:02d} out of range (00–23)")
    if mm >= 60:
        raise TimecodeError(f"timecode {label!r}: minutes {mm:02d} out of range (00–59)")
    if ss >= 60:
        raise TimecodeError(f"timecode {label!r}: seconds {ss:02d} out of range (00–59)")
    if ff >= tb:
        raise TimecodeError(
            f"timecode {label!r}: frame {ff:02d} out of range at {rate} fps (00–{tb - 1:02d})"
        )
    total_minutes = 60 * hh + mm
    frames = (total_minutes * 60 + ss) * tb + ff
    if drop:
        dpm = rate.drops_per_minute
        if ss == 0 and ff < dpm and mm % 10 != 0:
            raise TimecodeError(
                f"timecode {label!r}: frame label ;{ff:02d} does not exist in drop-frame at minute {mm}",
                hint=f"{rate} drop-frame skips ;00–;{dpm - 1:02d} at the start of each minute "
                "except every tenth",
            )
        frames -= dpm * (total_minutes - total_minutes // 10)
    return frames, drop


def _frames_to_label(frames: int, rate: Rate, drop: bool) -> str:
    """Format a frame count (already wrapped to one day) as a label."""
    tb = rate.timebase
    if drop:
        dpm = rate.drops_per_minute
        per_ten = tb * 600 - 9 * dpm  # 17982 at 29.97
        per_minute = tb * 60 - dpm  # 1798 at 29.97
        tens, rem = divmod(frames, per_ten)
        # Add back the labels skipped before this frame: 9 dropping minutes per whole ten, plus one per
        # dropping minute already begun in this ten (its first minute never drops).
        skipped = 9 * dpm * tens
        if rem >= dpm:
            skipped += dpm * ((rem - dpm) // per_minute)
        frames += skipped
    total_seconds, ff = divmod(frames, tb)
    total_minutes, ss = divmod(total_seconds, 60)
    hh, mm = divmod(total_minutes, 60)
    sep = ";" if drop else ":"
    return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:02d}"


# ------------------------------------------------------------------------------------------------ Timecode


@dataclass(frozen=True, slots=True, repr=False)
class Timecode:
    """A position in the day: ``frames`` since midnight at ``rate``, labelled drop-frame when ``drop``.

    ``frames`` is wrapped into one day on construction. Adding or subtracting an int moves by frames (and
    wraps); subtracting two timecodes at the same rate gives the signed frame difference. Timecodes at the
    same rate order by position in the day, whatever their labelling."""

    frames: int
    rate: Rate
    drop: bool = False

    def __post_init__(self) -> None:
        frames = _require_int(self.frames, "frame count")
        if not isinstance(self.rate, Rate):
            raise TimecodeError(f"rate must be a Rate, not {self.rate!r}", hint="use Rate.parse(...)")
        if not isinstance(self.drop, bool):
            raise TimecodeError(f"drop must be a bool, not {self.drop!r}")
        object.__setattr__(self, "frames", frames % frames_per_day(self.rate, self.drop))

    # construction -------------------------------------------------------------------------------------

    @classmethod
    def parse(cls, label: str, rate: RateLike) -> Timecode:
        """Read a label; drop-frame is taken from its separator (see the module docstring)."""
        r = Rate.parse(rate)
        frames, drop = _label_to_frames(label, r)
        return cls(frames, r, drop)

    @classmethod
    def from_frames(cls, frames: int, rate: RateLike, drop: bool = False) -> Timecode:
        """The timecode ``frames`` frames after midnight (wrapped at 24 h; negative counts back)."""
        return cls(_require_int(frames, "frame count"), Rate.parse(rate), drop)

    @classmethod
    def from_seconds(
        cls, seconds: Fraction | int, rate: RateLike, drop: bool = False, rounding: Rounding = "floor"
    ) -> Timecode:
        """The timecode showing ``seconds`` after midnight (the frame containing that instant by default)."""
        return cls(seconds_to_frames(seconds, rate, rounding), Rate.parse(rate), drop)

    @classmethod
    def from_samples(
        cls,
        samples: int,
        sample_rate: int,
        rate: RateLike,
        drop: bool = False,
        rounding: Rounding = "floor",
    ) -> Timecode:
        """The timecode showing audio sample ``samples`` since midnight (e.g. BWF ``TimeReference``)."""
        return cls(samples_to_frames(samples, sample_rate, rate, rounding), Rate.parse(rate), drop)

    @classmethod
    def from_rational_time(
        cls, time: RationalTime, rate: RateLike, drop: bool = False, rounding: Rounding = "floor"
    ) -> Timecode:
        """The timecode at an OpenTimelineIO ``RationalTime`` measured from midnight."""
        return cls(rational_time_to_frames(time, rate, rounding), Rate.parse(rate), drop)

    # views --------------------------------------------------------------------------------------------

    @property
    def components(self) -> tuple[int, int, int, int]:
        """The label's (hours, minutes, seconds, frames) fields."""
        hh, mm, ss, ff, _ = _split_label(str(self))
        return hh, mm, ss, ff

    def format(self, *, all_semicolons: bool = False) -> str:
        """The label; ``all_semicolons`` writes drop-frame as ``HH;MM;SS;FF`` (as some NLEs do)."""
        text = _frames_to_label(self.frames, self.rate, self.drop)
        return text.replace(":", ";") if all_semicolons and self.drop else text

    def with_drop(self, drop: bool) -> Timecode:
        """The same frame labelled drop-frame or non-drop."""
        return Timecode(self.frames, self.rate, drop)

    def to_seconds(self) -> Fraction:
        """Exact seconds since midnight."""
        return frames_to_seconds(self.frames, self.rate)

    def to_samples(self, sample_rate: int = 48_000, rounding: Rounding = "ceil") -> int:
        """Audio samples since midnight (first sample at or after this frame's start by default)."""
        return frames_to_samples(self.frames, self.rate, sample_rate, rounding)

    def to_rational_time(self) -> RationalTime:
        """An OpenTimelineIO ``RationalTime`` of ``frames`` at this rate."""
        return frames_to_rational_time(self.frames, self.rate)

    def frames_until(self, later: Timecode) -> int:
        """Frames forward from this timecode to ``later``, crossing midnight if needed (0 ≤ result < day)."""
        return (self._same_rate(later) - self.frames) % frames_per_day(self.rate, self.drop)

    # arithmetic and order -----------------------------------------------------------------------------

    def _same_rate(self, other: Timecode) -> int:
        if other.rate != self.rate:
            raise TimecodeError(f"cannot combine timecodes at {self.rate} and {other.rate} fps")
        return other.frames

    def __add__(self, frames: int) -> Timecode:
        step = _as_int(frames)
        if step is None:
            return NotImplemented
        return Timecode(self.frames + step, self.rate, self.drop)

    __radd__ = __add__

    @overload
    def __sub__(self, other: int) -> Timecode: ...
    @overload
    def __sub__(self, other: Timecode) -> int: ...
    def __sub__(self, other: int | Timecode) -> Timecode | int:
        if isinstance(other, Timecode):
            return self.frames - self._same_rate(other)
        step = _as_int(other)
        if step is None:
            return NotImplemented
        return Timecode(self.frames - step, self.rate, self.drop)

    def __lt__(self, other: Timecode) -> bool:
        if not isinstance(other, Timecode):
            return NotImplemented
        return self.frames < self._same_rate(other)

    def __le__(self, other: Timecode) -> bool:
        if not isinstance(other, Timecode):
            return NotImplemented
        return self.frames <= self._same_rate(other)

    def __gt__(self, other: Timecode) -> bool:
        if not isinstance(other, Timecode):
            return NotImplemented
        return self.frames > self._same_rate(other)

    def __ge__(self, other: Timecode) -> bool:
        if not isinstance(other, Timecode):
            return NotImplemented
        return self.frames >= self._same_rate(other)

    def __str__(self) -> str:
        return _frames_to_label(self.frames, self.rate, self.drop)

    def __repr__(self) -> str:
        return f"Timecode({str(self)!r}, rate={self.rate})"


# ---------------------------------------------------------------------------------- convenience functions


def frames_to_timecode(frames: int, rate: RateLike, drop: bool = False) -> str:
    """Label for ``frames`` since midnight (wraps at 24 h): ``frames_to_timecode(10790, "29.97", True)``
    → ``"00:06:00;02"``."""
    return str(Timecode.from_frames(frames, rate, drop))


def timecode_to_frames(label: str, rate: RateLike) -> int:
    """Frames since midnight for a label; drop-frame is read from the separator."""
    return _label_to_frames(label, Rate.parse(rate))[0]


def frames_to_seconds(frames: int, rate: RateLike) -> Fraction:
    """Exact start time of frame ``frames`` in seconds."""
    r = Rate.parse(rate)
    return _require_int(frames, "frame count") * r.frame_duration


def seconds_to_frames(seconds: Fraction | int, rate: RateLike, rounding: Rounding = "floor") -> int:
    """Frame at ``seconds``; by default the frame showing at that instant (floor)."""
    r = Rate.parse(rate)
    return _round(_require_seconds(seconds) * r.fps, rounding, "frame count")


def frames_to_samples_exact(frames: int, rate: RateLike, sample_rate: int = 48_000) -> Fraction:
    """Exact (fractional) sample position of the start of frame ``frames``: 1601.6 per frame at 29.97/48k."""
    r = Rate.parse(rate)
    return _require_int(frames, "frame count") * _require_sample_rate(sample_rate) * r.frame_duration


def frames_to_samples(
    frames: int, rate: RateLike, sample_rate: int = 48_000, rounding: Rounding = "ceil"
) -> int:
    """Sample index of frame ``frames``: by default the first sample at or after the frame's start (ceil),
    which :func:`samples_to_frames` maps back to the same frame."""
    return _round(frames_to_samples_exact(frames, rate, sample_rate), rounding, "sample position")


def samples_to_frames(samples: int, sample_rate: int, rate: RateLike, rounding: Rounding = "floor") -> int:
    """Frame containing sample ``samples`` (floor by default)."""
    r = Rate.parse(rate)
    exact = Fraction(_require_int(samples, "sample count") * r.num, _require_sample_rate(sample_rate) * r.den)
    return _round(exact, rounding, "frame count")


def seconds_to_samples(
    seconds: Fraction | int, sample_rate: int = 48_000, rounding: Rounding = "ceil"
) -> int:
    """Sample at ``seconds``: by default the first sample at or after that instant (ceil)."""
    return _round(_require_seconds(seconds) * _require_sample_rate(sample_rate), rounding, "sample position")


def samples_to_seconds(samples: int, sample_rate: int = 48_000) -> Fraction:
    """Exact time of sample ``samples`` in seconds."""
    return Fraction(_require_int(samples, "sample count"), _require_sample_rate(sample_rate))


def samples_to_timecode(
    samples: int,
    sample_rate: int,
    rate: RateLike,
    drop: bool = False,
    rounding: Rounding = "floor",
) -> str:
    """Label of the frame showing at sample ``samples`` since midnight (e.g. a BWF ``bext``
    ``TimeReference``); wraps at 24 h."""
    return str(Timecode.from_samples(samples, sample_rate, rate, drop, rounding))


def timecode_to_samples(
    label: str, rate: RateLike, sample_rate: int = 48_000, rounding: Rounding = "ceil"
) -> int:
    """Samples since midnight at the start of the labelled frame (ceil by default), e.g. for a BWF
    ``TimeReference``: ``timecode_to_samples("01:00:00:00", 24)`` → ``172800000``."""
    return frames_to_samples(timecode_to_frames(label, rate), rate, sample_rate, rounding)


def _exact_otio_rate(rate: float) -> Fraction:
    """The exact rate behind an OpenTimelineIO float rate: a supported frame rate when it is one, else the
    integer (a sample rate, 1 for seconds) or the float's exact value."""
    if not math.isfinite(rate) or rate <= 0:
        raise TimecodeError(f"RationalTime rate {rate!r} is not a positive number")
    try:
        return Rate.parse(rate).fps
    except TimecodeError:
        pass
    if rate.is_integer():
        return Fraction(int(rate))
    return Fraction(rate)


def rational_time_to_seconds(time: RationalTime) -> Fraction:
    """Seconds of an OpenTimelineIO ``RationalTime``, reading NTSC float rates as their exact fractions."""
    return Fraction(time.value) / _exact_otio_rate(time.rate)


def rational_time_to_frames(time: RationalTime, rate: RateLike, rounding: Rounding = "floor") -> int:
    """Frames at ``rate`` for an OpenTimelineIO ``RationalTime`` at any rate. Results within 1e-6 frame of
    a whole frame (float noise) snap to it; otherwise ``rounding`` applies."""
    exact = rational_time_to_seconds(time) * Rate.parse(rate).fps
    whole = round(exact)
    if abs(exact - whole) <= _OTIO_SNAP:
        return whole
    return _round(exact, rounding, "frame count")


def frames_to_rational_time(frames: int, rate: RateLike) -> RationalTime:
    """An OpenTimelineIO ``RationalTime(frames, rate)``."""
    return RationalTime(float(_require_int(frames, "frame count")), Rate.parse(rate).otio_rate)


def frames_to_time_range(start: int, duration: int, rate: RateLike) -> TimeRange:
    """An OpenTimelineIO ``TimeRange`` of ``duration`` frames from frame ``start``."""
    return TimeRange(frames_to_rational_time(start, rate), frames_to_rational_time(duration, rate))


def time_range_to_frames(time_range: TimeRange, rate: RateLike) -> tuple[int, int]:
    """``(start, duration)`` in frames at ``rate`` of an OpenTimelineIO ``TimeRange`` (floor rounding)."""
    start = rational_time_to_frames(time_range.start_time, rate)
    duration = rational_time_to_frames(time_range.duration, rate)
    return start, duration
