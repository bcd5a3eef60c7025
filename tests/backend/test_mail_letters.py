"""The letters slotbook writes, read back as a mail reader and a calendar read them: the bytes on
the wire parsed with the standard library's `email` (policy.default) and the invitation with
`icalendar`, and imported by a real calendar program (calcurse)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import icalendar

from backend.live.mail.letters import Letter, Person, compose, message_id
from tests.calcurse import calcurse_program, run_calcurse

ANA = Person("Ana Silva", "ana@example.org")
ZOE = Person("Zoë Ōkawa", "zoe@example.net")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


START = utc(2026, 12, 8, 10, 0)
"""A Tuesday; Lisbon is on UTC in December."""

CONFIRMATION = Letter(
    kind="confirmation",
    uid="r-0b7e5c@slotbook",
    sequence=0,
    provider=ANA,
    client=ZOE,
    to=ZOE.address or "",
    to_client=True,
    zone="Europe/Lisbon",
    start=START,
    ends=START + 1800,
    type_name="Haircut",
    manage_url="https://booking.example.org/manage/s3cr3t",
    mail_from="slotbook@booking.example.org",
    written_at=utc(2026, 12, 1, 9, 30),
)


def on_the_wire(letter: Letter) -> EmailMessage:
    """The letter as a mail reader gets it: serialised for SMTP, parsed again."""
    wire = compose(letter).as_bytes()
    assert b"\r\n" in wire
    assert all(byte < 128 for byte in wire), "7-bit clean for any relay"
    parsed = message_from_bytes(wire, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, EmailMessage]:
    """The plain text and the calendar part of an invitation."""
    assert message.get_content_type() == "multipart/alternative"
    text, calendar = message.iter_parts()
    assert isinstance(text, EmailMessage)
    assert isinstance(calendar, EmailMessage)
    assert text.get_content_type() == "text/plain"
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_content_charset() == "utf-8"
    return text.get_content(), calendar


def invitation(message: EmailMessage) -> tuple[str, icalendar.Calendar, icalendar.Event]:
    """The MIME method, the VCALENDAR and its one VEVENT; the two methods must agree."""
    _, part = parts(message)
    calendar = icalendar.Calendar.from_ical(part.get_content())
    (event,) = calendar.walk("VEVENT")
    assert isinstance(event, icalendar.Event)
    mime_method = part.get_param("method")
    assert isinstance(mime_method, str)
    assert mime_method == str(calendar["METHOD"])
    return mime_method, calendar, event


def test_a_confirmation_is_an_invitation_with_the_same_in_words() -> None:
    message = on_the_wire(CONFIRMATION)
    assert message["From"] == "slotbook <slotbook@booking.example.org>"
    assert message["To"] == "Zoë Ōkawa <zoe@example.net>"
    assert message["To"].addresses[0].display_name == "Zoë Ōkawa"
    assert parsedate_to_datetime(message["Date"]).timestamp() == CONFIRMATION.written_at
    assert message["Message-ID"] == message_id(CONFIRMATION)
    assert message["Message-ID"].endswith("@booking.example.org>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["MIME-Version"] == "1.0"
    assert message["Subject"] == "Confirmed: Haircut with Ana Silva, Tuesday 8 December 2026 10:00"

    text, _ = parts(message)
    assert "Your appointment with Ana Silva is confirmed." in text
    assert "What: Haircut" in text
    assert "When: Tuesday 8 December 2026, 10:00–10:30 (Europe/Lisbon)" in text
    assert "To cancel or reschedule: https://booking.example.org/manage/s3cr3t" in text

    method, calendar, event = invitation(message)
    assert method == "REQUEST"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//slotbook//")
    assert str(event["UID"]) == "r-0b7e5c@slotbook"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTAMP") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert event.decoded("DTSTART") == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 12, 8, 10, 30, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Haircut with Ana Silva"
    assert str(event["STATUS"]) == "CONFIRMED"
    organizer, attendee = event["ORGANIZER"], event["ATTENDEE"]
    assert (str(organizer), organizer.params["CN"]) == ("mailto:ana@example.org", "Ana Silva")
    assert str(attendee) == "mailto:zoe@example.net"
    assert dict(attendee.params) == {
        "CN": "Zoë Ōkawa",
        "CUTYPE": "INDIVIDUAL",
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "ACCEPTED",
        "RSVP": "FALSE",
    }


def test_the_providers_letter_names_the_client_and_an_organizer_without_address() -> None:
    provider = Person("Ana Silva", None)
    letter = replace(
        CONFIRMATION,
        provider=provider,
        to="front-desk@example.org",
        to_client=False,
        type_name=None,
        manage_url=None,
        zone="America/New_York",
    )
    message = on_the_wire(letter)
    assert message["To"] == "Ana Silva <front-desk@example.org>"
    assert (
        message["Subject"] == "Confirmed: Appointment with Zoë Ōkawa, Tuesday 8 December 2026 05:00"
    )
    text, _ = parts(message)
    assert "Zoë Ōkawa booked an appointment with you." in text
    assert "When: Tuesday 8 December 2026, 05:00–05:30 (America/New_York)" in text
    assert "manage" not in text
    _, _, event = invitation(message)
    assert str(event["SUMMARY"]) == "Appointment with Zoë Ōkawa"
    assert str(event["ORGANIZER"]) == "mailto:slotbook@booking.example.org"
    assert event["ORGANIZER"].params["CN"] == "Ana Silva"


def test_confirm_move_cancel_is_one_event_updated_then_removed() -> None:
    moved = replace(CONFIRMATION, kind="update", sequence=1, start=START + 3600, ends=START + 5400)
    cancelled = replace(moved, kind="cancellation", sequence=2)
    seen = []
    for letter in (CONFIRMATION, moved, cancelled):
        method, _, event = invitation(on_the_wire(letter))
        seen.append((method, str(event["UID"]), event["SEQUENCE"], str(event["STATUS"])))
    assert seen == [
        ("REQUEST", "r-0b7e5c@slotbook", 0, "CONFIRMED"),
        ("REQUEST", "r-0b7e5c@slotbook", 1, "CONFIRMED"),
        ("CANCEL", "r-0b7e5c@slotbook", 2, "CANCELLED"),
    ]
    update = on_the_wire(moved)
    assert update["Subject"] == "Moved: Haircut with Ana Silva, now Tuesday 8 December 2026 11:00"
    assert "has moved" in parts(update)[0]
    cancellation = on_the_wire(cancelled)
    assert cancellation["Subject"].startswith("Cancelled: Haircut with Ana Silva")
    assert "is cancelled" in parts(cancellation)[0]
    _, _, removed = invitation(cancellation)
    assert removed.decoded("DTSTART") == datetime(2026, 12, 8, 11, 0, tzinfo=UTC)
    ids = [message_id(letter) for letter in (CONFIRMATION, moved, cancelled)]
    assert len(set(ids)) == 3


def test_a_message_id_is_the_same_for_a_retry_and_new_for_anything_else() -> None:
    reminder = replace(CONFIRMATION, kind="reminder", reminder_before=86_400)
    assert message_id(CONFIRMATION) == message_id(replace(CONFIRMATION, written_at=0.0))
    assert compose(reminder)["Message-ID"] == compose(reminder)["Message-ID"]
    others = {
        message_id(replace(CONFIRMATION, uid="r-other@slotbook")),
        message_id(replace(CONFIRMATION, sequence=1)),
        message_id(replace(CONFIRMATION, kind="update")),
        message_id(reminder),
        message_id(replace(reminder, reminder_before=7200)),
    }
    assert len(others) == 5
    assert message_id(CONFIRMATION) not in others


def test_a_reminder_is_plain_text_in_the_recipients_zone() -> None:
    reminder = replace(CONFIRMATION, kind="reminder", reminder_before=86_400, zone="Asia/Tokyo")
    message = on_the_wire(reminder)
    assert message.get_content_type() == "text/plain"
    assert message["Subject"] == "Reminder: Haircut with Ana Silva, Tuesday 8 December 2026 19:00"
    text = message.get_content()
    assert "A reminder of your appointment with Ana Silva." in text
    assert "What: Haircut" in text
    assert "When: Tuesday 8 December 2026, 19:00–19:30 (Asia/Tokyo)" in text
    assert "To cancel or reschedule: https://booking.example.org/manage/s3cr3t" in text


def when_line(letter: Letter) -> str:
    text, _ = parts(on_the_wire(letter))
    (line,) = [line for line in text.splitlines() if line.startswith("When: ")]
    return line.removeprefix("When: ")


def test_times_are_the_recipients_across_a_change_of_the_clocks() -> None:
    """Lisbon leaves summer time at 02:00 on Sunday 25 October 2026: the same UTC hour is 11:00
    the day before and 10:00 the day after."""
    before = replace(CONFIRMATION, start=utc(2026, 10, 24, 10), ends=utc(2026, 10, 24, 10, 30))
    after = replace(CONFIRMATION, start=utc(2026, 10, 26, 10), ends=utc(2026, 10, 26, 10, 30))
    assert when_line(before) == "Saturday 24 October 2026, 11:00–11:30 (Europe/Lisbon)"
    assert when_line(after) == "Monday 26 October 2026, 10:00–10:30 (Europe/Lisbon)"
    during = replace(CONFIRMATION, start=utc(2026, 10, 25, 0, 30), ends=utc(2026, 10, 25, 1, 30))
    assert when_line(during) == "Sunday 25 October 2026, 01:30 WEST–01:30 WET (Europe/Lisbon)"
    late = replace(CONFIRMATION, start=utc(2026, 12, 8, 23, 30), ends=utc(2026, 12, 9, 0, 30))
    assert when_line(late) == (
        "Tuesday 8 December 2026, 23:30 – Wednesday 9 December 2026, 00:30 (Europe/Lisbon)"
    )


EVIL = "Mallory\r\nBcc: x@evil.example"


def test_no_header_can_be_added_through_a_name_or_a_type_name() -> None:
    for letter in (
        replace(CONFIRMATION, provider=Person(EVIL, "ana@example.org"), type_name=EVIL),
        replace(CONFIRMATION, client=Person(EVIL, "zoe@example.net"), type_name=EVIL),
        replace(
            CONFIRMATION,
            kind="reminder",
            client=Person("Zoë\u2028Bcc: x@evil.example\u202e", "zoe@example.net"),
            type_name="Cut\nBcc: x@evil.example",
        ),
    ):
        wire = compose(letter).as_bytes()
        message = message_from_bytes(wire, policy=policy.default)
        assert set(message.keys()) <= {
            "Subject", "From", "To", "Date", "Message-ID", "Auto-Submitted", "MIME-Version",
            "Content-Type", "Content-Transfer-Encoding",
        }  # fmt: skip
        assert b"\nBcc" not in wire.replace(b"\r", b"")
        for part in message.walk():
            assert "Bcc" not in part
            if part.get_content_maintype() == "text":
                lines = part.get_content().splitlines()
                assert not [line for line in lines if line.startswith("Bcc")], lines
        assert "Bcc: x@evil.example" in message["Subject"] or letter.kind == "reminder"
    message = on_the_wire(
        replace(CONFIRMATION, provider=Person(EVIL, "ana@example.org"), type_name=EVIL)
    )
    _, _, event = invitation(message)
    assert event["ORGANIZER"].params["CN"] == "Mallory Bcc: x@evil.example"
    assert str(event["SUMMARY"]) == "Mallory Bcc: x@evil.example with Mallory Bcc: x@evil.example"


async def test_a_calendar_program_imports_the_invitation(tmp_path: Path) -> None:
    """calcurse, in Lisbon's zone, shows the booking at its local hour: 11:00 the Saturday
    before the clocks change (10:00 UTC)."""
    calcurse = calcurse_program()
    letter = replace(CONFIRMATION, start=utc(2026, 10, 24, 10), ends=utc(2026, 10, 24, 10, 30))
    _, part = parts(on_the_wire(letter))
    ics = tmp_path / "invite.ics"
    ics.write_text(part.get_content())
    data = tmp_path / "calcurse"
    data.mkdir()
    lisbon = "Europe/Lisbon"
    imported = await asyncio.to_thread(run_calcurse, calcurse, data, "-i", str(ics), zone=lisbon)
    assert "1 app" in imported, imported
    listed = await asyncio.to_thread(
        run_calcurse, calcurse, data, "-Q", "--filter-type", "apt", "--from", "10/24/2026",
        "--days", "1", "--format-apt", "%(start:%H:%M)-%(end:%H:%M) %m\\n", zone=lisbon,
    )  # fmt: skip
    assert listed.splitlines()[1:] == ["11:00-11:30 Haircut with Ana Silva"]
