"""Add an appointment type, or change one: every field of it, each with what it takes beside it,
or what is wrong with it (tui/offer_fields.py reads what is typed)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from shared.service_wire import Service, ServicePatch, ServiceRequest
from shared.wire import FieldError
from tui.errors import ApiError, Unreachable
from tui.offer_fields import (
    Field,
    Kind,
    Unreadable,
    fields,
    patch,
    read,
    read_all,
    request,
    texts_of,
)
from tui.session import Session
from tui.widgets.key_bar import KeyBar
from tui.widgets.status_line import StatusLine
from tui.words import counted

LONGEST_TEXT = {"name": 80, "description": 500}
"""The most characters the server takes in each text field."""


class OfferingForm(Screen[Service | None]):
    """A new type (`service` None), saved with POST, or a type changed, saved with PATCH naming
    only the fields that changed. Text that is no number is said next to its field before
    anything is sent, and so is each field a refusal names. Answers the type as saved, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="offer_form.save"),
        Binding("escape", "cancel", "Cancel", key_display="esc", id="offer_form.cancel"),
        Binding("down", "app.focus_next", "Next field", show=False, id="offer_form.next"),
        Binding("up", "app.focus_previous", "Previous field", show=False, id="offer_form.back"),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "offer_form.save": "Save",
        "offer_form.cancel": "Cancel",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    DEFAULT_CSS = """
    OfferingForm #fields { height: 1fr; padding: 1 1 0 1; }
    OfferingForm .field { height: auto; margin-bottom: 1; }
    OfferingForm .field Label { width: 23; color: $text; }
    OfferingForm .field Input { width: 10; }
    OfferingForm .field Input.text { width: 1fr; }
    OfferingForm .field .note { width: 1fr; height: auto; padding: 0 0 0 2; color: $text-muted; }
    OfferingForm .field .note.text { width: auto; max-width: 50%; }
    OfferingForm .field .note.-wrong { color: $text-error; text-style: bold; }
    OfferingForm.-narrow .field { layout: vertical; }
    OfferingForm.-narrow .field Input, OfferingForm.-narrow .field .note.text { width: 100%; }
    OfferingForm.-narrow .field .note { max-width: 100%; padding: 0; }
    """

    def __init__(self, session: Session, provider_id: str, service: Service | None = None) -> None:
        super().__init__()
        self.session = session
        self.provider_id = provider_id
        self.service = service
        self.form = fields(session.rules)
        self.busy = False

    @property
    def usual_notice_minutes(self) -> int:
        return round(self.session.rules.notice_hours * 60)

    def compose(self) -> ComposeResult:
        yield StatusLine()
        title = "New appointment type" if self.service is None else f"Change {self.service.name}"
        yield Static(title, id="heading", markup=False)
        texts = texts_of(self.form, self.service)
        with VerticalScroll(id="fields"):
            for field in self.form:
                text = field.kind is Kind.TEXT
                with Horizontal(classes="field"):
                    yield Label(field.label)
                    yield Input(
                        texts[field.key],
                        placeholder=field.example,
                        max_length=LONGEST_TEXT.get(field.key, 12),
                        compact=True,
                        id=f"field-{field.key}",
                        classes="text" if text else "",
                    )
                    yield Static(
                        "" if text else field.hint,
                        id=f"note-{field.key}",
                        classes="note text" if text else "note",
                        markup=False,
                    )
        yield Static(self.usual_info, id="info", markup=False)
        yield KeyBar()

    usual_info = "Tab or ↓ goes to the next field  ·  Enter or ctrl+s saves  ·  Esc cancels"

    def on_mount(self) -> None:
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            self.app.call_later(refresh)
        self.query_one("#field-name", Input).focus()

    # --- what is said beside each field -----------------------------------------------------

    def _field(self, key: str) -> Field | None:
        return next((f for f in self.form if f.key == key), None)

    def say(self, field: Field, problem: str | None) -> None:
        """Beside the field: what is wrong with it, or (when nothing is) what it takes."""
        note = self.query_one(f"#note-{field.key}", Static)
        hint = "" if field.kind is Kind.TEXT else field.hint
        note.update(problem or hint)
        note.set_class(problem is not None, "-wrong")

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        """Say at once whether what is typed can be read (what the server said of the field
        before is gone with the change)."""
        field = self._field((event.input.id or "").removeprefix("field-"))
        if field is None:
            return
        try:
            read(field, event.value)
        except Unreadable as error:
            self.say(field, str(error))
        else:
            self.say(field, None)

    def wrong(self) -> list[Field]:
        return [f for f in self.form if self.query_one(f"#note-{f.key}").has_class("-wrong")]

    # --- saving ----------------------------------------------------------------------------

    @on(Input.Submitted)
    def action_save(self) -> None:
        if self.busy:
            return
        texts = {f.key: self.query_one(f"#field-{f.key}", Input).value for f in self.form}
        values, problems = read_all(self.form, texts)
        for field in self.form:
            if field.key in problems:
                self.say(field, problems[field.key])
        if problems:
            self._not_saved(f"{counted(len(problems), 'field')} to put right, said beside it.")
            return
        if self.service is not None:
            changes = patch(self.service, values, self.usual_notice_minutes)
            if changes is None:
                self.notify(f"Nothing changed in {self.service.name}.")
                self.dismiss(None)
                return
            self.send(changes)
        else:
            self.send(request(values))

    @work(exclusive=True, group="offer-form")
    async def send(self, body: ServiceRequest | ServicePatch) -> None:
        self.busy = True
        self.set_info("Saving…")
        client = self.session.client
        try:
            if isinstance(body, ServicePatch):
                assert self.service is not None
                saved = await client.change_service(self.service.service_id, body)
            else:
                saved = await client.offer(self.provider_id, body)
        except ApiError as error:
            self._refused(error)
        except Unreachable as error:
            self._not_saved(f"{error}. {error.advice}")
        else:
            self.dismiss(saved)
        finally:
            self.busy = False

    def _refused(self, error: ApiError) -> None:
        """Each field the refusal names, with what is wrong with it beside it; anything else in
        the line under the form."""
        elsewhere: list[FieldError] = []
        for found in error.errors:
            field = self._field(found.field)
            if field is None:
                elsewhere.append(found)
            else:
                self.say(field, self._in_words(found.message))
        named = len(error.errors) - len(elsewhere)
        if named and not elsewhere:
            self._not_saved(f"{counted(named, 'field')} to put right, said beside it.")
        else:
            others = "; ".join(f"{e.field} {e.message}" for e in elsewhere)
            self._not_saved(f"{others}." if others else f"{error}.")

    def _in_words(self, message: str) -> str:
        """A server's message about a field, naming other fields as the form labels them."""
        for field in self.form:
            if field.key != field.key.lower():  # a camelCase name, never a word of English
                message = message.replace(field.key, f"“{field.label}”")
        return message

    def _not_saved(self, why: str) -> None:
        self.set_info(f"Not saved: {why}")
        wrong = self.wrong()
        if wrong:
            self.query_one(f"#field-{wrong[0].key}", Input).focus()

    def set_info(self, text: str) -> None:
        self.query_one("#info", Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
