"""The provider's week: paint when clients can come, erase what is no longer free, save."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import date
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.widgets import Static

from shared.conflict_wire import Conflict
from shared.schedule_wire import Schedule
from shared.timefmt import parse_time
from shared.wire import TimeSlot
from tui import own_calendars, waitlist_calls, waitlist_words
from tui.buffers import Buffer, buffers
from tui.draft import Draft, Existing, Refusal
from tui.errors import ApiError, Unreachable
from tui.messages import FeedChanged
from tui.own_calendars import (
    CONNECTED_CALENDARS,
    Busy,
    OwnCalendars,
    conflict_words,
    span_words,
    warning,
)
from tui.screens.booking_page_form import BookingPageForm
from tui.screens.calendars import CalendarsScreen
from tui.screens.note import appointment_view, first_words
from tui.screens.offerings import OfferingsScreen
from tui.screens.usual_week import UsualWeekScreen, kept_words
from tui.screens.week import WeekScreen
from tui.session import Session, client_label, countdown
from tui.sync import Window, note_of, start_of
from tui.weekly import exception_dates, on_date, toggled
from tui.widgets.day_notes import DayNotes
from tui.widgets.grid_headings import DATE_MARK, DatedHeadings
from tui.widgets.week_grid import CONTINUED, Cell, CellState, WeekGrid
from tui.words import counted

NOT_USUAL = "differs from your usual week"
"""What a marked date is, in the grid's caption."""

NOTE_HINT = 40
"""How much of a note the line under the grid shows."""

WAITING_POLL_SECONDS = 60.0
"""How often the provider's week asks again how many wait in line on each day: a client joining
or leaving a line makes no change to a slot, so no feed brings it."""

CALENDARS_POLL_SECONDS = 60.0
"""How often the provider's own calendars (busy times, conflicts, how reading them goes) are
asked for again while the week is shown: the server reads them in the background, and says so on
no feed."""


class ProviderScreen(WeekScreen):
    """Paint availability on the week; held and booked cells show who and stay put."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *WeekScreen.BINDINGS,
        Binding("ctrl+s", "save", "Save", id="provider.save"),
        Binding("u", "undo", "Undo", id="provider.undo"),
        Binding("b", "bookings", "Bookings", id="provider.bookings"),
        Binding(
            "s",
            "offerings",
            "Offer",
            tooltip="What I offer: your appointment types (length, buffers, notice, limits)",
            id="provider.offerings",
        ),
        Binding(
            "enter",
            "appointment",
            "The appointment under the cursor, with its whole note",
            show=False,
            id="provider.appointment",
        ),
        # Not in the footer, which is full at 80 columns: ? and ctrl+p list it.
        Binding(
            "w",
            "usual_week",
            "Your usual week: the hours open every week",
            show=False,
            id="provider.usual_week",
        ),
        Binding(
            "o",
            "toggle_date",
            "Close the date, or give it back its usual hours",
            show=False,
            id="provider.toggle_date",
        ),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "provider.save": "Save",
        "provider.bookings": "Bookings",
        "week.previous": "",
        "week.next": "",
        "provider.undo": "Undo",
        "grid.toggle": "Toggle",
        "grid.range": "Range",
        "grid.erase": "Erase",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    def __init__(self, session: Session, provider_id: str) -> None:
        super().__init__(session, provider_id)
        self.draft = Draft(session.slot_seconds)
        self.saving = False
        self.edits_handled = 0
        self.schedule: Schedule | None = None
        """The provider's usual week and the dates that differ from it, if it has one."""
        self.buffers: dict[int, Buffer] = {}
        """The starts kept clear before or after an appointment, as last drawn."""
        self.calendars = OwnCalendars()
        """What the provider's own calendars say, as last loaded."""
        self.waiting: Counter[date] = Counter()
        """How many clients wait in line for each day, as last loaded."""

    DEFAULT_CSS = """
    ProviderScreen #calendar-warning {
        display: none; height: auto; max-height: 2; padding: 0 1;
        color: $text-error; background: $error-muted; text-style: bold;
    }
    ProviderScreen #calendar-warning.-shown { display: block; }
    """

    def compose_body(self) -> ComposeResult:
        yield Static(
            "", id="calendar-warning", markup=False
        )  # a calendar's name, the server's words
        for part in super().compose_body():
            yield part
            if isinstance(part, WeekGrid):
                yield DayNotes(part, id="waiting")  # how many wait in line, under each day

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(CALENDARS_POLL_SECONDS, self.load_calendars)
        self.set_interval(WAITING_POLL_SECONDS, self.load_waiting)

    @property
    def acting_for(self) -> str | None:
        """The providerId to name in requests: only an admin names one."""
        return self.provider_id if self.session.me.role == "admin" else None

    async def fetch(self, window: Window) -> list[TimeSlot]:
        assert self.provider_id is not None
        client = self.session.client
        slots, self.schedule = await asyncio.gather(
            client.provider_slots(self.provider_id, window.start, window.end),
            client.schedule(self.provider_id),
        )
        if self.schedule is not None:
            self.session.follow_schedule(self.schedule.time_zone)
        if self.week.zone.key != self.session.zone.key:  # followed here, or in the usual week
            self.call_later(self._zone_changed)
        self.load_calendars()
        self.load_waiting()
        return slots

    @work(exclusive=True, group="calendars")
    async def load_calendars(self) -> None:
        """Ask for the busy times of the week shown, the conflicts and the calendars again, then
        redraw; when they cannot be had, what was known stays (the next load tries again)."""
        assert self.provider_id is not None
        window = self._window()
        try:
            found = await own_calendars.load(
                self.session.client, self.provider_id, window.start, window.end
            )
        except (ApiError, Unreachable):
            return
        if not self.is_mounted or window != self._window():
            return  # the screen has gone (the app ending), or another week's load draws it
        self.calendars = found
        with contextlib.suppress(NoMatches):  # the screen is being taken down meanwhile
            self.redraw()

    @work(exclusive=True, group="waiting")
    async def load_waiting(self) -> None:
        """How many clients wait in line for each day of the week (GET /waitlist), said under
        the grid; when it cannot be had, what was known stays."""
        assert self.provider_id is not None
        try:
            entries = await waitlist_calls.waiting_for(self.session.client, self.provider_id)
        except (ApiError, Unreachable):
            return
        self.waiting = waitlist_words.waiting_by_day(self.session, entries)
        for notes in self.query("#waiting").results(DayNotes):  # none once unmounted
            notes.show(waitlist_words.waiting_notes(self.waiting))
            self.describe_cursor()

    def _zone_changed(self) -> None:
        """Times are now shown in the schedule's (new) zone: lay the week out in it again."""
        self.show_week(self.monday)
        self._refresh_status()

    def redraw(self) -> None:
        self.grid.headings = DatedHeadings(frozenset(exception_dates(self.schedule)), NOT_USUAL)
        said = warning(self.session, self.calendars)
        for line in self.query("#calendar-warning").results(Static):  # none once unmounted
            line.update(said)
            line.set_class(bool(said), "-shown")
        super().redraw()

    # --- what each cell shows ---------------------------------------------------------------

    def existing(self, start: int) -> Existing:
        slot = self.mirror.at(self.provider_id or "", start)
        if start < self.session.now():
            return Existing.PAST
        if slot is None:
            return Existing.NOTHING
        if slot.status == "AVAILABLE":
            return Existing.OPEN
        return Existing.TAKEN

    def cells(self) -> dict[int, Cell]:
        shown: dict[int, Cell] = {}
        now = self.session.now()
        self.buffers = buffers(self.mirror, self.provider_id or "", self.session.slot_seconds)
        for row in self.week.cells:
            for start in row:
                if start is None:
                    continue
                cell = self._cell(start, now)
                if cell is not None:
                    shown[start] = cell
        return shown

    def _cell(self, start: int, now: float) -> Cell | None:
        if start in self.draft.paint:
            return Cell(CellState.PENDING_PAINT, "new")
        if start in self.draft.erase:
            return Cell(CellState.PENDING_ERASE, "remove")
        slot = self.mirror.at(self.provider_id or "", start)
        busy = self._busy(start, now)
        if (slot is None or slot.status == "AVAILABLE") and busy is not None:
            return self._busy_cell(start, busy)
        if (slot is None or slot.status == "AVAILABLE") and start >= now and start in self.buffers:
            return Cell(CellState.BUFFER, "buffer")
        if slot is None:
            return Cell(CellState.PAST) if start < now else None
        if slot.status == "AVAILABLE":
            if start < now:
                return Cell(CellState.PAST)
            if not self.session.bookable(start):  # inside the notice period, as clients see it
                return Cell(CellState.TOO_SOON, "open")
            return Cell(CellState.OPEN, "open")
        if start < now:
            state = CellState.PAST
        elif self._conflicts(slot):
            state = CellState.CONFLICT
        else:
            state = CellState.HELD if slot.status == "RESERVED" else CellState.BOOKED
        return self._appointment_cell(slot, state)

    def _busy(self, start: int, now: float) -> Busy | None:
        """The busy time of the provider's calendars over a cell still to come, if any."""
        if start < now:
            return None
        return self.calendars.busy_during(start, start + self.session.slot_seconds)

    def _busy_cell(self, start: int, busy: Busy) -> Cell:
        """A busy time reads as one block, as an appointment does: its calendar's name where it
        begins (or at the top of the day's column, or below an appointment), the rest of it the
        glyph alone."""
        found = self.week.find(start)
        above = None
        if found is not None and found[0] > 0:
            above = self.week.cells[found[0] - 1][found[1]]
        held = None if above is None else self.mirror.at(self.provider_id or "", above)
        continues = (
            above is not None
            and busy.start < above + self.session.slot_seconds
            and (held is None or held.status == "AVAILABLE")  # drawn as busy too
        )
        return Cell(CellState.BUSY, "" if continues else busy.source_name)

    def _conflicts(self, slot: TimeSlot) -> list[Conflict]:
        """The calendars that have the provider busy during the appointment this slot is in."""
        appointment = slot.appointment_id
        return self.calendars.conflicts_of(
            appointment if isinstance(appointment, str) else slot.time_slot_id
        )

    def _appointment_cell(self, slot: TimeSlot, state: CellState) -> Cell:
        """An appointment reads as one block: the client's name on its first cell, the first
        words of its note on the second, the rest of it marked as following on."""
        run = self.mirror.appointment(slot)
        place = run.index(slot)
        if place == 0:
            return Cell(state, client_label(slot))
        return Cell(state, note_of(slot) if place == 1 else "", mark=CONTINUED)

    def after_change(self, message: FeedChanged) -> None:
        """A change to the provider's slots may make or end a conflict: ask for them again. An
        appointment of a type comes from the feed without its buffers (the feed does not carry
        them): load the week again, so that they show (and go with it)."""
        change = message.change
        if change.provider_id == self.provider_id:  # a hold or booking may clash, or no longer
            self.load_calendars()
            self.load_waiting()  # an offer, or time freed, moves the line
        if (
            isinstance(change.service_id, str)
            and change.status != "AVAILABLE"
            and self.mirror.window.holds(change.provider_id, parse_time(change.timestamp))
        ):
            self.reload()

    def describe_cursor(self) -> None:
        start = self.grid.cursor_start
        parts: list[str] = []
        if start is not None:
            parts.append(self.session.when(start))
            slot = self.mirror.at(self.provider_id or "", start)
            if start in self.draft.paint:
                parts.append("new, not saved yet")
            elif start in self.draft.erase:
                parts.append("to be removed, not saved yet")
            elif (busy := self._busy(start, self.session.now())) is not None and (
                slot is None or slot.status == "AVAILABLE"
            ):
                parts.append(self._busy_words(busy, open=slot is not None))
            elif start in self.buffers and start >= self.session.now():
                parts.append(self._buffer_words(self.buffers[start], open=slot is not None))
            elif slot is None:
                parts.append("past" if start < self.session.now() else "not open")
            elif slot.status == "AVAILABLE" and not self.session.bookable(start):
                parts.append(f"open, but too soon for clients to book: {self.session.notice_text}")
            elif slot.status == "AVAILABLE":
                parts.append("open")
            else:
                parts.append(self._who_holds(slot))
                clashes = self._conflicts(slot) if start >= self.session.now() else []
                if clashes:
                    parts.append(conflict_words(self.session, clashes))
                note = note_of(slot)
                if note:
                    parts.append(f"“{first_words(note, NOTE_HINT)}” (Enter reads it)")
        closed = exception_dates(self.schedule).get(self.cursor_date)
        if closed is not None:
            kind = "closed" if closed else "own hours"
            parts.append(f"{DATE_MARK} {kind} this date: o restores the usual hours")
        waiting = self.waiting.get(self.cursor_date, 0)
        if waiting:
            parts.append(f"{counted(waiting, 'client')} in line for time this day")
        if self.draft.pending:
            parts.append(f"{self.draft.pending} unsaved: ctrl+s saves, u undoes")
        self.set_info("  ·  ".join(parts))
        self._refresh_status()

    @property
    def cursor_date(self) -> date:
        """The date of the cursor's column."""
        return self.week.days[self.grid.cursor[1]]

    def _busy_words(self, busy: Busy, *, open: bool) -> str:
        """What the info line says of a cell a calendar of the provider's has them busy in."""
        when = span_words(self.session, busy.start, busy.end)
        kept = "open, but not bookable: " if open else ""
        return f"{kept}busy in your calendar '{busy.source_name}' ({when})"

    def _buffer_words(self, buffer: Buffer, *, open: bool) -> str:
        """What the info line says of a cell kept clear around an appointment."""
        side = "after" if buffer.after else "before"
        first = buffer.appointment[0]
        whose = client_label(first)
        kind = first.service_name if isinstance(first.service_name, str) else "appointment"
        booked = "open, but not bookable: " if open else ""
        return f"{booked}kept clear {side} {whose}'s {kind} ({buffer.minutes} min buffer)"

    def _who_holds(self, slot: TimeSlot) -> str:
        who = client_label(slot)
        if isinstance(slot.service_name, str):
            who += f" ({slot.service_name})"
        run = self.mirror.appointment(slot)
        if len(run) > 1:
            minutes = len(run) * slot.duration
            who += f", {self.session.span(start_of(run[0]), minutes, '%H:%M')}"
        if slot.status == "CONFIRMED":
            return f"booked by {who}"
        left = ""
        if isinstance(slot.expires_at, str):
            left = f", {countdown(parse_time(slot.expires_at) - self.session.now())}"
        return f"held by {who}{left}"

    # --- painting --------------------------------------------------------------------------------

    def _existing_map(self, starts: list[int]) -> dict[int, Existing]:
        return {s: self.existing(s) for s in starts}

    def on_week_grid_toggled(self, message: WeekGrid.Toggled) -> None:
        self._after_edit(self.draft.toggle(message.starts, self._existing_map(message.starts)))

    def on_week_grid_erased(self, message: WeekGrid.Erased) -> None:
        refused = self.draft.apply(message.starts, self._existing_map(message.starts), erase=True)
        self._after_edit(refused)

    def on_week_grid_painted(self, message: WeekGrid.Painted) -> None:
        refused = self.draft.apply(
            message.starts, self._existing_map(message.starts), erase=message.erase
        )
        self._after_edit(refused)

    def _after_edit(self, refused: list[Refusal]) -> None:
        self.edits_handled += 1
        self.redraw()
        if not refused:
            return
        taken = [r for r in refused if r.why is Existing.TAKEN]
        if taken:
            holder = self.mirror.at(self.provider_id or "", taken[0].start)
            who = self._who_holds(holder) if holder else "held or booked"
            many = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
            self.notify(
                f"{self.session.when(taken[0].start)} is {who}{many}: it cannot be removed."
                " Cancel the booking first (b).",
                title="Kept",
                severity="warning",
            )
        elif refused:
            self.notify("The past cannot be changed.", title="Kept", severity="warning")

    def action_undo(self) -> None:
        if self.draft.undo():
            self.redraw()
        else:
            self.notify("Nothing to undo.")

    # --- saving ----------------------------------------------------------------------------------

    def action_save(self) -> None:
        # Edits still on their way (keys typed just before ctrl+s) land first.
        if self.edits_handled < self.grid.edits_posted:
            self.call_later(self.action_save)
            return
        if not self.draft.pending:
            self.notify("Nothing to save.")
            return
        if not self.saving:
            self.save()

    @work(exclusive=True, group="save")
    async def save(self) -> None:
        self.saving = True
        client, provider = self.session.client, self.acting_for
        opened = removed = 0
        kept: list[TimeSlot] = []
        slot: TimeSlot | None
        try:
            for start, end in self.draft.paint_runs():
                submitted = await client.submit(start, end, provider)
                for slot in submitted.time_slots:
                    self.mirror.put(slot)
                opened += submitted.created
                self.draft.forget(range(start, end, self.session.slot_seconds))
            for start, end in self.draft.erase_runs():
                answer = await client.remove(start, end, provider)
                for step in range(start, end, self.session.slot_seconds):
                    slot = self.mirror.at(self.provider_id or "", step)
                    if slot is not None and slot.status == "AVAILABLE":
                        self.mirror.drop(slot.time_slot_id)
                kept += answer.kept
                removed += answer.deleted
                self.draft.forget(range(start, end, self.session.slot_seconds))
        except (ApiError, Unreachable) as error:
            self.notify(
                f"Saving stopped: {error}. {error.advice} Unsaved cells are still marked.",
                title="Not saved",
                severity="error",
            )
        else:
            message = f"Opened {counted(opened, 'slot')}, removed {removed}."
            if kept:
                were = "was" if len(kept) == 1 else "were"
                message += f" Kept {len(kept)} that {were} just held or booked."
            self.notify(message, title="Saved")
            self.draft.clear()
            self.load_schedule()  # a date painted by hand now differs from the usual week
        finally:
            self.saving = False
            for slot in kept:
                self.mirror.put(slot)
            self.redraw()

    def action_appointment(self) -> None:
        """Enter: who holds the cell under the cursor, when, and the whole note."""
        start = self.grid.cursor_start
        slot = None if start is None else self.mirror.at(self.provider_id or "", start)
        if slot is None or slot.status == "AVAILABLE":
            self.notify("No appointment there: Enter reads a held or booked one.")
            return
        run = self.mirror.appointment(slot)
        clashes = self._conflicts(slot) if start is not None and start >= self.session.now() else []
        said = conflict_words(self.session, clashes) if clashes else ""
        self.app.push_screen(appointment_view(self.session, run, said))

    def action_bookings(self) -> None:
        from tui.screens.bookings import BookingsScreen

        assert self.provider_id is not None
        self.app.push_screen(BookingsScreen(self.session, self.provider_id, self.mirror.slots()))

    def action_offerings(self) -> None:
        assert self.provider_id is not None
        self.app.push_screen(OfferingsScreen(self.session, self.provider_id))

    def action_booking_page(self) -> None:
        assert self.provider_id is not None
        self.app.push_screen(BookingPageForm(self.session, self.provider_id))

    def action_calendars(self) -> None:
        """Connected calendars; once it closes, what they say is asked for again."""
        assert self.provider_id is not None

        def back(_: None) -> None:
            self.load_calendars()

        self.app.push_screen(CalendarsScreen(self.session, self.provider_id), back)

    # --- the usual week --------------------------------------------------------------------------

    def action_usual_week(self) -> None:
        assert self.provider_id is not None

        def back(changed: bool | None) -> None:
            self.reload()  # the feed has brought the slots already; the marks may have changed

        self.app.push_screen(UsualWeekScreen(self.session, self.provider_id), back)

    @work(exclusive=True, group="schedule-read")
    async def load_schedule(self) -> None:
        """Read the schedule again (which dates differ from it), then redraw the marks."""
        assert self.provider_id is not None
        try:
            self.schedule = await self.session.client.schedule(self.provider_id)
        except (ApiError, Unreachable):
            return  # the marks stay as they were; the next load of the week tries again
        self.redraw()

    def action_toggle_date(self) -> None:
        day = self.cursor_date
        if day < self.session.today():
            self.notify("The past cannot be changed.", title="Kept", severity="warning")
            return
        self.toggle_date(day)

    @work(exclusive=True, group="schedule")
    async def toggle_date(self, day: date) -> None:
        """Close the date (an exception without hours), or drop its exception so that it has
        the usual hours again; every other exception stays as the server has it now."""
        assert self.provider_id is not None
        client, when = self.session.client, day.strftime("%a %d %b")
        try:
            schedule = await client.schedule(self.provider_id)
            if schedule is None:
                self.notify(
                    "You have no usual week yet: w sets one up. Then o closes a date, or gives it"
                    " back its usual hours.",
                    title="No usual week",
                )
                return
            request, closing = toggled(schedule, day)
            answer = await client.set_schedule(self.provider_id, request)
        except (ApiError, Unreachable) as error:
            self.notify(f"Not changed: {error}. {error.advice}", severity="error")
            return
        if closing:
            removed = f": removed {counted(answer.deleted, 'open slot')}" if answer.deleted else ""
            message = f"Closed {when}{removed}."
        else:
            opened = f": opened {counted(answer.created, 'slot')}" if answer.created else ""
            message = f"{when} has its usual hours again{opened}."
        kept = on_date(answer.kept, day, answer.schedule.time_zone)
        if kept:
            message += f" {kept_words(kept).capitalize()}: b lists them."
        self.notify(message, title="Closed" if closing else "Usual hours")
        self.schedule = answer.schedule
        self.reload()

    def legend(self) -> list[tuple[str, str]]:
        """What the help says of the glyphs a provider's week shows, and of the mark after a
        date's title."""
        return [
            (CellState.OPEN.glyph, "open: clients can book it"),
            (CellState.TOO_SOON.glyph, "open, but too soon for clients to book (notice period)"),
            (CellState.HELD.glyph, "held by a client, lapses unless confirmed"),
            (CellState.BOOKED.glyph, "booked"),
            (CONTINUED, "the rest of an appointment: the client's name is above it"),
            (
                CellState.BUFFER.glyph,
                "buffer: kept clear beside an appointment, not bookable",
            ),
            (
                CellState.BUSY.glyph,
                "busy in a calendar of yours: not bookable, open or not",
            ),
            (
                CellState.CONFLICT.glyph,
                "a hold or booking your calendar has you busy during",
            ),
            (CellState.PAST.glyph, "past"),
            (CellState.PENDING_PAINT.glyph, "painted, not saved yet"),
            (CellState.PENDING_ERASE.glyph, "to be removed, not saved yet"),
            (CellState.EMPTY.glyph, "not open"),
            (DATE_MARK, f"after a date: the date {NOT_USUAL}"),
            ("3 waiting", "under a day: how many clients wait in line for it"),
        ]

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Save changes", "Send painted and erased cells to the server", "save"),
            ("Undo", "Take back the last edit", "undo"),
            ("Bookings", "Upcoming holds and bookings on your slots", "bookings"),
            ("Usual week", "The hours you are open every week", "usual_week"),
            ("What I offer", "Your appointment types: add, change or archive one", "offerings"),
            (
                "Booking page",
                "What your public booking page shows of you, and whether it is on",
                "booking_page",
            ),
            (
                CONNECTED_CALENDARS,
                "The calendars you are busy in, and the one your bookings are written to",
                "calendars",
            ),
            (
                "Close or restore this date",
                "Close the cursor's date, or give it back its usual hours",
                "toggle_date",
            ),
            ("Previous week", "Show the week before", "week(-1)"),
            ("Next week", "Show the week after", "week(1)"),
            ("Today", "Jump to now", "today"),
            ("Reload", "Load the week again from the server", "reload"),
        ]
