"""Weekly schedules under `make bench`: setting one with a 366-day horizon over HTTP, and the
daily roll of 1,000 providers' schedules, each timed on a SQLite file (FULL) and on PostgreSQL
(durable), the real server code on a real database.

Setting a schedule goes through the real aiohttp app on a socket (PUT with an Idempotency-Key, as
the terminal app sends it): 8 to 17 each weekday in Berlin, a year ahead, about 25,000 slots and as
many changes in one transaction. The roll is the sweeper's call after a local midnight, which opens
one new date for every provider (32 slots each); it is timed on the store, as the sweeper calls it.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiohttp import web

from backend.app import create_app
from backend.rules.booking import Rules
from backend.rules.schedule import Hours, Schedule
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from backend.store.opening import open_store
from bench.server_bench import bench_database
from shared.timefmt import parse_time

NOW = parse_time("2030-03-04 09:00:00")
"""Monday 4 March 2030, 10:00 in Berlin."""

WEEKDAYS_8_TO_17 = [
    {"day": day, "start": "08:00", "end": "17:00"} for day in ("mon", "tue", "wed", "thu", "fri")
]


@dataclass(frozen=True)
class ScheduleFigures:
    store: str
    put_year_ms: float
    """Median time of a PUT that opens a year of slots."""
    put_year_slots: int
    roll_ms: float
    roll_providers: int
    roll_slots: int


async def _put_year(db: str, runs: int) -> tuple[float, int]:
    settings = Settings(db=db, no_auth=True, rate=0)
    runner = web.AppRunner(create_app(settings, clock=ManualClock(NOW)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    timings: list[float] = []
    created = 0
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            body = {"timeZone": "Europe/Berlin", "weekly": WEEKDAYS_8_TO_17, "horizonDays": 366}
            for n in range(runs):
                started = time.perf_counter()
                answer = await http.put(
                    f"/providers/year-{n}/schedule",
                    json=body,
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                timings.append(time.perf_counter() - started)
                answer.raise_for_status()
                created = answer.json()["created"]
    finally:
        await runner.cleanup()
    return statistics.median(timings) * 1000, created


async def _roll(db: str, providers: int) -> tuple[float, int]:
    rules = Rules()
    store = await open_store(db, rules)
    try:
        week = tuple((Hours(9 * 60, 17 * 60),) for _ in range(7))
        for n in range(providers):
            await store.set_schedule(f"roll-{n}", Schedule("Europe/Berlin", week, {}, 28), NOW)
        started = time.perf_counter()
        rolled = await store.roll_schedules(NOW + 86_400)
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    return elapsed * 1000, rolled.created


def run(store: str, *, smoke: bool = False) -> ScheduleFigures:
    """Both measures on one kind of store; fewer providers and runs with `smoke`."""
    providers, runs = (50, 1) if smoke else (1000, 5)
    with tempfile.TemporaryDirectory() as folder:
        with bench_database(store, Path(folder)) as db:
            put_ms, year_slots = asyncio.run(_put_year(db, runs))
        (Path(folder) / "roll").mkdir()
        with bench_database(store, Path(folder) / "roll") as db:
            roll_ms, roll_slots = asyncio.run(_roll(db, providers))
    return ScheduleFigures(store, put_ms, year_slots, roll_ms, providers, roll_slots)


def table(figures: list[ScheduleFigures]) -> list[str]:
    rows = [
        "| store | PUT of a 366-day schedule | slots it opened | daily roll | providers |"
        " slots it opened | goal | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for f in figures:
        met = "yes" if max(f.put_year_ms, f.roll_ms) < 1000 else "no"
        rows.append(
            f"| {f.store} | {f.put_year_ms:,.0f} ms | {f.put_year_slots:,} | {f.roll_ms:,.0f} ms"
            f" | {f.roll_providers:,} | {f.roll_slots:,} | each well under 1 s | {met} |"
        )
    return rows
