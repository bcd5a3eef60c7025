"""GET /events against a real server process: latency, resuming (and what cannot be resumed),
fan-out with privacy, a stalled reader, a burst bigger than the feed buffer, keep-alives, clients
hanging up, and shutdown.

Every test starts `python -m backend serve` on a fresh SQLite file and talks real HTTP to it. The
clock is the wall clock, so bookings are made a few days ahead of today; nothing here waits for
booking time to pass.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
from httpx_sse import EventSource, ServerSentEvent, aconnect_sse

from backend.gate.tokens import issue
from backend.rules.booking import Rules
from backend.store.base import Role
from backend.store.sqlite.store import SQLiteStore
from shared.timefmt import format_time
from shared.wire import Change, Resync
from tests.e2e.server_process import ServerProcess
from tests.helpers import assert_problem

Json = dict[str, Any]

DAY = 86_400
HOUR = 3_600
SLOT = 900
CHANGE_FIELDS = {f.encode_name for f in msgspec.structs.fields(Change)}
"""What a Change may carry on the wire (taken from the wire Struct itself)."""
REQUIRED_FIELDS = {f.encode_name for f in msgspec.structs.fields(Change) if f.required}


def first_day() -> int:
    """Midnight UTC two to three days from now: every slot on it is past the 24 h notice."""
    return (int(time.time()) // DAY + 3) * DAY


def at(moment: int) -> str:
    return format_time(moment)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- tokens and the server ----------------------------------------------------------------------

Person = tuple[str, Role, str | None]
"""(key, role, subject): who a token is for."""


async def make_tokens(db: Path, people: Iterable[Person]) -> dict[str, str]:
    """Store a token for each person straight in the database (as `token create` does)."""
    store = SQLiteStore(str(db), Rules(), read_threads=1)
    tokens: dict[str, str] = {}

    async def make(key: str, role: Role, subject: str | None) -> None:
        new, record = issue(role, subject, f"{role} {key}", time.time())
        await store.create_token(record, new.secret_hash)
        tokens[key] = new.token

    try:
        await asyncio.gather(*(make(key, role, subject) for key, role, subject in people))
    finally:
        await store.close()
    return tokens


async def purge_log(db: Path) -> None:
    """Trim the change log as the sweeper would eight days from now (it keeps only the newest)."""
    store = SQLiteStore(str(db), Rules(), read_threads=1)
    try:
        await store.purge(time.time() + 8 * DAY, 7 * DAY)
    finally:
        await store.close()


@contextmanager
def serving(db: Path, *flags: str) -> Iterator[ServerProcess]:
    with ServerProcess(db, "--rate", "0", *flags) as server:
        yield server


def server_pid(server: ServerProcess) -> int:
    assert server._process is not None
    return server._process.pid


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


# --- API calls ----------------------------------------------------------------------------------


async def submit(http: httpx.AsyncClient, token: str, start: int, end: int) -> list[Json]:
    response = await http.post(
        "/availability", json={"startTime": at(start), "endTime": at(end)}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    slots: list[Json] = response.json()["timeSlots"]
    return slots


async def reserve(http: httpx.AsyncClient, token: str, slot: Json) -> httpx.Response:
    return await http.post(
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
        headers=bearer(token),
    )


async def reserved(http: httpx.AsyncClient, token: str, slot: Json) -> None:
    response = await reserve(http, token, slot)
    assert response.status_code == 201, response.text


async def all_changes(http: httpx.AsyncClient, admin: str, since: int = 0) -> list[Json]:
    """Every change after `since`, page by page, as an admin sees them (with every clientId)."""
    found: list[Json] = []
    while True:
        response = await http.get(
            "/changes", params={"since": since, "limit": 1000}, headers=bearer(admin)
        )
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["changes"]:
            return found
        found.extend(page["changes"])
        since = page["lastSeq"]


async def newest_seq(http: httpx.AsyncClient, admin: str) -> int:
    response = await http.get("/changes", headers=bearer(admin))
    assert response.status_code == 200, response.text
    seq: int = response.json()["lastSeq"]
    return seq


def projected(change: Json, role: Role, subject: str | None) -> Json:
    """The change as this caller may see it: a clientId, and the clientName, appointmentId and
    note beside it, only to that client, to the slot's provider, and to admins."""
    shown = dict(change)
    client = shown.get("clientId")
    visible = (
        role == "admin"
        or (role == "provider" and subject == change["providerId"])
        or (role == "client" and client is not None and client == subject)
    )
    if not visible:
        for private in ("clientId", "clientName", "appointmentId", "note"):
            shown.pop(private, None)
    return shown


# --- reading a stream ---------------------------------------------------------------------------


def change_of(event: ServerSentEvent) -> Json:
    """The Change an event carries, checked against its `id:` and `event:` lines."""
    msgspec.json.decode(event.data, type=Change)  # the wire shape, or it raises
    data: Json = json.loads(event.data)
    assert REQUIRED_FIELDS <= set(data) <= CHANGE_FIELDS, data
    assert event.id == str(data["seq"]), (event.id, data)
    assert event.event == data["kind"], (event.event, data)
    return data


def seqs(changes: Iterable[Json]) -> list[int]:
    return [c["seq"] for c in changes]


class Stream:
    """One open /events stream, read one event at a time."""

    def __init__(self, source: EventSource) -> None:
        self.source = source
        self._events = source.aiter_sse()

    async def next(self, within: float = 10) -> ServerSentEvent | None:
        """The next event, or None when the server ended the stream."""
        async with asyncio.timeout(within):
            return await anext(self._events, None)

    async def changes_until(self, last: int, within: float = 10) -> list[Json]:
        """Changes up to and including seq `last` (fails on a resync or the stream's end)."""
        found: list[Json] = []
        async with asyncio.timeout(within):
            while not found or found[-1]["seq"] < last:
                event = await anext(self._events, None)
                assert event is not None, f"the stream ended after {seqs(found)}"
                assert event.event != "resync", f"told to resync after {seqs(found)}: {event.data}"
                found.append(change_of(event))
        return found


@asynccontextmanager
async def events(
    http: httpx.AsyncClient, token: str, *, since: int | None = None, last_id: int | None = None
) -> AsyncIterator[Stream]:
    """GET /events, checked to open with `retry:` before any change."""
    headers = bearer(token)
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    params = {} if since is None else {"since": since}
    async with aconnect_sse(http, "GET", "/events", headers=headers, params=params) as source:
        assert source.response.status_code == 200, await source.response.aread()
        assert source.response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(source)
        opening = await stream.next()
        assert opening is not None
        assert opening.retry == 2000, opening
        assert (opening.data, opening.id) == ("", ""), opening
        yield stream


# --- 1. latency ----------------------------------------------------------------------------------


async def test_a_reserve_reaches_another_subscriber_within_a_second(tmp_path: Path) -> None:
    db = tmp_path / "feed.db"
    tokens = await make_tokens(
        db,
        [
            ("admin", "admin", None),
            ("p1", "provider", "p1"),
            ("c1", "client", "c1"),
            ("c2", "client", "c2"),
        ],
    )
    day = first_day()
    with serving(db) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            slots = await submit(http, tokens["p1"], day + 9 * HOUR, day + 10 * HOUR)
            async with events(http, tokens["c1"]) as stream:  # from now: not the 4 `created`
                loop = asyncio.get_running_loop()
                latencies: list[float] = []
                received: list[Json] = []
                for who, slot in (("c2", slots[0]), ("c2", slots[1]), ("c1", slots[2])):
                    sent = loop.time()
                    answer = reserve(http, tokens[who], slot)
                    event_read = asyncio.ensure_future(stream.next(within=5))
                    assert (await answer).status_code == 201
                    event = await event_read
                    latencies.append(loop.time() - sent)
                    assert event is not None
                    assert event.event == "reserved"
                    assert event.id == str(change_of(event)["seq"])
                    received.append(change_of(event))
            admin_view = await all_changes(http, tokens["admin"])

    print("reserve -> event latencies:", ", ".join(f"{t * 1000:.0f} ms" for t in latencies))
    assert max(latencies) < 1.0, latencies
    assert [c["timeSlotId"] for c in received] == [s["timeSlotId"] for s in slots[:3]]
    assert received == [projected(c, "client", "c1") for c in admin_view[4:]]
    assert "clientId" not in received[0]  # c2's hold, seen by c1: no id
    assert received[2]["clientId"] == "c1"
    assert [c["status"] for c in received] == ["RESERVED"] * 3


# --- 2. resuming ---------------------------------------------------------------------------------


async def test_a_stream_resumes_after_last_event_id_without_repeats_or_gaps(
    tmp_path: Path,
) -> None:
    db = tmp_path / "feed.db"
    tokens = await make_tokens(
        db,
        [
            ("admin", "admin", None),
            ("p1", "provider", "p1"),
            ("c1", "client", "c1"),
            ("c2", "client", "c2"),
        ],
    )
    day = first_day()
    with serving(db) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            admin, p1, c1, c2 = tokens["admin"], tokens["p1"], tokens["c1"], tokens["c2"]
            slots = await submit(http, p1, day + 9 * HOUR, day + 11 * HOUR)  # seq 1-8
            async with events(http, admin, since=0) as stream:
                first = await stream.changes_until(5)
            last_id = first[-1]["seq"]

            # while nobody listens: reserve, confirm, cancel, remove, submit again
            await reserved(http, c1, slots[0])
            await reserved(http, c2, slots[1])
            confirm = await http.put(
                f"/availability/confirm/{slots[0]['timeSlotId']}",
                json={"timeSlot": slots[0]["timestamp"]},
                headers=bearer(c1),
            )
            assert confirm.status_code == 200, confirm.text
            cancel = await http.delete(
                f"/reservations/{slots[1]['timeSlotId']}", headers=bearer(c2)
            )
            assert cancel.status_code == 200, cancel.text
            removed = await http.request(
                "DELETE",
                "/availability",
                json={"startTime": at(day + 10 * HOUR), "endTime": at(day + 11 * HOUR)},
                headers=bearer(p1),
            )
            assert removed.status_code == 200, removed.text
            await submit(http, p1, day + 12 * HOUR, day + 12 * HOUR + 2 * SLOT)
            newest = await newest_seq(http, admin)
            log = await all_changes(http, admin)
            assert seqs(log) == list(range(1, newest + 1))
            assert first == log[:5]

            async with events(http, admin, last_id=last_id) as stream:
                missed = await stream.changes_until(newest)
                assert missed == log[last_id:]
                # and then live, straight on from there
                await reserved(http, c2, slots[2])
                live = await stream.changes_until(newest + 1)
            assert seqs(live) == [newest + 1]
            assert live[0]["kind"] == "reserved"
            assert live[0]["clientId"] == "c2"

            log = await all_changes(http, admin)
            newest += 1
            async with events(http, admin, since=last_id) as stream:
                assert await stream.changes_until(newest) == log[last_id:]
            async with events(http, c1, last_id=2) as stream:  # a client: its own ids only
                assert await stream.changes_until(newest) == [
                    projected(c, "client", "c1") for c in log[2:]
                ]
            async with events(http, admin, last_id=newest) as stream:  # at the head: fine
                assert stream.source.response.status_code == 200

            ahead = {**bearer(admin), "Last-Event-ID": str(newest + 1)}
            problem = assert_problem(await http.get("/events", headers=ahead), 410, "changes-gone")
            assert str(newest) in problem["detail"]
            assert_problem(
                await http.get("/events", params={"since": newest + 1}, headers=bearer(admin)),
                410,
                "changes-gone",
            )

            await purge_log(db)  # the log now keeps only its newest change
            assert seqs(await all_changes(http, admin, since=newest - 1)) == [newest]
            for headers, params in (
                ({"Last-Event-ID": str(last_id)}, {}),
                ({"Last-Event-ID": "0"}, {}),
                ({}, {"since": last_id}),
            ):
                gone = await http.get(
                    "/events", params=params, headers={**bearer(admin), **headers}
                )
                assert_problem(gone, 410, "changes-gone")


async def test_a_last_event_id_that_is_no_seq_is_a_bad_request(tmp_path: Path) -> None:
    """Whatever a client sends as Last-Event-ID, the answer is a 400 problem, never a 500."""
    db = tmp_path / "feed.db"
    tokens = await make_tokens(db, [("admin", "admin", None)])
    with serving(db) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            answers: dict[bytes, httpx.Response] = {}
            for value in (b"abc", b"-1", b"1.5", "\u00b2".encode(), b"1" * 5000):
                headers = [
                    (b"Authorization", f"Bearer {tokens['admin']}".encode()),
                    (b"Last-Event-ID", value),
                ]
                answers[value[:12]] = await http.get("/events", headers=headers)
    statuses = {value: response.status_code for value, response in answers.items()}
    assert statuses == dict.fromkeys(answers, 400)
    for response in answers.values():
        assert_problem(response, 400, "invalid-request")
    assert not [line for line in server.log if "Traceback" in line], "".join(server.log)


# --- 3. fan-out ----------------------------------------------------------------------------------

PROVIDERS = 5
SLOTS_EACH = 100
"""500 reserves fanned out to 100 streams, 50,000 events in all: enough to fill streams' socket
buffers under load (the 2000 this once made proved no more, at four times the cost)."""
CLIENTS = 250
HOLDS_EACH = PROVIDERS * SLOTS_EACH // CLIENTS


def parse_events(payload: str) -> tuple[list[ServerSentEvent], str]:
    """The complete event blocks in `payload` (comments left out), and the unfinished rest."""
    *blocks, rest = payload.split("\n\n")
    found: list[ServerSentEvent] = []
    for block in blocks:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        if fields:
            retry = fields.get("retry")
            found.append(
                ServerSentEvent(
                    event=fields.get("event"),
                    data=fields.get("data"),
                    id=fields.get("id"),
                    retry=None if retry is None else int(retry),
                )
            )
    return found, rest


def events_request(url: str, token: str, target: str, *extra: str) -> bytes:
    address = urlsplit(url)
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {address.netloc}",
        f"Authorization: Bearer {token}",
        "Accept: text/event-stream",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Subscriber:
    """A stream followed in the background over a plain connection (HTTP/1.1, chunked, read by
    hand: light enough for a hundred of them in one process), collecting what it is sent."""

    def __init__(self, role: Role, subject: str | None, token: str) -> None:
        self.role = role
        self.subject = subject
        self.token = token
        self.opening: list[ServerSentEvent] = []
        self.changes: list[Json] = []
        self.resyncs: list[ServerSentEvent] = []
        self.connected = asyncio.Event()
        self.moved = asyncio.Event()
        self.ended = False

    @property
    def last(self) -> int:
        return self.changes[-1]["seq"] if self.changes else 0

    async def follow(self, url: str, since: int) -> None:
        address = urlsplit(url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        try:
            writer.write(events_request(url, self.token, f"/events?since={since}"))
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 "), head
            assert b"transfer-encoding: chunked" in head.lower(), head
            self.connected.set()
            unread = b""
            while size := int((await reader.readline()).split(b";")[0], 16):
                unread += (await reader.readexactly(size + 2))[:-2]
                cut = unread.rfind(b"\n\n") + 2
                found, _ = parse_events(unread[:cut].decode())
                unread = unread[cut:]
                for event in found:
                    if event.retry is not None:
                        self.opening.append(event)
                    elif event.event == "resync":
                        self.resyncs.append(event)
                    else:
                        self.changes.append(change_of(event))
                self.moved.set()
            self.ended = True
        finally:
            self.moved.set()
            writer.close()


async def until_caught_up(subscribers: list[Subscriber], last: int, within: float) -> None:
    async with asyncio.timeout(within):
        for s in subscribers:
            while s.last < last and not s.ended:
                s.moved.clear()
                await s.moved.wait()


async def test_every_subscriber_gets_every_change_it_may_see_once_in_order(
    tmp_path: Path,
) -> None:
    db = tmp_path / "feed.db"
    providers = [f"p{i}" for i in range(PROVIDERS)]
    clients = [f"c{i}" for i in range(CLIENTS)]
    watchers: list[tuple[Role, str | None]] = [
        *(("client", f"c{i % 10}") for i in range(60)),
        *(("provider", [*providers, "p9"][i % 6]) for i in range(30)),
        *(("admin", None) for _ in range(10)),
    ]
    tokens = await make_tokens(
        db,
        [
            ("admin", "admin", None),
            *((p, "provider", p) for p in providers),
            *((c, "client", c) for c in clients),
            *((f"watcher{n}", role, subject) for n, (role, subject) in enumerate(watchers)),
        ],
    )
    day = first_day()
    limits = httpx.Limits(max_connections=150, max_keepalive_connections=150)
    with serving(db, "--synchronous", "NORMAL") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
            admin = tokens["admin"]
            windows = await asyncio.gather(
                *(submit(http, tokens[p], day, day + SLOTS_EACH * SLOT) for p in providers)
            )
            base = await newest_seq(http, admin)
            subscribers = [
                Subscriber(role, subject, tokens[f"watcher{n}"])
                for n, (role, subject) in enumerate(watchers)
            ]
            following = [asyncio.ensure_future(s.follow(server.url, base)) for s in subscribers]
            async with asyncio.timeout(20):
                await asyncio.gather(*(s.connected.wait() for s in subscribers))

            order = [windows[p][k] for k in range(SLOTS_EACH) for p in range(PROVIDERS)]
            gate = asyncio.Semaphore(64)

            async def hold(n: int, slot: Json) -> None:
                async with gate:
                    await reserved(http, tokens[clients[n % CLIENTS]], slot)

            began = time.monotonic()
            await asyncio.gather(*(hold(n, slot) for n, slot in enumerate(order)))
            reserving = time.monotonic() - began
            final = await newest_seq(http, admin)
            await until_caught_up(subscribers, final, within=30)
            delivered = time.monotonic() - began
            for task in following:
                task.cancel()
            outcomes = await asyncio.gather(*following, return_exceptions=True)
            log = await all_changes(http, admin, since=base)

    held = len(order)
    print(f"fan-out: {held} reserves in {reserving:.1f}s, all 100 streams done in {delivered:.1f}s")
    failures = [o for o in outcomes if not isinstance(o, asyncio.CancelledError | None)]
    assert failures == []
    assert final == base + len(order)
    assert seqs(log) == list(range(base + 1, final + 1))
    assert {c["kind"] for c in log} == {"reserved"}
    for s in subscribers:
        who = f"{s.role} {s.subject}"
        assert [e.retry for e in s.opening] == [2000], who
        assert s.resyncs == [], f"{who} was told to resync"
        assert not s.ended, f"{who}'s stream ended"
        assert seqs(s.changes) == seqs(log), f"{who} missed, repeated or reordered changes"
        assert s.changes == [projected(c, s.role, s.subject) for c in log], who
        ids = [c["clientId"] for c in s.changes if "clientId" in c]
        if s.role == "client":
            assert set(ids) == {s.subject}, f"{who} saw other clients' ids"
            assert len(ids) == HOLDS_EACH
        elif s.role == "provider":
            mine = [c for c in log if c["providerId"] == s.subject]
            assert len(ids) == len(mine), who
        else:
            assert len(ids) == len(log)


# --- 4. a reader that stalls ---------------------------------------------------------------------


def open_stalled(url: str, token: str) -> tuple[socket.socket, bytes, bytes]:
    """GET /events on a socket with a tiny receive buffer; read only the response headers.
    Returns the socket, the head, and whatever of the body came with it."""
    address = urlsplit(url)
    assert address.hostname is not None
    assert address.port is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((address.hostname, address.port))
    sock.sendall(events_request(url, token, "/events", "Connection: close"))
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(512)
        assert chunk, f"the server closed the connection after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return sock, head, body


def read_to_end(sock: socket.socket, quiet: float) -> tuple[bytes, bool]:
    """Everything left on the socket, and whether the server closed it (False: it went quiet
    for `quiet` seconds first)."""
    sock.settimeout(quiet)
    parts: list[bytes] = []
    try:
        while chunk := sock.recv(65536):
            parts.append(chunk)
    except TimeoutError:
        return b"".join(parts), False
    return b"".join(parts), True


def dechunk(body: bytes) -> tuple[bytes, bool]:
    """A chunked body's payload, and whether its closing zero-length chunk arrived."""
    payload = bytearray()
    rest = body
    while True:
        line, found, rest = rest.partition(b"\r\n")
        if not found:
            return bytes(payload), False
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return bytes(payload), True
        payload += rest[:size]
        rest = rest[size + 2 :]


WINDOW_SLOTS = 20
EVENT_BYTES = 280
"""About what one `created` event for a 128-character providerId takes on the wire."""


def stall_windows() -> int:
    """Enough five-hour windows (20 changes each) to outgrow the kernel's socket buffers.

    A few thousand changes would not do: on loopback the sender's buffer grows up to tcp_wmem's
    maximum (4 MiB here: ~15,000 events), all swallowed without the server noticing a stall.
    """
    try:
        most = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        most = 4 * 2**20
    return max(800, math.ceil((most * 1.25 + 2**20) / (WINDOW_SLOTS * EVENT_BYTES)))


STALL_SECONDS = 0.5
"""How long the server lets a client leave its stream unread before cutting it off."""


async def test_a_stalled_reader_is_cut_loose_with_a_resync_and_memory_stays_bounded(
    tmp_path: Path,
) -> None:
    db = tmp_path / "feed.db"
    provider = "p-" + "x" * 126  # the longest id: every event is bigger
    tokens = await make_tokens(
        db, [("admin", "admin", None), ("p", "provider", provider), ("c1", "client", "c1")]
    )
    day = first_day()
    windows = stall_windows()
    with serving(db, "--synchronous", "NORMAL", "--stall-seconds", str(STALL_SECONDS)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            admin = tokens["admin"]
            base = await newest_seq(http, admin)
            stalled, head, early = await asyncio.to_thread(open_stalled, server.url, tokens["c1"])
            try:
                assert head.startswith(b"HTTP/1.1 200 "), head
                assert b"transfer-encoding: chunked" in head.lower(), head
                normal = Subscriber("admin", None, admin)
                following = asyncio.ensure_future(normal.follow(server.url, base))
                async with asyncio.timeout(10):
                    await normal.connected.wait()
                before = rss_bytes(server_pid(server))

                began = time.monotonic()
                for n in range(windows):
                    start = day + n * WINDOW_SLOTS * SLOT
                    await submit(http, tokens["p"], start, start + WINDOW_SLOTS * SLOT)
                final = await newest_seq(http, admin)
                await until_caught_up([normal], final, within=20)
                generating = time.monotonic() - began
                after = rss_bytes(server_pid(server))
                health = await http.get("/healthz")
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
                log = await all_changes(http, admin, since=base)
                # The stalled stream's last write has now waited a while; give the server its
                # stall time (a server timeout, not booking time) to notice and cut it off.
                await asyncio.sleep(STALL_SECONDS * 3)

                rest, closed = await asyncio.to_thread(read_to_end, stalled, 5)
            finally:
                stalled.close()

    print(
        f"stalled reader: {final - base} changes in {generating:.1f}s,"
        f" server RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB"
    )
    assert final - base == windows * WINDOW_SLOTS
    assert normal.resyncs == [], "a reader that kept up was told to resync"
    assert normal.changes == log
    assert after - before < 60 * 2**20
    assert health.status_code == 200, health.text

    payload, complete = dechunk(early + rest)
    received, unfinished = parse_events(payload.decode())
    assert unfinished == ""
    print(f"stalled reader: read {len(payload) / 2**20:.1f} MiB, {len(received)} events")
    assert [e.retry for e in received[:1]] == [2000]
    *sent, last = received[1:]
    assert last.event == "resync", (
        f"the stalled stream did not end with a resync; it ends: {payload[-300:]!r}"
    )
    resync = msgspec.json.decode(last.data, type=Resync)
    assert set(json.loads(last.data)) == {"reason", "lastSeq"}
    assert resync.reason
    delivered = seqs(change_of(e) for e in sent)
    assert delivered == list(range(base + 1, base + 1 + len(delivered)))  # a prefix, no gaps
    assert resync.last_seq == (delivered[-1] if delivered else base)
    assert len(delivered) < final - base
    assert complete, f"the stream did not end: ...{payload[-300:]!r}"
    assert closed, "the server kept the connection open after the stream ended"


async def test_a_burst_bigger_than_the_feed_buffer_reaches_a_reader_that_keeps_up(
    tmp_path: Path,
) -> None:
    """--feed-buffer is how many recent changes the server keeps in memory for streams; a reader
    further behind reads on from the log. So a reader that keeps up gets every change even when
    one commit makes more of them than the buffer holds (here: 60 slots against 50)."""
    db = tmp_path / "feed.db"
    tokens = await make_tokens(db, [("admin", "admin", None), ("p1", "provider", "p1")])
    day = first_day()
    with serving(db, "--feed-buffer", "50") as server:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
            events(http, tokens["admin"]) as stream,
        ):
            slots = await submit(http, tokens["p1"], day + 6 * HOUR, day + 21 * HOUR)
            assert len(slots) == 60
            got = await stream.changes_until(60)
    assert seqs(got) == list(range(1, 61))
    assert [c["timeSlotId"] for c in got] == [s["timeSlotId"] for s in slots]


# --- 5. keep-alive -------------------------------------------------------------------------------


async def test_a_quiet_stream_gets_keep_alive_comments(tmp_path: Path) -> None:
    db = tmp_path / "feed.db"
    tokens = await make_tokens(db, [("c1", "client", "c1")])
    with serving(db, "--heartbeat-seconds", "1") as server:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
            http.stream("GET", "/events", headers=bearer(tokens["c1"])) as response,
        ):
            assert response.status_code == 200
            loop = asyncio.get_running_loop()
            opened = loop.time()
            lines = response.aiter_lines()
            seen: list[tuple[float, str]] = []
            async with asyncio.timeout(5):
                while sum(line == ": keep-alive" for _, line in seen) < 2:
                    seen.append((loop.time() - opened, await anext(lines)))

    assert seen[0][1] == "retry: 2000"
    assert {line for _, line in seen} == {"retry: 2000", "", ": keep-alive"}
    pings = [moment for moment, line in seen if line == ": keep-alive"]
    assert pings[0] < 2.0, seen
    assert 0.5 < pings[1] - pings[0] < 2.0, seen


# --- 6. shutdown ---------------------------------------------------------------------------------


async def test_sigterm_ends_open_streams_cleanly_and_the_server_exits_promptly(
    tmp_path: Path,
) -> None:
    db = tmp_path / "feed.db"
    tokens = await make_tokens(
        db, [("admin", "admin", None), ("p1", "provider", "p1"), ("c1", "client", "c1")]
    )
    day = first_day()
    server = ServerProcess(db, "--rate", "0").start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            slots = await submit(http, tokens["p1"], day + 9 * HOUR, day + 10 * HOUR)
            async with events(http, tokens["admin"]) as stream:
                await reserved(http, tokens["c1"], slots[0])
                live = await stream.changes_until(len(slots) + 1)

                async def rest_of_stream() -> list[ServerSentEvent]:
                    rest: list[ServerSentEvent] = []
                    while (event := await stream.next(within=10)) is not None:
                        rest.append(event)
                    return rest

                ending = asyncio.ensure_future(rest_of_stream())
                began = time.monotonic()
                code = await asyncio.to_thread(server.stop)
                stopping = time.monotonic() - began
                rest = await asyncio.wait_for(ending, 5)  # EOF, not an error
    finally:
        server.stop()

    print(f"shutdown with an open stream took {stopping:.2f}s")
    assert seqs(live) == [len(slots) + 1]
    assert rest == []
    assert code == 0, "".join(server.log)
    assert stopping < 2.5, f"took {stopping:.1f}s to stop"
    assert "Traceback" not in "".join(server.log), "".join(server.log)


async def test_a_client_leaving_its_stream_is_not_an_error(tmp_path: Path) -> None:
    """Hanging up is how an SSE client leaves: the server should drop the stream quietly, not log
    an unhandled error with a traceback for it."""
    db = tmp_path / "feed.db"
    tokens = await make_tokens(db, [("admin", "admin", None), ("p1", "provider", "p1")])
    day = first_day()
    server = ServerProcess(db, "--rate", "0").start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            async with events(http, tokens["admin"]):
                pass  # opened, then hung up
            async with events(http, tokens["admin"]) as stream:
                slots = await submit(http, tokens["p1"], day + 9 * HOUR, day + 10 * HOUR)
                await stream.changes_until(len(slots))  # so the server wrote to both by now
            code = await asyncio.to_thread(server.stop)
    finally:
        server.stop()
    assert code == 0
    log = "".join(server.log)
    assert "ERROR" not in log, log
    assert "Traceback" not in log, log
