"""The change feed's live side: after each commit, read the new changes once and hand them to
every open /events stream and every waiting long-poll.

Each stream has a bounded buffer. A stream whose buffer overflows (its client reads too slowly) is
marked and ends with a `resync` event, so the server never holds more than the buffer for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from backend.store.base import ChangeRow, Store

log = logging.getLogger(__name__)

PAGE = 1000


class Subscription:
    """One /events stream's view of the feed."""

    def __init__(self, buffer: int) -> None:
        self.buffer = buffer
        self.pending: deque[ChangeRow] = deque()
        self.ready = asyncio.Event()
        self.overflowed = False
        self.closed = False

    def offer(self, changes: list[ChangeRow]) -> None:
        if self.overflowed or self.closed:
            return
        if len(self.pending) + len(changes) > self.buffer:
            self.overflowed = True
            self.pending.clear()
        else:
            self.pending.extend(changes)
        self.ready.set()

    def take(self) -> list[ChangeRow]:
        taken = list(self.pending)
        self.pending.clear()
        self.ready.clear()
        return taken

    def close(self) -> None:
        self.closed = True
        self.ready.set()


class ChangeHub:
    """Follows the change log and fans new changes out to subscribers and long-polls."""

    def __init__(self, store: Callable[[], Store], buffer: int) -> None:
        self._store = store
        self._buffer = buffer
        self._subscriptions: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.head = 0
        """The newest seq handed out."""

    async def start(self) -> None:
        self.head = (await self._store().change_bounds())[1]
        self._store().on_commit(self._wake.set)
        self._task = asyncio.create_task(self._pump(), name="slotbook-change-hub")

    async def stop(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.close()
        self._moved.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self) -> Subscription:
        subscription = Subscription(self._buffer)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    async def wait_beyond(self, seq: int, seconds: float) -> None:
        """Return when a change after `seq` has been handed out, or after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self.head <= seq:
            remaining = deadline - loop.time()
            if remaining <= 0 or (self._task is not None and self._task.done()):
                return
            moved = self._moved
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved.wait(), remaining)

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._hand_out_new_changes()
            except Exception:  # keep following the log; the next commit wakes us again
                log.exception("could not read new changes")
                await asyncio.sleep(0.5)
                self._wake.set()

    async def _hand_out_new_changes(self) -> None:
        while True:
            changes = await self._store().changes_since(self.head, PAGE)
            if not changes:
                return
            for subscription in self._subscriptions:
                subscription.offer(changes)
            self.head = changes[-1].seq
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()
            if len(changes) < PAGE:
                return
