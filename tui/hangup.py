"""Ending the app when its terminal goes away (a closed terminal window, a killed tmux session).

The kernel tells a hung-up terminal's processes with SIGHUP, whose default action ends the app at
once (`slotbook` restores that default, should whatever started it have ignored SIGHUP). A process
that never hears it (SIGHUP blocked) would keep polling a terminal that answers every read at once
with nothing, at full speed, forever; so the app also asks its terminal every CHECK_SECONDS
whether it is still there, and ends as SIGHUP would have ended it.

It ends without Textual's orderly shutdown: that restores the terminal, which is gone, and can
wait forever on a write to it. Nothing an orderly end would keep is lost: the app writes nothing
on its way out, and the embedded server is told to stop when the app's process ends
(tui/embedded.py).
"""

from __future__ import annotations

import os
import signal
import sys
import termios

CHECK_SECONDS = 1.0


def terminal_fd() -> int | None:
    """The terminal the app reads, when it reads one."""
    stdin = sys.__stdin__
    if stdin is None:
        return None
    try:
        fd = stdin.fileno()
    except (OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


def hung_up(fd: int) -> bool:
    """Whether the terminal on `fd` has hung up (every request to it then fails)."""
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return True
    return False


def leave() -> None:
    """End the process now, with the status of an end by SIGHUP."""
    os._exit(128 + signal.SIGHUP)
