"""What each speed lever buys: the server with every lever, then with one taken away at a time
(`--without NAME`), each measured on the same data beside the bare aiohttp app of the same run,
twice (in order, then in reverse order) and averaged.

Each configuration gets slots of its own to reserve and holds of its own to confirm, so that no
run measures refusals. `python -m bench.lever_bench [smoke]` runs it on its own.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from backend.runtime.levers import DESCRIPTIONS
from bench import server_bench
from bench.server_bench import (
    DAY,
    SERVER_FLAGS,
    Scale,
    bare_app,
    get_scenarios,
    hold_for_confirm,
    provider,
    rows_file,
    seed,
    wrk,
)
from tests.e2e.server_process import ServerProcess

BLOCK = 16
"""Providers per run's reserve (and confirm) slots: 16 x 20 days is 30,720 slots, enough for
5,000 requests a second for 6 s."""

CONFIGURATIONS: list[str | None] = [None, *DESCRIPTIONS]
"""None: every lever; else the one taken away."""


@dataclass(frozen=True)
class LeverFigures:
    taken_away: str | None
    day_rps: float
    reserve_rps: float
    reserve_p99_ms: float
    confirm_rps: float
    bare_rps: float

    @property
    def name(self) -> str:
        return "every lever" if self.taken_away is None else f"without {self.taken_away}"


def run(seconds: float = 6, days: int = 20, *, log: bool = True) -> list[LeverFigures]:
    """Each configuration twice, in order and then in reverse order, so that a machine that
    gets slower or faster during the run favours none of them; the mean of the two."""

    def say(text: str) -> None:
        if log:
            print(f"  [levers] {text}", file=sys.stderr, flush=True)

    order = [*CONFIGURATIONS, *reversed(CONFIGURATIONS)]
    blocks = 2 * len(order)
    scale = Scale("levers", providers=BLOCK * blocks + 4, days=days, seconds=seconds)
    measured: dict[str | None, list[tuple[float, float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        db = str(folder / "levers.db")
        first_day = (int(time.time()) // DAY + 2) * DAY
        say(f"seeding {scale.slots:,} slots")
        seeded = asyncio.run(seed(db, scale, first_day))
        confirm_blocks = range(1, blocks, 2)
        held = [provider(p) for b in confirm_blocks for p in range(b * BLOCK, (b + 1) * BLOCK)]
        asyncio.run(hold_for_confirm(db, held, time.time()))
        token = next(iter(seeded.clients.values()))
        day_path = get_scenarios(scale, first_day)[0][1]
        with bare_app() as bare:
            bare_rps = wrk(bare, seconds, "get.lua", "x", "/")[0]
        for n, lever in enumerate(order):
            flags = [*SERVER_FLAGS] + ([] if lever is None else ["--without", lever])
            say("every lever" if lever is None else f"without {lever}")
            with ServerProcess(db, *flags) as server:
                wrk(server.url, 1, "get.lua", token, day_path)  # warm up: a fresh process
                day = wrk(server.url, seconds, "get.lua", token, day_path)
                mine = range(2 * n * BLOCK, (2 * n + 1) * BLOCK)
                rows = rows_file(db, seeded, mine, folder, f"reserve-{n}")
                reserve = wrk(server.url, seconds, "reserve.lua", str(rows), "distinct", "2")
                theirs = range((2 * n + 1) * BLOCK, (2 * n + 2) * BLOCK)
                rows = rows_file(db, seeded, theirs, folder, f"confirm-{n}")
                confirm = wrk(server.url, seconds, "confirm.lua", str(rows), "distinct", "2")
            if reserve[3] or confirm[3]:
                raise RuntimeError(f"{lever}: answers that were not 2xx; the data no longer fits")
            measured.setdefault(lever, []).append((day[0], reserve[0], reserve[2], confirm[0]))
    return [
        LeverFigures(
            lever,
            day_rps=statistics.mean(m[0] for m in runs),
            reserve_rps=statistics.mean(m[1] for m in runs),
            reserve_p99_ms=statistics.mean(m[2] for m in runs),
            confirm_rps=statistics.mean(m[3] for m in runs),
            bare_rps=bare_rps,
        )
        for lever, runs in measured.items()
    ]


def table(figures: list[LeverFigures]) -> list[str]:
    """Requests/s and the ratio to the bare app for each configuration, with what taking the
    lever away cost against every lever."""
    rows = [
        "| configuration | GET one provider's day | reserve (FULL) | reserve p99"
        " | confirm (FULL) |",
        "|---|---:|---:|---:|---:|",
    ]
    every = figures[0]

    def cell(f: LeverFigures, measure: str) -> str:
        value: float = getattr(f, measure)
        text = f"{value:,.0f} ({value / f.bare_rps:.0%})"
        if f is not every:
            text += f", {value / getattr(every, measure) - 1:+.0%}"
        return text

    for f in figures:
        p99 = "-" if math.isnan(f.reserve_p99_ms) else f"{f.reserve_p99_ms:.1f} ms"
        rows.append(
            f"| {f.name} | {cell(f, 'day_rps')} | {cell(f, 'reserve_rps')} | {p99}"
            f" | {cell(f, 'confirm_rps')} |"
        )
    return rows


def descriptions() -> list[str]:
    return [f"- `{name}`: {text}." for name, text in DESCRIPTIONS.items()]


if __name__ == "__main__":
    smoke = len(sys.argv) > 1 and sys.argv[1] == "smoke"
    if smoke:
        server_bench.CONNECTIONS = 8
    found = run(seconds=1, days=4) if smoke else run()
    print("\n".join(table(found)))
