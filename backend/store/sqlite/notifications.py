"""E-mail in the SQLite store: the calendar ledger's writes with the notices they queue, the
parties' addresses, the mail sender's queue and the manage links. Each a function over a
connection, run by the writer inside its transaction (or by a reader). Whom a write tells is
decided by backend/rules/notices.py; what it asks of the provider's write-back calendar is queued
beside its notices (calendar_write.py)."""

from __future__ import annotations

import json
import secrets
import sqlite3
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
from backend.store.sqlite import calendar_write

_LEDGER_OPEN = """
INSERT INTO calendar_entries
       (uid, appointment_id, provider_id, client_id, start, ends, status, held_until, note,
        sequence, created_at, updated_at, service_id, invite_uid)
VALUES (:uid, :appointment_id, :provider_id, :client_id, :start, :ends, :status, :held_until,
        :note, :sequence, :now, :now, :service_id, :invite_uid)
"""

_LEDGER_UPDATE = """
UPDATE calendar_entries
   SET appointment_id = :appointment_id, provider_id = :provider_id, start = :start,
       ends = :ends, status = :status, held_until = :held_until, note = :note,
       sequence = sequence + 1, updated_at = :now, service_id = :service_id
 WHERE appointment_id = :find AND status != 'CANCELLED'
 RETURNING coalesce(invite_uid, uid), sequence
"""

_ADDRESS = {
    "client": "SELECT email FROM clients WHERE id = ?",
    "provider": "SELECT email FROM providers WHERE id = ?",
}

_QUEUE = """
INSERT INTO notifications
       (id, kind, role, party_id, recipient, uid, sequence, appointment_id, provider_id,
        client_id, service_id, start, ends, reminder_before, manage_secret, status, created_at,
        due_at, held_until)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)
"""


def write_ledger(
    conn: sqlite3.Connection, writes: Sequence[LedgerWrite], now: float, rules: Rules | None
) -> None:
    """Run one operation's ledger writes, and queue the notices of those that tell something
    (`rules` says when reminders are due; None for writes that can tell nobody) and the writes
    they ask of the provider's write-back calendar."""
    carried: dict[str, tuple[str, int]] = {}  # appointment id left -> its invitation, as left
    for write in writes:
        params = {**write.as_params(), "now": now}
        if write.find is None:
            uid = secrets.token_hex(16)
            invite, sequence = carried.get(write.follows or "", (uid, 0))
            conn.execute(
                _LEDGER_OPEN,
                {**params, "uid": uid, "sequence": sequence, "invite_uid": _differs(invite, uid)},
            )
        else:
            row = conn.execute(_LEDGER_UPDATE, params).fetchone()
            if row is None:
                continue
            invite, sequence = row
            if write.tells == "moved-away":
                carried[write.appointment_id] = (invite, sequence)
        calendar_write.queue(conn, write, invite, now)
        if write.tells is not None:
            assert rules is not None, f"a write that tells someone: {write.tells}"
            _queue(conn, write, invite, sequence, now, rules)


def _differs(invite: str, uid: str) -> str | None:
    return None if invite == uid else invite


def _queue(
    conn: sqlite3.Connection, write: LedgerWrite, uid: str, sequence: int, now: float, rules: Rules
) -> None:
    addresses = Addresses(
        client=_address(conn, "client", write.client_id),
        provider=_address(conn, "provider", write.provider_id),
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
        conn.execute(
            "DELETE FROM notifications WHERE uid = ? AND status = 'queued' AND kind = 'reminder'",
            [uid],
        )
    if not planned.queue:
        return
    secret = _manage_secret(conn, planned.queue, uid, write.client_id, now)
    conn.executemany(_QUEUE, [_values(notice, secret, now) for notice in planned.queue])


def queue_notice(conn: sqlite3.Connection, notice: Notice, secret: str | None, now: float) -> None:
    """Queue one notice that carries `secret` (a link's, kept until the letter is sent)."""
    conn.execute(_QUEUE, _values(notice, secret, now))


def _address(conn: sqlite3.Connection, role: str, party_id: str) -> str | None:
    row = conn.execute(_ADDRESS[role], [party_id]).fetchone()
    return None if row is None else row[0]


def _manage_secret(
    conn: sqlite3.Connection, queue: Sequence[Notice], uid: str, client_id: str, now: float
) -> str | None:
    """A new manage link for the client's messages among these (None when there are none): its
    secret kept in the queue until they are sent, its hash for as long as the link works."""
    if not any(notice.role == "client" and notice.kind != "cancellation" for notice in queue):
        return None
    secret = secrets.token_urlsafe(24)
    conn.execute(
        "INSERT INTO manage_links (secret_hash, uid, client_id, created_at) VALUES (?, ?, ?, ?)",
        [hash_secret(secret), uid, client_id, now],
    )
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


def details(conn: sqlite3.Connection, role: str, party_id: str) -> PartyDetails | None:
    row = conn.execute(
        f"SELECT name, email, time_zone FROM {_PARTY_TABLE[role]} WHERE id = ?", [party_id]
    ).fetchone()
    return None if row is None else PartyDetails(role, party_id, row[0], row[1], row[2])


def set_details(
    conn: sqlite3.Connection,
    role: str,
    party_id: str,
    email: str | Unchanged | None,
    time_zone: str | Unchanged | None,
    now: float,
) -> PartyDetails:
    table = _PARTY_TABLE[role]
    conn.execute(
        f"INSERT INTO {table} (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [party_id, party_id, now],
    )
    if not isinstance(email, Unchanged):
        conn.execute(f"UPDATE {table} SET email = ? WHERE id = ?", [email, party_id])
    if not isinstance(time_zone, Unchanged):
        conn.execute(f"UPDATE {table} SET time_zone = ? WHERE id = ?", [time_zone, party_id])
    found = details(conn, role, party_id)
    assert found is not None
    return found


# --- the sender's queue ---------------------------------------------------------------------

_CLAIM = """
UPDATE notifications SET leased_until = :until
 WHERE id IN (SELECT id FROM notifications
               WHERE status = 'queued' AND due_at <= :now
                 AND (leased_until IS NULL OR leased_until <= :now)
               ORDER BY due_at, id LIMIT :limit)
RETURNING id
"""

_OUTGOING = f"""
SELECT {OUTGOING_COLUMNS}
  FROM notifications AS n
  LEFT JOIN providers AS p ON p.id = n.provider_id
  LEFT JOIN clients AS c ON c.id = n.client_id
  LEFT JOIN services AS sv ON sv.id = n.service_id
  LEFT JOIN schedules AS sc ON sc.provider_id = n.provider_id
 WHERE n.id IN (SELECT value FROM json_each(?))
 ORDER BY n.due_at, n.id
"""


def claim(conn: sqlite3.Connection, now: float, limit: int, lease: float) -> list[Outgoing]:
    """Lease up to `limit` due notifications (none another sender holds) for `lease` seconds,
    with what their letters are written from."""
    leased = {"until": now + lease, "now": now, "limit": limit}
    ids = [row[0] for row in conn.execute(_CLAIM, leased)]
    if not ids:
        return []
    return [outgoing(row) for row in conn.execute(_OUTGOING, [json.dumps(ids)])]


def record(
    conn: sqlite3.Connection,
    notification_id: str,
    *,
    status: NoticeStatus,
    error: str | None,
    now: float,
    retry_at: float | None,
) -> None:
    """What one attempt came to: `sent`, `failed`, or `queued` again until `retry_at`."""
    conn.execute(
        """
        UPDATE notifications
           SET status = :status, attempts = attempts + 1, last_error = :error,
               sent_at = CASE WHEN :status = 'sent' THEN :now END,
               due_at = coalesce(:retry_at, due_at), leased_until = NULL,
               manage_secret = CASE WHEN :status = 'queued' THEN manage_secret END
         WHERE id = :id
        """,
        {"status": status, "error": error, "now": now, "retry_at": retry_at, "id": notification_id},
    )


def listed(conn: sqlite3.Connection, query: NotificationFilter) -> list[StoredNotification]:
    where = ["1 = 1"]
    params: list[Any] = []
    for column, value in query.conditions():
        where.append(f"n.{column} = ?")
        params.append(value)
    sql = (
        f"SELECT {NOTIFICATION_COLUMNS} FROM notifications AS n WHERE {' AND '.join(where)}"
        " ORDER BY n.created_at DESC, n.due_at DESC, n.id LIMIT ?"
    )
    return [StoredNotification(*row) for row in conn.execute(sql, [*params, query.limit])]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT status, COUNT(*) FROM notifications GROUP BY status")
    return {str(status): int(count) for status, count in rows.fetchall()}


def managed(conn: sqlite3.Connection, secret: str) -> ManagedAppointment | None:
    """The appointment a manage link's secret opens, as its invitation stands now."""
    row = conn.execute(
        f"""
        SELECT {MANAGED_COLUMNS}
          FROM manage_links AS m
          JOIN calendar_entries AS e ON (e.uid = m.uid OR e.invite_uid = m.uid)
          LEFT JOIN providers AS p ON p.id = e.provider_id
          LEFT JOIN clients AS c ON c.id = e.client_id
          LEFT JOIN services AS sv ON sv.id = e.service_id
          LEFT JOIN schedules AS sc ON sc.provider_id = e.provider_id
         WHERE m.secret_hash = ? AND e.client_id = m.client_id
         ORDER BY e.created_at DESC, e.sequence DESC LIMIT 1
        """,
        [hash_secret(secret)],
    ).fetchone()
    return None if row is None else ManagedAppointment(*row)


def purge(conn: sqlite3.Connection, before: float) -> None:
    """Forget notifications sent or failed before `before`, and the manage links of invitations
    the ledger no longer keeps."""
    conn.execute("DELETE FROM notifications WHERE status != 'queued' AND created_at < ?", [before])
    conn.execute(
        "DELETE FROM manage_links WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM"
        " calendar_entries AS e WHERE e.uid = manage_links.uid OR e.invite_uid = manage_links.uid)",
        [before],
    )
