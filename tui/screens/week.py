"""What the provider's and the client's screens share: a week on the grid, moved with [ ] t,
loaded in a worker, kept live from the change feed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker

from shared.weeks import WeekLayout, monday_of, week_layout
from shared.wire import TimeSlot
from tui.errors import ApiError, Unreachable
from tui.messages import FeedChanged, FeedReloadNeeded
from tui.session import Session
from tui.sync import SlotMirror, Window
from tui.widgets.key_bar import KeyBar
from tui.widgets.status_line import StatusLine
from tui.widgets.week_grid import Cell, WeekGrid


class WeekScreen(Screen[None]):
    """A week of one provider's slots. Subclasses say how to load it and how cells look."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "left_square_bracket",
            "week(-1)",
            "Previous week",
            id="week.previous",
            group=Binding.Group("Week"),
        ),
        Binding(
            "right_square_bracket",
            "week(1)",
            "Next week",
            id="week.next",
            group=Binding.Group("Week"),
        ),
        Binding("t", "today", "Today", show=False, id="week.today"),
        Binding("r", "reload", "Reload", show=False, id="week.reload"),
    ]

    painting = True
    AUTO_FOCUS = "#grid"

    def __init__(self, session: Session, provider_id: str | None) -> None:
        super().__init__()
        self.session = session
        self.provider_id = provider_id
        self.monday = monday_of(session.today())
        self.week = self._layout_for(self.monday)
        self.mirror = SlotMirror(self._window(), session.rules.slot_minutes)
        self.loaded = False

    # --- layout --------------------------------------------------------------------------------

    def _layout_for(self, monday: date) -> WeekLayout:
        return week_layout(monday, self.session.zone, self.session.slot_seconds)

    def _window(self) -> Window:
        return Window(self.week.first_start, self.week.end, self.provider_id)

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield from self.compose_body()
        yield Static("", id="info", markup=False)  # names, notes, types
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        grid = WeekGrid(self.week, painting=self.painting, today=self.session.today(), id="grid")
        grid.scroll_to_hour(self.session.first_hour)
        self.place_at_now(grid)
        yield grid

    def place_at_now(self, grid: WeekGrid) -> None:
        """Put the cursor on today: at the first visible hour, or, when that has passed, on the
        first slot that has not begun (never on a past cell)."""
        grid.place_cursor(self.session.today(), self.session.first_hour)
        start = grid.cursor_start
        upcoming = self.session.upcoming_start()
        if start is None or start < upcoming:
            grid.move_to(upcoming)

    @property
    def grid(self) -> WeekGrid:
        return self.query_one("#grid", WeekGrid)

    def on_mount(self) -> None:
        self.app.call_later(self._refresh_status)
        if self.provider_id is not None:
            self.reload()

    def _refresh_status(self) -> None:
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            refresh()

    def on_screen_resume(self) -> None:
        self._refresh_status()

    # --- loading -------------------------------------------------------------------------------

    @work(exclusive=True, group="load")
    async def reload(self) -> None:
        """Load the week shown, then draw it."""
        window = self._window()
        try:
            slots = await self.fetch(window)
        except (ApiError, Unreachable) as error:
            self.app.notify(f"Could not load the week: {error}. {error.advice}", severity="error")
            return
        if window != self._window():  # the user moved on meanwhile; that load draws instead
            return
        self.mirror.replace(window, slots)
        first, self.loaded = not self.loaded, True
        if first:
            self.first_loaded()
        self.redraw()

    def first_loaded(self) -> None:
        """The week has been loaded for the first time: anything a subclass does then."""

    async def fetch(self, window: Window) -> list[TimeSlot]:
        raise NotImplementedError

    def cells(self) -> dict[int, Cell]:
        raise NotImplementedError

    def redraw(self) -> None:
        self.grid.set_cells(self.cells())
        self.describe_cursor()

    def describe_cursor(self) -> None:
        """Say what is under the cursor in the info line."""

    def show_week(self, monday: date) -> Worker[None] | None:
        """Draw another week and start loading it; the loading worker, if any."""
        self.monday = monday
        self.week = self._layout_for(monday)
        self.mirror.replace(self._window(), [])
        self.grid.show_week(self.week, {}, self.session.today())
        return self.reload() if self.provider_id is not None else None

    def action_week(self, delta: int) -> None:
        self.show_week(self.monday + timedelta(days=7 * delta))

    def action_today(self) -> None:
        today = self.session.today()
        if monday_of(today) != self.monday:
            self.show_week(monday_of(today))
        self.place_at_now(self.grid)

    def action_reload(self) -> None:
        self.reload()

    # --- the feed --------------------------------------------------------------------------------

    def on_feed_changed(self, message: FeedChanged) -> None:
        if self.mirror.apply(message.change):
            self.redraw()
        self.after_change(message)

    def after_change(self, message: FeedChanged) -> None:
        """Anything a subclass does beyond redrawing the grid."""

    def on_feed_reload_needed(self, message: FeedReloadNeeded) -> None:
        if self.provider_id is not None:
            self.reload()

    def on_week_grid_cursor_moved(self, message: WeekGrid.CursorMoved) -> None:
        self.describe_cursor()

    def set_info(self, text: str) -> None:
        self.query_one("#info", Static).update(text)
