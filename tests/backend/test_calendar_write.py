"""Bookings written back into the provider's own CalDAV calendar, on both stores, against a real
CalDAV server (Radicale, tests/radicale_server.py) reached through a relay in the test that writes
down each request's method and preconditions (If-None-Match, If-Match) and each answer's status.

The calendar is set over the API; the writer's rounds are run by the test after each change
(`write_due`: if the server's own round got there first, it waits for it), with the injected
clock, so a back-off is waited out by moving the clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from icalendar import Calendar, Component, vText

from backend.api.context import CONTEXT, AppContext
from backend.live.busy.write_back import BACKOFF_SECONDS
from backend.runtime.clock import ManualClock
from shared.timefmt import parse_time
from tests.backend.test_busy_refresh import secure_settings  # noqa: F401 - with a key
from tests.backend.test_calendar_feeds import DAY, open_morning
from tests.helpers import People, assert_problem
from tests.radicale_server import PASSWORD, USER, CalendarServer

PATH = "/providers/p1/calendar-write"
WRONG = "not the password"
CLIENT_ADDRESS = "c1@example.com"
PROVIDER_ADDRESS = "dr.one@example.com"


@dataclass(frozen=True)
class Sent:
    """One request the relay passed on: its method, its preconditions, the answer's status."""

    method: str
    if_match: str | None
    if_none_match: str | None
    status: int


@dataclass
class Relay:
    """An HTTP relay to Radicale that writes down what passes through it."""

    origin: str
    sent: list[Sent] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        kept = ("Authorization", "Content-Type", "If-Match", "If-None-Match", "Depth")
        headers = {name: request.headers[name] for name in kept if name in request.headers}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, self.origin + request.path_qs, headers=headers,
                data=await request.read(),
            ) as answer,
        ):  # fmt: skip
            body = await answer.read()
            given = {name: answer.headers[name] for name in ("ETag",) if name in answer.headers}
        self.sent.append(
            Sent(
                request.method,
                request.headers.get("If-Match"),
                request.headers.get("If-None-Match"),
                answer.status,
            )
        )
        return web.Response(status=answer.status, body=body, headers=given)

    def calendar(self, radicale: CalendarServer, calendar: str) -> str:
        """The calendar's address through the relay."""
        return self.url + calendar.removeprefix(radicale.origin)


@pytest.fixture
async def relay(radicale: CalendarServer) -> AsyncIterator[Relay]:
    relayed = Relay(radicale.origin)
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", relayed.handle)
    server = TestServer(app)
    await server.start_server()
    relayed.url = str(server.make_url("")).rstrip("/")
    yield relayed
    await server.close()


def context_of(server: TestServer) -> AppContext:
    return server.app[CONTEXT]


def event_of(document: bytes) -> tuple[Calendar, Component]:
    calendar = Calendar.from_ical(document)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def written(radicale: CalendarServer, calendar: str, uid: str) -> tuple[Calendar, Component, str]:
    """The event as the calendar holds it (its document, the event itself), and its ETag."""
    found = radicale.get(calendar, uid)
    assert found is not None, f"no event {uid} in the calendar"
    return *event_of(found[0]), found[1]


def at(time: str) -> datetime:
    return datetime.fromtimestamp(parse_time(f"{DAY} {time}"), UTC)


async def write_back_to(people: People, url: str, password: str = PASSWORD) -> httpx.Response:
    """p1's bookings written to the calendar at `url`, with the user name and `password`."""
    return await people["p1"].put(PATH, json={"url": url, "username": USER, "password": password})


async def hold(people: People, slot: dict[str, Any], **more: Any) -> str:
    held = await people["c1"].post(
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"], **more},
    )
    assert held.status_code == 201, held.text
    slot_id: str = held.json()["reservation"]["timeSlotId"]
    return slot_id


async def confirm(people: People, slot_id: str, at: str) -> None:
    booked = await people["c1"].put(f"/availability/confirm/{slot_id}", json={"timeSlot": at})
    assert booked.status_code == 200, booked.text


async def feed_uid(people: People) -> str:
    """The UID of the one event in p1's calendar feed."""
    made = await people["p1"].post("/calendar-feeds")
    assert made.status_code == 201, made.text
    feed = await people["p1"].get(httpx.URL(made.json()["url"]).path)
    (event,) = Calendar.from_ical(feed.content).walk("VEVENT")
    return str(event["UID"])


async def test_a_booking_is_written_moved_and_deleted_in_the_providers_calendar(
    people: People, secure_server: TestServer, radicale: CalendarServer, relay: Relay
) -> None:
    ctx = context_of(secure_server)
    for who, address in (("c1", CLIENT_ADDRESS), ("p1", PROVIDER_ADDRESS)):
        assert (await people[who].patch("/me", json={"email": address})).status_code == 200
    calendar = radicale.calendar()
    url = relay.calendar(radicale, calendar)
    made = await write_back_to(people, url)
    assert made.status_code == 201, made.text
    assert made.json()["calendar"]["url"] == url
    service = await people["p1"].post(
        "/providers/p1/services", json={"name": "Check-up", "minutes": 15}
    )
    slots = await open_morning(people)
    slot_id = await hold(
        people, slots[0], serviceId=service.json()["service"]["serviceId"], note="Left knee"
    )

    await ctx.write_back.write_due()
    assert relay.sent == []  # a hold is not written

    await confirm(people, slot_id, slots[0]["timestamp"])
    await ctx.write_back.write_due()
    uid = await feed_uid(people)
    whole, event, first_etag = written(radicale, calendar, uid)
    assert "METHOD" not in whole
    assert str(event["UID"]) == uid
    assert str(event["SUMMARY"]) == "Check-up with Client One"
    assert str(event["DESCRIPTION"]) == "Left knee"
    assert event.decoded("DTSTART") == at("10:00:00")
    attendee, organizer = event["ATTENDEE"], event["ORGANIZER"]
    assert (str(attendee), attendee.params["SCHEDULE-AGENT"]) == (
        f"mailto:{CLIENT_ADDRESS}",
        "CLIENT",
    )
    assert (str(organizer), organizer.params["SCHEDULE-AGENT"]) == (
        f"mailto:{PROVIDER_ADDRESS}",
        "CLIENT",
    )
    assert relay.sent == [Sent("PUT", None, "*", 201)]
    sequence = event.decoded("SEQUENCE")

    moved = await people["c1"].post(
        f"/reservations/{slot_id}/move",
        json={"toTimeSlotId": slots[2]["timeSlotId"], "timeSlot": slots[2]["timestamp"]},
    )
    assert moved.status_code == 200, moved.text
    await ctx.write_back.write_due()
    _, event, moved_etag = written(radicale, calendar, uid)
    assert event.decoded("DTSTART") == at("10:30:00")
    assert event.decoded("SEQUENCE") > sequence
    put = relay.sent[-1]
    assert (put.method, put.if_match, put.if_none_match) == ("PUT", first_etag, None)
    assert 200 <= put.status < 300

    cancelled = await people["c1"].delete(
        f"/reservations/{moved.json()['reservation']['timeSlotId']}"
    )
    assert cancelled.status_code == 200, cancelled.text
    await ctx.write_back.write_due()
    assert radicale.get(calendar, uid) is None
    assert relay.sent[-1].method == "DELETE"
    assert relay.sent[-1].if_match == moved_etag
    status = (await people["p1"].get(PATH)).json()["calendar"]["status"]
    assert (status["lastError"], status["failures"], status["waiting"]) == (None, 0, 0)
    assert status["lastSuccessAt"] is not None


async def test_a_calendar_set_later_gets_the_booking_and_an_edit_there_is_written_over(
    people: People, secure_server: TestServer, radicale: CalendarServer, relay: Relay
) -> None:
    ctx = context_of(secure_server)
    slots = await open_morning(people)
    slot_id = await hold(people, slots[1])
    await confirm(people, slot_id, slots[1]["timestamp"])
    calendar = radicale.calendar()  # set after the booking, which it is given all the same
    assert (await write_back_to(people, relay.calendar(radicale, calendar))).status_code == 201
    await ctx.write_back.write_due()
    uid = await feed_uid(people)
    edited, event, ours = written(radicale, calendar, uid)
    event["SUMMARY"] = vText("Lunch with the bank")  # someone edits it in their calendar app
    changed = radicale.put(calendar, uid, edited.to_ical())
    assert changed != ours

    noted = await people["c1"].patch(f"/reservations/{slot_id}", json={"note": "Right knee"})
    assert noted.status_code == 200, noted.text
    await ctx.write_back.write_due()
    _, event, _ = written(radicale, calendar, uid)
    assert str(event["SUMMARY"]) == "Appointment with Client One"
    assert str(event["DESCRIPTION"]) == "Right knee"
    put_ours, read, put_again = relay.sent[-3:]
    assert (put_ours.method, put_ours.if_match, put_ours.status) == ("PUT", ours, 412)
    assert (read.method, read.status) == ("GET", 200)
    assert (put_again.method, put_again.if_match) == ("PUT", changed)
    assert 200 <= put_again.status < 300


async def test_a_wrong_password_is_said_and_tried_again_until_it_is_put_right(
    people: People,
    secure_server: TestServer,
    radicale: CalendarServer,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Neither party has an address: over PostgreSQL the confirm is the lean one-statement write,
    which queues the calendar's write in that statement."""
    caplog.set_level(logging.DEBUG)
    ctx = context_of(secure_server)
    calendar = radicale.calendar()
    set_wrong = await write_back_to(people, calendar, WRONG)
    assert set_wrong.status_code == 201, set_wrong.text
    slots = await open_morning(people)
    slot_id = await hold(people, slots[0])
    await confirm(people, slot_id, slots[0]["timestamp"])
    await ctx.write_back.write_due()
    uid = await feed_uid(people)
    shown = await people["p1"].get(PATH)
    status = shown.json()["calendar"]["status"]
    assert status["lastError"] == "the calendar refused the user name and password (401)"
    assert (status["failures"], status["waiting"], status["lastSuccessAt"]) == (1, 1, None)

    clock.advance(BACKOFF_SECONDS - 1)
    await ctx.write_back.write_due()
    assert (await people["p1"].get(PATH)).json()["calendar"]["status"]["failures"] == 1
    clock.advance(1)  # the back-off is over: tried again
    await ctx.write_back.write_due()
    assert (await people["p1"].get(PATH)).json()["calendar"]["status"]["failures"] == 2
    assert radicale.get(calendar, uid) is None

    put_right = await write_back_to(people, calendar)
    assert put_right.status_code == 200, put_right.text
    await ctx.write_back.write_due()  # due at once with the new password, not after 2 minutes
    written(radicale, calendar, uid)
    status = (await people["p1"].get(PATH)).json()["calendar"]["status"]
    assert (status["lastError"], status["failures"], status["waiting"]) == (None, 0, 0)

    answers = [set_wrong, shown, put_right, await people["admin"].get(PATH)]
    for said in [*(answer.text for answer in answers), caplog.text]:
        assert PASSWORD not in said
        assert WRONG not in said
    assert "password" not in set_wrong.json()["calendar"]


async def test_a_calendar_the_server_may_not_reach_or_seal_is_refused_naming_each_field(
    http: httpx.AsyncClient,
) -> None:
    """A server without --secret-key or --allow-private-addresses (and with no auth)."""
    refused = await http.put(
        PATH, json={"url": "http://127.0.0.1:1/dav/", "username": "a:b", "password": PASSWORD}
    )
    problem = assert_problem(refused, 422, "rule-violation")
    assert [e["field"] for e in problem["errors"]] == ["username", "password", "url"]
    assert "--secret-key" in problem["errors"][1]["message"]
    assert PASSWORD not in refused.text
    assert_problem(await http.get(PATH), 404, "calendar-write-not-found")
    assert_problem(await http.delete(PATH), 404, "calendar-write-not-found")
