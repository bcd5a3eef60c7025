"""A provider's own calendars on the wire: the sources their busy times are read from
(/providers/{providerId}/busy-sources), and how each one's refreshes go.

A password goes in and never comes out: no answer carries it, only whether a source has a user
name. `kind`, `refreshMinutes` and `allDayEvents` publish their rules here but the server checks
them, with the address and the password, and names every one that breaks its rule in one answer
(422), so that a form can say what is wrong beside each field at once."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from shared.patterns import TEXT_PATTERN, TEXT_RULE, URL_PATTERN
from shared.wire import PartyId, ResponseTime, _Answer, _Body

KINDS = ("ics", "caldav")
ALL_DAY_EVENTS = ("busy", "ignore")
REFRESH_MINUTES = (5, 1440)
"""The fewest and the most minutes between two refreshes of a source."""
DEFAULT_REFRESH_MINUTES = 15

SourceKind = Literal["ics", "caldav"]
AllDayEvents = Literal["busy", "ignore"]

BusySourceId = Annotated[
    str,
    Meta(
        pattern=r"^[0-9a-f]{16}$",
        description="The calendar's id: 16 lowercase hex digits.",
        examples=["5b0e9d2c7a1f3e46"],
    ),
]
SourceName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=80,
        pattern=TEXT_PATTERN,
        description=f"What the provider calls the calendar: 1-80 {TEXT_RULE}.",
        examples=["Personal"],
    ),
]
Kind = Annotated[
    str,
    Meta(
        description="How the calendar is read: `ics`, an iCalendar address fetched whole (such"
        ' as the "secret address in iCal format" Google and Outlook give); `caldav`, a CalDAV'
        " calendar collection asked for the events of the provider's horizon.",
        examples=["ics"],
        extra_json_schema={"enum": list(KINDS)},
    ),
]
SourceUrl = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2000,
        pattern=URL_PATTERN,
        description="Where the calendar is: an http or https URL whose host is, or resolves to,"
        " public addresses only (the server's --allow-private-addresses opens loopback and"
        " private ones; link-local ones never), with no user name or password in it. It is"
        " stored normalised, as a webhook's URL is; a webcal:// address (a calendar's"
        " subscribe link) is stored as the https:// one it names.",
        examples=["http://localhost:5232/ana/personal/"],
    ),
]
Username = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=TEXT_PATTERN,
        description=f"The user name the calendar asks for, if it asks for one: 1-200 {TEXT_RULE},"
        " without ':' (HTTP Basic authentication cannot carry one).",
        examples=["ana"],
    ),
]
Password = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=1000,
        description="The calendar's password (often an app password), with `username`: stored"
        " sealed with the server's --secret-key, used only to read the calendar, never shown"
        " again. A server without a secret key refuses one.",
        examples=["app-password-from-your-calendar"],
    ),
]
RefreshMinutes = Annotated[
    int,
    Meta(
        description=f"Minutes between two refreshes: {REFRESH_MINUTES[0]}-{REFRESH_MINUTES[1]}.",
        examples=[DEFAULT_REFRESH_MINUTES],
        extra_json_schema={"minimum": REFRESH_MINUTES[0], "maximum": REFRESH_MINUTES[1]},
    ),
]
AllDay = Annotated[
    str,
    Meta(
        description="What an all-day event is: `busy` (the whole day is closed) or `ignore`"
        " (it closes nothing, as a birthday should not).",
        examples=["busy"],
        extra_json_schema={"enum": list(ALL_DAY_EVENTS)},
    ),
]


class BusySourceRequest(_Body):
    """POST /providers/{providerId}/busy-sources: a calendar whose busy times close the
    provider's slots. `username` and `password` only where the calendar asks for them."""

    name: SourceName
    kind: Kind
    url: SourceUrl
    username: Username | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    refresh_minutes: RefreshMinutes = DEFAULT_REFRESH_MINUTES
    all_day_events: AllDay = "busy"


class BusyRefreshRequest(_Body):
    """POST /providers/{providerId}/busy-sources/{sourceId}/refresh: no fields; the body may be
    left out."""


class BusySourcePatch(_Body):
    """PATCH /providers/{providerId}/busy-sources/{sourceId}: change any of these; what is left
    out stays. `username: null` or `password: null` removes it. A new kind, address, user name,
    password or all-day rule makes the calendar be read again at once; its busy times stay in
    force until then."""

    name: SourceName | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    url: SourceUrl | UnsetType = UNSET
    username: Username | UnsetType | None = UNSET
    password: Password | UnsetType | None = UNSET
    refresh_minutes: RefreshMinutes | UnsetType = UNSET
    all_day_events: AllDay | UnsetType = UNSET


class BusySourceStatus(_Answer):
    """How the calendar's refreshes go. A refresh that fails keeps the last good busy times in
    force and says why here."""

    last_sync_at: ResponseTime | None
    """When it was last read, successfully or not; null: not yet."""
    last_success_at: ResponseTime | None
    """When it was last read successfully; null: never yet."""
    last_error: Annotated[
        str | None,
        Meta(
            description="Why the last refresh failed, in words; null when it succeeded.",
            examples=["the calendar refused the user name and password (401)"],
        ),
    ]
    events: Annotated[int, Meta(description="Events the last good read found.", examples=[12])]
    busy_intervals: Annotated[
        int,
        Meta(
            description="Busy intervals in force from it (a long one counts once a day).",
            examples=[9],
        ),
    ]
    failing: Annotated[
        bool,
        Meta(
            description="Its refreshes fail, and none has succeeded for three refresh periods:"
            " the provider should look at it.",
            examples=[False],
        ),
    ]


class BusySource(_Answer):
    """A calendar of the provider's, as shown: never its password."""

    source_id: BusySourceId
    name: SourceName
    kind: SourceKind
    url: str
    username: str | None
    """The user name it is read with; null: none."""
    refresh_minutes: int
    all_day_events: AllDayEvents
    status: BusySourceStatus


class BusySourceAnswer(_Answer):
    """Answer to adding, reading, changing or removing a calendar."""

    source: BusySource


class BusySourceList(_Answer):
    """Answer to GET /providers/{providerId}/busy-sources: oldest first."""

    sources: list[BusySource]


class SourceFailing(_Answer):
    """A calendar that has just become failing (the `data` of a `busy-source-failing` webhook
    event): whose it is, and the source as GET .../busy-sources/{sourceId} shows it then."""

    provider_id: PartyId
    source: BusySource
