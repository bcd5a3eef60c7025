"""A provider's own calendars in the PostgreSQL store (as the SQLite store's
backend/store/sqlite/busy.py): the sources, what each refresh came to, the intervals a time range
holds. Each a function over a connection, run inside the caller's transaction."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import astuple

from backend.store.busy_events import EVENT_COLUMNS, arisen, became_failing
from backend.store.busy_records import (
    CONFLICTS,
    MAX_PIECE,
    SOURCE_COLUMNS,
    BusySource,
    BusySourceNotFound,
    Conflict,
    Refreshed,
    StoredBusy,
    TooManyBusySources,
    pieces,
    read_by,
    update_values,
)
from backend.store.postgres.schema import Connection

_FIELDS = len(SOURCE_COLUMNS.split(","))

_LOG_EVENT = (
    f"INSERT INTO pending_changes ({EVENT_COLUMNS})"
    f" VALUES ({', '.join(f'${n}' for n in range(1, len(EVENT_COLUMNS.split(',')) + 1))})"
)
"""An event's row of the change log, numbered by the next sequencer round
(backend/store/busy_events.py)."""


async def create(conn: Connection, source: BusySource, most: int | None = None) -> BusySource:
    """Add the source; TooManyBusySources when its provider has `most` already (the caller holds
    the provider's lock, so two at once cannot both pass the count)."""
    if most is not None:
        count = await conn.fetchval(
            "SELECT COUNT(*) FROM busy_sources WHERE provider_id = $1", source.provider_id
        )
        if count >= most:
            raise TooManyBusySources.of(source.provider_id, most)
    placeholders = ", ".join(f"${n}" for n in range(1, _FIELDS + 1))
    await conn.execute(
        f"INSERT INTO busy_sources ({SOURCE_COLUMNS}) VALUES ({placeholders})", *astuple(source)
    )
    return source


async def find(conn: Connection, source_id: str, *, lock: bool = False) -> BusySource | None:
    row = await conn.fetchrow(
        f"SELECT {SOURCE_COLUMNS} FROM busy_sources WHERE id = $1"
        + (" FOR UPDATE" if lock else ""),
        source_id,
    )
    return None if row is None else BusySource(*row)


async def of_provider(conn: Connection, provider_id: str) -> list[BusySource]:
    rows = await conn.fetch(
        f"SELECT {SOURCE_COLUMNS} FROM busy_sources WHERE provider_id = $1 ORDER BY created_at, id",
        provider_id,
    )
    return [BusySource(*row) for row in rows]


async def record_refresh(
    conn: Connection,
    source_id: str,
    refreshed: Refreshed,
    now: float,
    lock_provider: Callable[[Connection, str], Awaitable[None]],
) -> tuple[BusySource | None, bool, list[tuple[int, int]]]:
    """Write down one refresh: a success replaces the source's busy intervals whole (under the
    provider's lock, which reserves and moves take too, so that the conflicts it finds before
    and after are exact); a failure keeps the last good ones in force and counts itself. The
    events it raises (conflicts that arose, the source becoming failing) are logged with it.
    The source (None when it is gone), whether events were logged, and the busy intervals the
    refresh replaced (the time it may have freed)."""
    source = await find(conn, source_id, lock=True)
    if source is None:
        return None, False, []
    if refreshed.read_by is not None and refreshed.read_by != read_by(source):
        await conn.execute("UPDATE busy_sources SET leased_until = NULL WHERE id = $1", source_id)
        return await find(conn, source_id), False, []
    failed = refreshed.error is not None
    intervals = None if failed else refreshed.intervals
    before: list[Conflict] = []
    gone: list[tuple[int, int]] = []
    if intervals is not None:
        await lock_provider(conn, source.provider_id)
        before = await conflicts(conn, source.provider_id, now)
        gone = await _delete_intervals(conn, source_id)
        await conn.executemany(
            "INSERT INTO busy_intervals (source_id, provider_id, start, ends)"
            " VALUES ($1, $2, $3, $4)",
            [
                (source_id, source.provider_id, start, ends)
                for whole_start, whole_ends in intervals
                for start, ends in pieces(whole_start, whole_ends)
            ],
        )
    count = None if intervals is None else len(intervals)
    await conn.execute(
        """
        UPDATE busy_sources
           SET last_sync_at = $1,
               last_success_at = CASE WHEN $2 THEN last_success_at ELSE $1 END,
               last_error = $3,
               events = coalesce($4, events),
               busy_intervals = coalesce($5::int, busy_intervals),
               failures = CASE WHEN $2 THEN failures + 1 ELSE 0 END,
               etag = CASE WHEN $2 THEN etag ELSE $6 END,
               last_modified = CASE WHEN $2 THEN last_modified ELSE $7 END,
               due_at = $8, leased_until = NULL
         WHERE id = $9
        """,
        now, failed, refreshed.error, refreshed.events, count, refreshed.etag,
        refreshed.last_modified, refreshed.next_due, source_id,
    )  # fmt: skip
    recorded = await find(conn, source_id)
    if recorded is None:  # pragma: no cover - locked above, in this transaction
        return None, False, gone
    raised = became_failing(source, recorded, now)
    if intervals is not None:
        raised += arisen(source.provider_id, before, await conflicts(conn, source.provider_id, now))
    if raised:
        await conn.executemany(_LOG_EVENT, [event.values(now) for event in raised])
    return recorded, bool(raised), gone


async def _delete_intervals(conn: Connection, source_id: str) -> list[tuple[int, int]]:
    """Delete the source's busy intervals; those it had."""
    rows = await conn.fetch(
        "DELETE FROM busy_intervals WHERE source_id = $1 RETURNING start, ends", source_id
    )
    return [(int(row[0]), int(row[1])) for row in rows]


async def update(
    conn: Connection, source_id: str, changes: dict[str, object], now: float
) -> BusySource | None:
    """Change the source's settings (columns by name); its busy intervals stay until the next
    refresh replaces them, which a change to what a refresh reads makes due at once. None when
    the source is gone."""
    source = await find(conn, source_id, lock=True)
    if source is None:
        return None
    values = update_values(source, changes, now)
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(values, start=2))
    await conn.execute(
        f"UPDATE busy_sources SET {assignments} WHERE id = $1", source_id, *values.values()
    )
    return await find(conn, source_id)


async def delete(
    conn: Connection,
    source_id: str,
    provider_id: str | None,
    lock_provider: Callable[[Connection, str], Awaitable[None]],
) -> tuple[BusySource, list[tuple[int, int]]]:
    """Remove the source (the provider's, when one is named) and its busy intervals, under the
    provider's lock as a refresh replaces them; the source as it was and the intervals it had
    (the time it frees), or BusySourceNotFound."""
    source = await find(conn, source_id, lock=True)
    if source is None or (provider_id is not None and source.provider_id != provider_id):
        raise BusySourceNotFound.of(source_id)
    await lock_provider(conn, source.provider_id)
    gone = await _delete_intervals(conn, source_id)
    await conn.execute("DELETE FROM busy_sources WHERE id = $1", source_id)
    return source, gone


async def intervals(
    conn: Connection, provider_id: str, start: float, end: float
) -> list[StoredBusy]:
    """The provider's busy intervals (as stored, in pieces) that overlap [start, end)."""
    rows = await conn.fetch(
        "SELECT source_id, start, ends FROM busy_intervals"
        " WHERE provider_id = $1 AND start > $2 AND start < $3 AND ends > $4 ORDER BY start",
        provider_id, math.floor(start) - MAX_PIECE, math.ceil(end), math.floor(start),
    )  # fmt: skip
    return [StoredBusy(row[0], int(row[1]), int(row[2])) for row in rows]


async def claim(
    conn: Connection, now: float, limit: int, lease: float, only: str | None = None
) -> list[BusySource]:
    """Lease up to `limit` sources whose refresh is due (or the one source `only` names, due or
    not) for `lease` seconds, skipping those another process is leasing at this moment (so each
    refresh runs in one process)."""
    rows = await conn.fetch(
        f"""
        UPDATE busy_sources SET leased_until = $1
         WHERE id IN (SELECT id FROM busy_sources
                       WHERE (CASE WHEN $4::text IS NULL THEN due_at <= $2 ELSE id = $4 END)
                         AND (leased_until IS NULL OR leased_until <= $2)
                       ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING {SOURCE_COLUMNS}
        """,
        now + lease, now, limit, only,
    )  # fmt: skip
    return sorted((BusySource(*row) for row in rows), key=lambda s: (s.due_at, s.source_id))


_CONFLICTS = CONFLICTS.format(piece=MAX_PIECE, provider="$1", now="$2")


async def conflicts(conn: Connection, provider_id: str, now: float) -> list[Conflict]:
    """The provider's live holds and bookings that a busy interval overlaps."""
    rows = await conn.fetch(_CONFLICTS, provider_id, now)
    return [Conflict(*row) for row in rows]
