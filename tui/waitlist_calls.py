"""The waitlist as Python calls (no Textual): a place in a provider's line for a window of time
taken, listed, read and left (POST, GET and DELETE /waitlist)."""

from __future__ import annotations

from msgspec import UNSET

from shared.timefmt import format_time
from shared.waitlist_wire import (
    WaitlistEntries,
    WaitlistEntry,
    WaitlistEntryAnswer,
    WaitlistRequest,
)
from tui.client import SlotbookClient
from tui.errors import NotFound


async def join(
    client: SlotbookClient,
    provider_id: str,
    start: float,
    end: float,
    *,
    minutes: int | None = None,
    service_id: str | None = None,
) -> WaitlistEntry:
    """Wait for any start in [start, end) of this provider where `minutes` (or an appointment of
    the type `service_id`) fit; the entry with its place in line. A refusal is an ApiError whose
    detail says why (a window in the past or too long, too many places taken...)."""
    request = WaitlistRequest(
        provider_id=provider_id,
        from_=format_time(start),
        to=format_time(end),
        minutes=UNSET if minutes is None else minutes,
        service_id=UNSET if service_id is None else service_id,
    )
    return (await client.call("POST", "/waitlist", WaitlistEntryAnswer, body=request)).entry


async def entries(client: SlotbookClient) -> list[WaitlistEntry]:
    """A client's places (a provider's: those in their line; an admin's: all), oldest first."""
    return (await client.call("GET", "/waitlist", WaitlistEntries)).entries


async def entry(client: SlotbookClient, waitlist_id: str) -> WaitlistEntry:
    """One place, as it stands now (its offer, once it has one)."""
    return (await client.call("GET", f"/waitlist/{waitlist_id}", WaitlistEntryAnswer)).entry


async def leave(client: SlotbookClient, waitlist_id: str) -> WaitlistEntry:
    """Leave the line: the entry as it ended."""
    return (await client.call("DELETE", f"/waitlist/{waitlist_id}", WaitlistEntryAnswer)).entry


async def waiting_for(client: SlotbookClient, provider_id: str) -> list[WaitlistEntry]:
    """The entries in this provider's line (a provider's own, or, to an admin, anyone's); none
    from a server that has no waitlist."""
    try:
        listed = await entries(client)
    except NotFound:
        return []
    return [e for e in listed if e.provider_id == provider_id]
