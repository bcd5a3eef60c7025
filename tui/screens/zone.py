"""The time-zone dialog: the zone the usual week's hours are in, changed by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from shared.zones import EXAMPLE, nearest_zones, zones_matching

ZoneChange = Callable[[str], Awaitable[str | None]]
"""Puts a zone in force: None when it did, else why not (in words, for the dialog to show)."""


SHOWN_MATCHES = 4
"""How many zones a name that fits several, or none, lists."""


def not_one_zone(typed: str, matches: list[str]) -> str:
    """Why `typed` is not taken: it fits several zones (the first few named), or none (the
    nearest named, if any is alike)."""
    if matches:
        shown = ", ".join(matches[:SHOWN_MATCHES])
        more = len(matches) - SHOWN_MATCHES
        rest = f" and {more} more" if more > 0 else ""
        return f"'{typed}' fits {len(matches)} zones: {shown}{rest}. Type more of the name."
    nearest = nearest_zones(typed, SHOWN_MATCHES)
    if nearest:
        return f"'{typed}' is not an IANA time zone. Nearest: {', '.join(nearest)}."
    city = EXAMPLE.rpartition("/")[2]
    return f"'{typed}' is not an IANA time zone; give one such as {EXAMPLE} (or just {city})."


class ZoneDialog(ModalScreen[str | None]):
    """Asks for an IANA zone name, whole or in part ("Berlin" or "berlin" is Europe/Berlin);
    Enter applies it (the dialog stays open, saying why, when it cannot be: a name that fits
    several zones or none, or the server's refusal), Esc leaves the zone as it was. Answers the
    zone now in force, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="zone.cancel"),
    ]

    DEFAULT_CSS = """
    ZoneDialog { align: center middle; }
    ZoneDialog > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
        background: $surface;
    }
    ZoneDialog #title { text-style: bold; width: 100%; content-align: center middle; }
    ZoneDialog #explain { width: 100%; margin: 1 0; }
    ZoneDialog #problem { width: 100%; height: auto; color: $text-error; }
    ZoneDialog #keys { width: 100%; color: $text-muted; margin-top: 1; }
    """

    def __init__(self, current: str, apply: ZoneChange, *, explain: str) -> None:
        super().__init__()
        self.current = current
        self.apply = apply
        self.explain = explain
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Time zone of your usual week", id="title")
            yield Static(self.explain, id="explain")
            yield Input(
                value=self.current,
                placeholder="e.g. Europe/Berlin, or Berlin",
                max_length=64,
                id="zone",
            )
            yield Static("", id="problem", markup=False)
            yield Static(self._keys_text(), id="keys")

    def _keys_text(self) -> str:
        return f"Enter changes it  ·  Esc keeps {self.current}"

    @on(Input.Submitted, "#zone")
    async def submitted(self, event: Input.Submitted) -> None:
        zone = event.value.strip()
        problem = self.query_one("#problem", Static)
        if self.busy:
            return
        if not zone:
            problem.update("Please give a zone, e.g. Europe/Berlin.")
            return
        matches = zones_matching(zone)
        if len(matches) != 1:
            problem.update(not_one_zone(zone, matches))
            return
        zone = matches[0]
        self.query_one("#zone", Input).value = zone  # what "berlin" was taken to mean
        if zone == self.current:
            self.dismiss(None)
            return
        self.busy = True
        problem.update("")
        keys = self.query_one("#keys", Static)
        keys.update(f"Changing to {zone}…")
        try:
            refused = await self.apply(zone)
        finally:
            self.busy = False
            keys.update(self._keys_text())
        if refused is None:
            self.dismiss(zone)
            return
        problem.update(refused)
        self.query_one("#zone", Input).focus()

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
