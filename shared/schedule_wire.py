"""The wire shapes of weekly schedules: PUT, GET and DELETE /providers/{providerId}/schedule.

Requests refuse unknown fields (as every request body does); answers are read leniently, so that a
later server may add to them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from shared.patterns import CLOCK_PATTERN, DATE_PATTERN
from shared.wire import TimeSlot, _Answer, _Body

DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[
    str,
    Meta(
        pattern=CLOCK_PATTERN,
        description="A local time of day, 'HH:MM', on the slot grid; '24:00' only as an end.",
        examples=["09:00", "17:30"],
    ),
]
DateText = Annotated[
    str,
    Meta(pattern=DATE_PATTERN, description="A local date, 'YYYY-MM-DD'.", examples=["2030-12-24"]),
]
ZoneName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description="An IANA time zone: the hours are its wall-clock times.",
        examples=["Europe/Berlin"],
    ),
]
HorizonDays = Annotated[
    int,
    Meta(ge=1, le=366, description="How many local dates, today included, are kept filled."),
]
MAX_WINDOWS = 7 * 96
MAX_EXCEPTIONS = 1000


# --- the request ------------------------------------------------------------------------------


class HoursIn(_Body):
    start: ClockTime
    end: ClockTime


class WeeklyHoursIn(_Body):
    day: DayName
    start: ClockTime
    end: ClockTime


class ExceptionIn(_Body):
    date: DateText
    hours: Annotated[list[HoursIn], Meta(max_length=96)]
    """The date's windows, replacing its weekday's; none closes the date."""


class ScheduleRequest(_Body):
    """PUT /providers/{providerId}/schedule: a provider's usual week and the dates that differ.
    Leaving `exceptions` out keeps those in force (hand edits among them)."""

    time_zone: ZoneName
    weekly: Annotated[list[WeeklyHoursIn], Meta(max_length=MAX_WINDOWS)]
    exceptions: Annotated[list[ExceptionIn], Meta(max_length=MAX_EXCEPTIONS)] | UnsetType = UNSET
    horizon_days: HorizonDays = 56


# --- the answers ------------------------------------------------------------------------------


class Hours(_Answer):
    start: str
    end: str


class WeeklyHours(_Answer):
    day: DayName
    start: str
    end: str


class ScheduleException(_Answer):
    date: str
    hours: list[Hours]


class Schedule(_Answer):
    """A provider's schedule as it is in force: the weekly hours in day order, and every
    exception from today on (those set by hand edits of availability included)."""

    provider_id: str
    time_zone: str
    weekly: list[WeeklyHours]
    exceptions: list[ScheduleException]
    horizon_days: int
    filled_until: str
    """The last local date whose slots exist."""


class ScheduleAnswer(_Answer):
    """GET /providers/{providerId}/schedule."""

    schedule: Schedule


class ScheduleSet(_Answer):
    """PUT /providers/{providerId}/schedule: the schedule now in force, the slots it made, the
    open slots it removed, and the held or booked ones it left although now outside the hours."""

    message: str
    schedule: Schedule
    created: int
    deleted: int
    kept: list[TimeSlot]


class ScheduleRemoved(_Answer):
    """DELETE /providers/{providerId}/schedule: the future open slots it had made are gone."""

    message: str
    deleted: int
    kept: list[TimeSlot]
