"""The calendar a provider's bookings are written back to, on the wire
(/providers/{providerId}/calendar-write), and how writing to it goes.

A password goes in and never comes out: no answer carries it. The address and the password
publish their form here; the server checks the rest (where the address leads, a password it can
seal, a user name with a password) and names every field that breaks a rule in one answer (422).
"""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from shared.patterns import TEXT_PATTERN, TEXT_RULE, URL_PATTERN
from shared.wire import ResponseTime, _Answer, _Body

CalendarUrl = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2000,
        pattern=URL_PATTERN,
        description="A CalDAV calendar collection: an http or https URL whose host is, or"
        " resolves to, public addresses only (the server's --allow-private-addresses opens"
        " loopback and private ones; link-local ones never), with no user name or password in"
        " it. It is stored normalised, as a webhook's URL is. Each booking is the event"
        " `<url>/<uid>.ics`.",
        examples=["http://localhost:5232/ana/bookings/"],
    ),
]
CalendarUsername = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=TEXT_PATTERN,
        description=f"The user name the calendar asks for: 1-200 {TEXT_RULE}, without ':' (HTTP"
        " Basic authentication cannot carry one).",
        examples=["ana"],
    ),
]
CalendarPassword = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=1000,
        description="The calendar's password (often an app password), with `username`: stored"
        " sealed with the server's --secret-key, used only to write to the calendar, never"
        " shown again. A server without a secret key refuses one.",
        examples=["app-password-from-your-calendar"],
    ),
]


class CalendarWriteRequest(_Body):
    """PUT /providers/{providerId}/calendar-write: the calendar the provider's bookings are
    written to, replacing the one set before (a login left out is none)."""

    url: CalendarUrl
    username: CalendarUsername | UnsetType = UNSET
    password: CalendarPassword | UnsetType = UNSET


class CalendarWriteStatus(_Answer):
    """How writing to the calendar goes. A write that fails is tried again after a back-off
    (a minute, doubling, for up to a day) and says why here."""

    last_write_at: ResponseTime | None
    """When a write was last tried, successfully or not; null: none yet."""
    last_success_at: ResponseTime | None
    """When a write last succeeded; null: none yet."""
    last_error: Annotated[
        str | None,
        Meta(
            description="Why the last write failed, in words; null when it succeeded.",
            examples=["the calendar refused the user name and password (401)"],
        ),
    ]
    failures: Annotated[
        int, Meta(description="Writes that failed since the last that succeeded.", examples=[0])
    ]
    waiting: Annotated[
        int,
        Meta(
            description="Writes waiting to be made: due now, or after a failure's back-off.",
            examples=[0],
        ),
    ]


class WriteCalendar(_Answer):
    """The calendar bookings are written to, as shown: never its password."""

    provider_id: str
    url: str
    username: str | None
    """The user name it is written with; null: none."""
    status: CalendarWriteStatus


class CalendarWriteAnswer(_Answer):
    """Answer to setting, reading or removing the calendar bookings are written to."""

    calendar: WriteCalendar
