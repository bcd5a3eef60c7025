"""The booking page, over real HTTP on both stores, as a visitor with no token uses it: the
provider's page (on only when they turn it on) lists exactly the starts the API lists, in the
visitor's zone; the form holds a start for the client of the e-mail address given and the e-mail
carries a link whose page confirms it with a POST (opening it changes nothing); the link is
single-use and lapses with the hold; two visitors racing for one start get one hold and one page
that offers the nearest others; and every abuse the page guards against is refused with a page
that says why, changing nothing."""

from __future__ import annotations

import asyncio
import mailbox
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from shared.timefmt import parse_time
from tests.backend.test_calendar_feeds import DAY, open_morning
from tests.backend.test_manage_page import forms_of, readable, words_of
from tests.helpers import People, dump_database

PUBLIC = "https://book.example.org"
VISITOR = "Visitor.One@Example.com"
ZONE = "America/New_York"
"""10:00 UTC on DAY is 05:00 there."""
OWN = {"Origin": PUBLIC, "Sec-Fetch-Site": "same-origin"}
"""What a browser sends with the page's own form."""


@pytest.fixture
def secure_settings(db: str, tmp_path: Path) -> Settings:
    return Settings(
        db=db,
        rate=0,
        public_url=PUBLIC,
        mail_dir=str(tmp_path / "mail"),
        page_holds_per_address=3,
        page_sends_per_hour=6,
    )


@pytest.fixture
async def visitor(secure_server: TestServer) -> AsyncIterator[httpx.AsyncClient]:
    """Someone on the booking page, with no token."""
    async with httpx.AsyncClient(base_url=str(secure_server.make_url("")), timeout=60) as client:
        yield client


PROFILE = {
    "about": "Family practice <b>since</b> 1990",
    "address": "1 High Street, Springfield",
    "phone": "+1 555 0100",
    "website": "https://dr-one.example.org",
}


async def page_on(people: People) -> list[dict[str, Any]]:
    """p1 turns their page on, with a profile, and opens DAY's morning (10:00-11:00 UTC)."""
    turned = await people["p1"].patch(
        "/providers/p1", json={"profile": PROFILE, "bookingPage": True}
    )
    assert turned.status_code == 200, turned.text
    return await open_morning(people)


async def taken(people: People) -> list[dict[str, Any]]:
    """p1's held and booked slots on DAY, as p1 sees them."""
    day = await people["p1"].get(
        "/providers/p1/slots",
        params={"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:59:00"},
    )
    assert day.status_code == 200, day.text
    return [s for s in day.json()["timeSlots"] if s["status"] != "AVAILABLE"]


def start_links(html: str) -> list[tuple[str, str]]:
    """(time shown, link) of each start the page lists."""
    return [
        (time, link.replace("&amp;", "&"))
        for link, time in re.findall(
            r'<a class="button start" href="([^"]+)"[^>]*>([^<]+)</a>', html
        )
    ]


def at_of(link: str) -> int:
    """The start a start's link names."""
    found = re.search(r"[?&]at=([0-9]+)", link)
    assert found, link
    return int(found.group(1))


async def same_starts_as_the_api_for_a_type(people: People, visitor: httpx.AsyncClient) -> None:
    """With a type of 30 minutes and a buffer after, the page offers the type and exactly the
    starts GET /availability lists for it."""
    made = await people["p1"].post(
        "/providers/p1/services",
        json={"name": "Check-up", "minutes": 30, "bufferAfterMinutes": 15},
    )
    assert made.status_code == 201, made.text
    type_id = made.json()["service"]["serviceId"]
    listed = await people["c1"].get(
        "/availability",
        params={"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:59:00", "serviceId": type_id},
    )
    expected = [parse_time(s["timestamp"]) for s in listed.json()["availableTimeSlots"]]
    page = await visitor.get("/book/p1")  # the first type is chosen when none is named
    assert "Check-up (30 minutes)" in readable(page.text)
    assert [at_of(link) for _, link in start_links(page.text)] == expected
    archived = await people["p1"].patch(f"/services/{type_id}", json={"archived": True})
    assert archived.status_code == 200, archived.text


async def hold_from_page(
    visitor: httpx.AsyncClient, link: str, email: str = VISITOR, **more: str
) -> httpx.Response:
    """Open a start's form and send it, as a person would."""
    form_page = await visitor.get(link)
    assert form_page.status_code == 200, form_page.text
    form = forms_of(form_page.text)[0]
    data = {**form.fields, "name": "Visitor One", "email": email, "note": "", **more}
    return await visitor.post(form.action, data=data, headers=OWN)


async def delivered(server: TestServer, tmp_path: Path, to: str) -> list[str]:
    """The words of the letters delivered to `to`, oldest first."""
    await server.app[CONTEXT].mail.deliver_due()
    box = mailbox.Maildir(tmp_path / "mail", create=False)
    letters = sorted(
        (m for m in box if to.lower() in str(m["To"]).lower()), key=lambda m: m["Date"]
    )
    return [f"Subject: {' '.join(str(m['Subject']).split())}\n{words_of(m)}" for m in letters]


async def test_a_visitor_books_from_the_page_and_confirms_from_the_email(
    people: People, visitor: httpx.AsyncClient, secure_server: TestServer, tmp_path: Path
) -> None:
    off = await visitor.get("/book/p1")
    assert off.status_code == 404
    assert "No booking page here" in readable(off.text)
    slots = await page_on(people)

    index = await visitor.get("/book")
    assert 'href="/book/p1"' in index.text
    page = await visitor.get("/book/p1", params={"zone": ZONE})
    assert page.status_code == 200, page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert not re.search(r"""(src|action)=["']?(https?:)?//""", page.text)  # nothing from elsewhere
    words = readable(page.text)
    assert "Family practice &lt;b&gt;since&lt;/b&gt; 1990" in page.text  # escaped, never markup
    assert "1 High Street, Springfield" in words
    assert 'href="tel:+15550100"' in page.text
    starts = start_links(page.text)
    assert [time for time, _ in starts] == ["05:00", "05:15", "05:30", "05:45"]
    assert "Wednesday 6 March" in words
    assert [at_of(link) for _, link in starts] == [parse_time(s["timestamp"]) for s in slots]
    await same_starts_as_the_api_for_a_type(people, visitor)

    done = await hold_from_page(visitor, starts[0][1], note="First visit")
    assert done.status_code == 303, done.text
    sent = await visitor.get(done.headers["Location"])
    sent_words = readable(sent.text)
    assert "Check your e-mail" in sent_words
    assert "Monday 4 March 2030 at 04:30 (America/New_York)" in sent_words  # 09:00 UTC + 30 min
    assert "Visitor" not in sent_words  # the page names no one

    (letter,) = await delivered(secure_server, tmp_path, VISITOR)
    assert letter.startswith("Subject: Confirm your booking: Appointment with Dr One")
    found = re.search(rf"{re.escape(PUBLIC)}(/confirm/[A-Za-z0-9_-]+)", letter)
    assert found, letter
    link = found.group(1)

    (mine,) = await taken(people)
    assert mine["status"] == "RESERVED"
    assert mine["clientId"].startswith("web-")  # an opaque id, never the address
    assert "example" not in mine["clientId"].lower()
    assert mine["note"] == "First visit"

    opened = await visitor.get(link)  # as a mail scanner would: nothing changes
    assert opened.status_code == 200
    assert "Confirm your appointment" in readable(opened.text)
    assert [s["status"] for s in await taken(people)] == ["RESERVED"]

    (confirm_form,) = forms_of(opened.text)
    booked = await visitor.post(confirm_form.action, data=confirm_form.fields, headers=OWN)
    assert booked.status_code == 303, booked.text
    after = await visitor.get(booked.headers["Location"])
    assert "This appointment is booked." in readable(after.text)
    assert forms_of(after.text) == []
    assert [s["status"] for s in await taken(people)] == ["CONFIRMED"]

    twice = await visitor.post(confirm_form.action, data=confirm_form.fields, headers=OWN)
    assert twice.status_code == 409  # single-use

    letters = await delivered(secure_server, tmp_path, VISITOR)
    assert len(letters) == 2
    (confirmed,) = [words for words in letters if words.startswith("Subject: Confirmed:")]
    assert f"{PUBLIC}/manage/" in confirmed

    shown = await visitor.get("/book/p1", params={"zone": ZONE})
    assert [time for time, _ in start_links(shown.text)] == ["05:15", "05:30", "05:45"]
    assert "Visitor" not in shown.text


async def test_the_same_address_is_one_client_and_a_token_client_is_never_merged(
    people: People, visitor: httpx.AsyncClient, secure_server: TestServer
) -> None:
    await page_on(people)
    mine = await people["c1"].patch("/me", json={"email": VISITOR.lower()})
    assert mine.status_code == 200, mine.text
    starts = start_links((await visitor.get("/book/p1")).text)
    for _, link in starts[:2]:
        done = await hold_from_page(
            visitor, link, email=VISITOR.upper().replace("EXAMPLE", "example")
        )
        assert done.status_code == 303, done.text
    holds = await taken(people)
    assert len(holds) == 2
    assert len({h["clientId"] for h in holds}) == 1
    assert holds[0]["clientId"] != "c1"


async def test_an_unconfirmed_hold_lapses_and_its_link_says_so(
    people: People,
    visitor: httpx.AsyncClient,
    secure_server: TestServer,
    tmp_path: Path,
    clock: ManualClock,
    db: str,
) -> None:
    await page_on(people)
    first = start_links((await visitor.get("/book/p1")).text)[0][1]
    done = await hold_from_page(visitor, first)
    assert done.status_code == 303
    (letter,) = await delivered(secure_server, tmp_path, VISITOR)
    link = re.search(r"/confirm/[A-Za-z0-9_-]+", letter)
    assert link
    form = forms_of((await visitor.get(link.group(0))).text)[0]
    late = "late@example.com"  # a hold whose letter is still queued when the hold lapses
    second = start_links((await visitor.get("/book/p1")).text)[0][1]
    assert (await hold_from_page(visitor, second, email=late)).status_code == 303
    clock.advance(31 * 60)
    assert await delivered(secure_server, tmp_path, late) == []  # a dead link is not sent
    lapsed = await visitor.get(link.group(0))
    assert "The hold lapsed" in readable(lapsed.text)
    assert forms_of(lapsed.text) == []
    before = dump_database(db)
    refused = await visitor.post(form.action, data=form.fields, headers=OWN)
    assert refused.status_code == 409
    assert dump_database(db) == before
    again = await visitor.get("/book/p1")
    assert len(start_links(again.text)) == 4  # both free again


async def test_two_visitors_racing_for_one_start_get_one_hold_and_a_page_with_the_nearest(
    people: People, secure_server: TestServer
) -> None:
    await page_on(people)
    base = str(secure_server.make_url(""))
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as one,
        httpx.AsyncClient(base_url=base, timeout=60) as two,
    ):
        link = start_links((await one.get("/book/p1")).text)[1][1]
        answers = await asyncio.gather(
            hold_from_page(one, link, email="one@example.com"),
            hold_from_page(two, link, email="two@example.com"),
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [303, 409], [a.text for a in answers]
    lost = next(a for a in answers if a.status_code == 409)
    words = readable(lost.text)
    assert "Just taken" in words
    assert "nothing was held for you" in words
    offered = [time for time, _ in start_links(lost.text)]
    assert offered == ["Wednesday 6 March 2030, 10:00", "Wednesday 6 March 2030, 10:30",
                       "Wednesday 6 March 2030, 10:45"]  # fmt: skip
    assert len(await taken(people)) == 1


@pytest.mark.parametrize(
    ("change", "headers", "status", "says"),
    [
        ({}, {"Origin": "https://evil.example"}, 403, "another web site"),
        ({}, {"Sec-Fetch-Site": "cross-site"}, 403, "another web site"),
        ({"website": "http://spam.example"}, OWN, 422, "programs"),
        ({"email": "not an address"}, OWN, 422, "not an e-mail address"),
        ({"name": ""}, OWN, 422, "Your name"),
    ],
)
async def test_a_refused_form_says_why_and_changes_nothing(
    people: People,
    visitor: httpx.AsyncClient,
    db: str,
    change: dict[str, str],
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    await page_on(people)
    link = start_links((await visitor.get("/book/p1")).text)[0][1]
    form = forms_of((await visitor.get(link)).text)[0]
    before = dump_database(db)
    data = {**form.fields, "name": "Visitor One", "email": VISITOR, **change}
    refused = await visitor.post(form.action, data=data, headers=headers)
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert says in readable(refused.text)
    assert "Traceback" not in refused.text
    assert dump_database(db) == before


async def test_page_holds_and_sends_are_limited_per_address_and_per_email(
    people: People, visitor: httpx.AsyncClient, db: str, secure_server: TestServer
) -> None:
    await page_on(people)
    starts = start_links((await visitor.get("/book/p1")).text)
    for n, (_, link) in enumerate(starts[:3]):
        done = await hold_from_page(visitor, link, email=f"v{n}@example.com")
        assert done.status_code == 303, done.text
    await secure_server.app[CONTEXT].mail.deliver_due()  # nothing changes behind the test's back
    before = dump_database(db)
    fourth = await hold_from_page(visitor, starts[3][1], email="v9@example.com")
    assert fourth.status_code == 429
    assert "from your network address" in readable(fourth.text)
    assert dump_database(db) == before
    # Sending is limited too: six forms an hour from one address, whatever they hold.
    for _ in range(2):
        await hold_from_page(visitor, starts[3][1], email="v9@example.com")
    throttled = await hold_from_page(visitor, starts[3][1], email="v9@example.com")
    assert throttled.status_code == 429
    assert "Too many booking forms" in readable(throttled.text)
    assert "Retry-After" in throttled.headers


async def test_a_client_with_a_token_books_at_once_and_a_bad_token_books_nothing(
    people: People, visitor: httpx.AsyncClient, db: str
) -> None:
    await page_on(people)
    link = start_links((await visitor.get("/book/p1")).text)[0][1]
    with_token = forms_of((await visitor.get(link)).text)[1]
    assert with_token.button == "Book with my token"
    before = dump_database(db)
    for token, status, says in [
        ("sb_nothing", 403, "That token did not work"),
        (people.tokens["p2"], 403, "token books an appointment for itself"),
    ]:
        refused = await visitor.post(
            with_token.action, data={**with_token.fields, "token": token}, headers=OWN
        )
        assert refused.status_code == status, refused.text
        assert says in readable(refused.text)
    assert dump_database(db) == before
    booked = await visitor.post(
        with_token.action,
        data={**with_token.fields, "token": people.tokens["c1"], "note": "By token"},
        headers=OWN,
    )
    assert booked.status_code == 200, booked.text
    assert "This time is booked." in readable(booked.text)
    (mine,) = await taken(people)
    assert (mine["status"], mine["clientId"], mine["note"]) == ("CONFIRMED", "c1", "By token")
