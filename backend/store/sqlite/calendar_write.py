"""The write-back calendar in the SQLite store: a provider's calendar set, read and removed, the
writes a ledger write queues (in its transaction), the writer's claims and what each attempt came
to, with the ETag of each event written. Each a function over a connection, run by the writer
inside its transaction (or by a reader). Which write a ledger write asks for is decided by
backend/rules/calendar_writes.py."""

from __future__ import annotations

import secrets
import sqlite3

from backend.rules.calendar_ledger import LedgerWrite
from backend.rules.calendar_writes import WriteAction, planned_write
from backend.store.calendar_write_records import (
    CALENDAR_COLUMNS,
    CLAIMED_COLUMNS,
    EVENT_COLUMNS,
    ClaimedWrite,
    WriteCalendar,
    WriteOutcome,
    claimed_write,
)

_SUPERSEDE = """
DELETE FROM calendar_write_queue
 WHERE provider_id = :provider AND uid = :uid AND status = 'queued'
   AND (leased_until IS NULL OR leased_until <= :now)
"""
"""A new write makes the queued ones of its event moot (each is made from the appointment as it
stands, so only the last counts); one under way finishes first (see _CLAIM)."""

_QUEUE = """
INSERT INTO calendar_write_queue
       (id, provider_id, uid, appointment_id, action, status, created_at, due_at)
VALUES (:id, :provider, :uid, :appointment, :action, 'queued', :now, :now)
"""


def queue(conn: sqlite3.Connection, write: LedgerWrite, uid: str, now: float) -> None:
    """Queue the write one ledger write asks of its provider's write-back calendar, if it asks
    for one and the provider has such a calendar (`uid`: the invitation's)."""
    action = planned_write(write)
    if action is None or not _has_calendar(conn, write.provider_id):
        return
    _queue(conn, write.provider_id, uid, write.appointment_id, action, now)


def _has_calendar(conn: sqlite3.Connection, provider_id: str) -> bool:
    found = conn.execute("SELECT 1 FROM calendar_writes WHERE provider_id = ?", [provider_id])
    return found.fetchone() is not None


def _queue(
    conn: sqlite3.Connection,
    provider_id: str,
    uid: str,
    appointment_id: str,
    action: WriteAction,
    now: float,
) -> None:
    names = {"provider": provider_id, "uid": uid, "now": now}
    conn.execute(_SUPERSEDE, names)
    conn.execute(
        _QUEUE,
        {**names, "id": secrets.token_hex(12), "appointment": appointment_id, "action": action},
    )


# --- the provider's calendar -----------------------------------------------------------------

_BOOKED_AHEAD = """
SELECT coalesce(invite_uid, uid) AS uid, appointment_id FROM calendar_entries
 WHERE provider_id = :provider AND status = 'CONFIRMED' AND ends > :now
"""
"""The provider's bookings not yet over: what a calendar newly set is given."""

_WRITE_AHEAD = (
    """
DELETE FROM calendar_write_queue
 WHERE provider_id = :provider AND status = 'queued'
   AND (leased_until IS NULL OR leased_until <= :now)
   AND uid IN (SELECT uid FROM ("""
    + _BOOKED_AHEAD
    + """))
""",
    """
INSERT INTO calendar_write_queue
       (id, provider_id, uid, appointment_id, action, status, created_at, due_at)
SELECT lower(hex(randomblob(12))), :provider, uid, appointment_id, 'put', 'queued', :now, :now
  FROM ("""
    + _BOOKED_AHEAD
    + """)
""",
)
"""Every booking not yet over queued to be put (the writes queued for them before made moot)."""


def find(conn: sqlite3.Connection, provider_id: str) -> WriteCalendar | None:
    row = conn.execute(
        f"SELECT {CALENDAR_COLUMNS} FROM calendar_writes AS w WHERE w.provider_id = ?",
        [provider_id],
    ).fetchone()
    return None if row is None else WriteCalendar(*row)


def set_calendar(
    conn: sqlite3.Connection,
    provider_id: str,
    url: str,
    username: str | None,
    password_sealed: str | None,
    now: float,
) -> tuple[WriteCalendar, bool]:
    """Set the provider's calendar; whether it is new. Every booking not yet over is queued to be
    written there (again: a calendar set anew is brought up to date, whatever failed before), and
    the other writes waiting out a back-off are due at once, with the login given now. A new
    address starts afresh: no event there is known yet, nor how writing to it goes."""
    before = find(conn, provider_id)
    if before is None:
        conn.execute(
            "INSERT INTO calendar_writes (provider_id, url, username, password_sealed,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [provider_id, url, username, password_sealed, now, now],
        )
    else:
        conn.execute(
            """
            UPDATE calendar_writes
               SET url = :url, username = :username, password_sealed = :sealed,
                   updated_at = :now
             WHERE provider_id = :provider
            """,
            {
                "url": url,
                "username": username,
                "sealed": password_sealed,
                "now": now,
                "provider": provider_id,
            },
        )
    if before is None or before.url != url:
        conn.execute(
            "UPDATE calendar_writes SET last_write_at = NULL, last_success_at = NULL,"
            " last_error = NULL, failures = 0 WHERE provider_id = ?",
            [provider_id],
        )
        conn.execute("DELETE FROM written_events WHERE provider_id = ?", [provider_id])
    for statement in _WRITE_AHEAD:
        conn.execute(statement, {"provider": provider_id, "now": now})
    conn.execute(
        "UPDATE calendar_write_queue SET due_at = ?"
        " WHERE provider_id = ? AND status = 'queued' AND due_at > ?",
        [now, provider_id, now],
    )
    found = find(conn, provider_id)
    assert found is not None
    return found, before is None


def delete_calendar(conn: sqlite3.Connection, provider_id: str) -> WriteCalendar | None:
    """Stop writing to the provider's calendar (what was written there stays): the calendar
    removed, with its queued writes and the ETags kept; None when there was none."""
    before = find(conn, provider_id)
    if before is not None:
        conn.execute("DELETE FROM calendar_write_queue WHERE provider_id = ?", [provider_id])
        conn.execute("DELETE FROM written_events WHERE provider_id = ?", [provider_id])
        conn.execute("DELETE FROM calendar_writes WHERE provider_id = ?", [provider_id])
    return before


# --- the writer's queue -----------------------------------------------------------------------

_CLAIM = """
UPDATE calendar_write_queue SET leased_until = :until
 WHERE id IN (SELECT q.id FROM calendar_write_queue AS q
               WHERE q.status = 'queued' AND q.due_at <= :now
                 AND (q.leased_until IS NULL OR q.leased_until <= :now)
                 AND NOT EXISTS (SELECT 1 FROM calendar_write_queue AS o
                                  WHERE o.provider_id = q.provider_id AND o.uid = q.uid
                                    AND o.status = 'queued'
                                    AND (o.created_at < q.created_at
                                         OR (o.created_at = q.created_at AND o.id < q.id)))
               ORDER BY q.due_at, q.id LIMIT :limit)
RETURNING id
"""
"""Due writes no one holds, only the oldest queued of each event: one event's writes are made
one at a time, in order."""

_CLAIMED = f"""
SELECT {CLAIMED_COLUMNS}
  FROM calendar_write_queue AS q
  JOIN calendar_writes AS w ON w.provider_id = q.provider_id
  LEFT JOIN written_events AS we ON we.provider_id = q.provider_id AND we.uid = q.uid
 WHERE q.id = ?
"""

_EVENT = f"""
SELECT {EVENT_COLUMNS}
  FROM calendar_entries AS e
  LEFT JOIN clients AS c ON c.id = e.client_id
  LEFT JOIN providers AS p ON p.id = e.provider_id
  LEFT JOIN services AS sv ON sv.id = e.service_id
 WHERE (e.uid = :uid OR e.invite_uid = :uid) AND e.provider_id = :provider
 ORDER BY e.created_at DESC, e.sequence DESC LIMIT 1
"""
"""The provider's latest ledger entry of the invitation (a move away and back makes two)."""


def claim(conn: sqlite3.Connection, now: float, limit: int, lease: float) -> list[ClaimedWrite]:
    """Lease up to `limit` due writes for `lease` seconds, each with what it is made from."""
    leased = {"until": now + lease, "now": now, "limit": limit}
    claimed: list[ClaimedWrite] = []
    for (write_id,) in conn.execute(_CLAIM, leased).fetchall():
        row = conn.execute(_CLAIMED, [write_id]).fetchone()
        if row is None:  # pragma: no cover - the calendar goes with its writes
            continue
        entry = conn.execute(_EVENT, {"uid": row[2], "provider": row[1]}).fetchone()
        claimed.append(claimed_write(row, entry))
    return claimed


def record(conn: sqlite3.Connection, write_id: str, outcome: WriteOutcome, now: float) -> None:
    """Write down one attempt: the write done, failed, or queued again (dropped instead when a
    newer write of its event is queued); the event's ETag; the calendar's status, while the
    calendar written to is still the provider's."""
    row = conn.execute(
        """
        UPDATE calendar_write_queue
           SET status = :status, attempts = attempts + 1, last_error = :error,
               due_at = coalesce(:retry_at, due_at), leased_until = NULL,
               done_at = CASE WHEN :status = 'queued' THEN NULL ELSE :now END
         WHERE id = :id
        RETURNING provider_id, uid, created_at
        """,
        {
            "status": outcome.status,
            "error": outcome.error,
            "retry_at": outcome.retry_at,
            "now": now,
            "id": write_id,
        },
    ).fetchone()
    if row is None:  # the calendar was removed meanwhile
        return
    provider_id, uid, created_at = row
    if outcome.status == "queued":
        conn.execute(
            "DELETE FROM calendar_write_queue WHERE id = ? AND EXISTS (SELECT 1 FROM"
            " calendar_write_queue AS o WHERE o.provider_id = ? AND o.uid = ?"
            " AND o.status = 'queued' AND o.id <> ? AND o.created_at >= ?)",
            [write_id, provider_id, uid, write_id, created_at],
        )
    current = conn.execute(
        "SELECT 1 FROM calendar_writes WHERE provider_id = ? AND url = ?",
        [provider_id, outcome.url],
    ).fetchone()
    if current is None:  # another calendar since: this one's outcome says nothing of it
        return
    if outcome.status == "done" and outcome.etag is not None:
        conn.execute(
            "INSERT INTO written_events (provider_id, uid, etag) VALUES (?, ?, ?)"
            " ON CONFLICT (provider_id, uid) DO UPDATE SET etag = excluded.etag",
            [provider_id, uid, outcome.etag],
        )
    elif outcome.status == "done":
        conn.execute(
            "DELETE FROM written_events WHERE provider_id = ? AND uid = ?", [provider_id, uid]
        )
    conn.execute(
        """
        UPDATE calendar_writes
           SET last_write_at = :now,
               last_success_at = CASE WHEN :failed THEN last_success_at ELSE :now END,
               last_error = :error,
               failures = CASE WHEN :failed THEN failures + 1 ELSE 0 END
         WHERE provider_id = :provider
        """,
        {
            "now": now,
            "failed": outcome.status != "done",
            "error": outcome.error,
            "provider": provider_id,
        },
    )


def purge(conn: sqlite3.Connection, before: float) -> None:
    """Forget writes done or failed before `before`."""
    conn.execute(
        "DELETE FROM calendar_write_queue WHERE status != 'queued' AND created_at < ?", [before]
    )
