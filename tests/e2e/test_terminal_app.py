"""The real `slotbook` command in a real terminal (tmux) against a real server process: a client
finds the next open slot, holds it and confirms it with keys, and the server has it booked.

Nothing here is faked: the server is `python -m backend serve`, the tokens come from
`python -m backend token create`, the app is `python -m tui` on the wall clock, and the keys go
through tmux to the app's terminal. Every step waits for the screen to say what it should (polling
`tmux capture-pane`), never for a fixed time. It needs Debian's `tmux`, which
scripts/system-packages installs (make test runs it first).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.timefmt import format_time
from tests.e2e.server_process import ServerProcess
from tests.tui.contrast import terminal_cells

WHITE, BLACK = (255, 255, 255), (0, 0, 0)
"""The terminal's own colours, for a character drawn in them (the app sets its own everywhere)."""

WIDTH, HEIGHT = 100, 30
STEP_TIMEOUT = 20.0
"""Seconds any one step may take to show on screen (they take well under one)."""


def make_token(db: Path, role: str, subject: str | None, name: str) -> str:
    """A token from `token create`, which prints it alone on its last line (an admin's has no
    subject)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend",
            "token",
            "create",
            "--db",
            str(db),
            "--role",
            role,
            *(["--subject", subject] if subject else []),
            "--name",
            name,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


class Terminal:
    """One tmux session on its own tmux server (socket), running one command."""

    def __init__(self, tmp_path: Path) -> None:
        unique = uuid.uuid4().hex[:12]
        self.socket = f"slotbook-e2e-{unique}"
        self.session = f"slotbook-{unique}"
        # Our own config: the user's ~/.tmux.conf stays out, and the pane stays after the app
        # exits, so that a crash's last words can still be captured.
        self.config = tmp_path / "tmux.conf"
        self.config.write_text("set-option -g remain-on-exit on\n")
        self.status_file = tmp_path / "exit-status"
        """The shell in the pane writes the command's exit status here when it ends. (tmux's own
        #{pane_dead_status} is not reliable: its server sometimes leaves the app a zombie.)"""
        self.socket_path: Path | None = None

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=check,
        )

    def start(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        # COLUMNS and LINES go: a test process may have them (readline exports them), and they
        # would override the pane's real size.
        settings = [f"{k}={v}" for k, v in env.items()]
        run = shlex.join(["env", "-u", "COLUMNS", "-u", "LINES", *settings, *command])
        shell = f"{run}; echo $? > {shlex.quote(str(self.status_file))}"
        self.tmux(
            "new-session",
            "-d",
            "-s",
            self.session,
            "-x",
            str(WIDTH),
            "-y",
            str(HEIGHT),
            "-c",
            str(cwd),
            shell,
        )
        found = self.tmux("display-message", "-p", "-t", self.session, "#{socket_path}")
        self.socket_path = Path(found.stdout.strip())

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session, check=False).stdout

    def coloured_screen(self) -> str:
        """The screen with the colours the terminal draws it in (SGR codes)."""
        return self.tmux("capture-pane", "-p", "-e", "-t", self.session, check=False).stdout

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def wait_for(
        self, *texts: str, without: tuple[str, ...] = (), timeout: float = STEP_TIMEOUT
    ) -> str:
        """The screen, once it shows every one of `texts` and none of `without`; fails with the
        last screen if it never does."""
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if all(text in shown for text in texts) and not any(text in shown for text in without):
                return shown
            if self.exit_status() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"the screen never showed {texts!r} without {without!r}; it shows:\n{shown}"
        )

    def exit_status(self) -> int | None:
        """The command's exit status once it has ended, else None."""
        try:
            written = self.status_file.read_text()
        except FileNotFoundError:
            return None
        return int(written) if written.endswith("\n") else None  # else: being written

    def wait_for_exit(self, timeout: float = STEP_TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.exit_status()
            if status is not None:
                return status
            time.sleep(0.05)
        raise AssertionError(f"the app did not quit; the screen shows:\n{self.screen()}")

    def alive(self) -> bool:
        return self.tmux("has-session", "-t", self.session, check=False).returncode == 0

    def kill(self) -> None:
        """End the session and this socket's tmux server (ours alone): the app, if it is still
        running, gets a hang-up as its terminal goes."""
        self.tmux("kill-session", "-t", self.session, check=False)
        self.tmux("kill-server", check=False)
        if self.socket_path is not None:  # tmux leaves its socket file behind
            self.socket_path.unlink(missing_ok=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.kill()
    assert not term.alive()


def app_environment(tmp_path: Path) -> dict[str, str]:
    """What the app runs with: a colour terminal, and no settings of the user's own."""
    return {
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "SLOTBOOK_DATA_DIR": str(tmp_path / "data"),
        "SLOTBOOK_SERVER": "",
        "SLOTBOOK_TOKEN": "",
        "SLOTBOOK_TZ": "",
        "SLOTBOOK_CONFIG": "",
    }


def test_a_client_books_the_next_open_slot_with_the_slotbook_command(
    tmp_path: Path, terminal: Terminal
) -> None:
    db = tmp_path / "slotbook.db"
    with ServerProcess(db) as server:
        provider = make_token(db, "provider", "ada", "Dr Ada Lovelace")
        client = make_token(db, "client", "bob", "Bob Baker")
        # Two days ahead at 10:00-12:00 UTC: well past the 24 hours' notice, on the 15-minute grid.
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        first = day + timedelta(days=2, hours=10)
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {provider}"}, timeout=30
        ) as http:
            submitted = http.post(
                "/availability",
                json={
                    "startTime": format_time(first.timestamp()),
                    "endTime": format_time((first + timedelta(hours=2)).timestamp()),
                },
            )
            assert submitted.status_code in (200, 201), submitted.text

        terminal.start(
            [sys.executable, "-m", "tui", "--server", server.url, "--token", client, "--tz", "UTC"],
            app_environment(tmp_path),
            cwd=tmp_path,
        )
        try:
            # Live, with Dr Ada listed: her next open slot is the one we opened.
            next_open = first.strftime("next %a %d %H:%M")
            terminal.wait_for("● live", "Bob Baker (client)", "Dr Ada Lovelace", next_open)
            # The week opens with the cursor on her first free slot; when that is in next week
            # (two days from a Saturday or Sunday), the week is today's and n finds it.
            if first.isocalendar()[:2] != day.isocalendar()[:2]:
                terminal.send("n")
            when = first.strftime("%a %d %b %H:%M")
            terminal.wait_for(f"{when}  ·  free: Enter holds it")
            terminal.send("Enter")
            terminal.wait_for("Held for you", "left (until", "Confirm (c)")
            terminal.send("c")
            # The "Booked" toast (above the info line, for a few seconds) and
            # the slot drawn as the client's own booking.
            # The dialog closes as the toast comes: a frame may show both for a moment.
            terminal.wait_for(
                "Booked", f"{when} with Dr Ada Lovelace", "◉ mine", without=("Held for you",)
            )
            # Read from the terminal itself: every character legible (WCAG AA).
            drawn = terminal_cells(terminal.coloured_screen(), WHITE, BLACK)
            assert len(drawn) > 500
            faint = [
                f"{c.char!r} at {c.x},{c.y}: {c.ratio:.2f}:1"
                for c, _ in drawn
                if c.ratio < c.needed
            ]
            assert faint == []

            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {client}"}, timeout=30
            ) as http:
                listed = http.get("/reservations")
            assert listed.status_code == 200, listed.text
            reservations = listed.json()["reservations"]
            assert [(r["timestamp"], r["status"], r["clientId"]) for r in reservations] == [
                (format_time(first.timestamp()), "CONFIRMED", "bob")
            ]
            assert reservations[0]["providerId"] == "ada"

            terminal.send("C-q")
            assert terminal.wait_for_exit() == 0
        except BaseException:
            print(terminal.screen())  # what the app showed last, in the test's output
            raise
