"""`make screenshots`: the pictures of the terminal app in the README, made by the app itself.

A real server on a frozen clock (Monday 4 March 2030, 08:30 in Berlin) gets the demo's sample
providers, availability and bookings through the API, as `slotbook --demo` does. The app then
shows the client's week and the provider's week, and each screen is exported as SVG by Textual and
turned into PNG by `rsvg-convert` (Debian's librsvg2-bin). The files land in docs/.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from textual.pilot import Pilot
from textual.widgets import OptionList

from backend.runtime.clock import ManualClock
from shared.timefmt import parse_time
from tests.tui.harness import BackendThread, StaticBackend, until
from tui.app import SlotbookApp
from tui.backends import Connection
from tui.client import SlotbookClient
from tui.demo import seed_demo
from tui.screens.client import ClientScreen
from tui.screens.provider import ProviderScreen

DOCS = Path(__file__).resolve().parents[2] / "docs"
NOW = parse_time("2030-03-04 07:30:00")
"""Monday 4 March 2030, 08:30 in Berlin."""
ZONE = "Europe/Berlin"
SIZE = (120, 34)
LABEL = "embedded · ~/.local/share/slotbook/slotbook.db"
"""What the status line says of the server, as it does for `make run`."""
WIDTH_PX = "1400"


async def seeded(backend: BackendThread) -> None:
    """The demo's providers, availability, holds and bookings, made through the API."""
    admin = SlotbookClient(backend.url, backend.issue("admin", None, "Front desk"))
    try:
        await seed_demo(admin, ZoneInfo(ZONE), NOW)
    finally:
        await admin.aclose()


Arrange = Callable[[SlotbookApp, Pilot[None]], Awaitable[None]]


async def shoot(backend: BackendThread, token: str, name: str, arrange: Arrange) -> None:
    connection = Connection(base_url=backend.url, label=LABEL, token=token)
    app = SlotbookApp(StaticBackend(connection), zone=ZoneInfo(ZONE), clock=backend.clock.now)
    async with app.run_test(size=SIZE) as pilot:
        await arrange(app, pilot)
        await pilot.pause(0.3)
        app.clear_notifications()
        await pilot.pause()
        svg = DOCS / f"{name}.svg"
        svg.write_text(app.export_screenshot(title=f"slotbook: {name.replace('-', ' ')}"))
    command = ["rsvg-convert", "-w", WIDTH_PX, str(svg), "-o", str(svg.with_suffix(".png"))]
    await asyncio.to_thread(subprocess.run, command, check=True)
    svg.unlink()
    print(f"wrote {svg.with_suffix('.png').relative_to(DOCS.parent)}")


async def client_week(app: SlotbookApp, pilot: Pilot[None]) -> None:
    await until(
        lambda: (
            app.feed_state == "live"
            and isinstance(app.screen, ClientScreen)
            and app.screen.loaded
            and app.screen.query_one("#providers", OptionList).option_count > 1
        ),
        lambda: pilot.pause(0.02),
    )
    await pilot.pause(0.5)  # the week opens with the cursor on the first free slot


async def provider_week(app: SlotbookApp, pilot: Pilot[None]) -> None:
    await until(
        lambda: (
            app.feed_state == "live"
            and isinstance(app.screen, ProviderScreen)
            and app.screen.loaded
        ),
        lambda: pilot.pause(0.02),
    )
    # Saturday morning painted open, not saved yet (from Monday 08:30, where the week opens).
    await pilot.press(*"lllll", *"jj", "v", *"jjjjjjj", "space")


async def main() -> int:
    if shutil.which("rsvg-convert") is None:
        print("make screenshots needs rsvg-convert: apt-get install librsvg2-bin", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        backend = BackendThread(Path(folder) / "slotbook.db", ManualClock(NOW))
        backend.start()
        try:
            await seeded(backend)
            client = backend.issue("client", "sam-lee", "Sam Lee")
            provider = backend.issue("provider", "dr-ada-lovelace", "Dr Ada Lovelace")
            await shoot(backend, client, "client-week", client_week)
            await shoot(backend, provider, "provider-week", provider_week)
        finally:
            backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
