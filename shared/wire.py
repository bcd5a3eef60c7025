"""Request and response bodies of the slotbook HTTP API, as msgspec Structs.

Field names on the wire are camelCase (the original API's); in Python they are snake_case. These
Structs are the single source of truth: the server decodes and encodes with them, the terminal app
decodes with them, and the OpenAPI document is generated from them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from shared.patterns import (
    CURSOR_PATTERN,
    END,
    ID_PATTERN,
    ID_RULE,
    NOTE_PATTERN,
    TEXT_PATTERN,
    TEXT_RULE,
)
from shared.timefmt import TIME_PATTERN

SlotStatus = Literal["AVAILABLE", "RESERVED", "CONFIRMED"]

PartyId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=128,
        pattern=ID_PATTERN,
        description=f"An id chosen by the caller (a UUID is fine): 1-128 {ID_RULE}.",
        examples=["9d3c1f0e-8a4b-4d6e-9f21-3b5a7c8d9e01"],
    ),
]
TimeSlotId = Annotated[
    str,
    Meta(
        pattern=rf"^[0-9a-f]{{32}}{END}",
        description="The id the server gave the slot: 32 lowercase hex digits.",
        examples=["4f9a0c2e6b1d4e8f9a7c3b2d1e0f5a6b"],
    ),
]
WaitlistId = Annotated[
    str,
    Meta(
        pattern=rf"^[0-9a-f]{{32}}{END}",
        description="The id the server gave a waitlist entry: 32 lowercase hex digits.",
        examples=["3e1b7c9a2d4f4a6e8b0c1d3e5f7a9b2c"],
    ),
]
RequestTime = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description="'YYYY-MM-DD HH:MM:SS' (UTC) or ISO 8601 with 'Z' or an offset,"
        " in the years 1970 to 9998.",
        examples=["2030-08-30 12:00:00", "2030-08-30T14:00:00+02:00"],
        # Published, not enforced here: parse_time refuses the same texts with a clearer reason.
        extra_json_schema={"pattern": TIME_PATTERN},
    ),
]
EndTime = Annotated[
    RequestTime, Meta(examples=["2030-08-30 13:00:00", "2030-08-30T15:00:00+02:00"])
]
"""A RequestTime that ends a window or a range: its examples end an hour after a start's."""
ResponseTime = Annotated[
    str,
    Meta(description="UTC, 'YYYY-MM-DD HH:MM:SS'.", examples=["2030-08-30 12:00:00"]),
]
DisplayName = Annotated[
    str,
    Meta(
        description="The client's display name: the name given with its first token, or with a"
        " later one made with `rename`. Shown only beside `clientId`, and left out when the"
        " client has no known name.",
        examples=["Grace Hopper"],
    ),
]
AppointmentMinutes = Annotated[
    int,
    Meta(
        ge=1,
        le=1440,
        description="The appointment's length in minutes: a multiple of the slot length, at most"
        " the server's longest appointment (GET /rules says both). One slot when left out.",
        examples=[60],
    ),
]
ServiceId = Annotated[
    str,
    Meta(
        pattern=rf"^[0-9a-f]{{32}}{END}",
        description="The id the server gave an appointment type: 32 lowercase hex digits.",
        examples=["7b0e4c2a9d1f4e6a8c3b5d7f9e1a2c4b"],
    ),
]
ServiceName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=80,
        pattern=TEXT_PATTERN,
        description=f"What the provider calls the appointment type: 1-80 {TEXT_RULE}.",
        examples=["Follow-up"],
    ),
]
Note = Annotated[
    str,
    Meta(
        max_length=500,
        pattern=NOTE_PATTERN,
        description="A note for the provider, up to 500 characters of plain text on one line:"
        f" {TEXT_RULE}. Empty for no note. Shown only to the client, the provider and admins.",
        examples=["First visit; knee pain since March"],
    ),
]


class _Body(Struct, rename="camel", forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base of request bodies: camelCase names, unknown fields refused (they are usually typos)."""


class _Answer(Struct, rename="camel", omit_defaults=True, kw_only=True):
    """Base of response bodies: camelCase names, absent optional fields left out."""


# --- requests ---------------------------------------------------------------------------------


class AvailabilityWindow(_Body):
    """A provider's window of availability: POST /availability adds it, DELETE removes it."""

    start_time: RequestTime
    end_time: EndTime
    provider_id: PartyId | UnsetType = UNSET


class ReserveRequest(_Body):
    """POST /availability/reserve: hold a slot, or `minutes` of consecutive slots of the same
    provider starting with it, for a client: all of them or none."""

    time_slot: RequestTime
    time_slot_id: TimeSlotId
    client_id: PartyId | UnsetType = UNSET
    minutes: AppointmentMinutes | UnsetType = UNSET
    note: Note | UnsetType = UNSET
    service_id: ServiceId | UnsetType = UNSET
    """Book an appointment of this type of the slot's provider: the hold covers the type's
    minutes (`minutes`, if sent too, must be the same), keeps its buffers clear, and keeps its
    notice, booking window and daily limit."""


IgnoredTime = Annotated[
    RequestTime,
    Meta(
        description="Accepted because the original API's reserve call sends it; checked as a"
        " time (a malformed one is refused) and otherwise ignored.",
        extra_json_schema={"deprecated": True},
    ),
]


class ReserveQuery(_Body):
    """POST /availability/reserve's query string: the two times the original take-home README's
    reserve call sends there. They are checked, then ignored; nothing else is taken."""

    start_time: IgnoredTime | UnsetType = UNSET
    end_time: IgnoredTime | UnsetType = UNSET


class MoveRequest(_Body):
    """POST /reservations/{timeSlotId}/move: move a hold or a booking, same length, to the
    consecutive slots starting with `toTimeSlotId` (of the same provider or another)."""

    to_time_slot_id: TimeSlotId
    time_slot: Annotated[
        RequestTime,
        Meta(description="The new first slot's own timestamp, as GET /availability lists it."),
    ]
    client_id: PartyId | UnsetType = UNSET


class NoteRequest(_Body):
    """PATCH /reservations/{timeSlotId}: change the note of a hold or a booking."""

    note: Note
    client_id: PartyId | UnsetType = UNSET


class ConfirmRequest(_Body):
    """PUT /availability/confirm/{timeSlotId}: turn a live hold into a booking."""

    time_slot: RequestTime
    client_id: PartyId | UnsetType = UNSET


class CancelRequest(_Body):
    """DELETE /reservations/{timeSlotId}: optional body naming who cancels (no-auth mode)."""

    client_id: PartyId | UnsetType = UNSET
    provider_id: PartyId | UnsetType = UNSET


# --- query strings ----------------------------------------------------------------------------


Cursor = Annotated[
    str,
    Meta(
        max_length=512,
        pattern=CURSOR_PATTERN,
        description="The nextCursor of the previous page: `<start>:<providerId>` of its last slot.",
        examples=["1914321600:9d3c1f0e-8a4b-4d6e-9f21-3b5a7c8d9e01"],
    ),
]


class OpenSlotsQuery(_Body):
    """GET /availability: open slots starting in [startTime, endTime)."""

    start_time: RequestTime
    end_time: EndTime
    provider_id: PartyId | UnsetType = UNSET
    limit: Annotated[int, Meta(ge=1, le=5000, description="Page size, 1-5000.")] = 1000
    cursor: Cursor | UnsetType = UNSET
    include_too_soon: Annotated[
        bool,
        Meta(
            description="Also list open slots that start too soon to be reserved (inside the"
            " notice period, not yet started), e.g. to show them greyed out."
        ),
    ] = False
    minutes: AppointmentMinutes | UnsetType = UNSET
    """List only starts where this many minutes in a row of the same provider are open."""
    service_id: ServiceId | UnsetType = UNSET
    """List only the starts where an appointment of this type fits now: its minutes open in a
    row, its buffers clear, its notice, booking window and daily limit kept (its provider's slots
    only)."""


class RangeQuery(_Body):
    """GET /providers/{providerId}/slots: every slot starting in [startTime, endTime)."""

    start_time: RequestTime
    end_time: EndTime


class ReservationsQuery(_Body):
    """GET /reservations: whose holds and bookings to list (no-auth mode)."""

    client_id: PartyId | UnsetType = UNSET


class CallerQuery(_Body):
    """Who is acting, when the server trusts ids in the request (no-auth mode)."""

    client_id: PartyId | UnsetType = UNSET
    provider_id: PartyId | UnsetType = UNSET


# --- responses --------------------------------------------------------------------------------


class TimeSlot(_Answer):
    """One slot. Reservation fields appear only while they mean something."""

    time_slot_id: TimeSlotId
    provider_id: str
    timestamp: ResponseTime
    duration: Annotated[int | float, Meta(description="Length in minutes.", examples=[15])]
    status: SlotStatus
    client_id: str | UnsetType = UNSET
    client_name: DisplayName | UnsetType = UNSET
    reserved_at: ResponseTime | UnsetType = UNSET
    expires_at: ResponseTime | UnsetType = UNSET
    confirmed_at: ResponseTime | UnsetType = UNSET
    appointment_id: TimeSlotId | UnsetType = UNSET
    """On a held or booked slot: the first slot of its appointment (the id to confirm, move or
    cancel it by). Shown with `clientId`."""
    note: Note | UnsetType = UNSET
    """The appointment's note, when it has one. Shown with `clientId`."""
    service_id: ServiceId | UnsetType = UNSET
    """The appointment's type, when it was booked as one. Shown with `clientId`."""
    service_name: ServiceName | UnsetType = UNSET
    """That type's name, as it is now. Shown with `serviceId`."""
    buffer_before_minutes: Annotated[int, Meta(ge=1, le=120, examples=[15])] | UnsetType = UNSET
    """Minutes the appointment keeps clear of others before it, as it was booked (left out when
    none). Shown with `clientId`."""
    buffer_after_minutes: Annotated[int, Meta(ge=1, le=120, examples=[15])] | UnsetType = UNSET
    """Minutes it keeps clear after it (left out when none). Shown with `clientId`."""


class Reservation(TimeSlot, kw_only=True):
    """A hold or a booking: its first slot (whose `duration` is that slot's length), and the
    whole appointment's length and slots."""

    minutes: Annotated[int | float, Meta(description="The appointment's length in minutes.")]
    time_slot_ids: list[TimeSlotId]
    """Every slot of the appointment, in time order; the first is `timeSlotId`."""


class AvailabilitySubmitted(_Answer):
    """Answer to POST /availability: the window's slots, and how many were new."""

    message: str
    created: int
    time_slots: list[TimeSlot]


class AvailabilityRemoved(_Answer):
    """Answer to DELETE /availability: open slots removed, held or booked ones kept."""

    message: str
    deleted: int
    kept: list[TimeSlot]


class OpenSlotsPage(_Answer):
    """Answer to GET /availability."""

    available_time_slots: list[TimeSlot]
    next_cursor: str | None


class ReservationAnswer(_Answer):
    """Answer to reserve, confirm, move and note: what happened, and the appointment as it now
    stands."""

    message: str
    reservation: Reservation


class CancelAnswer(_Answer):
    """Answer to DELETE /reservations/{timeSlotId}: the slot, open again (the appointment's
    first), and every slot the cancel opened."""

    message: str
    time_slot: TimeSlot
    time_slot_ids: list[TimeSlotId]


class Reservations(_Answer):
    """Answer to GET /reservations: live holds and bookings, one entry an appointment, soonest
    first."""

    reservations: list[Reservation]


class ProviderSlots(_Answer):
    """Answer to GET /providers/{providerId}/slots."""

    time_slots: list[TimeSlot]


class Provider(_Answer):
    """Someone who can be booked."""

    provider_id: str
    name: str | None
    next_available: ResponseTime | None


class Providers(_Answer):
    """Answer to GET /providers."""

    providers: list[Provider]


class Health(_Answer):
    """Answer to GET /healthz."""

    status: Literal["ok", "failing"]
    database: str


class RulesInForce(_Answer):
    """Answer to GET /rules: the booking rules this server applies."""

    slot_minutes: float
    hold_minutes: float
    notice_hours: float
    max_holds: int
    max_window_days: float
    max_appointment_minutes: int
    max_waitlist: int
    """Waitlist entries a client may wait on (or hold an offer of) at once."""
    offer_minutes: int
    """How long a waitlist offer is held unless confirmed (never past the notice period)."""


class FieldError(_Answer):
    """One invalid field of a request."""

    field: str
    message: str


class Problem(_Answer):
    """An RFC 9457 problem document; `message` repeats `detail` for clients of the original API."""

    type: str
    title: str
    status: int
    detail: str
    message: str
    errors: list[FieldError] | UnsetType = UNSET
    """The faulty fields: the first 20 when there are more."""
    more_errors: int | UnsetType = UNSET
    """How many faults there were beyond those `errors` lists."""
    instance: str | UnsetType = UNSET
    """The request this answers, `urn:slotbook:request:<id>`: its `X-Request-Id`, which the
    server's log names too."""


class ProblemDescription(_Answer):
    """Answer to GET /problems/{slug}: what a problem type means and what to do about it."""

    type: str
    title: str
    status: int
    advice: str


# --- access -----------------------------------------------------------------------------------

Role = Literal["admin", "provider", "client"]
TokenName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        pattern=TEXT_PATTERN,
        description="Who the token is for, as people should see it: 1-100"
        f" {TEXT_RULE}. A provider's or client's first token also gives it its display name.",
        examples=["Dr. Ada Lovelace"],
    ),
]


class TokenRequest(_Body):
    """POST /tokens: make a token for an admin, a provider or a client."""

    role: Role
    name: TokenName
    subject: PartyId | UnsetType = UNSET
    """The providerId or clientId the token acts as; admins have none."""
    rename: Annotated[
        bool,
        Meta(
            description="Make `name` the subject's display name even when an earlier token"
            " already gave it one (a later token otherwise only labels itself). Not for an"
            " admin token, which has no subject."
        ),
    ] = False


class TokenInfo(_Answer):
    """A token as listed: never its secret."""

    token_id: str
    role: Role
    subject: str | None
    name: str
    created_at: ResponseTime
    revoked_at: ResponseTime | None


class TokenCreated(_Answer):
    """Answer to POST /tokens. `token` is shown this once; a replay of the request has it null."""

    message: str
    token: str | None
    token_id: str
    role: Role
    subject: str | None
    name: str
    created_at: ResponseTime


class Tokens(_Answer):
    """Answer to GET /tokens."""

    tokens: list[TokenInfo]


class TokenRevoked(_Answer):
    """Answer to DELETE /tokens/{tokenId}."""

    message: str
    token: TokenInfo


class Me(_Answer):
    """Answer to GET /me: who the server takes the caller to be."""

    role: Role
    subject: str | None
    name: str
    token_id: str | None
    auth: Literal["token", "none"]
    email: str | None
    """The e-mail address mail about your appointments goes to (PATCH /me sets it); null for
    none, and always for an admin."""
    time_zone: str | None
    """The zone the times in your mail are written in (PATCH /me sets it); null for none."""


# --- the change feed --------------------------------------------------------------------------

ChangeKind = Literal[
    "created", "deleted", "reserved", "confirmed", "cancelled", "expired", "moved", "noted"
]
Seq = Annotated[int, Meta(ge=0, le=2**53, description="A position in the change log.")]


class ChangesQuery(_Body):
    """GET /changes: what happened after `since`, oldest first."""

    since: Seq | UnsetType = UNSET
    """Leave out to learn the current lastSeq without any changes."""
    limit: Annotated[int, Meta(ge=1, le=1000, description="Most changes to return.")] = 500
    wait: Annotated[
        float, Meta(ge=0, le=30, description="Seconds to wait for a change when none is new.")
    ] = 0


class EventsQuery(_Body):
    """GET /events: resume after `since` (or the Last-Event-ID header)."""

    since: Seq | UnsetType = UNSET


class Change(_Answer):
    """One change to one slot. `clientId`, `clientName`, `appointmentId` and `note` appear only to
    that client, to the slot's provider and to admins.

    An operation on an appointment of several slots makes one change per slot, in one commit. A
    `moved` change takes `timeSlotId` and releases `fromTimeSlotId` (it names both places); when a
    move overlaps its old place, its changes come in the order that, applied one by one, leaves
    exactly the new place taken. A `noted` change says the appointment's note changed."""

    seq: int
    kind: ChangeKind
    time_slot_id: str
    provider_id: str
    timestamp: ResponseTime
    status: SlotStatus
    client_id: str | UnsetType = UNSET
    client_name: DisplayName | UnsetType = UNSET
    expires_at: ResponseTime | UnsetType = UNSET
    """On a `reserved` change, or a `moved` hold: when the hold lapses unless confirmed."""
    appointment_id: TimeSlotId | UnsetType = UNSET
    note: Note | UnsetType = UNSET
    from_time_slot_id: TimeSlotId | UnsetType = UNSET
    """On a `moved` change: the slot released."""
    from_provider_id: str | UnsetType = UNSET
    from_timestamp: ResponseTime | UnsetType = UNSET
    service_id: ServiceId | UnsetType = UNSET
    """The appointment's type, when it was booked as one. Shown with `clientId`."""
    service_name: ServiceName | UnsetType = UNSET
    waitlist_id: WaitlistId | UnsetType = UNSET
    """On a `reserved` change that is a waitlist offer: the entry. Shown with `clientId`."""


class Changes(_Answer):
    """Answer to GET /changes. Ask again with `since=lastSeq` for what comes next."""

    changes: list[Change]
    last_seq: int


class Resync(_Answer):
    """Data of the `resync` event: the stream fell behind or ended; reload, then resume."""

    reason: str
    last_seq: int


json_encoder = msgspec.json.Encoder()


def encode_line(body: Struct) -> bytes:
    """JSON with a closing newline, so that answers read well in a terminal (curl)."""
    buffer = bytearray()
    json_encoder.encode_into(body, buffer)
    buffer.extend(b"\n")
    return bytes(buffer)
