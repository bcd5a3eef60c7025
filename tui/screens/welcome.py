"""First run: are you a provider or a client, what is your name, and (if you like) where does
your mail go?"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from shared.patterns import TEXT_PATTERN
from tui.screens.my_details import EMAIL_EXAMPLE, zone_in_mail


@dataclass(frozen=True)
class Newcomer:
    """Who is starting: their role, name and e-mail address ("" for none)."""

    role: str
    name: str
    email: str = ""


class RoleChoice(RadioSet):
    """Client or provider: arrows choose, Enter (or Space) takes the one chosen and moves on to
    the name, so that nobody becomes a client by typing their name and Enter at once."""

    def action_toggle_button(self) -> None:
        super().action_toggle_button()
        self.screen.focus_next()


class WelcomeScreen(Screen[Newcomer | None]):
    """Answers who is starting; or None, when it may be left (Esc) and is. The address is saved
    once the identity exists (the server checks it then)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "app.quit", "Quit", id="welcome.quit"),
        Binding("escape", "leave", "Back", id="welcome.back"),
    ]

    def __init__(self, *, zone: str, can_leave: bool = False) -> None:
        super().__init__()
        self.zone = zone
        """The zone the app shows, which mail's times are written in."""
        self.can_leave = can_leave
        """Esc goes back (when switching identity); at the first start there is nowhere to go."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.can_leave if action == "leave" else True

    def action_leave(self) -> None:
        self.dismiss(None)

    DEFAULT_CSS = """
    WelcomeScreen { align: center middle; }
    WelcomeScreen > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
    }
    WelcomeScreen #title { text-style: bold; }
    WelcomeScreen RadioSet { width: 100%; }
    WelcomeScreen #hint { color: $text-muted; }
    WelcomeScreen #name { margin-bottom: 1; }
    WelcomeScreen #zone { color: $text-muted; }
    WelcomeScreen #problem { color: $error; height: auto; display: none; }
    WelcomeScreen #start { margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Welcome to slotbook", id="title")
            yield Static(
                "Providers say when clients can see them and what they offer; clients book"
                " them. Which are you?"
            )
            with RoleChoice(id="role"):
                yield RadioButton("A client: I book appointments", value=True, id="client")
                yield RadioButton("A provider: clients book me", id="provider")
            yield Static("↑ ↓ choose, Enter takes it", id="hint")
            yield Label("Your name, as others will see it")
            yield Input(placeholder="e.g. Grace Hopper", id="name", max_length=100)
            yield Label("E-mail, for confirmations and reminders (optional)")
            yield Input(placeholder=EMAIL_EXAMPLE, id="email", max_length=254)
            yield Static(zone_in_mail(self.zone), id="zone", markup=False)
            yield Static("", id="problem")
            yield Button("Start", variant="primary", id="start", compact=True)

    def on_mount(self) -> None:
        self.query_one("#role", RadioSet).focus()

    @on(Input.Submitted, "#name")
    @on(Input.Submitted, "#email")
    @on(Button.Pressed, "#start")
    def start(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        problem = "" if name else "Please give a name."
        if name and not re.match(TEXT_PATTERN, name):
            problem = "A name cannot hold control, invisible or direction-changing characters."
        if problem:
            said = self.query_one("#problem", Static)
            said.update(problem)
            said.display = True
            self.query_one("#name", Input).focus()
            return
        pressed = self.query_one("#role", RadioSet).pressed_button
        role = "provider" if pressed is not None and pressed.id == "provider" else "client"
        email = self.query_one("#email", Input).value.strip()
        self.dismiss(Newcomer(role, name, email))
