"""A table's columns in two orders: the usual one, and at phone width (tui/narrow.py), where only
the first two or three are in sight, one that puts what matters most first (the rest follow, to
scroll to). Each column's key is its heading."""

from __future__ import annotations

from collections.abc import Mapping

from textual.widgets import DataTable

from tui.narrow import NARROW_COLUMNS


class Columns:
    def __init__(self, wide: tuple[str, ...], narrow: tuple[str, ...]) -> None:
        self.wide = wide
        self.narrow = narrow

    def adding(self, heading: str, before: str) -> Columns:
        """These columns and one more, just before the column `before` in both orders."""

        def put(order: tuple[str, ...]) -> tuple[str, ...]:
            at = order.index(before)
            return (*order[:at], heading, *order[at:])

        return Columns(put(self.wide), put(self.narrow))

    def headings(self, width: int) -> tuple[str, ...]:
        """The headings, in order, for a screen `width` cells wide."""
        return self.narrow if width < NARROW_COLUMNS else self.wide

    def needs_arranging(self, table: DataTable[str], width: int) -> bool:
        """Does the table at this width need other columns than it has?"""
        return self.shown(table) != self.headings(width)

    @staticmethod
    def shown(table: DataTable[str]) -> tuple[str, ...]:
        """The headings of the table's columns, in order."""
        return tuple(str(column.key.value) for column in table.ordered_columns)

    def arrange(self, table: DataTable[str], width: int) -> tuple[str, ...]:
        """Give the table the columns for this width (emptying it if they change); the headings."""
        headings = self.headings(width)
        if self.shown(table) != headings:
            table.clear(columns=True)
            for heading in headings:
                table.add_column(heading, key=heading)
        return headings

    @staticmethod
    def row(cells: Mapping[str, str], headings: tuple[str, ...]) -> tuple[str, ...]:
        """A row's cells in the order of these headings."""
        return tuple(cells[heading] for heading in headings)
