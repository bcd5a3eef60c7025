"""Booking from the booking page with a slotbook token instead of the e-mail step
(`POST /book/<providerId>/book-with-token`): a client who already has a token books the start
chosen at once, as themselves. A token that is not valid counts as a miss, as an unknown link
does, so the form is no faster a way to guess tokens than the API."""

from __future__ import annotations

from aiohttp import web

from backend.api.context import context
from backend.api.operation import Operation
from backend.gate.access import Caller
from backend.gate.problems import refusal_answer
from backend.live.mail.letters import when_in_words
from backend.pages.booking import book_url
from backend.pages.booking_hold import Sent, limit_sends, taken_page
from backend.pages.offer import offer_of
from backend.pages.rendering import Refusal, as_pages, page, read_form, refuse_cross_site
from backend.pages.secret_links import MISSES, refuse_after_misses
from backend.pages.week_starts import moment_in_words
from backend.rules.booking import BookingError, SlotTaken
from backend.rules.service_types import BufferConflict
from shared.booking_page_wire import BookWithTokenForm


async def book_with_token(request: web.Request) -> web.Response:
    ctx = context(request)
    refuse_cross_site(request, ctx, why="Open the booking page and choose a time there.")
    form = await read_form(request, BookWithTokenForm)
    offer = await offer_of(request, type_id=form.type, minutes=form.minutes, zone=form.zone)
    back = book_url(offer)
    refuse_after_misses(request)
    caller = await ctx.authenticator.caller(f"Bearer {form.token}")
    if not isinstance(caller, Caller):
        request.app[MISSES].take(f"address:{request.remote}", write=False)
        raise Refusal(
            403,
            "That token did not work",
            f"{caller}. Nothing was booked. Check the token, or book with your e-mail address"
            " instead.",
            back=back,
            back_label="Back to the booking page",
        )
    if caller.role != "client" or caller.subject is None:
        raise Refusal(
            403,
            "Not a client's token",
            f"This is a{'n' if caller.role == 'admin' else ''} {caller.role}'s token; only a"
            " client's token books an appointment for itself. Nothing was booked.",
            back=back,
            back_label="Back to the booking page",
        )
    limit_sends(request, back)
    now = ctx.now()
    chosen = offer.chosen
    try:
        held = await ctx.store.reserve(
            form.slot, form.at, caller.subject, now,
            length=chosen.seconds, note=form.note or None,
            service_id=None if chosen.service is None else chosen.service.service_id,
        )  # fmt: skip
        await ctx.store.confirm(held.slot.id, held.slot.start, caller.subject, now)
    except (SlotTaken, BufferConflict):
        return await taken_page(ctx, offer, form.at, now)
    except BookingError as error:
        raise Refusal(
            refusal_answer(error).status,
            "Not booked",
            f"{error.detail}. Nothing was booked.",
            back=back,
            back_label="Choose another time",
        ) from None
    ctx.metrics.reserves.inc()
    ctx.metrics.confirms.inc()
    ctx.mail.wake()
    ends = form.at + chosen.seconds
    sent = Sent(
        what=chosen.label,
        when=when_in_words(form.at, ends, offer.zone),
        until=moment_in_words(form.at, offer.zone),
        until_epoch=form.at,
    )
    return page(
        "book_sent.html", 200, "Booked", offer=offer, sent=sent, state="confirmed",
        back=back, back_label="Back to the booking page",
    )  # fmt: skip


OPERATIONS = [
    Operation(
        "POST",
        "/book/{providerId}/book-with-token",
        as_pages(book_with_token),
        summary="Book a start from the booking page at once with a client's token (a form)",
        tag="pages",
        description="No Authorization header: the token is a field of the form. Holds and"
        " confirms the start for the token's client in one go, with the same rules as the API,"
        " and answers with the page that says it is booked. Tokens that are not valid are"
        " limited per address, as unknown links are (429).",
        form=BookWithTokenForm,
        path_params={"providerId": str},
        media_type="text/html",
        answers={200: (None, "Booked: the page says so")},
        problems={
            403: "The form came from another site, or the token is not valid or not a client's",
            404: "No provider has a booking page at this address, or theirs is off",
            409: "The start was just taken (the page offers the nearest others) or is too soon",
            422: "The rules refuse the booking; the page says why",
            429: "Too many tries from this network",
        },
        public=True,
    ),
]
