"""Rate limits per token (and per address without one), driven by the fake clock; a write costs
one token more for every 100 slots it changed, and a debt holds up the next write, not reads."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.app import create_app
from backend.gate.ratelimit import RateLimiter
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
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


async def save_a_year(people: People) -> float:
    """p1 saves a year of Monday mornings, which costs more than a full bucket holds; the seconds
    until p1's debt is paid and one token is back for a write."""
    year = {
        "timeZone": "Europe/Berlin",
        "weekly": [{"day": "mon", "start": "09:00", "end": "12:00"}],
        "horizonDays": 366,
    }
    saved = await people["p1"].put("/providers/p1/schedule", json=year)
    assert saved.status_code == 200, saved.text
    cost = 1 + saved.json()["created"] / 100
    assert cost > BURST, "the test needs a write that costs more than the bucket holds"
    wait: float = (1 - (BURST - cost)) / RATE
    return wait


async def test_a_write_that_changes_many_slots_is_made_and_its_caller_waits_to_pay_for_it(
    people: People, clock: ManualClock
) -> None:
    """A year of Monday mornings: more slots than a full bucket pays for. It is saved all the
    same, and leaves the bucket in debt: the next write is refused until time has refilled it."""
    wait = await save_a_year(people)

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
    again = {"startTime": "2031-06-02 10:00:00", "endTime": "2031-06-02 11:00:00"}
    refused = await people["p1"].post("/availability", json=again)
    assert_problem(refused, 429, "rate-limited")  # that write cost its token, and its 4 slots


async def test_a_caller_in_debt_reads_at_the_ordinary_rate_and_waits_only_to_write(
    people: People, clock: ManualClock
) -> None:
    """A provider saves a year's schedule, leaving their bucket in debt: they can load their week
    at once, as often as anyone may read (and no more), and reading neither pays the debt nor adds
    to it: their next write waits as long as it would have without the reads."""
    write_wait = await save_a_year(people)

    week = {"startTime": "2030-03-11 00:00:00", "endTime": "2030-03-18 00:00:00"}
    for _ in range(BURST - 1):  # the PUT took one call of the burst
        loaded = await people["p1"].get("/availability", params={**week, "providerId": "p1"})
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["availableTimeSlots"], "the week the schedule opened"
    assert (await people["p1"].head("/me")).status_code == 429, "reads keep the ordinary limit"
    limited = await people["p1"].get("/availability", params=week)
    assert_problem(limited, 429, "rate-limited")
    assert limited.headers["Retry-After"] == str(math.ceil(1 / RATE)), "a read's wait, not debt's"

    clock.advance(1 / RATE)  # one call's worth: a read gets in, a write does not
    assert (await people["p1"].get("/availability", params=week)).status_code == 200
    window = {"startTime": "2031-06-02 09:00:00", "endTime": "2031-06-02 10:00:00"}
    refused = await people["p1"].post("/availability", json=window)
    assert_problem(refused, 429, "rate-limited")
    left = write_wait - 1 / RATE
    assert refused.headers["Retry-After"] == str(math.ceil(left)), "the reads changed no debt"
    assert (await people["p1"].request("DELETE", "/availability", json=window)).status_code == 429

    clock.advance(left - 0.01)
    assert (await people["p1"].post("/availability", json=window)).status_code == 429
    clock.advance(0.02)
    opened = await people["p1"].post("/availability", json=window)
    assert opened.status_code == 201, opened.text


async def test_a_rate_of_zero_means_no_limit(db_path: Path, clock: ManualClock) -> None:
    limiter = RateLimiter(0, 1, clock)
    assert all(limiter.take("x", write=True) is None for _ in range(1000))
    limiter.charge("x", 1e9)
    assert limiter.take("x", write=True) is None


def test_buckets_refill_at_the_rate_up_to_the_burst(clock: ManualClock) -> None:
    limiter = RateLimiter(rate=2, burst=2, clock=clock)
    assert limiter.take("a", write=False) is None
    assert limiter.take("a", write=True) is None
    assert limiter.take("a", write=False) == pytest.approx(0.5)
    clock.advance(10)  # a long pause refills to the burst, no further
    assert limiter.take("a", write=True) is None
    assert limiter.take("a", write=False) is None
    assert limiter.take("a", write=True) is not None


def test_a_debt_holds_up_writes_only_and_reads_cannot_pay_or_grow_it(clock: ManualClock) -> None:
    limiter = RateLimiter(rate=1, burst=4, clock=clock)
    assert limiter.take("a", write=True) is None
    limiter.charge("a", 9)  # the write bucket: 4 - 1 - 9 = -6
    assert limiter.take("a", write=True) == pytest.approx(7)
    for _ in range(3):  # the call bucket had 3 left
        assert limiter.take("a", write=False) is None
    assert limiter.take("a", write=False) == pytest.approx(1)
    assert limiter.take("a", write=True) == pytest.approx(7)
    clock.advance(5)
    assert limiter.take("a", write=False) is None
    assert limiter.take("a", write=True) == pytest.approx(2)
    clock.advance(2)
    assert limiter.take("a", write=True) is None


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
