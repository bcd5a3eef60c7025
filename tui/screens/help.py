"""? : the keys of the screen you are on, and what the grid's glyphs mean."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.widgets.week_grid import CONTINUED, CURSOR_MARK, CellState

LEGEND = [
    (CellState.OPEN, "open: clients can book it (from here, for the length chosen)"),
    (CellState.SHORT, "open, but the length chosen does not fit from here"),
    (CellState.TOO_SOON, "open, but too soon to book (inside the notice period)"),
    (CellState.HELD, "held by a client, lapses unless confirmed"),
    (CellState.BOOKED, "booked"),
    (CellState.MINE_HELD, "held by you (client view)"),
    (CellState.MINE_BOOKED, "booked by you (client view: mine)"),
    (CellState.TAKEN, "taken by someone else"),
    (CellState.PAST, "past"),
    (CellState.PENDING_PAINT, "painted, not saved yet"),
    (CellState.PENDING_ERASE, "to be removed, not saved yet"),
    (CellState.EMPTY, "not open"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; max-width: 100%; height: 90%; border: thick $accent; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._keys())
            yield Static(self._legend(getattr(self.for_screen, "legend_notes", list)()))
            yield Static(
                Text(
                    "ctrl+p opens the command palette: every action by name.\n"
                    "Times are shown in your time zone; the caption above the days names it.",
                    style="italic",
                )
            )

    def _keys(self) -> Table:
        table = Table(title="Keys", expand=True, show_edge=False, box=None)
        table.add_column("Key", style="bold", no_wrap=True)
        table.add_column("Does")
        seen: set[str] = set()
        # What this screen does first; moving around the grid after; the app's keys last.
        for node in [self.for_screen, self.for_screen.focused, self.app]:
            if node is None:
                continue
            for binding in node.BINDINGS:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                action, _, _ = binding.action.partition("(")
                if node.check_action(action, ()) is False:  # not on this screen
                    continue
                keys = ", ".join(
                    self.app.get_key_display(Binding(k, "")) for k in binding.key.split(",")
                )
                if binding.description in seen:
                    continue
                seen.add(binding.description)
                table.add_row(keys, binding.description)
        return table

    @staticmethod
    def _legend(notes: list[tuple[str, str]]) -> Table:
        """Every glyph of the grid, then any mark the screen adds (`legend_notes`)."""
        table = Table(title="The grid", expand=True, show_edge=False, box=None)
        table.add_column("Glyph", no_wrap=True)
        table.add_column("Means")
        for state, meaning in LEGEND:
            table.add_row(state.glyph, meaning)
        table.add_row(CURSOR_MARK, "the cursor (its cell is also drawn in reverse)")
        table.add_row(CONTINUED, "the rest of an appointment: the client's name is above it")
        for mark, meaning in notes:
            table.add_row(mark, meaning)
        return table

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
