"""The waitlist's cost to a cancel under `make bench`: what a cancel costs the server when a
hundred clients wait for its provider, against one where nobody waits, on a SQLite file (FULL)
and on PostgreSQL (durable), the real server in a process of its own.

Two providers have a month of 15-minute slots, every one held by a client. On one, a hundred
entries wait, each for half an hour on one of the days; the other has none. Every other slot of
each provider is cancelled through the API (so the freed slots never adjoin and no half hour ever
frees up: every entry is looked at and passed by, none is offered anything, which the run
checks), in rounds alternating between the two, and the figure is the server process's own CPU
time per cancel (from /proc, so it does not depend on how the client and the server share the
cores), with the requests per second beside it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from backend.rules.booking import Rules
from backend.runtime.settings import is_postgresql_url
from backend.store.opening import open_store
from bench.server_bench import DAY, bench_database
from shared.timefmt import format_time
from tests.e2e.server_process import ServerProcess

WAITING = 100
CANCELS = 1000
"""Per provider: half a month's slots."""
ROUNDS = 4
CONCURRENCY = 16
QUIET, CROWDED = "quiet", "crowded"


@dataclass(frozen=True)
class WaitlistFigures:
    store: str
    cpu_us_none: float
    """Server CPU per cancel, nobody waiting."""
    cpu_us_waiting: float
    """Server CPU per cancel, WAITING entries on the provider."""
    rps_none: float
    rps_waiting: float

    @property
    def ratio(self) -> float:
        """A cancel with the line, as a share of one without (1.0: it costs nothing)."""
        return self.cpu_us_none / self.cpu_us_waiting


async def _seed(db: str, first_day: int, days: int) -> None:
    store = await open_store(db, Rules(max_window_seconds=40 * DAY), synchronous="NORMAL")
    try:
        for provider in (QUIET, CROWDED):
            await store.submit_availability(
                provider, first_day, first_day + days * DAY, time.time()
            )
    finally:
        await store.close()
    now = time.time()
    held = [(now, now + 20 * DAY, provider) for provider in (QUIET, CROWDED)]
    entries = [
        (f"{n:032x}", CROWDED, f"waiter-{n:03d}", first_day + (n % days) * DAY,
         first_day + (n % days + 1) * DAY, now + n)
        for n in range(WAITING)
    ]  # fmt: skip
    if is_postgresql_url(db):
        conn = await asyncpg.connect(db)
        try:
            await conn.executemany(
                "UPDATE slots SET status = 'RESERVED', reserved_at = $1, held_until = $2,"
                " client_id = 'holder', appointment_id = id WHERE provider_id = $3",
                held,
            )
            await conn.executemany(
                "INSERT INTO waitlist_entries (id, provider_id, client_id, window_start,"
                " window_end, minutes, joined_at, status, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, 30, $6, 'waiting', $6)",
                entries,
            )
        finally:
            await conn.close()
        return
    with sqlite3.connect(db) as file:
        file.executemany(
            "UPDATE slots SET status = 'RESERVED', reserved_at = ?, held_until = ?,"
            " client_id = 'holder', appointment_id = id WHERE provider_id = ?",
            held,
        )
        file.executemany(
            "INSERT INTO waitlist_entries (id, provider_id, client_id, window_start, window_end,"
            " minutes, joined_at, status, updated_at) VALUES (?, ?, ?, ?, ?, 30, ?, 'waiting', ?)",
            [(*e, e[-1]) for e in entries],
        )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _cancel(url: str, slot_ids: list[str]) -> float:
    """Cancel these holds, CONCURRENCY at a time; the seconds it took."""
    queue = list(reversed(slot_ids))
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def worker() -> None:
            while queue:
                slot_id = queue.pop()
                answer = await http.delete(
                    f"/reservations/{slot_id}", params={"clientId": "holder"}
                )
                if answer.status_code != 200:
                    raise RuntimeError(f"cancel {slot_id}: {answer.status_code} {answer.text}")

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - began


def _every_other(url: str, provider: str, first_day: int, days: int) -> list[str]:
    answer = httpx.get(
        f"{url}/providers/{provider}/slots",
        params={
            "startTime": format_time(first_day),
            "endTime": format_time(first_day + days * DAY),
        },
        timeout=60,
    )
    answer.raise_for_status()
    slots = sorted(answer.json()["timeSlots"], key=lambda s: s["timestamp"])
    return [s["timeSlotId"] for s in slots[::2]][:CANCELS]


def run(store: str, *, smoke: bool = False) -> WaitlistFigures:
    days = 4 if smoke else 30
    cancels = 100 if smoke else CANCELS
    first_day = (int(time.time()) // DAY + 2) * DAY
    with tempfile.TemporaryDirectory() as folder, bench_database(store, Path(folder)) as db:
        asyncio.run(_seed(db, first_day, days))
        cpu = {QUIET: 0.0, CROWDED: 0.0}
        wall = {QUIET: 0.0, CROWDED: 0.0}
        with ServerProcess(db, "--no-auth", "--rate", "0", traced=False) as server:
            todo = {p: _every_other(server.url, p, first_day, days)[:cancels] for p in cpu}
            per_round = -(-min(len(ids) for ids in todo.values()) // ROUNDS)
            for n in range(ROUNDS):
                for provider in (QUIET, CROWDED) if n % 2 == 0 else (CROWDED, QUIET):
                    chunk = todo[provider][n * per_round : (n + 1) * per_round]
                    before = _cpu_seconds(server.pid)
                    wall[provider] += asyncio.run(_cancel(server.url, chunk))
                    cpu[provider] += _cpu_seconds(server.pid) - before
            line = httpx.get(f"{server.url}/waitlist", params={"providerId": CROWDED}, timeout=60)
            statuses = {e["status"] for e in line.json()["entries"]}
            if statuses != {"waiting"}:
                raise RuntimeError(f"the line was offered time ({statuses}): not the scenario")
        done = {p: min(len(ids), per_round * ROUNDS) for p, ids in todo.items()}
    return WaitlistFigures(
        store,
        cpu[QUIET] / done[QUIET] * 1e6,
        cpu[CROWDED] / done[CROWDED] * 1e6,
        done[QUIET] / wall[QUIET],
        done[CROWDED] / wall[CROWDED],
    )


def table(figures: list[WaitlistFigures]) -> list[str]:
    rows = [
        f"| store | server CPU per cancel, nobody waiting | with {WAITING} waiting | share"
        " | cancels/s, nobody waiting | with the line |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        rows.append(
            f"| {f.store} | {f.cpu_us_none:,.0f} us | {f.cpu_us_waiting:,.0f} us | {f.ratio:.0%}"
            f" | {f.rps_none:,.0f} | {f.rps_waiting:,.0f} |"
        )
    return rows


if __name__ == "__main__":
    for found in [run(s, smoke="smoke" in sys.argv) for s in sys.argv[1:] if s != "smoke"]:
        print(found, f"share {found.ratio:.0%}")
