"""Every failure becomes an RFC 9457 problem document, produced in one middleware.

A problem's `type` is a relative URI, `/problems/<slug>`, that the server also serves, so a
caller can look up what a problem means and what to do about it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from msgspec import UNSET

from backend.gate.request_trace import request_id_of
from backend.rules import appointments, booking, service_types
from backend.store.base import (
    Answer,
    CalendarFeedNotFound,
    IdempotencyKeyReused,
    ProviderNotFound,
    Replayed,
    TokenNotFound,
    TooManyWebhooks,
    WebhookNotFound,
)
from backend.store.busy_records import BusySourceNotFound, TooManyBusySources
from backend.store.page_records import TooManyPageHolds
from backend.store.waitlist_records import TooManyWaitlistEntries, WaitlistEntryNotFound
from shared.wire import FieldError, Problem, encode_line

REPLAYED_HEADER = "Idempotent-Replayed"


log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    advice: str


_TYPES = [
    ProblemType("invalid-request", 400, "Invalid request", "Fix the fields listed in `errors`."),
    ProblemType("unauthorized", 401, "Unauthorized", "Send `Authorization: Bearer <token>`."),
    ProblemType("forbidden", 403, "Forbidden", "The token may not do this; use one that may."),
    ProblemType("rate-limited", 429, "Too many requests", "Wait for the seconds in `Retry-After`."),
    ProblemType(
        "idempotency-key-reused",
        422,
        "Idempotency-Key used for another request",
        "Use a new key for a new request; reuse a key only to retry the same request.",
    ),
    ProblemType(
        "idempotency-key-in-use",
        409,
        "Request with this Idempotency-Key in progress",
        "Retry in a moment to get its answer.",
    ),
    ProblemType("token-not-found", 404, "Token not found", "GET /tokens lists the tokens."),
    ProblemType(
        "webhook-not-found",
        404,
        "Webhook not found",
        "GET /webhooks lists your webhook endpoints.",
    ),
    ProblemType(
        "too-many-webhooks",
        409,
        "Too many webhooks",
        "Remove an endpoint you no longer use (GET /webhooks lists them), then register the new"
        " one.",
    ),
    ProblemType(
        "busy-source-not-found",
        404,
        "Calendar not found",
        "GET /providers/{providerId}/busy-sources lists the provider's calendars.",
    ),
    ProblemType(
        "too-many-busy-sources",
        409,
        "Too many calendars",
        "Remove a calendar the provider no longer uses (GET /providers/{providerId}/busy-sources"
        " lists them), then add the new one.",
    ),
    ProblemType(
        "busy-source-refreshing",
        409,
        "Calendar still being read",
        "Another refresh of this calendar is still under way; its status will say how it went"
        " (GET /providers/{providerId}/busy-sources/{sourceId}).",
    ),
    ProblemType(
        "calendar-feed-not-found",
        404,
        "Calendar feed not found",
        "GET /calendar-feeds lists your feeds; a revoked feed is gone for good.",
    ),
    ProblemType(
        "provider-not-found",
        404,
        "Provider not found",
        "GET /providers lists the providers; a provider is known once they have a token.",
    ),
    ProblemType(
        "waitlist-entry-not-found",
        404,
        "Waitlist entry not found",
        "GET /waitlist lists your entries; an entry that left its line is gone.",
    ),
    ProblemType(
        "too-many-waitlist-entries",
        409,
        "Too many waitlist entries",
        "Leave an entry you no longer need (GET /waitlist lists them; DELETE /waitlist/{waitlistId}"
        " leaves one), then join again.",
    ),
    ProblemType(
        "schedule-not-found",
        404,
        "Schedule not found",
        "The provider has no weekly schedule: PUT one to /providers/{providerId}/schedule.",
    ),
    ProblemType(
        "calendar-write-not-found",
        404,
        "No calendar to write bookings to",
        "The provider has none set: PUT one to /providers/{providerId}/calendar-write.",
    ),
    ProblemType(
        "changes-gone",
        410,
        "Changes no longer kept",
        "Reload what you show (e.g. GET /availability), then follow the feed from its lastSeq.",
    ),
    ProblemType("not-found", 404, "Not found", "See /openapi.json for the routes."),
    ProblemType(
        "method-not-allowed", 405, "Method not allowed", "The `Allow` header lists the methods."
    ),
    ProblemType("body-too-large", 413, "Request body too large", "Send at most 1 MiB."),
    ProblemType(
        "unsupported-media-type",
        415,
        "Unsupported media type",
        "Send the body as JSON with `Content-Type: application/json`.",
    ),
    ProblemType("rule-violation", 422, "Request breaks a rule", "Fix the fields in `errors`."),
    ProblemType(
        "actor-required",
        422,
        "Say who is acting",
        "This caller acts for no one in particular (an admin token, or a server started with"
        " --no-auth): name the clientId or providerId the request is for.",
    ),
    ProblemType(
        "slot-not-found", 404, "Time slot not found", "List open slots with GET /availability."
    ),
    ProblemType(
        "slot-time-mismatch",
        422,
        "timeSlot does not match the slot",
        "Send the slot's own `timestamp` as `timeSlot`.",
    ),
    ProblemType(
        "notice-too-short",
        422,
        "Too little notice",
        "Choose a slot further ahead; bookings need the server's notice period.",
    ),
    ProblemType(
        "slot-taken", 409, "Time slot not available", "Choose another slot from GET /availability."
    ),
    ProblemType(
        "provider-busy",
        409,
        "The provider is busy then",
        "The provider's own calendar has them busy at that time; choose another slot from GET"
        " /availability, which lists only times they are free.",
    ),
    ProblemType(
        "too-many-holds",
        409,
        "Too many holds",
        "Confirm or cancel a hold you have (GET /reservations), then try again.",
    ),
    ProblemType(
        "not-your-reservation",
        403,
        "Not your reservation",
        "Only the client who holds a slot may confirm it; that client, the slot's provider or an"
        " admin may cancel it.",
    ),
    ProblemType("not-held", 409, "Time slot is not held", "Reserve the slot before confirming."),
    ProblemType("hold-lapsed", 410, "Hold lapsed", "Reserve the slot again if it is still open."),
    ProblemType(
        "nothing-to-cancel", 409, "Nothing to cancel", "The slot has no live hold or booking."
    ),
    ProblemType(
        "nothing-to-change",
        409,
        "No reservation to change",
        "The slot has no live hold or future booking; GET /reservations lists yours.",
    ),
    ProblemType(
        "too-late-to-move",
        422,
        "Too late to move",
        "A booking inside its notice period stays where it is; keep it, or cancel it.",
    ),
    ProblemType(
        "service-not-found",
        404,
        "Appointment type not found",
        "GET /providers/{providerId}/services lists what a provider offers.",
    ),
    ProblemType(
        "service-archived",
        409,
        "Appointment type no longer offered",
        "The provider archived it; choose one of the types GET /providers/{providerId}/services"
        " lists.",
    ),
    ProblemType(
        "too-far-ahead",
        422,
        "Too far ahead",
        "Choose a start within the type's booking window (its maxAdvanceDays).",
    ),
    ProblemType(
        "daily-limit-reached",
        409,
        "Daily limit reached",
        "The provider takes no more of this type that day; choose another day.",
    ),
    ProblemType("internal-error", 500, "Internal server error", "This is a bug; please report it."),
    ProblemType(
        "unavailable", 503, "Service unavailable", "The database is not answering; try later."
    ),
]
PROBLEM_TYPES: Mapping[str, ProblemType] = {t.slug: t for t in _TYPES}

_BOOKING_SLUGS: Mapping[type[booking.BookingError], str] = {
    booking.SlotNotFound: "slot-not-found",
    booking.SlotTimeMismatch: "slot-time-mismatch",
    booking.NoticeTooShort: "notice-too-short",
    booking.SlotTaken: "slot-taken",
    booking.TooManyHolds: "too-many-holds",
    booking.NotYourReservation: "not-your-reservation",
    booking.NotHeld: "not-held",
    booking.HoldLapsed: "hold-lapsed",
    booking.NothingToCancel: "nothing-to-cancel",
    booking.NothingToChange: "nothing-to-change",
    booking.TooLateToMove: "too-late-to-move",
    booking.RuleViolation: "rule-violation",
    service_types.BufferConflict: "slot-taken",
    appointments.ProviderBusy: "provider-busy",
    service_types.ServiceNotFound: "service-not-found",
    service_types.ServiceArchived: "service-archived",
    service_types.TooFarAhead: "too-far-ahead",
    service_types.DailyLimitReached: "daily-limit-reached",
    TooManyPageHolds: "too-many-holds",
    TokenNotFound: "token-not-found",
    ProviderNotFound: "provider-not-found",
    CalendarFeedNotFound: "calendar-feed-not-found",
    WebhookNotFound: "webhook-not-found",
    TooManyWebhooks: "too-many-webhooks",
    BusySourceNotFound: "busy-source-not-found",
    TooManyBusySources: "too-many-busy-sources",
    WaitlistEntryNotFound: "waitlist-entry-not-found",
    TooManyWaitlistEntries: "too-many-waitlist-entries",
}


class ProblemError(Exception):
    """Raised by handlers to answer with a problem document."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.errors = errors
        self.headers = headers


# --- bounds: an error document stays a few KB, whatever the request was ----------------------

MAX_LISTED_ERRORS = 20
"""A problem lists this many faults at most, and says how many more there were."""
MAX_FIELD_CHARS = 60
MAX_MESSAGE_CHARS = 300
MAX_DETAIL_CHARS = 2000


def shown(text: str, limit: int = 80) -> str:
    """A caller's text as an answer may echo it: cut short, with an ellipsis, when it is long."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bounded(errors: list[FieldError]) -> list[FieldError]:
    return [
        FieldError(
            field=shown(e.field, MAX_FIELD_CHARS), message=shown(e.message, MAX_MESSAGE_CHARS)
        )
        for e in errors[:MAX_LISTED_ERRORS]
    ]


def invalid(errors: list[FieldError]) -> ProblemError:
    """A 400 listing the fields that are malformed (the first ones, when there are many)."""
    listed = _bounded(errors)
    detail = "; ".join(f"{e.field}: {e.message}" for e in listed)
    if len(errors) > len(listed):
        detail += f"; and {len(errors) - len(listed):,} more"
    return ProblemError("invalid-request", detail, errors=errors)


def problem_answer(slug: str, detail: str, errors: list[FieldError] | None = None) -> Answer:
    """The problem document, bounded: at most MAX_LISTED_ERRORS faults (with a count of the
    rest), each name and message cut short, the detail too."""
    kind = PROBLEM_TYPES[slug]
    detail = shown(detail, MAX_DETAIL_CHARS)
    more = len(errors) - MAX_LISTED_ERRORS if errors else 0
    body = Problem(
        type=f"/problems/{slug}",
        title=kind.title,
        status=kind.status,
        detail=detail,
        message=detail,
        errors=_bounded(errors) if errors else UNSET,
        more_errors=more if more > 0 else UNSET,
    )
    return Answer(kind.status, encode_line(body), PROBLEM_CONTENT_TYPE)


def respond(answer: Answer, headers: Mapping[str, str] | None = None) -> web.Response:
    """An Answer as an HTTP response; a replayed one says so."""
    extra = dict(headers or {})
    if answer.replayed:
        extra[REPLAYED_HEADER] = "true"
    return web.Response(
        body=answer.body, status=answer.status, content_type=answer.content_type, headers=extra
    )


def problem_response(
    slug: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    return respond(problem_answer(slug, detail, errors), headers)


def refusal_answer(error: booking.BookingError) -> Answer:
    """The problem document for a refusal by the rules (stored for an Idempotency-Key too)."""
    errors = None
    if isinstance(error, booking.RuleViolation):
        errors = [FieldError(field=p.field, message=p.message) for p in error.problems]
    return problem_answer(_BOOKING_SLUGS[type(error)], error.detail, errors)


def _from_http(request: web.Request, error: web.HTTPException) -> web.Response:
    headers = {k: v for k, v in error.headers.items() if k.lower() in {"allow", "retry-after"}}
    if error.status == 404:
        where = shown(request.path)
        detail = f"No route {request.method} {where}; see /openapi.json for the routes"
        if len(request.path) > 1 and request.path.endswith("/"):
            detail = f"No route {request.method} {where}: leave out the trailing '/'"
        return problem_response("not-found", detail)
    if error.status == 405 and request.method == "OPTIONS":
        # Asking which methods a path takes is a fair question: 204 and the answer in `Allow`.
        methods = sorted({*error.headers.get("Allow", "").split(","), "OPTIONS"} - {""})
        return web.Response(status=204, headers={"Allow": ",".join(methods)})
    if error.status == 405:
        allowed = error.headers.get("Allow", "")
        detail = f"{request.method} is not allowed on {shown(request.path)}; use {allowed}"
        return problem_response("method-not-allowed", detail, headers=headers)
    if error.status == 413:
        return problem_response("body-too-large", "Request body is larger than 1 MiB")
    slug = {400: "invalid-request", 415: "unsupported-media-type"}.get(error.status)
    if slug is None:  # pragma: no cover - aiohttp raises no other error statuses for us
        log.error("unexpected HTTP error %s on %s %s", error.status, request.method, request.path)
        return problem_response("internal-error", "The server could not handle this request")
    return problem_response(slug, error.text or error.reason)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every refusal and every failure into a problem document; never leak a traceback."""
    try:
        return await handler(request)
    except ProblemError as problem:
        return problem_response(
            problem.slug, problem.detail, errors=problem.errors, headers=problem.headers
        )
    except booking.BookingError as error:
        return respond(refusal_answer(error))
    except Replayed as replay:
        return respond(replay.answer)
    except IdempotencyKeyReused as reuse:
        return problem_response(
            "idempotency-key-reused",
            f"Idempotency-Key '{reuse}' was first used for a different request;"
            " use a new key for a new request",
        )
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _from_http(request, error)
    except Exception:
        request_id = request_id_of(request)
        log.exception(
            "unhandled error on %s %s id=%s",
            request.method,
            request.raw_path,
            request_id,
            extra={"request_id": request_id},
        )
        return problem_response(
            "internal-error", "The server failed to handle this request; it has been logged"
        )
