"""A provider's upcoming holds and bookings, across the next weeks, one row an appointment; read
its note, or cancel one if need be."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from shared.wire import TimeSlot
from tui.errors import ApiError, Unreachable
from tui.messages import FeedChanged, FeedReloadNeeded
from tui.screens.confirm import ConfirmDialog
from tui.screens.note import appointment_view, first_words, note_room
from tui.session import Session, client_label
from tui.sync import note_of, start_of
from tui.time_left import HEADING, count_down, time_left
from tui.widgets.status_line import StatusLine
from tui.words import the_time

AHEAD_DAYS = 31
HEADINGS = ("When", "Client", "Status", HEADING, "Note")
LEFT_COLUMN = HEADINGS.index(HEADING)


def appointments(slots: list[TimeSlot]) -> list[list[TimeSlot]]:
    """Held and booked slots (in time order) grouped into appointments: runs of slots, each
    following the one before, that name the same appointment."""
    runs: list[list[TimeSlot]] = []
    for slot in slots:
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


class BookingsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # The table hears Enter first (a row chosen): this says so in the help.
        Binding("enter", "read", "Read the whole note", show=False, id="bookings.read"),
        Binding("x,delete", "cancel_booking", "Cancel booking", id="bookings.cancel"),
        Binding("escape,b", "app.pop_screen", "Back to the week", id="bookings.back"),
        Binding("r", "reload", "Reload", show=False, id="bookings.reload"),
    ]

    def __init__(self, session: Session, provider_id: str) -> None:
        super().__init__()
        self.session = session
        self.provider_id = provider_id
        self.rows: list[list[TimeSlot]] = []

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(f"Upcoming holds and bookings (next {AHEAD_DAYS} days)", id="heading")
        yield DataTable(id="bookings", cursor_type="row", zebra_stripes=True)
        yield Static("", id="info")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*HEADINGS)
        self.reload()
        self.set_interval(1, self.tick)
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            refresh()

    @work(exclusive=True, group="bookings")
    async def reload(self) -> None:
        now = self.session.now()
        try:
            slots = await self.session.client.provider_slots(
                self.provider_id, now, now + AHEAD_DAYS * 86_400
            )
        except (ApiError, Unreachable) as error:
            self.notify(f"Could not load: {error}. {error.advice}", severity="error")
            return
        self.rows = appointments(slots)
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        rows = [
            (
                self.when(run),
                client_label(run[0]),
                "held" if run[0].status == "RESERVED" else "booked",
                time_left(run[0], self.session.now()),
            )
            for run in self.rows
        ]
        room = note_room(self.size.width, HEADINGS, rows)
        for run, row in zip(self.rows, rows, strict=True):
            note = first_words(note_of(run[0]), room)
            table.add_row(*row, note, key=run[0].time_slot_id)
        if self.rows:  # the selection stays where it was (on the next row, after a cancel)
            table.move_cursor(row=min(keep, len(self.rows) - 1))
        info = (
            "No holds or bookings coming up."
            if not self.rows
            else "Enter reads the whole note, x cancels a booking"
        )
        self.query_one("#info", Static).update(info)

    def tick(self) -> None:
        """Count down the time left on each hold."""
        firsts = [run[0] for run in self.rows]
        count_down(self.query_one(DataTable), firsts, LEFT_COLUMN, self.session.now())

    def when(self, run: list[TimeSlot]) -> str:
        return self.session.span(start_of(run[0]), len(run) * run[0].duration)

    def _chosen(self) -> list[TimeSlot] | None:
        table = self.query_one(DataTable)
        return self.rows[min(table.cursor_row, len(self.rows) - 1)] if self.rows else None

    @on(DataTable.RowSelected)
    def action_read(self) -> None:
        run = self._chosen()
        if run is not None:
            self.app.push_screen(appointment_view(self.session, run))

    def action_cancel_booking(self) -> None:
        run = self._chosen()
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

    def action_reload(self) -> None:
        self.reload()

    def on_feed_changed(self, message: FeedChanged) -> None:
        change = message.change
        mine = self.provider_id in (change.provider_id, change.from_provider_id)
        if mine and change.kind != "created":  # a move away from us is news too
            self.reload()

    def on_feed_reload_needed(self, message: FeedReloadNeeded) -> None:
        self.reload()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [("Cancel booking", "Cancel the highlighted booking", "cancel_booking")]
