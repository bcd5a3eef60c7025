"""A provider's own calendars in the SQLite store: the sources busy times are read from, what
each refresh of one came to (its busy intervals replaced whole, in pieces of at most an hour), and
the intervals a time range holds. Each a function over a connection, run by the writer inside
its transaction (or by a reader)."""

from __future__ import annotations

import sqlite3
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

_LOG_EVENT = (
    f"INSERT INTO changes ({EVENT_COLUMNS})"
    f" VALUES ({', '.join('?' for _ in EVENT_COLUMNS.split(','))})"
)
"""An event's row of the change log (backend/store/busy_events.py)."""


def create(conn: sqlite3.Connection, source: BusySource, most: int | None = None) -> BusySource:
    """Add the source; TooManyBusySources when its provider has `most` already."""
    if most is not None:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM busy_sources WHERE provider_id = ?", [source.provider_id]
        ).fetchone()
        if count >= most:
            raise TooManyBusySources.of(source.provider_id, most)
    placeholders = ", ".join("?" for _ in SOURCE_COLUMNS.split(","))
    conn.execute(
        f"INSERT INTO busy_sources ({SOURCE_COLUMNS}) VALUES ({placeholders})", astuple(source)
    )
    return source


def find(conn: sqlite3.Connection, source_id: str) -> BusySource | None:
    row = conn.execute(
        f"SELECT {SOURCE_COLUMNS} FROM busy_sources WHERE id = ?", [source_id]
    ).fetchone()
    return None if row is None else BusySource(*row)


def of_provider(conn: sqlite3.Connection, provider_id: str) -> list[BusySource]:
    rows = conn.execute(
        f"SELECT {SOURCE_COLUMNS} FROM busy_sources WHERE provider_id = ? ORDER BY created_at, id",
        [provider_id],
    )
    return [BusySource(*row) for row in rows]


def record_refresh(
    conn: sqlite3.Connection, source_id: str, refreshed: Refreshed, now: float
) -> BusySource | None:
    """Write down one refresh: a success replaces the source's busy intervals whole; a failure
    keeps the last good ones in force and counts itself. The events it raises (conflicts that
    arose, the source becoming failing) are logged with it. None when the source is gone."""
    source = find(conn, source_id)
    if source is None:
        return None
    if refreshed.read_by is not None and refreshed.read_by != read_by(source):
        conn.execute("UPDATE busy_sources SET leased_until = NULL WHERE id = ?", [source_id])
        return find(conn, source_id)
    failed = refreshed.error is not None
    intervals = None if failed else refreshed.intervals
    before = [] if intervals is None else conflicts(conn, source.provider_id, now)
    if intervals is not None:
        conn.execute("DELETE FROM busy_intervals WHERE source_id = ?", [source_id])
        conn.executemany(
            "INSERT INTO busy_intervals (source_id, provider_id, start, ends) VALUES (?, ?, ?, ?)",
            [
                (source_id, source.provider_id, start, ends)
                for whole_start, whole_ends in intervals
                for start, ends in pieces(whole_start, whole_ends)
            ],
        )
    count = None if intervals is None else len(intervals)
    conn.execute(
        """
        UPDATE busy_sources
           SET last_sync_at = :now,
               last_success_at = CASE WHEN :failed THEN last_success_at ELSE :now END,
               last_error = :error,
               events = coalesce(:events, events),
               busy_intervals = coalesce(:count, busy_intervals),
               failures = CASE WHEN :failed THEN failures + 1 ELSE 0 END,
               etag = CASE WHEN :failed THEN etag ELSE :etag END,
               last_modified = CASE WHEN :failed THEN last_modified ELSE :last_modified END,
               due_at = :next_due, leased_until = NULL
         WHERE id = :id
        """,
        {
            "now": now,
            "failed": failed,
            "error": refreshed.error,
            "events": refreshed.events,
            "count": count,
            "etag": refreshed.etag,
            "last_modified": refreshed.last_modified,
            "next_due": refreshed.next_due,
            "id": source_id,
        },
    )
    recorded = find(conn, source_id)
    if recorded is None:  # pragma: no cover - found above, in this transaction
        return None
    raised = became_failing(source, recorded, now)
    if intervals is not None:
        raised += arisen(source.provider_id, before, conflicts(conn, source.provider_id, now))
    conn.executemany(_LOG_EVENT, [event.values(now) for event in raised])
    return recorded


def update(
    conn: sqlite3.Connection, source_id: str, changes: dict[str, object], now: float
) -> BusySource | None:
    """Change the source's settings (columns by name); its busy intervals stay until the next
    refresh replaces them, which a change to what a refresh reads makes due at once. None when
    the source is gone."""
    source = find(conn, source_id)
    if source is None:
        return None
    values = update_values(source, changes, now)
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    conn.execute(
        f"UPDATE busy_sources SET {assignments} WHERE id = :source_id",
        {**values, "source_id": source_id},
    )
    return find(conn, source_id)


def delete(conn: sqlite3.Connection, source_id: str, provider_id: str | None = None) -> BusySource:
    """Remove the source (the provider's, when one is named) and its busy intervals; the source
    as it was, or BusySourceNotFound."""
    source = find(conn, source_id)
    if source is None or (provider_id is not None and source.provider_id != provider_id):
        raise BusySourceNotFound.of(source_id)
    conn.execute("DELETE FROM busy_intervals WHERE source_id = ?", [source_id])
    conn.execute("DELETE FROM busy_sources WHERE id = ?", [source_id])
    return source


def intervals(
    conn: sqlite3.Connection, provider_id: str, start: float, end: float
) -> list[StoredBusy]:
    """The provider's busy intervals (as stored, in pieces) that overlap [start, end)."""
    rows = conn.execute(
        "SELECT source_id, start, ends FROM busy_intervals"
        " WHERE provider_id = ? AND start > ? AND start < ? AND ends > ? ORDER BY start",
        [provider_id, start - MAX_PIECE, end, start],
    )
    return [StoredBusy(*row) for row in rows]


def claim(
    conn: sqlite3.Connection, now: float, limit: int, lease: float, only: str | None = None
) -> list[BusySource]:
    """Lease up to `limit` sources whose refresh is due (or the one source `only` names, due or
    not), none another refresher holds, for `lease` seconds, soonest due first."""
    which = "due_at <= :now" if only is None else "id = :only"
    rows = conn.execute(
        f"""
        UPDATE busy_sources SET leased_until = :until
         WHERE id IN (SELECT id FROM busy_sources
                       WHERE {which} AND (leased_until IS NULL OR leased_until <= :now)
                       ORDER BY due_at, id LIMIT :limit)
        RETURNING {SOURCE_COLUMNS}
        """,
        {"until": now + lease, "now": now, "limit": limit, "only": only},
    )
    return sorted((BusySource(*row) for row in rows), key=lambda s: (s.due_at, s.source_id))


_CONFLICTS = CONFLICTS.format(piece=MAX_PIECE, provider=":provider", now=":now")


def conflicts(conn: sqlite3.Connection, provider_id: str, now: float) -> list[Conflict]:
    """The provider's live holds and bookings that a busy interval overlaps."""
    rows = conn.execute(_CONFLICTS, {"provider": provider_id, "now": now})
    return [Conflict(*row) for row in rows]
