"""A PostgreSQL server of the test suite's own, and a fresh database for each test that wants one.

By default the suite starts a private server from the installed PostgreSQL binaries
(/usr/lib/postgresql/<version>/bin, as Debian's `postgresql` package puts them): a data directory
and a socket directory in a temporary folder, a free port on 127.0.0.1, durability off (fsync,
synchronous_commit and full_page_writes: nothing here needs to survive a crash of the machine),
and stops it when the suite ends. initdb refuses to run as root, so as root the server runs as the
`postgres` user. SLOTBOOK_TEST_POSTGRES=postgresql://user@host:port/dbname uses a server that is
already running instead (the user needs the right to create databases).

Each test gets a database of its own, copied from a template that holds the migrated schema
(CREATE DATABASE ... TEMPLATE is a file copy, far quicker than migrating again), and dropped after.

Administration runs on a thread with an event loop of its own, so that it can be called alike from
plain code and from inside a test's running event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from backend.store.postgres.schema import apply_migrations

T = TypeVar("T")

EXISTING_SERVER = "SLOTBOOK_TEST_POSTGRES"
SERVER_USER = "postgres"
HOW_TO_INSTALL = (
    "The PostgreSQL half of the test suite needs a PostgreSQL server (15 or later). Install"
    " Debian's (`apt-get install -y postgresql`: the suite starts a private server of its own"
    " from /usr/lib/postgresql/*/bin, nothing is configured system-wide), or point"
    f" {EXISTING_SERVER}=postgresql://user@host:port/postgres at a running server where that"
    " user may create databases. Without PostgreSQL: `pytest -m 'not postgresql'`."
)
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "400",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}
"""Durability off for speed; room for many servers' pools at once."""

DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
"""What `postgres_for_tests(durable=True)` changes: a server as production runs one (the
benchmark's). Given on the command line, as the defaults are, since that beats ALTER SYSTEM."""


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started or reached; the message says how to get one."""


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a new event loop in another thread: callable from code
    that already runs inside an event loop."""

    async def runner() -> T:
        return await make()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, runner()).result()


def with_database(url: str, database: str) -> str:
    """The same server's URL, naming another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def find_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder, with initdb and pg_ctl in it."""

    def version(folder: str) -> float:
        try:
            return float(Path(folder).parent.name)
        except ValueError:
            return 0.0

    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateServer:
    """initdb, pg_ctl start and, at the end, pg_ctl stop and the folder removed."""

    def __init__(self, binaries: Path, *, durable: bool = False) -> None:
        self.binaries = binaries
        self.settings = {**SETTINGS, **(DURABLE if durable else {})}
        self.folder = Path(tempfile.mkdtemp(prefix="slotbook-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", SERVER_USER, "--"] if self.as_root else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(command[0]).name} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                f"\n{self._log()}"
            )

    def _log(self) -> str:
        log = self.folder / "server.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""

    def start(self) -> None:
        if self.as_root:
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, and there is no '{SERVER_USER}' user for the server to run"
                    " as (Debian's postgresql package makes one)"
                ) from None
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self._run(
            str(self.binaries / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SERVER_USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = [f"-c {name}={value}" for name, value in self.settings.items()]
        options += [f"-c port={self.port}", f"-c unix_socket_directories={self.folder}"]
        self._run(
            str(self.binaries / "pg_ctl"),
            "--pgdata",
            str(self.data),
            "--log",
            str(self.folder / "server.log"),
            "--wait",
            "--timeout",
            "60",
            "--options",
            " ".join(options),
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(PostgresUnavailable, OSError, subprocess.SubprocessError):
            self._run(
                str(self.binaries / "pg_ctl"),
                "--pgdata",
                str(self.data),
                "--mode",
                "immediate",
                "--wait",
                "stop",
            )
        shutil.rmtree(self.folder, ignore_errors=True)


class PostgresForTests:
    """A server, a migrated template database on it, and fresh databases made from it."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"slotbook_test_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def url(self, database: str) -> str:
        return with_database(self.admin_url, database)

    def admin(self, *statements: str) -> None:
        """Run statements on the server's maintenance database, as its administrator."""

        async def run() -> None:
            conn = await asyncpg.connect(self.admin_url, timeout=10)
            try:
                for statement in statements:
                    await conn.execute(statement)
            finally:
                await conn.close()

        run_sync(run)

    def prepare(self) -> None:
        """Make the template: an empty database with the current schema."""
        self.admin(
            f'DROP DATABASE IF EXISTS "{self.template}"', f'CREATE DATABASE "{self.template}"'
        )

        async def migrate() -> None:
            conn = await asyncpg.connect(self.url(self.template), timeout=10)
            try:
                await apply_migrations(conn)
            finally:
                await conn.close()

        run_sync(migrate)

    def copy(self, template: str | None = None) -> str:
        """A new database, a copy of the template (or of another database nobody is connected
        to); its URL."""
        with self._lock:
            name = f"{self.prefix}_{next(self._numbers)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template or self.template}"')
        return self.url(name)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def finish(self) -> None:
        """Drop whatever databases of this run are left (on a server that outlives the run)."""

        async def leftovers() -> list[str]:
            conn = await asyncpg.connect(self.admin_url, timeout=10)
            try:
                rows = await conn.fetch(
                    "SELECT datname FROM pg_database WHERE datname LIKE $1", f"{self.prefix}_%"
                )
                return [str(row[0]) for row in rows]
            finally:
                await conn.close()

        for name in run_sync(leftovers):
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def postgres_for_tests(*, durable: bool = False) -> Iterator[PostgresForTests]:
    """The server named by SLOTBOOK_TEST_POSTGRES, or else a private one (with `durable`, with
    fsync, synchronous_commit and full_page_writes on); raises PostgresUnavailable, saying how to
    get one, when neither can be had."""
    existing = os.environ.get(EXISTING_SERVER)
    server: PrivateServer | None = None
    if existing:
        admin_url = existing
    else:
        binaries = find_binaries()
        if binaries is None:
            raise PostgresUnavailable(f"No PostgreSQL binaries were found. {HOW_TO_INSTALL}")
        server = PrivateServer(binaries, durable=durable)
        try:
            server.start()
        except PostgresUnavailable as error:
            server.stop()
            raise PostgresUnavailable(
                f"Could not start a private PostgreSQL server: {error}\n{HOW_TO_INSTALL}"
            ) from None
        admin_url = server.url
    databases = PostgresForTests(admin_url)
    try:
        try:
            databases.prepare()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise PostgresUnavailable(
                f"Could not prepare a template database on {admin_url}: {error}\n{HOW_TO_INSTALL}"
            ) from None
        yield databases
        if server is None:
            databases.finish()
    finally:
        if server is not None:
            server.stop()
