"""The SQLite store: schema through sqlite-utils, writes on one writer thread, reads on a pool.

Each business operation is one function run by the writer inside a transaction; the decisive step
of reserve, confirm and cancel is a single conditional UPDATE whose row count says who won.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from backend.rules.appointments import (
    NOTHING_AROUND,
    ChangeEntry,
    Plan,
    length_of,
    live,
    plan_cancel,
    plan_confirm,
    plan_move,
    plan_note,
    plan_reserve,
    took_one,
)
from backend.rules.booking import (
    SLOT_COLUMNS,
    BookingError,
    Rules,
    SlotNotFound,
    SlotRow,
    effective_status,
)
from backend.rules.calendar_ledger import KEEP_SECONDS, ledger_writes
from backend.rules.notices import NoticeStatus
from backend.rules.occupancy import occupied_cells
from backend.rules.schedule import Schedule
from backend.rules.service_types import ServiceType, Terms
from backend.rules.waitlist import Opened, freed_by, spans
from backend.runtime.levers import ALL, Levers
from backend.store.base import (
    CALENDAR_ENTRY_COLUMNS,
    CHANGE_COLUMNS,
    DELIVERIES_KEPT,
    FEED_AND_OWNER_NAME,
    IDEMPOTENCY_TTL,
    NAMED_PARTIES,
    WEBHOOK_COLUMNS,
    A,
    Answer,
    Attempted,
    CalendarEntry,
    CalendarFeed,
    CalendarFeedNotFound,
    CancelResult,
    ChangeRow,
    CommitThenRaise,
    ConfirmResult,
    DeliveryRecord,
    DueWebhook,
    FeedRole,
    IdempotencyKeyReused,
    MoveResult,
    NoteResult,
    Once,
    OpenSlot,
    OpenSlotsCursor,
    ProviderSummary,
    R,
    RemoveResult,
    Replayed,
    ReserveResult,
    RevokeResult,
    RollResult,
    ScheduleResult,
    StoredSchedule,
    StoredToken,
    StoredWebhook,
    SubmitResult,
    TokenNotFound,
    TokenRecord,
    TooManyWebhooks,
    WebhookNotFound,
    change_values,
    entries,
    named,
    new_slot_id,
    stable_until,
    stored_events,
    stored_webhook,
)
from backend.store.busy_records import (
    SOURCE_STATES,
    BusySource,
    Conflict,
    Refreshed,
    StoredBusy,
)
from backend.store.calendar_write_records import (
    SEALED_PASSWORDS,
    ClaimedWrite,
    WriteCalendar,
    WriteOutcome,
)
from backend.store.mail_records import (
    ManagedAppointment,
    NotificationFilter,
    Outgoing,
    PartyDetails,
    StoredNotification,
    Unchanged,
)
from backend.store.page_records import HoldLink, PageHold, ProviderProfile
from backend.store.sqlite import (
    busy,
    calendar_write,
    notifications,
    pages,
    profiles,
    schedules,
    services,
    waitlist,
)
from backend.store.sqlite.readers import SQLiteReaders
from backend.store.sqlite.schema import apply_migrations
from backend.store.sqlite.writer import SQLiteWriter
from backend.store.waitlist_records import NewEntry, StoredEntry, WaitlistFilter
from shared.grid import DAY_SECONDS, slot_starts

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000

_OPEN = "(status = 'AVAILABLE' OR (status = 'RESERVED' AND held_until <= :now))"


def _live(table: str = "") -> str:
    """Held or booked at `:now` (columns of `table`, when named)."""
    at = f"{table}." if table else ""
    return f"({at}status = 'CONFIRMED' OR ({at}status = 'RESERVED' AND {at}held_until > :now))"


_LIVE = _live()

_FITS = f"""
(SELECT SUM(run.duration) FROM slots run
  WHERE run.provider_id = slots.provider_id AND run.start >= slots.start
    AND run.start < slots.start + :span
    AND run.start + run.duration <= slots.start + :span AND {_OPEN}) = :span
"""
"""The slot starts a run of open slots `span` seconds long: the open slots that lie inside
[start, start + span] add up to all of it, and slots of one provider never overlap. (The bound on
`run.start` alone is what lets the index of (provider, start) stop at the run's end, rather than
read the provider's slots to the last.)"""

_WRITE_SLOT = """
UPDATE slots
   SET status = :status, client_id = :client_id, reserved_at = :reserved_at,
       held_until = :held_until, confirmed_at = :confirmed_at, appointment_id = :appointment_id,
       note = :note, service_id = :service_id, buffer_before = :buffer_before,
       buffer_after = :buffer_after
 WHERE id = :id
"""

_RELEASE_LAPSED = """
UPDATE slots
   SET status = 'AVAILABLE', client_id = NULL, reserved_at = NULL, held_until = NULL,
       appointment_id = NULL, note = NULL, service_id = NULL, buffer_before = 0, buffer_after = 0
 WHERE id = :id AND status = 'RESERVED' AND held_until <= :now
"""


_HOLD_ONE = """
UPDATE slots
   SET status = 'RESERVED', client_id = :client, reserved_at = :now,
       held_until = MIN(:now + :hold, start - :notice), confirmed_at = NULL,
       appointment_id = id, note = :note, service_id = NULL, buffer_before = 0, buffer_after = 0
"""
"""What a hold of one slot writes (the conditions are the statement's own)."""

_RESERVE_ONE = f"""{_HOLD_ONE}
 WHERE id = :id AND start > :horizon AND {_OPEN} AND ({services.LIVE_HOLDS}) < :max_holds
   AND {services.clear_of_buffers()} AND {services.clear_of_busy()}
RETURNING {SLOT_COLUMNS}
"""
"""The common case, a hold of one slot, as one conditional write; when it does not take, the
planner says why."""


_TAKE_OPEN_ONE = f"""{_HOLD_ONE}
 WHERE id = :id AND start = :time_slot AND status = 'AVAILABLE' AND start > :horizon
   AND (:length IS NULL OR duration = :length) AND ({services.LIVE_HOLDS}) < :max_holds
   AND {services.clear_of_buffers()} AND {services.clear_of_busy()}
RETURNING {SLOT_COLUMNS}
"""
"""The commonest write of all, a hold of one open slot, as one statement with nothing read
before it (the lean-writes lever); anything else takes the general path, which says why."""


_CONFIRM_ONE = f"""
UPDATE slots
   SET status = 'CONFIRMED', confirmed_at = :now, held_until = NULL
 WHERE id = :id AND appointment_id = id AND start = :time_slot
   AND status = 'RESERVED' AND held_until > :now AND (:client IS NULL OR client_id = :client)
   AND (service_id IS NULL
        OR start > :now + (SELECT notice_minutes * 60 FROM services WHERE id = slots.service_id))
   AND NOT EXISTS (SELECT 1 FROM slots AS other
                    WHERE other.appointment_id = slots.id AND other.id <> slots.id
                      AND {_live("other")})
RETURNING {SLOT_COLUMNS}
"""
"""The commonest confirm, of a live one-slot hold by its holder (or an admin), as one statement
with nothing read before it (the lean-writes lever); anything else takes the general path."""


_FEED_COLUMNS = "id, role, subject, created_at"

_CALENDAR_ENTRIES_OF = {
    role: f"""
SELECT {CALENDAR_ENTRY_COLUMNS}
  FROM calendar_entries AS e
  LEFT JOIN providers AS p ON p.id = e.provider_id
  LEFT JOIN clients AS c ON c.id = e.client_id
  LEFT JOIN services AS sv ON sv.id = e.service_id
 WHERE e.{role}_id = :subject AND e.ends > :since
   AND (e.status != 'CANCELLED' OR e.updated_at > :since)
 ORDER BY e.start, e.uid
"""
    for role in ("provider", "client")
}
"""A provider's or a client's reservations for its feed (the ledger's indexes by party and end)."""

_FORGET_CALENDAR_ENTRIES = """
DELETE FROM calendar_entries
 WHERE ends <= :since OR (status = 'CANCELLED' AND updated_at <= :since)
"""


_DUE_WEBHOOKS = """
SELECT id, provider_id FROM (
    SELECT id, provider_id, next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY provider_id ORDER BY next_attempt_at, id) AS turn
      FROM webhooks
     WHERE disabled_at IS NULL AND next_attempt_at <= :now
       AND (leased_until IS NULL OR leased_until <= :now)
       AND cursor < (SELECT COALESCE(MAX(seq), 0) FROM changes))
 WHERE turn <= :share
 ORDER BY turn, next_attempt_at, id
 LIMIT :limit
"""
"""The endpoints that are due, at most `share` an owner (the admins' endpoints are one owner's),
each owner's first before anyone's second."""

_CLAIM_WEBHOOKS = f"""
UPDATE webhooks SET leased_until = :until
 WHERE id IN (SELECT value FROM json_each(:ids))
   AND disabled_at IS NULL AND next_attempt_at <= :now
   AND (leased_until IS NULL OR leased_until <= :now)
RETURNING {WEBHOOK_COLUMNS}
"""

_RECORD_ATTEMPT = """
UPDATE webhooks
   SET cursor = :cursor, failures = :failures, next_attempt_at = :next,
       disabled_at = CASE WHEN :reason IS NULL THEN NULL ELSE :now END,
       disabled_reason = :reason, leased_until = :leased_until, batch_through = :batch_through
 WHERE id = :id AND cursor = :expected AND replays = :replays
"""

_NOT_ON_FULL_DAYS = """
NOT EXISTS (SELECT 1 FROM json_each(:full) AS day
             WHERE slots.start >= json_extract(day.value, '$[0]')
               AND slots.start < json_extract(day.value, '$[1]'))
"""
"""The start is on none of the days the type has reached its daily limit."""

_UNDELIVERED_KEPT = (
    "seq <= COALESCE((SELECT MIN(cursor) FROM webhooks WHERE disabled_at IS NULL), seq)"
)
"""The purge keeps every change an enabled webhook has yet to be sent."""


def _slot(row: Sequence[Any] | None) -> SlotRow | None:
    return None if row is None else SlotRow._make(row)


def _slots(rows: Iterable[Sequence[Any]]) -> list[SlotRow]:
    return [SlotRow._make(row) for row in rows]


def _fetch_slot(db: Database, slot_id: str) -> SlotRow | None:
    return _slot(db.execute(f"SELECT {SLOT_COLUMNS} FROM slots WHERE id = ?", [slot_id]).fetchone())


def _existing_slot(db: Database, slot_id: str) -> SlotRow:
    slot = _fetch_slot(db, slot_id)
    if slot is None:
        raise SlotNotFound(f"No time slot has id {slot_id}")
    return slot


def _append(db: Database, changes: Sequence[ChangeEntry], now: float, rules: Rules | None) -> None:
    """Append to the change log, and write what the changes do to the calendar ledger (with the
    notices that queues), in the transaction that made them."""
    db.conn.executemany(
        f"INSERT INTO changes ({CHANGE_COLUMNS}) VALUES ({', '.join(['?'] * 15)})",
        [change_values(change, now) for change in changes],
    )
    notifications.write_ledger(db.conn, ledger_writes(changes), now, rules)


def _record_changes(
    db: Database,
    kind: str,
    slots: Iterable[SlotRow],
    now: float,
    client_ids: Iterable[str | None],
) -> None:
    """Append changes of one kind to these slots (the schedules' writes and the sweeper's lapses
    use this): changes that tell nobody of a booking."""
    _append(db, entries(kind, slots, client_ids), now, None)


def _apply(db: Database, plan: Plan, now: float, rules: Rules) -> None:
    """Write what a plan decided: each slot's new state, then its changes."""
    db.conn.executemany(_WRITE_SLOT, [slot._asdict() for slot in plan.writes])
    _append(db, plan.changes, now, rules)


def _placing(now: float, rules: Rules) -> waitlist.Place:
    """How the waitlist writes an offer: as a reserve's plan is written."""

    def place(db: Database, plan: Plan) -> None:
        _apply(db, plan, now, rules)

    return place


class _FreedBySchedules(Opened):
    """The schedules' writes' change recorder, noting the time they open by provider, so that it
    is handed to the waitlist before the write commits."""

    def record(
        self,
        db: Database,
        kind: str,
        slots: Iterable[SlotRow],
        now: float,
        client_ids: Iterable[str | None],
    ) -> None:
        listed = list(slots)
        _record_changes(db, kind, listed, now, client_ids)
        self.note(kind, listed)

    def hand_over(self, db: Database, now: float, rules: Rules) -> None:
        for provider_id, ranges in self.by_provider.items():
            waitlist.offer_freed(db, provider_id, ranges, now, rules, _placing(now, rules))


LAPSED_HOLDS = f"SELECT {SLOT_COLUMNS} FROM slots WHERE held_until <= :now AND status = 'RESERVED'"
"""The holds that have lapsed, off the index of hold ends (no ORDER BY: see below)."""


def _lapsed_to_the_line(
    db: Database, provider_id: str | None, now: float, rules: Rules, *, near: int | None = None
) -> int:
    """Reopen lapsed holds (one provider's near a start, when named, or all) and hand them to the
    waitlist in the same transaction: a lapsed offer's entry leaves the line, and the freed time
    goes to the first entry in line it suits before anyone else may take it."""
    sql = LAPSED_HOLDS
    if provider_id is not None and not waitlist.anyone_waiting(db.conn, provider_id, now):
        return 0  # nobody waits: a lapsed hold is open to anyone, as it always was
    if provider_id is not None:
        sql += " AND provider_id = :provider AND start >= :low AND start < :high"
    reach = rules.max_appointment_seconds
    # Sorted here, not by the query: an ORDER BY made SQLite walk every slot in time order
    # (11 ms at 173k slots, once a second from the sweeper, with every write waiting behind it)
    # rather than read the few lapsed holds off the index of hold ends.
    found = db.execute(
        sql,
        {
            "now": now,
            "provider": provider_id,
            "low": (near or 0) - reach,
            "high": (near or 0) + 2 * reach,
        },
    )
    lapsed = sorted(_slots(found), key=lambda s: (s.start, s.provider_id))
    if not lapsed:
        return 0
    db.conn.executemany(_RELEASE_LAPSED, [{"id": s.id, "now": now} for s in lapsed])
    _record_changes(db, "expired", lapsed, now, [s.client_id for s in lapsed])
    waitlist.settle(db, "expired", (s.appointment_id for s in lapsed), now)
    place = _placing(now, rules)
    by_provider: dict[str, list[SlotRow]] = {}
    for slot in lapsed:
        by_provider.setdefault(slot.provider_id, []).append(slot)
    for provider, freed in by_provider.items():
        ranges = [r for slot in freed for r in freed_by([slot])]
        waitlist.offer_freed(db, provider, ranges, now, rules, place)
    for client_id in dict.fromkeys(s.client_id for s in lapsed):
        waitlist.client_freed(db, client_id, now, rules, place)
    return len(lapsed)


def _lapses_first(
    slot_ids: Sequence[str],
    now: float,
    rules: Rules,
    write: Callable[[Database], R],
    check: Callable[[SlotRow], None] = lambda slot: None,
) -> Callable[[Database], R]:
    """`write` (a reserve or a move onto the last of `slot_ids`), once the lapsed holds near that
    slot are handed to the line. The hand-over comes before an Idempotency-Key's SAVEPOINT and is
    kept when `write` then refuses (the lapsed time may be a waiting entry's offer now, which is
    why it refuses), while what the refused write did is undone as any refusal's. A write that
    refuses before it looks at the time (a slot that does not exist, a time that is not the
    slot's: `check`) is left to refuse without one."""

    def handing(db: Database) -> R:
        sql = f"SELECT {SLOT_COLUMNS} FROM slots WHERE id = ?"
        found = [_slot(db.execute(sql, [slot_id]).fetchone()) for slot_id in slot_ids]
        near = found[-1]
        if near is None or None in found:
            return write(db)
        try:
            check(near)
        except BookingError:
            return write(db)
        if not _lapsed_to_the_line(db, near.provider_id, now, rules, near=near.start):
            return write(db)
        db.conn.execute("SAVEPOINT handed")
        try:
            return write(db)
        except BookingError as refusal:
            db.conn.execute("ROLLBACK TO handed")
            raise CommitThenRaise(refusal) from None
        finally:
            db.conn.execute("RELEASE handed")

    return handing


def _busy_of(db: Database, source_id: str) -> list[tuple[int, int]]:
    """A calendar source's busy intervals as they stand, before a refresh replaces them."""
    rows = db.execute("SELECT start, ends FROM busy_intervals WHERE source_id = ?", [source_id])
    return [(int(start), int(ends)) for start, ends in rows]


def _appointment(db: Database, slot: SlotRow) -> list[SlotRow]:
    """Every slot that carries `slot`'s appointment id (none when it has none)."""
    if slot.appointment_id is None:
        return []
    sql = f"SELECT {SLOT_COLUMNS} FROM slots WHERE appointment_id = ? ORDER BY start"
    return _slots(db.execute(sql, [slot.appointment_id]))


def _run(db: Database, provider_id: str, start: int, length: int) -> list[SlotRow]:
    """A provider's slots starting in [start, start + length)."""
    sql = (
        f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = ? AND start >= ? AND start < ?"
        " ORDER BY start"
    )
    return _slots(db.execute(sql, [provider_id, start, start + length]))


def _naming(operation: Callable[[Database], A]) -> Callable[[Database], A]:
    """The operation, its result carrying the name of the appointment's type (read in its
    transaction, so that an answer stored for an Idempotency-Key has it too)."""

    def with_name(db: Database) -> A:
        result = operation(db)
        service_id = result.slots[0].service_id if result.slots else None
        if service_id is None:
            return result
        found = services.find(db.conn, service_id)
        return named(result, None if found is None else found.name)

    return with_name


def _at_most_once(
    once: Once | None, now: float, operation: Callable[[Database], R]
) -> Callable[[Database], R]:
    """Wrap a write so that, with an Idempotency-Key, its first answer is stored in the same
    transaction and a retry of the same request gets that answer back instead of acting again.

    A retry raises Replayed; a refusal is stored, committed and raised as it would be without a key.
    """
    if once is None:
        return operation

    def guarded(db: Database) -> R:
        stored = db.execute(
            "SELECT fingerprint, status, body, content_type FROM idempotency"
            " WHERE scope = ? AND key = ? AND created_at > ?",
            [once.scope, once.key, now - IDEMPOTENCY_TTL],
        ).fetchone()
        if stored is not None:
            if stored[0] != once.fingerprint:
                raise IdempotencyKeyReused(once.key)
            raise Replayed(Answer(stored[1], stored[2], stored[3], replayed=True))
        refusal: BookingError | None = None
        db.conn.execute("SAVEPOINT attempt")
        try:
            result = operation(db)
        except BookingError as error:
            db.conn.execute("ROLLBACK TO attempt")
            refusal = error
        db.conn.execute("RELEASE attempt")
        answer = once.refuse(refusal) if refusal is not None else once.render(result)
        db.execute(
            "INSERT OR REPLACE INTO idempotency"
            " (scope, key, fingerprint, status, body, content_type, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                once.scope,
                once.key,
                once.fingerprint,
                answer.status,
                answer.body,
                answer.content_type,
                now,
            ],
        )
        if refusal is not None:
            raise CommitThenRaise(refusal)
        return result

    return guarded


def _token(row: Sequence[Any]) -> TokenRecord:
    return TokenRecord(*row)


def _token_values(record: TokenRecord) -> list[Any]:
    return [
        record.token_id,
        record.role,
        record.subject,
        record.name,
        record.created_at,
        record.revoked_at,
    ]


_CHANGES_SINCE = """
SELECT ch.seq, ch.kind, ch.slot_id, ch.provider_id, ch.start, ch.status, ch.client_id, ch.at,
       cl.name, ch.appointment_id, ch.note, ch.held_until, ch.from_slot_id, ch.from_provider_id,
       ch.from_start, ch.service_id, sv.name, ch.data, ch.waitlist_id
  FROM changes ch LEFT JOIN clients cl ON cl.id = ch.client_id
  LEFT JOIN services sv ON sv.id = ch.service_id
 WHERE ch.seq > ? ORDER BY ch.seq LIMIT ?
"""
_TOKEN_FIELDS = "id, role, subject, name, created_at, revoked_at"  # noqa: S105 - column names


WRITE_CACHE_KIB = 64 * 1024
"""The write connection's page cache: large writes (a year of a schedule, the daily roll of a
thousand providers) touch index pages all over a big file, and SQLite's default 2 MiB made them
read the same pages again and again."""


def open_database(path: str, synchronous: str, *, checkpointer: bool = False) -> Database:
    """Open the write connection, set the pragmas, and migrate the schema. With `checkpointer`
    the connection never checkpoints the WAL itself: a Checkpointer does."""
    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db = Database(conn)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.enable_wal()
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
    if checkpointer:
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    apply_migrations(db)
    return db


CHECKPOINT_SECONDS = 0.5


class Checkpointer:
    """Copies the WAL back into the database file twice a second, on a thread and connection of
    its own, so that no commit waits for a checkpoint (SQLite's automatic checkpoint runs inside
    the commit that crosses 1,000 pages). PASSIVE never waits for a reader or the writer: what it
    cannot copy now it copies next time, and the writer starts the WAL over once all of it has
    been copied and no reader still needs it."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._every = CHECKPOINT_SECONDS
        self._stop = threading.Event()
        self.rounds = 0
        """Checkpoints run so far."""
        self._thread = threading.Thread(target=self._run, name="slotbook-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            while not self._stop.wait(self._every):
                self._checkpoint(conn)
                self.rounds += 1
            self._checkpoint(conn)
        finally:
            conn.close()

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:  # busy or locked: the next round copies it
            log.warning("checkpoint failed; trying again shortly", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class SQLiteStore:
    """A Store over one SQLite file."""

    def __init__(
        self,
        path: str,
        rules: Rules,
        *,
        synchronous: str = "FULL",
        read_threads: int = 0,
        levers: Levers = ALL,
    ) -> None:
        self.path = path
        self.rules = rules
        self.levers = levers
        db = open_database(path, synchronous, checkpointer=levers.checkpointer)
        self._pushed: int = db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]
        """The newest change handed to the feed (the writer thread's alone)."""
        self._writer = SQLiteWriter(db)
        self._readers = SQLiteReaders(path, read_threads, BUSY_TIMEOUT_MS)
        self.checkpointer = Checkpointer(path) if levers.checkpointer else None

    @property
    def engine(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    @property
    def where(self) -> str:
        return str(Path(self.path).resolve())

    # --- writes ----------------------------------------------------------------------------

    async def submit_availability(
        self, provider_id: str, start: int, end: int, now: float, *, once: Once | None = None
    ) -> SubmitResult:
        slot_seconds = self.rules.slot_seconds

        def submit(db: Database) -> SubmitResult:
            existing = db.execute(
                "SELECT start, duration FROM slots"
                " WHERE provider_id = ? AND start >= ? AND start < ?",
                [provider_id, start - DAY_SECONDS, end],
            ).fetchall()
            taken = occupied_cells(existing, slot_seconds)
            new = [
                SlotRow(
                    new_slot_id(now),
                    provider_id,
                    s,
                    slot_seconds,
                    "AVAILABLE",
                    None,
                    None,
                    None,
                    None,
                )
                for s in slot_starts(start, end, slot_seconds)
                if s not in taken
            ]
            db.conn.executemany(
                "INSERT INTO slots (id, provider_id, start, duration, status, created_at)"
                " VALUES (?, ?, ?, ?, 'AVAILABLE', ?)",
                [(s.id, s.provider_id, s.start, s.duration, now) for s in new],
            )
            _record_changes(db, "created", new, now, [None] * len(new))
            db.execute(
                "INSERT INTO providers (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                [provider_id, now],
            )
            schedules.note_hand_edit(db, provider_id, start, end, now, self.rules)
            place = _placing(now, self.rules)
            waitlist.offer_freed(db, provider_id, spans(new), now, self.rules, place)
            window = db.execute(
                f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = ? AND start >= ?"
                " AND start < ? ORDER BY start",
                [provider_id, start, end],
            )
            return SubmitResult(created=len(new), slots=_slots(window))

        return await self._writer.run(_at_most_once(once, now, submit))

    async def remove_availability(
        self, provider_id: str, start: int, end: int, now: float, *, once: Once | None = None
    ) -> RemoveResult:
        def remove(db: Database) -> RemoveResult:
            window = _slots(
                db.execute(
                    f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = ? AND start >= ?"
                    " AND start < ? ORDER BY start",
                    [provider_id, start, end],
                )
            )
            doomed = [s for s in window if effective_status(s, now) == "AVAILABLE"]
            db.conn.executemany(
                f"DELETE FROM slots WHERE id = :id AND {_OPEN}",
                [{"id": s.id, "now": now} for s in doomed],
            )
            _record_changes(db, "deleted", doomed, now, [None] * len(doomed))
            kept = [s for s in window if effective_status(s, now) != "AVAILABLE"]
            schedules.note_hand_edit(db, provider_id, start, end, now, self.rules)
            return RemoveResult(deleted=len(doomed), kept=kept)

        return await self._writer.run(_at_most_once(once, now, remove))

    # --- weekly schedules (backend/store/sqlite/schedules.py) ---------------------------------

    async def get_schedule(self, provider_id: str) -> StoredSchedule | None:
        return await self._writer.run(lambda db: schedules.stored(db, provider_id))

    async def set_schedule(
        self,
        provider_id: str,
        schedule: Schedule,
        now: float,
        *,
        keep_exceptions: bool = False,
        once: Once | None = None,
    ) -> ScheduleResult:
        def put(db: Database) -> ScheduleResult:
            freed = _FreedBySchedules()
            result = schedules.set_schedule(
                db, provider_id, schedule, now, self.rules, freed.record,
                keep_exceptions=keep_exceptions,
            )  # fmt: skip
            freed.hand_over(db, now, self.rules)
            return result

        return await self._writer.run(_at_most_once(once, now, put))

    async def remove_schedule(
        self, provider_id: str, now: float, *, once: Once | None = None
    ) -> RemoveResult:
        def drop(db: Database) -> RemoveResult:
            return schedules.remove_schedule(db, provider_id, now, _record_changes)

        return await self._writer.run(_at_most_once(once, now, drop))

    async def roll_schedules(self, now: float) -> RollResult:
        def roll(db: Database) -> RollResult:
            freed = _FreedBySchedules()
            result = schedules.roll(db, now, self.rules, freed.record)
            freed.hand_over(db, now, self.rules)
            return result

        return await self._writer.run(roll)

    async def reserve(
        self,
        slot_id: str,
        time_slot: float,
        client_id: str,
        now: float,
        *,
        length: int | None = None,
        note: str | None = None,
        service_id: str | None = None,
        once: Once | None = None,
        page: PageHold | None = None,
    ) -> ReserveResult:
        rules = self.rules

        lean = self.levers.lean_writes and service_id is None and page is None
        plain = services.buffer_params(rules, None, None)

        def reserve(db: Database) -> ReserveResult:
            nonlocal client_id
            if page is not None:
                client_id = pages.page_client(db.conn, page, now)
                pages.check_limits(db.conn, page, client_id, now)
                held = reserved(db)
                pages.link_hold(db.conn, page, held.slots, now)
                return held
            return reserved(db)

        def reserved(db: Database) -> ReserveResult:
            if lean:
                taken = _slot(
                    db.execute(
                        _TAKE_OPEN_ONE,
                        {
                            "client": client_id,
                            "now": now,
                            "id": slot_id,
                            "time_slot": time_slot,
                            "hold": rules.hold_seconds,
                            "notice": rules.notice_seconds,
                            "horizon": rules.notice_horizon(now),
                            "length": length,
                            "note": note,
                            "max_holds": rules.max_holds,
                            **plain,
                        },
                    ).fetchone()
                )
                if taken is not None:
                    _append(
                        db, [ChangeEntry("reserved", taken, "RESERVED", client_id)], now, self.rules
                    )
                    return ReserveResult([taken])
            first = _existing_slot(db, slot_id)
            rules.check_slot_time(first, time_slot)
            params = {"client": client_id, "now": now}
            terms = Terms.plain(rules, length)
            if service_id is not None:
                terms = services.offered(db.conn, service_id, first.provider_id).terms()
            one_slot = terms.length is None or terms.length == first.duration
            # A slot somebody holds or has booked cannot be taken by the one-slot write: go
            # straight to the planner, which says why (contended slots are refused often).
            open_now = effective_status(first, now) == "AVAILABLE"
            if one_slot and service_id is None and open_now:
                won = _slot(
                    db.execute(
                        _RESERVE_ONE,
                        {
                            **params,
                            "id": slot_id,
                            "hold": rules.hold_seconds,
                            "notice": rules.notice_seconds,
                            "horizon": rules.notice_horizon(now),
                            "note": note,
                            "max_holds": rules.max_holds,
                            **plain,
                        },
                    ).fetchone()
                )
                if won is not None:
                    _append(db, took_one(first, won), now, self.rules)
                    return ReserveResult([won])
            run_length = terms.length or first.duration
            span = [first] if one_slot else _run(db, first.provider_id, first.start, run_length)
            mine = _appointment(db, first) if first.client_id == client_id else []
            near = NOTHING_AROUND  # read only when the plan can get that far: the run is open
            if open_now:
                near = services.surroundings(
                    db.conn, first.provider_id, first.start, run_length, terms, now, rules
                )

            def holds() -> int:
                count: int = db.execute(services.LIVE_HOLDS, params).fetchone()[0]
                return count

            plan = plan_reserve(first, span, mine, client_id, terms, note, holds, now, rules, near)
            _apply(db, plan, now, self.rules)
            return ReserveResult(plan.appointment, plan.repeated)

        # A page hold makes its client before it may refuse: it needs its SAVEPOINT.
        return await self._writer.run(
            _lapses_first(
                [slot_id],
                now,
                rules,
                _at_most_once(once, now, _naming(reserve)),
                lambda first: rules.check_slot_time(first, time_slot),
            ),
            refuses_first=self.levers.lean_writes and page is None,
        )

    async def confirm(
        self,
        slot_id: str,
        time_slot: float,
        client_id: str | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> ConfirmResult:
        rules = self.rules

        lean = self.levers.lean_writes

        def confirm(db: Database) -> ConfirmResult:
            if lean:
                params = {"id": slot_id, "time_slot": time_slot, "client": client_id, "now": now}
                booked = _slot(db.execute(_CONFIRM_ONE, params).fetchone())
                if booked is not None:
                    entry = ChangeEntry("confirmed", booked, "CONFIRMED", booked.client_id)
                    _append(db, [entry], now, self.rules)
                    self._confirmed(db, [booked], now)
                    return ConfirmResult([booked])
            named = _existing_slot(db, slot_id)

            last = db.execute(
                "SELECT kind, service_id FROM changes WHERE slot_id = :id"
                " AND (:client IS NULL OR client_id = :client) ORDER BY seq DESC LIMIT 1",
                {"id": slot_id, "client": client_id},
            ).fetchone()
            service_id = named.service_id or (None if last is None else last[1])
            service = None if service_id is None else services.find(db.conn, service_id)

            def lapsed() -> bool:
                return last is not None and last[0] == "expired"

            appointment = _appointment(db, named)
            terms = None if service is None else service.terms()
            plan = plan_confirm(named, appointment, client_id, time_slot, lapsed, now, rules, terms)
            _apply(db, plan, now, self.rules)
            if not plan.repeated:
                self._confirmed(db, plan.appointment, now)
            return ConfirmResult(plan.appointment, plan.repeated)

        return await self._writer.run(
            _at_most_once(once, now, _naming(confirm)), refuses_first=self.levers.lean_writes
        )

    async def cancel(
        self,
        slot_id: str,
        client_id: str | None,
        provider_id: str | None,
        now: float,
        *,
        admin: bool = False,
        once: Once | None = None,
    ) -> CancelResult:
        rules = self.rules

        def cancel(db: Database) -> CancelResult:
            named = _existing_slot(db, slot_id)
            appointment = _appointment(db, named)
            plan = plan_cancel(named, appointment, client_id, provider_id, now, rules, admin=admin)
            _apply(db, plan, now, self.rules)
            held = effective_status(named, now) == "RESERVED"
            waitlist.settle(db, "cancelled", [named.appointment_id], now)
            place = _placing(now, rules)
            freed = freed_by(appointment)
            waitlist.offer_freed(db, named.provider_id, freed, now, rules, place)
            if held:
                waitlist.client_freed(db, named.client_id, now, rules, place)
            return CancelResult(plan.appointment, former_client_id=named.client_id)

        return await self._writer.run(
            _at_most_once(once, now, cancel), refuses_first=self.levers.lean_writes
        )

    async def move(
        self,
        slot_id: str,
        to_slot_id: str,
        time_slot: float,
        client_id: str | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> MoveResult:
        rules = self.rules

        def move(db: Database) -> MoveResult:
            named = _existing_slot(db, slot_id)
            target = _existing_slot(db, to_slot_id)
            appointment = _appointment(db, named)
            whole = live(appointment, now)
            length = length_of(whole) if whole else target.duration
            span = _run(db, target.provider_id, target.start, length)
            terms = services.terms_of(db.conn, whole[0]) if whole else None
            near = services.surroundings(
                db.conn, target.provider_id, target.start, length,
                terms or Terms.plain(rules, None), now, rules, named.appointment_id,
            )  # fmt: skip
            plan = plan_move(
                named, appointment, target, time_slot, span, client_id, now, rules, terms, near
            )
            _apply(db, plan, now, self.rules)
            if not plan.repeated:
                waitlist.follow_move(db, named.appointment_id, plan.appointment, now)
                kept = {s.id for s in plan.appointment}
                freed = [s for s in appointment if s.id not in kept]
                place = _placing(now, rules)
                freed_ranges = freed_by(freed) if freed else []
                waitlist.offer_freed(db, named.provider_id, freed_ranges, now, rules, place)
            return MoveResult(plan.appointment, plan.repeated)

        return await self._writer.run(
            _lapses_first(
                [slot_id, to_slot_id], now, rules, _at_most_once(once, now, _naming(move))
            ),
            refuses_first=self.levers.lean_writes,
        )

    async def set_note(
        self,
        slot_id: str,
        note: str | None,
        client_id: str | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> NoteResult:
        def set_note(db: Database) -> NoteResult:
            named = _existing_slot(db, slot_id)
            plan = plan_note(named, _appointment(db, named), client_id, note, now)
            _apply(db, plan, now, self.rules)
            return NoteResult(plan.appointment, plan.repeated)

        return await self._writer.run(
            _at_most_once(once, now, _naming(set_note)), refuses_first=self.levers.lean_writes
        )

    async def expire_lapsed(self, now: float) -> int:
        def expire(db: Database) -> int:
            waitlist.expire_windows(db, now)
            return _lapsed_to_the_line(db, None, now, self.rules)

        return await self._writer.run(expire)

    def _confirmed(self, db: Database, booked: Sequence[SlotRow], now: float) -> None:
        """A hold became a booking: an offer's entry is fulfilled, and its client holds one
        appointment fewer (their waiting entries may be offered time now)."""
        if not booked:
            return
        waitlist.settle(db, "confirmed", [booked[0].appointment_id], now)
        place = _placing(now, self.rules)
        waitlist.client_freed(db, booked[0].client_id, now, self.rules, place)

    # --- the waitlist (backend/store/sqlite/waitlist.py) ------------------------------------

    async def join_waitlist(
        self, entry: NewEntry, now: float, *, once: Once | None = None
    ) -> StoredEntry:
        def join(db: Database) -> StoredEntry:
            return waitlist.join(db, entry, now, self.rules, _placing(now, self.rules))

        return await self._writer.run(_at_most_once(once, now, join))

    async def waitlist(self, query: WaitlistFilter, now: float) -> list[StoredEntry]:
        return await self._readers.run(lambda conn: waitlist.entries(conn, query, now))

    async def find_waitlist_entry(self, waitlist_id: str, now: float) -> StoredEntry | None:
        return await self._readers.run(lambda conn: waitlist.find(conn, waitlist_id, now))

    async def leave_waitlist(
        self, waitlist_id: str, now: float, *, once: Once | None = None
    ) -> StoredEntry:
        def leave(db: Database) -> StoredEntry:
            return waitlist.leave(db, waitlist_id, now)

        return await self._writer.run(_at_most_once(once, now, leave))

    async def create_token(
        self,
        record: TokenRecord,
        secret_hash: str,
        *,
        rename: bool = False,
        once: Once | None = None,
    ) -> TokenRecord:
        def create(db: Database) -> TokenRecord:
            db.execute(
                f"INSERT INTO tokens ({_TOKEN_FIELDS}, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [*_token_values(record), secret_hash],
            )
            table = NAMED_PARTIES.get(record.role)
            if table is not None:  # the first token names its subject; a later one, if asked
                db.execute(
                    f"INSERT INTO {table} (id, name, created_at) VALUES (?, ?, ?)"
                    f" ON CONFLICT (id) DO UPDATE SET name = excluded.name"
                    f" WHERE ? OR {table}.name IS NULL",
                    [record.subject, record.name, record.created_at, rename],
                )
            return record

        return await self._writer.run(_at_most_once(once, record.created_at, create))

    async def revoke_token(
        self, token_id: str, now: float, *, once: Once | None = None
    ) -> RevokeResult:
        def revoke(db: Database) -> RevokeResult:
            changed = db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                [now, token_id],
            ).rowcount
            row = db.execute(
                f"SELECT {_TOKEN_FIELDS} FROM tokens WHERE id = ?", [token_id]
            ).fetchone()
            if row is None:
                raise TokenNotFound(f"No token has id {token_id}; GET /tokens lists them")
            return RevokeResult(_token(row), already=changed == 0)

        return await self._writer.run(_at_most_once(once, now, revoke))

    async def purge(self, now: float, keep_changes_seconds: float) -> None:
        def purge(db: Database) -> None:
            db.execute(
                f"DELETE FROM changes WHERE at < ? AND seq < (SELECT MAX(seq) FROM changes)"
                f" AND {_UNDELIVERED_KEPT}",
                [now - keep_changes_seconds],
            )
            db.execute("DELETE FROM idempotency WHERE created_at <= ?", [now - IDEMPOTENCY_TTL])
            db.execute(_FORGET_CALENDAR_ENTRIES, {"since": now - KEEP_SECONDS})
            db.execute("DELETE FROM webhook_deliveries WHERE at <= ?", [now - DELIVERIES_KEPT])
            notifications.purge(db.conn, now - KEEP_SECONDS)
            pages.purge(db.conn, now - DAY_SECONDS)
            calendar_write.purge(db.conn, now - KEEP_SECONDS)

        await self._writer.run(purge)

    async def changes_since(self, after: int, limit: int) -> list[ChangeRow]:
        return await self._readers.run(
            lambda conn: [
                ChangeRow._make(row) for row in conn.execute(_CHANGES_SINCE, [after, limit])
            ]
        )

    async def change_bounds(self) -> tuple[int, int]:
        sql = "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM changes"
        oldest, newest = await self._readers.run(lambda conn: conn.execute(sql).fetchone())
        return int(oldest), int(newest)

    def on_commit(self, callback: Callable[[Sequence[ChangeRow]], None]) -> None:
        """The writer reads what each commit logged on its own connection (it wrote the rows a
        moment ago) and hands them to the loop before it answers the writes that made them."""
        loop = asyncio.get_running_loop()
        conn = self._writer.connection

        def hand_over(logged: Sequence[ChangeRow]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody listens
                loop.call_soon_threadsafe(callback, logged)

        def committed() -> None:  # on the writer thread, after COMMIT
            sql = _CHANGES_SINCE
            logged = [ChangeRow._make(row) for row in conn.execute(sql, [self._pushed, -1])]
            if logged:
                self._pushed = logged[-1].seq
                hand_over(logged)

        def read_the_log() -> None:  # without the pushed-changes lever
            hand_over(())

        self._writer.after_commit = committed if self.levers.pushed_changes else read_the_log

    @property
    def commits_here(self) -> bool:
        return self.levers.pushed_changes

    def watch_writes(self, observe: Callable[[int, float], None]) -> None:
        self._writer.observe = observe

    @property
    def waiting_writes(self) -> int:
        return self._writer.waiting

    async def find_token(self, token_id: str) -> StoredToken | None:
        sql = f"SELECT {_TOKEN_FIELDS}, secret_hash FROM tokens WHERE id = ?"
        row = await self._readers.run(lambda conn: conn.execute(sql, [token_id]).fetchone())
        return None if row is None else StoredToken(_token(row[:6]), row[6])

    async def revoked_tokens(self) -> list[str]:
        sql = "SELECT id FROM tokens WHERE revoked_at IS NOT NULL"
        rows = await self._readers.run(lambda conn: conn.execute(sql).fetchall())
        return [row[0] for row in rows]

    async def list_tokens(self) -> list[TokenRecord]:
        sql = f"SELECT {_TOKEN_FIELDS} FROM tokens ORDER BY created_at, id"
        rows = await self._readers.run(lambda conn: conn.execute(sql).fetchall())
        return [_token(row) for row in rows]

    # --- reads -----------------------------------------------------------------------------

    async def list_open(
        self,
        start: float,
        end: float,
        provider_id: str | None,
        after: OpenSlotsCursor | None,
        limit: int,
        now: float,
        *,
        too_soon: bool = False,
        span: int | None = None,
        service: ServiceType | None = None,
    ) -> list[OpenSlot]:
        terms = None if service is None else service.terms()
        if terms is not None:
            span = terms.length
        notice = self.rules.notice_seconds if terms is None else terms.notice
        conditions = ["start >= :start", "start < :end", "start > :horizon", _OPEN]
        params: dict[str, Any] = {
            "start": start,
            "end": end,
            "horizon": now if too_soon else now + notice,
            "now": now,
            "limit": limit,
            **services.buffer_params(self.rules, terms, span),
        }
        if provider_id is not None:
            conditions.append("provider_id = :provider")
            params["provider"] = provider_id
        if after is not None:
            conditions.append(
                "(start > :after_start OR (start = :after_start AND provider_id > :after_provider))"
            )
            params["after_start"], params["after_provider"] = after
        if span is not None:
            conditions.append(_FITS)
        conditions.append(services.clear_of_buffers())
        conditions.append(services.clear_of_busy())
        if terms is not None and terms.max_advance is not None:
            conditions.append("start <= :latest")
            params["latest"] = now + terms.max_advance
        if service is not None and service.daily_limit is not None:
            conditions.append(_NOT_ON_FULL_DAYS)
        sql = (
            f"SELECT id, provider_id, start, duration FROM slots WHERE {' AND '.join(conditions)}"
            " ORDER BY start, provider_id LIMIT :limit"
        )

        def read(conn: sqlite3.Connection) -> list[OpenSlot]:
            if service is not None and service.daily_limit is not None:
                params["full"] = services.days_full(conn, service, start, end, now)
            return list(map(OpenSlot._make, conn.execute(sql, params)))

        return await self._readers.run(read)

    async def listing_stable_until(
        self,
        start: float,
        end: float,
        provider_id: str | None,
        now: float,
        *,
        too_soon: bool = False,
        span: int | None = None,
        service: ServiceType | None = None,
    ) -> float:
        terms = None if service is None else service.terms()
        if terms is not None:
            span = terms.length
        notice = self.rules.notice_seconds if terms is None else terms.notice
        offset = 0 if too_soon else notice
        reach = services.buffer_params(self.rules, terms, span)["reach"]
        mine = "provider_id = :provider AND" if provider_id is not None else ""
        sql = f"""
            SELECT (SELECT MIN(start) FROM slots
                     WHERE {mine} start >= :start AND start < :end AND start > :horizon),
                   (SELECT MIN(held_until) FROM slots
                     WHERE {mine} start >= :from AND start < :reach
                       AND status = 'RESERVED' AND held_until > :now),
                   (SELECT MIN(start) FROM slots
                     WHERE {mine} start >= :start AND start < :end AND start > :latest)
        """
        latest = math.inf if terms is None or terms.max_advance is None else terms.max_advance
        params = {
            "provider": provider_id,
            "start": start,
            "end": end,
            "from": start - reach,
            "reach": end + (span or 0) + reach,
            "horizon": now + offset,
            "now": now,
            "latest": now + latest if latest != math.inf else 2**62,
        }
        first, lapse, entering = await self._readers.run(
            lambda conn: conn.execute(sql, params).fetchone()
        )
        until = stable_until(first, lapse, offset)
        if entering is not None:  # a start comes within the type's booking window
            until = min(until, entering - latest)
        return until

    async def provider_slots(self, provider_id: str, start: float, end: float) -> list[SlotRow]:
        sql = (
            f"SELECT {SLOT_COLUMNS} FROM slots WHERE provider_id = ? AND start >= ? AND start < ?"
            " ORDER BY start"
        )
        return await self._readers.run(
            lambda conn: _slots(conn.execute(sql, [provider_id, start, end]))
        )

    # --- appointment types (backend/store/sqlite/services.py) ---------------------------------

    async def create_service(
        self, service: ServiceType, *, once: Once | None = None
    ) -> ServiceType:
        def create(db: Database) -> ServiceType:
            return services.create(db.conn, service)

        return await self._writer.run(_at_most_once(once, service.created_at, create))

    async def services_of(self, provider_id: str, *, archived: bool) -> list[ServiceType]:
        return await self._readers.run(
            lambda conn: services.of_provider(conn, provider_id, archived)
        )

    async def find_service(self, service_id: str) -> ServiceType | None:
        return await self._readers.run(lambda conn: services.find(conn, service_id))

    async def update_service(
        self,
        service_id: str,
        changes: dict[str, object],
        provider_id: str | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> ServiceType:
        def update(db: Database) -> ServiceType:
            return services.update(db.conn, service_id, changes, provider_id, now, self.rules)

        return await self._writer.run(_at_most_once(once, now, update))

    async def client_reservations(self, client_id: str, now: float) -> list[SlotRow]:
        sql = (
            f"SELECT {SLOT_COLUMNS} FROM slots WHERE client_id = :client AND {_LIVE} ORDER BY start"
        )
        return await self._readers.run(
            lambda conn: _slots(conn.execute(sql, {"client": client_id, "now": now}))
        )

    async def providers(self, now: float) -> list[ProviderSummary]:
        sql = f"""
            SELECT p.id, p.name,
                   (SELECT MIN(start) FROM slots
                     WHERE provider_id = p.id AND start > :horizon AND {_OPEN})
              FROM providers p ORDER BY p.id
        """
        params = {"horizon": self.rules.notice_horizon(now), "now": now}
        rows = await self._readers.run(lambda conn: conn.execute(sql, params).fetchall())
        return [ProviderSummary(*row) for row in rows]

    async def service_names(self, service_ids: Collection[str]) -> dict[str, str]:
        if not service_ids:
            return {}
        sql = "SELECT id, name FROM services WHERE id IN (SELECT value FROM json_each(?))"
        ids = json.dumps(sorted(service_ids))
        rows = await self._readers.run(lambda conn: conn.execute(sql, [ids]).fetchall())
        return dict(rows)

    async def client_names(self, client_ids: Collection[str]) -> dict[str, str]:
        if not client_ids:
            return {}
        sql = "SELECT id, name FROM clients WHERE id IN (SELECT value FROM json_each(?))"
        ids = json.dumps(sorted(client_ids))
        rows = await self._readers.run(lambda conn: conn.execute(sql, [ids]).fetchall())
        return dict(rows)

    # --- calendar feeds --------------------------------------------------------------------

    async def create_calendar_feed(
        self, feed: CalendarFeed, secret_hash: str, *, once: Once | None = None
    ) -> CalendarFeed:
        def create(db: Database) -> CalendarFeed:
            db.execute(
                "INSERT INTO calendar_feeds (id, secret_hash, role, subject, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [feed.feed_id, secret_hash, feed.role, feed.subject, feed.created_at],
            )
            return feed

        return await self._writer.run(_at_most_once(once, feed.created_at, create))

    async def calendar_feeds(
        self, role: FeedRole | None, subject: str | None
    ) -> list[CalendarFeed]:
        sql = (
            f"SELECT {_FEED_COLUMNS} FROM calendar_feeds"
            " WHERE ? IS NULL OR (role = ? AND subject = ?) ORDER BY created_at, id"
        )
        rows = await self._readers.run(
            lambda conn: conn.execute(sql, [role, role, subject]).fetchall()
        )
        return [CalendarFeed(*row) for row in rows]

    async def calendar_feed_by_secret(self, secret_hash: str) -> CalendarFeed | None:
        sql = FEED_AND_OWNER_NAME.format(param="?")
        row = await self._readers.run(lambda conn: conn.execute(sql, [secret_hash]).fetchone())
        return None if row is None else CalendarFeed(*row)

    async def delete_calendar_feed(
        self,
        feed_id: str,
        owner: tuple[FeedRole, str] | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> CalendarFeed:
        role, subject = owner if owner is not None else (None, None)

        def delete(db: Database) -> CalendarFeed:
            row = db.execute(
                f"DELETE FROM calendar_feeds WHERE id = ? AND (? IS NULL OR (role = ?"
                f" AND subject = ?)) RETURNING {_FEED_COLUMNS}",
                [feed_id, role, role, subject],
            ).fetchone()
            if row is None:
                raise CalendarFeedNotFound(f"No calendar feed of yours has id {feed_id}")
            return CalendarFeed(*row)

        return await self._writer.run(_at_most_once(once, now, delete))

    async def calendar_entries(
        self, role: FeedRole, subject: str, since: float
    ) -> list[CalendarEntry]:
        sql = _CALENDAR_ENTRIES_OF[role]
        rows = await self._readers.run(
            lambda conn: conn.execute(sql, {"subject": subject, "since": since}).fetchall()
        )
        return [CalendarEntry(*row) for row in rows]

    # --- e-mail ----------------------------------------------------------------------------

    async def party_details(self, role: str, party_id: str) -> PartyDetails | None:
        return await self._readers.run(lambda conn: notifications.details(conn, role, party_id))

    async def set_party_details(
        self,
        role: str,
        party_id: str,
        *,
        email: str | Unchanged | None,
        time_zone: str | Unchanged | None,
        now: float,
    ) -> PartyDetails:
        return await self._writer.run(
            lambda db: notifications.set_details(db.conn, role, party_id, email, time_zone, now)
        )

    # --- the booking page's profiles (backend/store/sqlite/profiles.py) -------------------------

    async def provider_profile(self, provider_id: str) -> ProviderProfile | None:
        return await self._readers.run(lambda conn: profiles.find(conn, provider_id))

    async def set_provider_profile(
        self, provider_id: str, changes: dict[str, object], now: float, *, once: Once | None = None
    ) -> ProviderProfile:
        def update(db: Database) -> ProviderProfile:
            return profiles.update(db.conn, provider_id, changes)

        return await self._writer.run(_at_most_once(once, now, update))

    async def booking_pages(self) -> list[ProviderProfile]:
        return await self._readers.run(profiles.on_pages)

    async def claim_notifications(self, now: float, limit: int, lease: float) -> list[Outgoing]:
        return await self._writer.run(lambda db: notifications.claim(db.conn, now, limit, lease))

    async def record_notification(
        self,
        notification_id: str,
        *,
        status: NoticeStatus,
        error: str | None,
        now: float,
        retry_at: float | None,
    ) -> None:
        def record(db: Database) -> None:
            notifications.record(
                db.conn, notification_id, status=status, error=error, now=now, retry_at=retry_at
            )

        await self._writer.run(record)

    async def notifications(self, query: NotificationFilter) -> list[StoredNotification]:
        return await self._readers.run(lambda conn: notifications.listed(conn, query))

    async def notification_counts(self) -> dict[str, int]:
        return await self._readers.run(notifications.counts)

    async def managed_appointment(self, secret: str) -> ManagedAppointment | None:
        return await self._readers.run(lambda conn: notifications.managed(conn, secret))

    # --- a provider's own calendars --------------------------------------------------------

    async def create_busy_source(
        self, source: BusySource, *, most: int | None = None, once: Once | None = None
    ) -> BusySource:
        def create(db: Database) -> BusySource:
            return busy.create(db.conn, source, most)

        return await self._writer.run(_at_most_once(once, source.created_at, create))

    async def find_busy_source(self, source_id: str) -> BusySource | None:
        return await self._readers.run(lambda conn: busy.find(conn, source_id))

    async def busy_sources(self, provider_id: str) -> list[BusySource]:
        return await self._readers.run(lambda conn: busy.of_provider(conn, provider_id))

    async def record_busy_refresh(
        self, source_id: str, refreshed: Refreshed, now: float
    ) -> BusySource | None:
        def record(db: Database) -> BusySource | None:
            was = busy.find(db.conn, source_id)
            before = _busy_of(db, source_id)
            recorded = busy.record_refresh(db.conn, source_id, refreshed, now)
            if was is not None and refreshed.intervals is not None:
                self._busy_gone(db, was.provider_id, before, now)
            return recorded

        return await self._writer.run(record)

    async def busy_conflicts(self, provider_id: str, now: float) -> list[Conflict]:
        return await self._readers.run(lambda conn: busy.conflicts(conn, provider_id, now))

    async def busy_source_states(self, now: float) -> dict[str, int]:
        sql = SOURCE_STATES.format(now=":now")
        return await self._readers.run(
            lambda conn: {str(s): int(n) for s, n in conn.execute(sql, {"now": now})}
        )

    async def sealed_passwords(self) -> int:
        return await self._readers.run(
            lambda conn: int(conn.execute(SEALED_PASSWORDS).fetchone()[0])
        )

    async def claim_busy_sources(
        self, now: float, limit: int, lease: float, *, only: str | None = None
    ) -> list[BusySource]:
        return await self._writer.run(lambda db: busy.claim(db.conn, now, limit, lease, only))

    async def update_busy_source(
        self, source_id: str, changes: dict[str, object], now: float
    ) -> BusySource | None:
        return await self._writer.run(lambda db: busy.update(db.conn, source_id, changes, now))

    async def delete_busy_source(
        self,
        source_id: str,
        now: float,
        *,
        provider_id: str | None = None,
        once: Once | None = None,
    ) -> BusySource:
        def delete(db: Database) -> BusySource:
            before = _busy_of(db, source_id)
            gone = busy.delete(db.conn, source_id, provider_id)
            self._busy_gone(db, gone.provider_id, before, now)
            return gone

        return await self._writer.run(_at_most_once(once, now, delete))

    def _busy_gone(
        self, db: Database, provider_id: str, before: list[tuple[int, int]], now: float
    ) -> None:
        """Busy times that went away free what they covered: the waitlist is offered it."""
        place = _placing(now, self.rules)
        waitlist.offer_freed(db, provider_id, before, now, self.rules, place)

    async def busy_intervals(self, provider_id: str, start: float, end: float) -> list[StoredBusy]:
        return await self._readers.run(lambda conn: busy.intervals(conn, provider_id, start, end))

    # --- the calendar bookings are written back to ---------------------------------------

    async def set_write_calendar(
        self,
        provider_id: str,
        url: str,
        username: str | None,
        password_sealed: str | None,
        now: float,
    ) -> tuple[WriteCalendar, bool]:
        return await self._writer.run(
            lambda db: calendar_write.set_calendar(
                db.conn, provider_id, url, username, password_sealed, now
            )
        )

    async def write_calendar(self, provider_id: str) -> WriteCalendar | None:
        return await self._readers.run(lambda conn: calendar_write.find(conn, provider_id))

    async def delete_write_calendar(self, provider_id: str) -> WriteCalendar | None:
        return await self._writer.run(
            lambda db: calendar_write.delete_calendar(db.conn, provider_id)
        )

    async def claim_calendar_writes(
        self, now: float, limit: int, lease: float
    ) -> list[ClaimedWrite]:
        return await self._writer.run(lambda db: calendar_write.claim(db.conn, now, limit, lease))

    async def record_calendar_write(self, write_id: str, outcome: WriteOutcome, now: float) -> None:
        await self._writer.run(lambda db: calendar_write.record(db.conn, write_id, outcome, now))

    # --- the booking page ------------------------------------------------------------------

    async def hold_link(
        self, now: float, *, secret: str | None = None, ref: str | None = None
    ) -> HoldLink | None:
        return await self._readers.run(
            lambda conn: pages.hold_link(conn, now, secret=secret, ref=ref)
        )

    async def use_hold_link(self, secret: str, now: float) -> None:
        await self._writer.run(lambda db: pages.use_hold_link(db.conn, secret, now))

    # --- webhooks --------------------------------------------------------------------------

    async def create_webhook(
        self, hook: StoredWebhook, *, most: int, once: Once | None = None
    ) -> StoredWebhook:
        def create(db: Database) -> StoredWebhook:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM webhooks WHERE provider_id IS ?", [hook.provider_id]
            ).fetchone()
            if count >= most:
                raise TooManyWebhooks.of(hook.provider_id, most)
            row = db.execute(
                f"INSERT INTO webhooks ({WEBHOOK_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) FROM changes), 0, ?,"
                f" NULL, NULL, ?, NULL, 0) RETURNING {WEBHOOK_COLUMNS}",
                [
                    hook.webhook_id, hook.url, stored_events(hook), hook.description,
                    hook.provider_id, hook.secret, hook.created_at, hook.created_at, hook.format,
                ],
            ).fetchone()  # fmt: skip
            return stored_webhook(row)

        return await self._writer.run(_at_most_once(once, hook.created_at, create))

    async def list_webhooks(self, provider_id: str | None) -> list[StoredWebhook]:
        sql = (
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE ? IS NULL OR provider_id = ?"
            " ORDER BY created_at, id"
        )
        rows = await self._readers.run(
            lambda conn: conn.execute(sql, [provider_id, provider_id]).fetchall()
        )
        return [stored_webhook(row) for row in rows]

    async def find_webhook(self, webhook_id: str) -> StoredWebhook | None:
        sql = f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?"
        row = await self._readers.run(lambda conn: conn.execute(sql, [webhook_id]).fetchone())
        return None if row is None else stored_webhook(row)

    async def delete_webhook(
        self, webhook_id: str, provider_id: str | None, now: float, *, once: Once | None = None
    ) -> StoredWebhook:
        def delete(db: Database) -> StoredWebhook:
            row = db.execute(
                "DELETE FROM webhooks WHERE id = ? AND (? IS NULL OR provider_id = ?)"
                f" RETURNING {WEBHOOK_COLUMNS}",
                [webhook_id, provider_id, provider_id],
            ).fetchone()
            if row is None:
                raise WebhookNotFound(f"No webhook of yours has id {webhook_id}")
            db.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", [webhook_id])
            return stored_webhook(row)

        return await self._writer.run(_at_most_once(once, now, delete))

    async def replay_webhook(
        self,
        webhook_id: str,
        provider_id: str | None,
        since: int,
        now: float,
        *,
        once: Once | None = None,
    ) -> StoredWebhook:
        def replay(db: Database) -> StoredWebhook:
            row = db.execute(
                "UPDATE webhooks SET cursor = ?, failures = 0, next_attempt_at = ?,"
                " disabled_at = NULL, disabled_reason = NULL, batch_through = NULL,"
                " leased_until = NULL, replays = replays + 1"  # a delivery under way stops
                " WHERE id = ? AND (? IS NULL OR provider_id = ?)"
                f" RETURNING {WEBHOOK_COLUMNS}",
                [since, now, webhook_id, provider_id, provider_id],
            ).fetchone()
            if row is None:
                raise WebhookNotFound(f"No webhook of yours has id {webhook_id}")
            return stored_webhook(row)

        return await self._writer.run(_at_most_once(once, now, replay))

    async def due_webhooks(self, now: float, share: int, limit: int) -> list[DueWebhook]:
        params = {"now": now, "share": share, "limit": limit}
        rows = await self._readers.run(lambda conn: conn.execute(_DUE_WEBHOOKS, params).fetchall())
        return [DueWebhook(*row) for row in rows]

    async def claim_webhooks(
        self, webhook_ids: Sequence[str], now: float, until: float
    ) -> list[StoredWebhook]:
        params = {"ids": json.dumps(list(webhook_ids)), "now": now, "until": until}

        def claim(db: Database) -> list[StoredWebhook]:
            return [stored_webhook(row) for row in db.execute(_CLAIM_WEBHOOKS, params).fetchall()]

        return await self._writer.run(claim)

    async def record_attempt(self, webhook_id: str, attempted: Attempted, now: float) -> bool:
        a = attempted

        def record(db: Database) -> bool:
            changed = db.execute(
                _RECORD_ATTEMPT,
                {
                    "id": webhook_id, "expected": a.expected, "cursor": a.cursor,
                    "failures": a.failures, "next": a.next_attempt_at,
                    "reason": a.disabled_reason, "leased_until": a.leased_until, "now": now,
                "replays": a.replays,
                    "batch_through": a.batch_through,
                },
            ).rowcount  # fmt: skip
            if changed and a.delivery is not None:
                d = a.delivery
                db.execute(
                    "INSERT INTO webhook_deliveries"
                    " (webhook_id, seq, attempt, at, status_code, error, latency_ms, first_seq)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        webhook_id, d.seq, d.attempt, d.at, d.status_code, d.error, d.latency_ms,
                        d.first_seq,
                    ],
                )  # fmt: skip
            return bool(changed)

        return await self._writer.run(record)

    async def webhook_deliveries(self, webhook_id: str, limit: int) -> list[DeliveryRecord]:
        sql = (
            "SELECT seq, attempt, at, status_code, error, latency_ms, first_seq"
            " FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?"
        )
        rows = await self._readers.run(
            lambda conn: conn.execute(sql, [webhook_id, limit]).fetchall()
        )
        return [DeliveryRecord(*row) for row in rows]

    # --- upkeep ----------------------------------------------------------------------------

    async def check(self) -> None:
        if not self._writer.is_alive():
            raise RuntimeError("the database writer has stopped")
        await self._readers.run(lambda conn: conn.execute("SELECT 1 FROM slots LIMIT 1").fetchall())

    async def close(self) -> None:
        self._readers.close()
        self._writer.close()
        if self.checkpointer is not None:
            self.checkpointer.close()
