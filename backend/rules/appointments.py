"""Appointments: one or more consecutive slots of a provider, held, booked, moved and cancelled as
one. Free of I/O, like backend/rules/booking.py: a store reads (and, on PostgreSQL, locks) the rows
an operation touches, asks a planner here what the operation means, and writes the rows it returns.

Every slot of an appointment carries the appointment's id (its first slot's id), its holder, its
hold's end or its booking time, and its note, so any one of them tells the whole appointment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple
from zoneinfo import ZoneInfo

from backend.rules.booking import (
    BookingError,
    HoldLapsed,
    NothingToChange,
    NoticeTooShort,
    NotYourReservation,
    Rules,
    SlotRow,
    SlotStatus,
    SlotTaken,
    TooLateToMove,
    TooManyHolds,
    effective_status,
)
from backend.rules.service_types import (
    Terms,
    check_daily_limit,
    first_in_buffer,
    neighbours,
)
from shared.grid import describe_length
from shared.timefmt import format_time


class ChangeEntry(NamedTuple):
    """One change to append to the log: `slot` as the change leaves it (or, for a release, as it
    was), and for a move the slot it released."""

    kind: str
    slot: SlotRow
    status: SlotStatus
    client_id: str | None
    moved_from: SlotRow | None = None
    waitlist_id: str | None = None
    """On a hold that is a waitlist entry's offer: the entry."""


@dataclass(frozen=True)
class Plan:
    """What an operation writes: the new state of each slot it changes, and its changes."""

    writes: list[SlotRow]
    changes: list[ChangeEntry]
    appointment: list[SlotRow]
    """The appointment as the operation leaves it, in time order."""
    repeated: bool = False
    """Nothing to write: the operation had already been done."""


@dataclass(frozen=True)
class Surroundings:
    """What the rules about other appointments read, beyond the run itself: the provider's slots
    within a buffer's reach of it, the provider's zone, and a count of the type's live
    appointments on a local day (not counting the one being placed)."""

    around: Sequence[SlotRow] = ()
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    count_of_day: Callable[[int, int], int] = lambda _start, _end: 0
    busy: Sequence[tuple[int, int]] = ()
    """The provider's busy intervals from their own calendars that reach into the run, as
    (start, ends) in epoch seconds."""


NOTHING_AROUND = Surroundings()


class ProviderBusy(BookingError):
    """The provider's own calendar has them busy during the time asked for."""


def check_not_busy(busy: Sequence[tuple[int, int]], start: int, ends: int) -> None:
    """Raise ProviderBusy when a busy interval overlaps [start, ends)."""
    for busy_start, busy_ends in sorted(busy):
        if busy_start < ends and busy_ends > start:
            raise ProviderBusy(
                "The provider is busy then: their own calendar has them busy from"
                f" {format_time(max(busy_start, start))} to {format_time(min(busy_ends, ends))}"
                " (UTC); choose another time from GET /availability"
            )


def check_neighbours(
    terms: Terms, start: int, length: int, now: float, near: Surroundings, own: str | None = None
) -> None:
    """Raise when an appointment of `length` from `start` with these terms would fall in a time
    the provider's own calendar has them busy, break the buffer rule with another live
    appointment, or go over the type's daily limit."""
    check_not_busy(near.busy, start, start + length)
    conflict = first_in_buffer(neighbours(near.around, now, own), start, start + length, terms)
    if conflict is not None:
        raise conflict
    check_daily_limit(terms, start, near.zone, near.count_of_day)


def by_time(rows: Sequence[SlotRow]) -> list[SlotRow]:
    return sorted(rows, key=lambda s: (s.provider_id, s.start))


def released(slot: SlotRow) -> SlotRow:
    """The slot open again, nobody's."""
    return slot._replace(
        status="AVAILABLE",
        client_id=None,
        reserved_at=None,
        held_until=None,
        confirmed_at=None,
        appointment_id=None,
        note=None,
        service_id=None,
        buffer_before=0,
        buffer_after=0,
    )


def length_of(appointment: Sequence[SlotRow]) -> int:
    """Seconds from the first slot's start to the last one's end."""
    return appointment[-1].start + appointment[-1].duration - appointment[0].start


def _clock(seconds: float) -> str:
    return format_time(seconds)[11:16]


def first_not_open(
    rows: Sequence[SlotRow], start: int, length: int, now: float, own: str | None = None
) -> BookingError | None:
    """Why the slots of one provider starting in [start, start + length) are not an open run
    that covers it exactly, naming the first slot (or gap) in the way; None when they are.

    Slots of the appointment `own` count as open (a move may overlap its old place)."""
    end = start + length
    expected = start
    for slot in rows:
        if slot.start != expected:
            break
        if effective_status(slot, now) != "AVAILABLE" and (
            own is None or slot.appointment_id != own
        ):
            return SlotTaken(
                f"Time slot not available: the {_span(start, length)} needs the slot at"
                f" {format_time(slot.start)} (timeSlotId {slot.id}), which is held or booked"
            )
        expected = slot.start + slot.duration
    if expected == end:
        return None
    if expected > end:
        return SlotTaken(
            f"Time slot not available: the {_span(start, length)} would end inside the slot that"
            f" starts before {_clock(end)}; choose a length that ends on a slot boundary"
        )
    return SlotTaken(
        f"Time slot not available: the {_span(start, length)} needs a slot at"
        f" {format_time(expected)}, and the provider has none open then"
    )


def _span(start: int, length: int) -> str:
    return f"{describe_length(length)} from {_clock(start)}"


def live(rows: Sequence[SlotRow], now: float) -> list[SlotRow]:
    """The rows of an appointment that still hold: slots of a lapsed hold that the sweeper has not
    reopened yet may share its id with a new appointment that starts at the same slot."""
    return by_time([s for s in rows if effective_status(s, now) != "AVAILABLE"])


def plan_reserve(
    first: SlotRow,
    span: Sequence[SlotRow],
    appointment: Sequence[SlotRow],
    client_id: str,
    terms: Terms,
    note: str | None,
    live_holds: Callable[[], int],
    now: float,
    rules: Rules,
    near: Surroundings = NOTHING_AROUND,
) -> Plan:
    """Hold `terms.length` seconds of `first`'s provider from `first` on (one slot when None) for
    the client, with the terms' type and buffers. `span` is the provider's slots starting in that
    run, `appointment` the live appointment `first` is part of (empty when it is open),
    `live_holds` counts, when asked, the client's held appointments, and `near` tells what lies
    around the run."""
    length = terms.length
    status = effective_status(first, now)
    if status == "RESERVED" and first.client_id == client_id:
        whole = live(appointment, now)
        if length is None or (
            whole[0].id == first.id
            and length_of(whole) == length
            and whole[0].service_id == terms.service_id
        ):
            return Plan([], [], whole, repeated=True)
        raise SlotTaken(
            f"Time slot not available: you already hold it, in the"
            f" {describe_length(length_of(whole))} from {format_time(whole[0].start)}"
            f" (timeSlotId {whole[0].id}); move or cancel that hold first"
        )
    if first.start <= terms.horizon(now):
        raise NoticeTooShort(terms.notice_message())
    terms.check_ahead(first.start, now)
    if status == "CONFIRMED" and first.client_id == client_id:
        raise SlotTaken("Time slot not available: you have already booked it")
    if status != "AVAILABLE":
        raise SlotTaken("Time slot not available")
    run = by_time(span)
    refusal = first_not_open(run, first.start, length or first.duration, now)
    if refusal is not None:
        raise refusal
    check_neighbours(terms, first.start, length or first.duration, now, near)
    holds = live_holds()
    if holds >= rules.max_holds:
        raise TooManyHolds(
            f"You already hold {holds} appointment{'' if holds == 1 else 's'}, the most allowed"
            " at once; confirm or cancel one of them first"
        )
    held_until = terms.hold_expiry(rules, now, first.start)
    taken = [
        s._replace(
            status="RESERVED",
            client_id=client_id,
            reserved_at=now,
            held_until=held_until,
            confirmed_at=None,
            appointment_id=first.id,
            note=note,
            service_id=terms.service_id,
            buffer_before=terms.buffer_before,
            buffer_after=terms.buffer_after,
        )
        for s in run
    ]
    lapsed = [
        ChangeEntry("expired", s, "AVAILABLE", s.client_id) for s in run if s.status == "RESERVED"
    ]
    reserved = [ChangeEntry("reserved", s, "RESERVED", client_id) for s in taken]
    return Plan(taken, lapsed + reserved, taken)


def _whose(
    named: SlotRow,
    appointment: Sequence[SlotRow],
    client_id: str | None,
    now: float,
    verb: str,
) -> list[SlotRow]:
    """The live appointment `named` is part of, when the caller (a client, or None for an admin)
    may act on it; the refusal otherwise."""
    status = effective_status(named, now)
    mine = client_id is None or named.client_id == client_id
    whole = live(appointment, now)
    if status == "AVAILABLE" or not whole:
        if named.status == "RESERVED" and mine:
            raise HoldLapsed(
                f"Your hold on this time slot lapsed, so there is nothing to {verb}; reserve it"
                " again if it is still available"
            )
        raise NothingToChange(f"Time slot has no live hold or booking to {verb}")
    if not mine:
        raise NotYourReservation("This time slot is held or booked by another client")
    if whole[0].start <= now:
        raise NothingToChange(
            f"The appointment has already started; a past booking cannot be {verb}d"
            if verb != "move"
            else "The appointment has already started; it can no longer be moved"
        )
    return whole


def took_one(before: SlotRow, held: SlotRow) -> list[ChangeEntry]:
    """The changes of a one-slot hold taken in one conditional write: a lapsed hold that the
    sweeper had not reopened yet ends first."""
    reserved = ChangeEntry("reserved", held, "RESERVED", held.client_id)
    if before.status == "RESERVED":
        return [ChangeEntry("expired", before, "AVAILABLE", before.client_id), reserved]
    return [reserved]


def plan_confirm(
    named: SlotRow,
    appointment: Sequence[SlotRow],
    client_id: str | None,
    time_slot: float,
    caller_hold_lapsed: Callable[[], bool],
    now: float,
    rules: Rules,
    terms: Terms | None = None,
) -> Plan:
    """Turn the live hold `named` is part of into a booking, for its client (None: an admin).
    `caller_hold_lapsed` tells, when asked, whether the caller's last hold of it lapsed; `terms`
    are those of the appointment's type now, whose notice a confirm keeps too."""
    rules.check_slot_time(named, time_slot)
    whole = live(appointment, now)
    status = effective_status(named, now)
    mine = client_id is None or named.client_id == client_id
    start = whole[0].start if whole else named.start
    if (
        terms is not None
        and status != "CONFIRMED"
        and start <= terms.horizon(now)
        and (mine or caller_hold_lapsed())
    ):
        raise NoticeTooShort(terms.notice_message())
    if status == "RESERVED" and whole and mine:
        booked = [s._replace(status="CONFIRMED", confirmed_at=now, held_until=None) for s in whole]
        changes = [ChangeEntry("confirmed", s, "CONFIRMED", s.client_id) for s in booked]
        return Plan(booked, changes, booked)
    outcome = rules.why_not_confirmed(named, client_id, time_slot, caller_hold_lapsed(), now)
    if outcome == "already confirmed":
        return Plan([], [], whole, repeated=True)
    raise outcome


def plan_cancel(
    named: SlotRow,
    appointment: Sequence[SlotRow],
    client_id: str | None,
    provider_id: str | None,
    now: float,
    rules: Rules,
    *,
    admin: bool,
) -> Plan:
    """Release the appointment `named` is part of: its client, its provider or an admin may, until
    it starts. `appointment` lists the slots as they were (the changes name their holder)."""
    whole = live(appointment, now)
    head = whole[0] if whole else named
    allowed = admin or named.client_id == client_id or named.provider_id == provider_id
    if whole and effective_status(named, now) != "AVAILABLE" and allowed and head.start > now:
        freed = [released(s) for s in whole]
        changes = [ChangeEntry("cancelled", s, "AVAILABLE", s.client_id) for s in whole]
        return Plan(freed, changes, freed)
    raise rules.why_not_cancelled(
        named._replace(start=head.start), client_id, provider_id, now, admin=admin
    )


def plan_move(
    named: SlotRow,
    appointment: Sequence[SlotRow],
    target: SlotRow,
    time_slot: float,
    span: Sequence[SlotRow],
    client_id: str | None,
    now: float,
    rules: Rules,
    terms: Terms | None = None,
    near: Surroundings = NOTHING_AROUND,
) -> Plan:
    """Move the appointment `named` is part of to the run of `target`'s provider starting at
    `target` (whose time is `time_slot`), of the same length. `span` is that provider's slots
    starting in the run; `terms` those of the appointment's type now (its buffers are the ones
    it was booked with), the server's notice alone without a type; `near` what lies around the
    run."""
    old = _whose(named, appointment, client_id, now, "move")
    rules.check_slot_time(target, time_slot)
    head = old[0]
    terms = terms or Terms.plain(rules, None)
    terms = replace(terms, buffer_before=head.buffer_before, buffer_after=head.buffer_after)
    booked = head.status == "CONFIRMED"
    if booked and head.start <= terms.horizon(now):
        raise TooLateToMove(
            f"This booking starts at {format_time(head.start)}, within the"
            f" {describe_length(terms.notice)} notice period, so it can no longer be"
            " moved; keep it, or cancel it"
        )
    if target.start <= terms.horizon(now):
        raise NoticeTooShort(terms.notice_message())
    if target.provider_id == head.provider_id and target.start == head.start:
        return Plan([], [], old, repeated=True)
    if head.service_id is not None and target.provider_id != head.provider_id:
        raise SlotTaken(
            f"{terms.service_name or 'This appointment'} is a type of appointment that provider"
            f" {head.provider_id} offers, so it stays with them; cancel it and book one of"
            f" provider {target.provider_id}'s own types instead"
        )
    terms.check_ahead(target.start, now)
    length = length_of(old)
    run = by_time(span)
    refusal = first_not_open(run, target.start, length, now, own=head.appointment_id)
    if refusal is not None:
        raise refusal
    if len(run) != len(old):
        raise SlotTaken(
            f"Time slot not available: the slots from {format_time(target.start)} are not cut"
            f" like the appointment's {len(old)}; choose another start"
        )
    check_neighbours(terms, target.start, length, now, near, own=head.appointment_id)
    held_until = None if booked else terms.hold_expiry(rules, head.reserved_at or now, target.start)
    moved = [
        s._replace(
            status=head.status,
            client_id=head.client_id,
            reserved_at=head.reserved_at,
            held_until=held_until,
            confirmed_at=head.confirmed_at,
            appointment_id=target.id,
            note=head.note,
            service_id=head.service_id,
            buffer_before=head.buffer_before,
            buffer_after=head.buffer_after,
        )
        for s in run
    ]
    new_ids = {s.id for s in run}
    freed = [released(s) for s in old if s.id not in new_ids]
    pairs = list(zip(old, moved, strict=True))
    if (target.provider_id, target.start) > (head.provider_id, head.start):
        pairs.reverse()  # forward over its old place: the last slot moves first
    changes = [
        ChangeEntry("moved", new, head.status, head.client_id, moved_from=was) for was, new in pairs
    ]
    return Plan(moved + freed, changes, moved)


def plan_note(
    named: SlotRow,
    appointment: Sequence[SlotRow],
    client_id: str | None,
    note: str | None,
    now: float,
) -> Plan:
    """Give the appointment `named` is part of a new note (None: no note)."""
    whole = _whose(named, appointment, client_id, now, "note")
    if whole[0].note == note:
        return Plan([], [], whole, repeated=True)
    noted = [s._replace(note=note) for s in whole]
    status: SlotStatus = "CONFIRMED" if whole[0].status == "CONFIRMED" else "RESERVED"
    return Plan(noted, [ChangeEntry("noted", s, status, s.client_id) for s in noted], noted)
