"""`posthouse tc`: convert between timecode labels, frames, seconds and audio samples."""

from __future__ import annotations

import re
from enum import StrEnum
from fractions import Fraction
from typing import Any

import typer

from posthouse.cli.common import handle_errors, print_json
from posthouse.core.errors import UsageError

__all__ = ["Source", "Target", "format_exact", "tc"]


class Source(StrEnum):
    """What VALUE is."""

    auto = "auto"
    tc = "tc"
    frames = "frames"
    seconds = "seconds"
    samples = "samples"


class Target(StrEnum):
    """What to print."""

    tc = "tc"
    frames = "frames"
    seconds = "seconds"
    samples = "samples"


_INT_RE = re.compile(r"[+-]?\d+")
_LABEL_HINT_RE = re.compile(r"\d{1,2}[:;]\d{2}[:;]\d{2}[:;.,]\d+")


def format_exact(value: Fraction) -> str:
    """An exact value (seconds, samples) as text that ``fractions.Fraction`` parses back: a decimal when
    it terminates (``"360.5"``), else ``"N/D"`` (``"5400833/15000"``)."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    if places == 0:
        return str(value.numerator)
    scaled = value * 10**places  # a whole number
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(int(scaled)), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def _detect(value: str) -> Source:
    text = value.strip()
    if _LABEL_HINT_RE.fullmatch(text) or ":" in text or ";" in text:
        return Source.tc
    if _INT_RE.fullmatch(text):
        return Source.frames
    if text.lower().endswith("s"):
        return Source.seconds
    raise UsageError(
        f"cannot read VALUE {value!r}",
        hint="give a timecode label (HH:MM:SS:FF, or HH:MM:SS;FF for drop-frame), an integer frame count, "
        "or seconds such as 12.5s or 1001/30s",
    )


def _parse_int(value: str, what: str) -> int:
    text = value.strip()
    if not _INT_RE.fullmatch(text):
        raise UsageError(f"cannot read {what} {value!r}: expected an integer")
    return int(text)


def _parse_seconds(value: str) -> Fraction:
    text = value.strip()
    text = text[:-1] if text.lower().endswith("s") else text
    try:
        return Fraction(text.replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        raise UsageError(
            f"cannot read seconds {value!r}", hint="write a decimal or fraction, e.g. 12.5s or 1001/30s"
        ) from None


@handle_errors
def tc(
    value: str = typer.Argument(
        ...,
        help="A timecode label (HH:MM:SS:FF; drop-frame HH:MM:SS;FF, HH;MM;SS;FF, HH:MM:SS.FF or "
        "HH:MM:SS,FF), an integer frame count, or seconds with an 's' suffix (12.5s, 1001/30s).",
        show_default=False,
    ),
    rate: str = typer.Option(
        ..., "--rate", "-r", help="Picture rate: 23.976, 24, 25, 29.97, 30, 47.952, 48, 50, 59.94, 60."
    ),
    to: Target | None = typer.Option(
        None,
        "--to",
        help="Output: tc, frames, seconds or samples. Default: tc for numbers, frames for labels.",
    ),
    source: Source = typer.Option(
        Source.auto,
        "--from",
        help="How to read VALUE; 'samples' reads an integer as samples since midnight (BWF TimeReference).",
    ),
    drop: bool | None = typer.Option(
        None,
        "--drop/--no-drop",
        help="Label output drop-frame (29.97 and 59.94 only). Default: as the input label, else non-drop.",
        show_default=False,
    ),
    sample_rate: int = typer.Option(48_000, "--sample-rate", help="Audio sample rate for samples (Hz)."),
    as_json: bool = typer.Option(False, "--json", help="Print every representation as JSON."),
) -> None:
    """Convert a timecode, frame count, seconds or sample count to another form.

    Seconds print exactly: a decimal when it terminates, else a fraction N/D.

    Frames → samples gives the first sample at or after the frame's start; samples → frames, the frame
    showing then.
    """
    from posthouse.core import time as tcore

    r = tcore.Rate.parse(rate)
    if sample_rate <= 0:
        raise UsageError(f"--sample-rate must be positive, not {sample_rate}")
    kind = _detect(value) if source is Source.auto else source

    seconds: Fraction | None = None
    samples: int | None = None
    if kind is Source.tc:
        code = tcore.Timecode.parse(value, r)
        if drop is not None:
            code = code.with_drop(drop)
    else:
        if kind is Source.frames:
            frames = _parse_int(value, "frame count")
        elif kind is Source.seconds:
            seconds = _parse_seconds(value)
            frames = tcore.seconds_to_frames(seconds, r)
        else:
            samples = _parse_int(value, "sample count")
            frames = tcore.samples_to_frames(samples, sample_rate, r)
        code = tcore.Timecode.from_frames(frames, r, bool(drop))
        if kind is Source.frames:
            # A frame count past 24 h names a wrapped label but keeps its own seconds and samples.
            seconds = tcore.frames_to_seconds(frames, r)
    if seconds is None:
        seconds = tcore.samples_to_seconds(samples, sample_rate) if samples is not None else code.to_seconds()
    if samples is None:
        samples = tcore.seconds_to_samples(seconds, sample_rate)
    frame_count = tcore.seconds_to_frames(seconds, r)

    if as_json:
        data: dict[str, Any] = {
            "input": value,
            "rate": str(r),
            "fps": f"{r.num}/{r.den}",
            "drop": code.drop,
            "timecode": str(code),
            "frames": frame_count,
            "seconds": format_exact(seconds),
            "seconds_float": float(seconds),
            "sample_rate": sample_rate,
            "samples": samples,
            "samples_exact": format_exact(seconds * sample_rate),
        }
        print_json(data)
        return

    target = to if to is not None else (Target.frames if kind is Source.tc else Target.tc)
    if target is Target.tc:
        out = str(code)
    elif target is Target.frames:
        out = str(frame_count)
    elif target is Target.seconds:
        out = format_exact(seconds)
    else:
        out = str(samples)
    typer.echo(out)
