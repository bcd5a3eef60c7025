"""Connected calendars (ctrl+p on the provider's week): the calendars the provider's busy times
come from, one row each with how reading it goes in words; one added (a), read again now (f) or
removed after asking (x); and below them the calendar their bookings are written to, with how
writing goes, set or stopped (w). While a calendar has not been read yet, the list asks again
every READ_WAIT_SECONDS, so that its first read shows; while the server is away, the last list
known stays, marked as such (tui/screens/last_known.py)."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import DataTable, Static

from shared.busy_wire import BusySource
from shared.calendar_write_wire import WriteCalendar
from shared.wire import Change
from tui import calendar_calls
from tui.errors import ApiError, Unreachable
from tui.own_calendars import CONNECTED_CALENDARS, moment_text, status_words
from tui.screens.busy_source_form import BusySourceForm
from tui.screens.confirm import ConfirmDialog
from tui.screens.last_known import LastKnownList, reload_bindings
from tui.screens.note import first_words
from tui.screens.write_back_form import WriteBackForm
from tui.session import Session
from tui.widgets.columns import Columns
from tui.words import counted

READ_WAIT_SECONDS = 1.0
"""How soon the list asks again while a calendar has not been read yet (the server reads a new
one at once, in the background)."""

STATUS_COLUMN = 44
"""How much of a calendar's status its row shows; the line under the table says all of it."""

NONE_YET = "No calendar is connected yet: a adds one."
EXPLAIN = (
    "Connect the calendars your life is in (Google's or Outlook's secret address in iCal format,"
    " Fastmail, iCloud, Nextcloud…): while one has you busy, your open slots then are not"
    " offered to clients. Holds and bookings already made stay, marked ! on your week."
)
"""What the screen says under the table while no calendar is connected."""

KINDS = {"ics": "iCal", "caldav": "CalDAV"}
KIND_WORDS = {"ics": "an iCalendar address", "caldav": "a CalDAV calendar"}


class CalendarsScreen(LastKnownList[BusySource]):
    HEADING = CONNECTED_CALENDARS
    COLUMNS = Columns(
        ("Name", "Kind", "Status", "Address"),
        ("Name", "Status", "Kind", "Address"),
    )
    TABLE_ID = "calendars"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "a", "add", "Add", tooltip="Connect a calendar you are busy in", id="calendars.add"
        ),
        Binding(
            "f",
            "read_now",
            "Read now",
            tooltip="Read the highlighted calendar again now",
            id="calendars.read_now",
        ),
        Binding(
            "x,delete",
            "remove",
            "Remove",
            tooltip="Disconnect the highlighted calendar (asks first)",
            id="calendars.remove",
        ),
        Binding(
            "w",
            "write_back",
            "Bookings out",
            tooltip="The calendar your bookings are written to: set, change or stop it",
            id="calendars.write_back",
        ),
        Binding("escape", "back", "Back to the week", id="calendars.back"),
        *reload_bindings("calendars"),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "calendars.back": "Back",
        "calendars.add": "Add",
        "calendars.read_now": "Read",
        "calendars.remove": "Remove",
        "calendars.write_back": "Out",
        "calendars.retry": "Reload",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    DEFAULT_CSS = """
    CalendarsScreen #below { height: 1fr; padding: 1 1 0 1; }
    CalendarsScreen #details { height: auto; margin-bottom: 1; }
    CalendarsScreen .line { height: auto; color: $text; }
    CalendarsScreen #detail-name.-named { text-style: bold; }
    CalendarsScreen .-failing { color: $text-error; text-style: bold; }
    """

    def __init__(self, session: Session, provider_id: str) -> None:
        super().__init__(session)
        self.provider_id = provider_id
        self.write_calendar: WriteCalendar | None = None
        """The calendar bookings are written to, as last loaded (None: none)."""
        self.loaded = False
        self._unread: Timer | None = None

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            yield widget
            if isinstance(widget, DataTable):
                yield from self.compose_below()

    def compose_below(self) -> ComposeResult:
        """Under the table: the highlighted calendar whole, then the one bookings go to (names,
        addresses and the server's words, never markup)."""
        with VerticalScroll(id="below"):
            with Vertical(id="details"):
                for part in ("name", "url", "status"):
                    yield Static("", id=f"detail-{part}", classes="line", markup=False)
            yield Static("", id="write-back", classes="line", markup=False)

    # --- the list ---------------------------------------------------------------------------

    async def fetch(self) -> list[BusySource]:
        client = self.session.client
        sources, self.write_calendar = await asyncio.gather(
            calendar_calls.busy_sources(client, self.provider_id),
            calendar_calls.write_calendar(client, self.provider_id),
        )
        self.loaded = True
        return sources

    def cells(self, row: BusySource, headings: tuple[str, ...]) -> dict[str, str]:
        return {
            "Name": row.name,
            "Kind": KINDS.get(row.kind, row.kind),
            "Status": first_words(status_words(self.session, row), STATUS_COLUMN),
        }

    def note(self, row: BusySource) -> str:
        return row.url

    def key(self, row: BusySource) -> str:
        return row.source_id

    def concerns(self, change: Change) -> bool:
        return False  # calendars do not come through the change feed

    def current_info(self) -> str:
        if not self.rows:
            return NONE_YET
        return "a adds a calendar · f reads the highlighted one now · x removes it"

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._draw_details()

    def _draw_details(self) -> None:
        """The highlighted calendar: its name and how it is read, its address, its status."""
        chosen = self.chosen()
        lines = (EXPLAIN if self.loaded and self.stale is None else "", "", "")
        if chosen is not None:
            login = f", as {chosen.username}" if chosen.username else ""
            every = counted(chosen.refresh_minutes, "minute")
            all_day = "busy" if chosen.all_day_events == "busy" else "ignored"
            lines = (
                f"{chosen.name}: {KIND_WORDS.get(chosen.kind, chosen.kind)}{login}, read every"
                f" {every}; all-day events {all_day}",
                chosen.url,
                status_words(self.session, chosen).capitalize(),
            )
        for part, text in zip(("name", "url", "status"), lines, strict=True):
            self.query_one(f"#detail-{part}", Static).update(text)
        failing = chosen is not None and chosen.status.last_error is not None
        self.query_one("#detail-status").set_class(failing, "-failing")
        self.query_one("#detail-name").set_class(chosen is not None, "-named")

    def draw(self) -> None:
        super().draw()
        self._draw_details()
        self._draw_write_back()
        if self._unread is not None:
            self._unread.stop()
            self._unread = None
        if self.stale is None and any(s.status.last_sync_at is None for s in self.rows):
            self._unread = self.set_timer(READ_WAIT_SECONDS, self.reload)

    def _draw_write_back(self) -> None:
        line = self.query_one("#write-back", Static)
        found = self.write_calendar
        if found is None:
            said = "Bookings out: written to no calendar of yours (w sets one)."
            if not self.loaded:
                said = ""
            line.update(said)
            line.set_class(False, "-failing")
            return
        status = found.status
        if status.last_error is not None:
            how = f"writing fails: {status.last_error}"
        elif status.last_success_at is not None:
            how = f"last written {moment_text(self.session, status.last_success_at)}"
        else:
            how = "nothing written yet"
        waiting = f", {counted(status.waiting, 'write')} waiting" if status.waiting else ""
        line.update(f"Bookings out: written to {found.url}: {how}{waiting} (w changes it)")
        line.set_class(status.last_error is not None, "-failing")

    # --- adding, reading, removing ----------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("read_now", "remove"):
            return bool(self.rows)
        return super().check_action(action, parameters)

    def action_add(self) -> None:
        def added(made: BusySource | None) -> None:
            if made is not None:
                self.notify(f"{made.name} is connected: it is being read now.", title="Added")
            self.reload()

        self.app.push_screen(BusySourceForm(self.session, self.provider_id), added)

    def action_read_now(self) -> None:
        chosen = self.chosen()
        if chosen is None:
            self.notify(NONE_YET)
            return
        self.read_now(chosen)

    @work(group="calendars-write")
    async def read_now(self, source: BusySource) -> None:
        try:
            read = await calendar_calls.refresh_busy_source(
                self.session.client, self.provider_id, source.source_id
            )
        except (ApiError, Unreachable) as error:
            self.notify(f"{source.name} was not read: {error}.", severity="error")
        else:
            failed = read.status.last_error is not None
            self.notify(
                f"{read.name}: {status_words(self.session, read)}",
                title="Read now",
                severity="warning" if failed else "information",
            )
        self.reload()

    def action_remove(self) -> None:
        chosen = self.chosen()
        if chosen is None:
            self.notify(NONE_YET)
            return
        question = (
            f"Disconnect {chosen.name}? Its busy times close none of your slots from now on;"
            " the calendar itself is not touched."
        )

        def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                self.disconnect(chosen)

        self.app.push_screen(
            ConfirmDialog("Remove this calendar?", question, yes="Remove it", no="Keep it"),
            answered,
        )

    @work(group="calendars-write")
    async def disconnect(self, source: BusySource) -> None:
        try:
            await calendar_calls.remove_busy_source(
                self.session.client, self.provider_id, source.source_id
            )
        except (ApiError, Unreachable) as error:
            self.notify(f"Not removed: {error}.", severity="error")
        else:
            self.notify(f"{source.name} is disconnected: its busy times close nothing now.")
        self.reload()

    def action_write_back(self) -> None:
        def done(said: str | None) -> None:
            if said is not None:
                self.notify(said, title="Bookings out")
            self.reload()

        form = WriteBackForm(self.session, self.provider_id, self.write_calendar)
        self.app.push_screen(form, done)

    def action_back(self) -> None:
        """To the week, which asks its calendars again (they may have changed here)."""
        self.dismiss(None)

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Add a calendar", "Connect a calendar you are busy in", "add"),
            ("Read the calendar now", "Read the highlighted calendar again now", "read_now"),
            ("Remove the calendar", "Disconnect the highlighted calendar", "remove"),
            (
                "Bookings out",
                "The calendar your bookings are written to: set, change or stop it",
                "write_back",
            ),
        ]
