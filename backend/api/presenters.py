"""Stored slots as the wire shows them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from backend.rules.booking import SlotRow, effective_status
from backend.store.base import AppointmentResult, OpenSlot
from shared.timefmt import format_time
from shared.wire import Reservation, ReservationAnswer, TimeSlot


def minutes(seconds: int) -> int | float:
    whole, part = divmod(seconds, 60)
    return whole if part == 0 else seconds / 60


def present_open(slot: OpenSlot) -> TimeSlot:
    """An open slot as GET /availability lists it."""
    return TimeSlot(
        time_slot_id=slot.id,
        provider_id=slot.provider_id,
        timestamp=format_time(slot.start),
        duration=minutes(slot.duration),
        status="AVAILABLE",
    )


def shown_clients(slots: Iterable[SlotRow], now: float) -> set[str]:
    """The clients whose ids these slots show (to a caller who may see them): their holders."""
    return {
        s.client_id
        for s in slots
        if s.client_id is not None and effective_status(s, now) != "AVAILABLE"
    }


def present_slot(
    slot: SlotRow,
    now: float,
    *,
    with_client: bool,
    client_names: Mapping[str, str] | None = None,
    service_names: Mapping[str, str] | None = None,
) -> TimeSlot:
    """A slot as the caller may see it: a lapsed hold shows as AVAILABLE, with nobody's id. The
    holder's display name, when `client_names` knows it, goes beside the id."""
    status = effective_status(slot, now)
    shown = TimeSlot(
        time_slot_id=slot.id,
        provider_id=slot.provider_id,
        timestamp=format_time(slot.start),
        duration=minutes(slot.duration),
        status=status,
    )
    if status == "AVAILABLE" or not with_client:
        return shown
    if slot.client_id is not None:
        shown.client_id = slot.client_id
        name = None if client_names is None else client_names.get(slot.client_id)
        if name is not None:
            shown.client_name = name
    if slot.reserved_at is not None:
        shown.reserved_at = format_time(slot.reserved_at)
    if status == "RESERVED" and slot.held_until is not None:
        shown.expires_at = format_time(slot.held_until)
    if status == "CONFIRMED" and slot.confirmed_at is not None:
        shown.confirmed_at = format_time(slot.confirmed_at)
    if slot.appointment_id is not None:
        shown.appointment_id = slot.appointment_id
    if slot.note is not None:
        shown.note = slot.note
    if slot.service_id is not None:
        shown.service_id = slot.service_id
        service_name = None if service_names is None else service_names.get(slot.service_id)
        if service_name is not None:
            shown.service_name = service_name
    if slot.buffer_before:
        shown.buffer_before_minutes = slot.buffer_before // 60
    if slot.buffer_after:
        shown.buffer_after_minutes = slot.buffer_after // 60
    return shown


def present_reservation(
    slots: Sequence[SlotRow], now: float, service_names: Mapping[str, str] | None = None
) -> Reservation:
    """An appointment, to its client (or an admin): its first slot, its length and its slots."""
    first = present_slot(slots[0], now, with_client=True, service_names=service_names)
    return Reservation(
        **{name: getattr(first, name) for name in first.__struct_fields__},
        minutes=minutes(slots[-1].start + slots[-1].duration - slots[0].start),
        time_slot_ids=[s.id for s in slots],
    )


def appointment_answer(
    result: AppointmentResult, now: float, done: str, already: str
) -> ReservationAnswer:
    """The answer to an operation on an appointment: `already` when it had been done before."""
    return ReservationAnswer(
        message=already if result.repeated else done,
        reservation=present_reservation(result.slots, now, names_of(result)),
    )


def names_of(result: AppointmentResult) -> dict[str, str]:
    """The name of the result's type, by its id, as present_slot reads names."""
    service_id = result.slots[0].service_id if result.slots else None
    if service_id is None or result.service_name is None:
        return {}
    return {service_id: result.service_name}


def shown_services(slots: Iterable[SlotRow]) -> set[str]:
    """The types these slots' appointments were booked as."""
    return {s.service_id for s in slots if s.service_id is not None}


def group_appointments(slots: Iterable[SlotRow]) -> list[list[SlotRow]]:
    """Slots in time order, gathered by appointment (in the order the appointments start)."""
    groups: dict[str, list[SlotRow]] = {}
    for slot in slots:
        groups.setdefault(slot.appointment_id or slot.id, []).append(slot)
    return list(groups.values())
