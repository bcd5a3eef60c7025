"""`serve --workers N`: N server processes on one host, sharing one port.

The parent binds the address first, so that port 0 picks one free port for the whole group, and
holds it without listening. It then starts N children that run the same server and listen on that
port with SO_REUSEPORT, so that the kernel spreads connections across them. Each child tells the
parent on its stdout when it listens; the parent logs one line for the group, and forwards SIGINT
and SIGTERM to every child.

The parent restarts nothing. A child that dies unexpectedly is logged as an error, the others are
stopped, and the parent exits 1: whatever supervises the server (systemd, Docker, Kubernetes) then
restarts the whole group and shows why, instead of a quietly shrinking group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backend.runtime.settings import Settings

log = logging.getLogger("slotbook")

WORKER_OF_FLAG = "--worker-of"
"""The hidden serve flag that makes a process one worker of a group; its value is the parent's
pid."""

STOP_GRACE_SECONDS = 30.0
"""How long workers get after a signal to finish in-flight requests and close the database
before they are killed."""

WORKER_FAILED = 1
"""The parent's exit status when a worker died, failed to start, or had to be killed."""


# --- in the parent ------------------------------------------------------------------------------


def run_workers(settings: Settings, argv: Sequence[str]) -> int:
    """Run `settings.workers` copies of the server command `argv` (the arguments after the
    program name) on one shared port until a signal stops them or one of them dies."""
    try:
        reserved = reserve_address(settings.host, settings.port)
    except OSError as error:
        print(
            f"slotbook-server: cannot listen on {settings.host} port {settings.port}:"
            f" {error.strerror or error}",
            file=sys.stderr,
        )
        return WORKER_FAILED
    try:
        port = int(reserved[0].getsockname()[1])
        command = [
            sys.executable,
            "-m",
            "backend",
            *argv,
            "--port",
            str(port),
            WORKER_OF_FLAG,
            str(os.getpid()),
        ]
        return asyncio.run(_supervise(settings, command))
    finally:
        for sock in reserved:
            sock.close()


def reserve_address(host: str, port: int) -> list[socket.socket]:
    """Bind, but do not listen on, every address `host` resolves to, with SO_REUSEPORT set as the
    workers will set it. Port 0 is chosen once, here. Only listening sockets receive
    connections, so these only hold the port for the workers, and fail early if it is taken."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    addresses = dict.fromkeys((family, address) for family, _, _, _, address in found)
    reserved: list[socket.socket] = []
    chosen = port
    try:
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            reserved.append(sock)
            # The options asyncio's create_server sets, so that the workers may bind beside it.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address[0], chosen, *address[2:]))
            chosen = sock.getsockname()[1]
    except OSError:
        for sock in reserved:
            sock.close()
        raise
    return reserved


@dataclass(frozen=True)
class _Listening:
    pid: int
    message: str
    """The start-up line the worker would have logged on its own."""


@dataclass(frozen=True)
class _Exited:
    pid: int
    status: int


@dataclass(frozen=True)
class _Signalled:
    signum: signal.Signals


_Event = _Listening | _Exited | _Signalled


async def _supervise(settings: Settings, command: Sequence[str]) -> int:
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[_Event] = asyncio.Queue()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, events.put_nowait, _Signalled(signum))
    workers: dict[int, asyncio.subprocess.Process] = {}
    for index in range(settings.workers):
        # Each worker counts its own metrics: its listener is the next port up (a later flag wins).
        metrics = ["--metrics-port", str(settings.metrics_port + index)]
        process = await asyncio.create_subprocess_exec(
            *command,
            *(metrics if settings.metrics_port else ()),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            # Its own process group: Ctrl-C in a terminal reaches only the parent, which passes it
            # on once, rather than every worker twice.
            process_group=0,
        )
        workers[process.pid] = process
    watchers = [asyncio.create_task(_watch(process, events)) for process in workers.values()]
    group = _Group(settings, workers)
    while group.running:
        group.handle(await events.get())
    group.stopped()
    await asyncio.gather(*watchers)
    log.info("slotbook stopped")
    return WORKER_FAILED if group.failed else 0


class _Group:
    """What the parent knows of its workers, and what it does as each event comes in."""

    def __init__(self, settings: Settings, workers: dict[int, asyncio.subprocess.Process]) -> None:
        self.settings = settings
        self.workers = workers
        self.running = set(workers)
        self.listening: dict[int, str] = {}
        self.stopping = False
        self.failed = False
        self._kill_timer: asyncio.TimerHandle | None = None

    def handle(self, event: _Event) -> None:
        if isinstance(event, _Listening):
            self._listening(event)
        elif isinstance(event, _Exited):
            self._exited(event)
        else:
            self._stop(event.signum)

    def _listening(self, event: _Listening) -> None:
        self.listening[event.pid] = event.message
        if len(self.listening) < len(self.workers) or self.stopping:
            return
        first = self.listening[min(self.listening)]
        log.info("%s workers=%d pids=%s", first, len(self.workers), _pids(self.workers))
        if self.settings.no_auth:
            log.warning(
                "--no-auth: every caller is trusted and may act as anyone;"
                " for local development only"
            )

    def _exited(self, event: _Exited) -> None:
        self.running.discard(event.pid)
        if self.stopping and event.status == 0:
            return
        self.failed = True
        status = _describe_status(event.status)
        if self.stopping:
            log.error("slotbook worker %d ended with %s while stopping", event.pid, status)
            return
        log.error(
            "slotbook worker %d %s %s; stopping the other workers and exiting with status %d"
            " so that whatever supervises slotbook-server restarts the whole group",
            event.pid,
            "died with" if event.pid in self.listening else "failed to start:",
            status,
            WORKER_FAILED,
        )
        self._stop(signal.SIGTERM)

    def _stop(self, signum: signal.Signals) -> None:
        """Pass the signal on to every worker (again, if the user insists)."""
        if not self.stopping:
            self.stopping = True
            log.info("slotbook shutting down")
            loop = asyncio.get_running_loop()
            self._kill_timer = loop.call_later(STOP_GRACE_SECONDS, self._kill_the_rest)
        self._signal_all(signum)

    def _kill_the_rest(self) -> None:
        log.error(
            "slotbook workers %s did not stop within %gs of the signal; killing them",
            _pids(self.running),
            STOP_GRACE_SECONDS,
        )
        self._signal_all(signal.SIGKILL)

    def _signal_all(self, signum: signal.Signals) -> None:
        for pid in self.running:
            with contextlib.suppress(ProcessLookupError):
                self.workers[pid].send_signal(signum)

    def stopped(self) -> None:
        if self._kill_timer is not None:
            self._kill_timer.cancel()


async def _watch(process: asyncio.subprocess.Process, events: asyncio.Queue[_Event]) -> None:
    """Report when the worker listens (its one line on stdout), and when it exits."""
    assert process.stdout is not None
    line = await process.stdout.readline()
    if line:
        events.put_nowait(_Listening(process.pid, line.decode(errors="replace").strip()))
        while await process.stdout.read(1 << 16):
            pass  # nothing more is expected; keep the pipe from filling all the same
    events.put_nowait(_Exited(process.pid, await process.wait()))


def _pids(pids: Iterable[int]) -> str:
    return ",".join(str(pid) for pid in sorted(pids))


def _describe_status(status: int) -> str:
    if status < 0:
        return f"signal {signal.Signals(-status).name}"
    return f"exit status {status}"


# --- in a worker ---------------------------------------------------------------------------------


def become_worker(parent: int) -> None:
    """Called first in a worker. On Linux, ask for SIGTERM when the parent dies, so that even a
    killed parent leaves no worker holding the port; and give up at once if it is already gone."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:
        raise SystemExit("slotbook-server: the parent of this worker has gone; not starting")


def announce_listening(message: str) -> None:
    """Tell the parent that this worker listens, with the line it would have logged."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()
