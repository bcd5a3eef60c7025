"""The calendar ledger: one entry per reservation, kept beside the slots for calendar feeds.

A slot forgets a reservation when it is cancelled or lapses, and a move hands it to other slots
under another appointment id; a calendar program needs the reservation as one event that keeps its
UID through all of that, whose SEQUENCE grows with each change, and that stays in the feed as
CANCELLED after it ends. So every write that logs changes also writes what they do to the ledger,
in the same transaction: a hold opens an entry, and a confirm, note, move, cancel or lapse updates
the live entry of the appointment it touched. Free of I/O: the stores run the writes planned here
(and the two PostgreSQL functions of the lean writes do the same in SQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from backend.rules.appointments import ChangeEntry
from backend.rules.booking import SlotRow

EntryStatus = Literal["RESERVED", "CONFIRMED", "CANCELLED"]

Tell = Literal["booked", "moved", "cancelled", "moved-away", "moved-here", "offered"]
"""What a write means to the people of a booked appointment (backend/rules/notices.py says whom
it reaches): it was booked, moved, or cancelled; or, moved to another provider, it left the
entry of the provider it had (`moved-away`) for a new one (`moved-here`). A hold's life (held,
moved, let go, lapsed) and a note tell nobody, but for a hold that is a waitlist offer
(`offered`): time freed for the next client in line, who has to hear of it to take it."""

KEEP_SECONDS = 30 * 86_400
"""How far back a feed reaches: reservations that ended, and cancellations made, this long ago."""


@dataclass
class LedgerWrite:
    """What one operation does to one reservation's entry. `find` is the appointment id of the
    live entry to update; None opens a new entry (a hold)."""

    find: str | None
    appointment_id: str
    provider_id: str
    client_id: str
    start: int
    ends: int
    status: EntryStatus
    held_until: float | None
    note: str | None
    service_id: str | None = None
    tells: Tell | None = None
    follows: str | None = None
    """For `moved-here`: the appointment id of the entry it left, whose invitation it carries on."""
    waitlist_id: str | None = None
    """For `offered`: the waitlist entry the hold was offered to."""

    def as_params(self) -> dict[str, object]:
        return {
            "find": self.find,
            "appointment_id": self.appointment_id,
            "provider_id": self.provider_id,
            "client_id": self.client_id,
            "start": self.start,
            "ends": self.ends,
            "status": self.status,
            "held_until": self.held_until,
            "note": self.note,
            "service_id": self.service_id,
        }


_STATUS: dict[str, EntryStatus] = {
    "reserved": "RESERVED",
    "confirmed": "CONFIRMED",
    "cancelled": "CANCELLED",
    "expired": "CANCELLED",
}


def ledger_writes(changes: Iterable[ChangeEntry]) -> list[LedgerWrite]:
    """The ledger writes of one operation's changes (or of one sweep's lapses), in order: the
    changes of one kind to one appointment become one write covering all its slots.

    A move to another provider is a reservation with someone else: it ends the old entry
    (CANCELLED, one sequence on, so that it stays in the old provider's feed as a cancellation
    does) and opens a new one, rather than carrying the entry away from the provider who had it."""
    writes: dict[tuple[str, str | None, str], LedgerWrite] = {}

    def write(key: tuple[str, str | None, str], slot: SlotRow, made: LedgerWrite) -> None:
        known = writes.get(key)
        if known is None:
            writes[key] = made
        else:
            known.start = min(known.start, slot.start)
            known.ends = max(known.ends, slot.start + slot.duration)

    for change in changes:
        slot = change.slot
        if change.client_id is None or slot.appointment_id is None:
            continue  # a slot opened or removed: no reservation
        was = change.moved_from
        live: EntryStatus = "CONFIRMED" if change.status == "CONFIRMED" else "RESERVED"
        booked = live == "CONFIRMED"
        if change.kind == "moved" and was is not None and was.provider_id != slot.provider_id:
            assert was.appointment_id is not None
            ended = _entry(was.appointment_id, was, change.client_id, "CANCELLED")
            ended.tells = "moved-away" if booked else None
            write(("left", was.appointment_id, was.appointment_id), was, ended)
            arrived = _entry(None, slot, change.client_id, live)
            arrived.tells, arrived.follows = ("moved-here" if booked else None), was.appointment_id
            write(("arrived", None, slot.appointment_id), slot, arrived)
            continue
        if change.kind == "moved":
            assert was is not None
            find: str | None = was.appointment_id
        elif change.kind == "reserved":
            find = None
        else:
            find = slot.appointment_id
        status = _STATUS.get(change.kind, live)
        made = _entry(find, slot, change.client_id, status)
        made.tells = _tells(change.kind, booked, slot.status == "CONFIRMED")
        if change.kind == "reserved" and change.waitlist_id is not None:
            made.tells, made.waitlist_id = "offered", change.waitlist_id
        write((change.kind, find, slot.appointment_id), slot, made)
    return list(writes.values())


def _tells(kind: str, booked: bool, was_booked: bool) -> Tell | None:
    """What a change of this kind tells the people of its appointment: `booked` is whether the
    appointment is booked after it, `was_booked` whether the slot it names was (a cancel names the
    slots as they were)."""
    if kind == "confirmed":
        return "booked"
    if kind == "moved" and booked:
        return "moved"
    if kind == "cancelled" and was_booked:
        return "cancelled"
    return None


def _entry(find: str | None, slot: SlotRow, client_id: str, status: EntryStatus) -> LedgerWrite:
    """The write that leaves the entry of `slot`'s appointment in `status`, covering `slot`."""
    assert slot.appointment_id is not None
    return LedgerWrite(
        find=find,
        appointment_id=slot.appointment_id,
        provider_id=slot.provider_id,
        client_id=client_id,
        start=slot.start,
        ends=slot.start + slot.duration,
        status=status,
        held_until=slot.held_until if status == "RESERVED" else None,
        note=slot.note,
        service_id=slot.service_id,
    )
