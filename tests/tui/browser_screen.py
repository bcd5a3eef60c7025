"""What a browser's terminal shows, rebuilt from the bytes the gateway sends it.

xterm.js draws on a canvas, so a test cannot read the page's text; it can read the WebSocket the
page reads. pyte, a terminal emulator in Python, turns those bytes into the same grid of
characters and colours that xterm.js paints.
"""

from __future__ import annotations

import pyte

from tests.tui.contrast import RGB, Cell, Finding

_DEFAULT_FG: RGB = (0xE5, 0xE5, 0xE5)
_DEFAULT_BG: RGB = (0x00, 0x00, 0x00)


class BrowserScreen:
    """The terminal of one page, fed with the binary frames of its WebSocket."""

    def __init__(self, width: int, height: int) -> None:
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.ByteStream(self.screen)

    def feed(self, data: bytes) -> None:
        self.stream.feed(data)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def illegible(self) -> list[Finding]:
        """The cells below WCAG AA contrast (tests/tui/contrast.py), as the browser paints them."""
        found: list[Finding] = []
        lines = self.screen.display
        for y in range(self.screen.lines):
            row = self.screen.buffer[y]
            for x in range(self.screen.columns):
                char = row[x]
                if char.data.isspace() or not char.data:
                    continue
                fg, bg = _rgb(char.fg, _DEFAULT_FG), _rgb(char.bg, _DEFAULT_BG)
                if char.reverse:
                    fg, bg = bg, fg
                cell = Cell(x, y, char.data, fg, bg)
                if cell.ratio < cell.needed:
                    found.append(Finding(cell, lines[y]))
        return found


def _rgb(colour: str, default: RGB) -> RGB:
    if len(colour) == 6:
        try:
            return (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16))
        except ValueError:
            return default
    return default
