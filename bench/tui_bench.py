"""The terminal app's figures: start to first drawn grid (embedded server included), keypress to
repaint over 200 moves, and peak memory.

The parent prepares a data directory (a provider identity and a week of availability), then runs
the app in a child process, headless, so that the start-up time includes the interpreter, the
imports, the embedded server and the first load.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

MOVES = 200


@dataclass(frozen=True)
class AppFigures:
    first_grid_s: float
    repaint_median_ms: float
    repaint_p95_ms: float
    peak_rss_mb: float


async def prepare(data: Path) -> None:
    """A provider identity with a week of open slots, made through the embedded server."""
    from tui.client import SlotbookClient
    from tui.embedded import EmbeddedServer, admin_token
    from tui.identities import Identity, IdentityStore

    db = data / "slotbook.db"
    server = EmbeddedServer(db)
    url = await server.start()
    try:
        admin = SlotbookClient(url, await admin_token(db))
        made = await admin.create_token("provider", "bench-provider", "Bench Provider")
        assert made.token is not None
        IdentityStore(data).add(
            Identity("provider", "bench-provider", "Bench Provider", made.token)
        )
        provider = SlotbookClient(url, made.token)
        now = time.time()
        start = (int(now) // 86_400 + 1) * 86_400
        for day in range(7):
            day_start = start + day * 86_400
            await provider.submit(day_start + 8 * 3600, day_start + 17 * 3600)
        await provider.aclose()
        await admin.aclose()
    finally:
        await server.stop()


def child(data: Path, started: float) -> None:
    """Run the app headless; print the figures as JSON. Starts as `slotbook` does: the embedded
    server is launched before the interface is imported."""
    from tui.backends import EmbeddedBackend

    backend = EmbeddedBackend(data / "slotbook.db")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(backend.launch())

    from tui.app import SlotbookApp
    from tui.screens.provider import ProviderScreen
    from tui.widgets.week_grid import WeekGrid

    app = SlotbookApp(backend, zone=ZoneInfo("UTC"))
    painted: list[float] = []
    original = WeekGrid.render_line

    def timed(self: WeekGrid, y: int):  # type: ignore[no-untyped-def]
        painted.append(time.perf_counter())
        return original(self, y)

    WeekGrid.render_line = timed  # type: ignore[method-assign]
    figures: dict[str, float] = {}

    async def pilot_run(pilot) -> None:  # type: ignore[no-untyped-def]
        while not (isinstance(app.screen, ProviderScreen) and app.screen.loaded):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        await pilot.pause()
        figures["first_grid_s"] = time.time() - started
        latencies: list[float] = []
        for n in range(MOVES):
            key = ("j", "l", "k", "h")[n % 4]
            before = time.perf_counter()
            painted.clear()
            await pilot.press(key)
            while not painted:  # noqa: ASYNC110 - polls the render hook
                await asyncio.sleep(0)
            latencies.append((painted[0] - before) * 1000)
        figures["repaint_median_ms"] = statistics.median(latencies)
        figures["repaint_p95_ms"] = statistics.quantiles(latencies, n=20)[-1]
        app.exit()

    loop.run_until_complete(app.run_async(headless=True, size=(120, 40), auto_pilot=pilot_run))
    loop.run_until_complete(backend.stop())
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM belongs to the program now running;
    ru_maxrss is carried across exec, so in a child of `make bench` it reported the peak of the
    bench process it was forked from (about 300 MB), not the app's."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kb) / 1024


def measure() -> AppFigures:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        asyncio.run(prepare(data))
        started = time.time()
        done = subprocess.run(
            [sys.executable, "-m", "bench.tui_bench", "--child", str(data), str(started)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "SLOTBOOK_DATA_DIR": str(data)},
        )
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
        return AppFigures(**json.loads(line))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), float(sys.argv[3]))
    else:
        print(measure())
