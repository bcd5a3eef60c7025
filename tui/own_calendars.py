"""What a provider's own calendars say, as their week shows it (no Textual): when they are busy
in the week shown, which of their holds and bookings a busy time overlaps (a conflict), and how
reading each calendar goes, in words: the status of a calendar, and the warning about one that
keeps failing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from shared.busy_time_wire import BusyTime
from shared.busy_wire import BusySource
from shared.conflict_wire import Conflict
from shared.timefmt import parse_time
from tui import calendar_calls
from tui.client import SlotbookClient
from tui.session import Session
from tui.words import counted

CONNECTED_CALENDARS = "Connected calendars"
"""The palette's name for the screen that lists them."""


@dataclass(frozen=True)
class Busy:
    """A time a calendar has the provider busy: [start, end) in epoch seconds."""

    start: int
    end: int
    source_name: str

    @classmethod
    def of(cls, busy: BusyTime) -> Busy:
        return cls(
            int(parse_time(busy.start_time)), int(parse_time(busy.end_time)), busy.source_name
        )


@dataclass(frozen=True)
class OwnCalendars:
    """As last loaded: the busy times of the week shown, the conflicts to come, the calendars."""

    busy: tuple[Busy, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    sources: tuple[BusySource, ...] = ()

    def busy_during(self, start: int, end: int) -> Busy | None:
        """The first busy time that overlaps [start, end), if any."""
        return next((b for b in self.busy if b.start < end and b.end > start), None)

    def conflicts_of(self, appointment_id: str) -> list[Conflict]:
        """The busy calendars an appointment (by its first slot's id) overlaps."""
        return [c for c in self.conflicts if c.time_slot_id == appointment_id]

    @property
    def failing(self) -> list[BusySource]:
        return [s for s in self.sources if s.status.failing]


async def load(client: SlotbookClient, provider_id: str, start: float, end: float) -> OwnCalendars:
    """The provider's busy times in [start, end), their conflicts and their calendars."""
    busy, conflicts, sources = await asyncio.gather(
        calendar_calls.busy_times(client, provider_id, start, end),
        calendar_calls.conflicts(client, provider_id),
        calendar_calls.busy_sources(client, provider_id),
    )
    return OwnCalendars(tuple(Busy.of(b) for b in busy), tuple(conflicts), tuple(sources))


def moment(session: Session, epoch: float) -> str:
    """A moment, short: its time today, else its day and time."""
    if session.local(epoch).date() == session.today():
        return session.when(epoch, "%H:%M")
    return session.when(epoch, "%a %d %b %H:%M")


def moment_text(session: Session, wire_time: str) -> str:
    return moment(session, parse_time(wire_time))


def span_words(session: Session, start: float, end: float) -> str:
    """'Tue 05 Mar 10:30–11:15', or across days 'Tue 05 Mar 20:00 – Thu 07 Mar 20:00'."""
    first = session.when(start, "%a %d %b %H:%M")
    if session.local(start).date() == session.local(end - 1).date():
        return f"{first}–{session.when(end, '%H:%M')}"
    return f"{first} – {session.when(end, '%a %d %b %H:%M')}"


def status_words(session: Session, source: BusySource) -> str:
    """How reading the calendar goes, in words: 'last read 10:42, 12 events, 30 busy times';
    'failing, not read since 10:42: <why>'; 'not read yet'..."""
    status = source.status
    read = (
        f"last read {moment_text(session, status.last_success_at)}"
        if status.last_success_at is not None
        else ""
    )
    if status.last_error is None:
        if not read:
            return "not read yet"
        found = f"{counted(status.events, 'event')}, {counted(status.busy_intervals, 'busy time')}"
        return f"{read}, {found}"
    if status.failing:
        since = (
            f"not read since {moment_text(session, status.last_success_at)}"
            if status.last_success_at is not None
            else "never read"
        )
        return f"failing, {since}: {status.last_error}"
    tried = status.last_sync_at
    at = f" at {moment_text(session, tried)}" if tried is not None else ""
    if not read:
        return f"could not be read{at}: {status.last_error}"
    return f"{read}; the try{at} failed: {status.last_error}"


def warning(session: Session, calendars: OwnCalendars) -> str:
    """The line a provider cannot miss while a calendar keeps failing ("" while none does)."""
    failing = calendars.failing
    if not failing:
        return ""
    first = failing[0]
    success = first.status.last_success_at
    since = (
        f"has not been read since {moment_text(session, success)}"
        if success is not None
        else "has never been read"
    )
    more = f" (and {counted(len(failing) - 1, 'other')})" if len(failing) > 1 else ""
    return (
        f"⚠ Calendar '{first.name}'{more} {since}: {first.status.last_error}"
        f" · ctrl+p → {CONNECTED_CALENDARS}"
    )


def conflict_words(session: Session, conflicts: list[Conflict]) -> str:
    """What the provider is told of an appointment their calendars have them busy during."""
    spans = [(c.source_name, parse_time(c.busy_start), parse_time(c.busy_end)) for c in conflicts]
    named = ", ".join(f"'{name}' ({span_words(session, a, b)})" for name, a, b in spans)
    return f"! clashes with your calendar {named}: keep it, or cancel it (b)"
