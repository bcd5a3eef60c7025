"""The booking page a practice links to (`/book/<providerId>`): the provider's profile, what
they offer, and a week of free starts by day in the visitor's zone; choosing a start opens the
form that holds it (backend/pages/booking_hold.py). `/book` lists the pages that are on.

Plain HTML made for a phone first, that works without script (the one script only guesses the
visitor's zone and counts a hold down), and says nothing of who booked what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from aiohttp import web

from backend.api.context import context
from backend.api.operation import Operation, read_query
from backend.live.mail.letters import when_in_words
from backend.pages.offer import Offer, offer_of
from backend.pages.rendering import Refusal, as_pages, page
from backend.pages.week_starts import WEEK_DAYS, moment_in_words, today, week_of_starts
from shared.booking_page_wire import BookStartQuery, BookWeekQuery
from shared.zones import zone_names

FURTHEST_DAYS = 366
"""How far ahead the page goes."""


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    current: bool = False
    detail: str = ""


@dataclass(frozen=True)
class ShownStart:
    time: str
    url: str
    label: str


@dataclass(frozen=True)
class ShownDay:
    name: str
    starts: list[ShownStart]


def book_url(offer: Offer, path: str = "", **more: str | int) -> str:
    return f"/book/{offer.profile.provider_id}{path}?{urlencode(offer.query(**more))}"


def choice_links(offer: Offer) -> list[Link]:
    links = []
    for choice in offer.choices:
        name, value = choice.key
        kept = {name: value, **({"zone": offer.zone} if offer.zone_given else {})}
        url = f"/book/{offer.profile.provider_id}?{urlencode(kept)}"
        links.append(Link(choice.label, url, choice == offer.chosen, choice.detail))
    return links


async def booking_index(request: web.Request) -> web.Response:
    ctx = context(request)
    profiles = await ctx.store.booking_pages()
    pages = [
        Link(p.name or p.provider_id, f"/book/{p.provider_id}", detail=p.about or "")
        for p in profiles
    ]
    return page("book_index.html", 200, "Book an appointment", providers=pages)


async def booking_week(request: web.Request) -> web.Response:
    query = read_query(request, BookWeekQuery)
    offer = await offer_of(request, type_id=query.type, minutes=query.minutes, zone=query.zone)
    ctx = context(request)
    now = ctx.now()
    first_allowed = today(now, offer.zone)
    first_day = first_allowed
    if isinstance(query.date, str):
        first_day = min(
            max(date.fromisoformat(query.date), first_allowed),
            first_allowed + timedelta(days=FURTHEST_DAYS),
        )
    chosen = offer.chosen
    week = await week_of_starts(
        ctx, offer.profile.provider_id, first_day, offer.zone, now,
        span=None if chosen.service is None and chosen.seconds == ctx.rules.slot_seconds
        else chosen.seconds,
        service=chosen.service,
    )  # fmt: skip
    days = [
        ShownDay(
            day.name,
            [
                ShownStart(
                    s.time,
                    book_url(offer, "/start", slot=s.slot_id, at=s.at),
                    f"{day.name}, {s.time}",
                )
                for s in day.starts
            ],
        )
        for day in week.days
    ]
    previous = None
    if first_day > first_allowed:
        back = max(first_day - timedelta(days=WEEK_DAYS), first_allowed)
        previous = book_url(offer, date=back.isoformat())
    following = None
    if first_day + timedelta(days=WEEK_DAYS) <= first_allowed + timedelta(days=FURTHEST_DAYS):
        following = book_url(offer, date=(first_day + timedelta(days=WEEK_DAYS)).isoformat())
    return page(
        "book_week.html",
        200,
        offer.name,
        offer=offer,
        script=True,
        choices=choice_links(offer),
        week=week,
        days=days,
        previous_url=previous,
        next_url=following,
        first_day=first_day.isoformat(),
        zones=sorted(zone_names()),
        choice_key=offer.chosen.key,
    )


async def booking_start(request: web.Request) -> web.Response:
    """The form that holds a chosen start: who, what, when, then name, e-mail and a note."""
    query = read_query(request, BookStartQuery)
    offer = await offer_of(request, type_id=query.type, minutes=query.minutes, zone=query.zone)
    return start_form(offer, query.slot, query.at, context(request).now())


def start_form(
    offer: Offer,
    slot: str,
    at: int,
    now: float,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> web.Response:
    if at <= now:
        raise Refusal(
            410,
            "This time has passed",
            "Choose another time from the week.",
            back=book_url(offer),
            back_label="Choose another time",
        )
    chosen = offer.chosen
    name, value = chosen.key
    return page(
        "book_start.html",
        status,
        f"Book with {offer.name}",
        offer=offer,
        script=True,
        what=chosen.label,
        when=when_in_words(at, at + chosen.seconds, offer.zone),
        hidden={
            "slot": slot,
            "at": str(at),
            name: value,
            **({"zone": offer.zone} if offer.zone_given else {}),
        },
        action=f"/book/{offer.profile.provider_id}/hold",
        token_action=f"/book/{offer.profile.provider_id}/book-with-token",
        values=values or {},
        errors=errors or {},
        message=message or ("Nothing was held: see what is wrong below." if errors else None),
        refused=bool(errors) or message is not None,
        back=book_url(offer),
        back_label="Choose another time",
        starts_at=moment_in_words(at, offer.zone),
    )


PAGE_PROBLEMS = {
    404: "No provider has a booking page at this address, or theirs is off",
}

OPERATIONS = [
    Operation(
        "GET",
        "/book",
        as_pages(booking_index),
        summary="The booking pages that are on: one link per provider",
        tag="pages",
        description="No token: a page for people. Plain HTML, nothing from another host.",
        media_type="text/html",
        answers={200: (None, "The page")},
        public=True,
    ),
    Operation(
        "GET",
        "/book/{providerId}",
        as_pages(booking_week),
        summary="A provider's booking page: their profile, what they offer, a week of free starts",
        tag="pages",
        description="No token: a page for people, made for a phone first. The provider's public"
        " profile and appointment types (or, with none, the lengths allowed), then the free"
        " starts of a week by day in the visitor's zone (chosen on the page; else, where script"
        " runs, the browser's; else the provider's), exactly the starts GET /availability lists."
        " Each start links to the form that holds it. A provider whose page is off: 404.",
        query=BookWeekQuery,
        path_params={"providerId": str},
        media_type="text/html",
        answers={200: (None, "The page")},
        problems=PAGE_PROBLEMS,
        public=True,
    ),
    Operation(
        "GET",
        "/book/{providerId}/start",
        as_pages(booking_start),
        summary="The form that holds a chosen start: name, e-mail, an optional note",
        tag="pages",
        description="No token. Sending the form (POST /book/{providerId}/hold) holds the start"
        " and e-mails a link that confirms it.",
        query=BookStartQuery,
        path_params={"providerId": str},
        media_type="text/html",
        answers={200: (None, "The form")},
        problems={**PAGE_PROBLEMS, 410: "The start has passed"},
        public=True,
    ),
]
