"""A client's holds and bookings: list them, cancel one."""

from __future__ import annotations

from aiohttp import web
from msgspec import UNSET

from backend.access import acting_client, caller_of, cancelling
from backend.api.operation import (
    Operation,
    answer,
    answered,
    read_body,
    read_query,
    slot_id_from_path,
)
from backend.api.presenters import present_slot
from backend.idempotency import perform
from backend.services import services
from backend.store.base import Answer, CancelResult
from shared.wire import (
    CallerQuery,
    CancelAnswer,
    CancelRequest,
    Reservations,
    ReservationsQuery,
    TimeSlotId,
)


async def list_reservations(request: web.Request) -> web.Response:
    ctx, caller = services(request), caller_of(request)
    query = read_query(request, ReservationsQuery)
    client_id = acting_client(caller, query.client_id)
    now = ctx.now()
    rows = await ctx.store.client_reservations(client_id, now)
    return answer(Reservations(reservations=[present_slot(s, now, with_client=True) for s in rows]))


async def cancel_reservation(request: web.Request) -> web.Response:
    ctx, caller = services(request), caller_of(request)
    slot_id = slot_id_from_path(request)
    query = read_query(request, CallerQuery)
    body = await read_body(request, CancelRequest, required=False)
    who = cancelling(
        caller,
        body.client_id if body.client_id is not UNSET else query.client_id,
        body.provider_id if body.provider_id is not UNSET else query.provider_id,
    )
    now = ctx.now()

    def render(result: CancelResult) -> Answer:
        return answered(
            CancelAnswer(
                message="Reservation cancelled; the time slot is open again",
                time_slot=present_slot(result.slot, now, with_client=True),
            )
        )

    return await perform(
        request,
        caller,
        render,
        lambda once: ctx.store.cancel(
            slot_id, who.client_id, who.provider_id, now, admin=who.admin, once=once
        ),
    )


OPERATIONS = [
    Operation(
        "GET",
        "/reservations",
        list_reservations,
        summary="The caller's live holds and bookings, soonest first",
        tag="reservations",
        query=ReservationsQuery,
        answers={200: (Reservations, "Live holds and bookings")},
        problems={
            403: "Only the client itself (or an admin) lists its reservations",
            422: "No clientId from a caller who is no client (an admin token)",
        },
        description="`clientId` may be left out with a client token: it is the token's.",
    ),
    Operation(
        "DELETE",
        "/reservations/{timeSlotId}",
        cancel_reservation,
        summary="Cancel a hold or a future booking: the slot is open again",
        tag="reservations",
        body=CancelRequest,
        body_required=False,
        query=CallerQuery,
        path_params={"timeSlotId": TimeSlotId},
        answers={200: (CancelAnswer, "Cancelled")},
        problems={
            403: "The reservation belongs to another client and another provider",
            404: "No slot has this id",
            409: "Nothing to cancel: the slot is open, or has already started",
            422: "Neither clientId nor providerId named, on a server started with --no-auth",
        },
    ),
]
