"""Weekly schedules in the SQLite store: each operation a function run by the writer thread inside
its transaction, as every other write of the store (backend/store/sqlite/store.py).

The expansion and the comparison with the slots there are pure (backend/rules/schedule.py); here
they meet the tables: `schedules` (one row a provider) and the slots, with `scheduled` marking those
a schedule opened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlite_utils import Database

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
from shared.grid import DAY_SECONDS

RecordChanges = Callable[[Database, str, Sequence[SlotRow], float, Sequence[str | None]], None]

_OPEN = "(status = 'AVAILABLE' OR (status = 'RESERVED' AND held_until <= :now))"


def _rows(cursor: Iterable[Sequence[Any]]) -> list[SlotRow]:
    return [SlotRow._make(row) for row in cursor]


def stored(db: Database, provider_id: str) -> StoredSchedule | None:
    row = db.execute(
        "SELECT time_zone, weekly, exceptions, horizon_days, filled_until FROM schedules"
        " WHERE provider_id = ?",
        [provider_id],
    ).fetchone()
    if row is None:
        return None
    schedule = from_stored(row[0], row[1], row[2], row[3])
    return StoredSchedule(provider_id, schedule, date.fromisoformat(row[4]))


def _save(db: Database, provider_id: str, schedule: Schedule, filled: date, now: float) -> None:
    db.execute(
        "INSERT INTO schedules"
        " (provider_id, time_zone, weekly, exceptions, horizon_days, filled_until, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (provider_id) DO UPDATE SET time_zone = excluded.time_zone,"
        " weekly = excluded.weekly, exceptions = excluded.exceptions,"
        " horizon_days = excluded.horizon_days, filled_until = excluded.filled_until,"
        " updated_at = excluded.updated_at",
        [
            provider_id,
            schedule.zone,
            weekly_json(schedule),
            exceptions_json(schedule),
            schedule.horizon_days,
            filled.isoformat(),
            now,
        ],
    )


def _open(
    db: Database,
    provider_id: str,
    starts: Sequence[int],
    now: float,
    rules: Rules,
    record: RecordChanges,
) -> int:
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
    db.conn.executemany(
        "INSERT INTO slots (id, provider_id, start, duration, status, created_at, scheduled)"
        " VALUES (?, ?, ?, ?, 'AVAILABLE', ?, 1)",
        [(s.id, s.provider_id, s.start, s.duration, now) for s in new],
    )
    record(db, "created", new, now, [None] * len(new))
    return len(new)


def _remove(db: Database, doomed: Sequence[SlotRow], now: float, record: RecordChanges) -> None:
    db.conn.executemany(
        f"DELETE FROM slots WHERE id = :id AND {_OPEN}", [{"id": s.id, "now": now} for s in doomed]
    )
    record(db, "deleted", doomed, now, [None] * len(doomed))


def set_schedule(
    db: Database,
    provider_id: str,
    schedule: Schedule,
    now: float,
    rules: Rules,
    record: RecordChanges,
    *,
    keep_exceptions: bool,
) -> ScheduleResult:
    before = stored(db, provider_id)
    if keep_exceptions and before is not None:
        schedule = schedule.with_exceptions(before.schedule.exceptions)
    end = horizon_end(schedule, now)
    future = _rows(
        db.execute(
            f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = ? AND start > ? ORDER BY start",
            [provider_id, now],
        )
    )
    within = [s for s in future if s.start < end]
    steps = plan(within, wanted(schedule, now, rules.slot_seconds), now, rules.slot_seconds)
    beyond = db.execute(
        f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = :provider AND start >= :end"
        f" AND scheduled = 1 AND {_OPEN} ORDER BY start",
        {"provider": provider_id, "end": end, "now": now},
    )
    doomed = steps.delete + _rows(beyond)  # a shorter horizon: what the schedule made past it
    _remove(db, doomed, now, record)
    created = _open(db, provider_id, steps.create, now, rules, record)
    db.execute(
        "INSERT INTO providers (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        [provider_id, now],
    )
    filled = schedule.horizon(now)[1]
    _save(db, provider_id, schedule, filled, now)
    return ScheduleResult(
        StoredSchedule(provider_id, schedule, filled), created, len(doomed), steps.kept
    )


def remove_schedule(
    db: Database, provider_id: str, now: float, record: RecordChanges
) -> RemoveResult:
    if stored(db, provider_id) is None:
        raise ScheduleNotFound(provider_id)
    made = _rows(
        db.execute(
            f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = ? AND start > ?"
            " AND scheduled = 1 ORDER BY start",
            [provider_id, now],
        )
    )
    doomed = [s for s in made if _is_open(s, now)]
    _remove(db, doomed, now, record)
    db.execute("DELETE FROM schedules WHERE provider_id = ?", [provider_id])
    return RemoveResult(deleted=len(doomed), kept=[s for s in made if not _is_open(s, now)])


def _is_open(slot: SlotRow, now: float) -> bool:
    return effective_status(slot, now) == "AVAILABLE"


def roll(db: Database, now: float, rules: Rules, record: RecordChanges) -> RollResult:
    """Open the slots of the dates that entered each schedule's horizon since it was filled, for
    every provider at once: one read of the schedules, one of the slots already there, one insert
    of the new ones."""
    rows = db.execute(
        "SELECT provider_id, time_zone, weekly, exceptions, horizon_days, filled_until"
        " FROM schedules"
    ).fetchall()
    every = [(r[0], from_stored(r[1], r[2], r[3], r[4]), date.fromisoformat(r[5])) for r in rows]
    rolls, next_due = roll_plan(every, now, rules.slot_seconds)
    wanted_starts = [s for step in rolls for s in step.starts]
    new: list[SlotRow] = []
    if wanted_starts:
        first = min(wanted_starts)
        existing = db.execute(
            "SELECT provider_id, start, duration FROM slots WHERE start >= ? AND start <= ?"
            " AND start + duration > ?",  # what reaches into the new dates, of any length
            [first - DAY_SECONDS, max(wanted_starts), first],
        ).fetchall()
        by_provider: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for provider_id, start, duration in existing:
            by_provider[provider_id].append((start, duration))
        for step in rolls:
            taken = occupied_cells(by_provider.get(step.provider_id, ()), rules.slot_seconds)
            new += [
                SlotRow(new_slot_id(now), step.provider_id, s, rules.slot_seconds, "AVAILABLE",
                        None, None, None, None)
                for s in step.starts
                if s not in taken
            ]  # fmt: skip
        new.sort(key=lambda s: (s.start, s.provider_id))  # in index order: far fewer page writes
        db.conn.executemany(
            "INSERT INTO slots (id, provider_id, start, duration, status, created_at, scheduled)"
            " VALUES (?, ?, ?, ?, 'AVAILABLE', ?, 1)",
            [(s.id, s.provider_id, s.start, s.duration, now) for s in new],
        )
        record(db, "created", new, now, [None] * len(new))
    db.conn.executemany(
        "UPDATE schedules SET filled_until = ?, updated_at = ? WHERE provider_id = ?",
        [(step.filled_until.isoformat(), now, step.provider_id) for step in rolls],
    )
    return RollResult(len(new), next_due)


def note_hand_edit(
    db: Database, provider_id: str, start: float, end: float, now: float, rules: Rules
) -> None:
    """Availability painted or erased by hand on a provider with a schedule: each local date the
    edit touched takes the hours its slots now fill, as an exception, so that neither the daily
    roll nor a later change of the weekly hours undoes it."""
    found = stored(db, provider_id)
    if found is None:
        return
    schedule, zone = found.schedule, found.schedule.tz
    for day in local_dates_of(start, end, zone):
        starts = [
            row[0]
            for row in db.execute(
                "SELECT start FROM slots WHERE provider_id = ? AND start >= ? AND start < ?",
                [provider_id, midnight(day, zone), midnight(day + timedelta(days=1), zone)],
            )
        ]
        schedule = with_hand_edit(schedule, day, starts, rules.slot_seconds)
    _save(db, provider_id, schedule, found.filled_until, now)
