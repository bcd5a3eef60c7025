"""A property of schedules, on both stores: for random weekly hours, exceptions, horizons and time
zones (daylight saving in both hemispheres, +05:45, +12:45), at random moments around the changes
of clocks, the slots a store holds after setting the schedule, and after rolling it forward a few
days, are exactly those a plain reading of the schedule gives.

The reading here is deliberately not the product's: it walks every quarter hour of UTC from now to
past the horizon, asks the zone what local date and time that is, and keeps it when the date is in
the horizon and the time in that date's hours. The product works day by day from local midnights.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.rules.booking import Rules
from backend.rules.schedule import Hours, Schedule
from backend.store.base import Store
from backend.store.opening import open_store
from shared.grid import align_up
from shared.timefmt import parse_time

SLOT = 900
RULES = Rules(slot_seconds=SLOT)
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "UTC",
)
MOMENTS = tuple(
    parse_time(t)
    for t in (
        "2030-03-29 12:00:00",  # before Europe springs forward (31 March)
        "2030-10-25 06:00:00",  # before Europe falls back (27 October)
        "2030-03-08 20:00:00",  # before New York springs forward (10 March)
        "2030-04-04 09:00:00",  # before Sydney falls back (7 April)
        "2030-09-26 18:00:00",  # before Sydney and Chatham spring forward (29 September)
        "2030-04-04 21:00:00",  # before Santiago falls back (6 April)
        "2030-09-05 02:00:00",  # before Santiago springs forward (8 September)
    )
)
EXAMPLES = {"sqlite": 60, "postgresql": 25}
"""A PostgreSQL round trip costs more: it gets fewer of the same runs."""


@st.composite
def day_hours(draw: st.DrawFn, most: int = 3) -> tuple[Hours, ...]:
    """Up to `most` windows of a day on the grid, in order, not overlapping."""
    cuts = draw(
        st.lists(st.integers(0, 96), min_size=0, max_size=2 * most, unique=True).map(sorted)
    )
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return tuple(Hours(a * 15, b * 15) for a, b in pairs if b > a)


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Schedule, float]:
    zone = draw(st.sampled_from(ZONES))
    now = (
        draw(st.sampled_from(MOMENTS))
        + draw(st.integers(0, 72)) * 3600
        + draw(st.sampled_from([0, 1, 450, 899]))
    )
    horizon = draw(st.integers(1, 12))
    today = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(zone)).date()
    weekly = tuple(draw(day_hours()) for _ in range(7))
    dated = draw(st.lists(st.integers(-1, horizon + 2), max_size=4, unique=True))
    exceptions = {today + timedelta(days=d): draw(day_hours(2)) for d in dated}
    return Schedule(zone, weekly, exceptions, horizon), now


def plainly(schedule: Schedule, now: float) -> set[int]:
    """The slot starts the schedule means at `now`, read the plain way."""
    zone = ZoneInfo(schedule.zone)
    today = datetime.fromtimestamp(now, UTC).astimezone(zone).date()
    last = today + timedelta(days=schedule.horizon_days - 1)
    found: set[int] = set()
    for start in quarter_hours(now, last, zone):
        local = datetime.fromtimestamp(start, UTC).astimezone(zone)
        day = local.date()
        if not today <= day <= last:
            continue
        hours = schedule.exceptions.get(day, schedule.weekly[day.weekday()])
        minute = local.hour * 60 + local.minute
        if any(h.start <= minute < h.end for h in hours):
            found.add(start)
    return found


def quarter_hours(now: float, last: date, zone: ZoneInfo) -> Iterator[int]:
    """Every grid instant after `now`, to well past the end of the local date `last`."""
    stop = datetime.combine(last + timedelta(days=2), datetime.min.time(), zone).timestamp()
    return iter(range(align_up(now + 1, SLOT), int(stop), SLOT))


async def held(store: Store, provider: str, now: float) -> set[int]:
    rows = await store.provider_slots(provider, now, now + 400 * 86_400)
    return {s.start for s in rows if s.start > now}


def test_a_stores_slots_are_what_the_schedule_plainly_means(db: str, store_kind: str) -> None:
    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(open_store(db, RULES, synchronous="NORMAL"))
    providers = itertools.count()

    @settings(
        max_examples=EXAMPLES[store_kind],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(schedules(), st.integers(1, 3))
    def check(case: tuple[Schedule, float], days_later: int) -> None:
        schedule, now = case
        provider = f"p{next(providers)}"
        set_first = loop.run_until_complete(store.set_schedule(provider, schedule, now))
        assert loop.run_until_complete(held(store, provider, now)) == plainly(schedule, now)
        again = loop.run_until_complete(store.set_schedule(provider, schedule, now))
        assert (again.created, again.deleted) == (0, 0), "the same schedule changes nothing"
        assert set_first.created == len(plainly(schedule, now))

        later = now + days_later * 86_400
        loop.run_until_complete(store.roll_schedules(later))
        assert loop.run_until_complete(held(store, provider, later)) == plainly(schedule, later)

    try:
        check()
    finally:
        loop.run_until_complete(store.close())
        loop.close()


@pytest.mark.parametrize("store_kind", ["postgresql"])
def test_two_processes_rolling_at_once_open_each_date_once(db: str, store_kind: str) -> None:
    """Two stores on one PostgreSQL database (as two server processes) roll at the same moment:
    every new date's slots are opened once, and the change log says so once."""
    loop = asyncio.new_event_loop()
    first = loop.run_until_complete(open_store(db, RULES))
    second = loop.run_until_complete(open_store(db, RULES))
    now = parse_time("2030-03-04 09:00:00")
    week = tuple((Hours(9 * 60, 17 * 60),) for _ in range(7))
    try:
        for n in range(40):
            schedule = Schedule("Europe/Berlin", week, {}, 7)
            loop.run_until_complete(first.set_schedule(f"p{n}", schedule, now))
        later = now + 3 * 86_400

        async def both() -> tuple[int, int]:
            a, b = await asyncio.gather(first.roll_schedules(later), second.roll_schedules(later))
            return a.created, b.created

        a, b = loop.run_until_complete(both())
        assert a + b == 40 * 3 * 32, "three new dates of 32 slots for each of 40 providers"
        rolled_again = loop.run_until_complete(second.roll_schedules(later))
        assert rolled_again.created == 0
        changes = loop.run_until_complete(first.changes_since(0, 100_000))
        opened = [c.slot_id for c in changes if c.kind == "created"]
        assert len(opened) == len(set(opened)) == 40 * (7 * 32 - 5) + 40 * 3 * 32
    finally:
        loop.run_until_complete(first.close())
        loop.run_until_complete(second.close())
        loop.close()
