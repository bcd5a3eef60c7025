"""Toasts stand where they hide nothing the user needs: never over the status line, the line of
hints under the grid or table (what the cursor is on, what a move or `o` did and what to do next)
or the key bar, and never over what a dialog says, nor, while a dialog is open, over the status
line, hints and key bar of the screen behind it. Every screen that raises toasts, and every kind
of dialog, is visited against a real server, at a terminal's usual sizes and at a phone's
width."""

from __future__ import annotations

import pytest
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static
from textual.widgets._toast import Toast

from tests.tui.harness import BackendThread, app_for, until
from tests.tui.test_snapshots import client_ready, populate, week_loaded
from tui.app import SlotbookApp
from tui.screens.bookings import BookingsScreen
from tui.screens.client import ClientScreen
from tui.screens.help import HelpScreen
from tui.screens.hold import HoldDialog
from tui.screens.note import NoteDialog, NoteView
from tui.screens.provider import ProviderScreen
from tui.screens.reservations import ReservationsScreen
from tui.screens.usual_week import UsualWeekScreen
from tui.screens.zone import ZoneDialog
from tui.widgets.status_line import StatusLine

SIZES = [(80, 24), (120, 40), (45, 40)]

LONG = (
    "Closed Tue 05 Mar: removed 8 open slots. 2 held or booked slots are kept: b lists them,"
    " and the hint under the grid says what to do next."
)


def kept_clear(app: SlotbookApp) -> list[Region]:
    """What a toast must not cover on the screen shown: its status line, hint line and key bar;
    over a dialog, what the dialog says and its buttons, and the status line, hint line and key
    bar of the screen behind it, which stay in sight."""
    screen = app.screen
    if isinstance(screen, ModalScreen):
        behind = app.screen_stack[-2]
        dialog = [w for w in screen.children if isinstance(w, (Vertical, VerticalScroll))]
        assert len(dialog) == 1
        return [dialog[0].content_region, *lines_of(behind)]
    return lines_of(screen)


def lines_of(screen: Screen[object]) -> list[Region]:
    """Where a screen's status line, hint line and key bar are."""
    found = [*screen.query(StatusLine), *screen.query("#info"), *screen.query(Footer)]
    assert len(found) == 3
    return [widget.region for widget in found]


async def toast_regions(app: SlotbookApp, pilot: Pilot[None], title: str) -> list[Region]:
    """Raise a long toast on the screen shown; where it, and any other toast, stand once drawn."""
    app.notify(LONG, title=title, timeout=30)

    def drawn() -> list[Toast]:
        return [t for t in app.screen.query(Toast) if t.region.height > 2]

    await until(
        lambda: any(t._notification.title == title for t in drawn()), lambda: pilot.pause(0.01)
    )
    return [t.region for t in drawn()]


async def assert_clear(app: SlotbookApp, pilot: Pilot[None], where: str) -> None:
    screen = app.screen
    if isinstance(screen, ModalScreen):  # a scroll bar of its own would cover the key bar's end
        assert not screen.show_vertical_scrollbar, f"{where}: the dialog's screen scrolls"
    for toast in await toast_regions(app, pilot, where):
        for region in kept_clear(app):
            overlap = toast.intersection(region)
            assert not overlap.area, f"{where}: the toast {toast} covers {region}"
    app.clear_notifications()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_toasts_on_the_providers_screens_hide_no_hint(
    backend: BackendThread, size: tuple[int, int]
) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.ada, zone="UTC")
    async with app.run_test(size=size, notifications=True) as pilot:
        await until(lambda: week_loaded(app, ProviderScreen), pilot.pause)
        await pilot.press("l", "v", "j", "space")  # something unsaved: the hint says so
        await assert_clear(app, pilot, "the provider's week")
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)
        await assert_clear(app, pilot, "the help over the provider's week")
        await pilot.press("escape", "u", "w")
        await until(
            lambda: isinstance(app.screen, UsualWeekScreen) and app.screen.loaded, pilot.pause
        )
        await assert_clear(app, pilot, "the usual week")
        await pilot.press("z", *"Nowhere", "enter")  # the zone dialog, saying what is wrong
        await until(
            lambda: (
                isinstance(app.screen, ZoneDialog)
                and "Nowhere" in str(app.screen.query_one("#problem", Static).render())
            ),
            pilot.pause,
        )
        await assert_clear(app, pilot, "the zone dialog")
        await pilot.press("escape")
        await pilot.press("escape", "b")
        await until(
            lambda: (
                isinstance(app.screen, BookingsScreen)
                and app.screen.query_one(DataTable).row_count == 2
            ),
            pilot.pause,
        )
        await assert_clear(app, pilot, "bookings")
        await pilot.press("enter")  # the whole note of the booking highlighted
        await until(lambda: isinstance(app.screen, NoteView), pilot.pause)
        await assert_clear(app, pilot, "the note over the bookings")


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_toasts_on_the_clients_screens_hide_no_hint(
    backend: BackendThread, size: tuple[int, int]
) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")
    async with app.run_test(size=size, notifications=True) as pilot:
        await until(lambda: client_ready(app), pilot.pause)
        shown = app.screen
        assert isinstance(shown, ClientScreen)
        week: ClientScreen = shown
        await pilot.press("m")
        await until(
            lambda: (
                isinstance(app.screen, ReservationsScreen)
                and app.screen.query_one(DataTable).row_count == 1
            ),
            pilot.pause,
        )
        await assert_clear(app, pilot, "my reservations")
        await pilot.press("e")
        await until(lambda: isinstance(app.screen, NoteDialog), pilot.pause)
        await assert_clear(app, pilot, "the note dialog over my reservations")
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, ReservationsScreen), pilot.pause)
        await pilot.press("v")  # move bob's hold: the hint under the grid says how
        await until(lambda: app.screen is week and week.moving is not None, pilot.pause)
        await assert_clear(app, pilot, "the client's week, moving a hold")
        await pilot.press("escape", "enter")
        await until(lambda: isinstance(app.screen, HoldDialog), pilot.pause)
        await assert_clear(app, pilot, "the hold dialog")
        await pilot.press("escape", "question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)
        await assert_clear(app, pilot, "the help over the client's week")
