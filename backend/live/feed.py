"""The change feed's live side: after each commit, take the new changes in once (handed over by
the store when it knows them, else read from the log), keep the latest in a bounded ring shared
by every stream, tell the listeners (the listing cache), and wake the /events streams and
long-polls.

A stream keeps only its position. It takes what follows from the ring, or, when it has fallen
further behind than the ring reaches, from the log itself; so a burst of any size reaches a client
that keeps reading, and no stream holds a buffer of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence

from backend.runtime.background import cancel_and_wait, wait_at_most
from backend.store.base import ChangeRow, Store

log = logging.getLogger(__name__)

PAGE = 1000


class Subscription:
    """One /events stream: woken when there is something after its position."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.closed = False

    def wake(self) -> None:
        self.ready.set()

    def close(self) -> None:
        self.closed = True
        self.ready.set()


class ChangeHub:
    """Follows the change log and wakes subscribers and long-polls."""

    def __init__(self, store: Callable[[], Store], ring: int) -> None:
        self._store = store
        self._ring: deque[ChangeRow] = deque(maxlen=max(1, ring))
        self._subscriptions: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[Sequence[ChangeRow]], None]] = []
        self.head = 0
        """The newest seq handed out."""

    async def start(self) -> None:
        self.head = (await self._store().change_bounds())[1]
        self._store().on_commit(self._committed)
        self._task = asyncio.create_task(self._pump(), name="slotbook-change-hub")

    def listen(self, callback: Callable[[Sequence[ChangeRow]], None]) -> None:
        """Have `callback` called with every run of new changes, in seq order, as the hub takes
        them in (before any stream or long-poll hears of them)."""
        self._listeners.append(callback)

    def _committed(self, changes: Sequence[ChangeRow]) -> None:
        """A commit, with the changes it logged when the store handed them over: taken in at
        once when they follow the head, else read from the log."""
        fresh = [change for change in changes if change.seq > self.head]
        if fresh and fresh[0].seq == self.head + 1:
            self._take(fresh)
        elif fresh or not changes:
            for listener in self._listeners:  # at once: the writes are about to be answered
                listener(fresh)
            self._wake.set()

    async def stop(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.close()
        self._moved.set()
        await cancel_and_wait(self._task)

    def subscribe(self) -> Subscription:
        subscription = Subscription()
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    async def after(self, seq: int, limit: int = PAGE) -> list[ChangeRow]:
        """The changes after `seq` (at most `limit`): from memory when the ring reaches back that
        far, else from the log."""
        ring = self._ring
        if ring and ring[0].seq <= seq + 1:
            if seq >= ring[-1].seq:
                return []
            first = seq + 1 - ring[0].seq
            return [ring[i] for i in range(first, min(len(ring), first + limit))]
        return await self._store().changes_since(seq, limit)

    async def wait_beyond(self, seq: int, seconds: float) -> None:
        """Return when a change after `seq` has been handed out, or after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self.head <= seq:
            remaining = deadline - loop.time()
            if remaining <= 0 or (self._task is not None and self._task.done()):
                return
            await wait_at_most(self._moved, remaining)

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._take_new_changes()
            except Exception:  # keep following the log; the next commit wakes us again
                log.exception("could not read new changes")
                await asyncio.sleep(0.5)
                self._wake.set()

    async def _take_new_changes(self) -> None:
        while True:
            read = await self._store().changes_since(self.head, PAGE)
            # Changes handed over while the read was under way are in already.
            changes = [change for change in read if change.seq > self.head]
            if changes:
                self._take(changes)
            if len(read) < PAGE:
                return

    def _take(self, changes: Sequence[ChangeRow]) -> None:
        for listener in self._listeners:
            listener(changes)
        self._ring.extend(changes)
        self.head = changes[-1].seq
        for subscription in self._subscriptions:
            subscription.wake()
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
