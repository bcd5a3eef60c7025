"""A server stops promptly whatever its webhooks are doing, on both stores: deliveries to slow
receivers in flight are cut, not waited for, and the webhook sender ends even when something wakes
it at the very moment it is stopped.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.live.webhooks.sender import OWNER_SHARE, TIMEOUT_SECONDS
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from tests.backend.webhook_receivers import (
    WAIT,
    Receiver,
    listening,
    open_slots,
    register,
    serving,
)
from tests.helpers import People

STOP_SECONDS = TIMEOUT_SECONDS / 2
"""The longest a stop may take: it takes milliseconds (the margin is for a loaded machine), and
one that waited for the deliveries in flight would take their whole TIMEOUT_SECONDS."""


@pytest.fixture
def secure_settings(db: str) -> Settings:
    """Tokens required; webhooks may go to this machine; room for the slow endpoints."""
    return Settings(db=db, rate=0, allow_private_addresses=True, max_webhooks_per_owner=20)


async def test_a_server_stops_promptly_with_slow_webhook_deliveries_in_flight(
    people: People, secure_server: TestServer, clock: ManualClock
) -> None:
    """Two providers' endpoints that answer only when the test ends, each provider's share of
    the sender busy with them and more waiting: the server closes at once all the same."""
    release = asyncio.Event()
    in_flight = 0
    all_started = asyncio.Event()
    endpoints = OWNER_SHARE + 2  # per provider: some deliveries run, others wait for a place

    async def handle(request: web.Request) -> web.Response:
        nonlocal in_flight
        await request.read()
        in_flight += 1
        if in_flight == 2 * OWNER_SHARE:
            all_started.set()
        await release.wait()
        return web.Response(status=204)

    async with serving("/slow/{n}", handle) as address:
        try:
            for who in ("p1", "p2"):
                for n in range(endpoints):
                    await register(people, who, f"{address}/slow/{who}-{n}")
                await open_slots(people, clock, count=2, who=who)
            async with asyncio.timeout(WAIT):
                await all_started.wait()
            async with asyncio.timeout(STOP_SECONDS):
                await secure_server.close()
        finally:
            release.set()


async def test_the_webhook_sender_stops_when_woken_as_it_is_stopped(
    people: People, secure_server: TestServer, clock: ManualClock
) -> None:
    """A commit (or a delivery ending) wakes the sender in the same turn of the event loop as the
    server stops it: it stops all the same, instead of looking for work for ever."""
    async with listening(Receiver()) as got:
        await register(people, "p1", got.url)
        await open_slots(people, clock, count=1)
        await got.wait_for(1)
        sender = secure_server.app[CONTEXT].webhooks
        await sender.idle()
        sender.wake()
        stopping = asyncio.create_task(sender.stop())
        await asyncio.wait([stopping], timeout=STOP_SECONDS)
        assert stopping.done(), f"the sender had not stopped after {STOP_SECONDS:g} s"
        stopping.result()
