"""Rate limits per token (and per address without one), driven by the fake clock; a write costs
one token more for every 100 slots it changed."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.app import create_app
from backend.clock import ManualClock
from backend.ratelimit import RateLimiter
from backend.settings import Settings
from tests.helpers import People, assert_problem

RATE, BURST = 0.5, 3


@pytest.fixture
def secure_settings(db: str) -> Settings:
    return Settings(db=db, rate=RATE, burst=BURST)


async def test_a_token_over_its_limit_is_told_when_to_come_back(
    people: People, clock: ManualClock
) -> None:
    for _ in range(3):
        assert (await people["c1"].get("/me")).status_code == 200
    refused = await people["c1"].get("/me")
    assert_problem(refused, 429, "rate-limited")
    assert refused.headers["Retry-After"] == "2"
    clock.advance(1.9)
    assert (await people["c1"].get("/me")).status_code == 429
    clock.advance(0.1)
    assert (await people["c1"].get("/me")).status_code == 200


async def test_one_noisy_caller_does_not_starve_the_others(people: People) -> None:
    for _ in range(4):
        await people["c1"].get("/me")
    assert (await people["c1"].get("/me")).status_code == 429
    assert (await people["c2"].get("/me")).status_code == 200


async def test_callers_without_a_valid_token_share_their_addresss_bucket(
    people: People, anonymous: httpx.AsyncClient
) -> None:
    for _ in range(3):
        assert (await anonymous.get("/me")).status_code == 401
    bad_token = {"Authorization": "Bearer sbk_0000000000000000_" + "A" * 43}
    guessing = await anonymous.get("/me", headers=bad_token)
    assert_problem(guessing, 429, "rate-limited")
    assert (await anonymous.get("/healthz")).status_code == 429
    assert (await people["c1"].get("/me")).status_code == 200


async def test_a_write_that_changes_many_slots_is_made_and_its_caller_waits_to_pay_for_it(
    people: People, clock: ManualClock
) -> None:
    """A year of Monday mornings: more slots than a full bucket pays for. It is saved all the
    same, and leaves the bucket in debt: the next write is refused until time has refilled it."""
    year = {
        "timeZone": "Europe/Berlin",
        "weekly": [{"day": "mon", "start": "09:00", "end": "12:00"}],
        "horizonDays": 366,
    }
    saved = await people["p1"].put("/providers/p1/schedule", json=year)
    assert saved.status_code == 200, saved.text
    created = saved.json()["created"]
    cost = 1 + created / 100
    assert cost > BURST, "the test needs a write that costs more than the bucket holds"
    wait = (1 - (BURST - cost)) / RATE  # until the debt is paid and one token is back

    window = {"startTime": "2031-06-02 09:00:00", "endTime": "2031-06-02 10:00:00"}
    refused = await people["p1"].post("/availability", json=window)
    assert_problem(refused, 429, "rate-limited")
    assert refused.headers["Retry-After"] == str(math.ceil(wait))
    assert (await people["p2"].post("/availability", json=window)).status_code == 201
    clock.advance(wait - 0.01)
    assert (await people["p1"].post("/availability", json=window)).status_code == 429
    clock.advance(0.02)  # just past it (a hundredth, and room for rounding)
    opened = await people["p1"].post("/availability", json=window)
    assert opened.status_code == 201, opened.text
    assert (await people["p1"].get("/me")).status_code == 429, "that write cost its token too"


async def test_a_rate_of_zero_means_no_limit(db_path: Path, clock: ManualClock) -> None:
    limiter = RateLimiter(0, 1, clock)
    assert all(limiter.take("x") is None for _ in range(1000))


def test_buckets_refill_at_the_rate_up_to_the_burst(clock: ManualClock) -> None:
    limiter = RateLimiter(rate=2, burst=2, clock=clock)
    assert limiter.take("a") is None
    assert limiter.take("a") is None
    assert limiter.take("a") == pytest.approx(0.5)
    clock.advance(10)  # a long pause refills to the burst, no further
    assert limiter.take("a") is None
    assert limiter.take("a") is None
    assert limiter.take("a") is not None


@pytest.fixture
async def tight_server(db: str, clock: ManualClock) -> AsyncIterator[TestServer]:
    running = TestServer(create_app(Settings(db=db, rate=1, burst=1), clock=clock))
    await running.start_server()
    yield running
    await running.close()


async def test_a_retry_after_rounds_up_to_whole_seconds(
    tight_server: TestServer, clock: ManualClock
) -> None:
    async with httpx.AsyncClient(base_url=str(tight_server.make_url(""))) as client:
        await client.get("/healthz")
        clock.advance(0.25)
        refused = await client.get("/healthz")
        assert refused.headers["Retry-After"] == "1"
        clock.advance(0.75)
        assert (await client.get("/healthz")).status_code == 200
