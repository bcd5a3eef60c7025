"""The calendar a provider's bookings are written to (w on Connected calendars): a CalDAV
calendar's address and the login it asks for, set (PUT) or, with ctrl+r and after asking, no
longer written to (DELETE). What the server refuses is said beside each field."""

from __future__ import annotations

from typing import ClassVar

from msgspec import UNSET
from textual import work
from textual.binding import Binding, BindingType

from shared.calendar_write_wire import CalendarWriteRequest, WriteCalendar
from tui import calendar_calls
from tui.errors import ApiError, Unreachable
from tui.screens.confirm import ConfirmDialog
from tui.screens.field_form import FieldForm, FormField
from tui.session import Session

FIELDS = (
    FormField("url", "Address", "https://… (a CalDAV calendar)", longest=2000),
    FormField("username", "User name", "only if the calendar asks for one"),
    FormField("password", "Password", "an app password, if it asks", secret=True, longest=1000),
)


class WriteBackForm(FieldForm[str]):
    """Answers what was done, in words, or None when nothing was."""

    HEADING = "Bookings written to your calendar"
    EXPLAIN = (
        "Each booking becomes an event in this CalDAV calendar (Nextcloud, Fastmail, iCloud…),"
        " moved and removed with it; holds are not written. The password is kept sealed and never"
        " shown: give it again when you change anything here."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "stop", "Stop writing", id="write_back.stop"),
    ]

    def __init__(self, session: Session, provider_id: str, current: WriteCalendar | None) -> None:
        super().__init__(session, provider_id)
        self.current = current

    def fields(self) -> tuple[FormField, ...]:
        return FIELDS

    def initial(self) -> dict[str, str]:
        if self.current is None:
            return {}
        return {"url": self.current.url, "username": self.current.username or ""}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.current is not None
        return True

    async def submit(self, values: dict[str, str]) -> str:
        request = CalendarWriteRequest(
            url=values["url"],
            username=values["username"] or UNSET,
            password=values["password"] or UNSET,
        )
        client = self.session.client
        saved = await calendar_calls.set_write_calendar(client, self.provider_id, request)
        return f"Your bookings are written to {saved.url} from now on."

    def action_stop(self) -> None:
        if self.current is None:
            return
        question = (
            f"Stop writing your bookings to {self.current.url}? What was written stays there."
        )

        def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                self.stop()

        self.app.push_screen(
            ConfirmDialog("Stop writing bookings?", question, yes="Stop", no="Keep writing"),
            answered,
        )

    @work(exclusive=True, group="write-back-form")
    async def stop(self) -> None:
        try:
            gone = await calendar_calls.remove_write_calendar(self.session.client, self.provider_id)
        except (ApiError, Unreachable) as error:
            self.set_info(f"Not stopped: {error}.")
            return
        self.dismiss(f"Your bookings are no longer written to {gone.url}.")
