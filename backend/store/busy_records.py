"""What the stores keep of a provider's own calendars: busy intervals, each from one source, in
pieces of at most an hour, so that the probe for one overlapping a time reads an hour's worth at
most (`start > t - MAX_PIECE`): a listing asks it of every slot it lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from backend.rules.booking import BookingError

MAX_PIECE = 3_600
"""Seconds: no busy interval is stored longer (longer ones are kept as consecutive pieces; a
day-long event is 24 rows, and the probe of a slot reads the pieces that began in the hour
before it)."""


@dataclass(frozen=True)
class StoredBusy:
    """One busy interval as stored: [start, ends) in epoch seconds, from one source."""

    source_id: str
    start: int
    ends: int


def pieces(start: int, ends: int) -> list[tuple[int, int]]:
    """[start, ends) cut into consecutive pieces of at most MAX_PIECE seconds."""
    return [(at, min(at + MAX_PIECE, ends)) for at in range(start, ends, MAX_PIECE)]


SourceKind = Literal["ics", "caldav"]
AllDayEvents = Literal["busy", "ignore"]


@dataclass(frozen=True)
class BusySource:
    """A calendar of a provider's that busy times are read from, and how its last refresh went."""

    source_id: str
    provider_id: str
    name: str
    kind: SourceKind
    url: str
    username: str | None
    password_sealed: str | None
    """The password, sealed with the server's secret key; never shown."""
    refresh_minutes: int
    all_day_events: AllDayEvents
    created_at: float
    updated_at: float
    due_at: float
    """When the next refresh is due."""
    last_sync_at: float | None = None
    last_success_at: float | None = None
    last_error: str | None = None
    events: int = 0
    busy_intervals: int = 0
    failures: int = 0
    """Refreshes that failed since the last that succeeded."""
    etag: str | None = None
    last_modified: str | None = None

    def failing(self, now: float) -> bool:
        """Its last refresh failed, and none has succeeded for FAILING_PERIODS refresh periods
        (counted from when it was added, when none ever has)."""
        if self.failures == 0:
            return False
        since = self.created_at if self.last_success_at is None else self.last_success_at
        return now - since >= FAILING_PERIODS * self.refresh_minutes * 60


FAILING_PERIODS = 3
"""Refresh periods without a success after which a failing source is called failing."""

CHANGEABLE = frozenset(
    {"name", "kind", "url", "username", "password_sealed", "refresh_minutes", "all_day_events"}
)
"""The columns an update may change (BusySource's fields of the same names)."""

_READ_BY = frozenset({"kind", "url", "username", "password_sealed", "all_day_events"})
"""What a refresh reads by: a change to one of them makes the next refresh due at once, without
the validators of the last fetch (what it gave may not be what the source gives now)."""


def update_values(
    source: BusySource, changes: Mapping[str, object], now: float
) -> dict[str, object]:
    """The columns an update of the source writes: the changes; when it was made; when the next
    refresh is due: at once (and unconditionally) when what a refresh reads changed, else no
    later than one new period after the last refresh. A sealed password differs at each sealing,
    so giving one counts as a change."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"not columns an update may change: {sorted(unknown)}")
    values: dict[str, object] = {**changes, "updated_at": now}
    if any(
        getattr(source, column) != value or (column == "password_sealed" and value is not None)
        for column, value in changes.items()
        if column in _READ_BY
    ):
        values |= {"due_at": now, "etag": None, "last_modified": None}
    elif isinstance(minutes := changes.get("refresh_minutes"), int):
        last = source.created_at if source.last_sync_at is None else source.last_sync_at
        values["due_at"] = min(source.due_at, last + minutes * 60)
    return values


def read_by(source: BusySource) -> tuple[object, ...]:
    """What a refresh of the source reads by, as it is now."""
    return tuple(getattr(source, column) for column in sorted(_READ_BY))


class BusySourceNotFound(BookingError):
    """No source of the provider's has this id."""

    @classmethod
    def of(cls, source_id: str) -> BusySourceNotFound:
        return cls(
            f"No calendar of this provider's has id {source_id};"
            " GET /providers/{providerId}/busy-sources lists them"
        )


class TooManyBusySources(BookingError):
    """The provider already has as many sources as one provider may."""

    @classmethod
    def of(cls, provider_id: str, most: int) -> TooManyBusySources:
        return cls(
            f"Provider {provider_id} already has {most} calendars, the most one provider may"
            " have; remove one (DELETE /providers/{providerId}/busy-sources/{sourceId}) before"
            " adding another"
        )


SOURCE_COLUMNS = (
    "id, provider_id, name, kind, url, username, password_sealed, refresh_minutes,"
    " all_day_events, created_at, updated_at, due_at, last_sync_at, last_success_at, last_error,"
    " events, busy_intervals, failures, etag, last_modified"
)
"""What a read of busy_sources selects, in BusySource's order."""


@dataclass(frozen=True)
class Refreshed:
    """What one refresh of a source came to: new busy intervals (None: keep the last good ones,
    because the calendar did not change or could not be read), the events counted, the error in
    words when it failed, the validators for the next conditional fetch, and when the next is
    due."""

    intervals: Sequence[tuple[int, int]] | None
    events: int | None
    error: str | None
    etag: str | None
    last_modified: str | None
    next_due: float
    read_by: tuple[object, ...] | None = None
    """What the refresh read by (`read_by` of the source as it was claimed): when the source has
    changed what a refresh reads since (a PATCH of its address while the fetch ran), the outcome
    is of a calendar it no longer names, and only the lease is given up."""


SOURCE_STATES = (
    "SELECT CASE WHEN failures > 0 AND {now} - coalesce(last_success_at, created_at)"
    " >= 3 * refresh_minutes * 60 THEN 'failing' ELSE 'ok' END AS state, COUNT(*)"
    " FROM busy_sources GROUP BY state"
)
"""Sources by state: failing after three of its refresh periods without success, else ok (the
refresher's `failing` says the same of one source)."""


@dataclass(frozen=True)
class Conflict:
    """A hold or booking made before the provider's calendar said they were busy then: it stays,
    and the provider is told. One per appointment and source."""

    appointment_id: str
    start: int
    ends: int
    status: str
    client_id: str | None
    source_id: str
    source_name: str
    busy_start: int
    busy_ends: int


CONFLICTS = """
SELECT s.appointment_id, MIN(s.start), MAX(s.start + s.duration), MIN(s.status), MIN(s.client_id),
       b.source_id, MIN(src.name), MIN(b.start), MAX(b.ends)
  FROM slots AS s
  JOIN busy_intervals AS b
    ON b.provider_id = s.provider_id AND b.start > s.start - {piece}
   AND b.start < s.start + s.duration AND b.ends > s.start
  JOIN busy_sources AS src ON src.id = b.source_id
 WHERE s.provider_id = {provider} AND s.appointment_id IS NOT NULL AND s.start + s.duration > {now}
   AND (s.status = 'CONFIRMED' OR (s.status = 'RESERVED' AND s.held_until > {now}))
 GROUP BY s.appointment_id, b.source_id
 ORDER BY MIN(s.start), s.appointment_id, b.source_id
"""
"""The provider's live holds and bookings that a busy interval overlaps (placeholders filled by
each store)."""
