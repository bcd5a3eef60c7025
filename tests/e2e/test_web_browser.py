"""`slotbook-web` in a real browser (tests/e2e/browser.py): a client signs in and books with the
keyboard (typing at once, with no click first), a second visitor shares the one server, a third
from the same address is told it has too many sessions (on the busy page, or in the page whose
WebSocket was refused), the page asks no other host for anything, and signing out is said.
slotbook-web runs with no --server, so it starts the one shared server itself; the tokens come
from `slotbook-server token create` on that server's database. It needs Debian's `chromium`,
which scripts/system-packages installs (make test runs it first).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from shared.timefmt import format_time
from tests.e2e.browser import STEP_TIMEOUT, Visitor, WebProcess, every_command_line, launch
from tests.e2e.test_terminal_app import make_token


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


def gone(pid: int) -> bool:
    deadline = time.monotonic() + STEP_TIMEOUT
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def assert_drawn_whole_at_density(visitor: Visitor, width: int, height: int, density: int) -> None:
    """The page's terminal lies inside the `width` x `height` viewport, its canvases hold
    `density` pixels to each CSS pixel (xterm.js draws its cells at that density, so a canvas
    that holds fewer shows only part of them, too big), and the whole sign-in box is on screen."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while any(abs(c["scale"] - density) > 0.01 for c in visitor.canvases()):
        if time.monotonic() > deadline:
            break
        visitor.page.wait_for_timeout(50)
    canvases = visitor.canvases()
    assert canvases, "xterm.js draws on canvases"
    for canvas in canvases:
        assert abs(canvas["scale"] - density) <= 0.01, canvases
        assert canvas["left"] >= 0, canvases
        assert canvas["top"] >= 0, canvases
        assert canvas["right"] <= width, canvases
        assert canvas["bottom"] <= height, canvases
    lines = visitor.screen.text.splitlines()
    boxed = [
        line.strip() for line in lines if "Sign in to slotbook" in line or "press Enter" in line
    ]
    assert len(boxed) == 2, visitor.screen.text
    assert all(line[0] == line[-1] == "█" for line in boxed), visitor.screen.text


def test_a_client_signs_in_and_books_the_next_free_slot_with_the_keyboard(
    browser: Browser, tmp_path: Path
) -> None:
    db = tmp_path / "slotbook.db"
    web = WebProcess(
        "--db",
        str(db),
        "--max-sessions",
        "3",
        "--max-sessions-per-address",
        "2",
        "--idle-minutes",
        "5",
    ).start()
    try:
        provider = make_token(db, "provider", "ada", "Dr Ada")
        client = make_token(db, "client", "sam", "Sam")
        day = (datetime.now(UTC) + timedelta(days=3)).date()
        opens = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)

        def offer(start: datetime, minutes: int) -> None:
            answer = httpx.post(
                f"{web.server}/availability",
                headers={"Authorization": f"Bearer {provider}"},
                json={
                    "providerId": "ada",
                    "startTime": format_time(start.timestamp()),
                    "endTime": format_time((start + timedelta(minutes=minutes)).timestamp()),
                },
            )
            assert answer.status_code == 201, answer.text

        offer(opens, 120)
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, timezone_id="Europe/Berlin"
        )
        requested: list[str] = []
        context.on("request", lambda request: requested.append(request.url))

        sam = Visitor(context, web.url)
        assert sam.response is not None
        assert sam.response.status == 200
        sam.sees("Sign in to slotbook")
        sam.sees(f"Server: {web.url}")  # slotbook-web's address, not its internal server's
        assert sam.screen.illegible() == []
        sam.type("sbk_not_a_token")  # no click first: the terminal has the keys from the start
        sam.press("Enter")
        sam.sees("The server refused that token")
        sam.type(client)
        sam.press("Enter")
        sam.sees("Next open")
        sam.sees("times in CET (Europe/Berlin)")  # the browser's zone, not the host's
        assert web.server not in sam.screen.text
        assert sam.screen.illegible() == []
        # the week opens with the cursor on the first free slot: no key needed to find it
        sam.sees("Enter holds it")
        assert "▸" in sam.screen.text, "the cursor is marked as in a terminal"
        sam.press("Enter")
        sam.sees(" left (until ")
        sam.press("c")
        sam.sees("Booked")
        mine = httpx.get(
            f"{web.server}/reservations", headers={"Authorization": f"Bearer {client}"}
        ).json()["reservations"]
        assert [(r["timestamp"], r["status"]) for r in mine] == [
            (format_time(opens.timestamp()), "CONFIRMED")
        ]

        free = sam.screen.text.count("free")
        offer(opens + timedelta(hours=2), 30)  # live: the page shows it without a key pressed
        sam.sees("free", free + 2)

        served_while_free = httpx.get(web.url).text
        # A second visitor, on a phone (three device pixels to a CSS pixel): same shared server,
        # own process, and a terminal drawn at the screen's density, whole, inside the page.
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True
        )
        phone.on("request", lambda request: requested.append(request.url))
        ada = Visitor(phone, web.url)
        ada.sees("Sign in to slotbook")
        ada.sees("then press Enter.")
        assert_drawn_whole_at_density(ada, width=390, height=844, density=3)
        assert len(web.children("-m tui ")) == 2
        assert len(web.children("backend serve")) == 1, "one server for all, not one each"
        busy = Visitor(context, web.url)  # a third page from this address: one too many
        assert busy.response is not None
        assert busy.response.status == 503
        assert "too many sessions from your address" in busy.page.inner_text("body")
        # A page served while there was room, whose WebSocket then finds none, says why too.
        late = context.new_page()
        late.route(
            web.url + "/",
            lambda route: route.fulfill(content_type="text/html", body=served_while_free),
            times=1,
        )
        late.goto(web.url)
        late.wait_for_selector("body.-closed .closed-dialog", timeout=STEP_TIMEOUT * 1000)
        late.wait_for_function(
            "document.getElementById('ended').textContent.includes('from your address')",
            timeout=STEP_TIMEOUT * 1000,
        )
        assert len(web.children("-m tui ")) == 2

        own = urlsplit(web.url).netloc
        assert {urlsplit(url).netloc for url in requested} == {own}, requested
        for secret in (client, provider):
            assert secret not in every_command_line()
            assert secret not in "".join(web.log)
            assert all(secret not in url for url in requested)

        (sam_app,) = [pid for pid in web.children("-m tui ") if pid != max(web.children("-m tui "))]
        sam.press("Control+p")
        sam.sees("Search for commands")
        sam.type("Sign out")
        sam.sees("Forget the token")
        sam.press("Enter")
        sam.page.wait_for_selector("body.-closed .closed-dialog", timeout=STEP_TIMEOUT * 1000)
        assert sam.page.inner_text("#ended") == "You signed out or quit the app."
        assert gone(sam_app), "signing out ends the session and its process"
        (ada_app,) = web.children("-m tui ")
        ada.page.close()
        assert gone(ada_app), "a closed page ends its app"
    finally:
        assert web.stop() == 0
    assert "Traceback" not in "".join(web.log), "".join(web.log)
