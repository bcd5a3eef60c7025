"""The server's background tasks (the sweeper, the watches, the feed's pump) end the same way, and
wait for their events the same way.

A task that waits with a time limit uses `asyncio.timeout`, never `asyncio.wait_for`: on Python
3.11, wait_for returns normally when the wait is cancelled in the same turn of the event loop as
the awaited thing finishes, and so loses the cancellation. A loop that waits that way (the webhook
sender's, woken by a commit or a finished delivery just as the server stops) then never ends, and
the server's shutdown waits for it for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task (None: it never started) and wait until it has ended. A
    cancellation of the caller while it waits goes on to the caller (awaiting the task itself
    would take it for the task's own and swallow it); what the task failed with is raised."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.result()


async def wait_at_most(event: asyncio.Event, seconds: float) -> None:
    """Return once `event` is set, or after `seconds`, whichever comes first; a cancellation is
    never lost, even one that arrives as the event is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class Rounds:
    """A background task that does its work in rounds: one each time it is woken, and one every
    `every` seconds at the least. A round that fails is logged and the next one tries again; no
    two rounds of one Rounds overlap, whether the task or a caller (`run`) starts them."""

    def __init__(
        self, name: str, work: Callable[[], Awaitable[int]], *, every: float, log: logging.Logger
    ) -> None:
        self._name = name
        self._work = work
        self._every = every
        self._log = log
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._round = asyncio.Lock()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    def wake(self) -> None:
        """There may be work: a round now."""
        self._wake.set()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def run(self) -> int:
        """One round now, after the one under way if there is one; what the work counted."""
        async with self._round:
            return await self._work()

    async def _run(self) -> None:
        while True:
            await wait_at_most(self._wake, self._every)
            self._wake.clear()
            try:
                await self.run()
            except Exception:  # the next round tries again
                self._log.exception("%s: a round failed", self._name)
