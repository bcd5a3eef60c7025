from __future__ import annotations

import pytest

from shared.grid import align_down, align_up, describe_length, is_aligned, slot_starts
from shared.timefmt import parse_time


def test_quarter_hours_are_on_the_fifteen_minute_grid() -> None:
    assert is_aligned(parse_time("2030-01-01 10:45:00"), 900)
    assert not is_aligned(parse_time("2030-01-01 10:50:00"), 900)
    assert not is_aligned(parse_time("2030-01-01 10:45:00") + 0.5, 900)


def test_align_finds_the_cell_around_a_moment() -> None:
    moment = parse_time("2030-01-01 10:50:00")
    assert align_down(moment, 900) == parse_time("2030-01-01 10:45:00")
    assert align_up(moment, 900) == parse_time("2030-01-01 11:00:00")
    assert align_up(align_down(moment, 900), 900) == align_down(moment, 900)


def test_a_window_is_cut_into_whole_slots_across_midnight() -> None:
    start, end = parse_time("2030-01-01 23:30:00"), parse_time("2030-01-02 00:30:00")
    starts = list(slot_starts(int(start), int(end), 900))
    assert len(starts) == 4
    assert starts[0] == start
    assert starts[-1] == end - 900


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (900, "15 minutes"),
        (60, "1 minute"),
        (3600, "1 hour"),
        (86_400, "24 hours"),
        (31 * 86_400, "31 days"),
        (2, "2 seconds"),
        (1, "1 second"),
        (1.5, "1.5 seconds"),
    ],
)
def test_lengths_read_as_people_say_them(seconds: float, words: str) -> None:
    assert describe_length(seconds) == words
