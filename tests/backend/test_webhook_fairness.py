"""Webhooks are fair across owners, over real HTTP on both stores: one provider's slow endpoints
take no more than their share of the sender, so another provider's endpoint hears of its change
at once; and no owner may register more endpoints than --max-webhooks-per-owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from backend.app import create_app
from backend.live.webhooks.fair_share import pick
from backend.live.webhooks.sender import OWNER_SHARE, TURN_SECONDS
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from backend.store.base import DueWebhook
from tests.backend.webhook_receivers import (
    WAIT,
    Receiver,
    listening,
    open_slots,
    register,
    serving,
)
from tests.helpers import People, assert_problem

SLOW_ENDPOINTS = 100
SLOW_SECONDS = 5.0
"""How long each slow endpoint takes to answer."""
PROMPT_SECONDS = 1.0
"""The longest another owner's delivery may take, from the commit of its change."""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(time.time())


@pytest.fixture
def secure_settings(db: str) -> Settings:
    """Tokens required; webhooks may go to this machine; one owner may have the slow hundred."""
    return Settings(
        db=db, rate=0, allow_private_addresses=True, max_webhooks_per_owner=SLOW_ENDPOINTS
    )


@dataclass
class SlowReceivers:
    """Endpoints /slow/<n> that each take SLOW_SECONDS to answer (or until released)."""

    url: str = ""
    in_flight: int = 0
    most_in_flight: int = 0
    answered: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.started.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), SLOW_SECONDS)
        finally:
            self.in_flight -= 1
        self.answered += 1
        return web.Response(status=204)


@pytest.fixture
async def slow() -> AsyncIterator[SlowReceivers]:
    got = SlowReceivers()
    async with serving("/slow/{n}", got.handle) as address:
        got.url = f"{address}/slow"
        try:
            yield got
        finally:
            got.release.set()  # the slow answers end now: nothing waits for them


async def test_one_providers_slow_endpoints_do_not_hold_up_another_providers_delivery(
    people: People, slow: SlowReceivers, clock: ManualClock
) -> None:
    for n in range(SLOW_ENDPOINTS):
        await register(people, "p1", f"{slow.url}/{n}")
    async with listening(Receiver()) as fast:
        theirs = await register(people, "p2", fast.url)
        await open_slots(people, clock, count=4, who="p1")  # an hour: 4 changes for each of 100
        async with asyncio.timeout(WAIT):
            await slow.started.wait()
        committed = time.monotonic()  # no later than the commit of p2's change below
        await open_slots(people, clock, count=1, who="p2")
        async with asyncio.timeout(60):  # long enough to say how late it was, if it was
            await fast.arrived.wait()
        took = time.monotonic() - committed
        assert took < PROMPT_SECONDS, f"p2's endpoint heard of its change after {took:.1f} s"
        assert slow.answered == 0, "the test measured after the slow endpoints had answered"
        assert slow.in_flight > 0
    (delivered,) = fast.verified(theirs["secret"])
    assert [c["providerId"] for c in delivered["changes"]] == ["p2"]
    assert slow.most_in_flight <= OWNER_SHARE, "p1 took more than its share of the sender"


async def test_an_owner_may_register_up_to_the_cap_and_no_more(
    db: str, clock: ManualClock, slow: SlowReceivers
) -> None:
    """The default cap, 10 an owner: an admin's endpoints count together, each provider's apart;
    the one past the cap is refused and stored nowhere; removing one makes room."""
    server = TestServer(
        create_app(Settings(db=db, rate=0, allow_private_addresses=True), clock=clock)
    )
    await server.start_server()
    try:
        async with People.issue(server) as people:
            for who in ("p1", "admin"):
                made = [await register(people, who, f"{slow.url}/{n}") for n in range(10)]
                refused = await people[who].post("/webhooks", json={"url": f"{slow.url}/10"})
                problem = assert_problem(refused, 409, "too-many-webhooks")
                assert "10" in problem["detail"]
                assert "--max-webhooks-per-owner" in problem["detail"]
                assert len((await people[who].get("/webhooks")).json()["webhooks"]) == (
                    10 if who == "p1" else 20
                )
            await register(people, "p2", f"{slow.url}/p2")  # another provider has room
            gone = made[0]["webhook"]["webhookId"]
            assert (await people["admin"].delete(f"/webhooks/{gone}")).status_code == 200
            await register(people, "admin", f"{slow.url}/again")
    finally:
        await server.close()


def test_due_endpoints_are_taken_owner_by_owner_each_within_its_share() -> None:
    """The sender's choice when more are due than it may take: every owner's first before
    anyone's second, counting what each already has running, and none past its share."""
    due = [DueWebhook(f"a{n}", "a") for n in range(5)]
    due += [DueWebhook("b0", "b"), DueWebhook("admins0", None), DueWebhook("b1", "b")]
    assert pick(due, {}, share=2, room=3) == ["a0", "b0", "admins0"]
    assert pick(due, {}, share=2, room=10) == ["a0", "b0", "admins0", "a1", "b1"]
    assert pick(due, {"a": 2}, share=3, room=10) == ["b0", "admins0", "b1", "a0"]
    assert pick(due, {"a": 3, None: 3}, share=3, room=10) == ["b0", "b1"]


async def test_an_owners_endpoints_past_its_share_take_turns(
    people: People, clock: ManualClock
) -> None:
    """p1 has one endpoint more than its share, each owed several deliveries (format single),
    and each delivery takes longer than a turn (by the server's clock): the last endpoint gets its
    first delivery while the others have had one or two of theirs, not after one of them has had
    all of its own."""
    sent: dict[str, int] = {}
    first_of_last: dict[str, int] = {}
    arrived = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        n = request.match_info["n"]
        sent[n] = sent.get(n, 0) + 1
        if n == "last" and not first_of_last:
            first_of_last.update(sent)
        clock.advance(TURN_SECONDS + 1)
        arrived.set()
        return web.Response(status=204)

    async with serving("/hook/{n}", handle) as address:
        for n in [*map(str, range(OWNER_SHARE)), "last"]:
            await register(people, "p1", f"{address}/hook/{n}", format="single")
        await open_slots(people, clock, count=4)
        async with asyncio.timeout(WAIT):
            while sum(sent.values()) < 4 * (OWNER_SHARE + 1):
                arrived.clear()
                await arrived.wait()
    assert first_of_last, "the last endpoint was never sent anything"
    del first_of_last["last"]
    assert max(first_of_last.values(), default=0) <= 2, first_of_last
