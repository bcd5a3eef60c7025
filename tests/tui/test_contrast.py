"""Every character on every screen and dialog, in every theme the app offers, is legible: 4.5:1
for letters and digits, 3:1 for any other glyph (WCAG AA), measured on what the compositor sends
to the terminal (tests/tui/contrast.py).

Each test drives the real app against a real server to a screen, then shows that screen in each
theme in turn and measures every cell; a failure names the theme, the screen, the cell, its
colours and the line it stands in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from backend.runtime.clock import ManualClock
from shared.timefmt import parse_time
from tests.tui.contrast import Finding, illegible
from tests.tui.harness import BackendThread, app_for, until
from tests.tui.test_snapshots import (
    book_an_assessment,
    calendars_shown,
    client_ready,
    connect_two_calendars,
    listing,
    populate,
    week_loaded,
)
from tests.tui.test_waitlist import TUESDAY, TUESDAY_10, a_full_tuesday, cancel, join
from tui.app import SlotbookApp
from tui.screens.bookings import BookingsScreen
from tui.screens.busy_source_form import BusySourceForm
from tui.screens.calendars import CalendarsScreen
from tui.screens.client import ClientScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.help import HelpScreen
from tui.screens.hold import HoldDialog
from tui.screens.identity import IdentityScreen
from tui.screens.my_details import MyDetailsDialog
from tui.screens.offer import OfferDialog
from tui.screens.offerings import OfferingsScreen
from tui.screens.provider import ProviderScreen
from tui.screens.reservations import ReservationsScreen
from tui.screens.type_picker import TypePicker
from tui.screens.usual_week import UsualWeekScreen
from tui.screens.waitlist import JoinWaitlistForm
from tui.screens.welcome import WelcomeScreen
from tui.screens.zone import ZoneDialog
from tui.themes import offered_themes
from tui.widgets.day_notes import DayNotes

SIZE = (100, 30)


class Survey:
    """What was measured, and what fell short, across screens and themes."""

    def __init__(self, app: SlotbookApp, pilot: Pilot[None]) -> None:
        self.app = app
        self.pilot = pilot
        self.screens: list[str] = []
        self.themes: list[list[str]] = []
        """The themes each screen was measured in, in the order measured."""
        self.failures: list[str] = []

    async def measure(self, screen: str) -> None:
        """The screen as it stands, in every offered theme. A switch of theme is most of what
        this costs (Textual parses and applies the whole stylesheet again, and draws the screen
        anew), so the round starts from the theme on show, where the last one ended."""
        self.screens.append(screen)
        themes = offered_themes()
        first = themes.index(self.app.theme) if self.app.theme in themes else 0
        self.themes.append([])
        for theme in themes[first:] + themes[:first]:
            if self.app.theme != theme:
                self.app.theme = theme
                await self.pilot.pause()
            assert self.app.current_theme.name == theme
            found: list[Finding] = illegible(self.app)
            self.failures += [f"{theme}, {screen}: {finding}" for finding in found[:3]]
            self.themes[-1].append(theme)

    def check(self, *expected: str) -> None:
        assert self.screens == list(expected)
        assert [sorted(measured) for measured in self.themes] == [offered_themes()] * len(expected)
        assert not self.failures, "\n".join(self.failures[:40])


async def settled(pilot: Pilot[None], ready: Callable[[], bool]) -> None:
    await until(ready, lambda: pilot.pause(0.01))
    await pilot.pause(0.05)


async def survey(
    backend: BackendThread,
    token: str | None,
    walk: Callable[[Survey], Awaitable[None]],
    *,
    admin_token: str | None = None,
    identities: Path | None = None,
    size: tuple[int, int] = SIZE,
) -> Survey:
    app = app_for(
        backend, token=token, zone="Europe/Berlin", admin_token=admin_token, identities=identities
    )
    async with app.run_test(size=size) as pilot:
        done = Survey(app, pilot)
        await walk(done)
    return done


async def test_the_providers_screens_read_well_in_every_theme(backend: BackendThread) -> None:
    world = populate(backend)

    async def walk(s: Survey) -> None:
        app, pilot = s.app, s.pilot
        await settled(pilot, lambda: app.feed_state == "live" and week_loaded(app, ProviderScreen))
        await pilot.press("l", "l", "l", "v", "j", "j", "space")  # a painted range, unsaved
        app.notify("Opened 4 slots, removed 0.", title="Saved")  # a toast, as saving shows
        await s.measure("the provider's week with a toast")
        app.clear_notifications()
        await pilot.press("question_mark")
        await settled(pilot, lambda: isinstance(app.screen, HelpScreen))
        await s.measure("help")
        await pilot.press("escape", "b")
        await settled(pilot, lambda: listing(app, BookingsScreen, 2))
        await s.measure("bookings")
        await pilot.press("down", "x")
        await settled(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await s.measure("asking before a cancel")
        await pilot.press("escape", "escape")
        await settled(pilot, lambda: isinstance(app.screen, ProviderScreen))
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await s.measure("the command palette")

    done = await survey(backend, world.ada, walk)
    done.check(
        "the provider's week with a toast",
        "help",
        "bookings",
        "asking before a cancel",
        "the command palette",
    )


async def test_the_usual_week_and_its_dialogs_read_well_in_every_theme(
    backend: BackendThread,
) -> None:
    world = populate(backend)
    with backend.http(world.ada) as http:
        body = {
            "timeZone": "Europe/Berlin",
            "weekly": [{"day": "tue", "start": "09:00", "end": "12:00"}],
            "exceptions": [{"date": "2030-03-06", "hours": []}],
            "horizonDays": 7,
        }
        assert http.put("/providers/ada/schedule", json=body).status_code == 200

    async def walk(s: Survey) -> None:
        app, pilot = s.app, s.pilot
        await settled(pilot, lambda: app.feed_state == "live" and week_loaded(app, ProviderScreen))
        await s.measure("the provider's week with a date marked")
        await pilot.press("w")
        await settled(pilot, lambda: isinstance(app.screen, UsualWeekScreen) and app.screen.loaded)
        await pilot.press("l", "j", "j", "x", "l", "v", "j", "space")  # erased, and painted
        await s.measure("the usual week")
        await pilot.press("z")
        await settled(pilot, lambda: isinstance(app.screen, ZoneDialog))
        await pilot.press("ctrl+u", *"Mars/Olympus", "enter")
        await settled(pilot, lambda: "IANA" in str(app.screen.query_one("#problem").render()))
        await s.measure("the time-zone dialog, refusing a zone")
        await pilot.press("escape", "D")
        await settled(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await s.measure("asking before removing the usual week")

    done = await survey(backend, world.ada, walk)
    done.check(
        "the provider's week with a date marked",
        "the usual week",
        "the time-zone dialog, refusing a zone",
        "asking before removing the usual week",
    )


async def test_what_i_offer_its_form_and_buffers_read_well_in_every_theme(
    backend: BackendThread,
) -> None:
    world = populate(backend)
    book_an_assessment(backend, world)

    async def walk(s: Survey) -> None:
        app, pilot = s.app, s.pilot
        await settled(pilot, lambda: app.feed_state == "live" and week_loaded(app, ProviderScreen))
        await s.measure("the provider's week with a booking's buffers")
        await pilot.press("s")
        await settled(pilot, lambda: listing(app, OfferingsScreen, 2))
        await s.measure("what I offer")
        await pilot.press("e", "tab", "x")  # the length, 30x: no number, said beside it
        await settled(pilot, lambda: bool(app.screen.query(".-wrong")))
        await s.measure("a type's form, a field to put right")

    done = await survey(backend, world.ada, walk)
    done.check(
        "the provider's week with a booking's buffers",
        "what I offer",
        "a type's form, a field to put right",
    )


async def test_the_providers_own_calendars_read_well_in_every_theme(
    backend: BackendThread,
) -> None:
    world = populate(backend)
    connect_two_calendars(backend)

    async def walk(s: Survey) -> None:
        app, pilot = s.app, s.pilot
        await settled(pilot, lambda: app.feed_state == "live" and calendars_shown(app))
        await s.measure("the provider's week with busy times, a conflict and a failing calendar")
        app.screen.run_worker(app.screen.run_action("calendars"))
        await settled(pilot, lambda: listing(app, CalendarsScreen, 2))
        await s.measure("connected calendars")
        await pilot.press("a")
        await settled(pilot, lambda: isinstance(app.screen, BusySourceForm))
        await pilot.press("tab", "tab", *"calendar", "ctrl+s")  # no name, no scheme
        await settled(pilot, lambda: bool(app.screen.query(".-wrong")))
        await s.measure("a calendar's form, fields to put right")

    done = await survey(backend, world.ada, walk)
    done.check(
        "the provider's week with busy times, a conflict and a failing calendar",
        "connected calendars",
        "a calendar's form, fields to put right",
    )


async def week_hold_and_mine(s: Survey, where: str = "") -> None:
    """Bob's week, the hold dialog over it (Tuesday 11:00 CET), then My reservations."""
    app, pilot = s.app, s.pilot
    await settled(pilot, lambda: app.feed_state == "live" and client_ready(app))
    await pilot.press("l", "j", "j", "j", "j")
    await s.measure(f"the client's week{where}")
    await pilot.press("enter")
    await settled(pilot, lambda: isinstance(app.screen, HoldDialog))
    await s.measure(f"the hold dialog{where}")
    await pilot.press("escape", "m")
    await settled(pilot, lambda: listing(app, ReservationsScreen, 2))
    await s.measure(f"my reservations{where}")


async def test_the_clients_screens_read_well_in_every_theme(backend: BackendThread) -> None:
    world = populate(backend)
    with backend.http(world.ada) as http:  # the week says how to choose one; `s` lists them
        for kind in (
            {"name": "First assessment", "minutes": 60, "description": "Bring your scans"},
            {"name": "Follow-up", "minutes": 30, "dailyLimit": 6},
        ):
            assert http.post("/providers/ada/services", json=kind).status_code == 201

    async def walk(s: Survey) -> None:
        app, pilot = s.app, s.pilot
        await week_hold_and_mine(s)
        await pilot.press("x")
        await settled(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await s.measure("asking before a cancel")
        await pilot.press("escape", "escape", "s")
        await settled(pilot, lambda: isinstance(app.screen, TypePicker))
        await s.measure("the appointment types")
        await pilot.press("escape")
        app.my_details()
        await settled(pilot, lambda: isinstance(app.screen, MyDetailsDialog))
        await pilot.press(*"bob at example", "enter")
        problem = "#email-problem"
        await settled(pilot, lambda: "@" in str(app.screen.query_one(problem, Static).render()))
        await s.measure("my details, an address to put right")

    done = await survey(backend, world.bob, walk)
    done.check(
        "the client's week",
        "the hold dialog",
        "my reservations",
        "asking before a cancel",
        "the appointment types",
        "my details, an address to put right",
    )


async def test_the_phone_width_screens_read_well_in_every_theme(backend: BackendThread) -> None:
    world = populate(backend)

    async def walk(s: Survey) -> None:
        app, pilot = s.app, s.pilot
        await week_hold_and_mine(s, " at phone width")
        await pilot.press("escape")
        await settled(pilot, lambda: client_ready(app))
        await pilot.press("slash", "h", "o", "p")
        await settled(pilot, lambda: getattr(app.screen, "provider_id", None) == "grace")
        await s.measure("the filtered provider picker at phone width")

    done = await survey(backend, world.bob, walk, size=(45, 40))
    done.check(
        "the client's week at phone width",
        "the hold dialog at phone width",
        "my reservations at phone width",
        "the filtered provider picker at phone width",
    )


async def test_the_first_start_and_switching_identity_read_well_in_every_theme(
    backend: BackendThread, tmp_path: Path, frozen: ManualClock
) -> None:
    admin = backend.issue("admin", None, "Root")

    async def walk(s: Survey) -> None:
        app, pilot = s.app, s.pilot
        await settled(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await s.measure("welcome")
        await pilot.press("enter", *"Grace Hopper", "enter")
        await settled(pilot, lambda: app.feed_state == "live" and client_ready_or_empty(app))
        app.switch_identity()
        await settled(pilot, lambda: isinstance(app.screen, IdentityScreen))
        await s.measure("switch identity")

    done = await survey(
        backend, None, walk, admin_token=admin, identities=tmp_path / "identities.json"
    )
    done.check("welcome", "switch identity")


def client_ready_or_empty(app: SlotbookApp) -> bool:
    return isinstance(app.screen, ClientScreen)


async def test_the_waitlist_reads_well_in_every_theme(backend: BackendThread) -> None:
    line = a_full_tuesday(backend)
    join(backend, line.kim, *TUESDAY)

    async def as_a_client(s: Survey) -> None:
        app, pilot = s.app, s.pilot
        await settled(pilot, lambda: app.feed_state == "live" and week_loaded(app, ClientScreen))
        assert isinstance(app.screen, ClientScreen)
        assert app.screen.grid.move_to(int(parse_time(TUESDAY_10)))
        await pilot.press("W")
        await settled(pilot, lambda: isinstance(app.screen, JoinWaitlistForm))
        await pilot.press("ctrl+u", *"soon", "ctrl+s")  # From: not a time, said beside it
        await settled(pilot, lambda: bool(app.screen.query(".-wrong")))
        await s.measure("the waitlist form, a field to put right")
        await pilot.press("ctrl+u", *"2030-03-05 09:00", "ctrl+s")
        await settled(pilot, lambda: getattr(app.screen, "joined", None) is not None)
        await s.measure("the waitlist form, joined")
        await pilot.press("enter", "m")
        await settled(pilot, lambda: listing(app, ReservationsScreen, 1))
        await s.measure("my reservations with a place in line")
        cancel(backend, line.cy, line.cy_booking)  # Kim is offered 10:00
        cancel(backend, line.dee, line.dee_booking)  # and Sam 10:15
        await settled(pilot, lambda: isinstance(app.screen, OfferDialog))
        await s.measure("an offer from the waitlist")

    async def as_the_provider(s: Survey) -> None:
        app, pilot = s.app, s.pilot
        await settled(pilot, lambda: app.feed_state == "live" and week_loaded(app, ProviderScreen))
        await settled(pilot, lambda: "1 wait" in app.screen.query_one(DayNotes).text())
        await s.measure("the provider's week with clients in line")

    done = await survey(backend, line.ada, as_the_provider, size=(80, 24))
    done.check("the provider's week with clients in line")

    done = await survey(backend, line.sam, as_a_client, size=(80, 24))
    done.check(
        "the waitlist form, a field to put right",
        "the waitlist form, joined",
        "my reservations with a place in line",
        "an offer from the waitlist",
    )
