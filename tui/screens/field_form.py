"""A form of labelled fields, each with a note beside it: what the field takes, or what is wrong
with it (what the form itself finds before sending, or each field the server's refusal names).
The calendar forms (a calendar connected, the calendar bookings are written to) are made of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Select, Static

from shared.wire import FieldError
from tui.errors import ApiError, Unreachable
from tui.session import Session
from tui.widgets.key_bar import KeyBar
from tui.widgets.status_line import StatusLine
from tui.words import counted

T = TypeVar("T")


@dataclass(frozen=True)
class FormField:
    """One field: its name on the wire (as a refusal names it), its label, an example of what it
    takes (shown while it is empty), what it takes (beside it while nothing is wrong), and for a
    choice its options (what each is called, and its value on the wire)."""

    key: str
    label: str
    example: str = ""
    hint: str = ""
    secret: bool = False
    """Typed text is not shown (a password)."""
    choices: tuple[tuple[str, str], ...] = ()
    longest: int = 200


class FieldForm(Screen[T | None]):
    """The fields (`fields()`, filled from `initial()`), ctrl+s or Enter in a field to `submit`
    what they say; Esc leaves, answering None. A screen says what its fields are, what it sends, and
    what it says above them (`EXPLAIN`)."""

    HEADING: ClassVar[str]
    EXPLAIN: ClassVar[str] = ""
    SENDING: ClassVar[str] = "Saving…"
    """The line under the form while what it says is sent."""
    NOT_DONE: ClassVar[str] = "Not saved"
    """How the line under the form begins when it was not sent, or was refused."""
    FIELD_ALIASES: ClassVar[dict[str, str]] = {}
    """Fields a refusal may name by another name on the wire, and the key of the field that
    says them here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="field_form.save"),
        Binding("escape", "leave", "Cancel", key_display="esc", id="field_form.cancel"),
    ]

    PHONE_KEYS: ClassVar[dict[str, str]] = {
        "field_form.save": "Save",
        "field_form.cancel": "Cancel",
    }
    """The keys the key bar shows at phone width, most important first (tui/widgets/key_bar.py)."""

    DEFAULT_CSS = """
    FieldForm #fields { height: 1fr; padding: 0 1; }
    FieldForm #explain { color: $text-muted; margin-bottom: 1; }
    FieldForm .field { height: auto; margin-bottom: 1; }
    FieldForm .field Label { width: 18; color: $text; }
    FieldForm .field Input { width: 1fr; }
    FieldForm .field Select { width: 1fr; }
    FieldForm .field .note {
        width: auto; max-width: 45%; height: auto; padding: 0 0 0 2; color: $text-muted;
    }
    FieldForm .field .note.-wrong { color: $text-error; text-style: bold; }
    FieldForm.-narrow .field { layout: vertical; }
    FieldForm.-narrow .field Input, FieldForm.-narrow .field Select { width: 100%; }
    FieldForm.-narrow .field .note { max-width: 100%; padding: 0; }
    """

    usual_info = "Tab goes to the next field  ·  Enter or ctrl+s saves  ·  Esc cancels"

    def __init__(self, session: Session, provider_id: str) -> None:
        super().__init__()
        self.session = session
        self.provider_id = provider_id
        self.busy = False

    # --- what a screen says -----------------------------------------------------------------

    def fields(self) -> tuple[FormField, ...]:
        raise NotImplementedError

    def initial(self) -> dict[str, str]:
        """What the fields hold when the form opens, by key (a choice: its first option)."""
        return {}

    async def submit(self, values: dict[str, str]) -> T:
        """Send what the fields say; what the form answers once the server took it."""
        raise NotImplementedError

    def check(self, values: dict[str, str]) -> dict[str, str]:
        """What is wrong with the fields before anything is sent, by key (nothing, by default)."""
        return {}

    def compose_more(self) -> ComposeResult:
        """Anything below the fields."""
        yield from ()

    # --- the form ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(self.HEADING, id="heading", markup=False)
        given = self.initial()
        with VerticalScroll(id="fields"):
            if self.EXPLAIN:
                yield Static(self.EXPLAIN, id="explain", markup=False)
            for field in self.fields():
                with Horizontal(classes="field"):
                    yield Label(field.label)
                    if field.choices:
                        yield Select(
                            field.choices,
                            value=given.get(field.key, field.choices[0][1]),
                            allow_blank=False,
                            compact=True,
                            id=f"field-{field.key}",
                        )
                    else:
                        yield Input(
                            given.get(field.key, ""),
                            placeholder=field.example,
                            password=field.secret,
                            max_length=field.longest,
                            compact=True,
                            id=f"field-{field.key}",
                        )
                    yield Static(field.hint, id=f"note-{field.key}", classes="note", markup=False)
            yield from self.compose_more()
        yield Static(self.usual_info, id="info", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            self.app.call_later(refresh)
        self.query_one(f"#field-{self.fields()[0].key}").focus()

    def values(self) -> dict[str, str]:
        """What each field says now: typed text without spaces at either end, or the value of
        the option chosen."""
        found: dict[str, str] = {}
        for field in self.fields():
            widget = self.query_one(f"#field-{field.key}")
            if isinstance(widget, Select):
                found[field.key] = str(widget.value)
            else:
                assert isinstance(widget, Input)
                found[field.key] = widget.value if field.secret else widget.value.strip()
        return found

    def say(self, key: str, problem: str | None) -> None:
        """Beside the field: what is wrong with it, or (when nothing is) what it takes."""
        field = next(f for f in self.fields() if f.key == key)
        note = self.query_one(f"#note-{key}", Static)
        note.update(problem or field.hint)
        note.set_class(problem is not None, "-wrong")

    def _key_of(self, widget_id: str | None) -> str | None:
        key = (widget_id or "").removeprefix("field-")
        return key if any(f.key == key for f in self.fields()) else None

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Select.Changed) -> None:
        """What was said of a field is gone once it is changed."""
        key = self._key_of(event.control.id)
        if key is not None:
            self.say(key, None)

    @on(Input.Submitted)
    def action_save(self) -> None:
        if self.busy:
            return
        values = self.values()
        wrong = self.check(values)
        for key, problem in wrong.items():
            self.say(key, problem)
        if wrong:
            self.not_saved(f"{counted(len(wrong), 'field')} to put right, said beside it.")
            return
        self.send(values)

    @work(exclusive=True, group="field-form")
    async def send(self, values: dict[str, str]) -> None:
        """`submit` what the fields say: the answer closes the form; a refusal is said beside
        each field it names, and the form stays."""
        self.busy = True
        self.set_info(self.SENDING)
        try:
            answer = await self.submit(values)
        except ApiError as error:
            self.refused(error)
        except Unreachable as error:
            self.not_saved(f"{error}. {error.advice}")
        else:
            self.done(answer)
        finally:
            self.busy = False

    def done(self, answer: T) -> None:
        """The server took what the form sent: close it, answering what the server said."""
        self.dismiss(answer)

    def refused(self, error: ApiError) -> None:
        """Each field the refusal names, with what is wrong beside it; anything else in the line
        under the form."""
        elsewhere: list[FieldError] = []
        named = 0
        for found in error.errors:
            wire = self.FIELD_ALIASES.get(found.field, found.field)
            key = self._key_of(f"field-{wire}")
            if key is None:
                elsewhere.append(found)
            else:
                self.say(key, found.message)
                named += 1
        if named and not elsewhere:
            self.not_saved(f"{counted(named, 'field')} to put right, said beside it.")
        else:
            others = "; ".join(f"{e.field} {e.message}" for e in elsewhere)
            self.not_saved(f"{others or error}.")

    def not_saved(self, why: str) -> None:
        self.set_info(f"{self.NOT_DONE}: {why}")
        for field in self.fields():
            if self.query_one(f"#note-{field.key}").has_class("-wrong"):
                self.query_one(f"#field-{field.key}").focus()
                return

    def set_info(self, text: str) -> None:
        self.query_one("#info", Static).update(text)

    def action_leave(self) -> None:
        self.dismiss(None)
