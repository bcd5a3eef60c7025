"""A provider's own calendars in the terminal app, against a real server that reads a real
iCalendar address (an aiohttp server in the test): Connected calendars (ctrl+p) adds one (what is
wrong said beside each field), shows how reading it goes in words, removes one after asking, and
sets and stops the calendar bookings are written to; the week draws the busy times in a style of
their own, marks a hold they overlap and says so in words, follows the feed, and warns of a
calendar that keeps failing. At 80x24."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from backend.runtime.clock import ManualClock
from backend.runtime.secret_box import new_key
from shared.timefmt import parse_time
from tests.backend.test_busy_refresh import event, ics
from tests.sqlite_template import migrated_copy
from tests.tui.contrast import illegible
from tests.tui.harness import BackendThread, app_for, key_bar_shows, until, window
from tests.tui.own_calendars import ics_address
from tests.tui.test_app import palette_shows
from tests.tui.test_help import legend_of
from tests.tui.test_offerings import fill
from tests.tui.test_provider_screen import Toasts, goto, provider_screen
from tests.tui.test_snapshots import hold
from tui.app import SlotbookApp
from tui.screens.busy_source_form import BusySourceForm
from tui.screens.calendars import EXPLAIN, CalendarsScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.help import HelpScreen
from tui.screens.note import NoteView
from tui.screens.provider import ProviderScreen
from tui.screens.write_back_form import WriteBackForm
from tui.widgets.week_grid import CellState

DENTIST = event("dentist", "20300305T103000Z", "20300305T111500Z")
"""Tuesday 5 March 10:30-11:15 UTC."""
GYM = event("gym", "20300306T140000Z", "20300306T150000Z")
"""Wednesday 6 March 14:00-15:00 UTC, when Ada is not open."""


@pytest.fixture
def backend(tmp_path: Path, frozen: ManualClock) -> Iterator[BackendThread]:
    """The server as one that reads calendars on this machine is run: loopback addresses
    allowed, and a key to seal their passwords with."""
    server = BackendThread(
        migrated_copy(tmp_path / "slotbook.db"),
        frozen,
        allow_private_addresses=True,
        secret_key=new_key(),
    )
    server.start()
    yield server
    server.close()


def said(screen: object, selector: str) -> str:
    assert isinstance(screen, (CalendarsScreen, BusySourceForm, WriteBackForm, NoteView))
    return str(screen.query_one(selector, Static).render())


def beside(form: BusySourceForm | WriteBackForm, key: str) -> tuple[str, bool]:
    note = form.query_one(f"#note-{key}", Static)
    return str(note.render()), note.has_class("-wrong")


async def read_calendars(backend: BackendThread) -> None:
    """Have the server read every calendar that is due now (it does so by itself every few
    seconds, and may have got there first: each is read once)."""
    await backend.run_async(backend.context.busy.refresh_due)


async def put(pilot: Pilot[None], form: BusySourceForm | WriteBackForm, **texts: str) -> None:
    """Put text in fields at once, as a paste would (typing an address key by key is slow)."""
    for key, text in texts.items():
        form.query_one(f"#field-{key}", Input).value = text
    await pilot.pause()


async def calendars_screen(app: SlotbookApp, pilot: Pilot[None]) -> CalendarsScreen:
    await pilot.press("ctrl+p")
    await until(lambda: isinstance(app.screen, CommandPalette), pilot.pause)
    await pilot.press(*"connected")
    await until(lambda: palette_shows(app, "Connected calendars"), pilot.pause)
    await pilot.press("enter")
    await until(lambda: isinstance(app.screen, CalendarsScreen) and app.screen.loaded, pilot.pause)
    listed = app.screen
    assert isinstance(listed, CalendarsScreen)
    return listed


async def test_connected_calendars_adds_reads_and_removes_one_and_sets_bookings_out(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    http = backend.http(token)
    app = app_for(backend, token=token, zone="UTC")
    toasts = Toasts()
    async with (
        ics_address(ics(DENTIST, GYM)) as served,
        app.run_test(size=(80, 24), message_hook=toasts) as pilot,
    ):
        week = await provider_screen(app, pilot)
        listed = await calendars_screen(app, pilot)
        assert said(listed, "#detail-name") == EXPLAIN
        assert said(listed, "#write-back") == (
            "Bookings out: written to no calendar of yours (w sets one)."
        )
        assert not key_bar_shows(listed, "f")
        assert not key_bar_shows(listed, "x")

        # Added: what the form can tell at once, then what the server refuses, beside each field.
        await pilot.press("a")
        await until(lambda: isinstance(app.screen, BusySourceForm), pilot.pause)
        form = app.screen
        assert isinstance(form, BusySourceForm)
        await fill(pilot, form, name="Personal", refreshMinutes="soon")
        await put(pilot, form, url="ftp://calendar")
        await pilot.press("ctrl+s")
        assert beside(form, "refreshMinutes") == ("is not a number of minutes (5-1440)", True)
        assert said(form, "#info") == "Not saved: 1 field to put right, said beside it."
        await fill(pilot, form, refreshMinutes="2")
        assert beside(form, "refreshMinutes") == ("minutes, 5-1440", False)  # gone with a change
        await pilot.press("ctrl+s")
        await until(lambda: beside(form, "url")[1], pilot.pause)
        assert beside(form, "url") == ("must be an http or https URL", True)
        assert beside(form, "refreshMinutes") == ("must be a whole number from 5 to 1440", True)
        assert said(form, "#info") == "Not saved: 2 fields to put right, said beside it."
        assert illegible(app) == []  # what is wrong, in its colours too
        assert form.query_one("#fields").max_scroll_y == 0  # every field in sight at 80x24
        assert http.get("/providers/ada/busy-sources").json() == {"sources": []}
        form.query_one("#field-allDayEvents", Select).value = "ignore"
        await put(pilot, form, url=served.url)
        await fill(pilot, form, refreshMinutes="5")
        await pilot.press("enter")
        await until(lambda: app.screen is listed and len(listed.rows) == 1, pilot.pause)
        assert toasts.texts()[-1] == "Added: Personal is connected: it is being read now."
        (made,) = http.get("/providers/ada/busy-sources").json()["sources"]
        assert (made["name"], made["kind"], made["url"]) == ("Personal", "ics", served.url)
        assert (made["refreshMinutes"], made["allDayEvents"]) == (5, "ignore")

        # Read now (f): the server reads it at once and says how it went, as the list does.
        assert key_bar_shows(listed, "f")
        await pilot.press("f")
        await until(lambda: bool(toasts.saying("Read now")), pilot.pause)
        await until(lambda: listed.rows[0].status.last_sync_at is not None, pilot.pause)
        assert toasts.texts("information")[-1] == (
            "Read now: Personal: last read 09:00, 2 events, 2 busy times"
        )
        assert said(listed, "#detail-status") == "Last read 09:00, 2 events, 2 busy times"
        assert said(listed, "#detail-url") == served.url
        assert said(listed, "#detail-name") == (
            "Personal: an iCalendar address, read every 5 minutes; all-day events ignored"
        )
        # Read once; once more, unchanged (304), if the server's own round got there first.
        assert served.answered in ([200], [200, 304])

        # Its busy times are on the week once the list is left.
        await pilot.press("escape")
        await until(lambda: len(week.calendars.busy) == 2, pilot.pause)
        assert week.grid.cell_at(int(parse_time("2030-03-05 10:30:00"))).state is CellState.BUSY

        # Removed, after asking: the week is free of it again.
        listed = await calendars_screen(app, pilot)
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
        await pilot.press("y")
        await until(lambda: not listed.rows, pilot.pause)
        assert said(listed, "#detail-name") == EXPLAIN
        assert http.get("/providers/ada/busy-sources").json() == {"sources": []}

        # Bookings out: set (the server's refusal beside the field first), then stopped.
        await pilot.press("w")
        await until(lambda: isinstance(app.screen, WriteBackForm), pilot.pause)
        out = app.screen
        assert isinstance(out, WriteBackForm)
        assert not key_bar_shows(out, "ctrl+r")  # nothing to stop yet
        await put(pilot, out, url="calendar.example.org/ada")
        await fill(pilot, out, username="ada", password="secret")
        await pilot.press("ctrl+s")
        await until(lambda: beside(out, "url")[1], pilot.pause)
        assert beside(out, "url") == ("must be an http or https URL", True)
        dav = "http://127.0.0.1:9/dav/ada/bookings/"
        await put(pilot, out, url=dav)
        await pilot.press("ctrl+s")
        await until(lambda: app.screen is listed and listed.write_calendar is not None, pilot.pause)
        assert (
            toasts.texts()[-1] == f"Bookings out: Your bookings are written to {dav} from now on."
        )
        assert said(listed, "#write-back") == (
            f"Bookings out: written to {dav}: nothing written yet (w changes it)"
        )
        kept = http.get("/providers/ada/calendar-write").json()["calendar"]
        assert (kept["url"], kept["username"]) == (dav, "ada")
        await pilot.press("w")
        await until(lambda: isinstance(app.screen, WriteBackForm), pilot.pause)
        again = app.screen
        assert isinstance(again, WriteBackForm)
        assert key_bar_shows(again, "ctrl+r")
        await pilot.press("ctrl+r")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
        await pilot.press("y")
        await until(lambda: app.screen is listed and listed.write_calendar is None, pilot.pause)
        assert http.get("/providers/ada/calendar-write").status_code == 404
        await pilot.press("escape")
        await until(lambda: not week.calendars.busy, pilot.pause)
    http.close()


async def test_the_week_draws_busy_times_marks_a_clash_and_warns_of_a_failing_calendar(
    backend: BackendThread,
) -> None:
    ada = backend.issue("provider", "ada", "Dr Ada")
    bob = backend.issue("client", "bob", "Bob Baker")
    with backend.http(ada) as http:
        opened = window(http, parse_time("2030-03-05 10:00:00"), parse_time("2030-03-05 12:00:00"))
    eleven = next(s for s in opened if s["timestamp"] == "2030-03-05 11:00:00")
    with backend.http(bob) as http:
        hold(http, eleven)  # before the calendar says anything
    app = app_for(backend, token=ada, zone="UTC")
    async with (
        ics_address(ics(DENTIST, GYM)) as served,
        app.run_test(size=(80, 24)) as pilot,
    ):
        with backend.http(ada) as http:
            body = {"name": "Personal", "kind": "ics", "url": served.url, "refreshMinutes": 5}
            assert http.post("/providers/ada/busy-sources", json=body).status_code == 201
        await read_calendars(backend)
        week = await provider_screen(app, pilot)
        await until(lambda: len(week.calendars.busy) == 2, pilot.pause)

        def cell(timestamp: str) -> tuple[CellState, str, str]:
            shown = week.grid.cell_at(int(parse_time(timestamp)))
            return shown.state, shown.glyph, shown.text

        busy = CellState.BUSY.glyph
        assert cell("2030-03-05 10:15:00") == (CellState.OPEN, "◦", "open")
        assert cell("2030-03-05 10:30:00") == (CellState.BUSY, busy, "Personal")  # open, yet busy
        assert cell("2030-03-05 10:45:00") == (CellState.BUSY, busy, "")
        assert cell("2030-03-05 11:00:00") == (CellState.CONFLICT, "!", "Bob Baker")
        assert cell("2030-03-05 11:15:00") == (CellState.OPEN, "◦", "open")
        assert cell("2030-03-06 14:00:00") == (CellState.BUSY, busy, "Personal")  # not open
        assert cell("2030-03-06 14:15:00") == (CellState.BUSY, busy, "")
        clash = (
            "! clashes with your calendar 'Personal' (Tue 05 Mar 10:30–11:15): keep it, or"
            " cancel it (b)"
        )
        await goto(pilot, week, "2030-03-05 11:00:00")
        assert clash in said_under_the_grid(week)
        assert "held by Bob Baker" in said_under_the_grid(week)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, NoteView), pilot.pause)
        assert said(app.screen, "#warning") == clash
        await pilot.press("escape")
        await goto(pilot, week, "2030-03-05 10:45:00")
        assert said_under_the_grid(week) == (
            "Tue 05 Mar 10:45  ·  open, but not bookable: busy in your calendar 'Personal'"
            " (Tue 05 Mar 10:30–11:15)"
        )
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)
        assert isinstance(app.screen, HelpScreen)
        legend = dict(legend_of(app.screen))
        assert legend[busy] == "busy in a calendar of yours: not bookable, open or not"
        assert legend["!"] == "a hold or booking your calendar has you busy during"
        await pilot.press("escape")

        # Bob lets the hold go: the feed says so, and the clash is gone with it.
        with backend.http(bob) as http:
            assert http.delete(f"/reservations/{eleven['timeSlotId']}").status_code == 200
        await until(lambda: cell("2030-03-05 11:00:00")[0] is CellState.BUSY, pilot.pause)
        assert cell("2030-03-05 11:00:00") == (CellState.BUSY, busy, "")
        await until(lambda: not week.calendars.conflicts, pilot.pause)  # read again after it

        # The calendar stops taking its login; three periods on, it is failing: the week says
        # so where it cannot be missed, and its last good busy times stay.
        served.refusing = True
        backend.clock.advance(15 * 60)
        await read_calendars(backend)
        await pilot.press("r")
        warning = week.query_one("#calendar-warning", Static)
        await until(lambda: warning.display and warning.has_class("-shown"), pilot.pause)
        assert str(warning.render()).startswith(
            "⚠ Calendar 'Personal' has not been read since 09:00: "
        )
        assert str(warning.render()).endswith(" · ctrl+p → Connected calendars")
        assert "401" in str(warning.render())
        assert warning.region.y == 1  # under the status line
        assert illegible(app) == []
        assert cell("2030-03-05 10:30:00")[0] is CellState.BUSY
        assert served.answered == [200, 401]


def said_under_the_grid(week: ProviderScreen) -> str:
    return str(week.query_one("#info", Static).render())
