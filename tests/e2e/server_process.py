"""A real `python -m backend serve` child process on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

_LISTENING = re.compile(r"listening on (http://\S+)")


class ServerProcess:
    """Starts the server, waits for its 'listening' line, and stops it with SIGTERM."""

    def __init__(
        self,
        db: Path | str,
        *flags: str,
        env: dict[str, str] | None = None,
        traced: bool = True,
    ) -> None:
        """`db` is a SQLite file or a PostgreSQL URL, as --db takes it. `traced=False`: coverage
        does not measure the process (it runs no code the in-process tests leave unrun, and
        traced it costs about 1.6 times as much)."""
        self.command = [
            sys.executable,
            "-m",
            "backend",
            "serve",
            "--port",
            "0",
            "--db",
            str(db),
            *flags,
        ]
        self.env = {**os.environ, **(env or {})}
        if not traced:
            self.env.pop("COVERAGE_PROCESS_CONFIG", None)
        self.url = ""
        self.log: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 20) -> ServerProcess:
        self._process = subprocess.Popen(
            self.command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=self.env
        )
        threading.Thread(target=self._read_log, daemon=True).start()
        if not self._ready.wait(timeout) or not self.url:
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.log))
        return self

    def _read_log(self) -> None:
        assert self._process is not None
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self.log.append(line)
            found = _LISTENING.search(line)
            if found and not self.url:
                self.url = found.group(1)
                self._ready.set()
        self._ready.set()

    def stop(self, timeout: float = 20) -> int:
        if self._process is None:
            return 0
        if self._process.poll() is None:
            self._process.terminate()
        return self._process.wait(timeout)

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    def kill(self, timeout: float = 20) -> int:
        """Stop it with SIGKILL: no shutdown, no cleanup, as if the machine lost the process."""
        if self._process is None:
            return 0
        if self._process.poll() is None:
            self._process.kill()
        return self._process.wait(timeout)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
