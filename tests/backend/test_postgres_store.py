"""What only the PostgreSQL store has: its schema as migrations, and the guarantees that must hold
across server processes. Two stores opened on one database stand for two processes (each has its
own pool of connections and its own listening connection, as a process has): they race for one
slot, one client's hold limit, one Idempotency-Key and one change log, and each hears of the
other's commits. The behaviour both stores share is in test_store_contract.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from backend.rules.booking import BookingError, Rules, SlotTaken
from backend.store.base import (
    Answer,
    IdempotencyKeyReused,
    Once,
    RemoveResult,
    Replayed,
    ReserveResult,
)
from backend.store.postgres.locks import (
    CLIENT_LOCKS,
    PROVIDER_LOCKS,
    Locking,
    StartOver,
    lock_client,
    lock_provider,
    track,
    untrack,
)
from backend.store.postgres.schema import MIGRATIONS, apply_migrations
from backend.store.postgres.sequencer import SWEEP_SECONDS
from backend.store.postgres.store import PostgresStore, printable_url
from tests.e2e.server_process import ServerProcess
from tests.helpers import T0, query
from tests.postgres_server import PostgresForTests

RULES = Rules()
NOW = T0
HOLD = RULES.hold_seconds
SLOT = RULES.slot_seconds
START = int(T0) + 2 * 86_400 + 3_600
WAKE_SECONDS = 1.0
"""Another process's change must reach every feed within a second (docs/ARCHITECTURE.md, How the
feed works)."""


def at(n: int) -> int:
    return START + n * SLOT


@pytest.fixture
def url(postgres: PostgresForTests) -> Iterator[str]:
    made = postgres.copy()
    yield made
    postgres.drop(made)


@pytest.fixture
async def two(url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one database: two server processes, as far as the database can tell."""
    first, second = await asyncio.gather(
        PostgresStore.open(url, RULES), PostgresStore.open(url, RULES)
    )
    yield first, second
    await asyncio.gather(first.close(), second.close())


def seqs(url: str) -> list[int]:
    return [row[0] for row in query(url, "SELECT seq FROM changes ORDER BY seq")]


# --- the schema ----------------------------------------------------------------------------------


async def test_processes_starting_at_once_on_an_empty_database_migrate_it_once(
    postgres: PostgresForTests,
) -> None:
    empty = postgres.copy(template="template0")
    try:
        stores = await asyncio.gather(*(PostgresStore.open(empty, RULES) for _ in range(4)))
        await asyncio.gather(*(s.close() for s in stores))
        again = await PostgresStore.open(empty, RULES)
        await again.close()
        applied = query(empty, "SELECT name FROM slotbook_migrations ORDER BY name")
    finally:
        postgres.drop(empty)

    assert applied == [(m.name,) for m in MIGRATIONS]


def test_the_indexes_and_the_unique_slot_per_provider_and_time_exist(url: str) -> None:
    indexes = dict(
        query(url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    )

    assert (
        "UNIQUE INDEX slots_provider_start ON public.slots USING btree (provider_id, start)"
        in (indexes["slots_provider_start"])
    )
    # Open slots of a time range from the index alone; a client's live holds; lapsed holds.
    assert (
        "(start, provider_id) INCLUDE (status, held_until, duration, id)"
        in (indexes["slots_open_by_time"])
    )
    assert "(client_id, status, held_until)" in indexes["slots_by_client"]
    assert "WHERE (status = 'RESERVED'::text)" in indexes["slots_by_hold_end"]
    assert "(slot_id, seq)" in indexes["changes_by_slot"]
    assert "(created_at)" in indexes["idempotency_by_age"]


def test_a_printed_database_url_never_shows_the_password() -> None:
    assert (
        printable_url("postgresql://ada:s3cret@db.example:5433/slotbook?sslmode=require")
        == "postgresql://ada@db.example:5433/slotbook?sslmode=require"
    )
    assert printable_url("postgres://db/slotbook?password=s3cret&user=ada") == (
        "postgres://db/slotbook?user=ada"
    )
    assert printable_url("postgresql:///slotbook") == "postgresql:///slotbook"


# --- two processes, one database -----------------------------------------------------------------


async def test_two_processes_racing_for_one_slot_have_one_winner(
    two: tuple[PostgresStore, PostgresStore], url: str
) -> None:
    first, second = two
    [slot] = (await first.submit_availability("p1", at(0), at(1), NOW)).slots

    results = await asyncio.gather(
        *(
            (first, second)[n % 2].reserve(slot.id, slot.start, f"client-{n}", NOW)
            for n in range(100)
        ),
        return_exceptions=True,
    )

    won = [r for r in results if isinstance(r, ReserveResult)]
    assert len(won) == 1
    assert all(isinstance(r, SlotTaken) for r in results if r not in won), results
    kinds = query(url, "SELECT kind, client_id FROM changes ORDER BY seq")
    assert kinds == [("created", None), ("reserved", won[0].slot.client_id)]


async def test_the_hold_limit_holds_across_processes(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = two
    slots = (await first.submit_availability("p1", at(0), at(20), NOW)).slots

    results = await asyncio.gather(
        *(
            (first, second)[n % 2].reserve(s.id, s.start, "greedy", NOW)
            for n, s in enumerate(slots)
        ),
        return_exceptions=True,
    )

    assert sum(isinstance(r, ReserveResult) for r in results) == RULES.max_holds
    assert len(await second.client_reservations("greedy", NOW)) == RULES.max_holds


async def test_a_window_removed_while_its_slots_are_reserved_elsewhere_reports_each_once(
    two: tuple[PostgresStore, PostgresStore], url: str
) -> None:
    first, second = two
    slots = (await first.submit_availability("p1", at(0), at(20), NOW)).slots

    *reserves, removed = await asyncio.gather(
        *(second.reserve(s.id, s.start, f"c{n}", NOW) for n, s in enumerate(slots)),
        first.remove_availability("p1", at(0), at(20), NOW),
        return_exceptions=True,
    )

    assert isinstance(removed, RemoveResult), removed
    held = {r.slot.id for r in reserves if isinstance(r, ReserveResult)}
    assert {s.id for s in removed.kept} == held
    assert removed.deleted + len(held) == 20
    deleted = {row[0] for row in query(url, "SELECT slot_id FROM changes WHERE kind = 'deleted'")}
    assert len(deleted) == removed.deleted
    assert not deleted & held, "a slot reported deleted was held"


async def test_two_sweepers_at_once_expire_each_lapsed_hold_once(
    two: tuple[PostgresStore, PostgresStore], url: str
) -> None:
    first, second = two
    slots = (await first.submit_availability("p1", at(0), at(30), NOW)).slots
    for n, slot in enumerate(slots):
        await first.reserve(slot.id, slot.start, f"c{n}", NOW)

    counts = await asyncio.gather(
        *((first, second)[n % 2].expire_lapsed(NOW + HOLD) for n in range(6))
    )

    assert sum(counts) == 30
    expired = query(url, "SELECT slot_id FROM changes WHERE kind = 'expired'")
    assert sorted(row[0] for row in expired) == sorted(s.id for s in slots)


async def test_the_change_log_is_gap_free_in_commit_order_across_processes(
    two: tuple[PostgresStore, PostgresStore], url: str
) -> None:
    """A follower reading the log while both processes write never sees a seq before the seqs
    below it are readable: so resuming from the last seq seen can never skip one."""
    first, second = two
    writing = True
    followed: list[int] = []

    async def follow() -> None:
        head = 0
        while writing or head < (await first.change_bounds())[1]:
            for change in await first.changes_since(head, 1000):
                assert change.seq == head + 1, f"seq {change.seq} was readable before {head + 1}"
                head = change.seq
                followed.append(head)
            await asyncio.sleep(0)

    async def busy(store: PostgresStore, provider: str) -> None:
        for day in range(10):
            window = (at(0) + day * 86_400, at(4) + day * 86_400)
            made = await store.submit_availability(provider, *window, NOW)
            for n, slot in enumerate(made.slots[:2]):
                await store.reserve(slot.id, slot.start, f"{provider}-{day}-c{n}", NOW)

    follower = asyncio.create_task(follow())
    try:
        await asyncio.gather(*(busy((first, second)[n % 2], f"p{n}") for n in range(6)))
    finally:
        writing = False
        await follower

    assert followed == seqs(url) == list(range(1, 6 * 10 * 6 + 1))


async def test_every_write_reads_back_its_own_change_with_a_seq_as_soon_as_it_returns(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    """Seqs are handed out after commit, yet a caller's next read of the log has its change:
    on the one-statement paths (a hold of an open slot, a one-slot confirm) and the general ones
    (a longer hold, a cancel), from either process, while the other writes too."""
    first, second = two
    slots = (await first.submit_availability("p1", at(0), at(40), NOW)).slots

    async def write_then_read(n: int) -> None:
        store, slot = (first, second)[n % 2], slots[2 * n]
        client = f"c{n}"
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            (
                "reserved",
                lambda: store.reserve(
                    slot.id, slot.start, client, NOW, length=2 * SLOT if n % 3 == 0 else None
                ),
            ),
            ("confirmed", lambda: store.confirm(slot.id, slot.start, client, NOW)),
            ("cancelled", lambda: store.cancel(slot.id, client, None, NOW)),
        ]
        for kind, step in steps:
            await step()
            head = (await store.change_bounds())[1]
            mine = [c for c in await store.changes_since(head - 100, 100) if c.slot_id == slot.id]
            assert mine, (n, kind)
            assert mine[-1].kind == kind, (n, kind, mine)

    await asyncio.gather(*(write_then_read(n) for n in range(20)))


async def test_a_change_left_without_a_seq_by_a_process_that_died_is_numbered_by_another(
    two: tuple[PostgresStore, PostgresStore], url: str
) -> None:
    """A process killed between its commit and its sequencer round leaves its change without a
    seq; another process's round numbers it within SWEEP_SECONDS, and the feed hears of it."""
    first, _second = two
    await first.submit_availability("p1", at(0), at(1), NOW)
    woken = asyncio.Event()
    first.on_commit(lambda _changes: woken.set())
    await asyncio.wait_for(first.listener.connected.wait(), WAKE_SECONDS)
    woken.clear()

    query(
        url,
        "INSERT INTO pending_changes (kind, slot_id, provider_id, start, status, at)"
        " VALUES ('created', 'orphan', 'p1', ?, 'AVAILABLE', ?) RETURNING id",
        at(1),
        NOW,
    )

    await asyncio.wait_for(woken.wait(), SWEEP_SECONDS + WAKE_SECONDS)
    assert [(c.seq, c.slot_id) for c in await first.changes_since(1, 10)] == [(2, "orphan")]
    assert seqs(url) == [1, 2]


async def test_a_database_from_before_commit_time_seqs_keeps_its_log_and_numbers_on(
    postgres: PostgresForTests,
) -> None:
    """The upgrade to seqs handed out at commit time keeps every change's seq, and the next
    change follows the last one."""
    url = postgres.copy(template="template0")
    try:
        conn = await asyncpg.connect(url)
        try:
            await apply_migrations(conn, stop_before="0007_sequenced_changes")
            await conn.execute(
                "INSERT INTO changes (seq, kind, slot_id, provider_id, start, status, at)"
                " SELECT n, 'created', 'old' || n, 'p0', n * 900, 'AVAILABLE', 0"
                " FROM generate_series(1, 3) AS n"
            )
            await conn.execute("UPDATE change_counter SET last = 3")
        finally:
            await conn.close()
        store = await PostgresStore.open(url, RULES)  # migrates
        try:
            await store.submit_availability("p1", at(0), at(2), NOW)
            changes = await store.changes_since(0, 10)
        finally:
            await store.close()
        log = query(url, "SELECT seq, slot_id FROM changes ORDER BY seq")
    finally:
        postgres.drop(url)

    assert [(c.seq, c.slot_id[:3]) for c in changes] == [
        (1, "old"), (2, "old"), (3, "old"), (4, changes[3].slot_id[:3]), (5, changes[4].slot_id[:3])
    ]  # fmt: skip
    assert [c.kind for c in changes[3:]] == ["created", "created"]
    assert log[:3] == [(1, "old1"), (2, "old2"), (3, "old3")]
    assert len(log) == 5


async def test_a_commit_in_one_process_wakes_the_change_feed_of_the_other(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = two
    woken = asyncio.Event()
    first.on_commit(lambda _changes: woken.set())
    await asyncio.wait_for(first.listener.connected.wait(), WAKE_SECONDS)
    woken.clear()  # the listener wakes the feed once on connecting, to catch up

    await second.submit_availability("p1", at(0), at(1), NOW)

    await asyncio.wait_for(woken.wait(), WAKE_SECONDS)
    assert [c.kind for c in await first.changes_since(0, 10)] == ["created"]


async def test_the_listener_reconnects_when_its_connection_is_killed(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = two
    woken = asyncio.Event()
    first.on_commit(lambda _changes: woken.set())
    await asyncio.wait_for(first.listener.connected.wait(), WAKE_SECONDS)
    killed = first.listener.backend_pid
    assert killed is not None

    await second.check()
    assert await second._pool.fetchval("SELECT pg_terminate_backend($1)", killed)
    for _ in range(100):  # the listener notices, and is back within moments
        if first.listener.connected.is_set() and first.listener.backend_pid not in (None, killed):
            break
        await asyncio.sleep(0.05)
    assert first.listener.backend_pid not in (None, killed), "the listener did not come back"
    woken.clear()

    await second.submit_availability("p1", at(0), at(1), NOW)

    await asyncio.wait_for(woken.wait(), WAKE_SECONDS)


async def test_the_listener_keeps_trying_while_the_database_refuses_it_and_comes_back(
    two: tuple[PostgresStore, PostgresStore], url: str, postgres: PostgresForTests
) -> None:
    first, second = two
    woken = asyncio.Event()
    first.on_commit(lambda _changes: woken.set())
    await asyncio.wait_for(first.listener.connected.wait(), WAKE_SECONDS)
    name = urlsplit(url).path.lstrip("/")

    postgres.admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        assert await second._pool.fetchval(
            "SELECT pg_terminate_backend($1)", first.listener.backend_pid
        )
        await asyncio.sleep(0.5)  # a few attempts to reconnect, each refused
        assert not first.listener.connected.is_set()
    finally:
        postgres.admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    await asyncio.wait_for(first.listener.connected.wait(), 5)
    woken.clear()

    await second.submit_availability("p1", at(0), at(1), NOW)

    await asyncio.wait_for(woken.wait(), WAKE_SECONDS)


# --- the lock order (backend/store/postgres/locks.py) ---------------------------------------------

TAKE = "SELECT pg_advisory_xact_lock($1, hashtext($2))"
TRY = "SELECT pg_try_advisory_xact_lock($1, hashtext($2))"


async def test_a_lock_met_out_of_order_is_tried_and_the_write_starts_over_to_take_it_in_order(
    url: str,
) -> None:
    other, mine, third = await asyncio.gather(*(asyncpg.connect(url) for _ in range(3)))
    held = other.transaction()
    await held.start()
    await other.execute(TAKE, PROVIDER_LOCKS, "p2")  # another write holds p2
    locking = Locking()
    token = track(locking)
    try:
        locking.attempt(1)
        async with mine.transaction():
            await lock_client(mine, "c1")
            with pytest.raises(StartOver):  # holding a client, it does not wait for a provider
                await asyncio.wait_for(lock_provider(mine, "p2"), 5)
        locking.attempt(2)
        again = mine.transaction()
        await again.start()
        taking = asyncio.ensure_future(lock_provider(mine, "p1"))  # its first: p1, then p2
        await asyncio.sleep(0.2)
        assert not taking.done()  # in order, it waits for p2
        assert not await third.fetchval(TRY, PROVIDER_LOCKS, "p1")  # having taken p1
        await held.commit()
        await asyncio.wait_for(taking, 5)
        assert locking.providers == {"p1", "p2"}
        await again.rollback()
    finally:
        untrack(token)
        await asyncio.gather(other.close(), mine.close(), third.close())


async def test_a_lean_hold_takes_its_providers_lock_before_its_clients(url: str) -> None:
    store = await PostgresStore.open(url, RULES)
    other = await asyncpg.connect(url)
    try:
        [slot] = (await store.submit_availability("p1", at(0), at(1), NOW)).slots
        async with other.transaction():
            await other.execute(TAKE, PROVIDER_LOCKS, "p1")  # a hand-over at p1, say, that
            holding = asyncio.ensure_future(store.reserve(slot.id, slot.start, "c1", NOW))
            await asyncio.sleep(0.2)  # will offer c1 a slot
            assert not holding.done()
            # c1's lock is free while the hold waits for p1: the hand-over can take it
            assert await other.fetchval(TRY, CLIENT_LOCKS, "c1")
        assert (await asyncio.wait_for(holding, 5)).slot.client_id == "c1"
    finally:
        await other.close()
        await store.close()


# --- Idempotency-Key across processes ------------------------------------------------------------


def keyed(key: str, fingerprint: str = "same request") -> Once:
    def render(result: ReserveResult) -> Answer:
        return Answer(201, json.dumps({"held": result.slot.id}).encode())

    def refuse(error: BookingError) -> Answer:
        return Answer(409, json.dumps({"refused": error.detail}).encode())

    return Once("token:t1", key, fingerprint, render, refuse)


async def test_one_key_sent_to_two_processes_at_once_acts_once_and_replays_the_answer(
    two: tuple[PostgresStore, PostgresStore], url: str
) -> None:
    first, second = two
    slots = (await first.submit_availability("p1", at(0), at(2), NOW)).slots

    outcomes = await asyncio.gather(
        first.reserve(slots[0].id, slots[0].start, "c1", NOW, once=keyed("k1")),
        second.reserve(slots[0].id, slots[0].start, "c1", NOW, once=keyed("k1")),
        return_exceptions=True,
    )

    [acted] = [o for o in outcomes if isinstance(o, ReserveResult)]
    [replayed] = [o for o in outcomes if isinstance(o, Replayed)]
    assert replayed.answer.body == json.dumps({"held": acted.slot.id}).encode()
    assert replayed.answer.replayed
    assert query(url, "SELECT COUNT(*) FROM changes WHERE kind = 'reserved'") == [(1,)]
    with pytest.raises(IdempotencyKeyReused):
        await second.reserve(
            slots[1].id, slots[1].start, "c1", NOW, once=keyed("k1", "another request")
        )


async def test_a_refusal_under_a_key_is_stored_and_replayed_by_the_other_process(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = two
    [slot] = (await first.submit_availability("p1", at(0), at(1), NOW)).slots
    await first.reserve(slot.id, slot.start, "holder", NOW)

    with pytest.raises(SlotTaken):
        await first.reserve(slot.id, slot.start, "c2", NOW, once=keyed("late"))
    await first.cancel(slot.id, "holder", None, NOW)
    with pytest.raises(Replayed) as replayed:
        await second.reserve(slot.id, slot.start, "c2", NOW, once=keyed("late"))

    assert replayed.value.answer.status == 409
    assert b"not available" in replayed.value.answer.body


async def test_a_stored_answer_is_purged_after_a_day(
    two: tuple[PostgresStore, PostgresStore], url: str
) -> None:
    first, _ = two
    [slot] = (await first.submit_availability("p1", at(0), at(1), NOW)).slots
    await first.reserve(slot.id, slot.start, "c1", NOW, once=keyed("k"))

    await first.purge(NOW + 86_399, keep_changes_seconds=7 * 86_400)
    assert query(url, "SELECT COUNT(*) FROM idempotency") == [(1,)]
    await first.purge(NOW + 86_400, keep_changes_seconds=7 * 86_400)
    assert query(url, "SELECT COUNT(*) FROM idempotency") == [(0,)]


# --- the server command --------------------------------------------------------------------------


def test_serve_over_postgresql_says_so_and_never_prints_the_password(url: str) -> None:
    parts = urlsplit(url)
    with_password = url.replace(f"{parts.username}@", f"{parts.username}:not-printed-9f2@", 1)
    with ServerProcess(with_password, "--no-auth") as server:
        health = httpx.get(f"{server.url}/healthz", timeout=30).json()
    log = "".join(server.log)

    assert "not-printed-9f2" not in log
    first = server.log[0]
    assert f" database={url} postgresql=" in first, first
    assert health["status"] == "ok"
    assert health["database"].startswith("ok (PostgreSQL ")
