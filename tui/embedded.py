"""The embedded server: `python -m backend serve` as a child process of the terminal app.

Without --server the app runs its own slotbook server on a free loopback port, over a database in
the user's data folder, and talks to it over HTTP like to any other. The server stays a separate
process (the app never imports it), so its work never competes with the interface, and a crash of
one does not take the other down: the app can `restart` a server that died.

The app reaches its own server with an admin token kept beside the database (`admin.token`, mode
0600); with it, it makes the provider and client tokens of the people the user acts as.

It is one person's server on their own machine, so it reaches what they reach: calendars on
loopback and private networks too (a Radicale at home, the office's Nextcloud), which a shared
server refuses unless told. And it seals the passwords of those calendars with a secret key of its
own, kept beside the database (`secret.key`, mode 0600) and handed to it in its environment, never
on its command line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import secrets
import signal
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx

from tui.identities import write_private_file

LOG_LINES = 200
"""How many of the server's last log lines are kept, to explain a failure."""

ADMIN_TOKEN_FILE = "admin.token"  # noqa: S105 - a file name, not a secret
SECRET_KEY_FILE = "secret.key"  # noqa: S105 - a file name, not a secret
"""Beside the database: the key the server seals calendar passwords with."""
ADMIN_TOKEN_NAME = "slotbook app"  # noqa: S105 - a label, not a secret
HEALTH_POLL_SECONDS = 0.05
"""Pause between /healthz attempts while the server finishes starting."""

_LISTENING = re.compile(r"listening on (http://\S+)")
_STREAM_LIMIT = 1 << 20
"""Longest log line read whole (longer ones are skipped, not fatal)."""


class EmbeddedServerError(Exception):
    """The embedded server could not be started (or asked for a token); the message carries the
    server's last log lines, which usually say why."""


class EmbeddedServer:
    """One `python -m backend serve` child on 127.0.0.1, a free port, and `db`."""

    def __init__(
        self, db: Path, *, python: str = sys.executable, flags: Sequence[str] = ()
    ) -> None:
        self.db = db
        self.python = python
        self.flags = tuple(flags)
        self.url: str | None = None
        """The server's address once started, e.g. http://127.0.0.1:43121."""
        self.log: deque[str] = deque(maxlen=LOG_LINES)
        """The server's last log lines (its stderr), oldest first."""
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        """The child's process id while there is one."""
        return self._process.pid if self._process is not None else None

    def command(self) -> list[str]:
        """The command line that starts the server."""
        return [
            self.python,
            *("-m", "backend", "serve"),
            *("--host", "127.0.0.1", "--port", "0", "--db", str(self.db)),
            "--allow-private-addresses",
            *self.flags,
        ]

    async def start(self, timeout: float = 20.0) -> str:  # noqa: ASYNC109 - a start budget
        """Start the server and return its URL once /healthz answers 200.

        Raises EmbeddedServerError, with the last log lines, if the process ends first or is not
        ready within `timeout` seconds (it is then stopped). Does nothing if already running.
        """
        if self.running and self.url is not None:
            return self.url
        launched = self._process if self.running and self._drain is None else None
        if launched is None:
            await self.stop()
        try:
            async with asyncio.timeout(timeout):
                process = launched or await self.launch()
                url = await self._wait_for_address(process)
                self._drain = asyncio.create_task(self._keep_reading(process))
                await self._wait_until_healthy(process, url)
        except TimeoutError:
            await self.stop()
            raise self._failure(f"the server did not get ready within {timeout:g} s") from None
        except BaseException:  # it failed, or we were cancelled: leave no child behind
            await self.stop()
            raise
        self.url = url
        return url

    async def launch(self) -> asyncio.subprocess.Process:
        """Start the server process without waiting for it to be ready: the app launches it
        first thing, so the server boots while the interface is still being imported."""
        self.db.parent.mkdir(parents=True, exist_ok=True)
        self.log.clear()
        self.url = None
        return await self._spawn()

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - grace before SIGKILL
        """Stop the server: SIGTERM, then SIGKILL if it has not ended within `timeout` seconds.

        Safe to call twice, before start, or after the process died on its own.
        """
        process, self._process = self._process, None
        if process is not None:
            await _end(process, timeout)
        drain, self._drain = self._drain, None
        if drain is not None:
            await _finish(drain)

    async def wait(self) -> int | None:
        """Wait until the child process ends (on its own, or killed) and return its exit status;
        None at once when there is no child. The app awaits this to notice a server that died."""
        process = self._process
        return None if process is None else await process.wait()

    async def restart(self) -> str:
        """Stop the server if it still runs, start it again, and return its (new) URL."""
        await self.stop()
        return await self.start()

    async def __aenter__(self) -> EmbeddedServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- starting ----------------------------------------------------------------------------

    async def _spawn(self) -> asyncio.subprocess.Process:
        """Run the server command with stderr piped to us."""
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                limit=_STREAM_LIMIT,
                env={**child_environment(), "SLOTBOOK_SECRET_KEY": secret_key(self.db)},
                preexec_fn=_die_with_parent,
            )
        except OSError as error:
            raise EmbeddedServerError(f"cannot run {self.python}: {error}") from None
        return self._process

    async def _wait_for_address(self, process: asyncio.subprocess.Process) -> str:
        """Read log lines until the server says where it listens."""
        assert process.stderr is not None
        while True:
            line = await _read_line(process.stderr)
            if line is None:
                code = await process.wait()
                raise self._failure(f"the server exited (status {code}) before it was ready")
            self.log.append(line)
            found = _LISTENING.search(line)
            if found:
                return found.group(1)

    async def _keep_reading(self, process: asyncio.subprocess.Process) -> None:
        """Keep the last log lines, and the pipe empty, until the server ends."""
        assert process.stderr is not None
        while (line := await _read_line(process.stderr)) is not None:
            self.log.append(line)

    async def _wait_until_healthy(self, process: asyncio.subprocess.Process, url: str) -> None:
        """Ask /healthz until it answers 200 (the database is open and answering)."""
        async with httpx.AsyncClient(base_url=url, timeout=2.0) as http:
            while True:
                if process.returncode is not None:
                    raise self._failure(
                        f"the server exited (status {process.returncode}) before it was ready"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(HEALTH_POLL_SECONDS)

    def _failure(self, what: str) -> EmbeddedServerError:
        """An error saying what went wrong, followed by the server's last log lines."""
        tail = "\n".join(list(self.log)[-20:]) or "(the server wrote nothing)"
        return EmbeddedServerError(f"{what}; its log ends:\n{tail}")


def _die_with_parent() -> None:
    """In the child, before it runs the server: on Linux, ask for SIGTERM when the app dies, so
    that even a killed app leaves no server behind."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def child_environment() -> dict[str, str]:
    """Our environment without SLOTBOOK_* variables. The server reads every SLOTBOOK_<FLAG> as a
    default, and the user's variables are meant for the app (SLOTBOOK_DB, SLOTBOOK_TOKEN) or for
    a server of their own (SLOTBOOK_NO_AUTH, SLOTBOOK_LOG_LEVEL=WARNING would hide the line we
    wait for): the embedded server is configured by its flags alone."""
    return {name: value for name, value in os.environ.items() if not name.startswith("SLOTBOOK_")}


async def _read_line(stream: asyncio.StreamReader) -> str | None:
    """The next line without its newline; None at the end of the stream."""
    try:
        raw = await stream.readline()
    except ValueError:  # longer than the stream's limit: asyncio dropped it
        return "[a log line too long to keep]"
    if not raw:
        return None
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


async def _end(process: asyncio.subprocess.Process, grace: float) -> None:
    """Ask the process to stop, and kill it if it does not within `grace` seconds."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
            return
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    await process.wait()


async def _finish(task: asyncio.Task[None]) -> None:
    """Let the log reader reach the end of the closed pipe; cancel it if that takes long."""
    done, _ = await asyncio.wait({task}, timeout=1.0)
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def secret_key(db: Path) -> str:
    """The key the server of `db` seals passwords with: the saved one, or a new one (32 random
    bytes in URL-safe base64, as Fernet takes them) saved (mode 0600) beside the database. Kept
    for good: passwords sealed with it cannot be read without it."""
    path = db.parent / SECRET_KEY_FILE
    saved = _read_saved(path)
    if saved is not None:
        return saved
    db.parent.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    write_private_file(path, (key + "\n").encode())
    return key


# --- the app's admin token -------------------------------------------------------------------


def admin_token_path(db: Path) -> Path:
    """Where the app keeps its admin token for the database `db`."""
    return db.parent / ADMIN_TOKEN_FILE


async def admin_token(db: Path, *, python: str = sys.executable) -> str:
    """The app's admin token for `db`: the saved one, or a new one made with
    `python -m backend token create` and saved (mode 0600) beside the database."""
    path = admin_token_path(db)
    saved = _read_saved(path)
    if saved is not None:
        return saved
    db.parent.mkdir(parents=True, exist_ok=True)
    token = await _create_admin_token(db, python)
    write_private_file(path, (token + "\n").encode())
    return token


def forget_admin_token(db: Path) -> None:
    """Delete the saved admin token (the server no longer accepts it); admin_token makes anew."""
    admin_token_path(db).unlink(missing_ok=True)


def _read_saved(path: Path) -> str | None:
    """The token saved in `path`, if there is one."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


async def _create_admin_token(db: Path, python: str) -> str:
    """Make an admin token straight in the database; the command prints it on its last line."""
    command = [
        *(python, "-m", "backend", "token", "create"),
        *("--db", str(db), "--role", "admin", "--name", ADMIN_TOKEN_NAME),
    ]
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_environment(),
        )
    except OSError as error:
        raise EmbeddedServerError(f"cannot run {python}: {error}") from None
    out, err = await process.communicate()
    lines = [line.strip() for line in out.decode("utf-8", errors="replace").splitlines()]
    lines = [line for line in lines if line]
    if process.returncode != 0 or not lines:
        said = "\n".join(err.decode("utf-8", errors="replace").strip().splitlines()[-10:])
        raise EmbeddedServerError(
            f"could not make the app's admin token for {db} (status {process.returncode}):"
            f" {said or '(it said nothing)'}"
        )
    return lines[-1]
