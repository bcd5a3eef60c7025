"""The link a booking page's e-mail carries, `<public URL>/confirm/<secret>`: it shows the held
appointment and a Confirm button. Opening it changes nothing (mail scanners open links); the
button's POST books it, once: the link is single-use, and it lapses with the hold. The
confirmation e-mail, with its invitation and manage link, follows as for any booking."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from backend.api.context import AppContext, context
from backend.api.operation import Operation
from backend.pages.appointment_view import shown
from backend.pages.rendering import Refusal, as_pages, page, read_form, refuse_cross_site, see_other
from backend.pages.secret_links import look_up
from backend.pages.week_starts import moment_in_words
from backend.rules.booking import BookingError
from backend.store.page_records import HoldLink
from shared.booking_page_wire import ConfirmHoldForm


@dataclass(frozen=True)
class Held:
    """Until when the hold lasts, in words and in seconds (for the countdown)."""

    until: str
    until_epoch: float


async def opened(request: web.Request) -> tuple[AppContext, str, HoldLink]:
    ctx = context(request)
    unknown = Refusal(
        404,
        "This link is not valid",
        "No held appointment has this address. Check that the whole link from the e-mail was"
        " opened.",
    )

    async def find(secret: str) -> HoldLink | None:
        return await ctx.store.hold_link(ctx.now(), secret=secret)

    secret, found = await look_up(request, find, unknown)
    return ctx, secret, found


def held(found: HoldLink) -> Held:
    return Held(moment_in_words(found.expires_at, found.zone), found.expires_at)


def state_in_words(found: HoldLink) -> tuple[str, str]:
    """The page's title and what it says, for a link that cannot confirm now."""
    return {
        "confirmed": (
            "Booked",
            "This appointment is booked. An e-mail with the invitation for your calendar and"
            " a link to cancel or reschedule it is on its way.",
        ),
        "lapsed": (
            "The hold lapsed",
            f"This time was held for you until {moment_in_words(found.expires_at, found.zone)};"
            " it was not confirmed in time and is free again. Choose a time again on the"
            " booking page.",
        ),
        "gone": (
            "No longer held",
            "This hold was cancelled, so there is nothing to confirm. Choose a time again on"
            " the booking page.",
        ),
    }[found.state if found.state != "held" else "gone"]


async def confirm_page(request: web.Request) -> web.Response:
    _, secret, found = await opened(request)
    back = f"/book/{found.provider_id}"
    if found.state != "held":
        title, message = state_in_words(found)
        return page(
            "confirm.html", 200, title, appointment=shown(found, note=found.note), message=message,
            back=back, back_label="The booking page",
        )  # fmt: skip
    return page(
        "confirm.html",
        200,
        "Confirm your appointment",
        appointment=shown(found, note=found.note),
        held=held(found),
        action=f"/confirm/{secret}",
        script=True,
    )


async def confirm_hold(request: web.Request) -> web.Response:
    refuse_cross_site(
        request, context(request), why="Open the link from your e-mail to confirm your booking."
    )
    await read_form(request, ConfirmHoldForm)
    ctx, secret, found = await opened(request)
    if found.state != "held":
        title, message = state_in_words(found)
        raise Refusal(409, title, message, back=f"/confirm/{secret}", back_label="Back")
    try:
        await ctx.store.confirm(found.appointment_id, found.start, found.client_id, ctx.now())
    except BookingError as error:
        raise Refusal(
            409,
            "Not booked",
            f"{error.detail}. Nothing was booked.",
            back=f"/book/{found.provider_id}",
            back_label="The booking page",
        ) from None
    await ctx.store.use_hold_link(secret, ctx.now())
    ctx.metrics.confirms.inc()
    return see_other(f"/confirm/{secret}")


OPERATIONS = [
    Operation(
        "GET",
        "/confirm/{secret}",
        as_pages(confirm_page),
        summary="The page a booking page's e-mail links to: the held appointment and Confirm",
        tag="pages",
        description="No token: the secret in the address is the credential. Opening it changes"
        " nothing. A hold that was confirmed, lapsed or cancelled says so. Unknown secrets are"
        " limited per address (429).",
        path_params={"secret": str},
        media_type="text/html",
        answers={200: (None, "The page")},
        problems={404: "No held appointment has this address"},
        public=True,
    ),
    Operation(
        "POST",
        "/confirm/{secret}",
        as_pages(confirm_hold),
        summary="Confirm the hold the link names (the page's Confirm button)",
        tag="pages",
        description="The same confirm as POST /reservations/{timeSlotId}/confirm, by the"
        " client; once. Answers 303 to the page, which then says it is booked; the confirmation"
        " e-mail follows.",
        form=ConfirmHoldForm,
        path_params={"secret": str},
        media_type="text/html",
        answers={303: (None, "Booked: see the page")},
        problems={
            403: "The form came from another site",
            404: "No held appointment has this address",
            409: "The hold was confirmed already, lapsed, or was cancelled",
        },
        public=True,
    ),
]
