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


def apply_migrations(db: Database) -> None:
    """Bring a database to the current schema."""
    migrations.apply(db)
