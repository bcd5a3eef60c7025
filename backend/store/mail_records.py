"""What the stores exchange about e-mail: a party's details, a queued notification, a letter's
makings as the sender claims it, and the appointment a manage link opens."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from backend.rules.notices import NoticeKind, NoticeStatus, PartyRole


class Unchanged:
    """A detail a PATCH leaves as it is."""


UNCHANGED = Unchanged()


def hash_secret(secret: str) -> str:
    """A manage link's secret as stored: its SHA-256, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class PartyDetails:
    """A provider's or client's name, e-mail address and zone (None where unset)."""

    role: str
    party_id: str
    name: str | None
    email: str | None
    time_zone: str | None


@dataclass(frozen=True)
class StoredNotification:
    notification_id: str
    kind: NoticeKind
    role: PartyRole
    party_id: str
    recipient: str
    uid: str
    sequence: int
    appointment_id: str
    provider_id: str
    client_id: str
    service_id: str | None
    start: int
    ends: int
    reminder_before: int | None
    status: NoticeStatus
    attempts: int
    last_error: str | None
    created_at: float
    due_at: float
    sent_at: float | None


NOTIFICATION_COLUMNS = (
    "n.id, n.kind, n.role, n.party_id, n.recipient, n.uid, n.sequence, n.appointment_id,"
    " n.provider_id, n.client_id, n.service_id, n.start, n.ends, n.reminder_before, n.status,"
    " n.attempts, n.last_error, n.created_at, n.due_at, n.sent_at"
)
"""What a listing reads of `notifications` (`n`), in StoredNotification's order."""


@dataclass(frozen=True)
class Outgoing:
    """A claimed notification and what its letter is written from: both parties' names and
    addresses as they are now, the zone to write times in (the recipient's, else the provider's
    schedule's, else UTC) and the type's name."""

    notification: StoredNotification
    manage_secret: str | None
    provider_name: str | None
    provider_email: str | None
    client_name: str | None
    client_email: str | None
    zone: str
    type_name: str | None
    held_until: float | None
    """For a hold's link: when the hold lapses."""


OUTGOING_COLUMNS = (
    f"{NOTIFICATION_COLUMNS}, n.manage_secret, p.name, p.email, c.name, c.email,"
    " coalesce(CASE WHEN n.role = 'client' THEN c.time_zone ELSE p.time_zone END,"
    " sc.time_zone, 'UTC'), sv.name, n.held_until"
)
"""What a claim reads of notifications (`n`), providers (`p`), clients (`c`), services (`sv`)
and schedules (`sc`)."""

_NOTIFICATION_FIELDS = 20


def outgoing(row: Sequence[Any]) -> Outgoing:
    values = list(row)
    return Outgoing(
        StoredNotification(*values[:_NOTIFICATION_FIELDS]), *values[_NOTIFICATION_FIELDS:]
    )


@dataclass(frozen=True)
class NotificationFilter:
    """Which notifications a listing shows: one party's, or (an admin's) anyone's, narrowed."""

    party_id: str | None = None
    role: str | None = None
    status: str | None = None
    kind: str | None = None
    appointment_id: str | None = None
    limit: int = 100

    def conditions(self) -> Iterator[tuple[str, Any]]:
        for column in ("party_id", "role", "status", "kind", "appointment_id"):
            value = getattr(self, column)
            if value is not None:
                yield column, value


@dataclass(frozen=True)
class ManagedAppointment:
    """The appointment a manage link opens, as its invitation stands now."""

    uid: str
    appointment_id: str
    provider_id: str
    provider_name: str | None
    client_id: str
    client_name: str | None
    zone: str
    """The client's zone, else the provider's schedule's, else UTC."""
    service_id: str | None
    type_name: str | None
    start: int
    ends: int
    status: str
    updated_at: float


MANAGED_COLUMNS = (
    "m.uid, e.appointment_id, e.provider_id, p.name, e.client_id, c.name,"
    " coalesce(c.time_zone, sc.time_zone, 'UTC'), e.service_id, sv.name, e.start, e.ends,"
    " e.status, e.updated_at"
)
"""What a manage link reads of manage_links (`m`), the ledger (`e`), providers (`p`), clients
(`c`), services (`sv`) and schedules (`sc`)."""
