"""`GET /providers/{providerId}/conflicts`: the provider's live holds and bookings that a busy
time of their own calendars overlaps. Slotbook never touches them; the provider decides."""

from __future__ import annotations

from aiohttp import web

from backend.api.context import context
from backend.api.operation import Operation, answer
from backend.api.providers import provider_id_from_path
from backend.gate.access import Caller, caller_of, forbidden
from backend.store.busy_presenters import present_conflict
from shared.conflict_wire import Conflicts
from shared.wire import PartyId


def may_see_conflicts(caller: Caller, provider_id: str) -> None:
    """The provider's own, or an admin's."""
    if caller.trusted or caller.role == "admin":
        return
    if caller.role == "provider" and caller.subject == provider_id:
        return
    raise forbidden(
        f"Only provider {provider_id} (or an admin) sees its conflicts; {caller.describe()} may not"
    )


async def list_conflicts(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    provider_id = provider_id_from_path(request)
    may_see_conflicts(caller, provider_id)
    found = await ctx.store.busy_conflicts(provider_id, ctx.now())
    return answer(Conflicts(conflicts=[present_conflict(c) for c in found]))


OPERATIONS = [
    Operation(
        "GET",
        "/providers/{providerId}/conflicts",
        list_conflicts,
        summary="Holds and bookings a busy time of the provider's own calendars overlaps",
        tag="calendars",
        description="Made before the calendar said the provider was busy then: slotbook keeps"
        " them, and lists them here (one per appointment and calendar, soonest first) for the"
        " provider to decide. The provider or an admin.",
        path_params={"providerId": PartyId},
        answers={200: (Conflicts, "The conflicts, soonest first")},
        problems={403: "Another provider's, or a client's"},
    ),
]
