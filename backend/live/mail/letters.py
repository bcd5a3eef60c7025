"""One e-mail from a description of it, free of I/O.

A confirmation or an update is an iMIP invitation (RFC 6047): `multipart/alternative` of a plain
text that says it in words and a `text/calendar; method=REQUEST` part whose VCALENDAR (RFC 5545,
built with the `icalendar` package) carries METHOD:REQUEST and one VEVENT; an update is the same
with a higher SEQUENCE, so a calendar replaces the event rather than adding a second. A
cancellation has the same shape with METHOD:CANCEL and STATUS:CANCELLED (RFC 5546 3.2.5), which
takes the event out of the calendar. The MIME `method=` parameter always equals the METHOD inside.
A reminder is plain text only, and so is the letter of a hold: the link that confirms one the
booking page placed, or a waitlist offer (a hold made for the next client in line, until when it
is theirs and how to confirm or release it): nothing is booked yet.

Nothing a person typed (a name, a type's name) can add a header: control, format and line or
paragraph separator characters become spaces before anything goes into a header, a CN parameter
or a line of the text. Times in words are in the recipient's zone (`zoneinfo`, so exact across
daylight-saving changes), the zone named.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress

from backend.runtime.version import slotbook_version
from shared.timefmt import format_time

Kind = Literal["confirmation", "update", "cancellation", "reminder", "hold", "offer"]

METHODS: dict[Kind, str | None] = {
    "confirmation": "REQUEST",
    "update": "REQUEST",
    "cancellation": "CANCEL",
    "reminder": None,
    "hold": None,
    "offer": None,
}
"""Each kind's iTIP method (RFC 5546); a reminder carries no invitation, nor does a hold's letter
(the link that confirms it, a waitlist offer): nothing is booked yet."""

POLICY = SMTP.clone(cte_type="7bit")
"""CRLF line ends, and every part ASCII on the wire (quoted-printable or base64 where the text is
not), so that any relay takes it, whether or not it offers 8BITMIME."""

SENDER_NAME = "slotbook"

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
"""English names, whatever the machine's locale (strftime's %A and %B follow it)."""

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
"""Control, format (bidirectional overrides, zero widths), line and paragraph separators,
surrogates, private-use and unassigned characters: none may reach a header or a line."""

DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


@dataclass(frozen=True)
class Person:
    name: str
    """Display name: any Unicode, never trusted in a header as it is."""
    address: str | None
    """E-mail address, None when they have none."""


@dataclass(frozen=True)
class Letter:
    kind: Kind
    uid: str
    """The appointment's invitation UID, written as it is (the calendar feed's UID), stable for
    the appointment's life."""
    sequence: int
    """iCalendar SEQUENCE, rising with each change."""
    provider: Person
    client: Person
    to: str
    """The recipient's address."""
    to_client: bool
    """True: the client is the recipient; False: the provider."""
    zone: str
    """IANA zone for the times written in words (the recipient's); UTC when it is no zone."""
    start: int
    """Epoch seconds, UTC."""
    ends: int
    type_name: str | None
    """The appointment type's name, when it has one."""
    manage_url: str | None
    """`<public URL>/manage/<secret>`, for the client's letters."""
    mail_from: str
    """The server's From address (e.g. `slotbook@localhost`)."""
    written_at: float
    """Epoch seconds: the Date header and DTSTAMP."""
    reminder_before: int | None = None
    """Seconds before the start, for a reminder."""
    confirm_url: str | None = None
    """`<public URL>/confirm/<secret>`, for the link that confirms a hold."""
    held_until: float | None = None
    """When the hold lapses, for the link that confirms it and for an offer."""
    time_slot_id: str | None = None
    """For an offer: the hold's first slot, which the API's confirm and release name."""


def clean(text: str) -> str:
    """`text` fit for a header, a parameter or one line: every control, format or separator
    character a space, runs of white space one space, no white space at either end."""
    spaced = "".join(" " if unicodedata.category(c) in UNSAFE_CATEGORIES else c for c in text)
    return " ".join(spaced.split())


def local_time(epoch: float, zone: ZoneInfo) -> datetime:
    """An instant as the clocks of `zone` show it."""
    return datetime.fromtimestamp(epoch, UTC).astimezone(zone)


def zone_named(name: str) -> tuple[ZoneInfo, str]:
    """The zone of an IANA name, and the name; UTC for a name that is no zone here."""
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC"), "UTC"


def day_in_words(moment: datetime) -> str:
    """'Tuesday 8 December 2026', in English whatever the locale."""
    return f"{WEEKDAYS[moment.weekday()]} {moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def when_in_words(start: int, ends: int, zone: str) -> str:
    """'Tuesday 8 December 2026, 10:00–10:30 (Europe/Lisbon)': in `zone`, named; an appointment
    that ends on another local day names both days, and one that the clocks change during
    gives each time its abbreviation ('01:30 WEST–01:30 WET'), so that neither is ambiguous."""
    where, name = zone_named(zone)
    first, last = local_time(start, where), local_time(ends, where)
    clock = "%H:%M %Z" if first.utcoffset() != last.utcoffset() else "%H:%M"
    if first.date() == last.date():
        return f"{day_in_words(first)}, {first:{clock}}–{last:{clock}} ({name})"
    return f"{day_in_words(first)}, {first:{clock}} – {day_in_words(last)}, {last:{clock}} ({name})"


def _other(letter: Letter) -> str:
    """The party the recipient meets."""
    return clean(letter.provider.name if letter.to_client else letter.client.name)


def summary(letter: Letter) -> str:
    """What the appointment is, from the recipient's side: the type's name and whom it is with,
    as the calendar feed says it."""
    type_name = clean(letter.type_name or "")
    if type_name:
        return f"{type_name} with {_other(letter)}"
    return f"Appointment with {_other(letter)}"


def message_id(letter: Letter) -> str:
    """`<...@domain>` for the From address's domain, the same for the same (uid, kind,
    sequence, reminder offset): a retry of one message is recognisable as it."""
    key = f"{letter.uid}\n{letter.kind}\n{letter.sequence}\n{letter.reminder_before}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    domain = letter.mail_from.rpartition("@")[2]
    if not DOMAIN.fullmatch(domain):
        domain = "slotbook.invalid"
    return f"<{letter.kind}.{letter.sequence}.{digest}@{domain}>"


def _subject(letter: Letter) -> str:
    what = summary(letter)
    where, _ = zone_named(letter.zone)
    first = local_time(letter.start, where)
    when = f"{day_in_words(first)} {first:%H:%M}"
    return {
        "confirmation": f"Confirmed: {what}, {when}",
        "update": f"Moved: {what}, now {when}",
        "cancellation": f"Cancelled: {what}, {when}",
        "reminder": f"Reminder: {what}, {when}",
        "hold": f"Confirm your booking: {what}, {when}",
        "offer": f"Held for you from the waitlist: {what}, {when}",
    }[letter.kind]


def _opening(letter: Letter) -> str:
    provider, client = clean(letter.provider.name), clean(letter.client.name)
    if letter.to_client:
        return {
            "confirmation": f"Your appointment with {provider} is confirmed.",
            "update": f"Your appointment with {provider} has moved. It is now:",
            "cancellation": f"Your appointment with {provider} is cancelled.",
            "reminder": f"A reminder of your appointment with {provider}.",
            "hold": f"This time with {provider} is held for you. It is not booked yet.",
            "offer": f"A time with {provider} has come free, and you are next on the waitlist:"
            " it is held for you. It is not booked yet.",
        }[letter.kind]
    return {
        "confirmation": f"{client} booked an appointment with you.",
        "update": f"Your appointment with {client} has moved. It is now:",
        "cancellation": f"Your appointment with {client} is cancelled.",
        "reminder": f"A reminder of your appointment with {client}.",
        "hold": f"A time is held for {client}.",
        "offer": f"A time is held for {client} from the waitlist.",
    }[letter.kind]


def text_of(letter: Letter) -> str:
    """The plain-text part: who, what, when (in the recipient's zone), the manage link."""
    recipient = letter.client if letter.to_client else letter.provider
    lines = [f"Hello {clean(recipient.name)},", "", _opening(letter), ""]
    if letter.type_name and clean(letter.type_name):
        lines.append(f"What: {clean(letter.type_name)}")
    lines.append(f"With: {_other(letter)}")
    lines.append(f"When: {when_in_words(letter.start, letter.ends, letter.zone)}")
    if letter.kind == "hold":
        lines += _confirming(letter)
    if letter.kind == "offer":
        lines += _offering(letter)
    elif letter.manage_url and letter.kind != "cancellation":
        lines += ["", f"To cancel or reschedule: {clean(letter.manage_url)}"]
    if letter.kind == "cancellation":
        lines += ["", "This time is no longer booked; your calendar removes it."]
    elif METHODS[letter.kind] is not None:
        lines += ["", "The invitation attached puts it in your calendar; a change updates it."]
    lines += ["", "-- ", "slotbook (this message was sent automatically)", ""]
    return "\n".join(lines)


def _confirming(letter: Letter) -> list[str]:
    """What a hold's letter asks: open the link and press Confirm before the hold lapses."""
    until = ""
    if letter.held_until is not None:
        where, name = zone_named(letter.zone)
        until = f" before {local_time(letter.held_until, where):%H:%M} ({name})"
    return [
        "",
        f"To book it, open this link and press Confirm{until}:",
        clean(letter.confirm_url or ""),
        "",
        "If you did not ask for this, do nothing: the time is released by itself when the"
        " hold lapses.",
    ]


def _offering(letter: Letter) -> list[str]:
    """What an offer's letter says: until when the time is the client's, and how to confirm it
    or let it go (in the terminal app, over the API, or on the manage page its link opens)."""
    lines = [""]
    if letter.held_until is not None:
        where, name = zone_named(letter.zone)
        until = local_time(letter.held_until, where)
        lines.append(
            f"It is yours until {day_in_words(until)}, {until:%H:%M} ({name}). Unless you"
            " confirm it by then, it goes to the next in line."
        )
    confirm = release = ""
    if letter.time_slot_id is not None:
        slot = clean(letter.time_slot_id)
        confirm = (
            f"; or over the API: PUT /availability/confirm/{slot}"
            f' with {{"timeSlot": "{format_time(letter.start)}"}}'
        )
        release = f", or DELETE /reservations/{slot}"
    lines += [
        "",
        f"To book it, confirm it: in the slotbook app, m lists your holds and c confirms{confirm}.",
        f"If you do not want it, release it (x in that list{release}) for the next in line.",
    ]
    if letter.manage_url:
        lines += ["", f"To release it or move it to another time: {clean(letter.manage_url)}"]
    return lines


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _party(address: str, name: str) -> vCalAddress:
    party = vCalAddress(f"mailto:{address}")
    party.params["CN"] = clean(name).replace('"', "'")  # a parameter value holds no DQUOTE
    return party


def calendar_of(event: Event, method: str | None = None) -> bytes:
    """A VCALENDAR of one VEVENT, with an iTIP METHOD (an invitation's) or none (an event stored
    in a calendar collection, which carries none: RFC 4791, 4.1)."""
    calendar = Calendar()
    calendar.add("prodid", f"-//slotbook//slotbook {slotbook_version()}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method is not None:
        calendar.add("method", method)
    calendar.add_component(event)
    body: bytes = calendar.to_ical()
    return body


def invitation(letter: Letter, method: str) -> bytes:
    """The VCALENDAR of an invitation (REQUEST) or a cancellation (CANCEL): one VEVENT."""
    return calendar_of(appointment_event(letter, cancelled=method == "CANCEL"), method)


def appointment_event(letter: Letter, *, cancelled: bool) -> Event:
    """The VEVENT of the appointment a letter is about. The ORGANIZER is the provider (their
    address, or the server's From when they have none), the ATTENDEE the client (left out when
    the client has no address: a calendar address is an address)."""
    event = Event()
    event.add("uid", letter.uid)
    event.add("sequence", letter.sequence)
    event.add("dtstamp", _utc(letter.written_at))
    event.add("dtstart", _utc(letter.start))
    event.add("dtend", _utc(letter.ends))
    event.add("summary", summary(letter))
    organizer = _party(letter.provider.address or letter.mail_from, letter.provider.name)
    event.add("organizer", organizer)
    if letter.client.address:
        attendee = _party(letter.client.address, letter.client.name)
        attendee.params.update(
            {"CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED"}
        )
        attendee.params["RSVP"] = "FALSE"
        event.add("attendee", attendee)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    if letter.manage_url and not cancelled:
        event.add("description", f"To cancel or reschedule: {clean(letter.manage_url)}")
    return event


def compose(letter: Letter) -> EmailMessage:
    """The whole message, headers and parts, ready for a transport."""
    message = EmailMessage(policy=POLICY)
    message["Subject"] = _subject(letter)
    message["From"] = Address(display_name=SENDER_NAME, addr_spec=letter.mail_from)
    recipient = letter.client if letter.to_client else letter.provider
    message["To"] = Address(display_name=clean(recipient.name), addr_spec=letter.to)
    message["Date"] = format_datetime(_utc(letter.written_at))
    message["Message-ID"] = message_id(letter)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text_of(letter), charset="utf-8")  # adds MIME-Version
    method = METHODS[letter.kind]
    if method is not None:
        calendar = EmailMessage(policy=POLICY)
        calendar.set_content(
            invitation(letter, method).decode(),
            subtype="calendar",
            charset="utf-8",
            params={"method": method},
        )
        del calendar["MIME-Version"]  # a part's; set_content adds it as if to a whole message
        message.make_alternative()
        message.attach(calendar)
    return message
