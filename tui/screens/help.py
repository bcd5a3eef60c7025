"""? : the keys of the screen you are on, and what the glyphs of its grid mean.

Each screen with a grid says which glyphs it can show (`legend`), so a client's help lists only
what a client's week shows, and a provider's only what theirs does."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.verbatim import verbatim
from tui.widgets.week_grid import CURSOR_MARK

CLOSES = "Esc closes"
"""Said at the foot of a dialog that only shows something: how to leave it."""

Legend = list[tuple[str, str]]
"""A grid's glyphs (or other marks) and what each means, in the words of the screen's user."""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; max-width: 100%; height: 1fr; border: thick $accent; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        with VerticalScroll() as shown:
            shown.border_subtitle = CLOSES
            yield Static(self._keys())
            legend: Legend | None = getattr(self.for_screen, "legend", lambda: None)()
            if legend:
                yield Static(self._legend(legend))
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
        # What this screen does first; moving around the grid after; the app's keys last. A
        # widget of Textual's own (a table, a list) has keys of its own that are no part of what
        # this screen does ("Cursor right", "Top"): only slotbook's own widgets' keys are listed.
        for node in [self.for_screen, self.for_screen.focused, self.app]:
            if node is None or not _own(node):
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
                # The key bar's word, or the longer tooltip where the binding has one.
                table.add_row(keys, binding.tooltip or binding.description)
        return table

    @staticmethod
    def _legend(legend: Legend) -> Table:
        """The glyphs the screen's grid shows, then the cursor."""
        table = Table(title="The grid", expand=True, show_edge=False, box=None)
        table.add_column("Glyph", no_wrap=True)
        table.add_column("Means")
        for mark, meaning in legend:
            table.add_row(mark, verbatim(meaning))  # it may name a type
        table.add_row(CURSOR_MARK, "the cursor (its cell is also drawn in reverse)")
        return table

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


def _own(node: object) -> bool:
    """Is this one of slotbook's own screens, widgets or app (not one of Textual's)?"""
    return type(node).__module__.partition(".")[0] == __name__.partition(".")[0]
