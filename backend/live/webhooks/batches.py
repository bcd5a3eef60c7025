"""What each webhook endpoint is sent: which changes are for it, how many one delivery carries,
and the body and `webhook-id` of that delivery.

An endpoint of format "batch" is sent the changes waiting for it, up to BATCH_SIZE a delivery, in
a `{"type": "changes", "changes": [...]}` envelope (shared/webhook_wire.py); one of format
"single" is sent one change a delivery, the bare object /changes gives. An event's row of the log
(backend/store/busy_events.py) goes alone, to either format, as `{"type": "<kind>", "data":
{...}}` with the data it was logged with: a batch of changes ends before it. A delivery carries
what is waiting when it is made: it never waits for more to fill up. A failed delivery is sent
again with the same changes (the endpoint keeps the seq of its last one, `batch_through`), so its
`webhook-id`, made of the endpoint and its first and last seq, is the same on every attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from backend.gate.access import Caller
from backend.live.change_view import present_change
from backend.live.webhooks.signing import message_id
from backend.rules.booking import Rules
from backend.store.base import ChangeRow, Store, StoredWebhook
from shared.webhook_wire import ChangeBatch
from shared.wire import encode_line

BATCH_SIZE = 100
"""The most changes one delivery to a batch endpoint carries."""

READ_PAGE = 500
"""Changes read from the log at a time."""

SCAN_LIMIT = 5_000
"""Changes read without finding one for the endpoint before the sender records how far it got
(so a provider's endpoint in a log full of other providers' changes moves on in steps)."""


def wants(hook: StoredWebhook, change: ChangeRow) -> bool:
    """Whether the endpoint is sent this change or event: of a kind it asked for, and (for a
    provider's endpoint) on that provider's slots, or about that provider."""
    if hook.events is not None and change.kind not in hook.events:
        return False
    return hook.provider_id is None or hook.provider_id in (
        change.provider_id,
        change.from_provider_id,
    )


def viewer(hook: StoredWebhook) -> Caller:
    """Whom the delivered change is shown as it would be shown to: an admin, or the provider."""
    if hook.provider_id is None:
        return Caller(role="admin", subject=None, name="webhook")
    return Caller(role="provider", subject=hook.provider_id, name="webhook")


@dataclass(frozen=True)
class Batch:
    """The endpoint's next delivery: its changes after the cursor, in seq order (none, when
    nothing up to `through` is for it), and how far the log was read."""

    changes: tuple[ChangeRow, ...]
    through: int
    """Every change up to this seq is in `changes` or not for the endpoint."""
    more: bool
    """Whether the log may hold more after `through` (the read stopped before its end)."""

    @property
    def first_seq(self) -> int:
        return self.changes[0].seq

    @property
    def last_seq(self) -> int:
        return self.changes[-1].seq


async def next_batch(store: Store, hook: StoredWebhook, cursor: int, until: int | None) -> Batch:
    """The changes the endpoint is sent next, after `cursor`: those up to `until` when a failed
    delivery is sent again, else as many as are waiting, up to the delivery's size, and never
    past an event; or that event alone."""
    size = 1 if hook.format == "single" else BATCH_SIZE
    found: list[ChangeRow] = []
    through = cursor
    while True:
        page = await store.changes_since(through, READ_PAGE)
        for change in page:
            if until is not None and change.seq > until:
                return Batch(tuple(found), until, more=True)
            if wants(hook, change):
                if change.is_event:  # alone: the changes before it go first
                    if found:
                        return Batch(tuple(found), through, more=True)
                    return Batch((change,), change.seq, more=True)
                found.append(change)
                if len(found) == size:
                    return Batch(tuple(found), change.seq, more=True)
            through = change.seq
        if len(page) < READ_PAGE:
            return Batch(tuple(found), through, more=False)
        if not found and through - cursor >= SCAN_LIMIT:
            return Batch((), through, more=True)


def delivery_body(hook: StoredWebhook, batch: Batch, rules: Rules) -> bytes:
    """The JSON the endpoint is POSTed: an envelope of the changes, or the one bare change; or
    the event's envelope."""
    first = batch.changes[0]
    if first.is_event:
        return event_body(first)
    shown = [present_change(change, viewer(hook), rules) for change in batch.changes]
    if hook.format == "single":
        (change,) = shown
        return encode_line(change)
    return encode_line(ChangeBatch(changes=shown))


def event_body(row: ChangeRow) -> bytes:
    """An event's row as the envelope it is sent in (shared/webhook_wire.py's `Event`):
    `{"type": <kind>, "data": <data>}`, the data exactly as it was rendered when logged."""
    if row.data is None:
        raise ValueError(f"seq {row.seq} ({row.kind}) carries no data")
    return msgspec.json.encode({"type": row.kind, "data": msgspec.Raw(row.data.encode())}) + b"\n"


def delivery_id(hook: StoredWebhook, batch: Batch) -> str:
    """The delivery's `webhook-id`: the same on every attempt at it."""
    return message_id(hook.webhook_id, batch.first_seq, batch.last_seq)
