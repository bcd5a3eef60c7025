"""E-mail in the PostgreSQL store: the calendar ledger's writes with the notices they queue, the
parties' addresses, the mail sender's queue (several processes may claim from it: each claim skips
the rows another holds) and the manage links. Each a coroutine over a connection, run inside the
operation's transaction. Whom a write tells is decided by backend/rules/notices.py; what it asks of
the provider's write-back calendar is queued beside its notices (calendar_write.py)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from backend.rules.booking import Rules
from backend.rules.calendar_ledger import LedgerWrite
from backend.rules.notices import Addresses, Notice, NoticeStatus, plan_notices
from backend.store.mail_records import (
    MANAGED_COLUMNS,
    NOTIFICATION_COLUMNS,
    OUTGOING_COLUMNS,
    ManagedAppointment,
    NotificationFilter,
    Outgoing,
    PartyDetails,
    StoredNotification,
    Unchanged,
    hash_secret,
    outgoing,
)
from backend.store.postgres import calendar_write
from backend.store.postgres.schema import Connection

_LEDGER_OPEN = """
INSERT INTO calendar_entries
       (uid, appointment_id, provider_id, client_id, start, ends, status, held_until, note,
        sequence, created_at, updated_at, service_id, invite_uid)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13)
"""

_LEDGER_UPDATE = """
UPDATE calendar_entries
   SET appointment_id = $2, provider_id = $3, start = $4, ends = $5, status = $6,
       held_until = $7, note = $8, sequence = sequence + 1, updated_at = $9, service_id = $10
 WHERE appointment_id = $1 AND status <> 'CANCELLED'
 RETURNING coalesce(invite_uid, uid), sequence
"""

_ADDRESS = {
    "client": "SELECT email FROM clients WHERE id = $1",
    "provider": "SELECT email FROM providers WHERE id = $1",
}

_QUEUE = """
INSERT INTO notifications
       (id, kind, role, party_id, recipient, uid, sequence, appointment_id, provider_id,
        client_id, service_id, start, ends, reminder_before, manage_secret, status, created_at,
        due_at, held_until)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'queued', $16, $17,
        $18)
"""


async def write_ledger(
    conn: Connection, writes: Sequence[LedgerWrite], now: float, rules: Rules | None
) -> None:
    """Run one operation's ledger writes, and queue the notices of those that tell something
    (`rules` says when reminders are due; None for writes that can tell nobody) and the writes
    they ask of the provider's write-back calendar."""
    carried: dict[str, tuple[str, int]] = {}  # appointment id left -> its invitation, as left
    for w in writes:
        if w.find is None:
            uid = secrets.token_hex(16)
            invite, sequence = carried.get(w.follows or "", (uid, 0))
            await conn.execute(
                _LEDGER_OPEN, uid, w.appointment_id, w.provider_id, w.client_id, w.start, w.ends,
                w.status, w.held_until, w.note, sequence, now, w.service_id,
                None if invite == uid else invite,
            )  # fmt: skip
        else:
            row = await conn.fetchrow(
                _LEDGER_UPDATE, w.find, w.appointment_id, w.provider_id, w.start, w.ends,
                w.status, w.held_until, w.note, now, w.service_id,
            )  # fmt: skip
            if row is None:
                continue
            invite, sequence = row[0], row[1]
            if w.tells == "moved-away":
                carried[w.appointment_id] = (invite, sequence)
        await calendar_write.queue(conn, w, invite, now)
        if w.tells is not None:
            assert rules is not None, f"a write that tells someone: {w.tells}"
            await _queue(conn, w, invite, sequence, now, rules)


async def _queue(
    conn: Connection, write: LedgerWrite, uid: str, sequence: int, now: float, rules: Rules
) -> None:
    addresses = Addresses(
        client=await conn.fetchval(_ADDRESS["client"], write.client_id),
        provider=await conn.fetchval(_ADDRESS["provider"], write.provider_id),
    )
    planned = plan_notices(
        write,
        uid=uid,
        sequence=sequence,
        addresses=addresses,
        now=now,
        reminders=rules.reminder_seconds,
    )
    if planned.drop_reminders:
        await conn.execute(
            "DELETE FROM notifications WHERE uid = $1 AND status = 'queued' AND kind = 'reminder'",
            uid,
        )
    if not planned.queue:
        return
    secret = await _manage_secret(conn, planned.queue, uid, write.client_id, now)
    await conn.executemany(_QUEUE, [_values(notice, secret, now) for notice in planned.queue])


async def queue_notice(conn: Connection, notice: Notice, secret: str | None, now: float) -> None:
    """Queue one notice that carries `secret` (a link's, kept until the letter is sent)."""
    await conn.execute(_QUEUE, *_values(notice, secret, now))


async def _manage_secret(
    conn: Connection, queue: Sequence[Notice], uid: str, client_id: str, now: float
) -> str | None:
    """A new manage link for the client's messages among these (None when there are none): its
    secret kept in the queue until they are sent, its hash for as long as the link works."""
    if not any(notice.role == "client" and notice.kind != "cancellation" for notice in queue):
        return None
    secret = secrets.token_urlsafe(24)
    await conn.execute(
        "INSERT INTO manage_links (secret_hash, uid, client_id, created_at)"
        " VALUES ($1, $2, $3, $4)",
        hash_secret(secret), uid, client_id, now,
    )  # fmt: skip
    return secret


def _values(notice: Notice, secret: str | None, now: float) -> list[Any]:
    n = notice
    carries = n.role == "client" and n.kind != "cancellation"
    return [
        secrets.token_hex(12), n.kind, n.role, n.party_id, n.recipient, n.uid, n.sequence,
        n.appointment_id, n.provider_id, n.client_id, n.service_id, n.start, n.ends,
        n.reminder_before, secret if carries else None, now, n.due_at, n.held_until,
    ]  # fmt: skip


# --- the parties' details -------------------------------------------------------------------

_PARTY_TABLE = {"client": "clients", "provider": "providers"}


async def details(conn: Connection, role: str, party_id: str) -> PartyDetails | None:
    row = await conn.fetchrow(
        f"SELECT name, email, time_zone FROM {_PARTY_TABLE[role]} WHERE id = $1", party_id
    )
    return None if row is None else PartyDetails(role, party_id, row[0], row[1], row[2])


async def set_details(
    conn: Connection,
    role: str,
    party_id: str,
    email: str | Unchanged | None,
    time_zone: str | Unchanged | None,
    now: float,
) -> PartyDetails:
    table = _PARTY_TABLE[role]
    await conn.execute(
        f"INSERT INTO {table} (id, name, created_at) VALUES ($1, $1, $2)"
        " ON CONFLICT (id) DO NOTHING",
        party_id, now,
    )  # fmt: skip
    if not isinstance(email, Unchanged):
        await conn.execute(f"UPDATE {table} SET email = $1 WHERE id = $2", email, party_id)
    if not isinstance(time_zone, Unchanged):
        await conn.execute(f"UPDATE {table} SET time_zone = $1 WHERE id = $2", time_zone, party_id)
    found = await details(conn, role, party_id)
    assert found is not None
    return found


# --- the sender's queue ---------------------------------------------------------------------

_CLAIM = """
UPDATE notifications SET leased_until = $1
 WHERE id IN (SELECT id FROM notifications
               WHERE status = 'queued' AND due_at <= $2
                 AND (leased_until IS NULL OR leased_until <= $2)
               ORDER BY due_at, id LIMIT $3
               FOR UPDATE SKIP LOCKED)
RETURNING id
"""

_OUTGOING = f"""
SELECT {OUTGOING_COLUMNS}
  FROM notifications AS n
  LEFT JOIN providers AS p ON p.id = n.provider_id
  LEFT JOIN clients AS c ON c.id = n.client_id
  LEFT JOIN services AS sv ON sv.id = n.service_id
  LEFT JOIN schedules AS sc ON sc.provider_id = n.provider_id
 WHERE n.id = ANY($1::text[])
 ORDER BY n.due_at, n.id
"""


async def claim(conn: Connection, now: float, limit: int, lease: float) -> list[Outgoing]:
    """Lease up to `limit` due notifications (none another sender holds) for `lease` seconds,
    with what their letters are written from."""
    ids = [row[0] for row in await conn.fetch(_CLAIM, now + lease, now, limit)]
    if not ids:
        return []
    return [outgoing(list(row.values())) for row in await conn.fetch(_OUTGOING, ids)]


async def record(
    conn: Connection,
    notification_id: str,
    *,
    status: NoticeStatus,
    error: str | None,
    now: float,
    retry_at: float | None,
) -> None:
    """What one attempt came to: `sent`, `failed`, or `queued` again until `retry_at`."""
    await conn.execute(
        """
        UPDATE notifications
           SET status = $1, attempts = attempts + 1, last_error = $2,
               sent_at = CASE WHEN $1 = 'sent' THEN $3::float8 END,
               due_at = coalesce($4::float8, due_at), leased_until = NULL,
               manage_secret = CASE WHEN $1 = 'queued' THEN manage_secret END
         WHERE id = $5
        """,
        status, error, now, retry_at, notification_id,
    )  # fmt: skip


async def listed(conn: Connection, query: NotificationFilter) -> list[StoredNotification]:
    where = ["true"]
    params: list[Any] = []
    for column, value in query.conditions():
        params.append(value)
        where.append(f"n.{column} = ${len(params)}")
    params.append(query.limit)
    sql = (
        f"SELECT {NOTIFICATION_COLUMNS} FROM notifications AS n WHERE {' AND '.join(where)}"
        f" ORDER BY n.created_at DESC, n.due_at DESC, n.id LIMIT ${len(params)}"
    )
    return [StoredNotification(*row) for row in await conn.fetch(sql, *params)]


async def counts(conn: Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT status, COUNT(*) FROM notifications GROUP BY status")
    return {str(row[0]): int(row[1]) for row in rows}


async def managed(conn: Connection, secret: str) -> ManagedAppointment | None:
    """The appointment a manage link's secret opens, as its invitation stands now."""
    row = await conn.fetchrow(
        f"""
        SELECT {MANAGED_COLUMNS}
          FROM manage_links AS m
          JOIN calendar_entries AS e ON (e.uid = m.uid OR e.invite_uid = m.uid)
          LEFT JOIN providers AS p ON p.id = e.provider_id
          LEFT JOIN clients AS c ON c.id = e.client_id
          LEFT JOIN services AS sv ON sv.id = e.service_id
          LEFT JOIN schedules AS sc ON sc.provider_id = e.provider_id
         WHERE m.secret_hash = $1 AND e.client_id = m.client_id
         ORDER BY e.created_at DESC, e.sequence DESC LIMIT 1
        """,
        hash_secret(secret),
    )
    return None if row is None else ManagedAppointment(*row)


async def purge(conn: Connection, before: float) -> None:
    """Forget notifications sent or failed before `before`, and the manage links of invitations
    the ledger no longer keeps."""
    await conn.execute(
        "DELETE FROM notifications WHERE status <> 'queued' AND created_at < $1", before
    )
    await conn.execute(
        "DELETE FROM manage_links WHERE created_at < $1 AND NOT EXISTS (SELECT FROM"
        " calendar_entries AS e WHERE e.uid = manage_links.uid OR e.invite_uid = manage_links.uid)",
        before,
    )
