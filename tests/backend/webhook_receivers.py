"""Webhook receivers on local ports, for the webhook tests: each keeps what it got and checks it
with the `standardwebhooks` library, as a real receiver would; and the calls those tests share."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook

from backend.api.context import CONTEXT
from backend.runtime.clock import ManualClock
from shared.grid import align_down
from shared.timefmt import format_time
from tests.helpers import People

Handler = Callable[[web.Request], Awaitable[web.Response]]

WAIT = 10.0
"""The longest a test waits for a delivery to arrive (it arrives in milliseconds)."""


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver on a local port: answers each POST with the next of `answers` (then
    200), and keeps what it got."""

    answers: list[int] = field(default_factory=list)
    got: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append(Received(dict(request.headers), await request.read()))
        self.arrived.set()
        status = self.answers.pop(0) if self.answers else 200
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": "http://example.org/"})
        return web.Response(status=status)

    async def wait_for(self, count: int) -> None:
        """Until `count` deliveries have arrived."""
        async with asyncio.timeout(WAIT):
            while len(self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()

    async def wait_for_changes(self, count: int) -> None:
        """Until batches of `count` changes in all have arrived."""
        async with asyncio.timeout(WAIT):
            while sum(len(json.loads(r.body)["changes"]) for r in self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every delivery, checked with the Standard Webhooks library and parsed. The library's
        verify also refuses a timestamp five minutes from the wall clock; a delivery made after a
        test moved the server's clock by more has its signature checked by the library's own
        signing instead."""
        checked = []
        for r in self.got:
            sent_at = int(r.headers["webhook-timestamp"])
            if abs(sent_at - time.time()) < 240:
                checked.append(Webhook(secret).verify(r.body, r.headers))
                continue
            expected = Webhook(secret).sign(
                r.headers["webhook-id"], datetime.fromtimestamp(sent_at, UTC), r.body.decode()
            )
            assert r.headers["webhook-signature"] == expected
            checked.append(json.loads(r.body))
        return checked

    def changes(self, secret: str) -> list[dict[str, Any]]:
        """Every change delivered, in the order they arrived, out of the batches they came in
        (each checked as `verified` does)."""
        found: list[dict[str, Any]] = []
        for delivery in self.verified(secret):
            assert delivery["type"] == "changes"
            assert 1 <= len(delivery["changes"]) <= 100
            found.extend(delivery["changes"])
        return found


@asynccontextmanager
async def serving(path: str, handler: Handler) -> AsyncIterator[str]:
    """Answer POSTs to `path` (a route, `{n}` and all) with `handler` on a port of 127.0.0.1
    while the block runs; the block gets the server's address, without a path."""
    app = web.Application()
    app.router.add_post(path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@asynccontextmanager
async def listening(got: Receiver) -> AsyncIterator[Receiver]:
    """Serve `got` at http://127.0.0.1:<port>/hook while the block runs."""
    async with serving("/hook", got.handle) as address:
        got.url = f"{address}/hook"
        yield got


async def open_slots(
    people: People, clock: ManualClock, count: int = 4, who: str = "p1"
) -> list[dict[str, Any]]:
    """`count` slots of `who`'s, two days ahead."""
    start = align_down(clock.now() + 2 * 86_400, 900)
    made = await people[who].post(
        "/availability",
        json={"startTime": format_time(start), "endTime": format_time(start + count * 900)},
    )
    assert made.status_code == 201, made.text
    slots: list[dict[str, Any]] = made.json()["timeSlots"]
    return slots


async def reserve(people: People, who: str, slot: dict[str, Any]) -> None:
    held = await people[who].post(
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
    )
    assert held.status_code == 201, held.text


async def register(people: People, who: str, url: str, **more: Any) -> dict[str, Any]:
    made = await people[who].post("/webhooks", json={"url": url, **more})
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    assert answer["secret"].startswith("whsec_")
    return answer


async def retry_now(server: TestServer, clock: ManualClock, seconds: float) -> None:
    """Move the clock past a back-off, and have the sender look at once."""
    clock.advance(seconds)
    sender = server.app[CONTEXT].webhooks
    await sender.deliver_due()
    await sender.idle()
