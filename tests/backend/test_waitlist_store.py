"""The waitlist in the stores, on both: places in a provider's line, and time freed by a cancel, a
release, a lapse (swept, or met by a bystander's reserve first), a move away, new availability,
a schedule, or busy times that went away, handed in the same write to the first waiting entry it
suits, as a hold of that entry's client whose `reserved` change names the entry. The store is
called directly with an explicit `now`; the HTTP API's own tests are the API's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from backend.rules.booking import BookingError, Rules, SlotRow, SlotTaken
from backend.rules.schedule import Hours, Schedule
from backend.store.base import Answer, ChangeRow, Once, ProviderNotFound, Store
from backend.store.busy_records import BusySource, Refreshed
from backend.store.opening import open_store
from backend.store.waitlist_records import (
    NewEntry,
    StoredEntry,
    TooManyWaitlistEntries,
    WaitlistEntryNotFound,
    WaitlistFilter,
)
from tests.helpers import T0

RULES = replace(Rules(), max_holds=2, max_waitlist=3)
"""15-minute slots, 24 hours' notice, offers held 30 minutes; two holds and three waitlist entries
per client at most."""

NOW = T0
SLOT = RULES.slot_seconds
OFFER = RULES.offer_seconds
START = int(T0) + 2 * 86_400 + 3_600
"""2030-03-06 10:00 UTC (a Wednesday): two days after the clock's T0, past the notice period."""


def at(n: int) -> int:
    """The start of the n-th slot from START."""
    return START + n * SLOT


@pytest.fixture
async def store(db: str) -> AsyncIterator[Store]:
    opened = await open_store(db, RULES)
    yield opened
    await opened.close()


async def booked(store: Store, count: int, provider: str = "p1", first: int = 0) -> list[SlotRow]:
    """`count` slots of the provider from at(first), each booked by a client of its own (b0, b1,
    ...), so that nothing there is open."""
    slots = (await store.submit_availability(provider, at(first), at(first + count), NOW)).slots
    for n, slot in enumerate(slots):
        await store.reserve(slot.id, slot.start, f"b{n}", NOW)
        await store.confirm(slot.id, slot.start, f"b{n}", NOW)
    return slots


async def join(
    store: Store,
    client: str,
    window: tuple[int, int],
    now: float,
    *,
    minutes: int = 15,
    provider: str = "p1",
) -> StoredEntry:
    entry = NewEntry(uuid.uuid4().hex, provider, client, window[0], window[1], minutes, None)
    return await store.join_waitlist(entry, now)


async def entry(store: Store, joined: StoredEntry, now: float) -> StoredEntry:
    found = await store.find_waitlist_entry(joined.waitlist_id, now)
    assert found is not None
    return found


async def line(store: Store, now: float, provider: str = "p1") -> list[tuple[str, str, int]]:
    """(client, status, place) of each of the provider's entries, oldest place first."""
    entries = await store.waitlist(WaitlistFilter(provider_id=provider), now)
    return [(e.client_id, e.status, e.position) for e in entries]


async def slot_at(store: Store, start: int, provider: str = "p1") -> SlotRow:
    [found] = await store.provider_slots(provider, start, start + SLOT)
    return found


async def holder(store: Store, start: int, now: float, provider: str = "p1") -> str | None:
    """Who holds or has booked the slot at `start` now (None when it is open)."""
    found = await slot_at(store, start, provider)
    lapsed = found.status == "RESERVED" and (found.held_until or 0) <= now
    return None if found.status == "AVAILABLE" or lapsed else found.client_id


async def reserved_changes(store: Store) -> list[ChangeRow]:
    return [c for c in await store.changes_since(0, 10_000) if c.kind == "reserved"]


# --- places in line ------------------------------------------------------------------------------


async def test_the_line_keeps_the_order_clients_joined_in(store: Store) -> None:
    await booked(store, 2)
    first = await join(store, "c1", (at(0), at(2)), NOW + 1)
    second = await join(store, "c2", (at(0), at(2)), NOW + 2, minutes=30)
    third = await join(store, "c3", (at(1), at(2)), NOW + 3)

    assert (first.position, second.position, third.position) == (1, 2, 3)
    assert (second.status, second.minutes, second.joined_at) == ("waiting", 30, NOW + 2)
    assert (second.window_start, second.window_end) == (at(0), at(2))
    assert await line(store, NOW + 4) == [("c1", "waiting", 1), ("c2", "waiting", 2),
                                          ("c3", "waiting", 3)]  # fmt: skip
    mine = await store.waitlist(WaitlistFilter(client_id="c3"), NOW + 4)
    assert [(e.waitlist_id, e.position) for e in mine] == [(third.waitlist_id, 3)]

    left = await store.leave_waitlist(first.waitlist_id, NOW + 5)

    assert (left.waitlist_id, left.position) == (first.waitlist_id, 1)
    assert await line(store, NOW + 5) == [("c2", "waiting", 1), ("c3", "waiting", 2)]
    assert await store.find_waitlist_entry(first.waitlist_id, NOW + 5) is None
    with pytest.raises(WaitlistEntryNotFound):
        await store.leave_waitlist(first.waitlist_id, NOW + 6)


async def test_joining_needs_a_provider_and_a_free_place(store: Store) -> None:
    with pytest.raises(ProviderNotFound):
        await join(store, "c1", (at(0), at(2)), NOW)
    await booked(store, 1)
    for n in range(RULES.max_waitlist):
        await join(store, "c1", (at(0), at(1)), NOW + n)

    with pytest.raises(TooManyWaitlistEntries):
        await join(store, "c1", (at(0), at(1)), NOW + 10)

    assert len(await store.waitlist(WaitlistFilter(client_id="c1"), NOW + 10)) == 3
    await join(store, "c2", (at(0), at(1)), NOW + 11)  # the most is each client's


async def test_an_entry_whose_window_passed_expires(store: Store) -> None:
    await booked(store, 1)
    joined = await join(store, "c1", (at(0), at(1)), NOW)
    after = at(1) + 1

    assert (await entry(store, joined, after)).status == "expired"  # before any sweep
    await store.expire_lapsed(after)

    assert (await entry(store, joined, after)).status == "expired"
    assert await line(store, after) == [("c1", "expired", 0)]
    await join(store, "c1", (after + 86_400, after + 2 * 86_400), after)  # no longer counted
    await join(store, "c1", (after + 86_400, after + 2 * 86_400), after)
    await join(store, "c1", (after + 86_400, after + 2 * 86_400), after)


# --- freed time becomes an offer ----------------------------------------------------------------


async def test_a_cancel_offers_the_freed_slot_to_the_first_entry_it_fits(store: Store) -> None:
    slots = await booked(store, 4)
    late = await join(store, "c1", (at(2), at(4)), NOW + 1)  # the freed slot is not in its window
    long = await join(store, "c2", (at(0), at(4)), NOW + 2, minutes=30)  # nor of its length
    fits = await join(store, "c3", (at(0), at(2)), NOW + 3)
    after = await join(store, "c4", (at(0), at(4)), NOW + 4)

    await store.cancel(slots[0].id, "b0", None, NOW + 10)

    offered = await entry(store, fits, NOW + 10)
    held = await slot_at(store, at(0))
    assert (held.status, held.client_id, held.held_until) == ("RESERVED", "c3", NOW + 10 + OFFER)
    assert (offered.status, offered.position) == ("offered", 0)
    assert (offered.appointment_id, offered.offer_start) == (held.id, at(0))
    assert offered.offer_until == NOW + 10 + OFFER
    assert [(await entry(store, e, NOW + 10)).position for e in (late, long, after)] == [1, 2, 3]
    *_, cancelled, reserved = await store.changes_since(0, 10_000)
    assert (cancelled.kind, cancelled.client_id, cancelled.waitlist_id) == ("cancelled", "b0", None)
    assert (reserved.kind, reserved.slot_id, reserved.client_id, reserved.waitlist_id) == (
        "reserved", held.id, "c3", fits.waitlist_id,
    )  # fmt: skip


async def test_a_longer_entry_is_offered_a_run_freed_whole(store: Store) -> None:
    slots = await booked(store, 1)
    await booked(store, 1, first=1)  # (b0 again: a second appointment of theirs)
    long = await join(store, "c1", (at(0), at(4)), NOW + 1, minutes=30)
    short = await join(store, "c2", (at(0), at(4)), NOW + 2)
    second = await slot_at(store, at(1))

    await store.cancel(slots[0].id, "b0", None, NOW + 10)  # 15 minutes: the short one's
    assert [(await entry(store, e, NOW + 10)).status for e in (long, short)] == [
        "waiting", "offered",
    ]  # fmt: skip
    await store.cancel(second.id, "b0", None, NOW + 11)  # not 30 minutes in a row: nobody's

    assert (await entry(store, long, NOW + 11)).status == "waiting"
    assert await holder(store, at(1), NOW + 11) is None


async def test_a_released_offer_is_declined_and_goes_to_the_next(store: Store) -> None:
    [slot] = await booked(store, 1)
    first = await join(store, "c1", (at(0), at(1)), NOW + 1)
    second = await join(store, "c2", (at(0), at(1)), NOW + 2)
    await store.cancel(slot.id, "b0", None, NOW + 10)
    assert await holder(store, at(0), NOW + 10) == "c1"

    await store.cancel(slot.id, "c1", None, NOW + 20)

    assert (await entry(store, first, NOW + 20)).status == "declined"
    assert (await entry(store, second, NOW + 20)).status == "offered"
    assert await holder(store, at(0), NOW + 20) == "c2"
    [*_, last] = await reserved_changes(store)
    assert (last.client_id, last.waitlist_id) == ("c2", second.waitlist_id)


async def test_a_lapsed_offer_goes_to_the_next_at_the_sweep(store: Store) -> None:
    [slot] = await booked(store, 1)
    first = await join(store, "c1", (at(0), at(1)), NOW + 1)
    second = await join(store, "c2", (at(0), at(1)), NOW + 2)
    await store.cancel(slot.id, "b0", None, NOW + 10)
    lapsed = NOW + 10 + OFFER

    assert (await entry(store, first, lapsed)).status == "lapsed"  # before the sweep
    assert await store.expire_lapsed(lapsed) == 1

    assert (await entry(store, first, lapsed)).status == "lapsed"
    offered = await entry(store, second, lapsed)
    assert (offered.status, offered.offer_until) == ("offered", lapsed + OFFER)
    assert await holder(store, at(0), lapsed) == "c2"


async def test_a_lapsed_offer_goes_to_the_next_before_a_bystander_can_take_it(
    store: Store,
) -> None:
    [slot] = await booked(store, 1)
    first = await join(store, "c1", (at(0), at(1)), NOW + 1)
    second = await join(store, "c2", (at(0), at(1)), NOW + 2)
    await store.cancel(slot.id, "b0", None, NOW + 10)
    lapsed = NOW + 10 + OFFER

    with pytest.raises(SlotTaken):  # no sweep has run: the reserve hands it over first
        await store.reserve(slot.id, at(0), "bystander", lapsed)

    assert (await entry(store, first, lapsed)).status == "lapsed"
    assert (await entry(store, second, lapsed)).status == "offered"
    assert await holder(store, at(0), lapsed) == "c2"
    [*_, last] = await reserved_changes(store)
    assert (last.client_id, last.waitlist_id) == ("c2", second.waitlist_id)


async def test_a_confirmed_offer_fulfils_its_entry(store: Store) -> None:
    [slot] = await booked(store, 1)
    joined = await join(store, "c1", (at(0), at(1)), NOW + 1)
    await store.cancel(slot.id, "b0", None, NOW + 10)

    await store.confirm(slot.id, at(0), "c1", NOW + 20)

    fulfilled = await entry(store, joined, NOW + 20)
    assert (fulfilled.status, fulfilled.position, fulfilled.appointment_id) == (
        "fulfilled", 0, slot.id,
    )  # fmt: skip
    assert (await slot_at(store, at(0))).status == "CONFIRMED"
    # Long after the offer's time, it is still fulfilled (not shown as lapsed).
    assert (await entry(store, joined, NOW + 20 + 2 * OFFER)).status == "fulfilled"


@pytest.mark.parametrize("frees", ["confirm", "release"])
async def test_a_client_at_the_most_holds_is_passed_over_and_keeps_their_place(
    store: Store, frees: str
) -> None:
    elsewhere = (await store.submit_availability("p2", at(0), at(2), NOW)).slots
    for slot in elsewhere:  # c1 holds as many as anyone may
        await store.reserve(slot.id, slot.start, "c1", NOW)
    first_freed, second_freed = await booked(store, 2)
    busy = await join(store, "c1", (at(0), at(2)), NOW + 1)
    other = await join(store, "c2", (at(0), at(2)), NOW + 2)

    await store.cancel(first_freed.id, "b0", None, NOW + 10)

    assert await holder(store, at(0), NOW + 10) == "c2"
    assert (await entry(store, other, NOW + 10)).status == "offered"
    assert await line(store, NOW + 10) == [("c1", "waiting", 1), ("c2", "offered", 0)]

    await store.cancel(second_freed.id, "b1", None, NOW + 11)  # nobody else waits: it stays open
    assert await holder(store, at(1), NOW + 11) is None
    assert (await entry(store, busy, NOW + 11)).status == "waiting"

    if frees == "confirm":
        await store.confirm(elsewhere[0].id, at(0), "c1", NOW + 12)
    else:
        await store.cancel(elsewhere[0].id, "c1", None, NOW + 12)

    offered = await entry(store, busy, NOW + 12)
    assert (offered.status, offered.offer_start) == ("offered", at(1))
    assert await holder(store, at(1), NOW + 12) == "c1"


async def test_a_moved_offer_stays_the_entrys_offer(store: Store) -> None:
    [slot] = await booked(store, 1)
    later = (await store.submit_availability("p1", at(5), at(6), NOW)).slots[0]  # nobody's window
    first = await join(store, "c1", (at(0), at(1)), NOW + 1)
    await store.cancel(slot.id, "b0", None, NOW + 10)
    second = await join(store, "c2", (at(0), at(1)), NOW + 11)

    await store.move(slot.id, later.id, at(5), "c1", NOW + 20)

    moved = await entry(store, first, NOW + 20)
    assert (moved.status, moved.appointment_id, moved.offer_start) == (
        "offered", later.id, at(5),
    )  # fmt: skip
    assert await holder(store, at(5), NOW + 20) == "c1"
    assert await holder(store, at(0), NOW + 20) == "c2"  # what the move freed
    assert (await entry(store, second, NOW + 20)).status == "offered"

    await store.confirm(later.id, at(5), "c1", NOW + 30)
    assert (await entry(store, first, NOW + 30)).status == "fulfilled"
    assert (await entry(store, second, NOW + 30)).status == "offered"


async def test_new_availability_fills_the_line(store: Store) -> None:
    await booked(store, 1, first=10)  # the provider exists, with nothing in these windows
    first = await join(store, "c1", (at(0), at(4)), NOW + 1)
    second = await join(store, "c2", (at(0), at(4)), NOW + 2, minutes=30)
    third = await join(store, "c3", (at(0), at(4)), NOW + 3)

    made = await store.submit_availability("p1", at(0), at(3), NOW + 10)

    assert [(s.start, s.status, s.client_id) for s in made.slots] == [
        (at(0), "RESERVED", "c1"), (at(1), "RESERVED", "c2"), (at(2), "RESERVED", "c2"),
    ]  # fmt: skip
    assert [(await entry(store, e, NOW + 10)).status for e in (first, second, third)] == [
        "offered", "offered", "waiting",
    ]  # fmt: skip
    offers = [(c.slot_id, c.waitlist_id) for c in await reserved_changes(store)][-3:]
    assert offers == [
        (made.slots[0].id, first.waitlist_id),
        (made.slots[1].id, second.waitlist_id),
        (made.slots[2].id, second.waitlist_id),
    ]


WEEKLY = tuple((Hours(600, 660),) for _ in range(7))
"""10:00 to 11:00 UTC every day."""


async def test_a_schedule_and_its_roll_fill_the_line(store: Store) -> None:
    await store.set_schedule("p2", Schedule("UTC", WEEKLY, {}, 2), NOW)  # to Tuesday
    on_wednesday = await join(store, "c1", (at(0), at(1)), NOW + 1, provider="p2")
    on_thursday = await join(store, "c2", (at(96), at(97)), NOW + 2, provider="p2")
    assert await line(store, NOW + 2, "p2") == [("c1", "waiting", 1), ("c2", "waiting", 2)]

    await store.set_schedule("p2", Schedule("UTC", WEEKLY, {}, 3), NOW + 10)  # to Wednesday

    assert (await entry(store, on_wednesday, NOW + 10)).status == "offered"
    assert await holder(store, at(0), NOW + 10, "p2") == "c1"
    assert (await entry(store, on_thursday, NOW + 10)).status == "waiting"

    rolled = await store.roll_schedules(NOW + 86_400)  # Thursday comes into the horizon

    assert rolled.created == 4
    assert (await entry(store, on_thursday, NOW + 86_400)).status == "offered"
    assert await holder(store, at(96), NOW + 86_400, "p2") == "c2"


def calendar(source_id: str) -> BusySource:
    return BusySource(
        source_id=source_id, provider_id="p1", name="Own", kind="ics",
        url="https://calendar.example/own.ics", username=None, password_sealed=None,
        refresh_minutes=15, all_day_events="busy", created_at=NOW, updated_at=NOW, due_at=NOW,
    )  # fmt: skip


def refreshed(intervals: list[tuple[int, int]]) -> Refreshed:
    return Refreshed(intervals, len(intervals), None, None, None, NOW + 900)


@pytest.mark.parametrize("goes", ["refreshed away", "source removed"])
async def test_busy_times_that_go_away_fill_the_line(store: Store, goes: str) -> None:
    await store.submit_availability("p1", at(0), at(2), NOW)
    await store.create_busy_source(calendar("s1"))
    await store.record_busy_refresh("s1", refreshed([(at(0), at(2))]), NOW)
    joined = await join(store, "c1", (at(0), at(2)), NOW + 1)
    assert (await entry(store, joined, NOW + 1)).status == "waiting"  # busy: nothing to offer

    if goes == "refreshed away":
        await store.record_busy_refresh("s1", refreshed([(at(1), at(2))]), NOW + 10)
    else:
        await store.delete_busy_source("s1", NOW + 10)

    offered = await entry(store, joined, NOW + 10)
    assert (offered.status, offered.offer_start) == ("offered", at(0))
    assert await holder(store, at(0), NOW + 10) == "c1"


async def test_joining_offers_what_is_open_in_the_window_already(store: Store) -> None:
    await store.submit_availability("p1", at(0), at(2), NOW)
    await store.reserve((await slot_at(store, at(0))).id, at(0), "b0", NOW)

    joined = await join(store, "c1", (at(0), at(2)), NOW + 1)

    assert (joined.status, joined.offer_start, joined.position) == ("offered", at(1), 0)
    assert await holder(store, at(1), NOW + 1) == "c1"


# --- many at once --------------------------------------------------------------------------------


async def test_cancels_at_once_offer_each_freed_slot_once_in_line_order(store: Store) -> None:
    slots = await booked(store, 6)
    joined = [await join(store, f"c{n}", (at(0), at(6)), NOW + 1 + n) for n in range(9)]

    await asyncio.gather(
        *(store.cancel(slot.id, f"b{n}", None, NOW + 20) for n, slot in enumerate(slots))
    )

    entries = [await entry(store, e, NOW + 20) for e in joined]
    assert [e.status for e in entries] == ["offered"] * 6 + ["waiting"] * 3
    assert sorted(e.offer_start or 0 for e in entries[:6]) == [at(n) for n in range(6)]
    holders = [await holder(store, at(n), NOW + 20) for n in range(6)]
    assert sorted(h or "" for h in holders) == [f"c{n}" for n in range(6)]
    offers = [c.waitlist_id for c in await reserved_changes(store) if c.waitlist_id]
    assert sorted(offers) == sorted(e.waitlist_id for e in joined[:6])  # each once


def keyed(key: str) -> Once:
    """An Idempotency-Key's promise, as the API makes it (answers rendered plainly)."""

    def render(result: object) -> Answer:
        return Answer(201, b"{}")

    def refuse(error: BookingError) -> Answer:
        return Answer(409, error.detail.encode())

    return Once("client:bystander", key, "the same request", render, refuse)


@pytest.mark.parametrize("write", ["reserve", "move"])
async def test_a_refused_write_with_an_idempotency_key_still_hands_a_lapsed_offer_on(
    store: Store, write: str
) -> None:
    [slot] = await booked(store, 1)
    await join(store, "c1", (at(0), at(1)), NOW + 1)
    second = await join(store, "c2", (at(0), at(1)), NOW + 2)
    await store.cancel(slot.id, "b0", None, NOW + 10)
    mine = (await store.submit_availability("p1", at(8), at(9), NOW + 11)).slots[0]
    await store.reserve(mine.id, at(8), "bystander", NOW + 11)
    lapsed = NOW + 10 + OFFER

    keyed_write = (  # the terminal app sends a key with every write
        store.reserve(slot.id, at(0), "bystander", lapsed, once=keyed("k1"))
        if write == "reserve"
        else store.move(mine.id, slot.id, at(0), "bystander", lapsed, once=keyed("k1"))
    )
    with pytest.raises(SlotTaken):
        await keyed_write

    assert (await entry(store, second, lapsed)).status == "offered"
    assert await holder(store, at(0), lapsed) == "c2"


async def test_a_lapsed_offers_slot_taken_by_someone_else_leaves_its_entry_lapsed(
    store: Store,
) -> None:
    [slot] = await booked(store, 1)
    joined = await join(store, "c1", (at(0), at(1)), NOW + 1)
    await store.cancel(slot.id, "b0", None, NOW + 10)
    lapsed = NOW + 10 + OFFER  # nobody else waits: the slot is anyone's again

    await store.reserve(slot.id, at(0), "bystander", lapsed)
    await store.confirm(slot.id, at(0), "bystander", lapsed + 1)

    assert (await entry(store, joined, lapsed + 1)).status == "lapsed"
    await store.expire_lapsed(lapsed + 2)
    assert (await entry(store, joined, lapsed + 2)).status == "lapsed"
    for n in range(RULES.max_waitlist):  # it holds no place any more
        await join(store, "c1", (at(20), at(21)), lapsed + 3 + n)
