"""`python -m backend serve` as a real process: what it says when it starts, how it stops, and how
its settings are read from flags and SLOTBOOK_* environment variables.

Processes are slow to start, so each fixture launches its processes all at once and the tests
share them where that changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from backend.rules.booking import Rules
from backend.runtime.secret_box import SecretBox, new_key
from backend.runtime.settings import parse_serve_args
from backend.store.busy_records import BusySource
from backend.store.opening import open_store
from shared.grid import align_up
from shared.timefmt import format_time, parse_time
from tests.in_process import slotbook_server
from tests.postgres_server import PostgresForTests

OUTPUT_TIMEOUT = 60.0
"""Seconds to wait for a line or an exit before calling the process stuck: generous, since a
fixture starts some thirty processes at once, each measured by coverage, on a two-core machine
that may be running another suite."""

SERVER_SCRIPT = Path(sys.executable).with_name("slotbook-server")

STARTUP_LINE = re.compile(
    r"slotbook listening on (?P<url>http://127\.0\.0\.1:(?P<port>\d+))"
    r" database=(?P<database>\S+) sqlite=(?P<sqlite>\S+)"
    r" (?P<rules>slots=.+ hold=.+ notice=.+ max-holds=\d+) auth=(?P<auth>\S.*)$"
)

ACCESS_LOGGER = "slotbook.access"
"""The logger of the one line each request writes (left out where a test reads what the server
itself says)."""

EVERY_FLAG = {
    "--host": "SLOTBOOK_HOST",
    "--port": "SLOTBOOK_PORT",
    "--db": "SLOTBOOK_DB",
    "--slot-minutes": "SLOTBOOK_SLOT_MINUTES",
    "--hold-minutes": "SLOTBOOK_HOLD_MINUTES",
    "--notice-hours": "SLOTBOOK_NOTICE_HOURS",
    "--max-holds": "SLOTBOOK_MAX_HOLDS",
    "--max-appointment-minutes": "SLOTBOOK_MAX_APPOINTMENT_MINUTES",
    "--max-window-days": "SLOTBOOK_MAX_WINDOW_DAYS",
    "--max-waitlist": "SLOTBOOK_MAX_WAITLIST",
    "--offer-minutes": "SLOTBOOK_OFFER_MINUTES",
    "--synchronous": "SLOTBOOK_SYNCHRONOUS",
    "--read-threads": "SLOTBOOK_READ_THREADS",
    "--log-level": "SLOTBOOK_LOG_LEVEL",
    "--log-format": "SLOTBOOK_LOG_FORMAT",
    "--metrics-port": "SLOTBOOK_METRICS_PORT",
    "--workers": "SLOTBOOK_WORKERS",
    "--without": "SLOTBOOK_WITHOUT",
    "--no-auth": "SLOTBOOK_NO_AUTH",
    "--allow-private-addresses": "SLOTBOOK_ALLOW_PRIVATE_ADDRESSES",
    "--secret-key": "SLOTBOOK_SECRET_KEY",
}

ENV_VALUES = {
    "SLOTBOOK_HOST": "127.0.0.9",
    "SLOTBOOK_PORT": "8123",
    "SLOTBOOK_DB": "/srv/slotbook/from-env.db",
    "SLOTBOOK_SLOT_MINUTES": "30",
    "SLOTBOOK_HOLD_MINUTES": "0.05",
    "SLOTBOOK_NOTICE_HOURS": "2",
    "SLOTBOOK_MAX_HOLDS": "7",
    "SLOTBOOK_MAX_APPOINTMENT_MINUTES": "90",
    "SLOTBOOK_MAX_WINDOW_DAYS": "3",
    "SLOTBOOK_MAX_WAITLIST": "4",
    "SLOTBOOK_OFFER_MINUTES": "15",
    "SLOTBOOK_SYNCHRONOUS": "NORMAL",
    "SLOTBOOK_READ_THREADS": "2",
    "SLOTBOOK_LOG_LEVEL": "DEBUG",
    "SLOTBOOK_LOG_FORMAT": "json",
    "SLOTBOOK_METRICS_PORT": "9123",
    "SLOTBOOK_WORKERS": "3",
}
"""A distinct value for every flag that shows its default in --help (--no-auth shows none)."""


SECRET_KEY = new_key()
"""The --secret-key the servers below are given, which must show nowhere."""

MALFORMED_KEY = SECRET_KEY[:30]
"""A key cut short, as a bad copy-and-paste leaves it (never repeated in a message either)."""


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without any SLOTBOOK_* setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBOOK_")}
    env.update(PYTHONUNBUFFERED="1", COLUMNS="100")
    env.update(variables)
    return env


def backend_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "backend", *args]


def one_line(text: str) -> str:
    """Help text with its wrapping undone, so a phrase can be found whatever the terminal width."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Startup:
    url: str
    port: int
    database: str
    sqlite: str
    rules: str
    auth: str


class Process:
    """A child process whose stderr lines can be awaited one at a time, with a timeout."""

    def __init__(self, command: list[str], env: Mapping[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            command,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self.stdout = ""
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._startup: Startup | None = None
        self._closed = False
        self._stdout_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stdout_reader.start()
        self._stderr_reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self.stdout = self.process.stdout.read()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self) -> str | None:
        """The next line on stderr, or None once the process has closed it."""
        if self._closed:
            return None
        try:
            line = self._lines.get(timeout=OUTPUT_TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no output for {OUTPUT_TIMEOUT}s; so far {self.log}") from None
        if line is None:
            self._closed = True
        else:
            self.log.append(line)
        return line

    def started(self) -> Startup:
        """Wait for the first line, which must say where the server listens and how it is set."""
        if self._startup is None:
            first = self.next_line()
            assert first is not None, f"exited ({self.process.wait()}) without saying anything"
            found = STARTUP_LINE.search(first)
            assert found is not None, f"unexpected first line: {first!r}"
            self._startup = Startup(
                url=found["url"],
                port=int(found["port"]),
                database=found["database"],
                sqlite=found["sqlite"],
                rules=found["rules"],
                auth=found["auth"],
            )
        return self._startup

    def finish(self) -> int:
        """Wait for the process to exit, and for everything it wrote; return its exit status."""
        status = self.process.wait(timeout=OUTPUT_TIMEOUT)
        while self.next_line() is not None:
            pass
        self._release()
        return status

    def exit_status(self) -> int | None:
        """How a command that should answer and exit did exit; None if it started serving
        instead (it is then stopped)."""
        while (line := self.next_line()) is not None:
            if STARTUP_LINE.search(line):
                self.kill()
                return None
        return self.finish()

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.finish()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._release()

    def _release(self) -> None:
        """Close the pipes once both readers have seen them end."""
        self._stdout_reader.join(OUTPUT_TIMEOUT)
        self._stderr_reader.join(OUTPUT_TIMEOUT)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


# --- running servers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-command")


@pytest.fixture(scope="module")
def servers(workdir: Path) -> Iterator[dict[str, Process]]:
    """Every server these tests need, started together."""

    def db(name: str) -> str:
        return str(workdir / f"{name}.db")

    def serve(flags: list[str], **env: str) -> Process:
        return Process(backend_command("serve", *flags), environment(**env), workdir)

    defaults = ["--port", "0", "--no-auth"]
    launched = {
        "defaults": serve([*defaults, "--db", db("defaults")]),
        "SIGTERM": serve([*defaults, "--db", db("SIGTERM")]),
        "SIGINT": serve([*defaults, "--db", db("SIGINT")]),
        "env": serve(
            [],
            SLOTBOOK_HOST="127.0.0.1",
            SLOTBOOK_PORT="0",
            SLOTBOOK_DB=db("env"),
            SLOTBOOK_NO_AUTH="1",
            SLOTBOOK_SLOT_MINUTES="30",
            SLOTBOOK_HOLD_MINUTES="0.05",
            SLOTBOOK_NOTICE_HOURS="2",
            SLOTBOOK_MAX_HOLDS="7",
            SLOTBOOK_MAX_WINDOW_DAYS="2",
            SLOTBOOK_MAX_WAITLIST="3",
            SLOTBOOK_OFFER_MINUTES="20",
            SLOTBOOK_SYNCHRONOUS="normal",
            SLOTBOOK_READ_THREADS="2",
            SLOTBOOK_LOG_LEVEL="info",
        ),
        "flags": serve(
            [
                *defaults,
                "--db",
                db("flags"),
                "--slot-minutes",
                "5",
                "--hold-minutes",
                "0.05",
                "--notice-hours",
                "0",
                "--max-holds",
                "2",
            ],
            SLOTBOOK_PORT="1",
            SLOTBOOK_DB=db("env-loses"),
            SLOTBOOK_SLOT_MINUTES="30",
            SLOTBOOK_HOLD_MINUTES="10",
            SLOTBOOK_NOTICE_HOURS="48",
            SLOTBOOK_MAX_HOLDS="9",
        ),
        "secret-key-flag": serve(
            [
                *defaults,
                *("--db", db("secret-key-flag")),
                *("--secret-key", SECRET_KEY, "--allow-private-addresses"),
            ]
        ),
        "secret-key-env": serve(
            [*defaults, "--db", db("secret-key-env"), "--allow-private-webhooks"],
            SLOTBOOK_SECRET_KEY=SECRET_KEY,
        ),
    }
    yield launched
    for process in launched.values():
        process.kill()


def test_serve_starts_and_logs_one_line_with_address_database_and_rules(
    servers: dict[str, Process], workdir: Path
) -> None:
    server = servers["defaults"]

    started = server.started()

    assert started.port > 0
    assert started.database == str((workdir / "defaults.db").resolve())
    assert started.sqlite == sqlite3.sqlite_version
    assert started.rules == "slots=15 minutes hold=30 minutes notice=24 hours max-holds=5"
    health = httpx.get(f"{started.url}/healthz", timeout=OUTPUT_TIMEOUT)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_server_cleanly(
    servers: dict[str, Process], workdir: Path, signum: signal.Signals
) -> None:
    server = servers[signum.name]
    started = server.started()
    submitted = httpx.post(
        f"{started.url}/availability",
        json={
            "providerId": "p1",
            "startTime": "2100-01-04 10:00:00",
            "endTime": "2100-01-04 11:00:00",
        },
        timeout=OUTPUT_TIMEOUT,
    )
    assert submitted.status_code == 201, submitted.text

    status = server.stop(signum)

    assert status == 0, server.log
    messages = [line.split(": ", 1)[-1] for line in server.log if ACCESS_LOGGER not in line]
    assert messages[1:] == [
        "--no-auth: every caller is trusted and may act as anyone; for local development only",
        "slotbook shutting down",
        "slotbook stopped",
    ], server.log
    database = workdir / f"{signum.name}.db"
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the WAL was checkpointed on close"
    with closing(sqlite3.connect(database)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT COUNT(*) FROM slots").fetchone() == (4,)


def test_every_setting_is_read_from_its_environment_variable(
    servers: dict[str, Process], workdir: Path
) -> None:
    started = servers["env"].started()

    assert started.database == str((workdir / "env.db").resolve())
    assert started.port > 0, "SLOTBOOK_PORT=0 picked a free port"
    assert started.rules == "slots=30 minutes hold=3 seconds notice=2 hours max-holds=7"
    assert started.auth.startswith("off")
    three_days = httpx.get(
        f"{started.url}/availability",
        params={"startTime": "2100-01-04 00:00:00", "endTime": "2100-01-07 00:00:00"},
        timeout=OUTPUT_TIMEOUT,
    )
    assert three_days.status_code == 422, "SLOTBOOK_MAX_WINDOW_DAYS=2 caps a listing at 2 days"
    rules = httpx.get(f"{started.url}/rules", timeout=OUTPUT_TIMEOUT).json()
    assert (rules["maxWaitlist"], rules["offerMinutes"]) == (3, 20)


def test_flags_beat_environment_variables(servers: dict[str, Process], workdir: Path) -> None:
    started = servers["flags"].started()

    assert started.database == str((workdir / "flags.db").resolve())
    assert started.port > 1
    assert started.rules == "slots=5 minutes hold=3 seconds notice=0 seconds max-holds=2"


def test_fractional_hold_gives_a_three_second_hold(servers: dict[str, Process]) -> None:
    started = servers["flags"].started()  # --hold-minutes 0.05 --notice-hours 0, 5-minute slots
    start = align_up(time.time() + 60, 300)
    window = {"providerId": "p1", "startTime": format_time(start)}
    submitted = httpx.post(
        f"{started.url}/availability",
        json={**window, "endTime": format_time(start + 300)},
        timeout=OUTPUT_TIMEOUT,
    )
    assert submitted.status_code == 201, submitted.text
    [slot] = submitted.json()["timeSlots"]

    reserved = httpx.post(
        f"{started.url}/availability/reserve",
        json={"clientId": "c1", "timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
        timeout=OUTPUT_TIMEOUT,
    )

    assert reserved.status_code == 201, reserved.text
    hold = reserved.json()["reservation"]
    assert parse_time(hold["expiresAt"]) - parse_time(hold["reservedAt"]) == 3


@pytest.mark.parametrize("case", ["secret-key-flag", "secret-key-env"])
def test_a_server_given_a_secret_key_starts_without_showing_it(
    servers: dict[str, Process], case: str
) -> None:
    server = servers[case]

    started = server.started()

    assert httpx.get(f"{started.url}/healthz", timeout=OUTPUT_TIMEOUT).status_code == 200
    [line] = server.log[:1]
    assert STARTUP_LINE.search(line)
    assert SECRET_KEY not in line


@pytest.mark.parametrize(
    ("case", "status"),
    [("defaults", 422), ("secret-key-flag", 201), ("secret-key-env", 201)],
    ids=["neither-refuses", "allow-private-addresses", "older-name-allow-private-webhooks"],
)
def test_either_name_of_the_private_addresses_flag_lets_a_webhook_go_to_loopback(
    servers: dict[str, Process], case: str, status: int
) -> None:
    started = servers[case].started()

    registered = httpx.post(
        f"{started.url}/webhooks",
        json={"url": "http://127.0.0.1:9/hook"},
        timeout=OUTPUT_TIMEOUT,
    )

    assert registered.status_code == status, registered.text
    if status == 422:
        assert "--allow-private-addresses" in registered.json()["detail"], "what would open it"


PRIVATE_ADDRESS_SPELLINGS = {
    "flag": (["--allow-private-addresses"], {}),
    "older-flag": (["--allow-private-webhooks"], {}),
    "env": ([], {"SLOTBOOK_ALLOW_PRIVATE_ADDRESSES": "1"}),
    "older-env": ([], {"SLOTBOOK_ALLOW_PRIVATE_WEBHOOKS": "true"}),
}


@pytest.mark.parametrize(
    ("flags", "env"), PRIVATE_ADDRESS_SPELLINGS.values(), ids=PRIVATE_ADDRESS_SPELLINGS.keys()
)
def test_private_addresses_are_allowed_by_either_name_as_flag_or_variable(
    flags: list[str], env: dict[str, str]
) -> None:
    assert parse_serve_args(flags, environ=env).allow_private_addresses
    assert not parse_serve_args([]).allow_private_addresses


# --- commands that answer and exit ---------------------------------------------------------------


@dataclass(frozen=True)
class BadSetting:
    flags: list[str]
    names: str
    """What the message must name: the flag at fault."""
    env: dict[str, str] = field(default_factory=dict)


BAD_SETTINGS = {
    "slot-not-dividing-a-day": BadSetting(["--slot-minutes", "7.3"], "--slot-minutes"),
    "slot-zero": BadSetting(["--slot-minutes", "0"], "--slot-minutes"),
    "slot-nan": BadSetting(["--slot-minutes", "nan"], "--slot-minutes"),
    "hold-zero": BadSetting(["--hold-minutes", "0"], "--hold-minutes"),
    "hold-nan": BadSetting(["--hold-minutes", "nan"], "--hold-minutes"),
    "max-holds-zero": BadSetting(["--max-holds", "0"], "--max-holds"),
    "max-holds-zero-from-env": BadSetting([], "--max-holds", {"SLOTBOOK_MAX_HOLDS": "0"}),
    "max-waitlist-zero": BadSetting(["--max-waitlist", "0"], "--max-waitlist"),
    "offer-minutes-zero-from-env": BadSetting(
        [], "--offer-minutes", {"SLOTBOOK_OFFER_MINUTES": "0"}
    ),
    "synchronous-unknown": BadSetting(["--synchronous", "SOMETIMES"], "--synchronous"),
    "read-threads-negative": BadSetting(["--read-threads", "-1"], "--read-threads"),
    "log-level-unknown": BadSetting(["--log-level", "LOUD"], "--log-level"),
    "workers-zero": BadSetting(["--workers", "0"], "--workers"),
    "workers-over-sqlite": BadSetting(["--workers", "2"], "--workers"),
    "workers-over-sqlite-from-env": BadSetting([], "--workers", {"SLOTBOOK_WORKERS": "4"}),
    "secret-key-malformed": BadSetting(["--secret-key", MALFORMED_KEY], "--secret-key"),
    "secret-key-malformed-from-env": BadSetting(
        [], "--secret-key", {"SLOTBOOK_SECRET_KEY": MALFORMED_KEY}
    ),
}


@dataclass(frozen=True)
class Finished:
    status: int | None
    """None when it started serving instead of exiting (and was stopped)."""
    stdout: str
    stderr: str


NOWHERE = "postgresql://slotbook@127.0.0.1:1/slotbook"
"""A PostgreSQL URL with no server behind it (nothing listens on port 1)."""


@pytest.fixture(scope="module")
def taken_port() -> Iterator[int]:
    """A port this test listens on, without SO_REUSEPORT, so no server can share it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def finished(workdir: Path, taken_port: int) -> dict[str, Finished]:
    """Run every command that should answer and exit, and collect what they said.

    Those that only read their flags and answer run in this process (tests/in_process.py), since
    a process would add nothing but its start: --help, and every bad setting (refused before
    anything is opened; each names a folder as its database, so that one accepted by mistake
    fails at once instead of serving). The console script, and whatever starts or checks for
    worker processes, run as processes, all at once."""
    in_process: dict[str, tuple[list[str], dict[str, str]]] = {
        "help": (["--help"], {}),
        "serve-help": (["serve", "--help"], {}),
        "serve-help-env": (["serve", "--help"], ENV_VALUES),
        "serve-help-secret-key": (["serve", "--help"], {"SLOTBOOK_SECRET_KEY": SECRET_KEY}),
        "secret-key": (["secret-key"], {}),
        "secret-key-again": (["secret-key"], {}),
    }
    for case, bad in BAD_SETTINGS.items():
        in_process[case] = (["serve", "--port", "0", "--db", str(workdir), *bad.flags], bad.env)
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "script-help": ([str(SERVER_SCRIPT), "--help"], environment()),
        "script-serve-help": ([str(SERVER_SCRIPT), "serve", "--help"], environment()),
    }
    commands["orphan-worker"] = (
        # No process has a pid above 2**22 (Linux's largest), so the worker finds its parent gone.
        backend_command(
            "serve", "--port", "0", "--db", str(workdir / "orphan.db"), "--worker-of", "4194305"
        ),
        environment(),
    )
    commands["workers-port-taken"] = (
        backend_command("serve", "--port", str(taken_port), "--workers", "2", "--db", NOWHERE),
        environment(),
    )
    commands["workers-without-database"] = (
        backend_command("serve", "--port", "0", "--workers", "2", "--db", NOWHERE),
        environment(),
    )
    running = {name: Process(command, env, workdir) for name, (command, env) in commands.items()}
    answered = {
        name: slotbook_server(*args, env={"COLUMNS": "100", **env})
        for name, (args, env) in in_process.items()
    }
    return {
        **{
            name: Finished(ran.returncode, ran.stdout, ran.stderr) for name, ran in answered.items()
        },
        **{
            name: Finished(process.exit_status(), process.stdout, "\n".join(process.log))
            for name, process in running.items()
        },
    }


@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_bad_setting_exits_2_with_a_one_line_message(
    finished: dict[str, Finished], case: str
) -> None:
    result = finished[case]

    assert result.status == 2, f"exit status {result.status}; stderr:\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("slotbook-server: ")
    assert BAD_SETTINGS[case].names in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("case", ["secret-key-malformed", "secret-key-malformed-from-env"])
def test_a_malformed_secret_key_is_refused_saying_what_a_key_is_and_how_to_make_one(
    finished: dict[str, Finished], case: str
) -> None:
    message = one_line(finished[case].stderr)

    assert "32 random bytes in URL-safe base64" in message, "what a key looks like"
    assert "`slotbook-server secret-key` prints one; make one with it" in message, "how to get one"
    assert MALFORMED_KEY not in message


def test_secret_key_prints_a_new_key_the_server_takes_and_says_where_it_goes(
    finished: dict[str, Finished],
) -> None:
    result = finished["secret-key"]

    assert result.status == 0, result.stderr
    [key] = result.stdout.splitlines()
    assert key != finished["secret-key-again"].stdout.strip(), "a new one each time"
    box = parse_serve_args(["--secret-key", key]).secret_box
    assert box is not None
    assert SecretBox(key).open(box.seal("hunter2")) == "hunter2"
    [where] = result.stderr.splitlines()
    assert "--secret-key" in where
    assert "SLOTBOOK_SECRET_KEY" in where


def test_the_secret_key_is_not_shown_by_help(finished: dict[str, Finished]) -> None:
    result = finished["serve-help-secret-key"]

    assert result.status == 0
    assert SECRET_KEY not in result.stdout
    assert "(env SLOTBOOK_SECRET_KEY; never shown)" in one_line(result.stdout)


def test_more_than_one_worker_over_sqlite_is_refused_saying_why_and_what_to_do(
    finished: dict[str, Finished],
) -> None:
    message = one_line(finished["workers-over-sqlite"].stderr)

    assert "one writer per file" in message, "why"
    assert "--workers 1" in message, "what to do: one process"
    assert "PostgreSQL (--db postgresql://...)" in message, "or: move to PostgreSQL"


def test_a_worker_whose_parent_has_gone_does_not_start(finished: dict[str, Finished]) -> None:
    result = finished["orphan-worker"]

    assert result.status == 1, result.stderr
    assert "the parent of this worker has gone" in result.stderr
    assert "listening" not in result.stderr


def test_workers_on_a_taken_port_exit_1_before_starting_any(
    finished: dict[str, Finished], taken_port: int
) -> None:
    result = finished["workers-port-taken"]

    assert result.status == 1
    assert result.stderr.splitlines() == [
        f"slotbook-server: cannot listen on 127.0.0.1 port {taken_port}: Address already in use"
    ]


def test_workers_that_cannot_start_fail_the_group_with_status_1(
    finished: dict[str, Finished],
) -> None:
    result = finished["workers-without-database"]

    assert result.status == 1, result.stderr
    failures = re.findall(r"slotbook worker \d+ failed to start: exit status 1;", result.stderr)
    assert failures, result.stderr
    assert "restarts the whole group" in result.stderr
    assert result.stderr.splitlines()[-1].endswith("slotbook: slotbook stopped")
    assert "listening" not in result.stderr


def test_serve_help_lists_every_flag_with_its_environment_variable(
    finished: dict[str, Finished],
) -> None:
    result = finished["serve-help"]

    assert result.status == 0
    text = one_line(result.stdout)
    for flag, variable in EVERY_FLAG.items():
        assert f" {flag}" in text, flag
        assert f"env {variable}" in text, variable


def test_serve_help_shows_environment_values_as_the_defaults(
    finished: dict[str, Finished],
) -> None:
    result = finished["serve-help-env"]

    assert result.status == 0
    text = one_line(result.stdout)
    for variable, value in ENV_VALUES.items():
        assert f"(env {variable}; default {value})" in text, variable


def test_top_level_help_names_the_serve_command(finished: dict[str, Finished]) -> None:
    result = finished["help"]

    assert result.status == 0
    assert "usage: slotbook-server" in result.stdout
    assert re.search(r"^\s+serve\s+run the HTTP server", result.stdout, re.MULTILINE)


def test_console_script_answers_like_python_dash_m(finished: dict[str, Finished]) -> None:
    assert finished["script-help"].status == 0
    assert finished["script-help"].stdout == finished["help"].stdout
    assert finished["script-serve-help"].status == 0
    assert finished["script-serve-help"].stdout == finished["serve-help"].stdout


# --- several workers over PostgreSQL ------------------------------------------------------------

GROUP_LINE = re.compile(
    r"slotbook listening on (?P<url>http://127\.0\.0\.1:(?P<port>\d+)) .*"
    r" workers=(?P<workers>\d+) pids=(?P<pids>\d+(?:,\d+)*)$"
)


@dataclass(frozen=True)
class Group:
    parent: Process
    url: str
    port: int
    pids: list[int]

    @classmethod
    def from_line(cls, parent: Process, found: re.Match[str]) -> Group:
        pids = [int(pid) for pid in found["pids"].split(",")]
        assert int(found["workers"]) == len(pids)
        return cls(parent, found["url"], int(found["port"]), pids)


def group_started(parent: Process) -> Group:
    """The parent's one line saying that every worker listens (waited for, the first time)."""
    for seen in [*parent.log]:
        if found := GROUP_LINE.search(seen):
            return Group.from_line(parent, found)
    while (line := parent.next_line()) is not None:
        if found := GROUP_LINE.search(line):
            return Group.from_line(parent, found)
    raise AssertionError(f"exited ({parent.finish()}) before listening: {parent.log}")


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


TCP_LISTEN, TCP_ESTABLISHED = "0A", "01"


def sockets_on_port(pid: int, port: int, state: str, peers: set[int] | None = None) -> int:
    """How many TCP sockets of process `pid` in this state have `port` as their local port (and,
    given `peers`, one of those as the port at the other end)."""
    inodes: set[str] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if peers is not None and remote_port not in peers:
                continue
            if local_port == port and fields[3] == state and fields[9] in inodes:
                count += 1
    return count


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def postgres_url(postgres: PostgresForTests) -> Iterator[str]:
    """One database for every group of this module (each test uses ids of its own)."""
    url = postgres.copy()
    yield url
    postgres.drop(url)


@pytest.fixture(scope="module")
def groups(workdir: Path, postgres_url: str) -> Iterator[dict[str, Process]]:
    """Groups of two workers over one PostgreSQL database, started together."""

    def group(flags: list[str], **env: str) -> Process:
        command = backend_command("serve", "--port", "0", "--db", postgres_url, *flags)
        return Process(command, environment(**env), workdir)

    launched = {
        "SIGTERM": group(["--workers", "2", "--no-auth", "--rate", "0"]),
        "SIGINT": group([], SLOTBOOK_WORKERS="2"),
        "killed": group(["--workers", "2"]),
    }
    yield launched
    for process in launched.values():
        process.kill()


def test_workers_listen_together_on_one_port_chosen_by_port_0(
    groups: dict[str, Process],
) -> None:
    group = group_started(groups["SIGTERM"])

    assert group.port > 0
    assert len(group.pids) == 2
    for pid in group.pids:
        assert parent_pid(pid) == group.parent.process.pid
        assert sockets_on_port(pid, group.port, TCP_LISTEN) == 1, f"worker {pid} listens"
    assert sockets_on_port(group.parent.process.pid, group.port, TCP_LISTEN) == 0, (
        "the parent only holds the port"
    )
    health = httpx.get(f"{group.url}/healthz", timeout=OUTPUT_TIMEOUT)
    assert health.status_code == 200, health.text


def test_connections_are_spread_across_the_workers(groups: dict[str, Process]) -> None:
    group = group_started(groups["SIGTERM"])
    connections = [socket.create_connection(("127.0.0.1", group.port)) for _ in range(24)]
    try:
        for conn in connections:  # one answered request each: every one has been accepted
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: slotbook\r\n\r\n")
            assert conn.recv(4096).startswith(b"HTTP/1.1 200"), "kept alive after answering"

        # Only these connections: one another test left behind may not be closed yet.
        ours = {conn.getsockname()[1] for conn in connections}
        held = [sockets_on_port(pid, group.port, TCP_ESTABLISHED, ours) for pid in group.pids]
    finally:
        for conn in connections:
            conn.close()

    assert sum(held) == len(connections)
    assert min(held) > 0, f"each worker holds some of the connections: {held}"


async def test_one_slot_raced_through_both_workers_goes_to_one_client(
    groups: dict[str, Process],
) -> None:
    group = group_started(groups["SIGTERM"])  # --no-auth: ids in the body are trusted
    provider = f"race-{os.getpid()}"
    start = align_up(time.time() + 2 * 86400, 900)
    async with httpx.AsyncClient(base_url=group.url, timeout=OUTPUT_TIMEOUT) as http:
        submitted = await http.post(
            "/availability",
            json={
                "providerId": provider,
                "startTime": format_time(start),
                "endTime": format_time(start + 900),
            },
        )
        assert submitted.status_code == 201, submitted.text
        [slot] = submitted.json()["timeSlots"]

    async def reserve(client: str) -> int:
        # A connection of its own each, so the kernel spreads them across the workers.
        async with httpx.AsyncClient(base_url=group.url, timeout=OUTPUT_TIMEOUT) as http:
            answer = await http.post(
                "/availability/reserve",
                json={
                    "clientId": client,
                    "timeSlot": slot["timestamp"],
                    "timeSlotId": slot["timeSlotId"],
                },
            )
            return answer.status_code

    statuses = await asyncio.gather(*(reserve(f"c{n}") for n in range(60)))

    assert sorted(statuses) == [201] + [409] * 59


def test_a_token_made_by_the_command_in_postgresql_works_on_every_worker(
    groups: dict[str, Process], postgres_url: str
) -> None:
    made = subprocess.run(
        backend_command("token", "create", "--role", "admin", "--name", "Ops on call"),
        env=environment(SLOTBOOK_DB=postgres_url),
        capture_output=True,
        text=True,
        timeout=OUTPUT_TIMEOUT,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.splitlines()[-1]
    group = group_started(groups["SIGINT"])  # tokens required

    answers = [
        httpx.get(
            f"{group.url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=OUTPUT_TIMEOUT
        )
        for _ in range(12)  # a connection each: both workers answer some
    ]

    assert [answer.status_code for answer in answers] == [200] * 12
    assert {answer.json()["role"] for answer in answers} == {"admin"}
    listing = subprocess.run(
        backend_command("token", "list", "--db", postgres_url),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=OUTPUT_TIMEOUT,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    assert "Ops on call" in listing.stdout
    assert token not in listing.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_every_worker_and_the_group_exits_0(
    groups: dict[str, Process], signum: signal.Signals
) -> None:
    group = group_started(groups[signum.name])

    status = group.parent.stop(signum)

    assert status == 0, group.parent.log
    started = next(n for n, line in enumerate(group.parent.log) if GROUP_LINE.search(line))
    after = [
        line.split(": ", 1)[-1]
        for line in group.parent.log[started + 1 :]
        if ACCESS_LOGGER not in line
    ]
    no_auth = [
        "--no-auth: every caller is trusted and may act as anyone; for local development only"
    ]
    said_once = (no_auth if signum == signal.SIGTERM else []) + [
        "slotbook shutting down",
        "slotbook stopped",
    ]
    assert after == said_once, "the parent speaks for the group; workers add only access lines"
    assert not any(is_running(pid) for pid in group.pids)


def test_a_worker_that_dies_stops_the_others_and_the_group_exits_1(
    groups: dict[str, Process],
) -> None:
    group = group_started(groups["killed"])
    victim, survivor = group.pids

    os.kill(victim, signal.SIGKILL)
    status = group.parent.finish()

    assert status == 1, group.parent.log
    errors = [line for line in group.parent.log if " ERROR " in line]
    assert errors, group.parent.log
    assert f"slotbook worker {victim} died with signal SIGKILL" in errors[0]
    assert "restarts the whole group" in errors[0]
    assert not is_running(survivor)
    assert group.parent.log[-1].endswith("slotbook stopped")


def test_a_database_with_sealed_passwords_needs_its_secret_key_to_start(tmp_path: Path) -> None:
    """A calendar password is stored sealed with the server's key: without the key the server
    says so in one line and exits 2, rather than start and fail every refresh."""
    db = tmp_path / "sealed.db"
    key = new_key()

    async def store_a_source() -> None:
        store = await open_store(str(db), Rules())
        sealed = SecretBox(key).seal("hunter2")
        source = BusySource(
            source_id="s1", provider_id="p1", name="Work", kind="caldav",
            url="https://cal.example.org/p1/", username="p1", password_sealed=sealed,
            refresh_minutes=15, all_day_events="busy", created_at=0, updated_at=0, due_at=0,
        )  # fmt: skip
        await store.create_busy_source(source)
        await store.close()

    asyncio.run(store_a_source())
    refused = subprocess.run(
        backend_command("serve", "--db", str(db), "--port", "0"),
        capture_output=True, text=True, timeout=OUTPUT_TIMEOUT, env=environment(),
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    message = one_line(refused.stderr)
    assert message.startswith("slotbook-server: --secret-key is needed: 1 calendar password is")
    assert "Traceback" not in refused.stderr
