"""The provider's week, driven with keys and the mouse against a real server."""

from __future__ import annotations

from tests.tui.harness import BackendThread, app_for, until
from tui.screens.provider import ProviderScreen
from tui.widgets.week_grid import WeekGrid


async def test_a_range_painted_with_keys_is_saved_as_exactly_those_slots(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(
            lambda: isinstance(app.screen, ProviderScreen) and app.screen.loaded, pilot.pause
        )
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        grid = screen.query_one(WeekGrid)
        # The cursor starts on today (Monday) at 09:00; go to Wednesday 10:00 and paint 4 x 2.
        await pilot.press("l", "l", *["j"] * 4, "v", "j", "j", "j", "l", "space")
        await pilot.press("ctrl+s")
        await until(lambda: not screen.draft.pending and not screen.saving, pilot.pause)
        assert grid.cursor_start is not None
    with backend.http(token) as http:
        slots = http.get(
            "/providers/ada/slots",
            params={"startTime": "2030-03-04 00:00:00", "endTime": "2030-03-11 00:00:00"},
        ).json()["timeSlots"]
    assert sorted(s["timestamp"] for s in slots) == [
        f"2030-03-0{day} {time}"
        for day in (6, 7)
        for time in ("10:00:00", "10:15:00", "10:30:00", "10:45:00")
    ]
