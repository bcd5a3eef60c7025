"""What the stores exchange about the booking page: a provider's public profile, what a hold
placed through the page adds to an ordinary hold, and the link that confirms it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backend.rules.booking import TooManyHolds

PROFILE_FIELDS = ("about", "address", "phone", "website")
"""A provider's profile fields, each one line of text or None (stored as `profile_<field>`)."""


@dataclass(frozen=True)
class ProviderProfile:
    """What the booking page shows of a provider, and whether it is on."""

    provider_id: str
    name: str | None
    about: str | None
    address: str | None
    phone: str | None
    website: str | None
    booking_page: bool
    time_zone: str | None
    """The zone the provider set (PATCH /me), None when unset."""


@dataclass(frozen=True)
class PageHold:
    """What a hold placed through the booking page adds to the ordinary hold, in the same
    transaction: the page's limits, checked first, and the link that confirms it, queued in an
    e-mail to `recipient`."""

    secret: str
    """The confirmation link's secret: stored hashed, and in the queued e-mail until it is sent."""
    ref: str
    """A public reference to the hold for the page that says the e-mail was sent."""
    remote: str
    """The address the request came from."""
    recipient: str
    per_address: int
    """The most live unconfirmed page holds one address may have."""
    per_client: int
    """The most live unconfirmed page holds one e-mail address may have."""


class TooManyPageHolds(TooManyHolds):
    """The address or e-mail address already has the most live page holds allowed."""


HoldState = Literal["held", "confirmed", "lapsed", "gone"]


@dataclass(frozen=True)
class HoldLink:
    """The hold a confirmation link names, as it stands now."""

    ref: str
    appointment_id: str
    start: int
    ends: int
    provider_id: str
    provider_name: str | None
    client_id: str
    client_name: str | None
    service_id: str | None
    type_name: str | None
    note: str | None
    expires_at: float
    used_at: float | None
    state: HoldState
    """held: it can be confirmed; confirmed: it was (through this link or otherwise); lapsed:
    the hold ran out; gone: cancelled, or the slots were taken from the hold some other way."""
    zone: str
    """The zone to show times in: the client's, else the provider's schedule's, else UTC."""
