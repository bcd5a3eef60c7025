"""slotbook-web and a real browser for tests and the README's picture: `python -m tui.web` as a
child process, and pages of Debian's Chromium driven by Playwright (its own browser download is not
reachable here, so it is launched with `executable_path`).

The page is drawn by xterm.js on a canvas, so what it shows is read from the WebSocket the page
reads, through a terminal emulator (tests/tui/browser_screen.py); keys go through the browser's
keyboard.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, WebSocket

from tests.tui.browser_screen import BrowserScreen

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    # As root in a container there is no sandbox to be had; the rest keep Chromium from calling
    # home, which this machine's closed network refuses (and which is not the page's doing).
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STEP_TIMEOUT = 20.0
"""Seconds any one step may take to show in the page (they take well under one)."""
_ADDRESS = re.compile(r"listening on (http://\S+) .* whose apps use (http://\S+)")


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless."""
    assert Path(CHROMIUM).exists(), "chromium is missing: scripts/system-packages installs it"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


class WebProcess:
    """`python -m tui.web` on a free port; `url` is the page, `server` the shared server."""

    def __init__(self, *flags: str) -> None:
        self.command = [sys.executable, "-m", "tui.web", "--port", "0", *flags]
        self.url = ""
        self.server = ""
        self.log: list[str] = []
        self._ready = threading.Event()
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> WebProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBOOK_")}
        self._process = subprocess.Popen(
            self.command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment
        )
        threading.Thread(target=self._read, args=(self._process.stderr,), daemon=True).start()
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        if not self._ready.wait(30) or not self.url:
            self.stop()
            raise RuntimeError("slotbook-web did not start:\n" + "".join(self.log))
        return self

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.log.append(line)
            found = _ADDRESS.search(line)
            if found and not self.url:
                self.url, self.server = found.group(1), found.group(2)
                self._ready.set()
        self._ready.set()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def children(self, marker: str) -> list[int]:
        """The pids of our children whose command line holds `marker`."""
        listed = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [int(pid) for pid in listed if marker in command_line(int(pid))]

    def stop(self) -> int:
        if self._process is None:
            return 0
        if self._process.poll() is None:
            self._process.terminate()
        return self._process.wait(30)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def every_command_line() -> str:
    return "\n".join(command_line(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit())


_CANVASES = """() => [...document.querySelectorAll("#terminal canvas")].map((canvas) => {
  const box = canvas.getBoundingClientRect();
  return { left: box.left, top: box.top, right: box.right, bottom: box.bottom,
           pixels_across: canvas.width, scale: canvas.width / box.width };
})"""


class Visitor:
    """One browser page on slotbook-web, with what its terminal shows."""

    def __init__(self, context: BrowserContext, url: str) -> None:
        self.screen = BrowserScreen(80, 24)
        self.page: Page = context.new_page()
        self.page.on("websocket", self._watch)
        self.response = self.page.goto(url)

    def _watch(self, socket: WebSocket) -> None:
        size = parse_qs(urlsplit(socket.url).query)
        self.screen.screen.resize(int(size["height"][0]), int(size["width"][0]))
        socket.on("framereceived", self._frame)

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            self.screen.feed(payload)

    def sees(self, text: str, count: int = 1) -> None:
        """Wait until the page's terminal shows `text` (at least `count` times)."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while self.screen.text.count(text) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never showed {text!r}:\n{self.screen.text}")
            self.page.wait_for_timeout(50)  # lets Playwright deliver the next frames

    def canvases(self) -> list[dict[str, float]]:
        """The terminal's canvases: their place on the page in CSS pixels (`left`, `top`,
        `right`, `bottom`), and how many pixels each holds across (`pixels_across`) per CSS pixel
        of its width (`scale`), which is the scale xterm.js draws its cells at."""
        found: list[dict[str, float]] = self.page.evaluate(_CANVASES)
        return found

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)
