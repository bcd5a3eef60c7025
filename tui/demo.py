"""Sample data, so that someone trying slotbook for the first time sees a lived-in calendar.

`slotbook --demo` over an empty database makes four providers, each with its own weekly hours for
the coming fortnight and (all but one) the types of appointment it offers, and three clients who
have held and booked a few of their slots. Everything
goes through the HTTP API with the app's admin token, as any other caller would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo

from shared.grid import align_down, align_up
from shared.service_wire import ServiceRequest
from shared.timefmt import parse_time
from shared.wire import TimeSlot, TokenCreated
from tui.client import SlotbookClient
from tui.errors import Conflict, Gone, Invalid, RateLimited
from tui.identities import Identity, IdentityStore, subject_for

T = TypeVar("T")

DEMO_DAYS = 14
"""How many days of availability, from today."""

START_MARGIN_SECONDS = 60
"""A window that has begun restarts on the grid at least this far ahead, so that it is not in the
past by the time the server reads it."""

NOTICE_MARGIN_SECONDS = 3600
"""Slots picked for holds start at least this long after the notice period ends."""

RATE_LIMIT_RETRIES = 5

WEEKDAYS = frozenset(range(5))
MONDAY_TO_THURSDAY = frozenset(range(4))
SATURDAY = frozenset({5})


@dataclass(frozen=True)
class Opening:
    """Opening hours on some days of the week (0 is Monday), in local wall-clock time."""

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class DemoProvider:
    """A sample provider: the name people see, its weekly opening hours, and what it offers."""

    name: str
    hours: tuple[Opening, ...]
    offers: tuple[ServiceRequest, ...] = ()

    def windows_on(self, day: date) -> list[tuple[time, time]]:
        """The opening hours that fall on `day`, in order."""
        return [(o.start, o.end) for o in self.hours if day.weekday() in o.days]


DEMO_PROVIDERS: tuple[DemoProvider, ...] = (
    DemoProvider(
        "Dr Ada Lovelace",
        (Opening(WEEKDAYS, time(9), time(12)), Opening(WEEKDAYS, time(13), time(17))),
        (
            ServiceRequest(name="Consultation", minutes=30, description="A question or a check"),
            ServiceRequest(
                name="Long consultation",
                minutes=60,
                buffer_after_minutes=15,
                description="Time for something new; 15 minutes after to write it up",
            ),
        ),
    ),
    DemoProvider(
        "Dr Alan Turing",
        (
            Opening(WEEKDAYS, time(9), time(12)),
            Opening(WEEKDAYS, time(13), time(17)),
            Opening(SATURDAY, time(9), time(12)),
        ),
    ),
    DemoProvider(
        "Grace Hopper Physio",
        (Opening(WEEKDAYS, time(11), time(14)), Opening(WEEKDAYS, time(15), time(19))),
        (
            ServiceRequest(
                name="First assessment",
                minutes=60,
                buffer_after_minutes=15,
                description="History, tests and a plan; wear something you can move in",
            ),
            ServiceRequest(
                name="Follow-up",
                minutes=30,
                max_advance_days=28,
                daily_limit=6,
                description="Check progress and adjust the exercises",
            ),
        ),
    ),
    DemoProvider(
        "Katherine Johnson Dental",
        (
            Opening(MONDAY_TO_THURSDAY, time(8, 30), time(12, 30)),
            Opening(MONDAY_TO_THURSDAY, time(13, 30), time(16)),
        ),
        (
            ServiceRequest(
                name="Check-up", minutes=30, buffer_before_minutes=15, description="With X-rays"
            ),
            ServiceRequest(name="Cleaning", minutes=45, description="Scale and polish"),
        ),
    ),
)
"""The sample providers, with the hours each offers every week and its types of appointment (Dr
Turing offers none: clients choose a length, as with any provider who has not said)."""

DEMO_CLIENTS: tuple[str, ...] = ("Mary Jackson", "Dorothy Vaughan", "Hedy Lamarr")
"""The sample clients who hold and book some of the providers' slots."""

BOOKINGS_PER_PROVIDER = 3
"""Slots taken per provider: the first and last are booked, the middle one only held."""

LONG_MINUTES = 45
"""The last booking of each provider is this long (several slots), and has a note."""

DEMO_NOTES: tuple[str, ...] = (
    "First visit; knee pain since March, worse on the stairs",
    "Follow-up on the results from last month",
    "Check-up; I may be a few minutes late, sorry",
)
"""What the sample clients write to their providers on those longer bookings."""


async def seed_demo(
    admin: SlotbookClient,
    zone: ZoneInfo,
    now: float,
    *,
    identities: IdentityStore | None = None,
    slot_minutes: float = 15,
    notice_hours: float = 24,
) -> bool:
    """Fill an empty server with the sample providers, their fortnight and a few bookings.

    Does nothing and returns False when the server already lists a provider. Otherwise makes a
    token for each sample provider (adding each to `identities`, not as the current one, so the
    user can switch to it), submits its opening hours from today (in `zone`) for DEMO_DAYS days,
    lets the sample clients hold and book some slots further ahead than the notice period, and
    returns True. `now` is the server's current time, as UTC epoch seconds.
    """
    if await _patiently(admin.providers):
        return False
    taken = {i.subject for i in identities.all()} if identities is not None else set()
    slot_seconds = max(1, round(slot_minutes * 60))
    provider_ids: list[str] = []
    for provider in DEMO_PROVIDERS:
        subject = await _make_provider(admin, provider, taken, identities)
        provider_ids.append(subject)
        for offer in provider.offers:
            await _patiently(partial(admin.offer, subject, offer))
        for start, end in availability(provider, zone, now, slot_seconds):
            await _patiently(partial(admin.submit, start, end, provider_id=subject))
    horizon = now + notice_hours * 3600 + NOTICE_MARGIN_SECONDS
    open_slots = await _patiently(
        partial(admin.open_slots, horizon, now + (DEMO_DAYS + 1) * 86_400)
    )
    clients = [await _make_client(admin, name, taken) for name in DEMO_CLIENTS]
    try:
        await _book_some(clients, provider_ids, open_slots, zone, horizon)
    finally:
        for client in clients:
            await client.aclose()
    return True


# --- providers and their hours -------------------------------------------------------------------


def availability(
    provider: DemoProvider, zone: ZoneInfo, now: float, slot_seconds: int
) -> Iterator[tuple[int, int]]:
    """The provider's windows for DEMO_DAYS days from today in `zone`, as UTC epoch (start, end)
    on the slot grid; a window that has begun starts at the next slot, one that is over is left
    out."""
    earliest = align_up(now + START_MARGIN_SECONDS, slot_seconds)
    today = datetime.fromtimestamp(now, UTC).astimezone(zone).date()
    for offset in range(DEMO_DAYS):
        day = today + timedelta(days=offset)
        for opens, closes in provider.windows_on(day):
            start = max(align_up(local_epoch(day, opens, zone), slot_seconds), earliest)
            end = align_down(local_epoch(day, closes, zone), slot_seconds)
            if start < end:
                yield start, end


def local_epoch(day: date, clock: time, zone: ZoneInfo) -> int:
    """The UTC epoch of a wall-clock time on a local day: midnight plus the time, counted on the
    wall clock, so 09:00 stays 09:00 on the days clocks change."""
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    wall = midnight + timedelta(hours=clock.hour, minutes=clock.minute)  # same-zone: wall clock
    return int(wall.timestamp())


async def _make_provider(
    admin: SlotbookClient,
    provider: DemoProvider,
    taken: set[str],
    identities: IdentityStore | None,
) -> str:
    """A token for a sample provider (which makes it bookable); returns its providerId."""
    subject = subject_for(provider.name, taken)
    taken.add(subject)
    created = await _patiently(partial(admin.create_token, "provider", subject, provider.name))
    if identities is not None:
        identities.add(
            Identity("provider", subject, provider.name, _secret(created)), make_current=False
        )
    return subject


# --- clients and their bookings ------------------------------------------------------------------


async def _make_client(admin: SlotbookClient, name: str, taken: set[str]) -> SlotbookClient:
    """A token for a sample client, and an API client that acts as it."""
    subject = subject_for(name, taken)
    taken.add(subject)
    created = await _patiently(partial(admin.create_token, "client", subject, name))
    return SlotbookClient(admin.base_url, _secret(created))


async def _book_some(
    clients: Sequence[SlotbookClient],
    provider_ids: Sequence[str],
    open_slots: Sequence[TimeSlot],
    zone: ZoneInfo,
    horizon: float,
) -> None:
    """Let the clients take a few slots of each provider, booking most and holding one."""
    turn = 0
    for provider_id in provider_ids:
        mine = [s for s in open_slots if s.provider_id == provider_id]
        for index, slot in enumerate(pick_slots(mine, zone, horizon, BOOKINGS_PER_PROVIDER)):
            client = clients[turn % len(clients)]
            note = DEMO_NOTES[turn % len(DEMO_NOTES)]
            turn += 1
            if index == BOOKINGS_PER_PROVIDER - 1:
                await _take(client, slot, confirm=True, minutes=LONG_MINUTES, note=note)
            else:
                await _take(client, slot, confirm=index != 1)


def pick_slots(
    slots: Sequence[TimeSlot], zone: ZoneInfo, after: float, count: int
) -> list[TimeSlot]:
    """Up to `count` slots starting after `after`, each on a different local day (the first days
    there are), a little into that day's hours, so they show on the nearest weeks."""
    by_day: dict[date, list[TimeSlot]] = {}
    for slot in sorted(slots, key=lambda s: s.timestamp):
        start = parse_time(slot.timestamp)
        if start > after:
            by_day.setdefault(datetime.fromtimestamp(start, zone).date(), []).append(slot)
    picked: list[TimeSlot] = []
    for day_number, day in enumerate(sorted(by_day)[:count]):
        on_day = by_day[day]
        picked.append(on_day[min(len(on_day) - 1, 1 + 2 * day_number)])
    return picked


async def _take(
    client: SlotbookClient,
    slot: TimeSlot,
    *,
    confirm: bool,
    minutes: int | None = None,
    note: str | None = None,
) -> None:
    """Hold the slot (or `minutes` from it, with a note) as this client and, if asked, confirm
    it; a refusal (taken, too many holds, too long for the hours left) only means the demo has
    one booking fewer."""
    try:
        held = await _patiently(partial(client.reserve, slot, minutes=minutes, note=note))
        if confirm:
            await _patiently(partial(client.confirm, held.reservation))
    except (Conflict, Gone, Invalid):
        return


# --- plumbing ------------------------------------------------------------------------------------


def _secret(created: TokenCreated) -> str:
    """The token from a POST /tokens answer (null only on a replay, which seeding never sends)."""
    if created.token is None:
        raise RuntimeError(f"the server did not hand out the token for {created.name}")
    return created.token


async def _patiently(call: Callable[[], Awaitable[T]]) -> T:
    """Make the call, waiting and trying again when the server says we are going too fast."""
    for _ in range(RATE_LIMIT_RETRIES):
        try:
            return await call()
        except RateLimited as error:
            await asyncio.sleep(error.retry_after)
    return await call()
