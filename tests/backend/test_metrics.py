"""GET /metrics, read by prometheus-client's own text-format parser, on both stores: the counts
follow what the API did, and only an admin token reads them on the main port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from backend.api.context import CONTEXT
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from tests.helpers import Api, People, assert_problem

DAY = "2030-03-06"


@pytest.fixture
def secure_settings(db: str) -> Settings:
    """Tokens required; a webhook may name this machine (a port nobody listens on)."""
    return Settings(db=db, rate=0, allow_private_addresses=True)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but never listened on: a delivery to it is refused at once."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition, by name and labels."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(people: People) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await people["admin"].get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


async def book(people: People, provider: str, client: str, at: str) -> dict[str, Any]:
    slot = await Api(people[provider]).slot_at(provider, at)
    reserved = await Api(people[client]).reserve(client, slot)
    assert reserved.status_code == 201, reserved.text
    return slot


async def test_metrics_count_what_the_api_did(
    secure_server: TestServer, people: People, clock: ManualClock
) -> None:
    submitted = await Api(people["p1"]).submit("p1", f"{DAY} 09:00:00", f"{DAY} 11:00:00")
    assert submitted.status_code == 201, submitted.text
    before = await scrape(people)

    confirmed = await book(people, "p1", "c1", f"{DAY} 09:00:00")
    assert (await Api(people["c1"]).confirm(confirmed)).status_code == 200
    assert (await Api(people["c1"]).reserve("c1", confirmed)).status_code == 409
    cancelled = await book(people, "p1", "c1", f"{DAY} 09:15:00")
    assert (await Api(people["c1"]).cancel(cancelled)).status_code == 200
    await book(people, "p1", "c2", f"{DAY} 09:30:00")
    clock.advance(31 * 60)
    assert await secure_server.app[CONTEXT].sweeper.sweep_once() == 1

    after = await scrape(people)
    for name, grew in [
        ("slotbook_reserves_total", 3),
        ("slotbook_confirms_total", 1),
        ("slotbook_cancels_total", 1),
        ("slotbook_lapsed_holds_total", 1),
    ]:
        assert value(after, name) - value(before, name) == grew, name
    route = "slotbook_http_request_duration_seconds_count"
    assert value(after, route, route="reserve_slot", status="2xx") == 3
    assert value(after, route, route="reserve_slot", status="4xx") == 1
    assert value(after, route, route="confirm_reservation", status="2xx") == 1
    # The histogram's buckets are cumulative and end with every request.
    every = value(
        after,
        "slotbook_http_request_duration_seconds_bucket",
        route="reserve_slot",
        status="2xx",
        le="+Inf",
    )
    assert every == 3
    # Every write went through a commit the writer (or the sequencer) measured.
    assert value(after, "slotbook_write_batch_size_count") > value(
        before, "slotbook_write_batch_size_count"
    )
    assert value(after, "slotbook_write_commit_seconds_sum") > 0
    assert value(after, "slotbook_write_queue_depth") == 0
    assert value(after, "slotbook_open_event_streams") == 0


async def test_open_streams_and_webhook_backlog_are_gauges(
    secure_server: TestServer, people: People, closed_port: int
) -> None:
    made = await people["admin"].post(
        "/webhooks", json={"url": f"http://127.0.0.1:{closed_port}/slotbook"}
    )
    assert made.status_code == 201, made.text
    await Api(people["p1"]).submit("p1", f"{DAY} 09:00:00", f"{DAY} 10:00:00")
    async with people["c1"].stream(
        "GET", "/events", headers={"X-Request-Id": "stream-7"}
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["X-Request-Id"] == "stream-7"  # a stream names its id too
        found = await scrape(people)
        assert value(found, "slotbook_open_event_streams") == 1
    assert value(found, "slotbook_webhook_endpoints", state="enabled") == 1
    # Nothing answers on that port, so what was logged waits for it.
    assert value(found, "slotbook_webhook_backlog_changes") >= 1


async def test_only_an_admin_reads_the_metrics(
    people: People, anonymous: httpx.AsyncClient
) -> None:
    refused = assert_problem(await people["p1"].get("/metrics"), 403, "forbidden")
    assert "admin" in refused["detail"]
    assert_problem(await people["c1"].get("/metrics"), 403, "forbidden")
    assert_problem(await anonymous.get("/metrics"), 401, "unauthorized")
