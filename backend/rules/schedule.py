"""Weekly schedules: a provider's usual hours, in its own time zone, with dated exceptions; and
their expansion into slot starts. Pure: no I/O, no clock (the time arrives as an argument).

Hours are local wall-clock times. A window covers every instant whose local time lies in it, so
"09:00-12:00 on Mondays in Berlin" is 08:00-11:00 UTC in winter and 07:00-10:00 UTC in summer; on
the day clocks spring forward a local time that does not exist makes no slot, and on the day they
fall back the repeated hour makes slots for both passes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from backend.rules.booking import SlotRow, effective_status
from backend.rules.occupancy import occupied_cells
from shared.weeks import day_slots

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Days of the week as the API names them, Monday first (Python's weekday() order)."""

MINUTES_IN_DAY = 24 * 60


@dataclass(frozen=True, order=True)
class Hours:
    """A window of a local day: from `start` up to `end`, in minutes after midnight (`end` may be
    1440, midnight at the day's end)."""

    start: int
    end: int

    def covers(self, minute: float) -> bool:
        return self.start <= minute < self.end


@dataclass(frozen=True)
class Schedule:
    """A provider's weekly hours and the dates that differ from them."""

    zone: str
    """An IANA time zone name: the hours are its wall-clock times."""
    weekly: tuple[tuple[Hours, ...], ...]
    """Seven entries, Monday first: that day's windows, in order."""
    exceptions: Mapping[date, tuple[Hours, ...]] = field(default_factory=dict)
    """Dates whose hours replace the weekly ones; no windows closes the date."""
    horizon_days: int = 56
    """How many local dates, today included, are kept filled with slots."""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def hours_on(self, day: date) -> tuple[Hours, ...]:
        """The windows of a local date: its exception's, else its weekday's."""
        found = self.exceptions.get(day)
        return found if found is not None else self.weekly[day.weekday()]

    def today(self, now: float) -> date:
        """The local date at `now`."""
        return local_date(now, self.tz)

    def horizon(self, now: float) -> tuple[date, date]:
        """The first and last local dates kept filled at `now`."""
        first = self.today(now)
        return first, first + timedelta(days=self.horizon_days - 1)

    def with_exceptions(self, exceptions: Mapping[date, tuple[Hours, ...]]) -> Schedule:
        return Schedule(self.zone, self.weekly, dict(exceptions), self.horizon_days)


def local_date(epoch: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(epoch, UTC).astimezone(zone).date()


def dates(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def expand(schedule: Schedule, first: date, last: date, slot_seconds: int) -> list[int]:
    """The slot starts (UTC epoch seconds, on the slot grid) that the schedule opens on the local
    dates `first` to `last`, in time order."""
    starts: list[int] = []
    for day in dates(first, last):
        hours = schedule.hours_on(day)
        if hours:
            starts += _opened(day, schedule.zone, slot_seconds, hours)
    return starts


@functools.lru_cache(maxsize=4096)
def _opened(day: date, zone: str, slot_seconds: int, hours: tuple[Hours, ...]) -> tuple[int, ...]:
    """One date's slot starts for these hours: many providers share a zone and their hours, so
    the daily roll works each out once."""
    return tuple(
        start
        for row, start in day_slots(day, ZoneInfo(zone), slot_seconds)
        if any(window.covers(row.minute_of_day) for window in hours)
    )


def wanted(schedule: Schedule, now: float, slot_seconds: int) -> list[int]:
    """The slot starts the schedule wants at `now`: those of its horizon that have not begun."""
    first, last = schedule.horizon(now)
    return [s for s in expand(schedule, first, last, slot_seconds) if s > now]


def hours_of(starts: Iterable[int], zone: ZoneInfo, slot_seconds: int) -> tuple[Hours, ...]:
    """The windows that a local date's slots fill, as that date's exception records them: the
    local times of the slots, runs of consecutive ones merged."""
    minutes = sorted(
        {
            round((local.hour * 3600 + local.minute * 60 + local.second) / 60)
            for local in (datetime.fromtimestamp(s, UTC).astimezone(zone) for s in starts)
        }
    )
    length = slot_seconds / 60
    windows: list[Hours] = []
    for minute in minutes:
        if windows and windows[-1].end == minute:
            windows[-1] = Hours(windows[-1].start, round(minute + length))
        else:
            windows.append(Hours(minute, round(minute + length)))
    return tuple(windows)


def local_dates_of(start: float, end: float, zone: ZoneInfo) -> list[date]:
    """The local dates that the instants [start, end) touch."""
    if end <= start:
        return []
    return list(dates(local_date(start, zone), local_date(end - 1, zone)))


def next_midnight(now: float, zone: ZoneInfo) -> float:
    """The instant the next local date begins."""
    tomorrow = local_date(now, zone) + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone).timestamp()


# --- checking what a request asks for ---------------------------------------------------------


class ScheduleProblem(ValueError):
    """A schedule that cannot be; `field` names where the fault is, the message what it is."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def clock_minutes(text: str, where: str, *, end: bool = False) -> int:
    """'09:30' as minutes after midnight; '24:00' only as an end."""
    hours, minutes = int(text[:2]), int(text[3:5])
    value = hours * 60 + minutes
    if value > MINUTES_IN_DAY or (value == MINUTES_IN_DAY and not end):
        raise ScheduleProblem(where, "24:00 may only end a window")
    return value


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_day(windows: list[tuple[Hours, str]], slot_seconds: int) -> tuple[Hours, ...]:
    """One day's windows, each with where it came from: on the grid, ending after they start,
    not overlapping. In time order."""
    for hours, where in windows:
        for minute, name in ((hours.start, "start"), (hours.end, "end")):
            if (minute * 60) % slot_seconds:
                raise ScheduleProblem(
                    f"{where}.{name}",
                    f"{clock_text(minute)} is not on the slot grid: times must be whole"
                    f" multiples of {slot_seconds / 60:g} minutes",
                )
        if hours.end <= hours.start:
            raise ScheduleProblem(f"{where}.end", "must be after start")
    ordered = sorted(windows)
    for (before, _), (after, where) in pairwise(ordered):
        if after.start < before.end:
            raise ScheduleProblem(
                where,
                f"{clock_text(after.start)}-{clock_text(after.end)} overlaps"
                f" {clock_text(before.start)}-{clock_text(before.end)} on the same day",
            )
    return tuple(hours for hours, _ in ordered)


# --- what a store does with it ----------------------------------------------------------------


@dataclass(frozen=True)
class SlotPlan:
    """What bringing a provider's slots in line with its schedule takes."""

    create: list[int]
    """Slot starts to open."""
    delete: list[SlotRow]
    """Open slots outside the hours, to remove."""
    kept: list[SlotRow]
    """Held or booked slots outside the hours: left as they are."""


def plan(
    existing: Iterable[SlotRow], wanted: Iterable[int], now: float, slot_seconds: int
) -> SlotPlan:
    """Compare the provider's slots in a range with the starts the schedule wants there."""
    rows = list(existing)
    wanted_starts = sorted(set(wanted))
    wanted_set = set(wanted_starts)
    taken = occupied_cells(((s.start, s.duration) for s in rows), slot_seconds)
    outside = [s for s in rows if s.start not in wanted_set]
    return SlotPlan(
        create=[s for s in wanted_starts if s not in taken],
        delete=[s for s in outside if effective_status(s, now) == "AVAILABLE"],
        kept=[s for s in outside if effective_status(s, now) != "AVAILABLE"],
    )


def horizon_end(schedule: Schedule, now: float) -> float:
    """The instant the horizon's last local date ends."""
    _, last = schedule.horizon(now)
    return midnight(last + timedelta(days=1), schedule.tz)


@dataclass(frozen=True)
class Roll:
    """One provider's share of the daily roll."""

    provider_id: str
    starts: list[int]
    """The slot starts of the dates that entered the horizon (those that have not begun)."""
    filled_until: date


def roll_plan(
    stored: Iterable[tuple[str, Schedule, date]], now: float, slot_seconds: int
) -> tuple[list[Roll], float]:
    """For (provider, schedule, last date filled) of every schedule: what the daily roll opens,
    for those whose horizon has moved on, and when the next local midnight of any of them falls."""
    rolls: list[Roll] = []
    next_due = float("inf")
    for provider_id, schedule, filled in stored:
        next_due = min(next_due, next_midnight(now, schedule.tz))
        first, last = schedule.horizon(now)
        if filled >= last:
            continue
        since = max(filled + timedelta(days=1), first)
        starts = [s for s in expand(schedule, since, last, slot_seconds) if s > now]
        rolls.append(Roll(provider_id, starts, last))
    return rolls, next_due


def midnight(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def with_hand_edit(
    schedule: Schedule, day: date, starts: Iterable[int], slot_seconds: int
) -> Schedule:
    """The schedule once a date's slots were painted or erased by hand: the date's hours become
    what its slots now fill (an exception), or its weekday's again when they match them."""
    hours = hours_of(starts, schedule.tz, slot_seconds)
    exceptions = dict(schedule.exceptions)
    if hours == schedule.weekly[day.weekday()]:
        exceptions.pop(day, None)
    else:
        exceptions[day] = hours
    return schedule.with_exceptions(exceptions)


# --- stored as text ---------------------------------------------------------------------------


def weekly_json(schedule: Schedule) -> str:
    return json.dumps([[[h.start, h.end] for h in day] for day in schedule.weekly])


def exceptions_json(schedule: Schedule) -> str:
    return json.dumps(
        {
            day.isoformat(): [[h.start, h.end] for h in hours]
            for day, hours in sorted(schedule.exceptions.items())
        }
    )


def from_stored(zone: str, weekly: str, exceptions: str, horizon_days: int) -> Schedule:
    days = json.loads(weekly)
    dated = json.loads(exceptions)
    return Schedule(
        zone=zone,
        weekly=tuple(tuple(Hours(s, e) for s, e in day) for day in days),
        exceptions={
            date.fromisoformat(day): tuple(Hours(s, e) for s, e in hours)
            for day, hours in dated.items()
        },
        horizon_days=horizon_days,
    )
