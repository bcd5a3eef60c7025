"""The store contract, on both stores: each test runs against a SQLite file and a PostgreSQL
database, calling the store directly with an explicit `now`: one slot per provider and time, the
change log, refusals that write nothing, concurrent operations, lapsed holds, and closing.

What only one store has (SQLite's pragmas and writer thread; PostgreSQL's schema, locks and
notifications across processes) is tested in test_sqlite_store.py and test_postgres_store.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from backend.rules.booking import HoldLapsed, NothingToCancel, Rules, SlotNotFound, SlotTaken
from backend.store.base import ReserveResult, Store
from backend.store.opening import open_store
from tests.helpers import T0, query

RULES = Rules()
"""15-minute slots, 30-minute holds, 24 hours' notice, 5 holds per client."""

NOW = T0
HOLD = RULES.hold_seconds
SLOT = RULES.slot_seconds
START = int(T0) + 2 * 86_400 + 3_600
"""2030-03-06 10:00 UTC: two days after the clock's T0, well past the notice period."""


def at(n: int) -> int:
    """The start of the n-th slot from START."""
    return START + n * SLOT


Change = tuple[int, str, str, str | None, str]
"""(seq, kind, slot id, client id, status after)"""


def change_log(db: str) -> list[Change]:
    rows = query(db, "SELECT seq, kind, slot_id, client_id, status FROM changes ORDER BY seq")
    return [
        (int(seq), str(kind), str(slot), client, str(status))
        for seq, kind, slot, client, status in rows
    ]


def stored_slots(db: str) -> list[tuple[str, int, int, str, str | None]]:
    """(provider, start, duration, status, client) of every slot, by provider then time."""
    rows = query(
        db,
        "SELECT provider_id, start, duration, status, client_id FROM slots"
        " ORDER BY provider_id, start",
    )
    return [(str(p), int(s), int(d), str(st), c) for p, s, d, st, c in rows]


def assert_gap_free(log: list[Change]) -> None:
    assert [seq for seq, *_ in log] == list(range(1, len(log) + 1))


def assert_no_overlaps(db: str) -> None:
    previous: tuple[str, int] | None = None
    for provider, start, duration, _, _ in stored_slots(db):
        if previous is not None and previous[0] == provider:
            assert start >= previous[1], f"{provider}'s slot at {start} overlaps the one before"
        previous = (provider, start + duration)


@pytest.fixture
async def store(db: str) -> AsyncIterator[Store]:
    opened = await open_store(db, RULES)
    yield opened
    await opened.close()


# --- the schema ----------------------------------------------------------------------------------


async def test_a_provider_cannot_have_two_slots_at_the_same_start(store: Store, db: str) -> None:
    [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots

    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)) as refused:
        query(
            db,
            "INSERT INTO slots (id, provider_id, start, duration, status, created_at)"
            " VALUES (?, ?, ?, ?, 'AVAILABLE', ?)",
            uuid.uuid4().hex,
            slot.provider_id,
            slot.start,
            SLOT,
            NOW,
        )
    assert "unique" in str(refused.value).lower()


async def test_reopening_keeps_everything_and_migrates_nothing_twice(store: Store, db: str) -> None:
    submitted = await store.submit_availability("p1", at(0), at(4), NOW)
    await store.close()

    again = await open_store(db, RULES)
    try:
        kept = await again.provider_slots("p1", at(0), at(4))
        resubmitted = await again.submit_availability("p1", at(0), at(4), NOW)
    finally:
        await again.close()

    assert kept == submitted.slots
    assert resubmitted.created == 0


# --- availability ------------------------------------------------------------------------------


async def test_overlapping_windows_never_create_overlapping_slots(store: Store, db: str) -> None:
    first = await store.submit_availability("p1", at(0), at(8), NOW)
    second = await store.submit_availability("p1", at(4), at(12), NOW)
    racing = await asyncio.gather(
        store.submit_availability("p1", at(2), at(16), NOW),
        store.submit_availability("p1", at(10), at(20), NOW),
        store.submit_availability("p1", at(14), at(24), NOW),
    )

    assert first.created == 8
    assert second.created == 4
    assert sum(r.created for r in racing) == 12
    assert [start for _, start, *_ in stored_slots(db)] == [at(n) for n in range(24)]
    assert_no_overlaps(db)
    assert_gap_free(change_log(db))


async def test_slots_of_another_length_are_not_overlapped(db: str) -> None:
    half_hours = await open_store(db, Rules(slot_seconds=1_800))
    try:
        await half_hours.submit_availability("p1", at(0), at(4), NOW)  # 10:00 and 10:30
    finally:
        await half_hours.close()
    quarters = await open_store(db, RULES)
    try:
        added = await quarters.submit_availability("p1", at(0), at(8), NOW)
    finally:
        await quarters.close()

    assert [s.start for s in added.slots if s.duration == SLOT] == [at(4), at(5), at(6), at(7)]
    assert added.created == 4
    assert_no_overlaps(db)


async def test_listings_sort_ids_byte_by_byte(store: Store) -> None:
    """Provider ids order the same on both stores, whatever the database's locale."""
    for provider in ("b", "B", "a-z", "a", "_x", "Z9", "é"):
        await store.submit_availability(provider, at(0), at(1), NOW)

    listed = await store.list_open(at(0), at(1), None, None, 100, NOW)
    summaries = await store.providers(NOW)

    expected = sorted(["b", "B", "a-z", "a", "_x", "Z9", "é"])
    assert [s.provider_id for s in listed] == expected
    assert [p.provider_id for p in summaries] == expected


# --- the change log ----------------------------------------------------------------------------


async def test_every_operation_appends_its_changes_with_a_gap_free_seq(
    store: Store, db: str
) -> None:
    a, b, c, d = (await store.submit_availability("p1", at(0), at(4), NOW)).slots
    await store.reserve(a.id, a.start, "c1", NOW)
    await store.confirm(a.id, a.start, "c1", NOW)
    await store.reserve(b.id, b.start, "c2", NOW)
    await store.cancel(b.id, "c2", None, NOW)
    await store.reserve(c.id, c.start, "c3", NOW)
    assert await store.expire_lapsed(NOW + HOLD) == 1
    removed = await store.remove_availability("p1", at(0), at(4), NOW + HOLD)

    log = change_log(db)

    assert_gap_free(log)
    assert [(kind, slot, client, status) for _, kind, slot, client, status in log] == [
        ("created", a.id, None, "AVAILABLE"),
        ("created", b.id, None, "AVAILABLE"),
        ("created", c.id, None, "AVAILABLE"),
        ("created", d.id, None, "AVAILABLE"),
        ("reserved", a.id, "c1", "RESERVED"),
        ("confirmed", a.id, "c1", "CONFIRMED"),
        ("reserved", b.id, "c2", "RESERVED"),
        ("cancelled", b.id, "c2", "AVAILABLE"),
        ("reserved", c.id, "c3", "RESERVED"),
        ("expired", c.id, "c3", "AVAILABLE"),
        ("deleted", b.id, None, "AVAILABLE"),
        ("deleted", c.id, None, "AVAILABLE"),
        ("deleted", d.id, None, "AVAILABLE"),
    ]
    assert removed.deleted == 3
    assert [s.id for s in removed.kept] == [a.id]
    assert await store.change_bounds() == (1, 13)
    assert [c.seq for c in await store.changes_since(10, 2)] == [11, 12]


async def test_refused_operations_write_no_changes(store: Store, db: str) -> None:
    [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots
    await store.reserve(slot.id, slot.start, "c1", NOW)
    before = change_log(db)

    with pytest.raises(SlotTaken):
        await store.reserve(slot.id, slot.start, "c2", NOW)
    repeated = await store.reserve(slot.id, slot.start, "c1", NOW)
    again = await store.submit_availability("p1", at(0), at(1), NOW)

    assert repeated.repeated
    assert again.created == 0
    assert change_log(db) == before


async def test_purge_forgets_old_changes_but_keeps_the_newest(store: Store, db: str) -> None:
    await store.submit_availability("p1", at(0), at(2), NOW)
    await store.submit_availability("p2", at(0), at(2), NOW + 100)

    await store.purge(NOW + 200, keep_changes_seconds=150)
    assert await store.change_bounds() == (3, 4)
    await store.purge(NOW + 10_000, keep_changes_seconds=150)
    assert await store.change_bounds() == (4, 4), "the newest seq stays, so the feed goes on"
    await store.submit_availability("p3", at(0), at(1), NOW + 10_000)
    assert await store.change_bounds() == (4, 5)


# --- concurrency ---------------------------------------------------------------------------------


async def test_concurrent_operations_that_fail_write_nothing_and_the_rest_all_land(
    store: Store, db: str
) -> None:
    slots = (await store.submit_availability("p1", at(0), at(30), NOW)).slots
    attempts = []
    for n, slot in enumerate(slots):
        attempts.append(store.reserve(slot.id, slot.start, f"client-{n}", NOW))
        attempts.append(store.reserve(uuid.uuid4().hex, slot.start, f"ghost-{n}", NOW))

    results = await asyncio.gather(*attempts, return_exceptions=True)

    landed, refused = results[0::2], results[1::2]
    assert all(isinstance(r, ReserveResult) and not r.repeated for r in landed), landed
    assert all(isinstance(r, SlotNotFound) for r in refused), refused
    assert [(status, client) for *_, status, client in stored_slots(db)] == [
        ("RESERVED", f"client-{n}") for n in range(30)
    ]
    log = change_log(db)
    assert_gap_free(log)
    reserved = [(slot, client) for _, kind, slot, client, _ in log if kind == "reserved"]
    assert sorted(reserved) == sorted((s.id, f"client-{n}") for n, s in enumerate(slots))
    assert not any(client and client.startswith("ghost") for *_, client, _ in log)


async def test_racing_reserves_of_one_slot_have_one_winner(store: Store, db: str) -> None:
    [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots

    results = await asyncio.gather(
        *(store.reserve(slot.id, slot.start, f"racer-{n}", NOW) for n in range(40)),
        return_exceptions=True,
    )

    won = [r for r in results if isinstance(r, ReserveResult)]
    assert len(won) == 1, results
    assert all(isinstance(r, SlotTaken) for r in results if r not in won), results
    assert [(kind, client) for _, kind, _, client, _ in change_log(db)][1:] == [
        ("reserved", won[0].slot.client_id)
    ]


async def test_the_hold_limit_holds_under_concurrent_reserves(store: Store) -> None:
    slots = (await store.submit_availability("p1", at(0), at(20), NOW)).slots

    results = await asyncio.gather(
        *(store.reserve(s.id, s.start, "greedy", NOW) for s in slots), return_exceptions=True
    )

    assert sum(isinstance(r, ReserveResult) for r in results) == RULES.max_holds
    assert len(await store.client_reservations("greedy", NOW)) == RULES.max_holds


# --- lapsed holds --------------------------------------------------------------------------------


async def test_a_lapsed_hold_is_taken_over_by_another_client(store: Store, db: str) -> None:
    [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots
    await store.reserve(slot.id, slot.start, "first", NOW)
    with pytest.raises(SlotTaken):
        await store.reserve(slot.id, slot.start, "second", NOW + HOLD - 1)

    taken = await store.reserve(slot.id, slot.start, "second", NOW + HOLD)

    assert taken.slot.client_id == "second"
    assert not taken.repeated
    assert [(kind, client) for _, kind, _, client, _ in change_log(db)] == [
        ("created", None),
        ("reserved", "first"),
        ("expired", "first"),
        ("reserved", "second"),
    ]
    assert_gap_free(change_log(db))
    with pytest.raises(HoldLapsed):
        await store.confirm(slot.id, slot.start, "first", NOW + HOLD)


async def test_expire_lapsed_reopens_each_lapsed_hold_once(store: Store, db: str) -> None:
    a, b, c, d = (await store.submit_availability("p1", at(0), at(4), NOW)).slots
    await store.reserve(a.id, a.start, "c1", NOW)
    await store.reserve(b.id, b.start, "c2", NOW)
    await store.reserve(c.id, c.start, "c3", NOW)
    await store.confirm(c.id, c.start, "c3", NOW)
    await store.reserve(d.id, d.start, "c4", NOW + 600)  # lapses ten minutes after the others

    assert await store.expire_lapsed(NOW + HOLD - 1) == 0
    assert await store.expire_lapsed(NOW + HOLD) == 2
    log_after_first_sweep = change_log(db)
    assert await store.expire_lapsed(NOW + HOLD) == 0

    assert change_log(db) == log_after_first_sweep
    expired = [
        (slot, client) for _, kind, slot, client, _ in log_after_first_sweep if kind == "expired"
    ]
    assert sorted(expired) == sorted([(a.id, "c1"), (b.id, "c2")])
    assert [(status, client) for *_, status, client in stored_slots(db)] == [
        ("AVAILABLE", None),
        ("AVAILABLE", None),
        ("CONFIRMED", "c3"),
        ("RESERVED", "c4"),
    ]


async def test_an_admin_cancelling_a_booking_that_has_started_is_told_it_has_started(
    store: Store,
) -> None:
    [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots
    await store.reserve(slot.id, slot.start, "c1", NOW)
    await store.confirm(slot.id, slot.start, "c1", NOW)

    with pytest.raises(NothingToCancel, match="already started"):
        await store.cancel(slot.id, None, None, slot.start, admin=True)

    [kept] = await store.provider_slots("p1", at(0), at(1))
    assert (kept.status, kept.client_id) == ("CONFIRMED", "c1")


# --- closing -------------------------------------------------------------------------------------


async def test_a_write_after_close_fails_instead_of_waiting_forever(db: str) -> None:
    store = await open_store(db, RULES)
    await store.close()

    with pytest.raises(Exception) as refused:  # noqa: PT011 - any prompt refusal will do
        await asyncio.wait_for(store.submit_availability("p1", at(0), at(4), NOW), timeout=2)

    assert not isinstance(refused.value, TimeoutError), "a write on a closed store never answered"
    with pytest.raises(Exception):  # noqa: B017, PT011 - the health check says so too
        await store.check()
