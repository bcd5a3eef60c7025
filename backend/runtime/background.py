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
