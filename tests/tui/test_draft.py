"""The provider's unsaved edits: what a toggle, an erase or a drag means for each cell, and undo."""

from __future__ import annotations

from tui.draft import Draft, Existing, Refusal, runs

SLOT = 900
A, B, C, D = 0, SLOT, 2 * SLOT, 3 * SLOT


def test_a_fresh_draft_has_nothing_pending_and_nothing_to_undo() -> None:
    draft = Draft(SLOT)
    assert draft.pending == 0
    assert not draft.undo()
    assert draft.paint_runs() == []
    assert draft.erase_runs() == []


def test_toggling_an_empty_cell_paints_it_and_toggling_again_unpaints_it() -> None:
    draft = Draft(SLOT)
    assert draft.toggle([A], {}) == []
    assert draft.paint == {A}
    assert draft.pending == 1
    assert draft.toggle([A], {A: Existing.NOTHING}) == []
    assert draft.paint == set()
    assert draft.pending == 0


def test_toggling_an_open_cell_marks_it_for_removal_and_again_keeps_it() -> None:
    draft = Draft(SLOT)
    draft.toggle([A], {A: Existing.OPEN})
    assert draft.erase == {A}
    assert draft.paint == set()
    draft.toggle([A], {A: Existing.OPEN})
    assert draft.erase == set()


def test_toggling_a_held_or_past_cell_is_refused_and_changes_nothing() -> None:
    draft = Draft(SLOT)
    assert draft.toggle([A], {A: Existing.TAKEN}) == [Refusal(A, Existing.TAKEN)]
    assert draft.toggle([B], {B: Existing.PAST}) == [Refusal(B, Existing.PAST)]
    assert draft.pending == 0
    assert not draft.undo(), "a refused edit leaves nothing to undo"


def test_toggling_a_range_paints_every_cell_and_drops_erase_marks_on_open_ones() -> None:
    draft = Draft(SLOT)
    draft.toggle([C], {C: Existing.OPEN})
    assert draft.erase == {C}
    refused = draft.toggle([A, B, C, D], {B: Existing.TAKEN, C: Existing.OPEN, D: Existing.NOTHING})
    assert refused == [Refusal(B, Existing.TAKEN)]
    assert draft.paint == {A, D}
    assert draft.erase == set(), "painting an open cell keeps it open"


def test_erasing_a_range_marks_open_cells_unpaints_new_ones_and_refuses_held_ones() -> None:
    draft = Draft(SLOT)
    draft.apply([A], {}, erase=False)
    refused = draft.apply(
        [A, B, C, D],
        {A: Existing.NOTHING, B: Existing.OPEN, C: Existing.TAKEN, D: Existing.PAST},
        erase=True,
    )
    assert refused == [Refusal(C, Existing.TAKEN), Refusal(D, Existing.PAST)]
    assert draft.paint == set()
    assert draft.erase == {B}


def test_an_edit_that_changes_nothing_leaves_nothing_to_undo() -> None:
    draft = Draft(SLOT)
    draft.apply([A], {}, erase=False)
    draft.apply([A], {}, erase=False)  # already painted
    draft.apply([B], {}, erase=True)  # nothing there to erase
    assert draft.undo()
    assert draft.paint == set()
    assert not draft.undo(), "only the one real edit was remembered"


def test_undo_takes_back_one_edit_at_a_time() -> None:
    draft = Draft(SLOT)
    draft.toggle([A], {})
    draft.apply([B, C], {}, erase=False)
    draft.toggle([D], {D: Existing.OPEN})
    assert (draft.paint, draft.erase) == ({A, B, C}, {D})
    assert draft.undo()
    assert (draft.paint, draft.erase) == ({A, B, C}, set())
    assert draft.undo()
    assert (draft.paint, draft.erase) == ({A}, set())
    assert draft.undo()
    assert draft.pending == 0
    assert not draft.undo()


def test_clear_drops_the_marks_and_the_history() -> None:
    draft = Draft(SLOT)
    draft.toggle([A], {})
    draft.toggle([B], {B: Existing.OPEN})
    draft.clear()
    assert draft.pending == 0
    assert not draft.undo()


def test_forget_drops_marks_on_some_cells_only() -> None:
    draft = Draft(SLOT)
    draft.apply([A, B], {}, erase=False)
    draft.apply([C, D], {C: Existing.OPEN, D: Existing.OPEN}, erase=True)
    draft.forget([B, C])
    assert draft.paint == {A}
    assert draft.erase == {D}


def test_pending_cells_become_runs_of_whole_windows() -> None:
    draft = Draft(SLOT)
    draft.apply([D, A, B], {}, erase=False)
    draft.apply(
        [10 * SLOT, 11 * SLOT], {10 * SLOT: Existing.OPEN, 11 * SLOT: Existing.OPEN}, erase=True
    )
    assert draft.paint_runs() == [(A, C), (D, D + SLOT)]
    assert draft.erase_runs() == [(10 * SLOT, 12 * SLOT)]


def test_runs_sorts_and_joins_consecutive_starts() -> None:
    assert runs([], 60) == []
    assert runs([120, 0, 60, 300], 60) == [(0, 180), (300, 360)]
