"""The web gateway: an aiohttp app that serves the terminal app to browsers over textual-serve.

Each browser that opens the page gets its own app process (app_session.py), carried over a
WebSocket; every such app talks to the one slotbook server the gateway was given. The gateway
keeps the count (past `max_sessions` a visitor is told the service is busy, HTTP 503), ends
sessions nobody has typed into for `idle_seconds`, refuses WebSockets opened by other sites'
pages, and serves the page with everything it needs from here: no font or script from another
host.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from urllib.parse import unquote, urlsplit

import textual_serve
from aiohttp import WSMsgType, web

from shared.zones import is_zone_name
from tui.web.app_session import AppSession

STATIC = Path(textual_serve.__file__).parent / "static"
"""textual-serve's page assets: xterm.js with its glue, its stylesheet, and the font."""
TEMPLATES = Path(__file__).parent / "templates"
HEARTBEAT_SECONDS = 15.0
"""WebSocket pings: a browser that vanished is noticed, and its app ended, within two of them."""
FONT_SIZE = 16


@dataclass
class Visit:
    """A visitor's app and the WebSocket carrying it."""

    session: AppSession
    socket: web.WebSocketResponse


class Gateway:
    """Serves `server`'s app to at most `max_sessions` browsers at once."""

    def __init__(
        self,
        server: str,
        *,
        max_sessions: int,
        idle_seconds: float,
        public_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        title: str = "slotbook",
    ) -> None:
        """`idle_seconds` 0 means sessions never idle out; `clock` tells the time for that."""
        self.server = server
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self.public_url = public_url
        self.clock = clock
        self.title = title
        self.visits: dict[str, Visit] = {}
        self._index = Template((TEMPLATES / "index.html").read_text(encoding="utf-8"))
        self._busy = Template((TEMPLATES / "busy.html").read_text(encoding="utf-8"))

    @property
    def full(self) -> bool:
        return len(self.visits) >= self.max_sessions

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.index)
        app.router.add_get("/ws", self.websocket)
        app.router.add_static("/static", STATIC)
        app.cleanup_ctx.append(self._reaper)
        app.on_shutdown.append(self._end_all)
        return app

    # --- the page --------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        if self.full:
            return self.busy()
        page = self._index.substitute(
            title=html.escape(self.title),
            static=html.escape(self._base(request) + "/static"),
            websocket_url=html.escape(self._socket_url(request)),
            font_size=FONT_SIZE,
        )
        return web.Response(
            text=page,
            content_type="text/html",
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    def busy(self) -> web.Response:
        page = self._busy.substitute(title=html.escape(self.title), max_sessions=self.max_sessions)
        return web.Response(
            status=503,
            text=page,
            content_type="text/html",
            headers={"Retry-After": "60", "Cache-Control": "no-store"},
        )

    def _base(self, request: web.Request) -> str:
        """Where browsers reach us: the public URL, else the address they asked."""
        return self.public_url or f"{request.scheme}://{request.host}"

    def _socket_url(self, request: web.Request) -> str:
        base = self._base(request)
        scheme = "wss" if base.startswith("https:") else "ws"
        return f"{scheme}:{base.split(':', 1)[1]}/ws"

    def _same_site(self, request: web.Request) -> bool:
        """A WebSocket from our own page (or from a program, which sends no Origin)."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        return urlsplit(origin).netloc.lower() == urlsplit(self._base(request)).netloc.lower()

    # --- sessions ------------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._same_site(request):
            raise web.HTTPForbidden(text="This page may only be used from its own address.")
        if self.full:
            return self.busy()
        socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)

        async def close() -> None:  # the app quit (the visitor signed out, say)
            await socket.close()

        session = AppSession(
            self.server,
            write_bytes=socket.send_bytes,
            write_str=socket.send_str,
            close=close,
            now=self.clock(),
            zone=visitor_zone(request),
        )
        key = session.app_service_id
        visit = self.visits[key] = Visit(session, socket)  # counted before the first await
        try:
            await socket.prepare(request)
            await session.start(_size(request, "width", 80), _size(request, "height", 24))
            await self._relay(socket, session)
        finally:
            self.visits.pop(key, None)
            await _end(visit)
        return socket

    async def _relay(self, socket: web.WebSocketResponse, session: AppSession) -> None:
        """The browser's keys, clicks and size, to the app, until the browser goes."""
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
                kind, data = ([*envelope, None])[:2]
            except (ValueError, TypeError):
                continue  # not the page's: ignore it
            if kind == "stdin" and isinstance(data, str):
                session.last_input = self.clock()
                await session.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                session.last_input = self.clock()
                width, height = data.get("width"), data.get("height")
                if isinstance(width, int) and isinstance(height, int):
                    await session.set_terminal_size(max(width, 1), max(height, 1))
            elif kind == "ping":
                await socket.send_json(["pong", data])
            elif kind == "blur":
                await session.blur()
            elif kind == "focus":
                await session.focus()

    async def reap(self) -> int:
        """End every session idle for `idle_seconds`; how many were ended."""
        if not self.idle_seconds:
            return 0
        now = self.clock()
        idle = [v for v in self.visits.values() if now - v.session.last_input >= self.idle_seconds]
        for visit in idle:
            await _end(visit)
        return len(idle)

    async def _reaper(self, app: web.Application) -> AsyncIterator[None]:
        period = min(30.0, max(1.0, self.idle_seconds / 10))

        async def every_period() -> None:
            while True:
                await asyncio.sleep(period)
                await self.reap()

        task = asyncio.create_task(every_period()) if self.idle_seconds else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _end_all(self, app: web.Application) -> None:
        for visit in list(self.visits.values()):
            await _end(visit)


ZONE_COOKIE = "slotbook_tz"
"""Set by the page to the browser's IANA time zone."""


def visitor_zone(request: web.Request) -> str | None:
    """The zone the visitor's browser is in, if it named the zone of a place (shared.zones)."""
    zone = unquote(request.cookies.get(ZONE_COOKIE, ""))  # the page encodes its "/"
    return zone if is_zone_name(zone) else None


async def _end(visit: Visit) -> None:
    """Stop the app (for sure) and close its WebSocket, if it was ever opened."""
    await visit.session.stop()
    if visit.socket.prepared:
        await visit.socket.close()


def _size(request: web.Request, name: str, default: int) -> int:
    try:
        return min(max(int(request.query.get(name, default)), 1), 1000)
    except ValueError:
        return default
