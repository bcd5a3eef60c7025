"""Who is acting on a request.

Until tokens arrive the server runs as the original did (no-auth): the ids named in the request are
trusted, so a call that changes something must name its actor.
"""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from backend.problems import invalid
from shared.wire import FieldError


def ids_to_name(*fields: str) -> tuple[str, ...]:
    """The actor ids a request must carry: all of them while ids in requests are trusted."""
    return fields


def named_actor(name: str | UnsetType, field: str) -> str:
    """The id a no-auth request names for its actor; it must name one."""
    if name is UNSET:
        raise invalid([FieldError(field=field, message="is required")])
    return name
