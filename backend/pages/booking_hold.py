"""Holding a start from the booking page: the form's POST (`/book/<providerId>/hold`), which
places an ordinary hold for the client of the e-mail address given and queues the e-mail whose
link confirms it, and the page that says so and counts the hold down
(`/book/<providerId>/sent/<ref>`).

Against abuse: a form from another site is refused; so is one that fills in the field only
programs see; sending is limited per network address and per e-mail address (whatever --rate
says), and so are live unconfirmed page holds (--page-holds-per-address), beyond each client's
--max-holds. Every refusal is a page that says why."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiohttp import web

from backend.api.context import AppContext, context
from backend.api.operation import Operation, read_query
from backend.gate.problems import ProblemError, refusal_answer
from backend.gate.ratelimit import RateLimiter, retry_after_header
from backend.live.mail.letters import when_in_words
from backend.pages.booking import ShownStart, book_url, start_form
from backend.pages.offer import Offer, offer_of
from backend.pages.rendering import (
    Refusal,
    as_pages,
    form_fields,
    page,
    read_form,
    refuse_cross_site,
    see_other,
)
from backend.pages.week_starts import length_in_words, moment_in_words, open_starts
from backend.rules.booking import BookingError, SlotTaken
from backend.rules.service_types import BufferConflict
from backend.runtime.addresses import AddressError, checked_address
from backend.runtime.clock import Clock
from backend.runtime.settings import Settings
from backend.store.page_records import PageHold, TooManyPageHolds
from shared.booking_page_wire import BookHoldForm, BookSentQuery

SENDS = web.AppKey("booking_page_sends", RateLimiter)
NEAREST = 6
"""Other starts offered when the one chosen was just taken."""
NEAR_SECONDS = 3 * 86_400
"""How far from the chosen start the others are looked for."""


def send_limiter(settings: Settings, clock: Clock) -> RateLimiter:
    """The buckets of booking forms sent, per network address and per e-mail address: the hour's
    allowance at once, then spread over the hour. On whatever --rate says."""
    per_hour = settings.page_sends_per_hour
    return RateLimiter(per_hour / 3600, per_hour, clock)


@dataclass(frozen=True)
class Sent:
    """The page that says a link was sent."""

    what: str
    when: str
    until: str
    until_epoch: float


async def hold_start(request: web.Request) -> web.Response:
    ctx = context(request)
    refuse_cross_site(request, ctx, why="Open the booking page and choose a time there.")
    fields = await form_fields(request)
    try:
        form = await read_form(request, BookHoldForm)
    except ProblemError as problem:
        return await _form_again(request, fields, problem)
    offer = await offer_of(request, type_id=form.type, minutes=form.minutes, zone=form.zone)
    now = ctx.now()
    if form.website:
        raise Refusal(
            422,
            "Not sent",
            "The form came back with a field filled in that people do not see, as programs that"
            " send forms do; nothing was held. If you are a person, open the page again and send"
            " the form from there.",
            back=book_url(offer),
            back_label="Back to the booking page",
        )
    try:
        email = checked_address(form.email)
    except AddressError as error:
        return start_form(
            offer, form.slot, form.at, now, status=422, values=fields,
            errors={"email": "This is not an e-mail address. " + str(error).split(": ", 1)[-1]},
        )  # fmt: skip
    limit_sends(request, book_url(offer), email=email)
    hold = PageHold(
        secret=secrets.token_urlsafe(24),
        ref=secrets.token_urlsafe(12),
        remote=str(request.remote),
        email_key=email.lower(),
        name=form.name,
        time_zone=offer.zone if offer.zone_given else None,
        recipient=email,
        per_address=ctx.settings.page_holds_per_address,
        per_client=ctx.settings.page_holds_per_address,
    )
    chosen = offer.chosen
    try:
        await ctx.store.reserve(
            form.slot, form.at, "", now,
            length=chosen.seconds, note=form.note or None,
            service_id=None if chosen.service is None else chosen.service.service_id, page=hold,
        )  # fmt: skip
    except (SlotTaken, BufferConflict):
        return await taken_page(ctx, offer, form.at, now)
    except BookingError as error:
        raise Refusal(
            429 if isinstance(error, TooManyPageHolds) else refusal_answer(error).status,
            "Not held",
            f"{error.detail}. Nothing was held.",
            back=book_url(offer),
            back_label="Choose another time",
        ) from None
    ctx.metrics.reserves.inc()
    ctx.mail.wake()
    return see_other(book_url(offer, f"/sent/{hold.ref}"))


async def _form_again(
    request: web.Request, fields: dict[str, str], problem: ProblemError
) -> web.Response:
    """The form again, each field the problem names with what is wrong beside it; a problem with
    the hidden fields (the start, the type) is the page's refusal."""
    named = {
        e.field: e.message for e in problem.errors or [] if e.field in ("name", "email", "note")
    }
    slot, at = fields.get("slot", ""), fields.get("at", "")
    if not named or not at.isdigit():
        raise problem
    offer = await offer_of(
        request,
        type_id=fields.get("type", ""),
        minutes=int(fields["minutes"]) if fields.get("minutes", "").isdigit() else 0,
        zone=fields.get("zone", ""),
    )
    now = context(request).now()
    return start_form(offer, slot, int(at), now, status=422, values=fields, errors=named)


def limit_sends(request: web.Request, back: str, *, email: str | None = None) -> None:
    """Refuse a form beyond the hour's allowance of its network address or its e-mail address."""
    sends = request.app[SENDS]
    keys = [f"address:{request.remote}"] + ([] if email is None else [f"email:{email.lower()}"])
    for key in keys:
        wait = sends.take(key, write=False)
        if wait is not None:
            seconds = retry_after_header(wait)
            raise Refusal(
                429,
                "Too many tries",
                f"Too many booking forms were sent from your network or for this e-mail address;"
                f" try again in {seconds} seconds. Nothing was held.",
                headers={"Retry-After": seconds},
                back=back,
                back_label="Back to the booking page",
            )


async def taken_page(ctx: AppContext, offer: Offer, at: int, now: float) -> web.Response:
    """The start was just taken: say so, and offer the nearest others of the same kind."""
    chosen = offer.chosen
    starts = await open_starts(
        ctx, offer.profile.provider_id, at - NEAR_SECONDS, at + NEAR_SECONDS, offer.zone, now,
        span=chosen.seconds, service=chosen.service,
    )  # fmt: skip
    nearest = sorted(starts, key=lambda s: (abs(s.at - at), s.at))[:NEAREST]
    others = [
        ShownStart(
            f"{s.day}, {s.time}",
            book_url(offer, "/start", slot=s.slot_id, at=s.at),
            f"{s.day}, {s.time}",
        )
        for s in sorted(nearest, key=lambda s: s.at)
    ]
    return page(
        "book_taken.html",
        409,
        "Just taken",
        offer=offer,
        message=f"Someone else took {moment_in_words(at, offer.zone)} a moment ago; nothing was"
        " held for you.",
        refused=True,
        others=others,
        back=book_url(offer),
        back_label="See the whole week",
    )


async def hold_sent(request: web.Request) -> web.Response:
    """Check your e-mail: the link was sent; the hold lapses at ..., counted down."""
    ctx = context(request)
    query = read_query(request, BookSentQuery)
    offer = await offer_of(request, type_id=query.type, minutes=query.minutes, zone=query.zone)
    found = await ctx.store.hold_link(ctx.now(), ref=request.match_info["ref"])
    if found is None or found.provider_id != offer.profile.provider_id:
        raise Refusal(
            404,
            "Nothing here",
            "This page does not know that hold. Holds last a while only; choose a time again.",
            back=book_url(offer),
            back_label="Back to the booking page",
        )
    sent = Sent(
        what=found.type_name or length_in_words(found.ends - found.start),
        when=when_in_words(found.start, found.ends, offer.zone),
        until=moment_in_words(found.expires_at, offer.zone),
        until_epoch=found.expires_at,
    )
    return page(
        "book_sent.html",
        200,
        {"held": "Check your e-mail", "confirmed": "Booked", "lapsed": "The hold lapsed"}.get(
            found.state, "No longer held"
        ),
        offer=offer,
        script=found.state == "held",
        sent=sent,
        state=found.state,
        back=book_url(offer),
        back_label="Back to the booking page",
    )


HOLD_PROBLEMS = {
    403: "The form came from another site",
    404: "No provider has a booking page at this address, or theirs is off",
    409: "The start was just taken (the page offers the nearest others) or is too soon",
    410: "A field is wrong and the start has passed meanwhile",
    422: "A field is wrong (the form says which), the form filled in the field only programs"
    " see, or the rules refuse the hold",
    429: "Too many forms from this network or for this e-mail address, or too many live holds",
}

OPERATIONS = [
    Operation(
        "POST",
        "/book/{providerId}/hold",
        as_pages(hold_start),
        summary="Hold a start from the booking page and e-mail the link that confirms it (a form)",
        tag="pages",
        description="No token. Places an ordinary hold for the booking page's client of this"
        " e-mail address (made on first use, with an opaque id; never a client who holds a"
        " token) and queues an e-mail whose link confirms it; answers 303 to the page that says"
        " so. A hold whose link is not used lapses as any hold does.",
        form=BookHoldForm,
        path_params={"providerId": str},
        media_type="text/html",
        answers={303: (None, "Held: see the page that says the e-mail was sent")},
        problems=HOLD_PROBLEMS,
        public=True,
    ),
    Operation(
        "GET",
        "/book/{providerId}/sent/{ref}",
        as_pages(hold_sent),
        summary="The page after a hold: check your e-mail, and how long the hold lasts",
        tag="pages",
        query=BookSentQuery,
        description="No token; `ref` is random, and the page names no one.",
        path_params={"providerId": str, "ref": str},
        media_type="text/html",
        answers={200: (None, "The page")},
        problems={404: "No such hold on this page"},
        public=True,
    ),
]
