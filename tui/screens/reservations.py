"""My reservations: holds with their countdown, and bookings; confirm or cancel them."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from shared.timefmt import parse_time
from shared.wire import Provider, TimeSlot
from tui.errors import ApiError, Gone, Unreachable
from tui.messages import FeedChanged, FeedReloadNeeded
from tui.screens.confirm import ConfirmDialog
from tui.session import Session, countdown
from tui.sync import start_of
from tui.widgets.status_line import StatusLine


class ReservationsScreen(Screen[None]):
    """A table of the client's live holds and bookings, soonest first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "confirm", "Confirm", id="reservations.confirm"),
        Binding("x,delete", "cancel_it", "Cancel", id="reservations.cancel"),
        Binding("escape,m", "app.pop_screen", "Back to the week", id="reservations.back"),
        Binding("r", "reload", "Reload", show=False, id="reservations.reload"),
    ]

    def __init__(self, session: Session, providers: dict[str, Provider]) -> None:
        super().__init__()
        self.session = session
        self.providers = providers
        self.rows: list[TimeSlot] = []

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static("My reservations", id="heading")
        yield DataTable(id="reservations", cursor_type="row", zebra_stripes=True)
        yield Static("", id="info")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("When", "With", "Status", "Time left")
        self.reload()
        self.set_interval(1, self.tick)
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            refresh()

    @work(exclusive=True, group="reservations")
    async def reload(self) -> None:
        try:
            self.rows = await self.session.client.reservations()
        except (ApiError, Unreachable) as error:
            self.notify(f"Could not load: {error}. {error.advice}", severity="error")
            return
        self.draw()

    def draw(self) -> None:
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for slot in self.rows:
            provider = self.providers.get(slot.provider_id)
            table.add_row(
                self.session.when(start_of(slot)),
                provider.name if provider and provider.name else slot.provider_id,
                "held" if slot.status == "RESERVED" else "booked",
                self._left(slot),
                key=slot.time_slot_id,
            )
        if self.rows:
            table.move_cursor(row=min(keep, len(self.rows) - 1))
        info = "Nothing held or booked yet." if not self.rows else "c confirms a hold, x cancels"
        self.query_one("#info", Static).update(info)

    def _left(self, slot: TimeSlot) -> str:
        if slot.status != "RESERVED" or not isinstance(slot.expires_at, str):
            return ""
        return countdown(parse_time(slot.expires_at) - self.session.now())

    def tick(self) -> None:
        table = self.query_one(DataTable)
        for index, slot in enumerate(self.rows):
            if slot.status == "RESERVED":
                table.update_cell_at(Coordinate(index, 3), self._left(slot))

    def _chosen(self) -> TimeSlot | None:
        table = self.query_one(DataTable)
        if not self.rows:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def action_confirm(self) -> None:
        slot = self._chosen()
        if slot is None:
            return
        if slot.status != "RESERVED":
            self.notify("Already booked.")
            return
        self.confirm(slot)

    @work(group="reservations-write")
    async def confirm(self, slot: TimeSlot) -> None:
        try:
            await self.session.client.confirm(slot)
        except Gone:
            self.notify("The hold lapsed; hold the slot again if it is free.", severity="warning")
        except (ApiError, Unreachable) as error:
            self.notify(f"Not confirmed: {error}. {error.advice}", severity="error")
        else:
            self.notify(self.session.when(start_of(slot)), title="Booked")
        self.reload()

    def action_cancel_it(self) -> None:
        slot = self._chosen()
        if slot is None:
            return
        what = "hold" if slot.status == "RESERVED" else "booking"
        provider = self.providers.get(slot.provider_id)
        name = provider.name if provider and provider.name else slot.provider_id
        question = f"Cancel your {what} with {name} on {self.session.when(start_of(slot))}?"
        if slot.status == "CONFIRMED":
            question += " The slot goes back to being free for anyone."

        def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                self.cancel_it(slot)

        self.app.push_screen(
            ConfirmDialog(f"Cancel this {what}?", question, yes="Cancel it", no="Keep it"),
            answered,
        )

    @work(group="reservations-write")
    async def cancel_it(self, slot: TimeSlot) -> None:
        self.session.cancelling(slot.time_slot_id)
        try:
            await self.session.client.cancel(slot.time_slot_id)
        except (ApiError, Unreachable) as error:
            self.notify(f"Not cancelled: {error}. {error.advice}", severity="error")
        else:
            self.notify(f"Cancelled {self.session.when(start_of(slot))}.")
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def on_feed_changed(self, message: FeedChanged) -> None:
        if message.change.client_id == self.session.me.subject or any(
            r.time_slot_id == message.change.time_slot_id for r in self.rows
        ):
            self.reload()

    def on_feed_reload_needed(self, message: FeedReloadNeeded) -> None:
        self.reload()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Confirm", "Book the highlighted hold", "confirm"),
            ("Cancel reservation", "Release the highlighted hold or booking", "cancel_it"),
            ("Reload", "Load the list again", "reload"),
        ]
