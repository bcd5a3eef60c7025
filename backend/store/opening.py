"""Open the store that `--db` names: a PostgreSQL URL (postgresql://... or postgres://...) or
else a SQLite file."""

from __future__ import annotations

from backend.rules.booking import Rules
from backend.runtime.levers import ALL, Levers
from backend.runtime.settings import Synchronous, is_postgresql_url
from backend.store.base import Store
from backend.store.postgres.store import PostgresStore
from backend.store.sqlite.store import SQLiteStore


async def open_store(
    db: str,
    rules: Rules,
    *,
    synchronous: Synchronous = "FULL",
    read_threads: int = 0,
    levers: Levers = ALL,
) -> Store:
    """Connect to (or create) the database and bring its schema up to date. The SQLite settings
    apply only to a SQLite file."""
    if is_postgresql_url(db):
        return await PostgresStore.open(db, rules, levers=levers)
    return SQLiteStore(db, rules, synchronous=synchronous, read_threads=read_threads, levers=levers)
