"""The PostgreSQL store (asyncpg): the Store protocol for several server processes, on one host or
many, sharing one database.

Every business operation is one transaction on a pooled connection, at READ COMMITTED. What makes
that safe with any number of processes:

- The decisive step of reserve, confirm and cancel is one conditional UPDATE ... RETURNING: the row
  lock makes a second writer wait, and PostgreSQL re-checks the WHERE clause against the row the
  first one committed, so only one of them can win.
- The hold limit counts a client's holds across different slots, which row locks cannot protect
  (write skew), so a reserve (and a waitlist offer) takes a transaction-scoped advisory lock on
  its client id. Writes to a provider's slots lock their provider id the same way, so two
  overlapping windows submitted at once cannot create one slot twice, and time freed there is
  handed to the provider's waitlist exactly once, in line order (backend/store/postgres/
  waitlist.py); an Idempotency-Key locks itself, so a retry sent to another process waits for the
  first answer and then replays it.
- Changes are appended without a seq, so writers never queue on a counter: once a write has
  committed, a sequencer round numbers every committed change in id order, gap-free, and NOTIFYs
  every process's change feed (postgres_sequencer, postgres_listener).

Locks are taken in one order (Idempotency-Key, providers, clients, slot rows; see
backend/store/postgres/locks.py for the few exceptions and how a lock met out of order is taken),
so writers wait for each other but do not deadlock.

Times are epoch seconds (double precision; a slot's start is a bigint), as in the SQLite store, so
the rules in backend/rules/booking.py apply unchanged.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import asyncpg

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
)
from backend.rules.booking import (
    SLOT_COLUMNS,
    BookingError,
    Rules,
    SlotNotFound,
    SlotRow,
    SlotTaken,
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
from backend.store.postgres import (
    busy,
    calendar_write,
    notifications,
    pages,
    profiles,
    schedules,
    services,
    waitlist,
)
from backend.store.postgres.listener import ChangeListener
from backend.store.postgres.locks import (
    BUSY_SOURCE_OWNER_LOCKS,
    CLIENT_LOCKS,
    KEY_LOCKS,
    PAGE_ADDRESS_LOCKS,
    PROVIDER_LOCKS,
    WEBHOOK_OWNER_LOCKS,
    Locking,
    StartOver,
    lock,
    lock_client,
    lock_provider,
    lock_providers,
    track,
    untrack,
)
from backend.store.postgres.schema import Connection, apply_migrations
from backend.store.postgres.sequencer import Sequencer
from backend.store.waitlist_records import NewEntry, StoredEntry, WaitlistFilter
from shared.grid import DAY_SECONDS, slot_starts

Operation = Callable[[Connection], Awaitable[R]]

POOL_SIZE = 10
"""Connections per server process at most; writes of one slot or one client wait on locks, not on
the pool, so a few are plenty."""

CLOSE_SECONDS = 10.0
"""How long close() lets running queries finish before cutting their connections."""

BIGINT_MAX = 2**63 - 1

DEADLOCK_RETRIES = 3

SLOT_FIELDS = SLOT_COLUMNS
_S_FIELDS = ", ".join(f"s.{name}" for name in SLOT_FIELDS.split(", "))
_CHANGES_SINCE = """
SELECT ch.seq, ch.kind, ch.slot_id, ch.provider_id, ch.start, ch.status, ch.client_id, ch.at,
       cl.name, ch.appointment_id, ch.note, ch.held_until, ch.from_slot_id, ch.from_provider_id,
       ch.from_start, ch.service_id, sv.name, ch.data, ch.waitlist_id
  FROM changes ch LEFT JOIN clients cl ON cl.id = ch.client_id
  LEFT JOIN services sv ON sv.id = ch.service_id
 WHERE ch.seq > $1 ORDER BY ch.seq LIMIT $2
"""
_TOKEN_FIELDS = "id, role, subject, name, created_at, revoked_at"  # noqa: S105 - column names


def _open_at(now: str, prefix: str = "") -> str:
    """Nobody holds the slot at `now` (a parameter): never held, released, or the hold ran out."""
    return (
        f"({prefix}status = 'AVAILABLE'"
        f" OR ({prefix}status = 'RESERVED' AND {prefix}held_until <= {now}))"
    )


def _live_at(now: str) -> str:
    return f"(status = 'CONFIRMED' OR (status = 'RESERVED' AND held_until > {now}))"


_SLOT = f"SELECT {SLOT_FIELDS} FROM slots WHERE id = $1"
_SLOTS_NAMED = f"SELECT {SLOT_FIELDS} FROM slots WHERE id = ANY($1::text[])"

_WRITE_SLOTS = """
UPDATE slots AS s
   SET status = n.status, client_id = n.client_id, reserved_at = n.reserved_at,
       held_until = n.held_until, confirmed_at = n.confirmed_at,
       appointment_id = n.appointment_id, note = n.note, service_id = n.service_id,
       buffer_before = n.buffer_before, buffer_after = n.buffer_after
  FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[],
              $7::text[], $8::text[], $9::text[], $10::int[], $11::int[])
       AS n(id, status, client_id, reserved_at, held_until, confirmed_at, appointment_id, note,
            service_id, buffer_before, buffer_after)
 WHERE s.id = n.id
"""


_LOCKED = f"SELECT {SLOT_FIELDS} FROM slots WHERE {{}} ORDER BY provider_id, start FOR UPDATE"
"""Rows locked in one statement and always in (provider, start) order, so that two operations
that lock overlapping rows wait for each other instead of deadlocking."""

_APPOINTMENT = "appointment_id = $1"
_BY_APPOINTMENT = f"SELECT {SLOT_FIELDS} FROM slots WHERE {_APPOINTMENT}"
_RUN = "provider_id = $1 AND start >= $2 AND start < $3"
_APPOINTMENT_AND_RUN = "appointment_id = $1 OR (provider_id = $2 AND start >= $3 AND start < $4)"

_FITS = f"""
(SELECT SUM(run.duration) FROM slots run
  WHERE run.provider_id = slots.provider_id AND run.start >= slots.start
    AND run.start < slots.start + {{span}}
    AND run.start + run.duration <= slots.start + {{span}} AND {_open_at("$4", "run.")})
  = {{span}}
"""
"""The slot starts a run of open slots `span` seconds long (see the SQLite store)."""

_APPEND_CHANGES = f"""
INSERT INTO pending_changes ({CHANGE_COLUMNS})
SELECT c.kind, c.slot_id, c.provider_id, c.start, c.status, c.client_id, $7, c.appointment_id,
       c.note, c.held_until, c.from_slot_id, c.from_provider_id, c.from_start, c.service_id,
       c.waitlist_id
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
              $8::text[], $9::text[], $10::float8[], $11::text[], $12::text[], $13::bigint[],
              $14::text[], $15::text[])
       WITH ORDINALITY AS c(kind, slot_id, provider_id, start, status, client_id, appointment_id,
                            note, held_until, from_slot_id, from_provider_id, from_start,
                            service_id, waitlist_id, n)
 ORDER BY c.n
"""
"""A write's changes, in order, with ids and without seqs: a sequencer round numbers them once
the write has committed (backend/store/postgres/sequencer.py)."""

_HOLD_OPEN_SLOT = (
    f"SELECT {SLOT_FIELDS} FROM slotbook_hold_open_slot($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
    f" {CLIENT_LOCKS}, {PROVIDER_LOCKS}, $11, $12)"
)
"""A hold of one open slot in one round trip, or no row (the lean-writes lever; migration 0007)."""

_CONFIRM_ONE_SLOT = f"""
WITH booked AS (SELECT * FROM slotbook_confirm_one_slot($1, $2, $3, $4, $5)),
     queued AS ({calendar_write.LEAN_CONFIRM_QUEUES.format(now="$4")})
SELECT {SLOT_FIELDS} FROM booked
"""
"""The confirm of a one-slot hold in one round trip, or no row (the lean-writes lever); with it,
in the same statement, the write it asks of its provider's write-back calendar, if they have one
(the function predates those calendars)."""

_LAST_KIND = """
SELECT kind, service_id FROM (
    SELECT kind, service_id, 1 AS pending, id AS n FROM pending_changes
     WHERE slot_id = $1 AND ($2::text IS NULL OR client_id = $2)
    UNION ALL
    SELECT kind, service_id, 0, seq FROM changes
     WHERE slot_id = $1 AND ($2::text IS NULL OR client_id = $2)
) AS both_logs ORDER BY pending DESC, n DESC LIMIT 1
"""
"""The kind of the last change to a slot (by a client), one that awaits its seq included."""

_WINDOW = f"SELECT {SLOT_FIELDS} FROM slots WHERE provider_id = $1 AND start >= $2 AND start < $3"

_DUE_WEBHOOKS = """
SELECT id, provider_id FROM (
    SELECT id, provider_id, next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY provider_id ORDER BY next_attempt_at, id) AS turn
      FROM webhooks
     WHERE disabled_at IS NULL AND next_attempt_at <= $1
       AND (leased_until IS NULL OR leased_until <= $1)
       AND cursor < (SELECT COALESCE(MAX(seq), 0) FROM changes)) AS due
 WHERE turn <= $2
 ORDER BY turn, next_attempt_at, id
 LIMIT $3
"""
"""The endpoints that are due, at most `share` an owner (the admins' endpoints are one owner's),
each owner's first before anyone's second."""

_CLAIM_WEBHOOKS = f"""
UPDATE webhooks SET leased_until = $3
 WHERE id IN (SELECT id FROM webhooks
               WHERE id = ANY($1::text[]) AND disabled_at IS NULL AND next_attempt_at <= $2
                 AND (leased_until IS NULL OR leased_until <= $2)
               FOR UPDATE SKIP LOCKED)
RETURNING {WEBHOOK_COLUMNS}
"""
"""Lease the endpoints chosen, if still due (one statement: two processes never lease the same
one)."""

_RECORD_ATTEMPT = """
WITH done AS (
    UPDATE webhooks
       SET cursor = $3, failures = $4, next_attempt_at = $5,
           disabled_at = CASE WHEN $6::text IS NULL THEN NULL ELSE $8::float8 END,
           disabled_reason = $6, leased_until = $7, batch_through = $9
     WHERE id = $1 AND cursor = $2 AND replays = $10
    RETURNING 1
)
SELECT COUNT(*) FROM done
"""

_FEED_COLUMNS = "id, role, subject, created_at"

_CALENDAR_ENTRIES_OF = {
    role: f"""
SELECT {CALENDAR_ENTRY_COLUMNS}
  FROM calendar_entries AS e
  LEFT JOIN providers AS p ON p.id = e.provider_id
  LEFT JOIN clients AS c ON c.id = e.client_id
  LEFT JOIN services AS sv ON sv.id = e.service_id
 WHERE e.{role}_id = $1 AND e.ends > $2 AND (e.status <> 'CANCELLED' OR e.updated_at > $3)
 ORDER BY e.start, e.uid
"""
    for role in ("provider", "client")
}


# --- times as bounds on a bigint column --------------------------------------------------------
# A slot's start is a bigint. Comparing it with a double would make PostgreSQL convert the column
# and give up its indexes, so each bound is turned into the whole second that means the same.


def _bigint(value: float) -> int:
    return max(-BIGINT_MAX, min(BIGINT_MAX, int(value)))


def _from(value: float) -> int:
    """`start >= value` and `start < value` as a whole number of seconds."""
    return _bigint(math.ceil(value))


def _after(value: float) -> int:
    """`start > value` as a whole number of seconds."""
    return _bigint(math.floor(value))


def _exactly(value: float) -> int | None:
    """`start = value`: None (which matches nothing) when the value is not a whole second."""
    return _bigint(value) if float(value).is_integer() else None


# --- rows --------------------------------------------------------------------------------------


def _slot(row: asyncpg.Record | None) -> SlotRow | None:
    return None if row is None else SlotRow._make(row)


def _slots(rows: Iterable[asyncpg.Record]) -> list[SlotRow]:
    return [SlotRow._make(row) for row in rows]


def _token(row: Iterable[Any]) -> TokenRecord:
    return TokenRecord(*row)


async def _existing_slot(conn: Connection, slot_id: str, *, lock: bool = False) -> SlotRow:
    row = await conn.fetchrow(_SLOT + (" FOR UPDATE" if lock else ""), slot_id)
    slot = _slot(row)
    if slot is None:
        raise SlotNotFound(f"No time slot has id {slot_id}")
    return slot


_appended: ContextVar[bool] = ContextVar("slotbook_appended", default=False)
"""Whether the running write appended changes (so a sequencer round is owed once it commits)."""


async def _append(
    conn: Connection, changes: Sequence[ChangeEntry], now: float, rules: Rules | None
) -> None:
    """Append to the change log, in the transaction that made the changes; they get their seqs
    once it has committed."""
    if not changes:
        return
    columns = list(zip(*(change_values(change, now) for change in changes), strict=True))
    kind, slot_id, provider_id, start, status, client_id, _, *more = columns
    await conn.execute(
        _APPEND_CHANGES,
        list(kind), list(slot_id), list(provider_id), list(start), list(status), list(client_id),
        now, *(list(values) for values in more),
    )  # fmt: skip
    _appended.set(True)
    await notifications.write_ledger(conn, ledger_writes(changes), now, rules)


async def _record_changes(
    conn: Connection,
    kind: str,
    slots: Sequence[SlotRow],
    now: float,
    client_ids: Sequence[str | None],
) -> None:
    """Append changes of one kind to these slots (the schedules' writes and the sweeper's lapses
    use this): changes that tell nobody of a booking."""
    await _append(conn, entries(kind, slots, client_ids), now, None)


async def _apply(conn: Connection, plan: Plan, now: float, rules: Rules) -> None:
    """Write what a plan decided (on rows the operation has locked): each slot's new state, then
    its changes."""
    if plan.writes:
        w = plan.writes
        await conn.execute(
            _WRITE_SLOTS,
            [s.id for s in w], [s.status for s in w], [s.client_id for s in w],
            [s.reserved_at for s in w], [s.held_until for s in w], [s.confirmed_at for s in w],
            [s.appointment_id for s in w], [s.note for s in w], [s.service_id for s in w],
            [s.buffer_before for s in w], [s.buffer_after for s in w],
        )  # fmt: skip
    await _append(conn, plan.changes, now, rules)


async def _locked(conn: Connection, where: str, *args: Any) -> list[SlotRow]:
    return _slots(await conn.fetch(_LOCKED.format(where), *args))


async def _locked_appointment(conn: Connection, slot_id: str) -> tuple[SlotRow, list[SlotRow]]:
    """The slot named, and the appointment it is part of, both locked."""
    named = await _existing_slot(conn, slot_id)
    if named.appointment_id is None:
        return await _existing_slot(conn, slot_id, lock=True), []
    rows = await _locked(conn, _APPOINTMENT, named.appointment_id)
    return _fresh(named, rows) or await _existing_slot(conn, slot_id), rows


def _fresh(named: SlotRow, rows: Iterable[SlotRow]) -> SlotRow | None:
    """`named` as the locked rows show it now, if it is one of them."""
    return next((row for row in rows if row.id == named.id), None)


def _naming(operation: Operation[A]) -> Operation[A]:
    """The operation, its result carrying the name of the appointment's type (read in its
    transaction, so that an answer stored for an Idempotency-Key has it too)."""

    async def with_name(conn: Connection) -> A:
        return await _with_name(conn, await operation(conn))

    return with_name


async def _with_name(conn: Connection, result: A) -> A:
    service_id = result.slots[0].service_id if result.slots else None
    if service_id is None:
        return result
    found = await services.find(conn, service_id)
    return named(result, None if found is None else found.name)


async def _lock_freeing(
    conn: Connection, provider_ids: Sequence[str], holder: str | None, now: float
) -> None:
    """Before a write that may free time at these providers, or free one of the holder's holds:
    the locks of these providers and of those in whose lines the holder waits (where a hold
    freed may let the holder be offered time), in name order, then the holder's (so that a join
    of theirs that passed them over for the hold is seen, or sees the hold gone)."""
    waits = await waitlist.waiting_providers(conn, [holder], now)
    await lock_providers(conn, [*provider_ids, *waits])
    if holder is not None:
        await lock_client(conn, holder)


def _placing(now: float, rules: Rules) -> waitlist.Place:
    """How the waitlist writes an offer: as a reserve's plan is written."""

    async def place(conn: Connection, plan: Plan) -> None:
        await _apply(conn, plan, now, rules)

    return place


class _FreedBySchedules(Opened):
    """The schedules' writes' change recorder, noting the time they open by provider, so that it
    is handed to the waitlist before the write commits (under the provider's lock, which the
    schedule's write, or the roll of that provider, holds)."""

    async def record(
        self,
        conn: Connection,
        kind: str,
        slots: Sequence[SlotRow],
        now: float,
        client_ids: Sequence[str | None],
    ) -> None:
        await _record_changes(conn, kind, slots, now, client_ids)
        self.note(kind, slots)

    async def hand_over(self, conn: Connection, now: float, rules: Rules) -> None:
        for provider_id, ranges in self.by_provider.items():
            await waitlist.offer_freed(conn, provider_id, ranges, now, rules, _placing(now, rules))


_RELEASE_LAPSED = f"""
WITH lapsed AS (
    SELECT id, client_id, appointment_id, note, service_id, buffer_before, buffer_after FROM slots
     WHERE status = 'RESERVED' AND held_until <= $1 AND provider_id = ANY($2::text[])
       AND start >= $3 AND start < $4
     ORDER BY provider_id, start
       FOR UPDATE{{skip}}
)
UPDATE slots AS s
   SET status = 'AVAILABLE', client_id = NULL, reserved_at = NULL, held_until = NULL,
       appointment_id = NULL, note = NULL, service_id = NULL, buffer_before = 0, buffer_after = 0
  FROM lapsed
 WHERE s.id = lapsed.id AND s.status = 'RESERVED' AND s.held_until <= $1
RETURNING lapsed.client_id AS former, lapsed.appointment_id AS former_appointment,
          lapsed.note AS former_note, lapsed.service_id AS former_service,
          lapsed.buffer_before AS former_before, lapsed.buffer_after AS former_after, {_S_FIELDS}
"""
"""Lapsed holds of these providers in [$3, $4) reopened, each row as it was before (the sweep
skips rows another write holds; a reserve or move waits for them)."""

_LAPSED_SEEN = """
SELECT DISTINCT provider_id, client_id FROM slots WHERE status = 'RESERVED' AND held_until <= $1
"""


async def _lapsed_to_the_line(
    conn: Connection,
    provider_ids: Sequence[str],
    now: float,
    rules: Rules,
    *,
    near: int | None = None,
) -> int:
    """Reopen lapsed holds (of these providers, near a start when one is named) and hand them to
    the waitlist in the same transaction: a lapsed offer's entry leaves the line, and the freed
    time goes to the first entry in line it suits before anyone else may take it. The caller holds
    the providers' locks."""
    low, high = -BIGINT_MAX, BIGINT_MAX
    if near is not None:
        reach = rules.max_appointment_seconds
        low, high = near - reach, near + 2 * reach
    sql = _RELEASE_LAPSED.format(skip=" SKIP LOCKED" if near is None else "")
    rows = sorted(
        await conn.fetch(sql, now, list(provider_ids), low, high),
        key=lambda r: (r["start"], r["provider_id"]),
    )
    if not rows:
        return 0
    lapsed = [  # as they were: the log keeps which appointment lapsed
        SlotRow._make(tuple(r)[6:])._replace(
            appointment_id=r["former_appointment"],
            note=r["former_note"],
            service_id=r["former_service"],
            buffer_before=r["former_before"],
            buffer_after=r["former_after"],
        )
        for r in rows
    ]
    await _record_changes(conn, "expired", lapsed, now, [r["former"] for r in rows])
    await waitlist.settle(conn, "expired", (s.appointment_id for s in lapsed), now)
    place = _placing(now, rules)
    by_provider: dict[str, list[tuple[int, int]]] = {}
    for slot in lapsed:
        by_provider.setdefault(slot.provider_id, []).extend(freed_by([slot]))
    for provider, freed in by_provider.items():
        await waitlist.offer_freed(conn, provider, freed, now, rules, place)
    for client_id in dict.fromkeys(r["former"] for r in rows):
        await waitlist.client_freed(conn, client_id, now, rules, place)
    return len(lapsed)


async def _at_most_once(
    conn: Connection, once: Once | None, now: float, operation: Operation[R]
) -> R:
    """Run a write so that, with an Idempotency-Key, its first answer is stored in the same
    transaction and a retry of the same request, sent to any process, gets that answer back.

    A retry raises Replayed; a refusal is stored, committed and raised as it would be without a key.
    """
    if once is None:
        return await operation(conn)
    await lock(conn, KEY_LOCKS, f"{once.scope}\n{once.key}")
    stored = await conn.fetchrow(
        "SELECT fingerprint, status, body, content_type FROM idempotency"
        " WHERE scope = $1 AND key = $2 AND created_at > $3",
        once.scope,
        once.key,
        now - IDEMPOTENCY_TTL,
    )
    if stored is not None:
        if stored[0] != once.fingerprint:
            raise IdempotencyKeyReused(once.key)
        raise Replayed(Answer(stored[1], bytes(stored[2]), stored[3], replayed=True))
    try:
        async with conn.transaction():  # a savepoint: a refusal undoes the operation alone
            result = await operation(conn)
    except BookingError as refusal:
        await _store_answer(conn, once, once.refuse(refusal), now)
        raise CommitThenRaise(refusal) from None
    await _store_answer(conn, once, once.render(result), now)
    return result


async def _store_answer(conn: Connection, once: Once, answer: Answer, now: float) -> None:
    await conn.execute(
        "INSERT INTO idempotency (scope, key, fingerprint, status, body, content_type, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
        " status = excluded.status, body = excluded.body, content_type = excluded.content_type,"
        " created_at = excluded.created_at",
        once.scope,
        once.key,
        once.fingerprint,
        answer.status,
        answer.body,
        answer.content_type,
        now,
    )


async def _keep_session(conn: Connection) -> None:
    """What a connection needs before the pool lends it again: nothing. asyncpg rolls back a
    transaction left open, and by default also runs RESET ALL, UNLISTEN *, CLOSE ALL and
    pg_advisory_unlock_all(), a round trip on every release; the store leaves none of that
    behind (its advisory locks end with their transaction, nothing SETs or LISTENs on a pooled
    connection), so it skips them."""


def printable_url(dsn: str) -> str:
    """The database URL without its password, fit for a log line."""
    parts = urlsplit(dsn)
    shown = dsn
    if parts.password is not None:
        user_and_password, _, host = parts.netloc.rpartition("@")
        shown = shown.replace(parts.netloc, f"{user_and_password.split(':', 1)[0]}@{host}", 1)
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        kept = urlencode([(k, v) for k, v in pairs if k != "password"])
        shown = shown.replace(f"?{parts.query}", f"?{kept}" if kept else "", 1)
    return shown


class PostgresStore:
    """A Store over one PostgreSQL database, shared with any number of other server processes.

    Open it with `await PostgresStore.open(dsn, rules)`: the pool needs the event loop.
    """

    def __init__(
        self, dsn: str, rules: Rules, pool: asyncpg.Pool, version: str, levers: Levers = ALL
    ) -> None:
        self.rules = rules
        self.levers = levers
        self._dsn = dsn
        self._pool = pool
        self._version = version
        self._callbacks: list[Callable[[Sequence[ChangeRow]], None]] = []
        sender = secrets.token_hex(8)  # this process, to the NOTIFYs of its own rounds
        self.listener = ChangeListener(dsn, self._callbacks, sender)
        self.sequencer = Sequencer(dsn, self._callbacks, sender)
        self.sequencer.start()
        self._closed = False

    @classmethod
    async def open(
        cls, dsn: str, rules: Rules, *, pool_size: int = POOL_SIZE, levers: Levers = ALL
    ) -> PostgresStore:
        """Connect, migrate the schema, and return the open store."""
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size, reset=_keep_session)
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn)
                server = conn.get_server_version()
        except BaseException:
            await pool.close()
            raise
        # Since PostgreSQL 10 a version has two parts (15.13); asyncpg reports 15.13 as 15.0.13.
        version = (
            f"{server.major}.{server.micro}"
            if server.major >= 10
            else f"{server.major}.{server.minor}.{server.micro}"
        )
        return cls(dsn, rules, pool, version, levers)

    @property
    def engine(self) -> str:
        return f"PostgreSQL {self._version}"

    @property
    def where(self) -> str:
        return printable_url(self._dsn)

    async def _write(self, op: Operation[R]) -> R:
        """Run `op` in a transaction of its own; tell the change feed once it has committed.

        Locks are taken in one order (backend/store/postgres/locks.py), so a deadlock should not
        happen: a lock met out of order that another write holds starts the write over, to take
        it in order. Should PostgreSQL still find one (its own row-lock order inside a statement
        is not promised), the transaction it cancelled wrote nothing and runs again."""
        locking = Locking()
        deadlocks = 0
        for attempt in itertools.count(1):
            locking.attempt(attempt)
            token = track(locking)
            try:
                outcome = await self._write_once(op)
            except asyncpg.DeadlockDetectedError:
                deadlocks += 1
                if deadlocks == DEADLOCK_RETRIES:
                    raise
                continue
            except StartOver:
                continue  # (a patient try never starts over)
            finally:
                untrack(token)
            break
        if isinstance(outcome, CommitThenRaise):
            raise outcome.error
        return outcome

    async def _lean(self, sql: str, *args: Any) -> SlotRow | None:
        """Run a one-statement write in a transaction of its own; the slot it wrote, or None when
        it wrote nothing (then the general path runs, and says why; so it does when PostgreSQL
        chose this statement to end a deadlock: it waits for its locks in the order every write
        takes them, but a write that holds rows may come to wait for the same client)."""
        try:
            slot = _slot(await self._pool.fetchrow(sql, *args))
        except asyncpg.DeadlockDetectedError:
            return None
        if slot is not None:
            await self.sequencer.after_commit()  # numbered, and handed to the change feed
        return slot

    async def _write_once(self, op: Operation[R]) -> R | CommitThenRaise:
        _appended.set(False)
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                outcome: R | CommitThenRaise = await op(conn)
            except CommitThenRaise as keep:  # commit what it wrote, then refuse
                outcome = keep
        if _appended.get():
            await self.sequencer.after_commit()  # numbered, and handed to the change feed
        return outcome

    # --- writes ----------------------------------------------------------------------------

    async def submit_availability(
        self, provider_id: str, start: int, end: int, now: float, *, once: Once | None = None
    ) -> SubmitResult:
        slot_seconds = self.rules.slot_seconds

        async def submit(conn: Connection) -> SubmitResult:
            await lock_provider(conn, provider_id)
            existing = await conn.fetch(
                "SELECT start, duration FROM slots"
                " WHERE provider_id = $1 AND start >= $2 AND start < $3",
                provider_id,
                start - DAY_SECONDS,
                end,
            )
            taken = occupied_cells(((r[0], r[1]) for r in existing), slot_seconds)
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
            if new:
                await conn.execute(
                    "INSERT INTO slots (id, provider_id, start, duration, status, created_at)"
                    " SELECT id, $2, start, $3, 'AVAILABLE', $4"
                    " FROM unnest($1::text[], $5::bigint[]) AS n(id, start)",
                    [s.id for s in new],
                    provider_id,
                    slot_seconds,
                    now,
                    [s.start for s in new],
                )
            await conn.execute(
                "INSERT INTO providers (id, created_at) VALUES ($1, $2)"
                " ON CONFLICT (id) DO NOTHING",
                provider_id,
                now,
            )
            await _record_changes(conn, "created", new, now, [None] * len(new))
            await schedules.note_hand_edit(conn, provider_id, start, end, now, self.rules)
            place = _placing(now, self.rules)
            await waitlist.offer_freed(conn, provider_id, spans(new), now, self.rules, place)
            window = await conn.fetch(_WINDOW + " ORDER BY start", provider_id, start, end)
            return SubmitResult(created=len(new), slots=_slots(window))

        return await self._write(lambda conn: _at_most_once(conn, once, now, submit))

    async def remove_availability(
        self, provider_id: str, start: int, end: int, now: float, *, once: Once | None = None
    ) -> RemoveResult:
        async def remove(conn: Connection) -> RemoveResult:
            await lock_provider(conn, provider_id)
            deleted = await conn.fetch(
                f"DELETE FROM slots WHERE provider_id = $1 AND start >= $2 AND start < $3"
                f" AND {_open_at('$4')} RETURNING {SLOT_FIELDS}",
                provider_id,
                start,
                end,
                now,
            )
            doomed = sorted(_slots(deleted), key=lambda s: s.start)
            await _record_changes(conn, "deleted", doomed, now, [None] * len(doomed))
            window = _slots(await conn.fetch(_WINDOW + " ORDER BY start", provider_id, start, end))
            kept = [s for s in window if effective_status(s, now) != "AVAILABLE"]
            await schedules.note_hand_edit(conn, provider_id, start, end, now, self.rules)
            return RemoveResult(deleted=len(doomed), kept=kept)

        return await self._write(lambda conn: _at_most_once(conn, once, now, remove))

    # --- weekly schedules (backend/store/postgres/schedules.py) -------------------------------

    async def get_schedule(self, provider_id: str) -> StoredSchedule | None:
        async with self._pool.acquire() as conn:
            return await schedules.stored(conn, provider_id)

    async def set_schedule(
        self,
        provider_id: str,
        schedule: Schedule,
        now: float,
        *,
        keep_exceptions: bool = False,
        once: Once | None = None,
    ) -> ScheduleResult:
        async def put(conn: Connection) -> ScheduleResult:
            freed = _FreedBySchedules()
            result = await schedules.set_schedule(
                conn, provider_id, schedule, now, self.rules, freed.record, lock_provider,
                keep_exceptions=keep_exceptions,
            )  # fmt: skip
            await freed.hand_over(conn, now, self.rules)
            return result

        return await self._write(lambda conn: _at_most_once(conn, once, now, put))

    async def remove_schedule(
        self, provider_id: str, now: float, *, once: Once | None = None
    ) -> RemoveResult:
        async def drop(conn: Connection) -> RemoveResult:
            return await schedules.remove_schedule(
                conn, provider_id, now, _record_changes, lock_provider
            )

        return await self._write(lambda conn: _at_most_once(conn, once, now, drop))

    async def roll_schedules(self, now: float) -> RollResult:
        async def roll(conn: Connection) -> RollResult:
            freed = _FreedBySchedules()  # each provider it opens slots for is one whose lock it got
            result = await schedules.roll(conn, now, self.rules, freed.record, PROVIDER_LOCKS)
            await freed.hand_over(conn, now, self.rules)
            return result

        return await self._write(roll)

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
        reaches = services.buffer_values(rules, None, None)[3:]
        if once is None and self.levers.lean_writes and service_id is None and page is None:
            taken = await self._lean(
                _HOLD_OPEN_SLOT, client_id, now, slot_id, _exactly(time_slot), rules.hold_seconds,
                rules.notice_seconds, rules.notice_horizon(now), length, note, rules.max_holds,
                *reaches,
            )  # fmt: skip
            if taken is not None:
                return ReserveResult([taken])

        async def reserve(conn: Connection) -> ReserveResult:
            # The provider's lock (taken first, by _lapses_first) keeps the appointments around
            # the run still while the buffer rule and the daily limit read them; the client's
            # keeps its holds still while they are counted; the run's row locks make what the
            # plan reads the state it replaces.
            await lock_client(conn, client_id)
            # The first slot has the run's earliest start, so locking it before the rest keeps
            # the (provider, start) order.
            first = await _existing_slot(conn, slot_id, lock=True)
            rules.check_slot_time(first, time_slot)
            terms = Terms.plain(rules, length)
            if service_id is not None:
                terms = (await services.offered(conn, service_id, first.provider_id)).terms()
            run_length = terms.length or first.duration
            span = [first]
            if run_length != first.duration:
                end = first.start + run_length
                span = await _locked(conn, _RUN, first.provider_id, first.start, end)
            mine = (
                await _locked(conn, _APPOINTMENT, first.appointment_id)
                if first.client_id == client_id and first.appointment_id is not None
                else []
            )
            holds = 0  # the plan asks only when the run is open, so its first slot is
            near = NOTHING_AROUND  # nor does it look around a run it refuses
            if effective_status(first, now) == "AVAILABLE":
                holds = await conn.fetchval(services.LIVE_HOLDS, client_id, now)
                near = await services.surroundings(
                    conn, first.provider_id, first.start, run_length, terms, now, rules
                )
            plan = plan_reserve(
                first, span, mine, client_id, terms, note, lambda: holds, now, rules, near
            )
            await _apply(conn, plan, now, self.rules)
            return ReserveResult(plan.appointment, plan.repeated)

        async def page_hold(conn: Connection) -> ReserveResult:
            # The address's lock, then the client's (the order every page hold takes them in),
            # keep the live page holds still while they are counted.
            nonlocal client_id
            assert page is not None
            await lock(conn, PAGE_ADDRESS_LOCKS, page.remote)
            client_id = await pages.page_client(conn, page, now)
            await lock_client(conn, client_id)
            await pages.check_limits(conn, page, client_id, now)
            held = await reserve(conn)
            await pages.link_hold(conn, page, held.slots, now)
            return held

        write = reserve if page is None else page_hold

        def guarded(conn: Connection) -> Awaitable[ReserveResult]:
            return _at_most_once(conn, once, now, _naming(write))

        return await self._write(
            self._lapses_first(
                [slot_id], now, guarded, lambda first: rules.check_slot_time(first, time_slot)
            )
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
        if once is None and self.levers.lean_writes:
            booked = await self._lean(
                _CONFIRM_ONE_SLOT, slot_id, _exactly(time_slot), client_id, now, CLIENT_LOCKS
            )
            if booked is not None:
                if booked.service_id is None:
                    return ConfirmResult([booked])
                async with self._pool.acquire() as conn:
                    return await _with_name(conn, ConfirmResult([booked]))

        async def confirm(conn: Connection) -> ConfirmResult:
            await _lock_freeing(conn, [], (await _existing_slot(conn, slot_id)).client_id, now)
            named, appointment = await _locked_appointment(conn, slot_id)
            holder = client_id is None or named.client_id == client_id
            last = None
            if effective_status(named, now) != "RESERVED" or not holder:  # explaining a refusal
                last = await conn.fetchrow(_LAST_KIND, slot_id, client_id)
            service_id = named.service_id or (None if last is None else last[1])
            found = None if service_id is None else await services.find(conn, service_id)
            plan = plan_confirm(
                named, appointment, client_id, time_slot,
                lambda: last is not None and last[0] == "expired", now, rules,
                None if found is None else found.terms(),
            )  # fmt: skip
            await _apply(conn, plan, now, self.rules)
            if not plan.repeated:
                await self._confirmed(conn, plan.appointment, now)
            return ConfirmResult(plan.appointment, plan.repeated)

        return await self._write(lambda conn: _at_most_once(conn, once, now, _naming(confirm)))

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

        async def cancel(conn: Connection) -> CancelResult:
            seen = await _existing_slot(conn, slot_id)
            held = effective_status(seen, now) == "RESERVED"
            await _lock_freeing(conn, [seen.provider_id], seen.client_id if held else None, now)
            named, appointment = await _locked_appointment(conn, slot_id)
            plan = plan_cancel(named, appointment, client_id, provider_id, now, rules, admin=admin)
            await _apply(conn, plan, now, self.rules)
            held = effective_status(named, now) == "RESERVED"
            await waitlist.settle(conn, "cancelled", [named.appointment_id], now)
            place = _placing(now, rules)
            freed = freed_by(appointment)
            await waitlist.offer_freed(conn, named.provider_id, freed, now, rules, place)
            if held:
                await waitlist.client_freed(conn, named.client_id, now, rules, place)
            return CancelResult(plan.appointment, former_client_id=named.client_id)

        return await self._write(lambda conn: _at_most_once(conn, once, now, cancel))

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

        async def move(conn: Connection) -> MoveResult:
            # Both providers' locks (taken first, by _lapses_first) keep the buffers around both
            # places still, and let the move hand what it leaves to the line.
            named = await _existing_slot(conn, slot_id)
            target = await _existing_slot(conn, to_slot_id)
            appointment: list[SlotRow] = []
            if named.appointment_id is not None:
                found = await conn.fetch(_BY_APPOINTMENT, named.appointment_id)
                appointment = live(_slots(found), now)
            length = length_of(appointment) if appointment else target.duration
            end = target.start + length
            rows = await _locked(
                conn, _APPOINTMENT_AND_RUN, named.appointment_id, target.provider_id,
                target.start, end,
            )  # fmt: skip
            now_named = _fresh(named, rows) or await _existing_slot(conn, slot_id)
            if now_named.appointment_id != named.appointment_id:
                raise SlotTaken(
                    "The reservation changed while it was being moved; look at it again, then"
                    " move it if you still want to"
                )
            mine = [r for r in rows if r.appointment_id == named.appointment_id]
            span = [
                r
                for r in rows
                if r.provider_id == target.provider_id and target.start <= r.start < end
            ]
            fresh_target = _fresh(target, rows) or target
            whole = live(mine, now)
            terms = await services.terms_of(conn, whole[0]) if whole else None
            near = await services.surroundings(
                conn, target.provider_id, target.start, length,
                terms or Terms.plain(rules, None), now, rules, named.appointment_id,
            )  # fmt: skip
            plan = plan_move(
                now_named, mine, fresh_target, time_slot, span, client_id, now, rules, terms, near
            )
            await _apply(conn, plan, now, self.rules)
            if not plan.repeated:
                await waitlist.follow_move(conn, named.appointment_id, plan.appointment, now)
                kept = {s.id for s in plan.appointment}
                freed = [s for s in mine if s.id not in kept]
                place = _placing(now, rules)
                left = freed_by(freed) if freed else []
                await waitlist.offer_freed(conn, named.provider_id, left, now, rules, place)
            return MoveResult(plan.appointment, plan.repeated)

        def guarded(conn: Connection) -> Awaitable[MoveResult]:
            return _at_most_once(conn, once, now, _naming(move))

        return await self._write(self._lapses_first([slot_id, to_slot_id], now, guarded))

    async def set_note(
        self,
        slot_id: str,
        note: str | None,
        client_id: str | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> NoteResult:
        async def set_note(conn: Connection) -> NoteResult:
            named, appointment = await _locked_appointment(conn, slot_id)
            plan = plan_note(named, appointment, client_id, note, now)
            await _apply(conn, plan, now, self.rules)
            return NoteResult(plan.appointment, plan.repeated)

        return await self._write(lambda conn: _at_most_once(conn, once, now, _naming(set_note)))

    async def expire_lapsed(self, now: float) -> int:
        async def expire(conn: Connection) -> int:
            await waitlist.expire_windows(conn, now)
            seen = await conn.fetch(_LAPSED_SEEN, now)
            if not seen:
                return 0
            providers = sorted({row[0] for row in seen})
            waits = await waitlist.waiting_providers(conn, {row[1] for row in seen}, now)
            await lock_providers(conn, [*providers, *waits])
            return await _lapsed_to_the_line(conn, providers, now, self.rules)

        return await self._write(expire)

    def _lapses_first(
        self,
        slot_ids: Sequence[str],
        now: float,
        write: Operation[R],
        check: Callable[[SlotRow], None] = lambda slot: None,
    ) -> Operation[R]:
        """`write` (a reserve or a move onto the last of `slot_ids`), once the providers of these
        slots are locked, in name order (`write` counts on them), and the lapsed holds near that
        slot handed to the line when someone waits there. The hand-over comes before an
        Idempotency-Key's lock and savepoint, and is kept when `write` then refuses (the lapsed
        time may be a waiting entry's offer now, which is why it refuses), while what the refused
        write did is undone as any refusal's. A write that refuses before it looks at the time (a
        slot that does not exist, a time that is not the slot's: `check`) is left to refuse
        without one."""

        async def handing(conn: Connection) -> R:
            found = _slots(await conn.fetch(_SLOTS_NAMED, list(slot_ids)))
            await lock_providers(conn, (slot.provider_id for slot in found))
            near = next((slot for slot in found if slot.id == slot_ids[-1]), None)
            if near is None or len(found) < len(set(slot_ids)):
                return await write(conn)
            try:
                check(near)
            except BookingError:
                return await write(conn)
            if not await waitlist.anyone_waiting(conn, near.provider_id, now):
                return await write(conn)
            if not await _lapsed_to_the_line(
                conn, [near.provider_id], now, self.rules, near=near.start
            ):
                return await write(conn)
            savepoint = conn.transaction()
            await savepoint.start()
            try:
                result = await write(conn)
            except CommitThenRaise:  # a refusal an Idempotency-Key's answer was stored for
                await savepoint.commit()
                raise
            except BookingError as refusal:
                await savepoint.rollback()
                raise CommitThenRaise(refusal) from None
            await savepoint.commit()
            return result

        return handing

    async def _confirmed(self, conn: Connection, booked: Sequence[SlotRow], now: float) -> None:
        """A hold became a booking: an offer's entry is fulfilled, and its client holds one
        appointment fewer (their waiting entries may be offered time now)."""
        if not booked:
            return
        await waitlist.settle(conn, "confirmed", [booked[0].appointment_id], now)
        place = _placing(now, self.rules)
        await waitlist.client_freed(conn, booked[0].client_id, now, self.rules, place)

    # --- the waitlist (backend/store/postgres/waitlist.py) -------------------------------------

    async def join_waitlist(
        self, entry: NewEntry, now: float, *, once: Once | None = None
    ) -> StoredEntry:
        async def join(conn: Connection) -> StoredEntry:
            return await waitlist.join(conn, entry, now, self.rules, _placing(now, self.rules))

        return await self._write(lambda conn: _at_most_once(conn, once, now, join))

    async def waitlist(self, query: WaitlistFilter, now: float) -> list[StoredEntry]:
        async with self._pool.acquire() as conn:
            return await waitlist.entries(conn, query, now)

    async def find_waitlist_entry(self, waitlist_id: str, now: float) -> StoredEntry | None:
        async with self._pool.acquire() as conn:
            return await waitlist.find(conn, waitlist_id, now)

    async def leave_waitlist(
        self, waitlist_id: str, now: float, *, once: Once | None = None
    ) -> StoredEntry:
        async def leave(conn: Connection) -> StoredEntry:
            return await waitlist.leave(conn, waitlist_id, now)

        return await self._write(lambda conn: _at_most_once(conn, once, now, leave))

    async def create_token(
        self,
        record: TokenRecord,
        secret_hash: str,
        *,
        rename: bool = False,
        once: Once | None = None,
    ) -> TokenRecord:
        async def create(conn: Connection) -> TokenRecord:
            await conn.execute(
                f"INSERT INTO tokens ({_TOKEN_FIELDS}, secret_hash)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                record.token_id,
                record.role,
                record.subject,
                record.name,
                record.created_at,
                record.revoked_at,
                secret_hash,
            )
            table = NAMED_PARTIES.get(record.role)
            if table is not None:  # the first token names its subject; a later one, if asked
                await conn.execute(
                    f"INSERT INTO {table} (id, name, created_at) VALUES ($1, $2, $3)"
                    f" ON CONFLICT (id) DO UPDATE SET name = excluded.name"
                    f" WHERE $4::bool OR {table}.name IS NULL",
                    record.subject,
                    record.name,
                    record.created_at,
                    rename,
                )
            return record

        return await self._write(lambda conn: _at_most_once(conn, once, record.created_at, create))

    async def revoke_token(
        self, token_id: str, now: float, *, once: Once | None = None
    ) -> RevokeResult:
        async def revoke(conn: Connection) -> RevokeResult:
            changed = await conn.fetchval(
                "WITH revoked AS (UPDATE tokens SET revoked_at = $1"
                " WHERE id = $2 AND revoked_at IS NULL RETURNING 1) SELECT COUNT(*) FROM revoked",
                now,
                token_id,
            )
            row = await conn.fetchrow(f"SELECT {_TOKEN_FIELDS} FROM tokens WHERE id = $1", token_id)
            if row is None:
                raise TokenNotFound(f"No token has id {token_id}; GET /tokens lists them")
            return RevokeResult(_token(row), already=changed == 0)

        return await self._write(lambda conn: _at_most_once(conn, once, now, revoke))

    async def purge(self, now: float, keep_changes_seconds: float) -> None:
        async def purge(conn: Connection) -> None:
            await conn.execute(
                "DELETE FROM changes WHERE at < $1 AND seq < (SELECT MAX(seq) FROM changes)"
                " AND seq <= COALESCE((SELECT MIN(cursor) FROM webhooks"
                " WHERE disabled_at IS NULL), seq)",
                now - keep_changes_seconds,
            )
            await conn.execute(
                "DELETE FROM idempotency WHERE created_at <= $1", now - IDEMPOTENCY_TTL
            )
            await conn.execute(
                "DELETE FROM webhook_deliveries WHERE at <= $1", now - DELIVERIES_KEPT
            )
            await conn.execute(
                "DELETE FROM calendar_entries"
                " WHERE ends <= $1 OR (status = 'CANCELLED' AND updated_at <= $2)",
                _after(now - KEEP_SECONDS),
                now - KEEP_SECONDS,
            )
            await notifications.purge(conn, now - KEEP_SECONDS)
            await pages.purge(conn, now - DAY_SECONDS)
            await calendar_write.purge(conn, now - KEEP_SECONDS)

        await self._write(purge)

    # --- e-mail ------------------------------------------------------------------------------

    async def party_details(self, role: str, party_id: str) -> PartyDetails | None:
        async with self._pool.acquire() as conn:
            return await notifications.details(conn, role, party_id)

    async def set_party_details(
        self,
        role: str,
        party_id: str,
        *,
        email: str | Unchanged | None,
        time_zone: str | Unchanged | None,
        now: float,
    ) -> PartyDetails:
        return await self._write(
            lambda conn: notifications.set_details(conn, role, party_id, email, time_zone, now)
        )

    # --- the booking page's profiles (backend/store/postgres/profiles.py) -----------------------

    async def provider_profile(self, provider_id: str) -> ProviderProfile | None:
        async with self._pool.acquire() as conn:
            return await profiles.find(conn, provider_id)

    async def set_provider_profile(
        self, provider_id: str, changes: dict[str, object], now: float, *, once: Once | None = None
    ) -> ProviderProfile:
        async def update(conn: Connection) -> ProviderProfile:
            return await profiles.update(conn, provider_id, changes)

        return await self._write(lambda conn: _at_most_once(conn, once, now, update))

    async def booking_pages(self) -> list[ProviderProfile]:
        async with self._pool.acquire() as conn:
            return await profiles.on_pages(conn)

    async def claim_notifications(self, now: float, limit: int, lease: float) -> list[Outgoing]:
        return await self._write(lambda conn: notifications.claim(conn, now, limit, lease))

    async def record_notification(
        self,
        notification_id: str,
        *,
        status: NoticeStatus,
        error: str | None,
        now: float,
        retry_at: float | None,
    ) -> None:
        async def record(conn: Connection) -> None:
            await notifications.record(
                conn, notification_id, status=status, error=error, now=now, retry_at=retry_at
            )

        await self._write(record)

    async def notifications(self, query: NotificationFilter) -> list[StoredNotification]:
        async with self._pool.acquire() as conn:
            return await notifications.listed(conn, query)

    async def notification_counts(self) -> dict[str, int]:
        async with self._pool.acquire() as conn:
            return await notifications.counts(conn)

    async def managed_appointment(self, secret: str) -> ManagedAppointment | None:
        async with self._pool.acquire() as conn:
            return await notifications.managed(conn, secret)

    # --- a provider's own calendars ----------------------------------------------------------

    async def create_busy_source(
        self, source: BusySource, *, most: int | None = None, once: Once | None = None
    ) -> BusySource:
        async def create(conn: Connection) -> BusySource:
            if most is not None:  # two at once cannot both pass the count
                await lock(conn, BUSY_SOURCE_OWNER_LOCKS, source.provider_id)
            return await busy.create(conn, source, most)

        return await self._write(lambda conn: _at_most_once(conn, once, source.created_at, create))

    async def find_busy_source(self, source_id: str) -> BusySource | None:
        async with self._pool.acquire() as conn:
            return await busy.find(conn, source_id)

    async def busy_sources(self, provider_id: str) -> list[BusySource]:
        async with self._pool.acquire() as conn:
            return await busy.of_provider(conn, provider_id)

    async def record_busy_refresh(
        self, source_id: str, refreshed: Refreshed, now: float
    ) -> BusySource | None:
        async def record(conn: Connection) -> BusySource | None:
            recorded, logged, gone = await busy.record_refresh(
                conn, source_id, refreshed, now, lock_provider
            )
            if logged:
                _appended.set(True)  # events: a sequencer round is owed
            if recorded is not None and gone:
                await self._busy_gone(conn, recorded.provider_id, gone, now)
            return recorded

        return await self._write(record)

    async def busy_conflicts(self, provider_id: str, now: float) -> list[Conflict]:
        async with self._pool.acquire() as conn:
            return await busy.conflicts(conn, provider_id, now)

    async def busy_source_states(self, now: float) -> dict[str, int]:
        sql = SOURCE_STATES.format(now="$1::float8")
        async with self._pool.acquire() as conn:
            return {str(row[0]): int(row[1]) for row in await conn.fetch(sql, now)}

    async def sealed_passwords(self) -> int:
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval(SEALED_PASSWORDS))

    async def claim_busy_sources(
        self, now: float, limit: int, lease: float, *, only: str | None = None
    ) -> list[BusySource]:
        return await self._write(lambda conn: busy.claim(conn, now, limit, lease, only))

    async def update_busy_source(
        self, source_id: str, changes: dict[str, object], now: float
    ) -> BusySource | None:
        return await self._write(lambda conn: busy.update(conn, source_id, changes, now))

    async def delete_busy_source(
        self,
        source_id: str,
        now: float,
        *,
        provider_id: str | None = None,
        once: Once | None = None,
    ) -> BusySource:
        async def delete(conn: Connection) -> BusySource:
            gone, intervals = await busy.delete(conn, source_id, provider_id, lock_provider)
            await self._busy_gone(conn, gone.provider_id, intervals, now)
            return gone

        return await self._write(lambda conn: _at_most_once(conn, once, now, delete))

    async def _busy_gone(
        self, conn: Connection, provider_id: str, before: list[tuple[int, int]], now: float
    ) -> None:
        """Busy times that went away free what they covered: the waitlist is offered it (under
        the provider's lock, which the refresh or removal took)."""
        place = _placing(now, self.rules)
        await waitlist.offer_freed(conn, provider_id, before, now, self.rules, place)

    async def busy_intervals(self, provider_id: str, start: float, end: float) -> list[StoredBusy]:
        async with self._pool.acquire() as conn:
            return await busy.intervals(conn, provider_id, start, end)

    # --- the calendar bookings are written back to -----------------------------------------

    async def set_write_calendar(
        self,
        provider_id: str,
        url: str,
        username: str | None,
        password_sealed: str | None,
        now: float,
    ) -> tuple[WriteCalendar, bool]:
        return await self._write(
            lambda conn: calendar_write.set_calendar(
                conn, provider_id, url, username, password_sealed, now
            )
        )

    async def write_calendar(self, provider_id: str) -> WriteCalendar | None:
        async with self._pool.acquire() as conn:
            return await calendar_write.find(conn, provider_id)

    async def delete_write_calendar(self, provider_id: str) -> WriteCalendar | None:
        return await self._write(lambda conn: calendar_write.delete_calendar(conn, provider_id))

    async def claim_calendar_writes(
        self, now: float, limit: int, lease: float
    ) -> list[ClaimedWrite]:
        return await self._write(lambda conn: calendar_write.claim(conn, now, limit, lease))

    async def record_calendar_write(self, write_id: str, outcome: WriteOutcome, now: float) -> None:
        await self._write(lambda conn: calendar_write.record(conn, write_id, outcome, now))

    # --- the booking page --------------------------------------------------------------------

    async def hold_link(
        self, now: float, *, secret: str | None = None, ref: str | None = None
    ) -> HoldLink | None:
        async with self._pool.acquire() as conn:
            return await pages.hold_link(conn, now, secret=secret, ref=ref)

    async def use_hold_link(self, secret: str, now: float) -> None:
        await self._write(lambda conn: pages.use_hold_link(conn, secret, now))

    # --- calendar feeds ----------------------------------------------------------------------

    async def create_calendar_feed(
        self, feed: CalendarFeed, secret_hash: str, *, once: Once | None = None
    ) -> CalendarFeed:
        async def create(conn: Connection) -> CalendarFeed:
            await conn.execute(
                "INSERT INTO calendar_feeds (id, secret_hash, role, subject, created_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                feed.feed_id,
                secret_hash,
                feed.role,
                feed.subject,
                feed.created_at,
            )
            return feed

        return await self._write(lambda conn: _at_most_once(conn, once, feed.created_at, create))

    async def calendar_feeds(
        self, role: FeedRole | None, subject: str | None
    ) -> list[CalendarFeed]:
        rows = await self._pool.fetch(
            f"SELECT {_FEED_COLUMNS} FROM calendar_feeds"
            " WHERE $1::text IS NULL OR (role = $1 AND subject = $2) ORDER BY created_at, id",
            role,
            subject,
        )
        return [CalendarFeed(*row) for row in rows]

    async def calendar_feed_by_secret(self, secret_hash: str) -> CalendarFeed | None:
        row = await self._pool.fetchrow(FEED_AND_OWNER_NAME.format(param="$1"), secret_hash)
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

        async def delete(conn: Connection) -> CalendarFeed:
            row = await conn.fetchrow(
                "DELETE FROM calendar_feeds WHERE id = $1"
                " AND ($2::text IS NULL OR (role = $2 AND subject = $3))"
                f" RETURNING {_FEED_COLUMNS}",
                feed_id,
                role,
                subject,
            )
            if row is None:
                raise CalendarFeedNotFound(f"No calendar feed of yours has id {feed_id}")
            return CalendarFeed(*row)

        return await self._write(lambda conn: _at_most_once(conn, once, now, delete))

    async def calendar_entries(
        self, role: FeedRole, subject: str, since: float
    ) -> list[CalendarEntry]:
        rows = await self._pool.fetch(_CALENDAR_ENTRIES_OF[role], subject, _after(since), since)
        return [CalendarEntry(*row) for row in rows]

    # --- webhooks ----------------------------------------------------------------------------

    async def create_webhook(
        self, hook: StoredWebhook, *, most: int, once: Once | None = None
    ) -> StoredWebhook:
        async def create(conn: Connection) -> StoredWebhook:
            owner = "" if hook.provider_id is None else hook.provider_id
            await lock(conn, WEBHOOK_OWNER_LOCKS, owner)  # two at once cannot both pass the count
            count = await conn.fetchval(
                "SELECT COUNT(*) FROM webhooks WHERE provider_id IS NOT DISTINCT FROM $1",
                hook.provider_id,
            )
            if count >= most:
                raise TooManyWebhooks.of(hook.provider_id, most)
            row = await conn.fetchrow(
                f"INSERT INTO webhooks ({WEBHOOK_COLUMNS})"
                " VALUES ($1, $2, $3, $4, $5, $6, $7,"
                " (SELECT COALESCE(MAX(seq), 0) FROM changes), 0, $7, NULL, NULL, $8, NULL, 0)"
                f" RETURNING {WEBHOOK_COLUMNS}",
                hook.webhook_id, hook.url, stored_events(hook), hook.description, hook.provider_id,
                hook.secret, hook.created_at, hook.format,
            )  # fmt: skip
            assert row is not None  # an INSERT ... RETURNING returns its row
            return stored_webhook(row)

        return await self._write(lambda conn: _at_most_once(conn, once, hook.created_at, create))

    async def list_webhooks(self, provider_id: str | None) -> list[StoredWebhook]:
        rows = await self._pool.fetch(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks"
            " WHERE $1::text IS NULL OR provider_id = $1 ORDER BY created_at, id",
            provider_id,
        )
        return [stored_webhook(row) for row in rows]

    async def find_webhook(self, webhook_id: str) -> StoredWebhook | None:
        row = await self._pool.fetchrow(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1", webhook_id
        )
        return None if row is None else stored_webhook(row)

    async def delete_webhook(
        self, webhook_id: str, provider_id: str | None, now: float, *, once: Once | None = None
    ) -> StoredWebhook:
        async def delete(conn: Connection) -> StoredWebhook:
            row = await conn.fetchrow(
                "DELETE FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR provider_id = $2)"
                f" RETURNING {WEBHOOK_COLUMNS}",
                webhook_id,
                provider_id,
            )
            if row is None:
                raise WebhookNotFound(f"No webhook of yours has id {webhook_id}")
            await conn.execute("DELETE FROM webhook_deliveries WHERE webhook_id = $1", webhook_id)
            return stored_webhook(row)

        return await self._write(lambda conn: _at_most_once(conn, once, now, delete))

    async def replay_webhook(
        self,
        webhook_id: str,
        provider_id: str | None,
        since: int,
        now: float,
        *,
        once: Once | None = None,
    ) -> StoredWebhook:
        async def replay(conn: Connection) -> StoredWebhook:
            row = await conn.fetchrow(
                "UPDATE webhooks SET cursor = $3, failures = 0, next_attempt_at = $4,"
                " disabled_at = NULL, disabled_reason = NULL, batch_through = NULL,"
                " leased_until = NULL, replays = replays + 1"  # a delivery under way stops
                " WHERE id = $1 AND ($2::text IS NULL OR provider_id = $2)"
                f" RETURNING {WEBHOOK_COLUMNS}",
                webhook_id,
                provider_id,
                _bigint(since),
                now,
            )
            if row is None:
                raise WebhookNotFound(f"No webhook of yours has id {webhook_id}")
            return stored_webhook(row)

        return await self._write(lambda conn: _at_most_once(conn, once, now, replay))

    async def due_webhooks(self, now: float, share: int, limit: int) -> list[DueWebhook]:
        rows = await self._pool.fetch(_DUE_WEBHOOKS, now, share, limit)
        return [DueWebhook(*row) for row in rows]

    async def claim_webhooks(
        self, webhook_ids: Sequence[str], now: float, until: float
    ) -> list[StoredWebhook]:
        rows = await self._pool.fetch(_CLAIM_WEBHOOKS, list(webhook_ids), now, until)
        return [stored_webhook(row) for row in rows]

    async def record_attempt(self, webhook_id: str, attempted: Attempted, now: float) -> bool:
        a, d = attempted, attempted.delivery

        async def record(conn: Connection) -> bool:
            changed = await conn.fetchval(
                _RECORD_ATTEMPT, webhook_id, a.expected, a.cursor, a.failures,
                a.next_attempt_at, a.disabled_reason, a.leased_until, now, a.batch_through,
                a.replays,
            )  # fmt: skip
            if changed and d is not None:
                await conn.execute(
                    "INSERT INTO webhook_deliveries"
                    " (webhook_id, seq, attempt, at, status_code, error, latency_ms, first_seq)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    webhook_id, d.seq, d.attempt, d.at, d.status_code, d.error, d.latency_ms,
                    d.first_seq,
                )  # fmt: skip
            return bool(changed)

        return await self._write(record)

    async def webhook_deliveries(self, webhook_id: str, limit: int) -> list[DeliveryRecord]:
        rows = await self._pool.fetch(
            "SELECT seq, attempt, at, status_code, error, latency_ms, first_seq"
            " FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
            webhook_id,
            limit,
        )
        return [DeliveryRecord(*row) for row in rows]

    # --- the change log ----------------------------------------------------------------------

    async def changes_since(self, after: int, limit: int) -> list[ChangeRow]:
        rows = await self._pool.fetch(_CHANGES_SINCE, _bigint(after), _bigint(limit))
        return [ChangeRow._make(row) for row in rows]

    async def change_bounds(self) -> tuple[int, int]:
        row = await self._pool.fetchrow(
            "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM changes"
        )
        assert row is not None
        return int(row[0]), int(row[1])

    @property
    def commits_here(self) -> bool:
        return False  # other processes commit too, and are heard of only through NOTIFY

    def watch_writes(self, observe: Callable[[int, float], None]) -> None:
        self.sequencer.observe = observe

    @property
    def waiting_writes(self) -> int:
        return self.sequencer.waiting

    def on_commit(self, callback: Callable[[Sequence[ChangeRow]], None]) -> None:
        """Call `callback` with the changes each sequencer round of this process numbers, and
        with none ("read the log") when another process's round notifies (the listening
        connection, started here on first use)."""
        self._callbacks.append(callback)
        self.listener.start()

    # --- tokens ------------------------------------------------------------------------------

    async def find_token(self, token_id: str) -> StoredToken | None:
        row = await self._pool.fetchrow(
            f"SELECT {_TOKEN_FIELDS}, secret_hash FROM tokens WHERE id = $1", token_id
        )
        if row is None:
            return None
        values = tuple(row)
        return StoredToken(_token(values[:6]), values[6])

    async def revoked_tokens(self) -> list[str]:
        rows = await self._pool.fetch("SELECT id FROM tokens WHERE revoked_at IS NOT NULL")
        return [row[0] for row in rows]

    async def list_tokens(self) -> list[TokenRecord]:
        rows = await self._pool.fetch(f"SELECT {_TOKEN_FIELDS} FROM tokens ORDER BY created_at, id")
        return [_token(row) for row in rows]

    # --- reads -------------------------------------------------------------------------------

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
        params: list[Any] = [
            _from(start),
            _from(end),
            _after(now if too_soon else now + notice),
            now,
            _bigint(limit),
        ]
        conditions = ["start >= $1", "start < $2", "start > $3", _open_at("$4")]
        if provider_id is not None:
            params.append(provider_id)
            conditions.append(f"provider_id = ${len(params)}")
        if after is not None:
            params += [_bigint(after.start), after.provider_id]
            n = len(params)
            conditions.append(
                f"(start > ${n - 1} OR (start = ${n - 1} AND provider_id > ${n}::text))"
            )
        if span is not None:
            params.append(_bigint(span))
            conditions.append(_FITS.format(span=f"${len(params)}::bigint"))
        conditions.append(services.clear_of_buffers(len(params) + 1, "$4"))
        conditions.append(services.clear_of_busy(len(params) + 1))
        params += services.buffer_values(self.rules, terms, span)
        if terms is not None and terms.max_advance is not None:
            params.append(_bigint(math.floor(now + terms.max_advance)))
            conditions.append(f"start <= ${len(params)}")
        async with self._pool.acquire() as conn:
            if service is not None and service.daily_limit is not None:
                params += await services.days_full(conn, service, start, end, now)
                n = len(params)
                conditions.append(
                    f"NOT EXISTS (SELECT FROM unnest(${n - 1}::bigint[], ${n}::bigint[])"
                    " AS day(first, after) WHERE slots.start >= day.first"
                    " AND slots.start < day.after)"
                )
            sql = (
                f"SELECT id, provider_id, start, duration FROM slots"
                f" WHERE {' AND '.join(conditions)} ORDER BY start, provider_id LIMIT $5"
            )
            return [OpenSlot._make(row) for row in await conn.fetch(sql, *params)]

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
        reach = int(services.buffer_values(self.rules, terms, span)[3])
        latest = None if terms is None else terms.max_advance
        mine = "provider_id = $6 AND" if provider_id is not None else "$6::text IS NULL AND"
        row = await self._pool.fetchrow(
            f"""
            SELECT (SELECT MIN(start) FROM slots
                     WHERE {mine} start >= $1 AND start < $2 AND start > $3),
                   (SELECT MIN(held_until) FROM slots
                     WHERE {mine} start >= $7 AND start < $4
                       AND status = 'RESERVED' AND held_until > $5),
                   (SELECT MIN(start) FROM slots
                     WHERE {mine} start >= $1 AND start < $2 AND start > $8)
            """,
            _from(start),
            _from(end),
            _after(now + offset),
            _from(end + (span or 0) + reach),
            now,
            provider_id,
            _from(start - reach),
            _after(now + latest) if latest is not None else BIGINT_MAX,
        )
        assert row is not None
        until = stable_until(row[0], row[1], offset)
        if row[2] is not None and latest is not None:  # a start comes within the window
            until = min(until, row[2] - latest)
        return until

    async def provider_slots(self, provider_id: str, start: float, end: float) -> list[SlotRow]:
        rows = await self._pool.fetch(
            _WINDOW + " ORDER BY start", provider_id, _from(start), _from(end)
        )
        return _slots(rows)

    # --- appointment types (backend/store/postgres/services.py) -------------------------------

    async def create_service(
        self, service: ServiceType, *, once: Once | None = None
    ) -> ServiceType:
        async def create(conn: Connection) -> ServiceType:
            return await services.create(conn, service)

        return await self._write(lambda conn: _at_most_once(conn, once, service.created_at, create))

    async def services_of(self, provider_id: str, *, archived: bool) -> list[ServiceType]:
        async with self._pool.acquire() as conn:
            return await services.of_provider(conn, provider_id, archived)

    async def find_service(self, service_id: str) -> ServiceType | None:
        async with self._pool.acquire() as conn:
            return await services.find(conn, service_id)

    async def update_service(
        self,
        service_id: str,
        changes: dict[str, object],
        provider_id: str | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> ServiceType:
        async def update(conn: Connection) -> ServiceType:
            return await services.update(conn, service_id, changes, provider_id, now, self.rules)

        return await self._write(lambda conn: _at_most_once(conn, once, now, update))

    async def client_reservations(self, client_id: str, now: float) -> list[SlotRow]:
        rows = await self._pool.fetch(
            f"SELECT {SLOT_FIELDS} FROM slots WHERE client_id = $1 AND {_live_at('$2')}"
            " ORDER BY start",
            client_id,
            now,
        )
        return _slots(rows)

    async def providers(self, now: float) -> list[ProviderSummary]:
        rows = await self._pool.fetch(
            f"""
            SELECT p.id, p.name,
                   (SELECT MIN(start) FROM slots
                     WHERE provider_id = p.id AND start > $1 AND {_open_at("$2")})
              FROM providers p ORDER BY p.id
            """,
            _after(self.rules.notice_horizon(now)),
            now,
        )
        return [ProviderSummary(*row) for row in rows]

    async def service_names(self, service_ids: Collection[str]) -> dict[str, str]:
        if not service_ids:
            return {}
        rows = await self._pool.fetch(
            "SELECT id, name FROM services WHERE id = ANY($1::text[])", list(service_ids)
        )
        return {row[0]: row[1] for row in rows}

    async def client_names(self, client_ids: Collection[str]) -> dict[str, str]:
        if not client_ids:
            return {}
        rows = await self._pool.fetch(
            "SELECT id, name FROM clients WHERE id = ANY($1::text[])", list(client_ids)
        )
        return {row[0]: row[1] for row in rows}

    # --- upkeep ------------------------------------------------------------------------------

    async def check(self) -> None:
        if self._closed:
            raise RuntimeError("the database pool is closed")
        await self._pool.fetchval("SELECT 1 FROM slots LIMIT 1", timeout=5)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.listener.stop()
        await self.sequencer.stop()
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await self._pool.close()
        except TimeoutError:
            self._pool.terminate()
