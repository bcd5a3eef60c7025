"""A local mirror of the slots in view, kept current from the change feed.

Load a window (one provider's week, or my reservations), then apply each change as it arrives; the
mirror says whether the change touched what is shown, so the screen repaints only then.

An appointment of several slots is several slots here too, each naming the appointment (its first
slot's id) when the viewer may know it; `appointment` finds them all again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec
from msgspec import UNSET

from shared.timefmt import format_time, parse_time
from shared.wire import Change, Reservation, TimeSlot


@dataclass(frozen=True)
class Window:
    """What a view shows: slots starting in [start, end), of one provider or of any."""

    start: float
    end: float
    provider_id: str | None = None

    def holds(self, provider_id: str, start: float) -> bool:
        in_time = self.start <= start < self.end
        return in_time and (self.provider_id is None or self.provider_id == provider_id)


def start_of(slot: TimeSlot) -> int:
    return int(parse_time(slot.timestamp))


def note_of(slot: TimeSlot) -> str:
    """The appointment's note, or "" when it has none (or the viewer may not see it)."""
    return slot.note if isinstance(slot.note, str) else ""


def minutes_of(slot: TimeSlot) -> int:
    """How long the appointment is: a reservation says; a lone slot is its own length."""
    length = slot.minutes if isinstance(slot, Reservation) else slot.duration
    return round(length)


def slots_of(reservation: Reservation) -> list[TimeSlot]:
    """Each slot of an appointment, as the provider's calendar would list it to its client: the
    slots follow each other, one slot length apart."""
    step = round(reservation.duration * 60)
    first = start_of(reservation)
    fields = {
        name: getattr(reservation, name)
        for name in TimeSlot.__struct_fields__
        if name not in ("time_slot_id", "timestamp")
    }
    fields["appointment_id"] = reservation.time_slot_id
    return [
        TimeSlot(time_slot_id=slot_id, timestamp=format_time(first + index * step), **fields)
        for index, slot_id in enumerate(reservation.time_slot_ids)
    ]


def as_reservation(slot: TimeSlot) -> Reservation:
    """A lone slot as an appointment of one slot (when nothing better is known)."""
    if isinstance(slot, Reservation):
        return slot
    fields = {name: getattr(slot, name) for name in TimeSlot.__struct_fields__}
    return Reservation(**fields, minutes=slot.duration, time_slot_ids=[slot.time_slot_id])


def as_open(slot: TimeSlot) -> TimeSlot:
    """The slot, open again (let go by a cancel or a move)."""
    return TimeSlot(
        time_slot_id=slot.time_slot_id,
        provider_id=slot.provider_id,
        timestamp=slot.timestamp,
        duration=slot.duration,
        status="AVAILABLE",
    )


class SlotMirror:
    """The slots of one window, by id and by start."""

    def __init__(self, window: Window, duration_minutes: float = 15) -> None:
        self.window = window
        self.duration = duration_minutes
        self._slots: dict[str, TimeSlot] = {}
        self._by_start: dict[tuple[str, int], str] = {}

    def replace(self, window: Window, slots: Iterable[TimeSlot]) -> None:
        """Start over with a freshly loaded window."""
        self.window = window
        self._slots.clear()
        self._by_start.clear()
        for slot in slots:
            self.put(slot)

    def put(self, slot: TimeSlot) -> None:
        """Add or replace one slot (from an answer the app just got)."""
        start = start_of(slot)
        if not self.window.holds(slot.provider_id, start):
            return
        self._slots[slot.time_slot_id] = slot
        self._by_start[(slot.provider_id, start)] = slot.time_slot_id

    def put_reservation(self, reservation: Reservation) -> None:
        """Add or replace every slot of an appointment (from an answer the app just got)."""
        for slot in slots_of(reservation):
            self.put(slot)

    def drop(self, slot_id: str) -> None:
        slot = self._slots.pop(slot_id, None)
        if slot is not None:
            self._by_start.pop((slot.provider_id, start_of(slot)), None)

    def apply(self, change: Change) -> bool:
        """Bring the mirror up to date with one change; True when it touched this window.

        A `moved` change lets its old slot go before it takes its new one: the server orders a
        move's changes so that, applied one by one, exactly the new place ends up taken."""
        touched = False
        if change.kind == "moved" and isinstance(change.from_time_slot_id, str):
            touched = self._release(change)
        start = int(parse_time(change.timestamp))
        if not self.window.holds(change.provider_id, start):
            return touched
        if change.kind == "deleted":
            self.drop(change.time_slot_id)
            return True
        known = self._slots.get(change.time_slot_id)
        if change.kind == "noted" and known is not None and known.status == change.status:
            note = change.note if isinstance(change.note, str) and change.note else UNSET
            self.put(msgspec.structs.replace(known, note=note))
            return True
        slot = TimeSlot(
            time_slot_id=change.time_slot_id,
            provider_id=change.provider_id,
            timestamp=change.timestamp,
            duration=known.duration if known else self.duration,
            status=change.status,
        )
        if change.status != "AVAILABLE":
            if change.client_id is not UNSET:
                slot.client_id = change.client_id
            if change.client_name is not UNSET:
                slot.client_name = change.client_name
            if change.status == "RESERVED" and change.expires_at is not UNSET:
                slot.expires_at = change.expires_at
            if change.appointment_id is not UNSET:
                slot.appointment_id = change.appointment_id
            if isinstance(change.note, str) and change.note:
                slot.note = change.note
        self.put(slot)
        return True

    def _release(self, change: Change) -> bool:
        """The slot a `moved` change lets go is open again; True when it is in this window."""
        assert isinstance(change.from_time_slot_id, str)
        known = self._slots.get(change.from_time_slot_id)
        provider = (
            change.from_provider_id if isinstance(change.from_provider_id, str) else None
        ) or (known.provider_id if known else change.provider_id)
        if isinstance(change.from_timestamp, str):
            timestamp = change.from_timestamp
        elif known is not None:
            timestamp = known.timestamp
        else:
            return False  # where it was is not said, and it was not in view
        if not self.window.holds(provider, parse_time(timestamp)):
            return False
        self.put(
            TimeSlot(
                time_slot_id=change.from_time_slot_id,
                provider_id=provider,
                timestamp=timestamp,
                duration=known.duration if known else self.duration,
                status="AVAILABLE",
            )
        )
        return True

    def get(self, slot_id: str) -> TimeSlot | None:
        return self._slots.get(slot_id)

    def at(self, provider_id: str, start: int) -> TimeSlot | None:
        slot_id = self._by_start.get((provider_id, start))
        return None if slot_id is None else self._slots[slot_id]

    def appointment(self, slot: TimeSlot) -> list[TimeSlot]:
        """The slots in view of the appointment this held or booked slot is part of, in time
        order: the run of neighbours naming the same appointment (the slot alone when the
        appointment is not known to the viewer)."""
        appointment = slot.appointment_id
        if not isinstance(appointment, str) or slot.status == "AVAILABLE":
            return [slot]
        step = round(slot.duration * 60)
        run = [slot]
        for direction in (-1, 1):
            start = start_of(slot)
            while True:
                start += direction * step
                neighbour = self.at(slot.provider_id, start)
                if neighbour is None or neighbour.appointment_id != appointment:
                    break
                if direction < 0:
                    run.insert(0, neighbour)
                else:
                    run.append(neighbour)
        return run

    def slots(self) -> list[TimeSlot]:
        return sorted(self._slots.values(), key=lambda s: (s.timestamp, s.provider_id))

    def __len__(self) -> int:
        return len(self._slots)
