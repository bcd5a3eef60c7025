"""The PostgreSQL schema as code: named migrations, applied in order, each once, in a transaction.

Several server processes may start at once against one database: an advisory lock taken inside the
migrating transaction makes the second wait for the first and then find nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
"""A connection of its own, or one lent by a pool."""

MIGRATION_LOCK = 0x510B_000C
"""The advisory lock key that serialises migrations (any constant other code does not use)."""

# Text columns compare byte by byte (COLLATE "C"), as SQLite does: listings sort the same on both
# stores, whatever locale the database was created with, and a page cursor's `provider_id > $n`
# agrees with the ORDER BY it continues.


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]


MIGRATIONS = (
    Migration(
        "0001_slots_and_changes",
        (
            """
            CREATE TABLE slots (
                id text COLLATE "C" PRIMARY KEY,
                provider_id text COLLATE "C" NOT NULL,
                start bigint NOT NULL,
                duration integer NOT NULL,
                status text COLLATE "C" NOT NULL
                    CHECK (status IN ('AVAILABLE', 'RESERVED', 'CONFIRMED')),
                client_id text COLLATE "C",
                reserved_at double precision,
                held_until double precision,
                confirmed_at double precision,
                created_at double precision NOT NULL,
                CONSTRAINT slots_provider_start UNIQUE (provider_id, start)
            )
            """,
            # Open slots of a time range from the index alone (an index-only scan).
            "CREATE INDEX slots_open_by_time ON slots (start, provider_id)"
            " INCLUDE (status, held_until, duration, id)",
            # A client's live holds: the max-holds count inside every reserve.
            "CREATE INDEX slots_by_client ON slots (client_id, status, held_until)",
            # The sweeper's lapsed holds.
            "CREATE INDEX slots_by_hold_end ON slots (held_until) WHERE status = 'RESERVED'",
            """
            CREATE TABLE providers (
                id text COLLATE "C" PRIMARY KEY,
                name text COLLATE "C",
                created_at double precision NOT NULL
            )
            """,
            """
            CREATE TABLE changes (
                seq bigint PRIMARY KEY,
                kind text COLLATE "C" NOT NULL,
                slot_id text COLLATE "C" NOT NULL,
                provider_id text COLLATE "C" NOT NULL,
                start bigint NOT NULL,
                status text COLLATE "C" NOT NULL,
                client_id text COLLATE "C",
                at double precision NOT NULL
            )
            """,
            "CREATE INDEX changes_by_slot ON changes (slot_id, seq)",
            # The newest seq handed out. Every transaction that appends changes takes its seqs by
            # updating this one row, so those transactions commit one after another, in seq
            # order, and a rolled-back one gives its seqs back: the log stays gap-free.
            """
            CREATE TABLE change_counter (
                one boolean PRIMARY KEY DEFAULT true CHECK (one),
                last bigint NOT NULL
            )
            """,
            "INSERT INTO change_counter (one, last) VALUES (true, 0)",
        ),
    ),
    Migration(
        "0002_tokens_and_idempotency",
        (
            """
            CREATE TABLE tokens (
                id text COLLATE "C" PRIMARY KEY,
                secret_hash text COLLATE "C" NOT NULL,
                role text COLLATE "C" NOT NULL,
                subject text COLLATE "C",
                name text COLLATE "C" NOT NULL,
                created_at double precision NOT NULL,
                revoked_at double precision
            )
            """,
            """
            CREATE TABLE idempotency (
                scope text COLLATE "C" NOT NULL,
                key text COLLATE "C" NOT NULL,
                fingerprint text COLLATE "C" NOT NULL,
                status integer NOT NULL,
                body bytea NOT NULL,
                content_type text COLLATE "C" NOT NULL,
                created_at double precision NOT NULL,
                PRIMARY KEY (scope, key)
            )
            """,
            "CREATE INDEX idempotency_by_age ON idempotency (created_at)",
        ),
    ),
    Migration(
        # Clients get a stored display name, as providers have: the name on each client's
        # earliest token (a later token only labels itself).
        "0003_clients",
        (
            """
            CREATE TABLE clients (
                id text COLLATE "C" PRIMARY KEY,
                name text COLLATE "C" NOT NULL,
                created_at double precision NOT NULL
            )
            """,
            """
            INSERT INTO clients (id, name, created_at)
            SELECT subject, name, created_at
              FROM (SELECT subject, name, created_at,
                           ROW_NUMBER() OVER (PARTITION BY subject ORDER BY created_at, id) AS n
                      FROM tokens WHERE role = 'client' AND subject IS NOT NULL) AS ranked
             WHERE n = 1
            """,
        ),
    ),
    Migration(
        # Weekly schedules (one a provider: its zone, weekly hours and exceptions as JSON, its
        # horizon, and the last local date filled), and which slots a schedule made.
        "0004_schedules",
        (
            """
            CREATE TABLE schedules (
                provider_id text COLLATE "C" PRIMARY KEY,
                time_zone text NOT NULL,
                weekly text NOT NULL,
                exceptions text NOT NULL,
                horizon_days integer NOT NULL,
                filled_until text NOT NULL,
                updated_at double precision NOT NULL
            )
            """,
            "ALTER TABLE slots ADD COLUMN scheduled boolean NOT NULL DEFAULT false",
        ),
    ),
    Migration(
        # The index of clients' slots covers only slots that have a client: most slots are open,
        # and every slot a schedule opened wrote an entry no query could use.
        "0005_partial_client_index",
        (
            "DROP INDEX slots_by_client",
            "CREATE INDEX slots_by_client ON slots (client_id, status, held_until)"
            " WHERE client_id IS NOT NULL",
        ),
    ),
    Migration(
        # Appointments of one or more slots: each held or booked slot names its appointment (the
        # first slot's id, its own for every reservation made before) and carries its note; a
        # change keeps the appointment, the note, the hold's end and, for a move, the slot it
        # released.
        "0006_appointments",
        (
            'ALTER TABLE slots ADD COLUMN appointment_id text COLLATE "C", ADD COLUMN note text',
            "UPDATE slots SET appointment_id = id WHERE status <> 'AVAILABLE'",
            "CREATE INDEX slots_by_appointment ON slots (appointment_id)"
            " WHERE appointment_id IS NOT NULL",
            'ALTER TABLE changes ADD COLUMN appointment_id text COLLATE "C",'
            " ADD COLUMN note text, ADD COLUMN held_until double precision,"
            ' ADD COLUMN from_slot_id text COLLATE "C",'
            ' ADD COLUMN from_provider_id text COLLATE "C", ADD COLUMN from_start bigint',
        ),
    ),
)


async def apply_migrations(conn: Connection, *, stop_before: str | None = None) -> list[str]:
    """Bring the database to the current schema (or to the one before migration `stop_before`);
    return the names of the migrations applied."""
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS slotbook_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in await conn.fetch("SELECT name FROM slotbook_migrations")}
        for migration in MIGRATIONS:
            if migration.name == stop_before:
                break
            if migration.name in done:
                continue
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute("INSERT INTO slotbook_migrations (name) VALUES ($1)", migration.name)
            applied.append(migration.name)
    return applied
