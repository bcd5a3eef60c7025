"""The week grid: days across, slot rows down, one Line-API widget (ScrollView + render_line).

It draws what it is told (each cell's state and a short text), keeps a cursor and a range, and
turns keys and mouse drags into messages; what a toggle or an erase means is the screen's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from shared.weeks import WeekLayout
from tui.narrow import NARROW, NARROW_DAYS
from tui.widgets.grid_headings import DatedHeadings, Headings


class CellState(Enum):
    """What a cell shows. Each state has a glyph, so the grid reads without colour. The glyphs are
    all narrow in every terminal (none of Unicode's "ambiguous width"), so columns line up."""

    EMPTY = ("⋅", "empty")
    OPEN = ("◦", "open")
    SHORT = ("◔", "short")
    TOO_SOON = ("◌", "too-soon")
    HELD = ("◍", "held")
    BOOKED = ("◉", "booked")
    BUFFER = ("⋯", "buffer")
    BUSY = ("⊠", "busy")
    CONFLICT = ("!", "conflict")
    TAKEN = ("⊘", "taken")
    MINE_HELD = ("◍", "mine-held")
    MINE_BOOKED = ("◉", "mine-booked")
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
    """A cell's state and words; `mark` stands in for the state's glyph (the rest of an
    appointment shows CONTINUED, under the glyph of its first cell)."""

    state: CellState
    text: str = ""
    mark: str = ""

    @property
    def glyph(self) -> str:
        return self.mark or self.state.glyph


BLANK = Cell(CellState.EMPTY)
MISSING = Cell(CellState.MISSING)
HEADER_LINES = 2
"""The caption (month, year and zone) and the day titles, which stay put while rows scroll."""
MIN_COLUMN = 6
"""The narrowest a day's column gets ("Tu 05" and a space); with less room, fewer days show and
the grid scrolls sideways."""
MAX_COLUMN = 24
CURSOR_MARK = "▸"
"""Drawn at the start of the cursor's cell, so that it shows without colour too."""
CONTINUED = "╎"
"""The glyph of an appointment's cells after its first: one block, read downwards."""


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

    Mouse, painting: a click toggles; a drag paints from an empty cell and erases from an open one.
    Mouse, otherwise: a click moves the cursor; a click on the cursor's cell (a second click, or a
    double click) acts on it as Enter does.
    """

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1, 0)", "Up", show=False, id="grid.up"),
        Binding("down,j", "move(1, 0)", "Down", show=False, id="grid.down"),
        Binding("left,h", "move(0, -1)", "Left", show=False, id="grid.left"),
        Binding("right,l", "move(0, 1)", "Right", show=False, id="grid.right"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="grid.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="grid.page_down"),
        Binding("home", "edge(-1)", "First row", show=False, id="grid.home"),
        Binding("end", "edge(1)", "Last row", show=False, id="grid.end"),
        Binding("space", "toggle_cells", "Toggle", id="grid.toggle"),
        Binding("v", "range", "Range", id="grid.range"),
        Binding("x", "erase", "Erase", id="grid.erase"),
        Binding("enter,space", "activate", "Hold", key_display="⏎", id="grid.activate"),
        Binding("escape", "drop_range", "Drop range", show=False, id="grid.drop_range"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "week-grid--caption",
        "week-grid--header",
        "week-grid--today",
        "week-grid--label",
        "week-grid--cursor",
        "week-grid--selection",
        *(state.component for state in CellState),
    }

    # Each state pairs a theme's text colour with its own muted background (`$text-success` on
    # `$success-muted`...), which themes make to be read together; the app's minimum-contrast
    # filter (tui/legibility.py) covers any theme that falls short. The cursor reverses its cell
    # and marks it with ▸; a range is underlined: both show without colour.
    DEFAULT_CSS = """
    WeekGrid {
        height: 1fr;
        background: $surface;
        overflow-x: hidden;
        scrollbar-gutter: stable;
    }
    WeekGrid > .week-grid--caption { color: $text-muted; background: $panel; }
    WeekGrid > .week-grid--header { text-style: bold; color: $text; background: $panel; }
    WeekGrid > .week-grid--today {
        text-style: bold; color: $text-accent; background: $accent-muted;
    }
    WeekGrid > .week-grid--label { color: $text-muted; }
    WeekGrid > .week-grid--empty { color: $text-muted; }
    WeekGrid > .week-grid--open { color: $text-success; background: $success-muted; }
    WeekGrid > .week-grid--short { color: $text-success; }
    WeekGrid > .week-grid--too-soon { color: $text-muted; text-style: italic; }
    WeekGrid > .week-grid--held { color: $text-warning; background: $warning-muted; }
    WeekGrid > .week-grid--booked {
        color: $text-error; background: $error-muted; text-style: bold;
    }
    WeekGrid > .week-grid--buffer {
        color: $text-secondary; background: $secondary-muted; text-style: italic;
    }
    WeekGrid > .week-grid--busy { color: $text-primary; background: $primary-muted; }
    WeekGrid > .week-grid--conflict { color: $text; background: $error; text-style: bold; }
    WeekGrid > .week-grid--taken { color: $text-muted; }
    WeekGrid > .week-grid--mine-held {
        color: $text-warning; background: $warning-muted; text-style: bold;
    }
    WeekGrid > .week-grid--mine-booked {
        color: $text-primary; background: $primary-muted; text-style: bold;
    }
    WeekGrid > .week-grid--past { color: $text-muted; }
    WeekGrid > .week-grid--pending-paint {
        color: $text-accent; background: $accent-muted; text-style: bold;
    }
    WeekGrid > .week-grid--pending-erase {
        color: $text-error; background: $error-muted; text-style: bold strike;
    }
    WeekGrid > .week-grid--missing { background: $background; }
    WeekGrid > .week-grid--selection { background: $accent-muted; text-style: underline; }
    WeekGrid > .week-grid--cursor { text-style: reverse bold; }
    WeekGrid:blur > .week-grid--cursor { text-style: underline bold; }
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
        headings: Headings | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.painting = painting
        self.activates = True
        """Enter and space act on the cell (where painting is off); a screen may take them
        over for a while (a client moving an appointment: they move it there)."""
        self.today = today
        self._headings: Headings = headings or DatedHeadings()
        self._week = layout
        self._label_width = label_width(layout)
        self._cells: dict[int, Cell] = {}
        self._span: frozenset[int] = frozenset()
        """Cells marked as the range is (a client's view: what a hold here would cover)."""
        self._anchor: tuple[int, int] | None = None
        self._drag: tuple[tuple[int, int], bool] | None = None
        self._drag_end: tuple[int, int] | None = None
        self._press: tuple[tuple[int, int], bool] | None = None
        """The cell the mouse went down on, and whether the cursor was on it already."""
        self._click_acted = False
        """The clicks of this double click have acted on the cell already."""
        self._top_hour: int | None = None
        self._first_day = 0
        """The leftmost day shown, when the grid is too narrow for all seven."""
        self._styles: dict[str, Style] = {}
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
        self._label_width = label_width(layout)
        self._cells = dict(cells)
        self.today = today
        self._anchor = None
        rows = layout.rows
        new_row = rows.index(old_label) if old_label in rows else min(row, len(rows) - 1)
        self._set_virtual_size()
        self.cursor = (new_row, min(day, len(layout.days) - 1))
        self.refresh()

    @property
    def headings(self) -> Headings:
        """What the caption and the day titles say (dates and month, by default)."""
        return self._headings

    @headings.setter
    def headings(self, headings: Headings) -> None:
        if headings != self._headings:
            self._headings = headings
            self.refresh(Region(0, 0, self.size.width, HEADER_LINES))

    def set_cells(self, cells: dict[int, Cell]) -> None:
        """Replace every cell's state, repainting only the rows that changed."""
        changed = {
            s for s in cells.keys() | self._cells.keys() if cells.get(s) != self._cells.get(s)
        }
        self._cells = dict(cells)
        self._refresh_starts(changed)

    @property
    def span(self) -> frozenset[int]:
        return self._span

    @span.setter
    def span(self, starts: frozenset[int]) -> None:
        """Mark these cells as a range is marked, without being one (nothing acts on them)."""
        if starts != self._span:
            changed = starts ^ self._span
            self._span = starts
            self._refresh_starts(set(changed))

    def cell_at(self, start: int) -> Cell:
        return self._cells.get(start, BLANK)

    @property
    def cursor_start(self) -> int | None:
        row, day = self.cursor
        return self._week.cells[row][day]

    def move_to(self, start: int, *, leading: bool = False) -> bool:
        """Put the cursor on this slot, if it is in this week. `leading`: a jump to what the user
        looks for (the next free time), which must not land in the view's last third, where the
        fewest rows scrolled would leave it (on the last line, all that follows it out of sight):
        there its row comes a third of the way down instead, what precedes and follows it in
        sight."""
        found = self._week.find(start)
        if found is None:
            return False
        self.cursor = found
        shown = self.size.height - HEADER_LINES
        if leading and shown > 0 and found[0] - self.scroll_offset.y >= shown * 2 // 3:
            top = max(0, found[0] - shown // 3)
            self.scroll_to(y=top, animate=False, force=True, immediate=True)
        return True

    def scroll_to_hour(self, hour: int) -> None:
        """Show this hour at the top of the grid (once the grid knows its size)."""
        self._top_hour = hour
        if self.size.height:
            self._scroll_to_top_hour()

    def _scroll_to_top_hour(self) -> None:
        """Show the chosen hour at the top, unless that would hide the cursor: then the cursor's
        row comes into view instead (start-up at 16:00 with the view from 08:00, say)."""
        if self._top_hour is None:
            return
        for index, row in enumerate(self._week.rows):
            if row.minute_of_day >= self._top_hour * 60:
                self.scroll_to(y=index, animate=False, force=True, immediate=True)
                break
        self._top_hour = None
        self._scroll_cursor_into_view()

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
        self._keep_cursor_day_shown()
        self._scroll_to_top_hour()
        self._scroll_cursor_into_view()

    @property
    def visible_days(self) -> int:
        """How many days fit side by side, at least MIN_COLUMN each (at most the week's; at phone
        width, at most NARROW_DAYS, so that their words can be read)."""
        usable = self.scrollable_content_region.width - self._label_width
        return max(1, min(self._most_days, usable // MIN_COLUMN))

    @property
    def _most_days(self) -> int:
        narrow = self.is_mounted and self.screen.has_class(NARROW)
        return min(NARROW_DAYS, len(self._week.days)) if narrow else len(self._week.days)

    @property
    def first_day(self) -> int:
        """The index of the leftmost day shown."""
        return max(0, min(self._first_day, len(self._week.days) - self.visible_days))

    @property
    def _column_width(self) -> int:
        usable = self.scrollable_content_region.width - self._label_width
        return max(MIN_COLUMN, usable // self.visible_days)

    def day_columns(self) -> list[tuple[date, int, int]]:
        """The days shown, each with where its column begins (from the grid's left edge) and how
        wide it is: for a line drawn in line with them (tui/widgets/day_notes.py)."""
        column, first = self._column_width, self.first_day
        shown = self._week.days[first : first + self.visible_days]
        return [(day, self._label_width + i * column, column) for i, day in enumerate(shown)]

    def _keep_cursor_day_shown(self) -> None:
        """Scroll sideways, a day at a time, so that the cursor's day is among those shown."""
        first, shown, day = self.first_day, self.visible_days, self.cursor[1]
        if day < first:
            first = day
        elif day >= first + shown:
            first = day - shown + 1
        if first != self._first_day:
            self._first_day = first
            self.refresh()

    def _cell_under(self, x: int, y: int) -> tuple[int, int] | None:
        if y < HEADER_LINES or x < self._label_width:
            return None
        row = y - HEADER_LINES + self.scroll_offset.y
        column = (x - self._label_width) // self._column_width
        if not 0 <= row < len(self._week.rows) or not 0 <= column < self.visible_days:
            return None
        day = self.first_day + column
        return (row, day) if day < len(self._week.days) else None

    def _starts_between(self, a: tuple[int, int], b: tuple[int, int]) -> list[int]:
        rows = range(min(a[0], b[0]), max(a[0], b[0]) + 1)
        days = range(min(a[1], b[1]), max(a[1], b[1]) + 1)
        found = [self._week.cells[r][d] for d in days for r in rows]
        return sorted(s for s in found if s is not None)

    # --- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._caption_line(width)
        if y < HEADER_LINES:
            return self._header_line(width)
        row = y - HEADER_LINES + self.scroll_offset.y
        if row >= len(self._week.rows):
            return Strip.blank(width, self.rich_style)
        return self._row_line(row, width)

    def notify_style_update(self) -> None:
        self._styles.clear()  # the theme or the CSS changed: resolve the colours again
        super().notify_style_update()
        self._keep_cursor_day_shown()  # the screen may have turned narrow (fewer days) or wide
        self.refresh()

    def _style(self, component: str) -> Style:
        """A cell state's whole style, its translucent and automatic colours resolved against
        the grid's background (as the terminal will show them)."""
        style = self._styles.get(component)
        if style is None:
            style = self._styles[component] = self.get_component_rich_style(component)
        return style

    def _mark(self, component: str) -> Style:
        """What the cursor or a range adds to a cell: attributes (and the range's background),
        never the cell's text colour."""
        key = f"{component}:partial"
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = self.get_component_rich_style(component, partial=True)
        return style

    def caption(self) -> str:
        """The line above the days: what the headings say (the month and year, the zone: never
        cut, a shorter form is chosen where the long one does not fit), and which days show when
        not all do."""
        week, width = self._week, self.scrollable_content_region.width
        shown, first, days = self.visible_days, self.first_day, len(self._week.days)
        hints = [""]
        if shown < days:
            span = f"{first + 1}-{first + shown}"
            hints = [f"  ·  days {span} of {days}, ← → for the rest", f" · days {span} of {days}"]
        forms = self._headings.caption_forms(week)
        for text in [form + hint for form in forms for hint in hints] + forms:
            if cell_len(text) <= width:
                return text
        return forms[-1]

    def _caption_line(self, width: int) -> Strip:
        style = self.rich_style + self._style("week-grid--caption")
        return Strip([Segment(self.caption(), style)]).crop_extend(0, width, style)

    def _header_line(self, width: int) -> Strip:
        base = self.rich_style + self._style("week-grid--header")
        segments = [Segment(" " * self._label_width, base)]
        column, first = self._column_width, self.first_day
        for day in self._week.days[first : first + self.visible_days]:
            style = self.rich_style + self._style("week-grid--today") if day == self.today else base
            title = self._headings.day_title(day, column)
            segments.append(Segment(self._fit(title, column, center=True), style))
        return Strip(segments).crop_extend(0, width, base)

    def _row_line(self, row: int, width: int) -> Strip:
        base = self.rich_style
        label = self._week.rows[row].label
        segments = [
            Segment(self._fit(label, self._label_width), base + self._style("week-grid--label"))
        ]
        column, first = self._column_width, self.first_day
        selected = set(self.selection) if (self._anchor or self._drag) else self._span
        cells = self._week.cells[row]
        for day in range(first, min(len(cells), first + self.visible_days)):
            start = cells[day]
            cell = MISSING if start is None else self._cells.get(start, BLANK)
            style = base + self._style(cell.state.component)
            if start is not None and start in selected:
                style += self._mark("week-grid--selection")
            text = _cell_text(cell, column - 1)
            lead = " "
            if (row, day) == self.cursor and self._drag is None:
                style += self._mark("week-grid--cursor")
                lead = CURSOR_MARK
            segments.append(Segment(lead + set_cell_size(text, column - 1), style))
        return Strip(segments).crop_extend(0, width, base)

    @staticmethod
    def _fit(text: str, width: int, *, center: bool = False) -> str:
        """Text in exactly `width` terminal cells (wide characters count twice), cut or padded."""
        if cell_len(text) > width - 1:
            text = set_cell_size(text, max(0, width - 1))
        if center:
            room = width - cell_len(text)
            return " " * (room // 2) + text + " " * (room - room // 2)
        return set_cell_size(" " + text, width)

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
        if action in ("toggle_cells", "range", "erase", "drop_range"):
            return self.painting
        if action == "activate":
            return not self.painting and self.activates
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
        self._keep_cursor_day_shown()
        self._scroll_cursor_into_view()
        self.post_message(self.CursorMoved(self, self.cursor_start))

    def _scroll_cursor_into_view(self) -> None:
        """Scroll the fewest rows that bring the cursor's row below the fixed header lines."""
        if not self.size.height:
            return
        region = Region(0, self.cursor[0] + HEADER_LINES, 1, 1)
        self.scroll_to_region(
            region,
            animate=False,
            spacing=Spacing(HEADER_LINES, 0, 0, 0),
            force=True,
            immediate=True,
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

    def action_page(self, direction: int) -> None:
        """A screenful of rows up or down (one row of it stays in view)."""
        rows = max(1, self.scrollable_content_region.height - HEADER_LINES - 1)
        self.action_move(direction * rows, 0)

    def action_edge(self, direction: int) -> None:
        self.cursor = (0 if direction < 0 else len(self._week.rows) - 1, self.cursor[1])

    def action_range(self) -> None:
        if not self.painting:
            return
        self._anchor = None if self._anchor is not None else self.cursor
        self.refresh()

    def action_drop_range(self) -> None:
        if self._anchor is None:
            raise SkipAction()  # nothing to drop: Esc means what the screen says it means
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
        self._press = None
        if where is None:
            return
        self.focus()
        self._press = (where, where == self.cursor)
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
        """Where painting is off, a click moves the cursor; a click on the cursor's cell acts on
        it (as Enter does), and so does a double click anywhere, once."""
        press, self._press = self._press, None
        if self.painting or press is None:
            return
        where, on_cursor = press
        if self._cell_under(event.x, event.y) != where:
            return
        if event.chain == 1:
            self._click_acted = False
        if (on_cursor or event.chain >= 2) and not self._click_acted:
            self._click_acted = True
            self.action_activate()


def _cell_text(cell: Cell, width: int) -> str:
    """The glyph and the words, as much of them as fits (a name cut short ends in …); the glyph
    alone where not even three letters would."""
    glyph = cell.glyph
    if not cell.text:
        return glyph
    text = f"{glyph} {cell.text}"
    if cell_len(text) <= width:
        return text
    room = width - 2
    if room < 3:
        return glyph
    return f"{glyph} {set_cell_size(cell.text, room - 1).rstrip()}…"


def label_width(week: WeekLayout) -> int:
    """The time column's width: a space either side of the week's longest row label. Worked out
    when the week is set, since every line drawn asks for it (and the grid's geometry with it)."""
    return max((cell_len(r.label) for r in week.rows), default=5) + 2
