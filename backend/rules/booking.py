"""The booking rules, free of I/O: the store asks them what a request means and what to answer.

Time always arrives as an argument (epoch seconds from the injected Clock), never from the wall.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from shared.grid import describe_length, is_aligned
from shared.timefmt import format_time, to_datetime

SlotStatus = Literal["AVAILABLE", "RESERVED", "CONFIRMED"]


class SlotRow(NamedTuple):
    """A slot as stored. Times are epoch seconds; `duration` is in seconds."""

    id: str
    provider_id: str
    start: int
    duration: int
    status: SlotStatus
    client_id: str | None
    reserved_at: float | None
    held_until: float | None
    confirmed_at: float | None
    appointment_id: str | None = None
    """The first slot of the appointment this slot is part of, while held or booked."""
    note: str | None = None
    """The appointment's note, on every slot of it."""
    service_id: str | None = None
    """The appointment's type, on every slot of it; None for one booked without a type."""
    buffer_before: int = 0
    """Seconds the appointment keeps clear before it (its type's when it was booked)."""
    buffer_after: int = 0
    """Seconds the appointment keeps clear after it."""


SLOT_COLUMNS = (
    "id, provider_id, start, duration, status, client_id, reserved_at, held_until, confirmed_at,"
    " appointment_id, note, service_id, buffer_before, buffer_after"
)


# --- what can go wrong -----------------------------------------------------------------------


class BookingError(Exception):
    """A request the rules refuse. `detail` is written for the person who sent it."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SlotNotFound(BookingError):
    """No slot has this id."""


class SlotTimeMismatch(BookingError):
    """The timeSlot sent is not the time of the slot named by the id."""


class NoticeTooShort(BookingError):
    """The slot starts sooner than the notice period allows."""


class SlotTaken(BookingError):
    """Someone else holds or has booked the slot."""


class TooManyHolds(BookingError):
    """The client already has the most live holds allowed."""


class NotYourReservation(BookingError):
    """The hold or booking belongs to another client."""


class NotHeld(BookingError):
    """There is no hold to confirm."""


class HoldLapsed(BookingError):
    """The caller's hold ran out before it was confirmed."""


class NothingToCancel(BookingError):
    """The slot has no live hold or future booking to cancel."""


class NothingToChange(BookingError):
    """The slot has no live hold or future booking to move or to note."""


class TooLateToMove(BookingError):
    """A booking inside its notice period stays where it is."""


@dataclass(frozen=True)
class FieldProblem:
    """One field of a request that breaks a rule."""

    field: str
    message: str


class RuleViolation(BookingError):
    """A well-formed request that breaks a rule about its values (alignment, order, range)."""

    def __init__(self, detail: str, problems: list[FieldProblem]) -> None:
        super().__init__(detail)
        self.problems = problems


# --- the rules ---------------------------------------------------------------------------------


def effective_status(slot: SlotRow, now: float) -> SlotStatus:
    """A lapsed hold is open, whether or not the sweeper has got to it yet."""
    if slot.status == "RESERVED" and slot.held_until is not None and slot.held_until <= now:
        return "AVAILABLE"
    return slot.status


@dataclass(frozen=True)
class Rules:
    """Slot length, hold, notice and limits, as configured."""

    slot_seconds: int = 900
    hold_seconds: float = 1800
    notice_seconds: float = 86_400
    max_holds: int = 5
    max_window_seconds: float = 31 * 86_400
    max_appointment_seconds: int = 7200
    reminder_seconds: tuple[int, ...] = (86_400,)
    """When the client is reminded of a booked appointment: these offsets before it starts."""
    offer_seconds: float = 1800
    """How long a waitlist offer is held (never past the notice period)."""
    max_waitlist: int = 10
    """How many waiting or offered waitlist entries a client may have at once."""

    def hold_expiry(self, reserved_at: float, slot_start: int) -> float:
        """A hold ends after the hold period, or when the notice period begins if that is sooner."""
        return min(reserved_at + self.hold_seconds, slot_start - self.notice_seconds)

    def notice_horizon(self, now: float) -> float:
        """Slots must start after this moment to be reserved now: a slot exactly at the horizon
        would get a hold that has already lapsed."""
        return now + self.notice_seconds

    @property
    def grid_description(self) -> str:
        """'15-minute grid, e.g. 11:00, 11:15, 11:30' for the slot length in force."""
        count, unit = describe_length(self.slot_seconds).split(" ")
        clock_format = "%H:%M" if self.slot_seconds % 60 == 0 else "%H:%M:%S"
        examples = ", ".join(
            to_datetime(11 * 3600 + k * self.slot_seconds).strftime(clock_format) for k in range(3)
        )
        return f"{count}-{unit.rstrip('s')} grid, e.g. {examples}"

    @property
    def notice_message(self) -> str:
        return f"Time slot must be at least {describe_length(self.notice_seconds)} in the future"

    def check_window(self, start: float, end: float, now: float) -> tuple[int, int]:
        """Validate a provider's availability window; return it as whole epoch seconds."""
        problems = self._order_and_cap(start, end)
        for name, value in (("startTime", start), ("endTime", end)):
            if not is_aligned(value, self.slot_seconds):
                problems.append(FieldProblem(name, f"must be on the {self.grid_description}"))
        if start < now:
            problems.append(FieldProblem("startTime", "is in the past"))
        if problems:
            raise RuleViolation(_summarise(problems), problems)
        return int(start), int(end)

    def appointment_seconds(self, minutes: int | None) -> int | None:
        """An appointment's asked-for length in seconds (None: one slot, whatever its length);
        RuleViolation when it is not a whole number of slots or longer than allowed."""
        if minutes is None:
            return None
        seconds = minutes * 60
        slot = describe_length(self.slot_seconds)
        if seconds % self.slot_seconds:
            problem = FieldProblem("minutes", f"must be a whole number of slots ({slot} each)")
        elif seconds > self.max_appointment_seconds:
            longest = describe_length(self.max_appointment_seconds)
            problem = FieldProblem("minutes", f"is longer than the longest appointment, {longest}")
        else:
            return seconds
        raise RuleViolation(_summarise([problem]), [problem])

    def check_range(self, start: float, end: float) -> None:
        """Validate a listing range."""
        problems = self._order_and_cap(start, end)
        if problems:
            raise RuleViolation(_summarise(problems), problems)

    def _order_and_cap(self, start: float, end: float) -> list[FieldProblem]:
        if end <= start:
            return [FieldProblem("endTime", "must be after startTime")]
        if end - start > self.max_window_seconds:
            cap = describe_length(self.max_window_seconds)
            return [FieldProblem("endTime", f"is more than {cap} after startTime")]
        return []

    # --- explaining a refused reserve / confirm / cancel -------------------------------------

    def check_slot_time(self, slot: SlotRow, time_slot: float) -> None:
        if time_slot != slot.start:
            raise SlotTimeMismatch(
                f"timeSlot {format_time(time_slot)} does not match the slot's time"
                f" {format_time(slot.start)}; send the timestamp listed with timeSlotId {slot.id}"
            )

    def why_not_reserved(
        self, slot: SlotRow, client_id: str, time_slot: float, live_holds: int, now: float
    ) -> BookingError | None:
        """Why a reserve did not take; None when the client already holds it (a repeat)."""
        self.check_slot_time(slot, time_slot)
        status = effective_status(slot, now)
        if status == "RESERVED" and slot.client_id == client_id:
            return None
        if slot.start <= self.notice_horizon(now):
            return NoticeTooShort(self.notice_message)
        if status == "CONFIRMED" and slot.client_id == client_id:
            return SlotTaken("Time slot not available: you have already booked it")
        if status != "AVAILABLE":
            return SlotTaken("Time slot not available")
        if live_holds >= self.max_holds:
            return TooManyHolds(
                f"You already hold {live_holds} time slot{'' if live_holds == 1 else 's'}, the"
                " most allowed at once; confirm or cancel one of them first"
            )
        return SlotTaken("Time slot not available")  # pragma: no cover - the update would have won

    def why_not_confirmed(
        self,
        slot: SlotRow,
        client_id: str | None,
        time_slot: float,
        caller_hold_lapsed: bool,
        now: float,
    ) -> BookingError | Literal["already confirmed"]:
        """Why a confirm did not take, or that it had already been confirmed by this caller."""
        self.check_slot_time(slot, time_slot)
        status = effective_status(slot, now)
        lapsed = HoldLapsed(
            "Your hold on this time slot lapsed before it was confirmed; reserve it again"
            " if it is still available"
        )
        mine = client_id is None or slot.client_id == client_id
        if status == "CONFIRMED":
            if mine:
                return "already confirmed"
            return lapsed if caller_hold_lapsed else NotYourReservation(_someone_elses)
        if status == "RESERVED":
            # Live hold of somebody else: the confirm with our update would otherwise have won.
            return lapsed if caller_hold_lapsed else NotYourReservation(_someone_elses)
        if slot.status == "RESERVED" and mine:
            return lapsed  # lapsed, the sweeper has not turned it back yet
        if caller_hold_lapsed:
            return lapsed
        return NotHeld(
            "Time slot is not reserved; reserve it first with POST /availability/reserve"
        )

    def why_not_cancelled(
        self,
        slot: SlotRow,
        client_id: str | None,
        provider_id: str | None,
        now: float,
        *,
        admin: bool = False,
    ) -> BookingError:
        """Why a cancel did not take. An admin may cancel anybody's, so is never told it is not
        theirs."""
        status = effective_status(slot, now)
        if status == "AVAILABLE":
            return NothingToCancel("Time slot has no live hold or booking to cancel")
        if not admin and slot.client_id != client_id and slot.provider_id != provider_id:
            return NotYourReservation(_someone_elses)
        return NothingToCancel("Time slot has already started; a past booking cannot be cancelled")


_someone_elses = "This time slot is held or booked by another client"


def _summarise(problems: list[FieldProblem]) -> str:
    return "; ".join(f"{p.field} {p.message}" for p in problems)
