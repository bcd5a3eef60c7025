"""A server killed with SIGKILL between committing changes and delivering them to a webhook sends
every one of them after it restarts: the change log is the outbox, and an endpoint's cursor moves
only after a delivery succeeded. A real server process, a real receiver, both stores."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook

from shared.timefmt import format_time
from tests.e2e.server_process import ServerProcess
from tests.helpers import query

DAY = 86_400
FLAGS = ("--no-auth", "--rate", "0", "--allow-private-webhooks", "--webhook-backoff-seconds", "0.2")
HOLDS = 12


async def test_nothing_committed_before_a_sigkill_is_lost_to_a_webhook(db: str) -> None:
    refusing = True
    got: list[tuple[dict[str, str], bytes]] = []
    arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if refusing:
            return web.Response(status=503)
        got.append((dict(request.headers), body))
        arrived.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    receiver = TestServer(app, host="127.0.0.1")
    await receiver.start_server()
    start = (int(time.time()) // DAY + 3) * DAY
    acknowledged: list[str] = []
    try:
        server = ServerProcess(db, *FLAGS).start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
                made = await http.post(
                    "/webhooks",
                    json={"url": str(receiver.make_url("/hook")), "events": ["reserved"]},
                )
                assert made.status_code == 201, made.text
                secret = made.json()["secret"]
                window = {"providerId": "p1", "startTime": format_time(start)}
                window["endTime"] = format_time(start + HOLDS * 900)
                slots = (await http.post("/availability", json=window)).json()["timeSlots"]
                for n, slot in enumerate(slots):
                    held = await http.post(
                        "/availability/reserve",
                        json={
                            "clientId": f"c{n}",
                            "timeSlot": slot["timestamp"],
                            "timeSlotId": slot["timeSlotId"],
                        },
                    )
                    assert held.status_code == 201, held.text
                    acknowledged.append(slot["timeSlotId"])
            retry_at = await between_attempts(db)
        finally:
            server.kill()  # committed, acknowledged, and not one of them delivered yet
        assert got == []

        refusing = False
        with ServerProcess(db, *FLAGS):
            async with asyncio.timeout(30 + max(0.0, retry_at - time.time())):
                while len(delivered_changes(got, secret)) < HOLDS:
                    arrived.clear()
                    await arrived.wait()
    finally:
        await receiver.close()

    delivered = delivered_changes(got, secret)
    assert [c["timeSlotId"] for c in delivered] == acknowledged
    seqs = [c["seq"] for c in delivered]
    assert seqs == sorted(seqs)


async def between_attempts(db: str) -> float:
    """Wait until no delivery to the endpoint is under way and its next retry is a while off;
    when that retry is due (epoch seconds).

    The refused deliveries double the endpoint's back-off each time, and both the back-off and
    an attempt's lease outlive the process: a kill during an attempt would leave the endpoint
    leased to the dead process for a minute, and the longer the first server ran (on a busy
    machine, seconds longer) the later the retry the second one keeps to. So the kill comes
    between attempts, and the wait for the deliveries after the restart counts from the retry."""
    async with asyncio.timeout(60):
        while True:
            [(failures, retry_at, leased_until)] = query(
                db, "SELECT failures, next_attempt_at, leased_until FROM webhooks"
            )
            if failures >= 1 and leased_until is None and retry_at > time.time() + 1:
                return float(retry_at)
            await asyncio.sleep(0.05)


def delivered_changes(got: list[tuple[dict[str, str], bytes]], secret: str) -> list[Any]:
    """The changes of every delivery, each verified with the Standard Webhooks library; a change
    sent again (at least once) counted once."""
    delivered: list[Any] = []
    for headers, body in got:
        batch = Webhook(secret).verify(body, headers)
        assert batch["type"] == "changes"
        delivered.extend(c for c in batch["changes"] if c not in delivered)
    return delivered
