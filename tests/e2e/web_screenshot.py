"""`make screenshots` (second half): the README's picture of slotbook-web, taken in a real browser.

slotbook-web starts its shared server over a new database; the demo's sample providers,
availability and bookings go in through the API (as `slotbook --demo` puts them), a client signs
in in Chromium and moves to the next free slot, and the page is saved as docs/web-client-week.png.
Times are the wall clock's, so each run shows the coming week.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import sync_playwright

from tests.e2e.browser import Visitor, WebProcess, launch
from tests.e2e.test_terminal_app import make_token
from tui.client import SlotbookClient
from tui.demo import seed_demo

DOCS = Path(__file__).resolve().parents[2] / "docs"
PICTURE = DOCS / "web-client-week.png"


async def _seed(server: str, admin: str) -> None:
    client = SlotbookClient(server, admin)
    try:
        await seed_demo(client, ZoneInfo("UTC"), time.time())
    finally:
        await client.aclose()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "slotbook.db"
        web = WebProcess("--db", str(db)).start()
        try:
            asyncio.run(_seed(web.server, make_token(db, "admin", None, "Front desk")))
            grace = make_token(db, "client", "grace", "Grace Hopper")
            with sync_playwright() as playwright:
                browser = launch(playwright)
                context = browser.new_context(viewport={"width": 1280, "height": 720})
                visitor = Visitor(context, web.url)
                visitor.sees("Sign in to slotbook")
                visitor.type(grace)
                visitor.press("Enter")
                visitor.sees("Enter holds it")  # the week opens on the first free slot
                visitor.page.wait_for_timeout(500)  # the toast of the sign-in fades
                visitor.page.screenshot(path=str(PICTURE))
                browser.close()
        finally:
            web.stop()
    print(f"wrote {PICTURE.relative_to(DOCS.parent)}")


if __name__ == "__main__":
    main()
