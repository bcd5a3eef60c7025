"""E-mail on the wire: a party's details (PATCH /me, and what GET /me shows of them) and the
notifications the server queued (GET /notifications). An address is checked for form by the
server; it never appears in the change feed, webhooks or calendar feeds."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from shared.wire import PartyId, ResponseTime, _Answer, _Body

EmailAddress = Annotated[
    str,
    Meta(
        max_length=254,
        description="An e-mail address, for confirmations, changes, cancellations and"
        ' reminders; `""` removes it. Checked for form only (no mail is sent to check it).',
        examples=["ana.lopez@example.com"],
    ),
]
ZoneText = Annotated[
    str,
    Meta(
        max_length=64,
        description="An IANA time zone, for the times in your mail (and the manage page);"
        " `\"\"` removes it (then the provider's schedule's zone, else UTC, is used).",
        examples=["Europe/Lisbon"],
    ),
]
NotificationKind = Literal["confirmation", "update", "cancellation", "reminder", "hold", "offer"]
NotificationStatus = Literal["queued", "sent", "failed"]


class DetailsRequest(_Body):
    """PATCH /me: your e-mail address and zone; a field left out stays as it is."""

    email: EmailAddress | UnsetType = UNSET
    time_zone: ZoneText | UnsetType = UNSET


class Details(_Answer):
    """A party's details as GET /me and PATCH /me show them (null: none set)."""

    email: str | None
    time_zone: str | None


class DetailsAnswer(_Answer):
    """Answer to PATCH /me."""

    message: str
    details: Details


class NotificationsQuery(_Body):
    """GET /notifications: newest first. A provider or client sees their own; an admin sees
    everyone's, narrowed by `partyId` if given."""

    status: NotificationStatus | UnsetType = UNSET
    kind: NotificationKind | UnsetType = UNSET
    appointment_id: Annotated[str, Meta(max_length=128)] | UnsetType = UNSET
    party_id: PartyId | UnsetType = UNSET
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100


class NotificationShown(_Answer):
    """One message the server queued: to whom, about which appointment, and how sending went."""

    notification_id: str
    kind: NotificationKind
    recipient: str
    role: Literal["client", "provider"]
    party_id: str
    appointment_id: str
    sequence: int
    status: NotificationStatus
    attempts: int
    last_error: str | None
    created_at: ResponseTime
    due_at: ResponseTime
    sent_at: ResponseTime | None


class Notifications(_Answer):
    """Answer to GET /notifications."""

    notifications: list[NotificationShown]
