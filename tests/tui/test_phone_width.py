"""At a phone's width (45 columns: a browser on a phone) the screens keep what matters in sight: the
hold dialog's buttons, note and time whole; the key bar's most important keys, `?` Help always;
the status line's state, who and length; the lists' status and the time a hold has left; and the
provider picker stays what it says whatever is tapped or pressed. At 80 and 120 columns they are
as they were. Against a real server, through the app, reading the screen as drawn."""

from __future__ import annotations

import pytest
from textual.containers import Vertical
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, DataTable, OptionList

from tests.tui.contrast import screen_text
from tests.tui.harness import BackendThread, app_for, until
from tests.tui.test_snapshots import World, at, client_ready, listing, populate, week_loaded
from tui.app import SlotbookApp
from tui.screens.bookings import BookingsScreen
from tui.screens.client import ClientScreen
from tui.screens.help import HelpScreen
from tui.screens.hold import HoldDialog
from tui.screens.provider import ProviderScreen
from tui.screens.reservations import ReservationsScreen
from tui.screens.type_picker import TypePicker
from tui.widgets.key_bar import KeyBar
from tui.widgets.status_line import StatusLine

PHONE = (45, 40)
"""A phone's browser, 390 pixels wide, in terminal cells."""

WIDE = [(80, 24), (120, 40)]


def shown(app: SlotbookApp, widget: Widget) -> str:
    """What the screen shows where the widget is, line by line."""
    region = widget.region
    lines = screen_text(app)[region.y : region.bottom]
    return "\n".join(line[region.x : region.right].rstrip() for line in lines)


def bar(app: SlotbookApp) -> str:
    return shown(app, app.screen.query_one(KeyBar))


async def bar_showing(app: SlotbookApp, pilot: Pilot[None], *keys: str) -> str:
    """The key bar, once it shows every one of `keys` (a screen's bar is drawn just after the
    screen; it fails with the bar as it was if it never does)."""
    try:
        await until(lambda: all(key in bar(app) for key in keys), pilot.pause)
    except AssertionError:
        raise AssertionError(f"the key bar never showed {keys}: {bar(app)!r}") from None
    return bar(app)


def status(app: SlotbookApp) -> str:
    return shown(app, app.screen.query_one(StatusLine)).strip()


async def client_week(app: SlotbookApp, pilot: Pilot[None]) -> ClientScreen:
    await until(lambda: app.feed_state == "live" and client_ready(app), pilot.pause)
    screen = app.screen
    assert isinstance(screen, ClientScreen)
    return screen


async def provider_week(app: SlotbookApp, pilot: Pilot[None]) -> ProviderScreen:
    await until(lambda: app.feed_state == "live" and week_loaded(app, ProviderScreen), pilot.pause)
    screen = app.screen
    assert isinstance(screen, ProviderScreen)
    return screen


async def my_reservations(app: SlotbookApp, pilot: Pilot[None]) -> None:
    """Bob's week, then `m`: his hold on Dr Ada's Tuesday 10:30 listed."""
    await client_week(app, pilot)
    await pilot.press("m")
    await until(lambda: listing(app, ReservationsScreen, 1), pilot.pause)
    await pilot.pause()


async def ada_bookings(app: SlotbookApp, pilot: Pilot[None]) -> None:
    """Dr Ada's week, then `b`: Bob's hold and Cy's booking listed."""
    await provider_week(app, pilot)
    await pilot.press("b")
    await until(lambda: listing(app, BookingsScreen, 2), pilot.pause)
    await pilot.pause()


async def hold_wednesday_half_past(
    app: SlotbookApp, pilot: Pilot[None], world: World
) -> HoldDialog:
    """Bob holds Dr Ada's Wednesday 10:00-10:30 (a 30-minute appointment, `+` once)."""
    week = await client_week(app, pilot)
    await pilot.press("plus")
    assert week.grid.move_to(int(at("2030-03-06 10:00:00")))
    await pilot.press("enter")
    await until(lambda: isinstance(app.screen, HoldDialog), pilot.pause)
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, HoldDialog)
    return dialog


# --- the hold dialog -------------------------------------------------------------------------


async def test_the_hold_dialog_at_phone_width_shows_its_buttons_note_and_time_whole(
    backend: BackendThread,
) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")
    async with app.run_test(size=PHONE) as pilot:
        dialog = await hold_wednesday_half_past(app, pilot, world)
        box = dialog.query_one(Vertical)
        assert box.region.width == PHONE[0], "the dialog takes the whole width"
        text = shown(app, box)
        for whole in ("Confirm (c)", "Release (x)", "Close (esc)", "A note for the provider (e)"):
            assert whole in text, text
        assert "(30 min)" in text, "the length is never broken over two lines"
        assert "Wednesday 06 March," in text
        buttons = list(dialog.query(Button))
        assert len({button.region.y for button in buttons}) == 3, "one under another"
        for button in buttons:
            assert box.content_region.contains_region(button.region)
        await pilot.press("escape")  # keeps the hold; the week is back
        await until(lambda: isinstance(app.screen, ClientScreen), pilot.pause)


@pytest.mark.parametrize("size", WIDE, ids=[f"{w}x{h}" for w, h in WIDE])
async def test_the_hold_dialog_on_a_wider_screen_is_as_it_was(
    backend: BackendThread, size: tuple[int, int]
) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")
    async with app.run_test(size=size) as pilot:
        dialog = await hold_wednesday_half_past(app, pilot, world)
        box = dialog.query_one(Vertical)
        assert box.region.width == 60
        text = shown(app, box)
        for whole in ("Confirm (c)", "Release (x)", "Close (esc)"):
            assert whole in text, text
        assert "A note for the provider: e writes one" in text
        assert "Wednesday 06 March, 10:00–10:30 (30 min)" in text
        assert len({button.region.y for button in dialog.query(Button)}) == 1, "side by side"


# --- the key bar and the status line -------------------------------------------------------


async def test_the_key_bar_at_phone_width_shows_the_main_keys_and_help(
    backend: BackendThread,
) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")
    async with app.run_test(size=PHONE) as pilot:
        await client_week(app, pilot)
        await bar_showing(app, pilot, "[ ] Week", "n Next open", "m Mine", "/ Filter", "? Help")
        await my_reservations(app, pilot)
        keys = await bar_showing(app, pilot, "c Confirm", "x Cancel", "esc Back", "? Help")
        # On a phone the key bar is the row of buttons: a tap on one presses its key.
        await pilot.click(app.screen.query_one(KeyBar), offset=(keys.index("esc Back"), 0))
        await until(lambda: isinstance(app.screen, ClientScreen), pilot.pause)
        keys = await bar_showing(app, pilot, "? Help")
        await pilot.click(app.screen.query_one(KeyBar), offset=(keys.index("? Help"), 0))
        await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)

    app = app_for(backend, token=world.ada, zone="UTC")
    async with app.run_test(size=PHONE) as pilot:
        await provider_week(app, pilot)
        await bar_showing(app, pilot, "[ ] Week", "^s Save", "b Bookings", "? Help")
        await ada_bookings(app, pilot)
        await bar_showing(app, pilot, "x Cancel", "esc Back", "? Help")


async def test_the_status_line_at_phone_width_keeps_the_state_who_and_the_length(
    backend: BackendThread,
) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")
    async with app.run_test(size=PHONE) as pilot:
        await client_week(app, pilot)
        assert status(app) == "● live │ Bob Baker │ length 15 min (+ -)"
        backend.stop()  # the server goes away: the state says so, with who and the length
        await until(lambda: app.feed_state != "live", pilot.pause)
        await pilot.pause()
        line = status(app)
        assert line.startswith(f"◌ {app.feed_state}"), line
        assert line.endswith(" │ Bob Baker │ length 15 min"), line
        assert len(line) <= PHONE[0] - 2


@pytest.mark.parametrize("size", WIDE, ids=[f"{w}x{h}" for w, h in WIDE])
async def test_on_a_wider_screen_the_key_bar_status_line_and_my_reservations_are_as_they_were(
    backend: BackendThread, size: tuple[int, int]
) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")
    async with app.run_test(size=size) as pilot:
        await client_week(app, pilot)
        assert (await bar_showing(app, pilot, "? Help")).strip() == (
            "⏎ Hold  [ ] Week  n Next open  m My reservations  / Filter  ? Help"
        )
        assert status(app) == (
            "● live │ Bob Baker (client) │ length 15 min (+ -) │ UTC │ test server"
        )
        await my_reservations(app, pilot)
        assert headings(app) == ["When", "With", "Status", "Time left", "Note"]


# --- the lists -------------------------------------------------------------------------------


def headings(app: SlotbookApp) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [str(column.label) for column in table.ordered_columns]


async def test_my_reservations_at_phone_width_show_the_status_and_time_left_first(
    backend: BackendThread,
) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")
    async with app.run_test(size=PHONE) as pilot:
        await my_reservations(app, pilot)
        assert headings(app) == ["When", "Status", "With", "Note"]
        table = shown(app, app.screen.query_one(DataTable))
        assert "Tue 05 Mar 10:30  held, 30:00 left" in table, table
        # Turned sideways: the usual columns again, each in its place.
        await pilot.resize_terminal(100, 30)
        await until(lambda: "Time left" in headings(app), pilot.pause)
        await pilot.pause()
        assert headings(app) == ["When", "With", "Status", "Time left", "Note"]
        row = shown(app, app.screen.query_one(DataTable)).splitlines()[1]
        assert " ".join(row.split()) == "Tue 05 Mar 10:30 Dr Ada Lovelace held 30:00 left", row


async def test_a_providers_bookings_at_phone_width_show_the_status_before_the_client(
    backend: BackendThread,
) -> None:
    world = populate(backend)
    app = app_for(backend, token=world.ada, zone="UTC")
    async with app.run_test(size=PHONE) as pilot:
        await ada_bookings(app, pilot)
        assert headings(app) == ["When", "Status", "Client", "Note"]
        rows = shown(app, app.screen.query_one(DataTable)).splitlines()[1:3]
        assert "held, 30:00 left" in rows[0], rows  # the time a hold has left, beside it
        assert [row.split()[4] for row in rows] == ["held,", "booked"], rows
        assert rows[0].index("held") < rows[0].index("Bob"), rows
        assert "Cy" in rows[1], rows
    app = app_for(backend, token=world.ada, zone="UTC")
    async with app.run_test(size=WIDE[0]) as pilot:
        await ada_bookings(app, pilot)
        assert headings(app) == ["When", "Client", "Status", "Time left", "Note"]


# --- the provider picker -----------------------------------------------------------------------


async def test_the_picker_stays_what_it_says_after_a_tap_beside_the_providers(
    backend: BackendThread,
) -> None:
    """A tap below the providers leaves the picker as it was (its keys in the key bar); a key
    that acts on the week (`n`, `]`) shows the week first, so that what it does is seen."""
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")
    async with app.run_test(size=PHONE) as pilot:
        week = await client_week(app, pilot)
        pane, grid_pane = week.query_one("#provider-pane"), week.query_one("#week-pane")
        listing_widget = week.query_one("#providers")

        def picking() -> bool:
            return pane.display and not grid_pane.display and listing_widget.has_focus

        opened_on = week.grid.cursor_start  # the first slot Bob can hold
        assert opened_on == at("2030-03-05 10:00:00")
        await pilot.press("p")
        await until(picking, pilot.pause)
        await pilot.click(listing_widget, offset=(20, listing_widget.region.height - 5))
        await pilot.pause()
        assert picking(), "a tap beside the providers changes nothing"
        await bar_showing(app, pilot, "esc Back")
        assert "↑ ↓ choose" in shown(app, week.query_one("#info"))
        await pilot.press("n")
        await until(lambda: grid_pane.display and week.grid.has_focus, pilot.pause)
        await until(lambda: week.grid.cursor_start not in (None, opened_on), pilot.pause)
        assert not pane.display
        assert "esc Back" not in bar(app)
        assert "Enter holds it" in shown(app, week.query_one("#info"))
        monday = week.monday
        await pilot.press("p")
        await until(picking, pilot.pause)
        await pilot.press("right_square_bracket")
        await until(lambda: grid_pane.display and week.grid.has_focus, pilot.pause)
        assert (week.monday - monday).days == 7
        assert not pane.display


# --- appointment types -------------------------------------------------------------------------


async def test_the_type_picker_at_phone_width_shows_every_type_whole(
    backend: BackendThread,
) -> None:
    """Dr Ada offers two types: the line above the week says how to see them, the key bar has
    `s`, and the list of types takes the whole width with every line of it in sight (no scroll
    hides the end of a description); the type chosen stands in the status line, on the narrowest
    phone by its name alone rather than cut."""
    world = populate(backend)
    description = (
        "A full look at what brings you here: history, tests and a plan. Bring any scans or"
        " letters from your doctor."
    )
    with backend.http(world.ada) as http:
        for kind in (
            {"name": "First assessment", "minutes": 60, "description": description},
            {"name": "Follow-up", "minutes": 30, "maxAdvanceDays": 28, "dailyLimit": 6},
        ):
            assert http.post("/providers/ada/services", json=kind).status_code == 201
    app = app_for(backend, token=world.bob, zone="UTC")
    async with app.run_test(size=PHONE) as pilot:
        week = await client_week(app, pilot)
        await bar_showing(app, pilot, "s Type", "? Help")
        assert "s: 2 appointment types" in shown(app, week.query_one("#provider"))
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, TypePicker), pilot.pause)
        await pilot.pause()
        box = app.screen.query_one(Vertical)
        assert box.region.width == PHONE[0], "the list takes the whole width"
        listed = app.screen.query_one(OptionList)
        assert listed.region.height >= listed.virtual_size.height, "no line out of sight"
        assert box.region.bottom <= PHONE[1]
        text = " ".join(shown(app, listed).split())
        for whole in (
            f"First assessment · 60 min {description} book at least 24 hours ahead",
            "Follow-up · 30 min book 24 hours to 28 days ahead · at most 6 a day",
            "Any length, no type + and - set how long, a slot at a time",
        ):
            assert whole in text, text
        assert "What Dr Ada Lovelace offers" in shown(app, box)
        assert "Enter chooses · Esc: no change" in shown(app, box)
        await pilot.press("down", "enter")
        await until(lambda: status(app).endswith("Follow-up, 30 min (s)"), pilot.pause)
        await pilot.resize_terminal(41, 40)  # the narrowest phone: the type's name, whole
        await until(lambda: status(app) == "● live │ Bob Baker │ Follow-up", pilot.pause)
