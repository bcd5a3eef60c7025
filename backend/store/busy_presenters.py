"""A provider's own calendars and their conflicts as the API shows them: what GET
.../busy-sources and GET .../conflicts answer, and what the webhook events about them carry (the
store renders an event's data in the transaction that logs it, so both come from here)."""

from __future__ import annotations

from backend.store.busy_records import BusySource as StoredSource
from backend.store.busy_records import Conflict as StoredConflict
from shared.busy_wire import BusySource, BusySourceStatus
from shared.conflict_wire import Conflict
from shared.timefmt import format_moment, format_time


def present_source(source: StoredSource, now: float) -> BusySource:
    """The source as the API shows it: never its password."""
    return BusySource(
        source_id=source.source_id,
        name=source.name,
        kind=source.kind,
        url=source.url,
        username=source.username,
        refresh_minutes=source.refresh_minutes,
        all_day_events=source.all_day_events,
        status=BusySourceStatus(
            last_sync_at=format_moment(source.last_sync_at),
            last_success_at=format_moment(source.last_success_at),
            last_error=source.last_error,
            events=source.events,
            busy_intervals=source.busy_intervals,
            failing=source.failing(now),
        ),
    )


def present_conflict(conflict: StoredConflict) -> Conflict:
    """One conflict as GET /providers/{providerId}/conflicts lists it."""
    return Conflict(
        time_slot_id=conflict.appointment_id,
        start=format_time(conflict.start),
        end=format_time(conflict.ends),
        status="CONFIRMED" if conflict.status == "CONFIRMED" else "RESERVED",
        client_id=conflict.client_id,
        source_id=conflict.source_id,
        source_name=conflict.source_name,
        busy_start=format_time(conflict.busy_start),
        busy_end=format_time(conflict.busy_ends),
    )
