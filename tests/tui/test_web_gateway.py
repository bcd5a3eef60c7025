"""slotbook-web's gateway in this process, over real HTTP, each visitor a real app process talking
to a real server: the count of sessions (in all and from one address), idle ones ending and why a
session ended, the sizes a page may ask for, what the page loads, which addresses and pages are
answered, and what the app process is (and is not) given and shows."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.tui.browser_screen import BrowserScreen
from tests.tui.harness import BackendThread
from tui.web.gateway import Gateway
from tui.web.terminal_size import MAX_HEIGHT, MAX_WIDTH

SIGN_IN = "Sign in to slotbook"
NO_SERVER = "http://127.0.0.1:9"
"""No server: for gateways whose pages alone are asked for."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


Client = TestClient[web.Request, web.Application]
Serve = Callable[[Gateway], Awaitable[Client]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve gateways on free ports, over real HTTP; closed (their sessions ended) afterwards."""
    started: list[Client] = []

    async def start(gateway: Gateway) -> Client:
        client = TestClient(TestServer(gateway.make_app()))
        await client.start_server()
        started.append(client)
        return client

    yield start
    for client in started:
        await client.close()


def pages_only(public_url: str | None = None) -> Gateway:
    """A gateway whose sessions would have no server: for what is refused before one starts."""
    return Gateway(
        NO_SERVER,
        max_sessions=1,
        max_sessions_per_address=1,
        idle_seconds=0,
        public_url=public_url,
    )


def own_url(client: Client) -> str:
    """Where browsers reach a gateway served without a public URL: its loopback address."""
    return f"http://127.0.0.1:{client.port}"


async def visit(
    client: Client, gateway: Gateway, zone: str, **headers: str
) -> tuple[aiohttp.ClientWebSocketResponse, BrowserScreen, int]:
    """Open the page's WebSocket as the page would (from the page's own address, with the cookie
    that names the browser's zone; `headers` add to or replace those); once the app shows the
    sign-in screen, the socket, what it shows, and the app's process id."""
    sent = {"Origin": own_url(client), "Cookie": f"slotbook_tz={quote(zone, safe='')}"}
    socket = await client.ws_connect("/ws?width=100&height=30", headers={**sent, **headers})
    screen = BrowserScreen(100, 30)
    await read_until(socket, screen, SIGN_IN)
    (opened,) = gateway.visits.values()
    pid = opened.session.pid
    assert pid is not None
    return socket, screen, pid


async def read_until(
    socket: aiohttp.ClientWebSocketResponse, screen: BrowserScreen, text: str, below: int = 0
) -> int:
    """Feed the page's terminal until it shows `text` (at most 20 s), on a line after the first
    `below`; how many bytes that took."""
    received = 0
    async with asyncio.timeout(20):
        while not any(text in line for line in screen.screen.display[below:]):
            message = await socket.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                screen.feed(message.data)
                received += len(message.data)
            elif message.type == aiohttp.WSMsgType.ERROR:
                raise AssertionError(f"the WebSocket failed before showing {text!r}: {message}")
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                raise AssertionError(f"the session ended before showing {text!r}:\n{screen.text}")
    return received


async def closing(socket: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
    """Read on until the gateway closes the WebSocket (at most 10 s): its close code and reason."""
    async with asyncio.timeout(10):
        while True:
            message = await socket.receive()
            if message.type == aiohttp.WSMsgType.CLOSE:
                return message.data, str(message.extra)
            assert message.type != aiohttp.WSMsgType.CLOSED, "closed without a close frame"


def proc_file(pid: int, name: str) -> bytes:
    return Path(f"/proc/{pid}/{name}").read_bytes()


def exists(path: str) -> bool:
    return Path(path).exists()


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


async def gone(pid: int) -> bool:
    """Whether the process has ended (and been reaped), within 10 s."""
    for _ in range(200):
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def removed(path: str) -> bool:
    """Whether the folder is gone within 10 s (the session removes it once its app has ended and
    its output has been read to the end, a moment after the process is reaped)."""
    for _ in range(200):
        if not exists(path):
            return True
        await asyncio.sleep(0.05)
    return False


def environment_of(pid: int) -> dict[str, str]:
    raw = proc_file(pid, "environ").split(b"\0")
    pairs = (item.decode().split("=", 1) for item in raw if b"=" in item)
    return dict(pairs)


async def test_past_max_sessions_the_next_visitor_is_told_busy_until_a_page_closes(
    backend: BackendThread,
    clock: Clock,
    serve: Serve,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLOTBOOK_TOKEN", "sbk_the_operators_own")
    monkeypatch.setenv("SLOTBOOK_TZ", "Europe/Berlin")
    gateway = Gateway(
        backend.url, max_sessions=1, max_sessions_per_address=3, idle_seconds=0, clock=clock
    )
    client = await serve(gateway)
    assert (await client.get("/")).status == 200
    socket, screen, pid = await visit(client, gateway, "America/New_York")
    assert f"Server: {own_url(client)}" in screen.text, "where the visitor is, not our server"
    assert backend.url not in screen.text
    command = proc_file(pid, "cmdline").split(b"\0")
    assert b"--server" in command
    assert backend.url.encode() in command
    assert b"--tz" not in command, "a zone nobody named would beat a provider's usual week's"
    assert not any(b"sbk_" in part for part in command)
    environment = environment_of(pid)
    assert "SLOTBOOK_TOKEN" not in environment, "the operator's token is not every visitor's"
    assert "SLOTBOOK_TZ" not in environment, "nor the operator's zone, as one the visitor named"
    assert environment["TZ"] == "America/New_York", "the browser's zone, as the visitor's machine's"
    home = environment["SLOTBOOK_DATA_DIR"]
    assert exists(home)

    busy = await client.get("/")
    assert busy.status == 503
    assert busy.headers["Retry-After"] == "60"
    assert "Every place is taken right now (at most 1 at once)" in await busy.text()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws")
    assert refused.value.status == 503
    assert len(gateway.visits) == 1

    await socket.close()
    assert await gone(pid), "the app outlived its page"
    assert await removed(home), "what the app remembered outlived it"
    assert gateway.visits == {}
    assert (await client.get("/")).status == 200


async def test_a_page_asks_for_no_more_than_a_screen_and_an_idle_session_ends_saying_so(
    backend: BackendThread,
    clock: Clock,
    serve: Serve,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLOTBOOK_TZ", raising=False)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    gateway = Gateway(
        backend.url, max_sessions=5, max_sessions_per_address=3, idle_seconds=600, clock=clock
    )
    client = await serve(gateway)
    socket, screen, pid = await visit(client, gateway, "Mars/Olympus_Mons")
    assert environment_of(pid)["TZ"] == "Asia/Tokyo", "a zone nobody knows is not passed on"

    clock.now += 300
    for junk in (
        "not json",
        "[1, 2]",
        '{"a": 1}',
        '["resize", {"width": "x"}]',
        '["resize", {"width": true, "height": 40}]',
        '["resize", {"width": 120.5, "height": 40}]',
        '["stdin", 5]',
    ):
        await socket.send_str(junk)  # not what the page sends: ignored, and no key
    await socket.send_json(["stdin", "x"])  # a key: the ten minutes start again
    await read_until(socket, screen, "•")  # the token field shows a dot for it
    # No sign-in is needed to ask for a size, and the app draws every cell of what it is given:
    # it is given at most 500 by 200, and draws its screen (centred) there.
    await socket.send_json(["resize", {"width": 8000, "height": 8000}])
    screen.screen.resize(MAX_HEIGHT, MAX_WIDTH)
    drawn = await read_until(socket, screen, SIGN_IN, below=MAX_HEIGHT // 3)
    assert drawn < 2_000_000, f"{drawn} bytes to draw a screen of at most 500 by 200"
    assert "•" in screen.text
    clock.now += 599
    assert await gateway.reap() == 0
    assert alive(pid)
    clock.now += 1
    assert await gateway.reap() == 1
    assert await gone(pid)
    assert await closing(socket) == (4001, "It was idle: no key or click for 10 minutes.")
    assert gateway.visits == {}


async def test_the_page_loads_nothing_from_another_host_and_other_sites_cannot_open_it(
    serve: Serve,
) -> None:
    gateway = pages_only()
    client = await serve(gateway)
    page = await (await client.get("/")).text()
    base = f"http://{client.host}:{client.port}"
    addresses = re.findall(r'(?:src|href)="([^"]+)"', page)
    addresses += re.findall(r'url\("([^"]+)"\)', page)
    addresses += re.findall(r'data-session-websocket-url="([^"]+)"', page)
    assert len(addresses) >= 6
    for address in addresses:
        if address.startswith("data:"):
            continue
        assert address.startswith((base + "/", f"ws://{client.host}:{client.port}/")), address
        if address.startswith(base):
            assert (await client.get(address[len(base) :])).status == 200, address
    assert "googleapis" not in page
    assert "@font-face" in page

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", origin="http://elsewhere.example")
    assert refused.value.status == 403
    assert (await client.get("/ws")).status == 400, "not a WebSocket: the client's mistake"
    assert gateway.visits == {}

    behind_proxy = pages_only("https://book.example.org")
    proxied = await serve(behind_proxy)
    page = await (await proxied.get("/", headers={"Host": "book.example.org"})).text()
    assert 'data-session-websocket-url="wss://book.example.org/ws"' in page
    assert 'src="https://book.example.org/static/js/textual.js"' in page


async def test_only_requests_for_our_own_address_from_our_own_pages_are_answered(
    serve: Serve,
) -> None:
    """A page of another site that rebinds its host name to this machine sends that name as the
    Host; one that opens a WebSocket here sends its own origin. Neither gets anything."""
    gateway = pages_only()
    client = await serve(gateway)
    rebound = f"evil.example:{client.port}"
    for path in ("/", "/static/js/textual.js"):
        answer = await client.get(path, headers={"Host": rebound})
        assert answer.status == 421, path
        assert "evil" not in await answer.text()
        assert own_url(client) in await answer.text(), "says where slotbook is"
    for host in (f"localhost:{client.port}", "127.0.0.1", "127.0.0.1:1", "a/b?c@127.0.0.1"):
        assert (await client.get("/", headers={"Host": host})).status == 421, host
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers={"Host": rebound, "Origin": f"http://{rebound}"})
    assert refused.value.status == 421
    for origin in (
        f"https://127.0.0.1:{client.port}",  # another scheme
        f"http://localhost:{client.port}",
        "http://127.0.0.1:1",
        "null",
    ):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", origin=origin)
        assert refused.value.status == 403, origin
    assert gateway.visits == {}

    behind_proxy = pages_only("https://book.example.org")
    proxied = await serve(behind_proxy)
    for host in ("book.example.org", "BOOK.example.org:443"):
        assert (await proxied.get("/", headers={"Host": host})).status == 200, host
    for host in ("book.example.org:80", "evil.example", f"127.0.0.1:{proxied.port}"):
        assert (await proxied.get("/", headers={"Host": host})).status == 421, host
    for origin in ("http://book.example.org", "https://book.example.org.evil.example"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await proxied.ws_connect("/ws", headers={"Host": "book.example.org", "Origin": origin})
        assert refused.value.status == 403, origin
    assert behind_proxy.visits == {}

    with pytest.raises(ValueError, match="needs a public URL"):
        Gateway(NO_SERVER, max_sessions=1, max_sessions_per_address=1, idle_seconds=0, host="::")


async def test_one_address_gets_at_most_its_share_of_the_sessions(
    backend: BackendThread, serve: Serve
) -> None:
    """Without a proxy in front (no public URL) the address is the connection's: what a client
    writes in X-Forwarded-For counts for nothing."""
    gateway = Gateway(backend.url, max_sessions=5, max_sessions_per_address=1, idle_seconds=0)
    client = await serve(gateway)
    socket, _, pid = await visit(client, gateway, "UTC", **{"X-Forwarded-For": "198.51.100.7"})

    disguised = {"X-Forwarded-For": "198.51.100.8"}
    busy = await client.get("/", headers=disguised)
    assert busy.status == 503
    assert busy.headers["Retry-After"] == "60"
    assert "too many sessions from your address (at most 1 at once)" in await busy.text()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers=disguised)
    assert refused.value.status == 503
    assert len(gateway.visits) == 1

    elsewhere = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
    async with elsewhere:
        assert (await elsewhere.get(f"{own_url(client)}/")).status == 200, "another address"

    os.kill(pid, signal.SIGKILL)  # the app dies: the page is told, and the share comes back
    code, reason = await closing(socket)
    assert (code, reason.split(".")[0]) == (4002, "The app stopped with an error")
    assert gateway.visits == {}
    assert (await client.get("/")).status == 200


async def test_behind_a_proxy_the_visitor_is_who_the_proxy_says_and_sees_the_public_address(
    backend: BackendThread, serve: Serve
) -> None:
    public = "https://book.example.org"
    gateway = Gateway(
        backend.url,
        max_sessions=5,
        max_sessions_per_address=1,
        idle_seconds=0,
        public_url=public,
    )
    client = await serve(gateway)
    proxied = {"Host": "book.example.org", "Origin": public}
    socket, screen, _ = await visit(
        client, gateway, "UTC", **proxied, **{"X-Forwarded-For": "10.9.9.9, 203.0.113.5"}
    )
    assert f"Server: {public}" in screen.text
    assert backend.url not in screen.text

    same = await client.get("/", headers={**proxied, "X-Forwarded-For": "203.0.113.5"})
    assert same.status == 503, "the proxy's own entry, the last one, is the visitor"
    assert "too many sessions from your address" in await same.text()
    other = await client.get("/", headers={**proxied, "X-Forwarded-For": "203.0.113.6"})
    assert other.status == 200

    told = asyncio.create_task(closing(socket))  # slotbook-web stops: its visitors are told
    await client.server.close()
    assert await told == (1001, "slotbook stopped, for a restart perhaps: start again in a minute.")


async def test_a_browser_zone_of_no_place_is_not_passed_on(
    backend: BackendThread, clock: Clock, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'localtime' is a file of this machine's zone folder, not the zone of a place: the app is
    started in the operator's SLOTBOOK_TZ, as its machine's zone, rather than refused at start."""
    monkeypatch.setenv("SLOTBOOK_TZ", "Europe/Berlin")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    gateway = Gateway(
        backend.url, max_sessions=5, max_sessions_per_address=5, idle_seconds=600, clock=clock
    )
    client = await serve(gateway)
    socket, _, pid = await visit(client, gateway, "localtime")
    assert b"--tz" not in proc_file(pid, "cmdline")
    environment = environment_of(pid)
    assert environment["TZ"] == "Europe/Berlin"
    assert "SLOTBOOK_TZ" not in environment
    await socket.close()
    assert await gone(pid)
