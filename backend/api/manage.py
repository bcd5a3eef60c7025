"""The manage link an e-mail carries, `<public URL>/manage/<secret>`: a plain HTML page (no script,
nothing from another host) that shows the client's appointment and lets them cancel it or move it
to a free start of the same length with the same provider, with no account.

The secret in the address is the credential, scoped to one appointment and useless once it has
started. Guesses are limited per address; a form is refused when another site sent it (its
`Origin` or `Sec-Fetch-Site` says so, or its hidden token is not the page's)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jinja2
import msgspec
from aiohttp import web

from backend.api.context import AppContext, context
from backend.api.operation import Handler, Operation, convert, read_query
from backend.gate.problems import PROBLEM_TYPES, ProblemError, refusal_answer
from backend.gate.ratelimit import RateLimiter, retry_after_header
from backend.live.mail.letters import day_in_words, local_time, when_in_words, zone_named
from backend.rules.booking import BookingError
from backend.runtime.clock import Clock
from backend.store.mail_records import ManagedAppointment
from shared.manage_wire import ManageCancelForm, ManageMoveForm, ManageQuery

S = TypeVar("S", bound=msgspec.Struct)
F = TypeVar("F", ManageCancelForm, ManageMoveForm)

MISSES_PER_MINUTE = 10
"""Unknown secrets one address may try a minute (as a burst, then one every 6 seconds)."""
MISSES = web.AppKey("manage_misses", RateLimiter)
WEEK_DAYS = 7
MOST_STARTS = 700
"""Free starts one week's page lists at most (a week of 15-minute slots is 672)."""

_SECRET = re.compile(r"[A-Za-z0-9_-]{32}")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    # Not `no-referrer`: under it a browser sends `Origin: null` with the page's own forms, and
    # the origin check below could not tell them from another site's. `same-origin` still sends
    # the address (and its secret) to no other host, and the page links to none.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
_PAGES = jinja2.Environment(
    loader=jinja2.PackageLoader("backend.api", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def miss_limiter(clock: Clock) -> RateLimiter:
    """The buckets of unknown secrets, per address."""
    return RateLimiter(MISSES_PER_MINUTE / 60, MISSES_PER_MINUTE, clock)


class Refusal(Exception):
    """A request the page refuses, shown as a page: a status, a title and what happened."""

    def __init__(
        self,
        status: int,
        title: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        back: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.headers = dict(headers or {})
        self.back = back


def page(
    status: int, title: str, headers: Mapping[str, str] | None = None, **values: Any
) -> web.Response:
    body = _PAGES.get_template("manage.html").render(title=title, **values)
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={**HEADERS, **(headers or {})},
    )


def as_pages(handler: Handler) -> Handler:
    """The handler, its refusals answered as pages (never a problem document or a traceback)."""

    @functools.wraps(handler)
    async def answered_as_page(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refusal as refusal:
            return page(
                refusal.status,
                refusal.title,
                refusal.headers,
                message=refusal.message,
                refused=True,
                back=refusal.back,
            )
        except ProblemError as problem:
            return page(
                PROBLEM_TYPES[problem.slug].status,
                "This request was not understood",
                message=f"{problem.detail}. Nothing was changed.",
                refused=True,
            )

    return answered_as_page


# --- what every request of the page checks -------------------------------------------------------


async def opened(request: web.Request) -> tuple[AppContext, str, ManagedAppointment]:
    """The appointment the address's secret opens; an address that has tried too many unknown
    secrets is refused before any is looked up, so guessing goes no faster for a lucky one."""
    ctx, secret = context(request), request.match_info["secret"]
    misses, address = request.app[MISSES], f"address:{request.remote}"
    wait = misses.waiting(address)
    if wait is not None:
        seconds = retry_after_header(wait)
        raise Refusal(
            429,
            "Too many tries",
            f"Too many links that are not valid were opened from your address; try again in"
            f" {seconds} seconds.",
            headers={"Retry-After": seconds},
        )
    found = await ctx.store.managed_appointment(secret) if _SECRET.fullmatch(secret) else None
    if found is None:
        misses.take(address, write=False)
        raise Refusal(
            404,
            "This link is not valid",
            "No appointment has this address. Check that the whole link from the e-mail was"
            " opened; a later e-mail about the same appointment carries a link that works.",
        )
    return ctx, secret, found


SAME_SITE = frozenset({"same-origin", "none"})
"""`Sec-Fetch-Site` values of a request the page's own forms (or the user) made; `same-site` is a
neighbouring host, which may be someone else's."""


def refuse_cross_site(request: web.Request, ctx: AppContext) -> None:
    """A form sent by another site: its browser says so (`Sec-Fetch-Site`), or its
    `Origin` is neither the server's public address nor the address this request was made to."""
    fetched_from = request.headers.get("Sec-Fetch-Site", "none").lower()
    origin = request.headers.get("Origin")
    own = {_origin(ctx.public_base()), f"{request.scheme}://{request.host}".lower()}
    if fetched_from not in SAME_SITE or (origin is not None and origin.lower() not in own):
        raise Refusal(
            403,
            "Refused: sent from another site",
            "This request came from another web site, not from your appointment's page, so"
            " nothing was changed. Open the link from your e-mail to manage your appointment.",
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


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


def moment_in_words(epoch: float, zone: str) -> str:
    where, name = zone_named(zone)
    moment = local_time(epoch, where)
    return f"{day_in_words(moment)} at {moment:%H:%M} ({name})"


def length_in_words(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


async def read_form(request: web.Request, kind: type[S]) -> S:
    """A form's fields as the Struct, or the page that says what is wrong."""
    fields = await request.post()
    data = {name: value for name, value in fields.items() if isinstance(value, str)}
    if len(data) != len(fields):
        raise Refusal(400, "This request was not understood", "A form sends no files.")
    return convert(data, kind, from_text=True)


# --- the page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    provider: str
    type_name: str | None
    when: str
    length: str
    client: str | None


@dataclass(frozen=True)
class Start:
    slot_id: str
    at: int
    time: str


@dataclass(frozen=True)
class Day:
    name: str
    starts: list[Start]


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


def shown(found: ManagedAppointment) -> Shown:
    return Shown(
        provider=found.provider_name or found.provider_id,
        type_name=found.type_name,
        when=when_in_words(found.start, found.ends, found.zone),
        length=length_in_words(found.ends - found.start),
        client=found.client_name,
    )


async def free_starts(
    ctx: AppContext, found: ManagedAppointment, week: int, now: float
) -> tuple[str, list[Day]]:
    """The week's free starts where the same length fits with the same provider (and the same
    type's rules, when it has a type that is still offered), by day in the client's zone."""
    where, _ = zone_named(found.zone)
    first_day = local_time(now, where).date() + timedelta(days=WEEK_DAYS * week)
    last_day = first_day + timedelta(days=WEEK_DAYS - 1)
    begins = datetime.combine(first_day, time(), where).timestamp()
    ends = datetime.combine(last_day + timedelta(days=1), time(), where).timestamp()
    service = await ctx.store.find_service(found.service_id) if found.service_id else None
    if service is not None and service.archived_at is not None:
        service = None
    rows = await ctx.store.list_open(
        max(begins, now), ends, found.provider_id, None, MOST_STARTS, now,
        span=found.ends - found.start, service=service,
    )  # fmt: skip
    days: dict[str, list[Start]] = {}
    for row in rows:
        moment = local_time(row.start, where)
        days.setdefault(day_in_words(moment), []).append(
            Start(row.id, row.start, f"{moment:%H:%M}")
        )
    label = (
        f"from {day_in_words(local_time(begins, where))}"
        f" to {day_in_words(local_time(ends - 1, where))}"
    )
    return label, [Day(name, starts) for name, starts in days.items()]


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
        return page(200, "Your appointment", appointment=shown(found), message=message)
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
    return page(200, "Your appointment", appointment=shown(found), message=message, actions=actions)


async def acting(
    request: web.Request, action: str, kind: type[F]
) -> tuple[AppContext, str, ManagedAppointment, F]:
    """What a form of the page needs before it acts: from this site, a known secret, the page's
    token, and an appointment that can still change."""
    refuse_cross_site(request, context(request))
    ctx, secret, found = await opened(request)
    form = await read_form(request, kind)
    check_token(form.token, secret, action, found)
    gone = stale(found, ctx.now())
    if gone is not None:
        raise Refusal(409, "Nothing was changed", gone, back=f"/manage/{secret}")
    return ctx, secret, found, form


def see_page(secret: str, done: str) -> web.Response:
    """Post/Redirect/Get: the page, which says what was done (a reload repeats nothing)."""
    return web.Response(
        status=303, headers={**HEADERS, "Location": f"/manage/{secret}?done={done}"}
    )


def refused_by_rules(error: BookingError, secret: str, what: str) -> Refusal:
    return Refusal(
        refusal_answer(error).status,
        f"Not {what}",
        f"{error.detail}. Nothing was changed.",
        back=f"/manage/{secret}",
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
