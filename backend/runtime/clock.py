"""The only place that reads the time: rules and stores are handed a Clock, tests a fake one."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as UTC epoch seconds."""

    def now(self) -> float: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to: for tests and reproducible demos."""

    def __init__(self, start: float) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, epoch: float) -> None:
        self._now = epoch
