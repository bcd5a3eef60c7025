"""The waitlist in the terminal app, against a real server: a client joins a provider's line from
the week (W, or the palette) and is told their place, My reservations lists the place and leaves
it, an offer arriving while the app is open counts its hold down and is confirmed there, and a
provider sees how many wait for each day of their week."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from shared.timefmt import format_time, parse_time
from tests.tui.harness import BackendThread, app_for, key_bar_shows, until, window
from tests.tui.test_app import client_screen, run_from_palette
from tests.tui.test_provider_screen import provider_screen
from tui.app import SlotbookApp
from tui.screens.confirm import ConfirmDialog
from tui.screens.offer import OfferDialog
from tui.screens.reservations import ReservationsScreen
from tui.screens.waitlist import JoinWaitlistForm
from tui.widgets.columns import Columns
from tui.widgets.day_notes import DayNotes

TUESDAY_10 = "2030-03-05 10:00:00"
TUESDAY_1015 = "2030-03-05 10:15:00"
TUESDAY = ("2030-03-05 00:00:00", "2030-03-06 00:00:00")


@dataclass(frozen=True)
class Line:
    """Dr Ada's Tuesday, 10:00-10:30, all booked (Cy 10:00, Dee 10:15), and the tokens of the
    clients who wait for it."""

    ada: str
    cy: str
    dee: str
    kim: str
    lee: str
    sam: str
    cy_booking: str
    dee_booking: str
    """The slot ids of Cy's and Dee's bookings, which they cancel to free time."""


def booked(backend: BackendThread, token: str, timestamp: str) -> str:
    """Hold and confirm the open slot at `timestamp` as this client; its slot id."""
    with backend.http(token) as http:
        listed = http.get(
            "/availability",
            params={"startTime": timestamp, "endTime": format_time(parse_time(timestamp) + 900)},
        ).json()["availableTimeSlots"]
        slot_id: str = listed[0]["timeSlotId"]
        body = {"timeSlot": timestamp, "timeSlotId": slot_id}
        assert http.post("/availability/reserve", json=body).status_code == 201
        answer = http.put(f"/availability/confirm/{slot_id}", json={"timeSlot": timestamp})
        assert answer.status_code == 200, answer.text
    return slot_id


def a_full_tuesday(backend: BackendThread) -> Line:
    ada = backend.issue("provider", "ada", "Dr Ada")
    with backend.http(ada) as http:
        window(http, parse_time(TUESDAY_10), parse_time(TUESDAY_10) + 1800)
    tokens = {name: backend.issue("client", name, name.title()) for name in ("cy", "dee")}
    tokens |= {name: backend.issue("client", name, name.title()) for name in ("kim", "lee", "sam")}
    cy_booking = booked(backend, tokens["cy"], TUESDAY_10)
    dee_booking = booked(backend, tokens["dee"], TUESDAY_1015)
    return Line(ada=ada, cy_booking=cy_booking, dee_booking=dee_booking, **tokens)


def join(backend: BackendThread, token: str, start: str, end: str) -> dict[str, Any]:
    """Join Dr Ada's line over HTTP for 15 minutes in [start, end); the entry. The clock moves on
    a second, so that whoever joins next is behind (places joined at one moment go by id)."""
    with backend.http(token) as http:
        body = {"providerId": "ada", "from": start, "to": end, "minutes": 15}
        answer = http.post("/waitlist", json=body)
    assert answer.status_code == 201, answer.text
    backend.clock.advance(1)
    entry: dict[str, Any] = answer.json()["entry"]
    return entry


def cancel(backend: BackendThread, token: str, slot_id: str) -> None:
    with backend.http(token) as http:
        assert http.delete(f"/reservations/{slot_id}").status_code == 200


def entries_of(backend: BackendThread, token: str) -> list[dict[str, Any]]:
    with backend.http(token) as http:
        answer = http.get("/waitlist")
    assert answer.status_code == 200, answer.text
    listed: list[dict[str, Any]] = answer.json()["entries"]
    return listed


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def rows_of(screen: ReservationsScreen) -> list[dict[str, str]]:
    """Each row of My reservations, by column heading."""
    table = screen.query_one(DataTable)
    headings = Columns.shown(table)
    rows = (table.get_row_at(i) for i in range(table.row_count))
    return [dict(zip(headings, map(str, row), strict=True)) for row in rows]


def status_of(screen: ReservationsScreen) -> str:
    """The Status of My reservations' first row."""
    rows = rows_of(screen)
    return rows[0]["Status"] if rows else ""


async def typed(pilot: Pilot[None], form: JoinWaitlistForm, key: str, text: str) -> None:
    """Put `text` in the form's field, as typing over it would."""
    field = form.query_one(f"#field-{key}", Input)
    field.value = text
    await pilot.pause()


async def my_reservations(app: SlotbookApp, pilot: Pilot[None]) -> ReservationsScreen:
    """m, and My reservations loaded with one row."""
    await pilot.press("m")
    await until(lambda: isinstance(app.screen, ReservationsScreen), pilot.pause)
    listed = app.screen
    assert isinstance(listed, ReservationsScreen)
    await until(lambda: listed.query_one(DataTable).row_count == 1, pilot.pause)
    return listed


async def on_tuesday(app: SlotbookApp, pilot: Pilot[None]) -> None:
    screen = await client_screen(app, pilot)
    await until(lambda: app.feed_state == "live", pilot.pause)
    assert screen.grid.move_to(int(parse_time(TUESDAY_10)))
    await pilot.pause()


async def test_a_client_joins_the_line_for_a_full_day_is_told_its_place_lists_it_and_leaves(
    backend: BackendThread,
) -> None:
    line = a_full_tuesday(backend)
    join(backend, line.kim, *TUESDAY)
    join(backend, line.lee, *TUESDAY)
    app = app_for(backend, token=line.sam)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_tuesday(app, pilot)
        week = app.screen
        assert text_of(week, "#info").endswith("nothing free this day: W joins its waitlist")

        # The palette's Join the waitlist opens the form, as W does; Esc leaves it unsent.
        await run_from_palette(app, pilot, "Join the waitlist")
        await until(lambda: isinstance(app.screen, JoinWaitlistForm), pilot.pause)
        await pilot.press("escape")
        await until(lambda: app.screen is week, pilot.pause)
        assert entries_of(backend, line.sam) == []

        await pilot.press("W")
        await until(lambda: isinstance(app.screen, JoinWaitlistForm), pilot.pause)
        form = app.screen
        assert isinstance(form, JoinWaitlistForm)
        assert form.values() == {
            "from": "2030-03-05 00:00",
            "to": "2030-03-06 00:00",
            "length": "minutes:15",
        }, "the day under the cursor, and the length the week holds"

        # A window that has passed (To on From's day): the server's own words, in the form.
        await typed(pilot, form, "from", "2030-03-01 09:00")
        await typed(pilot, form, "to", "10:00")
        await pilot.press("ctrl+s")
        with backend.http(line.sam) as http:
            refused = http.post(
                "/waitlist",
                json={
                    "providerId": "ada",
                    "from": "2030-03-01 09:00:00",
                    "to": "2030-03-01 10:00:00",
                    "minutes": 15,
                },
            )
        assert refused.status_code in (400, 422), refused.text
        problem = refused.json()
        await until(lambda: text_of(form, "#info").startswith("Not joined"), pilot.pause)
        if "errors" in problem:  # beside each field it names, in its words
            said = {e["field"]: e["message"] for e in problem["errors"]}
            assert {key: text_of(form, f"#note-{key}") for key in said} == said
        else:
            assert problem["detail"] in text_of(form, "#info")
        assert entries_of(backend, line.sam) == []

        await typed(pilot, form, "from", "2030-03-05 09:00")
        await typed(pilot, form, "to", "2030-03-06 00:00")
        await pilot.press("ctrl+s")
        await until(lambda: form.joined is not None, pilot.pause)
        assert text_of(form, "#placed").startswith(
            "You are 3rd in line with Dr Ada for 15 min, any start Tue 05 Mar 09:00–24:00."
        )
        [mine] = entries_of(backend, line.sam)
        assert not key_bar_shows(form, "ctrl+s"), "nothing left to send"
        assert (mine["from"], mine["to"], mine["position"]) == (
            "2030-03-05 09:00:00",
            TUESDAY[1],
            3,
        )
        await pilot.press("enter")
        await until(lambda: app.screen is week, pilot.pause)

        # My reservations lists the place; it moves up as the line does, live.
        listed = await my_reservations(app, pilot)
        assert rows_of(listed)[0] == {
            "When": "Tue 05 Mar 09:00–24:00",
            "What": "15 min",
            "With": "Dr Ada",
            "Status": "waiting, 3rd in line",
            "Time left": "",
            "Note": "",
        }
        cancel(backend, line.cy, line.cy_booking)  # Kim, first in line, is offered 10:00
        await until(lambda: status_of(listed) == "waiting, 2nd in line", pilot.pause)

        # x leaves the line, after asking.
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot.pause)
        assert "(2nd in line)" in text_of(app.screen, "#question")
        await pilot.press("y")
        await until(lambda: listed.query_one(DataTable).row_count == 0, pilot.pause)
        assert [
            e["status"] for e in entries_of(backend, line.sam) if e["status"] == "waiting"
        ] == []


async def test_an_offer_arriving_live_counts_its_hold_down_and_is_confirmed_there(
    backend: BackendThread,
) -> None:
    line = a_full_tuesday(backend)
    entry = join(backend, line.sam, *TUESDAY)
    app = app_for(backend, token=line.sam)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_tuesday(app, pilot)
        listed = await my_reservations(app, pilot)
        assert status_of(listed) == "waiting, first in line"

        cancel(backend, line.cy, line.cy_booking)
        await until(lambda: isinstance(app.screen, OfferDialog), pilot.pause)
        offer = app.screen
        assert isinstance(offer, OfferDialog)
        assert text_of(offer, "#title") == "Offered to you from the waitlist"
        focused = offer.focused
        assert focused is not None
        assert focused.id == "close", "a stray Enter keeps it; c confirms, x releases"
        assert "(Tue 05 Mar 00:00–24:00) is held for you" in text_of(offer, "#lead")
        assert text_of(offer, "#when").endswith("Tuesday 05 March, 10:00 (15\N{NO-BREAK SPACE}min)")
        [held] = entries_of(backend, line.sam)
        expires = parse_time(held["offer"]["expiresAt"])
        minutes, seconds = divmod(int(expires - app.clock()), 60)
        assert text_of(offer, "#countdown").startswith(f"{minutes}:{seconds:02d} left")
        # Underneath, My reservations calls the hold an offer.
        await until(lambda: status_of(listed) == "offered", pilot.pause)

        await pilot.press("c")
        await until(lambda: app.screen is listed, pilot.pause)
        [done] = entries_of(backend, line.sam)
        assert (done["waitlistId"], done["status"]) == (entry["waitlistId"], "fulfilled")
        await until(lambda: status_of(listed) == "booked", pilot.pause)


async def test_a_provider_sees_how_many_wait_for_each_day_kept_live(
    backend: BackendThread,
) -> None:
    line = a_full_tuesday(backend)
    join(backend, line.kim, *TUESDAY)
    join(backend, line.lee, *TUESDAY)
    join(backend, line.sam, TUESDAY[0], "2030-03-07 00:00:00")  # Tuesday and Wednesday
    app = app_for(backend, token=line.ada)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        notes = screen.query_one(DayNotes)
        await until(lambda: "3 waiting" in notes.text(), pilot.pause)
        columns = {day.isoformat(): (left, width) for day, left, width in screen.grid.day_columns()}

        def under(day: str) -> str:
            left, width = columns[day]
            return notes.text()[left : left + width].strip()

        assert [under(d) for d in sorted(columns)] == [
            "",
            "3 waiting",
            "1 waiting",
            "",
            "",
            "",
            "",
        ]
        assert screen.grid.move_to(int(parse_time(TUESDAY_10)))
        await pilot.pause()
        assert text_of(screen, "#info").endswith("3 clients in line for time this day")
        await until(lambda: app.feed_state == "live", pilot.pause)
        cancel(backend, line.cy, line.cy_booking)  # Kim is offered 10:00: two wait on Tuesday
        await until(lambda: under("2030-03-05") == "2 waiting", pilot.pause)
        assert under("2030-03-06") == "1 waiting"
        assert "2 clients in line for time this day" in text_of(screen, "#info")
