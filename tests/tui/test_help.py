"""? lists what the person using the app can do and see: a client's help the keys and glyphs of a
client's week, a provider's those of a provider's week and of the usual week, and nothing of the
other role's."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.tui.contrast import screen_lines
from tests.tui.harness import BackendThread, app_for, until
from tests.tui.test_app import client_screen, help_keys, open_slot
from tests.tui.test_provider_screen import provider_screen
from tests.tui.test_snapshots import populate
from tui.app import SlotbookApp
from tui.screens.help import HelpScreen
from tui.screens.note import NoteView
from tui.screens.usual_week import UsualWeekScreen
from tui.widgets.week_grid import CONTINUED, CellState

PAINTING_KEYS = {"Toggle", "Range", "Erase", "Drop range", "Save", "Undo"}
"""What a provider does on the grid and nobody else does."""

CLIENT_ONLY = {
    "held by you",
    "booked by you",
    "taken by someone else",
    "too soon to book",
    "does not fit",
    "hold from the cursor",
}
"""Words of what only a client's week shows."""

PROVIDER_ONLY = {"held by a client", "not saved yet", "the rest of an appointment"}
"""Words of what only a provider's week (or usual week) shows."""


async def open_help(app: SlotbookApp, pilot: Pilot[None]) -> HelpScreen:
    await pilot.press("question_mark")
    await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)
    shown = app.screen
    assert isinstance(shown, HelpScreen)
    return shown


def legend_of(shown: HelpScreen) -> list[tuple[str, str]]:
    """The help's table of glyphs, as (glyph, meaning) rows; none when it shows no grid."""
    for static in shown.query(Static):
        table = static.content
        if isinstance(table, Table) and table.title == "The grid":
            glyphs = [str(cell) for cell in table.columns[0].cells]
            means = [str(cell) for cell in table.columns[1].cells]
            return list(zip(glyphs, means, strict=True))
    return []


def mentions(rows: list[tuple[str, str]], words: set[str]) -> set[str]:
    return {w for w in words for _, meaning in rows if w in meaning}


def as_text(shown: HelpScreen) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    for static in shown.query(Static):
        console.print(static.content)
    return console.export_text()


async def test_a_clients_help_lists_no_painting_keys_and_only_a_clients_glyphs(
    backend: BackendThread,
) -> None:
    ada = backend.issue("provider", "ada", "Dr Ada")
    open_slot(backend, ada)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        await client_screen(app, pilot)
        shown = await open_help(app, pilot)
        keys = help_keys(shown)
        assert not PAINTING_KEYS & keys.keys(), keys
        assert keys["Hold"] == "⏎, space"
        assert keys["Filter the providers: type part of a name (Esc clears it)"] == "/"
        legend = legend_of(shown)
        assert mentions(legend, CLIENT_ONLY) == CLIENT_ONLY
        assert not mentions(legend, PROVIDER_ONLY), legend
        glyphs = {glyph for glyph, _ in legend}
        for absent in (CellState.PENDING_PAINT, CellState.PENDING_ERASE):
            assert absent.glyph not in glyphs
        assert CONTINUED not in glyphs


async def test_a_providers_help_lists_only_a_providers_glyphs_and_no_hold_key(
    backend: BackendThread,
) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        shown = await open_help(app, pilot)
        keys = help_keys(shown)
        assert {"Toggle", "Range", "Erase", "Save", "Undo"} <= keys.keys()
        assert "Hold" not in keys
        legend = legend_of(shown)
        assert mentions(legend, PROVIDER_ONLY) == PROVIDER_ONLY
        assert not mentions(legend, CLIENT_ONLY), legend
        assert CellState.TAKEN.glyph not in {glyph for glyph, _ in legend}
        assert CellState.TOO_SOON.glyph in {glyph for glyph, _ in legend}, "a provider's week too"
        # The usual week shows only open, painted, removed and closed cells.
        await pilot.press("escape", "w")
        await until(
            lambda: isinstance(app.screen, UsualWeekScreen) and app.screen.loaded, pilot.pause
        )
        shown = await open_help(app, pilot)
        legend = legend_of(shown)
        assert {glyph for glyph, _ in legend} == {
            CellState.OPEN.glyph,
            CellState.PENDING_PAINT.glyph,
            CellState.PENDING_ERASE.glyph,
            CellState.EMPTY.glyph,
            "▸",
        }
        assert not mentions(legend, CLIENT_ONLY)
        await pilot.press("escape", "escape")
        await until(lambda: app.screen is screen, pilot.pause)


async def test_help_over_a_list_shows_no_grid_glyphs(backend: BackendThread) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    async with app.run_test(size=(100, 30)) as pilot:
        await provider_screen(app, pilot)
        await pilot.press("b")
        await until(lambda: type(app.screen).__name__ == "BookingsScreen", pilot.pause)
        shown = await open_help(app, pilot)
        assert legend_of(shown) == []
        assert "Glyph" not in as_text(shown)


TABLE_KEYS = {"Cursor up", "Cursor down", "Cursor right", "Cursor left", "Top", "Bottom"}
TABLE_KEYS |= {"Home", "End", "Page up", "Page down", "Select"}
"""What Textual's table says of its own keys: none of them is what a list screen does."""


async def keys_over_a_list(app: SlotbookApp, pilot: Pilot[None], key: str, kind: str) -> set[str]:
    """Open the list `key` opens (a screen of class `kind`), then its help: what its keys do."""
    await pilot.press(key)
    await until(lambda: type(app.screen).__name__ == kind, pilot.pause)
    keys = help_keys(await open_help(app, pilot))
    assert not TABLE_KEYS & keys.keys(), keys
    return {f"{does}: {keys[does]}" for does in keys}


async def test_help_over_the_lists_names_only_the_lists_own_keys(backend: BackendThread) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.ada)
    async with app.run_test(size=(100, 30)) as pilot:
        await provider_screen(app, pilot)
        assert await keys_over_a_list(app, pilot, "b", "BookingsScreen") == {
            "Read the whole note: ⏎",
            "Cancel booking: x, del",
            "Back to the week: esc, b",
            "Reload: r",
            "Help: ?",
            "Quit: ^q",
        }
    client = app_for(backend, token=world.bob)
    async with client.run_test(size=(100, 30)) as pilot:
        await client_screen(client, pilot)
        listed = await keys_over_a_list(client, pilot, "m", "ReservationsScreen")
        assert {"Confirm: c", "Move: v", "Note: e", "Back to the week: esc, m"} <= listed


def screen_text(app: SlotbookApp) -> str:
    """What the terminal shows, line by line."""
    return "\n".join("".join(s.text for s in line) for line in screen_lines(app))


async def test_the_help_and_the_providers_note_say_how_to_close_them(
    backend: BackendThread,
) -> None:
    app = app_for(backend, token=populate(backend).ada)
    async with app.run_test(size=(80, 24)) as pilot:
        week = await provider_screen(app, pilot)
        await open_help(app, pilot)
        assert "Esc closes" in screen_text(app)
        await pilot.press("escape")
        await until(lambda: app.screen is week, pilot.pause)
        assert "Esc closes" not in screen_text(app)
        await pilot.press("b")
        await until(lambda: type(app.screen).__name__ == "BookingsScreen", pilot.pause)
        bookings = app.screen
        await until(lambda: bool(bookings.query_one(DataTable).row_count), pilot.pause)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, NoteView), pilot.pause)
        await pilot.pause()
        assert "Esc closes" in screen_text(app)
        await pilot.press("escape")
        await until(lambda: app.screen is bookings, pilot.pause)
