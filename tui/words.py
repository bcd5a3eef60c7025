"""Counts in words, so that one slot is never "1 slots"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """'1 slot', '3 slots', '0 slots'; `plural` where adding an s will not do."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def hours(value: float) -> str:
    """'24 hours', '1 hour', '0.5 hours'."""
    return f"{value:g} hour" + ("" if value == 1 else "s")


def ago(seconds: float) -> str:
    """How long ago, roughly: 'just now', '3 min ago', '2 h ago', '1 day ago'."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 24 * 60:
        return f"{minutes // 60} h ago"
    return f"{counted(minutes // (24 * 60), 'day')} ago"


def the_time(slots: int) -> str:
    """What an appointment of this many slots takes up, as a message names it: 'the slot' for
    one, 'the time' for several ('Cancelled 12:00-12:30; the time is open again')."""
    return "the slot" if slots <= 1 else "the time"
