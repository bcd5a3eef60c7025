"""The waitlist on the wire (/waitlist): a client's place in a provider's line for a window of
time, and the offer (an ordinary hold of theirs) that time freed in that window becomes."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType, field

from shared.wire import (
    AppointmentMinutes,
    DisplayName,
    EndTime,
    PartyId,
    RequestTime,
    ResponseTime,
    ServiceId,
    ServiceName,
    TimeSlotId,
    _Answer,
    _Body,
)
from shared.wire import (
    WaitlistId as WaitlistId,  # defined beside Change, which names an entry
)

WaitlistStatus = Literal["waiting", "offered", "fulfilled", "declined", "lapsed", "expired"]
"""`waiting` in line; `offered` holding its offer; `fulfilled` the offer confirmed; `declined`
the offer released; `lapsed` the offer lapsed unconfirmed; `expired` its window passed."""

WAITLIST_STATUSES: tuple[WaitlistStatus, ...] = (
    "waiting",
    "offered",
    "fulfilled",
    "declined",
    "lapsed",
    "expired",
)


class WaitlistRequest(_Body):
    """POST /waitlist: wait for any start between `from` and `to` where an appointment of this
    length (or of this type) fits, and be offered the first such time that frees up."""

    provider_id: PartyId
    from_: RequestTime = field(name="from")
    to: EndTime
    minutes: AppointmentMinutes | UnsetType = UNSET
    """The appointment's length (one slot when neither this nor `serviceId` is sent)."""
    service_id: ServiceId | UnsetType = UNSET
    """An appointment type of the provider's: its length, buffers, notice and limits."""
    client_id: PartyId | UnsetType = UNSET
    """Whose place it is: an admin's (or, without tokens, anyone's) choice; a client's token
    names its own client."""


class WaitlistQuery(_Body):
    """GET /waitlist: a client's entries, the entries for a provider, or (an admin's) all."""

    client_id: PartyId | UnsetType = UNSET
    provider_id: PartyId | UnsetType = UNSET
    status: WaitlistStatus | UnsetType = UNSET


class WaitlistOffer(_Answer):
    """The hold an entry was offered: confirm it, release it or move it as any hold."""

    time_slot_id: TimeSlotId
    timestamp: ResponseTime
    expires_at: ResponseTime
    """When the offer lapses unless confirmed."""


class WaitlistEntry(_Answer):
    """A place in a provider's line."""

    waitlist_id: WaitlistId
    provider_id: str
    from_: ResponseTime = field(name="from")
    to: ResponseTime
    minutes: int
    client_id: str
    joined_at: ResponseTime
    status: WaitlistStatus
    position: Annotated[
        int,
        Meta(
            ge=0,
            description="The place in the provider's line, 1 for the first; 0 once the entry is"
            " no longer waiting.",
            examples=[3],
        ),
    ]
    client_name: DisplayName | UnsetType = UNSET
    service_id: ServiceId | UnsetType = UNSET
    service_name: ServiceName | UnsetType = UNSET
    offer: WaitlistOffer | UnsetType = UNSET
    """While `offered` (and after, on a fulfilled, declined or lapsed entry): the hold."""


class WaitlistEntryAnswer(_Answer):
    """Answer to POST /waitlist, GET and DELETE /waitlist/{waitlistId}."""

    entry: WaitlistEntry


class WaitlistEntries(_Answer):
    """Answer to GET /waitlist: oldest place first."""

    entries: list[WaitlistEntry]
