"""Reading a provider's calendar: an iCalendar URL (a conditional GET) or a CalDAV calendar
collection (a calendar-query REPORT over a time range), answering the iCalendar documents found,
unparsed. Every failure is a `FetchFailed` whose message says what went wrong in words.

Plain aiohttp requests rather than the `caldav` library: reading needs one REPORT and writing one
PUT or DELETE, while the library brings its own HTTP clients (niquests, or httpx for its async
API), whose connections would not go through the outbound guard's resolver, the answer size limit
or the failure words here; and it would add its XML and HTTP stacks as dependencies of the server.

Pass a session from `calendar_session` (backend/live/busy/calendar_http.py): its connections go
only where the outbound guard allows, and its requests end after TIMEOUT_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from backend.live.busy.caldav_xml import calendar_data, calendar_query
from backend.live.busy.calendar_http import (
    FetchFailed,
    content_type,
    exchange,
    read_within,
    status_failure,
)

__all__ = ["FetchFailed", "Fetched", "fetch_caldav", "fetch_ics"]

ICS_ACCEPT = "text/calendar, */*;q=0.1"
XML_TYPES = frozenset({"application/xml", "text/xml"})


@dataclass(frozen=True)
class Fetched:
    calendars: list[bytes] | None
    """Each iCalendar document read (an iCalendar URL's one, or a CalDAV collection's event
    resources); None when the calendar was not modified since the ETag or date given."""
    etag: str | None
    """The answer's ETag, to send back as If-None-Match next time (iCalendar URLs)."""
    last_modified: str | None
    """The answer's Last-Modified, to send back as If-Modified-Since next time."""


def is_calendar(body: bytes, media_type: str) -> bool:
    """Whether an answer is meant as iCalendar: served as text/calendar, or (as some servers
    serve it, text/plain or application/octet-stream) beginning as one."""
    opening = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:15]
    return media_type == "text/calendar" or opening.upper() == b"BEGIN:VCALENDAR"


async def fetch_ics(
    session: aiohttp.ClientSession,
    url: str,
    *,
    username: str | None,
    password: str | None,
    etag: str | None,
    last_modified: str | None,
) -> Fetched:
    """An iCalendar URL's document, asked for only if it changed since `etag` / `last_modified`
    (the values a previous Fetched gave): a 304 answers Fetched(calendars=None) with them."""
    headers = {"Accept": ICS_ACCEPT}
    if etag is not None:
        headers["If-None-Match"] = etag
    if last_modified is not None:
        headers["If-Modified-Since"] = last_modified
    async with exchange(
        session, "GET", url, username=username, password=password, headers=headers
    ) as response:
        if response.status == 304:
            return Fetched(
                None,
                response.headers.get("ETag", etag),
                response.headers.get("Last-Modified", last_modified),
            )
        if not 200 <= response.status < 300:
            raise status_failure(response.status, action="read", credentials=username is not None)
        body = await read_within(response)
        if not is_calendar(body, response.content_type):
            raise FetchFailed(f"the answer was not a calendar ({content_type(response)})")
        return Fetched([body], response.headers.get("ETag"), response.headers.get("Last-Modified"))


async def fetch_caldav(
    session: aiohttp.ClientSession,
    url: str,
    *,
    username: str | None,
    password: str | None,
    start: int,
    end: int,
) -> Fetched:
    """Every event resource of a CalDAV calendar collection with an instance in [start, end)
    (epoch seconds), each its whole iCalendar document (a recurring event with all its rules,
    exceptions and overrides, whose instances the caller expands)."""
    headers = {
        "Depth": "1",
        "Content-Type": "application/xml; charset=utf-8",
        "Accept": "application/xml, text/xml",
    }
    async with exchange(
        session,
        "REPORT",
        url,
        username=username,
        password=password,
        headers=headers,
        data=calendar_query(start, end),
    ) as response:
        if response.status not in (200, 207):
            raise status_failure(response.status, action="read", credentials=username is not None)
        if response.content_type not in XML_TYPES:
            raise FetchFailed(f"the answer was not a calendar ({content_type(response)})")
        answer = await read_within(response)
    return Fetched(calendar_data(answer), None, None)
