"""One visitor's app: `python -m tui --server URL` as a child process, over textual-serve's
AppService, which carries its screen to the browser and the browser's keys to it.

The child gets no token and no settings of ours: its arguments name only the server (a token
typed at sign-in stays inside it), its environment loses every SLOTBOOK_* variable, and it
remembers things (the theme) in a folder of its own that goes when it ends. It is told to show
slotbook-web's own address where it would show its server's (which is an internal one, of no use
to a visitor).

The browser's time zone is where the visitor is: the zone of the visitor's machine, which is what
the TZ variable says to the app (tui/timezone.py, step 3). So it goes to the app as TZ, not as
--tz, which would count as a zone the visitor named and beat a provider's usual-week zone (step 2).
When the browser says nothing, the operator's SLOTBOOK_TZ is passed as TZ likewise, else the
host's own TZ stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable, Mapping

from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from shared.zones import is_zone_name
from tui.backends import ENV_SERVER_LABEL
from tui.config import ENV_DATA_DIR, ENV_TZ

STOP_GRACE_SECONDS = 5.0
"""How long an app may take to quit when asked before it is killed."""


def app_command(server: str) -> list[str]:
    """The visitor's app: the terminal app on the shared server, no config file read."""
    return [sys.executable, "-m", "tui", "--server", server, "--config", os.devnull]


def app_environment(
    inherited: Mapping[str, str], zone: str | None, *, home: str, label: str
) -> dict[str, str]:
    """The visitor's app's environment, from slotbook-web's own: no SLOTBOOK_* variable of ours,
    its data folder `home`, `label` to show as its server, and as TZ the zone of the visitor's
    browser (`zone`), else the operator's SLOTBOOK_TZ, else the host's TZ as it is."""
    environment = {
        name: value for name, value in inherited.items() if not name.startswith("SLOTBOOK_")
    }
    operators = inherited.get(ENV_TZ, "").strip()
    machines = zone or (operators if is_zone_name(operators) else None)
    if machines is not None:
        environment["TZ"] = machines
    environment[ENV_DATA_DIR] = home
    environment[ENV_SERVER_LABEL] = label
    return environment


class AppSession(AppService):
    """textual-serve's AppService, started without a shell, stopped for sure, and timed."""

    def __init__(
        self,
        server: str,
        *,
        write_bytes: Callable[[bytes], Awaitable[None]],
        write_str: Callable[[str], Awaitable[None]],
        ended: Callable[[int | None], Awaitable[None]],
        now: float,
        label: str,
        zone: str | None = None,
    ) -> None:
        """`ended` is called with the app's exit status once its process has ended; `label` is
        what the app shows as its server."""
        super().__init__(
            " ".join(app_command(server)),
            write_bytes=write_bytes,
            write_str=write_str,
            close=_nothing,  # the app said it is leaving: `ended` follows, with how it left
            download_manager=DownloadManager(),
        )
        self.server = server
        self.zone = zone
        self.label = label
        self._ended = ended
        self.last_input = now
        """When the visitor last typed, clicked or resized (the gateway's clock)."""
        self.home = tempfile.mkdtemp(prefix="slotbook-web-")
        """The app's data folder (what it remembers), removed when the session ends."""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        return app_environment(
            super()._build_environment(width, height), self.zone, home=self.home, label=self.label
        )

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *app_command(self.server),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        """textual-serve's reading of the app's output, to its end; then the app's exit status."""
        await super().run()
        process = self._process
        await self._ended(None if process is None else await process.wait())

    async def stop(self) -> None:
        """Ask the app to quit; kill it if it has not within a few seconds; reap it."""
        process = self._process
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await super().stop()
        except TimeoutError:
            pass
        if process is not None:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            await process.wait()
        if self._task is not None:  # the reader ends at the dead app's end of output
            await self._task
            self._task = None
        shutil.rmtree(self.home, ignore_errors=True)


async def _nothing() -> None:
    return None
