"""Each store against a model: a Hypothesis state machine drives the real store (on a real SQLite
file, then on a real PostgreSQL database) through submit and delete availability, reserve, confirm,
cancel, the sweeper, a clock that jumps forward and the busy times the providers' own calendars give
(never a listed start, a hold or a move overlapping one), next to a plain in-memory model of the
booking rules (README.md, docs/api.md), and checks after every step that each answer and each view
agree and that the invariants hold.

The model is written from the rules, not from the store: a dict of slots and a few lines per rule.
A handful of providers, clients and times keeps collisions frequent; two holds per client makes
the limit easy to reach.

Clients also join providers' waitlists. Which waiting entry the store offers freed time to is
read from its change log (a `reserved` change naming the entry) and checked against the model:
the entry was waiting, its client below the hold limit, the start in its window and one the model
lets it hold, and no entry earlier in line could have held it; the model then holds it for them.
After every step: the entries' states and places agree, and no open start fits a waiting entry
whose client could hold it (the hand-over happened in the write that freed the time).
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from backend.rules.appointments import ProviderBusy
from backend.rules.booking import (
    BookingError,
    HoldLapsed,
    NotHeld,
    NothingToCancel,
    NothingToChange,
    NoticeTooShort,
    NotYourReservation,
    Rules,
    RuleViolation,
    SlotNotFound,
    SlotRow,
    SlotTaken,
    SlotTimeMismatch,
    TooLateToMove,
    TooManyHolds,
)
from backend.rules.service_types import (
    BufferConflict,
    DailyLimitReached,
    ServiceType,
    TooFarAhead,
)
from backend.store.base import (
    CancelResult,
    ChangeRow,
    ConfirmResult,
    MoveResult,
    NoteResult,
    OpenSlot,
    OpenSlotsCursor,
    ProviderNotFound,
    RemoveResult,
    ReserveResult,
    Store,
    SubmitResult,
)
from backend.store.busy_records import BusySource, Refreshed
from backend.store.postgres.store import PostgresStore
from backend.store.sqlite.store import SQLiteStore
from backend.store.waitlist_records import (
    NewEntry,
    StoredEntry,
    TooManyWaitlistEntries,
    WaitlistEntryNotFound,
    WaitlistFilter,
)
from tests.helpers import T0
from tests.postgres_server import PostgresForTests

pytestmark = pytest.mark.timeout(600)
"""A pass takes seconds; a failure may take up to five minutes shrinking to a short example."""

T = TypeVar("T")

RULES = Rules(max_holds=2, offer_seconds=1200, max_waitlist=3)
SLOT = RULES.slot_seconds
HOLD = RULES.hold_seconds
OFFER = RULES.offer_seconds
NOTICE = RULES.notice_seconds
DAY = 86_400

PROVIDERS = ("p1", "p2")
CLIENTS = ("c1", "c2", "c3")
UNKNOWN_ID = "0" * 32
EVERYTHING = (0, 2**40)
"""A time range that holds every slot."""

Row = tuple[object, ...]
"""A slot as the store returns it: the fields of SlotRow, in order."""

Change = tuple[
    str,
    str,
    str,
    int,
    str,
    str | None,
    float,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
]
"""(kind, slot id, provider, start, status after, client, at, appointment, note, slot moved from,
appointment type, waitlist entry): a change without its seq."""

LENGTHS = (None, None, None, SLOT, 2 * SLOT, 2 * SLOT, 3 * SLOT, 4 * SLOT)
"""Appointment lengths asked for: mostly one slot (None: whatever the slot's length), often
more, up to an hour."""
NOTES = (None, None, "first visit", "bring the X-rays")

TYPES = {
    service.service_id: service
    for service in (
        ServiceType("a" * 32, "p1", "Assessment", 60, buffer_after_minutes=15, daily_limit=2),
        ServiceType("b" * 32, "p1", "Follow-up", 30, buffer_before_minutes=30,
                    notice_minutes=1500),
        ServiceType("c" * 32, "p2", "Check", 15, buffer_after_minutes=30, notice_minutes=120,
                    max_advance_days=1, daily_limit=1),
    )
}  # fmt: skip
"""The appointment types the providers offer: an hour with a buffer after it, two a day; half an
hour with a buffer before it and a longer notice than the server's; a quarter of an hour with a
buffer after it, a much shorter notice, a booking window of a day (the first notice horizon) and
one a day."""

Expected = object
"""What the model predicts: a BookingError subclass, or the value the operation should return."""


# --- the model ----------------------------------------------------------------------------------


@dataclass
class Slot:
    id: str
    provider: str
    start: int
    status: str = "AVAILABLE"
    client: str | None = None
    reserved_at: float | None = None
    held_until: float | None = None
    confirmed_at: float | None = None
    appointment: str | None = None
    note: str | None = None
    service: str | None = None
    buffer_before: int = 0
    buffer_after: int = 0
    last_change: str = "created"
    last_service: dict[str | None, str | None] = field(default_factory=dict)
    """The type named by the last change to the slot by each client (None: by anyone)."""
    lapsed_for: set[str] = field(default_factory=set)
    """Clients whose latest hold on this slot ran out (rather than being confirmed or cancelled)."""

    def row(self) -> Row:
        return (
            self.id,
            self.provider,
            self.start,
            SLOT,
            self.status,
            self.client,
            self.reserved_at,
            self.held_until,
            self.confirmed_at,
            self.appointment,
            self.note,
            self.service,
            self.buffer_before,
            self.buffer_after,
        )

    def listed(self) -> Row:
        """The slot as the open-slot listing gives it: (id, provider, start, duration)."""
        return (self.id, self.provider, self.start, SLOT)

    def held_at(self, now: float) -> bool:
        return self.status == "RESERVED" and self.held_until is not None and now < self.held_until

    def open_at(self, now: float) -> bool:
        """Nobody holds it: never reserved, released, or the hold ran out (swept or not)."""
        return self.status == "AVAILABLE" or (self.status == "RESERVED" and not self.held_at(now))

    def live_at(self, now: float) -> bool:
        return self.status == "CONFIRMED" or self.held_at(now)

    def clear(self) -> None:
        self.status, self.client = "AVAILABLE", None
        self.reserved_at = self.held_until = self.confirmed_at = None
        self.appointment = self.note = self.service = None
        self.buffer_before = self.buffer_after = 0


@dataclass
class Waiting:
    """A place in a provider's line."""

    id: str
    provider: str
    client: str
    start: int
    end: int
    minutes: int
    service: str | None
    status: str = "waiting"
    """As stored: waiting, offered, fulfilled, declined, lapsed or expired."""
    offer: str | None = None
    offer_until: float | None = None

    @property
    def length(self) -> int:
        return self.minutes * 60

    def shown(self, now: float) -> str:
        """The status as the store shows it before any sweep writes it down."""
        if self.status == "waiting" and self.end <= now:
            return "expired"
        if self.status == "offered" and self.offer_until is not None and self.offer_until <= now:
            return "lapsed"
        return self.status

    def waiting_at(self, now: float) -> bool:
        return self.status == "waiting" and self.end > now


class Model:
    """What the store should hold and answer, kept by the rules written out plainly."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slots: dict[str, Slot] = {}
        self.gone: list[str] = []
        self.providers: set[str] = set()
        self.log: list[Change] = []
        """The changes the current operation should append, in order."""
        self.busy: dict[str, list[tuple[int, int]]] = {}
        """Each provider's busy intervals, as their calendar last gave them."""
        self.line: list[Waiting] = []
        """Waitlist entries, in the order they joined (the line's order)."""

    # --- views -----------------------------------------------------------------------------

    def slots_of(self, provider: str, start: float = 0, end: float = 2**40) -> list[Slot]:
        mine = [s for s in self.slots.values() if s.provider == provider and start <= s.start < end]
        return sorted(mine, key=lambda s: s.start)

    def is_busy(self, provider: str, start: int, end: int) -> bool:
        """The provider's calendar has them busy during some of [start, end)."""
        return any(b < end and e > start for b, e in self.busy.get(provider, []))

    def bookable(self, slot: Slot) -> bool:
        """A client could hold it now: open, and a hold taken now would not end before it began."""
        return slot.open_at(self.now) and slot.start - NOTICE > self.now

    def open_slots(
        self, start: float, end: float, provider: str | None = None, *, buffers: bool = True
    ) -> list[Slot]:
        """Listed open slots: with `buffers`, only those whose hold breaks no other appointment's
        buffer."""
        found = [
            s
            for s in self.slots.values()
            if self.bookable(s)
            and start <= s.start < end
            and provider in (None, s.provider)
            and not (buffers and self.in_a_buffer(s.provider, s.start, s.start + SLOT))
            and not (buffers and self.is_busy(s.provider, s.start, s.start + SLOT))
        ]
        return sorted(found, key=lambda s: (s.start, s.provider))

    def appointments(self, provider: str, own: str | None = None) -> list[list[Slot]]:
        """The provider's live appointments but `own`, each in time order."""
        found: dict[str, list[Slot]] = {}
        for slot in self.slots_of(provider):
            if slot.live_at(self.now) and slot.appointment not in (None, own):
                found.setdefault(slot.appointment or "", []).append(slot)
        return list(found.values())

    def in_a_buffer(
        self,
        provider: str,
        start: int,
        end: int,
        before: int = 0,
        after: int = 0,
        own: str | None = None,
    ) -> bool:
        """An appointment of [start, end) keeping these buffers would break the buffer rule with
        one of the provider's: B.start - A.end >= max(A.after, B.before)."""
        for other in self.appointments(provider, own):
            o_start, o_end = other[0].start, other[-1].start + SLOT
            if o_end <= start and start - o_end < max(other[0].buffer_after, before):
                return True
            if o_start >= end and o_start - end < max(after, other[0].buffer_before):
                return True
        return False

    def booked_that_day(self, service: str, start: int, own: str | None = None) -> int:
        """Live appointments of the type starting on the UTC day of `start` (no schedule, so the
        provider's day is UTC's), not counting `own`."""
        day = start // DAY
        heads = {
            s.appointment
            for s in self.slots.values()
            if s.service == service and s.live_at(self.now) and s.id == s.appointment
            and s.start // DAY == day and s.appointment != own
        }  # fmt: skip
        return len(heads)

    def refusal_by_type(
        self, service: ServiceType, start: int, own: str | None = None
    ) -> type[BookingError] | None:
        """What an appointment of the type at `start` breaks beyond its run: the booking window,
        then the daily limit."""
        days = service.max_advance_days
        if days is not None and start > self.now + days * DAY:
            return TooFarAhead
        limit = service.daily_limit
        if limit is not None and self.booked_that_day(service.service_id, start, own) >= limit:
            return DailyLimitReached
        return None

    def fits(self, service: ServiceType) -> list[Slot]:
        """The starts a listing of the type offers: where a reserve of it would take."""
        length, notice = service.minutes * 60, service.notice_minutes * 60
        before, after = service.buffer_before_minutes * 60, service.buffer_after_minutes * 60
        return [
            s
            for s in self.slots_of(service.provider_id)
            if s.open_at(self.now)
            and s.start - notice > self.now
            and self.run(s.provider, s.start, length) is not None
            and not self.in_a_buffer(s.provider, s.start, s.start + length, before, after)
            and not self.is_busy(s.provider, s.start, s.start + length)
            and self.refusal_by_type(service, s.start) is None
        ]

    def reservations(self, client: str) -> list[Slot]:
        mine = [
            s
            for s in self.slots.values()
            if s.client == client and (s.status == "CONFIRMED" or s.held_at(self.now))
        ]
        return sorted(mine, key=lambda s: (s.start, s.provider))

    def live_holds(self, client: str) -> int:
        """Held appointments, however many slots each."""
        return len(
            {
                s.appointment
                for s in self.slots.values()
                if s.client == client and s.held_at(self.now)
            }
        )

    def appointment_of(self, slot: Slot) -> list[Slot]:
        """The live appointment the slot is part of, in time order (none when it is not live)."""
        if not slot.live_at(self.now):
            return []
        whole = [
            s
            for s in self.slots.values()
            if s.appointment == slot.appointment and s.live_at(self.now)
        ]
        return sorted(whole, key=lambda s: s.start)

    def run(
        self, provider: str, start: int, length: int, own: str | None = None
    ) -> list[Slot] | None:
        """The provider's slots that cover [start, start + length) one after another, each open
        (or part of the appointment `own`); None when there is a gap or a taken slot."""
        mine = self.slots_of(provider, start, start + length)  # once, not once a slot
        found = []
        for t in range(start, start + length, SLOT):
            slot = next((s for s in mine if t <= s.start < t + 1), None)
            if slot is None:
                return None
            if not slot.open_at(self.now) and (own is None or slot.appointment != own):
                return None
            found.append(slot)
        return found

    def open_runs(self, length: int) -> list[Slot]:
        """Open slots an appointment of this length could start at now."""
        return [
            s
            for s in self.open_slots(*EVERYTHING, buffers=False)
            if self.run(s.provider, s.start, length)
            and not self.in_a_buffer(s.provider, s.start, s.start + length)
            and not self.is_busy(s.provider, s.start, s.start + length)
        ]

    def next_open(self, provider: str) -> int | None:
        """The providers' summary names the next open slot, buffers aside."""
        starts = [s.start for s in self.open_slots(*EVERYTHING, provider, buffers=False)]
        return min(starts, default=None)

    # --- what changes -----------------------------------------------------------------------

    def note(
        self,
        kind: str,
        slot: Slot,
        client: str | None,
        *,
        was: tuple[str | None, str | None, str | None] | None = None,
        moved_from: str | None = None,
        waitlist: str | None = None,
    ) -> None:
        """Log a change: `was` is the (appointment, note, type) a release took from the slot."""
        slot.last_change = kind
        status = slot.status if kind != "deleted" else "AVAILABLE"
        appointment, note, service = (
            was if was is not None else (slot.appointment, slot.note, slot.service)
        )
        slot.last_service[None] = service
        if client is not None:
            slot.last_service[client] = service
        self.log.append(
            (kind, slot.id, slot.provider, slot.start, status, client, self.now, appointment, note,
             moved_from, service, waitlist)
        )  # fmt: skip

    def lapse(self, slot: Slot) -> None:
        client = slot.client
        assert client is not None
        was = (slot.appointment, slot.note, slot.service)
        self.settle(slot.appointment, "lapsed")
        slot.clear()
        slot.lapsed_for.add(client)
        self.note("expired", slot, client, was=was)

    def window_refused(self, start: int, end: int) -> bool:
        """Availability must be a window on the grid, in order, not too long, not in the past."""
        on_grid = start % SLOT == 0 and end % SLOT == 0
        return (
            end <= start
            or end - start > RULES.max_window_seconds
            or not on_grid
            or start < self.now
        )

    def starts_to_create(self, provider: str, start: int, end: int) -> list[int]:
        taken = {s.start for s in self.slots_of(provider)}
        starts, t = [], start
        while t + SLOT <= end:
            if t not in taken:
                starts.append(t)
            t += SLOT
        return starts

    def create(self, provider: str, start: int, slot_id: str) -> None:
        slot = Slot(slot_id, provider, start)
        self.slots[slot_id] = slot
        self.note("created", slot, None)

    def remove(self, provider: str, start: float, end: float) -> Expected:
        """Open slots in the window go; held and booked ones stay and are reported."""
        if end <= start or end - start > RULES.max_window_seconds:
            return RuleViolation
        window = self.slots_of(provider, start, end)
        kept = [s.row() for s in window if not s.open_at(self.now)]
        doomed = [s for s in window if s.open_at(self.now)]
        for slot in doomed:
            del self.slots[slot.id]
            self.gone.append(slot.id)
            self.note("deleted", slot, None)
        return (len(doomed), kept)

    def reserve(
        self,
        slot_id: str,
        time_slot: float,
        client: str,
        length: int | None = None,
        note: str | None = None,
        service_id: str | None = None,
        *,
        hold: float = HOLD,
        waitlist: str | None = None,
        dry: bool = False,
    ) -> Expected:
        """A client's hold (an offer's, with `waitlist` and the offer's `hold`); with `dry` the
        answer alone, nothing changed."""
        slot = self.slots.get(slot_id)
        if slot is None:
            return SlotNotFound
        if time_slot != slot.start:
            return SlotTimeMismatch
        service = None if service_id is None else TYPES[service_id]
        if service is not None and service.provider_id != slot.provider:
            return RuleViolation
        notice = NOTICE if service is None else service.notice_minutes * 60
        before = 0 if service is None else service.buffer_before_minutes * 60
        after = 0 if service is None else service.buffer_after_minutes * 60
        if service is not None:
            length = service.minutes * 60
        if slot.held_at(self.now) and slot.client == client:
            whole = self.appointment_of(slot)
            if length is None or (
                whole[0] is slot and len(whole) * SLOT == length and slot.service == service_id
            ):
                return ([s.row() for s in whole], True)  # a repeat: the same hold
            return SlotTaken
        if slot.start - notice <= self.now:
            return NoticeTooShort
        if service is not None and (
            service.max_advance_days is not None
            and slot.start > self.now + service.max_advance_days * DAY
        ):
            return TooFarAhead
        if not slot.open_at(self.now):
            return SlotTaken
        run = self.run(slot.provider, slot.start, length or SLOT)
        if run is None:
            return SlotTaken
        end = slot.start + (length or SLOT)
        if self.is_busy(slot.provider, slot.start, end):
            return ProviderBusy
        if self.in_a_buffer(slot.provider, slot.start, end, before, after):
            return BufferConflict
        if service is not None and self.refusal_by_type(service, slot.start) is not None:
            return DailyLimitReached
        if self.live_holds(client) >= RULES.max_holds:
            return TooManyHolds
        if dry:
            return ([], False)
        for taken in run:
            if taken.status == "RESERVED":  # somebody's lapsed hold, not swept yet: it ends here
                self.lapse(taken)
        for taken in run:
            taken.status, taken.client = "RESERVED", client
            taken.reserved_at = self.now
            taken.held_until = min(self.now + hold, slot.start - notice)
            taken.appointment, taken.note = slot.id, note
            taken.service, taken.buffer_before, taken.buffer_after = service_id, before, after
            taken.lapsed_for.discard(client)
            self.note("reserved", taken, client, waitlist=waitlist)
        return ([s.row() for s in run], False)

    def confirm(self, slot_id: str, time_slot: float, client: str | None) -> Expected:
        """`client` None is a caller who may confirm anybody's hold (an admin)."""
        slot = self.slots.get(slot_id)
        if slot is None:
            return SlotNotFound
        if time_slot != slot.start:
            return SlotTimeMismatch
        mine = client is None or slot.client == client
        my_hold_ran_out = (
            slot.last_change == "expired" if client is None else client in slot.lapsed_for
        )
        service_id = slot.service or slot.last_service.get(client)
        if service_id is not None and slot.status != "CONFIRMED" and (mine or my_hold_ran_out):
            live = self.appointment_of(slot)
            start = live[0].start if live else slot.start
            if start - TYPES[service_id].notice_minutes * 60 <= self.now:
                return NoticeTooShort
        if slot.held_at(self.now) and mine:
            whole = self.appointment_of(slot)
            self.settle(whole[0].appointment, "fulfilled")
            for booked in whole:
                booked.status, booked.held_until, booked.confirmed_at = "CONFIRMED", None, self.now
                self.note("confirmed", booked, booked.client)
            return ([s.row() for s in whole], False)
        if slot.status == "CONFIRMED" and mine:
            return ([s.row() for s in self.appointment_of(slot)], True)
        if slot.status == "CONFIRMED" or slot.held_at(self.now):  # somebody else's
            return HoldLapsed if my_hold_ran_out else NotYourReservation
        if (slot.status == "RESERVED" and mine) or my_hold_ran_out:
            return HoldLapsed
        return NotHeld

    def cancel(
        self, slot_id: str, client: str | None, provider: str | None, admin: bool
    ) -> Expected:
        """The holder, the slot's provider or an admin may release a live hold or a booking that
        has not started."""
        slot = self.slots.get(slot_id)
        if slot is None:
            return SlotNotFound
        if not (slot.status == "CONFIRMED" or slot.held_at(self.now)):
            return NothingToCancel
        entitled = (
            admin
            or (client is not None and slot.client == client)
            or (provider is not None and slot.provider == provider)
        )
        if not entitled:
            return NotYourReservation
        whole = self.appointment_of(slot)
        if whole[0].start <= self.now:
            return NothingToCancel
        former = slot.client
        self.settle(whole[0].appointment, "declined")
        for freed in whole:
            was = (freed.appointment, freed.note, freed.service)
            freed.clear()
            if former is not None:
                freed.lapsed_for.discard(former)
            self.note("cancelled", freed, former, was=was)
        return ([s.row() for s in whole], former)

    def whose(self, slot: Slot, client: str | None) -> list[Slot] | type[BookingError]:
        """The live appointment of `slot` if the caller (None: an admin) may change it."""
        mine = client is None or slot.client == client
        whole = self.appointment_of(slot)
        if not whole:
            return HoldLapsed if slot.status == "RESERVED" and mine else NothingToChange
        if not mine:
            return NotYourReservation
        if whole[0].start <= self.now:
            return NothingToChange
        return whole

    def move(self, slot_id: str, to_id: str, time_slot: float, client: str | None) -> Expected:
        slot, target = self.slots.get(slot_id), self.slots.get(to_id)
        if slot is None or target is None:
            return SlotNotFound
        whole = self.whose(slot, client)
        if not isinstance(whole, list):
            return whole
        if time_slot != target.start:
            return SlotTimeMismatch
        head = whole[0]
        service = None if head.service is None else TYPES[head.service]
        notice = NOTICE if service is None else service.notice_minutes * 60
        if head.status == "CONFIRMED" and head.start - notice <= self.now:
            return TooLateToMove
        if target.start - notice <= self.now:
            return NoticeTooShort
        if (target.provider, target.start) == (head.provider, head.start):
            return ([s.row() for s in whole], True)
        if service is not None and target.provider != head.provider:
            return SlotTaken
        if service is not None and (
            service.max_advance_days is not None
            and target.start > self.now + service.max_advance_days * DAY
        ):
            return TooFarAhead
        length = len(whole) * SLOT
        run = self.run(target.provider, target.start, length, own=head.appointment)
        if run is None:
            return SlotTaken
        if self.is_busy(target.provider, target.start, target.start + length):
            return ProviderBusy
        if self.in_a_buffer(
            target.provider, target.start, target.start + length, head.buffer_before,
            head.buffer_after, own=head.appointment,
        ):  # fmt: skip
            return BufferConflict
        if service is not None and self.refusal_by_type(
            service, target.start, own=head.appointment
        ):
            return DailyLimitReached
        state = [
            (s.status, s.client, s.reserved_at, s.confirmed_at, s.note, s.service,
             s.buffer_before, s.buffer_after)
            for s in whole
        ]  # fmt: skip
        status, holder, reserved_at, confirmed_at, note, kind, before, after = state[0]
        held_until = None
        if status == "RESERVED":
            assert reserved_at is not None
            held_until = min(reserved_at + HOLD, target.start - notice)
        old_ids = [s.id for s in whole]
        for entry in self.line:
            if entry.status == "offered" and entry.offer == head.appointment:
                entry.offer, entry.offer_until = target.id, held_until
        for freed in whole:
            freed.clear()
        for taken in run:
            taken.status, taken.client = status, holder
            taken.reserved_at, taken.held_until, taken.confirmed_at = (
                reserved_at, held_until, confirmed_at
            )  # fmt: skip
            taken.appointment, taken.note = target.id, note
            taken.service, taken.buffer_before, taken.buffer_after = kind, before, after
            if holder is not None:
                taken.lapsed_for.discard(holder)
        pairs = list(zip(old_ids, run, strict=True))
        if (target.provider, target.start) > (head.provider, head.start):
            pairs.reverse()
        for was, taken in pairs:
            self.note("moved", taken, holder, moved_from=was)
        return ([s.row() for s in run], False)

    def set_note(self, slot_id: str, note: str | None, client: str | None) -> Expected:
        slot = self.slots.get(slot_id)
        if slot is None:
            return SlotNotFound
        whole = self.whose(slot, client)
        if not isinstance(whole, list):
            return whole
        if whole[0].note == note:
            return ([s.row() for s in whole], True)
        for noted in whole:
            noted.note = note
            self.note("noted", noted, noted.client)
        return ([s.row() for s in whole], False)

    def sweep(self) -> int:
        for entry in self.line:
            if entry.status == "waiting" and entry.end <= self.now:
                entry.status = "expired"
        lapsed = [
            s for s in self.slots.values() if s.status == "RESERVED" and not s.held_at(self.now)
        ]
        for slot in lapsed:
            self.lapse(slot)
        return len(lapsed)

    # --- the waitlist ------------------------------------------------------------------------

    def settle(self, appointment: str | None, status: str) -> None:
        """An offer's hold ended (confirmed, released or lapsed): its entry leaves the line."""
        for entry in self.line:
            if entry.status == "offered" and entry.offer == appointment:
                entry.status = status

    def join(self, entry: Waiting) -> Expected:
        if entry.provider not in self.providers:
            return ProviderNotFound
        live = [
            e
            for e in self.line
            if e.client == entry.client and e.status in ("waiting", "offered") and e.end > self.now
        ]
        if len(live) >= RULES.max_waitlist:
            return TooManyWaitlistEntries
        self.line.append(entry)
        return entry.id

    def leave(self, waitlist_id: str) -> Expected:
        found = [e for e in self.line if e.id == waitlist_id]
        if not found:
            return WaitlistEntryNotFound
        self.line.remove(found[0])
        return (found[0].id, found[0].shown(self.now))

    def held(self, client: str) -> int:
        """The client's held appointments, counting holds that lapsed unswept."""
        return len(
            {
                s.appointment
                for s in self.slots.values()
                if s.client == client and s.status == "RESERVED"
            }
        )

    def could_hold(self, entry: Waiting, start: int, *, swept_only: bool = False) -> bool:
        """The entry's client could be offered `start`: in the window, and a reserve of its length
        (or type) there would take. `swept_only`: over slots no hold sits on, lapsed or not."""
        if not (entry.start <= start and start + entry.length <= entry.end):
            return False
        head = next((s for s in self.slots_of(entry.provider, start, start + 1)), None)
        if head is None:
            return False
        if swept_only and any(
            s.status != "AVAILABLE"
            for s in self.slots_of(entry.provider, start, start + entry.length)
        ):
            return False
        length = None if entry.service is not None else entry.length
        outcome = self.reserve(head.id, start, entry.client, length, None, entry.service, dry=True)
        return isinstance(outcome, tuple)

    def offer(self, waitlist_id: str, head_id: str, slots: int) -> None:
        """The store offered the entry the hold from `head_id`: check that it was the entry's due
        and that no earlier entry in line could have had it, then hold it for them."""
        entry = next(e for e in self.line if e.id == waitlist_id)
        head = self.slots[head_id]
        assert entry.waiting_at(self.now), entry
        assert entry.provider == head.provider, (entry, head)
        assert slots * SLOT == entry.length, (entry, slots)
        assert self.live_holds(entry.client) < RULES.max_holds, entry
        assert self.could_hold(entry, head.start), (entry, head)
        for earlier in self.line[: self.line.index(entry)]:
            if earlier.provider == entry.provider and earlier.waiting_at(self.now):
                due = self.live_holds(earlier.client) < RULES.max_holds
                assert not (due and self.could_hold(earlier, head.start)), (earlier, entry, head)
        length = None if entry.service is not None else entry.length
        outcome = self.reserve(
            head.id, head.start, entry.client, length, None, entry.service, hold=OFFER,
            waitlist=entry.id,
        )  # fmt: skip
        assert isinstance(outcome, tuple), outcome
        entry.status, entry.offer, entry.offer_until = "offered", head.id, head.held_until

    def anyone_waiting(self, provider: str) -> bool:
        return any(e.provider == provider and e.waiting_at(self.now) for e in self.line)

    def lapsed_to_the_line(self, provider: str, near: int) -> None:
        """A reserve or move near a lapsed hold, while someone waits for the provider: the lapsed
        holds around it end first (the store then offers the time to the line)."""
        if not self.anyone_waiting(provider):
            return
        reach = RULES.max_appointment_seconds
        lapsed = [
            s
            for s in self.slots_of(provider, near - reach, near + 2 * reach)
            if s.status == "RESERVED" and not s.held_at(self.now)
        ]
        for slot in lapsed:
            self.lapse(slot)


# --- how the store's answers compare with the model's --------------------------------------------


def shown(outcome: object) -> object:
    """A store result in the model's terms; a refusal is its class."""
    match outcome:
        case (
            ReserveResult(slots=slots, repeated=repeated)
            | ConfirmResult(slots=slots, repeated=repeated)
            | MoveResult(slots=slots, repeated=repeated)
            | NoteResult(slots=slots, repeated=repeated)
        ):
            return ([tuple(s) for s in slots], repeated)
        case CancelResult(slots=slots, former_client_id=former):
            return ([tuple(s) for s in slots], former)
        case RemoveResult(deleted=deleted, kept=kept):
            return (deleted, [tuple(s) for s in kept])
    return outcome


def rows(slots: Iterable[SlotRow] | Iterable[OpenSlot]) -> list[Row]:
    return [tuple(s) for s in slots]


def outcome_name(operation: str, outcome: object) -> str:
    """A label for Hypothesis's statistics: which answer an operation got."""
    if isinstance(outcome, type):
        return f"{operation}: {outcome.__name__}"
    repeated = getattr(outcome, "repeated", False)
    return f"{operation}: {'repeated' if repeated else 'done'}"


Mirrored = tuple[str, str, int, str, str | None]
"""(slot id, provider, start, status, client)"""


def replay(changes: Iterable[Change]) -> dict[str, Mirrored]:
    """The slots a client of the change feed would see, by id, after applying it in order."""
    mirror: dict[str, Mirrored] = {}
    for kind, slot_id, provider, start, status, client, _, _, _, moved_from, _, _ in changes:
        if kind == "moved":  # takes its slot, releases the one it came from
            assert moved_from is not None
            source, source_provider, source_start, _, _ = mirror[moved_from]
            mirror[moved_from] = (source, source_provider, source_start, "AVAILABLE", None)
        if kind == "deleted":
            assert slot_id in mirror, f"{slot_id} deleted before it was created"
            del mirror[slot_id]
            continue
        assert (kind == "created") == (slot_id not in mirror), f"{kind} of {slot_id}"
        if kind == "moved":
            assert mirror[slot_id][3] == "AVAILABLE" or slot_id == moved_from, (
                "moved onto a taken slot"
            )
        holder = client if status != "AVAILABLE" else None
        mirror[slot_id] = (slot_id, provider, start, status, holder)
    return mirror


def change_of(c: ChangeRow) -> Change:
    return (
        c.kind, c.slot_id, c.provider_id, c.start, c.status, c.client_id, c.at, c.appointment_id,
        c.note, c.from_slot_id, c.service_id, c.waitlist_id,
    )  # fmt: skip


@dataclass(frozen=True)
class View:
    """What the store shows after a step."""

    slots: list[SlotRow]
    """Every slot, by provider then time."""
    open_everywhere: list[OpenSlot]
    open_by_provider: dict[str, list[OpenSlot]]
    open_near: list[OpenSlot]
    open_by_pages: list[OpenSlot]
    open_runs: dict[int, list[OpenSlot]]
    """Starts of open runs, by their length."""
    open_fits: dict[str, list[OpenSlot]]
    """Where each appointment type fits, by its id."""
    reservations: dict[str, list[SlotRow]]
    providers: list[tuple[str, int | None]]
    log: list[ChangeRow]
    waitlist: list[StoredEntry]


# --- the machine ----------------------------------------------------------------------------------

ANCHORS = ("fixed", "horizon", "horizon", "now")
SKEWS = (0,) * 14 + (1, 450)
"""Mostly on the grid; now and then a second or half a slot off it."""
SUBMITTED = (SLOT, 2 * SLOT, 4 * SLOT, 8 * SLOT, 8 * SLOT, 12 * SLOT, -SLOT, 0, 31 * DAY + SLOT)
DELETED = (SLOT, 2 * SLOT, 3 * SLOT, 8 * SLOT, DAY, -SLOT, 0, 31 * DAY + SLOT)
"""Window lengths: mostly sound, some empty, backwards or longer than the cap."""


BUSY_FOR = (0, SLOT, 2 * SLOT, 3 * SLOT + 450, 5 * SLOT, 12 * SLOT)
"""Busy times: none (the calendar cleared), a slot, a few (one off the grid), over an hour."""


def calendar_of(provider: str, now: float) -> BusySource:
    return BusySource(
        source_id=f"{provider}-calendar", provider_id=provider, name="Own", kind="ics",
        url=f"https://calendar.example.org/{provider}.ics", username=None, password_sealed=None,
        refresh_minutes=15, all_day_events="busy", created_at=now, updated_at=now,
        due_at=now + 900,
    )  # fmt: skip


def choices(*pools: str) -> st.SearchStrategy[tuple[str, int]]:
    """Which slot an operation names: a kind (one a client could hold now, one with a live hold,
    one booked, one whose hold lapsed, any, one deleted or never made), then which of that kind."""
    return st.tuples(st.sampled_from(pools), st.integers(0, 63))


TO_RESERVE = choices("bookable", "bookable", "bookable", "held", "lapsed", "any", "gone")
TO_SETTLE = choices("held", "held", "held", "booked", "booked", "lapsed", "lapsed", "any", "gone")
"""Slots to confirm or cancel."""
STAMPS = ("slot",) * 8 + ("next slot", "a minute late")
STEPS = (0.25, 1, 60, 300, 600, 899, 900, 900, 1799, 1800, 1801, 3600, DAY)
FIXED = int(T0 + NOTICE + HOLD)
"""Windows cut from here start either side of the first notice horizon: holds on the earlier slots
are cut short by the notice, later ones last the full hold."""
NEAR = (FIXED - SLOT, FIXED + 3 * SLOT)
"""A narrow listing range, to check its edges."""
PAGE = 4
RUNS = (SLOT, 2 * SLOT, 4 * SLOT)
"""Appointment lengths the listing is asked to fit."""


MODEL_SETTINGS = settings(
    stateful_step_count=50,
    deadline=None,
    derandomize=True,  # the same runs every time, in CI too
    database=None,
)
EXAMPLES = {"sqlite": 100, "postgresql": 30}
"""Runs per store. A step costs PostgreSQL about ten times what it costs SQLite (each of the twenty
or so reads that check it is a round trip to the server, and a write also waits for its sequencer
round), so it gets the first 30 of the runs SQLite gets: the same contract, kept to about 25
seconds each under coverage, so that `make test` stays under 12 minutes on two cores."""


@dataclass(frozen=True)
class Place:
    """Where one run's store lives: a new, empty database, and how to remove it afterwards."""

    open: Callable[[], Awaitable[Store]]
    remove: Callable[[], None]


def sqlite_place() -> Place:
    folder = Path(tempfile.mkdtemp(prefix="slotbook-model-"))

    async def open_store() -> Store:
        return SQLiteStore(str(folder / "slotbook.db"), RULES, synchronous="OFF")

    return Place(open_store, lambda: shutil.rmtree(folder, ignore_errors=True))


def postgresql_place(postgres: PostgresForTests) -> Place:
    url = postgres.copy()

    async def open_store() -> Store:
        return await PostgresStore.open(url, RULES, pool_size=2)

    return Place(open_store, lambda: postgres.drop(url))


class StoreAgainstModel(RuleBasedStateMachine):
    """Run with `--hypothesis-show-statistics` to see which answers the runs reached."""

    def __init__(self, place: Callable[[], Place]) -> None:
        super().__init__()
        self.place = place()
        self.loop = asyncio.new_event_loop()
        self.store = self.run(self.place.open())
        self.model = Model(T0)
        self.seen_seq = 0
        self.booked: dict[str, str | None] = {}
        """Bookings seen in the store so far, slot id to client: only a cancel may end one."""
        self.left: set[str] = set()
        """Waitlist entries that left (their ids are not used again)."""

    def teardown(self) -> None:
        try:
            self.run(self.store.close())
        finally:
            self.loop.close()
            self.place.remove()

    # --- plumbing ----------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.model.now

    def run(self, operation: Awaitable[T]) -> T:
        return self.loop.run_until_complete(operation)

    def attempt(self, operation: Awaitable[T]) -> T | type[BookingError]:
        try:
            return self.run(operation)
        except BookingError as refused:
            return type(refused)

    def anchor(self, name: str) -> int:
        """Where windows are cut from: a fixed moment (so windows keep colliding as time goes by),
        the current notice horizon, or the current time."""
        if name == "fixed":
            return FIXED
        aligned_now = int(self.now // SLOT * SLOT)
        return aligned_now + int(NOTICE) if name == "horizon" else aligned_now

    def pick(self, choice: tuple[str, int], provider: str | None = None) -> tuple[str, Slot | None]:
        """A slot to act on: any slot, a held or booked one, or one that is gone or never was
        (of `provider`, when named)."""
        pool, n = choice
        present = sorted(
            (s for s in self.model.slots.values() if provider in (None, s.provider)),
            key=lambda s: (s.provider, s.start),
        )
        now = self.now
        chosen = {
            "bookable": [s for s in present if self.model.bookable(s)],
            "held": [s for s in present if s.held_at(now)],
            "booked": [s for s in present if s.status == "CONFIRMED"],
            "lapsed": [
                s for s in present if s.lapsed_for or (s.status == "RESERVED" and s.open_at(now))
            ],
            "any": present,
        }
        choices = (chosen.get(pool) or present) if pool != "gone" else []
        if choices:
            slot = choices[n % len(choices)]
            return slot.id, slot
        missing = [*self.model.gone, UNKNOWN_ID]
        return missing[n % len(missing)], None

    def appended(self) -> list[Change]:
        """The changes logged since the last step (a calendar's news of a conflict rides in the
        log too, and is left out: tests/backend/test_busy_events.py)."""
        logged = self.run(self.store.changes_since(self.seen_seq, 100_000))
        return [change_of(c) for c in logged if not c.is_event]

    def absorb_offers(self, got: list[Change], at: int) -> None:
        """The offers the store made, from `got[at]` on (each: the lapsed holds its hold ended,
        then its `reserved` changes naming the entry), checked and made in the model too."""
        while True:
            named = [i for i in range(at, len(got)) if got[i][11] is not None]
            if not named or any(c[0] != "expired" for c in got[at : named[0]]):
                return
            first = named[0]
            waitlist_id = got[first][11]
            assert waitlist_id is not None
            slots = 1
            while first + slots < len(got) and got[first + slots][11] == waitlist_id:
                slots += 1
            self.model.offer(waitlist_id, got[first][1], slots)
            event("an offer made")
            at = len(self.model.log)

    def expect_changes(self, *, in_any_order: bool = False) -> None:
        """The operation appended exactly the changes the model made, with the next seqs; offers
        the waitlist was made after it are checked and made in the model first."""
        appended = self.run(self.store.changes_since(self.seen_seq, 100_000))
        assert [c.seq for c in appended] == list(
            range(self.seen_seq + 1, self.seen_seq + 1 + len(appended))
        )
        got: list[Change] = [change_of(c) for c in appended if not c.is_event]
        self.absorb_offers(got, len(self.model.log))
        expected, self.model.log = self.model.log, []
        if in_any_order:
            got, expected = sorted(got, key=repr), sorted(expected, key=repr)
        assert got == expected
        self.seen_seq += len(appended)

    # --- availability ------------------------------------------------------------------------

    @initialize(
        first=st.integers(-4, 0),
        slots=st.integers(4, 12),
        holds=st.integers(0, 3),
        bookings=st.integers(0, 2),
    )
    def providers_publish_and_clients_hold_and_book(
        self, first: int, slots: int, holds: int, bookings: int
    ) -> None:
        """A start with something to act on: the providers' appointment types and each provider's
        window, then holds (c1 and c2 in turn, so three put c1 at the limit) and bookings (c3),
        made by the same checked operations as the rules below."""
        for service in TYPES.values():
            self.run(self.store.create_service(service))
        for provider in PROVIDERS:
            self.submit(provider, "fixed", first, slots * SLOT, 0, 0)
        for n in range(holds + bookings):
            slot_id, slot = self.pick(("bookable", 7 * n))
            assert slot is not None
            client = CLIENTS[n % 2] if n < holds else CLIENTS[2]
            self.reserve_slot(slot_id, slot.start, client)
            if n >= holds:
                self.confirm_slot(slot_id, slot.start, client)

    @rule(
        provider=st.sampled_from(PROVIDERS),
        anchor=st.sampled_from(ANCHORS),
        first=st.integers(-4, 8),
        length=st.sampled_from(SUBMITTED),
        start_skew=st.sampled_from(SKEWS),
        end_skew=st.sampled_from(SKEWS),
    )
    def submit(
        self, provider: str, anchor: str, first: int, length: int, start_skew: int, end_skew: int
    ) -> None:
        aligned = self.anchor(anchor) + first * SLOT
        start, end, now = aligned + start_skew, aligned + length + end_skew, self.now

        async def as_the_api_does() -> SubmitResult:
            checked_start, checked_end = RULES.check_window(start, end, now)
            return await self.store.submit_availability(provider, checked_start, checked_end, now)

        outcome = self.attempt(as_the_api_does())
        event(outcome_name("submit", outcome))
        if self.model.window_refused(start, end):
            assert outcome is RuleViolation
        else:
            assert isinstance(outcome, SubmitResult), outcome
            new_starts = self.model.starts_to_create(provider, start, end)
            ids = {s.start: s.id for s in outcome.slots}
            assert outcome.created == len(new_starts)
            for slot_start in new_starts:
                assert ids[slot_start] not in self.model.slots
                assert ids[slot_start] not in self.model.gone
                self.model.create(provider, slot_start, ids[slot_start])
            self.model.providers.add(provider)
            self.absorb_offers(self.appended(), len(self.model.log))  # the window's new slots
            assert rows(outcome.slots) == [
                s.row() for s in self.model.slots_of(provider, start, end)
            ]
        self.expect_changes()

    @rule(
        provider=st.sampled_from(PROVIDERS),
        anchor=st.sampled_from(ANCHORS),
        first=st.integers(-4, 8),
        length=st.sampled_from(DELETED),
        start_skew=st.sampled_from(SKEWS),
        end_skew=st.sampled_from(SKEWS),
    )
    def delete(
        self, provider: str, anchor: str, first: int, length: int, start_skew: int, end_skew: int
    ) -> None:
        aligned = self.anchor(anchor) + first * SLOT
        start, end, now = aligned + start_skew, aligned + length + end_skew, self.now

        async def as_the_api_does() -> RemoveResult:
            RULES.check_range(start, end)
            return await self.store.remove_availability(provider, start, end, now)

        outcome = self.attempt(as_the_api_does())
        event(outcome_name("delete", outcome))
        assert shown(outcome) == self.model.remove(provider, start, end)
        self.expect_changes()

    # --- holds and bookings ------------------------------------------------------------------

    @rule(
        client=st.sampled_from(CLIENTS),
        choice=TO_RESERVE,
        stamp=st.sampled_from(STAMPS),
        length=st.sampled_from(LENGTHS),
        note=st.sampled_from(NOTES),
        service=st.sampled_from((None, None, *TYPES)),
    )
    def reserve(
        self,
        client: str,
        choice: tuple[str, int],
        stamp: str,
        length: int | None,
        note: str | None,
        service: str | None,
    ) -> None:
        # Mostly one of the type's provider's slots (another's is refused before anything else),
        # and mostly one where the type fits, as a client who has just listed them.
        provider = None if service is None or choice[1] % 4 == 0 else TYPES[service].provider_id
        slot_id, slot = self.pick(choice, provider)
        fitting = [] if service is None else self.model.fits(TYPES[service])
        if fitting and choice[0] != "gone" and choice[1] % 3:
            slot = fitting[choice[1] % len(fitting)]
            slot_id = slot.id
        self.reserve_slot(slot_id, self.stamp(slot, stamp), client, length, note, service)

    @rule(
        client=st.sampled_from(CLIENTS),
        service=st.sampled_from(tuple(TYPES)),
        n=st.integers(0, 63),
        book=st.booleans(),
    )
    def hold_a_type_where_it_fits(self, client: str, service: str, n: int, book: bool) -> None:
        """A client lists where a type fits and holds (and books) one of those starts: the
        appointments whose buffers and limits the other rules then run into."""
        fitting = self.model.fits(TYPES[service])
        if not fitting:
            return
        slot = fitting[n % len(fitting)]
        self.reserve_slot(slot.id, slot.start, client, service=service)
        if book and slot.held_at(self.now):
            self.confirm_slot(slot.id, slot.start, client)

    def reserve_slot(
        self,
        slot_id: str,
        time_slot: float,
        client: str,
        length: int | None = None,
        note: str | None = None,
        service: str | None = None,
    ) -> None:
        if service is not None:  # as the API does: the type's length
            length = TYPES[service].minutes * 60
        outcome = self.attempt(
            self.store.reserve(
                slot_id, time_slot, client, self.now, length=length, note=note, service_id=service
            )
        )
        self.lapsed_to_the_line(slot_id, time_slot, client, length, service)
        kind = "" if service is None else f" {TYPES[service].name}"
        event(outcome_name(f"reserve {length or SLOT}s{kind}", outcome))
        expected = self.model.reserve(slot_id, time_slot, client, length, note, service)
        assert shown(outcome) == expected
        self.expect_changes()

    @rule(
        caller=st.sampled_from(("its client", "its client", "another client", "admin")),
        choice=TO_SETTLE,
        to=choices("bookable", "bookable", "bookable", "held", "any", "gone"),
        stamp=st.sampled_from(STAMPS),
    )
    def move(self, caller: str, choice: tuple[str, int], to: tuple[str, int], stamp: str) -> None:
        slot_id, slot = self.pick(choice)
        to_id, target = self.pick(to)
        client, _, _ = self.acting(caller, slot)
        time_slot = self.stamp(target, stamp)
        old = [s.id for s in self.model.appointment_of(slot)] if slot is not None else []
        outcome = self.attempt(self.store.move(slot_id, to_id, time_slot, client, self.now))
        if slot is not None and target is not None:
            self.model.lapsed_to_the_line(target.provider, target.start)
            self.absorb_offers(self.appended(), len(self.model.log))
            old = [s.id for s in self.model.appointment_of(slot)]
        event(outcome_name(f"move as {'admin' if client is None else caller}", outcome))
        assert shown(outcome) == self.model.move(slot_id, to_id, time_slot, client)
        if isinstance(outcome, MoveResult):  # a booking moved: its old slots may be open now
            for old_id in old:
                self.booked.pop(old_id, None)
        self.expect_changes()

    @rule(
        caller=st.sampled_from(("its client", "its client", "another client", "admin")),
        choice=TO_SETTLE,
        note=st.sampled_from(NOTES),
    )
    def change_note(self, caller: str, choice: tuple[str, int], note: str | None) -> None:
        slot_id, slot = self.pick(choice)
        client, _, _ = self.acting(caller, slot)
        outcome = self.attempt(self.store.set_note(slot_id, note, client, self.now))
        event(outcome_name("note", outcome))
        assert shown(outcome) == self.model.set_note(slot_id, note, client)
        self.expect_changes()

    @rule(
        caller=st.sampled_from(("its client", "its client", "another client", "admin")),
        choice=TO_SETTLE,
        stamp=st.sampled_from(STAMPS),
    )
    def confirm(self, caller: str, choice: tuple[str, int], stamp: str) -> None:
        slot_id, slot = self.pick(choice)
        client, _, _ = self.acting(caller, slot)
        self.confirm_slot(slot_id, self.stamp(slot, stamp), client)

    def confirm_slot(self, slot_id: str, time_slot: float, client: str | None) -> None:
        outcome = self.attempt(self.store.confirm(slot_id, time_slot, client, self.now))
        event(outcome_name(f"confirm as {'admin' if client is None else 'client'}", outcome))
        assert shown(outcome) == self.model.confirm(slot_id, time_slot, client)
        self.expect_changes()

    @rule(
        caller=st.sampled_from(
            ("its client", "another client", "its provider", "another provider", "admin")
        ),
        choice=TO_SETTLE,
    )
    def cancel(self, caller: str, choice: tuple[str, int]) -> None:
        slot_id, slot = self.pick(choice)
        client, provider, admin = self.acting(caller, slot)
        outcome = self.attempt(self.store.cancel(slot_id, client, provider, self.now, admin=admin))
        event(outcome_name(f"cancel as {caller}", outcome))
        expected = self.model.cancel(slot_id, client, provider, admin)
        assert shown(outcome) == expected
        if isinstance(outcome, CancelResult):
            for freed in outcome.slots:
                self.booked.pop(freed.id, None)
        self.expect_changes()

    @staticmethod
    def acting(caller: str, slot: Slot | None) -> tuple[str | None, str | None, bool]:
        """(client, provider, admin) for a caller named by its relation to the slot. "Its client"
        holds or booked the slot, or else is the last whose hold on it lapsed."""
        if slot is not None and slot.client is not None:
            holder = slot.client
        else:
            holder = min(slot.lapsed_for) if slot is not None and slot.lapsed_for else CLIENTS[0]
        owner = slot.provider if slot is not None else PROVIDERS[0]
        return {
            "its client": (holder, None, False),
            "another client": (CLIENTS[(CLIENTS.index(holder) + 1) % len(CLIENTS)], None, False),
            "its provider": (None, owner, False),
            "another provider": (None, PROVIDERS[(PROVIDERS.index(owner) + 1) % 2], False),
            "admin": (None, None, True),
        }[caller]

    def lapsed_to_the_line(
        self,
        slot_id: str,
        time_slot: float,
        client: str,
        length: int | None,
        service: str | None,
    ) -> None:
        """A reserve that the one-statement hold of an open slot does not take goes the general
        way, which first hands lapsed holds near it to a provider's line (when anyone waits)."""
        slot = self.model.slots.get(slot_id)
        if slot is None or time_slot != slot.start:
            return
        if service is None and length in (None, SLOT) and slot.status == "AVAILABLE":
            outcome = self.model.reserve(slot_id, time_slot, client, length, dry=True)
            if isinstance(outcome, tuple):
                return
        self.model.lapsed_to_the_line(slot.provider, slot.start)
        self.absorb_offers(self.appended(), len(self.model.log))

    def stamp(self, slot: Slot | None, stamp: str) -> float:
        """The timeSlot sent with the id: the slot's own time, or a wrong one."""
        start = slot.start if slot is not None else FIXED
        return {"slot": start, "next slot": start + SLOT, "a minute late": start + 60}[stamp]

    # --- the waitlist --------------------------------------------------------------------------

    @rule(
        client=st.sampled_from(CLIENTS),
        provider=st.sampled_from((*PROVIDERS, *PROVIDERS, "p3")),
        anchor=st.sampled_from(ANCHORS),
        first=st.integers(-4, 8),
        span=st.sampled_from((2 * SLOT, 4 * SLOT, 12 * SLOT, DAY, DAY, DAY)),
        wants=st.sampled_from((SLOT, SLOT, 2 * SLOT, 4 * SLOT, "a type")),
    )
    def join_waitlist(
        self, client: str, provider: str, anchor: str, first: int, span: int, wants: int | str
    ) -> None:
        """A client waits for any start in a window where a length (or a type of the provider's)
        fits; what is open there already is offered at once, to them or to whoever is first."""
        start = self.anchor(anchor) + first * SLOT
        service = next((t for t in TYPES.values() if t.provider_id == provider), None)
        service_id = service.service_id if wants == "a type" and service is not None else None
        if isinstance(wants, int):
            minutes = wants // 60
        else:
            minutes = service.minutes if service is not None else 15
        waitlist_id = f"{len(self.model.line) + len(self.left):032x}"
        entry = NewEntry(waitlist_id, provider, client, start, start + span, minutes, service_id)
        outcome = self.attempt(self.store.join_waitlist(entry, self.now))
        event(outcome_name("join the waitlist", outcome))
        waiting = Waiting(waitlist_id, provider, client, start, start + span, minutes, service_id)
        expected = self.model.join(waiting)
        assert (outcome.waitlist_id if isinstance(outcome, StoredEntry) else outcome) == expected
        self.expect_changes()

    @rule(
        client=st.sampled_from(CLIENTS),
        provider=st.sampled_from(PROVIDERS),
        wants=st.sampled_from((SLOT, 2 * SLOT, "a type")),
    )
    def wait_for_the_whole_day(self, client: str, provider: str, wants: int | str) -> None:
        """The commonest wish, and the one that keeps a line long: any time that day."""
        self.join_waitlist(client, provider, "fixed", -8, DAY, wants)

    @rule(n=st.integers(0, 15))
    def leave_waitlist(self, n: int) -> None:
        known = [e.id for e in self.model.line] + ["f" * 32]
        waitlist_id = known[n % len(known)]
        outcome = self.attempt(self.store.leave_waitlist(waitlist_id, self.now))
        event(outcome_name("leave the waitlist", outcome))
        expected = self.model.leave(waitlist_id)
        if isinstance(outcome, StoredEntry):
            self.left.add(waitlist_id)
            assert (outcome.waitlist_id, outcome.status) == expected
        else:
            assert outcome == expected
        self.expect_changes()

    # --- the providers' own calendars ---------------------------------------------------------

    @rule(
        provider=st.sampled_from(PROVIDERS),
        anchor=st.sampled_from(ANCHORS),
        first=st.integers(-2, 8),
        length=st.sampled_from(BUSY_FOR),
        skew=st.sampled_from(SKEWS),
    )
    def calendar_says_busy(
        self, provider: str, anchor: str, first: int, length: int, skew: int
    ) -> None:
        """The provider's calendar is read: busy for `length` from a moment near the slots (or,
        at length 0, free again). Holds and bookings under it stay."""
        start = self.anchor(anchor) + first * SLOT + skew
        intervals = [(start, start + length)] if length else []
        source = f"{provider}-calendar"
        if self.run(self.store.find_busy_source(source)) is None:
            self.run(self.store.create_busy_source(calendar_of(provider, self.now)))
        read = Refreshed(intervals, len(intervals), None, None, None, self.now + 900)
        assert self.run(self.store.record_busy_refresh(source, read, self.now)) is not None
        self.model.busy[provider] = intervals
        self.expect_changes()

    # --- time --------------------------------------------------------------------------------

    @rule(step=st.sampled_from(STEPS))
    def time_passes(self, step: float) -> None:
        self.model.now += step
        self.expect_changes()

    @rule(
        edge=st.sampled_from(("a hold ends", "notice begins", "a slot starts")),
        which=st.integers(0, 3),
        nudge=st.sampled_from((-1, 0, 0, 1)),
    )
    def time_reaches_an_edge(self, edge: str, which: int, nudge: int) -> None:
        """Just before, at or just after one of the next moments where a rule turns."""
        moments = {
            t + nudge
            for s in self.model.slots.values()
            for t in [
                {
                    "a hold ends": s.held_until,
                    "notice begins": s.start - NOTICE,
                    "a slot starts": s.start,
                }[edge]
            ]
            if t is not None and t + nudge > self.now
        }
        if moments:
            self.model.now = sorted(moments)[min(which, len(moments) - 1)]
        self.expect_changes()

    @rule()
    def sweeper_runs(self) -> None:
        assert self.run(self.store.expire_lapsed(self.now)) == self.model.sweep()
        self.expect_changes(in_any_order=True)

    # --- after every step --------------------------------------------------------------------

    @invariant()
    def store_agrees_with_model_and_invariants_hold(self) -> None:
        view = self.run(self.look())
        self.check_views(view)
        self.check_slots_are_coherent(view)
        self.check_bookings_end_only_by_cancel(view)
        self.check_change_log(view)
        self.check_buffer_rule(view)
        self.check_no_listed_start_is_busy(view)
        self.check_waitlist(view)

    async def look(self) -> View:
        """Everything the store shows, read in one go."""
        store, now = self.store, self.now
        slots = await asyncio.gather(*(store.provider_slots(p, *EVERYTHING) for p in PROVIDERS))
        listings = await asyncio.gather(
            *(store.list_open(*EVERYTHING, p, None, 1000, now) for p in (None, *PROVIDERS)),
            store.list_open(*NEAR, None, None, 1000, now),
        )
        runs = await asyncio.gather(
            *(store.list_open(*EVERYTHING, None, None, 1000, now, span=n) for n in RUNS)
        )
        fits = await asyncio.gather(
            *(
                store.list_open(*EVERYTHING, t.provider_id, None, 1000, now, service=t)
                for t in TYPES.values()
            )
        )
        reservations = await asyncio.gather(*(store.client_reservations(c, now) for c in CLIENTS))
        pages: list[OpenSlot] = []
        after: OpenSlotsCursor | None = None
        while True:  # every open slot a page at a time, by cursor, as GET /availability does
            page = await store.list_open(*EVERYTHING, None, after, PAGE, now)
            pages.extend(page)
            if len(page) < PAGE:
                break
            after = OpenSlotsCursor(page[-1].start, page[-1].provider_id)
        return View(
            slots=[s for some in slots for s in some],
            open_everywhere=listings[0],
            open_by_provider=dict(zip(PROVIDERS, listings[1:-1], strict=True)),
            open_near=listings[-1],
            open_by_pages=pages,
            open_runs=dict(zip(RUNS, runs, strict=True)),
            open_fits=dict(zip(TYPES, fits, strict=True)),
            reservations=dict(zip(CLIENTS, reservations, strict=True)),
            providers=[(p.provider_id, p.next_available) for p in await store.providers(now)],
            log=await store.changes_since(0, 100_000),
            waitlist=await store.waitlist(WaitlistFilter(), now),
        )

    def check_views(self, view: View) -> None:
        model = self.model
        assert rows(view.slots) == [s.row() for p in PROVIDERS for s in model.slots_of(p)]
        everywhere = [s.listed() for s in model.open_slots(*EVERYTHING)]
        assert rows(view.open_everywhere) == everywhere
        assert rows(view.open_by_pages) == everywhere
        for provider, listed in view.open_by_provider.items():
            assert rows(listed) == [s.listed() for s in model.open_slots(*EVERYTHING, provider)]
        assert rows(view.open_near) == [s.listed() for s in model.open_slots(*NEAR)]
        for length, starts in view.open_runs.items():
            assert rows(starts) == [s.listed() for s in model.open_runs(length)], length
        for service_id, starts in view.open_fits.items():
            expected = [s.listed() for s in model.fits(TYPES[service_id])]
            assert rows(starts) == expected, TYPES[service_id].name
        for client, held in view.reservations.items():
            by_time = sorted(held, key=lambda s: (s.start, s.provider_id))  # ties in any order
            assert rows(by_time) == [s.row() for s in model.reservations(client)]
        assert view.providers == [(p, model.next_open(p)) for p in sorted(model.providers)]

    def check_slots_are_coherent(self, view: View) -> None:
        """One slot per provider and time; a holder only on a held or booked slot, one at most;
        holds inside their limits."""
        places = [(s.provider_id, s.start) for s in view.slots]
        assert len(set(places)) == len(places), "two slots of a provider at one time"
        assert len({s.id for s in view.slots}) == len(view.slots)
        live: dict[str, set[str | None]] = {}
        by_id = {s.id: s for s in view.slots}
        for s in view.slots:
            if s.status == "AVAILABLE":
                assert (
                    s.client_id, s.reserved_at, s.held_until, s.confirmed_at, s.appointment_id,
                    s.note, s.service_id, s.buffer_before or None, s.buffer_after or None,
                ) == (None,) * 9, s  # fmt: skip
                continue
            # Every slot of an appointment tells the same story as its first slot, and follows
            # it without a gap.
            assert s.appointment_id is not None, s
            if s.appointment_id not in by_id:  # its first slot deleted once the hold had lapsed
                assert s.status == "RESERVED", s
                assert (s.held_until or 0) <= self.now, s
                continue
            first = by_id[s.appointment_id]
            assert first.provider_id == s.provider_id, s
            assert first.start <= s.start < first.start + RULES.max_appointment_seconds, s
            if (
                first.start < s.start
                and first.status == s.status
                and first.client_id == s.client_id
            ):
                assert (
                    first.reserved_at, first.held_until, first.confirmed_at, first.note,
                    first.service_id, first.buffer_before, first.buffer_after,
                ) == (
                    s.reserved_at, s.held_until, s.confirmed_at, s.note, s.service_id,
                    s.buffer_before, s.buffer_after,
                ), s  # fmt: skip
                before = [
                    o
                    for o in view.slots
                    if o.provider_id == s.provider_id and o.start == s.start - SLOT
                ]
                assert before, s
                assert before[0].appointment_id == s.appointment_id, s
            elif s.status == "RESERVED":
                assert s.client_id is not None, s
                assert s.reserved_at is not None, s
                assert s.held_until is not None, s
                assert s.confirmed_at is None, s
                notice = NOTICE if s.service_id is None else TYPES[s.service_id].notice_minutes * 60
                assert s.held_until <= min(s.reserved_at + HOLD, s.start - notice), s
                if s.held_until > self.now:
                    live.setdefault(s.client_id, set()).add(s.appointment_id)
            else:
                assert s.status == "CONFIRMED", s
                assert s.client_id is not None, s
                assert s.confirmed_at is not None, s
                assert s.held_until is None, s
        assert all(len(held) <= RULES.max_holds for held in live.values()), live

    def check_no_listed_start_is_busy(self, view: View) -> None:
        """No listing offers a time a provider's own calendar has them busy during: not a slot,
        not a run of slots, not an appointment type's length."""
        listed = [(SLOT, s) for s in view.open_everywhere + view.open_near + view.open_by_pages]
        listed += [(length, s) for length, found in view.open_runs.items() for s in found]
        for service, found in view.open_fits.items():
            listed += [(TYPES[service].minutes * 60, s) for s in found]
        for length, s in listed:
            busy = self.model.is_busy(s.provider_id, s.start, s.start + length)
            assert not busy, (s, length, self.model.busy)

    def check_buffer_rule(self, view: View) -> None:
        """For any two live appointments A and B of one provider, A ending before B starts:
        B.start - A.end >= max(A.bufferAfter, B.bufferBefore); and no daily limit is exceeded."""
        spans: dict[str, list[SlotRow]] = {}
        for s in view.slots:
            if s.appointment_id is not None and (
                s.status == "CONFIRMED" or (s.held_until or 0) > self.now
            ):
                spans.setdefault(s.appointment_id, []).append(s)
        whole = [(g[0], g[0].start, g[-1].start + g[-1].duration) for g in spans.values()]
        for a, _, a_end in whole:
            for b, b_start, _ in whole:
                if a is not b and a.provider_id == b.provider_id and a_end <= b_start:
                    assert b_start - a_end >= max(a.buffer_after, b.buffer_before), (a, b)
        per_day: dict[tuple[str, int], int] = {}
        for a, a_start, _ in whole:
            if a.service_id is not None:
                key = (a.service_id, a_start // DAY)
                per_day[key] = per_day.get(key, 0) + 1
        for (service_id, day), count in per_day.items():
            limit = TYPES[service_id].daily_limit
            assert limit is None or count <= limit, (service_id, day, count)

    def check_waitlist(self, view: View) -> None:
        """The entries, their states, places and offers agree with the model's; and no open start
        fits a waiting entry whose client could hold it: freed time was offered as it was freed.
        (Not a type's start that time alone brought inside its booking window: that is offered
        when time near it is next freed.)"""
        now, model = self.now, self.model
        ahead: dict[str, int] = {}
        expected = []
        for e in model.line:
            place = 0
            if e.waiting_at(now):
                place = ahead[e.provider] = ahead.get(e.provider, 0) + 1
            expected.append((e.id, e.client, e.shown(now), place, e.offer))
        got = [
            (e.waitlist_id, e.client_id, e.status, e.position, e.appointment_id)
            for e in view.waitlist
        ]
        assert got == expected
        for e in model.line:
            if not e.waiting_at(now) or model.held(e.client) >= RULES.max_holds:
                continue
            if e.service is not None and TYPES[e.service].max_advance_days is not None:
                continue
            for slot in model.slots_of(e.provider, e.start, e.end):
                assert not model.could_hold(e, slot.start, swept_only=True), (e, slot)

    def check_bookings_end_only_by_cancel(self, view: View) -> None:
        """A booking ends only by a cancel (or moves away)."""
        slots = {s.id: s for s in view.slots}
        for slot_id, client in self.booked.items():
            slot = slots.get(slot_id)
            assert slot is not None, f"booking {slot_id} of {client} disappeared"
            assert (slot.status, slot.client_id) == ("CONFIRMED", client), slot
        self.booked.update({s.id: s.client_id for s in view.slots if s.status == "CONFIRMED"})

    def check_change_log(self, view: View) -> None:
        """Gap-free, nothing written outside an operation, and a mirror that applies it in order
        ends up with the store's slots."""
        assert [c.seq for c in view.log] == list(range(1, len(view.log) + 1))
        assert len(view.log) == self.seen_seq, "a change appeared outside any operation"
        mirror = replay(change_of(c) for c in view.log if not c.is_event)
        assert sorted(mirror.values()) == sorted(
            (s.id, s.provider_id, s.start, s.status, s.client_id) for s in view.slots
        )


def test_the_store_agrees_with_the_model(store_kind: str, request: pytest.FixtureRequest) -> None:
    place: Callable[[], Place] = sqlite_place
    if store_kind == "postgresql":
        postgres: PostgresForTests = request.getfixturevalue("postgres")
        place = functools.partial(postgresql_place, postgres)

    class OnThisStore(StoreAgainstModel):
        def __init__(self) -> None:
            super().__init__(place)

    run_state_machine_as_test(
        OnThisStore, settings=settings(MODEL_SETTINGS, max_examples=EXAMPLES[store_kind])
    )
