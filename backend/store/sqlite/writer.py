"""One thread owns the SQLite write connection; every write is a function queued to it.

The thread takes whatever writes are waiting, runs each inside its own SAVEPOINT of a single
`BEGIN IMMEDIATE` transaction and commits them together (group commit): one durable fsync serves
the whole batch, while an operation that raises is rolled back alone and writes nothing. An
operation that refuses only before it writes runs without a SAVEPOINT; should one of those fail
otherwise, the batch is rolled back and run again with a SAVEPOINT each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlite_utils import Database

from backend.rules.booking import BookingError
from backend.store.base import CommitThenRaise, IdempotencyKeyReused, Replayed

T = TypeVar("T")

log = logging.getLogger(__name__)

MAX_BATCH = 256
"""Writes folded into one transaction at most, so one batch cannot delay the next for long."""

WriteOp = Callable[[Database], Any]


@dataclass
class _Job:
    op: WriteOp
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    refuses_first: bool
    """The op raises a refusal (BookingError) only before it writes anything, so it needs no
    SAVEPOINT of its own."""


class _RunAgainCarefully(Exception):
    """An op without a SAVEPOINT failed in an unforeseen way, perhaps after writing."""


_STOP = object()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SQLiteWriter:
    """The single writer of one SQLite database file."""

    def __init__(self, db: Database, *, name: str = "slotbook-writer") -> None:
        self._db = db
        self._closing = False
        self.after_commit: Callable[[], None] | None = None
        """Called on the writer thread after each commit (the change feed listens here)."""
        self.observe: Callable[[int, float], None] | None = None
        """Called on the writer thread after each commit: the writes it carried, and its
        seconds from BEGIN to COMMIT (the metrics listen here)."""
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def run(self, op: Callable[[Database], T], *, refuses_first: bool = False) -> T:
        """Run `op` in a write transaction; return what it returned, or raise what it raised.

        `refuses_first` promises that `op` raises a BookingError only before it has written
        anything: it then runs without a SAVEPOINT (two statements fewer). Should it raise
        anything else, the whole batch is rolled back and run again, each op in a SAVEPOINT."""
        if self._closing or not self._thread.is_alive():
            raise RuntimeError("the database writer has stopped")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(op, future, loop, refuses_first))
        return await future

    @property
    def connection(self) -> sqlite3.Connection:
        """The write connection: for the writer thread only (after_commit runs there)."""
        return self._db.conn

    @property
    def waiting(self) -> int:
        """Writes queued, not yet taken into a transaction."""
        return self._queue.qsize()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        """Finish the queued writes, then stop the thread and close the connection."""
        self._closing = True
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[_Job] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                    break
                assert isinstance(item, _Job)
                batch.append(item)
                if len(batch) >= MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit_batch(batch)
        self._db.conn.close()

    def _commit_batch(self, batch: list[_Job], *, careful: bool = False) -> None:
        conn = self._db.conn
        outcomes: list[tuple[Any, BaseException | None]] = []
        began = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                if job.refuses_first and not careful:
                    outcomes.append(self._run_lean(job))
                    continue
                conn.execute("SAVEPOINT op")
                try:
                    result = job.op(self._db)
                except CommitThenRaise as keep:
                    conn.execute("RELEASE op")
                    outcomes.append((None, keep.error))
                except Exception as error:  # the op's own refusal, or a bug: undo just this op
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    outcomes.append((None, error))
                else:
                    conn.execute("RELEASE op")
                    outcomes.append((result, None))
            conn.execute("COMMIT")
            if self.observe is not None:
                self.observe(len(batch), time.perf_counter() - began)
            if self.after_commit is not None:
                self.after_commit()
        except _RunAgainCarefully:
            conn.execute("ROLLBACK")
            self._commit_batch(batch, careful=True)
            return
        except Exception as error:  # the transaction itself failed: nothing in it was written
            log.exception("write transaction failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(None, error)] * len(batch)
        self._settle_all(batch, outcomes)

    def _run_lean(self, job: _Job) -> tuple[Any, BaseException | None]:
        try:
            return job.op(self._db), None
        except CommitThenRaise as keep:
            return None, keep.error
        except (BookingError, Replayed, IdempotencyKeyReused) as refusal:  # before it wrote
            return None, refusal
        except Exception as error:
            raise _RunAgainCarefully from error

    @staticmethod
    def _settle_all(batch: list[_Job], outcomes: list[tuple[Any, BaseException | None]]) -> None:
        for job, (result, problem) in zip(batch, outcomes, strict=True):
            # A closed event loop means nobody is waiting for the answer any more.
            with contextlib.suppress(RuntimeError):
                job.loop.call_soon_threadsafe(_settle, job.future, result, problem)
