"""How long a hold has left, as the lists of holds and bookings show it (the client's My
reservations, the provider's bookings) and count it down, a second at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.coordinate import Coordinate
from textual.widgets import DataTable

from shared.timefmt import parse_time
from shared.wire import TimeSlot
from tui.session import countdown

HEADING = "Time left"


def time_left(slot: TimeSlot, now: float) -> str:
    """'29:54 left' on a hold ('lapsed' once its time is up); nothing on a booking."""
    if slot.status != "RESERVED" or not isinstance(slot.expires_at, str):
        return ""
    return countdown(parse_time(slot.expires_at) - now)


def count_down(table: DataTable[Any], rows: Sequence[TimeSlot], column: int, now: float) -> None:
    """Bring the time left on each hold in the table up to date: `rows[i]` is row i's first
    slot, `column` the one that says the time left."""
    for index, slot in enumerate(rows):
        if slot.status == "RESERVED" and index < table.row_count:
            table.update_cell_at(Coordinate(index, column), time_left(slot, now))
