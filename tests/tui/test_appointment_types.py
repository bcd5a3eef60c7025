"""A client books one of a provider's appointment types in the terminal app, against a real server:
`s` (or picking that provider) shows the types, and with one chosen the week marks exactly the
starts the server lists for it (its buffers, its daily limit) and keeps them current from the
change feed; Enter holds an appointment of that type, which the hold dialog and My reservations
name; the server's refusals are said in a client's words; + and - keep their meaning where there
is no type."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList

from shared.timefmt import parse_time
from tests.tui.harness import BackendThread, app_for, key_bar_shows, until, window
from tests.tui.test_app import help_keys
from tests.tui.test_appointments import deafen, status_extra, the
from tests.tui.test_client_screen import client_screen, dialog, goto, text_of
from tests.tui.test_help import legend_of
from tests.tui.test_provider_screen import Toasts
from tui.app import SlotbookApp
from tui.client import SlotbookClient
from tui.errors import ApiError
from tui.screens.client import ClientScreen
from tui.screens.help import HelpScreen
from tui.screens.reservations import ReservationsScreen
from tui.screens.type_picker import TypePicker
from tui.session import Session
from tui.type_choice import TypeChoice
from tui.widgets.week_grid import CellState

ASSESSMENT = {
    "name": "First assessment",
    "minutes": 60,
    "bufferAfterMinutes": 15,
    "description": "Bring your scans",
}
FOLLOW_UP = {
    "name": "Follow-up",
    "minutes": 30,
    "bufferBeforeMinutes": 15,
    "dailyLimit": 2,
    "description": "A shorter visit to check progress",
}

TYPE_KEY = "Choose the type of appointment among those the provider offers (or any length)"
"""What the help says `s` does."""

TUESDAY = [f"2030-03-05 {h:02d}:{m:02d}:00" for h in range(10, 14) for m in (0, 15, 30, 45)]
"""Every start the providers open: Tuesday 5 March 2030, 10:00 to 14:00 (UTC)."""


def tuesday(clock: str) -> str:
    return f"2030-03-05 {clock}:00"


def at(clock: str) -> int:
    return int(parse_time(tuesday(clock)))


def starts(first: str, last: str) -> set[str]:
    """The Tuesday starts from `first` to `last`, both included."""
    return set(TUESDAY[TUESDAY.index(tuesday(first)) : TUESDAY.index(tuesday(last)) + 1])


def open_tuesday(backend: BackendThread, provider: str = "ada", name: str = "Dr Ada") -> str:
    """The provider's token, after opening Tuesday 10:00-14:00."""
    token = backend.issue("provider", provider, name)
    with backend.http(token) as http:
        window(http, parse_time(TUESDAY[0]), parse_time("2030-03-05 14:00:00"))
    return token


def offer(backend: BackendThread, token: str, **fields: Any) -> str:
    """Offer a type as Dr Ada, over HTTP; its id."""
    with backend.http(token) as http:
        made = http.post("/providers/ada/services", json=fields)
    assert made.status_code == 201, made.text
    service_id: str = made.json()["service"]["serviceId"]
    return service_id


def book(backend: BackendThread, start: str, token: str | None = None, **body: Any) -> None:
    """Hold Dr Ada's time from `start` as this client (else a new one), over HTTP (`minutes` or
    `serviceId` in `body`)."""
    token = token or backend.issue("client", uuid.uuid4().hex, "Someone else")
    with backend.http(token) as http:
        listed = http.get(
            "/availability",
            params={"startTime": start, "endTime": tuesday("14:00"), "providerId": "ada"},
        ).json()["availableTimeSlots"]
        slot_id = next(s for s in listed if s["timestamp"] == start)["timeSlotId"]
        answer = http.post(
            "/availability/reserve", json={"timeSlot": start, "timeSlotId": slot_id, **body}
        )
    assert answer.status_code == 201, answer.text


def listed_for(backend: BackendThread, token: str, service_id: str) -> set[str]:
    """The Tuesday starts the server lists for the type now."""
    with backend.http(token) as http:
        params = {"startTime": TUESDAY[0], "endTime": tuesday("14:00"), "serviceId": service_id}
        listed = http.get("/availability", params=params)
    assert listed.status_code == 200, listed.text
    return {s["timestamp"] for s in listed.json()["availableTimeSlots"]}


def marked_free(screen: ClientScreen) -> set[str]:
    """The Tuesday starts the week marks ◦ (Enter holds from there)."""
    return {t for t in TUESDAY if screen.grid.cell_at(int(parse_time(t))).state is CellState.OPEN}


async def pick_type(app: SlotbookApp, pilot: Pilot[None], *keys: str) -> TypePicker:
    """`s`, then these keys in the list of types; the picker."""
    await pilot.press("s")
    picker: TypePicker = await the(app, pilot, TypePicker)
    await pilot.press(*keys)
    return picker


def options_text(picker: TypePicker) -> str:
    listed = picker.query_one(OptionList)
    return "\n".join(str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count))


async def test_a_client_picks_a_type_and_the_week_marks_where_it_fits_live_and_enter_holds_one(
    backend: BackendThread,
) -> None:
    ada = open_tuesday(backend)
    assessment = offer(backend, ada, **ASSESSMENT)
    follow_up = offer(backend, ada, **FOLLOW_UP)
    book(backend, tuesday("10:30"), minutes=30)  # of no type, so no buffers: 10:30-11:00
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await until(lambda: key_bar_shows(screen, "s"), pilot.pause)
        assert text_of(screen, "#provider").endswith("s: 2 appointment types")
        assert text_of(screen, "#info").endswith(
            "free: Enter holds it, of any kind (s chooses a type)"
        )
        await pilot.press("plus")  # 30 minutes of any kind fit from 11:00, right after 10:30's
        assert tuesday("11:00") in marked_free(screen)

        picker = await pick_type(app, pilot, "down")  # from the first type to Follow-up
        shown = options_text(picker)
        for said in (
            "First assessment · 60 min\nBring your scans\nbook at least 24 hours ahead",
            "Follow-up · 30 min\nA shorter visit to check progress\n"
            "book at least 24 hours ahead · at most 2 a day",
            "Any length, no type",
        ):
            assert said in shown, shown
        await pilot.press("enter")
        await until(lambda: status_extra(screen) == "Follow-up, 30 min (s)", pilot.pause)

        # A follow-up keeps 15 minutes clear before it: not from 11:00.
        fits = {tuesday("10:00")} | starts("11:15", "13:30")
        assert marked_free(screen) == fits == listed_for(backend, sam, follow_up)

        # Someone books a first assessment at 11:00, which keeps 15 minutes clear after it:
        # 12:00 no longer fits, though its slots are still open. Only the server knows; the
        # week, told of the booking by the feed, asks it again.
        book(backend, tuesday("11:00"), serviceId=assessment)
        await until(lambda: tuesday("12:00") not in marked_free(screen), pilot.pause)
        fits = {tuesday("10:00")} | starts("12:15", "13:30")
        assert marked_free(screen) == fits == listed_for(backend, sam, follow_up)
        await goto(pilot, screen, tuesday("12:00"))
        assert text_of(screen, "#info").endswith(
            "open, but Follow-up cannot start here: too close to another appointment, or that day"
            " is full (n finds where it fits)"
        )

        await goto(pilot, screen, tuesday("10:00"))
        await pilot.press("n")  # the next start where a follow-up fits
        await until(lambda: screen.grid.cursor_start == at("12:15"), pilot.pause)
        await goto(pilot, screen, tuesday("10:00"))
        assert text_of(screen, "#info").endswith("free: Enter holds Follow-up 10:00–10:30")
        await pilot.press("enter")
        held = await dialog(app, pilot)
        assert text_of(held, "#when") == (
            "Follow-up with Dr Ada\nTuesday 05 March, 10:00–10:30 (30\N{NO-BREAK SPACE}min)"
        )
        with backend.http(sam) as http:
            (mine,) = http.get("/reservations").json()["reservations"]
        assert (mine["timestamp"], mine["minutes"], mine["serviceId"], mine["serviceName"]) == (
            tuesday("10:00"),
            30,
            follow_up,
            "Follow-up",
        )
        await pilot.press("escape", "m")
        listed: ReservationsScreen = await the(app, pilot, ReservationsScreen)
        table: DataTable[str] = listed.query_one(DataTable)
        await until(lambda: table.row_count == 1, pilot.pause)
        assert [str(cell) for cell in table.get_row_at(0)][:3] == [
            "Tue 05 Mar 10:00–10:30",
            "Follow-up, 30 min",
            "Dr Ada",
        ]


async def test_the_servers_refusals_of_a_type_are_said_in_a_clients_words(
    backend: BackendThread,
) -> None:
    """The app has not heard of the bookings that make the server refuse (its feed is cut):
    each Enter is refused, said why, and the week is read again."""
    ada = open_tuesday(backend)
    follow_up = offer(backend, ada, **FOLLOW_UP | {"dailyLimit": 1})
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await pick_type(app, pilot, "enter")
        await until(lambda: marked_free(screen) == starts("10:00", "13:30"), pilot.pause)
        deafen(app)

        book(backend, tuesday("11:45"), minutes=15)
        await goto(pilot, screen, tuesday("12:00"))
        await pilot.press("enter")
        await until(lambda: tuesday("12:00") not in marked_free(screen), pilot.pause)

        book(backend, tuesday("13:30"), serviceId=follow_up)  # the one a day it may have
        await goto(pilot, screen, tuesday("10:00"))
        await pilot.press("enter")
        await until(lambda: not marked_free(screen), pilot.pause)
        assert app.screen is screen, "nothing held"
        await pilot.press("n")  # the server finds no start for it: Tuesday is full
        await until(lambda: len(toasts.raised) == 3, pilot.pause)
    with backend.http(sam) as http:
        assert http.get("/reservations").json()["reservations"] == []
    assert toasts.texts() == [
        "Not held: Dr Ada keeps 15 minutes clear between appointments, and another one is too"
        " close: Follow-up cannot start at 12:00 any more. Pick another start (n finds the next"
        " one).",
        "Not held: Tue 05 Mar is full for Follow-up: Dr Ada takes at most 1 a day. Pick another"
        " day (n finds the next start where it fits).",
        "No start for Follow-up in the next 31 days.",
    ]


async def test_a_type_too_far_ahead_or_too_soon_is_refused_in_a_clients_words(
    backend: BackendThread,
) -> None:
    """The words for the refusals the week rarely meets (its starts are listed as fitting):
    the server's own answers to holds beyond a type's window and inside its notice."""
    ada = open_tuesday(backend)
    near = offer(backend, ada, name="Quick check", minutes=15, noticeMinutes=60, maxAdvanceDays=1)
    far = offer(backend, ada, name="Long notice", minutes=15, noticeMinutes=2880)
    sam = backend.issue("client", "sam", "Sam")
    client = SlotbookClient(backend.url, sam)
    try:
        session = Session(
            client=client,
            me=await client.me(),
            rules=await client.rules(),
            zone=ZoneInfo("UTC"),
            clock=backend.clock.now,
            server_label="test server",
        )
        slot = (await client.open_slots(parse_time(TUESDAY[0]), parse_time(TUESDAY[1])))[0]
        said = []
        for service_id in (near, far):
            types = TypeChoice(session)
            await types.load("ada")
            types.choose(next(s for s in types.offers("ada") if s.service_id == service_id))
            try:
                await client.reserve(slot, service_id=service_id)
            except ApiError as error:
                said.append(types.refusal(error, int(parse_time(slot.timestamp)), "Dr Ada"))
    finally:
        await client.aclose()
    assert said == [
        "Quick check can be booked at most 1 day ahead: the latest start now is Tue 05 Mar"
        " 09:00. Pick an earlier one (n finds the next).",
        "Too soon for Long notice: it needs 2 days' notice. The earliest you can book it now"
        " is after Wed 06 Mar 09:00 (n finds the next start).",
    ]


async def test_plus_and_minus_say_why_with_a_type_and_set_the_length_without_one(
    backend: BackendThread,
) -> None:
    ada = open_tuesday(backend)
    offer(backend, ada, **FOLLOW_UP)
    open_tuesday(backend, "bob", "Dr Bob")  # who offers no types
    sam = backend.issue("client", "sam", "Sam")
    book(backend, tuesday("13:45"), sam)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await pick_type(app, pilot, "enter")
        await until(lambda: status_extra(screen) == "Follow-up, 30 min (s)", pilot.pause)
        await pilot.press("plus")
        await until(lambda: bool(toasts.raised), pilot.pause)
        assert status_extra(screen) == "Follow-up, 30 min (s)"
        await pilot.press("question_mark")  # the help says how to choose, and what ◔ means now
        helping: HelpScreen = await the(app, pilot, HelpScreen)
        assert help_keys(helping)[TYPE_KEY] == "s"
        assert (
            "◔",
            "open, but Follow-up does not fit from here (too short a run, too close to another"
            " appointment, or that day is full)",
        ) in legend_of(helping)
        await pilot.press("escape")

        await pick_type(app, pilot, "down", "enter")  # back to any length
        await until(lambda: status_extra(screen) == "length 15 min (+ -)", pilot.pause)
        assert text_of(screen, "#provider").endswith("s: 1 appointment type")
        await pilot.press("m")
        await the(app, pilot, ReservationsScreen)
        await pilot.press("v")  # moving keeps the length: no type to choose meanwhile
        await until(lambda: screen.moving is not None, pilot.pause)
        assert "appointment type" not in text_of(screen, "#provider")
        assert not key_bar_shows(screen, "s")
        await pilot.press("escape")
        await until(lambda: screen.moving is None, pilot.pause)
        await pilot.press("plus")
        assert status_extra(screen) == "length 30 min (+ -)"

        await pilot.press("p", "down")  # Dr Bob
        await until(lambda: screen.provider_id == "bob" and screen.loaded, pilot.pause)
        assert not key_bar_shows(screen, "s")
        assert TYPE_KEY not in help_keys(HelpScreen(app.screen))
        await pilot.press("s", "plus")
        assert status_extra(screen) == "length 45 min (+ -)"
        assert not isinstance(app.screen, TypePicker)

        await pilot.press("p", "up", "enter")  # picking Dr Ada shows what she offers
        await the(app, pilot, TypePicker)
    assert toasts.texts() == [
        "Follow-up lasts 30 min. For another length, s chooses another type, or Any length"
        " (then + and - set it).",
        "Moving: Pick the new start of your hold on the grid (any provider), then Enter. Esc"
        " keeps it where it is.",
        "Not moved: it stays where it was.",
    ]
