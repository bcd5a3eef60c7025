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
from tests.helpers import T0, Api


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "slotbook.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(db=str(db_path), no_auth=True)


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
