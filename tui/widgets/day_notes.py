"""A line under the week grid that says something of each day, in line with the day's column (the
provider's week: how many clients wait in line for that day). Hidden while it has nothing to say.
Each note comes in forms from the longest to the shortest; a column shows the first that fits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from rich.cells import cell_len
from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.week_grid import WeekGrid


class DayNotes(Widget):
    """One line: each day's note (a form that fits its column), centred under it."""

    DEFAULT_CSS = """
    DayNotes {
        height: 1; display: none; background: $panel; color: $text-warning; text-style: bold;
    }
    DayNotes.-shown { display: block; }
    """

    def __init__(self, grid: WeekGrid, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.grid = grid
        self.notes: dict[date, Sequence[str]] = {}

    def on_mount(self) -> None:
        # The grid scrolls sideways with its cursor where not all days fit: follow it.
        self.watch(self.grid, "cursor", self._cursor_moved, init=False)

    def _cursor_moved(self) -> None:
        self.refresh()

    def show(self, notes: Mapping[date, Sequence[str]]) -> None:
        """Say these (each day's forms, longest first); nothing: the line goes."""
        self.notes = {day: forms for day, forms in notes.items() if forms}
        self.set_class(bool(self.notes), "-shown")
        self.refresh()

    def text(self) -> str:
        """The line as drawn, for the width the grid has now."""
        line = ""
        for day, left, width in self.grid.day_columns():
            forms = self.notes.get(day, ())
            note = next((f for f in forms if cell_len(f) < width), "")
            room = width - cell_len(note)
            line = line.ljust(left) + " " * (room // 2) + note + " " * (room - room // 2)
        return line

    def render_line(self, y: int) -> Strip:
        style = self.rich_style
        return Strip([Segment(self.text(), style)]).crop_extend(0, self.size.width, style)
