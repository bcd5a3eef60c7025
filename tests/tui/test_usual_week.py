"""The provider's usual week (w), its zone (z), removing it (D), and the dates that differ from it
(o on the dated week), driven with keys against a real server whose state each test checks over
HTTP. The frozen clock stands at Monday 4 March 2030, 09:00 UTC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from shared.timefmt import format_time, parse_time
from tests.tui.harness import BackendThread, app_for, until
from tests.tui.test_app import help_keys, palette_titles
from tests.tui.test_provider_screen import Toasts, at, provider_screen, server_slots
from tui.app import SlotbookApp
from tui.config import load_options
from tui.screens.client import ClientScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.help import HelpScreen
from tui.screens.provider import ProviderScreen
from tui.screens.usual_week import UsualWeekScreen
from tui.screens.zone import ZoneDialog
from tui.timezone import starting_zone
from tui.web.app_session import app_command, app_environment
from tui.weekly import cell_start
from tui.widgets.status_line import StatusLine
from tui.widgets.week_grid import CellState

TUESDAY_AND_WEDNESDAY_10_TO_11 = [
    {"day": "tue", "start": "10:00", "end": "11:00"},
    {"day": "wed", "start": "10:00", "end": "11:00"},
]


def schedule_of(backend: BackendThread, token: str) -> dict[str, Any] | None:
    """The provider's schedule as the server has it (None: it has none)."""
    with backend.http(token) as http:
        answer = http.get("/providers/ada/schedule")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["schedule"]
    return found


def put_schedule(backend: BackendThread, token: str, **body: Any) -> None:
    with backend.http(token) as http:
        answer = http.put("/providers/ada/schedule", json=body)
    assert answer.status_code == 200, answer.text


def reserve(backend: BackendThread, client: str, timestamp: str) -> None:
    """A client (a fresh token) holds the open slot at `timestamp`, over HTTP."""
    token = backend.issue("client", client, client.title())
    with backend.http(token) as http:
        listed = http.get(
            "/availability",
            params={"startTime": timestamp, "endTime": format_time(parse_time(timestamp) + 900)},
        ).json()["availableTimeSlots"]
        assert listed[0]["timestamp"] == timestamp, listed
        body = {"timeSlot": timestamp, "timeSlotId": listed[0]["timeSlotId"]}
        assert http.post("/availability/reserve", json=body).status_code == 201


async def usual_week(app: SlotbookApp, pilot: Pilot[None]) -> UsualWeekScreen:
    """From the provider's week, w: the usual week, loaded."""
    await provider_screen(app, pilot)
    await pilot.press("w")
    await until(lambda: isinstance(app.screen, UsualWeekScreen) and app.screen.loaded, pilot.pause)
    screen = app.screen
    assert isinstance(screen, UsualWeekScreen)
    return screen


def info(screen: ProviderScreen | UsualWeekScreen) -> str:
    """The info line under the grid."""
    return str(screen.query_one("#info", Static).render())


def header(screen: ProviderScreen | UsualWeekScreen) -> tuple[str, str]:
    """The grid's caption and its line of day titles, as drawn."""
    grid = screen.grid
    return grid.render_line(0).text, grid.render_line(1).text


# --- the usual week ------------------------------------------------------------------------------


async def test_a_usual_week_painted_and_saved_becomes_the_schedule_and_fills_the_dates(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token, zone="Europe/Berlin")
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        editor = await usual_week(app, pilot)
        caption, titles = header(editor)
        assert "hours in Europe/Berlin" in caption, "a new usual week is in the app's zone"
        assert titles.split()[::3] == ["Monday", "Thursday", "Sunday"]
        assert "no usual week yet" in info(editor)
        # The cursor starts on Monday (today's weekday) at 08:00; Tuesday and Wednesday 10-11.
        assert editor.grid.cursor_start == cell_start(0, 8 * 60)
        await pilot.press("l", *["j"] * 8, "v", "j", "j", "j", "l", "space")
        await until(lambda: editor.draft.pending == 8, pilot.pause)
        assert editor.grid.cell_at(cell_start(2, 10 * 60 + 45)).state is CellState.PENDING_PAINT
        await pilot.press("ctrl+s")
        week = await provider_screen(app, pilot)
        # 10:00 in Berlin is 09:00 UTC in March; the feed and the reload bring the new slots.
        await until(
            lambda: week.grid.cell_at(at("2030-03-05 09:45:00")).state is CellState.OPEN,
            pilot.pause,
        )
    assert toasts.texts() == ["Usual week saved: 64 slots opened, 0 removed."]  # 8 weeks x 2 x 4
    found = schedule_of(backend, token)
    assert found is not None
    assert (found["timeZone"], found["weekly"]) == (
        "Europe/Berlin",
        TUESDAY_AND_WEDNESDAY_10_TO_11,
    )
    slots = server_slots(backend, token)
    assert sorted(slots) == [
        f"2030-03-0{day} 09:{minute}:00" for day in (5, 6) for minute in ("00", "15", "30", "45")
    ]


async def test_the_editor_starts_from_the_schedule_and_saving_an_erase_keeps_a_held_slot(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    put_schedule(
        backend, token, timeZone="UTC", weekly=[{"day": "mon", "start": "10:00", "end": "12:00"}]
    )
    reserve(backend, "sam", "2030-03-11 11:15:00")  # next Monday: held by Sam
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        editor = await usual_week(app, pilot)
        grid = editor.grid
        assert grid.cell_at(cell_start(0, 10 * 60)).state is CellState.OPEN
        assert grid.cell_at(cell_start(1, 10 * 60)).state is CellState.EMPTY
        # Monday 11:00-12:00 erased: the cursor starts on Monday at 08:00.
        await pilot.press(*["j"] * 12, "v", "j", "j", "j", "x")
        await until(lambda: editor.draft.pending == 4, pilot.pause)
        assert "Mondays 11:45  ·  to be removed, not saved yet" in info(editor)
        await pilot.press("u")
        await until(lambda: editor.draft.pending == 0, pilot.pause)
        await pilot.press("x")  # only the cursor's cell, 11:45: still a run that ends at noon
        await until(lambda: editor.draft.pending == 1, pilot.pause)
        await pilot.press("k", "v", "k", "k", "x")
        await until(lambda: editor.draft.pending == 4, pilot.pause)
        await pilot.press("ctrl+s")
        await provider_screen(app, pilot)
    # Mondays 11:00-12:00 for eight weeks (today's included: 11:00 is still to come), but Sam's.
    assert toasts.texts() == [
        "Usual week saved: 0 slots opened, 31 removed, 1 kept because held or booked."
    ]
    found = schedule_of(backend, token)
    assert found is not None
    assert found["weekly"] == [{"day": "mon", "start": "10:00", "end": "11:00"}]


async def test_esc_with_unsaved_painting_warns_once_then_leaves_it_unsaved(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        editor = await usual_week(app, pilot)
        await pilot.press("space")
        await until(lambda: editor.draft.pending == 1, pilot.pause)
        await pilot.press("escape")
        await until(lambda: bool(toasts.saying("Unsaved")), pilot.pause)
        assert app.screen is editor
        await pilot.press("escape")
        await provider_screen(app, pilot)
    assert toasts.texts("warning") == [
        "Unsaved: 1 unsaved change: ctrl+s saves, Esc again goes back without saving."
    ]
    assert schedule_of(backend, token) is None


def tuesdays_in_utc(backend: BackendThread) -> str:
    """Dr Ada's token, her usual week Tuesdays 10:00-11:00 in UTC."""
    token = backend.issue("provider", "ada", "Dr Ada")
    put_schedule(
        backend,
        token,
        timeZone="UTC",
        weekly=[{"day": "tue", "start": "10:00", "end": "11:00"}],
        horizonDays=7,
    )
    return token


async def zone_dialog(app: SlotbookApp, pilot: Pilot[None]) -> ZoneDialog:
    """z on the usual week: the zone dialog, open."""
    await pilot.press("z")
    await until(lambda: isinstance(app.screen, ZoneDialog), pilot.pause)
    assert isinstance(app.screen, ZoneDialog)
    return app.screen


async def test_the_zone_dialog_refuses_a_zone_the_server_does_not_know_then_changes_it(
    backend: BackendThread,
) -> None:
    token = tuesdays_in_utc(backend)
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        editor = await usual_week(app, pilot)
        assert "hours in UTC" in header(editor)[0]
        dialog = await zone_dialog(app, pilot)
        assert dialog.query_one(Input).value == "UTC"
        await pilot.press("ctrl+u", *"Mars/Olympus", "enter")
        problem = dialog.query_one("#problem", Static)
        await until(lambda: "IANA" in str(problem.render()), pilot.pause)
        assert str(problem.render()) == (
            "'Mars/Olympus' is not an IANA time zone; give one such as Europe/Berlin"
            " (or just Berlin)."
        )
        assert app.screen is dialog, "the dialog stays open to be corrected"
        assert (schedule_of(backend, token) or {}).get("timeZone") == "UTC"
        await pilot.press("ctrl+u", *"Asia/Tokyo", "enter")
        await until(lambda: app.screen is editor, pilot.pause)
        assert "hours in Asia/Tokyo" in header(editor)[0]
        # Esc leaves the zone as it is.
        await pilot.press("z")
        await until(lambda: isinstance(app.screen, ZoneDialog), pilot.pause)
        await pilot.press("ctrl+u", *"Europe/Paris", "escape")
        await until(lambda: app.screen is editor, pilot.pause)
    found = schedule_of(backend, token)
    assert found is not None
    assert (found["timeZone"], found["weekly"]) == (
        "Asia/Tokyo",
        [{"day": "tue", "start": "10:00", "end": "11:00"}],
    )
    # Tuesday 10:00 in Tokyo is 01:00 UTC: the 4 slots at 10:00 UTC moved there.
    assert toasts.texts() == [
        "Time zone: Your usual hours are now in Asia/Tokyo: 4 slots opened, 4 removed."
    ]
    assert sorted(server_slots(backend, token)) == [
        f"2030-03-05 01:{minute}:00" for minute in ("00", "15", "30", "45")
    ]


@pytest.mark.parametrize("typed", ["Berlin", "berlin"])
async def test_the_zone_dialog_takes_part_of_a_name_and_says_when_it_fits_several_or_none(
    backend: BackendThread, typed: str
) -> None:
    token = tuesdays_in_utc(backend)
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        editor = await usual_week(app, pilot)
        dialog = await zone_dialog(app, pilot)
        problem = dialog.query_one("#problem", Static)

        await pilot.press("ctrl+u", *"Eastern", "enter")
        await until(lambda: "fits" in str(problem.render()), pilot.pause)
        assert str(problem.render()) == (
            "'Eastern' fits 2 zones: Canada/Eastern, US/Eastern. Type more of the name."
        )
        await pilot.press("ctrl+u", *"Berln", "enter")
        await until(lambda: "Nearest" in str(problem.render()), pilot.pause)
        assert str(problem.render()) == (
            "'Berln' is not an IANA time zone. Nearest: Europe/Berlin."
        )
        assert app.screen is dialog
        assert (schedule_of(backend, token) or {}).get("timeZone") == "UTC", "nothing sent"

        await pilot.press("ctrl+u", *typed, "enter")
        await until(lambda: app.screen is editor, pilot.pause)
        assert "hours in Europe/Berlin" in header(editor)[0]
    assert (schedule_of(backend, token) or {}).get("timeZone") == "Europe/Berlin"


def status_zone(app: SlotbookApp) -> str:
    """The zone the status line names."""
    line = str(app.screen.query_one(StatusLine).render())
    return next((part.strip() for part in line.split("│") if "/" in part), "")


def provider_in_berlin(backend: BackendThread) -> str:
    """Dr Ada's token, whose usual week is Wednesdays 10:00-11:00 in Europe/Berlin."""
    token = backend.issue("provider", "ada", "Dr Ada")
    put_schedule(
        backend,
        token,
        timeZone="Europe/Berlin",
        weekly=[{"day": "wed", "start": "10:00", "end": "11:00"}],
        horizonDays=7,
    )
    return token


async def test_a_provider_sees_their_week_in_the_zone_of_their_usual_week(
    backend: BackendThread,
) -> None:
    """On a machine set to UTC, a provider whose usual week is in Berlin reads their week in
    Berlin time: Wednesday 10:00 there (09:00 UTC) is on the 10:00 row."""
    token = provider_in_berlin(backend)
    app = app_for(backend, token=token, zone="UTC")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        await until(lambda: status_zone(app) == "Europe/Berlin", pilot.pause)
        assert screen.week.zone.key == "Europe/Berlin"
        assert "times in CET (Europe/Berlin)" in header(screen)[0]
        found = screen.week.find(at("2030-03-06 09:00:00"))
        assert found is not None
        assert screen.week.rows[found[0]].label.startswith("10:00")
        assert screen.grid.cell_at(at("2030-03-06 09:00:00")).state is CellState.OPEN


async def test_a_zone_named_at_start_wins_over_the_usual_weeks(backend: BackendThread) -> None:
    token = provider_in_berlin(backend)
    app = app_for(backend, token=token, zone="America/New_York", zone_chosen=True)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        await until(lambda: status_zone(app) == "America/New_York", pilot.pause)
        assert screen.week.zone.key == "America/New_York"
        assert "(America/New_York)" in header(screen)[0]


async def test_a_provider_in_a_browser_sees_their_week_in_the_zone_of_their_usual_week(
    backend: BackendThread, tmp_path: Path
) -> None:
    """slotbook-web starts a visitor's app in the browser's zone (America/New_York here), with
    the operator's SLOTBOOK_TZ set too: that is where the visitor is, not a zone they named, so a
    provider whose usual week is in Berlin reads their week in Berlin time all the same."""
    token = provider_in_berlin(backend)
    environment = app_environment(
        {"SLOTBOOK_TZ": "Asia/Tokyo", "TZ": "UTC", "PATH": "/usr/bin"},
        "America/New_York",
        home=str(tmp_path),
        label="https://book.example.org",
    )
    _python, _module, _tui, *arguments = app_command(backend.url)
    options = load_options(arguments, environment)
    zone, chosen = starting_zone(options.tz, environment)
    assert zone.key == "America/New_York"
    app = app_for(backend, token=token, zone=zone.key, zone_chosen=chosen)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        await until(lambda: status_zone(app) == "Europe/Berlin", pilot.pause)
        assert screen.week.zone.key == "Europe/Berlin"
        assert "times in CET (Europe/Berlin)" in header(screen)[0]


async def test_a_zone_set_for_the_usual_week_in_the_app_is_the_zone_of_the_week_after(
    backend: BackendThread,
) -> None:
    """A new provider on a UTC machine sets their usual week's zone to Europe/Berlin (w, z):
    back on their week, it reads in Berlin time, not the machine's."""
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token, zone="UTC")
    async with app.run_test(size=(100, 30)) as pilot:
        editor = await usual_week(app, pilot)
        await pilot.press("z")
        await until(lambda: isinstance(app.screen, ZoneDialog), pilot.pause)
        await pilot.press("ctrl+u", *"Europe/Berlin", "enter")
        await until(lambda: app.screen is editor, pilot.pause)
        await until(lambda: status_zone(app) == "Europe/Berlin", pilot.pause)
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, ProviderScreen), pilot.pause)
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        await until(lambda: status_zone(app) == "Europe/Berlin", pilot.pause)
        await until(lambda: screen.loaded and screen.week.zone.key == "Europe/Berlin", pilot.pause)
        assert "times in CET (Europe/Berlin)" in header(screen)[0]
        assert screen.session.when(screen.session.now(), "%H:%M") == "10:00"


async def test_removing_the_usual_week_asks_first_and_leaves_hand_painted_slots(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    put_schedule(
        backend, token, timeZone="UTC", weekly=TUESDAY_AND_WEDNESDAY_10_TO_11, horizonDays=7
    )
    with backend.http(token) as http:  # Thursday by hand: an exception, but slots of its own
        answer = http.post(
            "/availability",
            json={"startTime": "2030-03-07 10:00:00", "endTime": "2030-03-07 10:15:00"},
        )
        assert answer.status_code == 201, answer.text
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        editor = await usual_week(app, pilot)
        await pilot.press("D")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
        await pilot.press("escape")  # kept
        await until(lambda: app.screen is editor, pilot.pause)
        assert schedule_of(backend, token) is not None
        await pilot.press("D")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
        await pilot.press("y")
        week = await provider_screen(app, pilot)
        await until(
            lambda: week.grid.cell_at(at("2030-03-05 10:00:00")).state is CellState.EMPTY,
            pilot.pause,
        )
    assert toasts.texts() == ["Usual week removed, and 8 open slots it had made."]
    assert schedule_of(backend, token) is None
    assert server_slots(backend, token) == {"2030-03-07 10:00:00": "AVAILABLE"}


# --- the dates that differ -----------------------------------------------------------------------


async def test_o_closes_a_date_and_restores_it_and_the_date_is_marked_meanwhile(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    put_schedule(
        backend, token, timeZone="UTC", weekly=TUESDAY_AND_WEDNESDAY_10_TO_11, horizonDays=14
    )
    reserve(backend, "sam", "2030-03-06 10:15:00")
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        week = await provider_screen(app, pilot)
        grid = week.grid
        assert "*" not in "".join(header(week))
        await pilot.press("l", "o")  # Tuesday 5 March: closed
        await until(
            lambda: grid.cell_at(at("2030-03-05 10:00:00")).state is CellState.EMPTY, pilot.pause
        )
        await until(lambda: "Tue 05 Mar*" in header(week)[1], pilot.pause)
        assert "* differs from your usual week" in header(week)[0]
        assert "* closed this date: o restores the usual hours" in info(week)
        closed = schedule_of(backend, token)
        assert closed is not None
        assert closed["exceptions"] == [{"date": "2030-03-05", "hours": []}]
        await pilot.press("l", "o")  # Wednesday 6 March: closed, but Sam's hold stays
        await until(lambda: "Wed 06 Mar*" in header(week)[1], pilot.pause)
        await pilot.press("h", "o")  # Tuesday back to its usual hours
        await until(
            lambda: grid.cell_at(at("2030-03-05 10:00:00")).state is CellState.OPEN, pilot.pause
        )
        await until(lambda: "Tue 05 Mar*" not in header(week)[1], pilot.pause)
        assert "Wed 06 Mar*" in header(week)[1]
        assert grid.cell_at(at("2030-03-06 10:15:00")).state is CellState.HELD
        await pilot.press("h", "o")  # Monday is today: its usual week has no hours, so closing
        await until(lambda: len(toasts.raised) == 4, pilot.pause)  # it removes nothing
    assert toasts.texts() == [
        "Closed: Closed Tue 05 Mar: removed 4 open slots.",
        "Closed: Closed Wed 06 Mar: removed 3 open slots. 1 kept because held or booked: b"
        " lists them.",
        "Usual hours: Tue 05 Mar has its usual hours again: opened 4 slots.",
        "Closed: Closed Mon 04 Mar.",
    ]
    found = schedule_of(backend, token)
    assert found is not None
    assert found["exceptions"] == [
        {"date": "2030-03-04", "hours": []},
        {"date": "2030-03-06", "hours": []},
    ]
    assert server_slots(backend, token) == {
        **{f"2030-03-05 10:{m}:00": "AVAILABLE" for m in ("00", "15", "30", "45")},
        "2030-03-06 10:15:00": "RESERVED",
    }


async def test_a_date_painted_by_hand_is_marked_and_o_without_a_usual_week_says_how(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        week = await provider_screen(app, pilot)
        await pilot.press("l", "l", "l", "o")
        await until(lambda: bool(toasts.saying("no usual week yet")), pilot.pause)
        assert schedule_of(backend, token) is None
        put_schedule(
            backend, token, timeZone="UTC", weekly=TUESDAY_AND_WEDNESDAY_10_TO_11, horizonDays=7
        )
        await pilot.press("space", "ctrl+s")  # Thursday 09:00 painted by hand
        await until(lambda: "Thu 07 Mar*" in header(week)[1], pilot.pause)
        assert "* own hours this date: o restores the usual hours" in info(week)
        await pilot.press("left_square_bracket", "o")
        await until(lambda: bool(toasts.saying("The past cannot be changed")), pilot.pause)
    found = schedule_of(backend, token)
    assert found is not None
    assert found["exceptions"] == [
        {"date": "2030-03-07", "hours": [{"start": "09:00", "end": "09:15"}]}
    ]


# --- live ----------------------------------------------------------------------------------------


async def test_a_client_sees_the_slots_of_a_new_usual_week_as_they_are_made(
    backend: BackendThread,
) -> None:
    provider = backend.issue("provider", "ada", "Dr Ada")
    client = backend.issue("client", "sam", "Sam")
    ada, sam = app_for(backend, token=provider), app_for(backend, token=client)
    async with ada.run_test(size=(100, 30)) as pilot, sam.run_test(size=(100, 30)) as watcher:

        def client_ready() -> bool:
            screen = sam.screen
            return isinstance(screen, ClientScreen) and screen.loaded and sam.feed_state == "live"

        await until(client_ready, watcher.pause)
        seen = sam.screen
        assert isinstance(seen, ClientScreen)
        assert seen.provider_id == "ada"
        assert seen.grid.cell_at(at("2030-03-05 10:00:00")).state is CellState.EMPTY
        editor = await usual_week(ada, pilot)
        await pilot.press("l", *["j"] * 8, "v", "j", "j", "j", "space", "ctrl+s")
        await until(lambda: isinstance(ada.screen, ProviderScreen), pilot.pause)
        assert not editor.draft.pending

        def shown() -> bool:
            states = {seen.grid.cell_at(at(f"2030-03-05 10:{m}:00")).state for m in ("00", "45")}
            return states == {CellState.OPEN}

        await until(shown, watcher.pause)
        assert seen.loaded


# --- finding it ----------------------------------------------------------------------------------


async def test_the_palette_opens_the_usual_week_and_help_lists_its_keys(
    backend: BackendThread,
) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    async with app.run_test(size=(100, 30)) as pilot:
        week = await provider_screen(app, pilot)
        assert {"Usual week", "Close or restore this date"} <= set(palette_titles(app, week))
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)
        assert isinstance(app.screen, HelpScreen)
        keys = help_keys(app.screen)
        assert keys["Your usual week: the hours open every week"] == "w"
        assert keys["Close the date, or give it back its usual hours"] == "o"
        await pilot.press("escape", "ctrl+p")
        await until(lambda: app.screen is not week, pilot.pause)
        await pilot.press(*"Usual week")
        await pilot.pause()
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, UsualWeekScreen), pilot.pause)
        editor = app.screen
        assert isinstance(editor, UsualWeekScreen)
        assert "Change the time zone" in palette_titles(app, editor)
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)
        assert isinstance(app.screen, HelpScreen)
        keys = help_keys(app.screen)
        assert (keys["Save"], keys["Zone"], keys["Back"]) == ("^s", "z", "esc, w")
        assert keys["Remove the usual week"] == "D"
        assert keys["Toggle"] == "space"
        await pilot.press("escape", "w")
        await until(lambda: app.screen is week, pilot.pause)
