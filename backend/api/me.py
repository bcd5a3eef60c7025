"""GET /me and PATCH /me: who the server takes the caller to be, and the details a provider or
client keeps for mail (an e-mail address, a zone)."""

from __future__ import annotations

from aiohttp import web
from msgspec import UNSET

from backend.api.context import context
from backend.api.operation import Operation, answer, read_body
from backend.gate.access import Caller, caller_of
from backend.gate.problems import ProblemError, shown
from backend.runtime.addresses import AddressError, checked_address
from backend.store.mail_records import UNCHANGED, PartyDetails, Unchanged
from shared.mail_wire import Details, DetailsAnswer, DetailsRequest
from shared.wire import FieldError, Me
from shared.zones import is_zone_name, zone_hint


async def who_am_i(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    found = None
    if caller.subject is not None and caller.role in ("provider", "client"):
        found = await ctx.store.party_details(caller.role, caller.subject)
    return answer(
        Me(
            role=caller.role,
            subject=caller.subject,
            name=caller.name,
            token_id=caller.token_id,
            auth="none" if caller.trusted else "token",
            email=None if found is None else found.email,
            time_zone=None if found is None else found.time_zone,
        )
    )


async def set_my_details(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    body = await read_body(request, DetailsRequest)
    party = _party(caller)
    email = _email(body.email)
    zone = _zone(body.time_zone)
    details = await ctx.store.set_party_details(
        caller.role, party, email=email, time_zone=zone, now=ctx.now()
    )
    return answer(
        DetailsAnswer(message=_said(details, email, zone), details=shown_details(details))
    )


def shown_details(details: PartyDetails) -> Details:
    return Details(email=details.email, time_zone=details.time_zone)


def _party(caller: Caller) -> str:
    if caller.subject is None or caller.role not in ("provider", "client"):
        raise ProblemError(
            "forbidden",
            f"Only a provider or a client keeps details for mail; {caller.describe()} is"
            " neither: use a provider's or client's token",
        )
    return caller.subject


def _email(given: str | object) -> str | Unchanged | None:
    if given is UNSET:
        return UNCHANGED
    assert isinstance(given, str)
    if given == "":
        return None
    try:
        return checked_address(given)
    except AddressError as error:
        raise _wrong("email", str(error)) from None


def _zone(given: str | object) -> str | Unchanged | None:
    if given is UNSET:
        return UNCHANGED
    assert isinstance(given, str)
    if given == "":
        return None
    if not is_zone_name(given):
        raise _wrong(
            "timeZone",
            f"'{shown(given, 64)}' is not the IANA time zone of a place; {zone_hint(given)}",
        )
    return given


def _wrong(field: str, message: str) -> ProblemError:
    return ProblemError(
        "rule-violation", f"{field}: {message}", errors=[FieldError(field=field, message=message)]
    )


def _said(details: PartyDetails, email: object, zone: object) -> str:
    parts = []
    if not isinstance(email, Unchanged):
        parts.append(
            f"mail goes to {details.email}" if details.email else "no mail will be sent to you"
        )
    if not isinstance(zone, Unchanged):
        parts.append(
            f"times in it are in {details.time_zone}"
            if details.time_zone
            else "times in it are in your provider's zone (else UTC)"
        )
    return ("Saved: " + "; ".join(parts)) if parts else "Nothing to change"


OPERATIONS = [
    Operation(
        "GET",
        "/me",
        who_am_i,
        summary="Who the server takes the caller to be, with their e-mail address and zone",
        tag="access",
        answers={200: (Me, "The caller")},
    ),
    Operation(
        "PATCH",
        "/me",
        set_my_details,
        summary="Set your e-mail address (for confirmations, changes, cancellations and"
        " reminders) and the zone their times are written in (a provider or client)",
        tag="access",
        body=DetailsRequest,
        answers={200: (DetailsAnswer, "Saved")},
        problems={
            403: "The caller is an admin (or the server runs without tokens): no one to keep"
            " details for",
            422: "An address that is not one, or a zone that is not the IANA zone of a place",
        },
    ),
]
