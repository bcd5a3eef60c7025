"""The wire shapes of webhooks: POST, GET and DELETE /webhooks, deliveries and replay.

Each change is delivered as a POST of the same JSON object /changes gives, signed by the
Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
"""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from shared.patterns import TEXT_PATTERN, URL_PATTERN
from shared.wire import ChangeKind, ResponseTime, _Answer, _Body

WebhookId = Annotated[
    str,
    Meta(
        pattern=r"^[0-9a-f]{16}$",
        description="The endpoint's id: 16 lowercase hex digits.",
        examples=["7c1e0f9a2b3d4c5e"],
    ),
]
WebhookUrl = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2000,
        pattern=URL_PATTERN,
        description="Where changes are POSTed: an http or https URL whose host is, or resolves"
        " to, public addresses only (the server's --allow-private-webhooks opens loopback and"
        " private ones), without spaces or control, invisible or direction-changing characters."
        " It is stored normalised: scheme and host lower-cased, the host in IDNA form, the"
        " default port left out, percent-encoding normalised.",
        examples=["https://clinic.example.org/hooks/slotbook"],
    ),
]
Description = Annotated[
    str,
    Meta(
        max_length=200,
        pattern=TEXT_PATTERN,
        description="What the endpoint is for, for people reading the list.",
        examples=["front desk reminders"],
    ),
]


class WebhookRequest(_Body):
    """POST /webhooks: an endpoint to deliver changes to. An admin's gets every change, a
    provider's the changes to its own slots; `events` narrows them to some kinds."""

    url: WebhookUrl
    events: Annotated[list[ChangeKind], Meta(min_length=1, max_length=8)] | UnsetType = UNSET
    description: Description | UnsetType = UNSET


class WebhookInfo(_Answer):
    """An endpoint as listed: never its signing secret."""

    webhook_id: WebhookId
    url: str
    events: list[ChangeKind] | None
    """The kinds delivered; null: every kind."""
    description: str | None
    provider_id: str | None
    """The provider whose slots' changes are delivered; null: every change (an admin's)."""
    created_at: ResponseTime
    enabled: bool
    disabled_reason: str | None
    """Why delivery stopped: every retry of a change failed. POST .../replay starts it again."""
    delivered_seq: int
    """Every change up to this seq has been delivered (or was not for this endpoint)."""
    failed_attempts: int
    """Failed attempts at the next change; its next retry is at `nextAttemptAt`."""
    next_attempt_at: ResponseTime | None


class WebhookCreated(_Answer):
    """Answer to POST /webhooks. `secret` (`whsec_...`) signs every delivery; it is shown this
    once. A replay of the request under its Idempotency-Key has it null."""

    message: str
    secret: str | None
    webhook: WebhookInfo


class Webhooks(_Answer):
    """Answer to GET /webhooks: the caller's endpoints (every one, for an admin)."""

    webhooks: list[WebhookInfo]


class WebhookRemoved(_Answer):
    """Answer to DELETE /webhooks/{webhookId}: nothing more is sent to it."""

    message: str
    webhook: WebhookInfo


class Delivery(_Answer):
    """One attempt to deliver one change."""

    seq: int
    attempt: int
    at: ResponseTime
    status_code: int | None
    """The receiver's HTTP status; null when there was none (see `error`)."""
    error: str | None
    latency_ms: float


class Deliveries(_Answer):
    """Answer to GET /webhooks/{webhookId}/deliveries: the latest attempts, newest first."""

    deliveries: list[Delivery]


class ReplayRequest(_Body):
    """POST /webhooks/{webhookId}/replay: send again every change after `since` (a seq of the
    change log), and start a disabled endpoint again."""

    since: Annotated[int, Meta(ge=0, description="Deliver the changes after this seq.")]


class WebhookReplaying(_Answer):
    """Answer to POST /webhooks/{webhookId}/replay."""

    message: str
    webhook: WebhookInfo
