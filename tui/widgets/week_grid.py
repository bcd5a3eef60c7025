"""The week grid: days across, slot rows down, one Line-API widget (ScrollView + render_line).

It draws what it is told (each cell's state and a short text), keeps a cursor and a range, and
turns keys and mouse drags into messages; what a toggle or an erase means is the screen's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from shared.weeks import WeekLayout


class CellState(Enum):
    """What a cell shows. Each state has a glyph, so the grid reads without colour."""

    EMPTY = ("·", "empty")
    OPEN = ("○", "open")
    HELD = ("◐", "held")
    BOOKED = ("●", "booked")
    TAKEN = ("×", "taken")
    MINE_HELD = ("◐", "mine-held")
    MINE_BOOKED = ("●", "mine-booked")
    PAST = ("╌", "past")
    PENDING_PAINT = ("+", "pending-paint")
    PENDING_ERASE = ("−", "pending-erase")
    MISSING = (" ", "missing")

    @property
    def glyph(self) -> str:
        return self.value[0]

    @property
    def component(self) -> str:
        return f"week-grid--{self.value[1]}"


@dataclass(frozen=True)
class Cell:
    state: CellState
    text: str = ""


BLANK = Cell(CellState.EMPTY)
MISSING = Cell(CellState.MISSING)
HEADER_LINES = 1


class WeekGrid(ScrollView, can_focus=True):
    """A week of slots.

    | Key | Does |
    | :- | :- |
    | arrows, h j k l | move |
    | v | start (or drop) a range |
    | space | toggle the cell, or apply to the range |
    | x | erase the cell or the range |
    | enter | act on the cell (hold it, in a client's view) |
    | escape | drop the range |

    Mouse: a click toggles; a drag paints from an empty cell and erases from an open one.
    """

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1, 0)", "Up", show=False, id="grid.up"),
        Binding("down,j", "move(1, 0)", "Down", show=False, id="grid.down"),
        Binding("left,h", "move(0, -1)", "Left", show=False, id="grid.left"),
        Binding("right,l", "move(0, 1)", "Right", show=False, id="grid.right"),
        Binding("pageup", "move(-16, 0)", "Page up", show=False, id="grid.page_up"),
        Binding("pagedown", "move(16, 0)", "Page down", show=False, id="grid.page_down"),
        Binding("home", "edge(-1)", "First row", show=False, id="grid.home"),
        Binding("end", "edge(1)", "Last row", show=False, id="grid.end"),
        Binding("space", "toggle_cells", "Toggle", id="grid.toggle"),
        Binding("v", "range", "Range", id="grid.range"),
        Binding("x", "erase", "Erase", id="grid.erase"),
        Binding("enter,space", "activate", "Hold", key_display="⏎", id="grid.activate"),
        Binding("escape", "drop_range", "Drop range", show=False, id="grid.drop_range"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "week-grid--header",
        "week-grid--today",
        "week-grid--label",
        "week-grid--cursor",
        "week-grid--selection",
        *(state.component for state in CellState),
    }

    DEFAULT_CSS = """
    WeekGrid {
        height: 1fr;
        background: $surface;
        overflow-x: hidden;
        scrollbar-gutter: stable;
    }
    WeekGrid > .week-grid--header { text-style: bold; color: $text; background: $panel; }
    WeekGrid > .week-grid--today { text-style: bold reverse; color: $accent; background: $panel; }
    WeekGrid > .week-grid--label { color: $text-muted; }
    WeekGrid > .week-grid--empty { color: $text-disabled; }
    WeekGrid > .week-grid--open { color: $success; background: $success 15%; }
    WeekGrid > .week-grid--held { color: $warning; background: $warning 20%; }
    WeekGrid > .week-grid--booked { color: $error; background: $error 20%; text-style: bold; }
    WeekGrid > .week-grid--taken { color: $text-disabled; }
    WeekGrid > .week-grid--mine-held {
        color: $warning; background: $warning 30%; text-style: bold;
    }
    WeekGrid > .week-grid--mine-booked {
        color: $primary; background: $primary 30%; text-style: bold;
    }
    WeekGrid > .week-grid--past { color: $text-disabled; }
    WeekGrid > .week-grid--pending-paint {
        color: $success; text-style: bold; background: $success 35%;
    }
    WeekGrid > .week-grid--pending-erase {
        color: $error; text-style: bold strike; background: $error 15%;
    }
    WeekGrid > .week-grid--missing { background: $background; }
    WeekGrid > .week-grid--selection { background: $accent 40%; }
    WeekGrid > .week-grid--cursor { text-style: reverse bold; }
    WeekGrid:blur > .week-grid--cursor { text-style: underline; }
    """

    cursor: reactive[tuple[int, int]] = reactive((0, 0), always_update=True)

    class CursorMoved(Message):
        def __init__(self, grid: WeekGrid, start: int | None) -> None:
            super().__init__()
            self.grid = grid
            self.start = start

    class Toggled(Message):
        """Space or a click on cells: the screen decides what toggling each one means."""

        def __init__(self, grid: WeekGrid, starts: list[int]) -> None:
            super().__init__()
            self.grid = grid
            self.starts = starts

    class Erased(Message):
        def __init__(self, grid: WeekGrid, starts: list[int]) -> None:
            super().__init__()
            self.grid = grid
            self.starts = starts

    class Painted(Message):
        """A mouse drag over these cells: paint them, or erase them when `erase`."""

        def __init__(self, grid: WeekGrid, starts: list[int], erase: bool) -> None:
            super().__init__()
            self.grid = grid
            self.starts = starts
            self.erase = erase

    class Activated(Message):
        def __init__(self, grid: WeekGrid, start: int) -> None:
            super().__init__()
            self.grid = grid
            self.start = start

    def __init__(
        self,
        layout: WeekLayout,
        *,
        painting: bool = True,
        today: date | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.painting = painting
        self.today = today
        self._week = layout
        self._cells: dict[int, Cell] = {}
        self._anchor: tuple[int, int] | None = None
        self._drag: tuple[tuple[int, int], bool] | None = None
        self._drag_end: tuple[int, int] | None = None
        self._top_hour: int | None = None
        self.edits_posted = 0
        """Edit messages posted so far: a screen that has handled fewer has some in flight."""
        self._set_virtual_size()

    # --- what the screen tells the grid ------------------------------------------------------

    @property
    def week(self) -> WeekLayout:
        return self._week

    def show_week(self, layout: WeekLayout, cells: dict[int, Cell], today: date | None) -> None:
        """Draw another week (keeping the cursor's row and weekday)."""
        row, day = self.cursor
        old_label = self._week.rows[row] if row < len(self._week.rows) else None
        self._week = layout
        self._cells = dict(cells)
        self.today = today
        self._anchor = None
        rows = layout.rows
        new_row = rows.index(old_label) if old_label in rows else min(row, len(rows) - 1)
        self._set_virtual_size()
        self.cursor = (new_row, min(day, len(layout.days) - 1))
        self.refresh()

    def set_cells(self, cells: dict[int, Cell]) -> None:
        """Replace every cell's state, repainting only the rows that changed."""
        changed = {
            s for s in cells.keys() | self._cells.keys() if cells.get(s) != self._cells.get(s)
        }
        self._cells = dict(cells)
        self._refresh_starts(changed)

    def cell_at(self, start: int) -> Cell:
        return self._cells.get(start, BLANK)

    @property
    def cursor_start(self) -> int | None:
        row, day = self.cursor
        return self._week.cells[row][day]

    def move_to(self, start: int) -> bool:
        """Put the cursor on this slot, if it is in this week."""
        found = self._week.find(start)
        if found is None:
            return False
        self.cursor = found
        return True

    def scroll_to_hour(self, hour: int) -> None:
        """Show this hour at the top of the grid (once the grid knows its size)."""
        self._top_hour = hour
        if self.size.height:
            self._scroll_to_top_hour()

    def _scroll_to_top_hour(self) -> None:
        if self._top_hour is None:
            return
        for index, row in enumerate(self._week.rows):
            if row.minute_of_day >= self._top_hour * 60:
                self.scroll_to(y=index, animate=False, force=True, immediate=True)
                break
        self._top_hour = None

    @property
    def selection(self) -> list[int]:
        """The starts of the cells in the range (or under the cursor), in time order."""
        corner = self._drag_end if self._drag is not None and self._drag_end else self.cursor
        anchor = self._drag[0] if self._drag is not None else self._anchor
        if anchor is None:
            start = self.cursor_start
            return [] if start is None else [start]
        return self._starts_between(anchor, corner)

    # --- geometry ----------------------------------------------------------------------------

    def _set_virtual_size(self) -> None:
        width = self.scrollable_content_region.width
        self.virtual_size = Size(width, len(self._week.rows) + HEADER_LINES)

    def on_resize(self, event: events.Resize) -> None:
        self._set_virtual_size()
        self._scroll_to_top_hour()

    @property
    def _label_width(self) -> int:
        return max(6, max((len(r.label) for r in self._week.rows), default=5) + 1)

    @property
    def _column_width(self) -> int:
        usable = self.scrollable_content_region.width - self._label_width
        return max(4, usable // max(1, len(self._week.days)))

    def _cell_under(self, x: int, y: int) -> tuple[int, int] | None:
        if y < HEADER_LINES:
            return None
        row = y - HEADER_LINES + self.scroll_offset.y
        column = (x + self.scroll_offset.x - self._label_width) // self._column_width
        if x < self._label_width or not 0 <= row < len(self._week.rows):
            return None
        if not 0 <= column < len(self._week.days):
            return None
        return row, column

    def _starts_between(self, a: tuple[int, int], b: tuple[int, int]) -> list[int]:
        rows = range(min(a[0], b[0]), max(a[0], b[0]) + 1)
        days = range(min(a[1], b[1]), max(a[1], b[1]) + 1)
        found = [self._week.cells[r][d] for d in days for r in rows]
        return sorted(s for s in found if s is not None)

    # --- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y < HEADER_LINES:
            return self._header_line(width)
        row = y - HEADER_LINES + self.scroll_offset.y
        if row >= len(self._week.rows):
            return Strip.blank(width, self.rich_style)
        return self._row_line(row, width)

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True)

    def _header_line(self, width: int) -> Strip:
        base = self.rich_style + self._style("week-grid--header")
        label = self._fit(self._week.zone_label, self._label_width)
        segments = [Segment(label, base)]
        column = self._column_width
        for day in self._week.days:
            text = _day_title(day, column)
            style = base + self._style("week-grid--today") if day == self.today else base
            segments.append(Segment(self._fit(text, column, center=True), style))
        return Strip(segments).crop_extend(0, width, base)

    def _row_line(self, row: int, width: int) -> Strip:
        base = self.rich_style
        label = self._week.rows[row].label
        segments = [
            Segment(self._fit(label, self._label_width), base + self._style("week-grid--label"))
        ]
        column = self._column_width
        selected = set(self.selection) if (self._anchor or self._drag) else set()
        for day, start in enumerate(self._week.cells[row]):
            cell = MISSING if start is None else self._cells.get(start, BLANK)
            style = base + self._style(cell.state.component)
            if start is not None and start in selected:
                style += self._style("week-grid--selection")
            if (row, day) == self.cursor and self._drag is None:
                style += self._style("week-grid--cursor")
            text = f"{cell.state.glyph} {cell.text}" if cell.text else cell.state.glyph
            if len(text) > column - 1:  # too narrow for the words: the glyph says it
                text = cell.state.glyph
            segments.append(Segment(self._fit(text, column), style))
        return Strip(segments).crop_extend(0, width, base)

    @staticmethod
    def _fit(text: str, width: int, *, center: bool = False) -> str:
        if len(text) > width - 1:
            text = text[: max(0, width - 1)]
        return (text.center(width) if center else (" " + text).ljust(width))[:width]

    def _refresh_starts(self, starts: set[int]) -> None:
        rows = {found[0] for s in starts if (found := self._week.find(s)) is not None}
        for row in rows:
            self.refresh_line(row + HEADER_LINES)

    def _refresh_rows(self, *rows: int) -> None:
        for row in rows:
            self.refresh_line(row + HEADER_LINES)

    # --- cursor and keys ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Painting keys exist only where painting does; Hold only where it does not."""
        if action in ("toggle_cells", "range", "erase"):
            return self.painting
        if action == "activate":
            return not self.painting
        return True

    def place_cursor(self, day: date, hour: int) -> None:
        """Put the cursor on a day at an hour (the first row at or after it)."""
        if day not in self._week.days:
            day = self._week.days[0]
        column = self._week.days.index(day)
        for index, row in enumerate(self._week.rows):
            if row.minute_of_day >= hour * 60 and self._week.cells[index][column] is not None:
                self.cursor = (index, column)
                return

    def watch_cursor(self, old: tuple[int, int], new: tuple[int, int]) -> None:
        if self._anchor is not None:
            self.refresh()
        else:
            self._refresh_rows(old[0], new[0])
        self._scroll_cursor_into_view()
        self.post_message(self.CursorMoved(self, self.cursor_start))

    def _scroll_cursor_into_view(self) -> None:
        row, day = self.cursor
        x = self._label_width + day * self._column_width
        region = Region(x, row, self._column_width, 1)
        self.scroll_to_region(
            region, animate=False, spacing=Spacing(HEADER_LINES, 0, 0, 0), force=True
        )

    def refresh_line(self, y: int) -> None:
        # Header lines stay put; rows move with the scroll.
        if y < HEADER_LINES:
            self.refresh(Region(0, y, self.size.width, 1))
        else:
            self.refresh(Region(0, y - self.scroll_offset.y, self.size.width, 1))

    def action_move(self, rows: int, days: int) -> None:
        row, day = self.cursor
        row = max(0, min(len(self._week.rows) - 1, row + rows))
        day = max(0, min(len(self._week.days) - 1, day + days))
        self.cursor = (row, day)

    def action_edge(self, direction: int) -> None:
        self.cursor = (0 if direction < 0 else len(self._week.rows) - 1, self.cursor[1])

    def action_range(self) -> None:
        if not self.painting:
            return
        self._anchor = None if self._anchor is not None else self.cursor
        self.refresh()

    def action_drop_range(self) -> None:
        if self._anchor is not None:
            self._anchor = None
            self.refresh()

    def _take_selection(self) -> list[int]:
        starts = self.selection
        if self._anchor is not None:
            self._anchor = None
            self.refresh()
        return starts

    def action_toggle_cells(self) -> None:
        if not self.painting:
            self.action_activate()
            return
        starts = self._take_selection()
        if starts:
            self._post_edit(self.Toggled(self, starts))

    def action_erase(self) -> None:
        if not self.painting:
            return
        starts = self._take_selection()
        if starts:
            self._post_edit(self.Erased(self, starts))

    def _post_edit(self, message: Message) -> None:
        self.edits_posted += 1
        self.post_message(message)

    def action_activate(self) -> None:
        start = self.cursor_start
        if start is not None:
            self.post_message(self.Activated(self, start))

    # --- mouse ---------------------------------------------------------------------------------

    def on_mouse_down(self, event: events.MouseDown) -> None:
        where = self._cell_under(event.x, event.y)
        if where is None:
            return
        self.focus()
        self.cursor = where
        start = self._week.cells[where[0]][where[1]]
        if not self.painting or start is None:
            return
        erase = self.cell_at(start).state in (CellState.OPEN, CellState.PENDING_ERASE)
        self._drag = (where, erase)
        self._drag_end = where
        self.capture_mouse()
        event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag is None:
            return
        where = self._cell_under(event.x, event.y)
        if where is not None and where != self._drag_end:
            self._drag_end = where
            self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._drag is None:
            return
        (origin, erase), end = self._drag, self._drag_end or self._drag[0]
        starts = self._starts_between(origin, end)
        self._drag = None
        self._drag_end = None
        self.release_mouse()
        self.cursor = end
        self.refresh()
        if origin == end:
            self._post_edit(self.Toggled(self, starts))
        elif starts:
            self._post_edit(self.Painted(self, starts, erase))
        event.stop()

    def on_click(self, event: events.Click) -> None:
        if not self.painting and event.chain >= 2:
            self.action_activate()


def _day_title(day: date, width: int) -> str:
    if width >= 14:
        return day.strftime("%a %d %b")
    if width >= 7:
        return day.strftime("%a %d")
    return day.strftime("%a")[:2] + str(day.day)
