"""A change of a kind the app does not know (one a newer server logs) is passed by, on the live
feed and in GET /changes: the app goes on showing the changes it does know."""

from __future__ import annotations

import sqlite3

from shared.timefmt import parse_time
from tests.tui.harness import BackendThread, app_for, until, window
from tests.tui.test_provider_screen import provider_screen
from tui.widgets.week_grid import CellState

TUESDAY_10 = parse_time("2030-03-05 10:00:00")


def log_a_change_of_a_new_kind(backend: BackendThread, kind: str) -> None:
    """Write a change of `kind` straight into the running server's change log, as a newer
    server's own code would log one."""
    with sqlite3.connect(backend.db, timeout=10) as db:
        db.execute(
            "INSERT INTO changes (kind, slot_id, provider_id, start, status, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [kind, "0" * 32, "ada", int(TUESDAY_10), "AVAILABLE", backend.clock.now()],
        )
    db.close()


async def test_a_change_of_an_unknown_kind_is_passed_by_and_the_next_one_shown(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await provider_screen(app, pilot)
        await until(lambda: app.feed_state == "live", pilot.pause)
        log_a_change_of_a_new_kind(backend, "rescheduled-by-robot")
        with backend.http(token) as http:
            window(http, TUESDAY_10, TUESDAY_10 + 900)  # an ordinary change, after it
        await until(
            lambda: screen.grid.cell_at(int(TUESDAY_10)).state is CellState.OPEN, pilot.pause
        )
        assert app.feed_state == "live", "the feed never dropped over the change it passed by"
        assert app.changes_heard == 1, "the slot made; the change of the new kind passed by"
        assert app.session is not None
        logged = await app.session.client.changes(0)
        assert [c.kind for c in logged.changes] == ["created"]
        assert logged.last_seq == 2, "past the change of the new kind too"
