"""The webhook events a refresh of a provider's own calendar can raise, as the change log keeps
them: the log is the webhooks' outbox, so an event is a row of it, appended in the refresh's own
transaction (`Store.record_busy_refresh`) and sent to each endpoint that takes it, alone in its
delivery (backend/live/webhooks/batches.py). The change feed does not show these rows.

- `conflict`: a live hold or booking that a busy interval of the refreshed calendar now overlaps,
  where none of that calendar did before the refresh (one per appointment and calendar, as GET
  /providers/{providerId}/conflicts lists them). Reserve and move refuse busy times, so a refresh
  is the only way one arises.
- `busy-source-failing`: the refresh that makes a source failing (`BusySource.failing`) when at
  the refresh before it, it was not.

An event's row carries the event's data as JSON, rendered as it is logged, and in the slot
columns the NOT NULL log demands: a conflict's appointment (its first slot, start, status and
client); for a failing source no slot (`slot_id` "", which no slot has), the refresh's time as
`start` and status "".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from backend.store.busy_presenters import present_conflict, present_source
from backend.store.busy_records import BusySource, Conflict
from shared.busy_wire import SourceFailing
from shared.conflict_wire import ConflictRaised
from shared.webhook_wire import EventKind

EVENT_COLUMNS = "kind, slot_id, provider_id, start, status, client_id, appointment_id, data, at"
"""The columns of the change log an event's row writes, in the order `values` gives them."""


@dataclass(frozen=True)
class LoggedEvent:
    """One event as a row of the change log."""

    kind: EventKind
    slot_id: str
    provider_id: str
    start: int
    status: str
    client_id: str | None
    appointment_id: str | None
    data: str
    """The event's `data`, as JSON."""

    def values(self, now: float) -> tuple[Any, ...]:
        """The row as the values of EVENT_COLUMNS."""
        return (
            self.kind, self.slot_id, self.provider_id, self.start, self.status, self.client_id,
            self.appointment_id, self.data, now,
        )  # fmt: skip


def _json(data: msgspec.Struct) -> str:
    return msgspec.json.encode(data).decode()


def arisen(
    provider_id: str, before: Sequence[Conflict], after: Sequence[Conflict]
) -> list[LoggedEvent]:
    """The conflicts in `after` (the provider's once the refresh wrote its busy intervals) that
    were not in `before` (theirs just before it), by appointment and calendar, in `after`'s
    order."""
    known = {(c.appointment_id, c.source_id) for c in before}
    return [
        _conflict(provider_id, c) for c in after if (c.appointment_id, c.source_id) not in known
    ]


def _conflict(provider_id: str, conflict: Conflict) -> LoggedEvent:
    shown = msgspec.structs.asdict(present_conflict(conflict))
    data = ConflictRaised(**shown, provider_id=provider_id)
    return LoggedEvent(
        "conflict", conflict.appointment_id, provider_id, conflict.start, conflict.status,
        conflict.client_id, conflict.appointment_id, _json(data),
    )  # fmt: skip


def became_failing(before: BusySource, after: BusySource, now: float) -> list[LoggedEvent]:
    """The event of `after` (the source as the refresh at `now` left it) being failing, when
    `before` (as the previous refresh left it) was not at that refresh; none otherwise."""
    was = before.last_sync_at is not None and before.failing(before.last_sync_at)
    if was or not after.failing(now):
        return []
    shown = SourceFailing(provider_id=after.provider_id, source=present_source(after, now))
    return [
        LoggedEvent(
            "busy-source-failing", "", after.provider_id, int(now), "", None, None, _json(shown)
        )
    ]
