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
    Migration(
        # Seqs handed out at commit time (backend/store/postgres/sequencer.py): a write appends
        # its changes to `pending_changes`, in id order and without a seq, and one sequencer
        # round at a time moves every committed one into `changes` with the next seqs and
        # notifies once. Write transactions no longer queue on the counter row or on NOTIFY's
        # commit-time lock. The change log itself keeps its shape.
        "0007_sequenced_changes",
        (
            """
            CREATE TABLE pending_changes (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                kind text COLLATE "C" NOT NULL,
                slot_id text COLLATE "C" NOT NULL,
                provider_id text COLLATE "C" NOT NULL,
                start bigint NOT NULL,
                status text COLLATE "C" NOT NULL,
                client_id text COLLATE "C",
                at double precision NOT NULL,
                appointment_id text COLLATE "C",
                note text,
                held_until double precision,
                from_slot_id text COLLATE "C",
                from_provider_id text COLLATE "C",
                from_start bigint
            )
            """,
            # One round: wait for the sequencer lock, then (with a snapshot taken after it, as
            # every statement of a VOLATILE function takes its own) move what has committed
            # into the log in id order, return it as the change feed reads it, and notify the
            # other processes (the payload names the sender, which has the changes already).
            # The counter row is touched by rounds alone. (A round handles a few rows; JIT
            # compiling its plan, which the planner's guesses about a table that empties
            # every round can make look big, would take longer than running it.)
            """
            CREATE FUNCTION slotbook_sequence_changes(channel text, lock_class int4, sender text)
            RETURNS TABLE (
                r_seq bigint, r_kind text, r_slot_id text, r_provider_id text, r_start bigint,
                r_status text, r_client_id text, r_at float8, r_client_name text,
                r_appointment_id text, r_note text, r_held_until float8, r_from_slot_id text,
                r_from_provider_id text, r_from_start bigint)
            LANGUAGE plpgsql VOLATILE SET jit = off AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock(lock_class, 0);
                RETURN QUERY
                WITH pending AS (
                    DELETE FROM pending_changes RETURNING *
                ), counter AS (
                    UPDATE change_counter SET last = last + (SELECT COUNT(*) FROM pending)
                     WHERE EXISTS (SELECT FROM pending)
                    RETURNING last - (SELECT COUNT(*) FROM pending) AS before
                ), numbered AS (
                    INSERT INTO changes (seq, kind, slot_id, provider_id, start, status,
                                         client_id, at, appointment_id, note, held_until,
                                         from_slot_id, from_provider_id, from_start)
                    SELECT (SELECT before FROM counter) + row_number() OVER (ORDER BY p.id),
                           p.kind, p.slot_id, p.provider_id, p.start, p.status, p.client_id,
                           p.at, p.appointment_id, p.note, p.held_until, p.from_slot_id,
                           p.from_provider_id, p.from_start
                      FROM pending AS p
                    RETURNING *
                )
                SELECT n.seq, n.kind, n.slot_id, n.provider_id, n.start, n.status, n.client_id,
                       n.at, cl.name, n.appointment_id, n.note, n.held_until, n.from_slot_id,
                       n.from_provider_id, n.from_start
                  FROM numbered AS n LEFT JOIN clients AS cl ON cl.id = n.client_id
                 ORDER BY n.seq;
                IF FOUND THEN
                    PERFORM pg_notify(channel, sender);
                END IF;
            END
            $$
            """,
            # The commonest writes as one round trip each (the lean-writes lever): a hold of one
            # open slot (the client's lock first, then the hold count read after it) and the
            # confirm of a one-slot hold (its row locked first, so an appointment growing at
            # that moment is seen). Each writes its change, or nothing: then the general path
            # runs and says why.
            """
            CREATE FUNCTION slotbook_hold_open_slot(
                p_client text, p_now float8, p_id text, p_time_slot bigint, p_hold float8,
                p_notice float8, p_horizon float8, p_length int8, p_note text,
                p_max_holds int8, p_lock_class int4)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_client));
                RETURN QUERY
                WITH taken AS (
                    UPDATE slots AS s
                       SET status = 'RESERVED', client_id = p_client, reserved_at = p_now,
                           held_until = LEAST(p_now + p_hold, s.start - p_notice),
                           confirmed_at = NULL, appointment_id = s.id, note = p_note
                     WHERE s.id = p_id AND s.start = p_time_slot AND s.status = 'AVAILABLE'
                       AND s.start > p_horizon AND (p_length IS NULL OR s.duration = p_length)
                       AND (SELECT COUNT(DISTINCT h.appointment_id) FROM slots AS h
                             WHERE h.client_id = p_client AND h.status = 'RESERVED'
                               AND h.held_until > p_now) < p_max_holds
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note,
                                                 held_until)
                    SELECT 'reserved', t.id, t.provider_id, t.start, 'RESERVED', p_client, p_now,
                           t.appointment_id, t.note, t.held_until
                      FROM taken AS t
                )
                SELECT * FROM taken;
            END
            $$
            """,
            """
            CREATE FUNCTION slotbook_confirm_one_slot(
                p_id text, p_time_slot bigint, p_client text, p_now float8)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM 1 FROM slots WHERE id = p_id FOR UPDATE;
                RETURN QUERY
                WITH booked AS (
                    UPDATE slots AS s
                       SET status = 'CONFIRMED', confirmed_at = p_now, held_until = NULL
                     WHERE s.id = p_id AND s.appointment_id = s.id AND s.start = p_time_slot
                       AND s.status = 'RESERVED' AND s.held_until > p_now
                       AND (p_client IS NULL OR s.client_id = p_client)
                       AND NOT EXISTS (
                           SELECT FROM slots AS o
                            WHERE o.appointment_id = s.id AND o.id <> s.id
                              AND (o.status = 'CONFIRMED'
                                   OR (o.status = 'RESERVED' AND o.held_until > p_now)))
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note)
                    SELECT 'confirmed', b.id, b.provider_id, b.start, 'CONFIRMED', b.client_id,
                           p_now, b.appointment_id, b.note
                      FROM booked AS b
                )
                SELECT * FROM booked;
            END
            $$
            """,
        ),
    ),
    Migration(
        # Calendar feeds (a secret address each, stored hashed) and the calendar ledger: one
        # entry per reservation, kept through confirm, note, move, cancel and lapse (see
        # backend/rules/calendar_ledger.py), started from the live reservations of before. The two
        # functions of the lean writes write their ledger entry too.
        "0008_calendars",
        (
            """
            CREATE TABLE calendar_feeds (
                id text COLLATE "C" PRIMARY KEY,
                secret_hash text COLLATE "C" NOT NULL UNIQUE,
                role text COLLATE "C" NOT NULL,
                subject text COLLATE "C" NOT NULL,
                created_at double precision NOT NULL
            )
            """,
            "CREATE INDEX calendar_feeds_by_owner ON calendar_feeds (role, subject)",
            """
            CREATE TABLE calendar_entries (
                uid text COLLATE "C" PRIMARY KEY,
                appointment_id text COLLATE "C" NOT NULL,
                provider_id text COLLATE "C" NOT NULL,
                client_id text COLLATE "C" NOT NULL,
                start bigint NOT NULL,
                ends bigint NOT NULL,
                status text COLLATE "C" NOT NULL,
                held_until double precision,
                note text,
                sequence integer NOT NULL,
                created_at double precision NOT NULL,
                updated_at double precision NOT NULL
            )
            """,
            "CREATE INDEX calendar_entries_live ON calendar_entries (appointment_id)"
            " WHERE status <> 'CANCELLED'",
            "CREATE INDEX calendar_entries_by_provider ON calendar_entries (provider_id, ends)",
            "CREATE INDEX calendar_entries_by_client ON calendar_entries (client_id, ends)",
            """
            INSERT INTO calendar_entries
            SELECT md5(random()::text || clock_timestamp()::text || appointment_id),
                   appointment_id, provider_id, client_id, MIN(start), MAX(start + duration),
                   status, MAX(held_until), MAX(note), 0, reserved_at,
                   COALESCE(MAX(confirmed_at), reserved_at)
              FROM slots
             WHERE appointment_id IS NOT NULL AND client_id IS NOT NULL
               AND reserved_at IS NOT NULL
               AND (status = 'CONFIRMED'
                    OR (status = 'RESERVED' AND held_until > extract(epoch FROM now())))
             GROUP BY appointment_id, client_id, reserved_at, status, provider_id
            """,
            """
            CREATE OR REPLACE FUNCTION slotbook_hold_open_slot(
                p_client text, p_now float8, p_id text, p_time_slot bigint, p_hold float8,
                p_notice float8, p_horizon float8, p_length int8, p_note text,
                p_max_holds int8, p_lock_class int4)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_client));
                RETURN QUERY
                WITH taken AS (
                    UPDATE slots AS s
                       SET status = 'RESERVED', client_id = p_client, reserved_at = p_now,
                           held_until = LEAST(p_now + p_hold, s.start - p_notice),
                           confirmed_at = NULL, appointment_id = s.id, note = p_note
                     WHERE s.id = p_id AND s.start = p_time_slot AND s.status = 'AVAILABLE'
                       AND s.start > p_horizon AND (p_length IS NULL OR s.duration = p_length)
                       AND (SELECT COUNT(DISTINCT h.appointment_id) FROM slots AS h
                             WHERE h.client_id = p_client AND h.status = 'RESERVED'
                               AND h.held_until > p_now) < p_max_holds
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note,
                                                 held_until)
                    SELECT 'reserved', t.id, t.provider_id, t.start, 'RESERVED', p_client, p_now,
                           t.appointment_id, t.note, t.held_until
                      FROM taken AS t
                ), entered AS (
                    INSERT INTO calendar_entries (uid, appointment_id, provider_id, client_id,
                                                  start, ends, status, held_until, note,
                                                  sequence, created_at, updated_at)
                    SELECT md5(random()::text || clock_timestamp()::text || t.id), t.id,
                           t.provider_id, p_client, t.start, t.start + t.duration, 'RESERVED',
                           t.held_until, t.note, 0, p_now, p_now
                      FROM taken AS t
                )
                SELECT * FROM taken;
            END
            $$
            """,
            """
            CREATE OR REPLACE FUNCTION slotbook_confirm_one_slot(
                p_id text, p_time_slot bigint, p_client text, p_now float8)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM 1 FROM slots WHERE id = p_id FOR UPDATE;
                RETURN QUERY
                WITH booked AS (
                    UPDATE slots AS s
                       SET status = 'CONFIRMED', confirmed_at = p_now, held_until = NULL
                     WHERE s.id = p_id AND s.appointment_id = s.id AND s.start = p_time_slot
                       AND s.status = 'RESERVED' AND s.held_until > p_now
                       AND (p_client IS NULL OR s.client_id = p_client)
                       AND NOT EXISTS (
                           SELECT FROM slots AS o
                            WHERE o.appointment_id = s.id AND o.id <> s.id
                              AND (o.status = 'CONFIRMED'
                                   OR (o.status = 'RESERVED' AND o.held_until > p_now)))
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note)
                    SELECT 'confirmed', b.id, b.provider_id, b.start, 'CONFIRMED', b.client_id,
                           p_now, b.appointment_id, b.note
                      FROM booked AS b
                ), entered AS (
                    UPDATE calendar_entries AS e
                       SET status = 'CONFIRMED', held_until = NULL, start = b.start,
                           ends = b.start + b.duration, note = b.note,
                           sequence = e.sequence + 1, updated_at = p_now
                      FROM booked AS b
                     WHERE e.appointment_id = b.id AND e.status <> 'CANCELLED'
                )
                SELECT * FROM booked;
            END
            $$
            """,
        ),
    ),
    Migration(
        # Webhook endpoints, each with its signing secret, its cursor in the change log (the log
        # is the outbox: a change is queued for every endpoint by the transaction that logs it),
        # its retry state and its lease (one process delivers each endpoint at a time); and the
        # attempts made.
        "0009_webhooks",
        (
            """
            CREATE TABLE webhooks (
                id text COLLATE "C" PRIMARY KEY,
                url text NOT NULL,
                events text,
                description text,
                provider_id text COLLATE "C",
                secret text NOT NULL,
                created_at double precision NOT NULL,
                cursor bigint NOT NULL,
                failures integer NOT NULL DEFAULT 0,
                next_attempt_at double precision NOT NULL,
                disabled_at double precision,
                disabled_reason text,
                leased_until double precision
            )
            """,
            """
            CREATE TABLE webhook_deliveries (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                webhook_id text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                attempt integer NOT NULL,
                at double precision NOT NULL,
                status_code integer,
                error text,
                latency_ms double precision NOT NULL
            )
            """,
            "CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries (webhook_id, id)",
            "CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (at)",
        ),
    ),
    Migration(
        # Endpoints sent changes in batches (format 'batch'), while those registered before keep
        # one change a delivery ('single'); the last seq of a batch being retried; the first
        # change of each attempt recorded (its last is `seq`).
        "0010_webhook_batches",
        (
            "ALTER TABLE webhooks ADD COLUMN format text NOT NULL DEFAULT 'single'",
            "ALTER TABLE webhooks ADD COLUMN batch_through bigint",
            "ALTER TABLE webhook_deliveries ADD COLUMN first_seq bigint",
            "UPDATE webhook_deliveries SET first_seq = seq",
            "CREATE INDEX webhooks_by_owner ON webhooks (provider_id)",
        ),
    ),
    Migration(
        # How many replays each endpoint has had: a delivery under way writes its outcome only
        # if none came meanwhile.
        "0011_webhook_replays",
        ("ALTER TABLE webhooks ADD COLUMN replays integer NOT NULL DEFAULT 0",),
    ),
    Migration(
        # Appointment types (`services`), each a provider's; every slot of a held or booked
        # appointment names its type and carries the buffers it was booked with (seconds); a
        # change and a calendar entry name the type too. The partial index finds the few slots
        # that keep a buffer. The sequencer's round returns each change's type and its name; the
        # lean hold takes its provider's lock after its client's (as the general path does, so
        # that the buffer rule holds under any concurrency), keeps clear of neighbours' buffers
        # and leaves no type behind; the lean confirm keeps a type's notice.
        "0012_appointment_types",
        (
            """
            CREATE TABLE services (
                id text COLLATE "C" PRIMARY KEY,
                provider_id text COLLATE "C" NOT NULL,
                name text NOT NULL,
                minutes integer NOT NULL,
                buffer_before_minutes integer NOT NULL DEFAULT 0,
                buffer_after_minutes integer NOT NULL DEFAULT 0,
                notice_minutes integer NOT NULL,
                max_advance_days integer,
                daily_limit integer,
                description text NOT NULL DEFAULT '',
                archived_at double precision,
                created_at double precision NOT NULL,
                updated_at double precision NOT NULL
            )
            """,
            "CREATE INDEX services_by_provider ON services (provider_id, created_at)",
            'ALTER TABLE slots ADD COLUMN service_id text COLLATE "C"',
            "ALTER TABLE slots ADD COLUMN buffer_before integer NOT NULL DEFAULT 0",
            "ALTER TABLE slots ADD COLUMN buffer_after integer NOT NULL DEFAULT 0",
            "CREATE INDEX slots_buffered ON slots (provider_id, start)"
            " WHERE buffer_before > 0 OR buffer_after > 0",
            "CREATE INDEX slots_by_service ON slots (service_id, start)"
            " WHERE service_id IS NOT NULL",
            'ALTER TABLE changes ADD COLUMN service_id text COLLATE "C"',
            'ALTER TABLE pending_changes ADD COLUMN service_id text COLLATE "C"',
            'ALTER TABLE calendar_entries ADD COLUMN service_id text COLLATE "C"',
            "DROP FUNCTION slotbook_sequence_changes(text, int4, text)",
            """
            CREATE FUNCTION slotbook_sequence_changes(channel text, lock_class int4, sender text)
            RETURNS TABLE (
                r_seq bigint, r_kind text, r_slot_id text, r_provider_id text, r_start bigint,
                r_status text, r_client_id text, r_at float8, r_client_name text,
                r_appointment_id text, r_note text, r_held_until float8, r_from_slot_id text,
                r_from_provider_id text, r_from_start bigint, r_service_id text,
                r_service_name text)
            LANGUAGE plpgsql VOLATILE SET jit = off AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock(lock_class, 0);
                RETURN QUERY
                WITH pending AS (
                    DELETE FROM pending_changes RETURNING *
                ), counter AS (
                    UPDATE change_counter SET last = last + (SELECT COUNT(*) FROM pending)
                     WHERE EXISTS (SELECT FROM pending)
                    RETURNING last - (SELECT COUNT(*) FROM pending) AS before
                ), numbered AS (
                    INSERT INTO changes (seq, kind, slot_id, provider_id, start, status,
                                         client_id, at, appointment_id, note, held_until,
                                         from_slot_id, from_provider_id, from_start, service_id)
                    SELECT (SELECT before FROM counter) + row_number() OVER (ORDER BY p.id),
                           p.kind, p.slot_id, p.provider_id, p.start, p.status, p.client_id,
                           p.at, p.appointment_id, p.note, p.held_until, p.from_slot_id,
                           p.from_provider_id, p.from_start, p.service_id
                      FROM pending AS p
                    RETURNING *
                )
                SELECT n.seq, n.kind, n.slot_id, n.provider_id, n.start, n.status, n.client_id,
                       n.at, cl.name, n.appointment_id, n.note, n.held_until, n.from_slot_id,
                       n.from_provider_id, n.from_start, n.service_id, sv.name
                  FROM numbered AS n LEFT JOIN clients AS cl ON cl.id = n.client_id
                  LEFT JOIN services AS sv ON sv.id = n.service_id
                 ORDER BY n.seq;
                IF FOUND THEN
                    PERFORM pg_notify(channel, sender);
                END IF;
            END
            $$
            """,
            "DROP FUNCTION slotbook_hold_open_slot("
            "text, float8, text, bigint, float8, float8, float8, int8, text, int8, int4)",
            """
            CREATE FUNCTION slotbook_hold_open_slot(
                p_client text, p_now float8, p_id text, p_time_slot bigint, p_hold float8,
                p_notice float8, p_horizon float8, p_length int8, p_note text,
                p_max_holds int8, p_lock_class int4, p_provider_lock_class int4,
                p_reach int8, p_buffer_reach int8)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                v_provider text;
            BEGIN
                PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_client));
                SELECT provider_id INTO v_provider FROM slots WHERE id = p_id;
                IF v_provider IS NULL THEN
                    RETURN;
                END IF;
                PERFORM pg_advisory_xact_lock(p_provider_lock_class, hashtext(v_provider));
                RETURN QUERY
                WITH taken AS (
                    UPDATE slots AS s
                       SET status = 'RESERVED', client_id = p_client, reserved_at = p_now,
                           held_until = LEAST(p_now + p_hold, s.start - p_notice),
                           confirmed_at = NULL, appointment_id = s.id, note = p_note,
                           service_id = NULL, buffer_before = 0, buffer_after = 0
                     WHERE s.id = p_id AND s.start = p_time_slot AND s.status = 'AVAILABLE'
                       AND s.start > p_horizon AND (p_length IS NULL OR s.duration = p_length)
                       AND (SELECT COUNT(DISTINCT h.appointment_id) FROM slots AS h
                             WHERE h.client_id = p_client AND h.status = 'RESERVED'
                               AND h.held_until > p_now) < p_max_holds
                       AND NOT EXISTS (
                           SELECT FROM slots AS nb
                            WHERE nb.provider_id = s.provider_id
                              AND nb.start >= s.start - p_reach
                              AND nb.start < s.start + s.duration + p_buffer_reach
                              AND (nb.buffer_before > 0 OR nb.buffer_after > 0)
                              AND (nb.status = 'CONFIRMED'
                                   OR (nb.status = 'RESERVED' AND nb.held_until > p_now))
                              AND ((nb.start + nb.duration <= s.start
                                    AND nb.start + nb.duration + nb.buffer_after > s.start)
                                   OR (nb.start >= s.start + s.duration
                                       AND nb.start - nb.buffer_before < s.start + s.duration)))
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note,
                                                 held_until)
                    SELECT 'reserved', t.id, t.provider_id, t.start, 'RESERVED', p_client, p_now,
                           t.appointment_id, t.note, t.held_until
                      FROM taken AS t
                ), entered AS (
                    INSERT INTO calendar_entries (uid, appointment_id, provider_id, client_id,
                                                  start, ends, status, held_until, note,
                                                  sequence, created_at, updated_at)
                    SELECT md5(random()::text || clock_timestamp()::text || t.id), t.id,
                           t.provider_id, p_client, t.start, t.start + t.duration, 'RESERVED',
                           t.held_until, t.note, 0, p_now, p_now
                      FROM taken AS t
                )
                SELECT * FROM taken;
            END
            $$
            """,
            """
            CREATE OR REPLACE FUNCTION slotbook_confirm_one_slot(
                p_id text, p_time_slot bigint, p_client text, p_now float8)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM 1 FROM slots WHERE id = p_id FOR UPDATE;
                RETURN QUERY
                WITH booked AS (
                    UPDATE slots AS s
                       SET status = 'CONFIRMED', confirmed_at = p_now, held_until = NULL
                     WHERE s.id = p_id AND s.appointment_id = s.id AND s.start = p_time_slot
                       AND s.status = 'RESERVED' AND s.held_until > p_now
                       AND (p_client IS NULL OR s.client_id = p_client)
                       AND (s.service_id IS NULL
                            OR s.start > p_now + (SELECT sv.notice_minutes * 60 FROM services
                                                   AS sv WHERE sv.id = s.service_id))
                       AND NOT EXISTS (
                           SELECT FROM slots AS o
                            WHERE o.appointment_id = s.id AND o.id <> s.id
                              AND (o.status = 'CONFIRMED'
                                   OR (o.status = 'RESERVED' AND o.held_until > p_now)))
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note,
                                                 service_id)
                    SELECT 'confirmed', b.id, b.provider_id, b.start, 'CONFIRMED', b.client_id,
                           p_now, b.appointment_id, b.note, b.service_id
                      FROM booked AS b
                ), entered AS (
                    UPDATE calendar_entries AS e
                       SET status = 'CONFIRMED', held_until = NULL, start = b.start,
                           ends = b.start + b.duration, note = b.note,
                           sequence = e.sequence + 1, updated_at = p_now
                      FROM booked AS b
                     WHERE e.appointment_id = b.id AND e.status <> 'CANCELLED'
                )
                SELECT * FROM booked;
            END
            $$
            """,
        ),
    ),
    Migration(
        # E-mail: each party's address and zone; the notifications queued by the writes that
        # cause them (the outbox the mail sender delivers from); the manage links, each secret
        # stored hashed and scoped to one invitation; a calendar entry's invitation UID, which a
        # move to another provider carries on (NULL: the entry's own). The lean confirm leaves
        # a booking whose client or provider has an address to the general path, which queues
        # the notices.
        "0013_mail",
        (
            "ALTER TABLE providers ADD COLUMN email text",
            "ALTER TABLE providers ADD COLUMN time_zone text",
            "ALTER TABLE clients ADD COLUMN email text",
            "ALTER TABLE clients ADD COLUMN time_zone text",
            'ALTER TABLE calendar_entries ADD COLUMN invite_uid text COLLATE "C"',
            "CREATE INDEX calendar_entries_by_invite ON calendar_entries (invite_uid)"
            " WHERE invite_uid IS NOT NULL",
            """
            CREATE TABLE notifications (
                id text COLLATE "C" PRIMARY KEY,
                kind text NOT NULL,
                role text NOT NULL,
                party_id text COLLATE "C" NOT NULL,
                recipient text NOT NULL,
                uid text COLLATE "C" NOT NULL,
                sequence integer NOT NULL,
                appointment_id text COLLATE "C" NOT NULL,
                provider_id text COLLATE "C" NOT NULL,
                client_id text COLLATE "C" NOT NULL,
                service_id text COLLATE "C",
                start bigint NOT NULL,
                ends bigint NOT NULL,
                reminder_before integer,
                manage_secret text,
                status text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                last_error text,
                created_at double precision NOT NULL,
                due_at double precision NOT NULL,
                sent_at double precision,
                leased_until double precision
            )
            """,
            "CREATE INDEX notifications_due ON notifications (due_at) WHERE status = 'queued'",
            "CREATE INDEX notifications_by_party ON notifications (party_id, created_at)",
            "CREATE INDEX notifications_by_created ON notifications (created_at)",
            "CREATE INDEX notifications_reminders ON notifications (uid)"
            " WHERE status = 'queued' AND kind = 'reminder'",
            """
            CREATE TABLE manage_links (
                secret_hash text COLLATE "C" PRIMARY KEY,
                uid text COLLATE "C" NOT NULL,
                client_id text COLLATE "C" NOT NULL,
                created_at double precision NOT NULL
            )
            """,
            """
            CREATE OR REPLACE FUNCTION slotbook_confirm_one_slot(
                p_id text, p_time_slot bigint, p_client text, p_now float8)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM 1 FROM slots WHERE id = p_id FOR UPDATE;
                RETURN QUERY
                WITH booked AS (
                    UPDATE slots AS s
                       SET status = 'CONFIRMED', confirmed_at = p_now, held_until = NULL
                     WHERE s.id = p_id AND s.appointment_id = s.id AND s.start = p_time_slot
                       AND s.status = 'RESERVED' AND s.held_until > p_now
                       AND (p_client IS NULL OR s.client_id = p_client)
                       AND (s.service_id IS NULL
                            OR s.start > p_now + (SELECT sv.notice_minutes * 60 FROM services
                                                   AS sv WHERE sv.id = s.service_id))
                       AND NOT EXISTS (SELECT FROM clients AS c
                                        WHERE c.id = s.client_id AND c.email IS NOT NULL)
                       AND NOT EXISTS (SELECT FROM providers AS p
                                        WHERE p.id = s.provider_id AND p.email IS NOT NULL)
                       AND NOT EXISTS (
                           SELECT FROM slots AS o
                            WHERE o.appointment_id = s.id AND o.id <> s.id
                              AND (o.status = 'CONFIRMED'
                                   OR (o.status = 'RESERVED' AND o.held_until > p_now)))
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note,
                                                 service_id)
                    SELECT 'confirmed', b.id, b.provider_id, b.start, 'CONFIRMED', b.client_id,
                           p_now, b.appointment_id, b.note, b.service_id
                      FROM booked AS b
                ), entered AS (
                    UPDATE calendar_entries AS e
                       SET status = 'CONFIRMED', held_until = NULL, start = b.start,
                           ends = b.start + b.duration, note = b.note,
                           sequence = e.sequence + 1, updated_at = p_now
                      FROM booked AS b
                     WHERE e.appointment_id = b.id AND e.status <> 'CANCELLED'
                )
                SELECT * FROM booked;
            END
            $$
            """,
        ),
    ),
    Migration(
        # The booking page: a provider's public profile and whether their page is on; the
        # clients the page makes, one per e-mail address, never merged with token clients; the
        # links that confirm the page's holds, each secret stored hashed, with the address the
        # hold came from (the page's limits count live holds per address and per client); a
        # notification that carries such a link says until when the hold lasts.
        "0014_booking_page",
        (
            "ALTER TABLE providers ADD COLUMN profile_about text",
            "ALTER TABLE providers ADD COLUMN profile_address text",
            "ALTER TABLE providers ADD COLUMN profile_phone text",
            "ALTER TABLE providers ADD COLUMN profile_website text",
            "ALTER TABLE providers ADD COLUMN booking_page boolean NOT NULL DEFAULT false",
            "ALTER TABLE notifications ADD COLUMN held_until double precision",
            """
            CREATE TABLE page_clients (
                email_key text COLLATE "C" PRIMARY KEY,
                client_id text COLLATE "C" NOT NULL UNIQUE,
                created_at double precision NOT NULL
            )
            """,
            """
            CREATE TABLE hold_links (
                secret_hash text COLLATE "C" PRIMARY KEY,
                ref text COLLATE "C" NOT NULL UNIQUE,
                appointment_id text COLLATE "C" NOT NULL,
                start bigint NOT NULL,
                ends bigint NOT NULL,
                provider_id text COLLATE "C" NOT NULL,
                client_id text COLLATE "C" NOT NULL,
                service_id text COLLATE "C",
                remote text COLLATE "C" NOT NULL,
                created_at double precision NOT NULL,
                expires_at double precision NOT NULL,
                used_at double precision
            )
            """,
            "CREATE INDEX hold_links_by_remote ON hold_links (remote, expires_at)"
            " WHERE used_at IS NULL",
            "CREATE INDEX hold_links_by_client ON hold_links (client_id, expires_at)"
            " WHERE used_at IS NULL",
            "CREATE INDEX hold_links_by_expiry ON hold_links (expires_at)",
        ),
    ),
    Migration(
        # The provider's own calendars: the sources busy times are read from (a password
        # sealed with --secret-key; the status of the last refresh; when the next is due, and
        # the lease of the process refreshing it), and the busy intervals each gave, in pieces
        # of at most an hour (so a listing's probe for one that overlaps a slot reads an hour's
        # worth at most). The calendar a provider's bookings are written back to, the writes
        # queued in the transactions of the bookings' changes, and each written event's ETag.
        # The lean hold of one slot now leaves a busy slot to the general path, which says why.
        "0015_busy_times",
        (
            """
            CREATE TABLE busy_sources (
                id text COLLATE "C" PRIMARY KEY,
                provider_id text COLLATE "C" NOT NULL,
                name text NOT NULL,
                kind text NOT NULL,
                url text NOT NULL,
                username text,
                password_sealed text,
                refresh_minutes integer NOT NULL,
                all_day_events text NOT NULL,
                created_at double precision NOT NULL,
                updated_at double precision NOT NULL,
                last_sync_at double precision,
                last_success_at double precision,
                last_error text,
                events integer NOT NULL DEFAULT 0,
                busy_intervals integer NOT NULL DEFAULT 0,
                etag text,
                last_modified text,
                failures integer NOT NULL DEFAULT 0,
                due_at double precision NOT NULL,
                leased_until double precision
            )
            """,
            "CREATE INDEX busy_sources_by_provider ON busy_sources (provider_id, created_at)",
            "CREATE INDEX busy_sources_due ON busy_sources (due_at)",
            """
            CREATE TABLE busy_intervals (
                source_id text COLLATE "C" NOT NULL,
                provider_id text COLLATE "C" NOT NULL,
                start bigint NOT NULL,
                ends bigint NOT NULL
            )
            """,
            "CREATE INDEX busy_intervals_by_provider ON busy_intervals (provider_id, start)",
            "CREATE INDEX busy_intervals_by_source ON busy_intervals (source_id)",
            """
            CREATE TABLE calendar_writes (
                provider_id text COLLATE "C" PRIMARY KEY,
                url text NOT NULL,
                username text,
                password_sealed text,
                created_at double precision NOT NULL,
                updated_at double precision NOT NULL,
                last_write_at double precision,
                last_success_at double precision,
                last_error text,
                failures integer NOT NULL DEFAULT 0
            )
            """,
            """
            CREATE TABLE calendar_write_queue (
                id text COLLATE "C" PRIMARY KEY,
                provider_id text COLLATE "C" NOT NULL,
                uid text COLLATE "C" NOT NULL,
                appointment_id text COLLATE "C" NOT NULL,
                action text NOT NULL,
                status text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                last_error text,
                created_at double precision NOT NULL,
                due_at double precision NOT NULL,
                leased_until double precision,
                done_at double precision
            )
            """,
            "CREATE INDEX calendar_write_queue_due ON calendar_write_queue (due_at)"
            " WHERE status = 'queued'",
            """
            CREATE TABLE written_events (
                provider_id text COLLATE "C" NOT NULL,
                uid text COLLATE "C" NOT NULL,
                etag text,
                PRIMARY KEY (provider_id, uid)
            )
            """,
            """
            CREATE OR REPLACE FUNCTION slotbook_hold_open_slot(
                p_client text, p_now float8, p_id text, p_time_slot bigint, p_hold float8,
                p_notice float8, p_horizon float8, p_length int8, p_note text,
                p_max_holds int8, p_lock_class int4, p_provider_lock_class int4,
                p_reach int8, p_buffer_reach int8)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                v_provider text;
            BEGIN
                PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_client));
                SELECT provider_id INTO v_provider FROM slots WHERE id = p_id;
                IF v_provider IS NULL THEN
                    RETURN;
                END IF;
                PERFORM pg_advisory_xact_lock(p_provider_lock_class, hashtext(v_provider));
                RETURN QUERY
                WITH taken AS (
                    UPDATE slots AS s
                       SET status = 'RESERVED', client_id = p_client, reserved_at = p_now,
                           held_until = LEAST(p_now + p_hold, s.start - p_notice),
                           confirmed_at = NULL, appointment_id = s.id, note = p_note,
                           service_id = NULL, buffer_before = 0, buffer_after = 0
                     WHERE s.id = p_id AND s.start = p_time_slot AND s.status = 'AVAILABLE'
                       AND s.start > p_horizon AND (p_length IS NULL OR s.duration = p_length)
                       AND (SELECT COUNT(DISTINCT h.appointment_id) FROM slots AS h
                             WHERE h.client_id = p_client AND h.status = 'RESERVED'
                               AND h.held_until > p_now) < p_max_holds
                       AND NOT EXISTS (
                           SELECT FROM slots AS nb
                            WHERE nb.provider_id = s.provider_id
                              AND nb.start >= s.start - p_reach
                              AND nb.start < s.start + s.duration + p_buffer_reach
                              AND (nb.buffer_before > 0 OR nb.buffer_after > 0)
                              AND (nb.status = 'CONFIRMED'
                                   OR (nb.status = 'RESERVED' AND nb.held_until > p_now))
                              AND ((nb.start + nb.duration <= s.start
                                    AND nb.start + nb.duration + nb.buffer_after > s.start)
                                   OR (nb.start >= s.start + s.duration
                                       AND nb.start - nb.buffer_before < s.start + s.duration)))
                       AND NOT EXISTS (
                           SELECT FROM busy_intervals AS bz
                            WHERE bz.provider_id = s.provider_id
                              AND bz.start > s.start - 3600
                              AND bz.start < s.start + s.duration AND bz.ends > s.start)
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note,
                                                 held_until)
                    SELECT 'reserved', t.id, t.provider_id, t.start, 'RESERVED', p_client, p_now,
                           t.appointment_id, t.note, t.held_until
                      FROM taken AS t
                ), entered AS (
                    INSERT INTO calendar_entries (uid, appointment_id, provider_id, client_id,
                                                  start, ends, status, held_until, note,
                                                  sequence, created_at, updated_at)
                    SELECT md5(random()::text || clock_timestamp()::text || t.id), t.id,
                           t.provider_id, p_client, t.start, t.start + t.duration, 'RESERVED',
                           t.held_until, t.note, 0, p_now, p_now
                      FROM taken AS t
                )
                SELECT * FROM taken;
            END
            $$
            """,
        ),
    ),
    Migration(
        # Events for the webhooks ride in the change log, their outbox: a row whose kind is an
        # event's carries the event's data as JSON (backend/store/busy_events.py). A round
        # moves it into the log with the rest, and returns it.
        "0016_change_events",
        (
            "ALTER TABLE changes ADD COLUMN data text",
            "ALTER TABLE pending_changes ADD COLUMN data text",
            "DROP FUNCTION slotbook_sequence_changes(text, int4, text)",
            """
            CREATE FUNCTION slotbook_sequence_changes(channel text, lock_class int4, sender text)
            RETURNS TABLE (
                r_seq bigint, r_kind text, r_slot_id text, r_provider_id text, r_start bigint,
                r_status text, r_client_id text, r_at float8, r_client_name text,
                r_appointment_id text, r_note text, r_held_until float8, r_from_slot_id text,
                r_from_provider_id text, r_from_start bigint, r_service_id text,
                r_service_name text, r_data text)
            LANGUAGE plpgsql VOLATILE SET jit = off AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock(lock_class, 0);
                RETURN QUERY
                WITH pending AS (
                    DELETE FROM pending_changes RETURNING *
                ), counter AS (
                    UPDATE change_counter SET last = last + (SELECT COUNT(*) FROM pending)
                     WHERE EXISTS (SELECT FROM pending)
                    RETURNING last - (SELECT COUNT(*) FROM pending) AS before
                ), numbered AS (
                    INSERT INTO changes (seq, kind, slot_id, provider_id, start, status,
                                         client_id, at, appointment_id, note, held_until,
                                         from_slot_id, from_provider_id, from_start, service_id,
                                         data)
                    SELECT (SELECT before FROM counter) + row_number() OVER (ORDER BY p.id),
                           p.kind, p.slot_id, p.provider_id, p.start, p.status, p.client_id,
                           p.at, p.appointment_id, p.note, p.held_until, p.from_slot_id,
                           p.from_provider_id, p.from_start, p.service_id, p.data
                      FROM pending AS p
                    RETURNING *
                )
                SELECT n.seq, n.kind, n.slot_id, n.provider_id, n.start, n.status, n.client_id,
                       n.at, cl.name, n.appointment_id, n.note, n.held_until, n.from_slot_id,
                       n.from_provider_id, n.from_start, n.service_id, sv.name, n.data
                  FROM numbered AS n LEFT JOIN clients AS cl ON cl.id = n.client_id
                  LEFT JOIN services AS sv ON sv.id = n.service_id
                 ORDER BY n.seq;
                IF FOUND THEN
                    PERFORM pg_notify(channel, sender);
                END IF;
            END
            $$
            """,
        ),
    ),
    Migration(
        # Each new write of an event supersedes that event's queued ones, and the writer's claim
        # looks for an older queued write of the same event: both find them by event.
        "0017_calendar_writes_by_event",
        (
            "CREATE INDEX calendar_write_queue_by_event"
            " ON calendar_write_queue (provider_id, uid, status)",
        ),
    ),
    Migration(
        # The waitlist: a client's place in a provider's line for a window, and the offer (a
        # hold) it was given; a hold that is an offer names its entry on its `reserved` change.
        "0018_waitlist",
        (
            """
            CREATE TABLE waitlist_entries (
                id text COLLATE "C" PRIMARY KEY,
                provider_id text COLLATE "C" NOT NULL,
                client_id text COLLATE "C" NOT NULL,
                window_start bigint NOT NULL,
                window_end bigint NOT NULL,
                minutes integer NOT NULL,
                service_id text COLLATE "C",
                joined_at float8 NOT NULL,
                status text NOT NULL,
                appointment_id text COLLATE "C",
                offer_start bigint,
                offer_until float8,
                updated_at float8 NOT NULL
            )
            """,
            "CREATE INDEX waitlist_line ON waitlist_entries (provider_id, status, joined_at, id)",
            "CREATE INDEX waitlist_of_client ON waitlist_entries (client_id, status)",
            "CREATE INDEX waitlist_offers ON waitlist_entries (appointment_id)"
            " WHERE appointment_id IS NOT NULL",
            "ALTER TABLE changes ADD COLUMN waitlist_id text",
            "ALTER TABLE pending_changes ADD COLUMN waitlist_id text",
            "DROP FUNCTION slotbook_sequence_changes(text, int4, text)",
            """
            CREATE FUNCTION slotbook_sequence_changes(channel text, lock_class int4, sender text)
            RETURNS TABLE (
                r_seq bigint, r_kind text, r_slot_id text, r_provider_id text, r_start bigint,
                r_status text, r_client_id text, r_at float8, r_client_name text,
                r_appointment_id text, r_note text, r_held_until float8, r_from_slot_id text,
                r_from_provider_id text, r_from_start bigint, r_service_id text,
                r_service_name text, r_data text, r_waitlist_id text)
            LANGUAGE plpgsql VOLATILE SET jit = off AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock(lock_class, 0);
                RETURN QUERY
                WITH pending AS (
                    DELETE FROM pending_changes RETURNING *
                ), counter AS (
                    UPDATE change_counter SET last = last + (SELECT COUNT(*) FROM pending)
                     WHERE EXISTS (SELECT FROM pending)
                    RETURNING last - (SELECT COUNT(*) FROM pending) AS before
                ), numbered AS (
                    INSERT INTO changes (seq, kind, slot_id, provider_id, start, status,
                                         client_id, at, appointment_id, note, held_until,
                                         from_slot_id, from_provider_id, from_start, service_id,
                                         data, waitlist_id)
                    SELECT (SELECT before FROM counter) + row_number() OVER (ORDER BY p.id),
                           p.kind, p.slot_id, p.provider_id, p.start, p.status, p.client_id,
                           p.at, p.appointment_id, p.note, p.held_until, p.from_slot_id,
                           p.from_provider_id, p.from_start, p.service_id, p.data, p.waitlist_id
                      FROM pending AS p
                    RETURNING *
                )
                SELECT n.seq, n.kind, n.slot_id, n.provider_id, n.start, n.status, n.client_id,
                       n.at, cl.name, n.appointment_id, n.note, n.held_until, n.from_slot_id,
                       n.from_provider_id, n.from_start, n.service_id, sv.name, n.data,
                       n.waitlist_id
                  FROM numbered AS n LEFT JOIN clients AS cl ON cl.id = n.client_id
                  LEFT JOIN services AS sv ON sv.id = n.service_id
                 ORDER BY n.seq;
                IF FOUND THEN
                    PERFORM pg_notify(channel, sender);
                END IF;
            END
            $$
            """,
        ),
    ),
    Migration(
        # The waitlist's lock order (backend/store/postgres/locks.py): the lean hold takes its
        # provider's lock before its client's, as every write now does (a hand-over to a
        # provider's line locks the clients it offers to); the lean confirm takes the holder's
        # lock and leaves to the general path a hold that is a waitlist offer, or whose holder
        # waits in a line (confirming frees one of their holds, which may let them be offered).
        "0019_waitlist_lock_order",
        (
            """
            CREATE OR REPLACE FUNCTION slotbook_hold_open_slot(
                p_client text, p_now float8, p_id text, p_time_slot bigint, p_hold float8,
                p_notice float8, p_horizon float8, p_length int8, p_note text,
                p_max_holds int8, p_lock_class int4, p_provider_lock_class int4,
                p_reach int8, p_buffer_reach int8)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                v_provider text;
            BEGIN
                SELECT provider_id INTO v_provider FROM slots WHERE id = p_id;
                IF v_provider IS NULL THEN
                    RETURN;
                END IF;
                PERFORM pg_advisory_xact_lock(p_provider_lock_class, hashtext(v_provider));
                PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_client));
                RETURN QUERY
                WITH taken AS (
                    UPDATE slots AS s
                       SET status = 'RESERVED', client_id = p_client, reserved_at = p_now,
                           held_until = LEAST(p_now + p_hold, s.start - p_notice),
                           confirmed_at = NULL, appointment_id = s.id, note = p_note,
                           service_id = NULL, buffer_before = 0, buffer_after = 0
                     WHERE s.id = p_id AND s.start = p_time_slot AND s.status = 'AVAILABLE'
                       AND s.start > p_horizon AND (p_length IS NULL OR s.duration = p_length)
                       AND (SELECT COUNT(DISTINCT h.appointment_id) FROM slots AS h
                             WHERE h.client_id = p_client AND h.status = 'RESERVED'
                               AND h.held_until > p_now) < p_max_holds
                       AND NOT EXISTS (
                           SELECT FROM slots AS nb
                            WHERE nb.provider_id = s.provider_id
                              AND nb.start >= s.start - p_reach
                              AND nb.start < s.start + s.duration + p_buffer_reach
                              AND (nb.buffer_before > 0 OR nb.buffer_after > 0)
                              AND (nb.status = 'CONFIRMED'
                                   OR (nb.status = 'RESERVED' AND nb.held_until > p_now))
                              AND ((nb.start + nb.duration <= s.start
                                    AND nb.start + nb.duration + nb.buffer_after > s.start)
                                   OR (nb.start >= s.start + s.duration
                                       AND nb.start - nb.buffer_before < s.start + s.duration)))
                       AND NOT EXISTS (
                           SELECT FROM busy_intervals AS bz
                            WHERE bz.provider_id = s.provider_id
                              AND bz.start > s.start - 3600
                              AND bz.start < s.start + s.duration AND bz.ends > s.start)
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note,
                                                 held_until)
                    SELECT 'reserved', t.id, t.provider_id, t.start, 'RESERVED', p_client, p_now,
                           t.appointment_id, t.note, t.held_until
                      FROM taken AS t
                ), entered AS (
                    INSERT INTO calendar_entries (uid, appointment_id, provider_id, client_id,
                                                  start, ends, status, held_until, note,
                                                  sequence, created_at, updated_at)
                    SELECT md5(random()::text || clock_timestamp()::text || t.id), t.id,
                           t.provider_id, p_client, t.start, t.start + t.duration, 'RESERVED',
                           t.held_until, t.note, 0, p_now, p_now
                      FROM taken AS t
                )
                SELECT * FROM taken;
            END
            $$
            """,
            "DROP FUNCTION slotbook_confirm_one_slot(text, bigint, text, float8)",
            """
            CREATE FUNCTION slotbook_confirm_one_slot(
                p_id text, p_time_slot bigint, p_client text, p_now float8, p_lock_class int4)
            RETURNS SETOF slots LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                v_holder text;
            BEGIN
                SELECT client_id INTO v_holder FROM slots WHERE id = p_id;
                IF v_holder IS NULL THEN
                    RETURN;
                END IF;
                PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(v_holder));
                PERFORM 1 FROM slots WHERE id = p_id FOR UPDATE;
                RETURN QUERY
                WITH booked AS (
                    UPDATE slots AS s
                       SET status = 'CONFIRMED', confirmed_at = p_now, held_until = NULL
                     WHERE s.id = p_id AND s.appointment_id = s.id AND s.start = p_time_slot
                       AND s.status = 'RESERVED' AND s.held_until > p_now
                       AND s.client_id = v_holder
                       AND (p_client IS NULL OR s.client_id = p_client)
                       AND (s.service_id IS NULL
                            OR s.start > p_now + (SELECT sv.notice_minutes * 60 FROM services
                                                   AS sv WHERE sv.id = s.service_id))
                       AND NOT EXISTS (SELECT FROM clients AS c
                                        WHERE c.id = s.client_id AND c.email IS NOT NULL)
                       AND NOT EXISTS (SELECT FROM providers AS p
                                        WHERE p.id = s.provider_id AND p.email IS NOT NULL)
                       AND NOT EXISTS (
                           SELECT FROM slots AS o
                            WHERE o.appointment_id = s.id AND o.id <> s.id
                              AND (o.status = 'CONFIRMED'
                                   OR (o.status = 'RESERVED' AND o.held_until > p_now)))
                       AND NOT EXISTS (
                           SELECT FROM waitlist_entries AS w
                            WHERE w.client_id = s.client_id
                              AND (w.status = 'waiting'
                                   OR (w.status = 'offered' AND w.appointment_id = s.id)))
                    RETURNING s.*
                ), logged AS (
                    INSERT INTO pending_changes (kind, slot_id, provider_id, start, status,
                                                 client_id, at, appointment_id, note,
                                                 service_id)
                    SELECT 'confirmed', b.id, b.provider_id, b.start, 'CONFIRMED', b.client_id,
                           p_now, b.appointment_id, b.note, b.service_id
                      FROM booked AS b
                ), entered AS (
                    UPDATE calendar_entries AS e
                       SET status = 'CONFIRMED', held_until = NULL, start = b.start,
                           ends = b.start + b.duration, note = b.note,
                           sequence = e.sequence + 1, updated_at = p_now
                      FROM booked AS b
                     WHERE e.appointment_id = b.id AND e.status <> 'CANCELLED'
                )
                SELECT * FROM booked;
            END
            $$
            """,
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
