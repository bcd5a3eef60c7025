"""A week of a provider's free starts as the pages list them: by day, in the reader's zone,
exactly the starts the API would list for the same length and type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from backend.api.context import AppContext
from backend.live.mail.letters import day_in_words, local_time, zone_named
from backend.rules.service_types import ServiceType

WEEK_DAYS = 7
MOST_STARTS = 700
"""Free starts one week's page lists at most (a week of 15-minute slots is 672)."""


@dataclass(frozen=True)
class Start:
    slot_id: str
    at: int
    time: str
    """The start's time of day in the reader's zone, `HH:MM`."""
    day: str
    """Its day in words, in the reader's zone."""


@dataclass(frozen=True)
class Day:
    name: str
    starts: list[Start]


@dataclass(frozen=True)
class Week:
    first_day: date
    label: str
    days: list[Day]


def today(now: float, zone: str) -> date:
    return local_time(now, zone_named(zone)[0]).date()


def moment_in_words(epoch: float, zone: str) -> str:
    where, name = zone_named(zone)
    moment = local_time(epoch, where)
    return f"{day_in_words(moment)} at {moment:%H:%M} ({name})"


def length_in_words(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


async def open_starts(
    ctx: AppContext,
    provider_id: str,
    begins: float,
    ends: float,
    zone: str,
    now: float,
    *,
    span: int | None,
    service: ServiceType | None,
) -> list[Start]:
    """The free starts from `begins` to `ends` where `span` seconds (one slot when None) fit with
    the provider, under the type's rules when it has one."""
    where, _ = zone_named(zone)
    rows = await ctx.store.list_open(
        max(begins, now), ends, provider_id, None, MOST_STARTS, now, span=span, service=service
    )
    starts = []
    for row in rows:
        moment = local_time(row.start, where)
        starts.append(Start(row.id, row.start, f"{moment:%H:%M}", day_in_words(moment)))
    return starts


async def week_of_starts(
    ctx: AppContext,
    provider_id: str,
    first_day: date,
    zone: str,
    now: float,
    *,
    span: int | None,
    service: ServiceType | None,
) -> Week:
    """The week from `first_day` on, its free starts by day in `zone`."""
    where, _ = zone_named(zone)
    last_day = first_day + timedelta(days=WEEK_DAYS - 1)
    begins = datetime.combine(first_day, time(), where).timestamp()
    ends = datetime.combine(last_day + timedelta(days=1), time(), where).timestamp()
    starts = await open_starts(
        ctx, provider_id, begins, ends, zone, now, span=span, service=service
    )
    days: dict[str, list[Start]] = {}
    for start in starts:
        days.setdefault(start.day, []).append(start)
    label = (
        f"from {day_in_words(local_time(begins, where))}"
        f" to {day_in_words(local_time(ends - 1, where))}"
    )
    return Week(first_day, label, [Day(name, day) for name, day in days.items()])
