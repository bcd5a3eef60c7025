"""The booking page's queries and forms (GET and POST /book/...): what a visitor's browser sends
from the pages a practice links to. The pages themselves are HTML; these are their inputs."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from shared.patterns import DATE_PATTERN, NOTE_PATTERN, TEXT_PATTERN, TEXT_RULE
from shared.wire import AppointmentMinutes, ServiceId, TimeSlotId, _Body

ZoneName = Annotated[
    str,
    Meta(
        max_length=64,
        description="The zone to show times in (an IANA name such as Europe/Paris); one that is"
        " not a zone is ignored.",
    ),
]
StartEpoch = Annotated[
    int,
    Meta(
        ge=0,
        le=253_370_000_000,
        description="The start's time, in seconds since 1970 (UTC), before the year 9999.",
    ),
]


class BookWeekQuery(_Body):
    """What the provider's page shows: which type (or length), which week, in which zone."""

    type: ServiceId | UnsetType = UNSET
    minutes: AppointmentMinutes | UnsetType = UNSET
    zone: ZoneName | UnsetType = UNSET
    date: Annotated[
        str,
        Meta(
            pattern=DATE_PATTERN,
            description="The first day of the week shown, YYYY-MM-DD; today when left out.",
        ),
    ] | UnsetType = UNSET  # fmt: skip


class BookSentQuery(_Body):
    """What the page after a hold keeps of the booking page: the choice and the zone."""

    type: ServiceId | UnsetType = UNSET
    minutes: AppointmentMinutes | UnsetType = UNSET
    zone: ZoneName | UnsetType = UNSET


class BookStartQuery(_Body):
    """The start chosen, for the form that holds it."""

    slot: TimeSlotId
    at: StartEpoch
    type: ServiceId | UnsetType = UNSET
    minutes: AppointmentMinutes | UnsetType = UNSET
    zone: ZoneName | UnsetType = UNSET


VisitorName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=80,
        pattern=TEXT_PATTERN,
        description=f"The visitor's name, as the provider will see it: 1-80 {TEXT_RULE}.",
    ),
]


VisitorNote = Annotated[
    str,
    Meta(
        max_length=500,
        pattern=NOTE_PATTERN,
        description="Anything the provider should know (optional).",
    ),
]


class BookHoldForm(_Body):
    """Hold the start chosen and e-mail a link that confirms it."""

    slot: TimeSlotId
    at: StartEpoch
    name: VisitorName
    email: Annotated[str, Meta(min_length=3, max_length=254, description="An e-mail address.")]
    note: VisitorNote = ""
    website: Annotated[
        str,
        Meta(
            max_length=500,
            description="Left empty by people: the form hides it. A form that fills it in is a"
            " program's, and is refused (422, with a page that says so).",
            # Published as empty, the only value a person sends; the server reads any, to say
            # why it refuses a program's.
            extra_json_schema={"maxLength": 0},
        ),
    ] = ""
    type: ServiceId | UnsetType = UNSET
    minutes: AppointmentMinutes | UnsetType = UNSET
    zone: ZoneName | UnsetType = UNSET


class BookWithTokenForm(_Body):
    """Book the start chosen at once, as the client whose token this is (no e-mail step)."""

    slot: TimeSlotId
    at: StartEpoch
    token: Annotated[
        str, Meta(min_length=1, max_length=256, description="A client's slotbook token.")
    ]
    note: VisitorNote = ""
    type: ServiceId | UnsetType = UNSET
    minutes: AppointmentMinutes | UnsetType = UNSET
    zone: ZoneName | UnsetType = UNSET


class ConfirmHoldForm(_Body):
    """Confirm the hold the link names (the page's Confirm button sends nothing else)."""
