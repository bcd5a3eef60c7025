"""Asking first: a dialog before anything one key would destroy (cancelling a booking, say)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConfirmDialog(ModalScreen[bool]):
    """Says what is about to happen; Enter or y goes ahead (True), Esc or n keeps it (False).
    A step that loses nothing (`destructive=False`, a move say) is not drawn in the colour of
    danger."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("escape,n", "answer(False)", "No", id="confirm.no"),
    ]

    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 60; max-width: 100%; height: auto; border: thick $error; padding: 1 2;
        background: $surface;
    }
    ConfirmDialog #title { text-style: bold; width: 100%; content-align: center middle; }
    ConfirmDialog #question { width: 100%; text-align: center; margin: 1 0; }
    ConfirmDialog.safe > Vertical { border: thick $accent; }
    ConfirmDialog Horizontal { height: auto; align: center middle; }
    ConfirmDialog Button { margin: 0 1; }
    """

    def __init__(
        self, title: str, question: str, *, yes: str, no: str, destructive: bool = True
    ) -> None:
        super().__init__(classes="" if destructive else "safe")
        self.destructive = destructive
        self.title_text = title
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, id="title")
            yield Static(self.question, id="question", markup=False)
            with Horizontal():
                # Not focusable: Enter always means the dialog's yes, whatever has focus.
                yes = Button(
                    f"{self.yes} (y)", variant="error" if self.destructive else "primary", id="yes"
                )
                no = Button(f"{self.no} (esc)", id="no")
                yes.can_focus = no.can_focus = False
                yield yes
                yield no

    def action_answer(self, going_ahead: bool) -> None:
        self.dismiss(going_ahead)

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)
