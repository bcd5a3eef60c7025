"""The client's list of providers: long names cut to two lines where words end, the chosen one named
whole above the grid, `/` to filter; and the phone-width layout (a browser on a phone is about 45
columns wide), where the list is a picker and the grid shows two days whose words can be read.
Against a real server, through the app."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Footer, Input, OptionList, Static

from shared.timefmt import parse_time
from tests.tui.harness import BackendThread, app_for, until, window
from tests.tui.test_client_screen import TUESDAY_10, at, client_screen, open_tuesday
from tests.tui.test_provider_screen import cell_offset, provider_screen
from tui.app import SlotbookApp
from tui.narrow import NARROW_COLUMNS
from tui.screens.client import ClientScreen
from tui.widgets.provider_list import ProviderList, name_lines
from tui.widgets.week_grid import CellState

LONG_NAMES = {
    "kjd": "Katherine Johnson Dental and Orthodontics of Greater Hampton Roads",
    "mev": "Dr Maria-Elena Castellanos-Villanueva, Paediatric Physiotherapy",
    "ost": "Northside Osteopathy and Sports Injury Clinic (Mondays only)",
}
"""Providers' names of 60 to 70 characters, as practices name themselves."""

PHONE = (45, 40)
"""A phone's browser, 390 pixels wide, in terminal cells."""


def open_long_named(backend: BackendThread) -> None:
    """Dr Ada (Tuesday 10:00-11:00, from open_tuesday) and three practices with long names, each
    open Wednesday 15:00-15:30."""
    open_tuesday(backend)
    for subject, name in LONG_NAMES.items():
        token = backend.issue("provider", subject, name)
        with backend.http(token) as http:
            window(http, parse_time("2030-03-06 15:00:00"), parse_time("2030-03-06 15:30:00"))


def listed(screen: ClientScreen) -> list[str]:
    """The ids of the providers the list shows."""
    options = screen.query_one("#providers", OptionList)
    return [options.get_option_at_index(i).id or "" for i in range(options.option_count)]


def prompt_lines(screen: ClientScreen, provider_id: str) -> list[str]:
    options = screen.query_one("#providers", OptionList)
    return str(options.get_option(provider_id).prompt).split("\n")


def text_of(screen: ClientScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def named_whole(screen: ClientScreen, name: str) -> bool:
    """Does the line above the grid name the provider whole, and say when they are next free?
    (Each part goes on a line of its own where it does not fit after the one before.)"""
    text = text_of(screen, "#provider")
    return text.startswith(name) and "next Wed 06 15:00" in text.removeprefix(name)


async def loaded(app: SlotbookApp, pilot: Pilot[None]) -> ClientScreen:
    screen = await client_screen(app, pilot)
    await until(lambda: len(listed(screen)) == 1 + len(LONG_NAMES), pilot.pause)
    return screen


# --- long names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LONG_NAMES.values()))
@pytest.mark.parametrize("width", [19, 30, 43])
def test_a_long_name_takes_two_lines_at_most_cut_where_a_word_ends(name: str, width: int) -> None:
    lines = name_lines(name, width)
    assert 1 <= len(lines) <= 2
    assert all(cell_len(line) <= width for line in lines)
    if " ".join(lines) == name:
        return
    # Cut: whole words in order, then …; only a word longer than a line is itself cut (and ends
    # in …, as "Castellanos-Villanueva," does at 19 columns).
    assert lines[-1].endswith("…")
    shown = " ".join(lines).split()
    for token, word in zip(shown, name.split(), strict=False):
        if token == "…":
            break
        if token.endswith("…"):
            assert cell_len(word) > width
            assert word.startswith(token[:-1])
            break
        assert token == word


async def test_long_names_take_two_lines_in_the_list_and_the_chosen_one_is_named_whole(
    backend: BackendThread,
) -> None:
    open_long_named(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await loaded(app, pilot)
        width = screen.query_one(ProviderList).scrollable_content_region.width
        for provider_id, _name in LONG_NAMES.items():
            *name_part, detail = prompt_lines(screen, provider_id)
            assert len(name_part) == 2, name_part
            assert all(cell_len(line) <= width for line in name_part)
            assert name_part[-1].endswith("…")
            assert detail == "  next Wed 06 15:00"
        assert listed(screen)[0] == "ada"
        await pilot.press("p", "down", "down")  # Dr Ada, then two down
        chosen = listed(screen)[2]
        await until(lambda: screen.provider_id == chosen and screen.loaded, pilot.pause)
        assert named_whole(screen, LONG_NAMES[chosen])


# --- the filter ----------------------------------------------------------------------------------


async def test_slash_filters_the_list_enter_picks_and_esc_clears(backend: BackendThread) -> None:
    open_long_named(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await loaded(app, pilot)
        shown = [b for b in screen.active_bindings.values() if b.enabled and b.binding.show]
        assert [b.binding.description for b in shown if b.binding.key == "slash"] == ["Filter"]

        def keys() -> list[Widget]:
            return list(screen.query_one(Footer).query("FooterKey"))

        await until(lambda: len(keys()) >= 2, pilot.pause)  # drawn just after the screen
        assert "/" in str(keys()[-2].render())
        await pilot.press("slash", *"AND")
        await until(lambda: listed(screen) == ["kjd", "ost"], pilot.pause)
        assert screen.provider_id == "kjd", "the first that matches is shown"
        await pilot.press("down", "down", "enter")
        await until(lambda: screen.grid.has_focus and screen.provider_id == "ost", pilot.pause)
        assert text_of(screen, "#provider").startswith(LONG_NAMES["ost"])
        await pilot.press("slash", "ctrl+u", *"nobody")
        await until(lambda: listed(screen) == [""], pilot.pause)  # one line saying so
        assert "Esc clears" in str(
            screen.query_one("#providers", OptionList).get_option_at_index(0).prompt
        )
        assert screen.provider_id == "ost", "no match leaves the week as it was"
        await pilot.press("escape")
        await until(lambda: len(listed(screen)) == 4, pilot.pause)
        assert not screen.query_one("#provider-filter-row").display
        assert screen.query_one("#providers").has_focus
        await pilot.press("escape")
        await until(lambda: screen.grid.has_focus, pilot.pause)


async def test_a_pick_drops_the_filter_and_esc_in_the_list_clears_one_left_standing(
    backend: BackendThread,
) -> None:
    open_long_named(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await loaded(app, pilot)
        row = screen.query_one("#provider-filter-row")
        await pilot.press("slash", *"osteo", "enter")
        await until(lambda: screen.grid.has_focus and screen.provider_id == "ost", pilot.pause)
        assert len(listed(screen)) == 4, "picked: the whole list again"
        assert not row.display, "and no filter above it"
        # Typed, then Down into the list and a move there: the filter stands, said above the
        # list; in the list Esc clears it first (the key bar says so), then goes back.
        await pilot.press("slash", *"AND", "down", "up")
        await until(lambda: listed(screen) == ["kjd", "ost"], pilot.pause)
        await until(lambda: screen.provider_id == "kjd", pilot.pause)
        assert screen.query_one("#providers").has_focus
        assert row.display
        assert screen.query_one("#provider-filter", Input).value == "AND"
        assert screen.active_bindings["escape"].binding.description == "Clear the filter"
        await pilot.press("escape")
        await until(lambda: len(listed(screen)) == 4, pilot.pause)
        assert not row.display
        assert screen.query_one("#providers").has_focus
        assert screen.provider_id == "kjd", "the provider chosen stays chosen"
        assert screen.active_bindings["escape"].binding.description == "Back to the week"
        await pilot.press("escape")
        await until(lambda: screen.grid.has_focus, pilot.pause)
        # Left standing on the way to the week (Tab): p, then Esc, clears it too.
        await pilot.press("slash", *"AND", "down", "tab")
        await until(lambda: not screen.query_one("#providers").has_focus, pilot.pause)
        assert row.display
        await pilot.press("p", "escape")
        await until(lambda: len(listed(screen)) == 4 and not row.display, pilot.pause)


# --- phone width ---------------------------------------------------------------------------------


async def test_at_phone_width_the_list_is_a_picker_and_the_grid_shows_two_readable_days(
    backend: BackendThread,
) -> None:
    open_long_named(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=PHONE) as pilot:
        screen = await loaded(app, pilot)
        pane = screen.query_one("#provider-pane")
        week = screen.query_one("#week-pane")
        assert not pane.display, "no list beside the grid"
        assert screen.grid.size.width >= PHONE[0] - 2
        assert screen.grid.visible_days == 2
        assert screen.grid.cursor_start == at(TUESDAY_10), "the week opens on the first free"
        row = screen.grid.render_line(cell_offset(screen.grid, at(TUESDAY_10))[1]).text
        assert "◦ free" in row, row
        assert "▾ p: providers" in text_of(screen, "#provider")
        # p: the list in the grid's place, the whole width; Enter on one shows its week.
        await pilot.press("p")
        await until(lambda: pane.display and not week.display, pilot.pause)
        assert pane.size.width >= PHONE[0] - 2
        assert "Enter shows their week" in text_of(screen, "#info")
        await pilot.press("down", "enter")
        await until(
            lambda: week.display and screen.grid.has_focus and not pane.display,
            pilot.pause,
        )
        assert screen.provider_id == listed(screen)[1]
        name = LONG_NAMES[screen.provider_id]
        assert named_whole(screen, name)
        # A click on the provider's name opens the picker too; Esc goes back to the week.
        await pilot.click("#provider")
        await until(lambda: pane.display, pilot.pause)
        await pilot.press("escape")
        await until(lambda: week.display and screen.grid.has_focus, pilot.pause)
        # `/` opens it with the filter.
        await pilot.press("slash", *"osteo", "enter")
        await until(lambda: screen.provider_id == "ost" and screen.grid.has_focus, pilot.pause)


async def test_a_provider_at_phone_width_sees_two_days_with_names_and_paints_by_click(
    backend: BackendThread,
) -> None:
    ada = open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam Client")
    with backend.http(sam) as http:
        listed_slots = http.get(
            "/availability",
            params={"startTime": TUESDAY_10, "endTime": "2030-03-05 10:15:00"},
        ).json()["availableTimeSlots"]
        slot = listed_slots[0]
        body = {"timeSlot": TUESDAY_10, "timeSlotId": slot["timeSlotId"]}
        assert http.post("/availability/reserve", json=body).status_code == 201
    app = app_for(backend, token=ada)
    async with app.run_test(size=PHONE) as pilot:
        screen = await provider_screen(app, pilot)
        grid = screen.grid
        assert grid.visible_days == 2
        await pilot.press("l")
        await until(lambda: grid.cell_at(at(TUESDAY_10)).state is CellState.HELD, pilot.pause)
        row = grid.render_line(cell_offset(grid, at(TUESDAY_10))[1]).text
        assert "◍ Sam Client" in row, row
        where = cell_offset(grid, at("2030-03-05 12:00:00"))
        await pilot.click(grid, offset=where)
        await until(
            lambda: grid.cell_at(at("2030-03-05 12:00:00")).state is CellState.PENDING_PAINT,
            pilot.pause,
        )


@pytest.mark.parametrize("width", [NARROW_COLUMNS, 80, 120])
async def test_from_sixty_columns_on_the_list_stands_beside_a_week_of_days(
    backend: BackendThread, width: int
) -> None:
    open_long_named(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(width, 30)) as pilot:
        screen = await loaded(app, pilot)
        pane = screen.query_one("#provider-pane")
        assert pane.display
        assert pane.outer_size.width == 22
        assert screen.grid.display
        assert screen.grid.visible_days >= 4
        assert "▾ p" not in text_of(screen, "#provider")
        await pilot.press("p")
        assert screen.query_one("#providers").has_focus
        assert screen.grid.display, "the list is beside the grid: nothing to hide"


async def test_turning_the_phone_sideways_and_back_keeps_the_keys_working(
    backend: BackendThread,
) -> None:
    """From wide to phone width with the list focused: the list goes, the grid takes the keys;
    and back: the list beside a week of seven days again."""
    open_long_named(backend)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("p")
        assert screen.query_one("#providers").has_focus
        await pilot.resize_terminal(*PHONE)
        await until(lambda: screen.grid.has_focus and screen.grid.visible_days == 2, pilot.pause)
        before = screen.grid.cursor
        await pilot.press("j")
        assert screen.grid.cursor == (before[0] + 1, before[1])
        await pilot.resize_terminal(100, 30)
        await until(
            lambda: screen.query_one("#provider-pane").display and screen.grid.visible_days == 7,
            pilot.pause,
        )
        assert "▾ p" not in text_of(screen, "#provider")
