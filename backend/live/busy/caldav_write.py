"""Writing one event into a provider's CalDAV calendar collection, and deleting it, each guarded by
the event's ETag (RFC 4791, section 5.3.4): a new event is put only where none of its name is
(`If-None-Match: *`), a change or a delete only if the event is still as it was last written
(`If-Match`). An event changed in the calendar meanwhile is a `WriteConflict` (412), not
overwritten; any other failure a `FetchFailed` in words.

The event's resource is `<collection>/<uid>.ics`. Pass a session from `calendar_session`
(backend/live/busy/calendar_http.py).
"""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
from yarl import URL

from backend.live.busy.calendar_http import (
    FetchFailed,
    WriteConflict,
    exchange,
    status_failure,
)

__all__ = [
    "FetchFailed",
    "WriteConflict",
    "current_etag",
    "delete_event",
    "event_url",
    "put_event",
]


def event_url(collection_url: str, uid: str) -> URL:
    """The URL of the event resource named for `uid` in a calendar collection."""
    base = collection_url if collection_url.endswith("/") else f"{collection_url}/"
    return URL(f"{base}{quote(uid, safe='@')}.ics", encoded=True)


async def put_event(
    session: aiohttp.ClientSession,
    collection_url: str,
    uid: str,
    ics: bytes,
    *,
    username: str | None,
    password: str | None,
    etag: str | None,
) -> str:
    """Put the event into the collection: new when `etag` is None, else replacing the version of
    that ETag. Answers the event's new ETag (asked for with a GET when the PUT's answer has none,
    as a server that changed what it stored answers)."""
    target = event_url(collection_url, uid)
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    if etag is None:
        headers["If-None-Match"] = "*"
    else:
        headers["If-Match"] = etag
    async with exchange(
        session, "PUT", target, username=username, password=password, headers=headers, data=ics
    ) as response:
        if response.status == 412:
            raise WriteConflict(
                "an event with this UID is already in the calendar (412)"
                if etag is None
                else "the event was changed in the calendar meanwhile (412)"
            )
        if not 200 <= response.status < 300:
            raise status_failure(response.status, action="store", credentials=username is not None)
        given = response.headers.get("ETag")
    if given:
        return given
    stored = await current_etag(session, target, username=username, password=password)
    if stored is None:
        raise FetchFailed("the calendar took the event but does not hold it")
    return stored


async def current_etag(
    session: aiohttp.ClientSession, target: URL, *, username: str | None, password: str | None
) -> str | None:
    """The ETag of the event as the calendar holds it now; None when it holds no such event."""
    async with exchange(session, "GET", target, username=username, password=password) as response:
        if response.status in (404, 410):
            return None
        if not 200 <= response.status < 300:
            raise status_failure(response.status, action="read", credentials=username is not None)
        etag = response.headers.get("ETag")
    if not etag:
        raise FetchFailed("the calendar stored the event but gives it no ETag")
    return etag


async def delete_event(
    session: aiohttp.ClientSession,
    collection_url: str,
    uid: str,
    *,
    username: str | None,
    password: str | None,
    etag: str | None,
) -> None:
    """Delete the event from the collection, only if it is still the version of `etag` (any
    version when None). An event already gone is fine."""
    headers = {} if etag is None else {"If-Match": etag}
    async with exchange(
        session,
        "DELETE",
        event_url(collection_url, uid),
        username=username,
        password=password,
        headers=headers,
    ) as response:
        if response.status == 412:
            raise WriteConflict("the event was changed in the calendar meanwhile (412)")
        if response.status in (404, 410) or 200 <= response.status < 300:
            return
        raise status_failure(response.status, action="delete", credentials=username is not None)
