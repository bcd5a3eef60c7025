"""Weekly schedules in the PostgreSQL store: each operation runs inside the transaction of the store
operation that calls it, after taking the provider's advisory lock (as availability changes do),
so that two processes never fill or change one provider's schedule at once.

The daily roll takes each provider's lock without waiting (pg_try_advisory_xact_lock): a process
that finds it taken leaves that provider to the one holding it, and the `filled_until` it then
reads tells it whether anything is left to do. So exactly one process opens each date's slots.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta

import asyncpg

from backend.booking import Rules, SlotRow, effective_status
from backend.schedule import (
    Schedule,
    exceptions_json,
    expand,
    from_stored,
    horizon_end,
    local_dates_of,
    midnight,
    next_midnight,
    plan,
    wanted,
    weekly_json,
    with_hand_edit,
)
from backend.store.base import (
    RemoveResult,
    ScheduleNotFound,
    ScheduleResult,
    StoredSchedule,
    occupied_cells,
)
from backend.store.postgres_schema import Connection

RecordChanges = Callable[
    [Connection, str, Sequence[SlotRow], float, Sequence[str | None]], Awaitable[None]
]
Lock = Callable[[Connection, str], Awaitable[None]]

SLOT_FIELDS = (
    "id, provider_id, start, duration, status, client_id, reserved_at, held_until, confirmed_at"
)
_TRY_LOCK = "SELECT pg_try_advisory_xact_lock($1::int4, hashtext($2::text))"


def _rows(records: Sequence[asyncpg.Record]) -> list[SlotRow]:
    return [SlotRow._make(row) for row in records]


def _is_open(slot: SlotRow, now: float) -> bool:
    return effective_status(slot, now) == "AVAILABLE"


async def stored(conn: Connection, provider_id: str) -> StoredSchedule | None:
    row = await conn.fetchrow(
        "SELECT time_zone, weekly, exceptions, horizon_days, filled_until FROM schedules"
        " WHERE provider_id = $1",
        provider_id,
    )
    if row is None:
        return None
    schedule = from_stored(row[0], row[1], row[2], row[3])
    return StoredSchedule(provider_id, schedule, date.fromisoformat(row[4]))


async def _save(
    conn: Connection, provider_id: str, schedule: Schedule, filled: date, now: float
) -> None:
    await conn.execute(
        "INSERT INTO schedules"
        " (provider_id, time_zone, weekly, exceptions, horizon_days, filled_until, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (provider_id) DO UPDATE SET time_zone = excluded.time_zone,"
        " weekly = excluded.weekly, exceptions = excluded.exceptions,"
        " horizon_days = excluded.horizon_days, filled_until = excluded.filled_until,"
        " updated_at = excluded.updated_at",
        provider_id,
        schedule.zone,
        weekly_json(schedule),
        exceptions_json(schedule),
        schedule.horizon_days,
        filled.isoformat(),
        now,
    )


async def _open(
    conn: Connection,
    provider_id: str,
    starts: Sequence[int],
    now: float,
    rules: Rules,
    record: RecordChanges,
) -> int:
    if not starts:
        return 0
    new = [
        SlotRow(uuid.uuid4().hex, provider_id, s, rules.slot_seconds, "AVAILABLE", *([None] * 4))
        for s in starts
    ]
    await conn.execute(
        "INSERT INTO slots (id, provider_id, start, duration, status, created_at, scheduled)"
        " SELECT id, $2, start, $3, 'AVAILABLE', $4, true"
        " FROM unnest($1::text[], $5::bigint[]) AS n(id, start)",
        [s.id for s in new],
        provider_id,
        rules.slot_seconds,
        now,
        [s.start for s in new],
    )
    await record(conn, "created", new, now, [None] * len(new))
    return len(new)


async def _remove(
    conn: Connection, doomed: Sequence[SlotRow], now: float, record: RecordChanges
) -> list[SlotRow]:
    if not doomed:
        return []
    gone = await conn.fetch(
        "DELETE FROM slots WHERE id = ANY($1::text[])"
        " AND (status = 'AVAILABLE' OR (status = 'RESERVED' AND held_until <= $2))"
        f" RETURNING {SLOT_FIELDS}",
        [s.id for s in doomed],
        now,
    )
    removed = sorted(_rows(gone), key=lambda s: s.start)
    await record(conn, "deleted", removed, now, [None] * len(removed))
    return removed


async def set_schedule(
    conn: Connection,
    provider_id: str,
    schedule: Schedule,
    now: float,
    rules: Rules,
    record: RecordChanges,
    lock: Lock,
    *,
    keep_exceptions: bool,
) -> ScheduleResult:
    await lock(conn, provider_id)
    before = await stored(conn, provider_id)
    if keep_exceptions and before is not None:
        schedule = schedule.with_exceptions(before.schedule.exceptions)
    end = horizon_end(schedule, now)
    future = _rows(
        await conn.fetch(
            f"SELECT {SLOT_FIELDS} FROM slots WHERE provider_id = $1 AND start > $2 ORDER BY start",
            provider_id,
            int(now),
        )
    )
    within = [s for s in future if s.start < end]
    beyond = [s for s in future if s.start >= end]
    steps = plan(within, wanted(schedule, now, rules.slot_seconds), now, rules.slot_seconds)
    made_beyond = await conn.fetch(
        "SELECT id FROM slots WHERE provider_id = $1 AND start >= $2 AND scheduled",
        provider_id,
        int(end),
    )
    scheduled_ids = {row[0] for row in made_beyond}
    doomed = steps.delete + [s for s in beyond if s.id in scheduled_ids and _is_open(s, now)]
    removed = await _remove(conn, doomed, now, record)
    created = await _open(conn, provider_id, steps.create, now, rules, record)
    await conn.execute(
        "INSERT INTO providers (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        provider_id,
        now,
    )
    filled = schedule.horizon(now)[1]
    await _save(conn, provider_id, schedule, filled, now)
    return ScheduleResult(
        StoredSchedule(provider_id, schedule, filled), created, len(removed), steps.kept
    )


async def remove_schedule(
    conn: Connection, provider_id: str, now: float, record: RecordChanges, lock: Lock
) -> RemoveResult:
    await lock(conn, provider_id)
    if await stored(conn, provider_id) is None:
        raise ScheduleNotFound(provider_id)
    made = _rows(
        await conn.fetch(
            f"SELECT {SLOT_FIELDS} FROM slots WHERE provider_id = $1 AND start > $2"
            " AND scheduled ORDER BY start",
            provider_id,
            int(now),
        )
    )
    removed = await _remove(conn, [s for s in made if _is_open(s, now)], now, record)
    await conn.execute("DELETE FROM schedules WHERE provider_id = $1", provider_id)
    gone = {s.id for s in removed}
    return RemoveResult(deleted=len(removed), kept=[s for s in made if s.id not in gone])


async def roll_one(
    conn: Connection,
    provider_id: str,
    now: float,
    rules: Rules,
    record: RecordChanges,
    lock_kind: int,
) -> int:
    """Fill one provider's horizon, unless another process is at it (then 0)."""
    if not await conn.fetchval(_TRY_LOCK, lock_kind, provider_id):
        return 0
    found = await stored(conn, provider_id)
    if found is None:
        return 0
    schedule = found.schedule
    last = schedule.horizon(now)[1]
    if found.filled_until >= last:
        return 0
    first = max(found.filled_until + timedelta(days=1), schedule.today(now))
    starts = [s for s in expand(schedule, first, last, rules.slot_seconds) if s > now]
    created = 0
    if starts:
        existing = await conn.fetch(
            "SELECT start, duration FROM slots WHERE provider_id = $1 AND start >= $2"
            " AND start <= $3",
            provider_id,
            starts[0] - 86_400,
            starts[-1],
        )
        taken = occupied_cells(((r[0], r[1]) for r in existing), rules.slot_seconds)
        fresh = [s for s in starts if s not in taken]
        created = await _open(conn, provider_id, fresh, now, rules, record)
    await _save(conn, provider_id, schedule, last, now)
    return created


async def due(conn: Connection, now: float) -> tuple[list[str], float]:
    """The providers whose horizon has moved past what is filled, and when the next may."""
    rows = await conn.fetch(
        "SELECT provider_id, time_zone, weekly, exceptions, horizon_days, filled_until"
        " FROM schedules"
    )
    behind: list[str] = []
    next_due = float("inf")
    for row in rows:
        schedule = from_stored(row[1], row[2], row[3], row[4])
        next_due = min(next_due, next_midnight(now, schedule.tz))
        if date.fromisoformat(row[5]) < schedule.horizon(now)[1]:
            behind.append(row[0])
    return behind, next_due


async def note_hand_edit(
    conn: Connection, provider_id: str, start: float, end: float, now: float, rules: Rules
) -> None:
    """As in the SQLite store: each local date a hand edit touched takes the hours its slots now
    fill, as an exception (the caller holds the provider's lock)."""
    found = await stored(conn, provider_id)
    if found is None:
        return
    schedule, zone = found.schedule, found.schedule.tz
    for day in local_dates_of(start, end, zone):
        rows = await conn.fetch(
            "SELECT start FROM slots WHERE provider_id = $1 AND start >= $2 AND start < $3",
            provider_id,
            int(midnight(day, zone)),
            int(midnight(day + timedelta(days=1), zone)),
        )
        schedule = with_hand_edit(schedule, day, [r[0] for r in rows], rules.slot_seconds)
    await _save(conn, provider_id, schedule, found.filled_until, now)
