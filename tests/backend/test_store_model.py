"""Each store against a model: a Hypothesis state machine drives the real store (on a real SQLite
file, then on a real PostgreSQL database) through submit and delete availability, reserve,
confirm, cancel, the sweeper and a clock that jumps forward, next to a plain in-memory model of
the rules in DESIGN section 3, and checks after every step that each answer and each view agree
and that the invariants hold.

The model is written from the rules, not from the store: a dict of slots and a few lines per rule.
A handful of providers, clients and times keeps collisions frequent; two holds per client makes
the limit easy to reach.
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

from backend.booking import (
    BookingError,
    HoldLapsed,
    NotHeld,
    NothingToCancel,
    NoticeTooShort,
    NotYourReservation,
    Rules,
    RuleViolation,
    SlotNotFound,
    SlotRow,
    SlotTaken,
    SlotTimeMismatch,
    TooManyHolds,
)
from backend.store.base import (
    CancelResult,
    ChangeRow,
    ConfirmResult,
    OpenSlot,
    OpenSlotsCursor,
    RemoveResult,
    ReserveResult,
    Store,
    SubmitResult,
)
from backend.store.postgres import PostgresStore
from backend.store.sqlite import SQLiteStore
from tests.helpers import T0
from tests.postgres_server import PostgresForTests

pytestmark = pytest.mark.timeout(600)
"""A pass takes seconds; a failure may take up to five minutes shrinking to a short example."""

T = TypeVar("T")

RULES = Rules(max_holds=2)
SLOT = RULES.slot_seconds
HOLD = RULES.hold_seconds
NOTICE = RULES.notice_seconds
DAY = 86_400

PROVIDERS = ("p1", "p2")
CLIENTS = ("c1", "c2", "c3")
UNKNOWN_ID = "0" * 32
EVERYTHING = (0, 2**40)
"""A time range that holds every slot."""

Row = tuple[object, ...]
"""A slot as the store returns it: the fields of SlotRow, in order."""

Change = tuple[str, str, str, int, str, str | None, float]
"""(kind, slot id, provider, start, status after, client, at): a change without its seq."""

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
    last_change: str = "created"
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
        )

    def listed(self) -> Row:
        """The slot as the open-slot listing gives it: (id, provider, start, duration)."""
        return (self.id, self.provider, self.start, SLOT)

    def held_at(self, now: float) -> bool:
        return self.status == "RESERVED" and self.held_until is not None and now < self.held_until

    def open_at(self, now: float) -> bool:
        """Nobody holds it: never reserved, released, or the hold ran out (swept or not)."""
        return self.status == "AVAILABLE" or (self.status == "RESERVED" and not self.held_at(now))

    def clear(self) -> None:
        self.status, self.client = "AVAILABLE", None
        self.reserved_at = self.held_until = self.confirmed_at = None


class Model:
    """What the store should hold and answer, kept by the rules written out plainly."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slots: dict[str, Slot] = {}
        self.gone: list[str] = []
        self.providers: set[str] = set()
        self.log: list[Change] = []
        """The changes the current operation should append, in order."""

    # --- views -----------------------------------------------------------------------------

    def slots_of(self, provider: str, start: float = 0, end: float = 2**40) -> list[Slot]:
        mine = [s for s in self.slots.values() if s.provider == provider and start <= s.start < end]
        return sorted(mine, key=lambda s: s.start)

    def bookable(self, slot: Slot) -> bool:
        """A client could hold it now: open, and a hold taken now would not end before it began."""
        return slot.open_at(self.now) and slot.start - NOTICE > self.now

    def open_slots(self, start: float, end: float, provider: str | None = None) -> list[Slot]:
        found = [
            s
            for s in self.slots.values()
            if self.bookable(s) and start <= s.start < end and provider in (None, s.provider)
        ]
        return sorted(found, key=lambda s: (s.start, s.provider))

    def reservations(self, client: str) -> list[Slot]:
        mine = [
            s
            for s in self.slots.values()
            if s.client == client and (s.status == "CONFIRMED" or s.held_at(self.now))
        ]
        return sorted(mine, key=lambda s: (s.start, s.provider))

    def live_holds(self, client: str) -> int:
        return sum(1 for s in self.slots.values() if s.client == client and s.held_at(self.now))

    def next_open(self, provider: str) -> int | None:
        starts = [s.start for s in self.open_slots(*EVERYTHING, provider)]
        return min(starts, default=None)

    # --- what changes -----------------------------------------------------------------------

    def note(self, kind: str, slot: Slot, client: str | None) -> None:
        slot.last_change = kind
        status = slot.status if kind != "deleted" else "AVAILABLE"
        self.log.append((kind, slot.id, slot.provider, slot.start, status, client, self.now))

    def lapse(self, slot: Slot) -> None:
        client = slot.client
        assert client is not None
        slot.clear()
        slot.lapsed_for.add(client)
        self.note("expired", slot, client)

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

    def reserve(self, slot_id: str, time_slot: float, client: str) -> Expected:
        slot = self.slots.get(slot_id)
        if slot is None:
            return SlotNotFound
        if time_slot != slot.start:
            return SlotTimeMismatch
        if slot.held_at(self.now) and slot.client == client:
            return (slot.row(), True)  # a repeat: the same hold
        if slot.start - NOTICE <= self.now:
            return NoticeTooShort
        if not slot.open_at(self.now):
            return SlotTaken
        if self.live_holds(client) >= RULES.max_holds:
            return TooManyHolds
        if slot.status == "RESERVED":  # somebody's lapsed hold, not swept yet: it ends here
            self.lapse(slot)
        slot.status, slot.client = "RESERVED", client
        slot.reserved_at = self.now
        slot.held_until = min(self.now + HOLD, slot.start - NOTICE)
        slot.lapsed_for.discard(client)
        self.note("reserved", slot, client)
        return (slot.row(), False)

    def confirm(self, slot_id: str, time_slot: float, client: str | None) -> Expected:
        """`client` None is a caller who may confirm anybody's hold (an admin)."""
        slot = self.slots.get(slot_id)
        if slot is None:
            return SlotNotFound
        if time_slot != slot.start:
            return SlotTimeMismatch
        mine = client is None or slot.client == client
        if slot.held_at(self.now) and mine:
            slot.status, slot.held_until, slot.confirmed_at = "CONFIRMED", None, self.now
            self.note("confirmed", slot, slot.client)
            return (slot.row(), False)
        my_hold_ran_out = (
            slot.last_change == "expired" if client is None else client in slot.lapsed_for
        )
        if slot.status == "CONFIRMED" and mine:
            return (slot.row(), True)
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
        if slot.start <= self.now:
            return NothingToCancel
        former = slot.client
        slot.clear()
        if former is not None:
            slot.lapsed_for.discard(former)
        self.note("cancelled", slot, former)
        return (slot.row(), former)

    def sweep(self) -> int:
        lapsed = [
            s for s in self.slots.values() if s.status == "RESERVED" and not s.held_at(self.now)
        ]
        for slot in lapsed:
            self.lapse(slot)
        return len(lapsed)


# --- how the store's answers compare with the model's --------------------------------------------


def shown(outcome: object) -> object:
    """A store result in the model's terms; a refusal is its class."""
    match outcome:
        case (
            ReserveResult(slot=slot, repeated=repeated)
            | ConfirmResult(slot=slot, repeated=repeated)
        ):
            return (tuple(slot), repeated)
        case CancelResult(slot=slot, former_client_id=former):
            return (tuple(slot), former)
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
    for kind, slot_id, provider, start, status, client, _ in changes:
        if kind == "deleted":
            assert slot_id in mirror, f"{slot_id} deleted before it was created"
            del mirror[slot_id]
            continue
        assert (kind == "created") == (slot_id not in mirror), f"{kind} of {slot_id}"
        holder = client if status != "AVAILABLE" else None
        mirror[slot_id] = (slot_id, provider, start, status, holder)
    return mirror


@dataclass(frozen=True)
class View:
    """What the store shows after a step."""

    slots: list[SlotRow]
    """Every slot, by provider then time."""
    open_everywhere: list[OpenSlot]
    open_by_provider: dict[str, list[OpenSlot]]
    open_near: list[OpenSlot]
    open_by_pages: list[OpenSlot]
    reservations: dict[str, list[SlotRow]]
    providers: list[tuple[str, int | None]]
    log: list[ChangeRow]


# --- the machine ----------------------------------------------------------------------------------

ANCHORS = ("fixed", "horizon", "horizon", "now")
SKEWS = (0,) * 14 + (1, 450)
"""Mostly on the grid; now and then a second or half a slot off it."""
SUBMITTED = (SLOT, 2 * SLOT, 4 * SLOT, 8 * SLOT, 8 * SLOT, 12 * SLOT, -SLOT, 0, 31 * DAY + SLOT)
DELETED = (SLOT, 2 * SLOT, 3 * SLOT, 8 * SLOT, DAY, -SLOT, 0, 31 * DAY + SLOT)
"""Window lengths: mostly sound, some empty, backwards or longer than the cap."""


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


MODEL_SETTINGS = settings(
    stateful_step_count=50,
    deadline=None,
    derandomize=True,  # the same runs every time, in CI too
    database=None,
)
EXAMPLES = {"sqlite": 200, "postgresql": 100}
"""Runs per store. A step costs PostgreSQL about ten times what it costs SQLite (each of the twenty
or so reads that check it is a round trip to the server), so it gets the first hundred of the runs
SQLite gets: the same contract, kept to about 50 seconds."""


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

    def pick(self, choice: tuple[str, int]) -> tuple[str, Slot | None]:
        """A slot to act on: any slot, a held or booked one, or one that is gone or never was."""
        pool, n = choice
        present = sorted(self.model.slots.values(), key=lambda s: (s.provider, s.start))
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

    def expect_changes(self, *, in_any_order: bool = False) -> None:
        """The operation appended exactly the changes the model made, with the next seqs."""
        appended = self.run(self.store.changes_since(self.seen_seq, 100_000))
        expected, self.model.log = self.model.log, []
        assert [c.seq for c in appended] == list(
            range(self.seen_seq + 1, self.seen_seq + 1 + len(appended))
        )
        got: list[Change] = [
            (c.kind, c.slot_id, c.provider_id, c.start, c.status, c.client_id, c.at)
            for c in appended
        ]
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
        """A start with something to act on: each provider's window, then holds (c1 and c2 in
        turn, so three put c1 at the limit) and bookings (c3), made by the same checked operations
        as the rules below."""
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

    @rule(client=st.sampled_from(CLIENTS), choice=TO_RESERVE, stamp=st.sampled_from(STAMPS))
    def reserve(self, client: str, choice: tuple[str, int], stamp: str) -> None:
        slot_id, slot = self.pick(choice)
        self.reserve_slot(slot_id, self.stamp(slot, stamp), client)

    def reserve_slot(self, slot_id: str, time_slot: float, client: str) -> None:
        outcome = self.attempt(self.store.reserve(slot_id, time_slot, client, self.now))
        event(outcome_name("reserve", outcome))
        assert shown(outcome) == self.model.reserve(slot_id, time_slot, client)
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
            self.booked.pop(slot_id, None)
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

    def stamp(self, slot: Slot | None, stamp: str) -> float:
        """The timeSlot sent with the id: the slot's own time, or a wrong one."""
        start = slot.start if slot is not None else FIXED
        return {"slot": start, "next slot": start + SLOT, "a minute late": start + 60}[stamp]

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

    async def look(self) -> View:
        """Everything the store shows, read in one go."""
        store, now = self.store, self.now
        slots = await asyncio.gather(*(store.provider_slots(p, *EVERYTHING) for p in PROVIDERS))
        listings = await asyncio.gather(
            *(store.list_open(*EVERYTHING, p, None, 1000, now) for p in (None, *PROVIDERS)),
            store.list_open(*NEAR, None, None, 1000, now),
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
            reservations=dict(zip(CLIENTS, reservations, strict=True)),
            providers=[(p.provider_id, p.next_available) for p in await store.providers(now)],
            log=await store.changes_since(0, 100_000),
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
        live: dict[str, int] = {}
        for s in view.slots:
            if s.status == "AVAILABLE":
                assert (s.client_id, s.reserved_at, s.held_until, s.confirmed_at) == (None,) * 4, s
            elif s.status == "RESERVED":
                assert s.client_id is not None, s
                assert s.reserved_at is not None, s
                assert s.held_until is not None, s
                assert s.confirmed_at is None, s
                assert s.held_until <= min(s.reserved_at + HOLD, s.start - NOTICE), s
                if s.held_until > self.now:
                    live[s.client_id] = live.get(s.client_id, 0) + 1
            else:
                assert s.status == "CONFIRMED", s
                assert s.client_id is not None, s
                assert s.confirmed_at is not None, s
                assert s.held_until is None, s
        assert all(count <= RULES.max_holds for count in live.values()), live

    def check_bookings_end_only_by_cancel(self, view: View) -> None:
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
        mirror = replay(
            (c.kind, c.slot_id, c.provider_id, c.start, c.status, c.client_id, c.at)
            for c in view.log
        )
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
