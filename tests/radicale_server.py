"""A real CalDAV server on loopback for the tests: Radicale (`radicale` from PyPI), run as a process
of its own with its collections in a temporary folder, on a free port of 127.0.0.1, with one user
and a password (htpasswd, plain). One per test session (`radicale` in tests/conftest.py), so one
per pytest-xdist worker, started on first use.

Tests that share it never meet: each makes calendars of its own (`calendar()`, a MKCALENDAR under
a new name) and puts its events there over CalDAV (`put`). `stopped()` stops the server for the
length of a block and starts it again on the same port, with the same collections: "a server that
is stopped mid-way".

The helpers are plain blocking calls (httpx's client): the server is another process, so a test's
event loop may call them directly.
"""

from __future__ import annotations

import itertools
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.postgres_server import free_port

USER = "provider"
PASSWORD = "correct horse battery staple"

STARTUP_SECONDS = 30.0
"""The longest a start may take to listen (it takes well under a second)."""

CONFIG = """\
[server]
hosts = 127.0.0.1:{port}

[auth]
type = htpasswd
htpasswd_filename = {users}
htpasswd_encryption = plain
# A wrong password is answered at once (the default waits a second first).
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {collections}

[web]
type = none

[logging]
level = warning
"""


class RadicaleUnavailable(RuntimeError):
    """Radicale did not start; the message holds its log."""


class CalendarServer:
    """A Radicale process: its address, the user's name and password, calendars made and events
    put over CalDAV, and stopping and starting it."""

    _numbers = itertools.count(1)

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.user = USER
        self.password = PASSWORD
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        (folder / "users").write_text(f"{USER}:{PASSWORD}\n")
        self._client = httpx.Client(auth=(USER, PASSWORD), timeout=30.0)

    @property
    def login(self) -> dict[str, str]:
        """The user name and password, as the calendar functions take them."""
        return {"username": self.user, "password": self.password}

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def _log(self) -> Path:
        return self.folder / "radicale.log"

    def start(self) -> None:
        """Start the server: on a free port the first time, on the same one after a stop (so the
        URLs handed out before it still lead there)."""
        if self._process is not None:
            return
        tries = 1 if self.port else 3  # another process may take a free port before Radicale
        for _ in range(tries):
            self.port = self.port or free_port()
            if self._launch():
                return
            if tries > 1:
                self.port = 0
        raise RadicaleUnavailable(
            f"Radicale did not listen on 127.0.0.1:{self.port}:\n{self._read_log()}"
        )

    def _launch(self) -> bool:
        config = self.folder / "config"
        config.write_text(
            CONFIG.format(
                port=self.port,
                users=self.folder / "users",
                collections=self.folder / "collections",
            )
        )
        with self._log.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "radicale", "--config", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
            except OSError:
                time.sleep(0.02)
                continue
            self._process = process
            return True
        process.kill()
        process.wait()
        return False

    def stop(self) -> None:
        """Stop the server (its collections stay): connections to it are refused until `start`."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._client.close()  # no kept-alive connection to the stopped process
        self._client = httpx.Client(auth=(USER, PASSWORD), timeout=30.0)

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """The server stopped for the length of the block, then started again on its port."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def close(self) -> None:
        self.stop()
        self._client.close()

    def _read_log(self) -> str:
        return self._log.read_text(errors="replace")[-4000:] if self._log.exists() else ""

    def calendar(self, name: str | None = None) -> str:
        """A new, empty calendar collection of the user (MKCALENDAR); its URL, ending in "/"."""
        name = name or f"calendar-{next(self._numbers)}-{secrets.token_hex(4)}"
        url = f"{self.origin}/{self.user}/{name}/"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set>"
            "</C:mkcalendar>"
        )
        # The user's own collection is made on the first request that authenticates.
        self._client.request("PROPFIND", f"{self.origin}/{self.user}/", headers={"Depth": "0"})
        answer = self._client.request(
            "MKCALENDAR", url, content=body, headers={"Content-Type": "application/xml"}
        )
        assert answer.status_code == 201, (answer.status_code, answer.text)
        return url

    def event_url(self, calendar: str, uid: str) -> str:
        return f"{calendar}{uid}.ics"

    def put(self, calendar: str, uid: str, ics: str | bytes) -> str:
        """Put an event resource (`<uid>.ics`) into a calendar, new or replacing; its ETag."""
        answer = self._client.put(
            self.event_url(calendar, uid),
            content=ics.encode() if isinstance(ics, str) else ics,
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        )
        assert answer.status_code in (201, 204), (answer.status_code, answer.text)
        return answer.headers["ETag"]

    def get(self, calendar: str, uid: str) -> tuple[bytes, str] | None:
        """An event resource as the server holds it, and its ETag; None when there is none."""
        answer = self._client.get(self.event_url(calendar, uid))
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, (answer.status_code, answer.text)
        return answer.content, answer.headers["ETag"]

    def delete(self, calendar: str, uid: str) -> None:
        answer = self._client.delete(self.event_url(calendar, uid))
        assert answer.status_code in (200, 204), (answer.status_code, answer.text)


@contextmanager
def radicale_server() -> Iterator[CalendarServer]:
    """A Radicale server on a free port of 127.0.0.1 until the block ends, its folder removed
    after."""
    folder = Path(tempfile.mkdtemp(prefix="slotbook-radicale-"))
    server = CalendarServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)
