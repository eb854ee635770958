"""Tests for posthouse.core.time: rates, SMPTE timecode, seconds, samples and OpenTimelineIO time."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from opentimelineio.opentime import RationalTime, TimeRange
from typer.testing import CliRunner

from posthouse.core.errors import TimecodeError
from posthouse.core.time import (
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
    SUPPORTED_RATES,
    Rate,
    Timecode,
    frames_per_day,
    frames_to_rational_time,
    frames_to_samples,
    frames_to_samples_exact,
    frames_to_seconds,
    frames_to_time_range,
    frames_to_timecode,
    is_drop_label,
    rational_time_to_frames,
    rational_time_to_seconds,
    samples_to_frames,
    samples_to_seconds,
    samples_to_timecode,
    seconds_to_frames,
    seconds_to_samples,
    time_range_to_frames,
    timecode_to_frames,
    timecode_to_samples,
)

DF_RATES = [RATE_29_97, RATE_59_94]
NON_DF_RATES = [r for r in SUPPORTED_RATES if not r.drop_capable]
# Every (rate, drop) labelling that exists.
LABELLINGS = [(r, False) for r in SUPPORTED_RATES] + [(r, True) for r in DF_RATES]
LABELLING_IDS = [f"{r}{'DF' if d else 'NDF'}" for r, d in LABELLINGS]


# ------------------------------------------------------------------------------------------------- Rate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("23.976", RATE_23_976),
        ("23.98", RATE_23_976),
        ("24000/1001", RATE_23_976),
        (" 23.976fps ", RATE_23_976),
        ("24", RATE_24),
        ("24.0", RATE_24),
        ("25", RATE_25),
        ("29.97", RATE_29_97),
        ("30000/1001", RATE_29_97),
        ("30", RATE_30),
        ("47.952", RATE_47_952),
        ("47.95", RATE_47_952),
        ("48", RATE_48),
        ("50", RATE_50),
        ("59.94", RATE_59_94),
        ("60000/1001", RATE_59_94),
        ("60", RATE_60),
        (24, RATE_24),
        (Fraction(30000, 1001), RATE_29_97),
        (30000 / 1001, RATE_29_97),  # an OpenTimelineIO float rate
        (29.97, RATE_29_97),
        (RATE_50, RATE_50),
    ],
)
def test_rate_parse(text: str | int | float | Fraction | Rate, expected: Rate) -> None:
    assert Rate.parse(text) == expected


@pytest.mark.parametrize(
    "bad", ["23.5", "29", "31", "120", "0", "-24", "abc", "", "1/0", "24/0", 23.99, True]
)
def test_rate_parse_rejects_unsupported(bad: str | float | bool) -> None:
    with pytest.raises(TimecodeError) as info:
        Rate.parse(bad)
    if bad not in ("abc", "", "1/0", "24/0"):
        assert "23.976, 24, 25, 29.97, 30, 47.952, 48, 50, 59.94, 60" in str(info.value)


def test_rate_constructor_validates_and_normalises() -> None:
    assert Rate(48, 2) == RATE_24
    assert Rate(48, 2).num == 24
    with pytest.raises(TimecodeError, match="unsupported frame rate"):
        Rate(2997, 100)


def test_rate_properties() -> None:
    table = {
        RATE_23_976: ("23.976", Fraction(24000, 1001), 24, False),
        RATE_24: ("24", Fraction(24), 24, False),
        RATE_25: ("25", Fraction(25), 25, False),
        RATE_29_97: ("29.97", Fraction(30000, 1001), 30, True),
        RATE_30: ("30", Fraction(30), 30, False),
        RATE_47_952: ("47.952", Fraction(48000, 1001), 48, False),
        RATE_48: ("48", Fraction(48), 48, False),
        RATE_50: ("50", Fraction(50), 50, False),
        RATE_59_94: ("59.94", Fraction(60000, 1001), 60, True),
        RATE_60: ("60", Fraction(60), 60, False),
    }
    assert set(table) == set(SUPPORTED_RATES)
    for rate, (name, fps, timebase, drop_capable) in table.items():
        assert str(rate) == name
        assert rate.fps == fps
        assert rate.timebase == timebase
        assert rate.drop_capable is drop_capable
        assert rate.frame_duration == 1 / fps
        assert rate.otio_rate == float(fps)
        assert Rate.parse(name) == rate
    assert RATE_29_97.drops_per_minute == 2
    assert RATE_59_94.drops_per_minute == 4
    assert RATE_24.drops_per_minute == 0
    assert repr(RATE_29_97) == "Rate('29.97')"


def test_rate_is_frozen_and_hashable() -> None:
    with pytest.raises(AttributeError):
        RATE_24.num = 25  # type: ignore[misc]
    assert {RATE_24: 1}[Rate(24)] == 1


# ------------------------------------------------------------------------------------------- known vectors

VECTORS = [
    # 29.97 drop-frame (SMPTE 12M; OpenTimelineIO tests/test_opentime.py)
    (RATE_29_97, 0, "00:00:00;00"),
    (RATE_29_97, 3, "00:00:00;03"),
    (RATE_29_97, 1799, "00:00:59;29"),
    (RATE_29_97, 1800, "00:01:00;02"),
    (RATE_29_97, 1803, "00:01:00;05"),
    (RATE_29_97, 30 * 299 + 29 - 2 * 4, "00:04:59;29"),
    (RATE_29_97, 30 * 299 + 30 - 2 * 4, "00:05:00;02"),
    (RATE_29_97, 10789, "00:05:59;29"),
    (RATE_29_97, 10790, "00:06:00;02"),
    (RATE_29_97, 17981, "00:09:59;29"),
    (RATE_29_97, 17982, "00:10:00;00"),
    (RATE_29_97, 17983, "00:10:00;01"),
    (RATE_29_97, 17984, "00:10:00;02"),
    (RATE_29_97, 19782, "00:11:00;02"),
    (RATE_29_97, 107892, "01:00:00;00"),
    (RATE_29_97, 30 * 7199 + 30 - 2 * 108, "02:00:00;00"),
    (RATE_29_97, 30 * 8999 + 30 - 2 * 135, "02:30:00;00"),
    (RATE_29_97, 1078920, "10:00:00;00"),
    (RATE_29_97, 1084319, "10:03:00;05"),
    (RATE_29_97, 2589407, "23:59:59;29"),
    # 29.97 non-drop
    (RATE_29_97, 10790, "00:05:59:20"),
    (RATE_29_97, 17982, "00:09:59:12"),
    (RATE_29_97, 1084319, "10:02:23:29"),
    (RATE_29_97, 107892, "00:59:56:12"),
    (RATE_29_97, 108000, "01:00:00:00"),
    # 59.94 drop-frame
    (RATE_59_94, 3599, "00:00:59;59"),
    (RATE_59_94, 3600, "00:01:00;04"),
    (RATE_59_94, 35964, "00:10:00;00"),
    (RATE_59_94, 215784, "01:00:00;00"),
    (RATE_59_94, 1084319, "05:01:30;03"),
    (RATE_59_94, 2157840, "10:00:00;00"),
    (RATE_59_94, 5178815, "23:59:59;59"),
    # whole and other fractional rates
    (RATE_23_976, 86400, "01:00:00:00"),
    (RATE_23_976, 24 * 86400 - 1, "23:59:59:23"),
    (RATE_24, 24, "00:00:01:00"),
    (RATE_24, 10001, "00:06:56:17"),
    (RATE_24, 86400, "01:00:00:00"),
    (RATE_25, 90000, "01:00:00:00"),
    (RATE_25, 89999, "00:59:59:24"),
    (RATE_30, 108000, "01:00:00:00"),
    (RATE_47_952, 172800, "01:00:00:00"),
    (RATE_48, 172799, "00:59:59:47"),
    (RATE_50, 180000, "01:00:00:00"),
    (RATE_60, 216000, "01:00:00:00"),
    (RATE_60, 59, "00:00:00:59"),
]


@pytest.mark.parametrize(("rate", "frames", "label"), VECTORS)
def test_known_vectors(rate: Rate, frames: int, label: str) -> None:
    drop = ";" in label
    assert frames_to_timecode(frames, rate, drop) == label
    assert timecode_to_frames(label, rate) == frames
    code = Timecode.parse(label, rate)
    assert (code.frames, code.rate, code.drop) == (frames, rate, drop)
    assert str(code) == label


def test_rate_arguments_accept_strings() -> None:
    assert frames_to_timecode(10790, "29.97", drop=True) == "00:06:00;02"
    assert timecode_to_frames("00:06:00;02", "30000/1001") == 10790
    assert timecode_to_frames("01:00:00:00", "23.98") == 86400


@pytest.mark.parametrize(
    "label", ["00:06:00;02", "00;06;00;02", "00:06:00.02", "00:06:00,02", " 00:06:00;02\n"]
)
def test_drop_frame_separator_forms(label: str) -> None:
    assert is_drop_label(label)
    assert timecode_to_frames(label, RATE_29_97) == 10790
    assert str(Timecode.parse(label, RATE_29_97)) == "00:06:00;02"


def test_single_digit_hours_and_all_semicolon_format() -> None:
    assert timecode_to_frames("1:00:00:00", RATE_24) == 86400
    assert Timecode.parse("00:06:00;02", RATE_29_97).format(all_semicolons=True) == "00;06;00;02"
    assert Timecode.parse("00:06:00:02", RATE_29_97).format(all_semicolons=True) == "00:06:00:02"


def test_drop_is_decided_by_separator_not_rate() -> None:
    # Production sound is often 29.97 non-drop.
    ndf = Timecode.parse("00:10:00:00", RATE_29_97)
    assert not ndf.drop
    assert ndf.frames == 18000
    assert not is_drop_label("00:10:00:00")
    assert Timecode.parse("00:10:00;00", RATE_29_97).frames == 17982


# ------------------------------------------------------------------------------------------ invalid input


@pytest.mark.parametrize(
    ("label", "rate", "why"),
    [
        ("00:01:00;00", RATE_29_97, "frame label ;00 does not exist in drop-frame at minute 1"),
        ("00:01:00;01", RATE_29_97, "frame label ;01 does not exist in drop-frame at minute 1"),
        ("13:59:00;01", RATE_29_97, "at minute 59"),
        ("00:01:00;03", RATE_59_94, "frame label ;03 does not exist in drop-frame at minute 1"),
        ("00:00:00:24", RATE_24, "frame 24 out of range at 24 fps"),
        ("00:00:00:24", RATE_23_976, "frame 24 out of range at 23.976 fps"),
        ("00:00:00:25", RATE_25, "frame 25 out of range"),
        ("00:00:00;30", RATE_29_97, "frame 30 out of range"),
        ("00:00:00:60", RATE_60, "frame 60 out of range"),
        ("00:60:00:00", RATE_24, "minutes 60 out of range"),
        ("00:00:60:00", RATE_24, "seconds 60 out of range"),
        ("24:00:00:00", RATE_24, "hours 24 out of range"),
        ("99:00:00:00", RATE_25, "hours 99 out of range"),
        ("garbage", RATE_24, "cannot read timecode"),
        ("", RATE_24, "cannot read timecode"),
        ("01:00:00", RATE_24, "cannot read timecode"),
        ("01:00:00:00:00", RATE_24, "cannot read timecode"),
        ("01:00:00.000", RATE_24, "cannot read timecode"),
        ("-01:00:00:00", RATE_24, "cannot read timecode"),
        ("01:0a:00:00", RATE_24, "cannot read timecode"),
        ("100:00:00:00", RATE_24, "cannot read timecode"),
        ("01;00:00;00", RATE_29_97, "mixes separators"),
        ("01:00;00;00", RATE_29_97, "mixes separators"),
        ("01;00;00:00", RATE_29_97, "mixes separators"),
        ("01;00;00.00", RATE_29_97, "mixes separators"),
        ("01:00:00;00", RATE_23_976, "drop-frame separator ';' at 23.976 fps, which has no drop-frame"),
        ("01:00:00;00", RATE_24, "which has no drop-frame"),
        ("01:00:00;00", RATE_25, "which has no drop-frame"),
        ("01:00:00.00", RATE_30, "drop-frame separator '.' at 30 fps"),
        ("01:00:00;00", RATE_60, "which has no drop-frame"),
    ],
)
def test_invalid_labels_rejected(label: str, rate: Rate, why: str) -> None:
    with pytest.raises(TimecodeError) as info:
        timecode_to_frames(label, rate)
    message = str(info.value)
    assert why in message
    assert repr(label) in message
    with pytest.raises(TimecodeError):
        Timecode.parse(label, rate)


def test_timecode_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        timecode_to_frames("nonsense", RATE_24)


@pytest.mark.parametrize("rate", DF_RATES, ids=str)
def test_every_dropped_label_in_the_day_is_rejected(rate: Rate) -> None:
    dpm = rate.drops_per_minute
    for hh in range(24):
        for mm in range(60):
            for ff in range(dpm):
                label = f"{hh:02d}:{mm:02d}:00;{ff:02d}"
                if mm % 10 == 0:
                    assert timecode_to_frames(label, rate) >= 0
                else:
                    with pytest.raises(TimecodeError, match="does not exist in drop-frame"):
                        timecode_to_frames(label, rate)
            # The first label that exists in a minute follows the last frame of the minute before.
            first = timecode_to_frames(f"{hh:02d}:{mm:02d}:00;{dpm:02d}", rate)
            if hh or mm:
                prev_h, prev_m = divmod(hh * 60 + mm - 1, 60)
                last = timecode_to_frames(f"{prev_h:02d}:{prev_m:02d}:59;{rate.timebase - 1:02d}", rate)
                assert first == last + 1 + (dpm if mm % 10 == 0 else 0)


@pytest.mark.parametrize("rate", NON_DF_RATES, ids=str)
def test_drop_frame_refused_at_rates_without_it(rate: Rate) -> None:
    with pytest.raises(TimecodeError, match="no drop-frame"):
        Timecode.from_frames(0, rate, drop=True)
    with pytest.raises(TimecodeError, match="no drop-frame"):
        frames_to_timecode(100, rate, drop=True)
    with pytest.raises(TimecodeError, match="no drop-frame"):
        frames_per_day(rate, drop=True)


def test_numpy_integers_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    assert frames_to_timecode(np.int64(10790), RATE_29_97, drop=True) == "00:06:00;02"
    assert samples_to_timecode(np.int64(172_800_000), 48_000, RATE_24) == "01:00:00:00"
    assert str(Timecode.parse("00:00:00:00", RATE_24) + np.int32(25)) == "00:00:01:01"


def test_bad_argument_types() -> None:
    with pytest.raises(TimecodeError, match="frame count must be an integer"):
        frames_to_timecode(1.0, RATE_24)  # type: ignore[arg-type]
    with pytest.raises(TimecodeError, match="frame count must be an integer"):
        Timecode.from_frames(True, RATE_24)
    with pytest.raises(TimecodeError, match="rate must be a Rate"):
        Timecode(0, "24")  # type: ignore[arg-type]
    with pytest.raises(TimecodeError, match="must be a string"):
        timecode_to_frames(3600, RATE_24)  # type: ignore[arg-type]
    with pytest.raises(TimecodeError, match="floats are inexact"):
        seconds_to_frames(1.5, RATE_24)  # type: ignore[arg-type]
    with pytest.raises(TimecodeError, match="sample rate must be positive"):
        frames_to_samples(1, RATE_24, 0)
    with pytest.raises(TimecodeError, match="unknown rounding"):
        seconds_to_frames(1, RATE_24, "up")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- properties (all rates)


@st.composite
def _labelling_and_frames(draw: st.DrawFn) -> tuple[Rate, bool, int]:
    rate, drop = draw(st.sampled_from(LABELLINGS))
    frames = draw(st.integers(0, frames_per_day(rate, drop) - 1))
    return rate, drop, frames


@st.composite
def _valid_label(draw: st.DrawFn) -> tuple[Rate, bool, str]:
    rate, drop = draw(st.sampled_from(LABELLINGS))
    hh = draw(st.integers(0, 23))
    mm = draw(st.integers(0, 59))
    ss = draw(st.integers(0, 59))
    low = rate.drops_per_minute if drop and ss == 0 and mm % 10 != 0 else 0
    ff = draw(st.integers(low, rate.timebase - 1))
    return rate, drop, f"{hh:02d}:{mm:02d}:{ss:02d}{';' if drop else ':'}{ff:02d}"


@settings(max_examples=600, deadline=None)
@given(_labelling_and_frames())
def test_frames_to_label_to_frames(case: tuple[Rate, bool, int]) -> None:
    rate, drop, frames = case
    label = frames_to_timecode(frames, rate, drop)
    assert is_drop_label(label) is drop
    assert timecode_to_frames(label, rate) == frames


@settings(max_examples=600, deadline=None)
@given(_valid_label())
def test_label_to_frames_to_label(case: tuple[Rate, bool, str]) -> None:
    rate, drop, label = case
    frames = timecode_to_frames(label, rate)
    assert 0 <= frames < frames_per_day(rate, drop)
    assert frames_to_timecode(frames, rate, drop) == label


@settings(max_examples=400, deadline=None)
@given(_labelling_and_frames())
def test_consecutive_frames_have_increasing_labels(case: tuple[Rate, bool, int]) -> None:
    rate, drop, frames = case
    day = frames_per_day(rate, drop)
    here = Timecode.from_frames(frames, rate, drop)
    after = here + 1
    if frames == day - 1:
        assert str(after) == "00:00:00" + (";" if drop else ":") + "00"
    else:
        # Zero-padded labels sort like the frames they name; a DF skip never skips a valid label.
        assert str(here) < str(after)
        hh, mm, ss, ff = here.components
        nh, nm, ns, nf = after.components
        if ff < rate.timebase - 1:
            assert (nh, nm, ns, nf) == (hh, mm, ss, ff + 1)
        else:
            assert nf in ((0, rate.drops_per_minute) if drop else (0,))


@pytest.mark.parametrize(("rate", "drop"), LABELLINGS, ids=LABELLING_IDS)
def test_day_length_and_last_label(rate: Rate, drop: bool) -> None:
    day = frames_per_day(rate, drop)
    assert day == rate.frames_per_day(drop)
    last = f"23:59:59{';' if drop else ':'}{rate.timebase - 1:02d}"
    assert frames_to_timecode(day - 1, rate, drop) == last
    assert timecode_to_frames(last, rate) == day - 1


def test_day_lengths() -> None:
    assert frames_per_day(RATE_29_97, drop=True) == 2_589_408
    assert frames_per_day(RATE_59_94, drop=True) == 5_178_816
    assert frames_per_day(RATE_29_97) == 30 * 86_400
    assert frames_per_day(RATE_23_976) == 24 * 86_400
    assert frames_per_day(RATE_59_94) == 60 * 86_400


# ------------------------------------------------------------------------------- OpenTimelineIO cross-check


def _otio_safe_limit(rate: Rate, drop: bool) -> int:
    # OpenTimelineIO 0.18 wraps 29.97/47.952/59.94 non-drop labels early (at about 23:58:33, where the
    # drop-frame day ends), so compare those only below 23:00:00; everything else over the whole day.
    if rate.den == 1001 and not drop:
        return rate.timebase * 3600 * 23
    return frames_per_day(rate, drop)


@pytest.mark.parametrize(("rate", "drop"), LABELLINGS, ids=LABELLING_IDS)
def test_matches_opentimelineio_sweep(rate: Rate, drop: bool) -> None:
    limit = _otio_safe_limit(rate, drop)
    # A dense sweep over the first 12 minutes (every minute boundary) and a coarse one over the day.
    frames_list = list(range(0, rate.timebase * 60 * 12, 7)) + list(range(0, limit, 997)) + [limit - 1]
    for frames in frames_list:
        ours = frames_to_timecode(frames, rate, drop)
        theirs = RationalTime(frames, rate.otio_rate).to_timecode(rate.otio_rate, drop)
        assert ours == theirs, frames
    for frames in frames_list[::5]:
        label = frames_to_timecode(frames, rate, drop)
        assert RationalTime.from_timecode(label, rate.otio_rate).value == frames


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LABELLINGS), st.integers(0, 10**7))
def test_matches_opentimelineio_random(labelling: tuple[Rate, bool], raw: int) -> None:
    rate, drop = labelling
    frames = raw % _otio_safe_limit(rate, drop)
    label = frames_to_timecode(frames, rate, drop)
    assert label == RationalTime(frames, rate.otio_rate).to_timecode(rate.otio_rate, drop)
    assert RationalTime.from_timecode(label, rate.otio_rate).value == frames


# ----------------------------------------------------------------------------------- Timecode behaviour


def test_wraps_at_24_hours() -> None:
    assert Timecode.from_frames(24 * 86_400, RATE_24).frames == 0
    assert frames_to_timecode(24 * 86_400 + 25, RATE_24) == "00:00:01:01"
    assert frames_to_timecode(-1, RATE_24) == "23:59:59:23"
    assert frames_to_timecode(2_589_408, RATE_29_97, drop=True) == "00:00:00;00"
    assert frames_to_timecode(-1, RATE_29_97, drop=True) == "23:59:59;29"
    # Non-drop 29.97 has a full 30 × 86400-frame day.
    assert frames_to_timecode(2_589_408, RATE_29_97) == "23:58:33:18"
    assert frames_to_timecode(30 * 86_400, RATE_29_97) == "00:00:00:00"
    assert frames_to_timecode(5_178_816, RATE_59_94, drop=True) == "00:00:00;00"
    assert str(Timecode.parse("23:59:59;29", RATE_29_97) + 1) == "00:00:00;00"
    assert str(Timecode.parse("00:00:00:00", RATE_25) - 1) == "23:59:59:24"
    assert Timecode(24 * 86_400 * 3 + 5, RATE_24).frames == 5


def test_arithmetic_and_order() -> None:
    a = Timecode.parse("00:59:59;29", RATE_29_97)
    b = a + 1
    assert str(b) == "01:00:00;00"
    assert str(1 + a) == "01:00:00;00"
    assert b - a == 1
    assert a - b == -1
    assert str(b - 107_892) == "00:00:00;00"
    assert a < b and a <= b and b > a and b >= a and a <= a
    assert sorted([b, a]) == [a, b]
    assert a == Timecode(a.frames, RATE_29_97, True)
    assert a != a.with_drop(False)
    # Same frame, other labelling: still comparable by position.
    assert b.with_drop(False) - a == 1
    assert str(b.with_drop(False)) == "00:59:56:12"
    assert len({a, Timecode.parse("00:59:59;29", "29.97")}) == 1


def test_mixing_rates_is_an_error() -> None:
    a = Timecode.parse("01:00:00:00", RATE_24)
    b = Timecode.parse("01:00:00:00", RATE_25)
    with pytest.raises(TimecodeError, match="cannot combine timecodes at 24 and 25"):
        _ = a - b
    with pytest.raises(TimecodeError):
        _ = a < b
    with pytest.raises(TypeError):
        _ = a + 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = a < 5  # type: ignore[operator]


def test_frames_until_crosses_midnight() -> None:
    late = Timecode.parse("23:59:59:00", RATE_24)
    early = Timecode.parse("00:00:01:00", RATE_24)
    assert late.frames_until(early) == 48
    assert early.frames_until(late) == 24 * 86_400 - 48
    assert early.frames_until(early) == 0


def test_timecode_views_and_repr() -> None:
    code = Timecode.parse("10:03:00;05", RATE_29_97)
    assert code.components == (10, 3, 0, 5)
    assert repr(code) == "Timecode('10:03:00;05', rate=29.97)"
    assert code.to_seconds() == Fraction(1_084_319 * 1001, 30_000)
    with pytest.raises(AttributeError):
        code.frames = 3  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------ seconds


def test_seconds() -> None:
    assert frames_to_seconds(24, RATE_24) == 1
    assert frames_to_seconds(1, RATE_29_97) == Fraction(1001, 30_000)
    assert frames_to_seconds(86_400, RATE_23_976) == Fraction(36036, 10)  # 3603.6 s
    assert frames_to_seconds(-24, RATE_24) == -1
    assert seconds_to_frames(Fraction(36036, 10), RATE_23_976) == 86_400
    assert seconds_to_frames(Fraction(25, 2), RATE_24) == 300
    third = Fraction(1001, 30_000) / 3
    assert seconds_to_frames(third, RATE_29_97) == 0
    assert seconds_to_frames(third, RATE_29_97, "ceil") == 1
    assert seconds_to_frames(third, RATE_29_97, "nearest") == 0
    assert seconds_to_frames(Fraction(1, 48), RATE_24, "nearest") == 1  # half a frame rounds up
    with pytest.raises(TimecodeError, match="not a whole number"):
        seconds_to_frames(third, RATE_29_97, "exact")
    assert seconds_to_frames(1, RATE_25, "exact") == 25
    assert str(Timecode.from_seconds(Fraction(7, 2), RATE_24)) == "00:00:03:12"
    # A whole day of 23.976 labels lasts 86486.4 s of real time.
    assert frames_to_seconds(frames_per_day(RATE_23_976), RATE_23_976) == Fraction(864_864, 10)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SUPPORTED_RATES), st.integers(-(10**9), 10**9))
def test_seconds_round_trip(rate: Rate, frames: int) -> None:
    assert seconds_to_frames(frames_to_seconds(frames, rate), rate, "exact") == frames


# ------------------------------------------------------------------------------------------------ samples


@pytest.mark.parametrize(
    ("label", "rate", "sample_rate", "samples"),
    [
        ("01:00:00:00", RATE_24, 48_000, 172_800_000),
        ("01:00:00:00", RATE_24, 96_000, 345_600_000),
        ("01:00:00:00", RATE_25, 48_000, 172_800_000),
        ("01:00:00:00", RATE_23_976, 48_000, 172_972_800),  # 86400 frames = 3603.6 s
        ("01:00:00:00", RATE_23_976, 96_000, 345_945_600),
        ("01:00:00;00", RATE_29_97, 48_000, 172_799_828),  # 107892 × 1601.6 = 172799827.2 → ceil
        ("01:00:00:00", RATE_29_97, 48_000, 172_972_800),
        ("00:00:00;01", RATE_29_97, 48_000, 1602),  # 1601.6 → ceil
        ("00:00:00;01", RATE_29_97, 96_000, 3204),  # 3203.2 → ceil
        ("01:00:00;00", RATE_59_94, 48_000, 172_799_828),
        ("00:00:00:00", RATE_24, 48_000, 0),
    ],
)
def test_timecode_to_samples(label: str, rate: Rate, sample_rate: int, samples: int) -> None:
    assert timecode_to_samples(label, rate, sample_rate) == samples
    drop = is_drop_label(label)
    assert samples_to_timecode(samples, sample_rate, rate, drop) == label
    assert Timecode.parse(label, rate).to_samples(sample_rate) == samples
    assert Timecode.from_samples(samples, sample_rate, rate, drop) == Timecode.parse(label, rate)


def test_sample_rounding_is_explicit() -> None:
    assert frames_to_samples_exact(1, RATE_29_97) == Fraction(8008, 5)  # 1601.6
    assert frames_to_samples(1, RATE_29_97) == 1602
    assert frames_to_samples(1, RATE_29_97, rounding="floor") == 1601
    assert frames_to_samples(1, RATE_29_97, rounding="nearest") == 1602
    assert frames_to_samples(2, RATE_29_97, rounding="nearest") == 3203  # 3203.2
    with pytest.raises(TimecodeError, match="not a whole number"):
        frames_to_samples(1, RATE_29_97, rounding="exact")
    # Sample 1601 starts before frame 1 does, so frame 0 is showing.
    assert samples_to_frames(1601, 48_000, RATE_29_97) == 0
    assert samples_to_frames(1602, 48_000, RATE_29_97) == 1
    assert samples_to_frames(1601, 48_000, RATE_29_97, "nearest") == 1
    assert samples_to_seconds(24_000) == Fraction(1, 2)
    assert samples_to_seconds(44_100, 44_100) == 1
    assert seconds_to_samples(Fraction(1001, 30_000)) == 1602
    assert seconds_to_samples(Fraction(1, 3), 44_100) == 14_700
    assert seconds_to_samples(Fraction(1, 3), 1000) == 334
    assert seconds_to_samples(Fraction(1, 3), 1000, "floor") == 333


def test_bwf_time_reference_day() -> None:
    # 24 h of 23.976 labels = 2073600 frames = 86486.4 s = 4151347200 samples at 48 kHz.
    day = frames_per_day(RATE_23_976)
    assert frames_to_samples(day, RATE_23_976) == 4_151_347_200
    assert samples_to_timecode(4_151_347_200, 48_000, RATE_23_976) == "00:00:00:00"
    assert samples_to_timecode(4_151_347_199, 48_000, RATE_23_976) == "23:59:59:23"
    # A typical recorder TimeReference: 10:00:00:00 at 25 fps, 48 kHz.
    assert samples_to_timecode(1_728_000_000, 48_000, RATE_25) == "10:00:00:00"
    assert samples_to_timecode(1_728_000_000 + 1919, 48_000, RATE_25) == "10:00:00:00"
    assert samples_to_timecode(1_728_000_000 + 1920, 48_000, RATE_25) == "10:00:00:01"


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(SUPPORTED_RATES),
    st.sampled_from([44_100, 48_000, 88_200, 96_000, 192_000, 8_000]),
    st.integers(0, 60 * 86_400 * 2),
)
def test_samples_round_trip(rate: Rate, sample_rate: int, frames: int) -> None:
    samples = frames_to_samples(frames, rate, sample_rate)
    exact = frames_to_samples_exact(frames, rate, sample_rate)
    assert exact <= samples < exact + 1
    assert samples_to_frames(samples, sample_rate, rate) == frames
    # The sample just before belongs to the previous frame (when frames are longer than one sample).
    if frames > 0:
        assert samples_to_frames(samples - 1, sample_rate, rate) == frames - 1


@settings(max_examples=300, deadline=None)
@given(_labelling_and_frames(), st.sampled_from([48_000, 96_000]))
def test_samples_timecode_round_trip(case: tuple[Rate, bool, int], sample_rate: int) -> None:
    rate, drop, frames = case
    label = frames_to_timecode(frames, rate, drop)
    samples = timecode_to_samples(label, rate, sample_rate)
    assert samples_to_timecode(samples, sample_rate, rate, drop) == label


# ------------------------------------------------------------------------------------------ OpenTimelineIO


def test_rational_time_conversions() -> None:
    rt = frames_to_rational_time(10790, RATE_29_97)
    assert isinstance(rt, RationalTime)
    assert rt.value == 10790
    assert rt.rate == 30000 / 1001
    assert rational_time_to_frames(rt, RATE_29_97) == 10790
    assert rational_time_to_seconds(rt) == Fraction(10790 * 1001, 30000)
    # OpenTimelineIO's own timecode reading agrees.
    assert RationalTime.from_timecode("00:06:00;02", RATE_29_97.otio_rate) == rt
    # A literal 29.97 rate reads as NTSC.
    assert rational_time_to_frames(RationalTime(10790, 29.97), RATE_29_97) == 10790
    # Other time bases: seconds, audio samples.
    assert rational_time_to_frames(RationalTime(3600, 1), RATE_24) == 86400
    assert rational_time_to_frames(RationalTime(1601, 48_000), RATE_29_97) == 0
    assert rational_time_to_frames(RationalTime(1602, 48_000), RATE_29_97) == 1
    assert rational_time_to_frames(RationalTime(1601, 48_000), RATE_29_97, "nearest") == 1
    # Rescaling noise snaps to the whole frame.
    noisy = RationalTime(10790, 30000 / 1001).rescaled_to(48_000).rescaled_to(30000 / 1001)
    assert rational_time_to_frames(noisy, RATE_29_97) == 10790
    code = Timecode.parse("00:06:00;02", RATE_29_97)
    assert code.to_rational_time() == rt
    assert Timecode.from_rational_time(rt, RATE_29_97, drop=True) == code


def test_time_range_conversions() -> None:
    tr = frames_to_time_range(86_400, 48, RATE_23_976)
    assert isinstance(tr, TimeRange)
    assert tr.start_time.value == 86_400
    assert tr.duration.value == 48
    assert tr.start_time.rate == 24000 / 1001
    assert time_range_to_frames(tr, RATE_23_976) == (86_400, 48)
    # The same range read at 47.952 fps has twice the frames.
    assert time_range_to_frames(tr, RATE_47_952) == (172_800, 96)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SUPPORTED_RATES), st.integers(0, 60 * 86_400 * 2))
def test_rational_time_round_trip(rate: Rate, frames: int) -> None:
    rt = frames_to_rational_time(frames, rate)
    assert rational_time_to_frames(rt, rate, "exact") == frames
    assert rational_time_to_seconds(rt) == frames_to_seconds(frames, rate)


# ------------------------------------------------------------------------------------------------------ CLI

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    """The root CLI, imported when needed so the core tests above never depend on the CLI layer."""
    from posthouse.cli.app import app

    return app


def test_cli_frames_to_drop_frame_label(app: typer.Typer) -> None:
    result = runner.invoke(app, ["tc", "10790", "--rate", "29.97", "--drop"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "00:06:00;02\n"


def test_cli_label_to_frames(app: typer.Typer) -> None:
    result = runner.invoke(app, ["tc", "00:06:00;02", "--rate", "29.97", "--to", "frames"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "10790\n"
    # frames is the default for a label, tc for a number
    assert runner.invoke(app, ["tc", "00:06:00;02", "--rate", "29.97"]).stdout == "10790\n"
    assert runner.invoke(app, ["tc", "86400", "--rate", "23.976"]).stdout == "01:00:00:00\n"


@pytest.mark.parametrize(
    ("args", "out"),
    [
        (["00:00:01:00", "--rate", "24", "--to", "seconds"], "1"),
        (["00:00:00:12", "--rate", "24", "--to", "seconds"], "0.5"),
        (["00:06:00;02", "--rate", "29.97", "--to", "seconds"], "1080079/3000"),
        (["01:00:00:00", "--rate", "23.976", "--to", "seconds"], "3603.6"),
        (["01:00:00:00", "--rate", "24", "--to", "samples"], "172800000"),
        (["01:00:00:00", "--rate", "24", "--to", "samples", "--sample-rate", "96000"], "345600000"),
        (["172800000", "--from", "samples", "--rate", "24"], "01:00:00:00"),
        (["12.5s", "--rate", "24"], "00:00:12:12"),
        (["1001/30s", "--rate", "29.97", "--to", "frames"], "1000"),
        (["00:06:00;02", "--rate", "29.97", "--no-drop", "--to", "tc"], "00:05:59:20"),
        (["00:05:59:20", "--rate", "29.97", "--drop", "--to", "tc"], "00:06:00;02"),
        (["00;06;00;02", "--rate", "29.97"], "10790"),
    ],
)
def test_cli_conversions(app: typer.Typer, args: list[str], out: str) -> None:
    result = runner.invoke(app, ["tc", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == out + "\n"


def test_cli_json(app: typer.Typer) -> None:
    result = runner.invoke(app, ["tc", "00:06:00;02", "--rate", "29.97", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["timecode"] == "00:06:00;02"
    assert data["frames"] == 10790
    assert data["drop"] is True
    assert data["rate"] == "29.97"
    assert data["fps"] == "30000/1001"
    assert Fraction(data["seconds"]) == Fraction(10790 * 1001, 30000)
    assert data["sample_rate"] == 48000
    assert data["samples"] == 17_281_264
    assert Fraction(data["samples_exact"]) == 17_281_264


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["00:01:00;00", "--rate", "29.97"], "00:01:00;00"),
        (["00:00:00:24", "--rate", "24"], "00:00:00:24"),
        (["01:00:00;00", "--rate", "25"], "01:00:00;00"),
        (["pink-elephants", "--rate", "24"], "pink-elephants"),
        (["10", "--rate", "23.5"], "unsupported frame rate"),
        (["10", "--rate", "25", "--drop"], "no drop-frame"),
        (["10", "--rate", "24", "--sample-rate", "0", "--to", "samples"], "--sample-rate"),
        (["1.5", "--from", "samples", "--rate", "24"], "1.5"),
    ],
)
def test_cli_errors_exit_2(app: typer.Typer, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["tc", *args])
    assert result.exit_code == 2
    assert needle in result.stderr
    assert "Traceback" not in result.output
