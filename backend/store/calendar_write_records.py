"""What the stores keep of the calendar a provider's bookings are written back to: the calendar
(one a provider) with how its writes go, the writes queued with the bookings' changes (an outbox,
as `notifications` is mail's), and the ETag of each event written there.

The tables are migration 0015's: `calendar_writes`, `calendar_write_queue` and `written_events`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from backend.rules.calendar_writes import WriteAction, WriteStatus


@dataclass(frozen=True)
class WriteCalendar:
    """A provider's write-back calendar, and how writing to it goes."""

    provider_id: str
    url: str
    """A CalDAV calendar collection, as the outbound check normalised it."""
    username: str | None
    password_sealed: str | None
    """The password, sealed with the server's secret key; never shown."""
    created_at: float
    updated_at: float
    last_write_at: float | None = None
    """When a write was last tried, successfully or not."""
    last_success_at: float | None = None
    last_error: str | None = None
    """Why the last write failed, in words; None when it succeeded."""
    failures: int = 0
    """Writes that failed since the last that succeeded."""
    waiting: int = 0
    """Writes queued: due now, or waiting out a back-off."""


CALENDAR_COLUMNS = (
    "w.provider_id, w.url, w.username, w.password_sealed, w.created_at, w.updated_at,"
    " w.last_write_at, w.last_success_at, w.last_error, w.failures,"
    " (SELECT COUNT(*) FROM calendar_write_queue AS q"
    "   WHERE q.provider_id = w.provider_id AND q.status = 'queued')"
)
"""What a read of `calendar_writes AS w` selects, in WriteCalendar's order."""


@dataclass(frozen=True)
class BookedEvent:
    """The appointment a write puts into the calendar, as the ledger holds it now."""

    status: str
    """CONFIRMED, or RESERVED or CANCELLED: then it is no longer a booking to show."""
    sequence: int
    start: int
    ends: int
    note: str | None
    client_id: str
    client_name: str | None
    client_email: str | None
    provider_name: str | None
    provider_email: str | None
    type_name: str | None
    created_at: float
    updated_at: float


EVENT_COLUMNS = (
    "e.status, e.sequence, e.start, e.ends, e.note, e.client_id, c.name, c.email, p.name,"
    " p.email, sv.name, e.created_at, e.updated_at"
)
"""What a write reads of the ledger (`e`), clients (`c`), providers (`p`) and services (`sv`), in
BookedEvent's order."""


@dataclass(frozen=True)
class ClaimedWrite:
    """A queued write a writer holds the lease of, with all it is made from."""

    write_id: str
    provider_id: str
    uid: str
    """The invitation's UID (without `@slotbook`): the event's, in the calendar as in mail."""
    action: WriteAction
    attempts: int
    """Attempts made before this one."""
    url: str
    username: str | None
    password_sealed: str | None
    etag: str | None
    """The ETag the event had when slotbook last wrote it; None: not written (or deleted)."""
    event: BookedEvent | None = None
    """The appointment as it stands; None when the ledger no longer holds it."""


CLAIMED_COLUMNS = (
    "q.id, q.provider_id, q.uid, q.action, q.attempts, w.url, w.username, w.password_sealed,"
    " we.etag"
)
"""What a claim reads of `calendar_write_queue AS q`, `calendar_writes AS w` and
`written_events AS we`, in ClaimedWrite's order (the event is read after)."""


def claimed_write(row: Iterable[Any], entry: Iterable[Any] | None) -> ClaimedWrite:
    """A claimed write from its row (CLAIMED_COLUMNS) and its ledger entry's (EVENT_COLUMNS)."""
    write = ClaimedWrite(*row)
    return write if entry is None else replace(write, event=BookedEvent(*entry))


@dataclass(frozen=True)
class WriteOutcome:
    """What one attempt came to: `done` (the event put, with its new ETag, or deleted), `failed`
    (given up), or `queued` again until `retry_at`."""

    status: WriteStatus
    error: str | None = None
    retry_at: float | None = None
    etag: str | None = None
    """After a put: the event's ETag now. None after a delete: the event is forgotten."""
    url: str = ""
    """The calendar written to: the outcome counts only while it is still the provider's."""


SEALED_PASSWORDS = (
    "SELECT (SELECT COUNT(*) FROM busy_sources WHERE password_sealed IS NOT NULL)"
    " + (SELECT COUNT(*) FROM calendar_writes WHERE password_sealed IS NOT NULL)"
)
"""How many passwords the server's secret key sealed: the busy-time sources' and the write-back
calendars'."""
