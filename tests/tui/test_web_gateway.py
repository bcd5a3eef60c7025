"""slotbook-web's gateway in this process, over real HTTP, each visitor a real app process talking
to a real server: the count of sessions, idle ones ending, what the page loads, and what the app
process is (and is not) given."""

from __future__ import annotations

import asyncio
import re
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

SIGN_IN = "Sign in to slotbook"


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


async def visit(
    client: Client, gateway: Gateway, zone: str
) -> tuple[aiohttp.ClientWebSocketResponse, BrowserScreen, int]:
    """Open the page's WebSocket as the page would (with the cookie that names the browser's
    zone); once the app shows the sign-in screen, the socket, what it shows, and the app's
    process id."""
    socket = await client.ws_connect(
        "/ws?width=100&height=30", headers={"Cookie": f"slotbook_tz={quote(zone, safe='')}"}
    )
    screen = BrowserScreen(100, 30)
    await read_until(socket, screen, SIGN_IN)
    (opened,) = gateway.visits.values()
    pid = opened.session.pid
    assert pid is not None
    return socket, screen, pid


async def read_until(
    socket: aiohttp.ClientWebSocketResponse, screen: BrowserScreen, text: str
) -> None:
    """Feed the page's terminal until it shows `text` (at most 20 s)."""
    async with asyncio.timeout(20):
        while text not in screen.text:
            message = await socket.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                screen.feed(message.data)
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                raise AssertionError(f"the session ended before showing {text!r}:\n{screen.text}")


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
    gateway = Gateway(backend.url, max_sessions=1, idle_seconds=0, clock=clock)
    client = await serve(gateway)
    assert (await client.get("/")).status == 200
    socket, _, pid = await visit(client, gateway, "America/New_York")
    command = proc_file(pid, "cmdline").split(b"\0")
    assert b"--server" in command
    assert backend.url.encode() in command
    assert command[command.index(b"--tz") + 1] == b"America/New_York", "the browser's zone"
    assert not any(b"sbk_" in part for part in command)
    environment = environment_of(pid)
    assert "SLOTBOOK_TOKEN" not in environment, "the operator's token is not every visitor's"
    assert environment["SLOTBOOK_TZ"] == "Europe/Berlin", "the one setting passed on"
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
    assert not exists(home), "what the app remembered outlived it"
    assert gateway.visits == {}
    assert (await client.get("/")).status == 200


async def test_an_idle_session_ends_and_its_process_exits(
    backend: BackendThread,
    clock: Clock,
    serve: Serve,
) -> None:
    gateway = Gateway(backend.url, max_sessions=5, idle_seconds=600, clock=clock)
    client = await serve(gateway)
    socket, screen, pid = await visit(client, gateway, "Mars/Olympus_Mons")
    assert b"--tz" not in proc_file(pid, "cmdline"), "a zone nobody knows is not passed on"

    clock.now += 300
    for junk in ("not json", "[1, 2]", '{"a": 1}', '["resize", {"width": "x"}]', '["stdin", 5]'):
        await socket.send_str(junk)  # not what the page sends: ignored, and no key
    await socket.send_json(["stdin", "x"])  # a key: the ten minutes start again
    await read_until(socket, screen, "•")  # the token field shows a dot for it
    clock.now += 599
    assert await gateway.reap() == 0
    assert alive(pid)
    clock.now += 1
    assert await gateway.reap() == 1
    assert await gone(pid)
    async with asyncio.timeout(10):
        while (await socket.receive()).type not in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
        ):
            pass
    assert gateway.visits == {}


async def test_the_page_loads_nothing_from_another_host_and_other_sites_cannot_open_it(
    serve: Serve,
) -> None:
    gateway = Gateway("http://127.0.0.1:9", max_sessions=1, idle_seconds=0)
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

    behind_proxy = Gateway(
        "http://127.0.0.1:9",
        max_sessions=1,
        idle_seconds=0,
        public_url="https://book.example.org",
    )
    proxied = await serve(behind_proxy)
    page = await (await proxied.get("/")).text()
    assert 'data-session-websocket-url="wss://book.example.org/ws"' in page
    assert 'src="https://book.example.org/static/js/textual.js"' in page


async def test_a_browser_zone_of_no_place_is_not_passed_on(
    backend: BackendThread, clock: Clock, serve: Serve
) -> None:
    """'localtime' is a file of this machine's zone folder, not the zone of a place: the app is
    started in its own zone rather than refused at start."""
    gateway = Gateway(backend.url, max_sessions=5, idle_seconds=600, clock=clock)
    client = await serve(gateway)
    socket, _, pid = await visit(client, gateway, "localtime")
    assert b"--tz" not in proc_file(pid, "cmdline")
    await socket.close()
    assert await gone(pid)
