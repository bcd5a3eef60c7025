"""The refresher reads providers' calendars from real servers and their busy times close slots,
on both stores: an iCalendar URL served by an aiohttp server in the test (a weekly event busy, a
transparent one not; an unchanged calendar answered 304 through its ETag; a malformed one said so
in the source's status while the last good busy times stay), and a CalDAV calendar in Radicale
behind a password sealed with the server's key (a server stopped mid-way, a wrong password: the
status says why, the busy times stay). Sources are written straight to the store here; their
HTTP API is tests/backend/test_busy_sources_api.py's."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT, AppContext
from backend.runtime.secret_box import new_key
from backend.runtime.settings import Settings
from backend.store.busy_records import BusySource, SourceKind
from tests.backend.test_busy_intervals import AT, listed
from tests.backend.test_calendar_feeds import open_morning
from tests.helpers import People
from tests.radicale_server import PASSWORD, USER, CalendarServer

PERIOD = 15 * 60


@pytest.fixture
def secure_settings(db: str, tmp_path: Path) -> Settings:
    return Settings(
        db=db, rate=0, mail_dir=str(tmp_path / "mail"), allow_private_addresses=True,
        secret_key=new_key(),
    )  # fmt: skip


def ics(*events: str) -> str:
    return "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//busy//EN", *events, "END:VCALENDAR"]
    )


def event(uid: str, start: str, end: str, *more: str) -> str:
    return "\r\n".join(
        ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20300101T000000Z", f"DTSTART:{start}",
         f"DTEND:{end}", *more, "END:VEVENT"]
    )  # fmt: skip


DENTIST = event("dentist", "20300306T101500Z", "20300306T104500Z", "RRULE:FREQ=WEEKLY")
"""Wednesdays 10:15-10:45 UTC, from DAY on."""
LUNCH_IDEA = event("idea", "20300306T100000Z", "20300306T101500Z", "TRANSP:TRANSPARENT")
"""A note in the calendar that does not make anyone busy."""


@dataclass
class IcsServer:
    """An iCalendar URL, as Google's or Outlook's secret address: GET with ETag and 304; or,
    while `broken` names a status, that error."""

    body: str = ""
    answered: list[int] = field(default_factory=list)
    gate: asyncio.Event | None = None
    """When set, requests wait for it before they are answered."""
    arrived: int = 0
    broken: int | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.arrived += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.broken is not None:
            self.answered.append(self.broken)
            return web.Response(status=self.broken, text="the calendar server is unwell")
        tag = '"' + hashlib.sha256(self.body.encode()).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == tag:
            self.answered.append(304)
            return web.Response(status=304, headers={"ETag": tag})
        self.answered.append(200)
        return web.Response(text=self.body, content_type="text/calendar", headers={"ETag": tag})


@pytest.fixture
async def ics_server() -> AsyncIterator[tuple[IcsServer, str]]:
    served = IcsServer()
    app = web.Application()
    app.router.add_get("/p1.ics", served.handle)
    server = TestServer(app)
    await server.start_server()
    yield served, str(server.make_url("/p1.ics"))
    await server.close()


def source(ctx: AppContext, kind: SourceKind, url: str, password: str | None = None) -> BusySource:
    now = ctx.now()
    box = ctx.settings.secret_box
    assert box is not None
    return BusySource(
        source_id="s1", provider_id="p1", name="Personal", kind=kind, url=url,
        username=USER if password else None,
        password_sealed=box.seal(password) if password else None,
        refresh_minutes=15, all_day_events="busy", created_at=now, updated_at=now, due_at=now,
    )  # fmt: skip


async def refresh(ctx: AppContext, source_id: str = "s1") -> BusySource:
    ctx.clock.advance(PERIOD)  # type: ignore[attr-defined]
    await ctx.busy.refresh_due()  # (or the server's own round got there first: one refresh)
    found = await ctx.store.find_busy_source(source_id)
    assert found is not None
    return found


async def failing_sources(people: People) -> float:
    """What /metrics says of failing sources."""
    metrics = await people["admin"].get("/metrics")
    assert metrics.status_code == 200, metrics.text
    failing = 'slotbook_busy_sources{state="failing"}'
    (line,) = [row for row in metrics.text.splitlines() if row.startswith(failing)]
    return float(line.split()[-1])


async def test_an_ics_calendar_closes_its_busy_times_and_is_read_again_only_when_changed(
    people: People, secure_server: TestServer, ics_server: tuple[IcsServer, str]
) -> None:
    ctx = secure_server.app[CONTEXT]
    served, url = ics_server
    served.body = ics(DENTIST, LUNCH_IDEA)
    await open_morning(people)
    await ctx.store.create_busy_source(source(ctx, "ics", url))
    first = await refresh(ctx)
    assert (first.last_error, first.failures) == (None, 0)
    assert await listed(people) == [AT["10:00"], AT["10:45"]]

    again = await refresh(ctx)
    assert served.answered.count(200) == 1  # unchanged: not read again, busy times stand
    assert served.answered[-1] == 304
    assert again.busy_intervals == first.busy_intervals
    assert await listed(people) == [AT["10:00"], AT["10:45"]]

    served.body = "BEGIN:VCALENDAR\r\nthis is not a calendar\r\n"
    broken = await refresh(ctx)
    assert broken.failures == 1
    assert broken.last_error
    assert "Traceback" not in broken.last_error
    assert await listed(people) == [AT["10:00"], AT["10:45"]]  # the last good ones in force

    served.body = ics(LUNCH_IDEA)  # the dentist is cancelled
    mended = await refresh(ctx)
    assert (mended.failures, mended.last_error, mended.busy_intervals) == (0, None, 0)
    assert await listed(people) == [AT["10:00"], AT["10:15"], AT["10:30"], AT["10:45"]]


async def test_a_caldav_calendar_behind_a_password_and_what_its_failures_say(
    people: People, secure_server: TestServer, radicale: CalendarServer
) -> None:
    ctx = secure_server.app[CONTEXT]
    calendar = radicale.calendar()
    radicale.put(calendar, "meeting", ics(event("meeting", "20300306T100000Z", "20300306T103000Z")))
    await open_morning(people)
    await ctx.store.create_busy_source(source(ctx, "caldav", calendar, PASSWORD))
    first = await refresh(ctx)
    assert (first.last_error, first.busy_intervals) == (None, 1)
    assert await listed(people) == [AT["10:30"], AT["10:45"]]

    with radicale.stopped():
        down = await refresh(ctx)
        assert await failing_sources(people) == 0.0  # one failure is not yet failing
        for _ in range(3):  # three periods without success
            await refresh(ctx)
        assert await failing_sources(people) == 1.0
    assert down.failures == 1
    assert down.last_error is not None
    assert "could not connect" in down.last_error
    assert PASSWORD not in down.last_error
    assert await listed(people) == [AT["10:30"], AT["10:45"]]  # kept while it is away

    await ctx.store.delete_busy_source("s1", ctx.now())
    await ctx.store.create_busy_source(source(ctx, "caldav", calendar, "not the password"))
    refused = await refresh(ctx)
    assert refused.last_error is not None
    assert "refused the user name and password" in refused.last_error


async def until(condition: Callable[[], bool]) -> None:
    """Wait (for another task's progress, not for time to pass) until the condition holds."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - no event marks those moments
            await asyncio.sleep(0.01)


SID = "5eed5eed5eed5eed"


async def test_a_calendar_is_read_on_request_once_however_many_ask_and_never_for_an_old_address(
    people: People, secure_server: TestServer, ics_server: tuple[IcsServer, str]
) -> None:
    ctx = secure_server.app[CONTEXT]
    served, url = ics_server
    served.body = ics(DENTIST)
    await open_morning(people)
    await ctx.store.create_busy_source(
        replace(source(ctx, "ics", url), source_id=SID, due_at=ctx.now() + PERIOD)
    )
    refresh_path = f"/providers/p1/busy-sources/{SID}/refresh"

    read = await people["p1"].post(refresh_path)
    assert read.status_code == 200, read.text
    status = read.json()["source"]["status"]
    assert status["lastError"] is None
    assert status["events"] == status["busyIntervals"] > 50  # a weekly event, a year ahead
    assert served.answered == [200]
    assert await listed(people) == [AT["10:00"], AT["10:45"]]

    # A read under way (the background's) and two requests: the calendar is read once.
    served.body, served.gate = ics(), asyncio.Event()  # the dentist is cancelled
    ctx.clock.advance(PERIOD)  # type: ignore[attr-defined]
    background = asyncio.create_task(ctx.busy.refresh_due())
    await until(lambda: served.arrived == 2)
    asking = [asyncio.create_task(people[who].post(refresh_path)) for who in ("p1", "admin")]
    await until(lambda: ctx.busy.waiting == 2)
    served.gate.set()
    answers = await asyncio.gather(*asking)
    assert await background == 1
    assert served.answered == [200, 200]
    assert [a.json()["source"]["status"]["busyIntervals"] for a in answers] == [0, 0]
    assert await listed(people) == [AT["10:00"], AT["10:15"], AT["10:30"], AT["10:45"]]

    # The address changes while a read is under way: what the old address gave is not kept.
    served.body, served.gate = ics(DENTIST), asyncio.Event()
    ctx.clock.advance(PERIOD)  # type: ignore[attr-defined]
    background = asyncio.create_task(ctx.busy.refresh_due())
    await until(lambda: served.arrived == 3)
    moved = await people["p1"].patch(
        f"/providers/p1/busy-sources/{SID}", json={"url": url.replace("http://", "webcal://")}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["source"]["url"] == url.replace("http://", "https://")
    served.gate.set()
    await background
    kept = await ctx.store.find_busy_source(SID)
    assert kept is not None
    assert kept.busy_intervals == 0  # not the dentist the old address gave
    assert kept.last_error is not None  # the new address was read at once (it speaks no TLS)
    assert "secure connection" in kept.last_error
    assert await listed(people) == [AT["10:00"], AT["10:15"], AT["10:30"], AT["10:45"]]

    gone = await people["p1"].post("/providers/p1/busy-sources/0123456789abcdef/refresh")
    assert gone.status_code == 404
    assert gone.json()["type"].endswith("busy-source-not-found")
