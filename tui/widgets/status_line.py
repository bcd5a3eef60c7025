"""The line at the top: who, which server, live or not (and, when not, when last heard), which
zone."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class StatusLine(Widget):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    state: reactive[str] = reactive("connecting")
    detail: reactive[str] = reactive("")
    who: reactive[str] = reactive("")
    server: reactive[str] = reactive("")
    zone: reactive[str] = reactive("")
    heard: reactive[str] = reactive("")
    """When the server was last heard from ("last heard 3 min ago"), while the feed is not live."""
    extra: reactive[str] = reactive("")

    def render(self) -> Text:
        marks = {
            "live": ("●", "green"),
            "reconnecting": ("◌", "yellow"),
            "connecting": ("◌", "yellow"),
            "offline": ("✕", "red"),
        }
        glyph, colour = marks.get(self.state, ("?", "white"))
        line = Text()
        line.append(f"{glyph} {self.state}", style=f"bold {colour}")
        if self.detail:
            line.append(f" ({self.detail})", style=colour)
        if self.heard:  # with the state it qualifies: the feed is down, since when
            line.append(f", {self.heard}", style=colour)
        # Most telling first: at 80 columns the server's address is what gets cut off. `extra`
        # is the screen's own (a client's appointment length), after who is acting.
        parts = (self.who, self.extra, self.zone)
        for index, part in enumerate((*parts, self.server)):
            if part:
                line.append(" │ ", style="dim")
                line.append(part, style="bold" if index == 1 else "")
        return line
