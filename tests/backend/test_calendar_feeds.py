"""Calendar feeds: a provider's and a client's holds and bookings as iCalendar, read by the
`icalendar` parser and imported by a real calendar program (calcurse), over real HTTP on both
stores."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import icalendar
import pytest
from aiohttp.test_utils import TestServer
from icalendar.parser import Contentline
from sqlite_utils import Database

from backend.app import create_app
from backend.rules.booking import Rules
from backend.rules.calendar_ledger import KEEP_SECONDS
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from backend.store.opening import open_store
from backend.store.postgres.schema import apply_migrations as migrate_postgresql
from backend.store.sqlite.schema import apply_migrations as migrate_sqlite
from tests.calcurse import calcurse_program, run_calcurse
from tests.helpers import JSON, T0, People, assert_problem
from tests.postgres_server import PostgresForTests

DAY = "2030-03-06"
"""Two days after the clock's start, so every slot has the notice it needs."""


async def open_morning(people: People, provider: str = "p1") -> list[dict[str, Any]]:
    response = await people[provider].post(
        "/availability",
        json={"startTime": f"{DAY} 10:00:00", "endTime": f"{DAY} 11:00:00"},
    )
    assert response.status_code in (200, 201), response.text
    listed = await people["c1"].get(
        "/availability",
        params={
            "startTime": f"{DAY} 00:00:00",
            "endTime": f"{DAY} 23:59:00",
            "providerId": provider,
        },
    )
    slots: list[dict[str, Any]] = listed.json()["availableTimeSlots"]
    return slots


async def hold(people: People, who: str, slot: dict[str, Any]) -> None:
    response = await people[who].post(
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
    )
    assert response.status_code == 201, response.text


async def confirm(people: People, who: str, slot: dict[str, Any]) -> None:
    response = await people[who].put(
        f"/availability/confirm/{slot['timeSlotId']}", json={"timeSlot": slot["timestamp"]}
    )
    assert response.status_code == 200, response.text


async def cancel(people: People, who: str, slot: dict[str, Any]) -> None:
    response = await people[who].delete(f"/reservations/{slot['timeSlotId']}")
    assert response.status_code == 200, response.text


async def new_feed(people: People, who: str, body: dict[str, str] | None = None) -> str:
    response = (
        await people[who].post("/calendar-feeds", json=body)
        if body
        else await people[who].post("/calendar-feeds")
    )
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    return url


async def read_feed(url: str) -> icalendar.Calendar:
    """The feed as a calendar program gets it: no token, just the address."""
    async with httpx.AsyncClient() as outsider:
        response = await outsider.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def events(calendar: icalendar.Calendar) -> list[dict[str, Any]]:
    """Each VEVENT's properties that a calendar program acts on, in start order."""
    found = [
        {
            "uid": str(e["UID"]),
            "status": str(e["STATUS"]),
            "sequence": e.decoded("SEQUENCE"),
            "summary": str(e["SUMMARY"]),
            "start": e.decoded("DTSTART").strftime("%Y-%m-%d %H:%M:%S %Z"),
            "end": e.decoded("DTEND").strftime("%Y-%m-%d %H:%M:%S %Z"),
            "dtstamp": e.decoded("DTSTAMP"),
        }
        for e in calendar.walk("VEVENT")
    ]
    return sorted(found, key=lambda e: (e["start"], e["dtstamp"]))


async def test_a_reservation_is_one_event_through_hold_confirm_and_cancel(
    people: People, clock: ManualClock
) -> None:
    slots = await open_morning(people)
    provider_url = await new_feed(people, "p1")
    client_url = await new_feed(people, "c1")
    assert provider_url.endswith(".ics")
    assert "/calendar/" in provider_url
    assert events(await read_feed(provider_url)) == []

    await hold(people, "c1", slots[0])
    (held,) = events(await read_feed(provider_url))
    assert held["status"] == "TENTATIVE"
    assert held["summary"] == "Hold: appointment with Client One (not yet confirmed)"
    assert (held["start"], held["end"]) == (f"{DAY} 10:00:00 UTC", f"{DAY} 10:15:00 UTC")
    (theirs,) = events(await read_feed(client_url))
    assert theirs["uid"] == held["uid"]
    assert theirs["summary"] == "Hold: appointment with Dr One (not yet confirmed)"

    clock.advance(60)
    await confirm(people, "c1", slots[0])
    (booked,) = events(await read_feed(provider_url))
    assert booked["uid"] == held["uid"]
    assert booked["status"] == "CONFIRMED"
    assert booked["summary"] == "Appointment with Client One"
    assert booked["sequence"] > held["sequence"]
    assert booked["dtstamp"] > held["dtstamp"]

    clock.advance(60)
    await cancel(people, "c1", slots[0])
    (gone,) = events(await read_feed(provider_url))
    assert gone["uid"] == held["uid"]
    assert gone["status"] == "CANCELLED"
    assert gone["sequence"] > booked["sequence"]
    (gone_too,) = events(await read_feed(client_url))
    assert (gone_too["status"], gone_too["sequence"]) == ("CANCELLED", gone["sequence"])

    # The same slot booked again, by someone else: another event; the cancelled one stays.
    clock.advance(60)
    await hold(people, "c2", slots[0])
    both = events(await read_feed(provider_url))
    assert [e["status"] for e in both] == ["CANCELLED", "TENTATIVE"]
    assert both[1]["uid"] != held["uid"]
    assert both[1]["summary"] == "Hold: appointment with Client Two (not yet confirmed)"
    assert [e["status"] for e in events(await read_feed(client_url))] == ["CANCELLED"]

    # Thirty days after the slot's day, nothing of it is left in the feed.
    clock.advance(29 * 86_400)
    assert len(events(await read_feed(provider_url))) == 2
    clock.advance(4 * 86_400)
    assert events(await read_feed(provider_url)) == []


async def test_a_lapsed_hold_is_cancelled_before_any_sweep(
    people: People, clock: ManualClock
) -> None:
    slots = await open_morning(people)
    url = await new_feed(people, "c1")
    await hold(people, "c1", slots[1])
    (held,) = events(await read_feed(url))
    clock.advance(31 * 60)  # past the 30-minute hold; the test server's sweeper has not run
    (lapsed,) = events(await read_feed(url))
    assert (lapsed["uid"], lapsed["status"]) == (held["uid"], "CANCELLED")
    assert lapsed["sequence"] > held["sequence"]


async def test_a_move_and_a_note_keep_the_event(people: People, clock: ManualClock) -> None:
    slots = await open_morning(people)
    url = await new_feed(people, "p1")
    await hold(people, "c1", slots[0])
    await confirm(people, "c1", slots[0])
    (before,) = events(await read_feed(url))
    moved = await people["c1"].post(
        f"/reservations/{slots[0]['timeSlotId']}/move",
        json={"toTimeSlotId": slots[2]["timeSlotId"], "timeSlot": slots[2]["timestamp"]},
    )
    assert moved.status_code == 200, moved.text
    (after,) = events(await read_feed(url))
    assert after["uid"] == before["uid"]
    assert after["start"] == f"{DAY} 10:30:00 UTC"
    assert after["status"] == "CONFIRMED"
    assert after["sequence"] > before["sequence"]
    noted = await people["c1"].patch(
        f"/reservations/{slots[2]['timeSlotId']}", json={"note": "Second floor, please"}
    )
    assert noted.status_code == 200, noted.text
    calendar = await read_feed(url)
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"{before['uid']}"
    assert "Second floor, please" in str(event["DESCRIPTION"])
    assert event.decoded("SEQUENCE") > after["sequence"]


async def test_a_booking_moved_to_another_provider_stays_cancelled_in_the_old_providers_feed(
    people: People, clock: ManualClock
) -> None:
    """A move elsewhere is, for the provider who had the booking, a cancellation: the event turns
    CANCELLED, one sequence on, instead of vanishing; the new provider and the client see the
    booking with the new provider as an event of its own."""
    first, elsewhere = await open_morning(people, "p1"), await open_morning(people, "p2")
    old_provider, new_provider = await new_feed(people, "p1"), await new_feed(people, "p2")
    client = await new_feed(people, "c1")
    await hold(people, "c1", first[0])
    await confirm(people, "c1", first[0])
    (before,) = events(await read_feed(old_provider))
    clock.advance(60)

    moved = await people["c1"].post(
        f"/reservations/{first[0]['timeSlotId']}/move",
        json={"toTimeSlotId": elsewhere[2]["timeSlotId"], "timeSlot": elsewhere[2]["timestamp"]},
    )
    assert moved.status_code == 200, moved.text

    (left,) = events(await read_feed(old_provider))
    assert (left["uid"], left["status"]) == (before["uid"], "CANCELLED")
    assert left["sequence"] > before["sequence"]
    assert left["summary"] == "Cancelled: appointment with Client One"
    assert (left["start"], left["end"]) == (before["start"], before["end"])
    (arrived,) = events(await read_feed(new_provider))
    assert arrived["uid"] != before["uid"]
    assert arrived["status"] == "CONFIRMED"
    assert (arrived["start"], arrived["end"]) == (f"{DAY} 10:30:00 UTC", f"{DAY} 10:45:00 UTC")
    assert arrived["summary"] == "Appointment with Client One"
    theirs = events(await read_feed(client))
    assert [(e["uid"], e["status"], e["summary"]) for e in theirs] == [
        (before["uid"], "CANCELLED", "Cancelled: appointment with Dr One"),
        (arrived["uid"], "CONFIRMED", "Appointment with Dr Two"),
    ]

    # Moved back: the first provider gets a new event; the cancelled one stays beside it.
    clock.advance(60)
    back = await people["c1"].post(
        f"/reservations/{elsewhere[2]['timeSlotId']}/move",
        json={"toTimeSlotId": first[1]["timeSlotId"], "timeSlot": first[1]["timestamp"]},
    )
    assert back.status_code == 200, back.text
    assert [e["status"] for e in events(await read_feed(old_provider))] == [
        "CANCELLED",
        "CONFIRMED",
    ]
    (left_too,) = events(await read_feed(new_provider))
    assert (left_too["uid"], left_too["status"]) == (arrived["uid"], "CANCELLED")
    assert left_too["sequence"] > arrived["sequence"]


ODD_NAME = "Dr ; , \\ : Prov"
"""A display name with every character iCalendar TEXT escapes, and a colon, which it does not."""


def calendar_names(ics: bytes) -> dict[str, tuple[str, str]]:
    """NAME and X-WR-CALNAME as written and as the `icalendar` parser reads them, as TEXT."""
    found = {}
    for text in ics.decode().replace("\r\n ", "").splitlines():  # unfolded (RFC 5545 3.1)
        name, _, value = Contentline(text).parts()  # type: ignore[no-untyped-call]
        if name in ("NAME", "X-WR-CALNAME"):
            found[name] = (text.split(":", 1)[1], value)
    return found


async def test_a_feed_is_named_by_its_owners_display_name_escaped_as_text(
    people: People, tmp_path: Path
) -> None:
    made = await people["admin"].post(
        "/tokens", json={"role": "provider", "subject": "odd", "name": ODD_NAME}
    )
    assert made.status_code == 201, made.text
    async with httpx.AsyncClient(
        base_url=str(people["admin"].base_url),
        headers={"Authorization": f"Bearer {made.json()['token']}"},
    ) as odd:
        feed = await odd.post("/calendar-feeds")
        assert feed.status_code == 201, feed.text
        opened = await odd.post(
            "/availability", json={"startTime": f"{DAY} 10:00:00", "endTime": f"{DAY} 10:15:00"}
        )
        assert opened.status_code == 201, opened.text
    escaped = "slotbook: Dr \\; \\, \\\\ : Prov"
    named = (escaped, "slotbook: " + ODD_NAME)

    # Before its first booking, the provider's feed is named by its name, not its id.
    async with httpx.AsyncClient() as calendar_app:
        fresh = await calendar_app.get(feed.json()["url"])
    assert calendar_names(fresh.content) == {"NAME": named, "X-WR-CALNAME": named}
    assert icalendar.Calendar.from_ical(fresh.content).walk("VEVENT") == []
    client_url = await new_feed(people, "c1")
    async with httpx.AsyncClient() as calendar_app:
        theirs = await calendar_app.get(client_url)
    assert calendar_names(theirs.content)["X-WR-CALNAME"][1] == "slotbook: Client One"

    # The client's feed names the provider in its events: a calendar program reads it back.
    slot = opened.json()["timeSlots"][0]
    await hold(people, "c1", slot)
    async with httpx.AsyncClient() as calendar_app:
        ics = (await calendar_app.get(client_url)).content
    (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["SUMMARY"]) == f"Hold: appointment with {ODD_NAME} (not yet confirmed)"
    calcurse = calcurse_program()
    (tmp_path / "feed.ics").write_bytes(ics)
    data = tmp_path / "calcurse"
    data.mkdir()
    await asyncio.to_thread(run_calcurse, calcurse, data, "-i", str(tmp_path / "feed.ics"))
    listed = await asyncio.to_thread(
        run_calcurse, calcurse, data, "-Q", "--filter-type", "apt", "--from", "03/06/2030",
        "--days", "1", "--format-apt", "%m\\n",
    )  # fmt: skip
    assert listed.splitlines()[1:] == [f"Hold: appointment with {ODD_NAME} (not yet confirmed)"]


async def test_polling_with_the_etag_is_answered_304_until_something_changes(
    people: People,
) -> None:
    slots = await open_morning(people)
    url = await new_feed(people, "p1")
    async with httpx.AsyncClient() as calendar_app:
        first = await calendar_app.get(url)
        etag = first.headers["ETag"]
        again = await calendar_app.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        await hold(people, "c1", slots[0])
        changed = await calendar_app.get(url, headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["ETag"] != etag
        assert b"BEGIN:VEVENT" in changed.content


async def test_any_tag_weak_tags_and_lists_that_match_are_answered_304(
    people: People,
) -> None:
    """If-None-Match as RFC 9110 compares it: `*` matches any current feed, and a tag matches
    by its opaque value whether it is sent weak or strong, alone or in a list."""
    slots = await open_morning(people)
    url = await new_feed(people, "p1")
    async with httpx.AsyncClient() as calendar_app:
        etag = (await calendar_app.get(url)).headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]+"', etag), "a strong tag"
        matching = [
            "*",
            f"W/{etag}",
            f'"older", {etag}',
            f'W/"older",W/{etag}',
            f'"a,b" , W/{etag}',
        ]
        for sent in matching:
            for method in ("GET", "HEAD"):
                answer = await calendar_app.request(method, url, headers={"If-None-Match": sent})
                assert (answer.status_code, answer.content) == (304, b""), (method, sent)
                assert answer.headers["ETag"] == etag
        for sent in ['"older"', 'W/"older", "other"', etag.strip('"'), f'"{etag}"']:
            answer = await calendar_app.get(url, headers={"If-None-Match": sent})
            assert answer.status_code == 200, sent
            assert b"BEGIN:VCALENDAR" in answer.content

        await hold(people, "c1", slots[0])
        for sent in (f"W/{etag}", f'"older", {etag}'):
            changed = await calendar_app.get(url, headers={"If-None-Match": sent})
            assert changed.status_code == 200, sent
            assert b"BEGIN:VEVENT" in changed.content
        assert (await calendar_app.get(url, headers={"If-None-Match": "*"})).status_code == 304


async def test_feeds_are_listed_without_their_address_and_revoked_at_once(
    people: People,
) -> None:
    url = await new_feed(people, "p1")
    await new_feed(people, "c1")
    mine = (await people["p1"].get("/calendar-feeds")).json()["feeds"]
    assert [(f["role"], f["subject"]) for f in mine] == [("provider", "p1")]
    assert url.split("/")[-1].removesuffix(".ics") not in str(mine)
    everyone = (await people["admin"].get("/calendar-feeds")).json()["feeds"]
    assert sorted(f["subject"] for f in everyone) == ["c1", "p1"]

    feed_id = mine[0]["feedId"]
    assert_problem(
        await people["p2"].delete(f"/calendar-feeds/{feed_id}"), 404, "calendar-feed-not-found"
    )
    revoked = await people["p1"].delete(f"/calendar-feeds/{feed_id}")
    assert revoked.status_code == 200, revoked.text
    async with httpx.AsyncClient() as calendar_app:
        assert_problem(await calendar_app.get(url), 404, "calendar-feed-not-found")
    assert (await people["p1"].get("/calendar-feeds")).json()["feeds"] == []


async def test_who_may_make_whose_feed(people: People, anonymous: httpx.AsyncClient) -> None:
    assert_problem(await anonymous.post("/calendar-feeds"), 401, "unauthorized")
    assert_problem(
        await people["c1"].post("/calendar-feeds", json={"clientId": "c2"}), 403, "forbidden"
    )
    assert_problem(
        await people["p1"].post("/calendar-feeds", json={"clientId": "c1"}), 403, "forbidden"
    )
    assert_problem(await people["admin"].post("/calendar-feeds"), 422, "actor-required")
    assert_problem(
        await people["admin"].post("/calendar-feeds", json={"providerId": "p1", "clientId": "c1"}),
        422,
        "rule-violation",
    )
    made = await people["admin"].post("/calendar-feeds", json={"clientId": "c2"})
    assert made.status_code == 201, made.text
    assert (made.json()["feed"]["role"], made.json()["feed"]["subject"]) == ("client", "c2")
    assert_problem(
        await people["c1"].post("/calendar-feeds", content=b"[1]", headers=JSON),
        400,
        "invalid-request",
    )


async def test_an_address_that_is_not_a_feed_is_404(anonymous: httpx.AsyncClient) -> None:
    for secret in ("x" * 43, "short", "%7Bsecret%7D", "A" * 200):
        assert_problem(await anonymous.get(f"/calendar/{secret}.ics"), 404)


async def test_a_calendar_program_imports_the_feed(
    people: People, clock: ManualClock, tmp_path: Path
) -> None:
    calcurse = calcurse_program()
    slots = await open_morning(people)
    url = await new_feed(people, "p1")
    await hold(people, "c1", slots[0])
    await confirm(people, "c1", slots[0])
    await hold(people, "c2", slots[3])
    async with httpx.AsyncClient() as calendar_app:
        ics = tmp_path / "slotbook.ics"
        ics.write_bytes((await calendar_app.get(url)).content)
    data = tmp_path / "calcurse"
    data.mkdir()
    imported = await asyncio.to_thread(run_calcurse, calcurse, data, "-i", str(ics))
    assert "2 apps" in imported, imported
    listed = await asyncio.to_thread(
        run_calcurse, calcurse, data, "-Q", "--filter-type", "apt", "--from", "03/06/2030",
        "--days", "1", "--format-apt", "%(start:%H:%M)-%(end:%H:%M) %m\\n",
    )  # fmt: skip
    assert listed.splitlines()[1:] == [
        "10:00-10:15 Appointment with Client One",
        "10:45-11:00 Hold: appointment with Client Two (not yet confirmed)",
    ]


async def test_the_address_is_under_the_public_url_behind_a_proxy(
    secure_settings: Settings, clock: ManualClock
) -> None:
    proxied = replace(secure_settings, public_url="https://booking.example.org/slotbook")
    server = TestServer(create_app(proxied, clock=clock))
    await server.start_server()
    try:
        async with People.issue(server) as people:
            url = await new_feed(people, "c1")
    finally:
        await server.close()
    assert url.startswith("https://booking.example.org/slotbook/calendar/")
    assert url.endswith(".ics")


async def post_with_host(people: People, who: str, path: str, host_lines: str) -> tuple[int, Any]:
    """POST over a socket of our own, so that the Host header goes exactly as written (an HTTP
    client would correct it); the status and the JSON answer."""
    base = people[who].base_url
    reader, writer = await asyncio.open_connection(base.host, base.port)
    try:
        writer.write(
            f"POST {path} HTTP/1.1\r\n{host_lines}"
            f"Authorization: {people[who].headers['Authorization']}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    problem = json.loads(body) if head.endswith(b"json") or b"json\r\n" in head else body
    return int(head.split(b" ", 2)[1]), problem


@pytest.mark.parametrize(
    "host",
    [
        "a/b?c#d@e",
        "booking.example.org/evil",
        "user@booking.example.org",
        "booking.example.org:port",
        "booking.example.org:99999",
        "booking.example.org:",
        "a b",
        "a,b",
        "[::1",
        "[fe80::1%eth0]",
        "::1",
        "",
        '"><script>',
    ],
)
async def test_a_host_header_that_is_no_host_is_refused_and_makes_no_feed(
    people: People, host: str
) -> None:
    status, problem = await post_with_host(people, "c1", "/calendar-feeds", f"Host: {host}\r\n")
    assert status == 400
    assert problem["type"] == "/problems/invalid-request"
    assert "is not a host name or an IP address" in problem["detail"], problem
    assert (await people["c1"].get("/calendar-feeds")).json()["feeds"] == []


async def test_two_host_headers_are_refused(people: People) -> None:
    """By aiohttp's parser, before any handler: a plain 400."""
    status, _ = await post_with_host(people, "c1", "/calendar-feeds", "Host: a\r\nHost: b\r\n")
    assert status == 400
    assert (await people["c1"].get("/calendar-feeds")).json()["feeds"] == []


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("Booking.Example.org:8443", "http://Booking.Example.org:8443"),
        ("[2001:db8::1]:8080", "http://[2001:db8::1]:8080"),
        ("192.0.2.7", "http://192.0.2.7"),
        ("my_proxy.internal.", "http://my_proxy.internal."),
    ],
)
async def test_without_a_public_url_the_address_is_under_the_host_the_request_named(
    people: People, host: str, base: str
) -> None:
    status, made = await post_with_host(people, "c1", "/calendar-feeds", f"Host: {host}\r\n")
    assert status == 201, made
    assert made["url"].startswith(f"{base}/calendar/")


# --- a database from before calendar feeds ------------------------------------------------------

START = T0 + 2 * 86_400
OLD_SLOTS = [
    # id, start, status, client, reserved_at, held_until, confirmed_at, appointment_id
    ("a" * 32, START, "RESERVED", "c1", T0, T0 + 1800, None, "a" * 32),
    ("b" * 32, START + 900, "CONFIRMED", "c2", T0, None, T0 + 60, "b" * 32),
    ("c" * 32, START + 1800, "CONFIRMED", "c2", T0, None, T0 + 60, "b" * 32),
    ("d" * 32, START + 2700, "AVAILABLE", None, None, None, None, None),
]
"""A hold, a two-slot booking and an open slot, as the release before calendar feeds kept them."""

OLD_INSERT = (
    "INSERT INTO slots (id, provider_id, start, duration, status, client_id, reserved_at,"
    " held_until, confirmed_at, appointment_id, created_at)"
    " VALUES ({}, 'p1', {}, 900, {}, {}, {}, {}, {}, {}, 0)"
)


async def test_reservations_made_before_calendar_feeds_are_in_them(
    store_kind: str, db_path: Path, request: pytest.FixtureRequest
) -> None:
    if store_kind == "sqlite":
        url = str(db_path)
        with closing(sqlite3.connect(url, isolation_level=None)) as conn:
            migrate_sqlite(Database(conn), stop_before="0008_calendars")
            conn.executemany(OLD_INSERT.format(*["?"] * 8), OLD_SLOTS)
    else:
        postgres: PostgresForTests = request.getfixturevalue("postgres")
        url = postgres.copy(template="template0")
        request.addfinalizer(lambda: postgres.drop(url))
        pg = await asyncpg.connect(url)
        try:
            await migrate_postgresql(pg, stop_before="0008_calendars")
            await pg.executemany(OLD_INSERT.format(*(f"${n}" for n in range(1, 9))), OLD_SLOTS)
        finally:
            await pg.close()
    store = await open_store(url, Rules())  # migrates
    try:
        before = await store.calendar_entries("provider", "p1", T0 - KEEP_SECONDS)
        await store.confirm("a" * 32, START, "c1", T0 + 120)
        after = await store.calendar_entries("provider", "p1", T0 - KEEP_SECONDS)
    finally:
        await store.close()
    assert [(e.client_id, e.start, e.ends, e.status, e.sequence) for e in before] == [
        ("c1", START, START + 900, "RESERVED", 0),
        ("c2", START + 900, START + 2700, "CONFIRMED", 0),
    ]
    assert [(e.uid, e.status, e.sequence) for e in after] == [
        (before[0].uid, "CONFIRMED", 1),
        (before[1].uid, "CONFIRMED", 0),
    ]


async def test_the_answer_names_the_feed_and_its_address_once(people: People) -> None:
    made = await people["c1"].post("/calendar-feeds")
    answer = made.json()
    assert answer["feedId"] == answer["feed"]["feedId"]
    listed = (await people["c1"].get("/calendar-feeds")).json()["feeds"]
    assert [f["feedId"] for f in listed] == [answer["feedId"]]
    again = await people["c1"].post("/calendar-feeds", headers={"Idempotency-Key": "feed-1"})
    replayed = await people["c1"].post("/calendar-feeds", headers={"Idempotency-Key": "feed-1"})
    assert (again.status_code, replayed.status_code) == (201, 201)
    assert again.json()["url"].endswith(".ics")
    assert replayed.json()["url"] is None
    assert replayed.json()["feedId"] == again.json()["feedId"]
