"""The waitlist over HTTP: a client's place in a provider's line for a window of time, joined,
listed, read and left. What is asked is checked here; the store keeps the line and hands time
freed in a waiting entry's window to it as an offer, an ordinary hold of the client's
(backend/store/waitlist_records.py)."""

from __future__ import annotations

import math
import re

from aiohttp import web

from backend.api.context import AppContext, context
from backend.api.idempotency import perform
from backend.api.operation import (
    Operation,
    answer,
    answered,
    none_if_unset,
    parse_times,
    read_body,
    read_query,
)
from backend.gate.access import (
    Caller,
    caller_of,
    ids_required,
    joining_waitlist,
    sees_client,
    waitlist_scope,
)
from backend.gate.problems import shown
from backend.rules.booking import FieldProblem, Rules, RuleViolation
from backend.rules.service_types import ServiceNotFound, ServiceType, offered_by
from backend.store.base import Answer, new_slot_id
from backend.store.waitlist_records import (
    NewEntry,
    StoredEntry,
    WaitlistEntryNotFound,
    WaitlistFilter,
)
from shared.grid import describe_length
from shared.timefmt import format_time
from shared.waitlist_wire import (
    WaitlistEntries,
    WaitlistEntry,
    WaitlistEntryAnswer,
    WaitlistOffer,
    WaitlistQuery,
    WaitlistRequest,
)
from shared.wire import WaitlistId

_WAITLIST_ID = re.compile(r"[0-9a-f]{32}")


def present_entry(entry: StoredEntry) -> WaitlistEntry:
    """A stored entry as the wire shows it: its offer only once it was given one."""
    shown_entry = WaitlistEntry(
        waitlist_id=entry.waitlist_id,
        provider_id=entry.provider_id,
        from_=format_time(entry.window_start),
        to=format_time(entry.window_end),
        minutes=entry.minutes,
        client_id=entry.client_id,
        joined_at=format_time(entry.joined_at),
        status=entry.status,
        position=entry.position,
    )
    if entry.client_name is not None:
        shown_entry.client_name = entry.client_name
    if entry.service_id is not None:
        shown_entry.service_id = entry.service_id
        if entry.service_name is not None:
            shown_entry.service_name = entry.service_name
    if entry.appointment_id is not None:
        assert entry.offer_start is not None, entry
        assert entry.offer_until is not None, entry
        shown_entry.offer = WaitlistOffer(
            time_slot_id=entry.appointment_id,
            timestamp=format_time(entry.offer_start),
            expires_at=format_time(entry.offer_until),
        )
    return shown_entry


def not_found(waitlist_id: str) -> WaitlistEntryNotFound:
    return WaitlistEntryNotFound(
        f"No waitlist entry has id '{shown(waitlist_id)}'; GET /waitlist lists yours"
    )


def waitlist_id_from_path(request: web.Request) -> str:
    """The {waitlistId} of the path; one that cannot exist is simply not found."""
    waitlist_id = request.match_info["waitlistId"]
    if not _WAITLIST_ID.fullmatch(waitlist_id):
        raise not_found(waitlist_id)
    return waitlist_id


async def visible_entry(ctx: AppContext, caller: Caller, waitlist_id: str) -> StoredEntry | None:
    """The entry, if there is one and the caller may see it (its client, its provider, an
    admin); one the caller may not see is refused as not found, so that it tells nothing."""
    found = await ctx.store.find_waitlist_entry(waitlist_id, ctx.now())
    if found is not None and not sees_client(caller, found.provider_id, found.client_id):
        raise not_found(waitlist_id)
    return found


async def provider_type(ctx: AppContext, service_id: str, provider_id: str) -> ServiceType:
    """The appointment type a place in line is for: one the provider offers now."""
    found = await ctx.store.find_service(service_id)
    if found is None or found.provider_id != provider_id:
        raise ServiceNotFound(
            f"Provider {provider_id} offers no appointment type with id {service_id};"
            f" GET /providers/{provider_id}/services lists theirs"
        )
    return offered_by(found, service_id, provider_id)


def window_problem(
    rules: Rules, start: float, end: float, length: int, notice: float, now: float
) -> FieldProblem | None:
    """What is wrong with a window to wait in, for an appointment of `length` seconds that needs
    `notice` seconds' notice; None when some start in it could still be booked."""
    if end <= start:
        return FieldProblem("to", "must be after from")
    if end <= now + notice:
        ahead = f"at least {describe_length(notice)} ahead" if notice > 0 else "after now"
        return FieldProblem(
            "to",
            f"is past: nothing in the window could be booked any more (a start must be {ahead})",
        )
    if end - start > rules.max_window_seconds:
        longest = describe_length(rules.max_window_seconds)
        return FieldProblem(
            "to", f"is more than {longest} after from: longer than the booking window"
        )
    if end - start < length:
        return FieldProblem(
            "to",
            f"is less than {describe_length(length)} after from: an appointment that long does"
            " not fit in the window",
        )
    return None


async def join_waitlist(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    body = await read_body(request, WaitlistRequest, also_required=ids_required(caller, "clientId"))
    client_id = joining_waitlist(caller, body.client_id)
    times = parse_times(**{"from": body.from_, "to": body.to})
    minutes, service_id = none_if_unset(body.minutes), none_if_unset(body.service_id)
    now = ctx.now()
    length, notice = ctx.rules.slot_seconds, ctx.rules.notice_seconds
    if minutes is not None and service_id is not None:
        both = FieldProblem("minutes", "is not taken with serviceId: the type says how long")
        raise RuleViolation(f"minutes {both.message}", [both])
    if minutes is not None:
        length = ctx.rules.appointment_seconds(minutes) or length
    if service_id is not None:
        service = await provider_type(ctx, service_id, body.provider_id)
        length, notice = service.minutes * 60, service.notice_minutes * 60
    problem = window_problem(ctx.rules, times["from"], times["to"], length, notice, now)
    if problem is not None:
        raise RuleViolation(f"{problem.field} {problem.message}", [problem])
    entry = NewEntry(
        waitlist_id=new_slot_id(now),
        provider_id=body.provider_id,
        client_id=client_id,
        window_start=math.ceil(times["from"]),
        window_end=math.floor(times["to"]),
        minutes=length // 60,
        service_id=service_id,
    )

    def render(joined: StoredEntry) -> Answer:
        return answered(WaitlistEntryAnswer(entry=present_entry(joined)), 201)

    return await perform(
        request, caller, render, lambda once: ctx.store.join_waitlist(entry, now, once=once)
    )


async def list_waitlist(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    query = read_query(request, WaitlistQuery)
    client_id, provider_id = waitlist_scope(caller, query.client_id, query.provider_id)
    wanted = WaitlistFilter(client_id, provider_id, none_if_unset(query.status))
    found = await ctx.store.waitlist(wanted, ctx.now())
    return answer(WaitlistEntries(entries=[present_entry(entry) for entry in found]))


async def get_waitlist_entry(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    waitlist_id = waitlist_id_from_path(request)
    found = await visible_entry(ctx, caller, waitlist_id)
    if found is None:
        raise not_found(waitlist_id)
    return answer(WaitlistEntryAnswer(entry=present_entry(found)))


async def leave_waitlist(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    waitlist_id = waitlist_id_from_path(request)
    # An entry the caller may not see is refused here; one that is gone already is the store's
    # to refuse (or, for a retry with the same Idempotency-Key, to answer as it did).
    await visible_entry(ctx, caller, waitlist_id)
    now = ctx.now()

    def render(left: StoredEntry) -> Answer:
        return answered(WaitlistEntryAnswer(entry=present_entry(left)))

    return await perform(
        request,
        caller,
        render,
        lambda once: ctx.store.leave_waitlist(waitlist_id, now, once=once),
    )


OPERATIONS = [
    Operation(
        "POST",
        "/waitlist",
        join_waitlist,
        summary="Wait in a provider's line for any start in a window where an appointment of"
        " this length (or type) fits",
        tag="waitlist",
        body=WaitlistRequest,
        answers={
            201: (
                WaitlistEntryAnswer,
                "The client's place in line (offered a hold at once when the window has a free"
                " start already)",
            )
        },
        problems={
            403: "A client token naming another client, or a provider token (providers wait in"
            " no line)",
            404: "No such provider, or the provider offers no appointment type with this serviceId",
            409: "The client already waits on the most entries allowed (--max-waitlist), or the"
            " type is archived",
            422: "to not after from, a window that has passed (to within the notice period),"
            " longer than the booking window or shorter than the appointment, minutes not a"
            " whole number of slots or longer than the longest appointment, minutes sent with"
            " serviceId, or no clientId from a caller who is no client",
        },
        description="`clientId` may be left out with a client token: it is the token's; an"
        " admin names the client. Without `minutes` or `serviceId` the appointment is one slot."
        " Time that frees up in the window (a cancel, a lapse, a move away, new availability, a"
        " busy time that went away) goes to the first entry in line that fits, as an offer: a"
        " hold of the client's, confirmed, released or moved as any hold, that lapses after the"
        " server's offer time (GET /rules, `offerMinutes`). It arrives as the `reserved` change"
        " that names the entry (`waitlistId`), and as an e-mail to a client with an address.",
    ),
    Operation(
        "GET",
        "/waitlist",
        list_waitlist,
        summary="Waitlist entries, oldest place first: a client's own, those in a provider's"
        " line, or (an admin) all",
        tag="waitlist",
        query=WaitlistQuery,
        answers={200: (WaitlistEntries, "The entries (none when there are none)")},
        problems={403: "A clientId or providerId naming someone other than the token's own"},
        description="A client sees its own entries, a provider those in its line (with the"
        " clients' names), an admin everyone's; `clientId`, `providerId` and `status` narrow"
        " the list.",
    ),
    Operation(
        "GET",
        "/waitlist/{waitlistId}",
        get_waitlist_entry,
        summary="One waitlist entry: its place in line, its status and its offer",
        tag="waitlist",
        path_params={"waitlistId": WaitlistId},
        answers={200: (WaitlistEntryAnswer, "The entry")},
        problems={404: "No entry has this id, or the caller may not see it"},
    ),
    Operation(
        "DELETE",
        "/waitlist/{waitlistId}",
        leave_waitlist,
        summary="Leave a provider's line for good; a hold it was offered stays the client's",
        tag="waitlist",
        path_params={"waitlistId": WaitlistId},
        answers={200: (WaitlistEntryAnswer, "The entry as it was")},
        problems={404: "No entry has this id, or the caller may not see it"},
        description="The client, the line's provider or an admin takes an entry out; the"
        " entries behind it move up.",
    ),
]
