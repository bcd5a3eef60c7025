"""The usual week's arithmetic (cells to weekly windows and back, the requests that close or
restore a date) and the words above the grid (weekday titles, marked dates)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from shared.schedule_wire import Hours, Schedule, ScheduleException, WeeklyHours
from shared.weeks import week_layout
from shared.wire import TimeSlot
from tui.weekly import (
    cell_start,
    cells_of,
    exception_dates,
    on_date,
    reference_week,
    toggled,
    weekday_and_minute,
    weekly_from,
)
from tui.widgets.grid_headings import DatedHeadings, WeekdayHeadings, dated_title

QUARTER = 900


def schedule(*exceptions: ScheduleException) -> Schedule:
    return Schedule(
        provider_id="ada",
        time_zone="Europe/Berlin",
        weekly=[WeeklyHours(day="mon", start="09:00", end="10:00")],
        exceptions=list(exceptions),
        horizon_days=21,
        filled_until="2030-03-24",
    )


def test_the_reference_week_is_monday_to_sunday_with_every_quarter_hour_of_each_day() -> None:
    layout = reference_week(QUARTER)
    assert [d.strftime("%a") for d in layout.days][::3] == ["Mon", "Thu", "Sun"]
    assert len(layout.rows) == 96
    assert all(start is not None for row in layout.cells for start in row)
    wednesday_0915 = layout.cells[37][2]
    assert wednesday_0915 is not None
    assert weekday_and_minute(wednesday_0915) == (2, 37 * 15)


def test_runs_of_cells_become_one_window_a_day_and_midnight_is_24_00() -> None:
    painted = {cell_start(0, m) for m in range(9 * 60, 12 * 60, 15)}  # Monday 09:00-12:00
    painted |= {cell_start(0, 14 * 60)}  # and 14:00-14:15, a run of its own
    painted |= {cell_start(4, m) for m in range(23 * 60, 24 * 60, 15)}  # Friday to midnight
    painted |= {cell_start(5, 0)}  # Saturday 00:00: a new day, a new window
    windows = [(w.day, w.start, w.end) for w in weekly_from(painted, QUARTER)]
    assert windows == [
        ("mon", "09:00", "12:00"),
        ("mon", "14:00", "14:15"),
        ("fri", "23:00", "24:00"),
        ("sat", "00:00", "00:15"),
    ]


def test_weekly_windows_become_their_cells_and_back() -> None:
    weekly = [
        WeeklyHours(day="tue", start="08:30", end="09:15"),
        WeeklyHours(day="sun", start="23:30", end="24:00"),
    ]
    cells = cells_of(weekly, QUARTER)
    assert sorted(weekday_and_minute(c) for c in cells) == [
        (1, 510),
        (1, 525),
        (1, 540),
        (6, 1410),
        (6, 1425),
    ]
    assert [(w.day, w.start, w.end) for w in weekly_from(cells, QUARTER)] == [
        ("tue", "08:30", "09:15"),
        ("sun", "23:30", "24:00"),
    ]


def test_o_closes_a_usual_date_and_restores_one_that_differs_keeping_the_others() -> None:
    own_hours = ScheduleException(date="2030-03-13", hours=[Hours(start="16:00", end="17:00")])
    closed = ScheduleException(date="2030-03-20", hours=[])
    current = schedule(own_hours, closed)
    assert exception_dates(current) == {date(2030, 3, 13): False, date(2030, 3, 20): True}
    assert exception_dates(None) == {}

    closing, closes = toggled(current, date(2030, 3, 11))
    assert closes
    assert (closing.time_zone, closing.horizon_days) == ("Europe/Berlin", 21)
    assert [(w.day, w.start, w.end) for w in closing.weekly] == [("mon", "09:00", "10:00")]
    assert isinstance(closing.exceptions, list)
    assert [(e.date, len(e.hours)) for e in closing.exceptions] == [
        ("2030-03-11", 0),
        ("2030-03-13", 1),
        ("2030-03-20", 0),
    ]

    restoring, closes = toggled(current, date(2030, 3, 13))
    assert not closes
    assert isinstance(restoring.exceptions, list)
    assert [e.date for e in restoring.exceptions] == ["2030-03-20"]


def test_weekday_headings_name_days_and_the_schedules_zone() -> None:
    headings = WeekdayHeadings("Europe/Berlin")
    layout = reference_week(QUARTER)
    assert headings.day_title(layout.days[2], 13) == "Wednesday"
    assert headings.day_title(layout.days[2], 7) == "Wed"
    assert all("Europe/Berlin" in form for form in headings.caption_forms(layout))


def test_a_marked_date_ends_in_a_star_and_stands_where_it_would_unmarked() -> None:
    tuesday = date(2030, 3, 5)
    headings = DatedHeadings(frozenset({tuesday}), "differs from your usual week")
    for width in range(6, 20):
        plain, marked = dated_title(tuesday, width), headings.day_title(tuesday, width)
        assert marked.endswith("*")
        assert len(marked) < width
        assert marked.strip().rstrip("*").replace(" ", "") == plain.replace(" ", "")
        if width - len(plain) >= 3:  # room for the mark and a space: in line with the others
            drawn = (width - len(marked)) // 2 + len(marked) - len(marked.lstrip())
            assert drawn == (width - len(plain)) // 2, width
    assert headings.day_title(date(2030, 3, 6), 13) == "Wed 06 Mar"


def test_the_caption_explains_the_mark_only_in_a_week_with_a_marked_date() -> None:
    week = week_layout(date(2030, 3, 4), ZoneInfo("UTC"), QUARTER)
    note = "differs from your usual week"
    marked = DatedHeadings(frozenset({date(2030, 3, 5)}), note)
    assert marked.caption_forms(week)[0] == " March 2030 · UTC  ·  * differs from your usual week"
    elsewhere = DatedHeadings(frozenset({date(2030, 4, 5)}), note)
    assert elsewhere.caption_forms(week) == DatedHeadings().caption_forms(week)
    assert DatedHeadings().caption_forms(week)[0] == " March 2030  ·  times in UTC"


def test_kept_slots_are_told_for_the_date_in_the_schedules_zone() -> None:
    def slot(timestamp: str) -> TimeSlot:
        return TimeSlot(
            time_slot_id=timestamp, provider_id="ada", timestamp=timestamp, duration=15,
            status="RESERVED",
        )  # fmt: skip

    late, early = slot("2030-03-05 23:30:00"), slot("2030-03-05 10:00:00")
    # 23:30 UTC on the 5th is already the 6th in Berlin.
    assert on_date([late, early], date(2030, 3, 5), "Europe/Berlin") == [early]
    assert on_date([late, early], date(2030, 3, 6), "Europe/Berlin") == [late]
