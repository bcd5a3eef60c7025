"""Calendar feeds as iCalendar (RFC 5545), built with the `icalendar` package.

One VEVENT per reservation of the ledger (backend/rules/calendar_ledger.py): its UID stays through
confirm, note and a move within the provider's slots; SEQUENCE grows with each change; a hold is
TENTATIVE, a booking CONFIRMED, and a cancelled or lapsed reservation stays, CANCELLED, so that a
subscribed calendar removes it rather than keeping a ghost. Times are UTC. Free of I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, vDuration, vText

from backend.store.base import CalendarEntry, FeedRole
from shared.timefmt import format_time

REFRESH = timedelta(minutes=15)
"""How often a subscribed calendar is asked to look again (REFRESH-INTERVAL, X-PUBLISHED-TTL)."""

UID_DOMAIN = "slotbook"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def shown_status(entry: CalendarEntry, now: float) -> tuple[str, int]:
    """The entry's iCalendar STATUS and SEQUENCE now: a hold whose time ran out is CANCELLED,
    one change later than its stored sequence (the sweeper's write will say the same)."""
    if entry.status == "CONFIRMED":
        return "CONFIRMED", entry.sequence
    if entry.status == "RESERVED":
        if entry.held_until is not None and entry.held_until <= now:
            return "CANCELLED", entry.sequence + 1
        return "TENTATIVE", entry.sequence
    return "CANCELLED", entry.sequence


def _summary(status: str, other: str, service_name: str | None) -> str:
    what = f"{service_name} with {other}" if service_name else f"appointment with {other}"
    if status == "TENTATIVE":
        return f"Hold: {what} (not yet confirmed)"
    if status == "CANCELLED":
        return f"Cancelled: {what}"
    return what[0].upper() + what[1:] if not service_name else what


def _description(entry: CalendarEntry, status: str) -> str:
    lines = {
        "TENTATIVE": f"Held until {format_time(entry.held_until or 0)} UTC; it lapses unless"
        " it is confirmed by then.",
        "CONFIRMED": "Booked.",
        "CANCELLED": "Cancelled, or a hold that lapsed: this time is free again.",
    }
    text = lines[status]
    if entry.note and status != "CANCELLED":
        text += f"\nNote: {entry.note}"
    return text


def build_calendar(
    entries: Iterable[CalendarEntry],
    role: FeedRole,
    subject: str,
    owner_name: str | None,
    now: float,
    version: str,
) -> bytes:
    """The feed of a provider (its slots' holds and bookings, each naming the client) or of a
    client (its own, each naming the provider)."""
    calendar = Calendar()
    calendar.add("prodid", f"-//slotbook//slotbook {version}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # icalendar knows neither property's type (both are TEXT), so it would write them raw.
    title = vText(f"slotbook: {owner_name or subject}")
    calendar.add("name", title)
    calendar.add("x-wr-calname", title)
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for entry in entries:
        status, sequence = shown_status(entry, now)
        if role == "provider":
            other = entry.client_name or entry.client_id
        else:
            other = entry.provider_name or entry.provider_id
        event = Event()
        event.add("uid", f"{entry.uid}@{UID_DOMAIN}")
        event.add("dtstamp", _utc(entry.updated_at))
        event.add("created", _utc(entry.created_at))
        event.add("last-modified", _utc(entry.updated_at))
        event.add("dtstart", _utc(entry.start))
        event.add("dtend", _utc(entry.ends))
        event.add("sequence", sequence)
        event.add("status", status)
        event.add("transp", "TRANSPARENT" if status == "CANCELLED" else "OPAQUE")
        event.add("summary", _summary(status, other, entry.service_name))
        event.add("description", _description(entry, status))
        calendar.add_component(event)
    body: bytes = calendar.to_ical()
    return body


def etag_of(body: bytes) -> str:
    """The opaque value of a strong validator for the feed's bytes, unquoted (If-None-Match makes
    a poll that finds nothing new cost a few hundred bytes)."""
    return hashlib.sha256(body).hexdigest()[:32]
