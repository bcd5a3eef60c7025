"""What the stores keep of the waitlist: a client's place in a provider's line for a window of
time, and the offer (an ordinary hold of theirs) it was given. `backend/rules/waitlist.py` says
what fits and when an entry's state moves on; both stores hand freed time over with it."""

from __future__ import annotations

from dataclasses import dataclass

from backend.rules.booking import BookingError
from backend.rules.waitlist import WaitlistStatus as WaitlistStatus

WAITLIST_COLUMNS = (
    "id, provider_id, client_id, window_start, window_end, minutes, service_id, joined_at,"
    " status, appointment_id, offer_start, offer_until, updated_at"
)
"""The columns of waitlist_entries in the order of `StoredEntry`'s first fields."""


@dataclass(frozen=True)
class NewEntry:
    """A place asked for: any start in [window_start, window_end - length] where `minutes` fit
    (the type's, when `service_id` names one)."""

    waitlist_id: str
    provider_id: str
    client_id: str
    window_start: int
    window_end: int
    minutes: int
    service_id: str | None


@dataclass(frozen=True)
class StoredEntry:
    """A waitlist entry as stored, with its place in line (1 the first; 0 once it has left the
    line) and the names it is shown with, read with it."""

    waitlist_id: str
    provider_id: str
    client_id: str
    window_start: int
    window_end: int
    minutes: int
    service_id: str | None
    joined_at: float
    status: WaitlistStatus
    appointment_id: str | None
    """The offer's appointment (its first slot), once offered."""
    offer_start: int | None
    offer_until: float | None
    updated_at: float
    position: int = 0
    client_name: str | None = None
    service_name: str | None = None


@dataclass(frozen=True)
class WaitlistFilter:
    """Whose entries GET /waitlist lists: a client's, a provider's, or (both None) all."""

    client_id: str | None = None
    provider_id: str | None = None
    status: WaitlistStatus | None = None


class WaitlistEntryNotFound(BookingError):
    """No waitlist entry has this id (or the caller may not see it)."""


class TooManyWaitlistEntries(BookingError):
    """The client is waiting on the most entries allowed."""
