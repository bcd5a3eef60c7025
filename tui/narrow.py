"""The phone-width layout: below NARROW_COLUMNS (a phone's browser is about 45 columns wide),
every screen carries the NARROW class, and the app's styles and the week grid change with it: the
client's provider list becomes a picker, the grid shows at most NARROW_DAYS days with their words
readable, and toasts take the whole width."""

from __future__ import annotations

NARROW_COLUMNS = 60
"""The narrowest terminal that keeps the wide layout (a provider list beside a grid of days)."""

NARROW = "-narrow"
"""The class of a screen narrower than NARROW_COLUMNS."""

WIDE = "-wide"

BREAKPOINTS = [(0, NARROW), (NARROW_COLUMNS, WIDE)]
"""Textual's horizontal breakpoints: the class each screen carries at its width."""

NARROW_DAYS = 2
"""The most days a grid shows side by side at phone width."""
