"""A provider's public profile (what their booking page shows of them) and whether their booking
page is on: PATCH /providers/{providerId} by that provider or an admin, GET by anyone with a
token."""

from __future__ import annotations

import re
from urllib.parse import quote

from aiohttp import web
from msgspec import UNSET
from yarl import URL

from backend.api.context import context, public_address
from backend.api.idempotency import perform
from backend.api.operation import Operation, answer, answered, read_body
from backend.api.providers import provider_id_from_path
from backend.gate.access import caller_of, may_present
from backend.gate.problems import ProblemError
from backend.store.base import Answer, Once
from backend.store.page_records import PROFILE_FIELDS, ProviderProfile
from backend.store.profile_rows import not_found
from shared.patterns import NOTE_PATTERN, TEXT_RULE, WEBSITE_PATTERN
from shared.profile_wire import (
    PROFILE_CHARS,
    ProfileAnswer,
    ProfileRequest,
    PublicProfile,
    PublicProfileChanges,
)
from shared.wire import FieldError, PartyId

_ONE_LINE = re.compile(NOTE_PATTERN)
_WEBSITE = re.compile(WEBSITE_PATTERN)


def present_profile(request: web.Request, found: ProviderProfile) -> ProfileAnswer:
    """The profile as the API shows it, with the page's address (under --public-url, else under
    the address this request came to) while the page is on."""
    page = f"{public_address(request)}/book/{quote(found.provider_id, safe='')}"
    return ProfileAnswer(
        provider_id=found.provider_id,
        name=found.name,
        profile=PublicProfile(
            about=found.about, address=found.address, phone=found.phone, website=found.website
        ),
        booking_page=found.booking_page,
        booking_page_url=page if found.booking_page else None,
    )


def profile_changes(body: ProfileRequest) -> dict[str, object]:
    """What the request changes, in the store's terms (None: removed); every field that breaks
    its rule named in one 422, before anything is written."""
    changes: dict[str, object] = {}
    wrong: list[FieldError] = []
    given = body.profile if isinstance(body.profile, PublicProfileChanges) else None
    for name in PROFILE_FIELDS:
        value = UNSET if given is None else getattr(given, name)
        if value is UNSET:
            continue
        text = value or None
        problem = None if text is None else _field_problem(name, str(text))
        if problem is not None:
            wrong.append(FieldError(field=f"profile.{name}", message=problem))
        changes[name] = text
    if body.booking_page is not UNSET:
        changes["booking_page"] = body.booking_page
    if wrong:
        raise ProblemError(
            "rule-violation", "; ".join(f"{e.field}: {e.message}" for e in wrong), errors=wrong
        )
    return changes


def _field_problem(name: str, text: str) -> str | None:
    if len(text) > PROFILE_CHARS:
        return f"must be at most {PROFILE_CHARS} characters; this is {len(text)}"
    if name == "website":
        return _website_problem(text)
    if not _ONE_LINE.match(text):
        return f"must be one line of {TEXT_RULE}"
    return None


def _website_problem(text: str) -> str | None:
    if not text.startswith(("http://", "https://")):
        return "must start with http:// or https://, as in https://example.com"
    if not _WEBSITE.match(text):
        return (
            "must name a host and have no space, control, invisible or direction-changing character"
        )
    try:
        url = URL(text)
        url.port  # noqa: B018 - a port that is no number is found when it is read
    except (ValueError, UnicodeError) as error:
        return f"is not an address: {error}"
    if not url.raw_host:
        return "must name a host, as in https://example.com"
    if url.user is not None or url.password is not None:
        return "must not carry a user name or password"
    return None


async def set_provider_profile(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    provider_id = provider_id_from_path(request)
    may_present(caller, provider_id)
    body = await read_body(request, ProfileRequest, required=False)
    changes = profile_changes(body)
    now = ctx.now()

    def render(saved: ProviderProfile) -> Answer:
        return answered(present_profile(request, saved))

    async def write(once: Once | None) -> ProviderProfile:
        return await ctx.store.set_provider_profile(provider_id, changes, now, once=once)

    return await perform(request, caller, render, write)


async def get_provider_profile(request: web.Request) -> web.Response:
    ctx = context(request)
    provider_id = provider_id_from_path(request)
    found = await ctx.store.provider_profile(provider_id)
    if found is None:
        raise not_found(provider_id)
    return answer(present_profile(request, found))


_PROBLEMS_OF_BOTH = {404: "No provider has this id"}

OPERATIONS = [
    Operation(
        "GET",
        "/providers/{providerId}",
        get_provider_profile,
        summary="A provider's public profile, and whether their booking page is on",
        tag="providers",
        path_params={"providerId": PartyId},
        answers={200: (ProfileAnswer, "The profile (null fields: not given)")},
        problems=_PROBLEMS_OF_BOTH,
    ),
    Operation(
        "PATCH",
        "/providers/{providerId}",
        set_provider_profile,
        summary="Set a provider's public profile (about, address, phone, website) and turn their"
        " booking page on or off",
        tag="providers",
        body=ProfileRequest,
        body_required=False,
        path_params={"providerId": PartyId},
        answers={200: (ProfileAnswer, "The profile as it now is")},
        problems={
            403: "Only the provider itself (or an admin) sets its profile and booking page",
            **_PROBLEMS_OF_BOTH,
            422: "A field longer than 300 characters, not one line of visible text, or a website"
            " that is not an http(s) address of a host; every such field is named, and nothing"
            " is changed",
        },
        description='Within `profile`, a field left out stays as it is and `null` or `""`'
        " removes it; `bookingPage` left out stays as it is. An empty body changes nothing.",
    ),
]
