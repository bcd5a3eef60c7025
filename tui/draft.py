"""A provider's unsaved changes to its week: cells painted open, cells marked for removal.

Pure (no Textual, no HTTP): the provider screen asks it what a toggle, an erase or a drag means for
each cell, shows the pending cells, and on save turns them into runs of whole windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum


class Existing(Enum):
    """What the server holds at a cell, as far as painting is concerned."""

    NOTHING = "nothing"
    OPEN = "open"
    TAKEN = "taken"  # held or booked: cannot be removed from here
    PAST = "past"  # started already: cannot be changed


@dataclass(frozen=True)
class Refusal:
    start: int
    why: Existing


@dataclass
class Draft:
    """Pending paint and erase marks, with undo."""

    slot_seconds: int
    paint: set[int] = field(default_factory=set)
    erase: set[int] = field(default_factory=set)
    _history: list[tuple[frozenset[int], frozenset[int]]] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return len(self.paint) + len(self.erase)

    def _remember(self) -> None:
        self._history.append((frozenset(self.paint), frozenset(self.erase)))

    def undo(self) -> bool:
        if not self._history:
            return False
        paint, erase = self._history.pop()
        self.paint, self.erase = set(paint), set(erase)
        return True

    def clear(self) -> None:
        self.paint.clear()
        self.erase.clear()
        self._history.clear()

    def toggle(self, starts: Iterable[int], existing: Mapping[int, Existing]) -> list[Refusal]:
        """Space on cells: one cell flips; a range is painted (or its erase marks dropped)."""
        chosen = list(starts)
        if len(chosen) == 1:
            return self._flip(chosen[0], existing.get(chosen[0], Existing.NOTHING))
        return self.apply(chosen, existing, erase=False)

    def _flip(self, start: int, what: Existing) -> list[Refusal]:
        if what in (Existing.TAKEN, Existing.PAST):
            return [Refusal(start, what)]
        self._remember()
        if start in self.paint:
            self.paint.discard(start)
        elif start in self.erase:
            self.erase.discard(start)
        elif what is Existing.OPEN:
            self.erase.add(start)
        else:
            self.paint.add(start)
        return []

    def apply(
        self, starts: Iterable[int], existing: Mapping[int, Existing], *, erase: bool
    ) -> list[Refusal]:
        """Paint (or erase) every cell it makes sense for; say which cells refused and why."""
        refused: list[Refusal] = []
        self._remember()
        for start in starts:
            what = existing.get(start, Existing.NOTHING)
            if what in (Existing.TAKEN, Existing.PAST):
                refused.append(Refusal(start, what))
            elif erase and what is Existing.OPEN:
                self.erase.add(start)
            elif erase:
                self.paint.discard(start)
            elif what is Existing.OPEN:
                self.erase.discard(start)
            else:
                self.paint.add(start)
        if self._history and self._history[-1] == (frozenset(self.paint), frozenset(self.erase)):
            self._history.pop()  # nothing changed: nothing to undo
        return refused

    def forget(self, starts: Iterable[int]) -> None:
        """Drop marks on these cells (what they marked has happened, or can no longer)."""
        for start in starts:
            self.paint.discard(start)
            self.erase.discard(start)

    def paint_runs(self) -> list[tuple[int, int]]:
        return runs(self.paint, self.slot_seconds)

    def erase_runs(self) -> list[tuple[int, int]]:
        return runs(self.erase, self.slot_seconds)


def runs(starts: Iterable[int], slot_seconds: int) -> list[tuple[int, int]]:
    """Consecutive slot starts as [start, end) windows, in time order."""
    windows: list[tuple[int, int]] = []
    for start in sorted(starts):
        if windows and windows[-1][1] == start:
            windows[-1] = (windows[-1][0], start + slot_seconds)
        else:
            windows.append((start, start + slot_seconds))
    return windows
