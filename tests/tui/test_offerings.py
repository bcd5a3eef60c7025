"""What I offer (s on the provider's week): adding, changing and archiving appointment types, with
keys against a real server whose state each test checks over HTTP; and the buffers of a typed
appointment on the provider's grid. The frozen clock stands at Monday 4 March 2030, 09:00 UTC."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from shared.timefmt import parse_time
from tests.tui.harness import BackendThread, app_for, until, window
from tests.tui.test_app import help_keys
from tests.tui.test_phone_width import bar_showing
from tests.tui.test_provider_screen import Toasts, at, goto, info, provider_screen
from tui.app import SlotbookApp
from tui.screens.confirm import ConfirmDialog
from tui.screens.help import HelpScreen
from tui.screens.offering_form import OfferingForm
from tui.screens.offerings import OfferingsScreen
from tui.widgets.week_grid import CellState

FOLLOW_UP = {"name": "Follow-up", "minutes": 30, "bufferAfterMinutes": 15}
ASSESSMENT = {
    "name": "First assessment",
    "minutes": 60,
    "bufferBeforeMinutes": 15,
    "bufferAfterMinutes": 30,
    "noticeMinutes": 2880,
    "maxAdvanceDays": 28,
    "dailyLimit": 2,
    "description": "History, examination and a plan",
}


def services(backend: BackendThread, token: str, *, archived: bool = False) -> list[dict[str, Any]]:
    """Ada's types as the server has them."""
    with backend.http(token) as http:
        params = {"archived": "true"} if archived else {}
        answer = http.get("/providers/ada/services", params=params)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["services"]
    return found


def offer(backend: BackendThread, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Ada offers a type, over HTTP; a second later (the list is oldest first) the next may."""
    with backend.http(token) as http:
        answer = http.post("/providers/ada/services", json=body)
    assert answer.status_code == 201, answer.text
    backend.clock.advance(1)
    made: dict[str, Any] = answer.json()["service"]
    return made


async def offerings(app: SlotbookApp, pilot: Pilot[None]) -> OfferingsScreen:
    """From the provider's week, s: What I offer, loaded."""
    await provider_screen(app, pilot)
    await pilot.press("s")
    await until(lambda: isinstance(app.screen, OfferingsScreen) and app.screen.loaded, pilot.pause)
    screen = app.screen
    assert isinstance(screen, OfferingsScreen)
    return screen


async def form(app: SlotbookApp, pilot: Pilot[None], key: str) -> OfferingForm:
    await pilot.press(key)
    await until(lambda: isinstance(app.screen, OfferingForm), pilot.pause)
    shown = app.screen
    assert isinstance(shown, OfferingForm)
    return shown


async def fill(pilot: Pilot[None], shown: Screen[Any], **texts: str) -> None:
    """Type into a form's fields (`#field-<name>`) by wire name, each emptied first."""
    for key, text in texts.items():
        shown.query_one(f"#field-{key}", Input).focus()
        await pilot.press("ctrl+u", *text)  # ctrl+u empties the line, from the end


def beside(shown: OfferingForm, key: str) -> tuple[str, bool]:
    """What is said beside a field, and whether it says that something is wrong."""
    note = shown.query_one(f"#note-{key}", Static)
    return str(note.render()), note.has_class("-wrong")


def names(screen: OfferingsScreen) -> list[str]:
    return [service.name for service in screen.rows]


async def test_s_opens_what_i_offer_where_a_type_is_added_with_every_field(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(80, 24), message_hook=toasts) as pilot:
        week = await provider_screen(app, pilot)
        # At 80 columns the key bar closes up to hold s and, last, ? Help whole; wider, it
        # opens out again.
        await bar_showing(app, pilot, "b Bookings s Offer ? Help")
        await pilot.resize_terminal(120, 30)
        await bar_showing(app, pilot, "b Bookings  s Offer  ? Help")
        listed = await offerings(app, pilot)
        explain = str(listed.query_one("#explain", Static).render())
        assert "no appointment types yet" in explain
        assert "Press a to add one" in explain
        assert listed.query_one("#explain").display
        shown = await form(app, pilot, "a")
        await fill(
            pilot,
            shown,
            name="Follow-up",
            minutes="30",
            bufferBeforeMinutes="0",
            bufferAfterMinutes="15",
            noticeMinutes="1.5",
            maxAdvanceDays="28",
            dailyLimit="6",
            description="A shorter session to check progress",
        )
        await pilot.press("ctrl+s")
        await until(lambda: app.screen is listed and names(listed) == ["Follow-up"], pilot.pause)
        assert not listed.query_one("#explain").display
        assert toasts.texts() == ["Saved: Follow-up is offered now."]
        await pilot.press("escape")
        await until(lambda: app.screen is week, pilot.pause)
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)
        assert isinstance(app.screen, HelpScreen)
        assert (
            help_keys(app.screen)[
                "What I offer: your appointment types (length, buffers, notice, limits)"
            ]
            == "s"
        )
    [made] = services(backend, token)
    del made["serviceId"]
    assert made == {
        "providerId": "ada",
        "name": "Follow-up",
        "minutes": 30,
        "bufferBeforeMinutes": 0,
        "bufferAfterMinutes": 15,
        "noticeMinutes": 90,
        "maxAdvanceDays": 28,
        "dailyLimit": 6,
        "description": "A shorter session to check progress",
        "archived": False,
    }


async def test_what_cannot_be_a_number_and_what_the_server_refuses_are_said_beside_the_field(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        listed = await offerings(app, pilot)
        shown = await form(app, pilot, "a")
        await fill(pilot, shown, name="Assessment", minutes="20", bufferAfterMinutes="x5")
        assert beside(shown, "bufferAfterMinutes") == (
            "'x5' is not a whole number of minutes, like 15, or 0",
            True,
        )
        await pilot.press("ctrl+s")  # nothing is sent while a field cannot be read
        await pilot.pause(0.2)
        assert isinstance(app.screen, OfferingForm)
        assert services(backend, token) == []
        assert str(shown.query_one("#info", Static).render()).startswith("Not saved: 1 field")
        # A whole number, but not of whole slots: the server's refusal, beside the length.
        await fill(pilot, shown, bufferAfterMinutes="15")
        assert beside(shown, "bufferAfterMinutes")[1] is False
        await pilot.press("enter")
        await until(lambda: beside(shown, "minutes")[1], pilot.pause)
        assert beside(shown, "minutes") == (
            "must be a whole number of slots (15 minutes)",
            True,
        )
        assert shown.focused is shown.query_one("#field-minutes", Input)
        assert services(backend, token) == []
        await fill(pilot, shown, minutes="30")
        assert beside(shown, "minutes") == ("whole slots of 15 min, up to 2 hours", False)
        await pilot.press("enter")
        await until(lambda: app.screen is listed and names(listed) == ["Assessment"], pilot.pause)
    assert [(s["minutes"], s["bufferAfterMinutes"]) for s in services(backend, token)] == [(30, 15)]


async def test_a_change_sends_only_what_changed_and_archiving_asks_first(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    offer(backend, token, FOLLOW_UP)
    assessment = offer(backend, token, ASSESSMENT)
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        listed = await offerings(app, pilot)
        assert names(listed) == ["Follow-up", "First assessment"]
        await pilot.press("down")
        shown = await form(app, pilot, "e")
        assert shown.query_one("#field-noticeMinutes", Input).value == "48"
        # Meanwhile the type is renamed elsewhere: a save that sent every field would undo it.
        with backend.http(token) as http:
            path = f"/services/{assessment['serviceId']}"
            assert http.patch(path, json={"name": "Assessment"}).status_code == 200
        await fill(pilot, shown, dailyLimit="4", maxAdvanceDays="")
        await pilot.press("ctrl+s")
        await until(lambda: app.screen is listed and listed.rows[1].daily_limit == 4, pilot.pause)
        assert names(listed) == ["Follow-up", "Assessment"]
        changed = services(backend, token)[1]
        assert {k: changed[k] for k in ASSESSMENT} == {
            **ASSESSMENT,
            "name": "Assessment",
            "dailyLimit": 4,
            "maxAdvanceDays": None,
        }
        # x asks first; Esc keeps the type, y archives it.
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Stop offering Assessment?" in app.screen.question
        await pilot.press("escape")
        await until(lambda: app.screen is listed, pilot.pause)
        assert len(services(backend, token)) == 2
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
        await pilot.press("y")
        await until(lambda: names(listed) == ["Follow-up"], pilot.pause)
    assert [s["name"] for s in services(backend, token)] == ["Follow-up"]
    archived = [s for s in services(backend, token, archived=True) if s["archived"]]
    assert [s["name"] for s in archived] == ["Assessment"]


async def test_the_buffers_of_an_appointment_show_beside_it_on_the_providers_week(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(token) as http:
        slots = window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 12:00:00"))
    assessment = offer(backend, token, {**ASSESSMENT, "minutes": 30, "noticeMinutes": 60})
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        week = await provider_screen(app, pilot)
        grid = week.grid
        # Sam books the 30-minute type at 10:30 while Ada looks: 15 minutes kept clear before
        # it, 30 after.
        sam = backend.issue("client", "sam", "Sam")
        first = next(s for s in slots if s["timestamp"] == "2030-03-05 10:30:00")
        with backend.http(sam) as http:
            body = {
                "timeSlot": first["timestamp"],
                "timeSlotId": first["timeSlotId"],
                "serviceId": assessment["serviceId"],
            }
            assert http.post("/availability/reserve", json=body).status_code == 201
        await until(
            lambda: grid.cell_at(at("2030-03-05 11:00:00")).state is CellState.BUFFER,
            pilot.pause,
        )
        states = {
            time: grid.cell_at(at(f"2030-03-05 {time}:00")).state
            for time in ("10:00", "10:15", "10:30", "10:45", "11:00", "11:15", "11:30")
        }
        assert states == {
            "10:00": CellState.OPEN,
            "10:15": CellState.BUFFER,
            "10:30": CellState.HELD,
            "10:45": CellState.HELD,
            "11:00": CellState.BUFFER,
            "11:15": CellState.BUFFER,
            "11:30": CellState.OPEN,
        }
        # Drawn in a style of its own, not the open cells' nor the held ones'.
        row = grid.week.find(at("2030-03-05 11:15:00"))
        assert row is not None
        styles = {
            segment.text.strip(): segment.style
            for segment in grid._row_line(row[0], grid.size.width)
        }
        buffer_style, open_style = styles["⋯ buffer"], grid._style("week-grid--open")
        assert buffer_style is not None
        assert buffer_style.bgcolor != open_style.bgcolor
        assert buffer_style.bgcolor != grid._style("week-grid--held").bgcolor
        await goto(pilot, week, "2030-03-05 11:15:00")
        assert "kept clear after Sam's First assessment (30 min buffer)" in info(week)
        assert [meaning for mark, meaning in week.legend() if mark == "⋯"] == [
            "buffer: kept clear beside an appointment, not bookable"
        ]
