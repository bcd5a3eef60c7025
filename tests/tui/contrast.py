"""Contrast as a terminal shows it: every cell of the app's screen, read from what the compositor
sends to the terminal, measured with WCAG 2's contrast ratio.

A letter or a digit needs 4.5:1 against the colour behind it, any other visible glyph 3:1 (WCAG AA,
1.4.3 and 1.4.11). The cells come from the same render `App.export_screenshot` records (the
screen and the screens it shows through), with reverse video applied and dim text taken at half
strength, as terminals draw them. The ratio is computed here on its own, not with the app's
tui/legibility.py, so that a mistake in either shows up against the other.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.app import App

TEXT_RATIO = 4.5
GLYPH_RATIO = 3.0

RGB = tuple[int, int, int]


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def luminance(rgb: RGB) -> float:
    red, green, blue = (_linear(c) for c in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@functools.cache
def ratio(first: RGB, second: RGB) -> float:
    """WCAG 2's contrast ratio, from 1 (none) to 21 (black on white). Kept for each pair of
    colours: a screen has tens of thousands of cells in a few dozen pairs."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _blend(top: RGB, bottom: RGB, amount: float) -> RGB:
    r, g, b = (round(t * amount + u * (1 - amount)) for t, u in zip(top, bottom, strict=True))
    return (r, g, b)


@dataclass(frozen=True)
class Cell:
    x: int
    y: int
    char: str
    fg: RGB
    bg: RGB

    @property
    def needed(self) -> float:
        return TEXT_RATIO if self.char.isalnum() else GLYPH_RATIO

    @property
    def ratio(self) -> float:
        return ratio(self.fg, self.bg)


@dataclass(frozen=True)
class Finding:
    """A cell below its ratio, with the line it stands in, to find it by."""

    cell: Cell
    line: str

    def __str__(self) -> str:
        c = self.cell
        return (
            f"{c.char!r} at x={c.x} y={c.y} is {c.ratio:.2f}:1, needs {c.needed}:1"
            f" ({hex_of(c.fg)} on {hex_of(c.bg)}) in: {self.line.rstrip()!r}"
        )


def hex_of(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _rgb(color: RichColor | None, fallback: RGB) -> RGB:
    if color is None or color.is_default:
        return fallback
    triplet = color.get_truecolor()
    return (triplet.red, triplet.green, triplet.blue)


def screen_lines(app: App[Any]) -> list[list[Segment]]:
    """The screen as the terminal receives it: a list of segments for each line."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=False
    )
    console.print(update)
    segments = [s for s in console._record_buffer if not s.control]
    return list(Segment.split_and_crop_lines(segments, width, pad=False))


def cells(app: App[Any]) -> list[Cell]:
    """Every visible character of the screen with the colours it is drawn in."""
    theme = app.current_theme
    default_fg = _hex(theme.foreground or ("#e0e0e0" if theme.dark else "#000000"))
    default_bg = _hex(theme.background or ("#000000" if theme.dark else "#ffffff"))
    found: list[Cell] = []
    for y, line in enumerate(screen_lines(app)):
        x = 0
        for segment in line:
            style: Style = segment.style or Style()
            fg = _rgb(style.color, default_fg)
            bg = _rgb(style.bgcolor, default_bg)
            if style.reverse:
                fg, bg = bg, fg
            if style.dim:
                fg = _blend(fg, bg, 0.5)
            for char in segment.text:
                if not char.isspace():
                    found.append(Cell(x, y, char, fg, bg))
                x += 1
    return found


def _hex(text: str) -> RGB:
    text = text.lstrip("#")
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))


def screen_text(app: App[Any]) -> list[str]:
    """The screen's lines as text (a no-break space read as a space)."""
    return [
        "".join(s.text for s in line).rstrip("\n").replace("\N{NO-BREAK SPACE}", " ")
        for line in screen_lines(app)
    ]


def illegible(app: App[Any]) -> list[Finding]:
    """The cells below their ratio, each with its line."""
    lines = screen_text(app)
    return [Finding(c, lines[c.y]) for c in cells(app) if c.ratio < c.needed]


_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def terminal_cells(captured: str, default_fg: RGB, default_bg: RGB) -> list[tuple[Cell, str]]:
    """Every visible character of a terminal's screen as `tmux capture-pane -e` gives it (with
    its SGR colour codes), with the colours the terminal draws it in, and its line."""
    found: list[tuple[Cell, str]] = []
    for y, raw in enumerate(captured.splitlines()):
        plain = _SGR.sub("", raw)
        fg, bg, reverse, dim = default_fg, default_bg, False, False
        x = 0
        for index, piece in enumerate(_SGR.split(raw)):
            if index % 2:  # split() alternates text and the parameters of each code
                fg, bg, reverse, dim = _apply(piece, fg, bg, reverse, dim, default_fg, default_bg)
                continue
            for char in piece:
                if not char.isspace():
                    front, back = (bg, fg) if reverse else (fg, bg)
                    if dim:
                        front = _blend(front, back, 0.5)
                    found.append((Cell(x, y, char, front, back), plain))
                x += cell_len(char)
    return found


def _apply(
    params: str,
    fg: RGB,
    bg: RGB,
    reverse: bool,
    dim: bool,
    default_fg: RGB,
    default_bg: RGB,
) -> tuple[RGB, RGB, bool, bool]:
    codes = [int(c) for c in params.split(";") if c] or [0]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            fg, bg, reverse, dim = default_fg, default_bg, False, False
        elif code == 2:
            dim = True
        elif code == 22:
            dim = False
        elif code == 7:
            reverse = True
        elif code == 27:
            reverse = False
        elif code == 39:
            fg = default_fg
        elif code == 49:
            bg = default_bg
        elif code in (38, 48) and codes[i + 1 : i + 2] == [2]:
            rgb = (codes[i + 2], codes[i + 3], codes[i + 4])
            fg, bg = (rgb, bg) if code == 38 else (fg, rgb)
            i += 4
        i += 1
    return fg, bg, reverse, dim
