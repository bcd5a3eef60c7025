"""`make screenshots` (last part): the README's picture of the booking page on a phone, taken in a
real browser.

A server process over a new database; a provider sets their profile, offers two types of
appointment, opens their weekday hours and turns their booking page on, through the API
(tests/e2e/booking_provider.py). Chromium opens the page at a phone's size (390x844 CSS pixels,
at twice the density), in the provider's zone, and the screen is saved as
docs/booking-page-phone.png. Times are the wall clock's, so each run shows the coming week.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from tests.e2e.booking_provider import open_booking_page
from tests.e2e.browser import STEP_TIMEOUT, launch
from tests.e2e.server_process import ServerProcess
from tests.e2e.test_terminal_app import make_token

DOCS = Path(__file__).resolve().parents[2] / "docs"
PICTURE = DOCS / "booking-page-phone.png"
PROVIDER = "dr-ada-lovelace"
ZONE = "Europe/Lisbon"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "slotbook.db"
        token = make_token(db, "provider", PROVIDER, "Dr Ada Lovelace")
        with (
            ServerProcess(db, "--mail-dir", str(Path(folder) / "mail")) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            open_booking_page(http, token, PROVIDER, ZONE, time.time())
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    phone = browser.new_context(
                        viewport={"width": 390, "height": 844},
                        device_scale_factor=2,
                        is_mobile=True,
                        has_touch=True,
                        timezone_id=ZONE,
                    )
                    page = phone.new_page()
                    page.set_default_timeout(STEP_TIMEOUT * 1000)
                    page.goto(f"{server.url}/book/{PROVIDER}")
                    page.wait_for_selector("a.start")
                    page.screenshot(path=str(PICTURE))
                finally:
                    browser.close()
    print(f"wrote {PICTURE.relative_to(DOCS.parent)}")


if __name__ == "__main__":
    main()
