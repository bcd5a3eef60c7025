"""The Store protocol: every method is one whole business operation, atomic on its own.

No caller reads and then writes across two calls; a second store (PostgreSQL) implements the same
protocol and passes the same contract tests.
"""

from __future__ import annotations

import json
import math
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal, NamedTuple, Protocol, TypeGuard, TypeVar, get_args

from backend.rules.appointments import ChangeEntry
from backend.rules.booking import BookingError, SlotRow, SlotStatus
from backend.rules.notices import NoticeStatus
from backend.rules.schedule import Schedule
from backend.rules.service_types import ServiceType
from backend.store.busy_records import BusySource, Conflict, Refreshed, StoredBusy
from backend.store.calendar_write_records import ClaimedWrite, WriteCalendar, WriteOutcome
from backend.store.mail_records import (
    ManagedAppointment,
    NotificationFilter,
    Outgoing,
    PartyDetails,
    StoredNotification,
    Unchanged,
)
from backend.store.page_records import HoldLink, PageHold, ProviderProfile
from backend.store.waitlist_records import NewEntry, StoredEntry, WaitlistFilter
from shared.webhook_wire import EventKind

R = TypeVar("R")
Role = Literal["admin", "provider", "client"]

IDEMPOTENCY_TTL = 24 * 3600
"""How long a stored first answer is replayed for an Idempotency-Key."""


class OpenSlotsCursor(NamedTuple):
    """Where a page of open slots ended: the last slot's (start, providerId)."""

    start: int
    provider_id: str


class OpenSlot(NamedTuple):
    """A slot open for booking, as GET /availability lists it: held by nobody, so it carries no
    reservation fields (and the listing reads no more than these columns)."""

    id: str
    provider_id: str
    start: int
    duration: int


class SlotWrite(ABC):
    """The result of a write that may change slots: says how many it changed (each is one change
    in the log), which is what the write costs its caller's rate limit beyond the call."""

    @property
    @abstractmethod
    def slots_changed(self) -> int: ...


@dataclass(frozen=True)
class SubmitResult(SlotWrite):
    created: int
    slots: list[SlotRow]
    client_names: Mapping[str, str] = field(default_factory=dict)
    """The display names of the window's holders, when the caller asked for them."""

    @property
    def slots_changed(self) -> int:
        return self.created


@dataclass(frozen=True)
class RemoveResult(SlotWrite):
    deleted: int
    kept: list[SlotRow]

    @property
    def slots_changed(self) -> int:
        return self.deleted


@dataclass(frozen=True)
class StoredSchedule:
    """A provider's schedule as stored, with the last local date whose slots exist."""

    provider_id: str
    schedule: Schedule
    filled_until: date


@dataclass(frozen=True)
class ScheduleResult(SlotWrite):
    """What setting a schedule did: the slots it opened, the open ones it removed, the held or
    booked ones it left although they are now outside the hours."""

    stored: StoredSchedule
    created: int
    deleted: int
    kept: list[SlotRow]

    @property
    def slots_changed(self) -> int:
        return self.created + self.deleted


@dataclass(frozen=True)
class RollResult:
    """What the daily roll did: slots opened, and when a schedule next needs it."""

    created: int
    next_due: float


class ScheduleNotFound(Exception):
    """The provider has no schedule."""


@dataclass(frozen=True)
class AppointmentResult(SlotWrite):
    slots: list[SlotRow]
    """The appointment as the operation left it, in time order."""
    repeated: bool = False
    """True when it had already been done (held by this client, confirmed, at that place, with
    that note): nothing changed."""
    service_name: str | None = None
    """The name of the appointment's type as it is now, when it has one."""

    @property
    def slots_changed(self) -> int:
        return 0 if self.repeated else len(self.slots)

    @property
    def slot(self) -> SlotRow:
        """The appointment's first slot."""
        return self.slots[0]


A = TypeVar("A", bound="AppointmentResult")


def named(result: A, name: str | None) -> A:
    """The result with its type's name."""
    return replace(result, service_name=name)


class ReserveResult(AppointmentResult):
    pass


class ConfirmResult(AppointmentResult):
    pass


class MoveResult(AppointmentResult):
    pass


class NoteResult(AppointmentResult):
    pass


@dataclass(frozen=True)
class CancelResult(SlotWrite):
    slots: list[SlotRow]
    """The appointment's slots, open again, in time order."""
    former_client_id: str | None

    @property
    def slots_changed(self) -> int:
        return len(self.slots)

    @property
    def slot(self) -> SlotRow:
        return self.slots[0]


@dataclass(frozen=True)
class ProviderSummary:
    provider_id: str
    name: str | None
    next_available: int | None


ChangeKind = Literal[
    "created", "deleted", "reserved", "confirmed", "cancelled", "expired", "moved", "noted"
]
LogKind = Literal[ChangeKind, EventKind]
"""What a row of the change log is: a change to a slot, or an event for the webhooks alone
(backend/store/busy_events.py)."""
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))


def is_slot_change(kind: LogKind) -> TypeGuard[ChangeKind]:
    """Whether a row of this kind is a change to a slot (which the feed shows), not an event."""
    return kind not in EVENT_KINDS


class ChangeRow(NamedTuple):
    """One entry of the change log, as stored, with the display name its client has as it is read
    (so that the feed's shared ring carries the name with the change). An event's row (a kind of
    EventKind) carries the event's `data`, and the slot columns its appointment's, if any."""

    seq: int
    kind: LogKind
    slot_id: str
    provider_id: str
    start: int
    status: str
    client_id: str | None
    at: float
    client_name: str | None
    appointment_id: str | None
    note: str | None
    held_until: float | None
    from_slot_id: str | None
    from_provider_id: str | None
    from_start: int | None
    service_id: str | None = None
    """The appointment's type, on a change to a typed appointment."""
    service_name: str | None = None
    """That type's name as it is read."""
    data: str | None = None
    """An event's data, as JSON rendered when it was logged; None on a change to a slot."""
    waitlist_id: str | None = None
    """On a hold that is a waitlist entry's offer: the entry."""

    @property
    def is_event(self) -> bool:
        return not is_slot_change(self.kind)


CHANGE_COLUMNS = (
    "kind, slot_id, provider_id, start, status, client_id, at, appointment_id, note, held_until,"
    " from_slot_id, from_provider_id, from_start, service_id, waitlist_id"
)
"""The columns of the change log that an append writes, in the order change_values gives them."""


def change_values(entry: ChangeEntry, now: float) -> tuple[Any, ...]:
    """One change as the values of CHANGE_COLUMNS."""
    slot, was = entry.slot, entry.moved_from
    return (
        entry.kind,
        slot.id,
        slot.provider_id,
        slot.start,
        entry.status,
        entry.client_id,
        now,
        slot.appointment_id,
        slot.note,
        slot.held_until if entry.status == "RESERVED" else None,
        None if was is None else was.id,
        None if was is None else was.provider_id,
        None if was is None else was.start,
        slot.service_id,
        entry.waitlist_id,
    )


def entries(
    kind: str, slots: Iterable[SlotRow], client_ids: Iterable[str | None]
) -> list[ChangeEntry]:
    """Changes of one kind to these slots, each with the status the kind leaves it in."""
    status = status_after(kind)
    return [
        ChangeEntry(kind, slot, status, client)
        for slot, client in zip(slots, client_ids, strict=True)
    ]


NAMED_PARTIES: dict[str, str] = {"provider": "providers", "client": "clients"}
"""The table that keeps the display name of a token's subject, by the token's role (an admin token
has no subject, so no name but its own)."""


@dataclass(frozen=True)
class TokenRecord:
    """A token as listed: everything but its secret."""

    token_id: str
    role: Role
    subject: str | None
    name: str
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class RevokeResult:
    token: TokenRecord
    already: bool
    """True when the token had been revoked before: nothing changed."""


@dataclass(frozen=True)
class StoredToken:
    record: TokenRecord
    secret_hash: str


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as stored for an Idempotency-Key, and replayed from it."""

    status: int
    body: bytes
    content_type: str = "application/json"
    replayed: bool = False


@dataclass(frozen=True)
class Once:
    """A write that must happen at most once per (scope, key): the first answer is stored in the
    write's own transaction, and a retry with the same request gets that answer back."""

    scope: str
    key: str
    fingerprint: str
    render: Callable[[Any], Answer]
    """The answer to a successful operation, as it is stored (and as the handler sends it)."""
    refuse: Callable[[BookingError], Answer]
    """The answer to a refusal by the rules, as it is stored."""


FeedRole = Literal["provider", "client"]


@dataclass(frozen=True)
class CalendarFeed:
    """A calendar feed as stored, without its secret: whose holds and bookings it shows."""

    feed_id: str
    role: FeedRole
    subject: str
    created_at: float
    owner_name: str | None = None
    """The owner's display name as it is now, where the feed is read for its calendar
    (`calendar_feed_by_secret`); None when it has none, or elsewhere."""


FEED_AND_OWNER_NAME = """
SELECT f.id, f.role, f.subject, f.created_at,
       CASE f.role WHEN 'provider' THEN p.name ELSE c.name END
  FROM calendar_feeds AS f
  LEFT JOIN providers AS p ON f.role = 'provider' AND p.id = f.subject
  LEFT JOIN clients AS c ON f.role = 'client' AND c.id = f.subject
 WHERE f.secret_hash = {param}
"""
"""A feed by its secret's hash (the parameter's placeholder filled in by each store), with its
owner's display name: a feed is named by it even before its first reservation."""


class CalendarFeedNotFound(BookingError):
    """No feed has this id (or none of the caller's)."""


@dataclass(frozen=True)
class CalendarEntry:
    """One reservation as a calendar shows it (see backend/rules/calendar_ledger.py), with the
    display names of both parties as they are now."""

    uid: str
    provider_id: str
    client_id: str
    start: int
    ends: int
    status: str
    """RESERVED, CONFIRMED or CANCELLED, as last written (a hold may have lapsed since)."""
    held_until: float | None
    note: str | None
    sequence: int
    created_at: float
    updated_at: float
    provider_name: str | None
    client_name: str | None
    service_name: str | None = None
    """The name of the appointment's type as it is now; None for one booked without a type."""


CALENDAR_ENTRY_COLUMNS = (
    "e.uid, e.provider_id, e.client_id, e.start, e.ends, e.status, e.held_until, e.note,"
    " e.sequence, e.created_at, e.updated_at, p.name, c.name, sv.name"
)
"""What a feed reads of the ledger (`e`), providers (`p`), clients (`c`) and services (`sv`), in
CalendarEntry's order."""


WebhookFormat = Literal["batch", "single"]
"""How an endpoint is sent changes: up to 100 at a time in a `changes` envelope, or one at a
time as /changes shows each (the way of endpoints registered before batches existed)."""


@dataclass(frozen=True)
class StoredWebhook:
    """A webhook endpoint as stored, its signing secret and delivery state included."""

    webhook_id: str
    url: str
    events: tuple[str, ...] | None
    """The change kinds it gets; None: every kind."""
    description: str | None
    provider_id: str | None
    """Whose slots' changes it gets; None: every change (an admin's)."""
    secret: str
    created_at: float
    cursor: int
    """Every change up to this seq is delivered (or was not for it)."""
    failures: int
    """Failed attempts at the delivery after `cursor`."""
    next_attempt_at: float
    disabled_at: float | None
    disabled_reason: str | None
    format: WebhookFormat
    batch_through: int | None
    """While a batch is being retried: the seq of its last change, so the retry carries the same
    changes under the same `webhook-id`; None otherwise."""
    replays: int = 0
    """How many replays it has had: a delivery under way writes its outcome only if none came
    meanwhile (a replay may set the cursor back to the very value the delivery started from)."""


WEBHOOK_COLUMNS = (
    "id, url, events, description, provider_id, secret, created_at, cursor, failures,"
    " next_attempt_at, disabled_at, disabled_reason, format, batch_through, replays"
)


class DueWebhook(NamedTuple):
    """An endpoint that is due and not leased: a candidate for the sender's next round."""

    webhook_id: str
    provider_id: str | None


def stored_events(hook: StoredWebhook) -> str | None:
    """A webhook's events as stored: a JSON list, or NULL for every kind."""
    return None if hook.events is None else json.dumps(list(hook.events))


def stored_webhook(row: Iterable[Any]) -> StoredWebhook:
    """A webhook from its WEBHOOK_COLUMNS (events as stored: a JSON list, or NULL)."""
    values = tuple(row)
    events = None if values[2] is None else tuple(json.loads(values[2]))
    return StoredWebhook(values[0], values[1], events, *values[3:])


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt to deliver changes to one endpoint: the changes from `first_seq` to `seq` that
    were for it (one change, for an endpoint sent them one at a time)."""

    seq: int
    attempt: int
    at: float
    status_code: int | None
    error: str | None
    latency_ms: float
    first_seq: int


@dataclass(frozen=True)
class Attempted:
    """What an attempt leaves behind: the endpoint's new state (written only if its cursor is
    still `expected` and it has had no replay since `replays`, so a replay made meanwhile wins),
    and the attempt, if one was made."""

    expected: int
    cursor: int
    failures: int
    next_attempt_at: float
    disabled_reason: str | None
    leased_until: float | None
    delivery: DeliveryRecord | None
    batch_through: int | None = None
    """The batch to send again at the next attempt (its last seq), after a failed one."""
    replays: int = 0
    """The endpoint's replays when the delivery was leased."""


DELIVERIES_KEPT = 7 * 86_400
"""How long the record of each delivery attempt is kept."""


class WebhookNotFound(BookingError):
    """No endpoint has this id (or none of the caller's)."""


class TooManyWebhooks(BookingError):
    """The owner already has as many endpoints as one owner may."""

    @classmethod
    def of(cls, provider_id: str | None, most: int) -> TooManyWebhooks:
        whose, has = (
            ("The admins together", "have")
            if provider_id is None
            else (f"Provider {provider_id}", "has")
        )
        return cls(
            f"{whose} already {has} {most} webhooks, the most one owner may have (the server's"
            " --max-webhooks-per-owner); remove one (DELETE /webhooks/{webhookId}) before"
            " registering another"
        )


class IdempotencyKeyReused(Exception):
    """The key was first used with a different request."""


class Replayed(Exception):
    """The request was already answered under its Idempotency-Key: here is that answer."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class TokenNotFound(BookingError):
    """No token has this id."""


class ProviderNotFound(BookingError):
    """No provider has this id: none has had a token, availability or a schedule."""


class CommitThenRaise(Exception):
    """Raised by a write that wrote something worth keeping and must still fail: the store commits
    its writes and raises `error` to the caller."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def status_after(kind: str) -> SlotStatus:
    """The slot's status once a change of this kind has happened (a deleted slot was open)."""
    return "RESERVED" if kind == "reserved" else "CONFIRMED" if kind == "confirmed" else "AVAILABLE"


def new_slot_id(now: float) -> str:
    """A new slot's id: 32 hex digits, the creation time in milliseconds first and 80 random bits
    after (like a UUIDv7). Ids made together sort together, so the indexes of a large table take
    a year of a schedule, or the daily roll of a thousand providers, as appends at their end rather
    than as writes scattered over every page."""
    return f"{int(now * 1000) & 0xFFFF_FFFF_FFFF:012x}{secrets.token_hex(10)}"


class Store(Protocol):
    """Atomic booking operations over some database. Times are epoch seconds."""

    @property
    def engine(self) -> str:
        """The database and its version, as people read it: 'SQLite 3.45.1', 'PostgreSQL 15.8'."""
        ...

    @property
    def where(self) -> str:
        """Which database is open, safe to print: a file's full path, or a URL without its
        password."""
        ...

    async def submit_availability(
        self, provider_id: str, start: int, end: int, now: float, *, once: Once | None = None
    ) -> SubmitResult: ...

    async def remove_availability(
        self, provider_id: str, start: int, end: int, now: float, *, once: Once | None = None
    ) -> RemoveResult: ...

    # A provider with a schedule: availability painted or erased by hand on a date becomes that
    # date's exception, in the same transaction (see backend/rules/schedule.py, with_hand_edit).

    async def get_schedule(self, provider_id: str) -> StoredSchedule | None: ...

    async def set_schedule(
        self,
        provider_id: str,
        schedule: Schedule,
        now: float,
        *,
        keep_exceptions: bool = False,
        once: Once | None = None,
    ) -> ScheduleResult:
        """Put the schedule in force and bring the provider's slots from now to its horizon in
        line with it, touching only open slots. With `keep_exceptions` the exceptions already in
        force stay (the request named none)."""
        ...

    async def remove_schedule(
        self, provider_id: str, now: float, *, once: Once | None = None
    ) -> RemoveResult:
        """Drop the schedule (ScheduleNotFound when there is none) and the future open slots it
        made; its held and booked ones stay."""
        ...

    async def roll_schedules(self, now: float) -> RollResult:
        """Open the slots of the local dates that have entered each schedule's horizon; over
        several processes exactly one of them does each provider's."""
        ...

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
        """Open slots starting in [start, end) that a client could reserve now; with `too_soon`,
        also those inside the notice period that have not started; with `span` (seconds), only
        those that start a run of open slots of their provider that long; with `service`, only
        those where an appointment of that type fits (its length open, its buffers clear, its
        notice, window and daily limit kept). None starts where the buffer rule would break."""
        ...

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
        """The first moment after `now` at which `list_open` with these arguments could answer
        differently with no write in between: a slot in the range reaching the notice horizon
        (or starting, with `too_soon`), entering the type's booking window, or a hold on a slot
        it looks at (or within a buffer's reach of them) lapsing."""
        ...

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
        """Hold `length` seconds of consecutive slots (one slot when None) from `slot_id` on, all
        of them or none; with `service_id`, an appointment of that type (its length, which the
        caller has checked `length` against, and its buffers, notice, window and daily limit).
        With `page`, a hold the booking page places, for the page's client of its e-mail address
        (made on first use; `client_id` is not read): its limits are checked first
        (TooManyPageHolds), and its confirmation link and the e-mail carrying it are written in
        the same transaction, so a refusal leaves nothing behind."""
        ...

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
        """Move the appointment `slot_id` is part of to the same length from `to_slot_id` on:
        the new slots are taken and the old ones released in one transaction, or nothing changes.
        `client_id` None is an admin acting for its client."""
        ...

    async def set_note(
        self,
        slot_id: str,
        note: str | None,
        client_id: str | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> NoteResult: ...

    async def confirm(
        self,
        slot_id: str,
        time_slot: float,
        client_id: str | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> ConfirmResult: ...

    async def cancel(
        self,
        slot_id: str,
        client_id: str | None,
        provider_id: str | None,
        now: float,
        *,
        admin: bool = False,
        once: Once | None = None,
    ) -> CancelResult: ...

    async def provider_slots(self, provider_id: str, start: float, end: float) -> list[SlotRow]: ...

    # Appointment types (backend/rules/service_types.py).

    async def create_service(
        self, service: ServiceType, *, once: Once | None = None
    ) -> ServiceType: ...

    async def services_of(self, provider_id: str, *, archived: bool) -> list[ServiceType]:
        """A provider's types, oldest first; the archived ones too when `archived`."""
        ...

    async def find_service(self, service_id: str) -> ServiceType | None: ...

    async def update_service(
        self,
        service_id: str,
        changes: dict[str, object],
        provider_id: str | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> ServiceType:
        """Change these fields (snake_case; `archived` archives or restores) of the type, only that
        provider's unless None (an admin), checking the result against the rules;
        ServiceNotFound when there is no such type of theirs."""
        ...

    async def client_reservations(self, client_id: str, now: float) -> list[SlotRow]: ...

    async def providers(self, now: float) -> list[ProviderSummary]: ...

    async def client_names(self, client_ids: Collection[str]) -> dict[str, str]:
        """The display names of these clients, in one lookup; a client with no known name is
        left out."""
        ...

    async def service_names(self, service_ids: Collection[str]) -> dict[str, str]:
        """The names of these appointment types, in one lookup."""
        ...

    async def expire_lapsed(self, now: float) -> int: ...

    async def purge(self, now: float, keep_changes_seconds: float) -> None:
        """Forget changes older than the retention (keeping the newest) and stale idempotency
        answers."""
        ...

    async def changes_since(self, after: int, limit: int) -> list[ChangeRow]: ...

    async def change_bounds(self) -> tuple[int, int]:
        """(oldest, newest) seq kept; (0, 0) when the log is empty."""
        ...

    def on_commit(self, callback: Callable[[Sequence[ChangeRow]], None]) -> None:
        """Have `callback` called, on the calling event loop, after each write commits (also one
        made by another process sharing the database, where the store can tell). It gets the
        changes the commit logged, in seq order, when the store knows them; an empty sequence
        says "something was committed: read the log"."""
        ...

    def watch_writes(self, observe: Callable[[int, float], None]) -> None:
        """Have `observe(writes, seconds)` called after each batch of writes is committed: on
        SQLite a writer transaction (the writes it carried, and its time from BEGIN to COMMIT),
        on PostgreSQL a sequencer round (the changes it numbered, and its time). It may be
        called on another thread."""
        ...

    @property
    def waiting_writes(self) -> int:
        """Writes waiting for the database now: on SQLite queued for the writer, on PostgreSQL
        committed and waiting for a sequencer round."""
        ...

    @property
    def commits_here(self) -> bool:
        """Whether every commit to this database is made by this process and reported through
        `on_commit`, with its changes, before the write that made it returns. Then an answer kept
        until the feed reports a change to it is always exact (the listing cache relies on it)."""
        ...

    async def create_token(
        self,
        record: TokenRecord,
        secret_hash: str,
        *,
        rename: bool = False,
        once: Once | None = None,
    ) -> TokenRecord:
        """Store a token. A provider's or client's first token names it; a later one does not
        rename it unless `rename` says so (its name then only labels the token)."""
        ...

    async def find_token(self, token_id: str) -> StoredToken | None: ...

    async def revoked_tokens(self) -> list[str]:
        """The ids of every revoked token (the token cache drops them)."""
        ...

    async def list_tokens(self) -> list[TokenRecord]: ...

    async def revoke_token(
        self, token_id: str, now: float, *, once: Once | None = None
    ) -> RevokeResult: ...

    async def create_calendar_feed(
        self, feed: CalendarFeed, secret_hash: str, *, once: Once | None = None
    ) -> CalendarFeed: ...

    async def calendar_feeds(
        self, role: FeedRole | None, subject: str | None
    ) -> list[CalendarFeed]:
        """The feeds of one provider or client, or every feed (role None)."""
        ...

    async def calendar_feed_by_secret(self, secret_hash: str) -> CalendarFeed | None:
        """The feed whose secret has this hash, with its owner's display name now."""
        ...

    async def delete_calendar_feed(
        self,
        feed_id: str,
        owner: tuple[FeedRole, str] | None,
        now: float,
        *,
        once: Once | None = None,
    ) -> CalendarFeed:
        """Revoke a feed (only `owner`'s, unless None: an admin); CalendarFeedNotFound when there
        is no such feed of theirs."""
        ...

    async def party_details(self, role: str, party_id: str) -> PartyDetails | None:
        """A provider's or client's name, e-mail address and zone; None for one never seen."""
        ...

    async def set_party_details(
        self,
        role: str,
        party_id: str,
        *,
        email: str | Unchanged | None,
        time_zone: str | Unchanged | None,
        now: float,
    ) -> PartyDetails:
        """Set (None: remove) a party's address or zone, leaving what is UNCHANGED as it is."""
        ...

    async def provider_profile(self, provider_id: str) -> ProviderProfile | None:
        """A provider's public profile and whether their booking page is on; None for an id no
        provider has."""
        ...

    async def set_provider_profile(
        self, provider_id: str, changes: dict[str, object], now: float, *, once: Once | None = None
    ) -> ProviderProfile:
        """Set the profile fields (PROFILE_FIELDS) and `booking_page` that `changes` names, a None
        field removed, the rest left as they are; the profile as it then is. ProviderNotFound for
        an id no provider has (every provider token made one)."""
        ...

    async def booking_pages(self) -> list[ProviderProfile]:
        """The providers whose booking page is on, by name, then id (the nameless last)."""
        ...

    async def claim_notifications(self, now: float, limit: int, lease: float) -> list[Outgoing]:
        """Lease up to `limit` queued notifications due by `now` that no sender holds, for
        `lease` seconds; each with what its letter is written from."""
        ...

    async def record_notification(
        self,
        notification_id: str,
        *,
        status: NoticeStatus,
        error: str | None,
        now: float,
        retry_at: float | None,
    ) -> None:
        """What an attempt to send a claimed notification came to: `sent`, `failed`, or
        `queued` again (due at `retry_at`); the lease ends."""
        ...

    async def notifications(self, query: NotificationFilter) -> list[StoredNotification]:
        """Notifications, newest first, as `query` narrows them."""
        ...

    async def notification_counts(self) -> dict[str, int]:
        """How many notifications are queued, sent and failed."""
        ...

    async def hold_link(
        self, now: float, *, secret: str | None = None, ref: str | None = None
    ) -> HoldLink | None:
        """The hold a confirmation link's secret (or its public `ref`) names, as it is now."""
        ...

    async def use_hold_link(self, secret: str, now: float) -> None:
        """Mark a confirmation link used: it confirms nothing again."""
        ...

    # A provider's own calendars (backend/store/busy_records.py).

    async def create_busy_source(
        self, source: BusySource, *, most: int | None = None, once: Once | None = None
    ) -> BusySource:
        """Add the source; TooManyBusySources when its provider has `most` already."""
        ...

    async def find_busy_source(self, source_id: str) -> BusySource | None: ...

    async def busy_sources(self, provider_id: str) -> list[BusySource]:
        """The provider's sources, oldest first."""
        ...

    async def record_busy_refresh(
        self, source_id: str, refreshed: Refreshed, now: float
    ) -> BusySource | None:
        """Write down one refresh of the source: a success replaces its busy intervals whole (the
        listings and reserves that follow see them); a failure keeps the last good ones in force.
        None when the source is gone."""
        ...

    async def busy_conflicts(self, provider_id: str, now: float) -> list[Conflict]:
        """The provider's live holds and bookings that a busy interval of theirs overlaps."""
        ...

    async def busy_source_states(self, now: float) -> dict[str, int]:
        """How many sources are ok and how many failing (SOURCE_STATES)."""
        ...

    async def sealed_passwords(self) -> int:
        """How many sources and write-back calendars hold a password sealed with the server's
        secret key."""
        ...

    async def claim_busy_sources(
        self, now: float, limit: int, lease: float, *, only: str | None = None
    ) -> list[BusySource]:
        """Lease up to `limit` sources whose refresh is due (or the one source `only` names, due
        or not), none another refresher (of any process) holds, for `lease` seconds; the
        refresh's record ends the lease."""
        ...

    async def update_busy_source(
        self, source_id: str, changes: dict[str, object], now: float
    ) -> BusySource | None:
        """Change the source's settings (busy_records.CHANGEABLE, by column). Its busy intervals
        stay until the next refresh replaces them; a change to what a refresh reads (the kind,
        the address, the credentials, how all-day events count) makes that refresh due now and
        forgets the last fetch's validators. None when the source is gone."""
        ...

    async def delete_busy_source(
        self,
        source_id: str,
        now: float,
        *,
        provider_id: str | None = None,
        once: Once | None = None,
    ) -> BusySource:
        """Remove the source (the provider's, when one is named) and its busy intervals; the
        source as it was, or BusySourceNotFound."""
        ...

    async def busy_intervals(self, provider_id: str, start: float, end: float) -> list[StoredBusy]:
        """The provider's busy intervals, as stored, that overlap [start, end)."""
        ...

    # The waitlist (backend/store/waitlist_records.py, backend/rules/waitlist.py).

    async def join_waitlist(
        self, entry: NewEntry, now: float, *, once: Once | None = None
    ) -> StoredEntry:
        """Put the client last in the provider's line (ProviderNotFound for a provider with no
        slots and no profile, ServiceNotFound or ServiceArchived for a type it does not offer,
        TooManyWaitlistEntries past `rules.max_waitlist` live entries of the client's) and, in
        the same transaction, offer what is free in its window already, as any freed time."""
        ...

    async def waitlist(self, query: WaitlistFilter, now: float) -> list[StoredEntry]:
        """The entries the filter names, oldest place first, each with its place in line."""
        ...

    async def find_waitlist_entry(self, waitlist_id: str, now: float) -> StoredEntry | None: ...

    async def leave_waitlist(
        self, waitlist_id: str, now: float, *, once: Once | None = None
    ) -> StoredEntry:
        """Take the entry out of its line for good (WaitlistEntryNotFound when there is none);
        an offer it holds stays the client's hold. Answers the entry as it was."""
        ...

    # The calendar a provider's bookings are written back to
    # (backend/store/calendar_write_records.py).

    async def set_write_calendar(
        self,
        provider_id: str,
        url: str,
        username: str | None,
        password_sealed: str | None,
        now: float,
    ) -> tuple[WriteCalendar, bool]:
        """Set the provider's write-back calendar (and whether it is new): from then on each
        booking change of theirs queues a write there, in its own transaction. Every booking not
        yet over is queued to be written there, and the other queued writes waiting out a
        back-off are due at once."""
        ...

    async def write_calendar(self, provider_id: str) -> WriteCalendar | None:
        """The provider's write-back calendar with how its writes go; None when they have none."""
        ...

    async def delete_write_calendar(self, provider_id: str) -> WriteCalendar | None:
        """Stop writing the provider's bookings to their calendar (its queued writes dropped;
        what was written stays there); the calendar removed, None when there was none."""
        ...

    async def claim_calendar_writes(
        self, now: float, limit: int, lease: float
    ) -> list[ClaimedWrite]:
        """Lease up to `limit` queued writes due by `now` that no writer (of any process) holds,
        for `lease` seconds, only the oldest queued of each event; each with the calendar, the
        event's last ETag and the appointment as it stands."""
        ...

    async def record_calendar_write(self, write_id: str, outcome: WriteOutcome, now: float) -> None:
        """What an attempt at a claimed write came to: the write done (the event's ETag kept, or
        forgotten after a delete), failed, or queued again; the calendar's status. The lease
        ends."""
        ...

    async def managed_appointment(self, secret: str) -> ManagedAppointment | None:
        """The appointment a manage link's secret opens, as its invitation stands now; None
        for a secret no link has."""
        ...

    async def calendar_entries(
        self, role: FeedRole, subject: str, since: float
    ) -> list[CalendarEntry]:
        """The reservations of a provider or client that end after `since`, or were cancelled
        after it, in time order."""
        ...

    async def create_webhook(
        self, hook: StoredWebhook, *, most: int, once: Once | None = None
    ) -> StoredWebhook:
        """Store an endpoint; it gets the changes logged after this (its cursor is the log's
        last seq, as the returned record says). TooManyWebhooks when its owner (the provider,
        or the admins together) already has `most`."""
        ...

    async def list_webhooks(self, provider_id: str | None) -> list[StoredWebhook]:
        """One provider's endpoints, or (None) every endpoint."""
        ...

    async def find_webhook(self, webhook_id: str) -> StoredWebhook | None: ...

    async def delete_webhook(
        self, webhook_id: str, provider_id: str | None, now: float, *, once: Once | None = None
    ) -> StoredWebhook:
        """Remove an endpoint (only that provider's, unless None: an admin); WebhookNotFound
        when there is no such endpoint of theirs."""
        ...

    async def replay_webhook(
        self,
        webhook_id: str,
        provider_id: str | None,
        since: int,
        now: float,
        *,
        once: Once | None = None,
    ) -> StoredWebhook:
        """Deliver again from after `since`, now, and enable the endpoint if it was disabled."""
        ...

    async def due_webhooks(self, now: float, share: int, limit: int) -> list[DueWebhook]:
        """Enabled endpoints that are due, have changes after their cursor and that no one holds
        a lease on: at most `share` of each owner's (those waiting longest), each owner's first
        before anyone's second, and so on; `limit` in all."""
        ...

    async def claim_webhooks(
        self, webhook_ids: Sequence[str], now: float, until: float
    ) -> list[StoredWebhook]:
        """Lease, until `until`, those of these endpoints that are still due and that no one
        holds a lease on: over several processes each endpoint is delivered by one at a time."""
        ...

    async def record_attempt(self, webhook_id: str, attempted: Attempted, now: float) -> bool:
        """Write an attempt and the endpoint's new state; False when the endpoint is gone or was
        replayed meanwhile (nothing written)."""
        ...

    async def webhook_deliveries(self, webhook_id: str, limit: int) -> list[DeliveryRecord]:
        """The latest attempts, newest first."""
        ...

    async def check(self) -> None: ...

    async def close(self) -> None: ...


def stable_until(first_start: float | None, first_lapse: float | None, offset: float) -> float:
    """When a listing stops being right by the clock alone: at the first start in its range that
    lies beyond the horizon (`offset` before it: the notice period, or 0 with `too_soon`), or at
    the first lapse of a hold it looks at, whichever comes first. A microsecond early at the
    horizon, so that rounding in `now + offset` cannot make the listing change first."""
    by_start = math.inf if first_start is None else first_start - offset - 1e-6
    by_lapse = math.inf if first_lapse is None else first_lapse
    return min(by_start, by_lapse)
