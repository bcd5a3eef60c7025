"""A client's holds and bookings: list them, cancel, move or note one."""

from __future__ import annotations

from aiohttp import web
from msgspec import UNSET

from backend.api.context import context
from backend.api.idempotency import perform
from backend.api.operation import (
    Operation,
    answer,
    answered,
    parse_times,
    read_body,
    read_query,
    slot_id_from_path,
)
from backend.api.presenters import (
    appointment_answer,
    group_appointments,
    present_reservation,
    present_slot,
    shown_services,
)
from backend.gate.access import acting_client, caller_of, cancelling, confirming_client
from backend.store.base import Answer, CancelResult, MoveResult, NoteResult, Once
from shared.wire import (
    CallerQuery,
    CancelAnswer,
    CancelRequest,
    MoveRequest,
    NoteRequest,
    ReservationAnswer,
    Reservations,
    ReservationsQuery,
    TimeSlotId,
)


async def list_reservations(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    query = read_query(request, ReservationsQuery)
    client_id = acting_client(caller, query.client_id)
    now = ctx.now()
    rows = await ctx.store.client_reservations(client_id, now)
    names = await ctx.store.service_names(shown_services(rows))
    return answer(
        Reservations(
            reservations=[
                present_reservation(group, now, names) for group in group_appointments(rows)
            ]
        )
    )


async def cancel_reservation(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
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
                message="Reservation cancelled; the time slot is open again"
                if len(result.slots) == 1
                else f"Reservation cancelled; its {len(result.slots)} time slots are open again",
                time_slot=present_slot(result.slot, now, with_client=True),
                time_slot_ids=[s.id for s in result.slots],
            )
        )

    async def cancel(once: Once | None) -> CancelResult:
        result = await ctx.store.cancel(
            slot_id, who.client_id, who.provider_id, now, admin=who.admin, once=once
        )
        ctx.metrics.cancels.inc()
        return result

    return await perform(request, caller, render, cancel)


async def move_reservation(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    slot_id = slot_id_from_path(request)
    body = await read_body(request, MoveRequest)
    client_id = confirming_client(caller, body.client_id)
    time_slot = parse_times(timeSlot=body.time_slot)["timeSlot"]
    now = ctx.now()

    def render(result: MoveResult) -> Answer:
        return answered(
            appointment_answer(result, now, "Reservation moved", "Reservation already there")
        )

    return await perform(
        request,
        caller,
        render,
        lambda once: ctx.store.move(
            slot_id, body.to_time_slot_id, time_slot, client_id, now, once=once
        ),
    )


async def note_reservation(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    slot_id = slot_id_from_path(request)
    body = await read_body(request, NoteRequest)
    client_id = confirming_client(caller, body.client_id)
    now = ctx.now()

    def render(result: NoteResult) -> Answer:
        return answered(appointment_answer(result, now, "Note saved", "Note unchanged"))

    return await perform(
        request,
        caller,
        render,
        lambda once: ctx.store.set_note(slot_id, body.note or None, client_id, now, once=once),
    )


OPERATIONS = [
    Operation(
        "GET",
        "/reservations",
        list_reservations,
        summary="The caller's live holds and bookings, one entry an appointment, soonest first",
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
        summary="Cancel a hold or a future booking: all of its slots are open again",
        tag="reservations",
        body=CancelRequest,
        body_required=False,
        query=CallerQuery,
        path_params={"timeSlotId": TimeSlotId},
        answers={200: (CancelAnswer, "Cancelled")},
        problems={
            403: "The reservation belongs to another client and another provider",
            404: "No slot has this id",
            409: "Nothing to cancel: the slot is open, or the appointment has already started",
            422: "Neither clientId nor providerId named, on a server started with --no-auth",
        },
        description="Any slot of an appointment names the whole of it.",
    ),
    Operation(
        "POST",
        "/reservations/{timeSlotId}/move",
        move_reservation,
        summary="Move a hold or a booking, same length, to another start (of any provider)",
        tag="reservations",
        body=MoveRequest,
        path_params={"timeSlotId": TimeSlotId},
        answers={200: (ReservationAnswer, "Moved (or already there): the appointment now")},
        problems={
            403: "The reservation belongs to another client",
            404: "No slot has this id (timeSlotId or toTimeSlotId)",
            409: "A slot of the new place is held or booked by someone else (nothing changed),"
            " or there is no live hold or booking to move",
            410: "The hold lapsed before it was moved",
            422: "timeSlot does not match toTimeSlotId's slot, the new place is inside the notice"
            " period, or the booking itself is inside its notice period and stays where it is",
        },
        description="One transaction: the new slots are taken first, and the old ones released"
        " only once that has succeeded. A booking stays a booking; a hold keeps its hold time"
        " (it lapses when it would have, or earlier if the new place's notice period begins"
        " first). The change feed shows `moved` changes, one a slot, naming both places."
        " `clientId` may be left out with a client token; an admin may move anyone's.",
    ),
    Operation(
        "PATCH",
        "/reservations/{timeSlotId}",
        note_reservation,
        summary="Change the note of a hold or a booking",
        tag="reservations",
        body=NoteRequest,
        path_params={"timeSlotId": TimeSlotId},
        answers={200: (ReservationAnswer, "The appointment with its note")},
        problems={
            403: "The reservation belongs to another client",
            404: "No slot has this id",
            409: "There is no live hold or booking to note, or it has already started",
            410: "The hold lapsed",
        },
        description="An empty note removes it. The note is shown to the client, the provider"
        " and admins only. `clientId` may be left out with a client token.",
    ),
]
