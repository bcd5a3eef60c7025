"""A provider's own calendars over HTTP: the sources their busy times are read from, added,
listed, changed and removed (/providers/{providerId}/busy-sources), by that provider or an admin.
Reading them is the refresher's work, in the background; a request may ask for one to be read
now (POST .../{sourceId}/refresh), which waits for that read and answers how it went.

A password is sealed with the server's --secret-key before it is stored and never answered: no
answer, problem document or log line carries it."""

from __future__ import annotations

import re
import secrets
from typing import cast

import msgspec
from aiohttp import web
from msgspec import UNSET

from backend.api.calendar_access import allowed_url, check_username, sealed_password
from backend.api.context import AppContext, context
from backend.api.idempotency import perform
from backend.api.operation import Operation, answer, answered, read_body
from backend.api.providers import provider_id_from_path
from backend.gate.access import caller_of, may_keep_calendars
from backend.gate.problems import ProblemError, shown
from backend.live.busy.refresher import StillRefreshing
from backend.store.base import Answer, Once
from backend.store.busy_presenters import present_source
from backend.store.busy_records import BusySource as StoredSource
from backend.store.busy_records import BusySourceNotFound
from shared.busy_wire import (
    ALL_DAY_EVENTS,
    KINDS,
    REFRESH_MINUTES,
    AllDayEvents,
    BusyRefreshRequest,
    BusySourceAnswer,
    BusySourceId,
    BusySourceList,
    BusySourcePatch,
    BusySourceRequest,
    SourceKind,
)
from shared.wire import FieldError, PartyId

MAX_SOURCES = 10
"""The most calendars one provider may have."""

_SOURCE_ID = re.compile(r"[0-9a-f]{16}")
_WIRE_NAMES = {"refresh_minutes": "refreshMinutes", "all_day_events": "allDayEvents"}


def _source_id_from_path(request: web.Request) -> str:
    source_id = request.match_info["sourceId"]
    if not _SOURCE_ID.fullmatch(source_id):
        raise BusySourceNotFound(
            f"No calendar has id '{shown(source_id)}'; ids are the 16 lowercase hex digits that"
            " GET /providers/{providerId}/busy-sources gives"
        )
    return source_id


async def _yours(ctx: AppContext, provider_id: str, source_id: str) -> StoredSource:
    """The provider's source with this id, or the 404 that says there is none."""
    found = await ctx.store.find_busy_source(source_id)
    if found is None or found.provider_id != provider_id:
        raise BusySourceNotFound.of(source_id)
    return found


async def _checked(
    ctx: AppContext, given: dict[str, object], before: StoredSource | None
) -> dict[str, object]:
    """The store's columns for the fields a request gives (a password sealed), once every rule
    holds for them and for the source they make; else one 422 naming each field that breaks
    one, before anything is written."""
    columns = dict(given)
    wrong: list[FieldError] = []

    def refuse(field: str, message: str) -> None:
        wrong.append(FieldError(field=_WIRE_NAMES.get(field, field), message=message))

    if "kind" in given and given["kind"] not in KINDS:
        refuse("kind", "must be one of " + ", ".join(f"'{k}'" for k in KINDS))
    fewest, most = REFRESH_MINUTES
    if "refresh_minutes" in given and not fewest <= cast(int, given["refresh_minutes"]) <= most:
        refuse("refresh_minutes", f"must be a whole number from {fewest} to {most}")
    if "all_day_events" in given and given["all_day_events"] not in ALL_DAY_EVENTS:
        refuse("all_day_events", "must be one of " + ", ".join(f"'{a}'" for a in ALL_DAY_EVENTS))
    username = given.get("username", None if before is None else before.username)
    check_username(username if isinstance(username, str) else None, refuse)
    password = columns.pop("password", UNSET)
    if isinstance(password, str):
        sealed = sealed_password(ctx, password, refuse)
        if sealed is not None:
            columns["password_sealed"] = sealed
    elif password is None:
        columns["password_sealed"] = None
    has_password = isinstance(password, str) or (
        password is UNSET and before is not None and before.password_sealed is not None
    )
    if has_password and username is None:
        refuse("username", "is required with a password")
    if "url" in given:
        columns["url"] = await allowed_url(ctx, _https_for_webcal(cast(str, given["url"])), refuse)
    if wrong:
        raise ProblemError(
            "rule-violation", "; ".join(f"{e.field}: {e.message}" for e in wrong), errors=wrong
        )
    return columns


_WEBCAL = re.compile(r"webcals?://", re.IGNORECASE)


def _https_for_webcal(url: str) -> str:
    """A webcal:// address (what calendars' "subscribe" links give) as the https one it names:
    webcal is HTTP under another scheme name, and the calendars that hand it out serve https."""
    prefix = _WEBCAL.match(url)
    return url if prefix is None else "https://" + url[prefix.end() :]


def _given(body: msgspec.Struct) -> dict[str, object]:
    return {
        name: value for name, value in msgspec.structs.asdict(body).items() if value is not UNSET
    }


async def create_busy_source(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    provider_id = provider_id_from_path(request)
    may_keep_calendars(caller, provider_id)
    body = await read_body(request, BusySourceRequest)
    columns = await _checked(ctx, _given(body), None)
    now = ctx.now()
    source = StoredSource(
        source_id=secrets.token_hex(8),
        provider_id=provider_id,
        name=body.name,
        kind=cast(SourceKind, body.kind),
        url=cast(str, columns["url"]),
        username=None if body.username is UNSET else body.username,
        password_sealed=cast(str | None, columns.get("password_sealed")),
        refresh_minutes=body.refresh_minutes,
        all_day_events=cast(AllDayEvents, body.all_day_events),
        created_at=now,
        updated_at=now,
        due_at=now,  # read at once
    )

    def render(made: StoredSource) -> Answer:
        return answered(BusySourceAnswer(source=present_source(made, now)), 201)

    async def create(once: Once | None) -> StoredSource:
        made = await ctx.store.create_busy_source(source, most=MAX_SOURCES, once=once)
        ctx.busy.wake()  # read at once, not at the refresher's next look
        return made

    return await perform(request, caller, render, create)


async def list_busy_sources(request: web.Request) -> web.Response:
    ctx = context(request)
    provider_id = provider_id_from_path(request)
    may_keep_calendars(caller_of(request), provider_id)
    found = await ctx.store.busy_sources(provider_id)
    now = ctx.now()
    return answer(BusySourceList(sources=[present_source(s, now) for s in found]))


async def get_busy_source(request: web.Request) -> web.Response:
    ctx = context(request)
    provider_id = provider_id_from_path(request)
    may_keep_calendars(caller_of(request), provider_id)
    found = await _yours(ctx, provider_id, _source_id_from_path(request))
    return answer(BusySourceAnswer(source=present_source(found, ctx.now())))


async def update_busy_source(request: web.Request) -> web.Response:
    ctx = context(request)
    provider_id = provider_id_from_path(request)
    may_keep_calendars(caller_of(request), provider_id)
    source_id = _source_id_from_path(request)
    body = await read_body(request, BusySourcePatch)
    found = await _yours(ctx, provider_id, source_id)
    columns = await _checked(ctx, _given(body), found)
    now = ctx.now()
    changed = await ctx.store.update_busy_source(source_id, columns, now)
    if changed is None:  # removed meanwhile
        raise BusySourceNotFound.of(source_id)
    if changed.due_at <= now:
        ctx.busy.wake()  # what a refresh reads changed: read again at once
    return answer(BusySourceAnswer(source=present_source(changed, now)))


async def remove_busy_source(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    provider_id = provider_id_from_path(request)
    may_keep_calendars(caller, provider_id)
    source_id = _source_id_from_path(request)
    now = ctx.now()

    def render(gone: StoredSource) -> Answer:
        return answered(BusySourceAnswer(source=present_source(gone, now)))

    async def remove(once: Once | None) -> StoredSource:
        gone = await ctx.store.delete_busy_source(
            source_id, now, provider_id=provider_id, once=once
        )
        ctx.forget_listings(provider_id)  # its busy times close nothing from now on
        return gone

    return await perform(request, caller, render, remove)


async def refresh_busy_source(request: web.Request) -> web.Response:
    ctx = context(request)
    provider_id = provider_id_from_path(request)
    may_keep_calendars(caller_of(request), provider_id)
    source_id = _source_id_from_path(request)
    await read_body(request, BusyRefreshRequest, required=False)
    await _yours(ctx, provider_id, source_id)
    try:
        refreshed = await ctx.busy.refresh_now(source_id)
    except StillRefreshing:
        raise ProblemError(
            "busy-source-refreshing",
            f"Calendar {source_id} has been being read for a while and is not done yet; GET it"
            " in a minute to see how its refresh went",
            headers={"Retry-After": "30"},
        ) from None
    if refreshed is None:  # removed meanwhile
        raise BusySourceNotFound.of(source_id)
    return answer(BusySourceAnswer(source=present_source(refreshed, ctx.now())))


_SOURCES = "/providers/{providerId}/busy-sources"
_SOURCE = _SOURCES + "/{sourceId}"
_REFRESH = _SOURCE + "/refresh"
_KEEP = "Only the provider itself (or an admin) sees and changes its calendars"
_NOT_FOUND = "No calendar of this provider's has this id"
_RULES = (
    "`kind` or `allDayEvents` not one of theirs, `refreshMinutes` not 5-1440, a password on a"
    " server without --secret-key or without a user name, a user name with ':', or a URL that"
    " is not http(s) of a host or whose host is or resolves to an address the server does not"
    " connect to (loopback and private ones without --allow-private-addresses; link-local and"
    " other special-purpose ones never)"
)
_SOURCE_PARAMS = {"providerId": PartyId, "sourceId": BusySourceId}

OPERATIONS = [
    Operation(
        "POST",
        _SOURCES,
        create_busy_source,
        summary="Add a calendar whose busy times close the provider's slots",
        tag="busy-sources",
        description="An `ics` address (an iCalendar file, such as a calendar's secret address"
        " in iCal format) or a `caldav` calendar collection. It is read at once, then every"
        " `refreshMinutes`, in the background: its busy times close the open slots they"
        " overlap; holds and bookings already made stay. `status` says how reading it goes."
        f" A provider may have {MAX_SOURCES} calendars.",
        body=BusySourceRequest,
        path_params={"providerId": PartyId},
        answers={201: (BusySourceAnswer, "The calendar, to be read at once")},
        problems={
            403: _KEEP,
            409: f"The provider already has {MAX_SOURCES} calendars",
            422: _RULES,
        },
    ),
    Operation(
        "GET",
        _SOURCES,
        list_busy_sources,
        summary="The calendars a provider's busy times come from, oldest first, and how each"
        " one's refreshes go",
        tag="busy-sources",
        path_params={"providerId": PartyId},
        answers={200: (BusySourceList, "The provider's calendars (none when it has none)")},
        problems={403: _KEEP},
    ),
    Operation(
        "GET",
        _SOURCE,
        get_busy_source,
        summary="One of a provider's calendars, and how its refreshes go",
        tag="busy-sources",
        path_params=_SOURCE_PARAMS,
        answers={200: (BusySourceAnswer, "The calendar")},
        problems={403: _KEEP, 404: _NOT_FOUND},
    ),
    Operation(
        "PATCH",
        _SOURCE,
        update_busy_source,
        summary="Change one of a provider's calendars",
        tag="busy-sources",
        description="Any field; `username: null` or `password: null` removes it. A new `kind`,"
        " `url`, user name, password or `allDayEvents` has the calendar read again at once;"
        " the busy times it gave stay in force until then.",
        body=BusySourcePatch,
        path_params=_SOURCE_PARAMS,
        answers={200: (BusySourceAnswer, "The calendar as it now is")},
        problems={403: _KEEP, 404: _NOT_FOUND, 422: _RULES},
    ),
    Operation(
        "POST",
        _REFRESH,
        refresh_busy_source,
        summary="Read one of a provider's calendars now, and answer how it went",
        tag="busy-sources",
        description="Reads the calendar at once, whether its refresh is due or not, and answers"
        " it with the new `status`. A read that fails is still a 200: `status.lastError` says"
        " why, and the busy times it last gave stay in force. When the calendar is being read"
        " already (by the background refresh, here or in another process), the answer waits"
        " for that read and gives its outcome.",
        body=BusyRefreshRequest,
        body_required=False,
        path_params=_SOURCE_PARAMS,
        answers={200: (BusySourceAnswer, "The calendar, just read")},
        problems={
            403: _KEEP,
            404: _NOT_FOUND,
            409: "A read already under way has not finished after 40 s",
        },
    ),
    Operation(
        "DELETE",
        _SOURCE,
        remove_busy_source,
        summary="Remove one of a provider's calendars: its busy times close nothing from now on",
        tag="busy-sources",
        path_params=_SOURCE_PARAMS,
        answers={200: (BusySourceAnswer, "The calendar, removed")},
        problems={403: _KEEP, 404: _NOT_FOUND},
    ),
]
