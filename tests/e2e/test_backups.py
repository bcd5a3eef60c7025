"""Backups that restore: the "Back up and restore" commands of docs/operating.md, run as written.

- `slotbook-server backup` of a real server under load (clients holding and confirming slots over
  HTTP while it copies), `check` on the copy, the page's restore, and a fresh server on the
  restored file that lists every booking acknowledged before the backup began;
- on PostgreSQL, the page's `pg_dump` and `pg_restore` into a new database that a server then
  serves with every booking.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.server_process import ServerProcess
from tests.e2e.test_litestream import book_everything, booked_through_api, confirmed_in
from tests.e2e.test_readme_walkthrough import run_script
from tests.e2e.test_two_processes import (
    HOUR,
    admin_token,
    bearer,
    first_day,
    make_token,
    open_window,
)
from tests.helpers import query
from tests.markdown_pages import DOCS, code_blocks
from tests.postgres_server import PostgresForTests, find_binaries

OPERATING = DOCS / "operating.md"
CLIENTS = 20
SLOTS = 160


def backup_blocks() -> list[str]:
    """The shell blocks of docs/operating.md's "Back up and restore": back up and check,
    restore, and PostgreSQL's dump and restore."""
    blocks = code_blocks(OPERATING, "Back up and restore")
    assert len(blocks) == 3, "back up and check; restore; pg_dump and pg_restore"
    return blocks


def run_readme(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A block of the page as written, with this interpreter's server for
    `.venv/bin/slotbook-server`."""
    script = script.replace(".venv/bin/slotbook-server", f"{sys.executable} -m backend")
    return run_script(script, cwd, **env)


async def test_a_backup_taken_under_load_restores_every_booking_acknowledged_before_it(
    tmp_path: Path,
) -> None:
    backup, restore, _ = backup_blocks()
    db = tmp_path / "slotbook.db"
    admin = admin_token(str(db))
    acknowledged: dict[str, str] = {}
    with ServerProcess(db, "--rate", "0") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            provider = await make_token(http, admin, "provider", "dr-ada")
            start = first_day() + 8 * HOUR
            slots = await open_window(http, provider, start, start + SLOTS * 900)
            names = [f"client-{n:02d}" for n in range(CLIENTS)]
            tokens = await asyncio.gather(
                *(make_token(http, admin, "client", name) for name in names)
            )
            clients = dict(zip(names, tokens, strict=True))
            halfway = asyncio.Event()
            booking = asyncio.create_task(
                book_everything(http, clients, slots, acknowledged, halfway)
            )
            await halfway.wait()
            before = dict(acknowledged)
            backed_up = await asyncio.to_thread(run_readme, backup, tmp_path)
            await asyncio.wait_for(booking, 60)  # the server kept serving, every answer a success
    assert backed_up.returncode == 0, backed_up.stderr
    copied, checked = backed_up.stdout.splitlines()
    copy = tmp_path / "backups" / "nightly.db"
    in_copy = confirmed_in(copy)
    assert copied.startswith(f"backed up slotbook.db to backups/nightly.db: {SLOTS} slots, ")
    # Holds count as reservations too: some were held, not yet confirmed, when it copied.
    ((held_or_booked,),) = query(copy, "SELECT COUNT(DISTINCT appointment_id) FROM slots")
    assert held_or_booked >= len(in_copy)
    assert f" {held_or_booked} reservations, changes 1-" in copied
    assert checked.startswith("ok: backups/nightly.db: integrity ok, invariants hold")
    assert set(before) <= in_copy, "a booking acknowledged before the backup began is missing"
    assert len(acknowledged) == SLOTS

    restored = run_readme(restore, tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith("ok: slotbook.db: integrity ok")
    with ServerProcess(db, "--rate", "0") as fresh:
        booked = await booked_through_api(fresh.url, admin, clients)
    assert booked == {slot: acknowledged[slot] for slot in in_copy}


async def test_pg_dump_and_pg_restore_as_the_readme_shows(
    postgres: PostgresForTests, tmp_path: Path
) -> None:
    *_, dump_and_restore = backup_blocks()
    source = postgres.copy()
    target = postgres.copy()
    postgres.drop(target)
    name = target.rsplit("/", 1)[1]
    postgres.admin(f'CREATE DATABASE "{name}"')  # empty, as createdb makes it
    try:
        admin = admin_token(source)
        with ServerProcess(source, "--rate", "0") as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                provider = await make_token(http, admin, "provider", "dr-ada")
                client = await make_token(http, admin, "client", "grace")
                start = first_day() + 9 * HOUR
                slot = (await open_window(http, provider, start, start + 900))[0]
                body = {"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]}
                held = await http.post("/availability/reserve", json=body, headers=bearer(client))
                assert held.status_code == 201, held.text
                tools = find_binaries()
                path = f"{tools}:{os.environ['PATH']}" if tools else os.environ["PATH"]
                done = await asyncio.to_thread(
                    run_readme,
                    dump_and_restore,
                    tmp_path,
                    SLOTBOOK_DB=source,
                    RESTORED_DB=target,
                    PATH=path,
                )
        assert done.returncode == 0, done.stderr
        with ServerProcess(target, "--rate", "0") as fresh:
            async with httpx.AsyncClient(base_url=fresh.url, timeout=30) as http:
                me = await http.get("/me", headers=bearer(admin))
                listed = await http.get("/reservations", headers=bearer(client))
        assert me.status_code == 200, "the tokens came back with the database"
        assert [r["timeSlotId"] for r in listed.json()["reservations"]] == [slot["timeSlotId"]]
    finally:
        postgres.drop(source)
        postgres.drop(target)
