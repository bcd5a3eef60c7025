"""The sweeper: reopens lapsed holds (announcing each on the feed), rolls weekly schedules
forward, and trims old records.

Correctness never depends on it for holds: the rules already treat a lapsed hold as open; the
sweeper only makes the stored status catch up and tells the feed's listeners. For schedules it is
what opens the slots of each date as it enters a schedule's horizon: the roll is asked for as soon
as a local midnight of some schedule has passed (it says when the next one falls), so a new date's
slots appear within a sweep of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from backend.runtime.background import cancel_and_wait
from backend.runtime.clock import Clock
from backend.runtime.metrics import Metrics
from backend.store.base import Store

log = logging.getLogger(__name__)

PURGE_EVERY = 60
"""Sweeps between two purges of old changes and idempotency answers."""

LOOK_AGAIN_SECONDS = 60.0
"""The longest the sweeper goes without looking for schedules to roll."""


class Sweeper:
    def __init__(
        self,
        store: Callable[[], Store],
        clock: Clock,
        every: float,
        keep_changes: float,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._every = every
        self._keep_changes = keep_changes
        self._task: asyncio.Task[None] | None = None
        self._roll_due = 0.0
        """When a schedule next needs rolling: at start, and after a schedule changes, at once."""

    def schedules_changed(self) -> None:
        """A schedule was set: roll at the next sweep (its zone may have a nearer midnight)."""
        self._roll_due = 0.0

    async def sweep_once(self, *, purge: bool = False) -> int:
        """Reopen every hold that has lapsed by now and roll schedules that are due; return how
        many holds were reopened."""
        now = self._clock.now()
        reopened = await self._store().expire_lapsed(now)
        self._metrics.lapsed.inc(reopened)
        await self.roll_if_due(now)
        if purge:
            await self._store().purge(now, self._keep_changes)
        return reopened

    async def roll_if_due(self, now: float) -> int:
        """Open the slots of dates that entered schedules' horizons; how many were opened."""
        if now < self._roll_due:
            return 0
        timed = self._metrics.timed_roll()
        rolled = await self._store().roll_schedules(now)
        timed()
        # At least once a minute, for schedules that another process set (over PostgreSQL).
        self._roll_due = min(rolled.next_due, now + LOOK_AGAIN_SECONDS)
        return rolled.created

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slotbook-sweeper")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        sweeps = 0
        while True:
            await asyncio.sleep(self._every)
            sweeps += 1
            try:
                await self.sweep_once(purge=sweeps % PURGE_EVERY == 0)
            except Exception:  # the next sweep tries again
                log.exception("sweep failed")
