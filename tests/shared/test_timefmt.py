from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.timefmt import TIME_PATTERN, TimeFormatError, TimeOutOfRange, format_time, parse_time

SPEC_TIME = re.compile(TIME_PATTERN)
"""The pattern the API spec publishes for request times (found wanting by schemathesis, when the
spec allowed any string: every text it admits must parse, every text it refuses must not)."""


@pytest.mark.parametrize(
    "text",
    [
        "2030-08-30 12:00:00",
        "2030-08-30T12:00:00",
        "2030-08-30T12:00:00Z",
        "2030-08-30T12:00:00z",
        "2030-08-30T14:00:00+02:00",
        "2030-08-30T07:00:00-0500",
        "2030-08-30 12:00",
        "2030-08-30T12:00:00.000000000Z",
        "  2030-08-30 12:00:00 ",
    ],
)
def test_every_accepted_spelling_means_the_same_utc_moment(text: str) -> None:
    assert format_time(parse_time(text)) == "2030-08-30 12:00:00"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("2030-02-30 10:00:00", "day is out of range"),
        ("2030-01-01 25:00:00", "hour must be in 0..23"),
        ("2030-13-01 10:00:00", "month must be in 1..12"),
        ("2030-01-01 10:61:00", "minute must be in 0..59"),
        ("tomorrow", "is not a time"),
        ("2030-01-01", "is not a time"),
        ("20300101T100000", "is not a time"),
        ("", "is not a time"),
        ("\u30002030-08-30 12:00:00", "is not a time"),
        ("2030-08-30 12:00:00\x1c", "is not a time"),
        ("\u0662\u0660\u0663\u0660-08-30 12:00:00", "is not a time"),
        ("1969-12-31 23:00:00", "outside the years 1970 to 9998"),
        ("2030-08-30T12:00:00+05:60", "its hours must be 00-23 and its minutes 00-59"),
        ("2030-08-30T12:00:00+00:99", "its hours must be 00-23 and its minutes 00-59"),
        ("2030-08-30T12:00:00-2400", "its hours must be 00-23 and its minutes 00-59"),
        ("2030-08-30T12:00:00 02:00", "write it as %2B"),
    ],
)
def test_impossible_or_unknown_times_are_refused_with_a_reason(text: str, hint: str) -> None:
    with pytest.raises(TimeFormatError, match=hint):
        parse_time(text)


def test_fractions_are_kept_when_parsing_and_dropped_when_formatting() -> None:
    moment = parse_time("2030-08-30T12:00:00.75Z")
    assert moment % 1 == pytest.approx(0.75)
    assert format_time(moment) == "2030-08-30 12:00:00"


@settings(max_examples=300, derandomize=True, database=None)
@given(st.from_regex(SPEC_TIME))
@example("2028-02-29 10:00:00")
@example("2000-02-29T00:00Z")
@example(" 2030-08-30T12:00:00.123456789+23:59\n")
@example("1970-01-01 00:00")
@example("9998-12-31T23:59:59")
def test_every_time_the_spec_admits_is_read(text: str) -> None:
    # Well formed, but an offset may carry it out of 1970 to 9998: 422, not 400.
    with contextlib.suppress(TimeOutOfRange):
        parse_time(text)


def mutated(text: str, data: st.DataObject) -> str:
    """A spec-valid time with one character replaced, inserted or removed."""
    at = data.draw(st.integers(0, len(text)))
    kind = data.draw(st.sampled_from(["replace", "insert", "remove"]))
    char = data.draw(st.characters(codec="utf-8"))
    if kind == "insert":
        return text[:at] + char + text[at:]
    if kind == "remove":
        return text[:at] + text[at + 1 :]
    return text[:at] + char + text[at + 1 :]


@settings(max_examples=400, derandomize=True, database=None)
@given(st.from_regex(SPEC_TIME), st.data())
def test_a_time_the_spec_refuses_is_refused_as_malformed(text: str, data: st.DataObject) -> None:
    changed = mutated(text, data)
    if SPEC_TIME.search(changed):
        return
    with pytest.raises(TimeFormatError) as refused:
        parse_time(changed)
    assert not isinstance(refused.value, TimeOutOfRange), changed


@pytest.mark.parametrize(
    "text",
    ["2029-02-29 10:00:00", "1900-02-29 10:00:00", "1969-12-31 23:59:59", "9999-01-01 00:00:00"],
)
def test_the_pattern_knows_leap_years_and_the_years_slotbook_handles(text: str) -> None:
    assert not SPEC_TIME.search(text)
    with pytest.raises(TimeFormatError):
        parse_time(text)
