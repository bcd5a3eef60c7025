"""A booking as the event written into its provider's own calendar: free of I/O.

The same VEVENT the provider's confirmation invitation carries (backend/live/mail/letters.py),
under the same UID as the calendar feed's event and the e-mail's, with what only the provider's
own calendar is told: the note in DESCRIPTION. The client is its ATTENDEE and the provider its
ORGANIZER, each with `SCHEDULE-AGENT=CLIENT` (RFC 6638, 7.1): slotbook sends the invitations, so
the provider's server must send none of its own. Stored in a calendar collection, the VCALENDAR
carries no METHOD.
"""

from __future__ import annotations

from datetime import UTC, datetime

from backend.live.calendars import UID_DOMAIN
from backend.live.mail.letters import Letter, Person, appointment_event, calendar_of
from backend.store.calendar_write_records import BookedEvent

SCHEDULED_BY_US = {"SCHEDULE-AGENT": "CLIENT"}
"""On the ORGANIZER and every ATTENDEE: the calendar server schedules nothing for them."""


def event_uid(uid: str) -> str:
    """The event's UID as every calendar sees it (the feed's, the invitation's)."""
    return f"{uid}@{UID_DOMAIN}"


def booked_event(
    uid: str, provider_id: str, booked: BookedEvent, *, mail_from: str, written_at: float
) -> bytes:
    """The iCalendar document of a booking, for its provider's calendar (`uid`: the invitation's,
    without its domain; `mail_from`: the organizer's address when the provider has none)."""
    letter = Letter(
        kind="confirmation",
        uid=event_uid(uid),
        sequence=booked.sequence,
        provider=Person(booked.provider_name or provider_id, booked.provider_email),
        client=Person(booked.client_name or booked.client_id, booked.client_email),
        to=booked.provider_email or mail_from,
        to_client=False,
        zone="UTC",
        start=booked.start,
        ends=booked.ends,
        type_name=booked.type_name,
        manage_url=None,
        mail_from=mail_from,
        written_at=written_at,
    )
    event = appointment_event(letter, cancelled=False)
    for name in ("ORGANIZER", "ATTENDEE"):
        if name in event:
            event[name].params.update(SCHEDULED_BY_US)
    event.add("created", datetime.fromtimestamp(booked.created_at, UTC))
    event.add("last-modified", datetime.fromtimestamp(booked.updated_at, UTC))
    if booked.note:
        event.add("description", booked.note)
    return calendar_of(event)
