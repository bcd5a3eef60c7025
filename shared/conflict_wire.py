"""Conflicts on the wire (GET /providers/{providerId}/conflicts, and the `conflict` webhook event):
holds and bookings made before the provider's own calendar said they were busy then. They stay;
the provider decides."""

from __future__ import annotations

from typing import Literal

from shared.wire import PartyId, ResponseTime, TimeSlotId, _Answer


class Conflict(_Answer):
    """One hold or booking and the calendar that has the provider busy during it."""

    time_slot_id: TimeSlotId
    """The appointment's first slot."""
    start: ResponseTime
    end: ResponseTime
    status: Literal["RESERVED", "CONFIRMED"]
    client_id: PartyId | None
    source_id: str
    source_name: str
    busy_start: ResponseTime
    """Where the calendar's busy time begins (it may begin before the appointment)."""
    busy_end: ResponseTime


class Conflicts(_Answer):
    conflicts: list[Conflict]


class ConflictRaised(Conflict):
    """A conflict that has just arisen (the `data` of a `conflict` webhook event): the object GET
    /providers/{providerId}/conflicts lists for it, and whose provider it is."""

    provider_id: PartyId
