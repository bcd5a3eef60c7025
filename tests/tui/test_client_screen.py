"""The client's week: choose a provider, hold a slot, confirm or release it, live against a real
server whose expiry sweeper runs only when a test says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, OptionList, Static

from backend.runtime.clock import ManualClock
from shared.timefmt import parse_time
from tests.tui.harness import (
    BackendThread,
    app_for,
    heading_and_info,
    key_bar_shows,
    shows_the_last_known,
    until,
    window,
)
from tests.tui.test_provider_screen import Toasts, cell_offset
from tui.app import SlotbookApp
from tui.screens.client import ClientScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.hold import HoldDialog
from tui.screens.reservations import ReservationsScreen
from tui.widgets.week_grid import HEADER_LINES, CellState

TUESDAY_10 = "2030-03-05 10:00:00"
TUESDAY_1015 = "2030-03-05 10:15:00"


@pytest.fixture
def backend(tmp_path: Path, frozen: ManualClock) -> Iterator[BackendThread]:
    """The real server; its sweeper runs when a test says (backend.sweep()); 2 holds at most."""
    server = BackendThread(tmp_path / "slotbook.db", frozen, sweep_seconds=3600, max_holds=2)
    server.start()
    yield server
    server.close()


def at(text: str) -> int:
    return int(parse_time(text))


def open_tuesday(backend: BackendThread, provider: str = "ada", name: str = "Dr Ada") -> str:
    """The provider's token, after opening Tuesday 10:00-11:00."""
    token = backend.issue("provider", provider, name)
    with backend.http(token) as http:
        window(http, parse_time(TUESDAY_10), parse_time("2030-03-05 11:00:00"))
    return token


def take(backend: BackendThread, token: str, timestamp: str, *, confirm: bool = False) -> str:
    """Hold (and perhaps confirm) a slot over HTTP as this client; its id."""
    with backend.http(token) as http:
        listed = http.get(
            "/availability", params={"startTime": timestamp, "endTime": "2030-04-01 00:00:00"}
        ).json()["availableTimeSlots"]
        slot_id: str = next(s for s in listed if s["timestamp"] == timestamp)["timeSlotId"]
        answer = http.post(
            "/availability/reserve", json={"timeSlot": timestamp, "timeSlotId": slot_id}
        )
        assert answer.status_code == 201, answer.text
        if confirm:
            answer = http.put(f"/availability/confirm/{slot_id}", json={"timeSlot": timestamp})
            assert answer.status_code == 200, answer.text
    return slot_id


def mine(backend: BackendThread, token: str) -> dict[str, str]:
    """timestamp -> status of the client's reservations, as the server says."""
    with backend.http(token) as http:
        rows: list[dict[str, Any]] = http.get("/reservations").json()["reservations"]
    return {r["timestamp"]: r["status"] for r in rows}


async def client_screen(app: SlotbookApp, pilot: Pilot[None]) -> ClientScreen:
    await until(
        lambda: (
            isinstance(app.screen, ClientScreen)
            and app.screen.loaded
            and app.screen.provider_id is not None
        ),
        pilot.pause,
    )
    screen = app.screen
    assert isinstance(screen, ClientScreen)
    return screen


async def dialog(app: SlotbookApp, pilot: Pilot[None]) -> HoldDialog:
    await until(lambda: isinstance(app.screen, HoldDialog), pilot.pause)
    shown = app.screen
    assert isinstance(shown, HoldDialog)
    return shown


async def goto(pilot: Pilot[None], screen: ClientScreen, timestamp: str) -> None:
    """Put the cursor on a slot (as the keys would, without walking there key by key)."""
    assert screen.grid.move_to(at(timestamp))
    await pilot.pause()


async def closed(app: SlotbookApp, pilot: Pilot[None], week: ClientScreen) -> None:
    """Wait for the hold dialog to close; the week must be what is left on screen."""
    await until(lambda: not isinstance(app.screen, HoldDialog), pilot.pause)
    assert app.screen is week, f"closing the dialog left {app.screen_stack} on screen"


async def confirm_dialog(app: SlotbookApp, pilot: Pilot[None]) -> ConfirmDialog:
    await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
    shown = app.screen
    assert isinstance(shown, ConfirmDialog)
    return shown


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


# --- hold, confirm, release -----------------------------------------------------------------------


async def test_enter_holds_the_slot_and_c_confirms_it_on_the_server(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        assert text_of(screen, "#info") == "Tue 05 Mar 10:00  ·  free: Enter holds it"
        assert text_of(screen, "#provider").startswith("Dr Ada  ·  next ")
        await pilot.press("enter")
        held = await dialog(app, pilot)
        assert text_of(held, "#when") == "Dr Ada\nTuesday 05 March, 10:00 (15\N{NO-BREAK SPACE}min)"
        assert text_of(held, "#countdown") == "30:00 left (until 09:30:00)"
        assert screen.grid.cell_at(at(TUESDAY_10)).state is CellState.MINE_HELD
        assert mine(backend, sam) == {TUESDAY_10: "RESERVED"}
        await pilot.press("c")
        await closed(app, pilot, screen)
        await until(
            lambda: screen.grid.cell_at(at(TUESDAY_10)).state is CellState.MINE_BOOKED,
            pilot.pause,
        )
        assert text_of(screen, "#info").endswith("booked by you")
    assert mine(backend, sam) == {TUESDAY_10: "CONFIRMED"}
    assert toasts.texts() == ["Booked: Tue 05 Mar 10:00 with Dr Ada"]


async def test_x_in_the_dialog_releases_the_hold(backend: BackendThread) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        for minute in ("00", "15"):  # twice: the release races the feed's news of it
            await pilot.press("enter")
            await dialog(app, pilot)
            await pilot.press("x")
            await closed(app, pilot, screen)
            start = at(f"2030-03-05 10:{minute}:00")
            await until(
                lambda: screen.grid.cell_at(start).state is CellState.OPEN,  # noqa: B023
                pilot.pause,
            )
            assert mine(backend, sam) == {}
            await pilot.press("j")
    assert toasts.texts() == ["Released: the slot is open for others again."] * 2


async def test_escape_keeps_the_hold_and_enter_on_it_opens_the_dialog_again(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        await pilot.press("enter")
        await dialog(app, pilot)
        await pilot.press("escape")
        await closed(app, pilot, screen)
        assert text_of(screen, "#info").endswith("held by you: Enter to confirm")
        await pilot.press("enter")
        again = await dialog(app, pilot)
        assert again.slot.timestamp == TUESDAY_10
        await pilot.click("#close")
        await closed(app, pilot, screen)
        await pilot.press("enter")
        await dialog(app, pilot)
        await pilot.click("#confirm")
        await closed(app, pilot, screen)
    assert mine(backend, sam) == {TUESDAY_10: "CONFIRMED"}


async def test_the_countdown_runs_down_and_a_lapsed_hold_cannot_be_confirmed(
    backend: BackendThread, frozen: ManualClock
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        await pilot.press("enter")
        held = await dialog(app, pilot)
        take(backend, backend.issue("client", "kim", "Kim"), TUESDAY_1015)  # news of another slot
        await until(
            lambda: screen.grid.cell_at(at(TUESDAY_1015)).state is CellState.TAKEN, pilot.pause
        )
        assert app.screen is held, "the dialog stays for news that is not about its slot"
        frozen.advance(12 * 60 + 30)
        held.tick()  # what its one-second timer does
        assert text_of(held, "#countdown") == "17:30 left (until 09:30:00)"
        assert not held.query_one("#confirm", Button).disabled
        frozen.advance(18 * 60)  # past expiresAt (09:30)
        held.tick()
        assert text_of(held, "#countdown") == "lapsed (until 09:30:00)"
        assert held.query_one("#confirm", Button).disabled
        assert held.query_one("#countdown").has_class("lapsed")
        await pilot.press("c")
        await closed(app, pilot, screen)
    assert toasts.saying("Too late")
    assert mine(backend, sam) == {}


async def test_when_the_sweeper_ends_a_lapsed_hold_the_dialog_closes_and_the_slot_is_free(
    backend: BackendThread, frozen: ManualClock
) -> None:
    open_tuesday(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        await pilot.press("enter")
        held = await dialog(app, pilot)
        frozen.advance(31 * 60)
        held.tick()
        assert text_of(held, "#countdown").startswith("lapsed")
        assert backend.sweep() == 1
        await closed(app, pilot, screen)
        await until(
            lambda: screen.grid.cell_at(at(TUESDAY_10)).state is CellState.OPEN, pilot.pause
        )
    assert toasts.texts("warning") == ["Your hold on this slot has ended."]


# --- someone else was faster ----------------------------------------------------------------------


async def test_a_slot_taken_over_http_turns_taken_and_holding_it_anyway_says_just_taken(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    kim = backend.issue("client", "kim", "Kim")
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        take(backend, kim, TUESDAY_10)
        await until(
            lambda: screen.grid.cell_at(at(TUESDAY_10)).state is CellState.TAKEN, pilot.pause
        )
        assert text_of(screen, "#info").endswith("taken")
        await pilot.press("enter")
        await until(lambda: bool(toasts.saying("was just taken. Pick another")), pilot.pause)
        assert app.screen is screen, "no dialog for a slot that is taken"
    assert toasts.texts("warning") == ["The slot under your cursor was just taken."]


async def test_holding_a_slot_the_feed_has_not_yet_reported_taken_says_just_taken(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    kim = backend.issue("client", "kim", "Kim")
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        for worker in app.workers:  # the app stops hearing about changes
            if worker.group == "feed":
                worker.cancel()
        take(backend, kim, TUESDAY_10)
        await goto(pilot, screen, TUESDAY_10)
        assert screen.grid.cell_at(at(TUESDAY_10)).state is CellState.OPEN
        await pilot.press("enter")
        await until(lambda: bool(toasts.saying("Just taken")), pilot.pause)
        assert screen.grid.cell_at(at(TUESDAY_10)).state is CellState.TAKEN
        assert app.screen is screen
    assert toasts.texts("warning") == [
        "Just taken: That slot was just taken. Pick another (n finds the next free one)."
    ]


async def test_a_client_may_hold_only_so_many_slots_at_once(backend: BackendThread) -> None:
    open_tuesday(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        for _ in range(2):
            await pilot.press("enter")
            await dialog(app, pilot)
            await pilot.press("escape", "j")
            await closed(app, pilot, screen)
        await pilot.press("enter")
        await until(lambda: bool(toasts.saying("Not held")), pilot.pause)
        assert app.screen is screen
        assert screen.grid.cell_at(at("2030-03-05 10:30:00")).state is CellState.OPEN


async def test_enter_explains_cells_that_cannot_be_held(backend: BackendThread) -> None:
    ada = open_tuesday(backend)
    with backend.http(ada) as http:
        window(http, parse_time("2030-03-05 09:30:00"), parse_time("2030-03-05 09:45:00"))
    sam = backend.issue("client", "sam", "Sam")
    take(backend, sam, "2030-03-05 09:30:00", confirm=True)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        grid = screen.grid
        await goto(pilot, screen, "2030-03-05 09:00:00")  # Tuesday 09:00: nothing open
        await pilot.press("enter")
        await until(lambda: len(toasts.raised) == 1, pilot.pause)
        assert text_of(screen, "#info").endswith("not open")
        # The provider opens Monday 09:30 while we look: too soon for anyone to book.
        with backend.http(ada) as http:
            window(http, parse_time("2030-03-04 09:30:00"), parse_time("2030-03-04 09:45:00"))
        monday_0930 = at("2030-03-04 09:30:00")
        await until(lambda: screen.mirror.at("ada", monday_0930) is not None, pilot.pause)
        assert grid.cell_at(monday_0930).state is CellState.TOO_SOON
        await pilot.press("h", "j", "j", "enter")
        await until(lambda: len(toasts.raised) == 2, pilot.pause)
        assert text_of(screen, "#info").endswith(
            "open, but too soon to book: bookings need 24 hours' notice"
        )
        await pilot.press("l", "enter")  # Tuesday 09:30: booked by me
        await until(lambda: len(toasts.raised) == 3, pilot.pause)
    assert toasts.texts() == [
        "Nothing to book there: this provider is not open then.",
        "Too soon to book: bookings need 24 hours' notice. The earliest you can book now is"
        " after Tue 05 Mar 09:00 (n finds the next free slot).",
        "You have booked this. Move it, change its note or cancel it from My reservations (m).",
    ]


async def test_a_double_click_on_a_free_slot_holds_it(backend: BackendThread) -> None:
    open_tuesday(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await pilot.double_click(screen.grid, offset=cell_offset(screen.grid, at(TUESDAY_1015)))
        held = await dialog(app, pilot)
        assert held.slot.timestamp == TUESDAY_1015


async def test_a_click_moves_to_a_free_slot_and_a_second_click_on_it_holds_it(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        where = cell_offset(screen.grid, at(TUESDAY_1015))
        await pilot.click(screen.grid, offset=where)
        await pilot.pause()
        assert screen.grid.cursor_start == at(TUESDAY_1015)
        assert app.screen is screen, "one click only moves the cursor"
        assert mine(backend, sam) == {}
        await pilot.click(screen.grid, offset=where)
        held = await dialog(app, pilot)
        assert held.slot.timestamp == TUESDAY_1015
        assert mine(backend, sam) == {TUESDAY_1015: "RESERVED"}


async def test_a_click_on_the_cursors_free_slot_holds_it_once(backend: BackendThread) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        assert screen.grid.cursor_start == at(TUESDAY_10), "the week opens on the first free"
        # A double click on the cursor's cell: its first click holds, the second adds nothing.
        await pilot.double_click(screen.grid, offset=cell_offset(screen.grid, at(TUESDAY_10)))
        held = await dialog(app, pilot)
        assert held.slot.timestamp == TUESDAY_10
        await pilot.pause()
        assert len([s for s in app.screen_stack if isinstance(s, HoldDialog)]) == 1
        assert mine(backend, sam) == {TUESDAY_10: "RESERVED"}


async def test_while_moving_a_click_on_the_cursors_cell_asks_to_move_there(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    take(backend, sam, TUESDAY_10)
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await pilot.press("m")
        await until(lambda: isinstance(app.screen, ReservationsScreen), pilot.pause)
        await until(lambda: app.screen.query_one(DataTable).row_count == 1, pilot.pause)
        await pilot.press("v")
        await until(lambda: app.screen is screen and screen.moving is not None, pilot.pause)
        where = cell_offset(screen.grid, at(TUESDAY_1015))
        await pilot.click(screen.grid, offset=where)
        await pilot.pause()
        assert app.screen is screen
        await pilot.click(screen.grid, offset=where)
        asked = await confirm_dialog(app, pilot)
        assert "to Tue 05 Mar 10:15" in text_of(asked, "#question")


# --- finding a slot -------------------------------------------------------------------------------


async def test_n_jumps_to_the_next_open_slot_this_week(backend: BackendThread) -> None:
    open_tuesday(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        assert screen.grid.cursor_start == at(TUESDAY_10), "the week opens on the first free"
        await pilot.press("n")
        await until(lambda: screen.grid.cursor_start == at(TUESDAY_1015), pilot.pause)
        await pilot.press("n")
        await until(lambda: screen.grid.cursor_start == at("2030-03-05 10:30:00"), pilot.pause)


async def test_n_goes_into_the_next_week_when_this_one_has_nothing_open(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        window(http, parse_time("2030-03-13 14:00:00"), parse_time("2030-03-13 15:00:00"))
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await pilot.press("n")
        await until(lambda: screen.monday == date(2030, 3, 11), pilot.pause)
        await until(
            lambda: screen.grid.cursor_start == at("2030-03-13 14:00:00") and screen.loaded,
            pilot.pause,
        )
        assert screen.grid.cell_at(at("2030-03-13 14:00:00")).state is CellState.OPEN
        assert screen.grid.has_focus


async def test_n_says_so_when_nothing_is_open_for_a_month(backend: BackendThread) -> None:
    backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await pilot.press("n")
        await until(lambda: bool(toasts.raised), pilot.pause)
        assert screen.monday == date(2030, 3, 4)
    assert toasts.texts() == ["No open slot in the next 31 days."]


async def test_choosing_another_provider_shows_their_week(backend: BackendThread) -> None:
    open_tuesday(backend)
    bob = backend.issue("provider", "bob", "Dr Bob")
    with backend.http(bob) as http:
        window(http, parse_time("2030-03-06 15:00:00"), parse_time("2030-03-06 15:30:00"))
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        options = screen.query_one("#providers", OptionList)
        await until(lambda: options.option_count == 2, pilot.pause)
        assert str(options.get_option_at_index(0).prompt) == "Dr Ada\n  next Tue 05 10:00"
        assert screen.provider_id == "ada"
        await pilot.press("p")
        assert options.has_focus
        await pilot.press("down")
        await until(lambda: screen.provider_id == "bob" and screen.loaded, pilot.pause)
        await until(
            lambda: screen.grid.cell_at(at("2030-03-06 15:00:00")).state is CellState.OPEN,
            pilot.pause,
        )
        assert screen.grid.cell_at(at(TUESDAY_10)).state is CellState.EMPTY
        await pilot.press("enter")
        await until(lambda: screen.grid.has_focus, pilot.pause)
        assert text_of(screen, "#provider") == "Dr Bob  ·  next Wed 06 15:00"


async def test_with_no_providers_the_screen_says_so(backend: BackendThread) -> None:
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(
            lambda: (
                isinstance(app.screen, ClientScreen)
                and "No providers yet" in text_of(app.screen, "#info")
            ),
            pilot.pause,
        )
        await pilot.press("n", "enter")
        screen = app.screen
        assert isinstance(screen, ClientScreen)
        assert screen.provider_id is None


# --- my reservations ------------------------------------------------------------------------------


async def reservations_screen(app: SlotbookApp, pilot: Pilot[None]) -> ReservationsScreen:
    await until(lambda: isinstance(app.screen, ReservationsScreen), pilot.pause)
    shown = app.screen
    assert isinstance(shown, ReservationsScreen)
    return shown


async def test_my_reservations_lists_holds_with_a_countdown_and_c_confirms(
    backend: BackendThread, frozen: ManualClock
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    take(backend, sam, TUESDAY_10)
    take(backend, sam, TUESDAY_1015, confirm=True)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await client_screen(app, pilot)
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        table = listed.query_one(DataTable)
        await until(lambda: table.row_count == 2, pilot.pause)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(2)]
        assert rows == [
            ["Tue 05 Mar 10:00", "Dr Ada", "held", "30:00 left", ""],
            ["Tue 05 Mar 10:15", "Dr Ada", "booked", "", ""],
        ]
        frozen.advance(75)
        listed.tick()  # what its one-second timer does
        assert str(table.get_row_at(0)[3]) == "28:45 left"
        await pilot.press("c")
        await until(lambda: bool(toasts.saying("Booked")), pilot.pause)
        await until(lambda: str(table.get_row_at(0)[2]) == "booked", pilot.pause)
        await pilot.press("c")
        await until(lambda: bool(toasts.saying("Already booked")), pilot.pause)
    assert mine(backend, sam) == {TUESDAY_10: "CONFIRMED", TUESDAY_1015: "CONFIRMED"}


async def test_my_reservations_x_cancels_the_highlighted_one(backend: BackendThread) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    take(backend, sam, TUESDAY_10, confirm=True)
    take(backend, sam, TUESDAY_1015)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        table = listed.query_one(DataTable)
        await until(lambda: table.row_count == 2, pilot.pause)
        await pilot.press("down", "x")  # asks first; Esc keeps it
        asked = await confirm_dialog(app, pilot)
        assert text_of(asked, "#question") == "Cancel your hold with Dr Ada on Tue 05 Mar 10:15?"
        await pilot.press("escape")
        await until(lambda: app.screen is listed, pilot.pause)
        assert table.row_count == 2
        assert table.cursor_row == 1, "the selection stays where it was"
        await pilot.press("x")
        await confirm_dialog(app, pilot)
        await pilot.press("y")
        await until(lambda: table.row_count == 1, pilot.pause)
        assert str(table.get_row_at(0)[0]) == "Tue 05 Mar 10:00"
        await pilot.press("x")
        asked = await confirm_dialog(app, pilot)
        assert text_of(asked, "#question") == (
            "Cancel your booking with Dr Ada on Tue 05 Mar 10:00? The slot goes back to being"
            " free for anyone."
        )
        await pilot.press("enter")
        await until(lambda: table.row_count == 0, pilot.pause)
        assert text_of(listed, "#info") == "Nothing held or booked yet."
        await pilot.press("c", "x")  # nothing left to act on
        await pilot.press("m")
        await until(lambda: app.screen is screen, pilot.pause)
        await until(
            lambda: screen.grid.cell_at(at(TUESDAY_10)).state is CellState.OPEN, pilot.pause
        )
    assert mine(backend, sam) == {}
    assert toasts.texts() == ["Cancelled Tue 05 Mar 10:15.", "Cancelled Tue 05 Mar 10:00."]


async def test_my_reservations_follow_holds_made_elsewhere_and_lapsed_confirms_fail(
    backend: BackendThread, frozen: ManualClock
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await client_screen(app, pilot)
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        table = listed.query_one(DataTable)
        take(backend, sam, TUESDAY_10)  # from another device, say
        await until(lambda: table.row_count == 1, pilot.pause)
        frozen.advance(31 * 60)
        listed.tick()
        assert str(table.get_row_at(0)[3]) == "lapsed"
        await pilot.press("c")
        await until(lambda: bool(toasts.saying("The hold lapsed")), pilot.pause)
        await until(lambda: table.row_count == 0, pilot.pause)
        await pilot.press("r")
        assert [c[2] for c in listed.palette_commands()] == [
            "confirm",
            "move",
            "note",
            "cancel_it",
            "reload",
        ]
    assert mine(backend, sam) == {}


# --- when the server is away ---------------------------------------------------------------------


async def test_while_the_server_is_down_each_action_says_so_and_the_week_stays(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        backend.stop()
        await pilot.press("enter")
        await until(lambda: bool(toasts.saying("Could not hold it")), pilot.pause)
        assert app.screen is screen
        await pilot.press("r")
        await until(lambda: bool(toasts.saying("Could not load the week")), pilot.pause)
        assert screen.grid.cell_at(at(TUESDAY_10)).state is CellState.OPEN, "what it last knew"
        await pilot.press("right_square_bracket", "n")
        await until(lambda: bool(toasts.saying("Could not search")), pilot.pause)
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        await until(lambda: "Could not load at" in text_of(listed, "#info"), pilot.pause)
        backend.start()
        await pilot.press("r")
        await until(lambda: "Nothing held or booked yet." in text_of(listed, "#info"), pilot.pause)
        await pilot.press("escape", "left_square_bracket")
        await until(
            lambda: (
                app.screen is screen and screen.grid.cell_at(at(TUESDAY_10)).state is CellState.OPEN
            ),
            pilot.pause,
        )
    assert all(n.severity == "error" for n in toasts.raised)
    assert "Check the server is running" in toasts.saying("Could not hold it")[0].message


async def test_with_the_server_down_the_dialog_keeps_the_hold_and_confirms_once_it_is_back(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        await pilot.press("enter")
        held = await dialog(app, pilot)
        backend.stop()
        await pilot.press("c")
        await until(lambda: bool(toasts.saying("Not confirmed")), pilot.pause)
        await pilot.press("x")
        await until(lambda: bool(toasts.saying("Not released")), pilot.pause)
        assert app.screen is held
        backend.start()
        await pilot.press("c")
        await until(lambda: bool(toasts.saying("Booked")), pilot.pause)
    assert mine(backend, sam) == {TUESDAY_10: "CONFIRMED"}


async def test_with_the_server_down_my_reservations_say_what_failed(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    take(backend, sam, TUESDAY_10)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await client_screen(app, pilot)
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        table = listed.query_one(DataTable)
        await until(lambda: table.row_count == 1, pilot.pause)
        backend.stop()
        await pilot.press("c")
        await until(lambda: bool(toasts.saying("Not confirmed")), pilot.pause)
        await pilot.press("x")
        await confirm_dialog(app, pilot)
        await pilot.press("y")
        await until(lambda: bool(toasts.saying("Not cancelled")), pilot.pause)
        assert table.row_count == 1, "the list keeps what it last knew"
    backend.start()
    assert mine(backend, sam) == {TUESDAY_10: "RESERVED"}


async def test_my_reservations_opened_while_the_server_is_down_show_the_last_known_list(
    backend: BackendThread,
) -> None:
    """m with the server away: the holds and bookings the week last heard of, marked as not
    current and why, with r in the key bar; when the server is back the list loads by itself
    and is current again."""
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    take(backend, sam, TUESDAY_10)
    take(backend, sam, TUESDAY_1015, confirm=True)
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        week = await client_screen(app, pilot)
        assert week.grid.cell_at(at(TUESDAY_1015)).state is CellState.MINE_BOOKED
        await until(lambda: app.feed_state == "live", pilot.pause)
        backend.stop()
        await until(lambda: app.feed_state == "reconnecting", pilot.pause)
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        table = listed.query_one(DataTable)
        await shows_the_last_known(
            listed,
            pilot,
            backend,
            "My reservations",
            [["Tue 05 Mar 10:00", "Dr Ada", "held"], ["Tue 05 Mar 10:15", "Dr Ada", "booked"]],
        )
        backend.start()
        await until(
            lambda: (
                heading_and_info(listed)
                == ("My reservations", "c confirms a hold, v moves, e changes the note, x cancels")
            ),
            pilot.pause,
        )
        assert table.row_count == 2
        assert not key_bar_shows(listed, "r"), "current again: it follows the feed"
        await pilot.press("r")  # still reloads, unlisted, as on the week
        await pilot.pause()
        assert app.screen is listed


# --- saying what is going on --------------------------------------------------------------------


async def test_n_after_the_last_open_slot_wraps_around_to_the_earliest(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)  # Tuesday 10:00-10:45 open; nothing later for a month
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, "2030-03-05 10:45:00")  # the last one
        await pilot.press("n")
        await until(lambda: screen.grid.cursor_start == at(TUESDAY_10), pilot.pause)
    assert toasts.texts() == ["Nothing free after that: back to the earliest, Tue 05 Mar 10:00."]


async def test_a_provider_cancelling_my_booking_tells_me_and_my_own_cancel_does_not(
    backend: BackendThread,
) -> None:
    ada = open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    booked = take(backend, sam, TUESDAY_10, confirm=True)
    mine_too = take(backend, sam, TUESDAY_1015)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await until(lambda: app.feed_state == "live", pilot.pause)
        with backend.http(ada) as http:
            assert http.delete(f"/reservations/{booked}").status_code == 200
        await until(lambda: bool(toasts.saying("Your booking")), pilot.pause)
        await until(
            lambda: screen.grid.cell_at(at(TUESDAY_10)).state is CellState.OPEN, pilot.pause
        )
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        await until(lambda: listed.query_one(DataTable).row_count == 1, pilot.pause)
        await pilot.press("x", "y")  # my own hold: no news to me
        await until(lambda: bool(toasts.saying("Cancelled Tue")), pilot.pause)
        await pilot.press("escape")
        await until(
            lambda: screen.grid.cell_at(at(TUESDAY_1015)).state is CellState.OPEN, pilot.pause
        )
    assert mine_too not in mine(backend, sam)
    assert [t.message for t in toasts.raised if t.title == "Cancelled"] == [
        "Your booking with Dr Ada on Tue 05 Mar 10:00 was cancelled by the provider."
        " The slot is open again."
    ]


async def test_a_hold_cut_short_by_the_notice_says_why(backend: BackendThread) -> None:
    open_tuesday(backend)
    with backend.http(backend.issue("provider", "eve", "Dr Eve")) as http:
        window(http, parse_time("2030-03-05 09:15:00"), parse_time("2030-03-05 09:30:00"))
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        await pilot.press("enter")  # a full hold: nothing to explain
        full = await dialog(app, pilot)
        assert text_of(full, "#countdown").startswith("30:00 left")
        assert text_of(full, "#why") == ""
        await pilot.press("escape")
        await closed(app, pilot, screen)
        options = screen.query_one("#providers", OptionList)
        await until(lambda: options.option_count == 2, pilot.pause)
        options.highlighted = 1  # Dr Eve, whose only slot is 24 h 15 min away
        await until(lambda: screen.provider_id == "eve" and screen.loaded, pilot.pause)
        await goto(pilot, screen, "2030-03-05 09:15:00")
        await pilot.press("enter")
        short = await dialog(app, pilot)
        assert text_of(short, "#countdown").startswith("15:00 left")
        assert text_of(short, "#why") == (
            "Shorter than 30 minutes: bookings need 24 hours' notice, and this slot's notice"
            " period begins then. Confirm before it does."
        )


async def test_week_keys_and_n_keep_the_cursor_in_view_at_80_by_24(backend: BackendThread) -> None:
    open_tuesday(backend)
    ada = backend.issue("provider", "late", "Dr Late")
    with backend.http(ada) as http:
        window(http, parse_time("2030-03-14 21:00:00"), parse_time("2030-03-14 21:30:00"))
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await client_screen(app, pilot)
        for keys in [("end",), ("right_square_bracket",), ("t",), ("left_square_bracket",)]:
            await pilot.press(*keys)
            await until(lambda: screen.loaded, pilot.pause)
            on_screen(screen)
        options = screen.query_one("#providers", OptionList)
        await until(lambda: options.option_count == 2, pilot.pause)
        options.highlighted = 1  # Dr Late: open next Thursday at 21:00
        await until(lambda: screen.provider_id == "late" and screen.loaded, pilot.pause)
        screen.grid.focus()
        await pilot.press("n")
        await until(lambda: screen.grid.cursor_start == at("2030-03-14 21:00:00"), pilot.pause)
        await pilot.pause()
        on_screen(screen)


def on_screen(screen: ClientScreen) -> None:
    grid = screen.grid
    line = HEADER_LINES + grid.cursor[0] - grid.scroll_offset.y
    assert HEADER_LINES <= line < grid.size.height, f"the cursor's row is off screen ({line})"
    assert grid.first_day <= grid.cursor[1] < grid.first_day + grid.visible_days
