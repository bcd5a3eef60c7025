"""A line under the week grid that says something of each day, in line with the day's column (the
provider's week: how many clients wait in line for that day). Hidden while it has nothing to say.
Each note comes in forms from the longest to the shortest; a column shows the first that fits with
a space to spare either side, so that two notes side by side never read as one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.week_grid import WeekGrid


class DayNotes(Widget):
    """One line: each day's note (a form that fits its column), centred under it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"day-notes--note"}

    DEFAULT_CSS = """
    DayNotes { height: 1; display: none; background: $panel; }
    DayNotes.-shown { display: block; }
    DayNotes > .day-notes--note { color: $text-warning; text-style: bold; }
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

    def placed(self) -> list[tuple[int, str]]:
        """Each note to draw, for the width the grid has now: where it begins, and the form."""
        found: list[tuple[int, str]] = []
        for day, left, width in self.grid.day_columns():
            forms = self.notes.get(day, ())
            note = next((f for f in forms if cell_len(f) <= width - 2), "")
            if note:
                found.append((left + (width - cell_len(note)) // 2, note))
        return found

    def text(self) -> str:
        """The line as drawn."""
        line = ""
        for left, note in self.placed():
            line = line.ljust(left) + note
        return line

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        style = base + self.get_component_rich_style("day-notes--note")
        segments: list[Segment] = []
        end = 0
        for left, note in self.placed():
            segments += [Segment(" " * (left - end), base), Segment(note, style)]
            end = left + cell_len(note)
        return Strip(segments).crop_extend(0, self.size.width, base)
