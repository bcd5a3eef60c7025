"""The waitlist's rules, free of I/O and of the clock: which entries in a provider's line time that
just freed up could suit, the terms an offer is placed under, how long an offer is held, and what
an entry becomes when its offer's hold ends.

Both stores keep one invariant, in every transaction that frees time (a cancel, a lapse, a move
away, new availability, a schedule's roll, a busy time that went away) or that lets a passed-over
client take an offer again: no open start fits a waiting entry whose client could hold it. They
keep it by handing what was freed to the line (`backend/store/*/waitlist.py`) before the
transaction commits, so the time is never open in between."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from backend.rules.appointments import Plan
from backend.rules.booking import Rules, SlotRow
from backend.rules.service_types import MAX_BUFFER_SECONDS, ServiceType, Terms
from shared.grid import DAY_SECONDS

WaitlistStatus = Literal["waiting", "offered", "fulfilled", "declined", "lapsed", "expired"]

ENDED_BY: dict[str, WaitlistStatus] = {
    "confirmed": "fulfilled",
    "cancelled": "declined",
    "expired": "lapsed",
}
"""What an offered entry becomes when its hold ends by a change of this kind."""


def offer_plan(plan: Plan, waitlist_id: str) -> Plan:
    """The plan of an offer: a reserve's, its `reserved` changes naming the entry."""
    changes = [
        c._replace(waitlist_id=waitlist_id) if c.kind == "reserved" else c for c in plan.changes
    ]
    return replace(plan, changes=changes)


def offer_rules(rules: Rules) -> Rules:
    """The rules an offer is placed under: a reserve's, holding for the offer's time instead."""
    return replace(rules, hold_seconds=rules.offer_seconds)


def entry_terms(rules: Rules, minutes: int, service: ServiceType | None) -> Terms:
    """The terms an entry's offer keeps: its type's, or its length with the server's notice."""
    if service is not None:
        return service.terms()
    return Terms.plain(rules, minutes * 60)


@dataclass(frozen=True)
class Room:
    """A run of open time around freed time: the line's entries that could be offered part of it
    are those whose window overlaps it and whose length it can hold."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


Cell = tuple[int, int, str, float | None]
"""A provider's slot as a room is measured from it: (start, duration, status, held_until)."""


def rooms(
    cells: Sequence[Cell], freed: Iterable[tuple[int, int]], now: float, shortest: int = 0
) -> list[Room]:
    """The runs of open, back-to-back slots among `cells` (a provider's, in time order, read
    around the freed ranges) that overlap a freed range [start, end) and are `shortest` seconds
    long or longer."""
    runs: list[Room] = []
    start: int | None = None
    end = 0
    for cell_start, duration, status, held_until in cells:
        is_open = status == "AVAILABLE" or (
            status == "RESERVED" and held_until is not None and held_until <= now
        )
        if not is_open or start is None or cell_start != end:
            if start is not None:
                runs.append(Room(start, end))
            start = cell_start if is_open else None
        end = cell_start + duration
    if start is not None:
        runs.append(Room(start, end))
    ranges = list(freed)
    return [
        room
        for room in runs
        if room.length >= shortest and any(s < room.end and e > room.start for s, e in ranges)
    ]


def spans(slots: Iterable[SlotRow]) -> list[tuple[int, int]]:
    """The time these slots cover, each [start, end)."""
    return [(s.start, s.start + s.duration) for s in slots]


def freed_by(appointment: Sequence[SlotRow]) -> list[tuple[int, int]]:
    """The time an appointment leaving these slots frees: the slots, and for a typed one the days
    around (a daily limit may have room again anywhere on its day)."""
    freed = spans(appointment)
    if appointment and appointment[0].service_id is not None:
        start = appointment[0].start
        freed.append((start - DAY_SECONDS, start + DAY_SECONDS))
    return freed


class Opened:
    """The time a schedule's write or roll opens, by provider, noted as its slots are created so
    that it is handed to the waitlist before the write commits."""

    def __init__(self) -> None:
        self.by_provider: dict[str, list[tuple[int, int]]] = {}

    def note(self, kind: str, slots: Iterable[SlotRow]) -> None:
        if kind == "created":
            for slot in slots:
                self.by_provider.setdefault(slot.provider_id, []).extend(spans([slot]))


def widened(freed: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Freed ranges, each widened by the longest buffer: an appointment's buffer reaches that far,
    so a start that far off may have become possible (over a gap in the slots, too)."""
    return sorted((start - MAX_BUFFER_SECONDS, end + MAX_BUFFER_SECONDS) for start, end in freed)


def first_start(window_start: int, room: Room, horizon: float) -> int:
    """The earliest start an entry may be offered in a room: in its window, inside the room,
    after the notice horizon."""
    return max(window_start, room.start, int(horizon) + 1)


def last_start(window_end: int, room: Room, length: int) -> int:
    """The latest start of `length` that ends within both the window and the room."""
    return min(window_end, room.end) - length


class _Entry(Protocol):
    @property
    def status(self) -> WaitlistStatus: ...
    @property
    def window_end(self) -> int: ...
    @property
    def offer_until(self) -> float | None: ...


def shown_status(entry: _Entry, now: float) -> WaitlistStatus:
    """An entry's status as of `now`: a window that has passed has expired and an offer whose
    hold ran out has lapsed, before any sweep writes it down."""
    if entry.status == "waiting" and entry.window_end <= now:
        return "expired"
    if entry.status == "offered" and entry.offer_until is not None and entry.offer_until <= now:
        return "lapsed"
    return entry.status
