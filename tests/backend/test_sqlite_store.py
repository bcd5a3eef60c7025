"""The SQLite store on a real file, called directly with an explicit `now`: its pragmas and schema,
its change log, its single writer with group commit, and lapsed holds."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from backend.booking import HoldLapsed, NothingToCancel, Rules, SlotNotFound, SlotTaken
from backend.store.base import ReserveResult
from backend.store.schema import migrations
from backend.store.sqlite import SQLiteStore, open_database
from backend.store.writer import SQLiteWriter
from tests.helpers import T0

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


def query(db_path: Path, sql: str) -> list[Any]:
    """Rows from the database file, read on a connection of the test's own."""
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql).fetchall()


def change_log(db_path: Path) -> list[Change]:
    rows = query(db_path, "SELECT seq, kind, slot_id, client_id, status FROM changes ORDER BY seq")
    return [
        (int(seq), str(kind), str(slot), client, str(status))
        for seq, kind, slot, client, status in rows
    ]


def stored_slots(db_path: Path) -> list[tuple[str, int, int, str, str | None]]:
    """(provider, start, duration, status, client) of every slot, by provider then time."""
    rows = query(
        db_path,
        "SELECT provider_id, start, duration, status, client_id FROM slots"
        " ORDER BY provider_id, start",
    )
    return [(str(p), int(s), int(d), str(st), c) for p, s, d, st, c in rows]


def assert_gap_free(log: list[Change]) -> None:
    assert [seq for seq, *_ in log] == list(range(1, len(log) + 1))


def assert_no_overlaps(db_path: Path) -> None:
    previous: tuple[str, int] | None = None
    for provider, start, duration, _, _ in stored_slots(db_path):
        if previous is not None and previous[0] == provider:
            assert start >= previous[1], f"{provider}'s slot at {start} overlaps the one before"
        previous = (provider, start + duration)


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(str(db_path), RULES)
    yield opened
    await opened.close()


async def write_connection_pragma(store: SQLiteStore, name: str) -> object:
    return await store._writer.run(lambda db: db.execute(f"PRAGMA {name}").fetchone()[0])


async def read_connection_pragma(store: SQLiteStore, name: str) -> object:
    return await store._readers.run(lambda conn: conn.execute(f"PRAGMA {name}").fetchone()[0])


# --- the database file -------------------------------------------------------------------------


async def test_database_is_wal_with_synchronous_full_and_a_busy_timeout(
    store: SQLiteStore, db_path: Path
) -> None:
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert await write_connection_pragma(store, "synchronous") == 2  # FULL
    assert await write_connection_pragma(store, "busy_timeout") == 5_000
    assert await read_connection_pragma(store, "busy_timeout") == 5_000


async def test_synchronous_normal_when_asked(db_path: Path) -> None:
    store = SQLiteStore(str(db_path), RULES, synchronous="NORMAL")
    try:
        assert await write_connection_pragma(store, "synchronous") == 1  # NORMAL
    finally:
        await store.close()


async def test_migrations_are_recorded_and_reopening_applies_nothing_twice(db_path: Path) -> None:
    first = SQLiteStore(str(db_path), RULES)
    submitted = await first.submit_availability("p1", at(0), at(4), NOW)
    await first.close()
    recorded = query(db_path, "SELECT * FROM _sqlite_migrations ORDER BY id")

    second = SQLiteStore(str(db_path), RULES)
    try:
        kept = await second.provider_slots("p1", at(0), at(4))
        again = await second.submit_availability("p1", at(0), at(4), NOW)
    finally:
        await second.close()

    with closing(Database(db_path)) as db:
        assert migrations.pending(db) == []
    names = [row[2] for row in recorded]
    assert names, "the migrations are recorded"
    assert len(set(names)) == len(names)
    assert {row[1] for row in recorded} == {"slotbook"}
    assert query(db_path, "SELECT * FROM _sqlite_migrations ORDER BY id") == recorded
    assert kept == submitted.slots
    assert again.created == 0


async def test_a_provider_cannot_have_two_slots_at_the_same_start(
    store: SQLiteStore, db_path: Path
) -> None:
    [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots

    with (
        closing(sqlite3.connect(db_path)) as conn,
        pytest.raises(sqlite3.IntegrityError, match="UNIQUE"),
    ):
        conn.execute(
            "INSERT INTO slots (id, provider_id, start, duration, status, created_at)"
            " VALUES (?, ?, ?, ?, 'AVAILABLE', ?)",
            [uuid.uuid4().hex, slot.provider_id, slot.start, SLOT, NOW],
        )


async def test_the_indexes_exist(store: SQLiteStore, db_path: Path) -> None:
    with closing(Database(db_path)) as db:
        slots = {tuple(i.columns): bool(i.unique) for i in db.table("slots").indexes}
        changes = {tuple(i.columns) for i in db.table("changes").indexes}

    assert slots[("provider_id", "start")] is True
    # Open slots of a time range come from the index alone, without visiting the table.
    assert ("start", "provider_id", "status", "held_until", "duration", "id") in slots, slots
    # The max-holds count in every reserve reads only the client's live holds.
    assert ("client_id", "status", "held_until") in slots, slots
    assert any(cols[0] == "slot_id" for cols in changes), changes


# --- availability ------------------------------------------------------------------------------


async def test_overlapping_windows_never_create_overlapping_slots(
    store: SQLiteStore, db_path: Path
) -> None:
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
    assert [start for _, start, *_ in stored_slots(db_path)] == [at(n) for n in range(24)]
    assert_no_overlaps(db_path)


async def test_slots_of_another_length_are_not_overlapped(db_path: Path) -> None:
    half_hours = SQLiteStore(str(db_path), Rules(slot_seconds=1_800))
    try:
        await half_hours.submit_availability("p1", at(0), at(4), NOW)  # 10:00 and 10:30
    finally:
        await half_hours.close()
    quarters = SQLiteStore(str(db_path), RULES)
    try:
        added = await quarters.submit_availability("p1", at(0), at(8), NOW)
    finally:
        await quarters.close()

    assert [s.start for s in added.slots if s.duration == SLOT] == [at(4), at(5), at(6), at(7)]
    assert added.created == 4
    assert_no_overlaps(db_path)


# --- the change log ----------------------------------------------------------------------------


async def test_every_operation_appends_its_changes_with_a_gap_free_seq(
    store: SQLiteStore, db_path: Path
) -> None:
    a, b, c, d = (await store.submit_availability("p1", at(0), at(4), NOW)).slots
    await store.reserve(a.id, a.start, "c1", NOW)
    await store.confirm(a.id, a.start, "c1", NOW)
    await store.reserve(b.id, b.start, "c2", NOW)
    await store.cancel(b.id, "c2", None, NOW)
    await store.reserve(c.id, c.start, "c3", NOW)
    assert await store.expire_lapsed(NOW + HOLD) == 1
    removed = await store.remove_availability("p1", at(0), at(4), NOW + HOLD)

    log = change_log(db_path)

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


async def test_refused_operations_write_no_changes(store: SQLiteStore, db_path: Path) -> None:
    [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots
    await store.reserve(slot.id, slot.start, "c1", NOW)
    before = change_log(db_path)

    with pytest.raises(SlotTaken):
        await store.reserve(slot.id, slot.start, "c2", NOW)
    repeated = await store.reserve(slot.id, slot.start, "c1", NOW)
    again = await store.submit_availability("p1", at(0), at(1), NOW)

    assert repeated.repeated
    assert again.created == 0
    assert change_log(db_path) == before


# --- the writer --------------------------------------------------------------------------------


async def test_concurrent_operations_that_fail_write_nothing_and_the_rest_all_land(
    store: SQLiteStore, db_path: Path
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
    assert [(status, client) for *_, status, client in stored_slots(db_path)] == [
        ("RESERVED", f"client-{n}") for n in range(30)
    ]
    log = change_log(db_path)
    assert_gap_free(log)
    reserved = [(slot, client) for _, kind, slot, client, _ in log if kind == "reserved"]
    assert sorted(reserved) == sorted((s.id, f"client-{n}") for n, s in enumerate(slots))
    assert not any(client and client.startswith("ghost") for *_, client, _ in log)


async def test_group_commit_rolls_back_only_the_operations_that_raise(db_path: Path) -> None:
    writer = SQLiteWriter(open_database(str(db_path), "FULL"))
    gate = threading.Event()
    seen: dict[str, tuple[int, int]] = {}

    def held_at_the_gate(db: Database) -> None:
        assert gate.wait(10), "the test never opened the gate"

    def add_provider(name: str, *, fail: bool) -> Callable[[Database], str]:
        def op(db: Database) -> str:
            db.execute("INSERT INTO providers (id, created_at) VALUES (?, ?)", [name, NOW])
            inside = db.execute("SELECT COUNT(*) FROM providers").fetchone()[0]
            [(committed,)] = query(db_path, "SELECT COUNT(*) FROM providers")
            seen[name] = (inside, committed)
            if fail:
                raise RuntimeError(f"{name} changed its mind")
            return name

        return op

    try:
        first = asyncio.ensure_future(writer.run(held_at_the_gate))
        names = [f"p{n:02}" for n in range(40)]
        queued = asyncio.gather(
            *(writer.run(add_provider(name, fail=n % 3 == 0)) for n, name in enumerate(names)),
            writer.run(add_provider("p01", fail=False)),  # a duplicate id: IntegrityError
            return_exceptions=True,
        )
        await asyncio.sleep(0)  # let every write reach the writer's queue behind the gate
        gate.set()
        await first
        results = await queued
    finally:
        writer.close()

    failed = {name for n, name in enumerate(names) if n % 3 == 0}
    assert all(
        isinstance(r, RuntimeError) if name in failed else r == name
        for name, r in zip(names, results[:-1], strict=True)
    ), results
    assert isinstance(results[-1], sqlite3.IntegrityError)
    stored = [row[0] for row in query(db_path, "SELECT id FROM providers ORDER BY id")]
    assert stored == [name for name in names if name not in failed]
    last_inside, last_committed = seen[names[-1]]
    assert last_inside - last_committed > 1, "the writes were committed together, not one by one"


# --- lapsed holds --------------------------------------------------------------------------------


async def test_a_lapsed_hold_is_taken_over_by_another_client(
    store: SQLiteStore, db_path: Path
) -> None:
    [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots
    await store.reserve(slot.id, slot.start, "first", NOW)
    with pytest.raises(SlotTaken):
        await store.reserve(slot.id, slot.start, "second", NOW + HOLD - 1)

    taken = await store.reserve(slot.id, slot.start, "second", NOW + HOLD)

    assert taken.slot.client_id == "second"
    assert not taken.repeated
    assert [(kind, client) for _, kind, _, client, _ in change_log(db_path)] == [
        ("created", None),
        ("reserved", "first"),
        ("expired", "first"),
        ("reserved", "second"),
    ]
    assert_gap_free(change_log(db_path))
    with pytest.raises(HoldLapsed):
        await store.confirm(slot.id, slot.start, "first", NOW + HOLD)


async def test_expire_lapsed_reopens_each_lapsed_hold_once(
    store: SQLiteStore, db_path: Path
) -> None:
    a, b, c, d = (await store.submit_availability("p1", at(0), at(4), NOW)).slots
    await store.reserve(a.id, a.start, "c1", NOW)
    await store.reserve(b.id, b.start, "c2", NOW)
    await store.reserve(c.id, c.start, "c3", NOW)
    await store.confirm(c.id, c.start, "c3", NOW)
    await store.reserve(d.id, d.start, "c4", NOW + 600)  # lapses ten minutes after the others

    assert await store.expire_lapsed(NOW + HOLD - 1) == 0
    assert await store.expire_lapsed(NOW + HOLD) == 2
    log_after_first_sweep = change_log(db_path)
    assert await store.expire_lapsed(NOW + HOLD) == 0

    assert change_log(db_path) == log_after_first_sweep
    expired = [
        (slot, client) for _, kind, slot, client, _ in log_after_first_sweep if kind == "expired"
    ]
    assert sorted(expired) == sorted([(a.id, "c1"), (b.id, "c2")])
    assert [(status, client) for *_, status, client in stored_slots(db_path)] == [
        ("AVAILABLE", None),
        ("AVAILABLE", None),
        ("CONFIRMED", "c3"),
        ("RESERVED", "c4"),
    ]


async def test_an_admin_cancelling_a_booking_that_has_started_is_told_it_has_started(
    store: SQLiteStore,
) -> None:
    [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots
    await store.reserve(slot.id, slot.start, "c1", NOW)
    await store.confirm(slot.id, slot.start, "c1", NOW)

    with pytest.raises(NothingToCancel, match="already started"):
        await store.cancel(slot.id, None, None, slot.start, admin=True)

    [kept] = await store.provider_slots("p1", at(0), at(1))
    assert (kept.status, kept.client_id) == ("CONFIRMED", "c1")


# --- closing -------------------------------------------------------------------------------------


def store_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.name.startswith("slotbook")]


async def test_close_finishes_queued_writes_and_stops_the_writer_thread(db_path: Path) -> None:
    before = set(threading.enumerate())
    store = SQLiteStore(str(db_path), RULES)
    await store.provider_slots("p1", at(0), at(1))  # starts a read thread
    started = store_threads(before)
    assert any(t.name == "slotbook-writer" for t in started), started
    queued = [
        asyncio.ensure_future(store.submit_availability(f"p{n}", at(0), at(4), NOW))
        for n in range(10)
    ]
    await asyncio.sleep(0)  # let every write reach the writer's queue

    await store.close()

    assert [(await write).created for write in queued] == [4] * 10
    assert not any(t.is_alive() for t in started)
    assert len(stored_slots(db_path)) == 40


async def test_a_write_after_close_fails_instead_of_waiting_forever(db_path: Path) -> None:
    store = SQLiteStore(str(db_path), RULES)
    await store.close()

    with pytest.raises(Exception) as refused:  # noqa: PT011 - any prompt refusal will do
        await asyncio.wait_for(store.submit_availability("p1", at(0), at(4), NOW), timeout=2)

    assert not isinstance(refused.value, TimeoutError), "a write on a closed store never answered"
