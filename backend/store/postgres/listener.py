"""A connection of its own that LISTENs for commits made by any server process on the database, so
each process's change feed wakes within moments of a change made through another.

The connection is watched: when it drops (a restart of the database, a network cut, an
administrator's pg_terminate_backend), it is opened again, and the callbacks are called once on
reconnecting, since whatever committed in between sent its notice to nobody.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import asyncpg

from backend.runtime.background import cancel_and_wait, wait_at_most
from backend.store.base import ChangeRow

log = logging.getLogger(__name__)

CHANNEL = "slotbook_changes"
"""Every sequencer round that numbers changes notifies this channel as it commits, with the
sending process's name (postgres_sequencer)."""

PING_SECONDS = 5.0
"""How often a quiet connection is checked, so a silently dead one is noticed."""

MAX_BACKOFF_SECONDS = 5.0


class ChangeListener:
    """Calls every callback, on the event loop, when a notice arrives on CHANNEL."""

    def __init__(
        self, dsn: str, callbacks: list[Callable[[Sequence[ChangeRow]], None]], sender: str
    ) -> None:
        self._dsn = dsn
        self._callbacks = callbacks
        self._sender = sender
        """The NOTIFY payload of this process's own sequencer rounds, which have handed their
        changes over already."""
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        """Set while the connection is open and listening."""
        self.backend_pid: int | None = None
        """The server process of the listening connection, while there is one."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="slotbook-change-listener")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def _wake(self) -> None:
        for callback in list(self._callbacks):
            callback(())

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        if payload != self._sender:
            self._wake()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._listen()
                backoff = 0.1
                await asyncio.sleep(backoff)
            except Exception as error:  # keep trying: the feed must come back by itself
                log.warning("change listener: %s; reconnecting in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _listen(self) -> None:
        """Listen on one connection until it is lost."""
        conn = await asyncpg.connect(self._dsn, timeout=PING_SECONDS)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
            self.backend_pid = conn.get_server_pid()
            self.connected.set()
            self._wake()  # catch up on what was committed while nobody listened
            while not lost.is_set():
                await wait_at_most(lost, PING_SECONDS)
                if not lost.is_set():
                    await conn.fetchval("SELECT 1", timeout=PING_SECONDS)
            log.warning("change listener: the connection closed; reconnecting")
        finally:
            self.connected.clear()
            self.backend_pid = None
            conn.terminate()
