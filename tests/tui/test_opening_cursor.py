"""Where the cursor stands when a week opens: never on a past cell. A client's week opens on the
first free slot they can hold (as `n` finds it), else on the first slot of today to come; a
provider's on the first slot of today to come (or the first hour shown, when that is later).
Against a real server, on a clock stopped seven minutes into a slot."""

from __future__ import annotations

from datetime import date

from textual.widgets import Static

from shared.timefmt import parse_time
from tests.tui.harness import BackendThread, app_for, until, window
from tests.tui.test_client_screen import client_screen
from tests.tui.test_provider_screen import provider_screen

NOW = "2030-03-04 09:07:00"
"""Monday 4 March 2030, seven minutes into the 09:00 slot: that slot has begun, it is past."""


def at(text: str) -> int:
    return int(parse_time(text))


def info(screen: object) -> str:
    """The line under the grid: the cell under the cursor and what it is."""
    line = screen.query_one("#info", Static)  # type: ignore[attr-defined]
    return str(line.render())


def open_window(backend: BackendThread, token: str, start: str, end: str) -> None:
    with backend.http(token) as http:
        window(http, parse_time(start), parse_time(end))


async def test_a_providers_week_opens_on_the_first_slot_of_today_to_come(
    backend: BackendThread,
) -> None:
    backend.clock.set(parse_time(NOW))
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        assert screen.grid.cursor_start == at("2030-03-04 09:15:00")
        assert info(screen) == "Mon 04 Mar 09:15  ·  not open"
        await pilot.press("l", "l", "t")  # today goes back there, not to the slot now is in
        assert screen.grid.cursor_start == at("2030-03-04 09:15:00")


async def test_a_providers_week_opens_on_the_first_hour_shown_before_it(
    backend: BackendThread,
) -> None:
    backend.clock.set(parse_time("2030-03-04 06:40:00"))
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        assert screen.grid.cursor_start == at("2030-03-04 08:00:00")


async def test_a_clients_week_opens_on_the_first_free_slot_they_can_hold(
    backend: BackendThread,
) -> None:
    backend.clock.set(parse_time(NOW))
    ada = backend.issue("provider", "ada", "Dr Ada")
    # Monday afternoon is open but too soon to book; Wednesday 11:00 is the first one free.
    open_window(backend, ada, "2030-03-04 14:00:00", "2030-03-04 15:00:00")
    open_window(backend, ada, "2030-03-06 11:00:00", "2030-03-06 12:00:00")
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        assert screen.grid.cursor_start == at("2030-03-06 11:00:00")
        assert info(screen) == "Wed 06 Mar 11:00  ·  free: Enter holds it"


async def test_a_clients_week_with_nothing_free_opens_on_the_first_slot_of_today_to_come(
    backend: BackendThread,
) -> None:
    backend.clock.set(parse_time(NOW))
    ada = backend.issue("provider", "ada", "Dr Ada")
    open_window(backend, ada, "2030-03-04 14:00:00", "2030-03-04 15:00:00")  # too soon
    open_window(backend, ada, "2030-03-13 11:00:00", "2030-03-13 12:00:00")  # next week
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        assert screen.monday == date(2030, 3, 4), "the week that opens is this one"
        assert screen.grid.cursor_start == at("2030-03-04 09:15:00")
        assert info(screen) == "Mon 04 Mar 09:15  ·  not open"
        await pilot.press("n")  # n finds next week's
        await until(
            lambda: screen.grid.cursor_start == at("2030-03-13 11:00:00") and screen.loaded,
            pilot.pause,
        )
