"""Read connections for queries, in WAL so they never wait for the writer and always see the last
committed state.

By default reads run on the event loop's own thread with one connection: under CPython's global
interpreter lock a pool of reader threads buys no parallelism for queries answered from the page
cache, and handing each query to a thread and back cost 40% of the throughput of GET
/availability in `make bench` (bench/RESULTS.md). A pool (`threads` >= 1) is still there for a
database much larger than memory, where a read may wait on the disk and the loop should not.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

ReadOp = Callable[[sqlite3.Connection], T]


class SQLiteReaders:
    """Runs read-only queries on the calling thread (`threads` = 0) or on a pool of threads, each
    with its own connection."""

    def __init__(self, path: str, threads: int, busy_timeout_ms: int) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._executor = (
            ThreadPoolExecutor(threads, thread_name_prefix="slotbook-read") if threads else None
        )

    async def run(self, op: ReadOp[T]) -> T:
        """Run `op` with a read connection and return its result."""
        if self._executor is None:
            return self._call(op)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, op)

    def _call(self, op: ReadOp[T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return op(conn)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
