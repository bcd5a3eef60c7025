"""Appointments longer than one slot, moves and notes, in the terminal app against a real server:
the client chooses a length, holds it with a note, changes the note and moves the appointment
from My reservations; the provider sees each appointment as one block and reads its note."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList

from backend.runtime.clock import ManualClock
from shared.patterns import NOTE_PATTERN
from shared.timefmt import parse_time
from tests.tui.contrast import screen_lines
from tests.tui.harness import BackendThread, StaticBackend, app_for, until, window
from tests.tui.test_client_screen import (
    client_screen,
    dialog,
    goto,
    reservations_screen,
    text_of,
)
from tests.tui.test_provider_screen import Toasts, provider_screen
from tui.app import SlotbookApp
from tui.backends import Connection
from tui.screens.bookings import BookingsScreen
from tui.screens.client import ClientScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.help import HelpScreen
from tui.screens.hold import HoldDialog
from tui.screens.note import NoteDialog, NoteView, cleaned, first_words
from tui.widgets.status_line import StatusLine
from tui.widgets.week_grid import CONTINUED, CellState

TUESDAY_10 = "2030-03-05 10:00:00"
NOTE = "First visit; knee pain since March, worse on the stairs in the morning"


@pytest.fixture
def backend(tmp_path: Path, frozen: ManualClock) -> Iterator[BackendThread]:
    """The real server; its sweeper runs only when a test says (none here needs it)."""
    server = BackendThread(tmp_path / "slotbook.db", frozen, sweep_seconds=3600)
    server.start()
    yield server
    server.close()


def at(text: str) -> int:
    return int(parse_time(text))


def tuesday(minute: int) -> str:
    """Tuesday 5 March 2030, `minute` minutes after 10:00 (UTC)."""
    hours, minutes = divmod(minute, 60)
    return f"2030-03-05 {10 + hours:02d}:{minutes:02d}:00"


def open_hours(backend: BackendThread, start: str, end: str, provider: str = "ada") -> str:
    """Open [start, end) for the provider (made with its name if new); its token."""
    token = backend.issue("provider", provider, {"ada": "Dr Ada", "bob": "Dr Bob"}[provider])
    with backend.http(token) as http:
        window(http, parse_time(start), parse_time(end))
    return token


def open_at(http: httpx.Client, timestamp: str) -> str:
    """The id of the open slot that starts then (of the only provider open then)."""
    listed = http.get(
        "/availability", params={"startTime": timestamp, "endTime": "2030-04-01 00:00:00"}
    ).json()["availableTimeSlots"]
    slot_id: str = next(s for s in listed if s["timestamp"] == timestamp)["timeSlotId"]
    return slot_id


def hold_over_http(
    backend: BackendThread,
    token: str,
    timestamp: str,
    *,
    minutes: int = 15,
    note: str | None = None,
    confirm: bool = False,
) -> dict[str, Any]:
    """Hold (and perhaps confirm) `minutes` from a slot as this client; the reservation."""
    with backend.http(token) as http:
        slot_id = open_at(http, timestamp)
        body: dict[str, Any] = {"timeSlot": timestamp, "timeSlotId": slot_id, "minutes": minutes}
        if note is not None:
            body["note"] = note
        answer = http.post("/availability/reserve", json=body)
        assert answer.status_code == 201, answer.text
        if confirm:
            answer = http.put(f"/availability/confirm/{slot_id}", json={"timeSlot": timestamp})
            assert answer.status_code == 200, answer.text
    reservation: dict[str, Any] = answer.json()["reservation"]
    return reservation


def move_over_http(
    backend: BackendThread, token: str, reservation: dict[str, Any], timestamp: str
) -> str:
    """Move this client's reservation to start at an open slot; the new first slot's id."""
    with backend.http(token) as http:
        target = open_at(http, timestamp)
        moved = http.post(
            f"/reservations/{reservation['timeSlotId']}/move",
            json={"toTimeSlotId": target, "timeSlot": timestamp},
        )
        assert moved.status_code == 200, moved.text
    return target


def reservations(backend: BackendThread, token: str) -> list[tuple[str, int, str, str]]:
    """(start, minutes, status, note) of each of the client's appointments, as the server says."""
    with backend.http(token) as http:
        rows: list[dict[str, Any]] = http.get("/reservations").json()["reservations"]
    return [(r["timestamp"], r["minutes"], r["status"], r.get("note", "")) for r in rows]


def states(screen: Any, *timestamps: str) -> list[CellState]:
    return [screen.grid.cell_at(at(t)).state for t in timestamps]


def shown(screen: Any, *timestamps: str) -> str:
    """What the grid shows at these times, a letter a cell: o open (whether the length chosen
    fits from there or not), h held by me, b booked by me, t taken."""
    letters = {
        CellState.OPEN: "o",
        CellState.SHORT: "o",
        CellState.MINE_HELD: "h",
        CellState.MINE_BOOKED: "b",
        CellState.TAKEN: "t",
    }
    return "".join(letters.get(state, "?") for state in states(screen, *timestamps))


def status_extra(screen: Any) -> str:
    return str(screen.query_one(StatusLine).extra)


def deafen(app: SlotbookApp) -> None:
    """The app stops hearing about changes: what it shows is what it last heard."""
    for worker in app.workers:
        if worker.group == "feed":
            worker.cancel()


async def bookings_listing(app: SlotbookApp, pilot: Pilot[None], rows: int) -> DataTable[Any]:
    """`b` on the provider's week: the table of bookings, once it lists this many."""
    await pilot.press("b")
    bookings = await the(app, pilot, BookingsScreen)
    table: DataTable[Any] = bookings.query_one(DataTable)
    await until(lambda: table.row_count == rows, pilot.pause)
    return table


async def the(app: SlotbookApp, pilot: Pilot[None], kind: type[Any]) -> Any:
    """Wait for a screen of this kind to be on top; it."""
    await until(lambda: isinstance(app.screen, kind), pilot.pause)
    return app.screen


# --- the length of an appointment -----------------------------------------------------------------


async def test_plus_and_minus_change_the_length_in_the_status_line_within_the_rules(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        assert status_extra(screen) == "length 15 min (+ -)"
        await pilot.press("minus")
        await until(lambda: bool(toasts.raised), pilot.pause)
        await pilot.press("plus", "equals_sign")
        assert status_extra(screen) == "length 45 min (+ -)"
        await pilot.press(*["plus"] * 6)
        assert status_extra(screen) == "length 120 min (+ -)"
        await pilot.press("minus")
        assert status_extra(screen) == "length 105 min (+ -)"
    assert toasts.texts() == [
        "Already the shortest: one slot, 15 min.",
        "Already the longest this server takes: 120 min.",
    ]


async def test_the_grid_marks_what_a_hold_would_cover_and_where_the_length_does_not_fit(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        assert screen.grid.span == frozenset(), "one slot: the cursor alone shows it"
        await pilot.press("plus", "plus")
        four = [tuesday(m) for m in (0, 15, 30, 45)]
        assert states(screen, *four) == [CellState.OPEN] * 2 + [CellState.SHORT] * 2
        assert screen.grid.span == {at(t) for t in four[:3]}
        assert text_of(screen, "#info") == ("Tue 05 Mar 10:00  ·  free: Enter holds 10:00–10:45")
        await pilot.press("j", "j")
        assert text_of(screen, "#info").endswith(
            "open, but 45 min do not fit from here: - shortens, n finds where they do"
        )
        assert screen.grid.span == {at(tuesday(m)) for m in (30, 45, 60)}
        hold_over_http(backend, backend.issue("client", "kim", "Kim"), tuesday(30))
        await until(lambda: states(screen, four[0])[0] is CellState.SHORT, pilot.pause)
        assert states(screen, *four) == [
            CellState.SHORT,
            CellState.SHORT,
            CellState.TAKEN,
            CellState.SHORT,
        ]
        await pilot.press("minus", "minus")
        assert shown(screen, *four) == "ooto"
        assert states(screen, four[3]) == [CellState.OPEN]


async def test_enter_where_the_length_does_not_fit_says_so_and_n_finds_where_it_does(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(30))  # 30 minutes on Tuesday
    open_hours(backend, "2030-03-13 14:00:00", "2030-03-13 15:00:00")  # an hour next Wednesday
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        assert screen.grid.cursor_start == at(TUESDAY_10), "the week opens on the first free"
        await pilot.press("plus", "plus")  # 45 minutes: Tuesday is too short
        await pilot.press("enter")
        await until(lambda: bool(toasts.raised), pilot.pause)
        assert app.screen is screen, "nothing held"
        await pilot.press("n")  # the server finds it, in the week after
        await until(
            lambda: screen.grid.cursor_start == at("2030-03-13 14:00:00") and screen.loaded,
            pilot.pause,
        )
    assert toasts.texts() == [
        "45 minutes from 10:00 are not all free. Pick a start marked ◦ (n finds the next one),"
        " or - for a shorter appointment."
    ]


async def test_holding_a_length_part_of_which_was_just_taken_says_so_and_holds_nothing(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        deafen(app)
        hold_over_http(backend, backend.issue("client", "kim", "Kim"), tuesday(30))
        await goto(pilot, screen, TUESDAY_10)
        await pilot.press("plus", "plus")
        assert states(screen, TUESDAY_10) == [CellState.OPEN], "as far as the app knows"
        await pilot.press("enter")
        await until(lambda: bool(toasts.raised), pilot.pause)
        await until(lambda: states(screen, TUESDAY_10) == [CellState.SHORT], pilot.pause)
        assert app.screen is screen
    assert reservations(backend, sam) == []
    assert toasts.texts() == [
        "Just taken: Not all of Tue 05 Mar 10:00–10:45 is free any more. Pick another start"
        " (n finds the next one)."
    ]


async def test_a_length_that_fits_nowhere_for_a_month_says_so(backend: BackendThread) -> None:
    open_hours(backend, TUESDAY_10, tuesday(30))
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await client_screen(app, pilot)
        await pilot.press("plus", "plus", "n")
        await until(lambda: bool(toasts.raised), pilot.pause)
    assert toasts.texts() == ["No open 45 min slot in the next 31 days."]


# --- holding with a note --------------------------------------------------------------------------


async def test_enter_holds_the_whole_length_and_a_note_written_in_the_dialog_reaches_the_provider(
    backend: BackendThread,
) -> None:
    ada = open_hours(backend, TUESDAY_10, tuesday(60))
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        await pilot.press("plus", "plus", "enter")
        held = await dialog(app, pilot)
        assert text_of(held, "#when") == (
            "Dr Ada\nTuesday 05 March, 10:00–10:45 (45\N{NO-BREAK SPACE}min)"  # never broken
        )
        assert held.slot.minutes == 45
        assert shown(screen, *[tuesday(m) for m in (0, 15, 30, 45)]) == "hhho"
        assert reservations(backend, sam) == [(TUESDAY_10, 45, "RESERVED", "")]
        await pilot.press("e")
        note = held.query_one("#note", Input)
        assert note.has_focus
        await pilot.press(*"Knee, cxe")  # letters that are keys elsewhere are typed here
        await pilot.press("enter")
        await until(lambda: bool(toasts.saying("Note saved")), pilot.pause)
        assert not note.has_focus
        assert reservations(backend, sam) == [(TUESDAY_10, 45, "RESERVED", "Knee, cxe")]
        await pilot.press("c")
        await until(lambda: not isinstance(app.screen, HoldDialog), pilot.pause)
        await until(lambda: states(screen, tuesday(30))[0] is CellState.MINE_BOOKED, pilot.pause)
        await pilot.press("enter")  # on my booking: where to change it
        await until(lambda: bool(toasts.saying("You have booked this")), pilot.pause)
    assert reservations(backend, sam) == [(TUESDAY_10, 45, "CONFIRMED", "Knee, cxe")]
    with backend.http(ada) as http:
        calendar = http.get(
            "/providers/ada/slots", params={"startTime": TUESDAY_10, "endTime": tuesday(60)}
        ).json()["timeSlots"]
    assert [s.get("note") for s in calendar] == ["Knee, cxe"] * 3 + [None]
    assert toasts.texts()[:2] == ["Note saved.", "Booked: Tue 05 Mar 10:00–10:45 with Dr Ada"]


async def test_a_note_typed_in_the_dialog_is_sent_when_it_closes_or_confirms(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await goto(pilot, screen, TUESDAY_10)
        await pilot.press("enter")
        await dialog(app, pilot)
        await pilot.press("e", *"Hip", "escape")  # Esc keeps the hold, and the note
        await until(lambda: app.screen is screen, pilot.pause)
        assert reservations(backend, sam) == [(TUESDAY_10, 15, "RESERVED", "Hip")]
        await pilot.press("enter")  # the hold again: its note is in the dialog
        again = await dialog(app, pilot)
        assert again.query_one("#note", Input).value == "Hip"
        again.query_one("#note", Input).value = "  Hip   and knee "
        await pilot.click("#confirm")
        await until(lambda: app.screen is screen, pilot.pause)
    assert reservations(backend, sam) == [(TUESDAY_10, 15, "CONFIRMED", "Hip and knee")]


# --- My reservations: the note and moving ---------------------------------------------------------


async def test_my_reservations_show_the_length_and_note_and_e_changes_the_note(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    sam = backend.issue("client", "sam", "Sam")
    hold_over_http(backend, sam, TUESDAY_10, minutes=30, note=NOTE, confirm=True)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(120, 30), message_hook=toasts) as pilot:
        await client_screen(app, pilot)
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        table = listed.query_one(DataTable)
        await until(lambda: table.row_count == 1, pilot.pause)
        assert [str(c) for c in table.get_row_at(0)] == [
            "Tue 05 Mar 10:00–10:30",
            "Dr Ada",
            "booked",
            "",
            first_words(NOTE, 40),
        ]
        await pilot.press("e")
        writing = await the(app, pilot, NoteDialog)
        assert writing.query_one(Input).value == NOTE
        await pilot.press("escape")  # keeps it as it was
        await until(lambda: app.screen is listed, pilot.pause)
        await pilot.press("e")
        writing = await the(app, pilot, NoteDialog)
        writing.query_one(Input).value = "Knee only"
        await pilot.press("enter")
        await until(lambda: str(table.get_row_at(0)[4]) == "Knee only", pilot.pause)
        await pilot.press("e")
        writing = await the(app, pilot, NoteDialog)
        writing.query_one(Input).value = "   "
        await pilot.press("enter")
        await until(lambda: str(table.get_row_at(0)[4]) == "", pilot.pause)
    assert reservations(backend, sam) == [(TUESDAY_10, 30, "CONFIRMED", "")]
    assert toasts.texts() == ["Note saved.", "Note removed."]


EMBEDDED = "embedded · /root/.local/share/slotbook/slotbook.db"
"""What the status line names the server as under `make run`, for a user whose home is /root."""


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_the_status_line_while_moving_says_it_whole(
    backend: BackendThread, size: tuple[int, int]
) -> None:
    """At 120 columns the whole line shows, as it does before the move; at 80 all but the
    server's address (which the line gives up first)."""
    open_hours(backend, TUESDAY_10, tuesday(60))
    dorothy = backend.issue("client", "dorothy-vaughan", "Dorothy Vaughan")
    hold_over_http(backend, dorothy, tuesday(30), confirm=True)
    connection = Connection(base_url=backend.url, label=EMBEDDED, token=dorothy)
    app = SlotbookApp(StaticBackend(connection), zone=ZoneInfo("Etc/UTC"), clock=backend.clock.now)
    async with app.run_test(size=size) as pilot:
        screen = await client_screen(app, pilot)
        await until(lambda: app.feed_state == "live", pilot.pause)
        before = status_shown(app)
        await pilot.press("m")
        await reservations_screen(app, pilot)
        await pilot.press("v")
        await until(lambda: app.screen is screen and screen.moving is not None, pilot.pause)
        await pilot.pause()
        shown = status_shown(app)
        assert "│ moving Tue 10:30 │ Etc/UTC │" in shown, shown
        assert len(shown) <= len(before), "a move adds no more than the length it replaces"
        if size[0] >= 120:
            assert shown.endswith(EMBEDDED), shown


def status_shown(app: SlotbookApp) -> str:
    """The status line as the terminal shows it (the top line of the screen)."""
    return "".join(segment.text for segment in screen_lines(app)[0]).strip()


async def test_v_moves_a_booking_to_a_start_picked_on_the_grid(backend: BackendThread) -> None:
    open_hours(backend, TUESDAY_10, tuesday(120))
    sam = backend.issue("client", "sam", "Sam")
    hold_over_http(backend, sam, TUESDAY_10, minutes=45, note="Knee", confirm=True)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await pilot.press("right_square_bracket")  # away from its week: the move comes back
        await until(lambda: screen.monday.day == 11 and screen.loaded, pilot.pause)
        await pilot.press("m")
        await reservations_screen(app, pilot)
        await pilot.press("v")
        await until(
            lambda: (
                app.screen is screen
                and screen.loaded
                and screen.grid.cursor_start == at(TUESDAY_10)
            ),
            pilot.pause,
        )
        assert status_extra(screen) == "moving Tue 10:00"
        assert text_of(screen, "#info").endswith(
            "where it is now: pick another start, or Esc to keep it here"
        )
        await pilot.press("enter")  # where it is: nothing to do
        await pilot.press("plus")  # a move keeps the length
        await goto(pilot, screen, tuesday(90))
        assert states(screen, tuesday(90))[0] is CellState.SHORT
        await pilot.press("enter")  # 45 minutes from 11:30 run past the last open slot
        await goto(pilot, screen, tuesday(60))
        assert text_of(screen, "#info").endswith("Enter moves it to 11:00–11:45")
        await pilot.press("enter")
        asked = await the(app, pilot, ConfirmDialog)
        assert text_of(asked, "#question") == (
            "Move your booking with Dr Ada on Tue 05 Mar 10:00–10:45 to Tue 05 Mar 11:00–11:45?"
            " The old time is let go only once the new one is yours."
        )
        await pilot.press("y")
        await until(lambda: bool(toasts.saying("Moved")), pilot.pause)
        await until(
            lambda: shown(screen, *[tuesday(m) for m in (0, 15, 30, 45, 60, 75, 90)]) == "oooobbb",
            pilot.pause,
        )
        assert status_extra(screen) == "length 45 min (+ -)"
    assert reservations(backend, sam) == [(tuesday(60), 45, "CONFIRMED", "Knee")]
    assert toasts.texts() == [
        "Moving: Pick the new start of your booking on the grid (any provider), then Enter."
        " Esc keeps it where it is.",
        "That is where it is now. Pick another start, or Esc to keep it there.",
        "A move keeps the length (45 min).",
        "45 minutes from 11:30 are not all free. Pick another start (n finds the next one), or"
        " Esc to keep it where it is.",
        "Moved: Tue 05 Mar 11:00–11:45 with Dr Ada",
    ]


async def test_a_move_may_overlap_its_old_place_and_go_to_another_provider(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    open_hours(backend, "2030-03-06 14:00:00", "2030-03-06 15:00:00", provider="bob")
    sam = backend.issue("client", "sam", "Sam")
    hold_over_http(backend, sam, TUESDAY_10, minutes=30)
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await pilot.press("m")
        await reservations_screen(app, pilot)
        await pilot.press("v")
        await until(lambda: screen.moving is not None and screen.loaded, pilot.pause)
        assert states(screen, tuesday(15))[0] is CellState.MINE_HELD
        await pilot.press("n")  # 10:15: the hold's own second slot counts as free
        await until(lambda: screen.grid.cursor_start == at(tuesday(15)), pilot.pause)
        await pilot.press("enter")
        await the(app, pilot, ConfirmDialog)
        await pilot.press("y")
        await until(lambda: screen.moving is None, pilot.pause)
        assert reservations(backend, sam) == [(tuesday(15), 30, "RESERVED", "")]
        await until(
            lambda: shown(screen, *[tuesday(m) for m in (0, 15, 30, 45)]) == "ohho",
            pilot.pause,
        )
        await pilot.press("p", "down", "enter")  # looking at Dr Bob's week
        await until(lambda: screen.provider_id == "bob" and screen.loaded, pilot.pause)
        await pilot.press("m")
        await reservations_screen(app, pilot)
        await pilot.press("v")  # back to Dr Ada's week, where it is
        await until(
            lambda: (
                screen.moving is not None
                and screen.provider_id == "ada"
                and shown(screen, *[tuesday(m) for m in (0, 15, 30, 45)]) == "ohho"
            ),
            pilot.pause,
        )
        assert screen.query_one("#providers", OptionList).highlighted == 0
        await pilot.press("p", "down", "enter")  # Dr Bob
        await until(lambda: screen.provider_id == "bob" and screen.loaded, pilot.pause)
        await goto(pilot, screen, "2030-03-06 14:30:00")
        await pilot.press("enter")
        asked = await the(app, pilot, ConfirmDialog)
        assert text_of(asked, "#question").endswith(
            "to Wed 06 Mar 14:30–15:00 with Dr Bob? The old time is let go only once the new"
            " one is yours."
        )
        await pilot.press("enter")
        await until(lambda: screen.moving is None, pilot.pause)
    assert reservations(backend, sam) == [("2030-03-06 14:30:00", 30, "RESERVED", "")]


async def test_escape_stops_moving_and_a_time_just_taken_is_not_moved_to(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    sam = backend.issue("client", "sam", "Sam")
    hold_over_http(backend, sam, TUESDAY_10, confirm=True)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await pilot.press("m")
        await reservations_screen(app, pilot)
        await pilot.press("v")
        await until(lambda: screen.moving is not None and screen.loaded, pilot.pause)
        await pilot.press("question_mark")
        keys = help_keys(await the(app, pilot, HelpScreen))
        assert keys["Move it here"] == "⏎, space"
        assert keys["Stop moving (keep it where it is)"] == "esc"
        assert "Hold" not in keys, "Enter moves, while moving"
        await pilot.press("escape")
        await until(lambda: app.screen is screen, pilot.pause)
        await pilot.press("escape")
        assert screen.moving is None
        assert status_extra(screen) == "length 15 min (+ -)"
        await pilot.press("m")
        await reservations_screen(app, pilot)
        await pilot.press("v")
        await until(lambda: screen.moving is not None and screen.loaded, pilot.pause)
        deafen(app)
        hold_over_http(backend, backend.issue("client", "kim", "Kim"), tuesday(45))
        await goto(pilot, screen, tuesday(45))
        await pilot.press("enter")
        await the(app, pilot, ConfirmDialog)
        await pilot.press("y")
        await until(lambda: bool(toasts.saying("Not moved:")), pilot.pause)
        assert screen.moving is not None, "still moving: another start may be picked"
    assert reservations(backend, sam) == [(TUESDAY_10, 15, "CONFIRMED", "")]
    assert toasts.texts("warning") == [
        "Not moved: That time is not free any more. Pick another start, or Esc to keep it where"
        " it was."
    ]


async def test_my_week_follows_a_move_and_a_note_made_on_another_device(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    sam = backend.issue("client", "sam", "Sam")
    held = hold_over_http(backend, sam, TUESDAY_10, minutes=30)
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await until(lambda: app.feed_state == "live", pilot.pause)
        moved_to = move_over_http(backend, sam, held, tuesday(30))
        four = [tuesday(m) for m in (0, 15, 30, 45)]
        await until(lambda: shown(screen, *four) == "oohh", pilot.pause)
        with backend.http(sam) as http:
            noted = http.patch(f"/reservations/{moved_to}", json={"note": "Hip"})
            assert noted.status_code == 200, noted.text
        await until(
            lambda: moved_to in screen.mine and screen.mine[moved_to].note == "Hip",
            pilot.pause,
        )
        await goto(pilot, screen, tuesday(45))
        assert text_of(screen, "#info").endswith("held by you (10:30–11:00): Enter to confirm")
        await pilot.press("enter")
        opened = await dialog(app, pilot)
        assert opened.slot.time_slot_id == moved_to
        assert opened.query_one("#note", Input).value == "Hip"


async def test_another_clients_move_frees_the_old_time_and_takes_the_new_on_my_week(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    kim = backend.issue("client", "kim", "Kim")
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await until(lambda: app.feed_state == "live", pilot.pause)
        await goto(pilot, screen, tuesday(45))
        held = hold_over_http(backend, kim, TUESDAY_10, minutes=30)
        four = [tuesday(m) for m in (0, 15, 30, 45)]
        await until(lambda: shown(screen, *four) == "ttoo", pilot.pause)
        move_over_http(backend, kim, held, tuesday(30))
        await until(lambda: shown(screen, *four) == "oott", pilot.pause)
        assert screen.mirror.at("ada", at(TUESDAY_10)) is not None, "let go, so open again"
    assert toasts.texts("warning") == ["The slot under your cursor was just taken."]


# --- the provider's side --------------------------------------------------------------------------


async def test_the_provider_sees_an_appointment_as_one_block_and_enter_reads_its_note(
    backend: BackendThread,
) -> None:
    ada = open_hours(backend, TUESDAY_10, tuesday(60))
    hold_over_http(
        backend,
        backend.issue("client", "sam", "Sam Lee"),
        TUESDAY_10,
        minutes=45,
        note=NOTE,
        confirm=True,
    )
    app = app_for(backend, token=ada)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        cells = [screen.grid.cell_at(at(tuesday(m))) for m in (0, 15, 30, 45)]
        assert [(c.state, c.glyph, c.text) for c in cells] == [
            (CellState.BOOKED, "◉", "Sam Lee"),
            (CellState.BOOKED, CONTINUED, NOTE),
            (CellState.BOOKED, CONTINUED, ""),
            (CellState.OPEN, "◦", "open"),
        ]
        assert screen.grid.move_to(at(tuesday(15)))
        await pilot.pause()
        assert text_of(screen, "#info") == (
            "Tue 05 Mar 10:15  ·  booked by Sam Lee, 10:00–10:45  ·  “First visit; knee pain"
            " since March…” (Enter reads it)"
        )
        await pilot.press("enter")
        shown = await the(app, pilot, NoteView)
        assert text_of(shown, "#title") == "Sam Lee's booking"
        assert text_of(shown, "#what") == "Tuesday 05 March, 10:00–10:45 (45 min)"
        assert text_of(shown, "#note") == NOTE
        await pilot.press("escape")
        await until(lambda: app.screen is screen, pilot.pause)
        assert screen.grid.move_to(at(tuesday(45)))
        await pilot.press("enter")  # an open slot: no appointment to read
        await pilot.pause()
        assert app.screen is screen


async def test_the_providers_week_follows_moves_and_notes_live(backend: BackendThread) -> None:
    ada = open_hours(backend, TUESDAY_10, tuesday(60))
    sam = backend.issue("client", "sam", "Sam")
    held = hold_over_http(backend, sam, TUESDAY_10, minutes=30, note="Knee")
    app = app_for(backend, token=ada)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        await until(lambda: app.feed_state == "live", pilot.pause)

        def texts() -> list[tuple[CellState, str]]:
            cells = [screen.grid.cell_at(at(tuesday(m))) for m in (0, 15, 30, 45)]
            return [(c.state, c.text) for c in cells]

        assert texts() == [
            (CellState.HELD, "Sam"),
            (CellState.HELD, "Knee"),
            (CellState.OPEN, "open"),
            (CellState.OPEN, "open"),
        ]
        with backend.http(ada) as http:
            calendar = http.get(
                "/providers/ada/slots", params={"startTime": TUESDAY_10, "endTime": tuesday(60)}
            ).json()["timeSlots"]
        with backend.http(sam) as http:
            moved = http.post(
                f"/reservations/{held['timeSlotId']}/move",
                json={"toTimeSlotId": calendar[1]["timeSlotId"], "timeSlot": tuesday(15)},
            )
            assert moved.status_code == 200, moved.text
        await until(
            lambda: (
                texts()
                == [
                    (CellState.OPEN, "open"),
                    (CellState.HELD, "Sam"),
                    (CellState.HELD, "Knee"),
                    (CellState.OPEN, "open"),
                ]
            ),
            pilot.pause,
        )
        with backend.http(sam) as http:
            noted = http.patch(f"/reservations/{calendar[2]['timeSlotId']}", json={"note": "Hip"})
            assert noted.status_code == 200, noted.text
        await until(lambda: texts()[2] == (CellState.HELD, "Hip"), pilot.pause)


async def test_bookings_list_one_row_an_appointment_the_time_left_on_holds_and_its_note(
    backend: BackendThread,
) -> None:
    ada = open_hours(backend, TUESDAY_10, tuesday(60))
    sam = backend.issue("client", "sam", "Sam")
    hold_over_http(backend, sam, TUESDAY_10, minutes=30, note=NOTE, confirm=True)
    hold_over_http(backend, sam, tuesday(30))
    app = app_for(backend, token=ada)
    toasts = Toasts()
    async with app.run_test(size=(120, 30), message_hook=toasts) as pilot:
        await provider_screen(app, pilot)
        table = await bookings_listing(app, pilot, 2)
        assert [[str(c) for c in table.get_row_at(i)] for i in range(2)] == [
            ["Tue 05 Mar 10:00–10:30", "Sam", "booked", "", first_words(NOTE, 40)],
            ["Tue 05 Mar 10:30", "Sam", "held", "30:00 left", ""],
        ]
        backend.clock.advance(75)  # the hold's time left counts down, as in My reservations
        await until(lambda: str(table.get_row_at(1)[3]) == "28:45 left", pilot.pause)
        await pilot.press("enter")
        shown = await the(app, pilot, NoteView)
        assert text_of(shown, "#note") == NOTE
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, BookingsScreen), pilot.pause)
        await pilot.press("x")
        asked = await the(app, pilot, ConfirmDialog)
        assert text_of(asked, "#question").startswith(
            "Cancel Sam's booking on Tue 05 Mar 10:00–10:30?"
        )
        await pilot.press("y")
        await until(lambda: table.row_count == 1, pilot.pause)
    assert reservations(backend, sam) == [(tuesday(30), 15, "RESERVED", "")]


async def test_bookings_follow_an_appointment_moved_away_to_another_provider(
    backend: BackendThread,
) -> None:
    ada = open_hours(backend, TUESDAY_10, tuesday(60))
    open_hours(backend, "2030-03-06 14:00:00", "2030-03-06 15:00:00", provider="bob")
    sam = backend.issue("client", "sam", "Sam")
    held = hold_over_http(backend, sam, TUESDAY_10, minutes=30, note="Knee")
    app = app_for(backend, token=ada)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        await pilot.press("b")
        bookings = await the(app, pilot, BookingsScreen)
        table = bookings.query_one(DataTable)
        await until(lambda: table.row_count == 1 and app.feed_state == "live", pilot.pause)
        move_over_http(backend, sam, held, "2030-03-06 14:00:00")
        await until(lambda: table.row_count == 0, pilot.pause)
        await pilot.press("escape")
        await until(lambda: app.screen is screen, pilot.pause)
        assert screen.grid.cell_at(at(TUESDAY_10)).state is CellState.OPEN


async def test_a_provider_cancelling_a_long_booking_tells_the_client_once(
    backend: BackendThread,
) -> None:
    ada = open_hours(backend, TUESDAY_10, tuesday(60))
    sam = backend.issue("client", "sam", "Sam")
    booked = hold_over_http(backend, sam, TUESDAY_10, minutes=45, confirm=True)
    app = app_for(backend, token=sam)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await client_screen(app, pilot)
        await until(lambda: app.feed_state == "live", pilot.pause)
        with backend.http(ada) as http:
            assert http.delete(f"/reservations/{booked['timeSlotId']}").status_code == 200
        await until(lambda: states(screen, tuesday(30))[0] is CellState.OPEN, pilot.pause)
        await pilot.pause(0.2)
    assert [t.message for t in toasts.raised if t.title == "Cancelled"] == [
        "Your booking with Dr Ada on Tue 05 Mar 10:00–10:45 was cancelled by the provider."
        " The time is open again."
    ]


async def test_a_provider_cancelling_a_long_booking_is_told_its_whole_time(
    backend: BackendThread,
) -> None:
    ada = open_hours(backend, TUESDAY_10, tuesday(60))
    hold_over_http(backend, backend.issue("client", "sam", "Sam"), TUESDAY_10, minutes=30)
    app = app_for(backend, token=ada)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await provider_screen(app, pilot)
        await bookings_listing(app, pilot, 1)
        await pilot.press("x")
        asked = await the(app, pilot, ConfirmDialog)
        assert asked.question == (
            "Cancel Sam's hold on Tue 05 Mar 10:00–10:30? They will be told, and the time is"
            " open again."
        )
        await pilot.press("y")
        await until(lambda: bool(toasts.saying("Cancelled")), pilot.pause)
    assert toasts.saying("Cancelled")[0].message == (
        "Cancelled Tue 05 Mar 10:00–10:30; the time is open again."
    )


# --- keys in help ---------------------------------------------------------------------------------


async def test_help_lists_the_length_keys_and_my_reservations_list_move_and_note(
    backend: BackendThread,
) -> None:
    open_hours(backend, TUESDAY_10, tuesday(60))
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await pilot.press("question_mark")
        shown = await the(app, pilot, HelpScreen)
        keys = help_keys(shown)
        assert keys["A longer appointment (one slot more)"] == "+, ="
        assert keys["A shorter appointment (one slot less)"] == "-"
        assert "Stop moving (keep it where it is)" not in keys, "only while moving"
        legend = as_text(shown._legend(screen.legend()))
        means = "open, but the length chosen does not fit from here"
        assert any("◔" in line and means in line for line in legend.splitlines())
        await pilot.press("escape", "m")
        await reservations_screen(app, pilot)
        await pilot.press("question_mark")
        shown = await the(app, pilot, HelpScreen)
        keys = help_keys(shown)
        assert (keys["Move"], keys["Note"]) == ("v", "e")
        assert isinstance(screen, ClientScreen)


def as_text(renderable: Any) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def help_keys(screen: HelpScreen) -> dict[str, str]:
    from tests.tui.test_app import help_keys as keys_of

    return keys_of(screen)


def test_a_note_is_sent_as_the_server_takes_it_whatever_was_typed_or_pasted() -> None:
    typed = "  First\u200b visit;\tknee\u202e pain\x07 \u00a0 "
    assert cleaned(typed) == "First visit; knee pain"
    assert re.fullmatch(NOTE_PATTERN, cleaned(typed))
    assert cleaned(" \u200b ") == ""
    assert first_words("knee pain since March", 12) == "knee pain…"
    assert first_words("knee", 12) == "knee"
