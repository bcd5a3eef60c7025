"""Fixtures for terminal-app tests: a real server in a thread, on a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.runtime.clock import ManualClock
from shared.timefmt import parse_time
from tests.sqlite_template import migrated_copy
from tests.tui.harness import BackendThread

TUI_T0 = parse_time("2030-03-04 09:00:00")
"""Monday 4 March 2030, 09:00 UTC: the frozen 'now' of the app tests."""


@pytest.fixture
def frozen() -> ManualClock:
    return ManualClock(TUI_T0)


@pytest.fixture
def backend(tmp_path: Path, frozen: ManualClock) -> Iterator[BackendThread]:
    server = BackendThread(migrated_copy(tmp_path / "slotbook.db"), frozen)
    server.start()
    yield server
    server.close()
