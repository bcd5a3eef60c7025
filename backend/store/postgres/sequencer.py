"""Change seqs handed out at commit time, for the PostgreSQL store.

A writing transaction appends its changes with an identity `id` and no `seq`, and commits without
waiting for any other writer: no counter row to queue on, no NOTIFY (whose commit-time lock is
cluster-wide). Afterwards a *round* numbers every change that has committed and has no seq yet, in
id order, with the next seqs, and sends one NOTIFY: one small transaction
(`slotbook_sequence_changes`, migration 0007) that any process may run, one at a time under an
advisory lock, its snapshot taken once it holds the lock.

Why the log stays what it was:

- Gap-free and readable in order: a round's seqs follow the last round's and become visible
  together when it commits, so a reader that has seen seq N can already read every seq below it.
- One slot's changes in the order they happened: a second write to a slot waits for the first's
  row lock, so it takes its `id` after the first committed; a round numbers in id order, and the
  later change can never be numbered in an earlier round than the first.
- Read-your-writes: a write returns only once a round that began after its commit has ended, so
  the caller's next `GET /changes` shows its change.

Rounds of one process combine: a write that commits while a round runs waits for the next one,
which covers every write that committed during the last; under load one round serves many writes.
A round also runs every SWEEP_SECONDS, so changes whose process died between its commit and its
round are numbered all the same.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import asyncpg

from backend.runtime.background import cancel_and_wait
from backend.store.base import ChangeRow
from backend.store.postgres.listener import CHANNEL

log = logging.getLogger(__name__)

SEQUENCER_LOCKS = 4
"""The advisory lock class (first key) of sequencer rounds; see the store's other classes."""

SWEEP_SECONDS = 1.0
"""How often each process runs a round even when it has not written: the change of a process that
died between its commit and its round reaches the log within this."""

CONNECT_SECONDS = 5.0

VACUUM_ROWS = 10_000
"""After moving this many changes, a round's process vacuums `pending_changes`: every round
empties it, and a table scanned whole each round must not keep its dead rows until autovacuum
comes by (a minute or more)."""

_ROUND = "SELECT * FROM slotbook_sequence_changes($1, $2, $3)"


class Sequencer:
    """Runs rounds for one process: after its own commits (combined), and every SWEEP_SECONDS.
    Each round's changes, as numbered, go to the callbacks (the change feed), so the feed need
    not read them back; its NOTIFY carries `sender`, so this process's listener passes it by."""

    def __init__(
        self, dsn: str, callbacks: list[Callable[[Sequence[ChangeRow]], None]], sender: str
    ) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None
        """A connection of its own: a round must not queue for the pool behind the writes that
        wait for it."""
        self._callbacks = callbacks
        self.sender = sender
        self._next: asyncio.Future[None] | None = None
        """The round the next caller waits for (it has not begun yet)."""
        self._running: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.rounds = 0
        self.waiting = 0
        """Writes of this process waiting for a round."""
        self.observe: Callable[[int, float], None] | None = None
        """Called after each round: the changes it numbered, and its seconds."""
        self._moved = 0
        """Changes moved since `pending_changes` was last vacuumed."""
        """Rounds run by this process (the bench divides writes by it)."""

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="slotbook-sequencer")

    async def stop(self) -> None:
        await cancel_and_wait(self._sweeper)
        self._sweeper = None
        await cancel_and_wait(self._running)
        self._running = None
        if self._conn is not None:
            await self._conn.close(timeout=5)
            self._conn = None
        if self._next is not None and not self._next.done():
            self._next.cancel()
        self._next = None

    async def after_commit(self) -> None:
        """Return once a round that began after this call has numbered what it found."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        waiting = self._next
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._rounds(), name="slotbook-sequencer-round")
        self.waiting += 1
        try:
            await asyncio.shield(waiting)
        finally:
            self.waiting -= 1

    async def _rounds(self) -> None:
        """Run rounds back to back while writes wait for one."""
        while self._next is not None:
            due, self._next = self._next, None
            try:
                await self._round()
            except Exception as error:  # the write has committed: the next round numbers it
                log.warning("sequencer round failed: %s", error)
            finally:  # even when stopped: the writes it was due for have committed
                if not due.done():
                    due.set_result(None)

    async def _round(self) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._dsn, timeout=CONNECT_SECONDS)
        began = time.perf_counter()
        rows = await self._conn.fetch(_ROUND, CHANNEL, SEQUENCER_LOCKS, self.sender)
        self.rounds += 1
        if self.observe is not None:
            self.observe(len(rows), time.perf_counter() - began)
        if rows:
            changes = [ChangeRow._make(row) for row in rows]
            for callback in list(self._callbacks):
                callback(changes)
            self._moved += len(rows)
            if self._moved >= VACUUM_ROWS:
                self._moved = 0
                await self._conn.execute("VACUUM pending_changes")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.after_commit()
            except Exception as error:  # keep sweeping: the database may be back next time
                log.warning("sequencer sweep: %s", error)
