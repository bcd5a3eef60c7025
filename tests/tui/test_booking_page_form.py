"""Booking page (ctrl+p on the provider's week): the provider fills in their public profile, the
server's refusal is said beside the field it names, the page is turned on and its address shown
to copy; at 80x24, against a real server whose state the test reads over HTTP."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static, Switch

from tests.tui.contrast import illegible
from tests.tui.harness import BackendThread, app_for, until
from tests.tui.test_app import run_from_palette
from tests.tui.test_offerings import fill
from tests.tui.test_provider_screen import Toasts, provider_screen
from tui.app import SlotbookApp
from tui.screens.booking_page_form import OFF, BookingPageForm
from tui.screens.provider import ProviderScreen

NOTHING = {"about": None, "address": None, "phone": None, "website": None}


def profile(backend: BackendThread, token: str) -> dict[str, Any]:
    """Ada's profile as the server has it."""
    with backend.http(token) as http:
        answer = http.get("/providers/ada")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def open_form(app: SlotbookApp, pilot: Pilot[None]) -> BookingPageForm:
    """ctrl+p, "Booking page", Enter: the form, once it has loaded the profile."""
    await run_from_palette(app, pilot, "Booking page")
    await until(
        lambda: isinstance(app.screen, BookingPageForm) and app.screen.saved is not None,
        pilot.pause,
    )
    form = app.screen
    assert isinstance(form, BookingPageForm)
    return form


def said(form: BookingPageForm, selector: str) -> str:
    return str(form.query_one(selector, Static).render())


async def test_the_provider_fills_in_their_page_turns_it_on_and_copies_its_address(
    backend: BackendThread,
) -> None:
    token = backend.issue("provider", "ada", "Dr Ada")
    app = app_for(backend, token=token)
    toasts = Toasts()
    async with app.run_test(size=(80, 24), message_hook=toasts) as pilot:
        week = await provider_screen(app, pilot)
        form = await open_form(app, pilot)
        assert said(form, "#page-address") == OFF
        assert not form.query_one("#page-on", Switch).value
        assert "ctrl+l" not in form.app.active_bindings  # nothing to copy while the page is off

        await fill(
            pilot,
            form,
            about="Physiotherapy for runners",
            address="Rua Augusta 27, Lisbon",
            website="physio.example.com",
        )
        form.query_one("#page-on", Switch).toggle()
        await pilot.pause()
        assert said(form, "#switch-said") == "On once you save"
        await pilot.press("ctrl+s")
        await until(lambda: form.query_one("#note-website").has_class("-wrong"), pilot.pause)
        assert said(form, "#note-website").startswith("must start with http:// or https://")
        assert illegible(app) == []  # the refusal in its colours too
        assert not form.query_one("#note-about").has_class("-wrong")
        assert said(form, "#info") == "Not saved: 1 field to put right, said beside it."
        assert form.focused is form.query_one("#field-website", Input)
        assert profile(backend, token)["profile"] == NOTHING  # refused whole: nothing saved

        await pilot.press("home", *"https://")
        assert not form.query_one("#note-website").has_class("-wrong")  # gone with the change
        await pilot.press("enter")
        url = f"{backend.url}/book/ada"
        await until(lambda: said(form, "#page-address") == f"Your page: {url}", pilot.pause)
        assert profile(backend, token) == {
            "providerId": "ada",
            "name": "Dr Ada",
            "profile": {
                "about": "Physiotherapy for runners",
                "address": "Rua Augusta 27, Lisbon",
                "phone": None,
                "website": "https://physio.example.com",
            },
            "bookingPage": True,
            "bookingPageUrl": url,
        }
        # The whole form, with the page's address, fits 80x24, every character legible.
        assert form.query_one("#fields").max_scroll_y == 0
        assert form.query_one("#page-address").region.bottom <= 22
        assert illegible(app) == []
        await pilot.press("ctrl+l")
        assert app.clipboard == url
        assert toasts.texts()[-1] == f"Booking page: Copied {url}"

        await fill(pilot, form, address="")
        await pilot.press("ctrl+s")
        await until(lambda: said(form, "#info").startswith("Saved."), pilot.pause)
        assert profile(backend, token)["profile"]["address"] is None
        await pilot.press("ctrl+s")
        assert said(form, "#info").startswith("Nothing to save")
        await pilot.press("escape")
        await until(lambda: app.screen is week, pilot.pause)
        assert isinstance(app.screen, ProviderScreen)
