"""The slotbook terminal app: starts (or finds) a server, knows who you are, shows your week."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.filter import LineFilter
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer

from shared.wire import Resync
from tui import hangup
from tui.backends import Backend, Connection
from tui.client import Connected, Disconnected, SlotbookClient
from tui.errors import ApiError, Unauthorized, Unreachable
from tui.identities import Identity, subject_for
from tui.legibility import MinimumContrast
from tui.messages import FeedChanged, FeedReloadNeeded
from tui.narrow import BREAKPOINTS
from tui.session import Clock, Session
from tui.themes import (
    DEFAULT_THEME,
    Preferences,
    load_preferences,
    offered_themes,
    save_preferences,
)
from tui.widgets.status_line import StatusLine
from tui.words import counted


class SlotbookApp(App[None]):
    """Providers paint their week; clients hold and confirm slots; all live over HTTP."""

    CSS_PATH = "slotbook.tcss"
    TITLE = "slotbook"
    HORIZONTAL_BREAKPOINTS = BREAKPOINTS  # the phone-width layout (tui/narrow.py)

    theme_settle_seconds = 1.0
    """How long a theme must stay chosen to be remembered (the palette previews each it passes)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", show=False, id="app.quit", priority=True),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        zone: ZoneInfo,
        first_hour: int = 8,
        theme: str | None = None,
        theme_source: str | None = None,
        preferences: Path | None = None,
        clock: Clock = time.time,
        demo: bool = False,
    ) -> None:
        """`theme` is one named by the user (`theme_source` says where); without it, the one
        remembered in the `preferences` folder, else the default. A theme chosen in the palette
        is remembered there."""
        super().__init__()
        self.backend = backend
        self.zone = zone
        self.first_hour = first_hour
        self.clock = clock
        self.demo = demo
        self.session: Session | None = None
        self.connection: Connection | None = None
        self.feed_state = "connecting"
        self.feed_detail = ""
        self.synced = ""
        self.signed_in = False
        """True once a token typed on the sign-in screen opened the session: sign-out is
        offered."""
        self._quit_armed: tuple[frozenset[int], frozenset[int]] | None = None
        self._minimum_contrast = MinimumContrast()
        for name in list(self.available_themes):
            if name not in offered_themes():
                self.unregister_theme(name)  # its colours are the terminal's: not promised
        self.preferences = preferences
        self.theme_source = theme_source
        remembered = load_preferences(preferences).theme if preferences else None
        chosen = theme or remembered
        self.theme = chosen if chosen in self.available_themes else DEFAULT_THEME
        self._theme_kept = self.theme
        self._theme_timer: Timer | None = None

    # --- start-up ------------------------------------------------------------------------------

    def _theme_changed(self, theme: Theme) -> None:
        """A theme was chosen (the palette previews each one it passes): remember the one it
        stays on for a second."""
        if self._theme_timer is not None:
            self._theme_timer.stop()
        self._theme_timer = self.set_timer(self.theme_settle_seconds, self._remember_theme)

    def _remember_theme(self) -> None:
        """Keep the theme in use for the next start."""
        if self.preferences is None or self.theme == self._theme_kept:
            return
        self._theme_kept = self.theme
        save_preferences(self.preferences, Preferences(theme=self.theme))
        if self.theme_source is not None:
            self.notify(
                f"Remembered {self.theme}, but {self.theme_source} chooses the theme at start.",
                title="Theme",
            )

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        terminal = None if self.is_headless else hangup.terminal_fd()
        if terminal is not None:
            self.set_interval(hangup.CHECK_SECONDS, lambda: self._end_if_hung_up(terminal))
        self.start_up()

    def _end_if_hung_up(self, terminal: int) -> None:
        if hangup.hung_up(terminal):
            hangup.leave()

    @work(exclusive=True, group="startup")
    async def start_up(self) -> None:
        try:
            self.connection = await self.backend.start()
        except Exception as error:  # the embedded server would not start: say why, then quit
            self.exit(message=f"slotbook could not start its server: {error}", return_code=1)
            return
        token = await self._token_for(self.connection)  # None: the server may not need one
        try:
            self.session = await self._open_session(self.connection, token)
        except Unauthorized as error:
            if token is not None:
                self.exit(
                    message=f"The server refused the token: {error.detail}. {error.advice}",
                    return_code=1,
                )
                return
            self.session = await self._sign_in(self.connection)
        except Unreachable as error:
            self.exit(
                message=f"Could not reach the server: {error}. Check that it is running and"
                " that the address is right, then start slotbook again.",
                return_code=1,
            )
            return
        except ApiError as error:
            self.exit(message=f"The server refused: {error}. {error.advice}", return_code=1)
            return
        if self.demo and self.connection.admin_token:
            await self._seed_demo(self.connection)
        since = await self.session.client.head()
        await self._show_main(self.session)
        self.follow_feed(since)

    async def _token_for(self, connection: Connection) -> str | None:
        if connection.token is not None or connection.identities is None:
            return connection.token
        current = connection.identities.current()
        if current is None:
            from tui.screens.welcome import WelcomeScreen

            answer = await self.push_screen_wait(WelcomeScreen())
            assert answer is not None  # the first welcome cannot be left
            role, name = answer
            current = await self._new_identity(connection, role, name)
        token: str = current.token
        return token

    async def _new_identity(self, connection: Connection, role: str, name: str) -> Identity:
        assert connection.identities is not None
        assert connection.admin_token is not None
        admin = SlotbookClient(connection.base_url, connection.admin_token)
        try:
            taken = {i.subject for i in connection.identities.all()}
            taken |= {p.provider_id for p in await admin.providers()}
            subject = subject_for(name, taken)
            made = await admin.create_token(role, subject, name)
        finally:
            await admin.aclose()
        assert made.token is not None
        identity = Identity(role=role, subject=subject, name=name, token=made.token)
        connection.identities.add(identity)
        return identity

    async def _open_session(self, connection: Connection, token: str | None) -> Session:
        client = SlotbookClient(connection.base_url, token)
        try:
            me = await client.me()
            rules = await client.rules()
        except BaseException:
            await client.aclose()
            raise
        return Session(
            client=client,
            me=me,
            rules=rules,
            zone=self.zone,
            clock=self.clock,
            server_label=connection.label,
            first_hour=self.first_hour,
        )

    async def _sign_in(self, connection: Connection) -> Session:
        """The server needs a token and none was given: ask for one until it is accepted."""
        from tui.screens.sign_in import SignInScreen

        async def attempt(token: str) -> Session:
            return await self._open_session(connection, token)

        session = await self.push_screen_wait(SignInScreen(connection.label, attempt))
        self.signed_in = True
        return session

    def action_sign_out(self) -> None:
        """Forget the token typed at sign-in by ending the app (in a browser: the session)."""
        self.exit(message="Signed out.")

    async def _seed_demo(self, connection: Connection) -> None:
        from tui.demo import seed_demo

        assert connection.admin_token is not None
        admin = SlotbookClient(connection.base_url, connection.admin_token)
        try:
            if await seed_demo(admin, self.zone, self.clock(), identities=connection.identities):
                self.notify(
                    "Filled with sample providers and a fortnight of availability.", title="Demo"
                )
        finally:
            await admin.aclose()

    async def _show_main(self, session: Session) -> None:
        from tui.screens.client import ClientScreen
        from tui.screens.provider import ProviderScreen

        role, subject = session.me.role, session.me.subject
        screen: Screen[None]
        if role == "provider" and subject:
            screen = ProviderScreen(session, subject)
        elif role == "admin":
            providers = await session.client.providers()
            if providers:
                screen = ProviderScreen(session, providers[0].provider_id)
                self.notify("Admin token: showing the first provider's week.")
            else:
                screen = ClientScreen(session)
        else:
            screen = ClientScreen(session)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        await self.push_screen(screen)

    # --- the feed --------------------------------------------------------------------------------

    @work(exclusive=True, group="feed")
    async def follow_feed(self, since: int) -> None:
        assert self.session is not None
        last = since
        while True:
            async for event in self.session.client.follow(last):
                if isinstance(event, Connected):
                    self._feed_status("live", "")
                elif isinstance(event, Disconnected):
                    self._feed_status("reconnecting", event.reason)
                    url = await self.backend.recover()
                    if url is not None:
                        await self._move_to(url)
                        break
                elif isinstance(event, Resync):
                    last = event.last_seq
                    self._broadcast(FeedReloadNeeded(event.reason))
                else:
                    last = event.seq
                    self.synced = self.session.when(self.clock(), "%H:%M:%S")
                    self._broadcast(FeedChanged(event))
                    self.refresh_status()

    async def _move_to(self, url: str) -> None:
        """Our embedded server came back on another address: talk to it there."""
        assert self.session is not None
        assert self.connection is not None
        old = self.session.client
        self.connection.base_url = url
        self.session.client = SlotbookClient(url, old.token)
        await old.aclose()
        self._broadcast(FeedReloadNeeded("the server restarted"))

    def _broadcast(self, message: FeedChanged | FeedReloadNeeded) -> None:
        for screen in self.screen_stack:
            screen.post_message(
                FeedChanged(message.change)
                if isinstance(message, FeedChanged)
                else FeedReloadNeeded(message.reason)
            )

    def _feed_status(self, state: str, detail: str) -> None:
        self.feed_state, self.feed_detail = state, detail
        self.refresh_status()

    def refresh_status(self) -> None:
        for screen in self.screen_stack:
            for line in screen.query(StatusLine):
                line.state = self.feed_state
                line.detail = self.feed_detail
                line.synced = self.synced
                line.zone = str(self.zone)
                if self.session is not None:
                    line.who = self.session.who
                    line.server = self.session.server_label

    # --- everywhere ------------------------------------------------------------------------------

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the app's minimum contrast (tui/legibility.py)."""
        return [*super().get_line_filters(), self._minimum_contrast]

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    async def action_quit(self) -> None:
        draft = getattr(self.screen, "draft", None)
        pending = getattr(draft, "pending", 0)
        marks = (frozenset(draft.paint), frozenset(draft.erase)) if pending and draft else None
        if pending and self._quit_armed != marks:  # warn once for each set of unsaved changes
            self._quit_armed = marks
            self.notify(
                f"{counted(pending, 'unsaved change')}: ctrl+s saves, ctrl+q again quits"
                " without saving.",
                title="Unsaved",
                severity="warning",
            )
            return
        self.exit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in getattr(screen, "palette_commands", list)():
            yield SystemCommand(title, help_text, _runner(screen, action))
        if self.signed_in:
            yield SystemCommand(
                "Sign out", "Forget the token and end this session", self.action_sign_out
            )
        if self.connection is not None and self.connection.identities is not None:
            yield SystemCommand(
                "Switch identity", "Act as another provider or client", self.switch_identity
            )

    @work(exclusive=True, group="identity")
    async def switch_identity(self) -> None:
        from tui.screens.identity import NEW, IdentityScreen
        from tui.screens.welcome import WelcomeScreen

        connection = self.connection
        if connection is None or connection.identities is None:
            return
        store = connection.identities
        choices = [(f"{i.role}:{i.subject}", f"{i.name} ({i.role})") for i in store.all()]
        current = store.current()
        chosen = await self.push_screen_wait(
            IdentityScreen(choices, f"{current.role}:{current.subject}" if current else None)
        )
        if chosen is None:
            return
        if chosen == NEW:
            answer = await self.push_screen_wait(WelcomeScreen(can_leave=True))
            if answer is None:
                return
            role, name = answer
            existing = store.named(role, name)  # the same person again: no duplicate
            identity = existing or await self._new_identity(connection, role, name)
            if existing is not None:
                store.use(existing.subject, role)
                self.notify(
                    f"You already are {existing.name} ({role}) here: switched to that identity."
                )
        else:
            role, subject = chosen.split(":", 1)
            identity = store.use(subject, role)
        await self._reopen(identity.token)

    async def _reopen(self, token: str) -> None:
        assert self.connection is not None
        old = self.session
        self.session = await self._open_session(self.connection, token)
        if old is not None:
            await old.client.aclose()
        since = await self.session.client.head()
        await self._show_main(self.session)
        self.follow_feed(since)

    async def on_unmount(self) -> None:
        if self.session is not None:
            await self.session.client.aclose()
        await self.backend.stop()


def _runner(screen: Screen[Any], action: str):  # type: ignore[no-untyped-def]
    async def run() -> None:
        await screen.run_action(action)

    return run
