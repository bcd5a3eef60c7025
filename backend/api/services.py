"""What a provider offers: appointment types (backend/rules/service_types.py), made, listed,
changed and archived over HTTP."""

from __future__ import annotations

import re
import secrets

import msgspec
from aiohttp import web
from msgspec import UNSET

from backend.api.context import AppContext, context
from backend.api.idempotency import perform
from backend.api.operation import Operation, answer, answered, read_body, read_query
from backend.api.providers import provider_id_from_path
from backend.gate.access import caller_of, may_offer, service_scope
from backend.gate.problems import ProblemError, shown
from backend.rules.service_types import ServiceNotFound, ServiceType, check_service_fields
from backend.store.base import Answer, Once
from shared.service_wire import (
    Service,
    ServiceAnswer,
    ServiceList,
    ServicePatch,
    ServiceRequest,
    ServicesQuery,
)
from shared.wire import PartyId, ServiceId

_SERVICE_ID = re.compile(r"[0-9a-f]{32}")


def present_service(service: ServiceType) -> Service:
    return Service(
        service_id=service.service_id,
        provider_id=service.provider_id,
        name=service.name,
        minutes=service.minutes,
        buffer_before_minutes=service.buffer_before_minutes,
        buffer_after_minutes=service.buffer_after_minutes,
        notice_minutes=service.notice_minutes,
        max_advance_days=service.max_advance_days,
        daily_limit=service.daily_limit,
        description=service.description,
        archived=service.archived,
    )


def service_id_from_path(request: web.Request) -> str:
    service_id = request.match_info["serviceId"]
    if not _SERVICE_ID.fullmatch(service_id):
        raise ProblemError(
            "service-not-found",
            f"No appointment type has id '{shown(service_id)}'; ids are the 32 lowercase hex"
            " digits that GET /providers/{providerId}/services gives",
        )
    return service_id


async def find_service(ctx: AppContext, service_id: str) -> ServiceType:
    """The type with this id, or the 404 that says there is none."""
    found = await ctx.store.find_service(service_id)
    if found is None:
        raise ServiceNotFound(
            f"No appointment type has id {service_id}; GET /providers/{{providerId}}/services"
            " lists a provider's"
        )
    return found


async def create_service(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    provider_id = provider_id_from_path(request)
    may_offer(caller, provider_id)
    body = await read_body(request, ServiceRequest)
    now = ctx.now()
    notice = body.notice_minutes
    service = ServiceType(
        service_id=secrets.token_hex(16),
        provider_id=provider_id,
        name=body.name,
        minutes=body.minutes,
        buffer_before_minutes=body.buffer_before_minutes,
        buffer_after_minutes=body.buffer_after_minutes,
        notice_minutes=round(ctx.rules.notice_seconds / 60) if notice is UNSET else notice,
        max_advance_days=body.max_advance_days,
        daily_limit=body.daily_limit,
        description=body.description,
        created_at=now,
        updated_at=now,
    )
    check_service_fields(service, ctx.rules)

    def render(made: ServiceType) -> Answer:
        shown_service = present_service(made)
        return answered(
            ServiceAnswer(message=f"{made.name} is offered now", service=shown_service), 201
        )

    async def create(once: Once | None) -> ServiceType:
        made = await ctx.store.create_service(service, once=once)
        ctx.forget_listings(provider_id)
        return made

    return await perform(request, caller, render, create)


async def list_services(request: web.Request) -> web.Response:
    ctx = context(request)
    provider_id = provider_id_from_path(request)
    query = read_query(request, ServicesQuery)
    found = await ctx.store.services_of(provider_id, archived=query.archived)
    return answer(ServiceList(services=[present_service(s) for s in found]))


async def get_service(request: web.Request) -> web.Response:
    ctx = context(request)
    found = await find_service(ctx, service_id_from_path(request))
    message = f"{found.name} is {'archived' if found.archived else 'offered'}"
    return answer(ServiceAnswer(message=message, service=present_service(found)))


async def update_service(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    service_id = service_id_from_path(request)
    scope = service_scope(caller)
    body = await read_body(request, ServicePatch)
    changes = {
        name: value for name, value in msgspec.structs.asdict(body).items() if value is not UNSET
    }
    now = ctx.now()

    def render(service: ServiceType) -> Answer:
        return answered(
            ServiceAnswer(message=f"{service.name} is changed", service=present_service(service))
        )

    async def update(once: Once | None) -> ServiceType:
        service = await ctx.store.update_service(service_id, changes, scope, now, once=once)
        ctx.forget_listings(service.provider_id)
        return service

    return await perform(request, caller, render, update)


async def archive_service(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    service_id = service_id_from_path(request)
    scope = service_scope(caller)
    now = ctx.now()

    def render(service: ServiceType) -> Answer:
        return answered(
            ServiceAnswer(
                message=f"{service.name} is archived: no longer offered; the appointments made"
                " with it keep it",
                service=present_service(service),
            )
        )

    async def archive(once: Once | None) -> ServiceType:
        service = await ctx.store.update_service(
            service_id, {"archived": True}, scope, now, once=once
        )
        ctx.forget_listings(service.provider_id)
        return service

    return await perform(request, caller, render, archive)


OPERATIONS = [
    Operation(
        "POST",
        "/providers/{providerId}/services",
        create_service,
        summary="Offer a new appointment type: its length, buffers, notice, window and limit",
        tag="services",
        body=ServiceRequest,
        path_params={"providerId": PartyId},
        answers={201: (ServiceAnswer, "The type is offered")},
        problems={
            403: "Only the provider itself (or an admin) sets what it offers",
            422: "minutes or a buffer not a whole number of slots, minutes longer than the"
            " longest appointment, or a notice no shorter than the booking window",
        },
        description="Only `name` and `minutes` are required. `noticeMinutes` defaults to the"
        " server's notice (GET /rules), `maxAdvanceDays` and `dailyLimit` to none.",
    ),
    Operation(
        "GET",
        "/providers/{providerId}/services",
        list_services,
        summary="The appointment types a provider offers, oldest first",
        tag="services",
        query=ServicesQuery,
        path_params={"providerId": PartyId},
        answers={200: (ServiceList, "The provider's types (none when it offers none)")},
    ),
    Operation(
        "GET",
        "/services/{serviceId}",
        get_service,
        summary="One appointment type",
        tag="services",
        path_params={"serviceId": ServiceId},
        answers={200: (ServiceAnswer, "The type, archived or not")},
        problems={404: "No type has this id"},
    ),
    Operation(
        "PATCH",
        "/services/{serviceId}",
        update_service,
        summary="Change an appointment type; appointments booked before keep what they were"
        " booked with",
        tag="services",
        body=ServicePatch,
        path_params={"serviceId": ServiceId},
        answers={200: (ServiceAnswer, "The type as it now is")},
        problems={
            403: "Only a provider (or an admin) changes what it offers",
            404: "No type of the caller's has this id",
            422: "minutes or a buffer not a whole number of slots, minutes longer than the"
            " longest appointment, or a notice no shorter than the booking window",
        },
        description="Any field but `providerId`; `archived: false` offers an archived type again.",
    ),
    Operation(
        "DELETE",
        "/services/{serviceId}",
        archive_service,
        summary="Archive an appointment type: no longer offered; its appointments keep it",
        tag="services",
        path_params={"serviceId": ServiceId},
        answers={200: (ServiceAnswer, "The type, archived")},
        problems={
            403: "Only a provider (or an admin) changes what it offers",
            404: "No type of the caller's has this id",
        },
    ),
]
