"""Crash test: a real server under mixed load is killed with SIGKILL, again and again, and
restarted on the same SQLite file; nothing it acknowledged may be lost or bent.

    python -m tests.crash [--rounds 10] [--seed N]        (make crash)

Each round, providers submit and remove availability while clients list open slots, reserve,
confirm and cancel, all at once over real HTTP. At a random moment (0.2-2 s into the load) the
server gets SIGKILL. Every answer received before that is *acknowledged*; a request still in
flight has an unknown outcome. Every write carries an Idempotency-Key, so after the restart each
unknown request is sent again with its key: a stored (replayed) answer says it had committed, a
fresh one that it had not and has now acted. Either way its answer becomes acknowledged too.

Checked on the file itself, with sqlite3, as the kill left it and again after the restart, and
over HTTP after the restart:

- `PRAGMA integrity_check` is ok;
- every slot has at most one holder: a held or booked slot names its client, an open one none,
  no two slots of a provider start together, and replaying the change log slot by slot never
  reserves a slot that someone else still holds (holds lapse only by their recorded time);
- the change log explains the table: each slot's last change gives its status and holder;
- the change log's seq is gap-free, and what recovery kept is a prefix of what it grows into;
- every acknowledged change (created, deleted, reserved, confirmed, cancelled) is in the log;
- every booking confirmed with a 200 is still CONFIRMED for its client, unless a cancel of it
  was sent since (a refused cancel puts it back on the list);
- GET /changes?since=0 serves the same gap-free log, and GET /reservations shows the bookings.

Exit status 0 when all of it holds; 1 with the list of problems otherwise (the database is kept
for a look). The seed repeats the random choices, not the timing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import msgspec

from backend.gate.tokens import issue
from backend.rules.booking import Rules
from backend.store.base import Role
from backend.store.sqlite.store import SQLiteStore
from shared.timefmt import format_time
from shared.wire import (
    AvailabilityRemoved,
    AvailabilitySubmitted,
    Changes,
    OpenSlotsPage,
    ProviderSlots,
    ReservationAnswer,
    Reservations,
)
from tests.e2e.server_process import ServerProcess

DAY = 86_400
SLOT = 900
AREA_DAYS = 3
"""Providers publish within three days that start at least two days ahead: past the 24 h notice."""
CELLS = AREA_DAYS * DAY // SLOT
HOLD_MINUTES = 0.1
"""Holds lapse after 6 s, so the holds a kill orphans lapse (and the sweeper expires them)."""
HOLD_SECONDS = HOLD_MINUTES * 60
TIME_SLACK = 1e-3
PROVIDERS = 3
CLIENTS = 6
SERVER_FLAGS = ("--rate", "0", "--hold-minutes", str(HOLD_MINUTES), "--sweep-seconds", "0.5")

Op = Literal["submit", "remove", "reserve", "confirm", "cancel"]
EXPECTED: dict[Op, set[int]] = {
    "submit": {200, 201},
    "remove": {200},
    "reserve": {200, 201, 404, 409},
    "confirm": {200, 409, 410},
    "cancel": {200, 409},
}
"""The answers each write may get under this load; anything else is a problem."""
LIVE = ("RESERVED", "CONFIRMED")
MAX_SHOWN = 60

S = TypeVar("S")
Json = dict[str, Any]
ChangeRow = tuple[int, str, str, str, int, str, str | None, float]
"""seq, kind, slot_id, provider_id, start, status, client_id, at"""


class Killed(Exception):
    """The server is gone: the worker stops."""


@dataclass
class Pending:
    """A write as sent. If its answer never comes it may or may not have happened, and it is sent
    again after the restart with the same Idempotency-Key."""

    op: Op
    who: str
    method: str
    url: str
    body: Json | None
    key: str
    slot_id: str = ""
    before: frozenset[str] = frozenset()
    """remove: the ids of the provider's slots in the window just before."""
    booking_of: str | None = None
    """cancel: the client whose acknowledged booking this cancels."""


@dataclass
class Ledger:
    """What the server acknowledged (answered 2xx), over every round."""

    created: set[str] = field(default_factory=set)
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(kind, slot id) of every acknowledged reserved, confirmed, cancelled and deleted change."""
    booked: dict[str, str] = field(default_factory=dict)
    """slot id -> client: confirmed with a 200, and no cancel of it sent since."""
    acked: Counter[str] = field(default_factory=Counter)
    """Acknowledged writes by operation, this round."""


class Run:
    """The state of the whole test: the ledger, the problems found, the round's loose ends."""

    def __init__(self, db: Path, seed: int) -> None:
        self.db = db
        self.rng = random.Random(seed)
        self.ledger = Ledger()
        self.problems: list[str] = []
        self._seen: set[str] = set()
        self.pending: list[Pending] = []
        self.killed = False
        self.round = 0
        self.tokens: dict[str, str] = {}
        self.server: ServerProcess | None = None
        self.first_day = (int(time.time()) // DAY + 3) * DAY

    def problem(self, text: str, where: str = "") -> None:
        """Note a problem, once: the same finding in a later check is not news."""
        if text not in self._seen:
            self._seen.add(text)
            self.problems.append(f"round {self.round}{where}: {text}")

    def account(self, request: Pending, response: httpx.Response) -> str | None:
        """Note what an answer acknowledges; return the slot's timestamp for a new hold."""
        status, ledger = response.status_code, self.ledger
        if status not in EXPECTED[request.op]:
            text = response.text[:300].strip()
            self.problem(f"{request.op} {request.url} answered {status}: {text}")
        if status >= 300:
            if request.booking_of is not None:  # refused: the booking stands
                ledger.booked[request.slot_id] = request.booking_of
            return None
        ledger.acked[request.op] += 1
        if request.op == "submit":
            submitted = decode(response, AvailabilitySubmitted)
            ledger.created.update(s.time_slot_id for s in submitted.time_slots)
        elif request.op == "remove":
            removed = decode(response, AvailabilityRemoved)
            gone = request.before - {s.time_slot_id for s in removed.kept}
            if removed.deleted != len(gone):
                self.problem(
                    f"remove said deleted={removed.deleted}, but {len(gone)} of the window's"
                    f" {len(request.before)} slots were not kept"
                )
            ledger.changes.update(("deleted", slot_id) for slot_id in gone)
        elif request.op == "reserve":
            slot = decode(response, ReservationAnswer).reservation
            if slot.status != "RESERVED" or slot.client_id != request.who:
                self.problem(f"reserve answered {status} with {slot}")
            if status == 201:
                ledger.changes[("reserved", request.slot_id)] += 1
            return slot.timestamp
        elif request.op == "confirm":
            answer = decode(response, ReservationAnswer)
            if answer.reservation.status != "CONFIRMED" or answer.reservation.client_id != (
                request.who
            ):
                self.problem(f"confirm answered 200 with {answer.reservation}")
            if answer.message == "Reservation confirmed successfully":
                ledger.changes[("confirmed", request.slot_id)] += 1
            ledger.booked[request.slot_id] = request.who
        else:
            ledger.changes[("cancelled", request.slot_id)] += 1
        return None


def decode(response: httpx.Response, kind: type[S]) -> S:
    return msgspec.json.decode(response.content, type=kind)


# --- the load -----------------------------------------------------------------------------------


class Worker:
    """One caller with its own token and connection pool."""

    def __init__(self, run: Run, who: str, url: str, rng: random.Random) -> None:
        self.run, self.who, self.rng = run, who, rng
        self.http = httpx.AsyncClient(
            base_url=url,
            timeout=15,
            headers={"Authorization": f"Bearer {run.tokens[who]}"},
        )

    async def read(self, url: str, params: Mapping[str, str | int]) -> httpx.Response:
        try:
            response = await self.http.get(url, params=params)
        except httpx.TransportError as error:
            if not self.run.killed:
                self.run.problem(f"{self.who}: GET {url} failed before the kill: {error!r}")
            raise Killed from error
        if response.status_code != 200:
            text = response.text[:300].strip()
            self.run.problem(f"GET {url} answered {response.status_code}: {text}")
            raise Killed
        return response

    async def write(self, request: Pending) -> httpx.Response:
        try:
            response = await self.http.request(
                request.method,
                request.url,
                json=request.body,
                headers={"Idempotency-Key": request.key},
            )
        except httpx.TransportError as error:
            if not self.run.killed:
                self.run.problem(f"{self.who}: {request.op} failed before the kill: {error!r}")
            self.run.pending.append(request)
            raise Killed from error
        return response

    def pending(self, op: Op, method: str, url: str, body: Json | None, **more: Any) -> Pending:
        return Pending(op, self.who, method, url, body, uuid.uuid4().hex, **more)

    async def play(self) -> None:
        try:
            while not self.run.killed:
                await self.step()
        except Killed:
            pass
        finally:
            await self.http.aclose()

    async def step(self) -> None:
        raise NotImplementedError


class Provider(Worker):
    """Publishes windows of availability and takes some back, somewhere in its three days."""

    async def step(self) -> None:
        first = self.run.first_day + self.rng.randrange(CELLS - 12) * SLOT
        window = {
            "startTime": format_time(first),
            "endTime": format_time(first + self.rng.randint(2, 12) * SLOT),
        }
        if self.rng.random() < 0.7:
            request = self.pending("submit", "POST", "/availability", window)
        else:
            listed = await self.read(f"/providers/{self.who}/slots", window)
            before = frozenset(s.time_slot_id for s in decode(listed, ProviderSlots).time_slots)
            request = self.pending("remove", "DELETE", "/availability", window, before=before)
        self.run.account(request, await self.write(request))


class Client(Worker):
    """Finds an open slot, holds it, then mostly confirms; sometimes cancels a booking."""

    async def step(self) -> None:
        mine = [slot for slot, who in self.run.ledger.booked.items() if who == self.who]
        if mine and self.rng.random() < 0.15:
            slot_id = self.rng.choice(mine)
            del self.run.ledger.booked[slot_id]  # sent: from now on its fate is not known
            await self.cancel(slot_id, booking=True)
            return
        listed = await self.read(
            "/availability",
            {
                "startTime": format_time(self.run.first_day),
                "endTime": format_time(self.run.first_day + AREA_DAYS * DAY),
                "limit": 30,
            },
        )
        slots = decode(listed, OpenSlotsPage).available_time_slots
        if not slots:
            await asyncio.sleep(0.02)
            return
        slot = self.rng.choice(slots)
        body = {"timeSlot": slot.timestamp, "timeSlotId": slot.time_slot_id}
        reserve = self.pending(
            "reserve", "POST", "/availability/reserve", body, slot_id=slot.time_slot_id
        )
        timestamp = self.run.account(reserve, await self.write(reserve))
        if timestamp is None:
            return
        roll = self.rng.random()
        if roll < 0.75:
            confirm = self.pending(
                "confirm",
                "PUT",
                f"/availability/confirm/{slot.time_slot_id}",
                {"timeSlot": timestamp},
                slot_id=slot.time_slot_id,
            )
            self.run.account(confirm, await self.write(confirm))
        elif roll < 0.9:
            await self.cancel(slot.time_slot_id, booking=False)
        # else: leave the hold to lapse

    async def cancel(self, slot_id: str, *, booking: bool) -> None:
        request = self.pending(
            "cancel",
            "DELETE",
            f"/reservations/{slot_id}",
            None,
            slot_id=slot_id,
            booking_of=self.who if booking else None,
        )
        self.run.account(request, await self.write(request))


async def load_until_killed(run: Run, server: ServerProcess) -> float:
    """Run every worker until SIGKILL, at a random moment; return that moment (seconds in)."""
    run.killed = False
    workers: list[Worker] = [
        Provider(run, f"provider-{i}", server.url, random.Random(run.rng.getrandbits(64)))
        for i in range(PROVIDERS)
    ] + [
        Client(run, f"client-{i}", server.url, random.Random(run.rng.getrandbits(64)))
        for i in range(CLIENTS)
    ]
    delay = run.rng.uniform(0.2, 2.0)
    tasks = [asyncio.create_task(w.play()) for w in workers]
    await asyncio.sleep(delay)
    run.killed = True  # first: an error seen from here on is the kill's doing
    code = await asyncio.to_thread(server.kill)
    if code != -9:
        run.problem(f"the server had already exited (status {code}) before the kill")
    await asyncio.gather(*tasks)
    return delay


async def after_restart(run: Run, url: str) -> tuple[int, int, list[tuple[int, str, str]]]:
    """Send every unknown write again with its key; check the server answers as it should.
    Return (replayed, acted anew, the change log as GET /changes serves it)."""
    clients = {
        who: httpx.AsyncClient(base_url=url, timeout=30, headers={"Authorization": f"Bearer {t}"})
        for who, t in run.tokens.items()
    }
    replayed = fresh = 0
    try:
        health = await clients["admin"].get("/healthz")
        if health.status_code != 200:
            run.problem(f"GET /healthz after the restart answered {health.status_code}")
        pending, run.pending = run.pending, []
        for request in pending:
            response = await clients[request.who].request(
                request.method,
                request.url,
                json=request.body,
                headers={"Idempotency-Key": request.key},
            )
            if response.headers.get("Idempotent-Replayed") == "true":
                replayed += 1
            else:
                fresh += 1
            run.account(request, response)
        for who in (w for w in run.tokens if w.startswith("client-")):
            listed = await clients[who].get("/reservations")
            shown = {s.time_slot_id: s.status for s in decode(listed, Reservations).reservations}
            for slot_id, client in run.ledger.booked.items():
                if client == who and shown.get(slot_id) != "CONFIRMED":
                    run.problem(
                        f"GET /reservations of {who} shows booking {slot_id} as"
                        f" {shown.get(slot_id, 'missing')}"
                    )
        log = await served_log(run, clients["admin"])
    finally:
        for http in clients.values():
            await http.aclose()
    return replayed, fresh, log


async def served_log(run: Run, admin: httpx.AsyncClient) -> list[tuple[int, str, str]]:
    log: list[tuple[int, str, str]] = []
    since = 0
    while True:
        response = await admin.get("/changes", params={"since": since, "limit": 1000})
        if response.status_code != 200:
            run.problem(f"GET /changes?since={since} answered {response.status_code}")
            return log
        page = decode(response, Changes)
        if not page.changes:
            return log
        log.extend((c.seq, c.kind, c.time_slot_id) for c in page.changes)
        since = page.last_seq


# --- the checks on the file -----------------------------------------------------------------------


@dataclass
class FileReport:
    problems: list[str]
    log: list[ChangeRow]
    slots: int
    booked: int


def read_file(db: Path) -> tuple[str, list[tuple[Any, ...]], list[ChangeRow]]:
    """integrity_check, then the slots and the change log from one snapshot, read-only (a kill
    leaves the WAL for the server's own recovery to replay, not ours)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    try:
        integrity = "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))
        conn.execute("BEGIN")
        slots = conn.execute(
            "SELECT id, provider_id, start, status, client_id, held_until, confirmed_at FROM slots"
        ).fetchall()
        log: list[ChangeRow] = conn.execute(
            "SELECT seq, kind, slot_id, provider_id, start, status, client_id, at"
            " FROM changes ORDER BY seq"
        ).fetchall()
        conn.execute("COMMIT")
    finally:
        conn.close()
    return integrity, slots, log


def check_file(db: Path, ledger: Ledger) -> FileReport:
    integrity, slots, log = read_file(db)
    problems: list[str] = []
    if integrity != "ok":
        problems.append(f"PRAGMA integrity_check: {integrity}")
    rows: dict[str, tuple[Any, ...]] = {}
    for row in slots:
        slot_id, _provider, _start, status, client, held_until, confirmed_at = row
        rows[slot_id] = row
        if status not in ("AVAILABLE", *LIVE):
            problems.append(f"slot {slot_id} has status {status!r}")
        elif (status in LIVE) != (client is not None):
            problems.append(f"slot {slot_id} is {status} with client {client!r}")
        elif (status == "RESERVED" and held_until is None) or (
            status == "CONFIRMED" and confirmed_at is None
        ):
            problems.append(f"slot {slot_id} is {status} without its time")
    starts = Counter((row[1], row[2]) for row in slots)
    problems += [
        f"{n} slots of {p} start at {format_time(s)}" for (p, s), n in starts.items() if n > 1
    ]

    seqs = [change[0] for change in log]
    if seqs and seqs != list(range(seqs[0], seqs[-1] + 1)):
        missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        problems.append(f"the change log has gaps: {len(missing)} seqs missing, e.g. {missing[:5]}")
    problems += replay(log, rows)

    logged = Counter((change[1], change[2]) for change in log)
    created = {slot_id for kind, slot_id in logged if kind == "created"}
    lost = [f"created {s}" for s in ledger.created - created]
    lost += [f"{n - logged[c]} x {c[0]} {c[1]}" for c, n in ledger.changes.items() if logged[c] < n]
    if lost:
        problems.append(f"{len(lost)} acknowledged changes missing from the log: {lost[:5]}")
    for slot_id, client in ledger.booked.items():
        now = rows.get(slot_id)
        if now is None or now[3] != "CONFIRMED" or now[4] != client:
            seen = "gone" if now is None else f"{now[3]} for {now[4]}"
            problems.append(f"booking {slot_id} confirmed for {client} with a 200 is now {seen}")
    return FileReport(problems, log, len(rows), sum(1 for r in slots if r[3] == "CONFIRMED"))


def replay(log: Iterable[ChangeRow], rows: dict[str, tuple[Any, ...]]) -> list[str]:
    """Follow each slot through the log: every change must be allowed from where the slot was,
    and where the log leaves it must be the table's row."""
    problems: list[str] = []
    state: dict[str, tuple[str, str | None, float]] = {}
    """slot id -> (status or 'deleted', holder, when the hold lapses)"""
    for seq, kind, slot_id, _provider, _start, status, client, at in log:
        was, holder, lapses = state.get(slot_id, ("none", None, 0.0))
        lapsed = was == "RESERVED" and at >= lapses - TIME_SLACK
        open_now = was == "AVAILABLE" or lapsed
        allowed = {
            "created": was == "none",
            "reserved": was == "AVAILABLE" and client is not None,
            "confirmed": was == "RESERVED" and client == holder and at < lapses + TIME_SLACK,
            "cancelled": was in LIVE and client == holder and at < lapses + TIME_SLACK,
            "expired": lapsed and client == holder,
            "deleted": open_now,
        }.get(kind, False)
        if not allowed:
            hold = ""
            if was == "RESERVED":
                hold = ", hold lapsed" if lapsed else f", hold had {lapses - at:.2f} s to run"
            problems.append(
                f"change {seq}: {kind} of {slot_id} for {client} while it was {was}"
                f" (holder {holder}{hold})"
            )
        if kind == "reserved":
            state[slot_id] = ("RESERVED", client, at + HOLD_SECONDS)
        elif kind == "confirmed":
            state[slot_id] = ("CONFIRMED", holder, float("inf"))
        elif kind == "deleted":
            state[slot_id] = ("deleted", None, 0.0)
        else:
            state[slot_id] = ("AVAILABLE", None, 0.0)
        if status != ("AVAILABLE" if kind == "deleted" else state[slot_id][0]):
            problems.append(f"change {seq}: {kind} says status {status}")
    for slot_id, (was, holder, _) in state.items():
        row = rows.get(slot_id)
        if was == "deleted":
            if row is not None:
                problems.append(f"slot {slot_id} is in the table after its deleted change")
        elif row is None:
            problems.append(f"slot {slot_id} ({was} in the log) is missing from the table")
        elif (row[3], row[4]) != (was, holder):
            problems.append(f"slot {slot_id} is {row[3]} for {row[4]}; the log says {was}/{holder}")
    problems += [f"slot {s} has no change in the log" for s in rows.keys() - state.keys()]
    return problems[:20]


# --- the rounds ---------------------------------------------------------------------------------


async def make_tokens(db: Path) -> dict[str, str]:
    """Tokens straight into the new database (as `slotbook-server token create` does)."""
    people: list[tuple[str, Role, str | None]] = [("admin", "admin", None)]
    people += [(f"provider-{i}", "provider", f"provider-{i}") for i in range(PROVIDERS)]
    people += [(f"client-{i}", "client", f"client-{i}") for i in range(CLIENTS)]
    store = SQLiteStore(str(db), Rules(), read_threads=1)
    tokens: dict[str, str] = {}
    try:
        for key, role, subject in people:
            new, record = issue(role, subject, key, time.time())
            await store.create_token(record, new.secret_hash)
            tokens[key] = new.token
    finally:
        await store.close()
    return tokens


def server_errors(server: ServerProcess) -> list[str]:
    return [line.strip() for line in server.log if " ERROR " in line or "Traceback" in line]


def play_round(run: Run, rounds: int) -> bool:
    """Load, kill, check the file, restart, settle the unknowns, check again. False when the
    server did not come back."""
    assert run.server is not None
    before = len(run.problems)
    run.ledger.acked.clear()
    delay = asyncio.run(load_until_killed(run, run.server))
    for line in server_errors(run.server):
        run.problem(f"server log: {line}")
    in_flight, bookings = len(run.pending), len(run.ledger.booked)
    crashed = check_file(run.db, run.ledger)
    for found in crashed.problems:
        run.problem(found, ", file as the kill left it")

    run.server = None
    try:
        run.server = ServerProcess(run.db, *SERVER_FLAGS).start()
    except RuntimeError as error:
        run.problem(f"the server did not come back on the file: {error}")
        return False
    replayed, fresh, served = asyncio.run(after_restart(run, run.server.url))
    recovered = check_file(run.db, run.ledger)
    for found in recovered.problems:
        run.problem(found, ", file after the restart")
    kept = [c[:3] for c in recovered.log[: len(crashed.log)]]
    if kept != [c[:3] for c in crashed.log]:
        run.problem("the change log after the restart does not start with the log the kill left")
    logged = [c[:3] for c in recovered.log]
    if served != logged[: len(served)] or len(served) < len(crashed.log):
        run.problem(
            f"GET /changes?since=0 served {len(served)} changes, not those of the file's"
            f" {len(logged)}"
        )

    acked = run.ledger.acked
    first, last = (crashed.log[0][0], crashed.log[-1][0]) if crashed.log else (0, 0)
    verdict = "ok" if len(run.problems) == before else f"{len(run.problems) - before} PROBLEMS"
    print(
        f"round {run.round:2}/{rounds}: SIGKILL {delay:.2f} s into the load;"
        f" acknowledged {sum(acked.values())} writes"
        f" ({', '.join(f'{op} {acked[op]}' for op in EXPECTED)});"
        f" {in_flight} in flight, resent after the restart: {replayed} had committed,"
        f" {fresh} had not; file: changes {first}..{last}, {crashed.slots} slots,"
        f" {crashed.booked} booked, {bookings} acknowledged bookings checked -> {verdict}",
        flush=True,
    )
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.crash",
        description="Kill a loaded server with SIGKILL and check that it lost nothing it promised.",
    )
    parser.add_argument("--rounds", type=int, default=10, help="kills and restarts (default 10)")
    parser.add_argument("--seed", type=int, default=None, help="random choices (default: any)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="slotbook-crash-"))
    run = Run(workdir / "crash.db", seed)
    print(f"crash test: seed {seed}, {args.rounds} rounds, database {run.db}", flush=True)
    run.tokens = asyncio.run(make_tokens(run.db))
    run.server = ServerProcess(run.db, *SERVER_FLAGS).start()
    completed = True
    try:
        for run.round in range(1, args.rounds + 1):
            if not play_round(run, args.rounds):
                completed = False
                break
    finally:
        code = run.server.stop() if run.server is not None else 0
    if completed:
        if code != 0:
            run.problem(f"the last server stopped with status {code}, not 0", ", after the last")
        final = check_file(run.db, run.ledger)
        for found in final.problems:
            run.problem(found, ", file after the last, clean stop")
    elapsed = time.monotonic() - began
    if run.problems:
        shown = run.problems[:MAX_SHOWN]
        more = [f"... and {len(run.problems) - len(shown)} more"] if shown != run.problems else []
        print(f"\n{len(run.problems)} problems:", *shown, *more, sep="\n  ", file=sys.stderr)
        print(
            f"crash test FAILED: seed {seed}, {len(run.problems)} problems in {elapsed:.1f} s;"
            f" the database is kept in {workdir}"
        )
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"crash test passed: {args.rounds} SIGKILLs, seed {seed}, {len(final.log)} changes,"
        f" {len(run.ledger.booked)} acknowledged bookings intact, in {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
