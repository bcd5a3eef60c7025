"""The client's view: providers on the left, the chosen provider's open slots on the week."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from shared.timefmt import parse_time
from shared.weeks import monday_of
from shared.wire import Provider, TimeSlot
from tui.errors import ApiError, Conflict, Unreachable
from tui.messages import FeedChanged
from tui.screens.hold import HoldDialog
from tui.screens.week import WeekScreen
from tui.session import Session
from tui.sync import Window, start_of
from tui.widgets.week_grid import Cell, CellState, WeekGrid

NEXT_SEARCH_DAYS = 31


class ClientScreen(WeekScreen):
    """Choose a provider, then hold one of its open slots (Enter) and confirm it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *WeekScreen.BINDINGS,
        Binding("n", "next_open", "Next open", id="client.next_open"),
        Binding("m", "reservations", "My reservations", id="client.reservations"),
        Binding("p", "providers", "Providers", show=False, id="client.providers"),
    ]

    painting = False

    def __init__(self, session: Session) -> None:
        super().__init__(session, None)
        self.providers: dict[str, Provider] = {}
        self.mine: dict[str, TimeSlot] = {}

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(id="providers")
            yield from super().compose_body()

    def on_mount(self) -> None:
        super().on_mount()
        self.load_providers()

    @property
    def me(self) -> str:
        return self.session.me.subject or ""

    # --- providers ------------------------------------------------------------------------------

    @work(exclusive=True, group="providers")
    async def load_providers(self) -> None:
        try:
            providers = await self.session.client.providers()
        except (ApiError, Unreachable) as error:
            self.notify(f"Could not list providers: {error}. {error.advice}", severity="error")
            return
        self.providers = {p.provider_id: p for p in providers}
        options = self.query_one("#providers", OptionList)
        highlighted = self.provider_id
        options.clear_options()
        options.add_options([Option(self._provider_label(p), id=p.provider_id) for p in providers])
        if not providers:
            self.set_info("No providers yet: nobody has published availability.")
            return
        chosen = highlighted if highlighted in self.providers else providers[0].provider_id
        options.highlighted = next(i for i, p in enumerate(providers) if p.provider_id == chosen)
        if chosen != self.provider_id:
            self.provider_id = chosen
            self.reload()

    def _provider_label(self, provider: Provider) -> str:
        name = provider.name or provider.provider_id
        if provider.next_available is None:
            return f"{name}\n  no open slots"
        return f"{name}\n  next {self.session.when_text(provider.next_available, '%a %d %H:%M')}"

    @on(OptionList.OptionHighlighted, "#providers")
    def _provider_chosen(self, event: OptionList.OptionHighlighted) -> None:
        chosen = event.option.id
        if chosen is not None and chosen != self.provider_id:
            self.provider_id = chosen
            self.mirror.replace(self._window(), [])
            self.grid.set_cells({})
            self.reload()

    @on(OptionList.OptionSelected, "#providers")
    def _provider_picked(self, event: OptionList.OptionSelected) -> None:
        self.grid.focus()

    def action_providers(self) -> None:
        self.query_one("#providers", OptionList).focus()

    # --- loading and drawing ------------------------------------------------------------------

    async def fetch(self, window: Window) -> list[TimeSlot]:
        assert window.provider_id is not None
        client = self.session.client
        open_slots = await client.open_slots(
            window.start, window.end, window.provider_id, too_soon=True
        )
        mine = await client.reservations()
        self.mine = {s.time_slot_id: s for s in mine}
        return open_slots + [s for s in mine if window.holds(s.provider_id, start_of(s))]

    def cells(self) -> dict[int, Cell]:
        shown: dict[int, Cell] = {}
        for slot in self.mirror.slots():
            shown[start_of(slot)] = self._cell(slot)
        now = self.session.now()
        for row in self.week.cells:
            for start in row:
                if start is not None and start not in shown and start < now:
                    shown[start] = Cell(CellState.PAST)
        return shown

    def _cell(self, slot: TimeSlot) -> Cell:
        mine = slot.client_id == self.me
        if slot.status == "AVAILABLE":
            start = start_of(slot)
            if self.session.bookable(start):
                return Cell(CellState.OPEN, "free")
            return Cell(CellState.PAST) if start < self.session.now() else Cell(CellState.TOO_SOON)
        if mine and slot.status == "RESERVED":
            return Cell(CellState.MINE_HELD, "held")
        if mine:
            return Cell(CellState.MINE_BOOKED, "mine")
        return Cell(CellState.TAKEN, "taken")

    def describe_cursor(self) -> None:
        start = self.grid.cursor_start
        if start is None or self.provider_id is None:
            self.set_info("")
            return
        provider = self.providers.get(self.provider_id)
        name = provider.name if provider and provider.name else self.provider_id
        slot = self.mirror.at(self.provider_id, start)
        cell = self._cell(slot) if slot else Cell(CellState.EMPTY)
        if cell.state is CellState.EMPTY and start < self.session.now():
            cell = Cell(CellState.PAST)
        what = {
            CellState.OPEN: "free: Enter holds it",
            CellState.TOO_SOON: f"open, but too soon to book: {self.session.notice_text}",
            CellState.MINE_HELD: "held by you: Enter to confirm",
            CellState.MINE_BOOKED: "booked by you",
            CellState.TAKEN: "taken",
            CellState.PAST: "past",
        }.get(cell.state, "not open")
        self.set_info(f"{name}  ·  {self.session.when(start)}  ·  {what}")

    def after_change(self, message: FeedChanged) -> None:
        change = message.change
        if change.client_id == self.me:
            was = self.mine.pop(change.time_slot_id, None)
            if change.kind == "cancelled" and change.time_slot_id not in self.session.own_cancels:
                self._tell_cancelled(change.provider_id, change.timestamp, was)
        if change.kind in ("created", "deleted", "reserved", "cancelled", "expired"):
            self.refresh_providers_soon()
        under_cursor = self.grid.cursor_start == start_of_change(change)
        if under_cursor and change.kind == "reserved" and change.client_id != self.me:
            self.notify("The slot under your cursor was just taken.", severity="warning")

    def _tell_cancelled(self, provider_id: str, timestamp: str, was: TimeSlot | None) -> None:
        """Someone else (the provider, or an admin) cancelled a reservation of ours."""
        provider = self.providers.get(provider_id)
        name = provider.name if provider and provider.name else provider_id
        what = "hold" if was is not None and was.status == "RESERVED" else "booking"
        self.notify(
            f"Your {what} with {name} on {self.session.when_text(timestamp)} was cancelled"
            " by the provider. The slot is open again.",
            title="Cancelled",
            severity="warning",
            timeout=30,
        )

    def refresh_providers_soon(self) -> None:
        self.set_timer(0.5, self.load_providers)

    # --- holding -------------------------------------------------------------------------------

    def on_week_grid_activated(self, message: WeekGrid.Activated) -> None:
        if self.provider_id is None:
            return
        slot = self.mirror.at(self.provider_id, message.start)
        if slot is None:
            if message.start < self.session.now():
                self.notify("That time has passed.")
            else:
                self.notify("Nothing to book there: this provider is not open then.")
            return
        cell = self._cell(slot)
        if cell.state is CellState.OPEN:
            self.hold(slot)
        elif cell.state is CellState.MINE_HELD:
            self.app.push_screen(HoldDialog(self.session, slot, self._provider_name(slot)))
        elif cell.state is CellState.MINE_BOOKED:
            self.notify("You have booked this slot. Cancel it from My reservations (m).")
        elif cell.state is CellState.TAKEN:
            self.notify("That slot was just taken. Pick another (n finds the next free one).")
        elif cell.state is CellState.TOO_SOON:
            earliest = self.session.when(self.session.now() + self.session.notice_seconds)
            self.notify(
                f"Too soon to book: {self.session.notice_text}. The earliest you can book now"
                f" is after {earliest} (n finds the next free slot)."
            )
        else:
            self.notify("That time has passed.")

    def _provider_name(self, slot: TimeSlot) -> str:
        provider = self.providers.get(slot.provider_id)
        return provider.name if provider and provider.name else slot.provider_id

    @work(exclusive=True, group="hold")
    async def hold(self, slot: TimeSlot) -> None:
        try:
            answer = await self.session.client.reserve(slot)
        except Conflict as error:
            if error.slug == "too-many-holds":
                self.notify(f"{error.detail}", title="Not held", severity="warning")
                return
            taken = TimeSlot(
                time_slot_id=slot.time_slot_id,
                provider_id=slot.provider_id,
                timestamp=slot.timestamp,
                duration=slot.duration,
                status="RESERVED",
            )
            self.mirror.put(taken)
            self.redraw()
            self.notify(
                "That slot was just taken. Pick another (n finds the next free one).",
                title="Just taken",
                severity="warning",
            )
            return
        except (ApiError, Unreachable) as error:
            self.notify(f"Could not hold it: {error}. {error.advice}", severity="error")
            return
        held = answer.reservation
        self.mirror.put(held)
        self.mine[held.time_slot_id] = held
        self.redraw()
        self.app.push_screen(HoldDialog(self.session, held, self._provider_name(held)))

    # --- finding the next open slot ----------------------------------------------------------

    def action_next_open(self) -> None:
        if self.provider_id is not None:
            self.find_next_open()

    @work(exclusive=True, group="next")
    async def find_next_open(self) -> None:
        assert self.provider_id is not None
        after = max(self.grid.cursor_start or 0, int(self.session.now()))
        candidates = [
            start_of(s)
            for s in self.mirror.slots()
            if start_of(s) > after and self._cell(s).state is CellState.OPEN
        ]
        wrapped = False
        try:
            if not candidates:
                later = max(after + 1, self.week.end)
                candidates = await self._first_open(later)
            if not candidates:  # nothing after the cursor: wrap around to the earliest
                candidates = await self._first_open(int(self.session.now()))
                wrapped = bool(candidates)
        except (ApiError, Unreachable) as error:
            self.notify(f"Could not search: {error}. {error.advice}", severity="error")
            return
        if not candidates:
            self.notify(f"No open slot in the next {NEXT_SEARCH_DAYS} days.")
            return
        target = min(candidates)
        if wrapped:
            self.notify(
                f"Nothing free after that: back to the earliest, {self.session.when(target)}."
            )
        monday = monday_of(self.session.local(target).date())
        if monday != self.monday:
            loading = self.show_week(monday)
            if loading is not None:
                await loading.wait()
        self.grid.move_to(target)
        self.grid.focus()

    async def _first_open(self, after: int) -> list[int]:
        """The first open slot of this provider from `after`, within NEXT_SEARCH_DAYS."""
        assert self.provider_id is not None
        found = await self.session.client.open_slots(
            after, after + NEXT_SEARCH_DAYS * 86_400, self.provider_id
        )
        return [start_of(s) for s in found[:1]]

    def action_reservations(self) -> None:
        from tui.screens.reservations import ReservationsScreen

        self.app.push_screen(ReservationsScreen(self.session, self.providers))

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Next open slot", "Jump to this provider's next free slot", "next_open"),
            ("My reservations", "Your holds and bookings", "reservations"),
            ("Providers", "Choose another provider", "providers"),
            ("Previous week", "Show the week before", "week(-1)"),
            ("Next week", "Show the week after", "week(1)"),
            ("Today", "Jump to now", "today"),
            ("Reload", "Load the week again from the server", "reload"),
        ]


def start_of_change(change: object) -> int | None:
    timestamp = getattr(change, "timestamp", None)
    return None if timestamp is None else int(parse_time(timestamp))
