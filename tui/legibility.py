"""A minimum contrast for everything the app draws, in every theme.

The grid's colours are chosen to be legible (its component styles use each theme's own pairs of
text and muted background colours), but the app also shows Textual's widgets (the footer, lists,
tables, buttons, toasts) in whichever theme the user picks, and not every theme pairs every text
colour with every background at a contrast people can read. So, like the "minimum contrast"
setting of several terminal emulators, the app passes every line it draws through a filter that
moves a character's colour towards white or black, just as far as needed, wherever it stands at
less than 4.5:1 against the colour behind it (WCAG AA for text). Colours that already read well
are left exactly as the theme made them. Dim text is drawn as a colour, not left to the terminal's
idea of "dim", so that its contrast is known too.
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

MINIMUM_RATIO = 4.5
"""WCAG AA for text; glyphs need only 3:1, but one rule for every character is simpler."""

RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)
_NO_DIM = Style(dim=False)


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def luminance(rgb: RGB) -> float:
    """WCAG 2's relative luminance of an sRGB colour."""
    red, green, blue = (_linear(c) for c in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: RGB, second: RGB) -> float:
    """WCAG 2's contrast ratio: 1 (none) to 21 (black on white)."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def mix(top: RGB, bottom: RGB, amount: float) -> RGB:
    """`amount` of `top` over `bottom`, rounded to whole channels."""
    r, g, b = (round(t * amount + u * (1 - amount)) for t, u in zip(top, bottom, strict=True))
    return (r, g, b)


@lru_cache(maxsize=4096)
def readable(fg: RGB, bg: RGB, minimum: float = MINIMUM_RATIO) -> RGB:
    """`fg`, or the colour nearest it on the way to white or black that reads on `bg`."""
    if contrast(fg, bg) >= minimum:
        return fg
    # Towards whichever extreme contrasts more with the background; black and white between
    # them always reach 4.5:1 on any colour.
    target = WHITE if contrast(WHITE, bg) >= contrast(BLACK, bg) else BLACK
    low, high = 0.0, 1.0
    for _ in range(16):
        middle = (low + high) / 2
        if contrast(mix(target, fg, middle), bg) >= minimum:
            high = middle
        else:
            low = middle
    return mix(target, fg, high)


def _rgb(color: RichColor) -> RGB:
    triplet = color.get_truecolor()
    return (triplet.red, triplet.green, triplet.blue)


@lru_cache(maxsize=4096)
def legible(style: Style, background: RichColor) -> Style:
    """The style with its text colour made readable (and dim made a colour)."""
    behind = style.bgcolor if style.bgcolor is not None and not style.bgcolor.is_default else None
    back = _rgb(behind or background)
    if style.color is None or style.color.is_default:
        return style
    front = _rgb(style.color)
    if style.reverse:  # the terminal swaps them: the background colour is the text's
        front, back = back, front
    if style.dim:
        front = mix(front, back, 0.5)
    fixed = readable(front, back)
    if fixed == front and not style.dim:
        return style
    color = RichColor.from_rgb(*fixed)
    if style.reverse:
        return style + Style(bgcolor=color) + _NO_DIM
    return style + Style(color=color) + _NO_DIM


class MinimumContrast(LineFilter):
    """Makes every character the app draws readable against the colour behind it."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        back = background.rich_color
        return [
            Segment(text, legible(style, back), control)
            if style is not None and not control and text.strip()
            else Segment(text, style, control)
            for text, style, control in segments
        ]
