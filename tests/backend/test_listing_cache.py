"""GET /availability answered from the listing cache says exactly what a fresh read says.

Two real servers share one SQLite file and one clock: every write goes through the first, which
keeps its listing answers; the second keeps none (`--without listing-cache`). After each step of
a random walk (holds of one to three slots, confirms, cancels, moves, new and removed
availability, the sweeper, the clock moving forward a little or a lot, jumping back, or landing
exactly on a hold's end or a slot's notice horizon) every query of a fixed set is asked of both,
and the answers must be the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.app import create_app
from backend.live.listing_cache import ListingCache
from backend.runtime.clock import ManualClock
from backend.runtime.levers import Levers
from backend.runtime.settings import Settings, SettingsError, parse_serve_args
from shared.timefmt import format_time, parse_time
from tests.helpers import T0

HOUR = 3600
PROVIDERS = ("p1", "p2", "p3")
CLIENTS = ("c1", "c2", "c3", "c4")
RULES = {"no_auth": True, "rate": 0, "notice_hours": 2, "hold_minutes": 45, "max_holds": 3}


def stamp(epoch: float) -> str:
    return format_time(epoch)


QUERIES: list[dict[str, Any]] = [
    {"startTime": stamp(T0), "endTime": stamp(T0 + 24 * HOUR), "providerId": "p1"},
    {"startTime": stamp(T0), "endTime": stamp(T0 + 48 * HOUR), "providerId": "p2", "minutes": 45},
    {"startTime": stamp(T0), "endTime": stamp(T0 + 12 * HOUR)},
    {"startTime": stamp(T0), "endTime": stamp(T0 + 48 * HOUR), "includeTooSoon": "true"},
    {"startTime": stamp(T0), "endTime": stamp(T0 + 48 * HOUR), "providerId": "p1", "limit": 3},
    {"startTime": stamp(T0), "endTime": stamp(T0 + 48 * HOUR), "minutes": 30, "limit": 7},
    {
        "startTime": stamp(T0 + 3 * HOUR),
        "endTime": stamp(T0 + 30 * HOUR),
        "providerId": "p3",
        "includeTooSoon": "true",
        "minutes": 30,
    },
]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, Any]]:
    """(cached, uncached, the cached server's services), on one file and one clock."""
    clock = ManualClock(T0)
    db = str(tmp_path / "slotbook.db")
    cached = TestServer(create_app(Settings(db=db, **RULES), clock=clock))  # type: ignore[arg-type]
    await cached.start_server()
    plain = TestServer(
        create_app(
            Settings(db=db, without=("listing-cache",), sweep_seconds=3600, **RULES),  # type: ignore[arg-type]
            clock=clock,
        )
    )
    await plain.start_server()
    async with (
        httpx.AsyncClient(base_url=str(cached.make_url("")), timeout=30) as one,
        httpx.AsyncClient(base_url=str(plain.make_url("")), timeout=30) as other,
    ):
        yield one, other, cached.app[CONTEXT]
    await plain.close()
    await cached.close()


async def every_slot(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for provider in PROVIDERS:
        response = await http.get(
            f"/providers/{provider}/slots",
            params={"startTime": stamp(T0 - 24 * HOUR), "endTime": stamp(T0 + 72 * HOUR)},
        )
        assert response.status_code == 200, response.text
        found += response.json()["timeSlots"]
    return found


async def compare(cached: httpx.AsyncClient, plain: httpx.AsyncClient, step: str) -> None:
    for query in QUERIES:
        params: dict[str, Any] | None = dict(query)
        for _page in range(3):  # the first three pages
            if params is None:
                break
            fresh = await plain.get("/availability", params=params)
            kept = await cached.get("/availability", params=params)
            assert fresh.status_code == 200, fresh.text
            assert kept.content == fresh.content, f"after {step}, for {params}"
            cursor = fresh.json().get("nextCursor")
            params = None if cursor is None else {**params, "cursor": cursor}


async def step(
    rng: random.Random, http: httpx.AsyncClient, clock: ManualClock, services: Any
) -> str:
    """One random thing happening; its description."""
    slots = await every_slot(http)
    held = [s for s in slots if s["status"] in ("RESERVED", "CONFIRMED")]
    choice = rng.choice(
        ["publish", "remove", "hold", "hold", "hold", "confirm", "cancel", "move", "sweep", "time"]
    )
    client = rng.choice(CLIENTS)
    if choice == "publish":
        start = T0 + rng.randrange(0, 44) * HOUR + rng.choice([0, 900, 1800])
        window = {"providerId": rng.choice(PROVIDERS), "startTime": stamp(start)}
        window["endTime"] = stamp(start + rng.randrange(1, 12) * 900)
        response = await http.post("/availability", json=window)
    elif choice == "remove":
        start = T0 + rng.randrange(0, 44) * HOUR
        window = {"providerId": rng.choice(PROVIDERS), "startTime": stamp(start)}
        window["endTime"] = stamp(start + rng.randrange(1, 8) * 900)
        response = await http.request("DELETE", "/availability", json=window)
    elif choice == "hold" and slots:
        slot = rng.choice(slots)
        body = {"clientId": client, "timeSlotId": slot["timeSlotId"], "timeSlot": slot["timestamp"]}
        response = await http.post(
            "/availability/reserve", json={**body, "minutes": rng.choice([15, 15, 30, 45])}
        )
    elif choice in ("confirm", "cancel", "move") and held:
        slot = rng.choice(held)
        who = slot.get("clientId", client)
        if choice == "confirm":
            response = await http.put(
                f"/availability/confirm/{slot['timeSlotId']}",
                json={"timeSlot": slot["timestamp"], "clientId": who},
            )
        elif choice == "cancel":
            response = await http.delete(
                f"/reservations/{slot['timeSlotId']}", params={"clientId": who}
            )
        else:
            to = rng.choice(slots)
            response = await http.post(
                f"/reservations/{slot['timeSlotId']}/move",
                json={"toTimeSlotId": to["timeSlotId"], "timeSlot": to["timestamp"]},
            )
    elif choice == "sweep":
        lapsed = await services.store.expire_lapsed(clock.now())
        return f"sweep ({lapsed} lapsed)"
    else:
        return moved_clock(rng, clock, slots)
    assert response.status_code < 500, response.text
    return f"{choice} -> {response.status_code}"


def moved_clock(rng: random.Random, clock: ManualClock, slots: list[dict[str, Any]]) -> str:
    how = rng.choice(["forward", "forward", "back", "onto a hold's end", "onto a horizon"])
    if how == "forward":
        clock.advance(rng.choice([1, 60, 899, 900, 1800, 2 * HOUR, 7 * HOUR]))
    elif how == "back":
        clock.advance(-rng.choice([1, 900, 3 * HOUR]))
    elif how == "onto a hold's end":
        ends = [parse_time(s["heldUntil"]) for s in slots if s.get("heldUntil")]
        if ends:
            clock.set(rng.choice(ends) + rng.choice([-1, 0, 0, 1]))
    else:
        starts = [parse_time(s["timestamp"]) for s in slots]
        if starts:
            clock.set(rng.choice(starts) - RULES["notice_hours"] * HOUR + rng.choice([-1, 0, 1]))
    return f"clock {how} to {stamp(clock.now())}"


async def test_cached_listings_match_fresh_reads_through_writes_lapses_and_clock_jumps(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient, Any],
) -> None:
    """One walk of 150 steps (a second seed doubled the cost and found nothing the first did
    not)."""
    cached, plain, services = pair
    clock: ManualClock = services.clock
    for provider in PROVIDERS:
        response = await cached.post(
            "/availability",
            json={
                "providerId": provider,
                "startTime": stamp(T0 + 3 * HOUR),
                "endTime": stamp(T0 + 40 * HOUR),
            },
        )
        assert response.status_code == 201, response.text
    rng = random.Random(0)
    await compare(cached, plain, "the first availability")
    for n in range(150):
        done = await step(rng, cached, clock, services)
        await compare(cached, plain, f"step {n}: {done}")
    cache = services.listing_cache
    assert cache is not None
    assert cache.hits > 300, "the walk never answered from the cache, so it proved nothing"


async def test_only_a_store_that_makes_every_commit_itself_keeps_listing_answers(
    db: str, store_kind: str, clock: ManualClock
) -> None:
    """Over PostgreSQL another process's commit is heard of only a moment later (NOTIFY), so an
    answer kept here could be out of date: nothing is kept. Over SQLite this process is the only
    writer, and answers are kept."""
    server = TestServer(create_app(Settings(db=db, no_auth=True), clock=clock))
    await server.start_server()
    try:
        kept = server.app[CONTEXT].listing_cache is not None
        assert kept == (store_kind == "sqlite")
    finally:
        await server.close()


def test_an_answer_read_while_its_provider_changed_is_not_kept() -> None:
    """With reads on a thread pool (`--read-threads`), a change can be reported while a read is
    under way; that read may predate it, so it is not kept. A change elsewhere does not matter to
    a provider's answer, but does to an answer about all providers."""
    cache = ListingCache()
    mine, everyone = cache.ticket("p1"), cache.ticket(None)
    cache.changed(["p2"])
    cache.put("a", "p1", b"[1]", mine, 10, 20)
    cache.put("b", None, b"[2]", everyone, 10, 20)
    assert (cache.get("a", 11), cache.get("b", 11)) == (b"[1]", None)
    stale = cache.ticket("p1")
    cache.changed(["p1"])
    cache.put("c", "p1", b"[3]", stale, 10, 20)
    assert cache.get("c", 11) is None
    assert cache.get("a", 11) is None, "the change dropped what was kept about p1"


def test_the_cache_keeps_to_its_size_dropping_the_least_recently_used() -> None:
    cache = ListingCache(max_bytes=4000)
    for n in range(5):
        cache.put(f"q{n}", "p1", bytes(900), cache.ticket("p1"), 0, 100)
        cache.get("q0", 1)  # q0 stays in use
    assert cache.get("q0", 1) is not None
    assert cache.get("q1", 1) is None
    assert len(cache) == 4
    cache.clear()
    assert len(cache) == 0


def test_levers_are_taken_away_by_name_and_an_unknown_one_is_refused() -> None:
    settings = parse_serve_args(["--without", "listing-cache, checkpointer"])
    assert settings.levers.taken_away() == ["listing-cache", "checkpointer"]
    assert parse_serve_args([]).levers == Levers()
    from_env = parse_serve_args([], environ={"SLOTBOOK_WITHOUT": "auth-cache"})
    assert from_env.levers == Levers(auth_cache=False)
    with pytest.raises(SettingsError, match="--without cache: no such lever; the levers are"):
        parse_serve_args(["--without", "cache"])
