"""A provider's own calendars as Python calls (no Textual): the calendars their busy times come
from (added, listed, read again now, removed), the busy times in a range, the holds and bookings
those overlap, and the calendar their bookings are written to."""

from __future__ import annotations

from shared.busy_time_wire import BusyTime, BusyTimes
from shared.busy_wire import BusySource, BusySourceAnswer, BusySourceList, BusySourceRequest
from shared.calendar_write_wire import CalendarWriteAnswer, CalendarWriteRequest, WriteCalendar
from shared.conflict_wire import Conflict, Conflicts
from shared.timefmt import format_time
from tui.client import SlotbookClient, provider_path
from tui.errors import NotFound

NO_WRITE_CALENDAR = "calendar-write-not-found"
"""The problem type of a 404 that means "no calendar is written to"."""


async def busy_sources(client: SlotbookClient, provider_id: str) -> list[BusySource]:
    """The calendars the provider's busy times come from, oldest first, with how each is read."""
    path = provider_path(provider_id, "busy-sources")
    return (await client.call("GET", path, BusySourceList)).sources


async def add_busy_source(
    client: SlotbookClient, provider_id: str, request: BusySourceRequest
) -> BusySource:
    """Connect a calendar (read at once by the server); a bad field is refused (Invalid, naming
    each field)."""
    path = provider_path(provider_id, "busy-sources")
    return (await client.call("POST", path, BusySourceAnswer, body=request)).source


async def refresh_busy_source(
    client: SlotbookClient, provider_id: str, source_id: str
) -> BusySource:
    """Read the calendar now: the source with how that went (a failure is said in its status)."""
    path = provider_path(provider_id, f"busy-sources/{source_id}/refresh")
    return (await client.call("POST", path, BusySourceAnswer)).source


async def remove_busy_source(
    client: SlotbookClient, provider_id: str, source_id: str
) -> BusySource:
    """Disconnect the calendar: its busy times close nothing from now on."""
    path = provider_path(provider_id, f"busy-sources/{source_id}")
    return (await client.call("DELETE", path, BusySourceAnswer)).source


async def busy_times(
    client: SlotbookClient, provider_id: str, start: float, end: float
) -> list[BusyTime]:
    """When the provider's calendars have them busy in [start, end), by start."""
    params = {"startTime": format_time(start), "endTime": format_time(end)}
    path = provider_path(provider_id, "busy")
    return (await client.call("GET", path, BusyTimes, params=params)).busy


async def conflicts(client: SlotbookClient, provider_id: str) -> list[Conflict]:
    """The provider's holds and bookings to come that a busy time of their calendars overlaps."""
    path = provider_path(provider_id, "conflicts")
    return (await client.call("GET", path, Conflicts)).conflicts


async def write_calendar(client: SlotbookClient, provider_id: str) -> WriteCalendar | None:
    """The calendar the provider's bookings are written to, and how writing goes; None: none."""
    try:
        path = provider_path(provider_id, "calendar-write")
        return (await client.call("GET", path, CalendarWriteAnswer)).calendar
    except NotFound as error:
        if error.slug == NO_WRITE_CALENDAR:
            return None
        raise


async def set_write_calendar(
    client: SlotbookClient, provider_id: str, request: CalendarWriteRequest
) -> WriteCalendar:
    """Have the provider's bookings written to this calendar (replacing the one before)."""
    path = provider_path(provider_id, "calendar-write")
    return (await client.call("PUT", path, CalendarWriteAnswer, body=request)).calendar


async def remove_write_calendar(client: SlotbookClient, provider_id: str) -> WriteCalendar:
    """Stop writing bookings to the calendar (what was written stays in it)."""
    path = provider_path(provider_id, "calendar-write")
    return (await client.call("DELETE", path, CalendarWriteAnswer)).calendar
