"""A provider's usual week as the terminal app edits it, and the schedule requests it sends.

The usual week is drawn on a fixed reference week: Monday 1 January 2001 to Sunday 7 January, in
UTC, where every day has 24 hours. Each of its cells stands for a weekday and a time of day, not for
a moment, and the hours mean wall-clock time in the schedule's own zone. This module turns painted
cells into the schedule's weekly windows and back, and builds the PUT requests that close a date or
give it back its usual hours. Pure: no Textual, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from shared.schedule_wire import (
    DayName,
    ExceptionIn,
    HoursIn,
    Schedule,
    ScheduleRequest,
    WeeklyHours,
    WeeklyHoursIn,
)
from shared.timefmt import parse_time
from shared.weeks import WeekLayout, local_midnight, week_layout
from shared.wire import TimeSlot

REFERENCE_MONDAY = date(2001, 1, 1)
"""The Monday of the reference week (a Monday, in a year without surprises)."""
REFERENCE_ZONE = ZoneInfo("UTC")
"""No daylight saving: each reference day has the same 24 hours of rows."""
DAY_NAMES: tuple[DayName, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SECONDS = 86_400
_ORIGIN = local_midnight(REFERENCE_MONDAY, REFERENCE_ZONE)


def reference_week(slot_seconds: int) -> WeekLayout:
    """The grid's layout for the usual week: Monday to Sunday, midnight to midnight."""
    return week_layout(REFERENCE_MONDAY, REFERENCE_ZONE, slot_seconds)


def cell_start(day: int, minute: int) -> int:
    """The reference cell of a weekday (0 is Monday) at a minute of the day."""
    return _ORIGIN + day * DAY_SECONDS + minute * 60


def weekday_and_minute(start: int) -> tuple[int, int]:
    """Which weekday (0 is Monday) and minute of the day a reference cell stands for."""
    day, seconds = divmod(start - _ORIGIN, DAY_SECONDS)
    return day, seconds // 60


def clock_text(minute: int) -> str:
    """A minute of the day as the schedule writes it: '09:30'; the day's end is '24:00'."""
    hours, minutes = divmod(minute, 60)
    return f"{hours:02d}:{minutes:02d}"


def clock_minutes(text: str) -> int:
    """'09:30' as minutes after midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def cells_of(weekly: Iterable[WeeklyHours], slot_seconds: int) -> set[int]:
    """The reference cells the schedule's weekly windows cover."""
    step = slot_seconds // 60
    found: set[int] = set()
    for window in weekly:
        day = DAY_NAMES.index(window.day)
        for minute in range(clock_minutes(window.start), clock_minutes(window.end), step):
            found.add(cell_start(day, minute))
    return found


def weekly_from(cells: Iterable[int], slot_seconds: int) -> list[WeeklyHoursIn]:
    """Painted reference cells as weekly windows: each run of adjacent cells on one day becomes
    one window, and a run that reaches midnight ends at '24:00'."""
    step = slot_seconds // 60
    runs: list[tuple[int, int, int]] = []  # (day, first minute, minute after the last)
    for day, minute in sorted(weekday_and_minute(start) for start in cells):
        if runs and runs[-1][0] == day and runs[-1][2] == minute:
            runs[-1] = (day, runs[-1][1], minute + step)
        else:
            runs.append((day, minute, minute + step))
    return [
        WeeklyHoursIn(day=DAY_NAMES[day], start=clock_text(first), end=clock_text(end))
        for day, first, end in runs
    ]


def weekly_in(schedule: Schedule) -> list[WeeklyHoursIn]:
    """The weekly windows of a schedule in force, as a request states them again."""
    return [WeeklyHoursIn(day=w.day, start=w.start, end=w.end) for w in schedule.weekly]


def exception_dates(schedule: Schedule | None) -> dict[date, bool]:
    """The dates that differ from the usual week: True where the date is closed, False where it
    has hours of its own."""
    if schedule is None:
        return {}
    return {date.fromisoformat(e.date): not e.hours for e in schedule.exceptions}


def toggled(schedule: Schedule, day: date) -> tuple[ScheduleRequest, bool]:
    """The request that closes `day`, or (when it already differs from the usual week) gives it
    back its usual hours; and whether it closes. Every other exception stays as it is."""
    text = day.isoformat()
    others = [
        ExceptionIn(date=e.date, hours=[HoursIn(start=h.start, end=h.end) for h in e.hours])
        for e in schedule.exceptions
        if e.date != text
    ]
    closing = len(others) == len(schedule.exceptions)
    if closing:
        others = sorted([*others, ExceptionIn(date=text, hours=[])], key=lambda e: e.date)
    request = ScheduleRequest(
        time_zone=schedule.time_zone,
        weekly=weekly_in(schedule),
        exceptions=others,
        horizon_days=schedule.horizon_days,
    )
    return request, closing


def on_date(slots: Iterable[TimeSlot], day: date, zone: str) -> list[TimeSlot]:
    """The slots that start on `day` in the schedule's zone (a PUT reports every slot it kept,
    on any date; a toast about one date names that date's)."""
    where = ZoneInfo(zone)
    return [
        s
        for s in slots
        if datetime.fromtimestamp(parse_time(s.timestamp), UTC).astimezone(where).date() == day
    ]
