"""Providers' public profiles in the SQLite store: what the booking page shows of a provider and
whether their page is on, each a function over a connection (run by the writer inside its
transaction, or by a reader). The columns are backend/store/profile_rows.py's."""

from __future__ import annotations

import sqlite3

from backend.store.page_records import ProviderProfile
from backend.store.profile_rows import BY_NAME, COLUMNS, changed_columns, not_found, profile_of


def find(conn: sqlite3.Connection, provider_id: str) -> ProviderProfile | None:
    row = conn.execute(f"SELECT {COLUMNS} FROM providers WHERE id = ?", [provider_id]).fetchone()
    return None if row is None else profile_of(row)


def update(
    conn: sqlite3.Connection, provider_id: str, changes: dict[str, object]
) -> ProviderProfile:
    """Set what `changes` names; the profile as it then is, or ProviderNotFound (nothing set)."""
    columns = changed_columns(changes)
    if columns:
        conn.execute(
            f"UPDATE providers SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
            [*changes.values(), provider_id],
        )
    found = find(conn, provider_id)
    if found is None:
        raise not_found(provider_id)
    return found


def on_pages(conn: sqlite3.Connection) -> list[ProviderProfile]:
    """The providers whose booking page is on."""
    sql = f"SELECT {COLUMNS} FROM providers WHERE booking_page = 1 ORDER BY {BY_NAME}"
    return [profile_of(row) for row in conn.execute(sql)]
