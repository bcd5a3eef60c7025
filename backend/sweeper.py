"""The expiry sweeper: reopens lapsed holds (announcing each on the feed) and trims old records.

Correctness never depends on it: the rules already treat a lapsed hold as open. The sweeper only
makes the stored status catch up and tells the feed's listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from backend.clock import Clock
from backend.store.base import Store

log = logging.getLogger(__name__)

PURGE_EVERY = 60
"""Sweeps between two purges of old changes and idempotency answers."""


class Sweeper:
    def __init__(
        self, store: Callable[[], Store], clock: Clock, every: float, keep_changes: float
    ) -> None:
        self._store = store
        self._clock = clock
        self._every = every
        self._keep_changes = keep_changes
        self._task: asyncio.Task[None] | None = None

    async def sweep_once(self, *, purge: bool = False) -> int:
        """Reopen every hold that has lapsed by now; return how many."""
        now = self._clock.now()
        reopened = await self._store().expire_lapsed(now)
        if purge:
            await self._store().purge(now, self._keep_changes)
        return reopened

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slotbook-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        sweeps = 0
        while True:
            await asyncio.sleep(self._every)
            sweeps += 1
            try:
                await self.sweep_once(purge=sweeps % PURGE_EVERY == 0)
            except Exception:  # the next sweep tries again
                log.exception("sweep failed")
