"""The embedded server as the app runs it: a real `python -m backend serve` child process, its
start, its health, its stop, its restart after a crash, and the app's admin token for it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tui.embedded import (
    LOG_LINES,
    EmbeddedServer,
    EmbeddedServerError,
    admin_token,
    admin_token_path,
    forget_admin_token,
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database in a folder that does not exist yet, as on a first run."""
    return tmp_path / "data" / "slotbook.db"


@pytest.fixture
async def server(db: Path) -> AsyncIterator[EmbeddedServer]:
    embedded = EmbeddedServer(db)
    await embedded.start()
    yield embedded
    await embedded.stop()


def gone(pid: int) -> bool:
    """True when no process has this id any more (it ended and was reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def is_file(path: Path) -> bool:
    return path.is_file()


async def get(url: str, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        return await http.get(path, headers=headers)


def fake_python(tmp_path: Path, body: str) -> str:
    """An executable that stands in for the interpreter, running `body` as a Python script (it
    ignores the `-m backend serve ...` arguments)."""
    script = tmp_path / "fake-python"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return str(script)


# --- starting and stopping -----------------------------------------------------------------------


async def test_start_gives_a_loopback_url_whose_healthz_answers(
    server: EmbeddedServer, db: Path
) -> None:
    assert server.running
    assert server.url is not None
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    assert (await get(server.url, "/healthz")).status_code == 200
    assert any(f"listening on {server.url}" in line for line in server.log)
    assert is_file(db)  # its folder was made, and the server made the database
    assert server.log.maxlen == LOG_LINES


async def test_start_when_running_returns_the_same_server(server: EmbeddedServer) -> None:
    pid = server.pid
    assert await server.start() == server.url
    assert server.pid == pid


async def test_stop_ends_the_process_within_its_timeout(server: EmbeddedServer) -> None:
    pid = server.pid
    assert pid is not None
    began = time.monotonic()
    await server.stop(timeout=5.0)
    assert time.monotonic() - began < 5.0
    assert not server.running
    assert gone(pid)
    assert any("slotbook stopped" in line for line in server.log)  # it shut down cleanly
    await server.stop()  # twice is fine


async def test_stop_before_start_does_nothing(db: Path) -> None:
    embedded = EmbeddedServer(db)
    await embedded.stop()
    assert not embedded.running
    assert embedded.url is None
    assert await embedded.wait() is None


async def test_a_server_that_cannot_open_its_database_says_why(tmp_path: Path) -> None:
    embedded = EmbeddedServer(tmp_path)  # a folder where the database file should be
    with pytest.raises(EmbeddedServerError) as raised:
        await embedded.start()
    message = str(raised.value)
    assert "exited (status 1) before it was ready" in message
    assert "unable to open database file" in message  # the server's own words, from its log
    assert not embedded.running
    assert embedded.log


async def test_a_bad_flag_is_reported_with_the_servers_usage_message(db: Path) -> None:
    embedded = EmbeddedServer(db, flags=["--slot-minutes", "7"])
    with pytest.raises(EmbeddedServerError, match="slot"):
        await embedded.start()
    assert not embedded.running


async def test_a_server_that_never_gets_ready_is_stopped_after_the_timeout(
    tmp_path: Path, db: Path
) -> None:
    said = tmp_path / "said-it"
    python = fake_python(
        tmp_path,
        f"""
        import pathlib, sys, time
        print("warming up", file=sys.stderr, flush=True)
        pathlib.Path({str(said)!r}).touch()
        time.sleep(60)
        """,
    )
    embedded = EmbeddedServer(db, python=python)
    # Launched first, as the app does; the budget starts once the child has spoken, however long
    # a busy machine takes to start it, so the timeout can only cut short a server that is slow.
    await embedded.launch()
    for _ in range(600):
        if said.exists():
            break
        await asyncio.sleep(0.1)
    with pytest.raises(EmbeddedServerError, match=r"not get ready within 0\.5 s") as raised:
        await embedded.start(timeout=0.5)
    assert "warming up" in str(raised.value)
    assert not embedded.running


async def test_a_server_that_ignores_sigterm_is_killed(tmp_path: Path, db: Path) -> None:
    python = fake_python(
        tmp_path,
        """
        import signal, sys
        from http.server import BaseHTTPRequestHandler, HTTPServer

        signal.signal(signal.SIGTERM, signal.SIG_IGN)

        class Health(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        httpd = HTTPServer(("127.0.0.1", 0), Health)
        print(f"stubborn listening on http://127.0.0.1:{httpd.server_port}", file=sys.stderr,
              flush=True)
        httpd.serve_forever()
        """,
    )
    embedded = EmbeddedServer(db, python=python)
    await embedded.start()
    pid = embedded.pid
    assert pid is not None
    began = time.monotonic()
    await embedded.stop(timeout=0.3)
    assert 0.3 <= time.monotonic() - began < 3.0
    assert gone(pid)


async def test_a_missing_interpreter_is_an_embedded_server_error(db: Path, tmp_path: Path) -> None:
    embedded = EmbeddedServer(db, python=str(tmp_path / "no-such-python"))
    with pytest.raises(EmbeddedServerError, match="cannot run"):
        await embedded.start()


async def test_restart_after_the_child_was_killed_gives_a_working_server(
    server: EmbeddedServer,
) -> None:
    first_pid = server.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    assert await server.wait() == -signal.SIGKILL
    assert not server.running
    url = await server.restart()
    assert server.running
    assert server.pid != first_pid
    assert url == server.url
    assert (await get(url, "/healthz")).status_code == 200


async def test_a_calendar_at_home_behind_a_password_is_taken_and_its_key_outlives_a_restart(
    server: EmbeddedServer, db: Path
) -> None:
    """One person's server reaches what they reach (a Radicale on this machine) and seals the
    calendar's password with a key of its own: a server holding sealed passwords starts only
    with the key they were sealed with."""
    assert server.url is not None
    token = await admin_token(db)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        added = await http.post(
            "/providers/p1/busy-sources",
            json={"name": "Home", "kind": "caldav", "url": "http://127.0.0.1:5232/ana/home/",
                  "username": "ana", "password": "the home password"},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
    assert added.status_code == 201, added.text
    key = db.parent / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().strip() not in " ".join(server.command())  # not for `ps` to show
    await server.stop()
    url = await server.restart()
    assert (await get(url, "/healthz")).status_code == 200


async def test_the_servers_environment_variables_do_not_reach_it(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    # Meant for the app, or for a server of the user's own: this would silence the line we await.
    monkeypatch.setenv("SLOTBOOK_LOG_LEVEL", "ERROR")
    monkeypatch.setenv("SLOTBOOK_NO_AUTH", "1")
    async with EmbeddedServer(db) as embedded:
        assert embedded.url is not None
        assert (await get(embedded.url, "/me")).status_code == 401  # tokens required


# --- the app's admin token -----------------------------------------------------------------------


async def test_admin_token_is_made_once_kept_private_and_works(
    server: EmbeddedServer, db: Path
) -> None:
    assert server.url is not None
    token = await admin_token(db)
    path = admin_token_path(db)
    assert path == db.parent / "admin.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == token
    assert await admin_token(db) == token  # kept, not made again

    listed = await get(server.url, "/tokens", token)
    assert listed.status_code == 200, listed.text
    tokens = listed.json()["tokens"]
    assert [(t["role"], t["name"]) for t in tokens] == [("admin", "slotbook app")]


async def test_a_forgotten_admin_token_is_replaced_by_a_new_one(
    server: EmbeddedServer, db: Path
) -> None:
    assert server.url is not None
    first = await admin_token(db)
    forget_admin_token(db)
    assert not admin_token_path(db).exists()
    forget_admin_token(db)  # twice is fine
    second = await admin_token(db)
    assert second != first
    listed = await get(server.url, "/tokens", second)
    assert listed.status_code == 200
    assert len(listed.json()["tokens"]) == 2


async def test_admin_token_failure_says_why(tmp_path: Path) -> None:
    not_a_database = tmp_path / "folder.db"
    not_a_database.mkdir()
    with pytest.raises(EmbeddedServerError, match="could not make the app's admin token"):
        await admin_token(not_a_database)
    assert not admin_token_path(not_a_database).exists()
