"""My details (ctrl+p): the e-mail address a provider's or client's mail goes to, and the zone the
times in it are written in (the zone the app shows, so that mail and screen agree)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from shared.mail_wire import DetailsAnswer
from tui.errors import ApiError, Unreachable
from tui.session import Session

EMAIL_EXAMPLE = "e.g. ana.lopez@example.com"


def zone_in_mail(zone: str) -> str:
    """What the dialogs say of the zone mail is written in."""
    return f"Times in your mail: {zone}, as slotbook shows them."


class MyDetailsDialog(ModalScreen[DetailsAnswer | None]):
    """The address as the server has it, to change; Enter saves it (with the app's zone) by PATCH
    /me, an empty address removes it; a refusal is said beside the field it names and the dialog
    stays. Esc leaves everything as it was. Answers what the server said, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="details.cancel"),
    ]

    DEFAULT_CSS = """
    MyDetailsDialog { align: center middle; }
    MyDetailsDialog > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
        background: $surface;
    }
    MyDetailsDialog #title { text-style: bold; width: 100%; content-align: center middle; }
    MyDetailsDialog #explain { width: 100%; margin: 1 0; }
    MyDetailsDialog #email-problem, MyDetailsDialog #zone-problem {
        width: 100%; height: auto; color: $text-error;
    }
    MyDetailsDialog #zone { width: 100%; margin-top: 1; }
    MyDetailsDialog #keys { width: 100%; color: $text-muted; margin-top: 1; }
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.busy = False

    @property
    def zone(self) -> str:
        return self.session.zone.key

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("My details", id="title")
            yield Static(
                "Confirmations, changes, cancellations and reminders of your appointments go"
                " to this address. Leave it empty for no mail.",
                id="explain",
            )
            yield Label("E-mail address")
            yield Input(
                value=self.session.me.email or "",
                placeholder=EMAIL_EXAMPLE,
                max_length=254,
                id="email",
            )
            yield Static("", id="email-problem", markup=False)  # the server's words
            yield Static(zone_in_mail(self.zone), id="zone", markup=False)
            yield Static("", id="zone-problem", markup=False)
            yield Static(self.usual_keys, id="keys")

    usual_keys = "Enter saves  ·  Esc keeps it as it was"

    def on_mount(self) -> None:
        self.query_one("#email", Input).focus()
        self.load()

    @work(exclusive=True, group="my-details")
    async def load(self) -> None:
        """The address as the server has it now (another window may have changed it)."""
        try:
            details = await self.session.client.my_details()
        except (ApiError, Unreachable):
            return  # the one the session started with stays; saving says what is wrong
        field = self.query_one("#email", Input)
        if not self.busy and field.value == (self.session.me.email or ""):
            field.value = details.email or ""

    @on(Input.Submitted, "#email")
    def submitted(self, event: Input.Submitted) -> None:
        if not self.busy:
            self.save(event.value.strip())

    @work(exclusive=True, group="my-details")
    async def save(self, email: str) -> None:
        self.busy = True
        keys = self.query_one("#keys", Static)
        keys.update("Saving…")
        for problem in ("#email-problem", "#zone-problem"):
            self.query_one(problem, Static).update("")
        try:
            answer = await self.session.client.set_my_details(email=email, time_zone=self.zone)
        except ApiError as error:
            self._refused(error)
        except Unreachable as error:
            self.query_one("#email-problem", Static).update(f"Not saved: {error}")
        else:
            self.dismiss(answer)
            return
        finally:
            self.busy = False
            keys.update(self.usual_keys)
        self.query_one("#email", Input).focus()

    def _refused(self, error: ApiError) -> None:
        """The server's reason beside the field it names (the address or the zone)."""
        beside = {"email": "#email-problem", "timeZone": "#zone-problem"}
        named = [e for e in error.errors if e.field in beside]
        for found in named:
            self.query_one(beside[found.field], Static).update(found.message)
        if not named:
            self.query_one("#email-problem", Static).update(f"Not saved: {error}")

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
