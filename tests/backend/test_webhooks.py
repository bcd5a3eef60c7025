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
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backend.api.context import CONTEXT
from backend.app import create_app
from backend.live.retries import GIVE_UP_SECONDS
from backend.live.webhooks.batches import SCAN_LIMIT
from backend.live.webhooks.signing import new_secret
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from backend.store.base import StoredWebhook
from shared.grid import align_down
from shared.timefmt import format_time
from tests.backend.webhook_receivers import (
    WAIT,
    Received,
    Receiver,
    listening,
    open_slots,
    register,
    reserve,
    retry_now,
)
from tests.helpers import People, assert_problem
from tests.markdown_pages import DOCS, code_blocks
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
    return Settings(db=db, rate=0, allow_private_addresses=True, webhook_backoff_seconds=5)


async def test_a_single_format_endpoint_gets_each_change_signed_as_changes_shows_it(
    people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
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

    await secure_server.app[CONTEXT].webhooks.idle()  # the last delivery recorded, too
    shown = (await people["admin"].get(f"/webhooks/{made['webhook']['webhookId']}")).json()
    assert shown["deliveredSeq"] == delivered[-1]["seq"]
    assert "secret" not in shown


async def test_a_delivery_names_the_appointment_type(
    people: People, receiver: Receiver, clock: ManualClock
) -> None:
    slots = await open_slots(people, clock)
    service = await people["p1"].post(
        "/providers/p1/services", json={"name": "Follow-up", "minutes": 30}
    )
    made = await register(people, "p1", receiver.url, events=["reserved"])
    held = await people["c1"].post(
        "/availability/reserve",
        json={
            "timeSlot": slots[0]["timestamp"],
            "timeSlotId": slots[0]["timeSlotId"],
            "serviceId": service.json()["service"]["serviceId"],
        },
    )
    assert held.status_code == 201, held.text
    await receiver.wait_for_changes(2)
    delivered = receiver.changes(made["secret"])
    assert {(c["serviceId"], c["serviceName"]) for c in delivered} == {
        (service.json()["service"]["serviceId"], "Follow-up")
    }


async def test_a_receiver_that_fails_twice_then_succeeds_gets_it_once_more(
    people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
) -> None:
    slots = await open_slots(people, clock)
    made = await register(people, "p1", receiver.url, events=["reserved"])
    hook_id = made["webhook"]["webhookId"]
    receiver.answers = [500, 503]
    await reserve(people, "c1", slots[0])
    await receiver.wait_for(1)
    await secure_server.app[CONTEXT].webhooks.idle()
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
    await secure_server.app[CONTEXT].webhooks.idle()
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


@pytest.mark.parametrize("kind", ["batch", "single"])
async def test_a_replay_resends_the_same_changes_so_a_restored_receiver_gets_what_it_lost(
    kind: str, people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
) -> None:
    """docs/api.md's recipe: a receiver records the seq of each change it handled with what it
    did; a restore loses the later ones; a replay from before brings back only what it lost. A
    "single" endpoint's replayed deliveries also keep the ids they were first sent with."""
    slots = await open_slots(people, clock)
    made = await register(people, "admin", receiver.url, events=["reserved"], format=kind)
    for who, slot in [("c1", slots[0]), ("c2", slots[1]), ("c1", slots[2])]:
        await reserve(people, who, slot)
        await secure_server.app[CONTEXT].webhooks.idle()  # each delivered and recorded
    first = len(receiver.got)
    sent = (
        receiver.changes(made["secret"]) if kind == "batch" else receiver.verified(made["secret"])
    )
    seqs = [c["seq"] for c in sent]
    assert len(seqs) == 3
    recorded = set(seqs[:1])  # restored from a backup: the last two are lost

    hook_id = made["webhook"]["webhookId"]
    replayed = await people["admin"].post(f"/webhooks/{hook_id}/replay", json={"since": 0})
    assert replayed.status_code == 200, replayed.text
    await receiver.wait_for(first + 1)
    await secure_server.app[CONTEXT].webhooks.idle()

    everything = (
        receiver.changes(made["secret"]) if kind == "batch" else receiver.verified(made["secret"])
    )
    again = everything[len(seqs) :]
    assert again == sent, "the same changes, in the same order"
    assert [c["seq"] for c in again if c["seq"] not in recorded] == seqs[1:]
    if kind == "single":
        ids = [r.headers["webhook-id"] for r in receiver.got]
        assert ids[first:] == ids[:first]


async def test_a_replay_asked_for_while_a_delivery_is_under_way_is_sent_at_once(
    people: People, clock: ManualClock, secure_server: TestServer
) -> None:
    """The replay lands while the sender holds the endpoint's lease, waiting on the receiver: the
    delivery under way stops at its next write, and the replay goes out without the clock moving
    on (it used to wait for the lease to lapse, a minute later)."""
    answering = asyncio.Event()

    class Slow(Receiver):
        async def handle(self, request: web.Request) -> web.Response:
            if not self.got:
                self.got.append(Received(dict(request.headers), await request.read()))
                self.arrived.set()
                await answering.wait()  # the first delivery waits, its lease held
                return web.Response(status=200)
            return await super().handle(request)

    async with listening(Slow()) as receiver:
        made = await register(people, "p1", receiver.url)
        before = (await people["p1"].get("/changes")).json()["lastSeq"]
        await open_slots(people, clock, count=1, who="p1")
        await receiver.wait_for(1)
        hook_id = made["webhook"]["webhookId"]
        replayed = await people["p1"].post(f"/webhooks/{hook_id}/replay", json={"since": before})
        assert replayed.status_code == 200, replayed.text
        answering.set()
        await receiver.wait_for(2)
        first, again = (json.loads(r.body)["changes"] for r in receiver.got)
        assert again == first, "the replay sends the same change again"


async def test_a_redirect_is_a_failure_not_followed(
    people: People, receiver: Receiver, clock: ManualClock, secure_server: TestServer
) -> None:
    slots = await open_slots(people, clock)
    made = await register(people, "admin", receiver.url)
    receiver.answers = [302]
    await reserve(people, "c1", slots[0])
    await receiver.wait_for(1)
    await secure_server.app[CONTEXT].webhooks.idle()
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


@asynccontextmanager
async def serving(
    settings: Settings, clock: ManualClock
) -> AsyncIterator[tuple[TestServer, People]]:
    server = TestServer(create_app(settings, clock=clock))
    await server.start_server()
    try:
        async with People.issue(server) as people:
            yield server, people
    finally:
        await server.close()


OPENED = "also allows loopback and private ones"
NEVER = "the server never connects there"

GUARDED = [
    # url, refused even with --allow-private-addresses, what the refusal says
    ("http://[::127.0.0.1]/hook", False, "carries 127.0.0.1 (IPv4-compatible, deprecated"),
    ("http://[::7f00:1]/hook", False, "carries 127.0.0.1 (IPv4-compatible, deprecated"),
    ("http://[64:ff9b::7f00:1]/hook", False, "carries 127.0.0.1 (NAT64, RFC 6052)"),
    ("http://[64:ff9b::a9fe:a9fe]/hook", True, "carries 169.254.169.254 (NAT64, RFC 6052)"),
    ("http://[2002:7f00:1::]/hook", False, "carries 127.0.0.1 (6to4, RFC 3056)"),
    ("http://[2002:a9fe:a9fe::]/hook", True, "carries 169.254.169.254 (6to4, RFC 3056)"),
    ("http://[fec0::1]/hook", True, "fec0::/10, site-local, deprecated (RFC 3879)"),
    ("http://192.0.0.192/hook", True, "192.0.0.192 is Oracle Cloud's metadata service"),
    ("http://[fd00:ec2::254]/latest/meta-data/", True, "AWS's instance metadata service"),
    ("http://169.254.169.254/latest/meta-data/", True, "instance metadata service"),
    ("http://0xa9fea9fe/latest/meta-data/", True, "0xa9fea9fe: 169.254.169.254 is the"),
    ("http://100.100.100.200/latest/meta-data/", True, "Alibaba Cloud's metadata service"),
    ("http://[fe80::1]/hook", True, "fe80::/10, link-local (RFC 4291)"),
    ("http://0.0.0.0/hook", True, "0.0.0.0/8, 'this network' (RFC 791)"),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", True, "192.0.2.45 (Teredo, RFC 4380)"),
    ("http://[64:ff9b:1::a00:1]/hook", True, "local-use NAT64"),
    ("http://[::ffff:127.0.0.1]/hook", False, "carries 127.0.0.1 (IPv4-mapped, RFC 4291)"),
    ("http://127.0.0.1:9/hook", False, "127.0.0.0/8, loopback (RFC 1122)"),
    ("http://localhost:9/hook", False, "localhost: 127.0.0.1 is in 127.0.0.0/8, loopback"),
    ("http://10.1.2.3/hook", False, "10.0.0.0/8, private-use (RFC 1918)"),
    ("http://[::1]:9/hook", False, "::1/128, loopback (RFC 4291)"),
]
"""Addresses a webhook may not go to without --allow-private-addresses: every IPv6 spelling of a
loopback, private, link-local or metadata address is judged by that address."""

PUBLIC = [
    "http://8.8.8.8/hook",
    "https://[2001:4860:4860::8888]/hook",
    "http://[64:ff9b::808:808]/hook",
    "http://[2002:808:808::1]/hook",
]
"""Public addresses, literal so that no DNS is needed: taken with and without the option."""


@pytest.mark.parametrize("allow", [False, True], ids=["closed", "allow-private"])
async def test_an_address_the_server_may_not_connect_to_is_refused_at_registration(
    allow: bool, secure_settings: Settings, clock: ManualClock
) -> None:
    settings = replace(
        secure_settings, allow_private_addresses=allow, max_webhooks_per_owner=len(GUARDED) + 9
    )
    async with serving(settings, clock) as (_, people):
        answers = [await people["admin"].post("/webhooks", json={"url": u}) for u, _, _ in GUARDED]
        taken = [await people["admin"].post("/webhooks", json={"url": u}) for u in PUBLIC]
        listed = (await people["admin"].get("/webhooks")).json()["webhooks"]

    admitted = []
    for answer, (url, never, reason) in zip(answers, GUARDED, strict=True):
        if allow and not never:
            assert answer.status_code == 201, (url, answer.text)
            admitted.append(answer.json()["webhook"]["url"])
            continue
        problem = assert_problem(answer, 422, "rule-violation")
        (error,) = problem["errors"]
        assert error["field"] == "url"
        assert reason in error["message"], (url, error)
        assert (NEVER if never else OPENED) in error["message"], (url, error)
        assert problem["detail"] == f"url {error['message']}"
        if never and allow:
            assert error["message"].endswith("not even with --allow-private-addresses")
    assert [t.status_code for t in taken] == [201] * len(PUBLIC), [t.text for t in taken]
    assert sorted(h["url"] for h in listed) == sorted([*admitted, *PUBLIC])


async def stored_earlier(server: TestServer, url: str) -> str:
    """An endpoint stored as an earlier version, whose guard let more addresses through,
    registered it: the guard at each connection still holds."""
    ctx = server.app[CONTEXT]
    now = ctx.now()
    hook = StoredWebhook(
        webhook_id=secrets.token_hex(8), url=url, events=None, description=None,
        provider_id=None, secret=new_secret(), created_at=now, cursor=0, failures=0,
        next_attempt_at=now, disabled_at=None, disabled_reason=None, format="single",
        batch_through=None,
    )  # fmt: skip
    await ctx.store.create_webhook(hook, most=len(GUARDED) + 9)
    ctx.webhooks.endpoint_made()
    return hook.webhook_id


@pytest.mark.parametrize("allow", [False, True], ids=["closed", "allow-private"])
async def test_a_delivery_connects_to_no_address_the_guard_refuses(
    allow: bool, secure_settings: Settings, clock: ManualClock, receiver: Receiver
) -> None:
    port = receiver.url.split(":")[-1].split("/")[0]
    refused = [(url, reason) for url, never, reason in GUARDED if never or not allow]
    refused = [(u.replace(":9/", f":{port}/"), r) for u, r in refused]
    settings = replace(
        secure_settings, allow_private_addresses=allow, max_webhooks_per_owner=len(GUARDED) + 9
    )
    async with serving(settings, clock) as (server, people):
        ids = [await stored_earlier(server, url) for url, _ in refused]
        # A name of this machine (through the resolver) where a receiver listens.
        reached = await stored_earlier(server, f"http://0x7f000001:{port}/hook")
        await open_slots(people, clock, count=1)
        sender = server.app[CONTEXT].webhooks
        for _ in range(5):  # rounds, not time: a slow machine can end a turn before all are sent
            await sender.deliver_due()
            await sender.idle()
            attempts = [
                (await people["admin"].get(f"/webhooks/{i}/deliveries")).json()["deliveries"]
                for i in [*ids, reached]
            ]
            if all(attempts):
                break

    *refusals, control = attempts
    for (url, reason), tried in zip(refused, refusals, strict=True):
        (attempt,) = tried
        assert attempt["statusCode"] is None
        assert attempt["error"].startswith("refused: "), (url, attempt)
        assert reason in attempt["error"], (url, attempt)
    (delivered,) = control
    if allow:  # the same name, allowed: the receiver is reached, so refusals are the guard's
        assert delivered["statusCode"] == 200, delivered
        assert len(receiver.got) == 1
    else:
        assert delivered["error"].startswith("refused: 0x7f000001: 127.0.0.1"), delivered
        assert receiver.got == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/hook", "must be an http or https URL"),
        ("not-a-url", "must be an http or https URL"),
        ("http://user:pw@example.org/", "must not carry a user name or password"),
        ("http:///x", "must name a host"),
        ("http://example.org/hook#part", "must not have a fragment"),
        ("http://2130706433/hook", "not an IPv4 address written as four numbers"),
        ("http://example.org:99999/hook", "is not a URL"),
    ],
)
async def test_a_url_that_is_not_http_of_a_host_is_refused(
    people: People, url: str, reason: str
) -> None:
    problem = assert_problem(await people["admin"].post("/webhooks", json={"url": url}), 422)
    (error,) = problem["errors"]
    assert error["field"] == "url"
    assert reason in error["message"]
    assert (await people["admin"].get("/webhooks")).json()["webhooks"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook\r\nX-Injected: 1",
        "http://127.0.0.1/hook\n",
        "http://127.0.0.1/a hook",
        " http://127.0.0.1/hook",
        "http://127.0.0.1/hook\t",
        "http://127.0.0.1/\u202ekooh",  # RIGHT-TO-LEFT OVERRIDE
        "http://127.0.0.1/\u2066hook\u2069",  # LEFT-TO-RIGHT ISOLATE ... POP
        "http://127.0.0.1/ho\u200bok",  # ZERO WIDTH SPACE
        "http://127.0.0.1/\u00a0hook",  # NO-BREAK SPACE
        "http://127.0.0.1/hook\x00",
    ],
    ids=["crlf", "lf", "space", "leading-space", "tab", "rlo", "isolate", "zwsp", "nbsp", "nul"],
)
async def test_a_url_with_blank_control_or_direction_changing_characters_is_refused(
    people: People, url: str
) -> None:
    problem = assert_problem(
        await people["admin"].post("/webhooks", json={"url": url}), 400, "invalid-request"
    )
    (error,) = problem["errors"]
    assert error["field"] == "url"
    assert "no space and no control, invisible or direction-changing" in error["message"]
    assert (await people["admin"].get("/webhooks")).json()["webhooks"] == []


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("HTTP://LocalHost:80/a/%7Euser/./b/../%68ook?q=%41", "http://localhost/a/~user/hook?q=A"),
        ("HTTPS://127.0.0.1:443", "https://127.0.0.1/"),
        ("http://[::FFFF:7F00:1]:8080/caf%c3%a9/é", "http://[::ffff:7f00:1]:8080/caf%C3%A9/%C3%A9"),
    ],
)
async def test_a_webhook_url_is_stored_and_listed_normalised(
    people: People, sent: str, stored: str
) -> None:
    made = await register(people, "admin", sent)
    assert made["webhook"]["url"] == stored
    (listed,) = (await people["admin"].get("/webhooks")).json()["webhooks"]
    assert listed["url"] == stored


async def test_several_servers_on_one_postgresql_send_each_change_once(
    postgres: PostgresForTests, receiver: Receiver, clock: ManualClock
) -> None:
    url = postgres.copy()
    settings = Settings(db=url, rate=0, allow_private_addresses=True)
    servers = [TestServer(create_app(settings, clock=clock)) for _ in range(2)]
    for server in servers:
        await server.start_server()
    try:
        async with People.issue(servers[0]) as people:
            slots = await open_slots(people, clock, count=8)
            made = await register(people, "admin", receiver.url, events=["reserved"])
            for server in servers:
                server.app[CONTEXT].webhooks.endpoint_made()
            for n, slot in enumerate(slots):
                await reserve(people, "c1" if n % 2 else "c2", slot)
            await receiver.wait_for_changes(len(slots))
            for server in servers:
                await server.app[CONTEXT].webhooks.idle()
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
        await secure_server.app[CONTEXT].webhooks.idle()

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
    await secure_server.app[CONTEXT].webhooks.idle()

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
    sender = secure_server.app[CONTEXT].webhooks
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


def readme_receiver() -> str:
    """docs/api.md's webhook receiver: its Python block that verifies a signature."""
    heading = "Every change pushed to your other systems: webhooks"
    blocks = code_blocks(DOCS / "api.md", heading, "python")
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
