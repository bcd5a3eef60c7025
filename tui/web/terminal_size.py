"""The size of a visitor's terminal, as the page asks for it (in the WebSocket's address, then in
`resize` messages), kept to what a screen can show: the app draws every cell of it, so a page
asking for 8000 by 8000 would have it send frames of tens of megabytes."""

from __future__ import annotations

MAX_WIDTH = 500
"""Columns: a 5K screen's width at the page's font size."""
MAX_HEIGHT = 200
"""Rows: more than any screen shows at the page's font size."""


def clamped(value: object, most: int) -> int | None:
    """A width or height from 1 to `most`; None when `value` is not a whole number."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return min(max(value, 1), most)


def from_query(text: str | None, most: int, default: int) -> int:
    """A width or height from the WebSocket's address; `default` when it is not a number."""
    try:
        value = int(text) if text is not None else default
    except ValueError:
        value = default
    return clamped(value, most) or default
