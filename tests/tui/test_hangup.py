"""A closed terminal ends the app: the real `slotbook` on a real pseudo-terminal, whose far end is
then closed, as a terminal window or a tmux session does when it goes away."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import pytest

START_SECONDS = 30.0
END_SECONDS = 10.0


def start_app(tmp_path: Path, *, sighup_blocked: bool) -> tuple[int, int]:
    """`slotbook` with its own embedded server on a fresh pseudo-terminal: (pid, far end)."""
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "SLOTBOOK_DATA_DIR": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    pid, far_end = pty.fork()
    if pid == 0:  # the child: the app, in a session whose terminal is the pseudo-terminal
        try:
            if sighup_blocked:  # a process that never hears SIGHUP (it stays pending)
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
            os.execve(sys.executable, [sys.executable, "-m", "tui"], env)
        finally:
            os._exit(127)
    return pid, far_end


def read_until_drawn(far_end: int) -> bytes:
    """What the app wrote until it showed its first screen."""
    seen = b""
    deadline = time.monotonic() + START_SECONDS
    while b"Your name" not in seen:  # the first screen asks a newcomer for a name
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the app drew nothing recognisable: {seen[-400:]!r}"
        ready, _, _ = select.select([far_end], [], [], remaining)
        if ready:
            try:
                seen += os.read(far_end, 65536)
            except OSError:
                break
    return seen


def wait_for_exit(pid: int) -> int | None:
    """The process's wait status once it has ended, or None if it is still running."""
    deadline = time.monotonic() + END_SECONDS
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("sighup_blocked", [False, True], ids=["sighup", "sighup-never-heard"])
def test_the_app_ends_when_its_terminal_goes_away(tmp_path: Path, sighup_blocked: bool) -> None:
    pid, far_end = start_app(tmp_path, sighup_blocked=sighup_blocked)
    try:
        read_until_drawn(far_end)
        os.close(far_end)  # the terminal window closes
        status = wait_for_exit(pid)
        assert status is not None, "the app kept running on a terminal that had gone away"
    finally:
        if wait_for_exit_now(pid) is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def wait_for_exit_now(pid: int) -> int | None:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0  # already reaped
    return status if done else None
