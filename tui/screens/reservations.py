"""My reservations: holds with their countdown, and bookings; confirm, move, note or cancel them.

One row an appointment, however many slots it covers. A move is picked on the week: this screen
hands the appointment to the client's week (`on_move`) and steps aside."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from shared.timefmt import parse_time
from shared.wire import Provider, Reservation
from tui.errors import ApiError, Gone, Unreachable
from tui.messages import FeedChanged, FeedReloadNeeded
from tui.screens.confirm import ConfirmDialog
from tui.screens.note import NoteDialog, first_words, note_room
from tui.session import Session, countdown
from tui.sync import minutes_of, note_of, start_of
from tui.widgets.status_line import StatusLine

HEADINGS = ("When", "With", "Status", "Time left", "Note")

LEFT_COLUMN = 3
"""The column of the time a hold has left."""


class ReservationsScreen(Screen[None]):
    """A table of the client's live holds and bookings, soonest first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "confirm", "Confirm", id="reservations.confirm"),
        Binding("v", "move", "Move", id="reservations.move"),
        Binding("e", "note", "Note", id="reservations.note"),
        Binding("x,delete", "cancel_it", "Cancel", id="reservations.cancel"),
        Binding("escape,m", "app.pop_screen", "Back to the week", id="reservations.back"),
        Binding("r", "reload", "Reload", show=False, id="reservations.reload"),
    ]

    def __init__(
        self,
        session: Session,
        providers: dict[str, Provider],
        on_move: Callable[[Reservation], object] | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.providers = providers
        self.on_move = on_move
        self.rows: list[Reservation] = []

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static("My reservations", id="heading")
        yield DataTable(id="reservations", cursor_type="row", zebra_stripes=True)
        yield Static("", id="info")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*HEADINGS)
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

    def when(self, reservation: Reservation) -> str:
        return self.session.span(start_of(reservation), minutes_of(reservation))

    def with_whom(self, reservation: Reservation) -> str:
        provider = self.providers.get(reservation.provider_id)
        return provider.name if provider and provider.name else reservation.provider_id

    def draw(self) -> None:
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        rows = [
            (
                self.when(reservation),
                self.with_whom(reservation),
                "held" if reservation.status == "RESERVED" else "booked",
                self._left(reservation),
            )
            for reservation in self.rows
        ]
        room = note_room(self.size.width, HEADINGS, rows)
        for reservation, row in zip(self.rows, rows, strict=True):
            note = first_words(note_of(reservation), room)
            table.add_row(*row, note, key=reservation.time_slot_id)
        if self.rows:
            table.move_cursor(row=min(keep, len(self.rows) - 1))
        info = (
            "Nothing held or booked yet."
            if not self.rows
            else "c confirms a hold, v moves, e changes the note, x cancels"
        )
        self.query_one("#info", Static).update(info)

    def _left(self, reservation: Reservation) -> str:
        if reservation.status != "RESERVED" or not isinstance(reservation.expires_at, str):
            return ""
        return countdown(parse_time(reservation.expires_at) - self.session.now())

    def tick(self) -> None:
        table = self.query_one(DataTable)
        for index, reservation in enumerate(self.rows):
            if reservation.status == "RESERVED":
                table.update_cell_at(Coordinate(index, LEFT_COLUMN), self._left(reservation))

    def _chosen(self) -> Reservation | None:
        table = self.query_one(DataTable)
        if not self.rows:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def action_confirm(self) -> None:
        reservation = self._chosen()
        if reservation is None:
            return
        if reservation.status != "RESERVED":
            self.notify("Already booked.")
            return
        self.confirm(reservation)

    @work(group="reservations-write")
    async def confirm(self, reservation: Reservation) -> None:
        try:
            await self.session.client.confirm(reservation)
        except Gone:
            self.notify("The hold lapsed; hold the slot again if it is free.", severity="warning")
        except (ApiError, Unreachable) as error:
            self.notify(f"Not confirmed: {error}. {error.advice}", severity="error")
        else:
            self.notify(self.when(reservation), title="Booked")
        self.reload()

    def action_move(self) -> None:
        """Back to the week, to pick where the highlighted one goes."""
        reservation = self._chosen()
        if reservation is None or self.on_move is None:
            return
        on_move = self.on_move
        self.app.pop_screen()
        on_move(reservation)

    def action_note(self) -> None:
        reservation = self._chosen()
        if reservation is None:
            return
        what = f"{self.when(reservation)} with {self.with_whom(reservation)}"

        def written(note: str | None) -> None:
            if note is not None and note != note_of(reservation):
                self.set_note(reservation, note)

        self.app.push_screen(NoteDialog(what, note_of(reservation)), written)

    @work(group="reservations-write")
    async def set_note(self, reservation: Reservation, note: str) -> None:
        try:
            await self.session.client.set_note(reservation.time_slot_id, note)
        except (ApiError, Unreachable) as error:
            self.notify(f"Note not saved: {error}. {error.advice}", severity="error")
        else:
            self.notify("Note saved." if note else "Note removed.")
        self.reload()

    def action_cancel_it(self) -> None:
        reservation = self._chosen()
        if reservation is None:
            return
        what = "hold" if reservation.status == "RESERVED" else "booking"
        question = (
            f"Cancel your {what} with {self.with_whom(reservation)} on {self.when(reservation)}?"
        )
        if reservation.status == "CONFIRMED":
            question += " The slot goes back to being free for anyone."

        def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                self.cancel_it(reservation)

        self.app.push_screen(
            ConfirmDialog(f"Cancel this {what}?", question, yes="Cancel it", no="Keep it"),
            answered,
        )

    @work(group="reservations-write")
    async def cancel_it(self, reservation: Reservation) -> None:
        self.session.cancelling(*reservation.time_slot_ids)
        try:
            await self.session.client.cancel(reservation.time_slot_id)
        except (ApiError, Unreachable) as error:
            self.notify(f"Not cancelled: {error}. {error.advice}", severity="error")
        else:
            self.notify(f"Cancelled {self.when(reservation)}.")
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def on_feed_changed(self, message: FeedChanged) -> None:
        change = message.change
        if change.client_id == self.session.me.subject or any(
            change.time_slot_id in r.time_slot_ids for r in self.rows
        ):
            self.reload()

    def on_feed_reload_needed(self, message: FeedReloadNeeded) -> None:
        self.reload()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Confirm", "Book the highlighted hold", "confirm"),
            ("Move", "Pick a new time for the highlighted hold or booking", "move"),
            ("Note", "Write or change the note for the provider", "note"),
            ("Cancel reservation", "Release the highlighted hold or booking", "cancel_it"),
            ("Reload", "Load the list again", "reload"),
        ]
