"""My reservations: holds with their countdown, and bookings; confirm, move, note or cancel them.

One row an appointment, however many slots it covers. A move is picked on the week: this screen
hands the appointment to the client's week (`on_move`) and steps aside. When the list cannot be
loaded (the server is away), the last one known stays on screen, marked as such, and loads again
by itself as soon as the change feed is back."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from shared.wire import Provider, Reservation
from tui.errors import ApiError, Gone, Unreachable
from tui.messages import FeedChanged, FeedReloadNeeded, FeedResumed
from tui.screens.confirm import ConfirmDialog
from tui.screens.note import NoteDialog, first_words, note_room
from tui.session import Session
from tui.sync import minutes_of, note_of, start_of
from tui.time_left import HEADING, count_down, time_left
from tui.widgets.status_line import StatusLine
from tui.words import the_time

HEADINGS = ("When", "With", "Status", HEADING, "Note")

LEFT_COLUMN = HEADINGS.index(HEADING)
"""The column of the time a hold has left."""

RETRY_SECONDS = 10.0
"""How long after a failed load the list tries again by itself (the feed coming back, or any
change it brings, tries at once)."""


class ReservationsScreen(Screen[None]):
    """A table of the client's live holds and bookings, soonest first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "confirm", "Confirm", id="reservations.confirm"),
        Binding("v", "move", "Move", id="reservations.move"),
        Binding("e", "note", "Note", id="reservations.note"),
        Binding("x,delete", "cancel_it", "Cancel", id="reservations.cancel"),
        Binding("escape,m", "app.pop_screen", "Back to the week", id="reservations.back"),
        # One key, two bindings: the key bar shows "r Reload" only while the list is stale (when
        # it is current, it follows the change feed and r is needed no more than on the week).
        Binding("r", "retry", "Reload", id="reservations.retry"),
        Binding("r", "reload", "Reload", show=False, id="reservations.reload"),
    ]

    def __init__(
        self,
        session: Session,
        providers: dict[str, Provider],
        on_move: Callable[[Reservation], object] | None = None,
        known: Iterable[Reservation] = (),
    ) -> None:
        """`known`: the client's holds and bookings as last heard (the week loads them too),
        shown until the list is loaded, and instead of it when it cannot be."""
        super().__init__()
        self.session = session
        self.providers = providers
        self.on_move = on_move
        self.rows: list[Reservation] = sorted(known, key=lambda r: (r.timestamp, r.provider_id))
        self.stale: str | None = None
        """Why the list shown is not current (it could not be loaded), or None when it is."""
        self._retry: Timer | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static("My reservations", id="heading")
        yield DataTable(id="reservations", cursor_type="row", zebra_stripes=True)
        yield Static("", id="info")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*HEADINGS)
        self.draw()
        self.reload()
        self.set_interval(1, self.tick)
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            refresh()

    @work(exclusive=True, group="reservations")
    async def reload(self) -> None:
        if self._retry is not None:
            self._retry.stop()
            self._retry = None
        try:
            self.rows = await self.session.client.reservations()
        except (ApiError, Unreachable) as error:
            tried = self.session.when(self.session.now(), "%H:%M:%S")
            self.stale = f"Could not load at {tried}: {error}"
            self._retry = self.set_timer(RETRY_SECONDS, self.reload)
        else:
            self.stale = None
        self.refresh_bindings()
        self.draw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return self.stale is not None
        return True

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
                time_left(reservation, self.session.now()),
            )
            for reservation in self.rows
        ]
        room = note_room(self.size.width, HEADINGS, rows)
        for reservation, row in zip(self.rows, rows, strict=True):
            note = first_words(note_of(reservation), room)
            table.add_row(*row, note, key=reservation.time_slot_id)
        if self.rows:
            table.move_cursor(row=min(keep, len(self.rows) - 1))
        self.query_one("#heading", Static).update(
            "My reservations"
            if self.stale is None
            else "My reservations · as last known, not current"
            if self.rows
            else "My reservations · not known"
        )
        self.query_one("#info", Static).update(self._info())

    def _info(self) -> str:
        """What the line under the table says: what the keys do, or why the list is stale."""
        if self.stale is not None:
            return f"{self.stale}. It loads again when the server is back; r tries now."
        if not self.rows:
            return "Nothing held or booked yet."
        return "c confirms a hold, v moves, e changes the note, x cancels"

    def tick(self) -> None:
        count_down(self.query_one(DataTable), self.rows, LEFT_COLUMN, self.session.now())

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
            taken = the_time(len(reservation.time_slot_ids)).capitalize()
            question += f" {taken} goes back to being free for anyone."

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

    def action_retry(self) -> None:
        self.reload()

    def on_feed_changed(self, message: FeedChanged) -> None:
        change = message.change
        if (
            self.stale is not None
            or change.client_id == self.session.me.subject
            or any(change.time_slot_id in r.time_slot_ids for r in self.rows)
        ):
            self.reload()

    def on_feed_reload_needed(self, message: FeedReloadNeeded) -> None:
        self.reload()

    def on_feed_resumed(self, message: FeedResumed) -> None:
        if self.stale is not None:
            self.reload()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Confirm", "Book the highlighted hold", "confirm"),
            ("Move", "Pick a new time for the highlighted hold or booking", "move"),
            ("Note", "Write or change the note for the provider", "note"),
            ("Cancel reservation", "Release the highlighted hold or booking", "cancel_it"),
            ("Reload", "Load the list again", "reload"),
        ]
