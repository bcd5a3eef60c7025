"""What a booked appointment's life asks of its provider's write-back calendar: free of I/O.

A provider may name a CalDAV calendar of their own that slotbook writes their bookings into
(backend/live/busy/write_back.py). A store asks this in the transaction of each ledger write
(backend/rules/calendar_ledger.py), as it asks backend/rules/notices.py whom the write tells, and
queues what it answers in the same transaction: so a booking and the write it causes commit
together. The event is written from the appointment as it stands when the write is made, so only
the kind of write is decided here: `put` (the event made, or made to match) for a booking, a move
(within the provider's slots, or arriving from another's) and a booking's note changed; `delete`
for a cancellation and a move away to another provider. A hold is never written.
"""

from __future__ import annotations

from typing import Literal

from backend.rules.calendar_ledger import LedgerWrite, Tell

WriteAction = Literal["put", "delete"]

WriteStatus = Literal["queued", "done", "failed"]
"""Queued (to be made, or tried again), done, failed (given up after a day of failures)."""

_ACTIONS: dict[Tell, WriteAction] = {
    "booked": "put",
    "moved": "put",
    "moved-here": "put",
    "cancelled": "delete",
    "moved-away": "delete",
}


def planned_write(write: LedgerWrite) -> WriteAction | None:
    """The write one ledger write asks of its provider's calendar, or None (a hold's life)."""
    if write.tells == "offered":
        return None  # a waitlist offer is a hold
    if write.tells is not None:
        return _ACTIONS[write.tells]
    if write.find is not None and write.status == "CONFIRMED":
        return "put"  # a booking's note changed: the event's description follows it
    return None
