"""`GET /providers/{providerId}/busy`: when the provider's own calendars have them busy in a
range, for a program that draws their week. The store keeps busy times in pieces of at most an
hour (backend/store/busy_records.py); here they are one interval again per calendar and event."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from backend.api.context import context
from backend.api.operation import Operation, answer, parse_times, read_query
from backend.api.providers import provider_id_from_path
from backend.gate.access import caller_of, may_keep_calendars
from backend.store.busy_records import StoredBusy
from shared.busy_time_wire import BusyQuery, BusyTime, BusyTimes
from shared.timefmt import format_time
from shared.wire import PartyId


def joined(pieces: Iterable[StoredBusy], start: float, end: float) -> list[StoredBusy]:
    """The pieces of each calendar that touch or overlap made one interval again, cut to
    [start, end), by start and then calendar."""
    last: dict[str, StoredBusy] = {}
    whole: list[StoredBusy] = []
    for piece in sorted(pieces, key=lambda p: (p.source_id, p.start)):
        before = last.get(piece.source_id)
        if before is not None and piece.start <= before.ends:
            last[piece.source_id] = StoredBusy(
                piece.source_id, before.start, max(before.ends, piece.ends)
            )
            continue
        if before is not None:
            whole.append(before)
        last[piece.source_id] = piece
    whole += last.values()
    cut = [
        StoredBusy(b.source_id, max(b.start, int(start)), min(b.ends, int(end)))
        for b in whole
        if b.start < end and b.ends > start
    ]
    return sorted(cut, key=lambda b: (b.start, b.ends, b.source_id))


async def list_busy_times(request: web.Request) -> web.Response:
    ctx = context(request)
    provider_id = provider_id_from_path(request)
    may_keep_calendars(caller_of(request), provider_id)
    query = read_query(request, BusyQuery)
    times = parse_times(startTime=query.start_time, endTime=query.end_time)
    start, end = times["startTime"], times["endTime"]
    ctx.rules.check_range(start, end)
    pieces = await ctx.store.busy_intervals(provider_id, start, end)
    names = {s.source_id: s.name for s in await ctx.store.busy_sources(provider_id)}
    return answer(
        BusyTimes(
            busy=[
                BusyTime(
                    start_time=format_time(b.start),
                    end_time=format_time(b.ends),
                    source_id=b.source_id,
                    source_name=names[b.source_id],
                )
                for b in joined(pieces, start, end)
                if b.source_id in names  # a calendar removed between the two reads
            ]
        )
    )


OPERATIONS = [
    Operation(
        "GET",
        "/providers/{providerId}/busy",
        list_busy_times,
        summary="When the provider's own calendars have them busy in a range",
        tag="busy-sources",
        description="One interval per calendar and event (an event is stored in pieces: they"
        " come back whole), cut to the range, by start. The times every listing keeps closed;"
        " holds and bookings they overlap are the provider's conflicts. The provider or an"
        " admin.",
        query=BusyQuery,
        path_params={"providerId": PartyId},
        answers={200: (BusyTimes, "The busy times in the range (none when there are none)")},
        problems={
            403: "Another provider's, or a client's",
            422: "End not after start, a range too long, or a time outside the years 1970 to 9998",
        },
    ),
]
