"""The line at the top: who, which server, live or not (and, when not, when last heard), which
zone.

At phone width (tui/narrow.py), where the whole line does not fit, the least telling parts go
first, whole rather than cut: the server, then the zone (the grid's caption names it too), then
the role after the name, then when the server was last heard from; then the screen's own part
grows shorter (a client's appointment length loses its keys), then why the server is away goes.
What is left (the state, who, and the length) is cut with … only if it still does not fit. Wider,
the line is whole, cut where it ends (the server's address, if anything)."""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.narrow import NARROW_COLUMNS

MARKS = {
    "live": ("●", "green"),
    "reconnecting": ("◌", "yellow"),
    "connecting": ("◌", "yellow"),
    "offline": ("✕", "red"),
}


class StatusLine(Widget):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    state: reactive[str] = reactive("connecting")
    detail: reactive[str] = reactive("")
    who: reactive[str] = reactive("")
    """Who is signed in, and as what: "Bob Baker (client)"."""
    name: reactive[str] = reactive("")
    """Who is signed in, shorter (without the role): "Bob Baker"."""
    server: reactive[str] = reactive("")
    zone: reactive[str] = reactive("")
    heard: reactive[str] = reactive("")
    """When the server was last heard from ("last heard 3 min ago"), while the feed is not live."""
    extra: reactive[str] = reactive("")
    """The screen's own part: a client's appointment length ("length 15 min (+ -)")."""
    extra_short: reactive[str] = reactive("")
    """The same, shorter ("length 15 min"), where the whole line does not fit."""

    def render(self) -> Text:
        width = self.content_region.width
        lines = list(self._lines())
        if not width or self.screen.size.width >= NARROW_COLUMNS:
            return lines[0]  # all of it, cut where the line ends (the server's address, if any)
        for line in lines:
            if line.cell_len <= width:
                return line
        shortest = lines[-1]
        shortest.truncate(width, overflow="ellipsis")
        return shortest

    def _lines(self) -> Iterator[Text]:
        """The line whole, then with one part less (or shorter) each time, least telling first."""
        server, zone, who, extra = self.server, self.zone, self.who, self.extra
        heard, detail = self.heard, self.detail
        yield self._line(detail, heard, who, extra, zone, server)
        if server:
            yield self._line(detail, heard, who, extra, zone, "")
        if zone:
            yield self._line(detail, heard, who, extra, "", "")
        if self.name and self.name != who:
            who = self.name
            yield self._line(detail, heard, who, extra, "", "")
        if heard:
            yield self._line(detail, "", who, extra, "", "")
        if self.extra_short and self.extra_short != extra:
            extra = self.extra_short
            yield self._line(detail, "", who, extra, "", "")
        if detail:
            yield self._line("", "", who, extra, "", "")

    def _line(self, detail: str, heard: str, who: str, extra: str, zone: str, server: str) -> Text:
        glyph, colour = MARKS.get(self.state, ("?", "white"))
        line = Text()
        line.append(f"{glyph} {self.state}", style=f"bold {colour}")
        if detail:
            line.append(f" ({detail})", style=colour)
        if heard:  # with the state it qualifies: the feed is down, since when
            line.append(f", {heard}", style=colour)
        # Most telling first. `extra` is the screen's own (a client's appointment length), after
        # who is acting.
        for index, part in enumerate((who, extra, zone, server)):
            if part:
                line.append(" │ ", style="dim")
                line.append(part, style="bold" if index == 1 else "")
        return line
