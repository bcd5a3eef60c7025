"""The provider's usual week: the hours clients can book every week, painted on a week of weekdays.

Saving sets the provider's schedule on the server, which opens (and removes) the slots of every
date to the schedule's horizon; the dates that differ from the usual week keep their own hours.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from shared.schedule_wire import Schedule, ScheduleRequest, ScheduleSet
from shared.wire import TimeSlot
from tui.draft import Draft, Existing, Refusal
from tui.errors import ApiError, Unreachable
from tui.screens.confirm import ConfirmDialog
from tui.screens.zone import ZoneDialog
from tui.session import Session
from tui.weekly import cells_of, clock_text, reference_week, weekday_and_minute, weekly_from
from tui.widgets.grid_headings import WeekdayHeadings
from tui.widgets.key_bar import KeyBar
from tui.widgets.status_line import StatusLine
from tui.widgets.week_grid import Cell, CellState, WeekGrid
from tui.words import counted


class UsualWeekScreen(Screen[bool]):
    """Paint the weekly hours, save them as the schedule, change its zone or remove it. Answers
    whether anything changed on the server (the dated week reloads either way)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="usual.save"),
        Binding("u", "undo", "Undo", id="usual.undo"),
        Binding("z", "zone", "Zone", id="usual.zone"),
        Binding("D", "remove", "Remove the usual week", show=False, id="usual.remove"),
        Binding("escape,w", "leave", "Back", key_display="esc", id="usual.back"),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "usual.save": "Save",
        "usual.back": "Back",
        "usual.undo": "Undo",
        "usual.zone": "Zone",
        "grid.toggle": "Toggle",
        "grid.range": "Range",
        "grid.erase": "Erase",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    AUTO_FOCUS = "#grid"

    def __init__(self, session: Session, provider_id: str) -> None:
        super().__init__()
        self.session = session
        self.provider_id = provider_id
        self.schedule: Schedule | None = None
        self.zone = str(session.zone)
        """The schedule's zone: the app's own until the provider has a schedule."""
        self.reference = reference_week(session.slot_seconds)
        self.saved: set[int] = set()
        """The cells open every week, as the server has them."""
        self.draft = Draft(session.slot_seconds)
        self.loaded = False
        self.busy = False
        self.changed = False
        self.edits_handled = 0
        self._leave_armed: tuple[frozenset[int], frozenset[int]] | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine()
        grid = WeekGrid(self.reference, headings=WeekdayHeadings(self.zone), id="grid")
        today = self.session.today()
        grid.scroll_to_hour(self.session.first_hour)
        grid.place_cursor(self.reference.days[today.weekday()], self.session.first_hour)
        yield grid
        yield Static("Loading your usual week…", id="info")
        yield KeyBar()

    @property
    def grid(self) -> WeekGrid:
        return self.query_one("#grid", WeekGrid)

    def on_mount(self) -> None:
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            self.app.call_later(refresh)
        self.load()

    @work(exclusive=True, group="usual-week")
    async def load(self) -> None:
        """Start from the schedule in force (none: an empty week in the app's zone)."""
        try:
            schedule = await self.session.client.schedule(self.provider_id)
        except (ApiError, Unreachable) as error:
            self.notify(
                f"Could not load your usual week: {error}. {error.advice}", severity="error"
            )
            self.set_info("Not loaded: Esc goes back to the dates.")
            return
        self._take(schedule)
        self.loaded = True
        self.redraw()

    def _take(self, schedule: Schedule | None) -> None:
        """Show this schedule (as the server now has it) under the unsaved painting."""
        self.schedule = schedule
        if schedule is not None:
            self.zone = schedule.time_zone
            if self.session.follow_schedule(schedule.time_zone):  # the app's times follow it
                refresh = getattr(self.app, "refresh_status", None)
                if refresh is not None:
                    refresh()
            self.saved = cells_of(schedule.weekly, self.session.slot_seconds)
        else:
            self.saved = set()
        self.grid.headings = WeekdayHeadings(self.zone)

    # --- what each cell shows ---------------------------------------------------------------

    def cells(self) -> dict[int, Cell]:
        shown = {start: Cell(CellState.OPEN, "open") for start in self.saved}
        shown |= {start: Cell(CellState.PENDING_PAINT, "new") for start in self.draft.paint}
        shown |= {start: Cell(CellState.PENDING_ERASE, "remove") for start in self.draft.erase}
        return shown

    def redraw(self) -> None:
        self.grid.set_cells(self.cells())
        self.describe_cursor()

    def legend(self) -> list[tuple[str, str]]:
        """What the help says of the glyphs the usual week shows."""
        return [
            (CellState.OPEN.glyph, "open every week"),
            (CellState.PENDING_PAINT.glyph, "painted, not saved yet"),
            (CellState.PENDING_ERASE.glyph, "to be removed, not saved yet"),
            (CellState.EMPTY.glyph, "not open"),
        ]

    def describe_cursor(self) -> None:
        if not self.loaded:
            return
        parts: list[str] = []
        start = self.grid.cursor_start
        if start is not None:
            day, minute = weekday_and_minute(start)
            weekday = self.reference.days[day].strftime("%A")
            parts.append(f"{weekday}s {clock_text(minute)}")
            if start in self.draft.paint:
                parts.append("new, not saved yet")
            elif start in self.draft.erase:
                parts.append("to be removed, not saved yet")
            else:
                parts.append("open every week" if start in self.saved else "not open")
        if self.draft.pending:
            parts.append(f"{self.draft.pending} unsaved: ctrl+s saves, u undoes")
        elif self.schedule is None:
            parts.append("no usual week yet: paint the hours clients can book every week")
        self.set_info("  ·  ".join(parts))

    def set_info(self, text: str) -> None:
        self.query_one("#info", Static).update(text)

    def on_week_grid_cursor_moved(self, message: WeekGrid.CursorMoved) -> None:
        self.describe_cursor()

    # --- painting --------------------------------------------------------------------------------

    def _existing(self, starts: list[int]) -> dict[int, Existing]:
        return {s: Existing.OPEN if s in self.saved else Existing.NOTHING for s in starts}

    def on_week_grid_toggled(self, message: WeekGrid.Toggled) -> None:
        self._after_edit(self.draft.toggle(message.starts, self._existing(message.starts)))

    def on_week_grid_erased(self, message: WeekGrid.Erased) -> None:
        self._after_edit(
            self.draft.apply(message.starts, self._existing(message.starts), erase=True)
        )

    def on_week_grid_painted(self, message: WeekGrid.Painted) -> None:
        existing = self._existing(message.starts)
        self._after_edit(self.draft.apply(message.starts, existing, erase=message.erase))

    def _after_edit(self, refused: list[Refusal]) -> None:
        self.edits_handled += 1  # nothing in the usual week is past or taken: none are refused
        self.redraw()

    def action_undo(self) -> None:
        if self.draft.undo():
            self.redraw()
        else:
            self.notify("Nothing to undo.")

    # --- saving ----------------------------------------------------------------------------------

    def _request(self, zone: str, cells: set[int]) -> ScheduleRequest:
        """The weekly hours (and zone) to put in force; the exceptions stay as they are."""
        weekly = weekly_from(cells, self.session.slot_seconds)
        if self.schedule is None:  # a new schedule: the server's horizon
            return ScheduleRequest(time_zone=zone, weekly=weekly)
        return ScheduleRequest(
            time_zone=zone, weekly=weekly, horizon_days=self.schedule.horizon_days
        )

    async def action_save(self) -> None:
        # Edits still on their way (keys typed just before ctrl+s) land first.
        if self.edits_handled < self.grid.edits_posted:
            self.call_later(self.action_save)
            return
        if not self.loaded:
            self.notify("Your usual week has not loaded yet: nothing to save.")
            return
        if not self.draft.pending:
            self.notify("Nothing to save.")
            return
        if self.busy:
            return
        wanted = (self.saved - self.draft.erase) | self.draft.paint
        self.busy = True
        try:
            answer = await self.session.client.set_schedule(
                self.provider_id, self._request(self.zone, wanted)
            )
        except (ApiError, Unreachable) as error:
            self.notify(
                f"Saving stopped: {error}. {error.advice} Unsaved cells are still marked.",
                title="Not saved",
                severity="error",
            )
            return
        finally:
            self.busy = False
        self.draft.clear()
        self._take(answer.schedule)
        self.redraw()
        self.notify(f"Usual week saved: {outcome(answer)}.")
        self.dismiss(True)  # not awaited: we are in this screen's own handler

    # --- the zone --------------------------------------------------------------------------------

    def action_zone(self) -> None:
        if not self.loaded:
            self.notify("Your usual week has not loaded yet.")
            return
        explain = (
            "Your usual hours are wall-clock times in this zone. A change is saved at once:"
            " the same hours, in the new zone."
            if self.schedule is not None
            else "Your usual hours will be wall-clock times in this zone. It is saved at once;"
            " paint your hours and save them with ctrl+s."
        )
        self.app.push_screen(ZoneDialog(self.zone, self._change_zone, explain=explain))

    async def _change_zone(self, zone: str) -> str | None:
        """Put the saved hours in force in another zone: None when done, else the server's
        reason in words."""
        try:
            answer = await self.session.client.set_schedule(
                self.provider_id, self._request(zone, self.saved)
            )
        except ApiError as error:
            return error.errors[0].message if error.errors else str(error)
        except Unreachable as error:
            return f"{error}. {error.advice}"
        self.changed = True
        self._take(answer.schedule)
        self.redraw()
        moved = f": {outcome(answer)}" if answer.created or answer.deleted or answer.kept else ""
        self.notify(f"Your usual hours are now in {zone}{moved}.", title="Time zone")
        return None

    # --- removing --------------------------------------------------------------------------------

    def action_remove(self) -> None:
        if not self.loaded:
            return
        if self.schedule is None:
            self.notify("You have no usual week to remove.")
            return
        question = (
            "New weeks will no longer open by themselves, and the open slots your usual week"
            " made from now on are removed. Held and booked slots stay, and so do the slots you"
            " painted by hand."
        )

        async def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                await self._remove()

        self.app.push_screen(
            ConfirmDialog("Remove your usual week?", question, yes="Remove it", no="Keep it"),
            answered,
        )

    async def _remove(self) -> None:
        try:
            answer = await self.session.client.remove_schedule(self.provider_id)
        except (ApiError, Unreachable) as error:
            self.notify(f"Not removed: {error}. {error.advice}", title="Kept", severity="error")
            return
        self.draft.clear()
        kept = f"; {kept_words(answer.kept)}" if answer.kept else ""
        removed = counted(answer.deleted, "open slot")
        self.notify(f"Usual week removed, and {removed} it had made{kept}.")
        self.dismiss(True)

    # --- leaving ---------------------------------------------------------------------------------

    def action_leave(self) -> None:
        marks = (frozenset(self.draft.paint), frozenset(self.draft.erase))
        if self.draft.pending and self._leave_armed != marks:
            self._leave_armed = marks  # warn once for each set of unsaved changes
            self.notify(
                f"{counted(self.draft.pending, 'unsaved change')}: ctrl+s saves, Esc again goes"
                " back without saving.",
                title="Unsaved",
                severity="warning",
            )
            return
        self.dismiss(self.changed)

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Save the usual week", "Make these the hours clients can book every week", "save"),
            ("Undo", "Take back the last edit", "undo"),
            ("Change the time zone", "The zone your usual hours are in", "zone"),
            ("Remove the usual week", "Stop opening slots every week (asks first)", "remove"),
            ("Back to the dates", "The week with its dates", "leave"),
        ]


def outcome(answer: ScheduleSet) -> str:
    """'48 slots opened, 3 removed, 1 kept because held or booked'."""
    said = f"{counted(answer.created, 'slot')} opened, {answer.deleted} removed"
    if answer.kept:
        said += f", {kept_words(answer.kept)}"
    return said


def kept_words(kept: list[TimeSlot]) -> str:
    """'1 kept because held or booked'."""
    return f"{len(kept)} kept because held or booked"
