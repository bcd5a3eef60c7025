"""The XML of a CalDAV calendar-query (RFC 4791, section 7.8): the REPORT body that asks for every
event overlapping a time range with its calendar data, and the multistatus answer read back into
each event resource's iCalendar document.

The answer is read with the standard library's ElementTree over expat, which (2.4.1 and later)
refuses the entity expansions of a "billion laughs" and never loads external entities; the answer
reaching it is already cut at the size limit.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from backend.live.busy.calendar_http import FetchFailed

DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"

QUERY = """\
<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop>
    <D:getetag/>
    <C:calendar-data/>
  </D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VEVENT">
        <C:time-range start="{start}" end="{end}"/>
      </C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>
"""
"""Events overlapping [start, end), each whole (every instance and override of a recurring one:
no `expand`, which would leave the expansion to the server)."""


def utc_stamp(epoch: int) -> str:
    """An instant as a CalDAV time-range bound: UTC, `YYYYMMDDTHHMMSSZ`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_query(start: int, end: int) -> bytes:
    """The REPORT body asking for the events that overlap [start, end), in epoch seconds."""
    return QUERY.format(start=utc_stamp(start), end=utc_stamp(end)).encode()


def succeeded(status_line: str | None) -> bool:
    """Whether a multistatus `status` ("HTTP/1.1 200 OK") says 2xx."""
    parts = (status_line or "").split()
    return len(parts) >= 2 and parts[1].startswith("2")


def calendar_data(answer: bytes) -> list[bytes]:
    """Each event resource's iCalendar document in a calendar-query's multistatus answer (a
    resource the server says is gone meanwhile left out); FetchFailed when the answer is not such
    a list or leaves out the data of an event it lists."""
    try:
        root = ET.fromstring(answer)  # noqa: S314 - expat refuses entity expansion attacks
    except ET.ParseError as error:
        raise FetchFailed(f"the calendar's answer could not be read as XML: {error}") from None
    if root.tag != f"{DAV}multistatus":
        raise FetchFailed("the calendar's answer was not a CalDAV list of events")
    found: list[bytes] = []
    missing = 0
    for response in root.iterfind(f"{DAV}response"):
        status = response.findtext(f"{DAV}status")
        if status is not None and not succeeded(status):
            continue
        data = next(
            (
                text
                for propstat in response.iterfind(f"{DAV}propstat")
                if succeeded(propstat.findtext(f"{DAV}status"))
                for text in [propstat.findtext(f"{DAV}prop/{CALDAV}calendar-data")]
                if text
            ),
            None,
        )
        if data is None:
            missing += 1
        else:
            found.append(data.encode())
    if missing:
        events = "an event without its" if missing == 1 else f"{missing} events without their"
        raise FetchFailed(f"the calendar listed {events} data")
    return found
