"""Weekly schedules in the PostgreSQL store: each operation runs inside the transaction of the store
operation that calls it, after taking the provider's advisory lock (as availability changes do),
so that two processes never fill or change one provider's schedule at once.

The daily roll takes each provider's lock without waiting (pg_try_advisory_xact_lock): a process
that finds it taken leaves that provider to the one holding it, and the `filled_until` it then
reads tells it whether anything is left to do. So exactly one process opens each date's slots.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta

import asyncpg

from backend.rules.booking import SLOT_COLUMNS, Rules, SlotRow, effective_status
from backend.rules.occupancy import occupied_cells
from backend.rules.schedule import (
    Schedule,
    exceptions_json,
    from_stored,
    horizon_end,
    local_dates_of,
    midnight,
    plan,
    roll_plan,
    wanted,
    weekly_json,
    with_hand_edit,
)
from backend.store.base import (
    RemoveResult,
    RollResult,
    ScheduleNotFound,
    ScheduleResult,
    StoredSchedule,
    new_slot_id,
)
from backend.store.postgres.schema import Connection
from shared.grid import DAY_SECONDS

RecordChanges = Callable[
    [Connection, str, Sequence[SlotRow], float, Sequence[str | None]], Awaitable[None]
]
Lock = Callable[[Connection, str], Awaitable[None]]

SLOT_FIELDS = SLOT_COLUMNS


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
        SlotRow(
            new_slot_id(now),
            provider_id,
            s,
            rules.slot_seconds,
            "AVAILABLE",
            None,
            None,
            None,
            None,
        )
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


_SCHEDULE_ROWS = (
    "SELECT provider_id, time_zone, weekly, exceptions, horizon_days, filled_until FROM schedules"
)

_TAKE_FREE = (
    "SELECT p FROM unnest($1::text[]) AS t(p)"
    " WHERE pg_try_advisory_xact_lock($2::int4, hashtext(p))"
)
"""The providers of a list whose lock this transaction gets without waiting: those another process
is not rolling (or changing) at this moment."""


def _read(rows: Sequence[asyncpg.Record]) -> list[tuple[str, Schedule, date]]:
    return [(r[0], from_stored(r[1], r[2], r[3], r[4]), date.fromisoformat(r[5])) for r in rows]


async def roll(
    conn: Connection, now: float, rules: Rules, record: RecordChanges, lock_kind: int
) -> RollResult:
    """Fill every schedule's horizon that has moved on, in this one transaction: the providers
    whose lock another process holds are left to it, and those it has just finished are seen
    filled when read again under the lock."""
    slot_seconds = rules.slot_seconds
    behind, next_due = roll_plan(_read(await conn.fetch(_SCHEDULE_ROWS)), now, slot_seconds)
    if not behind:
        return RollResult(0, next_due)
    ours = [r[0] for r in await conn.fetch(_TAKE_FREE, [b.provider_id for b in behind], lock_kind)]
    rows = await conn.fetch(_SCHEDULE_ROWS + " WHERE provider_id = ANY($1::text[])", ours)
    rolls, _ = roll_plan(_read(rows), now, slot_seconds)
    wanted_starts = [s for step in rolls for s in step.starts]
    new: list[SlotRow] = []
    if wanted_starts:
        first = min(wanted_starts)
        existing = await conn.fetch(
            "SELECT provider_id, start, duration FROM slots WHERE provider_id = ANY($1::text[])"
            " AND start >= $2 AND start <= $3 AND start + duration > $4",
            [step.provider_id for step in rolls],
            first - DAY_SECONDS,
            max(wanted_starts),
            first,
        )
        by_provider: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for provider_id, start, duration in existing:
            by_provider[provider_id].append((start, duration))
        for step in rolls:
            taken = occupied_cells(by_provider.get(step.provider_id, ()), slot_seconds)
            new += [
                SlotRow(new_slot_id(now), step.provider_id, s, slot_seconds, "AVAILABLE",
                        None, None, None, None)
                for s in step.starts
                if s not in taken
            ]  # fmt: skip
        if new:
            await conn.execute(
                "INSERT INTO slots"
                " (id, provider_id, start, duration, status, created_at, scheduled)"
                " SELECT id, provider_id, start, $4, 'AVAILABLE', $5, true"
                " FROM unnest($1::text[], $2::text[], $3::bigint[]) AS n(id, provider_id, start)",
                [s.id for s in new],
                [s.provider_id for s in new],
                [s.start for s in new],
                slot_seconds,
                now,
            )
            await record(conn, "created", new, now, [None] * len(new))
    await conn.execute(
        "UPDATE schedules SET filled_until = u.filled, updated_at = $3"
        " FROM unnest($1::text[], $2::text[]) AS u(provider_id, filled)"
        " WHERE schedules.provider_id = u.provider_id",
        [step.provider_id for step in rolls],
        [step.filled_until.isoformat() for step in rolls],
        now,
    )
    return RollResult(len(new), next_due)


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
