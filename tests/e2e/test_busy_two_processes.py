"""A provider's calendars read by two server processes over one PostgreSQL database: each
calendar is read once however many processes refresh (the lease is taken once across them), and
the busy times one process read close the slot in the listings of both. An iCalendar address
served by an aiohttp server in the test; the wall clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.timefmt import format_time
from tests.e2e.test_two_processes import (
    HOUR,
    bearer,
    first_day,
    make_token,
    open_window,
    two_servers,
)
from tests.postgres_server import PostgresForTests

CALENDARS = 6
QUARTER = 900


def calendar(n: int, start: int) -> str:
    """Calendar n has its owner busy for the n-th quarter hour from `start`."""

    def utc(at: int) -> str:
        return format_time(at).replace("-", "").replace(":", "").replace(" ", "T") + "Z"

    begins = start + n * QUARTER
    return "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//two//EN", "BEGIN:VEVENT",
        f"UID:busy-{n}", "DTSTAMP:20300101T000000Z", f"DTSTART:{utc(begins)}",
        f"DTEND:{utc(begins + QUARTER)}", "END:VEVENT", "END:VCALENDAR",
    ])  # fmt: skip


@pytest.fixture
async def calendars() -> AsyncIterator[tuple[TestServer, Counter[str]]]:
    """Calendars 0..CALENDARS-1 at /c{n}.ics, and how often each was asked for."""
    asked: Counter[str] = Counter()
    start = first_day() + 9 * HOUR

    async def serve(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        asked[request.path] += 1
        return web.Response(text=calendar(n, start), content_type="text/calendar")

    app = web.Application()
    app.router.add_get("/c{n:[0-9]+}.ics", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, asked
    await server.close()


async def test_two_processes_read_each_calendar_once_and_both_list_around_it(
    postgres: PostgresForTests, calendars: tuple[TestServer, Counter[str]]
) -> None:
    served, asked = calendars
    start = first_day() + 9 * HOUR
    async with two_servers(postgres, flags=("--allow-private-addresses",)) as two:
        provider = await make_token(two.a, two.admin, "provider", "p1")
        await open_window(two.a, provider, start, start + 2 * HOUR)
        window = {"startTime": format_time(start), "endTime": format_time(start + 2 * HOUR)}

        async def free(http: httpx.AsyncClient) -> list[str]:
            answer = await http.get(
                "/availability", params={**window, "providerId": "p1"}, headers=bearer(provider)
            )
            assert answer.status_code == 200, answer.text
            return [slot["timestamp"] for slot in answer.json()["availableTimeSlots"]]

        every = [format_time(start + q * QUARTER) for q in range(8)]
        assert [await free(two.a), await free(two.b)] == [every, every]  # (each caches them)
        sources = "/providers/p1/busy-sources"
        for n in range(CALENDARS):  # added through each process in turn
            made = await (two.a, two.b)[n % 2].post(
                sources,
                json={
                    "name": f"Calendar {n}",
                    "kind": "ics",
                    "url": str(served.make_url(f"/c{n}.ics")),
                },
                headers=bearer(provider),
            )
            assert made.status_code == 201, made.text
        for _ in range(300):  # until both refreshers have read them all (each wakes on its own
            listed = (await two.b.get(sources, headers=bearer(provider))).json()["sources"]
            if all(s["status"]["lastSyncAt"] for s in listed):  # adds, or polls every 5 s)
                break
            await asyncio.sleep(0.05)
        assert [(s["status"]["lastError"], s["status"]["busyIntervals"]) for s in listed] == [
            (None, 1)
        ] * CALENDARS
        assert asked == Counter({f"/c{n}.ics": 1 for n in range(CALENDARS)})

        assert [await free(two.a), await free(two.b)] == [every[CALENDARS:]] * 2

        again = await two.a.post(
            f"{sources}/{listed[0]['sourceId']}/refresh", headers=bearer(provider)
        )
        assert again.status_code == 200, again.text
        assert asked["/c0.ics"] == 2
