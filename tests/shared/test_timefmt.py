from __future__ import annotations

import pytest

from shared.timefmt import TimeFormatError, format_time, parse_time


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
    ],
)
def test_impossible_or_unknown_times_are_refused_with_a_reason(text: str, hint: str) -> None:
    with pytest.raises(TimeFormatError, match=hint):
        parse_time(text)


def test_fractions_are_kept_when_parsing_and_dropped_when_formatting() -> None:
    moment = parse_time("2030-08-30T12:00:00.75Z")
    assert moment % 1 == pytest.approx(0.75)
    assert format_time(moment) == "2030-08-30 12:00:00"
