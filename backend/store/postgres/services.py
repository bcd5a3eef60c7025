"""Appointment types in the PostgreSQL store, and what the buffer rule and the daily limit read:
each a coroutine over a connection, run inside the operation's transaction (under its provider's
lock, for a reserve or a move). The rules themselves are pure (backend/rules/service_types.py)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from backend.rules.appointments import Surroundings
from backend.rules.booking import SLOT_COLUMNS, Rules, SlotRow
from backend.rules.service_types import (
    MAX_BUFFER_SECONDS,
    SERVICE_COLUMNS,
    ServiceNotFound,
    ServiceType,
    Terms,
    check_service_fields,
    edited,
    full_days,
    offered_by,
    zone_of,
)
from backend.store.busy_records import MAX_PIECE
from backend.store.postgres.schema import Connection

_LIVE = "(status = 'CONFIRMED' OR (status = 'RESERVED' AND held_until > $4))"


def _service(row: asyncpg.Record | None) -> ServiceType | None:
    return None if row is None else ServiceType(*row)


def _values(s: ServiceType) -> list[Any]:
    return [
        s.service_id, s.provider_id, s.name, s.minutes, s.buffer_before_minutes,
        s.buffer_after_minutes, s.notice_minutes, s.max_advance_days, s.daily_limit,
        s.description, s.archived_at, s.created_at, s.updated_at,
    ]  # fmt: skip


async def create(conn: Connection, service: ServiceType) -> ServiceType:
    marks = ", ".join(f"${n}" for n in range(1, 14))
    await conn.execute(
        f"INSERT INTO services ({SERVICE_COLUMNS}) VALUES ({marks})", *_values(service)
    )
    return service


async def of_provider(conn: Connection, provider_id: str, archived: bool) -> list[ServiceType]:
    rows = await conn.fetch(
        f"SELECT {SERVICE_COLUMNS} FROM services WHERE provider_id = $1"
        " AND ($2 OR archived_at IS NULL) ORDER BY created_at, name, id",
        provider_id,
        archived,
    )
    return [ServiceType(*row) for row in rows]


async def find(conn: Connection, service_id: str, *, lock: bool = False) -> ServiceType | None:
    sql = f"SELECT {SERVICE_COLUMNS} FROM services WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return _service(await conn.fetchrow(sql, service_id))


async def update(
    conn: Connection,
    service_id: str,
    changes: dict[str, object],
    provider_id: str | None,
    now: float,
    rules: Rules,
) -> ServiceType:
    found = await find(conn, service_id, lock=True)
    if found is None or (provider_id is not None and found.provider_id != provider_id):
        raise ServiceNotFound(f"No appointment type of yours has id {service_id}")
    changed = edited(found, changes, now)
    check_service_fields(changed, rules)
    columns = SERVICE_COLUMNS.split(", ")[2:]
    sets = ", ".join(f"{c} = ${n}" for n, c in enumerate(columns, start=2))
    await conn.execute(
        f"UPDATE services SET {sets} WHERE id = $1", service_id, *_values(changed)[2:]
    )
    return changed


async def offered(conn: Connection, service_id: str, provider_id: str) -> ServiceType:
    """The type a reserve names, if `provider_id` offers it now."""
    return offered_by(await find(conn, service_id), service_id, provider_id)


async def zone(conn: Connection, provider_id: str) -> ZoneInfo:
    name = await conn.fetchval(
        "SELECT time_zone FROM schedules WHERE provider_id = $1", provider_id
    )
    return zone_of(name)


async def surroundings(
    conn: Connection,
    provider_id: str,
    start: int,
    length: int,
    terms: Terms,
    now: float,
    rules: Rules,
    own: str | None = None,
) -> Surroundings:
    """What lies around [start, start + length) of the provider: the held and booked slots within
    a buffer's reach, its zone (for a type with a daily limit) and the type's count of each day
    that the rule may ask about (the one the appointment starts on)."""
    reach_before = MAX_BUFFER_SECONDS + rules.max_appointment_seconds
    rows = await conn.fetch(
        f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = $1 AND start >= $2"
        " AND start < $3 AND appointment_id IS NOT NULL ORDER BY start",
        provider_id,
        start - reach_before,
        start + length + MAX_BUFFER_SECONDS,
    )
    around = [SlotRow._make(row) for row in rows]
    busy = [
        (int(row[0]), int(row[1]))
        for row in await conn.fetch(_BUSY_IN_RUN, provider_id, start, start + length)
    ]
    if terms.daily_limit is None or terms.service_id is None:
        return Surroundings(around, busy=busy)
    where = await zone(conn, provider_id)
    starts = await conn.fetch(
        f"SELECT start FROM slots WHERE service_id = $1 AND id = appointment_id"
        f" AND start >= $2 AND start < $3 AND {_LIVE}"
        " AND ($5::text IS NULL OR appointment_id <> $5)",
        terms.service_id,
        start - 86_400 * 2,
        start + 86_400 * 2,
        now,
        own,
    )
    counted = [int(row[0]) for row in starts]

    def count_of_day(day_start: int, day_end: int) -> int:
        return sum(1 for s in counted if day_start <= s < day_end)

    return Surroundings(around, where, count_of_day, busy)


async def terms_of(conn: Connection, head: SlotRow) -> Terms | None:
    """The terms a typed appointment is moved or confirmed under now (None without a type)."""
    if head.service_id is None:
        return None
    found = await find(conn, head.service_id)
    return None if found is None else found.terms()


async def days_full(
    conn: Connection, service: ServiceType, start: float, end: float, now: float
) -> tuple[list[int], list[int]]:
    """The provider's local days in [start, end), widened by a day each way, on which the type has
    reached its daily limit: their midnights, and the next midnights."""
    if service.daily_limit is None:
        return [], []
    rows = await conn.fetch(
        f"SELECT start FROM slots WHERE service_id = $1 AND id = appointment_id"
        f" AND start >= $2 AND start < $3 AND {_LIVE}",
        service.service_id,
        int(start) - 2 * 86_400,
        int(end) + 2 * 86_400,
        now,
    )
    days = full_days(
        [int(r[0]) for r in rows], service.daily_limit, await zone(conn, service.provider_id)
    )
    return [d[0] for d in days], [d[1] for d in days]


_BUSY_IN_RUN = f"""
SELECT start, ends FROM busy_intervals
 WHERE provider_id = $1 AND start > $2::bigint - {MAX_PIECE} AND start < $3::bigint
   AND ends > $2::bigint
"""


def clear_of_busy(n: int) -> str:
    """SQL true when no busy interval of the provider's own calendars overlaps an appointment
    from the row of `slots` of `$n` seconds (one slot when NULL): the same `$n` as
    `clear_of_buffers`'s span."""
    end = f"(slots.start + COALESCE(${n}::bigint, slots.duration))"
    return f"""
NOT EXISTS (SELECT FROM busy_intervals AS bz
             WHERE bz.provider_id = slots.provider_id
               AND bz.start > slots.start - {MAX_PIECE} AND bz.start < {end}
               AND bz.ends > slots.start)
"""


def clear_of_buffers(n: int, now: str) -> str:
    """SQL true when an appointment from the row of `slots` (of `$n` seconds, one slot when NULL;
    buffers `$n+1` and `$n+2`; reaches `$n+3` and `$n+4`) keeps the buffer rule with every other
    live appointment of its provider (see the SQLite store's)."""
    span, before, after, reach, buffer_reach = (f"${n + k}" for k in range(5))
    end = f"(slots.start + COALESCE({span}::bigint, slots.duration))"
    live = f"(nb.status = 'CONFIRMED' OR (nb.status = 'RESERVED' AND nb.held_until > {now}))"
    window = (
        f"nb.provider_id = slots.provider_id AND nb.start >= slots.start - {reach}::bigint"
        f" AND nb.start < {end} + {buffer_reach}::bigint"
    )
    return f"""
NOT EXISTS (SELECT FROM slots AS nb
             WHERE {window} AND (nb.buffer_before > 0 OR nb.buffer_after > 0) AND {live}
               AND ((nb.start + nb.duration <= slots.start
                     AND nb.start + nb.duration + nb.buffer_after > slots.start)
                    OR (nb.start >= {end} AND nb.start - nb.buffer_before < {end})))
AND (({before}::int = 0 AND {after}::int = 0) OR NOT EXISTS (
       SELECT FROM slots AS nb
        WHERE {window} AND nb.appointment_id IS NOT NULL AND {live}
          AND ((nb.start + nb.duration <= slots.start
                AND nb.start + nb.duration + {before}::int > slots.start)
               OR (nb.start >= {end} AND nb.start - {after}::int < {end}))))
"""


def buffer_values(rules: Rules, terms: Terms | None, span: int | None) -> list[Any]:
    """The five parameters of `clear_of_buffers`, in order."""
    return [
        span,
        0 if terms is None else terms.buffer_before,
        0 if terms is None else terms.buffer_after,
        MAX_BUFFER_SECONDS + rules.max_appointment_seconds,
        MAX_BUFFER_SECONDS,
    ]


LIVE_HOLDS = """
SELECT COUNT(DISTINCT appointment_id) FROM slots
 WHERE client_id = $1 AND status = 'RESERVED' AND held_until > $2
"""
"""The client's held appointments: what --max-holds counts (a reserve's, and a waitlist offer's)."""
