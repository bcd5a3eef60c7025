"""Providers' public profiles in the PostgreSQL store: what the booking page shows of a provider
and whether their page is on, each a coroutine over a connection (inside the write's transaction,
or on a pooled connection for a read). The columns are backend/store/profile_rows.py's."""

from __future__ import annotations

from backend.store.page_records import ProviderProfile
from backend.store.postgres.schema import Connection
from backend.store.profile_rows import BY_NAME, COLUMNS, changed_columns, not_found, profile_of


async def find(conn: Connection, provider_id: str) -> ProviderProfile | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM providers WHERE id = $1", provider_id)
    return None if row is None else profile_of(row)


async def update(conn: Connection, provider_id: str, changes: dict[str, object]) -> ProviderProfile:
    """Set what `changes` names, in one statement; the profile as it then is, or
    ProviderNotFound (nothing set)."""
    columns = changed_columns(changes)
    if not columns:
        found = await find(conn, provider_id)
    else:
        marks = ", ".join(f"{column} = ${n}" for n, column in enumerate(columns, start=2))
        row = await conn.fetchrow(
            f"UPDATE providers SET {marks} WHERE id = $1 RETURNING {COLUMNS}",
            provider_id,
            *changes.values(),
        )
        found = None if row is None else profile_of(row)
    if found is None:
        raise not_found(provider_id)
    return found


async def on_pages(conn: Connection) -> list[ProviderProfile]:
    """The providers whose booking page is on."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM providers WHERE booking_page ORDER BY {BY_NAME}"
    )
    return [profile_of(row) for row in rows]
