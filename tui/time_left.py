"""How long a hold has left, as the lists of holds and bookings show it (the client's My
reservations, the provider's bookings) and count it down, a second at a time: a column of its own
where the table has one, else beside the status ("held, 29:41 left", at phone width)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.widgets import DataTable

from shared.timefmt import parse_time
from shared.wire import TimeSlot
from tui.session import countdown
from tui.widgets.columns import Columns

HEADING = "Time left"


def time_left(slot: TimeSlot, now: float) -> str:
    """'29:54 left' on a hold ('lapsed' once its time is up); nothing on a booking."""
    if slot.status != "RESERVED" or not isinstance(slot.expires_at, str):
        return ""
    return countdown(parse_time(slot.expires_at) - now)


def status_cells(
    slot: TimeSlot, now: float, headings: tuple[str, ...], held: str = "held"
) -> dict[str, str]:
    """The cells of the status and the time a hold has left, by heading: in one ("held, 29:41
    left") where the table (`headings`) has no column for the time left. `held` is what a hold
    is called (an offer from the waitlist is one)."""
    status = held if slot.status == "RESERVED" else "booked"
    left = time_left(slot, now)
    if HEADING in headings:
        return {"Status": status, HEADING: left}
    return {"Status": f"{status}, {left}" if left else status}


def count_down(
    table: DataTable[Any],
    rows: Iterable[tuple[str, TimeSlot]],
    now: float,
    held: Callable[[str], str] = lambda key: "held",
) -> None:
    """Bring the time left on each hold in the table up to date: `rows` are (row key, the row's
    first slot); `held` says what the hold of a row (by key) is called."""
    headings = Columns.shown(table)
    for key, slot in rows:
        if slot.status == "RESERVED" and key in table.rows:
            for column, text in status_cells(slot, now, headings, held(key)).items():
                table.update_cell(key, column, text)
