"""`make bench`: measure, print one table, and write bench/RESULTS.md.

Sections: the terminal app (start to first grid, keypress to repaint, memory). The server's load
scenarios are added by bench/server_bench.py when wrk is available.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
from pathlib import Path

from bench.tui_bench import AppFigures, measure

RESULTS = Path(__file__).with_name("RESULTS.md")

GOALS = {
    "first_grid_s": ("start to first drawn grid (embedded server included)", "< 1 s", 1.0),
    "repaint_median_ms": ("keypress to repaint, median of 200 moves", "< 16 ms", 16.0),
    "repaint_p95_ms": ("keypress to repaint, 95th percentile", "", None),
    "peak_rss_mb": ("peak memory of the app", "< 150 MB", 150.0),
}


def machine() -> str:
    cpus = os.cpu_count()
    python = platform.python_version()
    return f"{platform.system()} {platform.machine()}, {cpus} cores, Python {python}"


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def app_table(figures: AppFigures) -> list[str]:
    rows = ["| measure | value | goal | met |", "|---|---|---|---|"]
    for key, (label, goal, limit) in GOALS.items():
        value = getattr(figures, key)
        unit = "s" if key.endswith("_s") else "ms" if key.endswith("_ms") else "MB"
        met = "" if limit is None else ("yes" if value < limit else "no")
        rows.append(f"| {label} | {value:.3g} {unit} | {goal} | {met} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args()
    figures = measure()
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()}, commit {commit()}.",
        "",
        "## The terminal app",
        "",
        *app_table(figures),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)
        print(f"(written to {RESULTS})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
