"""The event loop the server runs on: uvloop where it is installed (Linux and macOS), which
answers HTTP noticeably faster than asyncio's own loop (bench/RESULTS.md), else asyncio's.
SLOTBOOK_EVENT_LOOP=asyncio chooses asyncio's loop anyway (for debugging, or to compare)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is installed wherever it builds
    uvloop = None  # type: ignore[assignment]


def loop_name() -> str:
    """The loop the server runs on: "uvloop" or "asyncio"."""
    wanted = os.environ.get("SLOTBOOK_EVENT_LOOP", "uvloop")
    return "uvloop" if uvloop is not None and wanted != "asyncio" else "asyncio"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """What asyncio.Runner should create its loop with."""
    return uvloop.new_event_loop if loop_name() == "uvloop" else asyncio.new_event_loop
