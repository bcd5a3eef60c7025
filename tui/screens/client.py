"""The client's view: providers on the left, the chosen provider's open slots on the week.

At phone width (tui/narrow.py) the list is a picker: `p` (or a click on the provider's name above
the grid) shows it in the grid's place, and picking one shows the grid again. `/` filters the list.

The client chooses how long an appointment to hold (+ and -, in slot lengths); the grid marks the
time a hold from the cursor would cover, and the open starts from which that length does not fit.
A provider may offer appointment types (tui/type_choice.py): `s` shows them (as does picking that
provider with Enter), and with one chosen the grid marks only the starts the server lists for it,
read again whenever the change feed brings news of the provider; Enter holds one of that type.
A hold or booking is moved here too: My reservations (m) hands it over, the client picks its new
start on the grid and confirms."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import OptionList

from shared.service_wire import Service
from shared.timefmt import parse_time
from shared.weeks import monday_of
from shared.wire import Change, Provider, Reservation, TimeSlot
from tui.errors import ApiError, Conflict, Unreachable
from tui.messages import FeedChanged
from tui.narrow import NARROW
from tui.screens.confirm import ConfirmDialog
from tui.screens.hold import HoldDialog
from tui.screens.type_picker import Picked, TypePicker
from tui.screens.week import WeekScreen
from tui.session import Session
from tui.sync import Window, as_open, as_reservation, minutes_of, slots_of, start_of
from tui.type_choice import Fitting, TypeChoice, label, notice_words
from tui.waitlist_words import day_window
from tui.widgets.provider_list import ChosenProvider, ProviderList, ProviderPane
from tui.widgets.status_line import StatusLine
from tui.widgets.week_grid import Cell, CellState, WeekGrid
from tui.words import counted, the_time

PICKING = "-picking"
"""The class of the client's screen while, at phone width, the list of providers is shown."""

PICKING_HINT = "↑ ↓ choose · Enter shows their week"

NEXT_SEARCH_DAYS = 31


class ClientScreen(WeekScreen):
    """Choose a provider, then hold one of its open slots (Enter) and confirm it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # First, so that the key bar shows it even at phone width (only while in the list).
        Binding("escape", "close_picker", "Back to the week", id="client.close_picker"),
        *WeekScreen.BINDINGS,
        Binding("n", "next_open", "Next open", id="client.next_open"),
        Binding(
            "s",
            "types",
            "Type",
            tooltip="Choose the type of appointment among those the provider offers (or any"
            " length)",
            id="client.types",
        ),
        Binding("m", "reservations", "My reservations", id="client.reservations"),
        Binding(
            "W",
            "join_waitlist",
            "Waitlist",
            tooltip="Join the waitlist for the day under the cursor: time that frees up there is"
            " held for you",
            show=False,
            id="client.waitlist",
        ),
        Binding("p", "providers", "Providers", show=False, id="client.providers"),
        Binding(
            "slash",
            "filter_providers",
            "Filter",
            tooltip="Filter the providers: type part of a name (Esc clears it)",
            id="client.filter",
        ),
        # Not in the footer, which is full at 80 columns: the status line shows the length.
        Binding(
            "plus,equals_sign",
            "length(1)",
            "A longer appointment (one slot more)",
            show=False,
            id="client.longer",
        ),
        Binding(
            "minus",
            "length(-1)",
            "A shorter appointment (one slot less)",
            show=False,
            id="client.shorter",
        ),
        Binding("enter,space", "move_here", "Move it here", key_display="⏎", id="client.move"),
        Binding("escape", "stop_moving", "Stop moving (keep it where it is)", id="client.stop"),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "providers.clear_filter": "Clear",
        "client.close_picker": "Back",
        "client.stop": "Stop",
        "client.move": "Move here",
        "client.reservations": "Mine",
        "client.next_open": "Next open",
        "client.types": "Type",
        "week.previous": "",
        "week.next": "",
        "client.filter": "Filter",
        "grid.activate": "Hold",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    painting = False

    def __init__(self, session: Session) -> None:
        super().__init__(session, None)
        self.providers: dict[str, Provider] = {}
        self.mine: dict[str, Reservation] = {}
        """The client's holds and bookings, by their first slot's id."""
        self.length = round(session.rules.slot_minutes)
        """How long an appointment to hold without a type (+ and -): a whole number of slots."""
        self.types = TypeChoice(session)
        self.moving: Reservation | None = None
        """The hold or booking being moved, while its new start is being picked."""
        self._told: set[str] = set()
        """Slots whose cancellation by someone else the user has been told of."""
        self._offers_shown: set[str] = set()
        """The waitlist entries whose offer has been shown (one dialog for all its slots)."""
        self._opening_cursor: tuple[int, int] | None = None
        """Where the cursor stood when the screen opened, before the week was loaded."""

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            yield ProviderPane(self._provider_detail, id="provider-pane")
            with Vertical(id="week-pane"):
                yield ChosenProvider(id="provider")
                yield from super().compose_body()

    def on_mount(self) -> None:
        super().on_mount()
        self._opening_cursor = self.grid.cursor
        self.show_length()
        self.load_providers()

    def first_loaded(self) -> None:
        """The week opens with the cursor on the first free slot the client can hold, as `n`
        finds it (else it stays on today's first slot to come), unless it was moved meanwhile."""
        if self.grid.cursor != self._opening_cursor:
            return
        starts = [s for s in self._starts_after(self.session.now()) if self.week.find(s)]
        if starts:
            self.grid.move_to(min(starts), leading=True)

    def _window(self) -> Window:
        """The week, and as far past its end as the longest appointment reaches: whether one
        fits from Sunday night depends on Monday's slots."""
        reach = self.session.longest_minutes * 60
        return Window(self.week.first_start, self.week.end + reach, self.provider_id)

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
        options = next(self.query("#providers").results(ProviderList), None)
        if options is None:  # the screen closed while the list was on its way
            return
        if not providers:
            options.show([], None)
            self.set_info("No providers yet: nobody has published availability.")
            return
        chosen = self.provider_id if self.provider_id in self.providers else None
        options.show(providers, chosen)
        self._show_chosen()
        if chosen is None and not options.filter:
            self._choose(providers[0].provider_id)

    def _provider_detail(self, provider: Provider) -> str:
        """The line under a provider's name: when they are next free."""
        if provider.next_available is None:
            return "no open slots"
        return f"next {self.session.when_text(provider.next_available, '%a %d %H:%M')}"

    def _show_chosen(self) -> None:
        """Name the chosen provider, whole, above the grid, and say how to choose one of their
        appointment types while none is."""
        provider = self.providers.get(self.provider_id or "")
        if provider is not None:
            name = provider.name or provider.provider_id
            detail = self._provider_detail(provider)
            offered = self.types.offers(provider.provider_id)
            choosing = offered and self.types.chosen is None and self.moving is None
            hint = f"s: {counted(len(offered), 'appointment type')}" if choosing else ""
            self.query_one(ChosenProvider).show(name, detail, picker=self.narrow, hint=hint)

    def _choose(self, provider_id: str) -> None:
        """Show this provider's week (with any length: a type is one provider's)."""
        if provider_id != self.provider_id:
            self.provider_id = provider_id
            self.types.choose(None)
            self.show_length()
            self.mirror.replace(self._window(), [])
            self.grid.set_cells({})
            self.reload()
        self._show_chosen()

    @on(OptionList.OptionHighlighted, "#providers")
    def _provider_chosen(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self._choose(event.option.id)

    @on(OptionList.OptionSelected, "#providers")
    def _provider_picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self._choose(event.option.id)
            if self.types.chosen is None:  # picked: what they offer, if they offer types
                self.offer_types(event.option.id, quiet=True)
        self.query_one(ProviderPane).drop_filter()  # picked: the whole list again
        self._picking(False)
        self.grid.focus()

    @property
    def narrow(self) -> bool:
        return self.has_class(NARROW)

    def on_resize(self) -> None:
        """The screen may have turned narrow or wide: the line above the grid says how to
        choose another provider only where the list is a picker."""
        self._show_chosen()
        if not self.narrow and self.has_class(PICKING):
            self._picking(False)
        if self.narrow and not self.picking and self.is_current:
            # The list went out of sight (with the focus, if it had it): keys go to the grid.
            self.call_after_refresh(self._focus_in_sight)

    def _focus_in_sight(self) -> None:
        focused = self.focused
        if (
            focused is None
            or not focused.display
            or self.query_one(ProviderPane) in (focused.ancestors)
        ):
            self.grid.focus()

    @property
    def picking(self) -> bool:
        """Is the list of providers shown in the grid's place (at phone width)?"""
        return self.narrow and self.has_class(PICKING)

    def _picking(self, showing: bool) -> None:
        """At phone width, show the list of providers in the grid's place, or the grid again."""
        self.set_class(showing and self.narrow, PICKING)
        self.describe_cursor()
        self.refresh_bindings()

    def action_providers(self) -> None:
        """Go to the list of providers (at phone width, show it in the grid's place)."""
        self._picking(True)
        self.query_one(ProviderList).focus()

    def action_filter_providers(self) -> None:
        self._picking(True)
        self.query_one(ProviderPane).start_filter()

    def action_close_picker(self) -> None:
        self._picking(False)
        self.grid.focus()

    def on_chosen_provider_clicked(self, message: ChosenProvider.Clicked) -> None:
        self.action_providers()

    # --- loading and drawing ------------------------------------------------------------------

    async def fetch(self, window: Window) -> list[TimeSlot]:
        assert window.provider_id is not None
        client = self.session.client
        open_slots = await client.open_slots(
            window.start, window.end, window.provider_id, too_soon=True
        )
        chosen = self.types.chosen
        await self.types.load(window.provider_id)
        self._types_loaded(window.provider_id, chosen)
        service = self.types.chosen
        if service is not None and service.provider_id == window.provider_id:
            self.types.keep(await self.types.where_it_fits(service, window), self._window())
        mine = await client.reservations()
        self._know_mine(mine)
        return open_slots + [
            s for r in mine for s in slots_of(r) if window.holds(s.provider_id, start_of(s))
        ]

    def _know_mine(self, mine: list[Reservation]) -> None:
        self.mine = {r.time_slot_id: r for r in mine}
        if self.moving is not None:
            self.moving = self.reservation_for(self.moving.time_slot_id) or self.moving

    @work(exclusive=True, group="mine")
    async def load_mine(self) -> None:
        """Read the client's holds and bookings again (after news of one of them)."""
        try:
            self._know_mine(await self.session.client.reservations())
        except (ApiError, Unreachable):
            return  # what was known stays; the next load of the week tries again

    # --- appointment types -----------------------------------------------------------------------

    @property
    def typed(self) -> bool:
        """Is a hold from the cursor one of an appointment type (chosen, and nothing moving)?"""
        return self.types.chosen is not None and self.moving is None

    @property
    def minutes(self) -> int:
        """How long a hold from the cursor would be: the type's length, else the one chosen with
        + and - (or, while moving, the appointment's)."""
        chosen = self.types.chosen
        return chosen.minutes if chosen is not None and self.moving is None else self.length

    def _types_loaded(self, provider_id: str, was: Service | None) -> None:
        """The provider's types were read again: say so if the type chosen is no longer offered,
        and show whether there are types to choose from."""
        if provider_id != self.provider_id:
            return
        if was is not None and self.types.chosen is None:
            name = self._name_of(provider_id)
            self.notify(
                f"{name} no longer offers {was.name}: back to any length (s shows what they"
                " offer).",
                severity="warning",
            )
            self.redraw()
        self._show_chosen()
        self.refresh_bindings()

    def action_types(self) -> None:
        self._back_to_the_week()
        if self.provider_id is not None:
            self.offer_types(self.provider_id, quiet=False)

    @work(exclusive=True, group="types")
    async def offer_types(self, provider_id: str, *, quiet: bool) -> None:
        """Read the provider's types and show them to choose from; when they offer none, say so
        (unless `quiet`: they were only picked)."""
        chosen = self.types.chosen
        try:
            services = await self.types.load(provider_id)
        except (ApiError, Unreachable) as error:
            self.notify(f"Could not list the types: {error}. {error.advice}", severity="error")
            return
        self._types_loaded(provider_id, chosen)
        if provider_id != self.provider_id or self.moving is not None:
            return
        name = self._name_of(provider_id)
        if not services:
            if not quiet:
                self.notify(
                    f"{name} offers no appointment types: + and - set how long an appointment"
                    " you need."
                )
            return
        self.app.push_screen(TypePicker(name, services, self.types.chosen), self._type_picked)

    def _type_picked(self, picked: Picked | None) -> None:
        if picked is not None:
            self.use_type(picked.service)

    @work(exclusive=True, group="fitting")
    async def use_type(self, service: Service | None) -> None:
        """Hold appointments of this type from now on (None: of any length), once the server has
        said where it fits in the week shown."""
        fitting: Fitting | None = None
        if service is not None:
            window = self._window()
            try:
                found = await self.types.where_it_fits(service, window)
            except (ApiError, Unreachable) as error:
                self.notify(
                    f"Could not find where it fits: {error}. {error.advice}", severity="error"
                )
                return
            fitting = found if found.window == self._window() else None
        self.types.choose(service, fitting)
        if service is not None and fitting is None:
            self.refresh_fitting()
        self.redraw()
        self._show_chosen()
        self.refresh_bindings()

    @work(exclusive=True, group="fitting")
    async def refresh_fitting(self) -> None:
        """Ask the server again where the type chosen fits in the week shown (after news of the
        provider: a booking's buffers, or a day's limit, change it beyond what the grid shows)."""
        service = self.types.chosen
        if service is None or service.provider_id != self.provider_id:
            return
        try:
            found = await self.types.where_it_fits(service, self._window())
        except (ApiError, Unreachable):
            return  # what was known stays; the next load of the week asks again
        if self.types.keep(found, self._window()):
            self.redraw()

    def _why_not(self, start: int, where: str = "here", *, limit: bool = False) -> str:
        """Why the type chosen cannot start at this open slot (with `limit`, naming its daily
        limit, where there is room to)."""
        service = self.types.chosen
        assert service is not None
        days = service.max_advance_days
        if days is not None and self.types.too_far(start):
            return f"{service.name} can be booked at most {counted(days, 'day')} ahead"
        if not self._run_open(start):
            return f"{service.name} ({service.minutes} min) does not fit from {where}"
        if service.daily_limit is None:
            return f"{service.name} cannot start {where}: too close to another appointment"
        most = f" (at most {service.daily_limit} a day)" if limit else ""
        return (
            f"{service.name} cannot start {where}: too close to another appointment, or that day"
            f" is full{most}"
        )

    def reservation_for(self, slot_id: str) -> Reservation | None:
        """The client's hold or booking that this slot is part of, if known."""
        for reservation in self.mine.values():
            if slot_id in reservation.time_slot_ids:
                return reservation
        return None

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
        if slot.status == "AVAILABLE" and self.typed:
            start = start_of(slot)
            if self.fits(start):
                return Cell(CellState.OPEN, "free")
            if start < self.session.now():
                return Cell(CellState.PAST)
            return Cell(CellState.TOO_SOON if self.types.too_soon(start) else CellState.SHORT)
        if slot.status == "AVAILABLE":
            start = start_of(slot)
            if self.session.bookable(start):
                if self.fits(start):
                    return Cell(CellState.OPEN, "free")
                return Cell(CellState.SHORT)  # no words: the free starts stand out
            return Cell(CellState.PAST) if start < self.session.now() else Cell(CellState.TOO_SOON)
        if mine and slot.status == "RESERVED":
            return Cell(CellState.MINE_HELD, "held")
        if mine:
            return Cell(CellState.MINE_BOOKED, "mine")
        return Cell(CellState.TAKEN, "taken")

    # --- the length of an appointment, and where it fits ------------------------------------

    @property
    def span_slots(self) -> int:
        """How many slots the chosen length covers."""
        return max(1, round(self.minutes / self.session.rules.slot_minutes))

    def span_from(self, start: int) -> list[int]:
        """The starts of the slots a hold from `start` would cover."""
        step = self.session.slot_seconds
        return [start + index * step for index in range(self.span_slots)]

    def fits(self, start: int) -> bool:
        """Could the chosen length be held (or the appointment being moved be put) from here:
        every slot of it open, far enough ahead, of this provider? The slots of the appointment
        being moved count as open: a move may overlap its old place. With a type chosen, the
        server must also have listed the start for it (its buffers, notice, window and daily
        limit)."""
        if self.typed:
            return self.types.fits(start, self._window()) and self._run_open(start)
        return self._run_open(start) and all(map(self.session.bookable, self.span_from(start)))

    def _run_open(self, start: int) -> bool:
        """Is every slot from here to the end of the length chosen open, as far as the grid
        knows (or the appointment's being moved)?"""
        if self.provider_id is None:
            return False
        moving = set(self.moving.time_slot_ids) if self.moving is not None else set()
        for step in self.span_from(start):
            slot = self.mirror.at(self.provider_id, step)
            if slot is None:
                return False
            if slot.status != "AVAILABLE" and slot.time_slot_id not in moving:
                return False
        return True

    def show_length(self) -> None:
        """The length or the type (or what is being moved) in the status line, the span on the
        grid."""
        if self.moving is not None:  # no longer than the length it replaces: the line fits
            text = short = f"moving {self.session.when(start_of(self.moving), '%a %H:%M')}"
        elif self.types.chosen is not None:  # where the line is short, the name alone
            text, short = f"{label(self.types.chosen)} (s)", self.types.chosen.name
        else:
            text, short = f"length {self.minutes} min (+ -)", f"length {self.minutes} min"
        for line in self.query(StatusLine):
            line.extra, line.extra_short = text, short
        start = self.grid.cursor_start
        self.grid.span = (
            frozenset(self.span_from(start))
            if start is not None and self.span_slots > 1
            else frozenset()
        )

    def action_length(self, slots: int) -> None:
        slot = round(self.session.rules.slot_minutes)
        if self.moving is not None:
            self.notify(f"A move keeps the length ({self.minutes} min).")
            return
        if self.types.chosen is not None:
            self.notify(
                f"{self.types.chosen.name} lasts {self.minutes} min. For another length, s"
                " chooses another type, or Any length (then + and - set it)."
            )
            return
        longest = self.session.longest_minutes
        minutes = max(slot, min(longest, self.length + slots * slot))
        if minutes == self.length:
            self.notify(
                f"Already the longest this server takes: {longest} min."
                if slots > 0
                else f"Already the shortest: one slot, {slot} min."
            )
            return
        self.length = minutes
        self.redraw()

    def redraw(self) -> None:
        super().redraw()
        self.show_length()

    def describe_cursor(self) -> None:
        start = self.grid.cursor_start
        self.show_length()
        if self.picking:  # the grid is out of sight: say how to pick instead
            self.set_info(PICKING_HINT)
            return
        if start is None or self.provider_id is None:
            self.set_info("")
            return
        slot = self.mirror.at(self.provider_id, start)
        cell = self._cell(slot) if slot else Cell(CellState.EMPTY)
        if cell.state is CellState.EMPTY and start < self.session.now():
            cell = Cell(CellState.PAST)
        span = self.session.span(start, self.minutes, "%H:%M")
        if self.moving is not None:
            self.set_info(f"{self.session.when(start)}  ·  {self._move_hint(start)}")
            return
        mine = self.reservation_for(slot.time_slot_id) if slot is not None else None
        yours = self._yours(mine)
        if self.typed and cell.state in (CellState.OPEN, CellState.SHORT, CellState.TOO_SOON):
            self.set_info(f"{self.session.when(start)}  ·  {self._typed_hint(cell, start)}")
            return
        holds = f"free: Enter holds {span}" if self.span_slots > 1 else "free: Enter holds it"
        if self.types.offers(self.provider_id):  # and none is chosen: say how
            holds = f"{holds}, of any kind (s chooses a type)"
        what = {
            CellState.OPEN: holds,
            CellState.SHORT: f"open, but {self.minutes} min do not fit from here: - shortens,"
            " n finds where they do",
            CellState.TOO_SOON: f"open, but too soon to book: {self.session.notice_text}",
            CellState.MINE_HELD: f"held by you{yours}: Enter to confirm",
            CellState.MINE_BOOKED: f"booked by you{yours}",
            CellState.TAKEN: "taken",
            CellState.PAST: "past",
        }.get(cell.state, "not open")
        if (
            cell.state in (CellState.TAKEN, CellState.SHORT, CellState.EMPTY)
            and self.session.bookable(start)
            and not self._free_on(self.session.local(start).date())
        ):
            what += "  ·  nothing free this day: W joins its waitlist"
        # Whose week it is, the line above the grid says: here, the cell and what Enter does.
        self.set_info(f"{self.session.when(start)}  ·  {what}")

    def _yours(self, mine: Reservation | None) -> str:
        """What the info line adds of the client's own appointment: its type and its time, when
        it is longer than a slot."""
        if mine is None:
            return ""
        said = [mine.service_name] if isinstance(mine.service_name, str) else []
        if minutes_of(mine) > self.session.rules.slot_minutes:
            said.append(self.session.span(start_of(mine), minutes_of(mine), "%H:%M"))
        return f" ({', '.join(said)})" if said else ""

    def _typed_hint(self, cell: Cell, start: int) -> str:
        """What the info line says of an open slot with a type chosen."""
        service = self.types.chosen
        assert service is not None
        if cell.state is CellState.OPEN:
            span = self.session.span(start, self.minutes, "%H:%M")
            return f"free: Enter holds {service.name} {span}"
        if cell.state is CellState.TOO_SOON:
            return f"open, but too soon for {service.name}: it needs {self._notice(service)}"
        return f"open, but {self._why_not(start)} (n finds where it fits)"

    @staticmethod
    def _notice(service: Service) -> str:
        return notice_words(service.notice_minutes * 60)

    def _move_hint(self, start: int) -> str:
        assert self.moving is not None
        span = self.session.span(start, self.minutes, "%H:%M")
        if start == start_of(self.moving) and self.provider_id == self.moving.provider_id:
            return "where it is now: pick another start, or Esc to keep it here"
        if self.fits(start):
            return f"Enter moves it to {span}"
        return f"{self.minutes} min do not fit from here (n finds where they do; Esc stops)"

    def after_change(self, message: FeedChanged) -> None:
        change = message.change
        if change.client_id == self.me:
            self._mine_changed(change)
        if change.kind in ("created", "deleted", "reserved", "cancelled", "expired", "moved"):
            self.refresh_providers_soon()
        cursor = self.grid.cursor_start
        covered = set(self.span_from(cursor)) if cursor is not None else set()
        taken = change.kind in ("reserved", "moved") and change.client_id != self.me
        if taken and start_of_change(change) in covered and change.provider_id == self.provider_id:
            self.notify("The slot under your cursor was just taken.", severity="warning")
        if self.types.chosen is not None and self.provider_id in (
            change.provider_id,
            change.from_provider_id,
        ):
            self.refresh_fitting()  # a booking's buffers, or a day's limit, move what fits

    def _mine_changed(self, change: Change) -> None:
        """News of one of the client's own slots: tell of a cancel by someone else (once for an
        appointment of several slots), show an offer from the waitlist, and read the holds and
        bookings again."""
        slot_id, kind = change.time_slot_id, change.kind
        offered = change.waitlist_id
        if kind == "reserved" and isinstance(offered, str) and offered not in self._offers_shown:
            self._offers_shown.add(offered)
            self.show_offer(offered)
        was = self.reservation_for(slot_id)
        if was is not None and kind in ("cancelled", "expired"):
            del self.mine[was.time_slot_id]
        own = self.session.own_cancels
        if kind == "cancelled" and slot_id not in own and slot_id not in self._told:
            self._told.update(was.time_slot_ids if was is not None else [slot_id])
            self._tell_cancelled(was, change)
        self.load_mine()

    def _tell_cancelled(self, was: Reservation | None, change: Change) -> None:
        """Someone else (the provider, or an admin) cancelled a reservation of ours."""
        provider = self.providers.get(change.provider_id)
        name = provider.name if provider and provider.name else change.provider_id
        what = "hold" if was is not None and was.status == "RESERVED" else "booking"
        if was is not None:
            when = self.session.span(start_of(was), minutes_of(was))
        else:
            when = self.session.when_text(change.timestamp)
        slots = len(was.time_slot_ids) if was is not None else 1
        self.notify(
            f"Your {what} with {name} on {when} was cancelled"
            f" by the provider. {the_time(slots).capitalize()} is open again.",
            title="Cancelled",
            severity="warning",
            timeout=30,
        )

    def refresh_providers_soon(self) -> None:
        self.set_timer(0.5, self.load_providers)

    @work(group="offers")
    async def show_offer(self, waitlist_id: str) -> None:
        """Time freed up for a place of the client's in line, and is held for them: the dialog
        that counts it down (unless it has gone meanwhile)."""
        from tui.screens.offer import OfferDialog, offer_of

        try:
            found = await offer_of(self.session, waitlist_id)
        except (ApiError, Unreachable):
            self._offers_shown.discard(waitlist_id)  # its next change may show it
            return
        if found is not None:
            entry, held = found
            self.mine[held.time_slot_id] = held
            self.app.push_screen(OfferDialog(self.session, held, self._provider_name(held), entry))

    # --- holding -------------------------------------------------------------------------------

    def on_week_grid_activated(self, message: WeekGrid.Activated) -> None:
        if self.provider_id is None:
            return
        if self.moving is not None:
            self.pick_new_place(message.start)
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
        elif self.typed and cell.state in (CellState.SHORT, CellState.TOO_SOON):
            self._not_for_the_type(cell, message.start)
        elif cell.state is CellState.SHORT:
            self.notify(
                f"{self.minutes} minutes from {self.session.when(message.start, '%H:%M')} are not"
                " all free. Pick a start marked ◦ (n finds the next one), or - for a shorter"
                " appointment."
            )
        elif cell.state is CellState.MINE_HELD:
            held = self.reservation_for(slot.time_slot_id) or as_reservation(slot)
            self.app.push_screen(HoldDialog(self.session, held, self._provider_name(slot)))
        elif cell.state is CellState.MINE_BOOKED:
            self.notify(
                "You have booked this. Move it, change its note or cancel it from My"
                " reservations (m)."
            )
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

    def _not_for_the_type(self, cell: Cell, start: int) -> None:
        """Enter on an open slot where the type chosen cannot start: why, and what to do."""
        service = self.types.chosen
        assert service is not None
        if cell.state is CellState.TOO_SOON:
            earliest = self.session.when(self.session.now() + service.notice_minutes * 60)
            self.notify(
                f"Too soon for {service.name}: it needs {self._notice(service)}. The earliest"
                f" you can book it now is after {earliest} (n finds the next start)."
            )
            return
        why = self._why_not(start, f"at {self.session.when(start, '%H:%M')}", limit=True)
        self.notify(
            f"{why[:1].upper()}{why[1:]}. Pick a start marked ◦ (n finds the next one), or s for"
            " another type."
        )

    def _provider_name(self, slot: TimeSlot) -> str:
        return self._name_of(slot.provider_id)

    def _name_of(self, provider_id: str) -> str:
        provider = self.providers.get(provider_id)
        return provider.name if provider and provider.name else provider_id

    @work(exclusive=True, group="hold")
    async def hold(self, slot: TimeSlot) -> None:
        service = self.types.chosen if self.typed else None
        longer = self.span_slots > 1
        client = self.session.client
        try:
            if service is not None:
                answer = await client.reserve(slot, service_id=service.service_id)
            else:
                answer = await client.reserve(slot, minutes=self.minutes if longer else None)
        except ApiError as error:
            if service is not None and self._refused(error, slot):
                return
            if isinstance(error, Conflict):
                self._not_held(error, slot, longer)
            else:
                self.notify(f"Could not hold it: {error}. {error.advice}", severity="error")
            return
        except Unreachable as error:
            self.notify(f"Could not hold it: {error}. {error.advice}", severity="error")
            return
        held = answer.reservation
        self.mirror.put_reservation(held)
        self.mine[held.time_slot_id] = held
        self.redraw()
        self.app.push_screen(HoldDialog(self.session, held, self._provider_name(held)))

    def _not_held(self, error: Conflict, slot: TimeSlot, longer: bool) -> None:
        """Someone got there first (or the client holds too many): say so, show it."""
        if error.slug == "too-many-holds":
            self.notify(f"{error.detail}", title="Not held", severity="warning")
            return
        if longer:  # some slot of the span went: the week as it is now says which
            self.reload()
            self.notify(
                f"Not all of {self.session.span(start_of(slot), self.minutes)} is free any"
                " more. Pick another start (n finds the next one).",
                title="Just taken",
                severity="warning",
            )
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

    def _refused(self, error: ApiError, slot: TimeSlot) -> bool:
        """The server would not hold the type chosen from this slot for a reason of the type's
        (its daily limit, window, notice or buffers, or it is no longer offered): say why in a
        client's words, and read again where it fits. False for any other problem."""
        if error.slug == "service-archived":
            self.reload()  # which finds it gone, and says so
            return True
        said = self.types.refusal(error, start_of(slot), self._provider_name(slot))
        if said is None:
            return False
        self.reload()  # where it fits, as it is now
        self.notify(said, title="Not held", severity="warning")
        return True

    # --- moving a hold or a booking ------------------------------------------------------------

    @work(exclusive=True, group="next")
    async def start_moving(self, reservation: Reservation) -> None:
        """Pick a new start for this hold or booking: its provider's week, its own length."""
        self._moving(reservation)
        self.length = minutes_of(reservation)
        start = start_of(reservation)
        provider = reservation.provider_id
        if provider != self.provider_id:
            self.provider_id = provider
            self.types.choose(None)  # a type is one provider's
            self.query_one(ProviderList).highlight(provider)
            self._show_chosen()
        await self._show(start)
        self.grid.focus()
        self.redraw()
        what = "hold" if reservation.status == "RESERVED" else "booking"
        self.notify(
            f"Pick the new start of your {what} on the grid (any provider), then Enter."
            " Esc keeps it where it is.",
            title="Moving",
        )

    async def _show(self, start: int) -> None:
        """Bring this time's week (of the provider chosen) on screen, loaded, and the cursor to
        it."""
        monday = monday_of(self.session.local(start).date())
        loading = (
            self.show_week(monday)
            if monday != self.monday or not self.loaded or self.mirror.window != self._window()
            else None
        )
        if loading is not None:
            await loading.wait()
        self.grid.move_to(start, leading=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("stop_moving", "move_here"):
            return self.moving is not None
        if action == "close_picker":  # Esc from the list (or, at phone width, the picker)
            return self.picking or isinstance(self.focused, ProviderList)
        if action == "types":  # only where the provider offers types
            return self.moving is None and bool(self.types.offers(self.provider_id))
        return True

    def _moving(self, reservation: Reservation | None) -> None:
        """Start or stop moving: Enter on the grid moves the appointment there meanwhile."""
        self.moving = reservation
        self.grid.activates = reservation is None
        self.grid.refresh_bindings()
        self.refresh_bindings()
        self._show_chosen()  # no type is chosen while moving

    def action_move_here(self) -> None:
        start = self.grid.cursor_start
        if start is not None:
            self.pick_new_place(start)

    def action_stop_moving(self) -> None:
        self._moving(None)
        self.notify("Not moved: it stays where it was.")
        self.redraw()

    def pick_new_place(self, start: int) -> None:
        """Enter while moving: ask, then move the appointment to start here."""
        moving, provider_id = self.moving, self.provider_id
        assert moving is not None
        assert provider_id is not None
        target = self.mirror.at(provider_id, start)
        if start == start_of(moving) and provider_id == moving.provider_id:
            self.notify("That is where it is now. Pick another start, or Esc to keep it there.")
            return
        if target is None or not self.fits(start):
            self.notify(
                f"{self.minutes} minutes from {self.session.when(start, '%H:%M')} are not all"
                " free. Pick another start (n finds the next one), or Esc to keep it where it is."
            )
            return
        what = "hold" if moving.status == "RESERVED" else "booking"
        old = self.session.span(start_of(moving), self.minutes)
        new = self.session.span(start, self.minutes)
        name = self._provider_name(target)
        was = self._provider_name(moving)
        question = (
            f"Move your {what} with {was} on {old} to {new}"
            f"{f' with {name}' if name != was else ''}? The old time is let go only once the"
            " new one is yours."
        )

        def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                self.move(moving, target)

        self.app.push_screen(
            ConfirmDialog(
                f"Move this {what}?", question, yes="Move it", no="Not yet", destructive=False
            ),
            answered,
        )

    @work(exclusive=True, group="move")
    async def move(self, moving: Reservation, target: TimeSlot) -> None:
        try:
            answer = await self.session.client.move(moving.time_slot_id, target)
        except Conflict:
            self.reload()
            self.notify(
                "That time is not free any more. Pick another start, or Esc to keep it where it"
                " was.",
                title="Not moved",
                severity="warning",
            )
            return
        except (ApiError, Unreachable) as error:
            self.notify(f"Not moved: {error}. {error.advice}", severity="error")
            return
        moved = answer.reservation
        for slot_id in moving.time_slot_ids:  # let go of the old place, as the feed will say
            old = self.mirror.get(slot_id)
            if old is not None:
                self.mirror.put(as_open(old))
        self.mirror.put_reservation(moved)
        self.mine.pop(moving.time_slot_id, None)
        self.mine[moved.time_slot_id] = moved
        self._moving(None)
        self.redraw()
        when = self.session.span(start_of(moved), minutes_of(moved))
        self.notify(f"{when} with {self._provider_name(moved)}", title="Moved")

    # --- finding the next open slot ----------------------------------------------------------

    def action_next_open(self) -> None:
        self._back_to_the_week()
        if self.provider_id is not None:
            self.find_next_open()

    def action_week(self, delta: int) -> None:
        self._back_to_the_week()
        super().action_week(delta)

    def action_today(self) -> None:
        self._back_to_the_week()
        super().action_today()

    def _back_to_the_week(self) -> None:
        """A key that acts on the week, pressed while the picker stands in its place (at phone
        width), shows the week first: what it does is seen, and the keys are the grid's again."""
        if self.picking:
            self.action_close_picker()

    def _is_start(self, start: int) -> bool:
        """Could a hold (or the move) start here?"""
        if not self.fits(start):
            return False
        moving = self.moving
        return moving is None or (start, self.provider_id) != (
            start_of(moving),
            moving.provider_id,
        )

    def _starts_after(self, after: float) -> list[int]:
        """The starts after `after`, among the slots loaded, where a hold (or the move) could
        start."""
        return [
            start_of(s)
            for s in self.mirror.slots()
            if start_of(s) > after and self._is_start(start_of(s))
        ]

    @work(exclusive=True, group="next")
    async def find_next_open(self) -> None:
        assert self.provider_id is not None
        after = max(self.grid.cursor_start or 0, int(self.session.now()))
        candidates = self._starts_after(after)
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
        length = f" {self.minutes} min" if self.span_slots > 1 else ""
        if not candidates and self.typed:
            assert self.types.chosen is not None
            name = self.types.chosen.name
            self.notify(f"No start for {name} in the next {NEXT_SEARCH_DAYS} days.")
            return
        if not candidates:
            self.notify(f"No open{length} slot in the next {NEXT_SEARCH_DAYS} days.")
            return
        target = min(candidates)
        if wrapped:
            self.notify(
                f"Nothing free after that: back to the earliest, {self.session.when(target)}."
            )
        await self._show(target)
        self.grid.focus()

    async def _first_open(self, after: int) -> list[int]:
        """The first start of this provider from `after`, within NEXT_SEARCH_DAYS, from which
        the chosen length is open."""
        assert self.provider_id is not None
        service = self.types.chosen if self.typed else None
        found = await self.session.client.open_slots(
            after,
            after + NEXT_SEARCH_DAYS * 86_400,
            self.provider_id,
            minutes=self.minutes if self.span_slots > 1 and service is None else None,
            service_id=service.service_id if service is not None else None,
        )
        return [start_of(s) for s in found[:1]]

    def action_join_waitlist(self) -> None:
        """The join form, for the day under the cursor with the length or type chosen."""
        from tui.screens.waitlist import JoinWaitlistForm, Wanted

        self._back_to_the_week()
        start = self.grid.cursor_start
        if self.provider_id is None or start is None or self.moving is not None:
            return
        day = self.session.local(start).date()
        window = day_window(self.session, day)
        if window is None:
            self.notify("That day has passed: W on a day to come joins its waitlist.")
            return
        chosen = self.types.chosen
        wanted = Wanted(
            provider_id=self.provider_id,
            provider_name=self._name_of(self.provider_id),
            day=day,
            start=window[0],
            end=window[1],
            services=tuple(self.types.offers(self.provider_id)),
            minutes=self.length,
            service_id=chosen.service_id if chosen is not None else None,
            free_now=self._free_on(day),
        )
        self.app.push_screen(JoinWaitlistForm(self.session, wanted))

    def _starts_on(self, day: date) -> list[int]:
        if day not in self.week.days:
            return []
        column = self.week.days.index(day)
        return [s for s in (r[column] for r in self.week.cells) if s is not None]

    def _free_on(self, day: date) -> bool:
        """Does the week show a start on this day where a hold from it fits now?"""
        return any(self.fits(start) for start in self._starts_on(day))

    def action_reservations(self) -> None:
        from tui.screens.reservations import ReservationsScreen

        self.app.push_screen(
            ReservationsScreen(
                self.session,
                self.providers,
                on_move=self.start_moving,
                known=self.mine.values(),
            )
        )

    def legend(self) -> list[tuple[str, str]]:
        """What the help says of the glyphs a client's week shows (with a type chosen, of that
        type)."""
        service = self.types.chosen if self.typed else None
        if service is None:
            what, why, change = "the length chosen", "", "+ and - change it"
        else:
            what, change = service.name, "s chooses another type"
            why = " (too short a run, too close to another appointment, or that day is full)"
        return [
            (CellState.OPEN.glyph, f"free: Enter holds it ({what} fits from here)"),
            (CellState.SHORT.glyph, f"open, but {what} does not fit from here{why}"),
            (CellState.TOO_SOON.glyph, "open, but too soon to book (inside the notice period)"),
            (CellState.MINE_HELD.glyph, "held by you: confirm it before it lapses"),
            (CellState.MINE_BOOKED.glyph, "booked by you"),
            (CellState.TAKEN.glyph, "taken by someone else"),
            (CellState.PAST.glyph, "past"),
            (CellState.EMPTY.glyph, "not open"),
            ("underlined", f"what a hold from the cursor would cover ({change})"),
        ]

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Next open slot", "Jump to this provider's next free slot", "next_open"),
            ("My reservations", "Your holds and bookings, and your places in line", "reservations"),
            (
                "Join the waitlist",
                "Wait in line for time with this provider on the day under the cursor",
                "join_waitlist",
            ),
            ("Providers", "Choose another provider", "providers"),
            ("Appointment type", "Choose one the provider offers, or any length", "types"),
            ("Longer appointment", "Hold one slot more from now on", "length(1)"),
            ("Shorter appointment", "Hold one slot less from now on", "length(-1)"),
            ("Previous week", "Show the week before", "week(-1)"),
            ("Next week", "Show the week after", "week(1)"),
            ("Today", "Jump to now", "today"),
            ("Reload", "Load the week again from the server", "reload"),
        ]


def start_of_change(change: object) -> int | None:
    timestamp = getattr(change, "timestamp", None)
    return None if timestamp is None else int(parse_time(timestamp))
