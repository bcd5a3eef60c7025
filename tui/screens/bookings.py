"""A provider's upcoming holds and bookings, across the next weeks, one row an appointment; read
its note, or cancel one if need be. When the list cannot be loaded (the server is away), the last
one known stays on screen, marked as such (tui/screens/last_known.py), and loads again by itself
as soon as the change feed is back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from shared.wire import Change, TimeSlot
from tui.errors import ApiError, Unreachable
from tui.screens.confirm import ConfirmDialog
from tui.screens.last_known import LastKnownList, reload_bindings
from tui.screens.note import appointment_view
from tui.session import Session, client_label
from tui.sync import note_of, start_of
from tui.time_left import HEADING as TIME_LEFT
from tui.time_left import count_down, status_cells
from tui.widgets.columns import Columns
from tui.words import the_time

AHEAD_DAYS = 31


def appointments(slots: Iterable[TimeSlot]) -> list[list[TimeSlot]]:
    """Held and booked slots grouped into appointments, in time order: runs of slots, each
    following the one before, that name the same appointment."""
    runs: list[list[TimeSlot]] = []
    for slot in sorted(slots, key=start_of):
        if slot.status == "AVAILABLE":
            continue
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and isinstance(slot.appointment_id, str)
            and slot.appointment_id == last.appointment_id
            and start_of(slot) == start_of(last) + round(last.duration * 60)
        ):
            runs[-1].append(slot)
        else:
            runs.append([slot])
    return runs


class BookingsScreen(LastKnownList[list[TimeSlot]]):
    HEADING = f"Upcoming holds and bookings (next {AHEAD_DAYS} days)"
    COLUMNS = Columns(
        ("When", "Client", "Status", TIME_LEFT, "Note"),
        ("When", "Status", "Client", "Note"),  # at phone width, held or booked in sight
    )
    TABLE_ID = "bookings"
    BINDINGS: ClassVar[list[BindingType]] = [
        # The table hears Enter first (a row chosen): this says so in the help.
        Binding("enter", "read", "Read the whole note", show=False, id="bookings.read"),
        Binding("x,delete", "cancel_booking", "Cancel booking", id="bookings.cancel"),
        Binding("escape,b", "app.pop_screen", "Back to the week", id="bookings.back"),
        *reload_bindings("bookings"),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "bookings.back": "Back",
        "bookings.cancel": "Cancel",
        "bookings.retry": "Reload",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    def __init__(self, session: Session, provider_id: str, known: Iterable[TimeSlot] = ()) -> None:
        """`known`: the provider's slots as last heard (the week's), of which those held or
        booked in the days the list covers are shown until it is loaded, and instead of it when
        it cannot be."""
        start, end = self.span(session)
        ahead = (s for s in known if s.provider_id == provider_id and start <= start_of(s) < end)
        super().__init__(session, appointments(ahead))
        self.provider_id = provider_id

    def on_mount(self) -> None:  # as well as LastKnownList's (Textual calls every class's)
        self.set_interval(1, self.tick)

    def tick(self) -> None:
        """Count down the time left on each hold."""
        rows = ((run[0].time_slot_id, run[0]) for run in self.rows)
        count_down(self.query_one(DataTable), rows, self.session.now())

    @staticmethod
    def span(session: Session) -> tuple[float, float]:
        """The times the list covers: from now, AHEAD_DAYS."""
        now = session.now()
        return now, now + AHEAD_DAYS * 86_400

    async def fetch(self) -> list[list[TimeSlot]]:
        start, end = self.span(self.session)
        return appointments(await self.session.client.provider_slots(self.provider_id, start, end))

    def cells(self, row: list[TimeSlot], headings: tuple[str, ...]) -> dict[str, str]:
        status = status_cells(row[0], self.session.now(), headings)
        return {"When": self.when(row), "Client": client_label(row[0]), **status}

    def note(self, row: list[TimeSlot]) -> str:
        return note_of(row[0])

    def key(self, row: list[TimeSlot]) -> str:
        return row[0].time_slot_id

    def current_info(self) -> str:
        if not self.rows:
            return "No holds or bookings coming up."
        return "Enter reads the whole note, x cancels a booking"

    def concerns(self, change: Change) -> bool:
        mine = self.provider_id in (change.provider_id, change.from_provider_id)
        return mine and change.kind != "created"  # a move away from us is news too

    def when(self, run: list[TimeSlot]) -> str:
        return self.session.span(start_of(run[0]), len(run) * run[0].duration)

    @on(DataTable.RowSelected)
    def action_read(self) -> None:
        run = self.chosen()
        if run is not None:
            self.app.push_screen(appointment_view(self.session, run))

    def action_cancel_booking(self) -> None:
        run = self.chosen()
        if run is None:
            return
        slot = run[0]
        what = "hold" if slot.status == "RESERVED" else "booking"
        question = (
            f"Cancel {client_label(slot)}'s {what} on {self.when(run)}?"
            f" They will be told, and {the_time(len(run))} is open again."
        )

        def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                self.cancel_booking(run)

        self.app.push_screen(
            ConfirmDialog(f"Cancel this {what}?", question, yes="Cancel it", no="Keep it"),
            answered,
        )

    @work(group="bookings-write")
    async def cancel_booking(self, run: list[TimeSlot]) -> None:
        try:
            await self.session.client.cancel(run[0].time_slot_id)
        except (ApiError, Unreachable) as error:
            self.notify(f"Not cancelled: {error}. {error.advice}", severity="error")
        else:
            self.notify(f"Cancelled {self.when(run)}; {the_time(len(run))} is open again.")
        self.reload()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [("Cancel booking", "Cancel the highlighted booking", "cancel_booking")]
