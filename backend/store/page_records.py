"""What the stores exchange about the booking page: a provider's public profile, what a hold
placed through the page adds to an ordinary hold, and the link that confirms it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

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
    transaction: the page's client of the visitor's e-mail address (made on first use), the
    page's limits, checked first, and the link that confirms it, queued in an e-mail to
    `recipient`."""

    secret: str
    """The confirmation link's secret: stored hashed, and in the queued e-mail until it is sent."""
    ref: str
    """A public reference to the hold for the page that says the e-mail was sent."""
    remote: str
    """The address the request came from."""
    email_key: str
    """The visitor's e-mail address as compared: whose page client holds it."""
    name: str
    """The visitor's name, for a client made by this hold."""
    time_zone: str | None
    """The zone the visitor chose on the page, None when they chose none."""
    recipient: str
    per_address: int
    """The most live unconfirmed page holds one address may have."""
    per_client: int
    """The most live unconfirmed page holds one e-mail address may have."""


class TooManyPageHolds(TooManyHolds):
    """The address or e-mail address already has the most live page holds allowed."""


PAGE_CLIENT_PREFIX = "web-"
"""The page's clients' ids: `web-` and random letters, never the address."""

_WHOSE = {"address": "from your network address", "client": "for this e-mail address"}


def limit_refusal(count: int, most: int, whose: str) -> TooManyPageHolds:
    """The refusal of a hold beyond a limit, `whose`: "address" or "client"."""
    return TooManyPageHolds(
        f"{count} times are already held {_WHOSE[whose]} and not yet confirmed (at most {most});"
        " confirm one from its e-mail, or wait for one to lapse"
    )


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


HOLD_LINK_COLUMNS = (
    "h.ref, h.appointment_id, h.start, h.ends, h.provider_id, p.name, h.client_id, c.name,"
    " h.service_id, sv.name, s.note, h.expires_at, h.used_at,"
    " coalesce(c.time_zone, sc.time_zone, 'UTC'),"
    " s.status, s.client_id, s.appointment_id, s.held_until"
)
"""What a lookup reads of hold_links (`h`), the appointment's first slot (`s`), providers (`p`),
clients (`c`), services (`sv`) and schedules (`sc`)."""

HOLD_LINK_FROM = """
  FROM hold_links AS h
  LEFT JOIN slots AS s ON s.id = h.appointment_id
  LEFT JOIN providers AS p ON p.id = h.provider_id
  LEFT JOIN clients AS c ON c.id = h.client_id
  LEFT JOIN services AS sv ON sv.id = h.service_id
  LEFT JOIN schedules AS sc ON sc.provider_id = h.provider_id
"""


def hold_link_of(row: Sequence[Any], now: float) -> HoldLink:
    """A lookup's row (HOLD_LINK_COLUMNS) as the link stands at `now`."""
    (ref, appointment_id, start, ends, provider_id, provider_name, client_id, client_name,
     service_id, type_name, note, expires_at, used_at, zone,
     status, holder, appointment, held_until) = row  # fmt: skip
    ours = holder == client_id and appointment == appointment_id
    state: HoldState = "gone"
    if ours and status == "CONFIRMED":
        state = "confirmed"
    elif ours and status == "RESERVED" and held_until is not None and held_until > now:
        state = "held"
    elif expires_at <= now:
        state = "lapsed"
    return HoldLink(
        ref=ref, appointment_id=appointment_id, start=int(start), ends=int(ends),
        provider_id=provider_id, provider_name=provider_name, client_id=client_id,
        client_name=client_name, service_id=service_id, type_name=type_name,
        note=note if ours else None, expires_at=float(expires_at), used_at=used_at,
        state=state, zone=zone,
    )  # fmt: skip
