"""The provider's week, driven with keys and the mouse against a real server."""

from __future__ import annotations

from datetime import date
from typing import Any

from textual.message import Message
from textual.notifications import Notification, Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from backend.runtime.clock import ManualClock
from shared.timefmt import format_time, parse_time
from tests.tui.harness import (
    BackendThread,
    app_for,
    first_columns,
    heading_and_info,
    key_bar_shows,
    shows_the_last_known,
    until,
    window,
)
from tui.app import SlotbookApp
from tui.screens.bookings import BookingsScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.provider import ProviderScreen
from tui.widgets.week_grid import HEADER_LINES, CellState, WeekGrid

WEEK_START = "2030-03-04 00:00:00"
WEEK_END = "2030-03-11 00:00:00"


class Toasts:
    """A message hook that keeps every notification the app raises (toasts time out)."""

    def __init__(self) -> None:
        self.raised: list[Notification] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify) and message.notification not in self.raised:
            self.raised.append(message.notification)

    def texts(self, severity: str | None = None) -> list[str]:
        return [
            f"{n.title}: {n.message}" if n.title else n.message
            for n in self.raised
            if severity is None or n.severity == severity
        ]

    def saying(self, words: str) -> list[Notification]:
        return [n for n in self.raised if words in n.message or words in n.title]


async def provider_screen(app: SlotbookApp, pilot: Pilot[None]) -> ProviderScreen:
    """Wait for the provider's week to be on screen and loaded."""
    await until(lambda: isinstance(app.screen, ProviderScreen) and app.screen.loaded, pilot.pause)
    screen = app.screen
    assert isinstance(screen, ProviderScreen)
    return screen


async def goto(pilot: Pilot[None], screen: ProviderScreen, timestamp: str) -> None:
    """Put the cursor on a slot (as the keys would, without walking there key by key)."""
    assert screen.grid.move_to(at(timestamp))
    await pilot.pause()


async def saved(screen: ProviderScreen, pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+s")
    await until(lambda: not screen.draft.pending and not screen.saving, pilot.pause)


def server_slots(
    backend: BackendThread, token: str, provider: str = "ada", start: str = WEEK_START
) -> dict[str, str]:
    """timestamp -> status of every slot the provider has in the week, as the server says."""
    with backend.http(token) as http:
        answer = http.get(
            f"/providers/{provider}/slots", params={"startTime": start, "endTime": WEEK_END}
        )
    assert answer.status_code == 200, answer.text
    slots: list[dict[str, Any]] = answer.json()["timeSlots"]
    return {s["timestamp"]: s["status"] for s in slots}


def at(text: str) -> int:
    return int(parse_time(text))


def cell_offset(grid: WeekGrid, start: int) -> tuple[int, int]:
    """Where the cell of this slot start is drawn, relative to the grid."""
    found = grid.week.find(start)
    assert found is not None
    row, day = found
    x = grid._label_width + day * grid._column_width + 1
    y = HEADER_LINES + row - grid.scroll_offset.y
    assert 0 < y < grid.size.height, "the cell is on screen"
    return x, y


def hold(backend: BackendThread, client: str, timestamp: str, *, confirm: bool = False) -> None:
    """Let a client (a fresh token) hold, and perhaps book, the slot at `timestamp` over HTTP."""
    token = backend.issue("client", client, client.title())
    with backend.http(token) as http:
        listed = http.get(
            "/availability",
            params={"startTime": timestamp, "endTime": format_time(parse_time(timestamp) + 900)},
        ).json()["availableTimeSlots"]
        slot = next(s for s in listed if s["timestamp"] == timestamp)
        body = {"timeSlot": timestamp, "timeSlotId": slot["timeSlotId"]}
        assert http.post("/availability/reserve", json=body).status_code == 201
        if confirm:
            answer = http.put(
                f"/availability/confirm/{slot['timeSlotId']}", json={"timeSlot": timestamp}
            )
            assert answer.status_code == 200, answer.text


def info(screen: ProviderScreen) -> str:
    return str(screen.query_one("#info", Static).render())


# --- painting and saving -------------------------------------------------------------------------


async def test_a_range_painted_with_keys_is_saved_as_exactly_those_slots(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.query_one(WeekGrid)
        # The cursor starts on today (Monday) at 09:00; go to Wednesday 10:00 and paint 4 x 2.
        await pilot.press("l", "l", *["j"] * 4, "v", "j", "j", "j", "l", "space")
        await pilot.press("ctrl+s")
        await until(lambda: not screen.draft.pending and not screen.saving, pilot.pause)
        assert grid.cursor_start is not None
    with backend.http(token) as http:
        slots = http.get(
            "/providers/ada/slots",
            params={"startTime": "2030-03-04 00:00:00", "endTime": "2030-03-11 00:00:00"},
        ).json()["timeSlots"]
    assert sorted(s["timestamp"] for s in slots) == [
        f"2030-03-0{day} {time}"
        for day in (6, 7)
        for time in ("10:00:00", "10:15:00", "10:30:00", "10:45:00")
    ]


async def test_a_range_painted_by_mouse_drag_is_saved_as_exactly_those_slots(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        await pilot.mouse_down(grid, offset=cell_offset(grid, at("2030-03-06 10:00:00")))
        await pilot.hover(grid, offset=cell_offset(grid, at("2030-03-06 10:30:00")))
        await pilot.hover(grid, offset=cell_offset(grid, at("2030-03-07 10:45:00")))
        await pilot.mouse_up(grid, offset=cell_offset(grid, at("2030-03-07 10:45:00")))
        await until(lambda: screen.draft.pending == 8, pilot.pause)
        assert grid.cell_at(at("2030-03-07 10:15:00")).state is CellState.PENDING_PAINT
        assert "8 unsaved" in info(screen)
        await saved(screen, pilot)
        assert grid.cell_at(at("2030-03-07 10:15:00")).state is CellState.OPEN
    assert server_slots(backend, token) == {
        f"2030-03-0{day} 10:{minute}:00": "AVAILABLE"
        for day in (6, 7)
        for minute in ("00", "15", "30", "45")
    }
    assert toasts.texts() == ["Saved: Opened 8 slots, removed 0."]


async def test_erasing_an_open_cell_with_x_and_saving_removes_it_from_the_server(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 11:00:00"))
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        assert grid.cell_at(at("2030-03-05 10:15:00")).state is CellState.OPEN
        await goto(pilot, screen, "2030-03-05 10:15:00")
        await pilot.press("x")
        await until(lambda: screen.draft.pending == 1, pilot.pause)
        assert grid.cell_at(at("2030-03-05 10:15:00")).state is CellState.PENDING_ERASE
        assert "to be removed, not saved yet" in info(screen)
        await saved(screen, pilot)
        assert grid.cell_at(at("2030-03-05 10:15:00")).state is CellState.EMPTY
    assert server_slots(backend, token) == {
        "2030-03-05 10:00:00": "AVAILABLE",
        "2030-03-05 10:30:00": "AVAILABLE",
        "2030-03-05 10:45:00": "AVAILABLE",
    }


async def test_a_drag_starting_on_an_open_cell_erases_and_saving_removes_them(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 11:00:00"))
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        await pilot.mouse_down(grid, offset=cell_offset(grid, at("2030-03-05 10:15:00")))
        await pilot.hover(grid, offset=cell_offset(grid, at("2030-03-05 11:30:00")))
        await pilot.mouse_up(grid, offset=cell_offset(grid, at("2030-03-05 11:30:00")))
        await until(lambda: screen.draft.pending == 3, pilot.pause)
        assert screen.draft.paint == set(), "erasing never paints the empty cells it crosses"
        await saved(screen, pilot)
    assert server_slots(backend, token) == {"2030-03-05 10:00:00": "AVAILABLE"}


async def test_a_click_on_an_empty_cell_paints_it_and_a_second_click_takes_it_back(
    backend: BackendThread,
) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        where = cell_offset(grid, at("2030-03-08 12:00:00"))
        await pilot.click(grid, offset=where)
        await until(lambda: screen.draft.paint == {at("2030-03-08 12:00:00")}, pilot.pause)
        assert "new, not saved yet" in info(screen)
        await pilot.click(grid, offset=where)
        await until(lambda: not screen.draft.pending, pilot.pause)
        assert grid.cell_at(at("2030-03-08 12:00:00")).state is CellState.EMPTY


async def test_a_held_cell_refuses_erase_with_a_warning_and_stays_on_the_server(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 10:30:00"))
    hold(backend, "sam", "2030-03-05 10:00:00")
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        held = grid.cell_at(at("2030-03-05 10:00:00"))
        assert (held.state, held.text) == (CellState.HELD, "Sam")
        await goto(pilot, screen, "2030-03-05 10:00:00")
        assert "held by Sam, 30:00 left" in info(screen)
        await pilot.press("x")
        await until(lambda: bool(toasts.saying("cannot be removed")), pilot.pause)
        assert screen.draft.pending == 0
        # A range over the held cell and an open one: the open one goes, the held one stays.
        await pilot.press("v", "j", "x")
        await until(lambda: screen.draft.pending == 1, pilot.pause)
        await saved(screen, pilot)
        assert grid.cell_at(at("2030-03-05 10:00:00")).state is CellState.HELD
    warnings = toasts.texts("warning")
    assert warnings[0] == (
        "Kept: Tue 05 Mar 10:00 is held by Sam, 30:00 left: it cannot be removed."
        " Cancel the booking first (b)."
    )
    assert len(warnings) == 2
    assert server_slots(backend, token) == {"2030-03-05 10:00:00": "RESERVED"}


async def test_the_past_cannot_be_painted(backend: BackendThread) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        await pilot.press("k")
        assert info(screen).endswith("past")
        assert screen.grid.cell_at(at("2030-03-04 08:45:00")).state is CellState.PAST
        await pilot.press("space")
        await until(lambda: bool(toasts.raised), pilot.pause)
        assert screen.draft.pending == 0
    assert toasts.texts() == ["Kept: The past cannot be changed."]


async def test_undo_takes_back_the_last_edit_only(backend: BackendThread) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        await pilot.press("l", "j", "space", "j", "v", "j", "space")
        await until(lambda: screen.draft.pending == 3, pilot.pause)
        await pilot.press("u")
        await until(lambda: screen.draft.pending == 1, pilot.pause)
        assert screen.draft.paint == {at("2030-03-05 09:15:00")}
        assert grid.cell_at(at("2030-03-05 09:30:00")).state is CellState.EMPTY
        assert grid.cell_at(at("2030-03-05 09:15:00")).state is CellState.PENDING_PAINT
        await pilot.press("u", "u")
        await until(lambda: bool(toasts.saying("Nothing to undo")), pilot.pause)
        assert screen.draft.pending == 0
        await pilot.press("ctrl+s")
        await until(lambda: bool(toasts.saying("Nothing to save")), pilot.pause)


async def test_a_failed_save_keeps_the_marks_and_a_retry_saves_them(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        await pilot.press("l", "space")
        await until(lambda: screen.draft.pending == 1, pilot.pause)
        backend.stop()
        await pilot.press("ctrl+s")
        await until(lambda: bool(toasts.saying("Not saved")), pilot.pause)
        await until(lambda: not screen.saving, pilot.pause)
        assert screen.draft.pending == 1
        assert screen.grid.cell_at(at("2030-03-05 09:00:00")).state is CellState.PENDING_PAINT
        backend.start()
        await saved(screen, pilot)
    assert "Unsaved cells are still marked" in toasts.saying("Not saved")[0].message
    assert server_slots(backend, token) == {"2030-03-05 09:00:00": "AVAILABLE"}


async def test_saving_keeps_a_slot_that_was_held_after_it_was_marked_for_removal(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 10:30:00"))
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        await goto(pilot, screen, "2030-03-05 10:00:00")
        await pilot.press("v", "j", "x")
        await until(lambda: screen.draft.pending == 2, pilot.pause)
        hold(backend, "sam", "2030-03-05 10:15:00")

        def held_here() -> bool:
            slot = screen.mirror.at("ada", at("2030-03-05 10:15:00"))
            return slot is not None and slot.status == "RESERVED"

        await until(held_here, pilot.pause)
        await saved(screen, pilot)
        assert screen.grid.cell_at(at("2030-03-05 10:15:00")).state is CellState.HELD
    assert toasts.saying("Saved")[0].message == (
        "Opened 0 slots, removed 1. Kept 1 that was just held or booked."
    )
    assert server_slots(backend, token) == {"2030-03-05 10:15:00": "RESERVED"}


async def test_open_slots_inside_the_notice_period_are_marked_as_clients_see_them(
    backend: BackendThread,
) -> None:
    """Monday 09:00 UTC, 24 hours' notice: Monday 10:00 is open but no client can book it any
    more, so it shows ◌ as in a client's view, and says why; Tuesday 10:00 is plainly open. The
    marked one is still the provider's to remove."""
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, at("2030-03-04 10:00:00"), at("2030-03-04 10:15:00"))
        window(http, at("2030-03-05 10:00:00"), at("2030-03-05 10:15:00"))
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        soon = screen.grid.cell_at(at("2030-03-04 10:00:00"))
        later = screen.grid.cell_at(at("2030-03-05 10:00:00"))
        assert (soon.state, soon.glyph, soon.text) == (CellState.TOO_SOON, "◌", "open")
        assert (later.state, later.glyph) == (CellState.OPEN, "◦")
        await goto(pilot, screen, "2030-03-04 10:00:00")
        assert info(screen) == (
            "Mon 04 Mar 10:00  ·  open, but too soon for clients to book:"
            " bookings need 24 hours' notice"
        )
        await goto(pilot, screen, "2030-03-05 10:00:00")
        assert info(screen) == "Tue 05 Mar 10:00  ·  open"
        await goto(pilot, screen, "2030-03-04 10:00:00")
        await pilot.press("x")
        await until(lambda: screen.draft.pending == 1, pilot.pause)
        assert screen.grid.cell_at(at("2030-03-04 10:00:00")).state is CellState.PENDING_ERASE


# --- live -----------------------------------------------------------------------------------------


async def test_a_clients_hold_and_booking_show_on_the_providers_week_as_they_happen(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 10:30:00"))
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        hold(backend, "sam", "2030-03-05 10:00:00")
        await until(
            lambda: grid.cell_at(at("2030-03-05 10:00:00")).state is CellState.HELD, pilot.pause
        )
        assert grid.cell_at(at("2030-03-05 10:00:00")).text == "Sam"
        hold(backend, "kim", "2030-03-05 10:15:00", confirm=True)
        await until(
            lambda: grid.cell_at(at("2030-03-05 10:15:00")).state is CellState.BOOKED, pilot.pause
        )
        await goto(pilot, screen, "2030-03-05 10:15:00")
        assert "booked by Kim" in info(screen)
        assert app.changes_heard >= 3, "the hold, then the other hold and its booking"


# --- bookings -------------------------------------------------------------------------------------


async def test_the_bookings_screen_lists_a_booking_and_x_cancels_it_on_the_server_if_confirmed(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 10:30:00"))
    hold(backend, "sam", "2030-03-05 10:15:00", confirm=True)
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        await pilot.press("b")
        await until(lambda: isinstance(app.screen, BookingsScreen), pilot.pause)
        bookings = app.screen
        assert isinstance(bookings, BookingsScreen)
        table = bookings.query_one(DataTable)
        await until(lambda: table.row_count == 1, pilot.pause)
        assert [str(c) for c in table.get_row_at(0)] == [
            "Tue 05 Mar 10:15",
            "Sam",
            "booked",
            "",
            "",
        ]
        assert bookings.palette_commands()[0][2] == "cancel_booking"
        await pilot.press("x")  # asks first, naming who and when
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
        assert str(app.screen.query_one("#question", Static).render()) == (
            "Cancel Sam's booking on Tue 05 Mar 10:15? They will be told, and the slot is open"
            " again."
        )
        await pilot.press("escape")  # keep it: nothing is cancelled
        await until(lambda: app.screen is bookings, pilot.pause)
        assert table.row_count == 1
        assert server_slots(backend, token)["2030-03-05 10:15:00"] == "CONFIRMED"
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
        await pilot.press("y")
        await until(lambda: table.row_count == 0 and bool(toasts.saying("Cancelled")), pilot.pause)
        assert "No holds or bookings coming up." in str(
            bookings.query_one("#info", Static).render()
        )
        await pilot.press("escape")
        await until(lambda: app.screen is screen, pilot.pause)
        await until(
            lambda: screen.grid.cell_at(at("2030-03-05 10:15:00")).state is CellState.OPEN,
            pilot.pause,
        )
    assert toasts.saying("Cancelled")[0].message == (
        "Cancelled Tue 05 Mar 10:15; the slot is open again."
    )
    assert server_slots(backend, token) == {
        "2030-03-05 10:00:00": "AVAILABLE",
        "2030-03-05 10:15:00": "AVAILABLE",
    }


async def test_the_bookings_screen_follows_holds_made_while_it_is_open(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 10:30:00"))
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        await provider_screen(app, pilot)
        await pilot.press("b")
        await until(lambda: isinstance(app.screen, BookingsScreen), pilot.pause)
        table = app.screen.query_one(DataTable)
        await pilot.press("x")  # nothing to cancel: nothing happens
        hold(backend, "sam", "2030-03-05 10:00:00")
        await until(lambda: table.row_count == 1, pilot.pause)
        assert [str(c) for c in table.get_row_at(0)][1:] == ["Sam", "held", "30:00 left", ""]
        await pilot.press("r")
        await until(lambda: table.row_count == 1, pilot.pause)
        await pilot.press("b")
        await until(lambda: isinstance(app.screen, ProviderScreen), pilot.pause)


async def test_the_bookings_opened_while_the_server_is_down_show_the_last_known_list(
    backend: BackendThread,
) -> None:
    """b with the server away: the holds and bookings the week last heard of, marked as not
    current and why, with r in the key bar, and still there after a while; when the server is
    back the list loads by itself, with what the week did not show."""
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 10:30:00"))
        window(http, parse_time("2030-03-12 10:00:00"), parse_time("2030-03-12 10:15:00"))
    hold(backend, "sam", "2030-03-05 10:00:00")
    hold(backend, "kim", "2030-03-05 10:15:00", confirm=True)
    hold(backend, "lee", "2030-03-12 10:00:00", confirm=True)  # next week: not on the grid
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        assert screen.grid.cell_at(at("2030-03-05 10:15:00")).state is CellState.BOOKED
        await until(lambda: app.feed_state == "live", pilot.pause)
        backend.stop()
        await until(lambda: app.feed_state == "reconnecting", pilot.pause)
        await pilot.press("b")
        await until(lambda: isinstance(app.screen, BookingsScreen), pilot.pause)
        listed = app.screen
        assert isinstance(listed, BookingsScreen)
        await shows_the_last_known(
            listed,
            pilot,
            backend,
            "Upcoming holds and bookings (next 31 days)",
            [["Tue 05 Mar 10:00", "Sam", "held"], ["Tue 05 Mar 10:15", "Kim", "booked"]],
        )
        backend.start()
        await until(
            lambda: (
                heading_and_info(listed)
                == (
                    "Upcoming holds and bookings (next 31 days)",
                    "Enter reads the whole note, x cancels a booking",
                )
            ),
            pilot.pause,
        )
        assert first_columns(listed)[2] == ["Tue 12 Mar 10:00", "Lee", "booked"]
        assert not key_bar_shows(listed, "r"), "current again: it follows the feed"
        await pilot.press("r")  # still reloads, unlisted, as on the week
        await pilot.pause()
        assert app.screen is listed


# --- weeks ----------------------------------------------------------------------------------------


async def test_brackets_move_a_week_and_t_comes_back_to_now(backend: BackendThread) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-12 10:00:00"), parse_time("2030-03-12 10:15:00"))
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        await pilot.press("right_square_bracket")
        await until(
            lambda: grid.cell_at(at("2030-03-12 10:00:00")).state is CellState.OPEN, pilot.pause
        )
        assert screen.monday == date(2030, 3, 11)
        assert grid.week.days[0] == date(2030, 3, 11)
        assert grid.cursor_start == at("2030-03-11 09:00:00"), "same weekday and time"
        await pilot.press("left_square_bracket", "left_square_bracket")
        await until(lambda: screen.monday == date(2030, 2, 25), pilot.pause)
        assert grid.week.days[-1] == date(2030, 3, 3)
        await pilot.press("t")
        await until(lambda: screen.monday == date(2030, 3, 4), pilot.pause)
        assert grid.cursor_start == at("2030-03-04 09:00:00")
        await pilot.press("r")
        await until(lambda: screen.loaded, pilot.pause)


async def test_across_the_autumn_clock_change_the_repeated_hour_has_rows_of_its_own(
    backend: BackendThread, frozen: ManualClock
) -> None:
    """Berlin falls back from 03:00 CEST to 02:00 CET on Sunday 27 October 2030."""
    frozen.set(parse_time("2030-10-21 07:00:00"))
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token, zone="Europe/Berlin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        labels = [row.label for row in grid.week.rows]
        assert len(labels) == 100
        first_pass = ["02:00", "02:15", "02:30", "02:45"]
        assert labels[8:16] == [*first_pass, *(label + "²" for label in first_pass)]
        await pilot.press("home")  # the small hours come into view
        await pilot.click(grid, offset=cell_offset(grid, at("2030-10-27 00:00:00")))  # 02:00 CEST
        await pilot.press("j", "j", "j", "j")
        assert grid.cursor_start == at("2030-10-27 01:00:00"), "02:00² CET is 01:00 UTC"
        assert grid.render_line(HEADER_LINES + 12 - grid.scroll_offset.y).text.startswith(" 02:00²")
        await pilot.press("space")
        await until(lambda: screen.draft.pending == 2, pilot.pause)
        await saved(screen, pilot)
    with backend.http(token) as http:
        slots = http.get(
            "/providers/ada/slots",
            params={"startTime": "2030-10-26 00:00:00", "endTime": "2030-10-28 00:00:00"},
        ).json()["timeSlots"]
    assert sorted(s["timestamp"] for s in slots) == ["2030-10-27 00:00:00", "2030-10-27 01:00:00"]


async def test_a_booking_in_the_past_shows_as_past_with_who_had_it(
    backend: BackendThread, frozen: ManualClock
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 10:30:00"))
    hold(backend, "sam", "2030-03-05 10:15:00", confirm=True)
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        frozen.set(parse_time("2030-03-05 12:00:00"))
        await pilot.press("r")
        grid = screen.grid
        await until(
            lambda: grid.cell_at(at("2030-03-05 10:15:00")).state is CellState.PAST, pilot.pause
        )
        assert grid.cell_at(at("2030-03-05 10:15:00")).text == "Sam"
        assert grid.cell_at(at("2030-03-05 10:00:00")).text == ""


async def test_with_the_server_down_the_week_and_bookings_say_they_could_not_load(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 10:30:00"))
    hold(backend, "sam", "2030-03-05 10:15:00", confirm=True)
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        await pilot.press("b")
        await until(lambda: isinstance(app.screen, BookingsScreen), pilot.pause)
        table = app.screen.query_one(DataTable)
        await until(lambda: table.row_count == 1, pilot.pause)
        backend.stop()
        await pilot.press("x", "y")
        await until(lambda: bool(toasts.saying("Not cancelled")), pilot.pause)
        await until(lambda: "Could not load" in heading_and_info(app.screen)[1], pilot.pause)
        assert table.row_count == 1, "the list keeps what it last knew"
        await pilot.press("escape", "r")
        await until(lambda: bool(toasts.saying("Could not load the week")), pilot.pause)
        assert screen.grid.cell_at(at("2030-03-05 10:15:00")).state is CellState.BOOKED
    backend.start()
    assert server_slots(backend, token)["2030-03-05 10:15:00"] == "CONFIRMED"
