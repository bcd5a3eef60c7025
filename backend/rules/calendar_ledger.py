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
        if change.kind == "moved" and was is not None and was.provider_id != slot.provider_id:
            assert was.appointment_id is not None
            ended = _entry(was.appointment_id, was, change.client_id, "CANCELLED")
            write(("left", was.appointment_id, was.appointment_id), was, ended)
            write(
                ("arrived", None, slot.appointment_id),
                slot,
                _entry(None, slot, change.client_id, live),
            )
            continue
        if change.kind == "moved":
            assert was is not None
            find: str | None = was.appointment_id
        elif change.kind == "reserved":
            find = None
        else:
            find = slot.appointment_id
        status = _STATUS.get(change.kind, live)
        write(
            (change.kind, find, slot.appointment_id),
            slot,
            _entry(find, slot, change.client_id, status),
        )
    return list(writes.values())


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
