"""A real slotbook server for terminal-app tests: the aiohttp app on a real SQLite file, served
from a thread with its own event loop, so that the app under test (in the test's loop, or in the
loop snapshot tests start) talks to it over real HTTP. Time is a ManualClock both sides share."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from aiohttp import web
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Static

from backend.api.context import CONTEXT, AppContext
from backend.app import create_app
from backend.gate.tokens import issue
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from shared.timefmt import format_time
from tests.helpers import TLS
from tui.app import SlotbookApp
from tui.backends import Connection
from tui.identities import IdentityStore

T = TypeVar("T")


class BackendThread:
    """Start, stop and restart (on the same port) a real server in a background thread."""

    def __init__(self, db: Path, clock: ManualClock, **settings: Any) -> None:
        self.db = db
        self.clock = clock
        self.settings = Settings(**{"db": str(db), "rate": 0, **settings})
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(make(), self._loop)
        return future.result(timeout=30)

    async def run_async(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a coroutine on the server's loop and await it from the caller's loop, which keeps
        running meanwhile (the server may be talking to something the caller's loop serves)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(make(), self._loop))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        async def start() -> None:
            app = create_app(self.settings, clock=self.clock)
            self._runner = web.AppRunner(app, shutdown_timeout=1)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            await site.start()
            for address in self._runner.addresses:
                self.port = int(address[1])

        self.run(start)
        return self.url

    def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            self.run(runner.cleanup)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def issue(self, role: str, subject: str | None, name: str) -> str:
        """A new token, made straight in the store (as `slotbook-server token create` would)."""
        assert self._runner is not None
        store = self._runner.app[CONTEXT].store
        new, record = issue(role, subject, name, self.clock.now())  # type: ignore[arg-type]
        self.run(lambda: store.create_token(record, new.secret_hash))
        return new.token

    def sweep(self) -> int:
        assert self._runner is not None
        sweeper = self._runner.app[CONTEXT].sweeper
        return self.run(sweeper.sweep_once)

    @property
    def context(self) -> AppContext:
        """The running server's own parts (its store, its refresher), for what a test sets up
        beneath the API; run their coroutines with `run`."""
        assert self._runner is not None
        return self._runner.app[CONTEXT]

    def http(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            verify=TLS,
        )


def window(http: httpx.Client, start: float, end: float) -> list[dict[str, Any]]:
    """Submit availability [start, end) with a provider's client; the created slots."""
    response = http.post(
        "/availability", json={"startTime": format_time(start), "endTime": format_time(end)}
    )
    assert response.status_code in (200, 201), response.text
    slots: list[dict[str, Any]] = response.json()["timeSlots"]
    return slots


class StaticBackend:
    """The app's Backend for tests: a server that is already running."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.stopped = False

    async def start(self) -> Connection:
        return self.connection

    async def recover(self) -> str | None:
        return None

    async def stop(self) -> None:
        self.stopped = True


def app_for(
    backend: BackendThread,
    *,
    token: str | None = None,
    admin_token: str | None = None,
    identities: Path | None = None,
    zone: str = "UTC",
    zone_chosen: bool = False,
    demo: bool = False,
    theme: str | None = None,
    preferences: Path | None = None,
    identity: str | None = None,
) -> SlotbookApp:
    """The terminal app, on the frozen clock, talking to this server. `zone` is the machine's,
    or with `zone_chosen` the one the user named (--tz)."""
    connection = Connection(
        base_url=backend.url,
        label="test server",
        token=token,
        admin_token=admin_token,
        identities=IdentityStore(identities) if identities is not None else None,
    )
    return SlotbookApp(
        StaticBackend(connection),
        zone=ZoneInfo(zone),
        zone_chosen=zone_chosen,
        clock=backend.clock.now,
        demo=demo,
        theme=theme,
        preferences=preferences,
        identity=identity,
    )


def heading_and_info(listed: Screen[Any]) -> tuple[str, str]:
    """What a list screen's heading and the line under its table say."""
    return (
        str(listed.query_one("#heading", Static).render()),
        str(listed.query_one("#info", Static).render()),
    )


def key_bar_shows(screen: Screen[Any], key: str) -> bool:
    """Whether the key bar at the bottom offers this key."""
    active = screen.active_bindings.get(key)
    return active is not None and active.binding.show and active.enabled


def first_columns(listed: Screen[Any], count: int = 3) -> list[list[str]]:
    """The first `count` cells of each row of a list screen's table."""
    table = listed.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)][:count] for i in range(table.row_count)]


async def shows_the_last_known(
    listed: Screen[Any],
    pilot: Pilot[None],
    backend: BackendThread,
    heading: str,
    rows: list[list[str]],
) -> None:
    """A list screen opened at 09:00 with the server away shows `rows` (their first three cells)
    under `heading` marked as not current, says why, and offers r in the key bar; a minute later,
    r tries again and the list stays."""
    await until(lambda: "Could not load" in heading_and_info(listed)[1], pilot.pause)
    assert first_columns(listed) == rows
    shown, said = heading_and_info(listed)
    assert shown == f"{heading} · as last known, not current"
    assert said.startswith(f"Could not load at 09:00:00: {backend.url} did not answer:")
    assert said.endswith("connection refused. It loads again when the server is back; r tries now.")
    assert key_bar_shows(listed, "r")
    backend.clock.advance(60)
    await pilot.press("r")  # still away: tried again, still the last known list
    await until(lambda: "at 09:01:00" in heading_and_info(listed)[1], pilot.pause)
    assert first_columns(listed) == rows


async def until(condition: Callable[[], bool], pause: Callable[[], Awaitable[None]]) -> None:
    """Let the app run until `condition` holds (at most ~10 s of its time)."""
    for _ in range(1000):
        if condition():
            return
        await pause()
    raise AssertionError("the app never got there")
