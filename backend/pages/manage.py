"""The manage link an e-mail carries, `<public URL>/manage/<secret>`: a plain HTML page (no script,
nothing from another host) that shows the client's appointment and lets them cancel it or move it
to a free start of the same length with the same provider, with no account.

The secret in the address is the credential, scoped to one appointment and useless once it has
started. Guesses are limited per address; a form is refused when another site sent it (its
`Origin` or `Sec-Fetch-Site` says so, or its hidden token is not the page's)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from aiohttp import web

from backend.api.context import AppContext, context
from backend.api.operation import Operation, read_query
from backend.gate.problems import refusal_answer
from backend.live.mail.letters import when_in_words, zone_named
from backend.pages.appointment_view import shown
from backend.pages.rendering import (
    Refusal,
    as_pages,
    page,
    read_form,
    refuse_cross_site,
    see_other,
)
from backend.pages.secret_links import look_up
from backend.pages.week_starts import (
    WEEK_DAYS,
    Day,
    moment_in_words,
    today,
    week_of_starts,
)
from backend.rules.booking import BookingError
from backend.store.mail_records import ManagedAppointment
from shared.manage_wire import ManageCancelForm, ManageMoveForm, ManageQuery

F = TypeVar("F", ManageCancelForm, ManageMoveForm)


async def opened(request: web.Request) -> tuple[AppContext, str, ManagedAppointment]:
    """The appointment the address's secret opens."""
    ctx = context(request)
    unknown = Refusal(
        404,
        "This link is not valid",
        "No appointment has this address. Check that the whole link from the e-mail was"
        " opened; a later e-mail about the same appointment carries a link that works.",
    )
    secret, found = await look_up(request, ctx.store.managed_appointment, unknown)
    return ctx, secret, found


def form_token(secret: str, action: str, found: ManagedAppointment) -> str:
    """The hidden token of a form of the page: only who can read the page (or its address) can
    make it, and it names the appointment as the page showed it, so a page gone stale (the
    appointment changed since) cannot act on it unseen."""
    shown = f"{action}\n{found.uid}\n{found.appointment_id}\n{found.updated_at!r}"
    return hmac.new(secret.encode(), shown.encode(), hashlib.sha256).hexdigest()


def check_token(token: str, secret: str, action: str, found: ManagedAppointment) -> None:
    if not hmac.compare_digest(token, form_token(secret, action, found)):
        raise Refusal(
            403,
            "Refused: not sent from the current page",
            "This form was not sent from your appointment's page as it is now: the appointment"
            " may have changed since the page was shown, or another site sent the form. Nothing"
            " was changed.",
            back=f"/manage/{secret}",
            back_label="Back to your appointment",
        )


def stale(found: ManagedAppointment, now: float) -> str | None:
    """What makes the link useless now, in words; None while it can still act."""
    if found.status == "CANCELLED":
        return f"This appointment was cancelled on {moment_in_words(found.updated_at, found.zone)}."
    if now >= found.ends:
        return "This appointment has passed; it can no longer be changed."
    if now >= found.start:
        return "This appointment has started; it can no longer be changed."
    return None


# --- the page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actions:
    cancel_url: str
    cancel_token: str
    move_url: str
    move_token: str
    zone: str
    week_label: str
    days: list[Day]
    previous_url: str | None
    next_url: str


async def free_starts(
    ctx: AppContext, found: ManagedAppointment, week: int, now: float
) -> tuple[str, list[Day]]:
    """The week's free starts where the same length fits with the same provider (and the same
    type's rules, when it has a type that is still offered), by day in the client's zone."""
    service = await ctx.store.find_service(found.service_id) if found.service_id else None
    if service is not None and service.archived_at is not None:
        service = None
    first_day = today(now, found.zone) + timedelta(days=WEEK_DAYS * week)
    shown_week = await week_of_starts(
        ctx, found.provider_id, first_day, found.zone, now,
        span=found.ends - found.start, service=service,
    )  # fmt: skip
    return shown_week.label, shown_week.days


DONE = {"cancelled": "Your appointment is cancelled.", "moved": "Your appointment has been moved."}


async def manage_page(request: web.Request) -> web.Response:
    query = read_query(request, ManageQuery)
    ctx, secret, found = await opened(request)
    now = ctx.now()
    gone = stale(found, now)
    done = query.done if isinstance(query.done, str) else None
    cancelled = found.status == "CANCELLED"
    message = DONE[done] if done is not None and (done == "cancelled") == cancelled else None
    if gone is not None:
        message = f"{message} {gone}" if message else gone
        return page(
            "manage.html", 200, "Your appointment", appointment=shown(found), message=message
        )
    if message is not None:
        message += f" It is now on {when_in_words(found.start, found.ends, found.zone)}."
    label, days = await free_starts(ctx, found, query.week, now)
    base = f"/manage/{secret}"
    actions = Actions(
        cancel_url=f"{base}/cancel",
        cancel_token=form_token(secret, "cancel", found),
        move_url=f"{base}/move",
        move_token=form_token(secret, "move", found),
        zone=zone_named(found.zone)[1],
        week_label=label,
        days=days,
        previous_url=None
        if query.week == 0
        else (base if query.week == 1 else f"{base}?week={query.week - 1}"),
        next_url=f"{base}?week={min(query.week + 1, 52)}",
    )
    return page(
        "manage.html",
        200,
        "Your appointment",
        appointment=shown(found),
        message=message,
        actions=actions,
    )


async def acting(
    request: web.Request, action: str, kind: type[F]
) -> tuple[AppContext, str, ManagedAppointment, F]:
    """What a form of the page needs before it acts: from this site, a known secret, the page's
    token, and an appointment that can still change."""
    refuse_cross_site(
        request,
        context(request),
        why="Open the link from your e-mail to manage your appointment.",
    )
    ctx, secret, found = await opened(request)
    form = await read_form(request, kind)
    check_token(form.token, secret, action, found)
    gone = stale(found, ctx.now())
    if gone is not None:
        raise Refusal(
            409,
            "Nothing was changed",
            gone,
            back=f"/manage/{secret}",
            back_label="Back to your appointment",
        )
    return ctx, secret, found, form


def see_page(secret: str, done: str) -> web.Response:
    """Post/Redirect/Get: the page, which says what was done (a reload repeats nothing)."""
    return see_other(f"/manage/{secret}?done={done}")


def refused_by_rules(error: BookingError, secret: str, what: str) -> Refusal:
    return Refusal(
        refusal_answer(error).status,
        f"Not {what}",
        f"{error.detail}. Nothing was changed.",
        back=f"/manage/{secret}",
        back_label="Back to your appointment",
    )


async def cancel_appointment(request: web.Request) -> web.Response:
    ctx, secret, found, _ = await acting(request, "cancel", ManageCancelForm)
    try:
        await ctx.store.cancel(found.appointment_id, found.client_id, None, ctx.now())
    except BookingError as error:
        raise refused_by_rules(error, secret, "cancelled") from None
    ctx.metrics.cancels.inc()
    return see_page(secret, "cancelled")


async def move_appointment(request: web.Request) -> web.Response:
    ctx, secret, found, form = await acting(request, "move", ManageMoveForm)
    try:
        await ctx.store.move(found.appointment_id, form.slot, form.at, found.client_id, ctx.now())
    except BookingError as error:
        raise refused_by_rules(error, secret, "moved") from None
    return see_page(secret, "moved")


PAGE_PROBLEMS = {
    403: "The form came from another site, or not from the page as it is now; nothing changed",
    404: "No appointment has this address",
    409: "The appointment was cancelled, has started or has passed, or the new start is taken",
    422: "The rules refuse the change (inside the notice period, for one); the page says why",
}

OPERATIONS = [
    Operation(
        "GET",
        "/manage/{secret}",
        as_pages(manage_page),
        summary="The manage page a client's e-mail links to: the appointment, Cancel, Reschedule",
        tag="manage",
        description="No bearer token: the secret in the address is the credential. A plain HTML"
        " page (no script, nothing from another host) in the client's zone, with a form to"
        " cancel and the week's free starts of the same length with the same provider, each a"
        " form that moves the appointment there. A link whose appointment was cancelled, has"
        " started or has passed says so. Unknown secrets are limited per address (429).",
        query=ManageQuery,
        path_params={"secret": str},
        media_type="text/html",
        answers={200: (None, "The page")},
        problems={404: PAGE_PROBLEMS[404]},
        public=True,
    ),
    Operation(
        "POST",
        "/manage/{secret}/cancel",
        as_pages(cancel_appointment),
        summary="Cancel the appointment from its manage page (a form)",
        tag="manage",
        description="The same cancel as DELETE /reservations/{timeSlotId}, by the client."
        " Answers 303 to the page, which then says it is cancelled.",
        form=ManageCancelForm,
        path_params={"secret": str},
        media_type="text/html",
        answers={303: (None, "Cancelled: see the page")},
        problems={s: PAGE_PROBLEMS[s] for s in (403, 404, 409)},
        public=True,
    ),
    Operation(
        "POST",
        "/manage/{secret}/move",
        as_pages(move_appointment),
        summary="Move the appointment to a free start its manage page offered (a form)",
        tag="manage",
        description="The same atomic move as POST /reservations/{timeSlotId}/move, by the"
        " client, with the same notice rules. Answers 303 to the page, which then shows the new"
        " time.",
        form=ManageMoveForm,
        path_params={"secret": str},
        media_type="text/html",
        answers={303: (None, "Moved: see the page")},
        problems=PAGE_PROBLEMS,
        public=True,
    ),
]
