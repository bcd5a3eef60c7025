"""The web gateway: an aiohttp app that serves the terminal app to browsers over textual-serve.

Each browser that opens the page gets its own app process (app_session.py), carried over a
WebSocket; every such app talks to the one slotbook server the gateway was given. The gateway
keeps the count (past `max_sessions`, or `max_sessions_per_address` from one address, a visitor
is told the service is busy, HTTP 503), ends sessions nobody has typed into for `idle_seconds`,
answers only requests addressed to its own address and WebSockets opened by its own page
(own_address.py), serves the page with everything it needs from here (no font or script from
another host), and closes each WebSocket saying why the session ended (endings.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from urllib.parse import unquote

import textual_serve
from aiohttp import WSMsgType, web

from shared.zones import is_zone_name
from tui.web import endings, terminal_size
from tui.web.app_session import AppSession
from tui.web.endings import Ending
from tui.web.own_address import OwnAddress, is_loopback, listening_url
from tui.web.visitor_address import visitor_address

STATIC = Path(textual_serve.__file__).parent / "static"
"""textual-serve's page assets: xterm.js with its glue, its stylesheet, and the font."""
TEMPLATES = Path(__file__).parent / "templates"
HEARTBEAT_SECONDS = 15.0
"""WebSocket pings: a browser that vanished is noticed, and its app ended, within two of them."""
FONT_SIZE = 16


@dataclass
class Visit:
    """A visitor's app, the WebSocket carrying it, and where the visitor comes from."""

    session: AppSession
    socket: web.WebSocketResponse
    address: str
    ending: Ending | None = None
    """Why the session ends, once it does: what its WebSocket's close says."""


class Gateway:
    """Serves `server`'s app to at most `max_sessions` browsers at once, and at most
    `max_sessions_per_address` from any one address."""

    def __init__(
        self,
        server: str,
        *,
        max_sessions: int,
        max_sessions_per_address: int,
        idle_seconds: float,
        public_url: str | None = None,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
        title: str = "slotbook",
    ) -> None:
        """`idle_seconds` 0 means sessions never idle out; `clock` tells the time for that.
        Browsers reach the gateway at `public_url`, else at `host` (which must then be a loopback
        address) on the port it listens on."""
        if public_url is None and not is_loopback(host):
            raise ValueError(f"listening on {host}, beyond this machine, needs a public URL")
        self.server = server
        self.max_sessions = max_sessions
        self.max_sessions_per_address = max_sessions_per_address
        self.idle_seconds = idle_seconds
        self.public_url = public_url
        self.host = host
        self.clock = clock
        self.title = title
        self.visits: dict[str, Visit] = {}
        self._index = Template((TEMPLATES / "index.html").read_text(encoding="utf-8"))
        self._busy = Template((TEMPLATES / "busy.html").read_text(encoding="utf-8"))

    def busy_because(self, address: str) -> str | None:
        """Why one more session (from `address`) cannot start now; None: it can."""
        if len(self.visits) >= self.max_sessions:
            return (
                f"Every place is taken right now (at most {self.max_sessions} at once)."
                " Please try again in a few minutes."
            )
        if sum(v.address == address for v in self.visits.values()) >= self.max_sessions_per_address:
            return (
                "There are too many sessions from your address (at most"
                f" {self.max_sessions_per_address} at once). Close one of them, or try again in a"
                " few minutes."
            )
        return None

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._only_our_address])
        app.router.add_get("/", self.index)
        app.router.add_get("/ws", self.websocket)
        app.router.add_static("/static", STATIC)
        app.cleanup_ctx.append(self._reaper)
        app.on_shutdown.append(self._end_all)
        return app

    # --- the page --------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        busy = self.busy_because(self._visitor(request))
        if busy is not None:
            return self.busy(busy)
        own = self.own_address(request)
        page = self._index.substitute(
            title=html.escape(self.title),
            static=html.escape(own.url + "/static"),
            websocket_url=html.escape(own.websocket_url),
            font_size=FONT_SIZE,
        )
        return web.Response(
            text=page,
            content_type="text/html",
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    def busy(self, reason: str) -> web.Response:
        page = self._busy.substitute(title=html.escape(self.title), reason=html.escape(reason))
        return web.Response(
            status=503,
            text=page,
            content_type="text/html",
            headers={"Retry-After": "60", "Cache-Control": "no-store"},
        )

    def own_address(self, request: web.Request) -> OwnAddress:
        """Where browsers reach us: the public URL, else our loopback address on the port this
        request came in on; never what the request's `Host` says."""
        if self.public_url is not None:
            return OwnAddress(self.public_url)
        port = request.transport.get_extra_info("sockname")[1] if request.transport else 0
        return OwnAddress(listening_url(self.host, port))

    @web.middleware
    async def _only_our_address(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Every request must name our own address as its `Host` (a page from a host name
        rebound to this machine does not)."""
        own = self.own_address(request)
        if not own.names_host(request.headers.get("Host")):
            raise web.HTTPMisdirectedRequest(
                text=f"This is slotbook at {own.url}; open that address instead."
            )
        return await handler(request)

    def _visitor(self, request: web.Request) -> str:
        return visitor_address(request, behind_proxy=self.public_url is not None)

    # --- sessions ------------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        own = self.own_address(request)
        origin = request.headers.get("Origin")  # browsers send it; a program need not
        if origin is not None and not own.is_origin(origin):
            raise web.HTTPForbidden(text=f"This page may only be used from {own.url}.")
        address = self._visitor(request)
        busy = self.busy_because(address)
        if busy is not None:
            return self.busy(busy)
        socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)

        async def ended(return_code: int | None) -> None:  # the app's process has ended
            if visit.ending is None:
                visit.ending = endings.SIGNED_OUT if return_code == 0 else endings.APP_FAILED
            await _close(visit)

        session = AppSession(
            self.server,
            write_bytes=socket.send_bytes,
            write_str=socket.send_str,
            ended=ended,
            now=self.clock(),
            zone=visitor_zone(request),
            label=own.url,
        )
        key = session.app_service_id
        visit = self.visits[key] = Visit(session, socket, address)  # counted before any await
        try:
            await socket.prepare(request)
            width = terminal_size.from_query(
                request.query.get("width"), terminal_size.MAX_WIDTH, 80
            )
            height = terminal_size.from_query(
                request.query.get("height"), terminal_size.MAX_HEIGHT, 24
            )
            await session.start(width, height)
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
                width = terminal_size.clamped(data.get("width"), terminal_size.MAX_WIDTH)
                height = terminal_size.clamped(data.get("height"), terminal_size.MAX_HEIGHT)
                if width is not None and height is not None:
                    await session.set_terminal_size(width, height)
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
            await _end(visit, endings.idle(self.idle_seconds))
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
            await _end(visit, endings.SHUT_DOWN)


ZONE_COOKIE = "slotbook_tz"
"""Set by the page to the browser's IANA time zone."""


def visitor_zone(request: web.Request) -> str | None:
    """The zone the visitor's browser is in, if it named the zone of a place (shared.zones)."""
    zone = unquote(request.cookies.get(ZONE_COOKIE, ""))  # the page encodes its "/"
    return zone if is_zone_name(zone) else None


async def _end(visit: Visit, ending: Ending | None = None) -> None:
    """Stop the app (for sure) and close its WebSocket, saying why (`ending`, unless the
    session's end already has a reason)."""
    if visit.ending is None:
        visit.ending = ending
    await visit.session.stop()
    await _close(visit)


async def _close(visit: Visit) -> None:
    """Close the visit's WebSocket, if it was ever opened, with the reason its session ended."""
    if visit.socket.prepared and not visit.socket.closed:
        ending = visit.ending or endings.APP_FAILED
        await visit.socket.close(code=ending.code, message=ending.reason.encode("utf-8"))
