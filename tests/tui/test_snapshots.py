"""Screenshots of the terminal app against a real server on a frozen clock, at 80×24 and 120×40.

Each test fills the server over HTTP (providers' availability, a client's hold, another client's
booking), starts the app on the frozen clock, waits until the feed is live and the week is drawn,
and compares an SVG of the screen with the one in __snapshots__/test_snapshots/. Regenerate them
with `pytest tests/tui/test_snapshots.py --snapshot-update`, then look at them before committing.

The clock never moves, so every time on screen (the hold's countdown, past cells) is the
same on every run; tokens, slot ids and ports never reach the screen (the server is "test server").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, OptionList

from shared.timefmt import parse_time
from tests.tui.harness import BackendThread, app_for, until, window
from tests.tui.own_calendars import connected
from tests.tui.test_app import run_from_palette
from tests.tui.test_waitlist import TUESDAY, TUESDAY_10, a_full_tuesday, cancel, join
from tui.app import SlotbookApp
from tui.screens.bookings import BookingsScreen
from tui.screens.calendars import CalendarsScreen
from tui.screens.client import ClientScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.help import HelpScreen
from tui.screens.hold import HoldDialog
from tui.screens.note import NoteView
from tui.screens.offer import OfferDialog
from tui.screens.offerings import OfferingsScreen
from tui.screens.provider import ProviderScreen
from tui.screens.reservations import ReservationsScreen
from tui.screens.type_picker import TypePicker
from tui.screens.usual_week import UsualWeekScreen
from tui.screens.waitlist import JoinWaitlistForm
from tui.screens.week import WeekScreen
from tui.widgets.day_notes import DayNotes
from tui.widgets.week_grid import CellState

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
"""Every screenshot at the smallest terminal the app promises to fit, and at a roomy one."""


class SnapCompare(Protocol):
    """The `snap_compare` fixture of pytest-textual-snapshot."""

    def __call__(
        self,
        app: SlotbookApp,
        press: Iterable[str] = (),
        terminal_size: tuple[int, int] = (80, 24),
        run_before: Callable[[Pilot[None]], Awaitable[None] | None] | None = None,
    ) -> bool: ...


@dataclass(frozen=True)
class World:
    """The tokens of the people in the screenshots (never shown on screen)."""

    ada: str
    """Provider "ada", Dr Ada Lovelace: open Tue 5 and Wed 6 March, 10:00-12:00 UTC."""
    grace: str
    """Provider "grace", Dr Grace Hopper: open Thu 7 March, 13:00-15:00 UTC."""
    bob: str
    """Client "bob", Bob Baker: holds Ada's Tue 10:30 (UTC)."""
    cy: str
    """Client "cy", Cy Young: has booked Ada's Tue 11:00 (UTC)."""


def at(text: str) -> float:
    """A UTC wall time as epoch seconds."""
    return parse_time(text)


def populate(backend: BackendThread) -> World:
    """Two providers with open slots, one slot held by bob and one booked by cy, all over HTTP.

    The frozen clock stands at Monday 4 March 2030, 09:00 UTC, and booking needs 24 hours'
    notice, so Tuesday from 09:15 on is bookable.
    """
    world = World(
        ada=backend.issue("provider", "ada", "Dr Ada Lovelace"),
        grace=backend.issue("provider", "grace", "Dr Grace Hopper"),
        bob=backend.issue("client", "bob", "Bob Baker"),
        cy=backend.issue("client", "cy", "Cy Young"),
    )
    with backend.http(world.ada) as http:
        tuesday = window(http, at("2030-03-05 10:00:00"), at("2030-03-05 12:00:00"))
        window(http, at("2030-03-06 10:00:00"), at("2030-03-06 12:00:00"))
    with backend.http(world.grace) as http:
        window(http, at("2030-03-07 13:00:00"), at("2030-03-07 15:00:00"))
    by_time = {slot["timestamp"]: slot for slot in tuesday}
    with backend.http(world.bob) as http:
        hold(http, by_time["2030-03-05 10:30:00"])
    with backend.http(world.cy) as http:
        booked = by_time["2030-03-05 11:00:00"]
        hold(http, booked)
        response = http.put(
            f"/availability/confirm/{booked['timeSlotId']}",
            json={"timeSlot": booked["timestamp"]},
        )
        assert response.status_code == 200, response.text
    return world


def hold(http: httpx.Client, slot: dict[str, Any]) -> None:
    """Reserve a slot as the client whose token `http` carries."""
    response = http.post(
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
    )
    assert response.status_code in (200, 201), response.text


# --- waiting for a quiet, complete screen ----------------------------------------------------


async def settle(pilot: Pilot[None], app: SlotbookApp, ready: Callable[[], bool]) -> None:
    """Wait until the feed is live and `ready()` holds, then drop any toast."""
    await until(lambda: app.feed_state == "live" and ready(), lambda: pilot.pause(0.01))
    await pilot.pause()
    app.clear_notifications()
    await pilot.pause()


def week_loaded(app: SlotbookApp, kind: type[WeekScreen]) -> bool:
    screen = app.screen
    return isinstance(screen, kind) and screen.loaded


def listing(app: SlotbookApp, kind: type[Screen[None]], rows: int) -> bool:
    """A screen of this kind is on top, its table showing this many rows."""
    return isinstance(app.screen, kind) and app.screen.query_one(DataTable).row_count == rows


def client_ready(app: SlotbookApp) -> bool:
    """The client's week is drawn and the provider list filled."""
    screen = app.screen
    if not isinstance(screen, ClientScreen) or not screen.loaded:
        return False
    return screen.query_one("#providers", OptionList).option_count == 2


# --- the screenshots -------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_provider_week_with_a_hold_a_booking_and_an_unsaved_range(
    snap_compare: SnapCompare, backend: BackendThread, size: tuple[int, int]
) -> None:
    """Dr Ada's week in Berlin time (CET, an hour ahead of UTC): Monday up to 10:00 is past;
    Tuesday and Wednesday 11:00-12:45 are open, except Tuesday 11:30 (held by bob) and 12:00
    (booked by cy); Thursday 10:00-10:45 is painted but not saved, the cursor at its foot."""
    world = populate(backend)
    app = app_for(backend, token=world.ada, zone="Europe/Berlin")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        # The cursor starts on Monday at 10:00 (now, in Berlin): to Thursday, range down 4 rows.
        await pilot.press("l", "l", "l", "v", "j", "j", "j", "space")
        await settle(
            pilot,
            app,
            lambda: screen.edits_handled == screen.grid.edits_posted and screen.draft.pending == 4,
        )

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_client_week_with_providers_and_an_own_hold(
    snap_compare: SnapCompare, backend: BackendThread, size: tuple[int, int]
) -> None:
    """Bob's week in UTC: both providers listed with their next open slot, Dr Ada's chosen;
    Tuesday and Wednesday 10:00-11:45 free, but Tuesday 10:30 held by bob and 11:00 (cy's
    booking) not shown; Monday and early Tuesday too soon to book."""
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: client_ready(app))
        week = app.screen
        assert isinstance(week, ClientScreen)
        assert week.grid.cursor_start == at("2030-03-05 10:00:00"), "opens on the first free"
        await pilot.press("j", "j")  # Tuesday 10:30: bob's hold
        await settle(pilot, app, lambda: client_ready(app))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [*SIZES, pytest.param((45, 40), id="45x40")])
def test_hold_dialog_over_the_client_week(
    snap_compare: SnapCompare, backend: BackendThread, size: tuple[int, int]
) -> None:
    """Bob, in Berlin time, holds Dr Ada's Tuesday 11:00 CET (10:00 UTC) with Enter: the dialog
    says whose, when, and "30:00 left (until 10:30:00)"; the status line says live. At 45 (a
    phone) the dialog takes the whole width, its buttons one under another, each label whole."""
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="Europe/Berlin")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: client_ready(app))
        week = app.screen
        assert isinstance(week, ClientScreen)
        # The week opens on the first free slot: Tuesday 11:00 CET.
        assert week.grid.cursor_start == at("2030-03-05 10:00:00")
        await pilot.press("enter")
        # The dialog is up, the feed has told us of our own hold, and the provider list (which
        # the app reloads half a second after a change) shows Ada's next free slot moved on.
        await settle(
            pilot,
            app,
            lambda: (
                isinstance(app.screen, HoldDialog)
                and app.changes_heard > 0
                and week.providers["ada"].next_available == "2030-03-05 10:15:00"
                and not any(w.is_running for w in app.workers if w.node is week)
            ),
        )

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help_over_the_provider_week(
    snap_compare: SnapCompare, backend: BackendThread, size: tuple[int, int]
) -> None:
    """? over Dr Ada's week in UTC: the keys of the grid, the screen and the app, then the
    legend of the grid's glyphs (below the fold at 80×24)."""
    world = populate(backend)
    app = app_for(backend, token=world.ada, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))
        await pilot.press("question_mark")
        await settle(pilot, app, lambda: isinstance(app.screen, HelpScreen))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help_scrolled_to_the_legend(
    snap_compare: SnapCompare, backend: BackendThread, size: tuple[int, int]
) -> None:
    """? then End over Dr Ada's week: the foot of the help, the grid's legend (every glyph and
    what it means) and the note on the command palette and the time zone."""
    world = populate(backend)
    app = app_for(backend, token=world.ada, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))
        await pilot.press("question_mark")
        await settle(pilot, app, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        scroller = help_screen.query_one(VerticalScroll)
        await pilot.press("end")
        await settle(
            pilot,
            app,
            lambda: scroller.max_scroll_y > 0 and scroller.scroll_y == scroller.max_scroll_y,
        )

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_provider_week_in_the_light_theme(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """Dr Ada's week as in the first screenshot, in textual-light: every state reads on a light
    background too, and the cursor (Monday 10:00) is marked."""
    world = populate(backend)
    app = app_for(backend, token=world.ada, zone="Europe/Berlin")

    async def run_before(pilot: Pilot[None]) -> None:
        app.theme = "textual-light"
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_bookings_asking_before_a_cancel(snap_compare: SnapCompare, backend: BackendThread) -> None:
    """b, then x on cy's booking: the dialog names the client and the time; y goes ahead, Esc
    keeps it."""
    world = populate(backend)
    app = app_for(backend, token=world.ada, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))
        await pilot.press("b")
        await settle(pilot, app, lambda: listing(app, BookingsScreen, 2))
        await pilot.press("down", "x")
        await settle(pilot, app, lambda: isinstance(app.screen, ConfirmDialog))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


NARROW_SIZES = [pytest.param((60, 24), id="60x24"), pytest.param((45, 40), id="45x40")]
"""The narrowest terminal with the list beside the grid, and a phone's browser (390 pixels)."""


@pytest.mark.parametrize("size", NARROW_SIZES)
def test_client_week_narrow(
    snap_compare: SnapCompare, backend: BackendThread, size: tuple[int, int]
) -> None:
    """Bob at 60 columns: beside the provider list only some days fit, the caption says which
    and how to see the rest; day titles are short but whole. At 45 (a phone): no list beside the
    grid; above it Dr Ada named whole, when she is next free, and `p` to choose another; two
    days, their cells' words whole (Tuesday's free slots and bob's hold). The cursor on Tuesday
    10:00 in both."""
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: client_ready(app))
        week = app.screen
        assert isinstance(week, ClientScreen)
        assert week.grid.cursor_start == at("2030-03-05 10:00:00"), "opens on the first free"

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_provider_picker_at_phone_width_filtered(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """Bob at 45 columns presses `/` and types "hop": the list takes the grid's place, the
    filter above it, only Dr Grace Hopper left (highlighted, her week loading behind); the line
    under it says how to pick and how to go back."""
    world = populate(backend)
    app = app_for(backend, token=world.bob, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: client_ready(app))
        await pilot.press("slash", "h", "o", "p")
        week = app.screen
        assert isinstance(week, ClientScreen)
        await settle(pilot, app, lambda: week.provider_id == "grace" and week.loaded)

    assert snap_compare(app, terminal_size=(45, 40), run_before=run_before)


def test_usual_week_editor_with_unsaved_changes(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """w on Dr Ada's week: her usual week in Europe/Berlin (the caption names the zone), weekdays
    over the columns, Monday to Friday 09:00-12:00 open every week; Friday 11:00-11:45 marked for
    removal and Saturday 10:00-10:45 painted, neither saved yet, the cursor at Saturday 10:45."""
    world = populate(backend)
    with backend.http(world.ada) as http:
        weekdays = ("mon", "tue", "wed", "thu", "fri")
        body = {
            "timeZone": "Europe/Berlin",
            "weekly": [{"day": day, "start": "09:00", "end": "12:00"} for day in weekdays],
            "horizonDays": 14,
        }
        response = http.put("/providers/ada/schedule", json=body)
        assert response.status_code == 200, response.text
    app = app_for(backend, token=world.ada, zone="Europe/Berlin")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))
        await pilot.press("w")
        await settle(pilot, app, lambda: usual_week_loaded(app))
        editor = app.screen
        assert isinstance(editor, UsualWeekScreen)
        # The cursor starts on Monday at 08:00: to Friday 11:00, erase to 11:45; then Saturday.
        await pilot.press(*"llll", *"j" * 12, "v", *"jjj", "x")
        await pilot.press("l", *"k" * 7, "v", *"jjj", "space")
        await settle(
            pilot,
            app,
            lambda: editor.edits_handled == editor.grid.edits_posted and editor.draft.pending == 8,
        )

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def usual_week_loaded(app: SlotbookApp) -> bool:
    screen = app.screen
    return isinstance(screen, UsualWeekScreen) and screen.loaded


# --- what a provider offers ----------------------------------------------------------------------


def offer(http: httpx.Client, **body: Any) -> dict[str, Any]:
    """Dr Ada offers an appointment type (`http` carries her token)."""
    response = http.post("/providers/ada/services", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()["service"]
    return made


def offer_two(backend: BackendThread, world: World) -> dict[str, Any]:
    """Dr Ada's two types, oldest first: a 30-minute follow-up with 15 minutes after it, up to 4
    weeks ahead, 6 a day; a 60-minute first assessment with 15 minutes before and 30 after, 48
    hours' notice. The assessment, made a second later, is answered."""
    with backend.http(world.ada) as http:
        offer(
            http,
            name="Follow-up",
            minutes=30,
            bufferAfterMinutes=15,
            maxAdvanceDays=28,
            dailyLimit=6,
            description="A shorter session to check progress and adjust exercises",
        )
        backend.clock.advance(1)  # listed oldest first
        return offer(
            http,
            name="First assessment",
            minutes=60,
            bufferBeforeMinutes=15,
            bufferAfterMinutes=30,
            noticeMinutes=2880,
            description="History, examination and a plan",
        )


def test_what_i_offer_with_two_types(snap_compare: SnapCompare, backend: BackendThread) -> None:
    """s on Dr Ada's week: her two types, each with its length, buffers, notice, how far ahead,
    how many a day and its description; the keys to add, edit and archive."""
    world = populate(backend)
    offer_two(backend, world)
    app = app_for(backend, token=world.ada, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))
        await pilot.press("s")
        await settle(pilot, app, lambda: listing(app, OfferingsScreen, 2))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def book_an_assessment(backend: BackendThread, world: World) -> None:
    """Dr Ada's two types, and cy's booking of a first assessment on Wednesday 10:30-11:30 UTC:
    10:15 (15 minutes before) and 11:30-11:45 (30 after) are kept clear."""
    assessment = offer_two(backend, world)
    with backend.http(world.cy) as http:
        listed = http.get(
            "/availability",
            params={"startTime": "2030-03-06 10:30:00", "endTime": "2030-03-06 10:45:00"},
        ).json()["availableTimeSlots"]
        first = listed[0]
        body = {
            "timeSlot": first["timestamp"],
            "timeSlotId": first["timeSlotId"],
            "serviceId": assessment["serviceId"],
        }
        response = http.post("/availability/reserve", json=body)
        assert response.status_code == 201, response.text
        response = http.put(
            f"/availability/confirm/{first['timeSlotId']}", json={"timeSlot": first["timestamp"]}
        )
        assert response.status_code == 200, response.text


def test_provider_week_with_the_buffers_of_a_booking(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """Dr Ada's week in UTC: cy's first assessment on Wednesday 10:30-11:30 is one block, 10:15
    and 11:30-11:45 are its buffers, marked ⋯ in a style of their own; the cursor on 11:45, the
    line under the grid says whose buffer it is."""
    world = populate(backend)
    book_an_assessment(backend, world)
    app = app_for(backend, token=world.ada, zone="UTC")
    run_before = cursor_on_providers_week(app, "2030-03-06 11:45:00")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def cursor_on_providers_week(
    app: SlotbookApp, timestamp: str
) -> Callable[[Pilot[None]], Awaitable[None]]:
    """What runs before a screenshot of the provider's week with the cursor on a slot."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        assert screen.grid.move_to(int(at(timestamp)))
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))

    return run_before


# --- appointments longer than a slot, moves and notes --------------------------------------------

LONG_NOTE = "First visit; knee pain since March, worse on the stairs in the morning"


def book_long(backend: BackendThread, world: World) -> None:
    """cy also books Dr Ada's Wednesday 11:00-11:45 (UTC), 45 minutes, with a note."""
    with backend.http(world.cy) as http:
        listed = http.get(
            "/availability",
            params={"startTime": "2030-03-06 11:00:00", "endTime": "2030-03-06 11:15:00"},
        ).json()["availableTimeSlots"]
        first = listed[0]
        response = http.post(
            "/availability/reserve",
            json={
                "timeSlot": first["timestamp"],
                "timeSlotId": first["timeSlotId"],
                "minutes": 45,
                "note": LONG_NOTE,
            },
        )
        assert response.status_code == 201, response.text
        response = http.put(
            f"/availability/confirm/{first['timeSlotId']}", json={"timeSlot": first["timestamp"]}
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("size", SIZES)
def test_client_week_choosing_45_minutes(
    snap_compare: SnapCompare, backend: BackendThread, size: tuple[int, int]
) -> None:
    """Bob in UTC chooses 45 minutes (+ +, in the status line): on Dr Ada's Tuesday no start
    fits but 11:15 (his own hold at 10:30 and cy's booking at 11:00 are in the way), so the
    others are marked ◔; the cursor on Wednesday 10:00 underlines 10:00-10:45, what Enter would
    hold."""
    world = populate(backend)
    book_long(backend, world)
    app = app_for(backend, token=world.bob, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: client_ready(app))
        await pilot.press("plus", "plus", "l")  # from Tuesday 10:00, the first free
        await settle(pilot, app, lambda: client_ready(app))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_client_week_with_an_appointment_type_chosen(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """Dr Ada offers a 60-minute first assessment (15 minutes kept clear after it) and a
    30-minute follow-up (15 minutes clear before it); cy has booked a first assessment on
    Wednesday at 10:00. Bob chooses the follow-up (s, ↓, Enter; the status line names it): on
    Tuesday it fits at 10:00 and 11:30 only (his hold at 10:30 and cy's booking at 11:00 are in
    the way, and the time clear before a follow-up), on Wednesday from 11:15 (11:00 is kept clear
    after the assessment, so not even open); the rest is marked ◔."""
    world = populate(backend)
    with backend.http(world.ada) as http:
        kinds = [
            {"name": "First assessment", "minutes": 60, "bufferAfterMinutes": 15},
            {"name": "Follow-up", "minutes": 30, "bufferBeforeMinutes": 15},
        ]
        for kind in kinds:
            made = http.post("/providers/ada/services", json=kind)
            assert made.status_code == 201, made.text
        assessment = http.get("/providers/ada/services").json()["services"][0]["serviceId"]
    with backend.http(world.cy) as http:
        listed = http.get(
            "/availability",
            params={"startTime": "2030-03-06 10:00:00", "endTime": "2030-03-06 10:15:00"},
        ).json()["availableTimeSlots"]
        booked = http.post(
            "/availability/reserve",
            json={
                "timeSlot": listed[0]["timestamp"],
                "timeSlotId": listed[0]["timeSlotId"],
                "serviceId": assessment,
            },
        )
        assert booked.status_code == 201, booked.text
    app = app_for(backend, token=world.bob, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: client_ready(app))
        await pilot.press("s")
        await settle(pilot, app, lambda: isinstance(app.screen, TypePicker))
        await pilot.press("down", "enter")
        await settle(
            pilot,
            app,
            lambda: (
                client_ready(app)
                and isinstance(app.screen, ClientScreen)
                and app.screen.types.fitting is not None
            ),
        )

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_provider_week_with_a_long_booking_and_its_note(
    snap_compare: SnapCompare, backend: BackendThread, size: tuple[int, int]
) -> None:
    """Dr Ada's week in UTC: cy's Wednesday 11:00-11:45 is one block, cy's name on top, the
    first words of the note under it, ╎ below; the cursor on it, the line under the grid says
    who, when and the note's start, and that Enter reads it all."""
    world = populate(backend)
    book_long(backend, world)
    app = app_for(backend, token=world.ada, zone="UTC")
    run_before = cursor_on_providers_week(app, "2030-03-06 11:00:00")
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_the_whole_note_over_the_provider_week(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """Enter on cy's long booking: whose, when, how long, and the whole note."""
    world = populate(backend)
    book_long(backend, world)
    app = app_for(backend, token=world.ada, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: week_loaded(app, ProviderScreen))
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        assert screen.grid.move_to(int(at("2030-03-06 11:15:00")))
        await pilot.press("enter")
        await settle(pilot, app, lambda: isinstance(app.screen, NoteView))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_my_reservations_with_a_long_booking_and_a_note(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """cy's reservations: the 15-minute booking on Tuesday and the 45-minute one on Wednesday,
    with the start of its note; the keys to confirm, move, change the note and cancel."""
    world = populate(backend)
    book_long(backend, world)
    app = app_for(backend, token=world.cy, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: client_ready(app))
        await pilot.press("m")
        await settle(pilot, app, lambda: listing(app, ReservationsScreen, 2))
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_moving_a_booking_asks_first(snap_compare: SnapCompare, backend: BackendThread) -> None:
    """cy moves the Wednesday booking (m, v) to 10:00 and presses Enter: the dialog says from
    when to when, and that the old time is let go only once the new one is held."""
    world = populate(backend)
    book_long(backend, world)
    app = app_for(backend, token=world.cy, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: client_ready(app))
        shown = app.screen
        assert isinstance(shown, ClientScreen)
        week: ClientScreen = shown
        await pilot.press("m")
        await settle(pilot, app, lambda: listing(app, ReservationsScreen, 2))
        await pilot.press("down", "v")
        await settle(
            pilot,
            app,
            lambda: (
                app.screen is week
                and week.moving is not None
                and week.grid.cursor_start == int(at("2030-03-06 11:00:00"))
            ),
        )
        await pilot.press("k", "k", "k", "k", "enter")
        await settle(pilot, app, lambda: isinstance(app.screen, ConfirmDialog))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


# --- the provider's own calendars ------------------------------------------------------------


def connect_two_calendars(backend: BackendThread) -> None:
    """Dr Ada's Personal calendar, read now: busy Wednesday 10:30-11:15 (over open slots) and
    Thursday 08:30-09:30 (not open); her Work calendar, last read two hours ago and refused
    since (failing): busy Tuesday 11:00-11:30, over cy's booking at 11:00 (a conflict)."""
    connected(
        backend, "ada", "0000000000000001", "Personal",
        [("2030-03-06 10:30:00", "2030-03-06 11:15:00"),
         ("2030-03-07 08:30:00", "2030-03-07 09:30:00")],
    )  # fmt: skip
    connected(
        backend, "ada", "0000000000000002", "Work",
        [("2030-03-05 11:00:00", "2030-03-05 11:30:00")],
        read_at=backend.clock.now() - 7200,
        error="the calendar refused the user name and password (401)",
    )  # fmt: skip


def test_provider_week_with_busy_times_a_conflict_and_a_failing_calendar(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """Dr Ada's week in UTC: the line under the status says her Work calendar has not been read
    since 07:00 and why; Wednesday 10:30-11:15 and Thursday 08:30-09:30 are busy in her Personal
    calendar (⊠, its name on top, in a style of their own, open or not); cy's booking on Tuesday
    11:00 is marked ! (Work has her busy then); the cursor on Tuesday 11:15, open but busy in
    Work, as the line under the grid says."""
    world = populate(backend)
    connect_two_calendars(backend)
    app = app_for(backend, token=world.ada, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: calendars_shown(app))
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        assert screen.grid.move_to(int(at("2030-03-05 11:15:00")))
        await settle(pilot, app, lambda: calendars_shown(app))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def calendars_shown(app: SlotbookApp) -> bool:
    """The provider's week is drawn with what their calendars say."""
    screen = app.screen
    return (
        isinstance(screen, ProviderScreen)
        and screen.loaded
        and len(screen.calendars.sources) == 2
        and not any(w.is_running for w in app.workers if w.node is screen)
    )


def test_connected_calendars_one_read_one_failing(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """ctrl+p → Connected calendars on Dr Ada's week: Work (the oldest: failing, not read since
    07:00, and why; highlighted, so its status is whole under the table with its address) and
    Personal (last read 09:00, its events and busy times); under them, that no calendar is
    written to, and how to set one; the keys."""
    world = populate(backend)
    connect_two_calendars(backend)
    app = app_for(backend, token=world.ada, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app, lambda: calendars_shown(app))
        await run_from_palette(app, pilot, "Connected calendars")
        await settle(pilot, app, lambda: listing(app, CalendarsScreen, 2))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


# --- the waitlist ------------------------------------------------------------------------------


async def on_tuesday(pilot: Pilot[None], app: SlotbookApp) -> ClientScreen:
    """The client's week loaded, the cursor on Tuesday 10:00."""
    await settle(pilot, app, lambda: week_loaded(app, ClientScreen))
    week = app.screen
    assert isinstance(week, ClientScreen)
    assert week.grid.move_to(int(at(TUESDAY_10)))
    return week


def test_joining_the_waitlist_says_the_place_in_line(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """Sam, on Dr Ada's full Tuesday (UTC), presses W and joins with what the form offers (the
    whole day, 15 min) behind Kim and Lee: the form says "You are 3rd in line", all of it, the
    fields as sent and the way back, in 24 lines."""
    line = a_full_tuesday(backend)
    join(backend, line.kim, *TUESDAY)
    join(backend, line.lee, *TUESDAY)
    app = app_for(backend, token=line.sam, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await on_tuesday(pilot, app)
        await pilot.press("W")
        await settle(pilot, app, lambda: isinstance(app.screen, JoinWaitlistForm))
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: getattr(app.screen, "joined", None) is not None)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_an_offer_from_the_waitlist_over_the_week(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """Sam waits for Dr Ada's Tuesday; Cy cancels 10:00 and it is held for Sam at once: the
    dialog over the week says so, whose and when, the window waited for, "30:00 left" and the
    keys; Close has the focus. Behind it the week shows 10:00 held by Sam."""
    line = a_full_tuesday(backend)
    join(backend, line.sam, *TUESDAY)
    app = app_for(backend, token=line.sam, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        week = await on_tuesday(pilot, app)
        cancel(backend, line.cy, line.cy_booking)
        await settle(
            pilot,
            app,
            lambda: (
                isinstance(app.screen, OfferDialog)
                and week.grid.cell_at(int(at(TUESDAY_10))).state is CellState.MINE_HELD
                and not any(w.is_running for w in app.workers if w.node is week)
            ),
        )

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_provider_week_with_clients_in_line(
    snap_compare: SnapCompare, backend: BackendThread
) -> None:
    """Dr Ada's week (UTC) with Kim and Lee waiting for Tuesday and Sam for Tuesday and
    Wednesday: under the grid, "3 wait" under Tuesday and "1 wait" under Wednesday (at 80 columns
    "3 waiting" would touch the next day's note), in line with their columns."""
    line = a_full_tuesday(backend)
    join(backend, line.kim, *TUESDAY)
    join(backend, line.lee, *TUESDAY)
    join(backend, line.sam, TUESDAY[0], "2030-03-07 00:00:00")
    app = app_for(backend, token=line.ada, zone="UTC")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(
            pilot,
            app,
            lambda: (
                week_loaded(app, ProviderScreen)
                and "3 wait" in app.screen.query_one(DayNotes).text()
            ),
        )

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
