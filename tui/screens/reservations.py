"""My reservations: holds with their countdown, and bookings; confirm, move, note or cancel them.
Beside them, the client's places in a waitlist (what they wait for, where, their place in line),
which x leaves, and the holds that are offers from one, called so. Once one of them is of an
appointment type (or a place in line is listed), a column says what each is: its type and length.
Once
the client has an e-mail address (or has had mail), a column says whether each booking's
confirmation was sent (tui/mail_status.py).

One row an appointment, however many slots it covers. A move is picked on the week: this screen
hands the appointment to the client's week (`on_move`) and steps aside. When the list cannot be
loaded (the server is away), the last one known stays on screen, marked as such, and loads again
by itself as soon as the change feed is back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import ClassVar

from msgspec import UNSET
from textual import work
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from shared.timefmt import parse_time
from shared.waitlist_wire import WaitlistEntry
from shared.wire import Change, Provider, Reservation
from tui import waitlist_calls, waitlist_words
from tui.errors import ApiError, Gone, NotFound, Unreachable
from tui.mail_status import HEADING as MAIL
from tui.mail_status import MailStatus, mail_status
from tui.screens.confirm import ConfirmDialog
from tui.screens.last_known import LastKnownList, reload_bindings
from tui.screens.note import NoteDialog, first_words
from tui.session import Session
from tui.sync import minutes_of, note_of, start_of
from tui.time_left import HEADING as TIME_LEFT
from tui.time_left import count_down, status_cells
from tui.widgets.columns import Columns
from tui.words import the_time

TYPE_ROOM = 20
"""The most of a type's name the table shows (a name may take 80 characters)."""


Row = Reservation | WaitlistEntry
"""A hold or booking, or a place in line."""


class ReservationsScreen(LastKnownList[Row]):
    """A table of the client's live holds and bookings and places in line, soonest first."""

    HEADING = "My reservations"
    COLUMNS = Columns(
        ("When", "With", "Status", TIME_LEFT, "Note"),
        # At phone width, whether it is held or booked, and how long a hold has left, in sight.
        ("When", "Status", "With", "Note"),
    )
    TYPED_COLUMNS = Columns(
        ("When", "What", "With", "Status", TIME_LEFT, "Note"),
        ("When", "Status", "What", "With", "Note"),
    )
    """The columns once an appointment listed is of a type: what it is, and how long."""
    MAILED_COLUMNS = COLUMNS.adding(MAIL, before="Note")
    MAILED_TYPED_COLUMNS = TYPED_COLUMNS.adding(MAIL, before="Note")
    """The columns once the client has an e-mail address: whether each booking's confirmation
    was sent."""
    TABLE_ID = "reservations"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "confirm", "Confirm", id="reservations.confirm"),
        Binding("v", "move", "Move", id="reservations.move"),
        Binding("e", "note", "Note", id="reservations.note"),
        Binding("x,delete", "cancel_it", "Cancel", id="reservations.cancel"),
        Binding("escape,m", "app.pop_screen", "Back to the week", id="reservations.back"),
        *reload_bindings("reservations"),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "reservations.back": "Back",
        "reservations.confirm": "Confirm",
        "reservations.cancel": "Cancel",
        "reservations.retry": "Reload",
        "reservations.move": "Move",
        "reservations.note": "Note",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    def __init__(
        self,
        session: Session,
        providers: dict[str, Provider],
        on_move: Callable[[Reservation], object] | None = None,
        known: Iterable[Reservation] = (),
    ) -> None:
        """`known`: the client's holds and bookings as last heard (the week loads them too),
        shown until the list is loaded, and instead of it when it cannot be."""
        ordered = sorted(known, key=lambda r: (r.timestamp, r.provider_id))
        super().__init__(session, ordered)
        self.providers = providers
        self.on_move = on_move
        self.mail = MailStatus()
        self.offers: dict[str, WaitlistEntry] = {}
        """The entries whose offer is one of the holds listed, by the hold's first slot."""

    def on_mount(self) -> None:  # as well as LastKnownList's (Textual calls every class's)
        self.set_interval(1, self.tick)

    async def fetch(self) -> list[Row]:
        client = self.session.client
        reservations, entries = await asyncio.gather(client.reservations(), self._entries())
        self.mail = await mail_status(client)
        self.offers = {
            e.offer.time_slot_id: e
            for e in entries
            if e.status == "offered" and e.offer is not UNSET
        }
        waiting = [e for e in entries if e.status == "waiting"]
        rows: list[Row] = [*reservations, *waiting]
        return sorted(rows, key=lambda r: (parse_time(self.starts(r)), r.provider_id))

    async def _entries(self) -> list[WaitlistEntry]:
        try:
            return await waitlist_calls.entries(self.session.client)
        except NotFound:  # a server from before the waitlist
            return []

    @staticmethod
    def starts(row: Row) -> str:
        return row.from_ if isinstance(row, WaitlistEntry) else row.timestamp

    def held(self, key: str) -> str:
        """What the hold of this row is called: an offer from the waitlist is one."""
        return "offered" if key in self.offers else "held"

    def cells(self, row: Row, headings: tuple[str, ...]) -> dict[str, str]:
        if isinstance(row, WaitlistEntry):
            return dict.fromkeys(headings, "") | {
                "When": waitlist_words.window(self.session, row),
                "What": waitlist_words.length(row),
                "With": self.with_whom(row),
                "Status": waitlist_words.status(row),
            }
        status = status_cells(row, self.session.now(), headings, self.held(row.time_slot_id))
        what = {"When": self.when(row), "What": self.what(row), "With": self.with_whom(row)}
        return what | status | {MAIL: self.mail.cell(row)}

    def columns(self) -> Columns:
        typed = any(
            isinstance(row, WaitlistEntry) or isinstance(row.service_name, str) for row in self.rows
        )
        if self.mail.shown:
            return self.MAILED_TYPED_COLUMNS if typed else self.MAILED_COLUMNS
        return self.TYPED_COLUMNS if typed else self.COLUMNS

    def note(self, row: Row) -> str:
        return "" if isinstance(row, WaitlistEntry) else note_of(row)

    def key(self, row: Row) -> str:
        return row.waitlist_id if isinstance(row, WaitlistEntry) else row.time_slot_id

    def current_info(self) -> str:
        if not self.rows:
            return "Nothing held or booked yet."
        said = "c confirms a hold, v moves, e changes the note, x cancels"
        if any(isinstance(row, WaitlistEntry) for row in self.rows):
            said += " or leaves a line"
        return said

    def concerns(self, change: Change) -> bool:
        """News of the client's own slots, of a slot listed, or of a provider in whose line the
        client waits (time freed or taken there moves the line)."""
        return (
            change.client_id == self.session.me.subject
            or any(
                isinstance(r, WaitlistEntry)
                and r.provider_id in (change.provider_id, change.from_provider_id)
                for r in self.rows
            )
            or any(
                isinstance(r, Reservation) and change.time_slot_id in r.time_slot_ids
                for r in self.rows
            )
        )

    def when(self, reservation: Reservation) -> str:
        return self.session.span(start_of(reservation), minutes_of(reservation))

    @staticmethod
    def what(reservation: Reservation) -> str:
        """Its type and length ('Follow-up, 30 min'), or its length alone when it has no type."""
        length = f"{minutes_of(reservation)} min"
        kind = reservation.service_name
        return f"{first_words(kind, TYPE_ROOM)}, {length}" if isinstance(kind, str) else length

    def with_whom(self, row: Row) -> str:
        provider = self.providers.get(row.provider_id)
        return provider.name if provider and provider.name else row.provider_id

    def tick(self) -> None:
        rows = ((r.time_slot_id, r) for r in self.rows if isinstance(r, Reservation))
        count_down(self.query_one(DataTable), rows, self.session.now(), self.held)

    def chosen_reservation(self) -> Reservation | None:
        """The hold or booking under the cursor; on a place in line, None, having said that
        there is nothing of the kind to act on yet."""
        row = self.chosen()
        if isinstance(row, WaitlistEntry):
            self.notify(
                f"You are {waitlist_words.place(row)}: nothing is held for you yet. When time"
                " frees up it is held for you, and it shows here. x leaves the line."
            )
            return None
        return row

    def action_confirm(self) -> None:
        reservation = self.chosen_reservation()
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
        reservation = self.chosen_reservation()
        if reservation is None or self.on_move is None:
            return
        on_move = self.on_move
        self.app.pop_screen()
        on_move(reservation)

    def action_note(self) -> None:
        reservation = self.chosen_reservation()
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
        reservation = self.chosen()
        if reservation is None:
            return
        if isinstance(reservation, WaitlistEntry):
            self.ask_to_leave(reservation)
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

    def ask_to_leave(self, entry: WaitlistEntry) -> None:
        window = waitlist_words.window(self.session, entry)
        what = f"{waitlist_words.length(entry)}, any start {window}"
        question = (
            f"Leave your place with {self.with_whom(entry)} ({waitlist_words.place(entry)}) for"
            f" {what}? Joining again puts you at the end of the line."
        )

        def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                self.leave(entry)

        self.app.push_screen(
            ConfirmDialog("Leave the waitlist?", question, yes="Leave it", no="Stay in line"),
            answered,
        )

    @work(group="reservations-write")
    async def leave(self, entry: WaitlistEntry) -> None:
        try:
            await waitlist_calls.leave(self.session.client, entry.waitlist_id)
        except (ApiError, Unreachable) as error:
            self.notify(f"Still in line: {error}. {error.advice}", severity="error")
        else:
            self.notify(f"You left the line with {self.with_whom(entry)}.")
        self.reload()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Confirm", "Book the highlighted hold", "confirm"),
            ("Move", "Pick a new time for the highlighted hold or booking", "move"),
            ("Note", "Write or change the note for the provider", "note"),
            (
                "Cancel reservation",
                "Release the highlighted hold or booking, or leave the line",
                "cancel_it",
            ),
            ("Reload", "Load the list again", "reload"),
        ]
