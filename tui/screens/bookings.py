"""A provider's upcoming holds and bookings, across the next weeks; cancel one if need be."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from shared.wire import TimeSlot
from tui.errors import ApiError, Unreachable
from tui.messages import FeedChanged, FeedReloadNeeded
from tui.screens.confirm import ConfirmDialog
from tui.session import Session, client_label
from tui.sync import start_of
from tui.widgets.status_line import StatusLine

AHEAD_DAYS = 31


class BookingsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x,delete", "cancel_booking", "Cancel booking", id="bookings.cancel"),
        Binding("escape,b", "app.pop_screen", "Back to the week", id="bookings.back"),
        Binding("r", "reload", "Reload", show=False, id="bookings.reload"),
    ]

    def __init__(self, session: Session, provider_id: str) -> None:
        super().__init__()
        self.session = session
        self.provider_id = provider_id
        self.rows: list[TimeSlot] = []

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(f"Upcoming holds and bookings (next {AHEAD_DAYS} days)", id="heading")
        yield DataTable(id="bookings", cursor_type="row", zebra_stripes=True)
        yield Static("", id="info")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("When", "Client", "Status")
        self.reload()
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
        self.rows = [s for s in slots if s.status != "AVAILABLE"]
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for slot in self.rows:
            table.add_row(
                self.session.when(start_of(slot)),
                client_label(slot),
                "held" if slot.status == "RESERVED" else "booked",
                key=slot.time_slot_id,
            )
        if self.rows:  # the selection stays where it was (on the next row, after a cancel)
            table.move_cursor(row=min(keep, len(self.rows) - 1))
        info = "No holds or bookings coming up." if not self.rows else "x cancels a booking"
        self.query_one("#info", Static).update(info)

    def action_cancel_booking(self) -> None:
        table = self.query_one(DataTable)
        if not self.rows:
            return
        slot = self.rows[min(table.cursor_row, len(self.rows) - 1)]
        what = "hold" if slot.status == "RESERVED" else "booking"
        question = (
            f"Cancel {client_label(slot)}'s {what} on {self.session.when(start_of(slot))}?"
            " They will be told, and the slot is open again."
        )

        def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                self.cancel_booking(slot)

        self.app.push_screen(
            ConfirmDialog(f"Cancel this {what}?", question, yes="Cancel it", no="Keep it"),
            answered,
        )

    @work(group="bookings-write")
    async def cancel_booking(self, slot: TimeSlot) -> None:
        try:
            await self.session.client.cancel(slot.time_slot_id)
        except (ApiError, Unreachable) as error:
            self.notify(f"Not cancelled: {error}. {error.advice}", severity="error")
        else:
            self.notify(f"Cancelled {self.session.when(start_of(slot))}; the slot is open again.")
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def on_feed_changed(self, message: FeedChanged) -> None:
        if message.change.provider_id == self.provider_id and message.change.kind != "created":
            self.reload()

    def on_feed_reload_needed(self, message: FeedReloadNeeded) -> None:
        self.reload()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [("Cancel booking", "Cancel the highlighted booking", "cancel_booking")]
