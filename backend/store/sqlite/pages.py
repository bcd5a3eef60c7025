"""The booking page in the SQLite store: the clients it makes (one per e-mail address), the
limits on its holds, the links that confirm them with the e-mail that carries each, and their
lookup. Each a function over a connection, run by the writer inside its transaction (or by a
reader)."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence

from backend.rules.booking import SlotRow
from backend.rules.notices import hold_notice
from backend.store.mail_records import hash_secret
from backend.store.page_records import (
    HOLD_LINK_COLUMNS,
    HOLD_LINK_FROM,
    PAGE_CLIENT_PREFIX,
    HoldLink,
    PageHold,
    hold_link_of,
    limit_refusal,
)
from backend.store.sqlite.notifications import queue_notice


def page_client(conn: sqlite3.Connection, hold: PageHold, now: float) -> str:
    """The client of this address (`email_key`, the address as compared), made with this name
    on first use; later uses keep the first name and update the address as typed (and the zone,
    when one is given)."""
    email_key, email, name, time_zone = hold.email_key, hold.recipient, hold.name, hold.time_zone
    found = conn.execute(
        "SELECT client_id FROM page_clients WHERE email_key = ?", [email_key]
    ).fetchone()
    if found is not None:
        client_id: str = found[0]
        conn.execute(
            "UPDATE clients SET email = ?, time_zone = coalesce(?, time_zone) WHERE id = ?",
            [email, time_zone, client_id],
        )
        return client_id
    client_id = PAGE_CLIENT_PREFIX + secrets.token_hex(10)
    conn.execute(
        "INSERT INTO page_clients (email_key, client_id, created_at) VALUES (?, ?, ?)",
        [email_key, client_id, now],
    )
    conn.execute(
        "INSERT INTO clients (id, name, created_at, email, time_zone) VALUES (?, ?, ?, ?, ?)",
        [client_id, name, now, email, time_zone],
    )
    return client_id


def check_limits(conn: sqlite3.Connection, hold: PageHold, client_id: str, now: float) -> None:
    """Refuse a page hold beyond the page's limits: live unconfirmed page holds per address the
    request came from, and per client (e-mail address)."""
    for column, value, most, whose in (
        ("remote", hold.remote, hold.per_address, "address"),
        ("client_id", client_id, hold.per_client, "client"),
    ):
        (count,) = conn.execute(
            f"SELECT COUNT(*) FROM hold_links WHERE {column} = ? AND used_at IS NULL"
            " AND expires_at > ?",
            [value, now],
        ).fetchone()
        if count >= most:
            raise limit_refusal(count, most, whose)


def link_hold(
    conn: sqlite3.Connection, hold: PageHold, slots: Sequence[SlotRow], now: float
) -> None:
    """The link that confirms the hold `slots` (its slots, in time order), and the e-mail that
    carries it, queued in the hold's own transaction."""
    first, last = slots[0], slots[-1]
    conn.execute(
        """
        INSERT INTO hold_links (secret_hash, ref, appointment_id, start, ends, provider_id,
                                client_id, service_id, remote, created_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            hash_secret(hold.secret), hold.ref, first.id, first.start,
            last.start + last.duration, first.provider_id, first.client_id, first.service_id,
            hold.remote, now, first.held_until,
        ],
    )  # fmt: skip
    uid, sequence = conn.execute(
        "SELECT coalesce(invite_uid, uid), sequence FROM calendar_entries"
        " WHERE appointment_id = ? AND status != 'CANCELLED'"
        " ORDER BY created_at DESC LIMIT 1",
        [first.id],
    ).fetchone()
    notice = hold_notice(slots, uid=uid, sequence=sequence, recipient=hold.recipient, now=now)
    queue_notice(conn, notice, hold.secret, now)


def hold_link(
    conn: sqlite3.Connection, now: float, *, secret: str | None = None, ref: str | None = None
) -> HoldLink | None:
    """The hold a confirmation link's secret (or its public `ref`) names, as it stands now."""
    column, value = ("h.secret_hash", hash_secret(secret)) if secret else ("h.ref", ref)
    row = conn.execute(
        f"SELECT {HOLD_LINK_COLUMNS} {HOLD_LINK_FROM} WHERE {column} = ?", [value]
    ).fetchone()
    return None if row is None else hold_link_of(row, now)


def use_hold_link(conn: sqlite3.Connection, secret: str, now: float) -> None:
    """The link has done its work: it confirms nothing again."""
    conn.execute(
        "UPDATE hold_links SET used_at = ? WHERE secret_hash = ? AND used_at IS NULL",
        [now, hash_secret(secret)],
    )


def purge(conn: sqlite3.Connection, before: float) -> None:
    """Forget the links of holds that lapsed or were confirmed before `before`."""
    conn.execute("DELETE FROM hold_links WHERE expires_at < ?", [before])
