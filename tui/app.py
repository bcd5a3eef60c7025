"""The slotbook terminal app: starts (or finds) a server, knows who you are, shows your week."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import msgspec
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.filter import LineFilter
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.worker import Worker

from shared.schedule_wire import Schedule
from shared.wire import Me, Resync
from tui import hangup
from tui.backends import Backend, Connection
from tui.client import Connected, Disconnected, SlotbookClient
from tui.errors import ApiError, Unauthorized, Unreachable
from tui.identities import Identity, UnknownIdentity, asked_for, subject_for
from tui.legibility import MinimumContrast
from tui.messages import FeedChanged, FeedReloadNeeded, FeedResumed
from tui.narrow import BREAKPOINTS
from tui.screenshot import take_screenshot
from tui.session import Clock, Session
from tui.themes import (
    DEFAULT_THEME,
    Preferences,
    load_preferences,
    offered_themes,
    save_preferences,
)
from tui.widgets.status_line import StatusLine
from tui.words import ago, counted

STATUS_TICK_SECONDS = 1.0
"""How often the status line's "last heard ... ago" is brought up to date while the feed is down."""


TEXTUAL_COMMANDS_LEFT_OUT = frozenset({"Keys", "Maximize", "Minimize"})
"""Textual's palette commands the app does not offer: `?` shows the keys (and what the grid's
glyphs mean), and no screen has a part worth filling the screen with."""


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
        zone_chosen: bool = False,
        first_hour: int = 8,
        theme: str | None = None,
        theme_source: str | None = None,
        preferences: Path | None = None,
        clock: Clock = time.time,
        demo: bool = False,
        identity: str | None = None,
    ) -> None:
        """`theme` is one named by the user (`theme_source` says where); without it, the one
        remembered in the `preferences` folder, else the default. A theme chosen in the palette
        is remembered there. `zone` is the one the user chose when `zone_chosen`, else the
        machine's, which a provider's schedule replaces (tui/timezone.py has the order)."""
        super().__init__()
        self.backend = backend
        self.zone = zone
        self.zone_chosen = zone_chosen
        self.first_hour = first_hour
        self.clock = clock
        self.demo = demo
        self.identity = identity
        """The saved identity to start as (--as: its name, subject or "role:subject")."""
        self.session: Session | None = None
        self.connection: Connection | None = None
        self.feed_state = "connecting"
        self.feed_detail = ""
        self.last_heard: float | None = None
        """When the feed last showed the server there (on the app's clock); None before it
        first connected. While the feed is live the server is heard from all the time."""
        self.changes_heard = 0
        """How many changes the feed has brought."""
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
        self.set_interval(STATUS_TICK_SECONDS, self._tick_status)
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
        seeding = None
        if self.demo and self.connection.admin_token:
            # The sample practice is made first (while the welcome asks who you are), as it fills
            # only a server without providers: a new provider then joins it.
            seeding = self.run_worker(self._seed_demo(self.connection), group="demo")
        try:
            token = await self._token_for(self.connection, seeding)  # None: no token needed
        except UnknownIdentity as error:
            self.exit(message=f"slotbook: {error}", return_code=2)
            return
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
        if seeding is not None:
            await seeding.wait()
        since = await self.session.client.head()
        await self._show_main(self.session)
        self.follow_feed(since)

    async def _token_for(
        self, connection: Connection, seeding: Worker[None] | None = None
    ) -> str | None:
        """The token to start with: the one given; else that of the identity asked for (--as),
        which later starts then open as too; else that of the identity last started as; else a
        new identity's, asked for on the welcome screen. Waits for `seeding`, the sample practice,
        before making or looking for an identity that may be in it."""
        if connection.token is not None or connection.identities is None:
            return connection.token
        store = connection.identities
        if self.identity is not None:
            if seeding is not None:
                await seeding.wait()
            asked = asked_for(store, self.identity)
            return store.use(asked.subject, asked.role).token
        current = store.current()
        if current is None:
            from tui.screens.welcome import WelcomeScreen

            answer = await self.push_screen_wait(WelcomeScreen(zone=self.zone.key))
            assert answer is not None  # the first welcome cannot be left
            if seeding is not None:
                await seeding.wait()
            current = await self._new_identity(connection, answer.role, answer.name)
            await self._save_email(connection, current.token, answer.email)
        token: str = current.token
        return token

    async def _new_identity(
        self, connection: Connection, role: str, name: str, *, start: bool = True
    ) -> Identity:
        """Make a token for a new person and save it; with `start`, as the one starts open
        as."""
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
        connection.identities.add(identity, make_current=start)
        return identity

    async def _save_email(self, connection: Connection, token: str, email: str) -> None:
        """Save the address given on the welcome screen (none: nothing to do) with the app's
        zone; when the server refuses it, say why and where to give it again."""
        if not email:
            return
        client = SlotbookClient(connection.base_url, token)
        try:
            await client.set_my_details(email=email, time_zone=self.zone.key)
        except (ApiError, Unreachable) as error:
            self.notify(
                f"Your e-mail address was not saved: {str(error).rstrip('.')}."
                " ctrl+p → My details takes it.",
                title="My details",
                severity="warning",
                timeout=15,
            )
        finally:
            await client.aclose()

    async def _open_session(self, connection: Connection, token: str | None) -> Session:
        client = SlotbookClient(connection.base_url, token)
        try:
            me = await client.me()
            rules = await client.rules()
            schedule = await self._own_schedule(client, me)
        except BaseException:
            await client.aclose()
            raise
        session = Session(
            client=client,
            me=me,
            rules=rules,
            zone=self.zone,
            zone_chosen=self.zone_chosen,
            clock=self.clock,
            server_label=connection.label,
            first_hour=self.first_hour,
        )
        if schedule is not None:
            session.follow_schedule(schedule.time_zone)
        return session

    async def _own_schedule(self, client: SlotbookClient, me: Me) -> Schedule | None:
        """A provider's usual week, whose zone their times are shown in unless the user chose
        one; None for anyone else, or when it cannot be read (the week reads it again)."""
        if me.role != "provider" or not me.subject or self.zone_chosen:
            return None
        try:
            return await client.schedule(me.subject)
        except ApiError:
            return None

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
        client, last = self.session.client, since
        while not client.closed:  # a closed client is one this window has left behind
            async for event in client.follow(last):
                if isinstance(event, Connected):
                    self._feed_status("live", "")
                    self._broadcast(FeedResumed())
                elif isinstance(event, Disconnected):
                    self._feed_status("reconnecting", event.reason)
                    url = await self.backend.recover()
                    if url is not None:
                        await self._move_to(url)
                        assert self.session is not None
                        client = self.session.client  # the new server's
                        break
                elif isinstance(event, Resync):
                    last = event.last_seq
                    self._broadcast(FeedReloadNeeded(event.reason))
                else:
                    last = event.seq
                    self.last_heard = self.clock()
                    self.changes_heard += 1
                    self._broadcast(FeedChanged(event))

    async def _move_to(self, url: str) -> None:
        """Our embedded server came back on another address: talk to it there."""
        assert self.session is not None
        assert self.connection is not None
        old = self.session.client
        self.connection.base_url = url
        self.session.client = SlotbookClient(url, old.token)
        await old.aclose()
        self._broadcast(FeedReloadNeeded("the server restarted"))

    def _broadcast(self, message: FeedChanged | FeedReloadNeeded | FeedResumed) -> None:
        for screen in self.screen_stack:
            if isinstance(message, FeedChanged):
                screen.post_message(FeedChanged(message.change))
            elif isinstance(message, FeedReloadNeeded):
                screen.post_message(FeedReloadNeeded(message.reason))
            else:
                screen.post_message(FeedResumed())

    def _feed_status(self, state: str, detail: str) -> None:
        if state == "live" or self.feed_state == "live":  # connected, or there until now
            self.last_heard = self.clock()
        self.feed_state, self.feed_detail = state, detail
        self.refresh_status()

    def _tick_status(self) -> None:
        """Keep "last heard ... ago" true while the feed is down."""
        if self.feed_state != "live":
            self.refresh_status()

    def heard_text(self) -> str:
        """How long ago the server was last heard from, while the feed is down; nothing while
        it is live (the status line says "live") or before it ever was."""
        if self.feed_state == "live" or self.last_heard is None:
            return ""
        return f"last heard {ago(self.clock() - self.last_heard)}"

    def refresh_status(self) -> None:
        for screen in self.screen_stack:
            for line in screen.query(StatusLine):
                line.state = self.feed_state
                line.detail = self.feed_detail
                line.heard = self.heard_text()
                line.zone = str(self.session.zone if self.session is not None else self.zone)
                if self.session is not None:
                    line.who = self.session.who
                    line.name = self.session.me.name or self.session.who
                    line.server = self.session.server_label

    # --- everywhere ------------------------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast, always in plain text, whatever `markup` says (a screen's `notify` asks for
        markup unless told otherwise): what toasts say carries names, types and the server's
        reasons, whose square brackets are characters (tui/verbatim.py)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

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
        """The palette's commands: the screen's, ours, and those of Textual's that are of use
        here, by the names docs/using.md gives them."""
        for command in super().get_system_commands(screen):
            if command.title in TEXTUAL_COMMANDS_LEFT_OUT:
                continue
            if command.title == "Theme":
                yield SystemCommand(
                    "Change theme",
                    "Choose the app's colours (remembered for the next start)",
                    command.callback,
                )
            elif command.title == "Screenshot":  # ours says where it went, or why not
                yield SystemCommand(
                    "Screenshot",
                    "Save an SVG picture of this screen (in Downloads, else in slotbook's data"
                    " folder)",
                    # after the palette has closed, so that it is not in the picture
                    lambda: self.set_timer(0.1, lambda: take_screenshot(self, self.preferences)),
                )
            else:
                yield command
        for title, help_text, action in getattr(screen, "palette_commands", list)():
            yield SystemCommand(title, help_text, _runner(screen, action))
        if self.session is not None and self.session.me.role in ("provider", "client"):
            yield SystemCommand(
                "My details",
                "Your e-mail address, for confirmations and reminders, and your mail's zone",
                self.my_details,
            )
        if self.signed_in:
            yield SystemCommand(
                "Sign out", "Forget the token and end this session", self.action_sign_out
            )
        if self.connection is not None and self.connection.identities is not None:
            yield SystemCommand(
                "Switch identity", "Act as another provider or client", self.switch_identity
            )

    @work(exclusive=True, group="details")
    async def my_details(self) -> None:
        """The My details dialog; what it saved becomes the session's."""
        from tui.screens.my_details import MyDetailsDialog

        session = self.session
        if session is None:
            return
        saved = await self.push_screen_wait(MyDetailsDialog(session))
        if saved is None:
            return
        session.me = msgspec.structs.replace(
            session.me, email=saved.details.email, time_zone=saved.details.time_zone
        )
        self.notify(saved.message, title="My details")

    @work(exclusive=True, group="identity")
    async def switch_identity(self) -> None:
        from tui.screens.identity import NEW, IdentityScreen
        from tui.screens.welcome import WelcomeScreen

        connection = self.connection
        if connection is None or connection.identities is None:
            return
        store = connection.identities
        choices = [(i.key, i.label) for i in store.all()]
        here = f"{self.session.me.role}:{self.session.me.subject}" if self.session else None
        starts = store.current()
        chosen = await self.push_screen_wait(
            IdentityScreen(
                choices,
                here,
                note=f"Your choice here is for this window only. Next time, slotbook starts as"
                f" {starts.label} again (--as NAME starts it as someone else)."
                if starts is not None
                else "",
            )
        )
        if chosen is None:
            return
        if chosen == NEW:
            zone = self.session.zone.key if self.session is not None else self.zone.key
            answer = await self.push_screen_wait(WelcomeScreen(zone=zone, can_leave=True))
            if answer is None:
                return
            role, name = answer.role, answer.name
            existing = store.named(role, name)  # the same person again: no duplicate
            identity = existing or await self._new_identity(connection, role, name, start=False)
            if existing is not None:
                self.notify(
                    f"You already are {existing.name} ({role}) here: switched to that identity."
                )
            await self._save_email(connection, identity.token, answer.email)
        else:
            role, subject = chosen.split(":", 1)
            found = store.get(subject, role)
            if found is None:  # forgotten meanwhile, in another window
                self.notify("That identity is no longer saved.", severity="warning")
                return
            identity = found
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
