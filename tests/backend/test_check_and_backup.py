"""`slotbook-server check` and `backup`: what they say of a database and what they refuse, run
in the test process (tests/in_process.py). docs/operating.md's blocks run them as processes, on a
server under load (tests/e2e/test_backups.py).

- `check` names each invariant a damaged database breaks (SQLite's own integrity check included);
- both refuse what they cannot do, saying why, and change nothing.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlite_utils import Database

from backend.store.sqlite.schema import apply_migrations, migrations
from tests.in_process import slotbook_server

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release-0.1.0.sqlite3"


def current_copy(db: Path) -> None:
    """Copy FIXTURE to `db`, migrated to this release's schema (as its server would on start)."""
    shutil.copy(FIXTURE, db)
    with closing(sqlite3.connect(db)) as conn:
        apply_migrations(Database(conn))


BREAKS = {
    "no slot with two holders": [
        "INSERT INTO slots (id, provider_id, start, duration, status, client_id, reserved_at,"
        " confirmed_at, created_at, appointment_id)"
        " SELECT 'overlap', provider_id, start + 300, duration, 'CONFIRMED', 'intruder',"
        " reserved_at, confirmed_at, created_at, 'overlap'"
        " FROM slots WHERE status = 'CONFIRMED' LIMIT 1"
    ],
    "every held or booked slot has its holder": [
        "UPDATE slots SET client_id = NULL"
        " WHERE id = (SELECT id FROM slots WHERE status = 'CONFIRMED' LIMIT 1)"
    ],
    "every hold's expiry is consistent": [
        "UPDATE slots SET held_until = reserved_at - 60"
        " WHERE id = (SELECT id FROM slots WHERE status = 'RESERVED' LIMIT 1)"
    ],
    "the slots of one appointment share its holder": [
        "UPDATE slots SET client_id = 'someone-else'"
        " WHERE id = (SELECT id FROM slots WHERE appointment_id != id LIMIT 1)"
    ],
    "no appointment lies in another's buffer": [
        # A lapsed hold turned into a booking that keeps 15 minutes clear after it, and is
        # followed at once by another client's booking.
        "UPDATE slots SET status = 'CONFIRMED', held_until = NULL, confirmed_at = reserved_at,"
        " buffer_after = 900 WHERE id = '01a235a6ff04e486bbc11382d8ac6802'"
    ],
    "the change log has no gaps": ["DELETE FROM changes WHERE seq = 40"],
    "no webhook's cursor is past the end of the change log": [
        "UPDATE webhooks SET cursor = 1000000"
    ],
    "integrity check failed": [
        # An index whose entries no longer match its table, as a torn write could leave it.
        "PRAGMA writable_schema = ON",
        "UPDATE sqlite_schema"
        """ SET sql = replace(sql, '("provider_id", "start")', '("start", "provider_id")')"""
        " WHERE name = 'slots_provider_start'",
    ],
}


@pytest.mark.parametrize("rule", BREAKS)
def test_check_names_the_invariant_a_damaged_database_breaks(tmp_path: Path, rule: str) -> None:
    db = tmp_path / "damaged.db"
    current_copy(db)
    sound = slotbook_server("check", "--db", str(db))
    assert sound.returncode == 0, sound.stdout + sound.stderr
    assert sound.stdout == (
        f"ok: {db}: integrity ok, invariants hold (60 slots, 5 reservations, changes 1-86)\n"
    )
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        for statement in BREAKS[rule]:
            conn.execute(statement)

    damaged = slotbook_server("check", "--db", str(db))

    assert damaged.returncode == 1, damaged.stdout + damaged.stderr
    verdict, *details = damaged.stdout.splitlines()
    assert verdict.startswith(f"FAILED: {db}: 1 problems: {rule}")
    assert details, "the rows (or the integrity check's lines) that break it are listed"
    assert damaged.stderr == ""


def test_backup_and_check_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    db = tmp_path / "slotbook.db"
    current_copy(db)
    kept = tmp_path / "kept.db"
    kept.write_bytes(b"yesterday's copy")

    overwrite = slotbook_server("backup", "--db", str(db), "--to", str(kept))
    assert overwrite.returncode == 2
    assert "already exists; a backup never overwrites a file" in overwrite.stderr
    assert kept.read_bytes() == b"yesterday's copy"

    postgres = slotbook_server(
        "backup", "--db", "postgresql://slotbook@db/slotbook", "--to", "x.db"
    )
    assert postgres.returncode == 2
    assert "pg_dump --format=custom" in postgres.stderr

    missing = slotbook_server("check", "--db", str(tmp_path / "nowhere.db"))
    assert missing.returncode == 2
    assert "no such database file" in missing.stderr
    assert not (tmp_path / "nowhere.db").exists(), "checking never makes a database"

    into_directory = slotbook_server("backup", "--db", str(db), "--to", str(tmp_path))
    assert into_directory.returncode == 0, into_directory.stderr
    stamped = re.search(r" to (\S+slotbook-\d{8}T\d{6}Z\.db): ", into_directory.stdout)
    assert stamped, into_directory.stdout
    assert slotbook_server("check", "--db", stamped.group(1)).returncode == 0

    older = tmp_path / "older.db"
    with closing(sqlite3.connect(older)) as conn:
        newest = migrations.pending(Database(memory=True))[-1].name
        apply_migrations(Database(conn), stop_before=newest)
    behind = slotbook_server("check", "--db", str(older))
    assert behind.returncode == 2
    assert "written by an older slotbook (1 migrations to apply)" in behind.stderr
