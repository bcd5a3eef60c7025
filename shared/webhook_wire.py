"""The wire shapes of webhooks: POST, GET and DELETE /webhooks, deliveries and replay, and the
bodies the endpoints are sent.

Every delivery is a POST signed by the Standard Webhooks scheme (`webhook-id`,
`webhook-timestamp`, `webhook-signature`). An endpoint of `format` "batch" (the default) is sent
an envelope, an object whose `type` says what it carries: `{"type": "changes", "changes": [...]}`
holds up to 100 changes in `seq` order. The envelope is a union tagged by `type`, so that events
arrive as members of their own, `{"type": "<event>", "data": {...}}`, beside `changes`: so far
`conflict` (a busy time of the provider's own calendar overlaps a hold or booking) and
`busy-source-failing` (one of their calendars has failed for three refresh periods). A receiver
answers 2xx to a `type` it does not know. An endpoint of `format` "single" is sent one change per
delivery, as the bare JSON object /changes gives, and the events in their envelopes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from shared.busy_wire import SourceFailing
from shared.conflict_wire import ConflictRaised
from shared.patterns import TEXT_PATTERN, URL_PATTERN
from shared.wire import Change, ChangeKind, ResponseTime, _Answer, _Body

EventKind = Literal["conflict", "busy-source-failing"]
"""The events an endpoint is sent beside changes, each alone in its envelope."""
WebhookKind = Literal[ChangeKind, EventKind]
"""What an endpoint may ask for in `events`: kinds of change, and events."""

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
        " to, public addresses only (the server's --allow-private-addresses opens loopback and"
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


DeliveryFormat = Annotated[
    Literal["batch", "single"],
    Meta(
        description="How changes are sent: `batch`, up to 100 a delivery in a"
        ' `{"type": "changes", "changes": [...]}` envelope; `single`, one change a'
        " delivery as the bare object /changes gives (the way of endpoints registered before"
        ' batches existed). Either way each event comes alone, as `{"type": "<event>",'
        ' "data": {...}}`.',
    ),
]


class WebhookRequest(_Body):
    """POST /webhooks: an endpoint to deliver changes to. An admin's gets every change and event,
    a provider's the changes to its own slots and its own events; `events` narrows them to some
    kinds."""

    url: WebhookUrl
    events: (
        Annotated[
            list[WebhookKind],
            Meta(
                min_length=1,
                max_length=10,
                description="The kinds of change, and the events (`conflict`,"
                " `busy-source-failing`), to send; left out: all of them.",
            ),
        ]
        | UnsetType
    ) = UNSET
    description: Description | UnsetType = UNSET
    format: DeliveryFormat = "batch"


class WebhookInfo(_Answer):
    """An endpoint as listed: never its signing secret."""

    webhook_id: WebhookId
    url: str
    events: list[WebhookKind] | None
    """The kinds of change and the events delivered; null: all of them."""
    description: str | None
    provider_id: str | None
    """The provider whose slots' changes are delivered; null: every change (an admin's)."""
    format: DeliveryFormat
    created_at: ResponseTime
    enabled: bool
    disabled_reason: str | None
    """Why delivery stopped: every retry of a change failed. POST .../replay starts it again."""
    delivered_seq: int
    """Every change up to this seq has been delivered (or was not for this endpoint)."""
    failed_attempts: int
    """Failed attempts at the next delivery; its next retry is at `nextAttemptAt`."""
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
    """One attempt at one delivery: the endpoint's changes from `firstSeq` to `seq` (the same,
    for one change)."""

    seq: int
    """The last change the delivery carried."""
    first_seq: int
    """The first change the delivery carried."""
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


# --- what an endpoint is sent ------------------------------------------------------------------


class _Envelope(Struct, rename="camel", kw_only=True, tag_field="type"):
    """The body of a delivery to a `batch` endpoint: an object whose `type` names what it
    carries. Members other than `changes` carry `data`."""


class ChangeBatch(_Envelope, tag="changes"):
    """Changes for the endpoint, up to 100, in `seq` order: as many as were waiting when it was
    sent (a delivery never waits to fill up). Only a 2xx moves the endpoint past all of them; a
    failed delivery is sent again with the same changes and the same `webhook-id`."""

    changes: Annotated[list[Change], Meta(min_length=1, max_length=100)]


class ConflictEvent(_Envelope, tag="conflict"):
    """A hold or booking that a busy time of the provider's own calendar now overlaps, sent once,
    when a refresh of that calendar makes it so (one per appointment and calendar). It stays
    booked; the provider decides. Alone in its delivery, to either format of endpoint."""

    data: ConflictRaised


class BusySourceFailingEvent(_Envelope, tag="busy-source-failing"):
    """One of the provider's calendars has failed for three refresh periods, sent once, at the
    refresh that made it so (again only after it has been read successfully since). Its last
    good busy times stay in force. Alone in its delivery, to either format of endpoint."""

    data: SourceFailing


Envelope = ChangeBatch | ConflictEvent | BusySourceFailingEvent
"""Every body a `batch` endpoint may be sent, tagged by `type`: changes, or one event (events
that later capabilities add join this union as `{"type": "<event>", "data": {...}}` members)."""
