"""`make bench`: measure the server and the terminal app, print one report, write bench/RESULTS.md.

The server's scenarios run with wrk against the real server and, in the same run, a bare aiohttp
app (the framework's ceiling on this machine); every figure is also given as a ratio to it, so
results from different machines can be compared. `--smoke` runs everything briefly on little data
(CI runs it so that the benchmark cannot rot) and leaves RESULTS.md alone.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from bench import lever_bench, schedule_bench, server_bench, waitlist_bench
from bench.server_bench import LARGE, SMOKE, STANDARD, Result, ServerFigures
from bench.tui_bench import AppFigures, measure

RESULTS = Path(__file__).with_name("RESULTS.md")

APP_GOALS = {
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


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f} ms"


def server_table(figures: ServerFigures, postgres: ServerFigures | None = None) -> list[str]:
    """The SQLite figures, and beside them PostgreSQL's for the same scenario when measured."""
    pg_head, pg_rule = ("", "")
    if postgres is not None:
        pg_head, pg_rule = (
            " PostgreSQL requests/s | PostgreSQL p99 | PostgreSQL ratio |",
            "---:|---:|---:|",
        )
    rows = [
        "| scenario | sync | requests/s | p50 | p99 | ratio to bare | peak RSS | not 2xx |"
        + pg_head,
        "|---|---|---:|---:|---:|---:|---:|---:|" + pg_rule,
    ]
    for r in figures.results:
        rss = "-" if math.isnan(r.rss_mb) else f"{r.rss_mb:.0f} MB"
        row = (
            f"| {r.scenario} | {r.sync} | {r.rps:,.0f} | {_ms(r.p50_ms)} | {_ms(r.p99_ms)}"
            f" | {r.ratio:.0%} | {rss} | {r.errors:,} |"
        )
        if postgres is not None:
            pg = _find(postgres, r.scenario, r.sync)
            row += (
                " - | - | - |"
                if pg is None
                else f" {pg.rps:,.0f} | {_ms(pg.p99_ms)} | {pg.ratio:.0%} |"
            )
        rows.append(row)
    rows.append(
        "| SSE fan-out, reserve sent to event at each of 100 subscribers | FULL | | "
        f"{_ms(figures.fan_out_p50_ms)}"
        f" | {_ms(figures.fan_out_p99_ms)} | | | |" + (" | | |" if postgres is not None else "")
    )
    return rows


def fsync_line(postgres: ServerFigures | None) -> list[str]:
    if postgres is None or math.isnan(postgres.writes_per_fsync):
        return []
    return [
        f"PostgreSQL group commit: {postgres.writes_per_fsync:.2f} durable reserves per WAL fsync"
        " during the distinct-reserve scenario (1.00 would mean none share one).",
        "",
    ]


def two_workers_table(postgres: ServerFigures | None) -> list[str]:
    """PostgreSQL with `--workers 2` beside one process, scenario by scenario."""
    if postgres is None or not postgres.two_workers:
        return []
    rows = [
        "PostgreSQL with `--workers 2` (two processes on one port; this machine has 2 cores and"
        " wrk takes one of them):",
        "",
        "| scenario | one process | 2 workers | change | 2 workers p99 |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in postgres.two_workers:
        one = _find(postgres, r.scenario, "FULL" if r.scenario != _GET_DAY else "-")
        if one is None:
            continue
        rows.append(
            f"| {r.scenario} | {one.rps:,.0f} ({one.ratio:.0%}) | {r.rps:,.0f} ({r.ratio:.0%})"
            f" | {r.rps / one.rps - 1:+.0%} | {_ms(r.p99_ms)} |"
        )
    return [*rows, ""]


_GET_DAY = "GET /availability, one provider, one day"


def _find(figures: ServerFigures, scenario: str, sync: str) -> Result | None:
    for r in figures.results:
        if r.scenario == scenario and r.sync == sync:
            return r
    return None


def goals(
    standard: ServerFigures, large: ServerFigures | None, postgres: ServerFigures | None = None
) -> list[str]:
    """The server goals of the benchmark, met or not, from this run's figures."""
    lines = ["| goal | measured | met |", "|---|---|---|"]

    def ratio_goal(
        label: str, scenario: str, sync: str, at_least: float, figures: ServerFigures = standard
    ) -> None:
        r = _find(figures, scenario, sync)
        if r is not None:
            met = "yes" if r.ratio >= at_least else "no"
            lines.append(f"| {label} | {r.ratio:.0%} | {met} |")

    ratio_goal(
        "GET of one provider's day at 50% or more of the bare app",
        "GET /availability, one provider, one day",
        "-",
        0.5,
    )
    ratio_goal("durable reserve at 35% or more of the bare app (aim: 50%)",
               "reserve, distinct slots", "FULL", 0.35)  # fmt: skip
    ratio_goal("durable confirm at 35% or more of the bare app", "confirm", "FULL", 0.35)
    if postgres is not None:
        ratio_goal(
            "PostgreSQL reserve at 15% or more of the bare app",
            "reserve, distinct slots",
            "FULL",
            0.15,
            postgres,
        )
    free_day = _find(standard, "GET /availability, one provider, one day", "-")
    busy_day = _find(standard, server_bench.BUSY_SCENARIO, "-")
    if free_day is not None and busy_day is not None:
        share = busy_day.rps / free_day.rps
        lines.append(
            f"| one provider's day with {server_bench.BUSY_SOURCES} calendars"
            f" ({server_bench.BUSY_INTERVALS} busy times) at 90% or more of one without"
            f" | {share:.0%} | {'yes' if share >= 0.9 else 'no'} |"
        )
    fewer = server_bench.FEWER_CONNECTIONS
    r = _find(standard, f"reserve, distinct slots, {fewer} connections", "FULL")
    if r is not None:
        lines.append(
            f"| durable reserve p99 under 20 ms at {fewer} connections | {r.p99_ms:.1f} ms"
            f" | {'yes' if r.p99_ms < 20 else 'no'} |"
        )
    if large is not None:
        # The same question at both scales: one provider's day is 96 slots either way (an hour of
        # every provider grows with the number of providers, so it is not compared). Compared as
        # ratios to each run's own bare app, so that drift between the runs cancels out.
        scenario = "GET /availability, one provider, one day"
        r, small = _find(large, scenario, "-"), _find(standard, scenario, "-")
        if r is not None and small is not None:
            share, plain = r.ratio / small.ratio, r.rps / small.rps
            lines.append(
                f"| {scenario} at {large.scale.slots / 1e6:.1f}M slots within 10% of"
                f" {standard.scale.slots / 1e3:.0f}k | {share:.0%} as ratios to each run's bare"
                f" app; {plain:.0%} in requests/s | {'yes' if share >= 0.9 else 'no'} |"
            )
    return lines


def waitlist_goal(figures: list[waitlist_bench.WaitlistFigures]) -> list[str]:
    return [
        f"| {f.store}: a cancel with {waitlist_bench.WAITING} waiting at 80% or more of one"
        f" with none (server CPU) | {f.ratio:.0%} | {'yes' if f.ratio >= 0.8 else 'no'} |"
        for f in figures
    ]


def app_table(figures: AppFigures) -> list[str]:
    rows = ["| measure | value | goal | met |", "|---|---|---|---|"]
    for key, (label, goal, limit) in APP_GOALS.items():
        value = getattr(figures, key)
        unit = "s" if key.endswith("_s") else "ms" if key.endswith("_ms") else "MB"
        met = "" if limit is None else ("yes" if value < limit else "no")
        rows.append(f"| {label} | {value:.3g} {unit} | {goal} | {met} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="brief runs on little data")
    parser.add_argument("--no-large", action="store_true", help="skip the 2.9M-slot reads")
    parser.add_argument(
        "--no-postgres", action="store_true", help="skip the PostgreSQL column (needs its server)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("make bench needs wrk (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    standard = server_bench.run(SMOKE if args.smoke else STANDARD)
    lever_seconds = 1 if args.smoke else 6
    levers = lever_bench.run(lever_seconds, days=4 if args.smoke else 20)
    postgres = None if args.no_postgres else server_bench.run(standard.scale, store="postgresql")
    large = None if args.smoke or args.no_large else server_bench.run(LARGE, writes=False)
    app = measure()
    stores = ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]
    schedules = [schedule_bench.run(store, smoke=args.smoke) for store in stores]
    lines_waiting = [waitlist_bench.run(store, smoke=args.smoke) for store in stores]
    scale = standard.scale
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()}, commit {commit()},"
        f" with `make bench`{' --smoke' if args.smoke else ''}.",
        "",
        f"## The server: {scale.providers} providers x {scale.days} days"
        f" ({scale.slots:,} slots), wrk with {server_bench.CONNECTIONS} connections,"
        f" {scale.seconds:g} s per scenario",
        "",
        *server_table(standard, postgres),
        "",
        "PostgreSQL: the same scenarios on a private PostgreSQL server on this machine, durable"
        " (fsync and synchronous_commit on); its writes have no NORMAL variant.",
        "",
        *two_workers_table(postgres),
        *fsync_line(postgres),
        "`not 2xx` in the contention rows are the 409s of reserves that lost the race: the"
        " expected answer. At 2.9M slots an hour of every provider is a full 1,000-slot page"
        " (240 slots at 288k), so only the one-provider day compares like with like.",
        "",
    ]
    if large is not None:
        lines += [
            f"## Reads at {large.scale.slots:,} slots ({large.scale.providers} providers)",
            "",
            *server_table(large)[:-1],
            "",
        ]
    lines += [
        "## Goals",
        "",
        *goals(standard, large, postgres),
        *waitlist_goal(lines_waiting),
        "",
        "## What each lever buys",
        "",
        f"The server with every lever, then with one taken away (`--without NAME`) at a time, on"
        f" a database of its own, {lever_seconds:g} s per scenario, each configuration measured"
        " twice (in order, then in reverse order) and averaged; requests/s (ratio to the bare"
        " app of the same run), and the change against every lever. Reserve and confirm are"
        " durable (synchronous FULL).",
        "",
        *lever_bench.table(levers),
        "",
        *lever_bench.descriptions(),
        "",
        "## Weekly schedules",
        "",
        *schedule_bench.table(schedules),
        "",
        "A PUT that opens a year of weekday hours (8 to 17 in Berlin) over HTTP, median of five;"
        " the daily roll that opens one new date for every provider, timed on the store as the"
        " sweeper calls it. Both durable.",
        "",
        "## The waitlist",
        "",
        *waitlist_bench.table(lines_waiting),
        "",
        f"A cancel of a hold on a provider with {waitlist_bench.WAITING} clients waiting (each"
        " for half an hour on one of its days), against one on a provider nobody waits for:"
        " every other slot of a month cancelled over HTTP, so that no half hour frees up and every"
        " entry is passed by (the run checks that none was offered anything); the server"
        " process's own CPU time per cancel, and cancels per second.",
        "",
        "## The terminal app",
        "",
        *app_table(app),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not (args.no_write or args.smoke):
        notes = RESULTS.read_text().split("\n## What the levers of issue 6 bought", 1)
        lever_notes = "\n## What the levers of issue 6 bought" + notes[1] if len(notes) == 2 else ""
        RESULTS.write_text(text + lever_notes)
        print(f"(written to {RESULTS})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
