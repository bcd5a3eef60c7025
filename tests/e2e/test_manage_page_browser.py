"""The manage link in a real browser (Debian's Chromium, tests/e2e/browser.py) against a real
server process: a client opens the link from the confirmation the server wrote to its Maildir,
reschedules to the first free start the page offers, sees the page say so, then cancels."""

from __future__ import annotations

import mailbox
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from shared.timefmt import format_time
from tests.backend.test_manage_page import words_of
from tests.e2e.browser import STEP_TIMEOUT, launch
from tests.e2e.server_process import ServerProcess
from tests.e2e.test_terminal_app import make_token

MAIL_WAIT = 30.0
"""Seconds the server's own sender may take to write the confirmation (it takes well under one)."""


def manage_link(mail: Path, address: str) -> str:
    """The manage link of the first letter to `address` the server's sender writes."""
    deadline = time.monotonic() + MAIL_WAIT
    while time.monotonic() < deadline:
        if mail.exists():
            for letter in mailbox.Maildir(mail, create=False):
                if address in str(letter["To"]):
                    words = words_of(letter)
                    found = re.search(r"http://\S+/manage/[A-Za-z0-9_-]+", words)
                    assert found, words
                    return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no letter to {address} in {mail}")


def test_a_client_reschedules_then_cancels_in_chromium(tmp_path: Path) -> None:
    db, mail = tmp_path / "slotbook.db", tmp_path / "mail"
    provider = make_token(db, "provider", "p1", "Dr One")
    client = make_token(db, "client", "c1", "Ana")
    day = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    with (
        ServerProcess(db, "--mail-dir", str(mail)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        as_provider = {"Authorization": f"Bearer {provider}"}
        as_client = {"Authorization": f"Bearer {client}"}
        window = {
            "startTime": format_time(day.timestamp()),
            "endTime": format_time(day.timestamp() + 3600),
        }
        assert http.post("/availability", json=window, headers=as_provider).status_code == 201
        assert (
            http.patch(
                "/me",
                json={"email": "ana@example.com", "timeZone": "Europe/Lisbon"},
                headers=as_client,
            ).status_code
            == 200
        )
        first = http.get("/availability", params={**window, "providerId": "p1"}, headers=as_client)
        slot = first.json()["availableTimeSlots"][0]
        held = http.post(
            "/availability/reserve",
            json={"timeSlotId": slot["timeSlotId"], "timeSlot": slot["timestamp"]},
            headers=as_client,
        )
        assert held.status_code == 201, held.text
        confirmed = http.put(
            f"/availability/confirm/{slot['timeSlotId']}",
            json={"timeSlot": slot["timestamp"]},
            headers=as_client,
        )
        assert confirmed.status_code == 200, confirmed.text
        link = manage_link(mail, "ana@example.com")

        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
                page.set_default_timeout(STEP_TIMEOUT * 1000)
                page.goto(link)
                assert "Dr One" in page.inner_text("main")
                first_start = page.locator("form.starts button").first
                chosen = first_start.inner_text()
                first_start.click()
                page.wait_for_url(re.compile(r"\?done=moved$"))
                shown = page.inner_text("main")
                assert "Your appointment has been moved." in shown
                assert f", {chosen}–" in shown
                page.get_by_role("button", name="Cancel this appointment").click()
                page.wait_for_url(re.compile(r"\?done=cancelled$"))
                assert "Your appointment is cancelled." in page.inner_text("main")
            finally:
                browser.close()
        mine = http.get("/reservations", headers=as_client)
        assert mine.json()["reservations"] == []
