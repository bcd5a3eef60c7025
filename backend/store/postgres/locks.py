"""The PostgreSQL store's advisory locks: each held until its transaction ends, named by a class
(the first key) and a name hashed into the second.

Writers take them in one order, so that they wait for each other instead of deadlocking: an
Idempotency-Key's; then the providers' whose slots or waitlist the write changes, in name order,
several in one statement; then the clients' whose holds it counts; then slot rows, locked in
(provider, start) order. Two exceptions, each rare and each retried should PostgreSQL find a
deadlock (the store's DEADLOCK_RETRIES): a reserve or a move hands lapsed holds near its slot to
the waitlist before its Idempotency-Key is locked (a key is one request's: no other write waits for
it), and a write that learns only under its locks of a provider whose line it must offer time in
(a waiting entry of a client it freed, joined meanwhile) locks that provider then."""

from __future__ import annotations

from collections.abc import Iterable

from backend.store.postgres.schema import Connection

CLIENT_LOCKS, PROVIDER_LOCKS, KEY_LOCKS, WEBHOOK_OWNER_LOCKS, PAGE_ADDRESS_LOCKS = 1, 2, 3, 5, 6
BUSY_SOURCE_OWNER_LOCKS = 7
"""Advisory lock classes (the first of the two keys): a client's holds, a provider's slots and
waitlist, one Idempotency-Key, one owner's webhook endpoints, the booking page's holds from one
network address, one provider's calendar sources (the sequencer's is 4)."""

_LOCK = "SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))"

_LOCK_EACH = (
    "SELECT COUNT(pg_advisory_xact_lock($1::int4, hashtext(name))) FROM unnest($2::text[]) AS name"
)
"""Several locks of one class in one round trip, in the order of the array (a function scan
yields its rows in order, and each is locked as it is read)."""


async def lock(conn: Connection, kind: int, name: str) -> None:
    """Wait for, then hold until the transaction ends, the advisory lock of this kind and name."""
    await conn.execute(_LOCK, kind, name)


async def lock_provider(conn: Connection, provider_id: str) -> None:
    await lock(conn, PROVIDER_LOCKS, provider_id)


async def lock_providers(conn: Connection, provider_ids: Iterable[str]) -> None:
    """Lock each of these providers (once each), in name order."""
    ordered = sorted(set(provider_ids))
    if len(ordered) == 1:
        await lock_provider(conn, ordered[0])
    elif ordered:
        await conn.execute(_LOCK_EACH, PROVIDER_LOCKS, ordered)


async def lock_client(conn: Connection, client_id: str) -> None:
    await lock(conn, CLIENT_LOCKS, client_id)
