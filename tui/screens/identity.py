"""Switch identity (embedded server): pick one of yours, or make a new one."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

NEW = "__new__"


class IdentityScreen(ModalScreen[str | None]):
    """Answers the chosen identity's key ("role:subject"), NEW, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="identity.cancel"),
    ]

    DEFAULT_CSS = """
    IdentityScreen { align: center middle; }
    IdentityScreen > Vertical {
        width: 60; max-width: 100%; height: auto; max-height: 80%; border: thick $accent;
        padding: 1 2; background: $surface;
    }
    IdentityScreen OptionList { height: auto; max-height: 16; }
    IdentityScreen #note { width: 100%; color: $text-muted; margin-top: 1; }
    """

    def __init__(
        self, choices: list[tuple[str, str]], current: str | None, *, note: str = ""
    ) -> None:
        """`current`: the key of the identity in use here; `note`: a line under the list."""
        super().__init__()
        self.choices = choices
        self.current = current
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Act as")
            options = [
                Option(("● " if key == self.current else "  ") + label, id=key)
                for key, label in self.choices
            ]
            options.append(Option("  + someone new…", id=NEW))
            yield OptionList(*options, id="identities", markup=False)
            if self.note:
                yield Static(self.note, id="note", markup=False)

    def on_mount(self) -> None:
        """Open on the identity in use, so that Enter keeps it and arrows move from it."""
        keys = [key for key, _ in self.choices]
        listed = self.query_one("#identities", OptionList)
        if self.current in keys:
            listed.highlighted = keys.index(self.current)
        listed.focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
