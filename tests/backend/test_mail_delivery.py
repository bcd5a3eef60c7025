"""Mail delivered: a real server (over real HTTP, on both stores) sends what its writes queued to
a real SMTP server on loopback (tests/smtp_server.py), read back with the standard library's
`email` and with `icalendar`. One invitation through confirm, move and cancel; reminders driven by
the injected clock, across a restart; a relay that answers 4xx then 2xx, one that refuses, one
that is down; and the Maildir a server without a relay writes to. A waitlist offer, a hold, is
mailed to its client (and only one that has not lapsed)."""

from __future__ import annotations

import mailbox
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.app import create_app
from backend.live.calendars import UID_DOMAIN
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings, SettingsError, parse_serve_args
from tests.backend.test_calendar_feeds import DAY, cancel, confirm, hold, new_feed, open_morning
from tests.backend.test_mail_queue import listed, set_email
from tests.helpers import JSON, People
from tests.smtp_server import MailServer

PUBLIC = "https://book.example.org"
DAY_BEFORE = "2030-03-05"
HOUR = 3600.0


@asynccontextmanager
async def running(settings: Settings, clock: ManualClock) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(settings, clock=clock))
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def secure_settings(db: str, smtp: MailServer) -> Settings:
    return Settings(
        db=db, rate=0, smtp_url=smtp.url, public_url=PUBLIC, mail_from="desk@example.com"
    )


async def deliver(server: TestServer) -> None:
    """A round of the server's mail sender, now (by its clock): what is due has been attempted
    when it returns (a round the sender began by itself finishes first)."""
    await server.app[CONTEXT].mail.deliver_due()


def calendar_of(message: EmailMessage) -> tuple[str, icalendar.cal.Component]:
    """The MIME method of a message's text/calendar part, and its one event."""
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    body = part.get_payload(decode=True)
    assert isinstance(body, bytes)
    parsed = icalendar.Calendar.from_ical(body)
    assert str(parsed["METHOD"]) == part.get_param("method")
    events = parsed.walk("VEVENT")
    assert len(events) == 1
    return str(part.get_param("method")), events[0]


def text_of(message: EmailMessage) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return str(part.get_content())


async def booked(people: People, smtp: MailServer) -> tuple[str, str, list[dict[str, Any]]]:
    client, provider = smtp.address("client"), smtp.address("doctor")
    await set_email(people, "c1", client, "Europe/Lisbon")
    await set_email(people, "p1", provider)
    slots = await open_morning(people)
    await hold(people, "c1", slots[0])
    await confirm(people, "c1", slots[0])
    return client, provider, slots


async def test_one_invitation_is_requested_updated_and_cancelled(
    people: People, secure_server: TestServer, smtp: MailServer
) -> None:
    client, provider, slots = await booked(people, smtp)
    await deliver(secure_server)
    (first,) = smtp.received(client)
    message = first.message()
    assert message["From"].addresses[0].addr_spec == "desk@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"]
    assert message["Date"]
    method, event = calendar_of(message)
    assert (method, int(str(event["SEQUENCE"])), str(event["STATUS"])) == (
        "REQUEST",
        1,
        "CONFIRMED",
    )
    assert str(event["ORGANIZER"]).lower() == f"mailto:{provider}".lower()
    assert str(event["ATTENDEE"]).lower() == f"mailto:{client}".lower()
    uid = str(event["UID"])
    words = text_of(message)
    assert "Dr One" in words
    assert "Wednesday 6 March 2030, 10:00" in words  # 10:00 UTC is 10:00 in Lisbon in March
    manage = next(w for w in words.split() if w.startswith(f"{PUBLIC}/manage/"))
    assert len(manage) > len(f"{PUBLIC}/manage/") + 20
    (to_provider,) = smtp.received(provider)
    assert calendar_of(to_provider.message())[1]["UID"] == uid

    moved = await people["c1"].post(
        f"/reservations/{slots[0]['timeSlotId']}/move",
        json={"toTimeSlotId": slots[2]["timeSlotId"], "timeSlot": slots[2]["timestamp"]},
    )
    assert moved.status_code == 200, moved.text
    await cancel(people, "p1", slots[2])  # the provider cancels: the client hears of it
    await deliver(secure_server)
    messages = [d.message() for d in smtp.received(client)]
    seen = [calendar_of(m) for m in messages]
    assert [(m, str(e["UID"]), int(str(e["SEQUENCE"]))) for m, e in seen] == [
        ("REQUEST", uid, 1),
        ("REQUEST", uid, 2),
        ("CANCEL", uid, 3),
    ]
    assert str(seen[2][1]["STATUS"]) == "CANCELLED"
    assert seen[1][1].decoded("DTSTART").strftime("%H:%M") == "10:30"
    assert len({m["Message-ID"] for m in messages}) == 3
    statuses = {(n["kind"], n["status"]) for n in await listed(people, "c1")}
    assert statuses == {("confirmation", "sent"), ("update", "sent"), ("cancellation", "sent")}


async def test_reminders_follow_the_clock_and_survive_a_restart(
    secure_settings: Settings, clock: ManualClock, smtp: MailServer
) -> None:
    settings = replace(secure_settings, reminders=(3 * 86_400, 86_400, 2 * 3600))
    async with running(settings, clock) as server, People.issue(server) as people:
        client, _, _ = await booked(people, smtp)
        reminders = await listed(people, "c1", kind="reminder")
        # Booked two days ahead: the three-day reminder's time had passed, so it is not queued.
        assert sorted(n["dueAt"] for n in reminders) == [
            f"{DAY_BEFORE} 10:00:00",
            f"{DAY} 08:00:00",
        ]
        await deliver(server)
        assert len(smtp.received(client)) == 1  # the confirmation; no reminder is due yet
    # Stopped, and started again as another process would be, a day and more later.
    clock.advance(parse_gap(DAY, "10:00:00") - 24 * HOUR + 1)
    async with running(settings, clock) as server:
        await deliver(server)
        arrived = smtp.received(client)[1:]
        assert len(arrived) == 1
        reminder = arrived[0].message()
        assert reminder.get_content_type() == "text/plain"
        assert "10:00" in reminder.get_content()
        assert "Europe/Lisbon" in reminder.get_content()
        assert f"{PUBLIC}/manage/" in reminder.get_content()
        clock.advance(21 * HOUR)
        await deliver(server)
        assert len(smtp.received(client)) == 2  # the two-hour reminder is not due yet
        clock.advance(1 * HOUR)
        await deliver(server)
        assert len(smtp.received(client)) == 3


def parse_gap(day: str, at: str) -> float:
    """Seconds from the test clock's start to `day` `at` (UTC)."""
    from shared.timefmt import parse_time
    from tests.helpers import T0

    return parse_time(f"{day} {at}") - T0


async def test_a_temporary_refusal_is_tried_again_and_a_permanent_one_fails(
    people: People, secure_server: TestServer, smtp: MailServer
) -> None:
    client, provider = smtp.address("client"), smtp.address("doctor")
    smtp.answer(client, 451)
    smtp.answer(provider, 550)
    await set_email(people, "c1", client)
    await set_email(people, "p1", provider)
    slots = await open_morning(people)
    await hold(people, "c1", slots[0])
    await confirm(people, "c1", slots[0])
    await deliver(secure_server)
    mine = {n["kind"]: n for n in await listed(people, "c1")}
    assert mine["confirmation"]["status"] == "queued"
    assert mine["confirmation"]["attempts"] == 1
    assert "451" in mine["confirmation"]["lastError"]
    (theirs,) = await listed(people, "p1")
    assert (theirs["status"], theirs["attempts"]) == ("failed", 1)
    assert "550" in theirs["lastError"]
    assert smtp.received(client) == []
    await deliver(secure_server)  # not yet due again
    assert smtp.received(client) == []
    secure_server.app[CONTEXT].clock.advance(61)  # type: ignore[attr-defined]
    await deliver(secure_server)
    assert len(smtp.received(client)) == 1
    again = {n["kind"]: n for n in await listed(people, "c1")}["confirmation"]
    assert (again["status"], again["attempts"]) == ("sent", 2)
    metrics = (await people["admin"].get("/metrics")).text
    assert 'slotbook_notifications{status="failed"} 1.0' in metrics
    assert 'slotbook_mail_attempts_total{outcome="retry"} 1.0' in metrics


async def test_a_relay_that_is_down_keeps_the_message_queued(
    secure_settings: Settings, clock: ManualClock, smtp: MailServer
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings = replace(secure_settings, smtp_url=f"smtp://127.0.0.1:{port}")
    async with running(settings, clock) as server, People.issue(server) as them:
        await booked(them, smtp)
        await deliver(server)
        mine = await listed(them, "c1", kind="confirmation")
        assert (mine[0]["status"], mine[0]["attempts"]) == ("queued", 1)
        assert mine[0]["lastError"]


async def test_without_a_relay_mail_goes_to_the_maildir_beside_the_database(
    db: str, db_path: Path, clock: ManualClock, smtp: MailServer, store_kind: str
) -> None:
    settings = Settings(
        db=db, rate=0, mail_dir="" if store_kind == "sqlite" else str(db_path.parent / "mail")
    )
    async with running(settings, clock) as server, People.issue(server) as people:
        client, _, _ = await booked(people, smtp)
        await deliver(server)
    box = mailbox.Maildir(db_path.parent / "mail", create=False)
    to_client = [m for m in box if client in str(m["To"])]
    assert len(to_client) == 1
    assert to_client[0]["Subject"]
    assert smtp.received(client) == []


def test_the_mail_flags_are_read_and_bad_ones_refused_in_words() -> None:
    read = parse_serve_args(["--reminders", "24h, 2h,30m,1d", "--mail-from", "desk@localhost"])
    assert read.reminders == (86_400, 7_200, 1_800)
    assert read.mail_from == "desk@localhost"
    assert parse_serve_args(["--reminders", "none"]).reminders == ()
    assert parse_serve_args(["--db", "/srv/s/book.db"]).mail_directory == Path("/srv/s/mail")
    for flags, words in [
        (["--reminders", "24"], "24 is not a duration"),
        (["--reminders", "2w"], "2w is not a duration"),
        (["--mail-from", "desk"], "not an e-mail address"),
        (["--smtp-url", "http://relay.example.org"], "smtp://"),
        (["--smtp-url", "smtp://user@relay.example.org:587"], "both a user name and a password"),
    ]:
        with pytest.raises(SettingsError, match=words):
            parse_serve_args(flags)


async def test_a_move_to_another_provider_updates_the_clients_event_and_cancels_the_old_ones(
    people: People, secure_server: TestServer, smtp: MailServer
) -> None:
    client, first_doctor, slots = await booked(people, smtp)
    second_doctor = smtp.address("second-doctor")
    await set_email(people, "p2", second_doctor)
    elsewhere = await open_morning(people, "p2")
    moved = await people["c1"].post(
        f"/reservations/{slots[0]['timeSlotId']}/move",
        json={"toTimeSlotId": elsewhere[1]["timeSlotId"], "timeSlot": elsewhere[1]["timestamp"]},
    )
    assert moved.status_code == 200, moved.text
    await deliver(secure_server)
    (confirmed, updated) = [calendar_of(d.message()) for d in smtp.received(client)]
    assert updated[0] == "REQUEST"
    assert str(updated[1]["UID"]) == str(confirmed[1]["UID"])
    assert int(str(updated[1]["SEQUENCE"])) > int(str(confirmed[1]["SEQUENCE"]))
    assert str(updated[1]["ORGANIZER"]).lower() == f"mailto:{second_doctor}".lower()
    (_, cancelled) = [calendar_of(d.message()) for d in smtp.received(first_doctor)]
    assert (cancelled[0], str(cancelled[1]["STATUS"])) == ("CANCEL", "CANCELLED")
    assert str(cancelled[1]["UID"]) == str(confirmed[1]["UID"])
    (welcomed,) = [calendar_of(d.message()) for d in smtp.received(second_doctor)]
    assert welcomed[0] == "REQUEST"
    assert str(welcomed[1]["UID"]) == str(confirmed[1]["UID"])


async def test_an_address_never_reaches_the_change_feed_or_a_calendar_feed(
    people: People, secure_server: TestServer, smtp: MailServer
) -> None:
    client, provider, _ = await booked(people, smtp)
    await deliver(secure_server)
    changes = await people["admin"].get("/changes", params={"since": 0})
    assert changes.status_code == 200
    feed = (await new_feed(people, "c1")).replace(
        PUBLIC, str(secure_server.make_url("")).rstrip("/")
    )
    async with httpx.AsyncClient() as outsider:
        calendar = (await outsider.get(feed)).text
    for text in (changes.text, calendar):
        assert "@" not in text.replace(f"@{UID_DOMAIN}", "")
    assert client not in changes.text
    assert provider not in calendar


async def join_morning(people: People, who: str) -> dict[str, Any]:
    """`who` waits in p1's line for a slot between 10:00 and 11:00 on DAY: the offer it gets."""
    window = {"providerId": "p1", "from": f"{DAY} 10:00:00", "to": f"{DAY} 11:00:00"}
    joined = await people[who].post("/waitlist", json=window)
    assert joined.status_code == 201, joined.text
    offer: dict[str, Any] = joined.json()["entry"]["offer"]
    return offer


async def test_a_waitlist_offer_is_mailed_to_its_client_with_how_to_take_it(
    people: People, secure_server: TestServer, smtp: MailServer
) -> None:
    """Time freed for the next in line is a hold of theirs: they are mailed (in their zone) until
    when it is theirs and the calls that confirm or release it, and the call works as written.
    An ordinary hold is mailed to nobody."""
    client, bystander = smtp.address("waiting"), smtp.address("bystander")
    await set_email(people, "c1", client, "America/New_York")
    await set_email(people, "c2", bystander)
    slots = await open_morning(people)
    await hold(people, "c2", slots[0])
    offer = await join_morning(people, "c1")
    assert offer["timeSlotId"] == slots[1]["timeSlotId"]
    await deliver(secure_server)
    assert smtp.received(bystander) == []
    (letter,) = smtp.received(client)
    message = letter.message()
    assert message["Subject"] == (
        "Held for you from the waitlist: Appointment with Dr One, Wednesday 6 March 2030 05:15"
    )
    assert [part.get_content_type() for part in message.walk()] == ["text/plain"]  # no invitation
    words = text_of(message)
    assert "When: Wednesday 6 March 2030, 05:15–05:30 (America/New_York)" in words
    # Held for --offer-minutes (30) from the join at 09:00 UTC, 04:00 in New York.
    assert "It is yours until Monday 4 March 2030, 04:30 (America/New_York)." in words
    assert f"DELETE /reservations/{offer['timeSlotId']}" in words
    call = re.search(r"PUT (/availability/confirm/[0-9a-f]{32}) with (\{[^}]*\})", words)
    assert call is not None, words
    confirmed = await people["c1"].put(call[1], content=call[2], headers=JSON)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["reservation"]["timeSlotId"] == offer["timeSlotId"]
    sent = {(n["kind"], n["status"]) for n in await listed(people, "c1", kind="offer")}
    assert sent == {("offer", "sent")}


async def test_an_offer_that_lapsed_before_its_letter_went_is_not_sent(
    people: People, secure_server: TestServer, smtp: MailServer, clock: ManualClock
) -> None:
    client = smtp.address("late")
    await set_email(people, "c1", client)
    await secure_server.app[CONTEXT].mail.stop()  # sent by hand below, after the lapse
    await open_morning(people)
    await join_morning(people, "c1")
    clock.advance(31 * 60)
    await deliver(secure_server)
    assert smtp.received(client) == []
    (notice,) = await listed(people, "c1", kind="offer")
    assert (notice["status"], notice["lastError"]) == ("failed", "not sent: the hold had lapsed")
