"""The waitlist on SQLite: places in a provider's line, and freed time handed to the line in the
transaction that freed it (see `backend/rules/waitlist.py` for the invariant).

Everything here runs on the writer thread inside the write that calls it; `Place` is the store's
own way of writing a plan (its `_apply`), handed in so that an offer is written, logged and told
exactly as a reserve's hold is."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from backend.rules.appointments import Plan, plan_reserve
from backend.rules.booking import SLOT_COLUMNS, BookingError, Rules, SlotRow
from backend.rules.service_types import ServiceType
from backend.rules.waitlist import (
    ENDED_BY,
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
from backend.store.sqlite import services
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

Place = Callable[[Database, Plan], None]
"""Write a plan as the store writes a reserve's."""

_SELECT_ENTRIES = SELECT_ENTRIES.format(now=":now")
_LINE = LINE.format(provider=":provider", start=":start", end=":end", room=":room")

_WISHES = WISHES.format(provider=":provider", now=":now", start=":start", end=":end")

_CELLS = """
SELECT start, duration, status, held_until FROM slots
 WHERE provider_id = :provider AND start >= :start AND start < :end ORDER BY start
"""


_OPEN_STARTS = """
SELECT id FROM slots
 WHERE provider_id = :provider AND start >= :first AND start <= :last
   AND (status = 'AVAILABLE' OR (status = 'RESERVED' AND held_until <= :now))
 ORDER BY start
"""

_LIVE_ENTRIES = LIVE_ENTRIES.format(client=":client", now=":now")


def _entry(row: Sequence[Any], now: float) -> StoredEntry:
    return shown(StoredEntry(*row), now)


def entries(conn: sqlite3.Connection, query: WaitlistFilter, now: float) -> list[StoredEntry]:
    sql = (
        f"{_SELECT_ENTRIES} WHERE (:client IS NULL OR e.client_id = :client)"
        " AND (:provider IS NULL OR e.provider_id = :provider) ORDER BY e.joined_at, e.id"
    )
    params = {"client": query.client_id, "provider": query.provider_id, "now": now}
    found = [_entry(row, now) for row in conn.execute(sql, params)]
    return [e for e in found if query.status is None or e.status == query.status]


def find(conn: sqlite3.Connection, waitlist_id: str, now: float) -> StoredEntry | None:
    sql = f"{_SELECT_ENTRIES} WHERE e.id = :id"
    row = conn.execute(sql, {"id": waitlist_id, "now": now}).fetchone()
    return None if row is None else _entry(row, now)


def join(db: Database, entry: NewEntry, now: float, rules: Rules, place: Place) -> StoredEntry:
    """Put the client last in line, then hand its window to the line as if it had just been
    freed: what is open there already goes to the first entry it suits, this one or another."""
    known = db.execute("SELECT 1 FROM providers WHERE id = ?", [entry.provider_id]).fetchone()
    if known is None:
        raise profile_rows.not_found(entry.provider_id)
    if entry.service_id is not None:
        services.offered(db.conn, entry.service_id, entry.provider_id)
    live: int = db.execute(_LIVE_ENTRIES, {"client": entry.client_id, "now": now}).fetchone()[0]
    if live >= rules.max_waitlist:
        raise TooManyWaitlistEntries.of(live)
    db.execute(
        "INSERT INTO waitlist_entries (id, provider_id, client_id, window_start, window_end,"
        " minutes, service_id, joined_at, status, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?)",
        [
            entry.waitlist_id,
            entry.provider_id,
            entry.client_id,
            entry.window_start,
            entry.window_end,
            entry.minutes,
            entry.service_id,
            now,
            now,
        ],
    )
    offer_freed(db, entry.provider_id, [(entry.window_start, entry.window_end)], now, rules, place)
    found = find(db.conn, entry.waitlist_id, now)
    assert found is not None  # written above, in this transaction
    return found


def leave(db: Database, waitlist_id: str, now: float) -> StoredEntry:
    found = find(db.conn, waitlist_id, now)
    if found is None:
        raise WaitlistEntryNotFound.of(waitlist_id)
    db.execute("DELETE FROM waitlist_entries WHERE id = ?", [waitlist_id])
    return found


def offer_freed(
    db: Database,
    provider_id: str,
    freed: Iterable[tuple[int, int]],
    now: float,
    rules: Rules,
    place: Place,
) -> int:
    """Hand the provider's time freed in these ranges to its line: each room of open time around
    them goes, start by start, to the first waiting entry in line it suits, as an ordinary hold
    of that entry's client held for the offer's time. Answers how many offers were made."""
    ranges = widened(freed)
    if not ranges:
        return 0
    low, high = ranges[0][0], ranges[-1][1]
    params = {"provider": provider_id, "now": now, "start": low, "end": high}
    shortest, longest = db.execute(_WISHES, params).fetchone()
    if shortest is None:
        return 0  # nobody waits for time there
    reach = longest * 60
    around = db.execute(_CELLS, {**params, "start": low - reach, "end": high + reach}).fetchall()
    made = 0
    for room in rooms(around, ranges, now, shortest * 60):
        params = {"provider": provider_id, "start": room.start, "end": room.end}
        for row in db.execute(_LINE, {**params, "room": room.length}).fetchall():
            made += _offer(db, provider_id, row, room, now, rules, place)
    return made


def anyone_waiting(conn: sqlite3.Connection, provider_id: str, now: float) -> bool:
    sql = ANYONE_WAITING.format(provider=":provider", now=":now")
    return conn.execute(sql, {"provider": provider_id, "now": now}).fetchone() is not None


def _slots_between(
    conn: sqlite3.Connection, provider_id: str, start: int, end: int
) -> list[SlotRow]:
    sql = (
        f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = ? AND start >= ? AND start < ?"
        " ORDER BY start"
    )
    return [SlotRow._make(row) for row in conn.execute(sql, [provider_id, start, end])]


def _offer(
    db: Database,
    provider_id: str,
    row: Sequence[Any],
    room: Room,
    now: float,
    rules: Rules,
    place: Place,
) -> int:
    """Offer the entry the first start in the room it may hold (1), or pass it by (0)."""
    waitlist_id, client_id, window_start, window_end, minutes, service_id = row
    service: ServiceType | None = None
    if service_id is not None:
        service = services.find(db.conn, service_id)
        if service is None or service.archived:
            return 0
    terms = entry_terms(rules, minutes, service)
    length = terms.length or rules.slot_seconds
    first = first_start(window_start, room, terms.horizon(now))
    last = last_start(window_end, room, length)
    if first > last:
        return 0

    def holds() -> int:
        count: int = db.execute(services.LIVE_HOLDS, {"client": client_id, "now": now}).fetchone()[
            0
        ]
        return count

    if holds() >= rules.max_holds:
        return 0  # passed over: it keeps its place for the next freed time
    offering = offer_rules(rules)
    params = {"provider": provider_id, "first": first, "last": last, "now": now}
    for (slot_id,) in db.execute(_OPEN_STARTS, params).fetchall():
        head = _slot(db.conn, slot_id)
        span = _slots_between(db.conn, provider_id, head.start, head.start + length)
        near = services.surroundings(db.conn, provider_id, head.start, length, terms, now, rules)
        try:
            plan = plan_reserve(head, span, [], client_id, terms, None, holds, now, offering, near)
        except BookingError:
            continue
        place(db, offer_plan(plan, waitlist_id))
        db.execute(
            OFFERED.format(head="?", start="?", until="?", now="?", entry="?"),
            [head.id, head.start, plan.appointment[0].held_until, now, waitlist_id],
        )
        return 1
    return 0


def settle(db: Database, kind: str, appointment_ids: Iterable[str | None], now: float) -> None:
    """The offers among these appointments ended by a change of `kind` (a confirm, a release or
    a lapse): their entries leave the line as fulfilled, declined or lapsed. A confirm or a
    release ends only a live offer: an offer that lapsed unswept, its slot since held by someone
    else under the same appointment id, stays lapsed."""
    ids = [i for i in appointment_ids if i is not None]
    if ids:
        sql = SETTLE.format(status=":status", now=":now", appointment=":id", kind=":kind")
        db.conn.executemany(
            sql,
            [
                {"status": ENDED_BY[kind], "now": now, "id": i, "kind": kind}
                for i in dict.fromkeys(ids)
            ],
        )


def follow_move(db: Database, old_id: str | None, moved: Sequence[SlotRow], now: float) -> None:
    """An offer moved stays its entry's offer, at its new place."""
    if old_id is None or not moved or moved[0].id == old_id:
        return
    head = moved[0]
    db.execute(
        FOLLOW_MOVE.format(head="?", start="?", until="?", now="?", old="?"),
        [head.id, head.start, head.held_until, now, old_id],
    )


def client_freed(
    db: Database, client_id: str | None, now: float, rules: Rules, place: Place
) -> int:
    """The client holds one appointment fewer: their waiting entries, passed over while they held
    the most allowed, may be offered what is open in their windows now."""
    if client_id is None:
        return 0
    sql = WAITING_OF_CLIENT.format(client=":client", now=":now")
    waiting = db.execute(sql, {"client": client_id, "now": now}).fetchall()
    return sum(
        offer_freed(db, provider_id, [(start, end)], now, rules, place)
        for provider_id, start, end in waiting
    )


def expire_windows(db: Database, now: float) -> int:
    """Waiting entries whose window has passed leave the line as expired, and offers whose time
    ran out are written down as lapsed (those whose hold lapsed are settled with it; this is for
    an offer whose slot someone else took once it had lapsed)."""
    cursor = db.execute(EXPIRE_WINDOWS.format(now=":now"), {"now": now})
    db.execute(LAPSE_OFFERS.format(now=":now"), {"now": now})
    return cursor.rowcount


def _slot(conn: sqlite3.Connection, slot_id: str) -> SlotRow:
    row = conn.execute(f"SELECT {SLOT_COLUMNS} FROM slots WHERE id = ?", [slot_id]).fetchone()
    return SlotRow._make(row)
