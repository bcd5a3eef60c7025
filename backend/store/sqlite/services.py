"""Appointment types in the SQLite store, and what the buffer rule and the daily limit read: each a
function over a connection, run by the writer inside its transaction (or by a reader, for a
listing). The rules themselves are pure (backend/rules/service_types.py)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

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

_LIVE = "(status = 'CONFIRMED' OR (status = 'RESERVED' AND held_until > :now))"


def _service(row: Sequence[Any] | None) -> ServiceType | None:
    return None if row is None else ServiceType(*row)


def create(conn: sqlite3.Connection, service: ServiceType) -> ServiceType:
    conn.execute(
        f"INSERT INTO services ({SERVICE_COLUMNS}) VALUES ({', '.join(['?'] * 13)})",
        _values(service),
    )
    return service


def _values(s: ServiceType) -> list[Any]:
    return [
        s.service_id, s.provider_id, s.name, s.minutes, s.buffer_before_minutes,
        s.buffer_after_minutes, s.notice_minutes, s.max_advance_days, s.daily_limit,
        s.description, s.archived_at, s.created_at, s.updated_at,
    ]  # fmt: skip


def of_provider(conn: sqlite3.Connection, provider_id: str, archived: bool) -> list[ServiceType]:
    sql = (
        f"SELECT {SERVICE_COLUMNS} FROM services WHERE provider_id = ?"
        " AND (? OR archived_at IS NULL) ORDER BY created_at, name, id"
    )
    return [ServiceType(*row) for row in conn.execute(sql, [provider_id, archived])]


def find(conn: sqlite3.Connection, service_id: str) -> ServiceType | None:
    sql = f"SELECT {SERVICE_COLUMNS} FROM services WHERE id = ?"
    return _service(conn.execute(sql, [service_id]).fetchone())


def update(
    conn: sqlite3.Connection,
    service_id: str,
    changes: dict[str, object],
    provider_id: str | None,
    now: float,
    rules: Rules,
) -> ServiceType:
    found = find(conn, service_id)
    if found is None or (provider_id is not None and found.provider_id != provider_id):
        raise ServiceNotFound(f"No appointment type of yours has id {service_id}")
    changed = edited(found, changes, now)
    check_service_fields(changed, rules)
    columns = SERVICE_COLUMNS.split(", ")
    conn.execute(
        f"UPDATE services SET {', '.join(f'{c} = ?' for c in columns[2:])} WHERE id = ?",
        [*_values(changed)[2:], service_id],
    )
    return changed


def offered(conn: sqlite3.Connection, service_id: str, provider_id: str) -> ServiceType:
    """The type a reserve names, if `provider_id` offers it now."""
    return offered_by(find(conn, service_id), service_id, provider_id)


def zone(conn: sqlite3.Connection, provider_id: str) -> ZoneInfo:
    row = conn.execute(
        "SELECT time_zone FROM schedules WHERE provider_id = ?", [provider_id]
    ).fetchone()
    return zone_of(None if row is None else row[0])


def surroundings(
    conn: sqlite3.Connection,
    provider_id: str,
    start: int,
    length: int,
    terms: Terms,
    now: float,
    rules: Rules,
    own: str | None = None,
) -> Surroundings:
    """What lies around [start, start + length) of the provider: the held and booked slots within
    a buffer's reach, its zone (for a type with a daily limit) and the type's count of a day."""
    reach_before = MAX_BUFFER_SECONDS + rules.max_appointment_seconds
    around = [
        SlotRow._make(row)
        for row in conn.execute(
            f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = ? AND start >= ?"
            " AND start < ? AND appointment_id IS NOT NULL ORDER BY start",
            [provider_id, start - reach_before, start + length + MAX_BUFFER_SECONDS],
        )
    ]
    busy = [
        (int(b_start), int(b_ends))
        for b_start, b_ends in conn.execute(_BUSY_IN_RUN, [provider_id, start, start + length])
    ]
    if terms.daily_limit is None or terms.service_id is None:
        return Surroundings(around, busy=busy)
    service_id = terms.service_id

    def count_of_day(day_start: int, day_end: int) -> int:
        sql = (
            f"SELECT COUNT(*) FROM slots WHERE service_id = :service AND id = appointment_id"
            f" AND start >= :start AND start < :end AND {_LIVE}"
            " AND (:own IS NULL OR appointment_id != :own)"
        )
        params = {"service": service_id, "start": day_start, "end": day_end, "now": now}
        count: int = conn.execute(sql, {**params, "own": own}).fetchone()[0]
        return count

    return Surroundings(around, zone(conn, provider_id), count_of_day, busy)


def terms_of(conn: sqlite3.Connection, head: SlotRow) -> Terms | None:
    """The terms a typed appointment is moved under now (None without a type)."""
    if head.service_id is None:
        return None
    found = find(conn, head.service_id)
    return None if found is None else found.terms()


def days_full(
    conn: sqlite3.Connection, service: ServiceType, start: float, end: float, now: float
) -> str:
    """The provider's local days in [start, end), widened by two days each way, on which the type
    has reached its daily limit, as a JSON list of [midnight, next midnight] pairs."""
    if service.daily_limit is None:
        return "[]"
    sql = (
        f"SELECT start FROM slots WHERE service_id = :service AND id = appointment_id"
        f" AND start >= :start AND start < :end AND {_LIVE}"
    )
    params = {"service": service.service_id, "start": start - 2 * 86_400, "end": end + 2 * 86_400}
    starts = [row[0] for row in conn.execute(sql, {**params, "now": now})]
    days = full_days(starts, service.daily_limit, zone(conn, service.provider_id))
    return json.dumps([list(day) for day in days])


_BUSY_IN_RUN = f"""
SELECT start, ends FROM busy_intervals
 WHERE provider_id = ?1 AND start > ?2 - {MAX_PIECE} AND start < ?3 AND ends > ?2
"""


def clear_of_busy(table: str = "slots") -> str:
    """SQL true when no busy interval of the provider's own calendars overlaps an appointment of
    `:span` seconds (one slot when NULL) from the row of `table`."""
    end = f"({table}.start + COALESCE(:span, {table}.duration))"
    return f"""
NOT EXISTS (SELECT 1 FROM busy_intervals AS bz
             WHERE bz.provider_id = {table}.provider_id
               AND bz.start > {table}.start - {MAX_PIECE} AND bz.start < {end}
               AND bz.ends > {table}.start)
"""


def clear_of_buffers(table: str = "slots") -> str:
    """SQL true when an appointment of `:span` seconds (one slot when NULL) from the row of
    `table`, with buffers `:buffer_before` and `:buffer_after`, keeps the buffer rule with every
    other live appointment of its provider (only slots that keep a buffer are looked at when it
    keeps none itself, through the partial index of buffered slots)."""
    end = f"({table}.start + COALESCE(:span, {table}.duration))"
    return f"""
NOT EXISTS (SELECT 1 FROM slots AS nb
             WHERE nb.provider_id = {table}.provider_id
               AND nb.start >= {table}.start - :reach AND nb.start < {end} + :buffer_reach
               AND (nb.buffer_before > 0 OR nb.buffer_after > 0)
               AND (nb.status = 'CONFIRMED' OR (nb.status = 'RESERVED' AND nb.held_until > :now))
               AND ((nb.start + nb.duration <= {table}.start
                     AND nb.start + nb.duration + nb.buffer_after > {table}.start)
                    OR (nb.start >= {end} AND nb.start - nb.buffer_before < {end})))
AND (:buffer_before = 0 AND :buffer_after = 0 OR NOT EXISTS (
       SELECT 1 FROM slots AS nb
        WHERE nb.provider_id = {table}.provider_id
          AND nb.start >= {table}.start - :reach AND nb.start < {end} + :buffer_reach
          AND nb.appointment_id IS NOT NULL
          AND (nb.status = 'CONFIRMED' OR (nb.status = 'RESERVED' AND nb.held_until > :now))
          AND ((nb.start + nb.duration <= {table}.start
                AND nb.start + nb.duration + :buffer_before > {table}.start)
               OR (nb.start >= {end} AND nb.start - :buffer_after < {end}))))
"""


def buffer_params(rules: Rules, terms: Terms | None, span: int | None) -> dict[str, Any]:
    """The parameters of `clear_of_buffers`."""
    return {
        "span": span,
        "buffer_before": 0 if terms is None else terms.buffer_before,
        "buffer_after": 0 if terms is None else terms.buffer_after,
        "reach": MAX_BUFFER_SECONDS + rules.max_appointment_seconds,
        "buffer_reach": MAX_BUFFER_SECONDS,
    }


def unpack(rows: Iterable[Sequence[Any]]) -> list[SlotRow]:
    return [SlotRow._make(row) for row in rows]


LIVE_HOLDS = """
SELECT COUNT(DISTINCT appointment_id) FROM slots
 WHERE client_id = :client AND status = 'RESERVED' AND held_until > :now
"""
"""The client's held appointments: what --max-holds counts (a reserve's, and a waitlist offer's)."""
