"""Read connections for queries: one per worker thread of a small pool, in WAL so they never wait
for the writer and always see the last committed state."""

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
    """Runs read-only queries on a pool of threads, each with its own connection."""

    def __init__(self, path: str, threads: int, busy_timeout_ms: int) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="slotbook-read")

    async def run(self, op: ReadOp[T]) -> T:
        """Run `op` with a read connection on the pool and return its result."""
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
        self._executor.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
