"""Webhooks over real HTTP on both stores: a local receiver verifies every delivery with the
`standardwebhooks` library, fails and recovers, is disabled and replayed; private addresses are
refused; several processes over PostgreSQL send each delivery once. An endpoint registered now
gets the changes waiting for it up to 100 a delivery, in seq order, in a `changes` envelope, and a
failed batch is sent again whole; one of format "single" keeps one change a delivery.

The server's clock starts at the real time (the library checks a delivery's timestamp against
it) and moves only when a test says so: a retry falls due when the test moves the clock past its
back-off, never by waiting.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backend.app import create_app
from backend.clock import ManualClock
from backend.services import SERVICES
from backend.settings import Settings
from backend.webhooks.addresses import AddressRefused, GuardedResolver
from backend.webhooks.batches import SCAN_LIMIT
from backend.webhooks.sender import GIVE_UP_SECONDS
from shared.grid import align_down
from shared.timefmt import format_time
from tests.backend.webhook_receivers import (
    WAIT,
    Receiver,
    listening,
    open_slots,
    register,
    reserve,
    retry_now,
)
from tests.helpers import People, assert_problem
from tests.postgres_server import PostgresForTests


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with listening(Receiver()) as got:
        yield got


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(time.time())


@pytest.fixture
def secure_settings(db: str) -> Settings:
    """Tokens required; webhooks may go to this machine's receiver; a 5-second first back-off."""
    return Settings(db=db, rate=0, allow_private_webhooks=True, webhook_backoff_seconds=5)


async def test_a_single_format_endpoint_gets_each_change_signed_as_changes_shows_it(
    people: People, receiver: Receiver, clock: ManualClock
) -> None:
    slots = await open_slots(people, clock)
    made = await register(people, "admin", receiver.url, description="front desk", format="single")
    assert (made["webhook"]["enabled"], made["webhook"]["format"]) == (True, "single")
    await reserve(people, "c1", slots[0])
    await reserve(people, "c2", slots[1])
    await receiver.wait_for(2)

    delivered = receiver.verified(made["secret"])
    log = (await people["admin"].get("/changes", params={"since": 0})).json()["changes"]
    assert delivered == [c for c in log if c["kind"] == "reserved"]
    assert [d["clientName"] for d in delivered] == ["Client One", "Client Two"]
    first = receiver.got[0].headers
    assert first["webhook-id"] == f"msg_{made['webhook']['webhookId']}_{delivered[0]['seq']}"
    assert first["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(receiver.got[0].body, first)

    shown = (await people["admin"].get(f"/webhooks/{made['webhook']['webhookId']}")).json()
    assert shown["deliveredSeq"] == delivered[-1]["seq"]
    assert "secret" not in shown


async def test_a_receiver_that_fails_twice_then_succeeds_gets_it_once_more(
    people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
) -> None:
    slots = await open_slots(people, clock)
    made = await register(people, "p1", receiver.url, events=["reserved"])
    hook_id = made["webhook"]["webhookId"]
    receiver.answers = [500, 503]
    await reserve(people, "c1", slots[0])
    await receiver.wait_for(1)
    await secure_server.app[SERVICES].webhooks.idle()
    await retry_now(secure_server, clock, 5)  # the first back-off
    assert len(receiver.got) == 2
    shown = (await people["p1"].get(f"/webhooks/{hook_id}")).json()
    assert (shown["enabled"], shown["failedAttempts"]) == (True, 2)
    await retry_now(secure_server, clock, 9)  # not yet: the second waits 10 s
    assert len(receiver.got) == 2
    await retry_now(secure_server, clock, 1)
    assert len(receiver.got) == 3

    delivered = receiver.verified(made["secret"])
    assert delivered[0] == delivered[1] == delivered[2]
    assert len({r.headers["webhook-id"] for r in receiver.got}) == 1
    attempts = (await people["p1"].get(f"/webhooks/{hook_id}/deliveries")).json()["deliveries"]
    assert [(a["attempt"], a["statusCode"]) for a in attempts] == [(3, 200), (2, 503), (1, 500)]
    assert attempts[1]["error"] == "answered HTTP 503"
    assert all(a["latencyMs"] >= 0 for a in attempts)


async def test_a_day_of_failures_disables_the_endpoint_and_a_replay_starts_it_again(
    people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
) -> None:
    slots = await open_slots(people, clock)
    made = await register(people, "admin", receiver.url, events=["reserved"])
    hook_id = made["webhook"]["webhookId"]
    receiver.answers = [500] * 100
    await reserve(people, "c1", slots[0])
    await receiver.wait_for(1)
    await secure_server.app[SERVICES].webhooks.idle()
    spent, delay = 0.0, 5.0
    while (await people["admin"].get(f"/webhooks/{hook_id}")).json()["enabled"]:
        await retry_now(secure_server, clock, delay)
        spent, delay = spent + delay, delay * 2
        assert spent <= GIVE_UP_SECONDS
    shown = (await people["admin"].get(f"/webhooks/{hook_id}")).json()
    assert "HTTP 500" in shown["disabledReason"]
    assert "replay" in shown["disabledReason"]
    tries = len(receiver.got)
    assert tries >= 10
    await retry_now(secure_server, clock, 86_400)
    assert len(receiver.got) == tries  # disabled: nothing more is sent

    receiver.answers = []
    replayed = await people["admin"].post(f"/webhooks/{hook_id}/replay", json={"since": 0})
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["webhook"]["enabled"] is True
    await retry_now(secure_server, clock, 0)
    assert len(receiver.got) == tries + 1
    assert receiver.changes(made["secret"])[-1]["kind"] == "reserved"
    assert_problem(
        await people["admin"].post(f"/webhooks/{hook_id}/replay", json={"since": 10**6}),
        410,
        "changes-gone",
    )


async def test_a_redirect_is_a_failure_not_followed(
    people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
) -> None:
    slots = await open_slots(people, clock)
    made = await register(people, "admin", receiver.url)
    receiver.answers = [302]
    await reserve(people, "c1", slots[0])
    await receiver.wait_for(1)
    await secure_server.app[SERVICES].webhooks.idle()
    hook_id = made["webhook"]["webhookId"]
    (attempt,) = (await people["admin"].get(f"/webhooks/{hook_id}/deliveries")).json()["deliveries"]
    assert attempt["error"] == "answered HTTP 302 (redirects are not followed)"


async def test_a_provider_hears_of_its_own_slots_only(
    people: People, receiver: Receiver, clock: ManualClock
) -> None:
    slots = await open_slots(people, clock)
    theirs = await people["p2"].post(
        "/availability",
        json={"startTime": slots[0]["timestamp"], "endTime": slots[1]["timestamp"]},
    )
    assert theirs.status_code == 201
    made = await register(people, "p2", receiver.url)
    assert made["webhook"]["providerId"] == "p2"
    await reserve(people, "c1", slots[0])  # p1's: not for p2
    await reserve(people, "c1", theirs.json()["timeSlots"][0])
    await receiver.wait_for(1)
    (delivered,) = receiver.changes(made["secret"])
    assert (delivered["providerId"], delivered["kind"]) == ("p2", "reserved")
    assert [h["webhookId"] for h in (await people["p2"].get("/webhooks")).json()["webhooks"]] == [
        made["webhook"]["webhookId"]
    ]
    assert (await people["p1"].get("/webhooks")).json()["webhooks"] == []
    hook_id = made["webhook"]["webhookId"]
    assert_problem(await people["p1"].get(f"/webhooks/{hook_id}"), 404, "webhook-not-found")
    assert_problem(await people["p1"].delete(f"/webhooks/{hook_id}"), 404, "webhook-not-found")
    assert_problem(await people["c1"].post("/webhooks", json={"url": receiver.url}), 403)
    removed = await people["p2"].delete(f"/webhooks/{hook_id}")
    assert removed.status_code == 200, removed.text
    assert (await people["p2"].get("/webhooks")).json()["webhooks"] == []


@pytest.mark.parametrize(
    ("url", "allowed_locally"),
    [
        ("http://127.0.0.1:9/hook", True),
        ("http://localhost:9/hook", True),
        ("http://10.1.2.3/hook", True),
        ("http://[::1]:9/hook", True),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://[fe80::1]/hook", False),
        ("http://0.0.0.0/hook", False),
        ("http://[::ffff:127.0.0.1]/hook", True),
    ],
)
async def test_private_addresses_are_refused(
    url: str, allowed_locally: bool, secure_settings: Settings, clock: ManualClock
) -> None:
    for allow in (False, True):
        settings = replace(secure_settings, allow_private_webhooks=allow)
        server = TestServer(create_app(settings, clock=clock))
        await server.start_server()
        try:
            async with People.issue(server) as people:
                answer = await people["admin"].post("/webhooks", json={"url": url})
                listed = (await people["admin"].get("/webhooks")).json()["webhooks"]
        finally:
            await server.close()
        if allow and allowed_locally:
            assert answer.status_code == 201, answer.text
        else:
            problem = assert_problem(answer, 422, "rule-violation")
            assert problem["errors"][0]["field"] == "url"
            assert listed == []


@pytest.mark.parametrize(
    "url", ["ftp://example.org/hook", "http://user:pw@example.org/", "not a url", "http:///x"]
)
async def test_a_url_that_is_not_http_is_refused(people: People, url: str) -> None:
    problem = assert_problem(await people["admin"].post("/webhooks", json={"url": url}), 422)
    assert problem["errors"][0]["field"] == "url"


async def test_the_resolver_refuses_a_name_of_a_private_address_when_it_connects() -> None:
    """Checked again at delivery: a name that resolved to a public address at registration and
    to a private one later is still refused."""
    with pytest.raises(AddressRefused, match="loopback"):
        await GuardedResolver(allow_private=False).resolve("localhost", 80)
    found = await GuardedResolver(allow_private=True).resolve("localhost", 80)
    assert found


async def test_several_servers_on_one_postgresql_send_each_change_once(
    postgres: PostgresForTests, receiver: Receiver, clock: ManualClock
) -> None:
    url = postgres.copy()
    settings = Settings(db=url, rate=0, allow_private_webhooks=True)
    servers = [TestServer(create_app(settings, clock=clock)) for _ in range(2)]
    for server in servers:
        await server.start_server()
    try:
        async with People.issue(servers[0]) as people:
            slots = await open_slots(people, clock, count=8)
            made = await register(people, "admin", receiver.url, events=["reserved"])
            for server in servers:
                server.app[SERVICES].webhooks.endpoint_made()
            for n, slot in enumerate(slots):
                await reserve(people, "c1" if n % 2 else "c2", slot)
            await receiver.wait_for_changes(len(slots))
            for server in servers:
                await server.app[SERVICES].webhooks.idle()
    finally:
        for server in servers:
            await server.close()
        postgres.drop(url)
    seqs = [c["seq"] for c in receiver.changes(made["secret"])]
    assert seqs == sorted(set(seqs))
    assert len(seqs) == len(slots)


async def test_webhooks_answer_clearly_to_bad_requests(people: People) -> None:
    assert_problem(await people["admin"].get("/webhooks/nope"), 404, "webhook-not-found")
    assert_problem(
        await people["admin"].post("/webhooks", json={"url": "http://example.org", "events": []}),
        400,
        "invalid-request",
    )
    assert_problem(
        await people["admin"].post("/webhooks", json={"url": "http://x", "events": ["booked"]}),
        400,
        "invalid-request",
    )
    async with httpx.AsyncClient() as nobody:
        url = str(people["admin"].base_url.join("/webhooks"))
        assert_problem(await nobody.get(url), 401, "unauthorized")


# --- batches -----------------------------------------------------------------------------------

MANY = 250
"""Changes made in one write: more than two batches' worth."""


async def test_waiting_changes_arrive_up_to_100_a_delivery_in_seq_order(
    people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
) -> None:
    made = await register(people, "admin", receiver.url)
    hook_id = made["webhook"]["webhookId"]
    assert made["webhook"]["format"] == "batch"
    async with listening(Receiver()) as one_by_one:
        single = await register(people, "admin", one_by_one.url, format="single")
        await open_slots(people, clock, count=MANY)  # one write: 250 changes waiting at once
        await receiver.wait_for_changes(MANY)
        await one_by_one.wait_for(MANY)
        await secure_server.app[SERVICES].webhooks.idle()

    log = (await people["admin"].get("/changes", params={"since": 0, "limit": 1000})).json()
    batches = receiver.verified(made["secret"])
    assert [len(b["changes"]) for b in batches] == [100, 100, 50]
    assert all(b["type"] == "changes" for b in batches)
    assert receiver.changes(made["secret"]) == log["changes"]
    ids = [r.headers["webhook-id"] for r in receiver.got]
    bounds = [(b["changes"][0]["seq"], b["changes"][-1]["seq"]) for b in batches]
    assert ids == [f"msg_{hook_id}_{first}_{last}" for first, last in bounds]

    # The single endpoint: one change a delivery, the bare object, as before batches.
    assert one_by_one.verified(single["secret"]) == log["changes"]
    assert [r.headers["webhook-id"] for r in one_by_one.got] == [
        f"msg_{single['webhook']['webhookId']}_{c['seq']}" for c in log["changes"]
    ]

    tried = (await people["admin"].get(f"/webhooks/{hook_id}/deliveries")).json()["deliveries"]
    assert [(d["firstSeq"], d["seq"], d["statusCode"]) for d in tried] == [
        (first, last, 200) for first, last in reversed(bounds)
    ]
    listed = (await people["admin"].get("/webhooks")).json()["webhooks"]
    assert {h["webhookId"]: h["format"] for h in listed} == {
        hook_id: "batch",
        single["webhook"]["webhookId"]: "single",
    }
    shown = (await people["admin"].get(f"/webhooks/{hook_id}")).json()
    assert (shown["format"], shown["deliveredSeq"]) == ("batch", log["lastSeq"])


async def test_a_providers_endpoint_reads_past_thousands_of_other_providers_changes(
    people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
) -> None:
    """A replay over more of p2's changes than the sender reads without finding one for p1's
    endpoint (SCAN_LIMIT), then p1's own: the endpoint moves on in steps and gets its own again."""
    made = await register(people, "p1", receiver.url)
    hook_id = made["webhook"]["webhookId"]
    before = (await people["p1"].get("/changes")).json()["lastSeq"]
    start = align_down(clock.now() + 2 * 86_400, 900)
    days = -(-SCAN_LIMIT // 96) + 1  # whole days of 96 slots each, past the limit
    for day in range(0, days, 30):
        window = {
            "startTime": format_time(start + day * 86_400),
            "endTime": format_time(start + min(day + 30, days) * 86_400),
        }
        assert (await people["p2"].post("/availability", json=window)).status_code == 201
    mine = await open_slots(people, clock, count=2, who="p1")
    await receiver.wait_for(1)
    replayed = await people["p1"].post(f"/webhooks/{hook_id}/replay", json={"since": before})
    assert replayed.status_code == 200, replayed.text
    await receiver.wait_for(2)
    await secure_server.app[SERVICES].webhooks.idle()

    first, again = receiver.verified(made["secret"])
    assert [c["timeSlotId"] for c in first["changes"]] == [s["timeSlotId"] for s in mine]
    assert again == first
    last = (await people["p1"].get("/changes")).json()["lastSeq"]
    assert last - before > SCAN_LIMIT
    shown = (await people["p1"].get(f"/webhooks/{hook_id}")).json()
    assert shown["deliveredSeq"] == last


async def test_a_lone_change_is_sent_at_once_without_waiting_for_more(
    people: People, receiver: Receiver, clock: ManualClock
) -> None:
    slots = await open_slots(people, clock)
    made = await register(people, "p1", receiver.url)
    await reserve(people, "c1", slots[0])
    await receiver.wait_for(1)
    ((change,),) = [b["changes"] for b in receiver.verified(made["secret"])]
    assert (change["kind"], change["timeSlotId"], change["clientName"]) == (
        "reserved",
        slots[0]["timeSlotId"],
        "Client One",
    )
    assert receiver.got[0].headers["webhook-id"] == (
        f"msg_{made['webhook']['webhookId']}_{change['seq']}"
    )


async def test_a_failed_batch_is_sent_again_whole_and_the_cursor_moves_only_on_a_2xx(
    people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
) -> None:
    made = await register(people, "p1", receiver.url)
    hook_id = made["webhook"]["webhookId"]
    before = (await people["p1"].get(f"/webhooks/{hook_id}")).json()["deliveredSeq"]
    receiver.answers = [503]
    await open_slots(people, clock, count=3)
    await receiver.wait_for(1)
    sender = secure_server.app[SERVICES].webhooks
    await sender.idle()
    shown = (await people["p1"].get(f"/webhooks/{hook_id}")).json()
    assert (shown["deliveredSeq"], shown["failedAttempts"]) == (before, 1)

    start = align_down(
        clock.now() + 3 * 86_400, 900
    )  # more changes while the batch waits for its retry
    later = {"startTime": format_time(start), "endTime": format_time(start + 2 * 900)}
    assert (await people["p1"].post("/availability", json=later)).status_code == 201
    await retry_now(secure_server, clock, 5)

    first, again, rest = receiver.got
    assert again.body == first.body, "the retry carries the same changes"
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    batches = receiver.verified(made["secret"])
    assert [len(b["changes"]) for b in batches] == [3, 3, 2]
    assert json.loads(rest.body)["changes"][0]["seq"] == batches[0]["changes"][-1]["seq"] + 1
    shown = (await people["p1"].get(f"/webhooks/{hook_id}")).json()
    assert (shown["deliveredSeq"], shown["failedAttempts"]) == (
        batches[-1]["changes"][-1]["seq"],
        0,
    )
    tried = (await people["p1"].get(f"/webhooks/{hook_id}/deliveries")).json()["deliveries"]
    assert [(d["attempt"], d["statusCode"], d["seq"] - d["firstSeq"]) for d in tried] == [
        (1, 200, 1),
        (2, 200, 2),
        (1, 503, 2),
    ]


async def test_a_format_other_than_batch_or_single_is_refused(
    people: People, receiver: Receiver
) -> None:
    refused = await people["p1"].post("/webhooks", json={"url": receiver.url, "format": "bulk"})
    problem = assert_problem(refused, 400, "invalid-request")
    assert problem["errors"][0]["field"] == "format"
    assert (await people["p1"].get("/webhooks")).json()["webhooks"] == []


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_receiver() -> str:
    """The README's webhook receiver: its Python block that verifies a signature."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (receiver,) = [str(b) for b in blocks if "Webhook(" in b]
    return receiver


async def test_the_readme_receiver_verifies_a_real_delivery(
    people: People, clock: ManualClock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    made = await register(
        people, "admin", f"http://127.0.0.1:{port}/hooks/slotbook", events=["reserved"]
    )
    code = readme_receiver()
    assert '"whsec_' in code
    assert "port=9000" in code
    code = re.sub(r'"whsec_[^"]*"', f'"{made["secret"]}"', code).replace(
        "port=9000", f"port={port}"
    )
    receiver = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        async with asyncio.timeout(WAIT):
            while True:  # until it listens
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                break
            slots = await open_slots(people, clock)
            await reserve(people, "c1", slots[0])
            assert receiver.stdout is not None
            line: list[str] = []
            while not line or not line[0].isdigit():  # past aiohttp's "Running on" banner
                line = (await receiver.stdout.readline()).decode().split()
    finally:
        receiver.terminate()
        await receiver.wait()
    assert line[1:] == ["reserved", *slots[0]["timestamp"].split(), "Client", "One"]
    hook_id = made["webhook"]["webhookId"]
    (attempt,) = (await people["admin"].get(f"/webhooks/{hook_id}/deliveries")).json()["deliveries"]
    assert attempt["statusCode"] == 204
