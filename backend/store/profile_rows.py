"""A provider's public profile as both stores keep it in `providers`: its columns, the changes a
write may name and the column each sets, a row read back into a ProviderProfile, and the order of
the booking pages."""

from __future__ import annotations

from typing import Any

from backend.store.base import ProviderNotFound
from backend.store.page_records import PROFILE_FIELDS, ProviderProfile

COLUMNS = (
    "id, name, profile_about, profile_address, profile_phone, profile_website, booking_page,"
    " time_zone"
)
"""A profile's columns of `providers`, in ProviderProfile's order."""

_SETTABLE = {
    **{field: f"profile_{field}" for field in PROFILE_FIELDS},
    "booking_page": "booking_page",
}

BY_NAME = "name IS NULL, name, id"
"""The booking pages' order: by name, then id, the nameless last (NULL sorts first on SQLite and
last on PostgreSQL, so it is put last by hand)."""


def profile_of(row: Any) -> ProviderProfile:
    """A row of COLUMNS (SQLite's tuple, asyncpg's Record) as a ProviderProfile, SQLite's 0/1 of
    `booking_page` a bool."""
    provider_id, name, about, address, phone, website, page, zone = row
    return ProviderProfile(provider_id, name, about, address, phone, website, bool(page), zone)


def changed_columns(changes: dict[str, object]) -> list[str]:
    """The column each change sets, in the order of `changes`; a name that is no profile field is
    the caller's bug."""
    unknown = sorted(set(changes) - set(_SETTABLE))
    if unknown:
        raise ValueError(f"not a profile field: {', '.join(unknown)}")
    return [_SETTABLE[name] for name in changes]


def not_found(provider_id: str) -> ProviderNotFound:
    return ProviderNotFound(f"No provider has id {provider_id}; GET /providers lists them")
