"""Shared fixtures: the real app over a real database, served over a real socket, with a clock
that moves only when a test says so.

Every test that uses a database through `db` (and so the server fixtures) runs twice: over a
SQLite file, and over a fresh PostgreSQL database on the suite's own server
(tests/postgres_server.py). Those are marked `postgresql`: `-m 'not postgresql'` leaves them out,
`-m postgresql` runs only them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.app import create_app
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from tests.helpers import STORES, T0, TLS, Api, People
from tests.postgres_server import PostgresForTests, PostgresUnavailable, postgres_for_tests
from tests.radicale_server import CalendarServer, radicale_server
from tests.smtp_server import MailServer, mail_server
from tests.sqlite_template import migrated_copy


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs on the suite's PostgreSQL server")


UNTRACED_IN_PROCESS = (
    "tests/e2e/",
    "tests/backend/test_schema_fuzz.py",
    "tests/tui/test_contrast.py",
    "tests/backend/test_store_model.py",
)
"""Tests that coverage does not trace in this process, while their body runs (their fixtures are
measured): their own process runs next to no product code that other tests leave unrun, and tracing
made them cost 1.7 times as much. The end-to-end tests drive server processes, which coverage still
measures but where tests/e2e/conftest.py says (the fuzzer's server runs untraced too: its requests
reach no code the in-process tests leave unrun); the contrast checks show screens the screen tests
show, in every theme. (When this was decided, with every test traced, these covered one line and
three branches of the app that no other test did: the theme timer firing with no preferences folder,
and the identity switch cut short by the app's exit.) The store model drives the stores through the
operations the contract, API and race tests drive them through, thousands of times: traced, it was
the suite's longest test."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Run the body of a test of UNTRACED_IN_PROCESS with no trace function (for this thread, and
    for the threads it starts), then put coverage's back. Not pytest-cov's `no_cover`: in a
    pytest-xdist worker pytest-cov runs two coverages, one under the other, and pausing the one on
    top resumes the other."""
    if not item.nodeid.startswith(UNTRACED_IN_PROCESS):
        return (yield)
    tracing, for_threads = sys.gettrace(), threading.gettrace()
    sys.settrace(None)
    threading.settrace(None)
    try:
        return (yield)
    finally:
        threading.settrace(for_threads)
        sys.settrace(tracing)


LONGEST_FIRST = (
    "tests/backend/test_schema_fuzz.py",
    "tests/tui/test_contrast.py",
    "tests/backend/test_store_model.py",
    "tests/e2e/test_event_stream.py",
    "tests/backend/test_listing_cache.py",
)
"""Modules whose tests take 8 to 30 seconds each: they run first, so that with pytest-xdist
(`make test`) no worker is still in one of them when the others have nothing left to do."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs PostgreSQL, so `-m 'not postgresql'` leaves them all out; and
    move the modules of LONGEST_FIRST to the front, each kept whole and in order."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        if "postgres" in getattr(item, "fixturenames", ()) or "postgresql" in params:
            item.add_marker(pytest.mark.postgresql)

    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a module, and of the rest, is kept


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresForTests]:
    """The suite's PostgreSQL server, started on first use. Its absence fails the tests that
    need it, saying how to install it: nothing is skipped for want of a server."""
    try:
        with postgres_for_tests() as databases:
            yield databases
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def smtp() -> Iterator[MailServer]:
    """The suite's SMTP server on loopback (tests/smtp_server.py), started on first use: each
    test sends to addresses of its own (`smtp.address()`), so tests share it without meeting."""
    with mail_server() as server:
        yield server


@pytest.fixture(scope="session")
def radicale() -> Iterator[CalendarServer]:
    """The suite's CalDAV server on loopback (tests/radicale_server.py), started on first use:
    each test makes calendars of its own (`radicale.calendar()`), so tests share it without
    meeting."""
    with radicale_server() as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "slotbook.db"


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def db(store_kind: str, db_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The test's database, as --db names it: a SQLite file, or a PostgreSQL database of its own
    (each made from a migrated template; the PostgreSQL one dropped afterwards)."""
    if store_kind == "sqlite":
        yield str(migrated_copy(db_path))
        return
    databases: PostgresForTests = request.getfixturevalue("postgres")
    url = databases.copy()
    yield url
    databases.drop(url)


@pytest.fixture
def settings(db: str, db_path: Path) -> Settings:
    """No-auth mode, as the original API ran; no rate limit, so races are not throttled; mail
    into the test's own Maildir."""
    return Settings(db=db, no_auth=True, rate=0, mail_dir=str(db_path.parent / "mail"))


@pytest.fixture
async def server(settings: Settings, clock: ManualClock) -> AsyncIterator[TestServer]:
    running = TestServer(create_app(settings, clock=clock))
    await running.start_server()
    yield running
    await running.close()


@pytest.fixture
async def http(server: TestServer) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(
        base_url=str(server.make_url("")), timeout=60, limits=limits, verify=TLS
    ) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> Api:
    return Api(http)


# --- with access control on ---------------------------------------------------------------------


@pytest.fixture
def secure_settings(db: str, db_path: Path) -> Settings:
    """Tokens required, as a deployed server runs; no rate limit unless a test sets one; mail
    into the test's own Maildir."""
    return Settings(db=db, rate=0, mail_dir=str(db_path.parent / "mail"))


@pytest.fixture
async def secure_server(secure_settings: Settings, clock: ManualClock) -> AsyncIterator[TestServer]:
    running = TestServer(create_app(secure_settings, clock=clock))
    await running.start_server()
    yield running
    await running.close()


@pytest.fixture
async def anonymous(secure_server: TestServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the secure server that sends no token."""
    async with httpx.AsyncClient(
        base_url=str(secure_server.make_url("")), timeout=60, verify=TLS
    ) as client:
        yield client


@pytest.fixture
async def people(secure_server: TestServer) -> AsyncIterator[People]:
    """Tokens for an admin, providers p1 and p2, clients c1 and c2, and a revoked client token."""
    async with People.issue(secure_server) as issued:
        yield issued
