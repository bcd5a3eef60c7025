"""A provider's public profile on the wire: what their booking page shows of them, and whether it
is on (PATCH and GET /providers/{providerId}).

Each field's rule is published with it, not enforced by decoding: the server checks every field
and names each one that breaks its rule in one answer (422), so that a form can say what is wrong
beside each field at once."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from shared.patterns import NOTE_PATTERN, TEXT_RULE, WEBSITE_PATTERN, WEBSITE_RULE
from shared.wire import PartyId, _Answer, _Body

PROFILE_CHARS = 300
"""The most characters a profile field may have."""

_REMOVED = 'null or "" removes it'

About = Annotated[
    str,
    Meta(
        description=f"What the provider offers, in their words: one line of at most"
        f" {PROFILE_CHARS} {TEXT_RULE}; {_REMOVED}.",
        examples=["Physiotherapy for runners and cyclists; sports injuries and recovery"],
        extra_json_schema={"maxLength": PROFILE_CHARS, "pattern": NOTE_PATTERN},
    ),
]
Address = Annotated[
    str,
    Meta(
        description=f"Where clients come to: one line of at most {PROFILE_CHARS} {TEXT_RULE};"
        f" {_REMOVED}.",
        examples=["Rua Augusta 27, 1100-048 Lisbon"],
        extra_json_schema={"maxLength": PROFILE_CHARS, "pattern": NOTE_PATTERN},
    ),
]
Phone = Annotated[
    str,
    Meta(
        description=f"A telephone number clients may call, as it should be shown: one line of at"
        f" most {PROFILE_CHARS} {TEXT_RULE}; {_REMOVED}.",
        examples=["+351 21 000 0000"],
        extra_json_schema={"maxLength": PROFILE_CHARS, "pattern": NOTE_PATTERN},
    ),
]
Website = Annotated[
    str,
    Meta(
        description=f"The provider's own site: {WEBSITE_RULE}, at most {PROFILE_CHARS}"
        f" characters; {_REMOVED}.",
        examples=["https://physio.example.com"],
        extra_json_schema={"maxLength": PROFILE_CHARS, "pattern": WEBSITE_PATTERN},
    ),
]
BookingPage = Annotated[
    bool,
    Meta(
        description="Whether the provider's booking page is on: anyone may then book them"
        " there, without an account. Off until they turn it on.",
        examples=[True],
    ),
]


class PublicProfile(_Answer):
    """What a provider's booking page shows of them (null: not given)."""

    about: About | None
    address: Address | None
    phone: Phone | None
    website: Website | None


class PublicProfileChanges(_Body):
    """The profile fields to change: a field left out stays as it is; null or "" removes it."""

    about: About | UnsetType | None = UNSET
    address: Address | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    website: Website | UnsetType | None = UNSET


class ProfileRequest(_Body):
    """PATCH /providers/{providerId}: what changes of the profile, and whether the booking page
    is on; a field left out (and an empty body) changes nothing."""

    profile: PublicProfileChanges | UnsetType = UNSET
    booking_page: BookingPage | UnsetType = UNSET


class ProfileAnswer(_Answer):
    """A provider's public profile, and their booking page's address while it is on."""

    provider_id: PartyId
    name: Annotated[
        str | None,
        Meta(description="The provider's name, as their first token gave it.", examples=["Dr Ada"]),
    ]
    profile: PublicProfile
    booking_page: BookingPage
    booking_page_url: Annotated[
        str | None,
        Meta(
            description="The booking page's address, to link to from the provider's own site;"
            " null while the page is off.",
            examples=["https://booking.example.org/book/9d3c1f0e-8a4b-4d6e-9f21-3b5a7c8d9e01"],
        ),
    ]
