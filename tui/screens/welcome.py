"""First run: are you a provider or a client, and what is your name?"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static


class WelcomeScreen(Screen[tuple[str, str]]):
    """Answers (role, name)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "app.quit", "Quit", id="welcome.quit"),
    ]

    DEFAULT_CSS = """
    WelcomeScreen { align: center middle; }
    WelcomeScreen > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
    }
    WelcomeScreen #title { text-style: bold; margin-bottom: 1; }
    WelcomeScreen RadioSet { width: 100%; margin-bottom: 1; }
    WelcomeScreen Input { margin-bottom: 1; }
    WelcomeScreen #problem { color: $error; height: auto; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Welcome to slotbook", id="title")
            yield Static(
                "Providers say when clients can see them; clients book a 15-minute slot."
                " Which are you?"
            )
            with RadioSet(id="role"):
                yield RadioButton("A client: I book appointments", value=True, id="client")
                yield RadioButton("A provider: clients book me", id="provider")
            yield Label("Your name, as others will see it")
            yield Input(placeholder="e.g. Grace Hopper", id="name", max_length=100)
            yield Static("", id="problem")
            yield Button("Start", variant="primary", id="start")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    @on(Input.Submitted, "#name")
    @on(Button.Pressed, "#start")
    def start(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        if not name:
            self.query_one("#problem", Static).update("Please give a name.")
            self.query_one("#name", Input).focus()
            return
        pressed = self.query_one("#role", RadioSet).pressed_button
        role = "provider" if pressed is not None and pressed.id == "provider" else "client"
        self.dismiss((role, name))
