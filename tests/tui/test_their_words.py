"""What other people typed (a client's or a provider's name, a note, an appointment type's name
and description) is shown as they typed it, square brackets and all, wherever the terminal app
shows it: never read as markup, where "[b]" would turn the rest bold and "[/oops]" would stop the
screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from shared.timefmt import parse_time
from tests.tui.contrast import screen_text
from tests.tui.harness import BackendThread, app_for, until, window
from tests.tui.test_app import welcome
from tests.tui.test_appointments import the
from tests.tui.test_client_screen import client_screen, dialog, text_of
from tests.tui.test_provider_screen import provider_screen
from tests.tui.test_usual_week import usual_week
from tui.app import SlotbookApp
from tui.screens.bookings import BookingsScreen
from tui.screens.help import HelpScreen
from tui.screens.identity import IdentityScreen
from tui.screens.note import NoteDialog, NoteView
from tui.screens.offerings import OfferingsScreen
from tui.screens.reservations import ReservationsScreen
from tui.screens.type_picker import TypePicker
from tui.screens.zone import ZoneDialog
from tui.widgets.week_grid import CellState

PROVIDER = "Dr [/who] Ada"
CLIENT = "Eve [/oops] [b]Bold"
TYPE = "Check [/x]"
ABOUT = "Bring [red]your scans"
NOTE = "see [/i] and [link=http://x]here[/link]"
TEN = "2030-03-05 10:00:00"
"""Tuesday 5 March 2030, 10:00 (UTC): the appointment's start."""


def open_with_a_type(backend: BackendThread) -> str:
    """Dr [/who] Ada opens Tuesday 10:00-11:00 and offers a type, over HTTP; the type's id."""
    token = backend.issue("provider", "ada", PROVIDER)
    with backend.http(token) as http:
        window(http, parse_time(TEN), parse_time("2030-03-05 11:00:00"))
        made = http.post(
            "/providers/ada/services", json={"name": TYPE, "minutes": 30, "description": ABOUT}
        )
    assert made.status_code == 201, made.text
    service_id: str = made.json()["service"]["serviceId"]
    return service_id


def flat(text: str) -> str:
    """Text with every run of spaces and line breaks as one space."""
    return " ".join(text.split())


def on_screen(app: SlotbookApp) -> str:
    """Everything the terminal shows now, its lines run together (a line may wrap anywhere)."""
    return flat(" ".join(screen_text(app)))


def toasts_shown(app: SlotbookApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def shown(app: SlotbookApp, pilot: Pilot[None], *words: str) -> None:
    """Wait until the terminal shows each of `words`, as they are."""
    try:
        await until(lambda: all(flat(w) in on_screen(app) for w in words), pilot.pause)
    except AssertionError:
        missing = [w for w in words if flat(w) not in on_screen(app)]
        screen = "\n".join(screen_text(app))
        raise AssertionError(f"not shown: {missing}\n{screen}") from None


async def test_a_client_sees_the_providers_name_and_type_as_typed_while_booking_with_a_note(
    backend: BackendThread,
) -> None:
    open_with_a_type(backend)
    eve = backend.issue("client", "eve", CLIENT)
    app = app_for(backend, token=eve)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        week = await client_screen(app, pilot)
        await pilot.press("s")  # the provider's types
        await the(app, pilot, TypePicker)
        await shown(app, pilot, f"What {PROVIDER} offers", f"{TYPE} · 30 min", ABOUT)
        await pilot.press("enter")
        await until(lambda: week.types.chosen is not None, pilot.pause)
        assert week.grid.move_to(int(parse_time(TEN)))
        await pilot.pause()
        assert text_of(week, "#info").endswith(f"free: Enter holds {TYPE} 10:00–10:30")
        await shown(app, pilot, f"free: Enter holds {TYPE} 10:00–10:30")

        await pilot.press("question_mark")  # the legend names the type
        await the(app, pilot, HelpScreen)
        await pilot.press("end")  # the legend, under the keys
        await shown(app, pilot, f"({TYPE} fits from here)")
        await pilot.press("escape")

        await pilot.press("enter")
        held = await dialog(app, pilot)
        await shown(app, pilot, f"{TYPE} with {PROVIDER}")
        held.query_one("#note", Input).value = NOTE
        await pilot.press("c")  # the note is sent, then the hold confirmed
        await until(lambda: app.screen is week, pilot.pause)
        booked = f"Booked\n{TYPE}, Tue 05 Mar 10:00–10:30 with {PROVIDER}"
        await until(lambda: booked in toasts_shown(app), pilot.pause)
        await until(
            lambda: week.grid.cell_at(int(parse_time(TEN))).state is CellState.MINE_BOOKED,
            pilot.pause,
        )
        assert text_of(week, "#info").endswith(f"booked by you ({TYPE}, 10:00–10:30)")

        await pilot.press("m")
        listed: ReservationsScreen = await the(app, pilot, ReservationsScreen)
        await until(lambda: listed.query_one(DataTable).row_count == 1, pilot.pause)
        await shown(app, pilot, f"{TYPE}, 30 min", PROVIDER, NOTE)
        await pilot.press("e")  # the note, to change
        await the(app, pilot, NoteDialog)
        await shown(app, pilot, f"Tue 05 Mar 10:00–10:30 with {PROVIDER}")
        await pilot.press("escape")


async def test_a_provider_sees_the_clients_name_note_and_their_type_as_typed(
    backend: BackendThread,
) -> None:
    service_id = open_with_a_type(backend)
    eve = backend.issue("client", "eve", CLIENT)
    with backend.http(eve) as http:
        listed: list[dict[str, Any]] = http.get(
            "/availability", params={"startTime": TEN, "endTime": "2030-03-05 11:00:00"}
        ).json()["availableTimeSlots"]
        slot_id = next(s["timeSlotId"] for s in listed if s["timestamp"] == TEN)
        body = {"timeSlot": TEN, "timeSlotId": slot_id, "serviceId": service_id, "note": NOTE}
        held = http.post("/availability/reserve", json=body)
        assert held.status_code == 201, held.text
        booked = http.put(f"/availability/confirm/{slot_id}", json={"timeSlot": TEN})
        assert booked.status_code == 200, booked.text
    ada = backend.issue("provider", "ada", PROVIDER)
    app = app_for(backend, token=ada)
    async with app.run_test(size=(120, 30)) as pilot:
        week = await provider_screen(app, pilot)
        assert week.grid.move_to(int(parse_time(TEN)))
        await pilot.pause()
        said = f"booked by {CLIENT} ({TYPE}), 10:00–10:30  ·  “{NOTE}” (Enter reads it)"
        assert str(week.query_one("#info", Static).render()).endswith(said)
        await shown(app, pilot, said)

        await pilot.press("enter")  # the appointment, its whole note
        await the(app, pilot, NoteView)
        await shown(app, pilot, f"{CLIENT}'s booking", NOTE)
        await pilot.press("escape")

        await pilot.press("b")
        bookings: BookingsScreen = await the(app, pilot, BookingsScreen)
        await until(lambda: bookings.query_one(DataTable).row_count == 1, pilot.pause)
        await shown(app, pilot, CLIENT, NOTE)
        await pilot.press("escape")

        await pilot.press("s")  # What I offer
        offered: OfferingsScreen = await the(app, pilot, OfferingsScreen)
        await until(lambda: offered.query_one(DataTable).row_count == 1, pilot.pause)
        await shown(app, pilot, TYPE, ABOUT, f"{TYPE}: {ABOUT}")


async def test_a_name_and_a_zone_typed_with_brackets_show_as_typed(
    backend: BackendThread, tmp_path: Path
) -> None:
    """A new provider names themselves with brackets on the welcome screen: Switch identity lists
    them by that name. A zone typed wrong is echoed, as typed, in the zone dialog's refusal."""
    admin = backend.issue("admin", None, "Admin")
    app = app_for(backend, admin_token=admin, identities=tmp_path / "identities")
    async with app.run_test(size=(120, 30)) as pilot:
        asked = await welcome(app, pilot)
        await pilot.press("down", "enter")  # a provider
        asked.query_one("#name", Input).value = PROVIDER
        await pilot.press("enter")
        await usual_week(app, pilot)
        await pilot.press("z")
        zone: ZoneDialog = await the(app, pilot, ZoneDialog)
        zone.query_one("#zone", Input).value = "[/x]"
        await pilot.press("enter")
        await shown(app, pilot, "'[/x]' is not an IANA time zone")
        await pilot.press("escape", "escape")
        await provider_screen(app, pilot)

        app.switch_identity()
        await the(app, pilot, IdentityScreen)
        await shown(
            app,
            pilot,
            f"● {PROVIDER} (provider)",
            f"slotbook starts as {PROVIDER} (provider) again",
        )
