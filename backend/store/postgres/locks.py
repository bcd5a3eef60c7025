"""The PostgreSQL store's advisory locks: each held until its transaction ends, named by a class
(the first key) and a name hashed into the second.

Providers' and clients' locks are taken in one order, so that writers wait for each other but
never deadlock: providers by name, then clients by name (a provider's lock orders its slots and
its waitlist; a client's keeps their holds still while they are counted). A write waits for such a
lock only when it comes after every one it holds. A write learns of some only as it goes (the
clients of the entries a hand-over offers time to, the lines a client freed of a hold waits in):
one that would come out of order is tried without waiting, and if another write holds it, the
write starts over (`StartOver`: its transaction is rolled back) and takes it in order, with the
others it named, at its first lock of that kind. After START_OVERS tries a write waits for every
lock in the order it meets them, and PostgreSQL's deadlock detection (the store's
DEADLOCK_RETRIES) has the last word.

The other classes are taken where the store says: an Idempotency-Key's first (a reserve or a move
hands lapsed holds near its slot to the waitlist before, under the providers' locks; a key is one
request's, so no other write waits for it), a booking page's network address before its client's.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from backend.store.postgres.schema import Connection

CLIENT_LOCKS, PROVIDER_LOCKS, KEY_LOCKS, WEBHOOK_OWNER_LOCKS, PAGE_ADDRESS_LOCKS = 1, 2, 3, 5, 6
BUSY_SOURCE_OWNER_LOCKS = 7
"""Advisory lock classes (the first of the two keys): a client's holds, a provider's slots and
waitlist, one Idempotency-Key, one owner's webhook endpoints, the booking page's holds from one
network address, one provider's calendar sources (the sequencer's is 4)."""

START_OVERS = 3
"""How often a write starts over for a lock it met out of order before it waits for such locks."""

_LOCK = "SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))"

_LOCK_EACH = (
    "SELECT COUNT(pg_advisory_xact_lock($1::int4, hashtext(name))) FROM unnest($2::text[]) AS name"
)
"""Several locks of one class in one round trip, in the order of the array (a function scan
yields its rows in order, and each is locked as it is read)."""

_TRY_EACH = (
    "SELECT COUNT(*) FROM unnest($2::text[]) AS name"
    " WHERE NOT pg_try_advisory_xact_lock($1::int4, hashtext(name))"
)
"""How many of several locks another transaction holds (each of the others is taken)."""


class StartOver(Exception):
    """A lock this write came to need out of order is held by another write: the write starts over
    and takes it in order (nothing its transaction wrote stays)."""


@dataclass
class Locking:
    """The providers' and clients' locks one write holds, and those it met out of order on an
    earlier try, which it takes first next time."""

    patient: bool = False
    """Wait for every lock, in or out of order (after START_OVERS tries)."""
    providers: set[str] = field(default_factory=set)
    clients: set[str] = field(default_factory=set)
    met_providers: set[str] = field(default_factory=set)
    met_clients: set[str] = field(default_factory=set)

    def attempt(self, number: int) -> None:
        """A new try of the write (1 the first): it holds nothing yet."""
        self.patient = number > START_OVERS
        self.providers.clear()
        self.clients.clear()


_locking: ContextVar[Locking | None] = ContextVar("slotbook_locking", default=None)


def track(locking: Locking | None) -> Token[Locking | None]:
    """Count the running write's providers' and clients' locks in `locking` (None: no write is
    running); a token for `untrack`."""
    return _locking.set(locking)


def untrack(token: Token[Locking | None]) -> None:
    _locking.reset(token)


async def lock(conn: Connection, kind: int, name: str) -> None:
    """Wait for, then hold until the transaction ends, the advisory lock of this kind and name."""
    await conn.execute(_LOCK, kind, name)


async def lock_provider(conn: Connection, provider_id: str) -> None:
    await lock_providers(conn, [provider_id])


async def lock_providers(conn: Connection, provider_ids: Iterable[str]) -> None:
    """Lock these providers (with those met out of order before, at the write's first)."""
    locking = _locking.get()
    wanted = set(provider_ids)
    if locking is None:
        await _take(conn, PROVIDER_LOCKS, sorted(wanted))
        return
    if not locking.providers and not locking.clients:
        wanted |= locking.met_providers
    new = sorted(wanted - locking.providers)
    if not new:
        return
    after = not locking.clients and all(held < new[0] for held in locking.providers)
    await _take_in_order(conn, PROVIDER_LOCKS, new, after or locking.patient, locking.met_providers)
    locking.providers.update(new)


async def lock_client(conn: Connection, client_id: str) -> None:
    """Lock this client (with those met out of order before, at the write's first)."""
    locking = _locking.get()
    if locking is None:
        await lock(conn, CLIENT_LOCKS, client_id)
        return
    if client_id in locking.clients:
        return
    wanted = {client_id} | (set() if locking.clients else locking.met_clients)
    new = sorted(wanted - locking.clients)
    after = all(held < new[0] for held in locking.clients)
    await _take_in_order(conn, CLIENT_LOCKS, new, after or locking.patient, locking.met_clients)
    locking.clients.update(new)


async def _take(conn: Connection, kind: int, names: list[str]) -> None:
    if len(names) == 1:
        await lock(conn, kind, names[0])
    elif names:
        await conn.execute(_LOCK_EACH, kind, names)


async def _take_in_order(
    conn: Connection, kind: int, names: list[str], wait: bool, met: set[str]
) -> None:
    """Take these locks, waiting for them when they come in order (`wait`); else only if no other
    transaction holds any, or start over, noting them in `met`."""
    if wait:
        await _take(conn, kind, names)
        return
    if await conn.fetchval(_TRY_EACH, kind, names):
        met.update(names)
        raise StartOver(f"locks of class {kind} met out of order: {', '.join(names)}")
