"""The SQLite schema as code: sqlite-utils migrations, applied in order, each once."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("slotbook")


@migrations(name="0001_slots_and_changes")
def _slots_and_changes(db: Database) -> None:
    db.table("slots").create(
        {
            "id": str,
            "provider_id": str,
            "start": int,
            "duration": int,
            "status": str,
            "client_id": str,
            "reserved_at": float,
            "held_until": float,
            "confirmed_at": float,
            "created_at": float,
        },
        pk="id",
        not_null={"provider_id", "start", "duration", "status", "created_at"},
        strict=True,
    )
    slots = db.table("slots")
    slots.create_index(["provider_id", "start"], index_name="slots_provider_start", unique=True)
    slots.create_index(["start", "provider_id", "status"], index_name="slots_by_time")
    slots.create_index(["client_id"], index_name="slots_by_client")
    slots.create_index(["held_until"], index_name="slots_by_hold_end")

    db.table("providers").create(
        {"id": str, "name": str, "created_at": float},
        pk="id",
        not_null={"created_at"},
        strict=True,
    )

    db.table("changes").create(
        {
            "seq": int,
            "kind": str,
            "slot_id": str,
            "provider_id": str,
            "start": int,
            "status": str,
            "client_id": str,
            "at": float,
        },
        pk="seq",
        not_null={"kind", "slot_id", "provider_id", "start", "status", "at"},
        strict=True,
    )
    db.table("changes").create_index(["slot_id", "seq"], index_name="changes_by_slot")


@migrations(name="0002_tokens_and_idempotency")
def _tokens_and_idempotency(db: Database) -> None:
    db.table("tokens").create(
        {
            "id": str,
            "secret_hash": str,
            "role": str,
            "subject": str,
            "name": str,
            "created_at": float,
            "revoked_at": float,
        },
        pk="id",
        not_null={"secret_hash", "role", "name", "created_at"},
        strict=True,
    )
    db.table("idempotency").create(
        {
            "scope": str,
            "key": str,
            "fingerprint": str,
            "status": int,
            "body": bytes,
            "content_type": str,
            "created_at": float,
        },
        pk=("scope", "key"),
        not_null={"fingerprint", "status", "body", "content_type", "created_at"},
        strict=True,
    )
    db.table("idempotency").create_index(["created_at"], index_name="idempotency_by_age")


@migrations(name="0003_covering_indexes")
def _covering_indexes(db: Database) -> None:
    """Indexes that answer the hot queries on their own: the open slots of a time range (without
    visiting the table) and a client's live holds (the max-holds check inside every reserve, which
    otherwise counted every booking the client ever made)."""
    db.execute("DROP INDEX slots_by_time")
    db.table("slots").create_index(
        ["start", "provider_id", "status", "held_until", "duration", "id"],
        index_name="slots_open_by_time",
    )
    db.execute("DROP INDEX slots_by_client")
    db.table("slots").create_index(
        ["client_id", "status", "held_until"], index_name="slots_by_client"
    )


@migrations(name="0004_clients")
def _clients(db: Database) -> None:
    """Clients get a stored display name, as providers have: the name on each client's earliest
    token (a later token only labels itself)."""
    db.table("clients").create(
        {"id": str, "name": str, "created_at": float},
        pk="id",
        not_null={"name", "created_at"},
        strict=True,
    )
    db.execute(
        """
        INSERT INTO clients (id, name, created_at)
        SELECT subject, name, created_at
          FROM (SELECT subject, name, created_at,
                       ROW_NUMBER() OVER (PARTITION BY subject ORDER BY created_at, id) AS n
                  FROM tokens WHERE role = 'client' AND subject IS NOT NULL) AS ranked
         WHERE n = 1
        """
    )


@migrations(name="0005_schedules")
def _schedules(db: Database) -> None:
    """Weekly schedules (one a provider: its zone, weekly hours and exceptions as JSON, its
    horizon, and the last local date filled), and which slots a schedule made."""
    db.table("schedules").create(
        {
            "provider_id": str,
            "time_zone": str,
            "weekly": str,
            "exceptions": str,
            "horizon_days": int,
            "filled_until": str,
            "updated_at": float,
        },
        pk="provider_id",
        not_null={"time_zone", "weekly", "exceptions", "horizon_days", "filled_until"},
        strict=True,
    )
    db.execute("ALTER TABLE slots ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0")


@migrations(name="0006_partial_indexes")
def _partial_indexes(db: Database) -> None:
    """The indexes of holds and of clients' slots cover only the slots they can find: an open slot
    has neither a hold's end nor a client, and most slots are open, so every slot opened (a
    schedule's year, the daily roll) wrote two index entries no query could use."""
    db.execute("DROP INDEX slots_by_hold_end")
    db.execute("CREATE INDEX slots_by_hold_end ON slots (held_until) WHERE status = 'RESERVED'")
    db.execute("DROP INDEX slots_by_client")
    db.execute(
        "CREATE INDEX slots_by_client ON slots (client_id, status, held_until)"
        " WHERE client_id IS NOT NULL"
    )


@migrations(name="0007_appointments")
def _appointments(db: Database) -> None:
    """Appointments of one or more slots: each held or booked slot names its appointment (the
    first slot's id, its own for every reservation made before) and carries its note; a change
    keeps the appointment, the note, the hold's end and, for a move, the slot it released."""
    db.execute("ALTER TABLE slots ADD COLUMN appointment_id TEXT")
    db.execute("ALTER TABLE slots ADD COLUMN note TEXT")
    db.execute("UPDATE slots SET appointment_id = id WHERE status != 'AVAILABLE'")
    db.execute(
        "CREATE INDEX slots_by_appointment ON slots (appointment_id)"
        " WHERE appointment_id IS NOT NULL"
    )
    for column, kind in (
        ("appointment_id", "TEXT"),
        ("note", "TEXT"),
        ("held_until", "REAL"),
        ("from_slot_id", "TEXT"),
        ("from_provider_id", "TEXT"),
        ("from_start", "INTEGER"),
    ):
        db.execute(f"ALTER TABLE changes ADD COLUMN {column} {kind}")


@migrations(name="0008_calendars")
def _calendars(db: Database) -> None:
    """Calendar feeds (a secret address each, stored hashed) and the calendar ledger: one entry
    per reservation, kept through confirm, note, move, cancel and lapse (see
    backend/rules/calendar_ledger.py). The live reservations of before start it, as they are now."""
    db.execute(CALENDAR_FEEDS)
    db.execute("CREATE INDEX calendar_feeds_by_owner ON calendar_feeds (role, subject)")
    db.execute(CALENDAR_ENTRIES)
    for statement in CALENDAR_ENTRY_INDEXES:
        db.execute(statement)
    db.execute(
        """
        INSERT INTO calendar_entries
        SELECT lower(hex(randomblob(16))), appointment_id, provider_id, client_id, MIN(start),
               MAX(start + duration), status, MAX(held_until), MAX(note), 0, reserved_at,
               COALESCE(MAX(confirmed_at), reserved_at)
          FROM slots
         WHERE appointment_id IS NOT NULL AND client_id IS NOT NULL AND reserved_at IS NOT NULL
           AND (status = 'CONFIRMED' OR (status = 'RESERVED'
                AND held_until > (julianday('now') - 2440587.5) * 86400.0))
         GROUP BY appointment_id, client_id, reserved_at, status, provider_id
        """
    )


@migrations(name="0009_webhooks")
def _webhooks(db: Database) -> None:
    """Webhook endpoints, each with its signing secret, its cursor in the change log (the change
    log is the outbox: a change is queued for every endpoint by the transaction that logs it),
    its retry state and its lease; and the attempts made."""
    db.execute(
        """
        CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            events TEXT,
            description TEXT,
            provider_id TEXT,
            secret TEXT NOT NULL,
            created_at REAL NOT NULL,
            cursor INTEGER NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            disabled_at REAL,
            disabled_reason TEXT,
            leased_until REAL
        ) STRICT
        """
    )
    db.execute(
        """
        CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            webhook_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            at REAL NOT NULL,
            status_code INTEGER,
            error TEXT,
            latency_ms REAL NOT NULL
        ) STRICT
        """
    )
    db.execute("CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries (webhook_id, id)")
    db.execute("CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (at)")


@migrations(name="0010_webhook_batches")
def _webhook_batches(db: Database) -> None:
    """Endpoints sent changes in batches (`format` 'batch'), while those registered before keep
    one change a delivery ('single'); the last seq of a batch being retried; the first change of
    each attempt recorded (its last is `seq`)."""
    db.execute("ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'single'")
    db.execute("ALTER TABLE webhooks ADD COLUMN batch_through INTEGER")
    db.execute("ALTER TABLE webhook_deliveries ADD COLUMN first_seq INTEGER")
    db.execute("UPDATE webhook_deliveries SET first_seq = seq")
    db.execute("CREATE INDEX webhooks_by_owner ON webhooks (provider_id)")


@migrations(name="0011_webhook_replays")
def _webhook_replays(db: Database) -> None:
    """How many replays each endpoint has had: a delivery under way writes its outcome only if
    none came meanwhile."""
    db.execute("ALTER TABLE webhooks ADD COLUMN replays INTEGER NOT NULL DEFAULT 0")


@migrations(name="0012_appointment_types")
def _appointment_types(db: Database) -> None:
    """Appointment types (`services`), each a provider's; every slot of a held or booked
    appointment names its type and carries the buffers it was booked with (seconds); a change and
    a calendar entry name the type too. The partial index finds the few slots that keep a buffer,
    so that the buffer rule costs a listing or a hold nothing where no buffer is near."""
    db.execute(
        """
        CREATE TABLE services (
            id TEXT PRIMARY KEY,
            provider_id TEXT NOT NULL,
            name TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            buffer_before_minutes INTEGER NOT NULL DEFAULT 0,
            buffer_after_minutes INTEGER NOT NULL DEFAULT 0,
            notice_minutes INTEGER NOT NULL,
            max_advance_days INTEGER,
            daily_limit INTEGER,
            description TEXT NOT NULL DEFAULT '',
            archived_at REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        ) STRICT
        """
    )
    db.execute("CREATE INDEX services_by_provider ON services (provider_id, created_at)")
    db.execute("ALTER TABLE slots ADD COLUMN service_id TEXT")
    db.execute("ALTER TABLE slots ADD COLUMN buffer_before INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE slots ADD COLUMN buffer_after INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "CREATE INDEX slots_buffered ON slots (provider_id, start)"
        " WHERE buffer_before > 0 OR buffer_after > 0"
    )
    db.execute(
        "CREATE INDEX slots_by_service ON slots (service_id, start) WHERE service_id IS NOT NULL"
    )
    db.execute("ALTER TABLE changes ADD COLUMN service_id TEXT")
    db.execute("ALTER TABLE calendar_entries ADD COLUMN service_id TEXT")


@migrations(name="0013_mail")
def _mail(db: Database) -> None:
    """E-mail: each party's address and zone; the notifications queued by the writes that cause
    them (the outbox the mail sender delivers from); the manage links, each secret stored hashed
    and scoped to one invitation; and a calendar entry's invitation UID, which a move to another
    provider carries on to the new entry (NULL: the entry's own UID)."""
    for table in ("providers", "clients"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN email TEXT")
        db.execute(f"ALTER TABLE {table} ADD COLUMN time_zone TEXT")
    db.execute("ALTER TABLE calendar_entries ADD COLUMN invite_uid TEXT")
    db.execute(
        "CREATE INDEX calendar_entries_by_invite ON calendar_entries (invite_uid)"
        " WHERE invite_uid IS NOT NULL"
    )
    db.execute(NOTIFICATIONS)
    for index in NOTIFICATION_INDEXES:
        db.execute(index)
    db.execute(MANAGE_LINKS)


@migrations(name="0014_booking_page")
def _booking_page(db: Database) -> None:
    """The booking page: a provider's public profile and whether their page is on (off until they
    turn it on); the clients the page makes, one per e-mail address (`email_key`, the address as
    compared), never merged with clients who hold tokens; and the links that confirm the holds the
    page places, each secret stored hashed, with the address the hold came from (the page's limits
    count live holds per address and per client). A notification that carries such a link says
    until when the hold lasts (`held_until`)."""
    for column in ("about", "address", "phone", "website"):
        db.execute(f"ALTER TABLE providers ADD COLUMN profile_{column} TEXT")
    db.execute("ALTER TABLE providers ADD COLUMN booking_page INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE notifications ADD COLUMN held_until REAL")
    db.execute(PAGE_CLIENTS)
    db.execute(HOLD_LINKS)
    for index in HOLD_LINK_INDEXES:
        db.execute(index)


@migrations(name="0015_busy_times")
def _busy_times(db: Database) -> None:
    """The provider's own calendars: the sources busy times are read from (a password sealed
    with --secret-key; the status of the last refresh; when the next is due), and the busy
    intervals each gave, in pieces of at most an hour (so a listing's probe for one that overlaps
    a slot reads an hour's worth at most). And the calendar a provider's bookings are written back
    to (one per provider), the writes queued in the transactions of the bookings' changes, and
    the ETag of each event written there."""
    db.execute(BUSY_SOURCES)
    db.execute("CREATE INDEX busy_sources_by_provider ON busy_sources (provider_id, created_at)")
    db.execute("CREATE INDEX busy_sources_due ON busy_sources (due_at)")
    db.execute(BUSY_INTERVALS)
    db.execute("CREATE INDEX busy_intervals_by_provider ON busy_intervals (provider_id, start)")
    db.execute("CREATE INDEX busy_intervals_by_source ON busy_intervals (source_id)")
    for table in CALENDAR_WRITE_TABLES:
        db.execute(table)
    db.execute(
        "CREATE INDEX calendar_write_queue_due ON calendar_write_queue (due_at)"
        " WHERE status = 'queued'"
    )


@migrations(name="0016_change_events")
def _change_events(db: Database) -> None:
    """Events for the webhooks ride in the change log, their outbox: a row whose kind is an
    event's carries the event's data as JSON (backend/store/busy_events.py)."""
    db.execute("ALTER TABLE changes ADD COLUMN data TEXT")


@migrations(name="0017_calendar_writes_by_event")
def _calendar_writes_by_event(db: Database) -> None:
    """Each new write of an event supersedes that event's queued ones, and the writer's claim
    looks for an older queued write of the same event: both find them by event."""
    db.execute(
        "CREATE INDEX calendar_write_queue_by_event"
        " ON calendar_write_queue (provider_id, uid, status)"
    )


@migrations(name="0018_waitlist")
def _waitlist(db: Database) -> None:
    """The waitlist: a client's place in a provider's line for a window, and the offer (a hold)
    it was given; a hold that is an offer names its entry on its `reserved` change."""
    db.execute(WAITLIST_ENTRIES)
    db.execute(
        "CREATE INDEX waitlist_line ON waitlist_entries (provider_id, status, joined_at, id)"
    )
    db.execute("CREATE INDEX waitlist_of_client ON waitlist_entries (client_id, status)")
    db.execute(
        "CREATE INDEX waitlist_offers ON waitlist_entries (appointment_id)"
        " WHERE appointment_id IS NOT NULL"
    )
    db.execute("ALTER TABLE changes ADD COLUMN waitlist_id TEXT")


WAITLIST_ENTRIES = """
CREATE TABLE waitlist_entries (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    minutes INTEGER NOT NULL,
    service_id TEXT,
    joined_at REAL NOT NULL,
    status TEXT NOT NULL,
    appointment_id TEXT,
    offer_start INTEGER,
    offer_until REAL,
    updated_at REAL NOT NULL
) STRICT
"""

BUSY_SOURCES = """
CREATE TABLE busy_sources (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    username TEXT,
    password_sealed TEXT,
    refresh_minutes INTEGER NOT NULL,
    all_day_events TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_sync_at REAL,
    last_success_at REAL,
    last_error TEXT,
    events INTEGER NOT NULL DEFAULT 0,
    busy_intervals INTEGER NOT NULL DEFAULT 0,
    etag TEXT,
    last_modified TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    due_at REAL NOT NULL,
    leased_until REAL
) STRICT
"""

CALENDAR_WRITE_TABLES = (
    """
CREATE TABLE calendar_writes (
    provider_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    username TEXT,
    password_sealed TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_write_at REAL,
    last_success_at REAL,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0
) STRICT
""",
    """
CREATE TABLE calendar_write_queue (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    appointment_id TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    due_at REAL NOT NULL,
    leased_until REAL,
    done_at REAL
) STRICT
""",
    """
CREATE TABLE written_events (
    provider_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    etag TEXT,
    PRIMARY KEY (provider_id, uid)
) STRICT
""",
)

BUSY_INTERVALS = """
CREATE TABLE busy_intervals (
    source_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    start INTEGER NOT NULL,
    ends INTEGER NOT NULL
) STRICT
"""

PAGE_CLIENTS = """
CREATE TABLE page_clients (
    email_key TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
) STRICT
"""

HOLD_LINKS = """
CREATE TABLE hold_links (
    secret_hash TEXT PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    appointment_id TEXT NOT NULL,
    start INTEGER NOT NULL,
    ends INTEGER NOT NULL,
    provider_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    service_id TEXT,
    remote TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
) STRICT
"""

HOLD_LINK_INDEXES = (
    "CREATE INDEX hold_links_by_remote ON hold_links (remote, expires_at) WHERE used_at IS NULL",
    "CREATE INDEX hold_links_by_client ON hold_links (client_id, expires_at) WHERE used_at IS NULL",
    "CREATE INDEX hold_links_by_expiry ON hold_links (expires_at)",
)

NOTIFICATIONS = """
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    party_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    uid TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    appointment_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    service_id TEXT,
    start INTEGER NOT NULL,
    ends INTEGER NOT NULL,
    reminder_before INTEGER,
    manage_secret TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    due_at REAL NOT NULL,
    sent_at REAL,
    leased_until REAL
) STRICT
"""

NOTIFICATION_INDEXES = (
    "CREATE INDEX notifications_due ON notifications (due_at) WHERE status = 'queued'",
    "CREATE INDEX notifications_by_party ON notifications (party_id, created_at)",
    "CREATE INDEX notifications_by_created ON notifications (created_at)",
    "CREATE INDEX notifications_reminders ON notifications (uid)"
    " WHERE status = 'queued' AND kind = 'reminder'",
)

MANAGE_LINKS = """
CREATE TABLE manage_links (
    secret_hash TEXT PRIMARY KEY,
    uid TEXT NOT NULL,
    client_id TEXT NOT NULL,
    created_at REAL NOT NULL
) STRICT
"""

CALENDAR_FEEDS = """
CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at REAL NOT NULL
) STRICT
"""

CALENDAR_ENTRIES = """
CREATE TABLE calendar_entries (
    uid TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    start INTEGER NOT NULL,
    ends INTEGER NOT NULL,
    status TEXT NOT NULL,
    held_until REAL,
    note TEXT,
    sequence INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
) STRICT
"""

CALENDAR_ENTRY_INDEXES = (
    "CREATE INDEX calendar_entries_live ON calendar_entries (appointment_id)"
    " WHERE status != 'CANCELLED'",
    "CREATE INDEX calendar_entries_by_provider ON calendar_entries (provider_id, ends)",
    "CREATE INDEX calendar_entries_by_client ON calendar_entries (client_id, ends)",
)


def apply_migrations(db: Database, *, stop_before: str | None = None) -> None:
    """Bring a database to the current schema (or to the one before migration `stop_before`)."""
    migrations.apply(db, stop_before=stop_before)
