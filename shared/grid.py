"""Slot-grid arithmetic: every slot starts on a multiple of the slot length counted from the epoch.

With a slot length that divides a day (15 minutes does), every UTC day has the same grid and a
slot starts at a minute divisible by the slot length.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

DAY_SECONDS = 86_400


def is_aligned(epoch: float, slot_seconds: int) -> bool:
    """True when a slot may start at this moment."""
    return epoch == math.floor(epoch) and int(epoch) % slot_seconds == 0


def align_down(epoch: float, slot_seconds: int) -> int:
    """The start of the grid cell that contains this moment."""
    return math.floor(epoch / slot_seconds) * slot_seconds


def align_up(epoch: float, slot_seconds: int) -> int:
    """The first slot start at or after this moment."""
    return math.ceil(epoch / slot_seconds) * slot_seconds


def slot_starts(start: int, end: int, slot_seconds: int) -> Iterator[int]:
    """The slot starts of an aligned window [start, end); the last slot ends at or before end."""
    return iter(range(start, end - slot_seconds + 1, slot_seconds))


def describe_length(seconds: float) -> str:
    """A length as people say it: '15 minutes', '2 seconds', '24 hours'."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        # "24 hours" reads better than "1 day"; days only from two of them.
        if seconds >= max(size, 2 * 86_400 if unit == "day" else size) and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}" + ("s" if count != 1 else "")
    value = f"{seconds:g}"
    return f"{value} second" + ("" if value == "1" else "s")
