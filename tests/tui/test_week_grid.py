"""The week grid on its own, in a tiny app: keys and the mouse in, messages and drawing out."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot

from shared.timefmt import parse_time
from shared.weeks import week_layout
from tui.widgets.week_grid import CURSOR_MARK, HEADER_LINES, Cell, CellState, WeekGrid

MONDAY = date(2030, 3, 4)
SLOT = 900
UTC = ZoneInfo("UTC")
LAYOUT = week_layout(MONDAY, UTC, SLOT)
MIDNIGHT = int(parse_time("2030-03-04 00:00:00"))


def at(day: int, hour: int, minute: int = 0) -> int:
    """The slot start on day `day` of the week (0 is Monday) at hh:mm UTC."""
    return MIDNIGHT + day * 86_400 + hour * 3600 + minute * 60


def row_of(hour: int, minute: int = 0) -> int:
    return (hour * 60 + minute) // 15


class GridApp(App[None]):
    """Just the grid, as a screen would host it."""

    def __init__(self, *, painting: bool = True, top_hour: int | None = None) -> None:
        super().__init__()
        self.painting = painting
        self.top_hour = top_hour

    def compose(self) -> ComposeResult:
        grid = WeekGrid(LAYOUT, painting=self.painting, today=MONDAY, id="grid")
        if self.top_hour is not None:  # as the screens do: the view and the cursor at that hour
            grid.scroll_to_hour(self.top_hour)
            grid.place_cursor(MONDAY, self.top_hour)
        yield grid


class Recorder:
    """Every message the app handles (once, though it bubbles), to pick out the grid's."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._seen: set[int] = set()

    def __call__(self, message: Message) -> None:
        if id(message) not in self._seen:
            self._seen.add(id(message))
            self.messages.append(message)

    def toggled(self) -> list[list[int]]:
        return [m.starts for m in self.messages if isinstance(m, WeekGrid.Toggled)]

    def erased(self) -> list[list[int]]:
        return [m.starts for m in self.messages if isinstance(m, WeekGrid.Erased)]

    def painted(self) -> list[tuple[list[int], bool]]:
        return [(m.starts, m.erase) for m in self.messages if isinstance(m, WeekGrid.Painted)]

    def activated(self) -> list[int]:
        return [m.start for m in self.messages if isinstance(m, WeekGrid.Activated)]


def grid_of(app: App[None]) -> WeekGrid:
    return app.query_one("#grid", WeekGrid)


def cell_offset(grid: WeekGrid, row: int, day: int) -> tuple[int, int]:
    """Where (row, day) is drawn, relative to the grid: past the label column, below the header."""
    x = grid._label_width + (day - grid.first_day) * grid._column_width + 1
    y = HEADER_LINES + row - grid.scroll_offset.y
    assert 0 < y < grid.size.height, "the cell is on screen"
    return x, y


def cursor_line(grid: WeekGrid) -> int:
    """The line of the grid the cursor's row is drawn on (failing unless it is on screen)."""
    line = HEADER_LINES + grid.cursor[0] - grid.scroll_offset.y
    assert HEADER_LINES <= line < grid.size.height, f"the cursor's row is off screen ({line})"
    return line


# --- keys ----------------------------------------------------------------------------------------


async def test_the_cursor_moves_with_keys_and_stops_at_the_edges() -> None:
    app = GridApp()
    async with app.run_test(size=(100, 30)) as pilot:
        grid = grid_of(app)
        assert grid.cursor == (0, 0)
        await pilot.press("k", "h")
        assert grid.cursor == (0, 0)
        await pilot.press("down", "right")
        assert grid.cursor == (1, 1)
        grid.cursor = (2, 5)
        await pilot.press("l", "l")
        assert grid.cursor == (2, 6)
        page = grid.scrollable_content_region.height - HEADER_LINES - 1  # a screenful, less one
        await pilot.press("pagedown")
        assert grid.cursor == (2 + page, 6)
        await pilot.press("end", "j")
        assert grid.cursor == (95, 6)
        await pilot.press("pageup")
        assert grid.cursor == (95 - page, 6)
        await pilot.press("home", "up")
        assert grid.cursor == (0, 6)
        assert grid.cursor_start == at(6, 0)


async def test_every_move_says_which_slot_the_cursor_is_on() -> None:
    app = GridApp()
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        await pilot.press("j", "l")
        await pilot.pause()
    moved = [m.start for m in record.messages if isinstance(m, WeekGrid.CursorMoved)]
    assert moved[-2:] == [at(0, 0, 15), at(1, 0, 15)]


async def test_a_range_is_the_rectangle_between_its_corners_across_days() -> None:
    app = GridApp()
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid = grid_of(app)
        grid.cursor = (row_of(10), 1)
        await pilot.press("v", "j", "j", "l", "l")
        assert grid.selection == sorted(
            at(day, 10, minute) for day in (1, 2, 3) for minute in (0, 15, 30)
        )
        await pilot.press("space")
        await pilot.pause()
        assert grid.selection == [at(3, 10, 30)], "after toggling, the range is gone"
    assert record.toggled() == [
        sorted(at(day, 10, minute) for day in (1, 2, 3) for minute in (0, 15, 30))
    ]
    assert grid.edits_posted == 1


async def test_a_range_drawn_backwards_is_the_same_rectangle() -> None:
    app = GridApp()
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid_of(app).cursor = (row_of(12), 4)
        await pilot.press("v", "k", "h", "x")
        await pilot.pause()
    assert record.erased() == [sorted([at(3, 11, 45), at(3, 12), at(4, 11, 45), at(4, 12)])]


async def test_space_and_x_without_a_range_act_on_the_cursor_cell() -> None:
    app = GridApp()
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid_of(app).cursor = (row_of(9), 2)
        await pilot.press("space", "x")
        await pilot.pause()
    assert record.toggled() == [[at(2, 9)]]
    assert record.erased() == [[at(2, 9)]]


async def test_v_twice_or_escape_drops_the_range() -> None:
    app = GridApp()
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid = grid_of(app)
        await pilot.press("v", "j", "v")
        assert grid.selection == [at(0, 0, 15)]
        await pilot.press("v", "j", "escape", "escape")
        assert grid.selection == [at(0, 0, 30)]
        await pilot.press("space")
        await pilot.pause()
    assert record.toggled() == [[at(0, 0, 30)]]


async def test_without_painting_the_painting_keys_are_gone_and_enter_activates() -> None:
    app = GridApp(painting=False)
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid = grid_of(app)
        assert grid.check_action("toggle_cells", ()) is False
        assert grid.check_action("range", ()) is False
        assert grid.check_action("erase", ()) is False
        assert grid.check_action("activate", ()) is True
        assert grid.check_action("move", (1, 0)) is True
        shown = {b.binding.action for b in app.active_bindings.values()}
        assert "activate" in shown
        assert not {"toggle_cells", "range", "erase"} & shown
        grid.cursor = (row_of(11), 3)
        await pilot.press("v", "x", "enter")
        grid.action_range()  # even when called directly, no range without painting
        grid.action_erase()
        grid.action_toggle_cells()  # as space would, on a grid that does not paint: activate
        await pilot.pause()
        assert grid.selection == [at(3, 11)]
    assert record.activated() == [at(3, 11), at(3, 11)]
    assert record.toggled() == record.erased() == []
    assert grid.edits_posted == 0


async def test_with_painting_enter_does_not_activate() -> None:
    app = GridApp()
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        assert grid_of(app).check_action("activate", ()) is False
        await pilot.press("enter")
        await pilot.pause()
    assert record.activated() == []


# --- what the screen tells it ------------------------------------------------------------------


async def test_cells_show_their_glyph_and_text_and_the_header_shows_the_days() -> None:
    app = GridApp()
    async with app.run_test(size=(100, 30)) as pilot:
        grid = grid_of(app)
        grid.set_cells(
            {
                at(0, 0): Cell(CellState.OPEN, "open"),
                at(1, 0): Cell(CellState.BOOKED, "a-very-long-client-name"),
                at(2, 0): Cell(CellState.PENDING_PAINT, "new"),
            }
        )
        await pilot.pause()
        assert grid.cell_at(at(0, 0)) == Cell(CellState.OPEN, "open")
        assert grid.cell_at(at(3, 0)).state is CellState.EMPTY
        assert grid.render_line(0).text.split() == ["March", "2030", "·", "times", "in", "UTC"]
        header = grid.render_line(1).text
        days = ["Mon", "04", "Tue", "05", "Wed", "06", "Thu", "07", "Fri", "08", "Sat", "09"]
        assert header.replace(" Mar", "").split() == [*days, "Sun", "10"]
        first = grid.render_line(HEADER_LINES).text
        # The cursor's cell (Monday 00:00) starts with its mark; a name too long is cut short.
        assert first.split() == [
            *("00:00", "▸◦", "open", "◉", "a-very-lo…", "+", "new", "⋅", "⋅", "⋅", "⋅")
        ]
        assert len(first) == grid.scrollable_content_region.width
        assert grid.render_line(500).text.strip() == "", "below the last row: blank"


async def test_a_narrow_grid_shortens_day_titles() -> None:
    app = GridApp()
    async with app.run_test(size=(50, 20)):
        grid = grid_of(app)
        assert grid._column_width < 7
        assert grid.render_line(1).text.split()[:4] == ["Mo", "04", "Tu", "05"]
    app = GridApp()
    async with app.run_test(size=(130, 20)):
        assert grid_of(app).render_line(1).text.split()[:3] == ["Mon", "04", "Mar"]


async def test_set_cells_replaces_every_cell() -> None:
    app = GridApp()
    async with app.run_test(size=(100, 30)):
        grid = grid_of(app)
        grid.set_cells({at(0, 0): Cell(CellState.OPEN), at(0, 1): Cell(CellState.HELD)})
        grid.set_cells({at(0, 1): Cell(CellState.BOOKED)})
        assert grid.cell_at(at(0, 0)).state is CellState.EMPTY
        assert grid.cell_at(at(0, 1)).state is CellState.BOOKED


async def test_show_week_keeps_the_cursors_row_and_weekday() -> None:
    app = GridApp()
    async with app.run_test(size=(100, 30)) as pilot:
        grid = grid_of(app)
        grid.set_cells({at(0, 1): Cell(CellState.OPEN)})
        grid.cursor = (row_of(14, 30), 4)
        await pilot.press("v")
        next_week = week_layout(date(2030, 3, 11), UTC, SLOT)
        grid.show_week(next_week, {at(7, 9): Cell(CellState.OPEN)}, None)
        assert grid.week is next_week
        assert grid.cursor == (row_of(14, 30), 4)
        assert grid.cursor_start == at(11, 14, 30)
        assert grid.selection == [at(11, 14, 30)], "the range does not survive a new week"
        assert grid.cell_at(at(7, 9)).state is CellState.OPEN
        assert grid.cell_at(at(0, 1)).state is CellState.EMPTY
        assert grid.today is None
        assert grid.move_to(at(8, 9))
        assert grid.cursor == (row_of(9), 1)
        assert not grid.move_to(at(0, 9)), "last week's slot is not on this grid"


async def test_show_week_with_a_shorter_day_keeps_the_cursor_on_the_grid() -> None:
    app = GridApp()
    async with app.run_test(size=(100, 30)):
        grid = grid_of(app)
        grid.cursor = (95, 6)
        three_days = week_layout(date(2030, 3, 11), UTC, 3600, days=3)
        grid.show_week(three_days, {}, None)
        assert grid.cursor == (23, 2)


async def test_scroll_to_hour_puts_that_hour_at_the_top() -> None:
    app = GridApp(top_hour=8)
    async with app.run_test(size=(100, 30)) as pilot:
        grid = grid_of(app)
        await pilot.pause()
        assert grid.scroll_offset.y == row_of(8)
        assert grid.render_line(HEADER_LINES).text.split()[0] == "08:00"
        grid.place_cursor(MONDAY, 23)
        assert cursor_line(grid) == grid.size.height - 1, "scrolled just enough to show it"
        assert grid.render_line(0).text.split()[0] == "March", "the header stays put"


async def test_place_cursor_finds_the_hour_on_a_day_or_on_the_first_day() -> None:
    app = GridApp()
    async with app.run_test(size=(100, 30)):
        grid = grid_of(app)
        grid.place_cursor(date(2030, 3, 7), 9)
        assert grid.cursor == (row_of(9), 3)
        grid.place_cursor(date(2031, 1, 1), 13)
        assert grid.cursor == (row_of(13), 0)
        grid.place_cursor(date(2030, 3, 7), 24)  # no such hour: the cursor stays
        assert grid.cursor == (row_of(13), 0)


# --- the mouse ------------------------------------------------------------------------------------


async def drag(
    pilot: Pilot[None], grid: WeekGrid, src: tuple[int, int], dst: tuple[int, int]
) -> None:
    await pilot.mouse_down(grid, offset=cell_offset(grid, *src))
    await pilot.hover(grid, offset=cell_offset(grid, *dst))
    await pilot.mouse_up(grid, offset=cell_offset(grid, *dst))
    await pilot.pause()


async def test_a_click_toggles_the_cell_under_the_mouse() -> None:
    app = GridApp(top_hour=8)
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid = grid_of(app)
        await pilot.pause()
        await pilot.click(grid, offset=cell_offset(grid, row_of(9), 2))
        await pilot.pause()
        assert grid.cursor == (row_of(9), 2)
        assert grid.has_focus
    assert record.toggled() == [[at(2, 9)]]
    assert record.painted() == []


async def test_a_drag_from_an_empty_cell_paints_the_rectangle() -> None:
    app = GridApp(top_hour=8)
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid = grid_of(app)
        await pilot.pause()
        await drag(pilot, grid, (row_of(9), 1), (row_of(9, 45), 2))
        assert grid.cursor == (row_of(9, 45), 2), "the cursor ends where the drag did"
        assert grid.app.mouse_captured is None
    expected = sorted(at(day, 9, minute) for day in (1, 2) for minute in (0, 15, 30, 45))
    assert record.painted() == [(expected, False)]
    assert record.toggled() == []
    assert grid.edits_posted == 1


async def test_a_drag_from_an_open_cell_erases() -> None:
    app = GridApp(top_hour=8)
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid = grid_of(app)
        grid.set_cells({at(3, 10): Cell(CellState.OPEN)})
        await pilot.pause()
        await drag(pilot, grid, (row_of(10), 3), (row_of(10, 30), 3))
    assert record.painted() == [([at(3, 10), at(3, 10, 15), at(3, 10, 30)], True)]


async def test_the_range_shown_while_dragging_follows_the_mouse() -> None:
    app = GridApp(top_hour=8)
    async with app.run_test(size=(100, 30)) as pilot:
        grid = grid_of(app)
        await pilot.pause()
        await pilot.mouse_down(grid, offset=cell_offset(grid, row_of(9), 0))
        await pilot.hover(grid, offset=cell_offset(grid, row_of(9, 15), 1))
        assert grid.selection == [at(0, 9), at(0, 9, 15), at(1, 9), at(1, 9, 15)]
        await pilot.hover(grid, offset=(2, 1))  # over the labels: the range stays as it was
        assert len(grid.selection) == 4
        await pilot.mouse_up(grid, offset=cell_offset(grid, row_of(9, 15), 1))


async def test_clicks_on_the_header_or_labels_do_nothing() -> None:
    app = GridApp(top_hour=8)
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid = grid_of(app)
        await pilot.pause()
        before = grid.cursor
        await pilot.click(grid, offset=(20, 0))
        await pilot.click(grid, offset=(2, 5))
        await pilot.pause()
        assert grid.cursor == before
    assert record.toggled() == []
    assert record.painted() == []


async def test_without_painting_a_click_moves_and_a_double_click_activates() -> None:
    app = GridApp(painting=False, top_hour=8)
    record = Recorder()
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        grid = grid_of(app)
        await pilot.pause()
        await pilot.click(grid, offset=cell_offset(grid, row_of(12), 5))
        await pilot.pause()
        assert grid.cursor == (row_of(12), 5)
        assert record.activated() == []
        await pilot.double_click(grid, offset=cell_offset(grid, row_of(12), 5))
        await pilot.pause()
    assert record.activated() == [at(5, 12)]
    assert record.toggled() == []
    assert record.painted() == []


# --- the cursor: always seen, always in view --------------------------------------------------

SIZES = [(80, 24), (100, 30), (120, 40)]


async def test_after_every_moving_key_the_cursors_row_is_on_screen() -> None:
    for size in SIZES:
        app = GridApp(top_hour=8)
        async with app.run_test(size=size) as pilot:
            grid = grid_of(app)
            cursor_line(grid)
            for key in ["end", "pageup", "pageup", "home", "pagedown", "pagedown", "end", "k"]:
                await pilot.press(key)
                cursor_line(grid)
            for _ in range(40):
                await pilot.press("j")
                cursor_line(grid)


async def test_at_start_the_view_shows_the_cursor_even_when_it_is_below_the_first_hour() -> None:
    class LateApp(GridApp):
        def compose(self) -> ComposeResult:
            grid = WeekGrid(LAYOUT, painting=True, today=MONDAY, id="grid")
            grid.scroll_to_hour(8)  # the view starts at 08:00 ...
            grid.place_cursor(MONDAY, 17)  # ... but it is 17:00 now
            yield grid

    app = LateApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        grid = grid_of(app)
        assert grid.cursor == (row_of(17), 0)
        cursor_line(grid)


def drawn_cells(grid: WeekGrid, row: int) -> list[tuple[int, str, Any]]:
    """(x, text, style) of each day's cell on a row, as drawn."""
    strip = grid.render_line(HEADER_LINES + row - grid.scroll_offset.y)
    found: list[tuple[int, str, Any]] = []
    x = 0
    for segment in strip:
        if x >= grid._label_width:
            found.append((x, segment.text, segment.style))
        x += cell_len(segment.text)
    return [f for f in found if f[0] < grid._label_width + grid.visible_days * grid._column_width]


async def test_the_cursor_shows_on_every_kind_of_cell_with_a_mark_and_reverse_video() -> None:
    app = GridApp()
    async with app.run_test(size=(120, 30)) as pilot:
        grid = grid_of(app)
        for state in CellState:
            grid.set_cells({at(0, 0): Cell(state, "x")} if state is not CellState.MISSING else {})
            grid.cursor = (0, 0)
            await pilot.pause()
            _, text, style = drawn_cells(grid, 0)[0]
            assert text.startswith(CURSOR_MARK), (state, text)
            assert style.reverse, state
            _, other, other_style = drawn_cells(grid, 0)[1]
            assert not other.startswith(CURSOR_MARK)
            assert not other_style.reverse


async def test_a_range_is_underlined_and_only_the_cursor_is_marked() -> None:
    app = GridApp()
    async with app.run_test(size=(120, 30)) as pilot:
        grid = grid_of(app)
        grid.set_cells({at(day, 0): Cell(CellState.OPEN, "open") for day in range(3)})
        grid.cursor = (0, 0)
        await pilot.press("v", "l", "l")
        cells = drawn_cells(grid, 0)
        assert [c[1].startswith(CURSOR_MARK) for c in cells[:4]] == [False, False, True, False]
        assert [bool(c[2].underline) for c in cells[:4]] == [True, True, True, False]
        assert [bool(c[2].reverse) for c in cells[:4]] == [False, False, True, False]


async def test_every_days_column_starts_at_the_same_place_whatever_its_cells_hold() -> None:
    app = GridApp()
    async with app.run_test(size=(120, 30)) as pilot:
        grid = grid_of(app)
        wide = ["王小明", "Zoë 🙂", "a-very-long-client-name", "", "Ada", "é", "ＡＢＣ"]
        grid.set_cells(
            {
                at(day, 0, 15 * row): Cell(list(CellState)[(day + row) % 11], wide[day])
                for day in range(7)
                for row in range(4)
            }
        )
        await pilot.pause()
        column = grid._column_width
        expected = [grid._label_width + day * column for day in range(7)]
        for row in range(6):
            cells = drawn_cells(grid, row)
            assert [c[0] for c in cells] == expected, row
            assert all(cell_len(c[1]) == column for c in cells), row


async def test_a_narrow_grid_shows_fewer_days_and_scrolls_sideways_to_the_cursor() -> None:
    app = GridApp()
    async with app.run_test(size=(40, 20)) as pilot:
        grid = grid_of(app)
        shown = grid.visible_days
        assert shown < 7
        assert grid.first_day == 0
        titles = grid.render_line(1).text.split()
        assert titles[:2] == ["Mo", "04"]
        assert all(t.isdigit() or t.isalpha() for t in titles), "no title is cut short"
        await pilot.press(*["l"] * 6)
        assert grid.cursor == (0, 6)
        assert grid.first_day == 7 - shown
        assert grid.render_line(1).text.split()[-2:] == ["Su", "10"]
        x, y = cell_offset(grid, 0, 6)
        assert grid._cell_under(x, y) == (0, 6)
        await pilot.press(*["h"] * 6)
        assert grid.first_day == 0


async def test_a_jump_to_what_is_sought_shows_what_follows_it_not_just_its_row() -> None:
    """Late at night the view opens at midnight; the next free time, at 11:00, is a jump away.
    The fewest rows scrolled would leave it on the last line, the times after it out of sight:
    a leading jump brings it a third of the way down instead. A step of the cursor still scrolls
    the fewest rows."""
    app = GridApp(top_hour=0)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = grid_of(app)
        shown = grid.size.height - HEADER_LINES
        assert grid.move_to(at(3, 11), leading=True)
        await pilot.pause()
        line = cursor_line(grid) - HEADER_LINES
        assert line == shown // 3
        assert grid.scroll_offset.y + shown > row_of(12)  # the hour after it is in sight
        assert grid.move_to(at(3, 11, 15))  # a step: nothing else moves
        await pilot.pause()
        assert cursor_line(grid) - HEADER_LINES == line + 1
        assert grid.move_to(at(3, 20))  # not leading: the fewest rows, onto the last line
        await pilot.pause()
        assert cursor_line(grid) == grid.size.height - 1
