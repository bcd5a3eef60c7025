"""A client's holds and bookings: list them, cancel one."""

from __future__ import annotations

from aiohttp import web
from msgspec import UNSET

from backend.access import named_actor
from backend.api.operation import Operation, answer, read_body, read_query, slot_id_from_path
from backend.api.presenters import present_slot
from backend.problems import invalid
from backend.services import services
from shared.wire import (
    CallerQuery,
    CancelAnswer,
    CancelRequest,
    FieldError,
    Reservations,
    ReservationsQuery,
    TimeSlotId,
)


async def list_reservations(request: web.Request) -> web.Response:
    ctx = services(request)
    query = read_query(request, ReservationsQuery)
    client_id = named_actor(query.client_id, "clientId")
    now = ctx.now()
    rows = await ctx.store.client_reservations(client_id, now)
    return answer(Reservations(reservations=[present_slot(s, now, with_client=True) for s in rows]))


async def cancel_reservation(request: web.Request) -> web.Response:
    ctx = services(request)
    slot_id = slot_id_from_path(request)
    query = read_query(request, CallerQuery)
    body = await read_body(request, CancelRequest, required=False)
    client_id = body.client_id if body.client_id is not UNSET else query.client_id
    provider_id = body.provider_id if body.provider_id is not UNSET else query.provider_id
    if client_id is UNSET and provider_id is UNSET:
        raise invalid(
            [FieldError(field="clientId", message="is required (or providerId, for a provider)")]
        )
    now = ctx.now()
    result = await ctx.store.cancel(
        slot_id,
        client_id if isinstance(client_id, str) else None,
        provider_id if isinstance(provider_id, str) else None,
        now,
    )
    return answer(
        CancelAnswer(
            message="Reservation cancelled; the time slot is open again",
            time_slot=present_slot(result.slot, now, with_client=True),
        )
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
        },
    ),
]
