"""The manage link a client's e-mail carries, over real HTTP on both stores: the page shows the
appointment in the client's zone; its Cancel and Reschedule forms do the API's cancel and move
(and queue the same mail); a form from another site, or without the page's token, changes
nothing; a stale link says what happened; unknown links are 404 and guessing is throttled; and a
text browser (w3m) reads the page."""

from __future__ import annotations

import mailbox
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from shared.timefmt import parse_time
from tests.backend.test_calendar_feeds import DAY, confirm, hold, open_morning
from tests.backend.test_mail_queue import listed, set_email
from tests.helpers import People, dump_database
from tests.text_browser import w3m_dump

PUBLIC = "https://book.example.org"
CLIENT = "client@example.com"
ZONE = "America/New_York"
"""The client's zone: 10:00 UTC on DAY is 05:00 there."""


@pytest.fixture
def secure_settings(db: str, tmp_path: Path) -> Settings:
    return Settings(db=db, rate=0, public_url=PUBLIC, mail_dir=str(tmp_path / "mail"))


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    button: str = ""


class Forms(HTMLParser):
    """The page's forms: where each posts, its hidden fields, and its button's words."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(named["action"]))
        elif tag == "input" and self.forms:
            self.forms[-1].fields[named["name"]] = named["value"]
        elif tag == "button":
            self._in_button = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._in_button and self.forms:
            self.forms[-1].button += data.strip()


def forms_of(html: str) -> list[Form]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def words_of(letter: Message) -> str:
    """A letter's plain-text part, decoded."""
    part = next(p for p in letter.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


@dataclass
class Booked:
    path: str
    """`/manage/<secret>`."""
    slots: list[dict[str, Any]]


async def book_and_mail(people: People, server: TestServer, tmp_path: Path) -> Booked:
    """c1 (with an address, in New York) books p1's 10:00 on DAY; the confirmation is delivered
    to the Maildir, and the manage link is read from its words."""
    await set_email(people, "c1", CLIENT, ZONE)
    slots = await open_morning(people)
    await hold(people, "c1", slots[0])
    await confirm(people, "c1", slots[0])
    await server.app[CONTEXT].mail.deliver_due()
    box = mailbox.Maildir(tmp_path / "mail", create=False)
    (letter,) = [m for m in box if CLIENT in str(m["To"])]
    words = words_of(letter)
    found = re.search(rf"{re.escape(PUBLIC)}(/manage/[A-Za-z0-9_-]+)", words)
    assert found, words
    return Booked(found.group(1), slots)


@pytest.fixture
async def booked(people: People, secure_server: TestServer, tmp_path: Path) -> Booked:
    return await book_and_mail(people, secure_server, tmp_path)


@pytest.fixture
async def browser(secure_server: TestServer) -> AsyncIterator[httpx.AsyncClient]:
    """Someone with the link and no token."""
    async with httpx.AsyncClient(base_url=str(secure_server.make_url("")), timeout=60) as client:
        yield client


def readable(html: str) -> str:
    """The page's words, one space between them."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&ndash;", "–").split())


async def test_the_page_shows_the_appointment_in_the_clients_zone(
    booked: Booked, browser: httpx.AsyncClient
) -> None:
    page = await browser.get(booked.path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "form-action 'self'" in csp
    assert page.headers["Referrer-Policy"] in {"no-referrer", "same-origin"}
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script" not in page.text
    assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", page.text)  # no other host
    assert '<meta name="viewport"' in page.text
    words = readable(page.text)
    assert "Dr One" in words
    assert f"Wednesday 6 March 2030, 05:00–05:15 ({ZONE})" in words
    assert "15 minutes" in words
    forms = forms_of(page.text)
    assert forms[0].action == f"{booked.path}/cancel"
    starts = [f.button for f in forms[1:]]
    assert starts == ["05:15", "05:30", "05:45"]  # the rest of p1's morning, in New York's time
    assert all(f.action == f"{booked.path}/move" for f in forms[1:])


async def test_cancel_by_the_form_cancels_and_queues_the_cancellation(
    booked: Booked, browser: httpx.AsyncClient, people: People
) -> None:
    page = await browser.get(booked.path)
    cancel = forms_of(page.text)[0]
    done = await browser.post(cancel.action, data=cancel.fields)
    assert done.status_code == 303, done.text
    assert done.headers["Location"] == f"{booked.path}?done=cancelled"
    after = await browser.get(done.headers["Location"])
    words = readable(after.text)
    assert "Your appointment is cancelled." in words
    assert f"This appointment was cancelled on Monday 4 March 2030 at 04:00 ({ZONE})." in words
    assert forms_of(after.text) == []  # nothing left to do
    assert ("cancellation", CLIENT) in {
        (n["kind"], n["recipient"]) for n in await listed(people, "c1")
    }
    free = await people["c1"].get(
        "/availability",
        params={"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:59:00", "providerId": "p1"},
    )
    assert booked.slots[0]["timeSlotId"] in {
        s["timeSlotId"] for s in free.json()["availableTimeSlots"]
    }


async def test_reschedule_to_a_listed_start_moves_the_appointment(
    booked: Booked, browser: httpx.AsyncClient, people: People
) -> None:
    page = await browser.get(booked.path)
    to_half_past = next(f for f in forms_of(page.text) if f.button == "05:30")
    done = await browser.post(to_half_past.action, data=to_half_past.fields)
    assert done.status_code == 303, done.text
    after = await browser.get(done.headers["Location"])
    words = readable(after.text)
    assert "Your appointment has been moved." in words
    assert f"Wednesday 6 March 2030, 05:30–05:45 ({ZONE})" in words
    mine = (await people["c1"].get("/reservations")).json()["reservations"]
    assert [(r["timestamp"], r["status"]) for r in mine] == [(f"{DAY} 10:30:00", "CONFIRMED")]
    assert "update" in {n["kind"] for n in await listed(people, "c1")}
    again = await browser.post(to_half_past.action, data=to_half_past.fields)
    assert again.status_code == 403  # the page it came from is out of date: nothing repeats


@pytest.mark.parametrize(
    ("headers", "forged"),
    [
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null"}, False),
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({}, True),
    ],
)
async def test_a_form_from_another_site_is_refused_and_changes_nothing(
    booked: Booked,
    browser: httpx.AsyncClient,
    db: str,
    headers: dict[str, str],
    forged: bool,
) -> None:
    page = await browser.get(booked.path)
    forms = forms_of(page.text)
    before = dump_database(db)
    for form in (forms[0], forms[1]):
        data = {**form.fields, "token": "0" * 64} if forged else form.fields
        refused = await browser.post(form.action, data=data, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("text/html")
        assert (
            "Nothing was changed" in readable(refused.text) or "nothing was changed" in refused.text
        )
        assert "Traceback" not in refused.text
    assert dump_database(db) == before


async def test_the_same_site_at_its_public_address_is_let_in(
    booked: Booked, browser: httpx.AsyncClient
) -> None:
    page = await browser.get(booked.path)
    cancel = forms_of(page.text)[0]
    done = await browser.post(
        cancel.action,
        data=cancel.fields,
        headers={"Origin": PUBLIC, "Sec-Fetch-Site": "same-origin"},
    )
    assert done.status_code == 303, done.text


async def test_once_it_has_started_the_link_can_no_longer_change_it(
    booked: Booked, browser: httpx.AsyncClient, clock: ManualClock, db: str
) -> None:
    cancel = forms_of((await browser.get(booked.path)).text)[0]
    clock.set(parse_time(f"{DAY} 10:05:00"))
    page = await browser.get(booked.path)
    assert "This appointment has started; it can no longer be changed." in readable(page.text)
    assert forms_of(page.text) == []
    before = dump_database(db)
    refused = await browser.post(cancel.action, data=cancel.fields)
    assert refused.status_code == 409
    assert "it can no longer be changed" in readable(refused.text)
    assert dump_database(db) == before
    clock.set(parse_time(f"{DAY} 11:00:00"))
    page = await browser.get(booked.path)
    assert "This appointment has passed; it can no longer be changed." in readable(page.text)


async def test_a_move_inside_the_notice_period_shows_the_stores_reason(
    booked: Booked, browser: httpx.AsyncClient, clock: ManualClock, db: str
) -> None:
    offered = forms_of((await browser.get(booked.path)).text)[1]  # drawn two days ahead
    clock.set(parse_time(f"{DAY} 08:00:00"))  # two hours to go: inside the notice period
    assert forms_of((await browser.get(booked.path)).text)[1:] == []  # no start offered now
    before = dump_database(db)
    refused = await browser.post(offered.action, data=offered.fields)
    assert refused.status_code == 422, refused.text
    words = readable(refused.text)
    assert "notice" in words
    assert "Nothing was changed." in words
    assert dump_database(db) == before


async def test_an_unknown_link_is_404_and_guessing_is_throttled(
    booked: Booked, browser: httpx.AsyncClient, clock: ManualClock, secure_server: TestServer
) -> None:
    unknown = await browser.get("/manage/" + "A" * 32)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
    assert "This link is not valid" in unknown.text
    for n in range(9):
        assert (await browser.get(f"/manage/guess{n:027d}")).status_code == 404
    throttled = await browser.get(f"/manage/guess{10:027d}")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert (await browser.get(booked.path)).status_code == 429  # a guesser's lucky hit too
    other_address = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(
        base_url=str(secure_server.make_url("")), transport=other_address
    ) as someone_else:
        assert (await someone_else.get(booked.path)).status_code == 200  # not throttled
    clock.advance(60)
    assert (await browser.get(booked.path)).status_code == 200


async def test_w3m_reads_the_page(booked: Booked, browser: httpx.AsyncClient) -> None:
    shown = await w3m_dump((await browser.get(booked.path)).content, columns=60)
    assert "Dr One" in shown
    assert "05:00" in shown
    assert ZONE in shown
    assert "Cancel this appointment" in shown
    assert "Reschedule" in shown
    assert all(start in shown for start in ("05:15", "05:30", "05:45"))
