"""A provider's busy times on the wire (GET /providers/{providerId}/busy): when their own
calendars have them busy in a range, one interval per event and calendar, for a program (the
terminal app's week) to draw."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from shared.busy_wire import BusySourceId, SourceName
from shared.wire import EndTime, RequestTime, ResponseTime, _Answer, _Body


class BusyQuery(_Body):
    """GET /providers/{providerId}/busy: the busy times that overlap [startTime, endTime)."""

    start_time: RequestTime
    end_time: EndTime


class BusyTime(_Answer):
    """A time one of the provider's calendars has them busy, cut to the range asked for."""

    start_time: ResponseTime
    end_time: ResponseTime
    source_id: BusySourceId
    source_name: Annotated[
        SourceName, Meta(description="The calendar's name, as the provider gave it.")
    ]


class BusyTimes(_Answer):
    """Answer to GET /providers/{providerId}/busy: by start, then calendar. Two calendars busy
    at once give two intervals; one calendar's intervals never touch."""

    busy: list[BusyTime]
