"""The calendar a provider's bookings are written back to, over HTTP: set (PUT), shown with how
writing to it goes (GET) and removed (DELETE) at /providers/{providerId}/calendar-write, by that
provider or an admin. The writing is backend/live/busy/write_back.py's, in the background, never
a request's.

A password is sealed with the server's --secret-key before it is stored and never answered: no
answer, problem document or log line carries it."""

from __future__ import annotations

from aiohttp import web

from backend.api.calendar_access import allowed_url, check_username, sealed_password
from backend.api.context import AppContext, context
from backend.api.operation import Operation, answer, read_body
from backend.api.providers import provider_id_from_path
from backend.gate.access import Caller, caller_of, forbidden
from backend.gate.problems import ProblemError
from backend.store.calendar_write_records import WriteCalendar as StoredCalendar
from shared.calendar_write_wire import (
    CalendarWriteAnswer,
    CalendarWriteRequest,
    CalendarWriteStatus,
    WriteCalendar,
)
from shared.timefmt import format_moment
from shared.wire import FieldError, PartyId


def may_write_back(caller: Caller, provider_id: str) -> None:
    """The calendar a provider's bookings go to (its address often a secret) is seen and set by
    that provider, or an admin."""
    if caller.trusted or caller.role == "admin":
        return
    if caller.role == "provider" and caller.subject == provider_id:
        return
    raise forbidden(
        f"Only provider {provider_id} (or an admin) sees and sets the calendar its bookings are"
        f" written to; {caller.describe()} may not"
    )


def present_calendar(stored: StoredCalendar) -> WriteCalendar:
    """The calendar as the API shows it: never its password."""
    return WriteCalendar(
        provider_id=stored.provider_id,
        url=stored.url,
        username=stored.username,
        status=CalendarWriteStatus(
            last_write_at=format_moment(stored.last_write_at),
            last_success_at=format_moment(stored.last_success_at),
            last_error=stored.last_error,
            failures=stored.failures,
            waiting=stored.waiting,
        ),
    )


async def _checked(
    ctx: AppContext, body: CalendarWriteRequest
) -> tuple[str, str | None, str | None]:
    """The calendar's address (normalised), user name and sealed password, once every rule holds
    for them; else one 422 naming each field that breaks one, before anything is written."""
    wrong: list[FieldError] = []

    def refuse(field: str, message: str) -> None:
        wrong.append(FieldError(field=field, message=message))

    username = body.username if isinstance(body.username, str) else None
    password = body.password if isinstance(body.password, str) else None
    check_username(username, refuse)
    if password is not None and username is None:
        refuse("username", "is required with a password")
    sealed = None if password is None else sealed_password(ctx, password, refuse)
    url = await allowed_url(ctx, body.url, refuse)
    if wrong:
        raise ProblemError(
            "rule-violation", "; ".join(f"{e.field}: {e.message}" for e in wrong), errors=wrong
        )
    return url, username, sealed


def _whose(request: web.Request) -> tuple[AppContext, str]:
    """The provider of the path, once the caller may see and set their calendar."""
    provider_id = provider_id_from_path(request)
    may_write_back(caller_of(request), provider_id)
    return context(request), provider_id


def _shown(stored: StoredCalendar | None, provider_id: str, status: int = 200) -> web.Response:
    if stored is None:
        raise ProblemError(
            "calendar-write-not-found",
            f"Provider {provider_id} has no calendar its bookings are written to; PUT one to"
            " this path to set it",
        )
    return answer(CalendarWriteAnswer(calendar=present_calendar(stored)), status)


async def set_calendar_write(request: web.Request) -> web.Response:
    ctx, provider_id = _whose(request)
    body = await read_body(request, CalendarWriteRequest)
    url, username, sealed = await _checked(ctx, body)
    stored, created = await ctx.store.set_write_calendar(
        provider_id, url, username, sealed, ctx.now()
    )
    ctx.write_back.wake()  # a new calendar is given the bookings; waiting writes are due now
    return _shown(stored, provider_id, 201 if created else 200)


async def get_calendar_write(request: web.Request) -> web.Response:
    ctx, provider_id = _whose(request)
    return _shown(await ctx.store.write_calendar(provider_id), provider_id)


async def remove_calendar_write(request: web.Request) -> web.Response:
    ctx, provider_id = _whose(request)
    return _shown(await ctx.store.delete_write_calendar(provider_id), provider_id)


_PATH = "/providers/{providerId}/calendar-write"
_KEEP = "Only the provider itself (or an admin) sees and sets the calendar its bookings go to"
_NONE = "The provider has no calendar its bookings are written to"

OPERATIONS = [
    Operation(
        "PUT",
        _PATH,
        set_calendar_write,
        summary="Set the calendar a provider's bookings are written to",
        tag="calendar-write",
        description="A CalDAV calendar collection (the provider's own: Nextcloud, Fastmail,"
        " iCloud, Radicale...). Each confirmed appointment becomes an event there, under the"
        " same UID as its calendar-feed event and e-mail invitation, with the client and the"
        " appointment type in its summary and the note in its description; a move updates it, a"
        " cancellation deletes it. The client is its attendee with SCHEDULE-AGENT=CLIENT, so the"
        " calendar server sends no invitations of its own. The writes are made in the"
        " background, in order, and tried again after a failure (a minute, doubling, for up to"
        " a day); `status` says how they go. Each PUT has every booking not yet over written"
        " there, and the writes waiting tried at once (so setting it again with the right"
        " password brings it up to date). What was written stays in a calendar that is replaced"
        " or removed.",
        body=CalendarWriteRequest,
        path_params={"providerId": PartyId},
        answers={
            200: (CalendarWriteAnswer, "The calendar, replacing the one set before"),
            201: (CalendarWriteAnswer, "The calendar, the provider's first"),
        },
        problems={
            403: _KEEP,
            422: "A password on a server without --secret-key or without a user name, a user"
            " name with ':', or a URL that is not http(s) of a host or whose host is or resolves"
            " to an address the server does not connect to (loopback and private ones without"
            " --allow-private-addresses; link-local and other special-purpose ones never)",
        },
    ),
    Operation(
        "GET",
        _PATH,
        get_calendar_write,
        summary="The calendar a provider's bookings are written to, and how writing to it goes",
        tag="calendar-write",
        path_params={"providerId": PartyId},
        answers={200: (CalendarWriteAnswer, "The calendar, without its password")},
        problems={403: _KEEP, 404: _NONE},
    ),
    Operation(
        "DELETE",
        _PATH,
        remove_calendar_write,
        summary="Stop writing a provider's bookings to their calendar",
        tag="calendar-write",
        description="The writes still waiting are dropped; the events already written stay in"
        " the calendar.",
        path_params={"providerId": PartyId},
        answers={200: (CalendarWriteAnswer, "The calendar, removed")},
        problems={403: _KEEP, 404: _NONE},
    ),
]
