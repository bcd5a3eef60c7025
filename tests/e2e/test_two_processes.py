"""Two server processes on different ports over one PostgreSQL database, as two hosts would run:
they never double-book, each one's /events stream sees what was done through the other within a
second, and killing one with SIGKILL loses nothing it acknowledged.

The servers are real `python -m backend serve` processes; the clock is the wall clock, so slots
are a few days ahead of today.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from shared.timefmt import format_time
from tests.e2e.server_process import ServerProcess
from tests.postgres_server import PostgresForTests

Json = dict[str, Any]
DAY = 86_400
HOUR = 3_600


def first_day() -> int:
    """Midnight UTC three days from now: every slot on it is past the 24-hour notice."""
    return (int(time.time()) // DAY + 3) * DAY


def admin_token(db: str) -> str:
    """The first admin token, made with the command line as an operator would."""
    command = ["token", "create", "--db", db, "--role", "admin", "--name", "Root"]
    made = subprocess.run(
        [sys.executable, "-m", "backend", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


@dataclass
class TwoServers:
    admin: str
    first: ServerProcess
    second: ServerProcess
    a: httpx.AsyncClient
    """A client of the first server."""
    b: httpx.AsyncClient
    """A client of the second server."""


@asynccontextmanager
async def two_servers(
    postgres: PostgresForTests, http_timeout: float = 30, flags: tuple[str, ...] = ()
) -> AsyncIterator[TwoServers]:
    """An admin token, two servers over one fresh database (with `flags` besides `--rate 0`),
    and an HTTP client of each."""
    db = postgres.copy()
    try:
        token = admin_token(db)
        with ExitStack() as both:
            first = both.enter_context(ServerProcess(db, "--rate", "0", *flags))
            second = both.enter_context(ServerProcess(db, "--rate", "0", *flags))
            async with (
                httpx.AsyncClient(base_url=first.url, timeout=http_timeout) as a,
                httpx.AsyncClient(base_url=second.url, timeout=http_timeout) as b,
            ):
                yield TwoServers(token, first, second, a, b)
    finally:
        postgres.drop(db)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_token(http: httpx.AsyncClient, admin: str, role: str, subject: str) -> str:
    answer = await http.post(
        "/tokens", json={"role": role, "subject": subject, "name": subject}, headers=bearer(admin)
    )
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


async def open_window(http: httpx.AsyncClient, provider: str, start: int, end: int) -> list[Json]:
    answer = await http.post(
        "/availability",
        json={"startTime": format_time(start), "endTime": format_time(end)},
        headers=bearer(provider),
    )
    assert answer.status_code == 201, answer.text
    slots: list[Json] = answer.json()["timeSlots"]
    return slots


async def all_changes(http: httpx.AsyncClient, admin: str) -> list[Json]:
    changes: list[Json] = []
    since = 0
    while True:
        page = await http.get(
            "/changes", params={"since": since, "limit": 1000}, headers=bearer(admin)
        )
        assert page.status_code == 200, page.text
        found: list[Json] = page.json()["changes"]
        if not found:
            return changes
        changes += found
        since = found[-1]["seq"]


async def test_400_reserves_of_one_slot_through_two_processes_make_exactly_one_hold(
    postgres: PostgresForTests,
) -> None:
    async with two_servers(postgres, http_timeout=60) as servers:
        admin, a, b = servers.admin, servers.a, servers.b
        provider = await make_token(a, admin, "provider", "dr-ada")
        start = first_day() + 9 * HOUR
        slot = (await open_window(a, provider, start, start + 900))[0]
        clients = await asyncio.gather(
            *(make_token(a, admin, "client", f"c{n:03d}") for n in range(400))
        )
        body = {"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]}
        answers = await asyncio.gather(
            *(
                (a if n % 2 else b).post("/availability/reserve", json=body, headers=bearer(token))
                for n, token in enumerate(clients)
            )
        )
        statuses = [answer.status_code for answer in answers]
        assert statuses.count(201) == 1, sorted(set(statuses))
        assert statuses.count(409) == 399, sorted(set(statuses))
        winner = next(answer for answer in answers if answer.status_code == 201)
        holder = winner.json()["reservation"]["clientId"]
        for http in (a, b):
            shown = await http.get(
                "/providers/dr-ada/slots",
                params={"startTime": format_time(start), "endTime": format_time(start + 900)},
                headers=bearer(admin),
            )
            assert [(s["status"], s["clientId"]) for s in shown.json()["timeSlots"]] == [
                ("RESERVED", holder)
            ]
        reserved = [c for c in await all_changes(b, admin) if c["kind"] == "reserved"]
        assert [c["timeSlotId"] for c in reserved] == [slot["timeSlotId"]]


async def test_a_stream_on_one_process_sees_a_reserve_made_through_the_other_within_a_second(
    postgres: PostgresForTests,
) -> None:
    async with two_servers(postgres) as servers:
        admin, a, b = servers.admin, servers.a, servers.b
        provider = await make_token(a, admin, "provider", "dr-ada")
        client = await make_token(a, admin, "client", "kim")
        start = first_day() + 9 * HOUR
        slots = await open_window(b, provider, start, start + 3 * 900)
        heard: asyncio.Queue[tuple[float, Json]] = asyncio.Queue()
        listening = asyncio.Event()

        async def follow() -> None:
            async with aconnect_sse(a, "GET", "/events", headers=bearer(admin)) as events:
                listening.set()
                async for event in events.aiter_sse():
                    if event.event == "reserved":
                        await heard.put((time.monotonic(), event.json()))

        follower = asyncio.create_task(follow())
        try:
            await asyncio.wait_for(listening.wait(), 10)
            for slot in slots:
                sent = time.monotonic()
                answer = await b.post(
                    "/availability/reserve",
                    json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
                    headers=bearer(client),
                )
                assert answer.status_code == 201, answer.text
                arrived, change = await asyncio.wait_for(heard.get(), 5)
                assert change["timeSlotId"] == slot["timeSlotId"]
                assert arrived - sent < 1.0, f"took {arrived - sent:.2f} s"
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)


async def test_killing_one_process_loses_nothing_it_acknowledged(
    postgres: PostgresForTests,
) -> None:
    async with two_servers(postgres) as servers:
        admin, a, b = servers.admin, servers.a, servers.b
        provider = await make_token(a, admin, "provider", "dr-ada")
        start = first_day() + 8 * HOUR
        slots = await open_window(a, provider, start, start + 10 * HOUR)
        clients = [await make_token(a, admin, "client", f"c{n:02d}") for n in range(20)]
        acknowledged: list[tuple[str, str]] = []
        """(kind, slot id) of every write answered 2xx"""
        confirmed: dict[str, str] = {}
        """slot id -> the client whose confirm was answered 200"""
        queue = list(slots)
        random.Random(7).shuffle(queue)

        async def book(http: httpx.AsyncClient, client: str) -> None:
            while queue:
                slot = queue.pop()
                body = {"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]}
                try:
                    held = await http.post(
                        "/availability/reserve", json=body, headers=bearer(client)
                    )
                    if held.status_code != 201:
                        continue
                    acknowledged.append(("reserved", slot["timeSlotId"]))
                    done = await http.put(
                        f"/availability/confirm/{slot['timeSlotId']}",
                        json={"timeSlot": slot["timestamp"]},
                        headers=bearer(client),
                    )
                except httpx.TransportError:
                    return  # this process was killed: what was in flight is unknown
                if done.status_code == 200:
                    acknowledged.append(("confirmed", slot["timeSlotId"]))
                    confirmed[slot["timeSlotId"]] = done.json()["reservation"]["clientId"]

        workers = [
            asyncio.create_task(book(a if n % 2 else b, client)) for n, client in enumerate(clients)
        ]
        await asyncio.sleep(0.5)
        servers.first.kill()
        await asyncio.gather(*workers)
        assert confirmed, "some bookings were made before the kill"
        assert queue == [], "the surviving process went on booking"

        changes = await all_changes(b, admin)
        seqs = [c["seq"] for c in changes]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the log has a gap"
        logged = {(c["kind"], c["timeSlotId"]) for c in changes}
        assert [w for w in acknowledged if w not in logged] == []
        shown = await b.get(
            "/providers/dr-ada/slots",
            params={"startTime": format_time(start), "endTime": format_time(start + DAY)},
            headers=bearer(admin),
        )
        booked = {
            s["timeSlotId"]: s["clientId"]
            for s in shown.json()["timeSlots"]
            if s["status"] == "CONFIRMED"
        }
        assert {k: booked.get(k) for k in confirmed} == confirmed
