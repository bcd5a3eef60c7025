"""Which cells of the slot grid existing slots occupy, whatever length each was made with: what a
new window or a schedule's expansion must leave alone. Free of I/O."""

from __future__ import annotations

from collections.abc import Iterable

from shared.grid import align_down


def occupied_cells(existing: Iterable[tuple[int, int]], slot_seconds: int) -> set[int]:
    """Grid cells touched by existing slots, whatever length they were made with."""
    cells: set[int] = set()
    for start, duration in existing:
        cells.update(range(align_down(start, slot_seconds), start + duration, slot_seconds))
    return cells
