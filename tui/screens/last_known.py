"""A list loaded from the server that shows the last one known when the server cannot be asked:
what My reservations (m), a provider's bookings (b) and What I offer (s) do alike.

The screen starts with what the week last heard of (`known`), shown until its own load is done.
When a load fails (the server is away), the list shown stays, its heading says it is "as last
known, not current" (or "not known" when there is none), the line under it says when and why the
load failed, and the key bar offers `r`; it loads again by itself every RETRY_SECONDS, as soon as
the change feed is back, and on any news the feed brings. While current, it follows the feed (the
changes that concern it), and `r` still reloads but is not in the key bar, as on the week.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Generic, TypeVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Static

from shared.wire import Change
from tui.errors import ApiError, Unreachable
from tui.messages import FeedChanged, FeedReloadNeeded, FeedResumed
from tui.screens.note import first_words, note_room
from tui.session import Session
from tui.verbatim import verbatim
from tui.widgets.columns import Columns
from tui.widgets.key_bar import KeyBar
from tui.widgets.status_line import StatusLine

Row = TypeVar("Row")

RETRY_SECONDS = 10.0
"""How long after a failed load the list tries again by itself (the feed coming back, or any
change it brings, tries at once)."""


def reload_bindings(screen: str) -> list[Binding]:
    """`r` for a list screen (`screen` names its bindings): one key, two bindings, so that the key
    bar shows "r Reload" only while the list is stale (when it is current, it follows the change
    feed and r is needed no more than on the week)."""
    return [
        Binding("r", "retry", "Reload", id=f"{screen}.retry"),
        Binding("r", "reload", "Reload", show=False, id=f"{screen}.reload"),
    ]


class LastKnownList(Screen[None], Generic[Row]):
    """A heading, a table of rows with a note in the last column, and a line under it. A screen
    says what its rows are (`fetch`, `cells`, `note`, `key`), what the line says while the list is
    current (`current_info`), and which changes of the feed concern it (`concerns`). Its columns
    come in two orders (`COLUMNS`): at phone width, what matters most first."""

    HEADING: ClassVar[str]
    COLUMNS: ClassVar[Columns]
    """The table's column headings, the note's last in both orders."""
    TABLE_ID: ClassVar[str]

    def __init__(self, session: Session, known: Iterable[Row] = ()) -> None:
        super().__init__()
        self.session = session
        self.rows: list[Row] = list(known)
        self.stale: str | None = None
        """Why the list shown is not current (it could not be loaded), or None when it is."""
        self._retry: Timer | None = None

    # --- what a screen says ------------------------------------------------------------------

    async def fetch(self) -> list[Row]:
        """The rows as the server has them now."""
        raise NotImplementedError

    def cells(self, row: Row, headings: tuple[str, ...]) -> dict[str, str]:
        """The row's cells but its note, by heading (`headings`: the columns the table has)."""
        raise NotImplementedError

    def note(self, row: Row) -> str:
        raise NotImplementedError

    def key(self, row: Row) -> str:
        raise NotImplementedError

    def current_info(self) -> str:
        """What the line under the table says while the list is current."""
        raise NotImplementedError

    def columns(self) -> Columns:
        """The table's columns for the rows it has (COLUMNS, unless a screen says otherwise)."""
        return self.COLUMNS

    def concerns(self, change: Change) -> bool:
        """Whether a change from the feed may change the list."""
        raise NotImplementedError

    # --- the shared behaviour ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(self.HEADING, id="heading")
        yield DataTable(id=self.TABLE_ID, cursor_type="row", zebra_stripes=True)
        yield Static("", id="info", markup=False)  # their words, the server's
        yield KeyBar()

    def on_mount(self) -> None:
        self.draw()
        self.reload()
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            refresh()

    @work(exclusive=True, group="last-known-list")
    async def reload(self) -> None:
        if self._retry is not None:
            self._retry.stop()
            self._retry = None
        try:
            self.rows = await self.fetch()
        except (ApiError, Unreachable) as error:
            tried = self.session.when(self.session.now(), "%H:%M:%S")
            self.stale = f"Could not load at {tried}: {error}"
            self._retry = self.set_timer(RETRY_SECONDS, self.reload)
        else:
            self.stale = None
        self.refresh_bindings()
        self.draw()

    def on_resize(self, event: events.Resize) -> None:
        if self.columns().needs_arranging(self.query_one(DataTable), event.size.width):
            self.call_after_refresh(self.draw)

    def draw(self) -> None:
        """Fill the table from `rows` (the cursor stays on its row, or the one after it, once a
        row has gone), in the columns for the screen's width, and say in the heading and the line
        under it what the list is."""
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        columns = self.columns()
        headings = columns.arrange(table, self.size.width)
        rows = [columns.row(self.cells(row, headings), headings[:-1]) for row in self.rows]
        room = note_room(self.size.width, headings, rows)
        for row, cells in zip(self.rows, rows, strict=True):
            shown = [*cells, first_words(self.note(row), room)]
            table.add_row(*(verbatim(cell, wrap=False) for cell in shown), key=self.key(row))
        if self.rows:
            table.move_cursor(row=min(keep, len(self.rows) - 1))
        self.query_one("#heading", Static).update(
            self.HEADING
            if self.stale is None
            else f"{self.HEADING} · as last known, not current"
            if self.rows
            else f"{self.HEADING} · not known"
        )
        info = (
            self.current_info()
            if self.stale is None
            else f"{self.stale}. It loads again when the server is back; r tries now."
        )
        self.query_one("#info", Static).update(info)

    def chosen(self) -> Row | None:
        """The row under the table's cursor."""
        table = self.query_one(DataTable)
        if not self.rows:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return self.stale is not None
        return True

    def action_reload(self) -> None:
        self.reload()

    def action_retry(self) -> None:
        self.reload()

    def on_feed_changed(self, message: FeedChanged) -> None:
        if self.stale is not None or self.concerns(message.change):
            self.reload()

    def on_feed_reload_needed(self, message: FeedReloadNeeded) -> None:
        self.reload()

    def on_feed_resumed(self, message: FeedResumed) -> None:
        if self.stale is not None:
            self.reload()
