"""Booking page (ctrl+p on the provider's week): what the provider's public booking page shows of
them (about, address, phone, website), whether the page is on, and, while it is, its address to
copy. Saved by PATCH /providers/{providerId}, naming only what changed; what the server refuses is
said beside each field it names, and the form stays open."""

from __future__ import annotations

from typing import ClassVar

from msgspec import UNSET
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Static, Switch

from shared.profile_wire import PROFILE_CHARS, ProfileAnswer, ProfileRequest, PublicProfileChanges
from shared.wire import FieldError
from tui.errors import ApiError, Unreachable
from tui.session import Session
from tui.widgets.key_bar import KeyBar
from tui.widgets.status_line import StatusLine
from tui.words import counted

FIELDS = (
    ("about", "About you", "e.g. Physiotherapy for runners; sports injuries"),
    ("address", "Address", "e.g. Rua Augusta 27, Lisbon"),
    ("phone", "Phone", "e.g. +351 21 000 0000"),
    ("website", "Website", "e.g. https://physio.example.com"),
)
"""Each profile field: its name on the wire, its label, and an example of it."""

EXPLAIN = (
    "Anyone with your page's address can book you there from a phone or a computer, without an"
    " account: they pick a time and confirm it from an e-mail. Every field is optional; an empty"
    " one is not shown."
)
OFF = "Your page is off: no one can book you there."


class BookingPageForm(Screen[ProfileAnswer | None]):
    """The provider's profile as the server has it, to change; ctrl+s (or Enter in a field) saves
    what changed. Answers the profile as last saved, or None when nothing was."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="page_form.save"),
        Binding("ctrl+l", "copy_address", "Copy address", id="page_form.copy"),
        Binding("escape", "close", "Back", key_display="esc", id="page_form.back"),
        Binding("down", "app.focus_next", "Next field", show=False, id="page_form.next"),
        Binding("up", "app.focus_previous", "Previous field", show=False, id="page_form.previous"),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "page_form.save": "Save",
        "page_form.copy": "Copy",
        "page_form.back": "Back",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    DEFAULT_CSS = """
    BookingPageForm #fields { height: 1fr; padding: 0 1; }
    BookingPageForm #explain { color: $text-muted; margin-bottom: 1; }
    BookingPageForm .field { height: auto; margin-bottom: 1; }
    BookingPageForm .field Label { width: 12; color: $text; }
    BookingPageForm .field Input { width: 1fr; }
    BookingPageForm .field .note { width: auto; max-width: 45%; height: auto; padding: 0 0 0 2; }
    BookingPageForm .field .note.-wrong { color: $text-error; text-style: bold; }
    BookingPageForm #switch-row { height: auto; }
    BookingPageForm #switch-row Label { width: 12; padding-top: 1; color: $text; }
    BookingPageForm #switch-said { width: 1fr; padding: 1 0 0 2; }
    BookingPageForm #page-address { height: auto; margin-top: 1; text-style: bold; }
    BookingPageForm.-narrow .field { layout: vertical; }
    BookingPageForm.-narrow .field Input { width: 100%; }
    BookingPageForm.-narrow .field .note { max-width: 100%; padding: 0; }
    """

    def __init__(self, session: Session, provider_id: str) -> None:
        super().__init__()
        self.session = session
        self.provider_id = provider_id
        self.saved: ProfileAnswer | None = None
        """The profile as the server last answered it (None until it has)."""
        self.changed_any = False
        """Whether this form saved anything."""
        self.busy = False

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static("Booking page", id="heading")
        with VerticalScroll(id="fields"):
            yield Static(EXPLAIN, id="explain")
            for key, label, example in FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(
                        placeholder=example,
                        max_length=PROFILE_CHARS,
                        compact=True,
                        id=f"field-{key}",
                    )
                    yield Static("", id=f"note-{key}", classes="note", markup=False)
            with Horizontal(id="switch-row"):
                yield Label("Page on")
                yield Switch(id="page-on")
                yield Static("", id="switch-said", markup=False)
            yield Static("", id="page-address", markup=False)
        yield Static("Loading your profile…", id="info", markup=False)
        yield KeyBar()

    usual_info = "Tab or ↓ goes to the next field  ·  Enter or ctrl+s saves  ·  Esc goes back"

    def on_mount(self) -> None:
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            self.app.call_later(refresh)
        self.query_one("#field-about", Input).focus()
        self.load()

    # --- what the server has ---------------------------------------------------------------

    @work(exclusive=True, group="page-form")
    async def load(self) -> None:
        self.busy = True
        try:
            found = await self.session.client.provider_profile(self.provider_id)
        except (ApiError, Unreachable) as error:
            self.set_info(f"Your profile could not be loaded: {error}")
            return
        finally:
            self.busy = False
        self.show(found)
        self.set_info(self.usual_info)

    def show(self, found: ProfileAnswer) -> None:
        """Fill the form with the profile as the server has it."""
        self.saved = found
        for key, _label, _example in FIELDS:
            field = self.query_one(f"#field-{key}", Input)
            text = getattr(found.profile, key) or ""
            if field.value != text:  # what was typed and saved keeps its cursor
                field.value = text
                field.cursor_position = 0
            self.say(key, None)
        self.query_one("#page-on", Switch).value = found.booking_page
        self.show_address()

    def show_address(self) -> None:
        """The page's address while it is on; what saving will do when the switch says other
        than the server does."""
        on = self.query_one("#page-on", Switch).value
        url = self.saved.booking_page_url if self.saved is not None else None
        was_on = url is not None
        said = "On: anyone may book you" if on else "Off"
        if self.saved is not None and on != was_on:
            said = "On once you save" if on else "Off once you save"
        self.query_one("#switch-said", Static).update(said)
        address = f"Your page: {url}" if url else OFF
        self.query_one("#page-address", Static).update(address)
        self.refresh_bindings()

    @on(Switch.Changed)
    def _switched(self, event: Switch.Changed) -> None:
        self.show_address()

    # --- what is said beside each field -----------------------------------------------------

    def say(self, key: str, problem: str | None) -> None:
        note = self.query_one(f"#note-{key}", Static)
        note.update(problem or "")
        note.set_class(problem is not None, "-wrong")

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        """What the server said of a field is gone once it is changed."""
        key = (event.input.id or "").removeprefix("field-")
        if any(key == k for k, _label, _example in FIELDS):
            self.say(key, None)

    # --- saving ----------------------------------------------------------------------------

    def changes(self) -> ProfileRequest | None:
        """What differs from the profile as the server has it (None: nothing does); a field
        emptied is removed."""
        saved = self.saved
        if saved is None:
            return None
        typed = {key: self.query_one(f"#field-{key}", Input).value.strip() for key, *_ in FIELDS}
        profile = {
            key: text for key, text in typed.items() if text != (getattr(saved.profile, key) or "")
        }
        page = self.query_one("#page-on", Switch).value
        if not profile and page == saved.booking_page:
            return None
        return ProfileRequest(
            profile=PublicProfileChanges(**profile) if profile else UNSET,
            booking_page=page if page != saved.booking_page else UNSET,
        )

    @on(Input.Submitted)
    def action_save(self) -> None:
        if self.busy:
            return
        if self.saved is None:
            self.load()
            return
        request = self.changes()
        if request is None:
            self.set_info("Nothing to save: the server has it as it is here.")
            return
        self.send(request)

    @work(exclusive=True, group="page-form")
    async def send(self, request: ProfileRequest) -> None:
        self.busy = True
        self.set_info("Saving…")
        try:
            saved = await self.session.client.set_provider_profile(self.provider_id, request)
        except ApiError as error:
            self._refused(error)
        except Unreachable as error:
            self.set_info(f"Not saved: {error}. {error.advice}")
        else:
            self.changed_any = True
            self.show(saved)
            self.set_info(
                "Saved." + (" ctrl+l copies your page's address." if saved.booking_page_url else "")
            )
        finally:
            self.busy = False

    def _refused(self, error: ApiError) -> None:
        """Each field the refusal names, with what is wrong beside it; anything else in the line
        under the form."""
        elsewhere: list[FieldError] = []
        named: list[str] = []
        for found in error.errors:
            key = found.field.removeprefix("profile.")
            if any(key == k for k, *_ in FIELDS):
                self.say(key, found.message)
                named.append(key)
            else:
                elsewhere.append(found)
        if named and not elsewhere:
            self.set_info(
                f"Not saved: {counted(len(named), 'field')} to put right, said beside it."
            )
            self.query_one(f"#field-{named[0]}", Input).focus()
        else:
            others = "; ".join(f"{e.field} {e.message}" for e in elsewhere)
            self.set_info(f"Not saved: {others or error}.")

    def set_info(self, text: str) -> None:
        self.query_one("#info", Static).update(text)

    # --- the page's address ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_address":
            return self.saved is not None and self.saved.booking_page_url is not None
        return True

    def action_copy_address(self) -> None:
        url = self.saved.booking_page_url if self.saved is not None else None
        if url is None:
            self.notify(OFF)
            return
        self.app.copy_to_clipboard(url)
        self.notify(f"Copied {url}", title="Booking page")

    def action_close(self) -> None:
        self.dismiss(self.saved if self.changed_any else None)
