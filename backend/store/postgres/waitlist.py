"""The waitlist on PostgreSQL (as SQLite's backend/store/sqlite/waitlist.py): places in a
provider's line, and freed time handed to the line in the transaction that freed it (see
`backend/rules/waitlist.py` for the invariant). Each function runs inside the caller's
transaction; `Place` is the store's own way of writing a plan (its `_apply`), so that an offer is
written, logged and told exactly as a reserve's hold is.

With several server processes, a hand-over to a provider's line runs under that provider's
advisory lock (backend/store/postgres/locks.py), which every write that frees or takes the
provider's time holds too, and so does a join: the line is read and offered under it, so each
freed start goes to one entry, the first in line it suits, and an entry's place is decided once.
An offer counts its client's holds under the client's lock, as a reserve does, so the hold limit
holds across processes; the offer's slots are locked as a reserve's are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence

import asyncpg

from backend.rules.appointments import Plan, plan_reserve
from backend.rules.booking import SLOT_COLUMNS, BookingError, Rules, SlotRow
from backend.rules.service_types import ServiceType
from backend.rules.waitlist import (
    ENDED_BY,
    Cell,
    Room,
    entry_terms,
    first_start,
    last_start,
    offer_plan,
    offer_rules,
    rooms,
    widened,
)
from backend.store import profile_rows
from backend.store.postgres import services
from backend.store.postgres.locks import lock_client, lock_provider, lock_providers
from backend.store.postgres.schema import Connection
from backend.store.waitlist_records import (
    ANYONE_WAITING,
    EXPIRE_WINDOWS,
    FOLLOW_MOVE,
    LAPSE_OFFERS,
    LINE,
    LIVE_ENTRIES,
    OFFERED,
    SELECT_ENTRIES,
    SETTLE,
    WAITING_OF_CLIENT,
    WISHES,
    NewEntry,
    StoredEntry,
    TooManyWaitlistEntries,
    WaitlistEntryNotFound,
    WaitlistFilter,
    shown,
)

Place = Callable[[Connection, Plan], Awaitable[None]]
"""Write a plan as the store writes a reserve's."""

_SELECT_ENTRIES = SELECT_ENTRIES.format(now="$1")
_LINE = LINE.format(provider="$1", start="$2", end="$3", room="$4")
_LIVE_ENTRIES = LIVE_ENTRIES.format(client="$1", now="$2")
_ANYONE_WAITING = ANYONE_WAITING.format(provider="$1", now="$2")
_WAITING_OF_CLIENT = WAITING_OF_CLIENT.format(client="$1", now="$2")
_SETTLE = SETTLE.format(status="$1", now="$2", appointment="$3", kind="$4")
_FOLLOW_MOVE = FOLLOW_MOVE.format(head="$1", start="$2", until="$3", now="$4", old="$5")
_OFFERED = OFFERED.format(head="$1", start="$2", until="$3", now="$4", entry="$5")
_WISHES = WISHES.format(provider="$1", now="$2", start="$3", end="$4")

_CELLS = """
SELECT id, start, duration, status, held_until FROM slots
 WHERE provider_id = $1 AND start >= $2 AND start < $3 ORDER BY start
"""
"""The provider's slots around freed time: their ids, and each as a room is measured from it."""


_BETWEEN = f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = $1 AND start >= $2 AND start < $3"

_WAITING_PROVIDERS = """
SELECT DISTINCT provider_id FROM waitlist_entries
 WHERE client_id = ANY($1::text[]) AND status = 'waiting' AND window_end > $2
"""


def _entry(row: asyncpg.Record, now: float) -> StoredEntry:
    return shown(StoredEntry(*row), now)


async def entries(conn: Connection, query: WaitlistFilter, now: float) -> list[StoredEntry]:
    rows = await conn.fetch(
        f"{_SELECT_ENTRIES} WHERE ($2::text IS NULL OR e.client_id = $2)"
        " AND ($3::text IS NULL OR e.provider_id = $3) ORDER BY e.joined_at, e.id",
        now,
        query.client_id,
        query.provider_id,
    )
    found = [_entry(row, now) for row in rows]
    return [e for e in found if query.status is None or e.status == query.status]


async def find(conn: Connection, waitlist_id: str, now: float) -> StoredEntry | None:
    row = await conn.fetchrow(f"{_SELECT_ENTRIES} WHERE e.id = $2", now, waitlist_id)
    return None if row is None else _entry(row, now)


async def join(
    conn: Connection, entry: NewEntry, now: float, rules: Rules, place: Place
) -> StoredEntry:
    """Put the client last in line, then hand its window to the line as if it had just been
    freed: what is open there already goes to the first entry it suits, this one or another.
    The provider's lock orders the line; the client's keeps their count of entries still."""
    await lock_provider(conn, entry.provider_id)
    known = await conn.fetchval("SELECT 1 FROM providers WHERE id = $1", entry.provider_id)
    if known is None:
        raise profile_rows.not_found(entry.provider_id)
    if entry.service_id is not None:
        await services.offered(conn, entry.service_id, entry.provider_id)
    await lock_client(conn, entry.client_id)
    live: int = await conn.fetchval(_LIVE_ENTRIES, entry.client_id, now)
    if live >= rules.max_waitlist:
        raise TooManyWaitlistEntries.of(live)
    await conn.execute(
        "INSERT INTO waitlist_entries (id, provider_id, client_id, window_start, window_end,"
        " minutes, service_id, joined_at, status, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'waiting', $8)",
        entry.waitlist_id,
        entry.provider_id,
        entry.client_id,
        entry.window_start,
        entry.window_end,
        entry.minutes,
        entry.service_id,
        now,
    )
    await offer_freed(
        conn, entry.provider_id, [(entry.window_start, entry.window_end)], now, rules, place
    )
    found = await find(conn, entry.waitlist_id, now)
    assert found is not None  # written above, in this transaction
    return found


async def leave(conn: Connection, waitlist_id: str, now: float) -> StoredEntry:
    """Take the entry out of its line (under its provider's lock, so that no hand-over offers it
    time meanwhile); the entry as it was."""
    seen = await find(conn, waitlist_id, now)
    if seen is not None:
        await lock_provider(conn, seen.provider_id)
        seen = await find(conn, waitlist_id, now)
    if seen is None:
        raise WaitlistEntryNotFound.of(waitlist_id)
    await conn.execute("DELETE FROM waitlist_entries WHERE id = $1", waitlist_id)
    return seen


async def anyone_waiting(conn: Connection, provider_id: str, now: float) -> bool:
    return await conn.fetchval(_ANYONE_WAITING, provider_id, now) is not None


async def waiting_providers(
    conn: Connection, client_ids: Collection[str | None], now: float
) -> list[str]:
    """The providers in whose lines these clients wait: the locks a write that frees one of
    their holds takes first, for the hand-over it may make there (`client_freed`)."""
    named = [c for c in client_ids if c is not None]
    if not named:
        return []
    return [row[0] for row in await conn.fetch(_WAITING_PROVIDERS, named, now)]


async def offer_freed(
    conn: Connection,
    provider_id: str,
    freed: Iterable[tuple[int, int]],
    now: float,
    rules: Rules,
    place: Place,
) -> int:
    """Hand the provider's time freed in these ranges to its line (the caller holds the provider's
    lock): each room of open time around them goes, start by start, to the first waiting entry in
    line it suits, as an ordinary hold of that entry's client held for the offer's time. Answers
    how many offers were made."""
    ranges = widened(freed)
    if not ranges:
        return 0
    low, high = ranges[0][0], ranges[-1][1]
    wishes = await conn.fetchrow(_WISHES, provider_id, now, low, high)
    shortest, longest = (None, None) if wishes is None else wishes
    if shortest is None or longest is None:
        return 0  # nobody waits for time there
    reach = longest * 60
    around = await conn.fetch(_CELLS, provider_id, low - reach, high + reach)
    cells: list[Cell] = [(row[1], row[2], row[3], row[4]) for row in around]
    opened = [(row[0], row[1]) for row, cell in zip(around, cells, strict=True) if _open(cell, now)]
    offer = _Offers(conn, provider_id, opened, now, rules, place)
    for room in rooms(cells, ranges, now, shortest * 60):
        for row in await conn.fetch(_LINE, provider_id, room.start, room.end, room.length):
            await offer.make(row, room)
    return offer.made


def _open(cell: Cell, now: float) -> bool:
    _, _, status, held_until = cell
    return status == "AVAILABLE" or (
        status == "RESERVED" and held_until is not None and held_until <= now
    )


class _Offers:
    """One hand-over's offers: the open slots (id, start) around the freed time as read under the
    provider's lock, less those offered since, so that an entry with nothing left to be offered
    costs no query."""

    def __init__(
        self,
        conn: Connection,
        provider_id: str,
        opened: list[tuple[str, int]],
        now: float,
        rules: Rules,
        place: Place,
    ) -> None:
        self.conn, self.provider_id, self.now, self.rules, self.place = (
            conn, provider_id, now, rules, place,
        )  # fmt: skip
        self.open = opened
        self.made = 0
        self._services: dict[str, ServiceType | None] = {}

    async def make(self, row: asyncpg.Record, room: Room) -> None:
        """Offer the entry the first start in the room it may hold, or pass it by."""
        waitlist_id, client_id, window_start, window_end, minutes, service_id = row
        service: ServiceType | None = None
        if service_id is not None:
            if service_id not in self._services:
                self._services[service_id] = await services.find(self.conn, service_id)
            service = self._services[service_id]
            if service is None or service.archived:
                return
        terms = entry_terms(self.rules, minutes, service)
        length = terms.length or self.rules.slot_seconds
        first = first_start(window_start, room, terms.horizon(self.now))
        last = last_start(window_end, room, length)
        starts = [(slot_id, start) for slot_id, start in self.open if first <= start <= last]
        if not starts:
            return
        conn, now = self.conn, self.now
        await lock_client(conn, client_id)
        holds: int = await conn.fetchval(services.LIVE_HOLDS, client_id, now)
        if holds >= self.rules.max_holds:
            return  # passed over: it keeps its place for the next freed time
        for slot_id, start in starts:
            span = await _locked_run(conn, self.provider_id, start, length)
            if not span or span[0].id != slot_id:
                continue
            head = span[0]
            near = await services.surroundings(
                conn, self.provider_id, head.start, length, terms, now, self.rules
            )
            try:
                plan = plan_reserve(
                    head, span, [], client_id, terms, None, lambda: holds, now,
                    offer_rules(self.rules), near,
                )  # fmt: skip
            except BookingError:
                continue
            await self.place(conn, offer_plan(plan, waitlist_id))
            until = plan.appointment[0].held_until
            await conn.execute(_OFFERED, head.id, head.start, until, now, waitlist_id)
            taken = {s.id for s in plan.appointment}
            self.open = [(i, start) for i, start in self.open if i not in taken]
            self.made += 1
            return


async def _locked_run(conn: Connection, provider_id: str, start: int, length: int) -> list[SlotRow]:
    rows = await conn.fetch(
        _BETWEEN + " ORDER BY provider_id, start FOR UPDATE", provider_id, start, start + length
    )
    return [SlotRow._make(row) for row in rows]


async def settle(
    conn: Connection, kind: str, appointment_ids: Iterable[str | None], now: float
) -> None:
    """The offers among these appointments ended by a change of `kind` (a confirm, a release or
    a lapse): their entries leave the line as fulfilled, declined or lapsed."""
    ids = list(dict.fromkeys(i for i in appointment_ids if i is not None))
    if ids:
        await conn.executemany(_SETTLE, [(ENDED_BY[kind], now, i, kind) for i in ids])


async def follow_move(
    conn: Connection, old_id: str | None, moved: Sequence[SlotRow], now: float
) -> None:
    """An offer moved stays its entry's offer, at its new place."""
    if old_id is None or not moved or moved[0].id == old_id:
        return
    head = moved[0]
    await conn.execute(_FOLLOW_MOVE, head.id, head.start, head.held_until, now, old_id)


async def client_freed(
    conn: Connection, client_id: str | None, now: float, rules: Rules, place: Place
) -> int:
    """The client holds one appointment fewer: their waiting entries, passed over while they held
    the most allowed, may be offered what is open in their windows now (under the locks of the
    providers they wait for, which the caller has taken first where it could)."""
    if client_id is None:
        return 0
    waiting = await conn.fetch(_WAITING_OF_CLIENT, client_id, now)
    if not waiting:
        return 0
    await lock_providers(conn, (row[0] for row in waiting))
    made = 0
    for provider_id, start, end in waiting:
        made += await offer_freed(conn, provider_id, [(start, end)], now, rules, place)
    return made


async def expire_windows(conn: Connection, now: float) -> int:
    """Waiting entries whose window has passed leave the line as expired; offers whose time ran
    out are written down as lapsed."""
    expired = await conn.fetch(EXPIRE_WINDOWS.format(now="$1") + " RETURNING 1", now)
    await conn.execute(LAPSE_OFFERS.format(now="$1"), now)
    return len(expired)
