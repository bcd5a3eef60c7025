"""Appointment types on the wire: what a provider offers (POST /providers/{providerId}/services and
the routes of /services/{serviceId}). Each field's rule is published with it; the server checks
the ones that depend on its settings (whole slots, the longest appointment) as it takes them."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from shared.patterns import NOTE_PATTERN, TEXT_RULE
from shared.wire import AppointmentMinutes, PartyId, ServiceId, ServiceName, _Answer, _Body

BufferMinutes = Annotated[
    int,
    Meta(
        ge=0,
        le=120,
        description="Minutes kept clear of other appointments before (or after) one of this"
        " type: whole slots, 0-120. Buffer time need not be open time.",
        examples=[15],
    ),
]
NoticeMinutes = Annotated[
    int,
    Meta(
        ge=0,
        le=527_040,
        description="How long before its start an appointment of this type must be booked (and"
        " confirmed), in minutes, up to 366 days; the server's notice when left out.",
        examples=[1440],
    ),
]
MaxAdvanceDays = Annotated[
    int,
    Meta(
        ge=1,
        le=366,
        description="How many days ahead it may be booked at most (1-366); null: as far as the"
        " provider's slots go.",
        examples=[28],
    ),
]
DailyLimit = Annotated[
    int,
    Meta(
        ge=1,
        le=100,
        description="How many appointments of this type the provider takes a day at most (1-100,"
        " in the provider's time zone: their schedule's, else UTC); null: no limit.",
        examples=[6],
    ),
]
Description = Annotated[
    str,
    Meta(
        max_length=500,
        pattern=NOTE_PATTERN,
        description=f"What clients read about it: up to 500 characters on one line, {TEXT_RULE}.",
        examples=["A shorter session to check progress and adjust exercises"],
    ),
]


class ServiceRequest(_Body):
    """POST /providers/{providerId}/services: offer a new appointment type."""

    name: ServiceName
    minutes: AppointmentMinutes
    buffer_before_minutes: BufferMinutes = 0
    buffer_after_minutes: BufferMinutes = 0
    notice_minutes: NoticeMinutes | UnsetType = UNSET
    max_advance_days: MaxAdvanceDays | None = None
    daily_limit: DailyLimit | None = None
    description: Description = ""


class ServicePatch(_Body):
    """PATCH /services/{serviceId}: change any of these; what is left out stays. A change applies
    to appointments booked after it."""

    name: ServiceName | UnsetType = UNSET
    minutes: AppointmentMinutes | UnsetType = UNSET
    buffer_before_minutes: BufferMinutes | UnsetType = UNSET
    buffer_after_minutes: BufferMinutes | UnsetType = UNSET
    notice_minutes: NoticeMinutes | UnsetType = UNSET
    max_advance_days: MaxAdvanceDays | UnsetType | None = UNSET
    daily_limit: DailyLimit | UnsetType | None = UNSET
    description: Description | UnsetType = UNSET
    archived: Annotated[
        bool,
        Meta(
            description="false offers an archived type again (DELETE archives one).",
            examples=[False],
        ),
    ] | UnsetType = UNSET  # fmt: skip


class ServicesQuery(_Body):
    """GET /providers/{providerId}/services."""

    archived: Annotated[
        bool, Meta(description="Also list the archived types.", examples=[True])
    ] = False


class Service(_Answer):
    """An appointment type a provider offers (or offered: `archived`)."""

    service_id: ServiceId
    provider_id: PartyId
    name: ServiceName
    minutes: AppointmentMinutes
    buffer_before_minutes: BufferMinutes
    buffer_after_minutes: BufferMinutes
    notice_minutes: NoticeMinutes
    max_advance_days: MaxAdvanceDays | None
    daily_limit: DailyLimit | None
    description: Description
    archived: Annotated[
        bool,
        Meta(description="No longer offered; its appointments keep it.", examples=[False]),
    ]


class ServiceAnswer(_Answer):
    """Answer to creating, changing or archiving a type, and to GET /services/{serviceId}."""

    message: Annotated[str, Meta(examples=["Follow-up is offered now"])]
    service: Service


class ServiceList(_Answer):
    """Answer to GET /providers/{providerId}/services: oldest first."""

    services: list[Service]
