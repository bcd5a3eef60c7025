"""Shared fixtures: the real app on a real SQLite file, served over a real socket, with a
clock that moves only when a test says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.app import create_app
from backend.clock import ManualClock
from backend.settings import Settings
from tests.helpers import T0, Api, People


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "slotbook.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    """No-auth mode, as the original API ran; no rate limit, so races are not throttled."""
    return Settings(db=str(db_path), no_auth=True, rate=0)


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
        base_url=str(server.make_url("")), timeout=60, limits=limits
    ) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> Api:
    return Api(http)


# --- with access control on ---------------------------------------------------------------------


@pytest.fixture
def secure_settings(db_path: Path) -> Settings:
    """Tokens required, as a deployed server runs; no rate limit unless a test sets one."""
    return Settings(db=str(db_path), rate=0)


@pytest.fixture
async def secure_server(secure_settings: Settings, clock: ManualClock) -> AsyncIterator[TestServer]:
    running = TestServer(create_app(secure_settings, clock=clock))
    await running.start_server()
    yield running
    await running.close()


@pytest.fixture
async def anonymous(secure_server: TestServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the secure server that sends no token."""
    async with httpx.AsyncClient(base_url=str(secure_server.make_url("")), timeout=60) as client:
        yield client


@pytest.fixture
async def people(secure_server: TestServer) -> AsyncIterator[People]:
    """Tokens for an admin, providers p1 and p2, clients c1 and c2, and a revoked client token."""
    async with People.issue(secure_server) as issued:
        yield issued
