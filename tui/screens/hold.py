"""The hold dialog: the time you hold (and its type, when it is of one), how long it stays yours, a
note for the provider, confirm or release it."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from shared.timefmt import parse_time
from shared.wire import Reservation
from tui.errors import ApiError, Gone, Unreachable
from tui.messages import FeedChanged
from tui.narrow import NARROW_COLUMNS
from tui.screens.note import NOTE_LENGTH, cleaned
from tui.session import Session, countdown
from tui.sync import minutes_of, note_of, start_of
from tui.words import the_time


class HoldDialog(ModalScreen[str | None]):
    """Shows a live countdown; answers "confirmed", "released", or None (kept, closed)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "confirm", "Confirm", id="hold.confirm"),
        Binding("x", "release", "Release", id="hold.release"),
        Binding("e", "write_note", "Note", id="hold.note"),
        Binding("escape", "close", "Close (keep the hold)", id="hold.close"),
    ]

    AUTO_FOCUS = "#confirm"

    HEADLINE = "Held for you"

    PLACEHOLDER = "A note for the provider: e writes one"
    NARROW_PLACEHOLDER = "A note for the provider (e)"
    """The placeholder at phone width, where the longer one is cut."""

    DEFAULT_CSS = """
    HoldDialog { align: center middle; }
    HoldDialog > Vertical {
        width: 60; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
        background: $surface;
    }
    HoldDialog #title { text-style: bold; width: 100%; content-align: center middle; }
    HoldDialog #when { width: 100%; text-align: center; margin: 1 0; }
    HoldDialog #lead { width: 100%; text-align: center; margin-bottom: 1; }
    HoldDialog #countdown { width: 100%; text-align: center; text-style: bold; }
    HoldDialog #countdown.lapsed { color: $error; }
    HoldDialog #why { width: 100%; text-align: center; color: $text-muted; }
    HoldDialog Horizontal { height: auto; align: center middle; margin-top: 1; }
    HoldDialog Button { margin: 0 1; }
    /* At phone width (tui/narrow.py) the buttons do not fit side by side: one under another,
       each as wide as the dialog, which takes the whole width and scrolls if it must. */
    HoldDialog.-narrow > Vertical { width: 100%; max-height: 100%; padding: 1 1; }
    HoldDialog.-narrow Horizontal { layout: vertical; }
    HoldDialog.-narrow Button { width: 100%; margin: 0; }
    """

    def __init__(self, session: Session, slot: Reservation, provider_name: str) -> None:
        super().__init__()
        self.session = session
        self.slot = slot
        self.provider_name = provider_name
        self.note = note_of(slot)
        """The note as the server has it."""
        self._answered = False
        self._acting = False
        """A confirm or release of ours is on its way: the feed's news of the slot is its echo
        (or, for a confirm that came too late, answered by the confirm itself)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.HEADLINE, id="title")
            minutes = minutes_of(self.slot)
            when = self.session.span(start_of(self.slot), minutes, "%A %d %B, %H:%M")
            # "(30 min)" is never broken over two lines (a no-break space); the rest is, where
            # words end.
            yield Static(
                f"{self.what}\n{when} ({minutes}\N{NO-BREAK SPACE}min)",
                id="when",
                markup=False,
            )
            lead = Static(self.lead(), id="lead", markup=False)
            lead.display = bool(lead.content)
            yield lead
            yield Static("", id="countdown")
            why = Static(self.why_shorter(), id="why")
            why.display = bool(why.content)  # no blank line where nothing needs saying
            yield why
            yield Input(
                self.note,
                placeholder=self.PLACEHOLDER,
                max_length=NOTE_LENGTH,
                id="note",
            )
            with Horizontal():
                # One line each: the dialog fits a 24-line terminal with room for a toast.
                yield Button("Confirm (c)", variant="success", id="confirm", compact=True)
                yield Button("Release (x)", variant="error", id="release", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    @property
    def what(self) -> str:
        """'Follow-up with Dr Ada', or the provider alone for an appointment of no type."""
        kind = self.slot.service_name
        return f"{kind} with {self.provider_name}" if isinstance(kind, str) else self.provider_name

    def _close(
        self,
        outcome: str | None,
        say: str = "",
        *,
        title: str = "",
        severity: SeverityLevel = "information",
    ) -> None:
        """Close once: the feed may report the hold's end while our own release is answering.
        The dismissal runs from the message loop, never inside this screen's own worker. What
        there is to `say` is said after the dialog has gone, so its toast is never drawn over
        the closing dialog."""
        if self._answered:
            return
        self._answered = True
        app = self.app
        self.dismiss(outcome)  # not awaited: we are inside this screen's own handler
        if say:
            app.notify(say, title=title, severity=severity)

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1, self.tick)

    def on_resize(self, event: events.Resize) -> None:
        """The screen may have turned narrow or wide: a placeholder that fits. (This runs before
        Textual's own handler gives the screen its class for the new width.)"""
        narrow = event.size.width < NARROW_COLUMNS
        self.query_one("#note", Input).placeholder = (
            self.NARROW_PLACEHOLDER if narrow else self.PLACEHOLDER
        )

    def lead(self) -> str:
        """What the dialog says of the hold before its countdown (nothing, for a hold of the
        client's own making)."""
        return ""

    def released(self) -> str:
        """What the client is told once they have released it."""
        return f"Released: {the_time(len(self.slot.time_slot_ids))} is open for others again."

    @property
    def usual_minutes(self) -> float:
        """How long a hold like this one is held, when the notice period does not cut it short."""
        return self.session.rules.hold_minutes

    def why_shorter(self) -> str:
        """Why the hold ends before the usual hold time is up, if it does: the slot's notice
        period begins first."""
        expires, reserved = self.expires, self.slot.reserved_at
        if expires is None or not isinstance(reserved, str):
            return ""
        usual = self.usual_minutes
        if expires - parse_time(reserved) >= usual * 60 - 1:
            return ""
        return (
            f"Shorter than {usual:g} minutes: {self.session.notice_text}, and this slot's"
            " notice period begins then. Confirm before it does."
        )

    @property
    def expires(self) -> float | None:
        return parse_time(self.slot.expires_at) if isinstance(self.slot.expires_at, str) else None

    def tick(self) -> None:
        expires = self.expires
        shown = self.query_one("#countdown", Static)
        if expires is None:
            shown.update("")
            return
        left = expires - self.session.now()
        until = self.session.when(expires, "%H:%M:%S")
        shown.update(f"{countdown(left)} (until {until})")
        shown.set_class(left <= 0, "lapsed")
        self.query_one("#confirm", Button).disabled = left <= 0

    def on_feed_changed(self, message: FeedChanged) -> None:
        change = message.change
        if self._answered or self._acting:
            return
        if change.kind == "moved" and change.from_time_slot_id == self.slot.time_slot_id:
            self._close(None, f"Your hold moved to {self.session.when_text(change.timestamp)}.")
        elif change.time_slot_id != self.slot.time_slot_id:
            return
        elif change.kind in ("expired", "cancelled", "deleted"):
            self._close(None, "Your hold on this slot has ended.", severity="warning")

    # --- the note ------------------------------------------------------------------------------

    def action_write_note(self) -> None:
        self.query_one("#note", Input).focus()

    @property
    def typed_note(self) -> str:
        return cleaned(self.query_one("#note", Input).value)

    @on(Input.Submitted, "#note")
    async def _note_entered(self) -> None:
        if await self.save_note():
            self.query_one("#confirm", Button).focus()

    async def save_note(self) -> bool:
        """Send the note typed, if it differs from the server's; False when that failed."""
        note = self.typed_note
        if note == self.note:
            return True
        try:
            await self.session.client.set_note(self.slot.time_slot_id, note)
        except (ApiError, Unreachable) as error:
            self.notify(f"Note not saved: {error}. {error.advice}", severity="error")
            return False
        self.note = note
        self.notify("Note saved." if note else "Note removed.")
        return True

    # Confirm and release run in the dialog's own handlers, not in workers: the dialog is modal,
    # the call is short, and a screen must not be dismissed from one of its own workers (its
    # removal would wait for that very worker).

    @on(Button.Pressed, "#confirm")
    async def action_confirm(self) -> None:
        if not self._answered:
            await self.confirm()

    @on(Button.Pressed, "#release")
    async def action_release(self) -> None:
        if not self._answered:
            await self.release()

    @on(Button.Pressed, "#close")
    async def action_close(self) -> None:
        """Keep the hold; the note typed is sent first (the dialog stays if it cannot be)."""
        if not self._answered and await self.save_note():
            self._close(None)

    async def confirm(self) -> None:
        if not await self.save_note():
            return
        self._acting = True
        try:
            await self.session.client.confirm(self.slot)
        except Gone:
            self._close(
                None,
                "The hold lapsed before it was confirmed. Hold it again if it is free.",
                title="Too late",
                severity="warning",
            )
            return
        except (ApiError, Unreachable) as error:
            self._acting = False
            self.notify(f"Not confirmed: {error}. {error.advice}", severity="error")
            return
        when = self.session.span(start_of(self.slot), minutes_of(self.slot))
        kind = self.slot.service_name
        booked = f"{kind}, {when}" if isinstance(kind, str) else when
        self._close("confirmed", f"{booked} with {self.provider_name}", title="Booked")

    async def release(self) -> None:
        self._acting = True
        try:
            self.session.cancelling(*self.slot.time_slot_ids)
            await self.session.client.cancel(self.slot.time_slot_id)
        except (ApiError, Unreachable) as error:
            self._acting = False
            self.notify(f"Not released: {error}. {error.advice}", severity="error")
            return
        self._close("released", self.released())
