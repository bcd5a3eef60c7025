"""Who can be booked, and a provider's whole calendar."""

from __future__ import annotations

import re

from aiohttp import web

from backend.api.context import context
from backend.api.operation import Operation, answer, parse_times, read_query
from backend.api.presenters import present_slot, shown_clients, shown_services
from backend.gate.access import caller_of, may_see_calendar
from backend.gate.problems import invalid
from shared.patterns import ID_PATTERN, ID_RULE
from shared.timefmt import format_time
from shared.wire import (
    FieldError,
    PartyId,
    Provider,
    Providers,
    ProviderSlots,
    RangeQuery,
)

_PARTY_ID = re.compile(ID_PATTERN)


def provider_id_from_path(request: web.Request) -> str:
    provider_id = request.match_info["providerId"]
    if len(provider_id) > 128 or not _PARTY_ID.match(provider_id):
        raise invalid([FieldError(field="providerId", message=f"must be 1-128 {ID_RULE}")])
    return provider_id


async def list_providers(request: web.Request) -> web.Response:
    ctx = context(request)
    summaries = await ctx.store.providers(ctx.now())
    return answer(
        Providers(
            providers=[
                Provider(
                    provider_id=p.provider_id,
                    name=p.name,
                    next_available=None
                    if p.next_available is None
                    else format_time(p.next_available),
                )
                for p in summaries
            ]
        )
    )


async def provider_slots(request: web.Request) -> web.Response:
    ctx = context(request)
    provider_id = provider_id_from_path(request)
    may_see_calendar(caller_of(request), provider_id)
    query = read_query(request, RangeQuery)
    times = parse_times(startTime=query.start_time, endTime=query.end_time)
    ctx.rules.check_range(times["startTime"], times["endTime"])
    now = ctx.now()
    rows = await ctx.store.provider_slots(provider_id, times["startTime"], times["endTime"])
    names = await ctx.store.client_names(shown_clients(rows, now))  # one lookup for the page
    types = await ctx.store.service_names(shown_services(rows))
    return answer(
        ProviderSlots(
            time_slots=[
                present_slot(s, now, with_client=True, client_names=names, service_names=types)
                for s in rows
            ]
        )
    )


OPERATIONS = [
    Operation(
        "GET",
        "/providers",
        list_providers,
        summary="Providers who can be booked, each with its next open slot",
        tag="providers",
        answers={200: (Providers, "Every provider")},
    ),
    Operation(
        "GET",
        "/providers/{providerId}/slots",
        provider_slots,
        summary="Every slot of one provider in a range, whatever its status",
        tag="providers",
        query=RangeQuery,
        path_params={"providerId": PartyId},
        answers={200: (ProviderSlots, "The provider's slots, by time")},
        problems={
            403: "Only the provider itself (or an admin) sees its calendar",
            422: "End not after start, a range too long, or a time outside the years 1970 to 9998",
        },
    ),
]
