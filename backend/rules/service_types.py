"""What a provider offers: appointment types, each with its length, the buffers kept clear before
and after it, its notice, how far ahead it may be booked and how many a day. Free of I/O, like
backend/rules/booking.py: the stores read what a rule needs and ask it here.

The buffer rule: for any two live appointments A and B of one provider, A ending before B starts,
`B.start - A.end >= max(A.bufferAfter, B.bufferBefore)`. An appointment keeps the buffers it was
booked with (a type edited later changes the appointments made after), and one booked without a
type has none, though it must still stay out of its neighbours'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from backend.rules.booking import (
    BookingError,
    FieldProblem,
    Rules,
    RuleViolation,
    SlotRow,
    SlotTaken,
    effective_status,
)
from backend.rules.schedule import local_date
from shared.grid import describe_length
from shared.timefmt import format_time
from shared.weeks import local_midnight

MAX_BUFFER_MINUTES = 120
"""The longest buffer a type may keep before or after an appointment."""

MAX_BUFFER_SECONDS = MAX_BUFFER_MINUTES * 60

MAX_NOTICE_MINUTES = 366 * 1440
"""A type's notice is at most a year and a day."""


class ServiceNotFound(BookingError):
    """No appointment type has this id (or none of the caller's provider's)."""


class ServiceArchived(BookingError):
    """The type is archived: no longer offered."""


class TooFarAhead(BookingError):
    """The start lies beyond how far ahead the type may be booked."""


class DailyLimitReached(BookingError):
    """The provider already has the most appointments of this type that day."""


class BufferConflict(SlotTaken):
    """Another appointment lies in a buffer the rule keeps clear."""


@dataclass(frozen=True)
class ServiceType:
    """An appointment type as stored. Lengths are minutes, as the API shows them."""

    service_id: str
    provider_id: str
    name: str
    minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    notice_minutes: int = 1440
    max_advance_days: int | None = None
    daily_limit: int | None = None
    description: str = ""
    archived_at: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def terms(self) -> Terms:
        """What a reserve of this type must respect."""
        return Terms(
            length=self.minutes * 60,
            buffer_before=self.buffer_before_minutes * 60,
            buffer_after=self.buffer_after_minutes * 60,
            notice=self.notice_minutes * 60,
            max_advance=None if self.max_advance_days is None else self.max_advance_days * 86_400,
            daily_limit=self.daily_limit,
            service_id=self.service_id,
            service_name=self.name,
        )


SERVICE_COLUMNS = (
    "id, provider_id, name, minutes, buffer_before_minutes, buffer_after_minutes,"
    " notice_minutes, max_advance_days, daily_limit, description, archived_at, created_at,"
    " updated_at"
)
"""The services table's columns, in ServiceType's order."""

EDITABLE = (
    "name",
    "minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "notice_minutes",
    "max_advance_days",
    "daily_limit",
    "description",
)
"""What PATCH may change (and archived, by its own route or `archived: false`)."""


@dataclass(frozen=True)
class Terms:
    """What placing an appointment must respect: its length and buffers (seconds), the notice, the
    booking window and the daily limit. A type's, or, without one, the server's notice alone."""

    length: int | None
    """Seconds; None: one slot, whatever its length."""
    notice: float
    buffer_before: int = 0
    buffer_after: int = 0
    max_advance: float | None = None
    """Seconds after now that a start may lie at most; None: as far as the slots go."""
    daily_limit: int | None = None
    service_id: str | None = None
    service_name: str | None = None

    @classmethod
    def plain(cls, rules: Rules, length: int | None) -> Terms:
        return cls(length=length, notice=rules.notice_seconds)

    def horizon(self, now: float) -> float:
        """Starts must lie after this moment."""
        return now + self.notice

    def notice_message(self) -> str:
        """The existing notice problem's words, naming the type's notice when there is a type."""
        if not self.notice:
            return "Time slot must be in the future"
        length = describe_length(self.notice)
        if self.service_name is None:
            return f"Time slot must be at least {length} in the future"
        return (
            f"Time slot must be at least {length} in the future: {self.service_name} is booked"
            f" with {length} of notice"
        )

    def check_ahead(self, start: float, now: float) -> None:
        """TooFarAhead when `start` lies beyond the booking window."""
        if self.max_advance is not None and start > now + self.max_advance:
            days = round(self.max_advance / 86_400)
            raise TooFarAhead(
                f"{self.service_name or 'This appointment'} can be booked at most {days}"
                f" day{'' if days == 1 else 's'} ahead; {format_time(start)} is later than"
                f" {format_time(now + self.max_advance)}"
            )

    def hold_expiry(self, rules: Rules, reserved_at: float, start: int) -> float:
        """A hold ends after the hold period, or when this notice period begins if that is
        sooner."""
        return min(reserved_at + rules.hold_seconds, start - self.notice)

    @property
    def reach(self) -> int:
        """How far before a start, or after an end, another appointment may bear on this one."""
        return MAX_BUFFER_SECONDS


def offered_by(found: ServiceType | None, service_id: str, provider_id: str | None) -> ServiceType:
    """The type a reserve or a listing names, if it exists, is `provider_id`'s (when named: the
    slot's provider) and is offered now; the refusal that says which of those it is not."""
    if found is None:
        raise ServiceNotFound(
            f"No appointment type has id {service_id}; GET /providers/{{providerId}}/services"
            " lists a provider's"
        )
    if provider_id is not None and found.provider_id != provider_id:
        problem = FieldProblem(
            "serviceId",
            f"is provider {found.provider_id}'s appointment type, and the slot is provider"
            f" {provider_id}'s",
        )
        raise RuleViolation(f"serviceId {problem.message}", [problem])
    if found.archived:
        raise ServiceArchived(
            f"{found.name} is no longer offered (the provider archived it); GET"
            f" /providers/{found.provider_id}/services lists what they offer"
        )
    return found


def check_service_fields(service: ServiceType, rules: Rules) -> None:
    """RuleViolation naming each field that breaks a rule about its value (ranges that the wire
    types already check are not repeated here: whole slots, the longest appointment, a window
    that leaves room for the notice)."""
    problems: list[FieldProblem] = []
    slot = rules.slot_seconds
    slot_words = describe_length(slot)
    if (service.minutes * 60) % slot:
        problems.append(FieldProblem("minutes", f"must be a whole number of slots ({slot_words})"))
    elif service.minutes * 60 > rules.max_appointment_seconds:
        longest = describe_length(rules.max_appointment_seconds)
        problems.append(
            FieldProblem("minutes", f"is longer than the longest appointment, {longest}")
        )
    for name, value in (
        ("bufferBeforeMinutes", service.buffer_before_minutes),
        ("bufferAfterMinutes", service.buffer_after_minutes),
    ):
        if (value * 60) % slot:
            problems.append(FieldProblem(name, f"must be a whole number of slots ({slot_words})"))
    if (
        service.max_advance_days is not None
        and service.notice_minutes >= service.max_advance_days * 1440
    ):
        problems.append(
            FieldProblem(
                "noticeMinutes",
                f"must be shorter than maxAdvanceDays ({service.max_advance_days} days), or no"
                " start could ever be booked",
            )
        )
    if problems:
        raise RuleViolation("; ".join(f"{p.field} {p.message}" for p in problems), problems)


def edited(service: ServiceType, changes: dict[str, object], now: float) -> ServiceType:
    """The type with these fields (snake_case, from EDITABLE or `archived`) changed."""
    fields = {name: value for name, value in changes.items() if name in EDITABLE}
    if "archived" in changes:
        fields["archived_at"] = (service.archived_at or now) if changes["archived"] else None
    return replace(service, **fields, updated_at=now)  # type: ignore[arg-type]


# --- buffers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbour:
    """Another live appointment of the provider, as far as the slots read show it."""

    appointment_id: str
    start: int
    end: int
    buffer_before: int
    buffer_after: int


def neighbours(rows: Sequence[SlotRow], now: float, own: str | None = None) -> list[Neighbour]:
    """The live appointments these slots belong to (but `own`), by start: each one's first and
    last slot among them give its start and end (a neighbour before is whole at its end, one
    after at its start, which is all the rule reads)."""
    found: dict[str, Neighbour] = {}
    for slot in rows:
        key = slot.appointment_id
        if key is None or key == own or effective_status(slot, now) == "AVAILABLE":
            continue
        end = slot.start + slot.duration
        known = found.get(key)
        if known is None:
            found[key] = Neighbour(key, slot.start, end, slot.buffer_before, slot.buffer_after)
        else:
            found[key] = replace(known, start=min(known.start, slot.start), end=max(known.end, end))
    return sorted(found.values(), key=lambda n: n.start)


def first_in_buffer(
    around: Sequence[Neighbour], start: int, end: int, terms: Terms
) -> BufferConflict | None:
    """Why an appointment of [start, end) with these terms' buffers would break the buffer rule
    with one of `around`, naming the appointment in the way; None when it would not."""
    for other in around:
        if other.end <= start:
            need = max(other.buffer_after, terms.buffer_before)
            if start - other.end < need:
                return BufferConflict(
                    f"Time slot not available: {_keep(need)} between the appointment from"
                    f" {format_time(other.start)} (timeSlotId {other.appointment_id}), which"
                    f" ends at {_clock(other.end)}, and one starting at {_clock(start)}"
                )
        elif other.start >= end:
            need = max(terms.buffer_after, other.buffer_before)
            if other.start - end < need:
                return BufferConflict(
                    f"Time slot not available: {_keep(need)} between an appointment ending at"
                    f" {_clock(end)} and the one from {format_time(other.start)} (timeSlotId"
                    f" {other.appointment_id})"
                )
    return None


def _keep(seconds: int) -> str:
    return f"the provider keeps {describe_length(seconds)} clear"


def _clock(seconds: float) -> str:
    return format_time(seconds)[11:16]


# --- the daily limit ---------------------------------------------------------------------------


def local_day(start: float, zone: ZoneInfo) -> tuple[int, int]:
    """The provider's local day `start` falls on, as [midnight, next midnight) in epoch seconds."""
    day = local_date(start, zone)
    return local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)


def check_daily_limit(
    terms: Terms, start: int, zone: ZoneInfo, count: Callable[[int, int], int]
) -> None:
    """DailyLimitReached when the provider already has `terms.daily_limit` live appointments of
    the type on the local day of `start`; `count(day_start, day_end)` counts them (not the one
    being placed)."""
    if terms.daily_limit is None:
        return
    day_start, day_end = local_day(start, zone)
    if count(day_start, day_end) >= terms.daily_limit:
        day = local_date(start, zone).isoformat()
        raise DailyLimitReached(
            f"{terms.service_name} is booked {terms.daily_limit} time"
            f"{'' if terms.daily_limit == 1 else 's'} on {day} already, the most a day; choose"
            " another day"
        )


def full_days(starts: Sequence[int], limit: int | None, zone: ZoneInfo) -> list[tuple[int, int]]:
    """The local days, as [midnight, next midnight), on which these appointment starts reach
    `limit`: no more of the type fit there."""
    if limit is None:
        return []
    counted: dict[tuple[int, int], int] = {}
    for start in starts:
        day = local_day(start, zone)
        counted[day] = counted.get(day, 0) + 1
    return sorted(day for day, count in counted.items() if count >= limit)


def zone_of(name: str | None) -> ZoneInfo:
    """The provider's zone: its schedule's, else UTC."""
    return ZoneInfo(name or "UTC")
