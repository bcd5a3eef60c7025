"""The waitlist in the app's words and times (no Textual): a place in line ("3rd in line"), an
entry's window and length, the window a join starts from (the day under the cursor), the moments
a client types for it, and how many wait on each day of a provider's week."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from msgspec import UNSET

from shared.timefmt import parse_time
from shared.waitlist_wire import WaitlistEntry
from tui.session import Session

MOMENT = "%Y-%m-%d %H:%M"
"""How the join form writes a moment, in the app's zone ('2030-03-05 09:00')."""

MOMENT_HINT = "YYYY-MM-DD HH:MM, or HH:MM on the same day"

STATUS_WORDS = {
    "offered": "offered: confirm it",
    "fulfilled": "booked from the waitlist",
    "declined": "offer released",
    "lapsed": "offer lapsed",
    "expired": "window passed",
}
"""What an entry that no longer waits is, in words."""


def ordinal(number: int) -> str:
    """'1st', '2nd', '3rd', '4th', '11th', '22nd'."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def place(entry: WaitlistEntry) -> str:
    """'first in line', '3rd in line'; for an entry that no longer waits, what it is."""
    if entry.status != "waiting":
        return STATUS_WORDS[entry.status]
    return "first in line" if entry.position == 1 else f"{ordinal(entry.position)} in line"


def status(entry: WaitlistEntry) -> str:
    """An entry's status cell: 'waiting, 3rd in line', or what it became."""
    return f"waiting, {place(entry)}" if entry.status == "waiting" else place(entry)


def window(session: Session, entry: WaitlistEntry) -> str:
    """'Tue 05 Mar 09:00–18:00', or 'Tue 05 Mar 09:00 – Thu 07 Mar 18:00' over several days (a
    window that ends at midnight ends at 24:00 of its last day)."""
    return span(session, parse_time(entry.from_), parse_time(entry.to))


def span(session: Session, start: float, end: float) -> str:
    first, last = session.local(start), session.local(end)
    if last.time() == time(0) and last.date() > first.date():
        last_day, last_clock = last.date() - timedelta(days=1), "24:00"
    else:
        last_day, last_clock = last.date(), last.strftime("%H:%M")
    if last_day == first.date():
        return f"{first.strftime('%a %d %b %H:%M')}–{last_clock}"
    return f"{first.strftime('%a %d %b %H:%M')} – {last_day.strftime('%a %d %b')} {last_clock}"


def length(entry: WaitlistEntry) -> str:
    """'Follow-up, 30 min', or '30 min' for an appointment of no type."""
    name = entry.service_name
    return f"{name}, {entry.minutes} min" if isinstance(name, str) else f"{entry.minutes} min"


def joined(session: Session, entry: WaitlistEntry, provider_name: str) -> str:
    """What the client is told once they have joined: their place, for what, and what happens
    next."""
    what = f"{length(entry)}, any start {window(session, entry)}"
    if entry.status == "offered" and entry.offer is not UNSET:
        return (
            f"Time was free for {what} with {provider_name}: it is held for you now."
            " Confirm it before it lapses (m lists it)."
        )
    return (
        f"You are {place(entry)} with {provider_name} for {what}. When such a time frees up, it"
        " is held for you and you are asked to confirm it (m lists your places)."
    )


def day_window(session: Session, day: date) -> tuple[float, float] | None:
    """The window a join starts from, for a day of the week shown: from the day's start (or from
    the first slot to come, today) to its end; None for a day that has passed."""
    zone = session.zone
    start = datetime.combine(day, time(0), zone).timestamp()
    end = datetime.combine(day + timedelta(days=1), time(0), zone).timestamp()
    start = max(start, session.upcoming_start())
    return (start, end) if start < end else None


def moment_text(session: Session, epoch: float) -> str:
    """A moment as the join form writes it, in the app's zone."""
    return session.local(epoch).strftime(MOMENT)


def read_moment(session: Session, text: str, day: date | None = None) -> float | None:
    """A moment typed in the app's zone: 'YYYY-MM-DD HH:MM', or 'HH:MM' on `day` ('24:00' is the
    day's end); None when it cannot be read."""
    text = " ".join(text.split())
    try:
        if day is not None and len(text) <= 5:
            hours, _, minutes = text.partition(":")
            if (hours, minutes) == ("24", "00"):
                return datetime.combine(day + timedelta(days=1), time(0), session.zone).timestamp()
            clock = datetime.strptime(text, "%H:%M").time()
            return datetime.combine(day, clock, session.zone).timestamp()
        return datetime.strptime(text, MOMENT).replace(tzinfo=session.zone).timestamp()
    except ValueError:
        return None


def waiting_by_day(session: Session, entries: Iterable[WaitlistEntry]) -> Counter[date]:
    """How many entries wait on each day (in the app's zone) their window touches."""
    counts: Counter[date] = Counter()
    for entry in entries:
        if entry.status != "waiting":
            continue
        first = session.local(parse_time(entry.from_)).date()
        last = session.local(parse_time(entry.to) - 1).date()
        day = first
        while day <= last:
            counts[day] += 1
            day += timedelta(days=1)
    return counts


def waiting_notes(counts: Counter[date]) -> dict[date, tuple[str, ...]]:
    """What the provider's week says under each day where clients wait: '3 waiting', or shorter
    where the column is narrow."""
    return {day: (f"{n} waiting", f"{n} wait", f"{n}w") for day, n in counts.items() if n}
