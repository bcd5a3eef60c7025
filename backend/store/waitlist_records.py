"""What the stores keep of the waitlist: a client's place in a provider's line for a window of
time, and the offer (an ordinary hold of theirs) it was given. `backend/rules/waitlist.py` says
what fits and when an entry's state moves on; both stores hand freed time over with it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from backend.rules.booking import BookingError
from backend.rules.waitlist import WaitlistStatus as WaitlistStatus
from backend.rules.waitlist import shown_status

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


def shown(stored: StoredEntry, now: float) -> StoredEntry:
    """The entry as of `now` (see `shown_status`): a place in line only while it waits."""
    status = shown_status(stored, now)
    return replace(stored, status=status, position=stored.position if status == "waiting" else 0)


SELECT_ENTRIES = """
SELECT {columns},
       CASE WHEN e.status = 'waiting' THEN 1 + (
            SELECT COUNT(*) FROM waitlist_entries AS o
             WHERE o.provider_id = e.provider_id AND o.status = 'waiting' AND o.window_end > {now}
               AND (o.joined_at < e.joined_at OR (o.joined_at = e.joined_at AND o.id < e.id)))
            ELSE 0 END,
       cl.name, sv.name
  FROM waitlist_entries AS e
  LEFT JOIN clients AS cl ON cl.id = e.client_id
  LEFT JOIN services AS sv ON sv.id = e.service_id
""".replace("{columns}", ", ".join(f"e.{name}" for name in WAITLIST_COLUMNS.split(", ")))
"""Entries as `StoredEntry` reads them, each with its place among the live waiting entries of its
provider (placeholders filled by each store)."""

LINE = """
SELECT id, client_id, window_start, window_end, minutes, service_id FROM waitlist_entries
 WHERE provider_id = {provider} AND status = 'waiting'
   AND window_start < {end} AND window_end > {start} AND minutes * 60 <= {room}
 ORDER BY joined_at, id
"""
"""The waiting entries a room of open time could suit, in line order (the line's index)."""

WISHES = """
SELECT MIN(minutes), MAX(minutes) FROM waitlist_entries
 WHERE provider_id = {provider} AND status = 'waiting' AND window_end > {now}
   AND window_start < {end} AND window_end > {start}
"""
"""The shortest and the longest appointment a waiting entry whose window overlaps [start, end)
wants (NULL: nobody waits for time there)."""

LIVE_ENTRIES = """
SELECT COUNT(*) FROM waitlist_entries
 WHERE client_id = {client} AND status IN ('waiting', 'offered') AND window_end > {now}
"""
"""A client's entries that count against the most: waiting, or offered (until a sweep writes a
lapsed offer down)."""

ANYONE_WAITING = """
SELECT 1 FROM waitlist_entries
 WHERE provider_id = {provider} AND status = 'waiting' AND window_end > {now} LIMIT 1
"""

WAITING_OF_CLIENT = """
SELECT provider_id, window_start, window_end FROM waitlist_entries
 WHERE client_id = {client} AND status = 'waiting' AND window_end > {now}
 ORDER BY joined_at, id
"""
"""The windows a client waits in, their oldest place first."""

SETTLE = """
UPDATE waitlist_entries SET status = {status}, updated_at = {now}
 WHERE appointment_id = {appointment} AND status = 'offered'
   AND ({kind} = 'expired' OR offer_until > {now})
"""
"""An offer's entry leaves the line as its hold ends. A confirm or a release ends only a live
offer: an offer that lapsed unswept, its slot since held by someone else under the same
appointment id, stays lapsed."""

FOLLOW_MOVE = """
UPDATE waitlist_entries
   SET appointment_id = {head}, offer_start = {start}, offer_until = {until}, updated_at = {now}
 WHERE appointment_id = {old} AND status = 'offered'
"""

OFFERED = """
UPDATE waitlist_entries
   SET status = 'offered', appointment_id = {head}, offer_start = {start}, offer_until = {until},
       updated_at = {now}
 WHERE id = {entry}
"""

EXPIRE_WINDOWS = """
UPDATE waitlist_entries SET status = 'expired', updated_at = {now}
 WHERE status = 'waiting' AND window_end <= {now}
"""

LAPSE_OFFERS = """
UPDATE waitlist_entries SET status = 'lapsed', updated_at = {now}
 WHERE status = 'offered' AND offer_until <= {now}
"""
"""Offers whose time ran out, written down as lapsed by the sweep (those whose hold lapsed are
settled with it; this is for an offer whose slot someone else took once it had lapsed)."""


@dataclass(frozen=True)
class WaitlistFilter:
    """Whose entries GET /waitlist lists: a client's, a provider's, or (both None) all."""

    client_id: str | None = None
    provider_id: str | None = None
    status: WaitlistStatus | None = None


class WaitlistEntryNotFound(BookingError):
    """No waitlist entry has this id (or the caller may not see it)."""

    @classmethod
    def of(cls, waitlist_id: str) -> WaitlistEntryNotFound:
        return cls(f"No waitlist entry has id {waitlist_id}")


class TooManyWaitlistEntries(BookingError):
    """The client is waiting on the most entries allowed."""

    @classmethod
    def of(cls, live: int) -> TooManyWaitlistEntries:
        return cls(
            f"You are waiting on {live} waitlist entries, the most allowed at once; leave one"
            " (DELETE /waitlist/{waitlistId}) first"
        )
