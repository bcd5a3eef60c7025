"""The write-back calendar in the PostgreSQL store (as the SQLite store's
backend/store/sqlite/calendar_write.py): a provider's calendar set, read and removed, the writes
a ledger write queues (in its transaction), the writers' claims (several processes may claim:
each skips the rows another holds) and what each attempt came to, with the ETag of each event
written. Each a coroutine over a connection, run inside the caller's transaction."""

from __future__ import annotations

import secrets

from backend.rules.calendar_ledger import LedgerWrite
from backend.rules.calendar_writes import planned_write
from backend.store.calendar_write_records import (
    CALENDAR_COLUMNS,
    CLAIMED_COLUMNS,
    EVENT_COLUMNS,
    ClaimedWrite,
    WriteCalendar,
    WriteOutcome,
    claimed_write,
)
from backend.store.postgres.schema import Connection

_SUPERSEDE = """
DELETE FROM calendar_write_queue
 WHERE provider_id = $1 AND uid = $2 AND status = 'queued'
   AND (leased_until IS NULL OR leased_until <= $3)
"""
"""A new write makes the queued ones of its event moot (each is made from the appointment as it
stands, so only the last counts); one under way finishes first (see _CLAIM)."""

_QUEUE = """
INSERT INTO calendar_write_queue
       (id, provider_id, uid, appointment_id, action, status, created_at, due_at)
VALUES ($4, $1, $2, $5, $6, 'queued', $3, $3)
"""

LEAN_CONFIRM_QUEUES = """
INSERT INTO calendar_write_queue
       (id, provider_id, uid, appointment_id, action, status, created_at, due_at)
SELECT substr(md5(random()::text || clock_timestamp()::text || b.id), 1, 24), b.provider_id,
       coalesce(e.invite_uid, e.uid), b.id, 'put', 'queued', {now}, {now}
  FROM booked AS b
  JOIN calendar_writes AS w ON w.provider_id = b.provider_id
  JOIN calendar_entries AS e ON e.appointment_id = b.id AND e.status <> 'CANCELLED'
"""
"""For the lean confirm (a one-slot hold confirmed in one statement, its slot `booked`): the put
its provider's write-back calendar is given, in the same statement. A hold queued no write, so
none is made moot."""


async def queue(conn: Connection, write: LedgerWrite, uid: str, now: float) -> None:
    """Queue the write one ledger write asks of its provider's write-back calendar, if it asks
    for one and the provider has such a calendar (`uid`: the invitation's)."""
    action = planned_write(write)
    if action is None:
        return
    if await conn.fetchval(
        "SELECT 1 FROM calendar_writes WHERE provider_id = $1", write.provider_id
    ):
        await conn.execute(_SUPERSEDE, write.provider_id, uid, now)
        await conn.execute(
            _QUEUE, write.provider_id, uid, now, secrets.token_hex(12), write.appointment_id,
            action,
        )  # fmt: skip


# --- the provider's calendar -----------------------------------------------------------------

_BOOKED_AHEAD = """
SELECT coalesce(invite_uid, uid) AS uid, appointment_id FROM calendar_entries
 WHERE provider_id = $1 AND status = 'CONFIRMED' AND ends > $2
"""
"""The provider's bookings not yet over: what a calendar newly set is given."""

_WRITE_AHEAD = (
    """
DELETE FROM calendar_write_queue
 WHERE provider_id = $1 AND status = 'queued'
   AND (leased_until IS NULL OR leased_until <= $2)
   AND uid IN (SELECT uid FROM ("""
    + _BOOKED_AHEAD
    + """) AS ahead)
""",
    """
INSERT INTO calendar_write_queue
       (id, provider_id, uid, appointment_id, action, status, created_at, due_at)
SELECT substr(md5(random()::text || clock_timestamp()::text || appointment_id), 1, 24), $1, uid,
       appointment_id, 'put', 'queued', $2, $2
  FROM ("""
    + _BOOKED_AHEAD
    + """) AS ahead
""",
)
"""Every booking not yet over queued to be put (the writes queued for them before made moot)."""


async def find(conn: Connection, provider_id: str, *, lock: bool = False) -> WriteCalendar | None:
    row = await conn.fetchrow(
        f"SELECT {CALENDAR_COLUMNS} FROM calendar_writes AS w WHERE w.provider_id = $1"
        + (" FOR UPDATE OF w" if lock else ""),
        provider_id,
    )
    return None if row is None else WriteCalendar(*row)


async def set_calendar(
    conn: Connection,
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
    made = await conn.fetchval(
        "INSERT INTO calendar_writes (provider_id, url, username, password_sealed, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (provider_id) DO NOTHING"
        " RETURNING true",
        provider_id, url, username, password_sealed, now,
    )  # fmt: skip
    before = None if made else await find(conn, provider_id, lock=True)
    if before is not None:
        await conn.execute(
            "UPDATE calendar_writes SET url = $2, username = $3, password_sealed = $4,"
            " updated_at = $5 WHERE provider_id = $1",
            provider_id, url, username, password_sealed, now,
        )  # fmt: skip
    if before is None or before.url != url:
        await conn.execute(
            "UPDATE calendar_writes SET last_write_at = NULL, last_success_at = NULL,"
            " last_error = NULL, failures = 0 WHERE provider_id = $1",
            provider_id,
        )
        await conn.execute("DELETE FROM written_events WHERE provider_id = $1", provider_id)
    for statement in _WRITE_AHEAD:
        await conn.execute(statement, provider_id, now)
    await conn.execute(
        "UPDATE calendar_write_queue SET due_at = $2"
        " WHERE provider_id = $1 AND status = 'queued' AND due_at > $2",
        provider_id, now,
    )  # fmt: skip
    found = await find(conn, provider_id)
    assert found is not None
    return found, before is None


async def delete_calendar(conn: Connection, provider_id: str) -> WriteCalendar | None:
    """Stop writing to the provider's calendar (what was written there stays): the calendar
    removed, with its queued writes and the ETags kept; None when there was none."""
    before = await find(conn, provider_id, lock=True)
    if before is not None:
        await conn.execute("DELETE FROM calendar_write_queue WHERE provider_id = $1", provider_id)
        await conn.execute("DELETE FROM written_events WHERE provider_id = $1", provider_id)
        await conn.execute("DELETE FROM calendar_writes WHERE provider_id = $1", provider_id)
    return before


# --- the writers' queue -----------------------------------------------------------------------

_CLAIM = """
UPDATE calendar_write_queue SET leased_until = $1
 WHERE id IN (SELECT q.id FROM calendar_write_queue AS q
               WHERE q.status = 'queued' AND q.due_at <= $2
                 AND (q.leased_until IS NULL OR q.leased_until <= $2)
                 AND NOT EXISTS (SELECT FROM calendar_write_queue AS o
                                  WHERE o.provider_id = q.provider_id AND o.uid = q.uid
                                    AND o.status = 'queued'
                                    AND (o.created_at, o.id) < (q.created_at, q.id))
               ORDER BY q.due_at, q.id LIMIT $3
               FOR UPDATE SKIP LOCKED)
RETURNING id
"""
"""Due writes no one holds, only the oldest queued of each event: one event's writes are made
one at a time, in order, whichever process makes them."""

_CLAIMED = f"""
SELECT {CLAIMED_COLUMNS}
  FROM calendar_write_queue AS q
  JOIN calendar_writes AS w ON w.provider_id = q.provider_id
  LEFT JOIN written_events AS we ON we.provider_id = q.provider_id AND we.uid = q.uid
 WHERE q.id = ANY($1::text[])
"""

_EVENT = f"""
SELECT {EVENT_COLUMNS}
  FROM calendar_entries AS e
  LEFT JOIN clients AS c ON c.id = e.client_id
  LEFT JOIN providers AS p ON p.id = e.provider_id
  LEFT JOIN services AS sv ON sv.id = e.service_id
 WHERE (e.uid = $1 OR e.invite_uid = $1) AND e.provider_id = $2
 ORDER BY e.created_at DESC, e.sequence DESC LIMIT 1
"""
"""The provider's latest ledger entry of the invitation (a move away and back makes two)."""


async def claim(conn: Connection, now: float, limit: int, lease: float) -> list[ClaimedWrite]:
    """Lease up to `limit` due writes for `lease` seconds, each with what it is made from."""
    ids = [row[0] for row in await conn.fetch(_CLAIM, now + lease, now, limit)]
    if not ids:
        return []
    claimed: list[ClaimedWrite] = []
    for row in await conn.fetch(_CLAIMED, ids):
        entry = await conn.fetchrow(_EVENT, row[2], row[1])
        claimed.append(claimed_write(row, entry))
    return claimed


async def record(conn: Connection, write_id: str, outcome: WriteOutcome, now: float) -> None:
    """Write down one attempt: the write done, failed, or queued again (dropped instead when a
    newer write of its event is queued); the event's ETag; the calendar's status, while the
    calendar written to is still the provider's."""
    row = await conn.fetchrow(
        """
        UPDATE calendar_write_queue
           SET status = $1, attempts = attempts + 1, last_error = $2,
               due_at = coalesce($3::float8, due_at), leased_until = NULL,
               done_at = CASE WHEN $1 = 'queued' THEN NULL ELSE $4::float8 END
         WHERE id = $5
        RETURNING provider_id, uid, created_at
        """,
        outcome.status, outcome.error, outcome.retry_at, now, write_id,
    )  # fmt: skip
    if row is None:  # the calendar was removed meanwhile
        return
    provider_id, uid, created_at = row[0], row[1], row[2]
    if outcome.status == "queued":
        await conn.execute(
            "DELETE FROM calendar_write_queue WHERE id = $1 AND EXISTS (SELECT FROM"
            " calendar_write_queue AS o WHERE o.provider_id = $2 AND o.uid = $3"
            " AND o.status = 'queued' AND o.id <> $1 AND o.created_at >= $4)",
            write_id, provider_id, uid, created_at,
        )  # fmt: skip
    current = await conn.fetchval(
        "SELECT 1 FROM calendar_writes WHERE provider_id = $1 AND url = $2 FOR UPDATE",
        provider_id,
        outcome.url,
    )
    if current is None:  # another calendar since: this one's outcome says nothing of it
        return
    if outcome.status == "done" and outcome.etag is not None:
        await conn.execute(
            "INSERT INTO written_events (provider_id, uid, etag) VALUES ($1, $2, $3)"
            " ON CONFLICT (provider_id, uid) DO UPDATE SET etag = excluded.etag",
            provider_id, uid, outcome.etag,
        )  # fmt: skip
    elif outcome.status == "done":
        await conn.execute(
            "DELETE FROM written_events WHERE provider_id = $1 AND uid = $2", provider_id, uid
        )
    failed = outcome.status != "done"
    await conn.execute(
        """
        UPDATE calendar_writes
           SET last_write_at = $2,
               last_success_at = CASE WHEN $3 THEN last_success_at ELSE $2 END,
               last_error = $4,
               failures = CASE WHEN $3 THEN failures + 1 ELSE 0 END
         WHERE provider_id = $1
        """,
        provider_id, now, failed, outcome.error,
    )  # fmt: skip


async def purge(conn: Connection, before: float) -> None:
    """Forget writes done or failed before `before`."""
    await conn.execute(
        "DELETE FROM calendar_write_queue WHERE status <> 'queued' AND created_at < $1", before
    )
