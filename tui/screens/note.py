"""An appointment's note: a client writes or changes it, a provider reads it whole."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from shared.patterns import CONTROL, INVISIBLE
from shared.wire import TimeSlot
from tui.screens.help import CLOSES
from tui.session import Session, client_label
from tui.sync import note_of, start_of

NOTE_LENGTH = 500
"""The longest note the server keeps, in characters."""


NOTE_COLUMN = (12, 40)
"""How much of a note a table shows: what its other columns leave of the screen's width, within
these bounds."""


def note_room(width: int, headings: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """The room a table's last column, the note, has: what the other columns (their headings and
    cells, each padded by a cell either side) leave of `width`."""
    used = sum(
        max(cell_len(text) for text in (heading, *column)) + 2
        for heading, column in zip(headings, zip(*rows, strict=True), strict=False)
    )
    low, high = NOTE_COLUMN
    return max(low, min(high, width - used - 3))


def first_words(note: str, room: int) -> str:
    """As much of the note as fits in `room` characters, cut at a word where one ends near
    enough, and marked … when cut."""
    if len(note) <= room:
        return note
    cut = note[: max(1, room - 1)]
    space = cut.rfind(" ")
    if space >= room // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


UNSEEN = re.compile(f"[{CONTROL}{INVISIBLE}]")
"""Characters nobody sees (controls, format characters, letters that draw nothing), which the
server refuses in a note."""


def cleaned(text: str) -> str:
    """What the user typed, as the server takes it: one line of what can be seen, single
    spaces, none at either end."""
    spaced = " ".join(text.split())  # a tab or a line break is a space, not nothing
    return " ".join(UNSEEN.sub("", spaced).split())


class NoteDialog(ModalScreen[str | None]):
    """Write or change a note: Enter answers the new note ("" for none), Esc None (unchanged)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "keep", "Keep the note as it was", id="note.keep"),
    ]

    DEFAULT_CSS = """
    NoteDialog { align: center middle; }
    NoteDialog > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
        background: $surface;
    }
    NoteDialog #title { text-style: bold; width: 100%; content-align: center middle; }
    NoteDialog #what { width: 100%; text-align: center; margin: 1 0; }
    NoteDialog #hint { width: 100%; text-align: center; color: $text-muted; }
    """

    def __init__(self, what: str, note: str) -> None:
        super().__init__()
        self.what = what
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Note for the provider", id="title")
            yield Static(self.what, id="what", markup=False)
            yield Input(
                self.note,
                placeholder="e.g. first visit; knee pain since March",
                max_length=NOTE_LENGTH,
                id="note",
            )
            yield Static("Enter saves (empty: no note) · Esc keeps it as it was", id="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#note")
    def _save(self, event: Input.Submitted) -> None:
        self.dismiss(cleaned(event.value))

    def action_keep(self) -> None:
        self.dismiss(None)


class NoteView(ModalScreen[None]):
    """A provider reads an appointment and its whole note; any of Esc, Enter or q closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", id="note_view.close"),
    ]

    DEFAULT_CSS = """
    NoteView { align: center middle; }
    NoteView > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 90%; border: thick $accent;
        padding: 1 2; background: $surface;
    }
    NoteView #title { text-style: bold; width: 100%; content-align: center middle; }
    NoteView #what { width: 100%; text-align: center; margin: 1 0; }
    NoteView #note { width: 100%; }
    NoteView #note.none { color: $text-muted; text-style: italic; text-align: center; }
    NoteView #warning { width: 100%; margin-bottom: 1; color: $text-error; text-style: bold; }
    """

    def __init__(self, title: str, what: str, note: str, warning: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.what = what
        self.note = note
        self.warning = warning
        """Something the provider should know of the appointment (a calendar has them busy)."""

    def compose(self) -> ComposeResult:
        with Vertical() as shown:
            shown.border_subtitle = CLOSES
            yield Label(self.title_text, id="title", markup=False)  # the client's name
            yield Static(self.what, id="what")
            if self.warning:
                yield Static(self.warning, id="warning", markup=False)  # a calendar's name
            text = self.note or "No note."
            yield Static(text, id="note", classes="" if self.note else "none", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


def appointment_view(session: Session, run: list[TimeSlot], warning: str = "") -> NoteView:
    """What a provider reads of an appointment (its slots in time order): who, when, what they
    should know of it (`warning`), its note."""
    first = run[0]
    what = "hold" if first.status == "RESERVED" else "booking"
    minutes = round(len(run) * first.duration)
    when = session.span(start_of(first), minutes, "%A %d %B, %H:%M")
    title = f"{client_label(first)}'s {what}"
    return NoteView(title, f"{when} ({minutes} min)", note_of(first), warning)
