"""The terminal app and mail: My details (ctrl+p) takes an e-mail address and shows the zone mail
is written in, the welcome screen takes one too, and My reservations (m) says whether each
booking's confirmation was sent. Against a real server, whose sender delivers into its Maildir
(or, told to use an SMTP server that is not there, keeps the message queued)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from backend.runtime.clock import ManualClock
from tests.tui.harness import BackendThread, app_for, until
from tests.tui.test_app import palette_titles, run_from_palette, welcome
from tests.tui.test_client_screen import (
    TUESDAY_10,
    TUESDAY_1015,
    client_screen,
    open_tuesday,
    reservations_screen,
    take,
)
from tests.tui.test_provider_screen import Toasts, provider_screen
from tui.app import SlotbookApp
from tui.identities import IdentityStore
from tui.screens.my_details import MyDetailsDialog
from tui.widgets.columns import Columns

LISBON = "Europe/Lisbon"


def me(backend: BackendThread, token: str) -> dict[str, Any]:
    with backend.http(token) as http:
        answer: dict[str, Any] = http.get("/me").json()
    return answer


def mail_of(backend: BackendThread, token: str) -> list[dict[str, Any]]:
    with backend.http(token) as http:
        listed: list[dict[str, Any]] = http.get("/notifications").json()["notifications"]
    return listed


async def open_my_details(app: SlotbookApp, pilot: Pilot[None]) -> MyDetailsDialog:
    """ctrl+p, "My details", Enter: the dialog, once it has loaded."""
    await run_from_palette(app, pilot, "My details")
    await until(lambda: isinstance(app.screen, MyDetailsDialog), pilot.pause)
    dialog = app.screen
    assert isinstance(dialog, MyDetailsDialog)
    await pilot.pause(0.2)  # its load of GET /me
    return dialog


def said(dialog: MyDetailsDialog, selector: str) -> str:
    return str(dialog.query_one(selector, Static).render())


async def type_into(pilot: Pilot[None], dialog: MyDetailsDialog, text: str) -> None:
    dialog.query_one("#email", Input).value = ""
    await pilot.press(*text, "enter") if text else await pilot.press("enter")


async def test_my_details_saves_the_address_with_the_apps_zone_shows_it_again_and_removes_it(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=sam, zone=LISBON, zone_chosen=True)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await client_screen(app, pilot)
        dialog = await open_my_details(app, pilot)
        assert dialog.query_one("#email", Input).value == ""
        assert LISBON in said(dialog, "#zone")
        await type_into(pilot, dialog, "sam.lee@example.com")
        await until(lambda: not isinstance(app.screen, MyDetailsDialog), pilot.pause)
        await until(lambda: bool(toasts.saying("sam.lee@example.com")), pilot.pause)
        assert (me(backend, sam)["email"], me(backend, sam)["timeZone"]) == (
            "sam.lee@example.com",
            LISBON,
        )

        again = await open_my_details(app, pilot)
        assert again.query_one("#email", Input).value == "sam.lee@example.com"
        await type_into(pilot, again, "")  # an empty address removes it
        await until(lambda: not isinstance(app.screen, MyDetailsDialog), pilot.pause)
        await until(lambda: bool(toasts.saying("no mail will be sent")), pilot.pause)
    assert me(backend, sam)["email"] is None


async def test_a_bad_address_is_refused_with_the_servers_reason_beside_the_field(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    other = backend.issue("client", "kim", "Kim")
    with backend.http(other) as http:  # what the server says of this address
        refused = http.patch("/me", json={"email": "sam at example"})
    assert refused.status_code == 422
    reason = next(e["message"] for e in refused.json()["errors"] if e["field"] == "email")
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        await client_screen(app, pilot)
        dialog = await open_my_details(app, pilot)
        await type_into(pilot, dialog, "sam at example")
        await until(lambda: said(dialog, "#email-problem") == reason, pilot.pause)
        assert app.screen is dialog, "the dialog stays, to put it right"
    assert me(backend, sam)["email"] is None


async def test_a_provider_has_my_details_in_the_palette_too(backend: BackendThread) -> None:
    ada = open_tuesday(backend)
    app = app_for(backend, token=ada)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        assert "My details" in palette_titles(app, screen)
        dialog = await open_my_details(app, pilot)
        await type_into(pilot, dialog, "ada@example.com")
        await until(lambda: me(backend, ada)["email"] == "ada@example.com", pilot.pause)


async def test_an_address_given_on_the_welcome_screen_is_saved_with_the_new_identity(
    backend: BackendThread, tmp_path: Path
) -> None:
    open_tuesday(backend)
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    app = app_for(backend, admin_token=admin, identities=folder, zone=LISBON, zone_chosen=True)
    async with app.run_test(size=(100, 30)) as pilot:
        asking = await welcome(app, pilot)
        assert LISBON in str(asking.query_one("#zone", Static).render())
        await pilot.press("enter", *"Sam Lee", "tab", *"sam.lee@example.com", "enter")
        await client_screen(app, pilot)
    current = IdentityStore(folder).current()
    assert current is not None
    shown = me(backend, current.token)
    assert (shown["name"], shown["email"], shown["timeZone"]) == (
        "Sam Lee",
        "sam.lee@example.com",
        LISBON,
    )


async def test_a_refused_address_on_the_welcome_screen_still_starts_and_says_why(
    backend: BackendThread, tmp_path: Path
) -> None:
    open_tuesday(backend)
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    app = app_for(backend, admin_token=admin, identities=folder)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await welcome(app, pilot)
        await pilot.press("enter", *"Sam", "tab", *"sam at example", "enter")
        await client_screen(app, pilot)
        await until(lambda: bool(toasts.saying("not saved")), pilot.pause)
        assert "My details" in toasts.saying("not saved")[0].message
    current = IdentityStore(folder).current()
    assert current is not None
    assert me(backend, current.token)["email"] is None


# --- My reservations: was the confirmation sent? -------------------------------------------------


@pytest.fixture
def relay_down(tmp_path: Path, frozen: ManualClock) -> Iterator[BackendThread]:
    """A server whose SMTP relay does not answer: every message stays queued, to be retried."""
    server = BackendThread(
        tmp_path / "relay-down.db", frozen, max_holds=2, smtp_url="smtp://127.0.0.1:9"
    )
    server.start()
    yield server
    server.close()


def mail_cells(app: SlotbookApp) -> tuple[tuple[str, ...], list[list[str]]]:
    """My reservations' headings, and each row's When and Mail."""
    table = app.screen.query_one(DataTable)
    headings = Columns.shown(table)
    mail = headings.index("Mail")
    rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
    return headings, [[row[0], row[mail]] for row in rows]


async def test_my_reservations_say_whether_each_bookings_confirmation_was_sent(
    backend: BackendThread,
) -> None:
    open_tuesday(backend)
    sam = backend.issue("client", "sam", "Sam")
    with backend.http(sam) as http:
        assert http.patch("/me", json={"email": "sam@example.com"}).status_code == 200
    take(backend, sam, TUESDAY_10, confirm=True)
    take(backend, sam, TUESDAY_1015)  # a hold: nothing is sent for it
    app = app_for(backend, token=sam)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(
            lambda: (
                [n["status"] for n in mail_of(backend, sam) if n["kind"] == "confirmation"]
                == ["sent"]
            ),
            lambda: pilot.pause(0.05),
        )
        await client_screen(app, pilot)
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        await until(lambda: listed.query_one(DataTable).row_count == 2, pilot.pause)
        await until(lambda: "Mail" in Columns.shown(listed.query_one(DataTable)), pilot.pause)
        headings, rows = mail_cells(app)
        assert headings == ("When", "With", "Status", "Time left", "Mail", "Note")
        assert rows == [["Tue 05 Mar 10:00", "sent"], ["Tue 05 Mar 10:15", "—"]]


async def test_a_confirmation_not_yet_sent_is_queued_and_the_column_fits_a_phone(
    relay_down: BackendThread,
) -> None:
    open_tuesday(relay_down)
    sam = relay_down.issue("client", "sam", "Sam")
    with relay_down.http(sam) as http:
        assert http.patch("/me", json={"email": "sam@example.com"}).status_code == 200
    take(relay_down, sam, TUESDAY_10, confirm=True)
    app = app_for(relay_down, token=sam)
    async with app.run_test(size=(45, 40)) as pilot:
        await until(
            lambda: any(n["attempts"] > 0 for n in mail_of(relay_down, sam)),
            lambda: pilot.pause(0.05),
        )
        await client_screen(app, pilot)
        await pilot.press("m")
        listed = await reservations_screen(app, pilot)
        await until(lambda: "Mail" in Columns.shown(listed.query_one(DataTable)), pilot.pause)
        headings, rows = mail_cells(app)
        assert headings == ("When", "Status", "With", "Mail", "Note")
        assert rows == [["Tue 05 Mar 10:00", "queued"]]
