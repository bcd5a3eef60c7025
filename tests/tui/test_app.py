"""The app as a whole: start-up and who you are, the status line and the live feed across a server
restart, help, the command palette and quitting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from rich.table import Table
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from shared.timefmt import parse_time
from tests.e2e.test_terminal_app import app_environment
from tests.markdown_pages import DOCS, section
from tests.tui.harness import BackendThread, StaticBackend, app_for, until, window
from tests.tui.test_provider_screen import Toasts, provider_screen
from tui.app import SlotbookApp
from tui.backends import Connection, RemoteBackend
from tui.identities import Identity, IdentityStore
from tui.screens.client import ClientScreen
from tui.screens.help import HelpScreen
from tui.screens.identity import IdentityScreen
from tui.screens.provider import ProviderScreen
from tui.screens.sign_in import SignInScreen
from tui.screens.welcome import WelcomeScreen
from tui.widgets.status_line import StatusLine
from tui.widgets.week_grid import CellState

TUESDAY_10 = "2030-03-05 10:00:00"


def at(text: str) -> int:
    return int(parse_time(text))


def status_of(app: SlotbookApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


def status_parts(app: SlotbookApp) -> set[str]:
    """The status line's parts, in whatever order it shows them."""
    return {part.strip() for part in status_of(app).split("│")}


def open_slot(backend: BackendThread, token: str, timestamp: str = TUESDAY_10) -> None:
    with backend.http(token) as http:
        window(http, parse_time(timestamp), parse_time(timestamp) + 900)


async def client_screen(app: SlotbookApp, pilot: Pilot[None]) -> ClientScreen:
    """Wait for the client's view, with its week loaded (or nobody to show)."""

    def ready() -> bool:
        screen = app.screen
        if not isinstance(screen, ClientScreen):
            return False
        empty = "No providers yet" in str(screen.query_one("#info", Static).render())
        return screen.loaded or empty

    await until(ready, pilot.pause)
    screen = app.screen
    assert isinstance(screen, ClientScreen)
    return screen


def tokens(backend: BackendThread, admin: str) -> list[dict[str, Any]]:
    with backend.http(admin) as http:
        listed: list[dict[str, Any]] = http.get("/tokens").json()["tokens"]
    return listed


# --- the status line and the feed ----------------------------------------------------------------


async def test_the_status_line_shows_who_where_live_and_the_zone(backend: BackendThread) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token, zone="Europe/Berlin")
    async with app.run_test(size=(100, 30)) as pilot:
        await provider_screen(app, pilot)
        await until(lambda: status_of(app).startswith("● live"), pilot.pause)
        assert status_parts(app) == {"● live", "Dr Ada (provider)", "test server", "Europe/Berlin"}
        open_slot(backend, token)
        await until(lambda: app.changes_heard > 0, pilot.pause)
        assert status_parts(app) == {"● live", "Dr Ada (provider)", "test server", "Europe/Berlin"}


async def test_while_the_server_is_away_the_status_line_says_when_it_was_last_heard(
    backend: BackendThread,
) -> None:
    """Live says live (no clock time that looks stale); down, it says how long ago the server
    was there, first thing, and keeps that true as time passes; back, live again."""
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        await client_screen(app, pilot)
        await until(lambda: status_of(app).startswith("● live"), pilot.pause)
        assert status_parts(app) == {
            "● live",
            "Sam (client)",
            "length 15 min (+ -)",
            "UTC",
            "test server",
        }
        backend.stop()
        await until(lambda: status_of(app).startswith("◌ reconnecting"), pilot.pause)
        assert state_part(app).endswith("), last heard just now"), "after why it is down"

        async def ticks() -> None:  # the line is brought up to date once a second
            await pilot.pause(0.05)

        backend.clock.advance(3 * 60 + 5)
        await until(lambda: state_part(app).endswith(", last heard 3 min ago"), ticks)
        backend.clock.advance(2 * 3600)
        await until(lambda: state_part(app).endswith(", last heard 2 h ago"), ticks)
        backend.start()
        await until(lambda: status_of(app).startswith("● live"), pilot.pause)
        assert state_part(app) == "● live"


def state_part(app: SlotbookApp) -> str:
    """The status line's first part: live or not, and since when."""
    return status_of(app).split("│")[0].strip()


class MovingBackend(StaticBackend):
    """An embedded server that comes back on another port: recover() says where."""

    def __init__(self, connection: Connection, server: BackendThread) -> None:
        super().__init__(connection)
        self.server = server
        self.recovered: list[str] = []

    async def recover(self) -> str | None:
        if self.server.url == self.connection.base_url:
            return None  # not back yet
        self.recovered.append(self.server.url)
        return self.server.url


async def test_when_the_server_comes_back_elsewhere_the_app_follows_and_reloads(
    backend: BackendThread,
) -> None:
    ada = backend.issue("provider", "ada", "Dr Ada")
    open_slot(backend, ada, "2030-03-05 09:30:00")
    connection = Connection(
        base_url=backend.url, label="moving", token=backend.issue("client", "sam", "Sam")
    )
    moving = MovingBackend(connection, backend)
    app = SlotbookApp(moving, zone=ZoneInfo("UTC"), clock=backend.clock.now)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        await until(lambda: app.feed_state == "live", pilot.pause)
        backend.stop()
        await until(lambda: app.feed_state == "reconnecting", pilot.pause)
        old = backend.port
        backend.port = 0
        open_slot_later = backend.start()
        assert backend.port != old
        await until(lambda: bool(moving.recovered), pilot.pause)
        await until(lambda: app.feed_state == "live", pilot.pause)
        assert app.session is not None
        assert app.session.client.base_url == open_slot_later
        open_slot(backend, ada)
        await until(
            lambda: screen.grid.cell_at(at(TUESDAY_10)).state is CellState.OPEN, pilot.pause
        )
    assert moving.stopped, "the app stops its backend when it ends"


# --- start-up ------------------------------------------------------------------------------------


def said_on_exit(capsys: pytest.CaptureFixture[str]) -> str:
    """What the app printed as it ended, as one line."""
    return " ".join(capsys.readouterr().err.split())


async def test_a_refused_token_ends_the_app_with_advice(
    backend: BackendThread, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_for(backend, token="not-a-token")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.return_code is not None, pilot.pause)
    assert app.return_code == 1
    assert said_on_exit(capsys) == (
        "The server refused the token: Unknown token."
        " Check the token (--token, SLOTBOOK_TOKEN or the config file)."
    )


async def test_a_server_that_does_not_answer_ends_the_app_with_advice(
    backend: BackendThread, capsys: pytest.CaptureFixture[str]
) -> None:
    token = backend.issue("client", "sam", "Sam")
    backend.stop()
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.return_code is not None, pilot.pause)
    assert app.return_code == 1
    said = said_on_exit(capsys)
    assert said.startswith("Could not reach the server: ")
    assert said.endswith(
        "connection refused. Check that it is running and that the address is right, then"
        " start slotbook again."
    )
    assert "keeps retrying" not in said, "it does not: it ends"


class BrokenBackend(StaticBackend):
    """An embedded server that would not start."""

    async def start(self) -> Connection:
        raise RuntimeError("the port is taken")


async def test_a_server_that_will_not_start_ends_the_app_saying_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = BrokenBackend(Connection(base_url="http://127.0.0.1:9", label="broken"))
    app = SlotbookApp(broken, zone=ZoneInfo("UTC"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.return_code is not None, pilot.pause)
    assert app.return_code == 1
    assert said_on_exit(capsys) == "slotbook could not start its server: the port is taken"


async def test_an_admin_token_opens_the_first_providers_week_and_saves_for_it(
    backend: BackendThread,
) -> None:
    backend.issue("provider", "bob", "Dr Bob")
    ada = backend.issue("provider", "ada", "Dr Ada")
    admin = backend.issue("admin", None, "Admin")
    app = app_for(backend, token=admin)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        assert screen.provider_id == "ada"
        assert screen.acting_for == "ada"
        await pilot.press("l", "space")
        await until(lambda: screen.draft.pending == 1, pilot.pause)
        await pilot.press("ctrl+s")
        await until(lambda: not screen.draft.pending and not screen.saving, pilot.pause)
    assert toasts.texts()[0] == "Admin token: showing the first provider's week."
    with backend.http(ada) as http:
        slots = http.get(
            "/providers/ada/slots",
            params={"startTime": "2030-03-04 00:00:00", "endTime": "2030-03-11 00:00:00"},
        ).json()["timeSlots"]
    assert [s["timestamp"] for s in slots] == ["2030-03-05 09:00:00"]


async def test_an_admin_token_without_providers_shows_the_client_view(
    backend: BackendThread,
) -> None:
    app = app_for(backend, token=backend.issue("admin", None, "Admin"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: isinstance(app.screen, ClientScreen), pilot.pause)


# --- who you are (embedded server) --------------------------------------------------------------


async def welcome(app: SlotbookApp, pilot: Pilot[None]) -> WelcomeScreen:
    await until(lambda: isinstance(app.screen, WelcomeScreen), pilot.pause)
    screen = app.screen
    assert isinstance(screen, WelcomeScreen)
    return screen


async def test_first_run_asks_who_you_are_and_makes_a_client_token(
    backend: BackendThread, tmp_path: Path
) -> None:
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    app = app_for(backend, admin_token=admin, identities=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        asking = await welcome(app, pilot)
        await pilot.press("enter", "enter")  # a client (the first choice), then no name
        problem = asking.query_one("#problem", Static)
        assert str(problem.render()) == "Please give a name."
        assert app.screen is asking
        await pilot.press(*"Sam Lee", "enter")
        screen = await client_screen(app, pilot)
        assert screen.session.me.subject == "sam-lee"
        assert "Sam Lee (client)" in status_parts(app)
    made = [t for t in tokens(backend, admin) if t["subject"] == "sam-lee"]
    assert [(t["role"], t["name"]) for t in made] == [("client", "Sam Lee")]
    current = IdentityStore(folder).current()
    assert current is not None
    assert (current.role, current.subject, current.name) == ("client", "sam-lee", "Sam Lee")


async def test_choosing_provider_on_first_run_shows_the_providers_week(
    backend: BackendThread, tmp_path: Path
) -> None:
    admin = backend.issue("admin", None, "Admin")
    backend.issue("provider", "dr-ada", "Another Ada")  # the name's id is taken: a new one
    folder = tmp_path / "identities"
    app = app_for(backend, admin_token=admin, identities=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await welcome(app, pilot)
        await pilot.press("down", "enter", *"Dr Ada", "enter")  # the keyboard alone will do
        screen = await provider_screen(app, pilot)
        assert screen.provider_id == "dr-ada-2"
    made = [t for t in tokens(backend, admin) if t["subject"] == "dr-ada-2"]
    assert [(t["role"], t["name"]) for t in made] == [("provider", "Dr Ada")]


async def test_the_next_start_carries_on_as_the_same_person(
    backend: BackendThread, tmp_path: Path
) -> None:
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    first = app_for(backend, admin_token=admin, identities=folder)
    async with first.run_test(size=(100, 30)) as pilot:
        await welcome(first, pilot)
        await pilot.press("enter", *"Sam", "enter")
        await client_screen(first, pilot)
    again = app_for(backend, admin_token=admin, identities=folder)
    async with again.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(again, pilot)
        assert screen.session.me.subject == "sam"
    assert len(tokens(backend, admin)) == 2, "the admin's and Sam's: no new one"


async def choose(app: SlotbookApp, pilot: Pilot[None], label: str) -> None:
    """Pick the identity whose label contains `label` in the Switch identity list."""
    await until(lambda: isinstance(app.screen, IdentityScreen), pilot.pause)
    options = app.screen.query_one(OptionList)
    labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    options.highlighted = next(i for i, text in enumerate(labels) if label in text)
    await pilot.press("enter")


async def test_switch_identity_acts_as_someone_new_and_back_again(
    backend: BackendThread, tmp_path: Path
) -> None:
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    app = app_for(backend, admin_token=admin, identities=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await welcome(app, pilot)
        await pilot.press("enter", *"Sam", "enter")
        sams = await client_screen(app, pilot)
        titles = palette_titles(app, sams)
        assert "Switch identity" in titles

        app.switch_identity()
        await until(lambda: isinstance(app.screen, IdentityScreen), pilot.pause)
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert labels == ["● Sam (client)", "  + someone new…"]
        await choose(app, pilot, "someone new")
        await welcome(app, pilot)
        await pilot.click("#provider")
        app.screen.query_one("#name", Input).value = "Dr Ada"
        await pilot.click("#start")
        adas = await provider_screen(app, pilot)
        assert adas.provider_id == "dr-ada"
        assert app.screen_stack[1:] == [adas], "Sam's week is gone, not underneath"
        assert "Dr Ada (provider)" in status_parts(app)

        app.switch_identity()
        await choose(app, pilot, "Sam (client)")
        back = await client_screen(app, pilot)
        assert back.session.me.subject == "sam"
        await until(lambda: app.feed_state == "live", pilot.pause)

        app.switch_identity()
        await until(lambda: isinstance(app.screen, IdentityScreen), pilot.pause)
        await pilot.press("escape")
        await until(lambda: app.screen is back, pilot.pause)
    current = IdentityStore(folder).current()
    assert current is not None
    assert current.subject == "sam"


async def sam_then_a_new_dr_ada(app: SlotbookApp, pilot: Pilot[None]) -> ProviderScreen:
    """A first start as the client Sam, then Switch identity to a new provider, Dr Ada."""
    await welcome(app, pilot)
    await pilot.press("enter", *"Sam", "enter")
    await client_screen(app, pilot)
    app.switch_identity()
    await choose(app, pilot, "someone new")
    await welcome(app, pilot)
    await pilot.press("down", "enter", *"Dr Ada", "enter")
    return await provider_screen(app, pilot)


async def test_switching_identity_in_one_window_leaves_the_next_start_as_it_was(
    backend: BackendThread, tmp_path: Path
) -> None:
    """Sam starts, then in one window acts as a new provider, Dr Ada: the next start (another
    window, or tomorrow's) is Sam again, not whatever a window last switched to; the switch
    says so."""
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    first = app_for(backend, admin_token=admin, identities=folder)
    async with first.run_test(size=(100, 30)) as pilot:
        adas = await sam_then_a_new_dr_ada(first, pilot)
        assert adas.provider_id == "dr-ada"
        next_start = app_for(backend, admin_token=admin, identities=folder)
        async with next_start.run_test(size=(100, 30)) as again:
            screen = await client_screen(next_start, again)
            assert screen.session.me.subject == "sam"
        assert first.screen is adas, "the window that switched stays Dr Ada"
        first.switch_identity()  # the list marks who this window is, and says what a start is
        await until(lambda: isinstance(first.screen, IdentityScreen), pilot.pause)
        listed = first.screen.query_one(OptionList)
        assert str(listed.get_option_at_index(1).prompt) == "● Dr Ada (provider)"
        note = first.screen.query_one("#note", Static)
        assert str(note.render()) == (
            "Your choice here is for this window only. Next time, slotbook starts as Sam (client)"
            " again (--as NAME starts it as someone else)."
        )
        await pilot.press("escape")


async def test_as_starts_as_a_saved_identity_and_later_starts_carry_on_as_it(
    backend: BackendThread, tmp_path: Path
) -> None:
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    first = app_for(backend, admin_token=admin, identities=folder)
    async with first.run_test(size=(100, 30)) as pilot:
        await sam_then_a_new_dr_ada(first, pilot)
    asked = app_for(backend, admin_token=admin, identities=folder, identity=" dr ada ")
    async with asked.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(asked, pilot)
        assert screen.provider_id == "dr-ada"
    later = app_for(backend, admin_token=admin, identities=folder)
    async with later.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(later, pilot)
        assert screen.provider_id == "dr-ada", "asked for at a start: remembered"
    by_key = app_for(backend, admin_token=admin, identities=folder, identity="client:sam")
    async with by_key.run_test(size=(100, 30)) as pilot:
        assert (await client_screen(by_key, pilot)).session.me.subject == "sam"


async def test_as_naming_nobody_saved_ends_the_start_saying_who_there_is(
    backend: BackendThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    nobody_yet = app_for(backend, admin_token=admin, identities=folder, identity="Sam")
    async with nobody_yet.run_test(size=(100, 30)) as pilot:
        await until(lambda: nobody_yet.return_code is not None, pilot.pause)
    assert nobody_yet.return_code == 2
    assert said_on_exit(capsys) == (
        "slotbook: --as 'Sam': no identities are saved yet; start without --as to make one"
    )
    first = app_for(backend, admin_token=admin, identities=folder)
    async with first.run_test(size=(100, 30)) as pilot:
        await welcome(first, pilot)
        await pilot.press("enter", *"Sam", "enter")
        await client_screen(first, pilot)
    capsys.readouterr()
    unknown = app_for(backend, admin_token=admin, identities=folder, identity="Kim")
    async with unknown.run_test(size=(100, 30)) as pilot:
        await until(lambda: unknown.return_code is not None, pilot.pause)
    assert unknown.return_code == 2
    assert said_on_exit(capsys) == (
        "slotbook: --as 'Kim' names no saved identity; saved: Sam (client, sam)"
    )


def slotbook(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`slotbook ARGS` as `make run` starts it (with --demo), with its data in tmp_path/data
    and no settings of the user's own; what it said and how it ended."""
    environment = {**os.environ, **app_environment(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "tui", "--demo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
        stdin=subprocess.DEVNULL,
    )


def test_as_naming_nobody_is_refused_before_a_server_or_the_screen_starts(
    backend: BackendThread, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    done = slotbook(tmp_path, "--as", "Nobody")
    assert (done.returncode, done.stderr) == (
        2,
        "slotbook: --as 'Nobody': no identities are saved yet; start without --as to make one\n",
    )
    assert done.stdout == "", "the full-screen app never started"
    assert not (data / "slotbook.db").exists(), "nor its server"
    sam = Identity("client", "sam", "Sam", backend.issue("client", "sam", "Sam"))
    IdentityStore(data).add(sam)  # saved by an earlier start
    done = slotbook(tmp_path, "--as", "Nobody")
    assert (done.returncode, done.stderr) == (
        2,
        "slotbook: --as 'Nobody' names no saved identity; saved: Sam (client, sam)\n",
    )
    assert done.stdout == ""
    assert not (data / "slotbook.db").exists()


async def test_demo_with_as_on_a_first_start_opens_as_a_sample_provider(
    backend: BackendThread, tmp_path: Path
) -> None:
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    app = app_for(
        backend, admin_token=admin, identities=folder, demo=True, identity="Grace Hopper Physio"
    )
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        assert screen.provider_id == "grace-hopper-physio"
        assert not any(isinstance(s, WelcomeScreen) for s in app.screen_stack)


async def test_switch_identity_does_nothing_against_a_remote_server(
    backend: BackendThread,
) -> None:
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await client_screen(app, pilot)
        assert "Switch identity" not in palette_titles(app, screen)
        app.switch_identity()
        await pilot.pause()
        assert app.screen is screen


async def test_demo_seeds_sample_providers_once(backend: BackendThread, tmp_path: Path) -> None:
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    toasts = Toasts()
    app = app_for(backend, admin_token=admin, identities=folder, demo=True)
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await welcome(app, pilot)
        await pilot.press("enter", *"Sam", "enter")
        screen = await client_screen(app, pilot)
        assert screen.provider_id == "dr-ada-lovelace"
        shown = [screen.grid.cell_at(s).state for row in screen.week.cells for s in row if s]
        assert CellState.OPEN in shown
    assert toasts.saying("Filled with sample providers")
    with backend.http(admin) as http:
        providers = http.get("/providers").json()["providers"]
        changes = http.get("/changes", params={"since": 0}).json()["lastSeq"]
    assert [p["name"] for p in providers] == [
        "Dr Ada Lovelace",
        "Dr Alan Turing",
        "Grace Hopper Physio",
        "Katherine Johnson Dental",
    ]
    again_toasts = Toasts()
    again = app_for(backend, admin_token=admin, identities=folder, demo=True)
    async with again.run_test(size=(100, 30), message_hook=again_toasts) as pilot:
        await client_screen(again, pilot)
    assert not again_toasts.saying("Filled with sample providers")
    with backend.http(admin) as http:
        assert len(http.get("/providers").json()["providers"]) == 4
        assert http.get("/changes", params={"since": 0}).json()["lastSeq"] == changes


async def test_demo_makes_the_same_sample_practice_for_a_new_provider(
    backend: BackendThread, tmp_path: Path
) -> None:
    """A first start that answers "provider" gets the sample providers, their fortnight and the
    sample clients' bookings, as one that answers "client" does, and the new provider is one of
    the practice's providers."""
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    toasts = Toasts()
    app = app_for(backend, admin_token=admin, identities=folder, demo=True)
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await welcome(app, pilot)
        await pilot.press("down", "enter", *"Dr Ada Lovelace", "enter")
        screen = await provider_screen(app, pilot)
        assert screen.provider_id == "dr-ada-lovelace-2", "the sample Dr Ada came first"
    assert toasts.saying("Filled with sample providers")
    with backend.http(admin) as http:
        providers = http.get("/providers").json()["providers"]
        booked = http.get(
            "/providers/dr-alan-turing/slots",
            params={"startTime": "2030-03-04 00:00:00", "endTime": "2030-03-19 00:00:00"},
        ).json()["timeSlots"]
    assert sorted(p["name"] for p in providers) == [
        "Dr Ada Lovelace",
        "Dr Ada Lovelace",
        "Dr Alan Turing",
        "Grace Hopper Physio",
        "Katherine Johnson Dental",
    ]
    assert {s["status"] for s in booked} == {"AVAILABLE", "RESERVED", "CONFIRMED"}
    store = IdentityStore(folder)
    assert len(store.all()) == 5
    current = store.current()
    assert current is not None
    assert (current.role, current.subject) == ("provider", "dr-ada-lovelace-2")


# --- help, palette, quitting ----------------------------------------------------------------------


def palette_titles(app: SlotbookApp, screen: Screen[Any]) -> list[str]:
    """The titles the command palette offers on this screen."""
    # SlotbookApp.get_system_commands takes a Screen[object]; screens are Screen[None].
    return [command.title for command in app.get_system_commands(cast("Screen[object]", screen))]


def help_keys(screen: HelpScreen) -> dict[str, str]:
    """What the help's key table says: description -> keys."""
    table = screen._keys()
    assert isinstance(table, Table)
    keys = [str(cell) for cell in table.columns[0].cells]
    does = [str(cell) for cell in table.columns[1].cells]
    return dict(zip(does, keys, strict=True))


async def test_question_mark_opens_help_listing_the_screens_keys(backend: BackendThread) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)
        shown = app.screen
        assert isinstance(shown, HelpScreen)
        keys = help_keys(shown)
        assert keys["Save"] == "^s"
        assert keys["Undo"] == "u"
        assert keys["Bookings"] == "b"
        assert keys["The appointment under the cursor, with its whole note"] == "⏎"
        assert keys["Range"] == "v"
        assert keys["Erase"] == "x"
        assert keys["Previous week"] == "["
        assert keys["Next week"] == "]"
        assert keys["Today"] == "t"
        assert keys["Help"] == "?"
        app.action_help()  # already open: not twice
        await pilot.pause()
        assert len(app.screen_stack) == 3
        await pilot.press("escape")
        await until(lambda: app.screen is screen, pilot.pause)


async def test_help_in_the_client_view_lists_holding_keys(backend: BackendThread) -> None:
    ada = backend.issue("provider", "ada", "Dr Ada")
    open_slot(backend, ada)
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        await client_screen(app, pilot)
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), pilot.pause)
        shown = app.screen
        assert isinstance(shown, HelpScreen)
        keys = help_keys(shown)
        assert keys["Hold"] == "⏎, space"
        assert keys["Next open"] == "n"
        assert keys["My reservations"] == "m"
        assert "Save" not in keys
        await pilot.press("q")
        await until(lambda: not isinstance(app.screen, HelpScreen), pilot.pause)


async def test_the_palette_offers_the_screens_actions_and_runs_them(
    backend: BackendThread,
) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        titles = palette_titles(app, screen)
        for title in ("Save changes", "Undo", "Bookings", "Next week", "Today", "Reload"):
            assert title in titles
        await pilot.press("ctrl+p")
        await until(lambda: app.screen is not screen, pilot.pause)
        await pilot.press(*"Next w")
        await pilot.pause()
        await pilot.press("enter")
        await until(lambda: app.screen is screen and screen.monday.day == 11, pilot.pause)


async def test_the_client_palette_offers_holding_actions(backend: BackendThread) -> None:
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: isinstance(app.screen, ClientScreen), pilot.pause)
        titles = palette_titles(app, app.screen)
        for title in ("Next open slot", "My reservations", "Providers", "Previous week"):
            assert title in titles
        assert "Save changes" not in titles


def palette_names_in_the_readme() -> set[str]:
    """The palette's commands docs/using.md's terminal-app section names (*Change theme*)."""
    text = section(DOCS / "using.md", "The terminal app")
    return set(re.findall(r"(?<!\*)\*([A-Z][a-z]+(?: [a-z]+)*)\*(?!\*)", text))


PROVIDERS_ONLY = {"Booking page", "Connected calendars"}
"""Commands docs/using.md's terminal-app section names that only a provider's week offers
(tests/tui/test_booking_page_form.py and tests/tui/test_own_calendars.py open them there by
those names)."""


async def test_the_palette_offers_our_commands_by_the_names_the_readme_gives(
    backend: BackendThread, tmp_path: Path
) -> None:
    named = palette_names_in_the_readme()
    assert {"Change theme", "Screenshot", "Switch identity", "Sign out"} <= named
    admin = backend.issue("admin", None, "Admin")
    app = app_for(backend, admin_token=admin, identities=tmp_path / "identities")
    async with app.run_test(size=(100, 30)) as pilot:
        await welcome(app, pilot)
        await pilot.press("enter", *"Sam", "enter")
        screen = await client_screen(app, pilot)
        titles = palette_titles(app, screen)
        # Sign out is offered after a sign-in on the sign-in screen (below), not here.
        assert named - {"Sign out"} - PROVIDERS_ONLY <= set(titles), titles
        assert named >= PROVIDERS_ONLY
        assert not PROVIDERS_ONLY & set(titles), "a client has no booking page"
        assert not {"Theme", "Keys", "Maximize", "Minimize"} & set(titles), "? shows the keys"
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), pilot.pause)
        await pilot.press(*"Change theme")
        await until(lambda: palette_shows(app, "Change theme"), pilot.pause)
        await pilot.press("enter")  # the palette lists the themes
        await until(lambda: palette_shows(app, "textual-light"), pilot.pause)


async def run_from_palette(app: SlotbookApp, pilot: Pilot[None], title: str) -> None:
    """ctrl+p, the command's title typed, Enter once the palette lists it."""
    await pilot.press("ctrl+p")
    await until(lambda: isinstance(app.screen, CommandPalette), pilot.pause)
    await pilot.press(*title)
    await until(lambda: palette_shows(app, title), pilot.pause)
    await pilot.press("enter")


def palette_shows(app: SlotbookApp, title: str) -> bool:
    """Does the command palette on screen list a command of this title?"""
    palette = app.screen
    if not isinstance(palette, CommandPalette):
        return False
    listed = palette.query_one(CommandList)
    prompts = [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]
    return any(prompt.splitlines()[0] == title for prompt in prompts)


def home_without_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder with no Downloads folder (a server, a fresh account); it is returned."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))  # no user-dirs.dirs there
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    return home


async def screenshot_from_the_palette(app: SlotbookApp, pilot: Pilot[None], toasts: Toasts) -> str:
    """ctrl+p, Screenshot, Enter; what the toast then says."""
    screen = await client_screen(app, pilot)
    await pilot.press("ctrl+p")
    await until(lambda: app.screen is not screen, pilot.pause)
    await pilot.press(*"Screenshot")
    await pilot.pause()
    await pilot.press("enter")
    await until(lambda: bool(toasts.saying("Screenshot")), lambda: pilot.pause(0.05))
    return toasts.saying("Screenshot")[0].message


async def test_a_screenshot_without_a_downloads_folder_goes_to_the_data_folder(
    backend: BackendThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home_without_downloads(tmp_path, monkeypatch)
    data = tmp_path / "data"
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"), preferences=data)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        said = await screenshot_from_the_palette(app, pilot, toasts)
    saved = list((data / "screenshots").glob("*.svg"))
    assert len(saved) == 1
    assert said == f"Saved to {saved[0]}"
    assert "Sam&#160;(client)" in saved[0].read_text(), "a picture of the screen"


async def test_a_screenshot_goes_to_the_downloads_folder_when_there_is_one(
    backend: BackendThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = home_without_downloads(tmp_path, monkeypatch) / "Downloads"
    downloads.mkdir()
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"), preferences=tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        said = await screenshot_from_the_palette(app, pilot, toasts)
    saved = list(downloads.glob("*.svg"))
    assert len(saved) == 1
    assert said == f"Saved to {saved[0]}"
    assert not (tmp_path / "screenshots").exists()


async def test_a_screenshot_that_cannot_be_saved_says_why(
    backend: BackendThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home_without_downloads(tmp_path, monkeypatch)
    in_the_way = tmp_path / "data"
    in_the_way.write_text("a file where the data folder should be")
    app = app_for(backend, token=backend.issue("client", "sam", "Sam"), preferences=in_the_way)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        said = await screenshot_from_the_palette(app, pilot, toasts)
    assert said == f"Not saved: Not a directory ({in_the_way / 'screenshots'})."
    assert toasts.saying("Screenshot")[0].severity == "error"


async def test_ctrl_q_with_unsaved_changes_warns_first_and_quits_the_second_time(
    backend: BackendThread,
) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        await pilot.press("l", "space")
        await until(lambda: screen.draft.pending == 1, pilot.pause)
        await pilot.press("ctrl+q")
        await until(lambda: bool(toasts.saying("Unsaved")), pilot.pause)
        assert app.is_running
        assert app.screen is screen
        await pilot.press("ctrl+q")
        await until(lambda: not app.is_running, pilot.pause)
    assert app.return_code == 0
    assert toasts.texts("warning") == [
        "Unsaved: 1 unsaved change: ctrl+s saves, ctrl+q again quits without saving."
    ]


async def test_ctrl_q_with_nothing_unsaved_quits_at_once(backend: BackendThread) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    async with app.run_test(size=(100, 30)) as pilot:
        await provider_screen(app, pilot)
        await pilot.press("ctrl+q")
        await until(lambda: not app.is_running, pilot.pause)
    assert app.return_code == 0


async def test_after_saving_new_unsaved_changes_warn_again_before_quitting(
    backend: BackendThread,
) -> None:
    app = app_for(backend, token=backend.issue("provider", "ada", "Dr Ada"))
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        screen = await provider_screen(app, pilot)
        await pilot.press("l", "space")
        await until(lambda: screen.draft.pending == 1, pilot.pause)
        await pilot.press("ctrl+q")
        await until(lambda: len(toasts.saying("Unsaved")) == 1, pilot.pause)
        await pilot.press("ctrl+s")  # the user saves instead, and carries on painting
        await until(lambda: not screen.draft.pending and not screen.saving, pilot.pause)
        await pilot.press("j", "space")
        await until(lambda: screen.draft.pending == 1, pilot.pause)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running, "the new change was never warned about"
        assert len(toasts.saying("Unsaved")) == 2


async def test_against_a_remote_server_the_status_line_names_its_address(
    backend: BackendThread,
) -> None:
    remote = RemoteBackend(backend.url + "/", backend.issue("client", "sam", "Sam"))
    app = SlotbookApp(remote, zone=ZoneInfo("UTC"), clock=backend.clock.now)
    async with app.run_test(size=(100, 30)) as pilot:
        await client_screen(app, pilot)
        await until(lambda: status_of(app).startswith("● live"), pilot.pause)
        assert status_parts(app) == {
            "● live",
            "Sam (client)",
            "length 15 min (+ -)",
            backend.url,
            "UTC",
        }
        assert await remote.recover() is None, "somebody else's server: nothing to restart"


async def test_a_remote_server_without_a_token_asks_for_one_and_says_when_it_is_wrong(
    backend: BackendThread, capsys: pytest.CaptureFixture[str]
) -> None:
    """`slotbook --server URL` with no token opens on sign-in: one field, Enter signs in, a wrong
    token is said plainly and may be tried again; signing out ends the app."""
    token = backend.issue("client", "sam", "Sam")
    app = SlotbookApp(RemoteBackend(backend.url, None), zone=ZoneInfo("UTC"), theme="textual-light")
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "textual-light"
        await until(lambda: isinstance(app.screen, SignInScreen), pilot.pause)
        field = app.screen.query_one("#token", Input)
        assert field.has_focus, "the token can be typed straight away"
        assert field.password, "the token is typed unseen"
        assert "Sign out" not in palette_titles(app, app.screen)
        await pilot.press(*"sbk_wrong", "enter")
        problem = app.screen.query_one("#problem", Static)
        await until(lambda: "refused" in str(problem.render()), pilot.pause)
        assert str(problem.render()).startswith("The server refused that token: ")
        assert field.value == ""
        assert field.has_focus
        assert not field.disabled
        await pilot.press(*token, "enter")
        await client_screen(app, pilot)
        assert app.session is not None
        assert app.session.me.subject == "sam"
        assert "Sign out" in palette_titles(app, app.screen)
        app.action_sign_out()
        await pilot.pause()
    assert app.return_code == 0
    assert said_on_exit(capsys) == "Signed out."


# --- themes, and servers that cannot be reached --------------------------------------------------


async def test_a_theme_chosen_in_the_app_is_the_theme_of_the_next_start(
    backend: BackendThread, tmp_path: Path
) -> None:
    token = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=token, preferences=tmp_path)
    app.theme_settle_seconds = 0.01
    assert app.theme == "textual-dark"
    assert "ansi-dark" not in app.available_themes, "the terminal's colours are not promised"
    async with app.run_test(size=(100, 30)) as pilot:
        await client_screen(app, pilot)
        app.theme = "nord"
        await until(lambda: (tmp_path / "preferences.json").exists(), pilot.pause)
    assert app_for(backend, token=token, preferences=tmp_path).theme == "nord"
    named = app_for(backend, token=token, preferences=tmp_path, theme="dracula")
    assert named.theme == "dracula", "a theme named at start wins over the remembered one"


async def test_a_theme_named_at_start_says_it_wins_when_another_is_chosen(
    backend: BackendThread, tmp_path: Path
) -> None:
    token = backend.issue("client", "sam", "Sam")
    app = app_for(backend, token=token, preferences=tmp_path, theme="gruvbox")
    app.theme_source = "--theme"
    app.theme_settle_seconds = 0.01
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await client_screen(app, pilot)
        app.theme = "nord"
        await until(lambda: bool(toasts.saying("Remembered nord")), pilot.pause)
    assert toasts.saying("Remembered")[0].message == (
        "Remembered nord, but --theme chooses the theme at start."
    )


async def test_a_host_name_that_does_not_resolve_is_said_to_be_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "http://no-such-host.invalid:8080"
    nowhere = StaticBackend(Connection(base_url=url, label=url, token="sbk_x"))
    app = SlotbookApp(nowhere, zone=ZoneInfo("UTC"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.return_code is not None, pilot.pause)
    assert app.return_code == 1
    said = said_on_exit(capsys)
    assert "the host name 'no-such-host.invalid' does not resolve (no such host)" in said
    assert "connection refused" not in said


async def test_switch_identity_opens_on_the_current_one_and_esc_leaves_every_step(
    backend: BackendThread, tmp_path: Path
) -> None:
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    store = IdentityStore(folder)
    app = app_for(backend, admin_token=admin, identities=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await welcome(app, pilot)
        await pilot.press("enter", *"Sam", "enter")
        await client_screen(app, pilot)
        app.switch_identity()
        await choose(app, pilot, "someone new")
        await welcome(app, pilot)
        await pilot.click("#provider")
        app.screen.query_one("#name", Input).value = "Dr Ada"
        await pilot.click("#start")
        adas = await provider_screen(app, pilot)

        app.switch_identity()  # opens on Dr Ada, the identity in use: Enter keeps it
        await until(lambda: isinstance(app.screen, IdentityScreen), pilot.pause)
        listed = app.screen.query_one(OptionList)
        assert listed.highlighted == 1
        assert "Dr Ada (provider)" in str(listed.get_option_at_index(1).prompt)
        await choose(app, pilot, "someone new")
        await welcome(app, pilot)
        await pilot.press("escape")  # the new-person step goes back too
        await until(lambda: app.screen is adas, pilot.pause)
        assert [i.name for i in store.all()] == ["Sam", "Dr Ada"]


async def test_a_name_already_among_the_identities_picks_it_instead_of_a_duplicate(
    backend: BackendThread, tmp_path: Path
) -> None:
    admin = backend.issue("admin", None, "Admin")
    folder = tmp_path / "identities"
    app = app_for(backend, admin_token=admin, identities=folder)
    toasts = Toasts()
    async with app.run_test(size=(100, 30), message_hook=toasts) as pilot:
        await welcome(app, pilot)
        await pilot.press("enter", *"Sam", "enter")
        await client_screen(app, pilot)
        before = len(tokens(backend, admin))
        app.switch_identity()
        await choose(app, pilot, "someone new")
        await welcome(app, pilot)
        await pilot.press("enter", *" sam ", "enter")  # a client, as before
        back = await client_screen(app, pilot)
        assert back.session.me.subject == "sam"
        assert len(tokens(backend, admin)) == before, "no second token for the same person"
    assert [i.name for i in IdentityStore(folder).all()] == ["Sam"]
    assert toasts.saying("You already are")[0].message == (
        "You already are Sam (client) here: switched to that identity."
    )
