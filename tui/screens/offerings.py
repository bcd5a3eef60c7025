"""What I offer (s on the provider's week): the provider's appointment types, one row each; add
one, change one or archive one (after asking). The list is loaded again after each change; while
the server is away, the last list known stays, marked as such (tui/screens/last_known.py)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from shared.service_wire import Service
from shared.wire import Change
from tui.errors import ApiError, Unreachable
from tui.screens.confirm import ConfirmDialog
from tui.screens.last_known import LastKnownList, reload_bindings
from tui.screens.note import first_words
from tui.screens.offering_form import OfferingForm
from tui.session import Session
from tui.widgets.columns import Columns
from tui.words import counted

NONE_YET = (
    "You offer no appointment types yet, so clients choose any length they like.\n\n"
    "A type is what a client books with you, such as “First assessment, 60 minutes” or"
    " “Follow-up, 30 minutes”: each has its own length, time kept free before or after it,"
    " notice, how far ahead it may be booked and how many you take a day.\n\n"
    "Press a to add one."
)
"""What the screen says in place of the list while there is none."""


NONE = "–"
"""A buffer or a notice of nothing."""
ANY = "any"
"""No limit: as far ahead as the provider is open, as many a day as there are slots."""


def minutes_words(minutes: int) -> str:
    """A length as short as a column wants it: '30 min', '24 h', '2 days', or – for none."""
    if not minutes:
        return NONE
    if minutes % 1440 == 0 and minutes >= 2 * 1440:
        return f"{minutes // 1440} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


class OfferingsScreen(LastKnownList[Service]):
    HEADING = "What I offer"
    COLUMNS = Columns(
        ("Name", "Length", "Before", "After", "Notice", "Ahead", "A day", "Description"),
        ("Name", "Length", "Before", "After", "Notice", "Ahead", "A day", "Description"),
    )
    TABLE_ID = "offerings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", tooltip="Add an appointment type", id="offerings.add"),
        Binding(
            "e",
            "edit",
            "Edit",
            tooltip="Change the highlighted type, any of its fields",
            id="offerings.edit",
        ),
        # The table hears Enter first (a row chosen): this says so in the help.
        Binding("enter", "edit", "Change the highlighted type", show=False, id="offerings.open"),
        Binding(
            "x,delete",
            "archive",
            "Archive",
            tooltip="Archive the highlighted type: no longer offered (asks first)",
            id="offerings.archive",
        ),
        Binding("escape,s", "app.pop_screen", "Back to the week", id="offerings.back"),
        *reload_bindings("offerings"),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "offerings.back": "Back",
        "offerings.add": "Add",
        "offerings.edit": "Edit",
        "offerings.archive": "Archive",
        "offerings.retry": "Reload",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    DEFAULT_CSS = """
    OfferingsScreen #explain { display: none; height: 1fr; padding: 1 2; color: $text; }
    OfferingsScreen.-none #explain { display: block; }
    OfferingsScreen.-none DataTable { display: none; }
    """

    def __init__(self, session: Session, provider_id: str) -> None:
        super().__init__(session)
        self.provider_id = provider_id
        self.loaded = False
        self.chosen_id: str | None = None
        """A type just added or changed: the cursor goes to it once the list has it."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, DataTable):  # in the table's place while there is none
                yield Static(NONE_YET, id="explain", markup=False)
            yield widget

    async def fetch(self) -> list[Service]:
        services = await self.session.client.services(self.provider_id)
        self.loaded = True
        return services

    def cells(self, row: Service, headings: tuple[str, ...]) -> dict[str, str]:
        ahead = row.max_advance_days
        return {
            "Name": row.name,
            "Length": f"{row.minutes} min",
            "Before": minutes_words(row.buffer_before_minutes),
            "After": minutes_words(row.buffer_after_minutes),
            "Notice": minutes_words(row.notice_minutes),
            "Ahead": counted(ahead, "day") if ahead else ANY,
            "A day": str(row.daily_limit) if row.daily_limit else ANY,
        }

    def note(self, row: Service) -> str:
        return row.description

    def key(self, row: Service) -> str:
        return row.service_id

    def current_info(self) -> str:
        """The keys; above them, the highlighted type's name and description, as much as fits
        (the table has room for the first words only)."""
        if not self.rows:
            return "a adds a type · Esc goes back to your week"
        keys = "a adds a type · e or Enter changes the highlighted one · x archives it"
        chosen = self.chosen()
        if chosen is None or not chosen.description:
            return keys
        room = max(20, self.size.width - 2)
        about = first_words(f"{chosen.name}: {chosen.description}", room)
        return f"{about}\n{keys}"

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        if self.stale is None:
            self.query_one("#info", Static).update(self.current_info())

    def concerns(self, change: Change) -> bool:
        return False  # appointment types do not come through the change feed

    def draw(self) -> None:
        super().draw()
        self.set_class(not self.rows and self.stale is None and self.loaded, "-none")
        if self.chosen_id is not None:
            keys = [self.key(row) for row in self.rows]
            if self.chosen_id in keys:
                self.query_one(DataTable).move_cursor(row=keys.index(self.chosen_id))
                self.chosen_id = None

    # --- adding, changing, archiving -------------------------------------------------------

    def action_add(self) -> None:
        self._open_form(None)

    @on(DataTable.RowSelected)
    def action_edit(self) -> None:
        service = self.chosen()
        if service is None:
            self.notify("No type to change yet: a adds one.")
            return
        self._open_form(service)

    def _open_form(self, service: Service | None) -> None:
        def saved(done: Service | None) -> None:
            if done is not None:
                verb = "is offered now" if service is None else "is changed"
                self.notify(f"{done.name} {verb}.", title="Saved")
                self.chosen_id = done.service_id
            self.reload()

        form = OfferingForm(self.session, self.provider_id, service)
        self.app.push_screen(form, saved)

    def action_archive(self) -> None:
        service = self.chosen()
        if service is None:
            self.notify("No type to archive.")
            return
        question = (
            f"Stop offering {service.name}? Clients can no longer book it; the appointments"
            " already made with it keep it."
        )

        def answered(going_ahead: bool | None) -> None:
            if going_ahead:
                self.archive(service)

        self.app.push_screen(
            ConfirmDialog("Archive this type?", question, yes="Archive it", no="Keep it"),
            answered,
        )

    @work(group="offerings-write")
    async def archive(self, service: Service) -> None:
        try:
            await self.session.client.archive_service(service.service_id)
        except (ApiError, Unreachable) as error:
            self.notify(f"Not archived: {error}.", severity="error")
        else:
            self.notify(f"{service.name} is archived: clients can no longer book it.")
        self.reload()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Add a type", "Offer a new appointment type", "add"),
            ("Change the type", "Change the highlighted appointment type", "edit"),
            ("Archive the type", "Stop offering the highlighted appointment type", "archive"),
        ]
