"""Sign in: a server was named but no token given, so ask for one (terminal and browser alike).

The token is typed into a password field and goes nowhere but the server it is for: not into a
command line, a URL or a log. A wrong one is said plainly and the field is cleared for another try.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from tui.errors import ApiError, Unauthorized, Unreachable
from tui.session import Session

SignIn = Callable[[str], Awaitable[Session]]
"""Opens a session with a token; raises what the server said when it refuses."""


class SignInScreen(Screen[Session]):
    """Answers the session the token opened; it cannot be left but by quitting."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "app.quit", "Quit", id="sign_in.quit"),
    ]

    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    SignInScreen > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
    }
    SignInScreen #title { text-style: bold; margin-bottom: 1; }
    SignInScreen #hint { color: $text-muted; margin-bottom: 1; }
    SignInScreen Input { margin-bottom: 1; }
    SignInScreen #problem { color: $error; height: auto; }
    """

    def __init__(self, server: str, sign_in: SignIn) -> None:
        super().__init__()
        self.server = server
        self.sign_in = sign_in

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Sign in to slotbook", id="title")
            yield Static(f"Server: {self.server}")
            yield Static(
                "Paste the token your slotbook admin gave you (it starts with sbk_),"
                " then press Enter.",
                id="hint",
            )
            yield Input(placeholder="sbk_…", password=True, id="token")
            yield Static("", id="problem", markup=False)

    def on_mount(self) -> None:
        self.query_one("#token", Input).focus()

    @on(Input.Submitted, "#token")
    def submitted(self, event: Input.Submitted) -> None:
        token = event.value.strip()
        if not token:
            self._say("Please paste your token first.")
            return
        self._say("Signing in…")
        self.query_one("#token", Input).disabled = True
        self.attempt(token)

    @work(exclusive=True, group="sign-in")
    async def attempt(self, token: str) -> None:
        field = self.query_one("#token", Input)
        try:
            session = await self.sign_in(token)
        except Unauthorized as error:
            problem = (
                f"The server refused that token: {error.detail.rstrip('.')}."
                " Check it and try again."
            )
        except Unreachable as error:
            problem = f"Could not reach the server: {error}. {Unreachable.advice}"
        except ApiError as error:
            problem = f"The server refused: {error.detail.rstrip('.')}. {error.advice}"
        else:
            self.dismiss(session)
            return
        field.disabled = False
        field.clear()
        field.focus()
        self._say(problem)

    def _say(self, text: str) -> None:
        self.query_one("#problem", Static).update(text)
