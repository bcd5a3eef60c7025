"""`slotbook-server backup` and `slotbook-server check`: a consistent copy of a SQLite database
while the server keeps serving, and a check that a database (a copy above all) is sound.

The copy is made with SQLite's online backup API (never a file copy, which could catch the file
half-written and miss what sits in the WAL): it reads one consistent snapshot while the server
goes on writing, into a file beside the destination that takes the destination's name only when
it is complete. A PostgreSQL database is backed up with PostgreSQL's own `pg_dump`.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path

from sqlite_utils import Database

from backend.runtime.settings import is_postgresql_url
from backend.store.sqlite.check import Report, check, counts
from backend.store.sqlite.schema import migrations

PG_BACKUP_HINT = (
    "a PostgreSQL database is backed up with PostgreSQL's own tools: pg_dump --format=custom"
    " --file slotbook.dump '<url>', and restored with pg_restore (see"
    " docs/operating.md#back-up-and-restore)"
)


class CommandError(Exception):
    """What the command could not do, said in one line (exit status 2)."""


def add_backup_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    parser.add_argument(
        "--db",
        default=environ.get("SLOTBOOK_DB", "slotbook.db"),
        help="the SQLite database file to copy (env SLOTBOOK_DB; default %(default)s)",
    )
    parser.add_argument(
        "--to",
        required=True,
        metavar="PATH",
        help="the copy to make: a new file, or a directory to put a time-stamped one in"
        " (slotbook-YYYYMMDDTHHMMSSZ.db)",
    )


def add_check_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    parser.add_argument(
        "--db",
        default=environ.get("SLOTBOOK_DB", "slotbook.db"),
        help="the SQLite database file to check, a backup or the live one"
        " (env SLOTBOOK_DB; default %(default)s)",
    )


def open_read_only(db: str) -> sqlite3.Connection:
    """The database, opened only to read (a missing file is an error, not a new database)."""
    if is_postgresql_url(db):
        raise CommandError(PG_BACKUP_HINT)
    path = Path(db)
    if not path.is_file():
        raise CommandError(f"{db}: no such database file")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("SELECT COUNT(*) FROM slots").fetchone()
    except sqlite3.DatabaseError as error:
        conn.close()
        raise CommandError(f"{db}: not a slotbook database ({error})") from error
    return conn


def destination(to: str, now: float) -> Path:
    """Where the copy goes: `to` itself, or a time-stamped file in the directory `to`."""
    path = Path(to)
    if path.is_dir():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        path = path / f"slotbook-{stamp}.db"
    if path.exists():
        raise CommandError(f"{path}: already exists; a backup never overwrites a file")
    if not path.parent.is_dir():
        raise CommandError(f"{path.parent}: no such directory")
    return path


def backup(db: str, to: str) -> str:
    """Copy `db` to `to` with the online backup API; what was copied, in one line."""
    began = time.monotonic()
    target = destination(to, time.time())
    partial = target.with_name(target.name + ".partial")
    with closing(open_read_only(db)) as source:
        try:
            with closing(sqlite3.connect(partial)) as copy:
                source.backup(copy)  # every page in one step: one consistent snapshot
                slots, reservations, (first, last) = counts(copy)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, target)
    size = target.stat().st_size
    return (
        f"backed up {db} to {target}: {slots} slots, {reservations} reservations,"
        f" {change_range(first, last)}, {size / 1_048_576:.1f} MiB"
        f" in {time.monotonic() - began:.2f} s"
    )


def schema_state(conn: sqlite3.Connection) -> str | None:
    """Why the file's schema is not this release's, or None when it is."""
    db = Database(conn)
    known = {migration.name for migration in migrations.pending(Database(memory=True))}
    applied = [migration.name for migration in migrations.applied(db)]
    unknown = [name for name in applied if name not in known]
    if unknown:
        return f"written by a newer slotbook (migration {unknown[0]} is unknown to this one)"
    pending = migrations.pending(db)
    if pending:
        return (
            f"written by an older slotbook ({len(pending)} migrations to apply): start"
            " `slotbook-server serve` on it once, which migrates it, then check again"
        )
    return None


def change_range(first: int, last: int) -> str:
    return f"changes {first}-{last}" if last else "no changes"


def describe(db: str, report: Report) -> str:
    """The check's one line."""
    counted = (
        f"{report.slots} slots, {report.reservations} reservations, {change_range(*report.changes)}"
    )
    if report.ok:
        return f"ok: {db}: integrity ok, invariants hold ({counted})"
    broken = [] if report.integrity == ("ok",) else ["integrity check failed"]
    broken += [finding.rule for finding in report.findings]
    return f"FAILED: {db}: {len(broken)} problems: {'; '.join(broken)} ({counted})"


def run_check(db: str) -> tuple[int, list[str]]:
    """The exit status and the lines to print: the verdict, then what backs it."""
    with closing(open_read_only(db)) as conn:
        why = schema_state(conn)
        if why is not None:
            raise CommandError(f"{db}: {why}")
        report = check(conn)
    details = [f"  integrity: {line}" for line in report.integrity if report.integrity != ("ok",)]
    details += [f"  {finding}" for finding in report.findings]
    return (0 if report.ok else 1), [describe(db, report), *details]


def run_maintenance_command(args: argparse.Namespace) -> int:
    name = f"slotbook-server {args.command}"
    try:
        if args.command == "backup":
            print(backup(args.db, args.to))
            return 0
        status, lines = run_check(args.db)
    except CommandError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    except sqlite3.Error as error:
        print(f"{name}: {args.db}: {error}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return status
