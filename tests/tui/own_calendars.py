"""A provider's own calendars for terminal-app tests: a calendar whose reads are written straight
to the running server's store, as its refresher writes them (so that what the app shows does not
wait on a fetch, and stays put: the calendar is next due a day after the frozen clock), and an
iCalendar address served by a real aiohttp server in the test, for the refresher to read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from aiohttp.test_utils import TestServer

from backend.store.busy_records import BusySource, Refreshed
from shared.timefmt import parse_time
from tests.backend.test_busy_refresh import IcsServer
from tests.tui.harness import BackendThread

DAY = 86_400


def at(text: str) -> int:
    return int(parse_time(text))


def connected(
    backend: BackendThread,
    provider_id: str,
    source_id: str,
    name: str,
    busy: list[tuple[str, str]],
    *,
    read_at: float | None = None,
    error: str | None = None,
) -> None:
    """A calendar of the provider's, read with these busy times (UTC wall times) at `read_at`
    (the clock's now unless given); with `error`, a read at the clock's now that failed since."""
    ctx, now = backend.context, backend.clock.now()
    source = BusySource(
        source_id=source_id, provider_id=provider_id, name=name, kind="ics",
        url=f"https://calendar.example.org/{provider_id}/{name.lower()}.ics", username=None,
        password_sealed=None, refresh_minutes=15, all_day_events="busy",
        created_at=read_at or now, updated_at=read_at or now, due_at=now + DAY,
    )  # fmt: skip
    intervals = [(at(start), at(end)) for start, end in busy]
    good = Refreshed(intervals, len(intervals), None, None, None, now + DAY)
    backend.run(lambda: ctx.store.create_busy_source(source))
    backend.run(lambda: ctx.store.record_busy_refresh(source_id, good, read_at or now))
    if error is not None:
        bad = Refreshed(None, None, error, None, None, now + DAY)
        backend.run(lambda: ctx.store.record_busy_refresh(source_id, bad, now))


@dataclass
class IcsAddress(IcsServer):
    """The calendar, with its ETag; or, while `refusing`, 401, as a calendar that no longer
    takes its login."""

    url: str = ""
    refusing: bool = False

    async def handle(self, request: web.Request) -> web.Response:
        if self.refusing:
            self.answered.append(401)
            return web.Response(status=401, text="Unauthorized")
        return await super().handle(request)


@asynccontextmanager
async def ics_address(body: str) -> AsyncIterator[IcsAddress]:
    """The address served on loopback from the test's own event loop."""
    served = IcsAddress(body=body)
    app = web.Application()
    app.router.add_get("/personal.ics", served.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    served.url = str(server.make_url("/personal.ics"))
    try:
        yield served
    finally:
        await server.close()
