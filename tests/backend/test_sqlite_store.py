"""What only the SQLite store has, on a real file: its pragmas, its schema and indexes in the file,
its single writer thread with group commit. The behaviour both stores share is pinned in
test_store_contract.py, which runs on SQLite too."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from backend.rules.booking import Rules, SlotNotFound
from backend.store.sqlite import store as sqlite_store
from backend.store.sqlite.schema import migrations
from backend.store.sqlite.store import SQLiteStore, open_database
from backend.store.sqlite.writer import SQLiteWriter
from tests.helpers import T0

RULES = Rules()
"""15-minute slots, 30-minute holds, 24 hours' notice, 5 holds per client."""

NOW = T0
SLOT = RULES.slot_seconds
START = int(T0) + 2 * 86_400 + 3_600
"""2030-03-06 10:00 UTC: two days after the clock's T0, well past the notice period."""


def at(n: int) -> int:
    """The start of the n-th slot from START."""
    return START + n * SLOT


def query(db_path: Path, sql: str) -> list[Any]:
    """Rows from the database file, read on a connection of the test's own."""
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql).fetchall()


def stored_slots(db_path: Path) -> list[tuple[str, int, int, str, str | None]]:
    """(provider, start, duration, status, client) of every slot, by provider then time."""
    rows = query(
        db_path,
        "SELECT provider_id, start, duration, status, client_id FROM slots"
        " ORDER BY provider_id, start",
    )
    return [(str(p), int(s), int(d), str(st), c) for p, s, d, st, c in rows]


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


async def test_the_sweeper_reads_lapsed_holds_off_the_index_of_hold_ends(
    store: SQLiteStore, db_path: Path
) -> None:
    """Not by walking every slot: the sweeper asks every second or so, on the writer thread, and
    a walk of a large calendar there holds up every write queued behind it."""
    await store.submit_availability("p1", int(T0) + 86_400, int(T0) + 2 * 86_400, T0)
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("ANALYZE")
        plan = conn.execute(f"EXPLAIN QUERY PLAN {sqlite_store.LAPSED_HOLDS}", {"now": T0})
        steps = [row[3] for row in plan]
    assert steps == ["SEARCH slots USING INDEX slots_by_hold_end (held_until<?)"], steps


# --- the writer --------------------------------------------------------------------------------


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


async def test_writes_without_a_savepoint_that_fail_after_writing_are_undone_alone(
    db_path: Path,
) -> None:
    """A write that promised to refuse only before writing runs without a SAVEPOINT. A refusal
    from it changes nothing; should it fail after writing, the batch is rolled back and run again
    with a SAVEPOINT each: its own writes are undone, and the others' are made once."""
    writer = SQLiteWriter(open_database(str(db_path), "FULL"))
    gate = threading.Event()
    runs: dict[str, int] = {}

    def held_at_the_gate(db: Database) -> None:
        assert gate.wait(10), "the test never opened the gate"

    def add_provider(name: str, ending: str) -> Callable[[Database], str]:
        def op(db: Database) -> str:
            runs[name] = runs.get(name, 0) + 1
            if ending == "refuses":
                raise SlotNotFound(f"{name} refuses")
            db.execute("INSERT INTO providers (id, created_at) VALUES (?, ?)", [name, NOW])
            if ending == "breaks":
                raise RuntimeError(f"{name} broke after writing")
            return name

        return op

    endings = ["writes", "refuses", "writes", "breaks", "writes"]
    try:
        first = asyncio.ensure_future(writer.run(held_at_the_gate))
        queued = asyncio.gather(
            *(
                writer.run(add_provider(f"p{n}", ending), refuses_first=True)
                for n, ending in enumerate(endings)
            ),
            return_exceptions=True,
        )
        await asyncio.sleep(0)
        gate.set()
        await first
        results = await queued
    finally:
        writer.close()

    assert results[0::2] == ["p0", "p2", "p4"]
    assert isinstance(results[1], SlotNotFound)
    assert isinstance(results[3], RuntimeError)
    stored = [row[0] for row in query(db_path, "SELECT id FROM providers ORDER BY id")]
    assert stored == ["p0", "p2", "p4"]
    assert runs == {"p0": 2, "p1": 2, "p2": 2, "p3": 2, "p4": 1}, "run again once, carefully"


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


async def test_checkpoints_off_the_commit_path_keep_the_wal_bounded(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No commit checkpoints (wal_autocheckpoint is 0 on the write connection), so the
    Checkpointer thread must: after each round of writes it copies the WAL into the database,
    and the next write starts the WAL over, so the WAL stays the size of a round, not of thirty."""
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_SECONDS", 0.02)
    store = SQLiteStore(str(db_path), RULES)
    checkpointer = store.checkpointer
    assert checkpointer is not None
    assert store._writer.connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    wal = db_path.with_name(db_path.name + "-wal")
    sizes: list[int] = []
    try:
        for round_ in range(30):
            for provider in range(20):
                day = START + round_ * 86_400
                await store.submit_availability(f"p{provider:02d}", day, day + 3_600, NOW)
            sizes.append(wal.stat().st_size)
            seen = checkpointer.rounds
            for _ in range(1_000):  # until two more checkpoints have run
                if checkpointer.rounds >= seen + 2:
                    break
                await asyncio.sleep(0.005)
    finally:
        await store.close()
    assert query(db_path, "SELECT COUNT(*) FROM slots") == [(30 * 20 * 4,)]
    assert max(sizes) < 3 * sizes[0], sizes
