"""The booking page in the PostgreSQL store: the clients it makes (one per e-mail address), the
limits on its holds, the links that confirm them with the e-mail that carries each, and their
lookup. Each a function over a connection, run inside the caller's transaction."""

from __future__ import annotations

import secrets
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
from backend.store.postgres.notifications import queue_notice
from backend.store.postgres.schema import Connection


async def page_client(conn: Connection, hold: PageHold, now: float) -> str:
    """The client of this address (`email_key`, the address as compared), made with this name
    on first use; later uses keep the first name and update the address as typed (and the zone,
    when one is given)."""
    email_key, email, name, time_zone = hold.email_key, hold.recipient, hold.name, hold.time_zone
    made = PAGE_CLIENT_PREFIX + secrets.token_hex(10)
    client_id: str = await conn.fetchval(
        """
        INSERT INTO page_clients (email_key, client_id, created_at) VALUES ($1, $2, $3)
        ON CONFLICT (email_key) DO UPDATE SET email_key = EXCLUDED.email_key
        RETURNING client_id
        """,
        email_key, made, now,
    )  # fmt: skip
    await conn.execute(
        """
        INSERT INTO clients (id, name, created_at, email, time_zone) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE
           SET email = EXCLUDED.email, time_zone = coalesce(EXCLUDED.time_zone, clients.time_zone)
        """,
        client_id, name, now, email, time_zone,
    )  # fmt: skip
    return client_id


async def check_limits(conn: Connection, hold: PageHold, client_id: str, now: float) -> None:
    """Refuse a page hold beyond the page's limits: live unconfirmed page holds per address the
    request came from, and per client (e-mail address). The caller holds both locks."""
    for column, value, most, whose in (
        ("remote", hold.remote, hold.per_address, "address"),
        ("client_id", client_id, hold.per_client, "client"),
    ):
        count: int = await conn.fetchval(
            f"SELECT COUNT(*) FROM hold_links WHERE {column} = $1 AND used_at IS NULL"
            " AND expires_at > $2",
            value, now,
        )  # fmt: skip
        if count >= most:
            raise limit_refusal(count, most, whose)


async def link_hold(conn: Connection, hold: PageHold, slots: Sequence[SlotRow], now: float) -> None:
    """The link that confirms the hold `slots` (its slots, in time order), and the e-mail that
    carries it, queued in the hold's own transaction."""
    first, last = slots[0], slots[-1]
    await conn.execute(
        """
        INSERT INTO hold_links (secret_hash, ref, appointment_id, start, ends, provider_id,
                                client_id, service_id, remote, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        """,
        hash_secret(hold.secret), hold.ref, first.id, first.start, last.start + last.duration,
        first.provider_id, first.client_id, first.service_id, hold.remote, now, first.held_until,
    )  # fmt: skip
    uid, sequence = await _fetched(
        conn,
        "SELECT coalesce(invite_uid, uid), sequence FROM calendar_entries"
        " WHERE appointment_id = $1 AND status <> 'CANCELLED'"
        " ORDER BY created_at DESC LIMIT 1",
        first.id,
    )
    notice = hold_notice(slots, uid=uid, sequence=sequence, recipient=hold.recipient, now=now)
    await queue_notice(conn, notice, hold.secret, now)


async def _fetched(conn: Connection, sql: str, *args: object) -> tuple[str, int]:
    row = await conn.fetchrow(sql, *args)
    assert row is not None, "a hold has its calendar entry"
    return row[0], row[1]


async def hold_link(
    conn: Connection, now: float, *, secret: str | None = None, ref: str | None = None
) -> HoldLink | None:
    """The hold a confirmation link's secret (or its public `ref`) names, as it stands now."""
    column, value = ("h.secret_hash", hash_secret(secret)) if secret else ("h.ref", ref)
    row = await conn.fetchrow(
        f"SELECT {HOLD_LINK_COLUMNS} {HOLD_LINK_FROM} WHERE {column} = $1", value
    )
    return None if row is None else hold_link_of(tuple(row), now)


async def use_hold_link(conn: Connection, secret: str, now: float) -> None:
    """The link has done its work: it confirms nothing again."""
    await conn.execute(
        "UPDATE hold_links SET used_at = $1 WHERE secret_hash = $2 AND used_at IS NULL",
        now, hash_secret(secret),
    )  # fmt: skip


async def purge(conn: Connection, before: float) -> None:
    """Forget the links of holds that lapsed or were confirmed before `before`."""
    await conn.execute("DELETE FROM hold_links WHERE expires_at < $1", before)
