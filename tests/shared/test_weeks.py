"""The week grid's rows and cells, in zones with and without daylight saving."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from shared.timefmt import format_time, parse_time
from shared.weeks import day_slots, local_midnight, monday_of, week_layout

BERLIN = ZoneInfo("Europe/Berlin")
QUARTER = 900


def test_an_ordinary_week_has_96_rows_and_every_cell() -> None:
    week = week_layout(date(2030, 6, 3), BERLIN, QUARTER)
    assert len(week.rows) == 96
    assert week.rows[0].label == "00:00"
    assert week.rows[-1].label == "23:45"
    assert all(start is not None for row in week.cells for start in row)
    # 09:00 in Berlin in summer is 07:00 UTC.
    nine = [r.label for r in week.rows].index("09:00")
    assert format_time(week.cells[nine][0] or 0) == "2030-06-03 07:00:00"


def test_the_day_clocks_spring_forward_has_23_hours() -> None:
    assert len(day_slots(date(2030, 3, 31), BERLIN, QUARTER)) == 92
    week = week_layout(date(2030, 3, 25), BERLIN, QUARTER)
    assert len(week.rows) == 96
    sunday = 6
    missing = [week.rows[r].label for r in range(96) if week.cells[r][sunday] is None]
    assert missing == ["02:00", "02:15", "02:30", "02:45"]


def test_the_day_clocks_fall_back_has_25_hours_and_the_second_pass_has_its_own_rows() -> None:
    assert len(day_slots(date(2030, 10, 27), BERLIN, QUARTER)) == 100
    week = week_layout(date(2030, 10, 21), BERLIN, QUARTER)
    labels = [r.label for r in week.rows]
    assert len(labels) == 100
    at = labels.index("02:45")
    assert labels[at + 1 : at + 6] == ["02:00²", "02:15²", "02:30²", "02:45²", "03:00"]
    sunday = 6
    first, second = week.cells[labels.index("02:00")][sunday], week.cells[at + 1][sunday]
    assert first is not None
    assert second is not None
    assert second - first == 3600  # the same wall-clock time, an hour apart
    assert week.cells[at + 1][0] is None  # Monday has no second pass


def test_cells_are_found_by_their_slot_start() -> None:
    week = week_layout(date(2030, 6, 3), BERLIN, QUARTER)
    start = int(parse_time("2030-06-05T09:15:00+02:00"))
    row, day = week.find(start) or (-1, -1)
    assert (week.rows[row].label, week.days[day]) == ("09:15", date(2030, 6, 5))
    assert week.find(start + 7 * 86_400) is None
    assert week.first_start == local_midnight(date(2030, 6, 3), BERLIN)
    assert week.end == local_midnight(date(2030, 6, 10), BERLIN)


def test_utc_and_half_hour_zones_sit_on_the_grid() -> None:
    kolkata = week_layout(date(2030, 6, 3), ZoneInfo("Asia/Kolkata"), QUARTER)
    assert len(kolkata.rows) == 96
    assert kolkata.cells[0][0] == parse_time("2030-06-02T18:30:00Z")
    utc = week_layout(date(2030, 6, 3), ZoneInfo("UTC"), 1800)
    assert len(utc.rows) == 48


def test_weeks_start_on_monday() -> None:
    assert monday_of(date(2030, 6, 9)) == date(2030, 6, 3)
    assert monday_of(date(2030, 6, 3)) == date(2030, 6, 3)


def test_seconds_grids_label_seconds() -> None:
    rows = day_slots(date(2030, 6, 3), ZoneInfo("UTC"), 20)
    assert [r.label for r, _ in rows[:4]] == ["00:00", "00:00:20", "00:00:40", "00:01"]


@pytest.mark.parametrize(
    ("monday", "zone", "month", "short", "abbreviation", "caption"),
    [
        ("2030-03-04", "Europe/Berlin", "March 2030", "Mar 2030", "CET", "CET (Europe/Berlin)"),
        (
            "2030-03-25",
            "Europe/Berlin",
            "March 2030",
            "Mar 2030",
            "CET→CEST",
            "CET → CEST (Europe/Berlin)",
        ),
        ("2030-04-29", "UTC", "April – May 2030", "Apr – May 2030", "UTC", "UTC"),
        (
            "2030-12-30",
            "America/Sao_Paulo",
            "December 2030 – January 2031",
            "Dec 2030 – Jan 2031",
            "America/Sao_Paulo",
            "America/Sao_Paulo",
        ),
    ],
)
def test_a_week_names_its_months_and_its_zone(
    monday: str, zone: str, month: str, short: str, abbreviation: str, caption: str
) -> None:
    layout = week_layout(date.fromisoformat(monday), ZoneInfo(zone), 900)
    assert layout.month_label() == month
    assert layout.month_label(short=True) == short
    assert layout.zone_abbreviation == abbreviation
    assert layout.zone_caption == caption
