"""Load scenarios against the real server, beside a bare aiohttp app, driven by wrk.

Seeds providers x days of 15-minute slots through the store, starts the real server (a child
process, as in production), runs each scenario with wrk and reports requests per second, p50, p99,
the ratio to the bare app measured in the same run, and the server's peak memory. Write scenarios
run with synchronous=FULL (the default, durable) and NORMAL. `python -m bench.server_bench smoke`
runs a short version on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import asyncpg
import httpx

from backend.gate.tokens import issue
from backend.rules.booking import Rules, SlotRow
from backend.rules.service_types import ServiceType
from backend.runtime.settings import is_postgresql_url
from backend.store.base import Store
from backend.store.busy_records import BusySource, Refreshed
from backend.store.opening import open_store
from shared.timefmt import format_time
from tests.e2e.server_process import ServerProcess

HERE = Path(__file__).parent
LUA = HERE / "lua"
DAY = 86_400
CONNECTIONS = 64
THREADS = 2
CLIENTS = 2048
"""Client tokens the write scenarios spread their requests over (each holds a few dozen slots at
most, so the max-holds count stays small, as it is for real clients)."""
SERVER_FLAGS = [
    "--rate", "0", "--max-holds", "1000000", "--hold-minutes", "60000",
    "--allow-private-addresses",
]  # fmt: skip
"""No rate limit (one wrk connection is not one person), holds that neither run out nor hit
the per-client limit during a run, and webhooks that may go to a receiver on this machine."""

BENCH_SERVICE = "5e" * 16
"""The appointment type the typed listing scenario asks for: an hour with buffers either side, a
daily limit and a booking window, offered by the provider of the one-provider scenario."""

WEBHOOK_ENDPOINTS = (1, 10)
"""The reserve scenario again with this many webhook endpoints, each sent every change."""


@dataclass(frozen=True)
class Scale:
    name: str
    providers: int
    days: int
    seconds: float

    @property
    def slots(self) -> int:
        return self.providers * self.days * 96


STANDARD = Scale("standard", providers=100, days=30, seconds=10)
LARGE = Scale("large", providers=1000, days=30, seconds=10)
SMOKE = Scale("smoke", providers=40, days=4, seconds=1)


@dataclass(frozen=True)
class Result:
    scenario: str
    sync: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float
    ratio: float = math.nan


@dataclass(frozen=True)
class ServerFigures:
    scale: Scale
    results: list[Result]
    fan_out_p50_ms: float = math.nan
    fan_out_p99_ms: float = math.nan
    writes_per_fsync: float = math.nan
    """PostgreSQL only: durable reserves per WAL fsync during the distinct-reserve scenario (1:
    commits do not share an fsync)."""
    two_workers: list[Result] = field(default_factory=list)
    """PostgreSQL only: GET, reserve and confirm with `--workers 2` (ratios to the same bare
    app)."""


@dataclass
class Seeded:
    first_day: int
    admin: str
    clients: dict[str, str] = field(default_factory=dict)
    """client id -> token"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the data ------------------------------------------------------------------------------------


def _quarter(scale: Scale) -> int:
    return max(1, scale.providers // 10)


def reserve_providers(scale: Scale, sync: str) -> range:
    """Whose slots the distinct-reserve scenario takes: a fresh set per synchronous mode."""
    start = 0 if sync == "FULL" else 2 * _quarter(scale)
    return range(start, start + 2 * _quarter(scale))


def fewer_connections_providers(scale: Scale) -> range:
    """Whose slots the durable reserve at FEWER_CONNECTIONS takes (the last two providers are
    the contention and fan-out scenarios', the three before them the listings' of a day)."""
    return range(8 * _quarter(scale), scale.providers - 5)


def typed_provider(scale: Scale) -> str:
    """Who offers the typed listing's type (its appointments' buffers would refuse some of the
    write scenarios' holds, so no write scenario takes this provider's slots)."""
    return provider(scale.providers - 4)


def busy_provider(scale: Scale) -> str:
    """Whose own calendars (BUSY_SOURCES of them, BUSY_INTERVALS busy times in all) close some of
    their slots; no write scenario takes this provider's slots."""
    return provider(scale.providers - 5)


BUSY_SOURCES = 3
BUSY_INTERVALS = 500

FEWER_CONNECTIONS = 32
"""The load at which the p99 goal is set."""


def confirm_providers(scale: Scale, sync: str) -> range:
    """Whose slots are put on hold beforehand for the confirm scenario."""
    start = (4 if sync == "FULL" else 6) * _quarter(scale)
    return range(start, start + 2 * _quarter(scale))


def provider(n: int) -> str:
    return f"p{n:04d}"


async def seed(db: str, scale: Scale, first_day: int) -> Seeded:
    """Providers with `days` of whole-day availability, an admin and CLIENTS client tokens, and the
    confirm scenarios' slots on hold. `db` is a SQLite file or a PostgreSQL URL."""
    store = await open_store(db, Rules(max_window_seconds=40 * DAY), synchronous="NORMAL")
    now = time.time()
    seeded = Seeded(first_day=first_day, admin="")

    async def token(role: str, subject: str | None, name: str) -> str:
        new, record = issue(role, subject, name, now)  # type: ignore[arg-type]
        await store.create_token(record, new.secret_hash)
        return new.token

    try:
        seeded.admin = await token("admin", None, "bench admin")
        ids = [f"client-{n:04d}" for n in range(CLIENTS)]
        tokens = await asyncio.gather(*(token("client", c, c) for c in ids))
        seeded.clients = dict(zip(ids, tokens, strict=True))
        for p in range(scale.providers):
            await token("provider", provider(p), f"Provider {p}")
            end = first_day + scale.days * DAY
            await store.submit_availability(provider(p), first_day, end, now)
        await offer_a_type(store, scale, first_day, now, seeded.clients)
        await connect_calendars(store, scale, first_day, now)
    finally:
        await store.close()
    held = [provider(p) for sync in ("FULL", "NORMAL") for p in confirm_providers(scale, sync)]
    await hold_for_confirm(db, held, now)
    return seeded


async def offer_a_type(
    store: Store, scale: Scale, first_day: int, now: float, clients: dict[str, str]
) -> None:
    """The typed listing's type, and three appointments of it on the listed day, so that its
    buffers and its daily limit have something to keep clear of and to count (its provider is
    not the one-provider listing's, which stays as it was)."""
    owner = typed_provider(scale)
    service = ServiceType(
        BENCH_SERVICE, owner, "Bench assessment", 60, buffer_before_minutes=15,
        buffer_after_minutes=15, max_advance_days=366, daily_limit=8, created_at=now,
        updated_at=now,
    )  # fmt: skip
    await store.create_service(service)
    day = first_day + min(3, scale.days - 1) * DAY
    slots = await store.provider_slots(owner, day, day + DAY)
    by_start = {s.start: s for s in slots}
    for hour, client in zip((9, 12, 15), sorted(clients), strict=False):
        slot = by_start[day + hour * 3600]
        await store.reserve(slot.id, slot.start, client, now, length=3600, service_id=BENCH_SERVICE)


async def connect_calendars(store: Store, scale: Scale, first_day: int, now: float) -> None:
    """BUSY_SOURCES calendars of the busy provider's, with BUSY_INTERVALS half-hour busy times in
    all spread evenly over its days (about a dozen fall on the listed day), written as the
    refresher writes them."""
    owner = busy_provider(scale)
    step = max(900, scale.days * DAY // BUSY_INTERVALS // 900 * 900)
    for n in range(BUSY_SOURCES):
        source = BusySource(
            f"bench-source-{n}", owner, f"Calendar {n}", "ics",
            f"https://calendar.example.org/{n}.ics", None, None, 15, "busy", now, now, now + DAY,
        )  # fmt: skip
        await store.create_busy_source(source)
        times = [
            (start, start + 1800)
            for start in range(
                first_day + n * step, first_day + scale.days * DAY, BUSY_SOURCES * step
            )
        ][: BUSY_INTERVALS // BUSY_SOURCES + (n < BUSY_INTERVALS % BUSY_SOURCES)]
        await store.record_busy_refresh(
            source.source_id, Refreshed(times, len(times), None, None, None, now + DAY), now
        )


async def hold_for_confirm(db: str, providers: list[str], now: float) -> None:
    """Put these providers' slots on hold for the clients in turn, straight in the database (a
    hundred thousand reserves through the API would take longer than the benchmark)."""
    hold = (now, now + 20 * DAY, CLIENTS)
    if is_postgresql_url(db):
        conn = await asyncpg.connect(db)
        try:
            await conn.executemany(
                "UPDATE slots s SET status = 'RESERVED', reserved_at = $1, held_until = $2,"
                " client_id = 'client-' || lpad((n.rn % $3)::text, 4, '0'), appointment_id = s.id"
                " FROM (SELECT id, row_number() OVER (ORDER BY start) AS rn FROM slots"
                "       WHERE provider_id = $4) n WHERE s.id = n.id",
                [(*hold, owner) for owner in providers],
            )
        finally:
            await conn.close()
        return
    with sqlite3.connect(db) as file:
        file.executemany(
            "UPDATE slots SET status = 'RESERVED', reserved_at = ?, held_until = ?,"
            " client_id = printf('client-%04d', rowid % ?), appointment_id = id"
            " WHERE provider_id = ?",
            [(*hold, owner) for owner in providers],
        )


async def slots_of(db: str, providers: Iterable[str]) -> list[SlotRow]:
    """Every slot of these providers, by time then provider."""
    store = await open_store(db, Rules())
    try:
        found = [s for p in providers for s in await store.provider_slots(p, 0, 2**40)]
    finally:
        await store.close()
    return sorted(found, key=lambda s: (s.start, s.provider_id))


def rows_file(db: str, seeded: Seeded, providers: range, folder: Path, name: str) -> Path:
    """The `token id timestamp` lines a write scenario goes through: a slot's holder when it is
    held (confirm), else the clients in turn (reserve)."""
    path = folder / f"{name}.rows"
    clients = list(seeded.clients.values())
    slots = asyncio.run(slots_of(db, map(provider, providers)))
    with path.open("w") as out:
        for n, slot in enumerate(slots):
            holder = slot.client_id
            client = seeded.clients[holder] if holder else clients[n % len(clients)]
            out.write(f"{client} {slot.id} {format_time(slot.start)}\n")
    return path


def fresh_rows(
    server: str, db: str, seeded: Seeded, first_day: int, folder: Path, name: str, needed: int
) -> Path:
    """`needed` open slots or more, on providers made for one scenario (a month each, through
    the API), as the `token id timestamp` lines a reserve scenario goes through."""
    owners = [f"{name}-{n}" for n in range(-(-needed // 2976))]
    with httpx.Client(
        base_url=server, headers={"Authorization": f"Bearer {seeded.admin}"}, timeout=60
    ) as http:
        for owner in owners:
            window = {
                "startTime": format_time(first_day),
                "endTime": format_time(first_day + 31 * DAY),
            }
            http.post("/availability", json={"providerId": owner, **window}).raise_for_status()
    path = folder / f"{name}.rows"
    clients = list(seeded.clients.values())
    slots = asyncio.run(slots_of(db, owners))
    with path.open("w") as out:
        for n, slot in enumerate(slots):
            out.write(f"{clients[n % len(clients)]} {slot.id} {format_time(slot.start)}\n")
    return path


def webhooks(server: str, admin: str, receiver: str, count: int) -> list[str]:
    """Register `count` endpoints that get every change, at the receiver; their ids."""
    made = []
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {admin}"}) as http:
        for n in range(count):
            answer = http.post("/webhooks", json={"url": f"{receiver}/hook/{n}"})
            answer.raise_for_status()
            made.append(answer.json()["webhook"]["webhookId"])
    return made


def remove_webhooks(server: str, admin: str, ids: list[str]) -> None:
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {admin}"}) as http:
        for webhook_id in ids:
            http.delete(f"/webhooks/{webhook_id}").raise_for_status()


def contention_file(db: str, seeded: Seeded, owner: str, day: int, folder: Path) -> Path:
    """8 slots that 64 connections, each a different client, fight over."""
    path = folder / f"contention-{day}.rows"
    slots = [s for s in asyncio.run(slots_of(db, [owner])) if s.start >= day][:8]
    with path.open("w") as out:
        for client in list(seeded.clients.values())[:CONNECTIONS]:
            for slot in slots:
                out.write(f"{client} {slot.id} {format_time(slot.start)}\n")
    return path


# --- measuring -----------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, seconds: float, script: str, *args: str, connections: int | None = None
) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, answers that were not 2xx) from one wrk run."""
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{connections or CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        str(LUA / script),
        url,
    ]
    if args:
        command += ["--", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert found is not None, out

    def percentile(p: str) -> float:
        found = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        assert found is not None, out
        return float(found.group(1)) * _UNITS[found.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (
        float(found.group(1)),
        percentile("50"),
        percentile("99"),
        int(errors[1]) if errors else 0,
    )


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


@contextlib.contextmanager
def bare_app() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.bare_app", str(port)])
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{port}/")
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)


async def fan_out_delay(
    url: str, admin: str, rows: list[str], subscribers: int = 100
) -> tuple[float, float]:
    """(p50, p99) ms from a reserve being sent to its event reaching each of `subscribers`
    streams. Measured from the sending, not from the answer: the writer hands a commit's changes
    to the feed before it answers, so the events often arrive before the reserving client has its
    201, and a delay from the answer would read as nothing."""
    arrived: dict[str, list[float]] = {}
    connected = 0
    all_connected = asyncio.Event()

    async def follow() -> None:
        nonlocal connected
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            f"GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\r\n".encode()
        )
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        connected += 1
        if connected == subscribers:
            all_connected.set()
        try:
            while line := await reader.readline():
                if b'"kind":"reserved"' in line:
                    slot = line.split(b'"timeSlotId":"', 1)[1][:32].decode()
                    arrived.setdefault(slot, []).append(time.perf_counter())
        finally:
            writer.close()

    tasks = [asyncio.create_task(follow()) for _ in range(subscribers)]
    await asyncio.wait_for(all_connected.wait(), 30)
    sent_at: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for row in rows:
            token, slot_id, stamp = row.split(" ", 2)
            sent = time.perf_counter()
            response = await http.post(
                "/availability/reserve",
                json={"timeSlot": stamp, "timeSlotId": slot_id},
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 201:
                sent_at[slot_id] = sent
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays = sorted(
        max(0.0, t - when) * 1000
        for slot_id, when in sent_at.items()
        for t in arrived.get(slot_id, [])
    )
    if not delays:
        return math.nan, math.nan
    return statistics.median(delays), delays[int(len(delays) * 0.99)]


async def wal_syncs(url: str) -> tuple[int, int]:
    """(WAL fsyncs so far, newest change seq): their growth over a write-only scenario says how
    many commits share an fsync."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT wal_sync FROM pg_stat_wal), (SELECT COALESCE(MAX(seq), 0) FROM changes)"
        )
        assert row is not None
        return int(row[0]), int(row[1])
    finally:
        await conn.close()


def _url_time(epoch: int) -> str:
    return format_time(epoch).replace(" ", "%20")


BUSY_SCENARIO = (
    f"GET /availability, one provider with {BUSY_SOURCES} calendars"
    f" ({BUSY_INTERVALS} busy times), one day"
)


def get_scenarios(scale: Scale, first_day: int) -> list[tuple[str, str]]:
    """(name, path) of the read scenarios: a day of one provider whose slots are all open, and an
    hour of every provider."""
    day = first_day + min(3, scale.days - 1) * DAY
    one_provider = (
        f"/availability?startTime={_url_time(day)}&endTime={_url_time(day + DAY)}"
        f"&providerId={provider(scale.providers - 3)}"
    )
    every_provider = f"/availability?startTime={_url_time(day)}&endTime={_url_time(day + 3600)}"
    typed = (
        f"/availability?startTime={_url_time(day)}&endTime={_url_time(day + DAY)}"
        f"&serviceId={BENCH_SERVICE}"
    )
    busy = (
        f"/availability?startTime={_url_time(day)}&endTime={_url_time(day + DAY)}"
        f"&providerId={busy_provider(scale)}"
    )
    return [
        ("GET /availability, one provider, one day", one_provider),
        ("GET /availability, all providers, one hour", every_provider),
        ("GET /availability, one provider's type, one day", typed),
        (BUSY_SCENARIO, busy),
    ]


@contextlib.contextmanager
def bench_database(store: str, folder: Path) -> Iterator[str]:
    """A database for one run: a SQLite file, or a fresh database on a private PostgreSQL server
    started durable (fsync, synchronous_commit and full_page_writes on, as in production)."""
    if store == "sqlite":
        yield str(folder / "bench.db")
        return
    from tests.postgres_server import postgres_for_tests, run_sync

    async def durable(admin_url: str) -> None:
        """A server named by SLOTBOOK_TEST_POSTGRES is made durable here; a private one was
        started so (settings given on its command line would beat ALTER SYSTEM)."""
        conn = await asyncpg.connect(admin_url)
        try:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                await conn.execute(f"ALTER SYSTEM SET {setting} = on")
            await conn.execute("SELECT pg_reload_conf()")
            for setting in ("fsync", "synchronous_commit"):
                value = await conn.fetchval(f"SHOW {setting}")
                if value != "on":
                    raise RuntimeError(f"PostgreSQL {setting} is {value}: not a durable server")
        finally:
            await conn.close()

    with postgres_for_tests(durable=True) as databases:
        run_sync(lambda: durable(databases.url("postgres")))
        url = databases.copy()
        try:
            yield url
        finally:
            databases.drop(url)


def run(
    scale: Scale, *, writes: bool = True, store: str = "sqlite", log: bool = True
) -> ServerFigures:
    """Every scenario at this scale (only the reads when `writes` is false), on a SQLite file or
    on PostgreSQL (durable writes only: synchronous_commit on is its FULL)."""

    def say(text: str) -> None:
        if log:
            print(f"  [{scale.name}, {store}] {text}", file=sys.stderr, flush=True)

    results: list[Result] = []
    two: list[Result] = []
    per_fsync = math.nan
    fan = (math.nan, math.nan)
    with (
        tempfile.TemporaryDirectory() as folder_name,
        bench_database(store, Path(folder_name)) as db,
    ):
        folder = Path(folder_name)
        first_day = (int(time.time()) // DAY + 2) * DAY
        say(f"seeding {scale.slots:,} slots")
        seeded = asyncio.run(seed(db, scale, first_day))
        with bare_app() as bare:
            say("bare aiohttp app")
            rps, p50, p99, errors = wrk(bare, scale.seconds, "get.lua", "x", "/")
            results.append(Result("bare aiohttp app", "-", rps, p50, p99, errors, math.nan))
        last = scale.providers - 1
        token = next(iter(seeded.clients.values()))
        modes = ("FULL", "NORMAL") if writes and store == "sqlite" else ("FULL",)
        for sync in modes:
            flags = [*SERVER_FLAGS, "--synchronous", sync] if store == "sqlite" else SERVER_FLAGS
            with ServerProcess(db, *flags) as server:

                def measure(
                    name: str, sync: str, script: str, *args: str, connections: int | None = None
                ) -> None:
                    say(f"{name} ({sync})")
                    rps, p50, p99, errors = wrk(
                        server.url, scale.seconds, script, *args, connections=connections
                    )
                    if errors and "connections on" not in name:  # there, 409s are the point
                        raise RuntimeError(
                            f"{name} ({sync}): {errors} answers were not 2xx, so it would measure"
                            " refusals; the scenario's data no longer fits the server"
                        )
                    rss = peak_rss_mb(server.pid)
                    results.append(Result(name, sync, rps, p50, p99, errors, rss))

                if sync == "FULL":
                    for name, path in get_scenarios(scale, first_day):
                        measure(name, "-", "get.lua", token, path)
                if not writes:
                    continue
                distinct = rows_file(db, seeded, reserve_providers(scale, sync), folder, sync)
                before = asyncio.run(wal_syncs(db)) if store == "postgresql" else None
                measure(
                    "reserve, distinct slots", sync, "reserve.lua", str(distinct), "distinct", "2"
                )
                if before is not None:
                    time.sleep(11)  # a PostgreSQL backend publishes its statistics once idle 10 s
                    after = asyncio.run(wal_syncs(db))
                    syncs, reserves = after[0] - before[0], after[1] - before[1]
                    per_fsync = reserves / syncs if syncs else math.nan
                block = fewer_connections_providers(scale)
                if sync == "FULL" and len(block) * scale.days * 96 >= (
                    1.5 * results[-1].rps * scale.seconds
                ):  # enough slots for the run (not at the smoke run's scale)
                    rows = rows_file(db, seeded, block, folder, "fewer")
                    measure(
                        f"reserve, distinct slots, {FEWER_CONNECTIONS} connections",
                        sync,
                        "reserve.lua",
                        str(rows),
                        "distinct",
                        "2",
                        connections=FEWER_CONNECTIONS,
                    )
                fight_day = first_day + (0 if sync == "FULL" else 1) * DAY
                fight = contention_file(db, seeded, provider(last), fight_day, folder)
                measure(
                    "reserve, 64 connections on 8 slots", sync, "reserve.lua", str(fight), "random"
                )
                held = rows_file(db, seeded, confirm_providers(scale, sync), folder, f"c-{sync}")
                measure("confirm", sync, "confirm.lua", str(held), "distinct", "2")
                if sync == "FULL" and store == "sqlite":
                    with bare_app() as receiver:
                        for count in WEBHOOK_ENDPOINTS:
                            hooks = webhooks(server.url, seeded.admin, receiver, count)
                            rows = fresh_rows(
                                server.url, db, seeded, first_day, folder, f"hooks-{count}",
                                needed=int(3000 * scale.seconds),
                            )  # fmt: skip
                            measure(
                                f"reserve, distinct slots, {count} webhook"
                                f" endpoint{'s' if count > 1 else ''}",
                                sync, "reserve.lua", str(rows), "distinct", "2",
                            )  # fmt: skip
                            remove_webhooks(server.url, seeded.admin, hooks)
                    say("SSE fan-out to 100 subscribers")
                    fresh = rows_file(db, seeded, range(last - 1, last), folder, "fan")
                    lines = fresh.read_text().splitlines()[:200]
                    fan = asyncio.run(fan_out_delay(server.url, seeded.admin, lines))
        if writes and store == "postgresql":
            # Two processes on one port, on slots of their own (PostgreSQL has no NORMAL pass).
            with ServerProcess(db, *SERVER_FLAGS, "--workers", "2") as server:
                for name, script, args in [
                    ("GET /availability, one provider, one day", "get.lua",
                     (token, get_scenarios(scale, first_day)[0][1])),
                    ("reserve, distinct slots", "reserve.lua",
                     (str(rows_file(db, seeded, reserve_providers(scale, "NORMAL"), folder, "w")),
                      "distinct", "2")),
                    ("confirm", "confirm.lua",
                     (str(rows_file(db, seeded, confirm_providers(scale, "NORMAL"), folder, "wc")),
                      "distinct", "2")),
                ]:  # fmt: skip
                    say(f"{name} (2 workers)")
                    rps, p50, p99, errors = wrk(server.url, scale.seconds, script, *args)
                    if errors:
                        raise RuntimeError(f"{name} (2 workers): {errors} answers were not 2xx")
                    two.append(Result(name, "2 workers", rps, p50, p99, errors, math.nan))
    bare_rps = results[0].rps
    return ServerFigures(
        scale,
        [replace(r, ratio=r.rps / bare_rps) for r in results],
        *fan,
        writes_per_fsync=per_fsync,
        two_workers=[replace(r, ratio=r.rps / bare_rps) for r in two],
    )


if __name__ == "__main__":
    chosen = {"smoke": SMOKE, "large": LARGE}.get(
        sys.argv[1] if len(sys.argv) > 1 else "", STANDARD
    )
    figures = run(chosen, store=sys.argv[2] if len(sys.argv) > 2 else "sqlite")
    for row in figures.results:
        print(row)
    print(f"fan-out delay p50 {figures.fan_out_p50_ms:.1f} ms, p99 {figures.fan_out_p99_ms:.1f} ms")
