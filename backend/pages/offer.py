"""What a provider's booking page offers, and what a visitor chose of it: the provider's public
profile (their page must be on), their appointment types (else the lengths allowed), the one
chosen, and the zone to show times in."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from msgspec import UnsetType

from backend.api.context import AppContext, context
from backend.pages.rendering import Refusal
from backend.pages.week_starts import length_in_words
from backend.rules.service_types import ServiceType
from backend.store.page_records import ProviderProfile
from backend.store.provider_zone import provider_zone
from shared.zones import is_zone_name

MOST_MINUTES_OFFERED = 120
"""The longest length a provider without appointment types is offered in (the server's longest
appointment, when that is shorter)."""


@dataclass(frozen=True)
class Choice:
    """One thing a visitor may book: a type, or a length with no type."""

    service: ServiceType | None
    minutes: int
    label: str
    """What the page calls it: the type's name and length, or the length."""
    detail: str
    """The type's description; empty for a length."""

    @property
    def seconds(self) -> int:
        return self.minutes * 60

    @property
    def key(self) -> tuple[str, str]:
        """The query parameter that names it: ("type", id) or ("minutes", n)."""
        if self.service is not None:
            return "type", self.service.service_id
        return "minutes", str(self.minutes)


@dataclass(frozen=True)
class Offer:
    """A provider's page: who, what they offer, what is chosen, in which zone."""

    profile: ProviderProfile
    choices: list[Choice]
    chosen: Choice
    zone: str
    zone_given: bool
    """True when the visitor chose the zone (it is in the address); False: the provider's."""

    @property
    def name(self) -> str:
        return self.profile.name or self.profile.provider_id

    def query(self, **more: str | int) -> dict[str, str]:
        """The query that keeps what is chosen (and the zone, when the visitor chose it)."""
        name, value = self.chosen.key
        kept = {name: value}
        if self.zone_given:
            kept["zone"] = self.zone
        return {**kept, **{key: str(value) for key, value in more.items()}}


def not_found() -> Refusal:
    return Refusal(
        404,
        "No booking page here",
        "This provider has no booking page, or it is turned off. Check the link you were given,"
        " or see the list of booking pages.",
        back="/book",
        back_label="All booking pages",
    )


async def page_profile(ctx: AppContext, provider_id: str) -> ProviderProfile:
    """The provider's profile; a 404 page when there is no such provider or the page is off."""
    profile = await ctx.store.provider_profile(provider_id)
    if profile is None or not profile.booking_page:
        raise not_found()
    return profile


async def offer_of(
    request: web.Request,
    *,
    type_id: str | UnsetType,
    minutes: int | UnsetType,
    zone: str | UnsetType,
) -> Offer:
    """The page of the provider in the address, with what the query chose (the first choice
    when it names none that is offered)."""
    ctx = context(request)
    profile = await page_profile(ctx, request.match_info["providerId"])
    choices = await choices_of(ctx, profile.provider_id)
    chosen = choices[0]
    for choice in choices:
        if (choice.service is not None and choice.service.service_id == type_id) or (
            choice.service is None and choice.minutes == minutes
        ):
            chosen = choice
    given = isinstance(zone, str) and is_zone_name(zone)
    shown_zone = (
        zone
        if isinstance(zone, str) and given
        else await provider_zone(ctx.store, profile.provider_id)
    )
    return Offer(profile, choices, chosen, shown_zone, given)


async def choices_of(ctx: AppContext, provider_id: str) -> list[Choice]:
    """The provider's offered types, oldest first; with none, the lengths allowed (one slot up
    to two hours, whole slots)."""
    types = await ctx.store.services_of(provider_id, archived=False)
    if types:
        return [
            Choice(t, t.minutes, f"{t.name} ({length_in_words(t.minutes * 60)})", t.description)
            for t in types
        ]
    slot = ctx.rules.slot_seconds // 60
    longest = min(MOST_MINUTES_OFFERED, ctx.rules.max_appointment_seconds // 60)
    lengths = [m for m in (slot, 30, 45, 60, 90, 120) if m % slot == 0 and slot <= m <= longest]
    return [Choice(None, m, length_in_words(m * 60), "") for m in sorted(set(lengths))]
