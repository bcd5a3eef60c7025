"""A calendar connected (a on Connected calendars): its name, how it is read (an iCalendar
address, or a CalDAV calendar), where it is, the login it asks for, how often it is read and what
its all-day events mean. The server reads it at once; what it refuses is said beside each field."""

from __future__ import annotations

from msgspec import UNSET

from shared.busy_wire import DEFAULT_REFRESH_MINUTES, REFRESH_MINUTES, BusySource, BusySourceRequest
from tui import calendar_calls
from tui.screens.field_form import FieldForm, FormField

FEWEST, MOST = REFRESH_MINUTES

FIELDS = (
    FormField("name", "Name", "e.g. Work, Personal", longest=80),
    FormField(
        "kind",
        "Kind",
        choices=(("iCalendar address (ics)", "ics"), ("CalDAV calendar", "caldav")),
    ),
    FormField(
        "url", "Address", "https://… (the calendar's secret or CalDAV address)", longest=2000
    ),
    FormField("username", "User name", "only if the calendar asks for one"),
    FormField("password", "Password", "an app password, if it asks", secret=True, longest=1000),
    FormField(
        "refreshMinutes",
        "Read every",
        str(DEFAULT_REFRESH_MINUTES),
        hint=f"minutes, {FEWEST}-{MOST}",
        longest=4,
    ),
    FormField(
        "allDayEvents",
        "All-day events",
        choices=(("busy: the whole day is closed", "busy"), ("ignored (birthdays…)", "ignore")),
    ),
)


class BusySourceForm(FieldForm[BusySource]):
    """A new calendar, sent with POST; answers it as the server has it, or None."""

    HEADING = "Connect a calendar"
    EXPLAIN = (
        "Its busy times close your open slots; holds and bookings already made stay. The address"
        " is the calendar's own: Google's or Outlook's secret address in iCal format, or a CalDAV"
        " calendar's. A password is kept sealed and never shown again."
    )

    def fields(self) -> tuple[FormField, ...]:
        return FIELDS

    def initial(self) -> dict[str, str]:
        return {"refreshMinutes": str(DEFAULT_REFRESH_MINUTES)}

    def check(self, values: dict[str, str]) -> dict[str, str]:
        minutes = values["refreshMinutes"]
        if minutes and not minutes.isdigit():
            return {"refreshMinutes": f"is not a number of minutes ({FEWEST}-{MOST})"}
        return {}

    async def submit(self, values: dict[str, str]) -> BusySource:
        request = BusySourceRequest(
            name=values["name"],
            kind=values["kind"],
            url=values["url"],
            username=values["username"] or UNSET,
            password=values["password"] or UNSET,
            refresh_minutes=int(values["refreshMinutes"] or DEFAULT_REFRESH_MINUTES),
            all_day_events=values["allDayEvents"],
        )
        return await calendar_calls.add_busy_source(self.session.client, self.provider_id, request)
