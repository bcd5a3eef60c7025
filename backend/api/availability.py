"""The original API: submit, list and remove availability; reserve and confirm a slot."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from backend.api.context import AppContext, context
from backend.api.idempotency import perform
from backend.api.operation import (
    Operation,
    answered,
    none_if_unset,
    parse_times,
    read_body,
    read_query,
    slot_id_from_path,
)
from backend.api.presenters import appointment_answer, present_open, present_slot, shown_clients
from backend.api.services import find_service
from backend.gate.access import (
    acting_client,
    acting_provider,
    caller_of,
    confirming_client,
    ids_required,
)
from backend.gate.problems import ProblemError, invalid
from backend.rules.service_types import ServiceType, offered_by
from backend.store.base import (
    Answer,
    ConfirmResult,
    Once,
    OpenSlotsCursor,
    RemoveResult,
    ReserveResult,
    Store,
    SubmitResult,
)
from shared.wire import (
    AvailabilityRemoved,
    AvailabilitySubmitted,
    AvailabilityWindow,
    ConfirmRequest,
    FieldError,
    OpenSlotsPage,
    OpenSlotsQuery,
    ReservationAnswer,
    ReserveQuery,
    ReserveRequest,
    TimeSlotId,
    encode_line,
)


async def submit_availability(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    body = await read_body(
        request, AvailabilityWindow, also_required=ids_required(caller, "providerId")
    )
    provider_id = acting_provider(caller, body.provider_id)
    times = parse_times(startTime=body.start_time, endTime=body.end_time)
    now = ctx.now()
    start, end = ctx.rules.check_window(times["startTime"], times["endTime"], now)

    def render(result: SubmitResult) -> Answer:
        return answered(
            AvailabilitySubmitted(
                message="Availability submitted successfully",
                created=result.created,
                time_slots=[
                    present_slot(s, now, with_client=True, client_names=result.client_names)
                    for s in result.slots
                ],
            ),
            status=201 if result.created else 200,
        )

    return await perform(
        request,
        caller,
        render,
        lambda once: submitted_with_names(ctx.store, provider_id, start, end, now, once),
    )


async def submitted_with_names(
    store: Store, provider_id: str, start: int, end: int, now: float, once: Once | None
) -> SubmitResult:
    """Submit the window, and name its holders (a waitlist may have been offered its new slots
    in the same write) as the provider's slot list names them."""
    result = await store.submit_availability(provider_id, start, end, now, once=once)
    names = await store.client_names(shown_clients(result.slots, now))
    return replace(result, client_names=names)


async def remove_availability(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    body = await read_body(
        request, AvailabilityWindow, also_required=ids_required(caller, "providerId")
    )
    provider_id = acting_provider(caller, body.provider_id)
    times = parse_times(startTime=body.start_time, endTime=body.end_time)
    ctx.rules.check_range(times["startTime"], times["endTime"])
    start, end = int(times["startTime"]), int(times["endTime"])
    now = ctx.now()

    def render(result: RemoveResult) -> Answer:
        kept = len(result.kept)
        message = f"Removed {result.deleted} open time slots" + (
            f"; kept {kept} held or booked" if kept else ""
        )
        return answered(
            AvailabilityRemoved(
                message=message,
                deleted=result.deleted,
                kept=[present_slot(s, now, with_client=True) for s in result.kept],
            )
        )

    return await perform(
        request,
        caller,
        render,
        lambda once: ctx.store.remove_availability(provider_id, start, end, now, once=once),
    )


async def offered_type(ctx: AppContext, service_id: str, minutes: int | None) -> ServiceType:
    """The type a reserve or a listing names: it must exist and be offered, and `minutes`, when
    sent too, must be its length (a 400 otherwise: the request contradicts itself)."""
    service = await find_service(ctx, service_id)
    if minutes is not None and minutes != service.minutes:
        raise invalid(
            [
                FieldError(
                    field="minutes",
                    message=f"is {minutes}, and {service.name} (serviceId) lasts"
                    f" {service.minutes} minutes; send the type's length, or leave minutes out",
                )
            ]
        )
    return offered_by(service, service_id, None)


def encode_cursor(position: OpenSlotsCursor) -> str:
    return f"{position.start}:{position.provider_id}"


def decode_cursor(text: str) -> OpenSlotsCursor:
    """A cursor the query already checked against CURSOR_PATTERN: `<start>:<providerId>`."""
    start, provider_id = text.split(":", 1)
    return OpenSlotsCursor(int(start), provider_id)


async def list_open_slots(request: web.Request) -> web.Response:
    ctx = context(request)
    now = ctx.now()
    cache = ctx.listing_cache
    if cache is not None:  # the same query string again, with nothing changed: the same bytes
        kept = cache.get(request.query_string, now)
        if kept is not None:
            return web.Response(body=kept, content_type="application/json")
    query = read_query(request, OpenSlotsQuery)
    times = parse_times(startTime=query.start_time, endTime=query.end_time)
    start, end = times["startTime"], times["endTime"]
    ctx.rules.check_range(start, end)
    after = decode_cursor(query.cursor) if isinstance(query.cursor, str) else None
    provider_id = query.provider_id if isinstance(query.provider_id, str) else None
    span = ctx.rules.appointment_seconds(none_if_unset(query.minutes))
    service = None
    if isinstance(query.service_id, str):
        service = await offered_type(ctx, query.service_id, none_if_unset(query.minutes))
        if provider_id is not None and provider_id != service.provider_id:
            raise ProblemError(
                "rule-violation",
                f"serviceId is provider {service.provider_id}'s appointment type; leave"
                " providerId out, or send theirs",
                errors=[FieldError(field="providerId", message="is not the type's provider")],
            )
        provider_id = service.provider_id
    too_soon = query.include_too_soon
    ticket = None if cache is None else cache.ticket(provider_id)
    rows = await ctx.store.list_open(
        start, end, provider_id, after, query.limit + 1, now,
        too_soon=too_soon, span=span, service=service,
    )  # fmt: skip
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        last = page[-1]
        next_cursor = encode_cursor(OpenSlotsCursor(last.start, last.provider_id))
    body = encode_line(
        OpenSlotsPage(
            available_time_slots=[present_open(s) for s in page],
            next_cursor=next_cursor,
        )
    )
    if cache is not None and ticket is not None:
        until = await ctx.store.listing_stable_until(
            start, end, provider_id, now, too_soon=too_soon, span=span, service=service
        )
        cache.put(request.query_string, provider_id, body, ticket, now, until)
    return web.Response(body=body, content_type="application/json")


async def reserve_slot(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    if request.query:  # the original API's call sends two times here: checked, then ignored
        ignored = read_query(request, ReserveQuery)
        given = {"startTime": ignored.start_time, "endTime": ignored.end_time}
        parse_times(**{name: text for name, text in given.items() if isinstance(text, str)})
    body = await read_body(request, ReserveRequest, also_required=ids_required(caller, "clientId"))
    client_id = acting_client(caller, body.client_id)
    time_slot = parse_times(timeSlot=body.time_slot)["timeSlot"]
    length = ctx.rules.appointment_seconds(none_if_unset(body.minutes))
    service_id = none_if_unset(body.service_id)
    if service_id is not None:
        length = (await offered_type(ctx, service_id, none_if_unset(body.minutes))).minutes * 60
    note = none_if_unset(body.note) or None
    now = ctx.now()

    def render(result: ReserveResult) -> Answer:
        return answered(
            appointment_answer(
                result, now, "Time slot reserved successfully", "Time slot already reserved by you"
            ),
            status=200 if result.repeated else 201,
        )

    async def reserve(once: Once | None) -> ReserveResult:
        result = await ctx.store.reserve(
            body.time_slot_id, time_slot, client_id, now,
            length=length, note=note, service_id=service_id, once=once,
        )  # fmt: skip
        if not result.repeated:
            ctx.metrics.reserves.inc()
        return result

    return await perform(request, caller, render, reserve)


async def confirm_reservation(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    slot_id = slot_id_from_path(request)
    body = await read_body(request, ConfirmRequest)
    client_id = confirming_client(caller, body.client_id)
    time_slot = parse_times(timeSlot=body.time_slot)["timeSlot"]
    now = ctx.now()

    def render(result: ConfirmResult) -> Answer:
        return answered(
            appointment_answer(
                result, now, "Reservation confirmed successfully", "Reservation already confirmed"
            )
        )

    async def confirm(once: Once | None) -> ConfirmResult:
        result = await ctx.store.confirm(slot_id, time_slot, client_id, now, once=once)
        if not result.repeated:
            ctx.metrics.confirms.inc()
        return result

    return await perform(request, caller, render, confirm)


OPERATIONS = [
    Operation(
        "POST",
        "/availability",
        submit_availability,
        summary="Submit a provider's availability; the server cuts it into slots",
        tag="availability",
        body=AvailabilityWindow,
        answers={
            201: (AvailabilitySubmitted, "New slots were created"),
            200: (AvailabilitySubmitted, "Every slot of the window already existed"),
        },
        problems={
            403: "Only the provider itself (or an admin) submits its availability",
            422: "Unaligned times, end not after start, a past start, a window too long, a time"
            " outside the years 1970 to 9998, or no providerId from a caller who is no provider",
        },
        description="`providerId` may be left out with a provider token: it is the token's.",
    ),
    Operation(
        "GET",
        "/availability",
        list_open_slots,
        summary="List the slots a client could reserve now, by time then provider",
        tag="availability",
        query=OpenSlotsQuery,
        answers={200: (OpenSlotsPage, "One page of open slots")},
        problems={
            400: "minutes and serviceId disagree",
            404: "No appointment type has this serviceId",
            409: "The type named is archived",
            422: "End not after start, a range too long, a time outside the years 1970 to 9998,"
            " minutes not a whole number of slots or longer than the longest appointment, or a"
            " providerId other than the type's",
        },
        description="With `minutes`, only the slots an appointment that long could start at:"
        " the slots of the same provider up to its end are open too. With `serviceId`, only the"
        " starts where an appointment of that type fits now: its length open in a row, its"
        " buffers clear of other appointments (and theirs of it), its notice, booking window and"
        " daily limit kept. No listing offers a start that would break another appointment's"
        " buffer.",
    ),
    Operation(
        "DELETE",
        "/availability",
        remove_availability,
        summary="Remove a provider's open slots in a range; held and booked ones are kept",
        tag="availability",
        body=AvailabilityWindow,
        answers={200: (AvailabilityRemoved, "What was removed and what was kept")},
        problems={
            403: "Only the provider itself (or an admin) removes its availability",
            422: "End not after start, a range too long, a time outside the years 1970 to 9998,"
            " or no providerId from a caller who is no provider",
        },
    ),
    Operation(
        "POST",
        "/availability/reserve",
        reserve_slot,
        summary="Hold a slot, or an appointment of several, for a client; the hold lapses unless"
        " confirmed",
        tag="reservations",
        body=ReserveRequest,
        query=ReserveQuery,
        answers={
            201: (ReservationAnswer, "The slots are now held by the client"),
            200: (ReservationAnswer, "The client already held it: the same hold"),
        },
        problems={
            400: "minutes and serviceId disagree",
            403: "Only the client itself (or an admin) reserves for a client",
            404: "No slot has this id, or no appointment type this serviceId",
            409: "A slot of the appointment is held or booked by someone else (the message names"
            " the first), another appointment lies in a buffer kept clear (the message names"
            " it), the provider has no open slot for part of it, the client holds too many"
            " appointments, the type is archived, or its daily limit is reached that day",
            422: "timeSlot does not match the slot, the slot is inside the notice period (the"
            " type's, with serviceId), beyond the type's booking window, minutes is not a whole"
            " number of slots or longer than the longest appointment, serviceId is another"
            " provider's, or no clientId from a caller who is no client",
        },
        description="`clientId` may be left out with a client token: it is the token's. With"
        " `minutes`, the hold takes that many minutes of consecutive slots of the same provider"
        " from `timeSlotId` on, all of them or none, under one hold that lapses as one. `note`"
        " is shown to the provider and the client only. With `serviceId`, an appointment of that"
        " type of the slot's provider: its length, its buffers, notice, booking window and daily"
        " limit. `startTime` and `endTime` in the query"
        " string, which the original take-home README's reserve call sends, are checked as times"
        " and otherwise ignored; no other query parameter is taken.",
    ),
    Operation(
        "PUT",
        "/availability/confirm/{timeSlotId}",
        confirm_reservation,
        summary="Confirm a hold: the whole appointment becomes a booking",
        tag="reservations",
        body=ConfirmRequest,
        path_params={"timeSlotId": TimeSlotId},
        answers={200: (ReservationAnswer, "Confirmed now, or already confirmed")},
        problems={
            403: "The slot is held or booked by another client",
            404: "No slot has this id",
            409: "The slot is not held",
            410: "The hold lapsed before it was confirmed",
            422: "timeSlot does not match the slot",
        },
    ),
]
