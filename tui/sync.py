"""A local mirror of the slots in view, kept current from the change feed.

Load a window (one provider's week, or my reservations), then apply each change as it arrives; the
mirror says whether the change touched what is shown, so the screen repaints only then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from msgspec import UNSET

from shared.timefmt import parse_time
from shared.wire import Change, TimeSlot


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

    def drop(self, slot_id: str) -> None:
        slot = self._slots.pop(slot_id, None)
        if slot is not None:
            self._by_start.pop((slot.provider_id, start_of(slot)), None)

    def apply(self, change: Change) -> bool:
        """Bring the mirror up to date with one change; True when it touched this window."""
        start = int(parse_time(change.timestamp))
        if not self.window.holds(change.provider_id, start):
            return False
        if change.kind == "deleted":
            self.drop(change.time_slot_id)
            return True
        known = self._slots.get(change.time_slot_id)
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
        self.put(slot)
        return True

    def get(self, slot_id: str) -> TimeSlot | None:
        return self._slots.get(slot_id)

    def at(self, provider_id: str, start: int) -> TimeSlot | None:
        slot_id = self._by_start.get((provider_id, start))
        return None if slot_id is None else self._slots[slot_id]

    def slots(self) -> list[TimeSlot]:
        return sorted(self._slots.values(), key=lambda s: (s.timestamp, s.provider_id))

    def __len__(self) -> int:
        return len(self._slots)
