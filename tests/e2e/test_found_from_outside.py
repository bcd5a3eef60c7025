"""What trying the server from outside found (as an attacker and as a careless client would), each
checked over real HTTP against a real `python -m backend serve` process:

1. a revoked token's open /events streams and /changes long-polls end, and hear nothing more;
2. an error document stays a few KB, whatever the request;
3. a time offset must be a real one (+05:60 is refused, not read as +06:00);
4. every id the server accepts can be used in a path, and names carry nothing invisible;
5. an Idempotency-Key retry is compared by what the request means, not its bytes;
6. a request the HTTP parser refuses is one INFO line in the log, not an ERROR with a traceback.

The clock is the wall clock, so slots are a few days ahead of today.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from httpx_sse import aconnect_sse

from shared.timefmt import format_time
from tests.e2e.server_process import ServerProcess
from tests.e2e.test_two_processes import two_servers
from tests.helpers import assert_problem, dump_database
from tests.postgres_server import PostgresForTests

Json = dict[str, Any]
DAY = 86_400
HOUR = 3_600


def first_day() -> int:
    """Midnight UTC three days from now: every slot on it is past the 24-hour notice."""
    return (int(time.time()) // DAY + 3) * DAY


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def command(db: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    """`slotbook-server token ...`, run as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "backend", "token", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass
class Server:
    process: ServerProcess
    db: Path
    admin: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server process for the module, over a SQLite file, with an admin token made by the
    command line."""
    db = tmp_path_factory.mktemp("outside") / "slotbook.db"
    made = command(db, "create", "--role", "admin", "--name", "Root")
    assert made.returncode == 0, made.stderr
    with ServerProcess(db, "--rate", "0") as process:
        yield Server(process, db, made.stdout.strip().splitlines()[-1])


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.process.url, timeout=30) as client:
        yield client


async def new_token(
    http: httpx.AsyncClient, admin: str, role: str, subject: str | None, name: str = "Someone"
) -> tuple[str, str]:
    """(token, token id) of a new token, made over HTTP by the admin."""
    body: Json = {"role": role, "name": name}
    if subject is not None:
        body["subject"] = subject
    answer = await http.post("/tokens", json=body, headers=bearer(admin))
    assert answer.status_code == 201, answer.text
    made = answer.json()
    return made["token"], made["tokenId"]


async def open_window(http: httpx.AsyncClient, provider: str, hours: tuple[int, int]) -> list[Json]:
    day = first_day()
    answer = await http.post(
        "/availability",
        json={
            "startTime": format_time(day + hours[0] * HOUR),
            "endTime": format_time(day + hours[1] * HOUR),
        },
        headers=bearer(provider),
    )
    assert answer.status_code == 201, answer.text
    slots: list[Json] = answer.json()["timeSlots"]
    return slots


async def reserve(http: httpx.AsyncClient, client: str, slot: Json) -> Json:
    answer = await http.post(
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
        headers=bearer(client),
    )
    assert answer.status_code == 201, answer.text
    reservation: Json = answer.json()["reservation"]
    return reservation


async def newest_seq(http: httpx.AsyncClient, admin: str) -> int:
    answer = await http.get("/changes", headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    seq: int = answer.json()["lastSeq"]
    return seq


# --- 1. a revoked token's open streams end ------------------------------------------------------


@dataclass
class Heard:
    """What one /events stream received, and whether (and when) the server ended it."""

    seqs: list[int]
    ended_at: float | None = None


async def until(condition: Any, within: float = 5) -> float:
    """Poll until `condition()` holds (failing after `within` seconds); the moment it held."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, "waited in vain"
        await asyncio.sleep(0.02)
    return time.monotonic()


@asynccontextmanager
async def listening(http: httpx.AsyncClient, token: str, since: int) -> AsyncIterator[Heard]:
    """An /events stream read in the background from `since`; open once this yields."""
    heard = Heard([])
    opened = asyncio.Event()

    async def read() -> None:
        async with aconnect_sse(
            http, "GET", "/events", params={"since": since}, headers=bearer(token)
        ) as source:
            assert source.response.status_code == 200
            async for event in source.aiter_sse():
                if event.retry is not None:
                    opened.set()
                if event.id:
                    heard.seqs.append(int(event.id))
        heard.ended_at = time.monotonic()

    reader = asyncio.create_task(read())
    try:
        async with asyncio.timeout(10):
            await asyncio.wait(
                [reader, asyncio.ensure_future(opened.wait())], return_when="FIRST_COMPLETED"
            )
        assert opened.is_set(), "the stream did not open"
        yield heard
        async with asyncio.timeout(10):
            await reader
    finally:
        reader.cancel()


@dataclass
class Scene:
    """A provider (its token and token id) with an hour of open slots, and a client's token."""

    provider: str
    provider_id: str
    client: str
    slots: list[Json]
    since: int
    """The newest seq once the slots are open."""


async def scene(server: Server, http: httpx.AsyncClient, name: str, hour: int) -> Scene:
    provider, provider_id = await new_token(http, server.admin, "provider", f"{name}-p")
    client, _ = await new_token(http, server.admin, "client", f"{name}-c")
    slots = await open_window(http, provider, (hour, hour + 1))
    return Scene(provider, provider_id, client, slots, await newest_seq(http, server.admin))


async def test_a_revoke_through_the_api_ends_the_tokens_open_stream_at_once(
    server: Server, http: httpx.AsyncClient
) -> None:
    at = await scene(server, http, "rev1", 9)

    async with listening(http, at.provider, at.since - len(at.slots)) as heard:
        await until(lambda: len(heard.seqs) == len(at.slots))  # the stream works
        revoked = await http.delete(f"/tokens/{at.provider_id}", headers=bearer(server.admin))
        assert revoked.status_code == 200, revoked.text
        done = time.monotonic()
        # A change that the provider's stream would have carried, the client's id and all:
        held = await reserve(http, at.client, at.slots[0])

    assert heard.ended_at is not None
    assert heard.ended_at - done < 1.0, "the stream outlived the revoke by a second or more"
    newest = await newest_seq(http, server.admin)
    assert newest not in heard.seqs, "the stream carried a change made after the revoke"
    assert held["clientId"] == "rev1-c"

    again = await http.get("/events", headers=bearer(at.provider))
    assert_problem(again, 401, "unauthorized")


async def test_a_long_poll_that_began_before_a_revoke_answers_401_and_no_changes(
    server: Server, http: httpx.AsyncClient
) -> None:
    at = await scene(server, http, "rev2", 11)

    waiting = asyncio.create_task(
        http.get("/changes", params={"since": at.since, "wait": 25}, headers=bearer(at.provider))
    )
    await asyncio.sleep(0.3)  # let it reach the server and start waiting
    assert not waiting.done()
    revoked = await http.delete(f"/tokens/{at.provider_id}", headers=bearer(server.admin))
    assert revoked.status_code == 200, revoked.text
    started = time.monotonic()
    await reserve(http, at.client, at.slots[0])
    answer = await asyncio.wait_for(waiting, 5)

    assert time.monotonic() - started < 1.0
    problem = assert_problem(answer, 401, "unauthorized")
    assert "revoked" in problem["detail"]
    assert "changes" not in answer.json()


async def test_a_revoke_by_the_command_ends_the_stream_within_the_token_cache_lifetime(
    server: Server, http: httpx.AsyncClient
) -> None:
    admin2, admin2_id = await new_token(http, server.admin, "admin", None, "Second admin")
    at = await scene(server, http, "rev3", 13)
    client, slots, since = at.client, at.slots, at.since

    async with listening(http, admin2, since) as heard:
        await reserve(http, client, slots[0])
        seen_before = await newest_seq(http, server.admin)
        await until(lambda: heard.seqs == [seen_before])  # the stream works
        revoked = command(server.db, "revoke", admin2_id)  # another process, on the file
        assert revoked.returncode == 0, revoked.stderr
        done = time.monotonic()
        await until(lambda: heard.ended_at is not None)
        await reserve(http, client, slots[1])

    assert heard.ended_at is not None
    # The cache holds a token for 1 s, and open streams are checked twice in that time.
    assert heard.ended_at - done < 1.5
    assert heard.seqs == [seen_before]
    assert await newest_seq(http, server.admin) not in heard.seqs


async def test_a_revoke_through_one_process_ends_a_stream_on_another(
    postgres: PostgresForTests,
) -> None:
    async with two_servers(postgres) as both:
        answer = await both.a.post(
            "/tokens",
            json={"role": "provider", "subject": "rev-pg", "name": "Dr PG"},
            headers=bearer(both.admin),
        )
        assert answer.status_code == 201, answer.text
        provider, provider_id = answer.json()["token"], answer.json()["tokenId"]
        since = await newest_seq(both.b, both.admin)
        async with listening(both.b, provider, since) as heard:
            revoked = await both.a.delete(f"/tokens/{provider_id}", headers=bearer(both.admin))
            assert revoked.status_code == 200, revoked.text
            done = time.monotonic()
            await until(lambda: heard.ended_at is not None)
        assert heard.ended_at is not None
        assert heard.ended_at - done < 1.5


# --- 2. error documents stay small --------------------------------------------------------------


async def test_a_body_of_sixty_thousand_unknown_keys_gets_a_problem_of_a_few_kb(
    server: Server, http: httpx.AsyncClient
) -> None:
    provider, _ = await new_token(http, server.admin, "provider", "big-p")
    body = {f"u{i}": 1 for i in range(60_000)}
    raw = json.dumps(body).encode()
    assert len(raw) > 600_000
    before = dump_database(server.db)

    answer = await http.post(
        "/availability",
        content=raw,
        headers={**bearer(provider), "Content-Type": "application/json"},
    )

    assert len(answer.content) < 6_000, len(answer.content)
    problem = assert_problem(answer, 400, "invalid-request")
    assert len(problem["errors"]) == 20
    assert problem["errors"][0] == {"field": "startTime", "message": "is required"}
    assert problem["moreErrors"] == 60_002 - 20  # two fields missing, 60,000 unknown
    assert problem["detail"].endswith("; and 59,982 more")
    assert dump_database(server.db) == before


async def test_a_huge_key_or_value_is_not_echoed_whole(
    server: Server, http: httpx.AsyncClient
) -> None:
    provider, _ = await new_token(http, server.admin, "provider", "big-p2")
    for body in (
        {"x" * 500_000: 1},
        {"startTime": "2030-01-01 00:00:00", "endTime": "y" * 500_000},
        {"startTime": "2030-01-01 00:00:00", "endTime": "2030-01-01 01:00:00", "providerId": 7},
    ):
        answer = await http.post("/availability", json=body, headers=bearer(provider))
        assert len(answer.content) < 2_000, len(answer.content)
        assert_problem(answer, 400, "invalid-request")
    for path in ("/" + "a" * 7_000, f"/availability/confirm/{'f' * 7_000}"):
        answer = await http.put(
            path, json={"timeSlot": "2030-01-01 00:00:00"}, headers=bearer(provider)
        )
        assert len(answer.content) < 1_000, len(answer.content)
        assert answer.status_code in {404, 405}


# --- 3. time offsets ----------------------------------------------------------------------------


@pytest.mark.parametrize("offset", ["+05:60", "+00:99", "-24:00", "+2400", "+99:00"])
async def test_an_offset_that_is_not_real_is_refused_naming_the_field(
    server: Server, http: httpx.AsyncClient, offset: str
) -> None:
    provider, _ = await new_token(http, server.admin, "provider", "tz-p")
    client, _ = await new_token(http, server.admin, "client", "tz-c")
    day = format_time(first_day())[:10]
    start, end = f"{day}T09:00:00{offset}", f"{day}T10:00:00+00:00"
    before = dump_database(server.db)

    submitted = await http.post(
        "/availability", json={"startTime": start, "endTime": end}, headers=bearer(provider)
    )
    listed = await http.get(
        "/availability", params={"startTime": end, "endTime": start}, headers=bearer(client)
    )
    held = await http.post(
        "/availability/reserve",
        json={"timeSlot": start, "timeSlotId": "0" * 32},
        headers=bearer(client),
    )

    for answer, field in ((submitted, "startTime"), (listed, "endTime"), (held, "timeSlot")):
        problem = assert_problem(answer, 400, "invalid-request")
        assert [e["field"] for e in problem["errors"]] == [field], problem
        assert "offset" in problem["errors"][0]["message"]
    assert dump_database(server.db) == before


async def test_real_offsets_at_the_edges_are_read(server: Server, http: httpx.AsyncClient) -> None:
    provider, _ = await new_token(http, server.admin, "provider", "tz-p2")
    day = format_time(first_day())[:10]
    answer = await http.post(
        "/availability",
        json={"startTime": f"{day}T23:59:00+23:59", "endTime": f"{day}T00:15:00-00:00"},
        headers=bearer(provider),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["timeSlots"][0]["timestamp"] == f"{day} 00:00:00"


# --- 4. ids that can be used, names that hide nothing -------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "{p}"),
        ("subject", "a}b"),
        ("subject", "."),
        ("subject", ".."),
        ("subject", "dr\u200bada"),
        ("subject", "ada\u202e"),
        ("subject", "\u2066ada"),
        ("name", "Dr Ada\u202e ecalevoL"),
        ("name", "Dr\u200b Ada"),
        ("name", "\ufeffAda"),
        ("name", "Ada\u00adLovelace"),
        ("name", "Ada\U000e0041"),
    ],
)
async def test_an_id_or_name_that_cannot_be_used_or_hides_characters_is_refused(
    server: Server, http: httpx.AsyncClient, field: str, value: str
) -> None:
    body = {"role": "provider", "subject": "ok-subject", "name": "Dr Ok", field: value}
    before = dump_database(server.db)

    answer = await http.post("/tokens", json=body, headers=bearer(server.admin))

    problem = assert_problem(answer, 400, "invalid-request")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert "invisible" in problem["errors"][0]["message"]
    assert len(answer.content) < 1_000
    assert dump_database(server.db) == before


@pytest.mark.parametrize("value", ["{x}", "..", "x\u202e"])
async def test_such_ids_are_refused_in_bodies_queries_and_the_command_too(
    server: Server, http: httpx.AsyncClient, value: str
) -> None:
    day = first_day()
    window = {"startTime": format_time(day + 9 * HOUR), "endTime": format_time(day + 10 * HOUR)}
    submitted = await http.post(
        "/availability", json={**window, "providerId": value}, headers=bearer(server.admin)
    )
    listed = await http.get(
        "/availability", params={**window, "providerId": value}, headers=bearer(server.admin)
    )
    for answer in (submitted, listed):
        problem = assert_problem(answer, 400, "invalid-request")
        assert [e["field"] for e in problem["errors"]] == ["providerId"]

    made = command(server.db, "create", "--role", "client", "--subject", value, "--name", "X")
    assert made.returncode == 2
    assert "subject must be 1-128 visible characters" in made.stderr
    assert "sbk_" not in made.stdout


async def test_every_id_the_server_accepts_can_be_used_in_a_path(
    server: Server, http: httpx.AsyncClient
) -> None:
    odd = "Dr/ Ada?x=1#top 100% ü."
    provider, _ = await new_token(http, server.admin, "provider", odd, "Dr Ada")
    slots = await open_window(http, provider, (15, 16))
    day = first_day()
    params = {"startTime": format_time(day), "endTime": format_time(day + DAY)}

    calendar = await http.get(
        f"/providers/{quote(odd, safe='')}/slots", params=params, headers=bearer(provider)
    )

    assert calendar.status_code == 200, calendar.text
    assert [s["timeSlotId"] for s in calendar.json()["timeSlots"]] == [
        s["timeSlotId"] for s in slots
    ]
    for refused in ("%7Bx%7D", "%2E%2E", "x%E2%80%AE"):
        answer = await http.get(
            f"/providers/{refused}/slots", params=params, headers=bearer(provider)
        )
        problem = assert_problem(answer, 400, "invalid-request")
        assert problem["errors"][0]["field"] == "providerId"


# --- 5. idempotency compares meaning -------------------------------------------------------------


async def test_a_retry_serialised_differently_is_a_replay_not_a_reuse(
    server: Server, http: httpx.AsyncClient
) -> None:
    at = await scene(server, http, "idem", 17)
    client, slot = at.client, at.slots[0]
    headers = {**bearer(client), "Content-Type": "application/json", "Idempotency-Key": "k-1"}
    compact = json.dumps({"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]})
    spread = json.dumps({"timeSlotId": slot["timeSlotId"], "timeSlot": slot["timestamp"]}, indent=4)

    first = await http.post("/availability/reserve", content=compact, headers=headers)
    retry = await http.post("/availability/reserve", content=spread, headers=headers)
    other = await http.post(
        "/availability/reserve",
        content=json.dumps({"timeSlotId": slot["timeSlotId"], "timeSlot": "2030-01-01 00:00:00"}),
        headers=headers,
    )

    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert_problem(other, 422, "idempotency-key-reused")


# --- 6. garbage at the HTTP layer ----------------------------------------------------------------

GARBAGE = [
    b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"POST /availability HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n",
]


def send_raw(url: str, raw: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(raw)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        return received


async def test_a_request_the_parser_refuses_is_a_short_400_and_one_quiet_log_line(
    server: Server,
) -> None:
    logged = len(server.process.log)
    answers = [await asyncio.to_thread(send_raw, server.process.url, raw) for raw in GARBAGE]
    await asyncio.sleep(0.5)  # the log is read by a thread of the test's

    for answer in answers:
        last = answer[answer.rfind(b"\r\n\r\nHTTP/1.") + 4 :] if b"200 OK" in answer else answer
        assert last.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), answer
        assert len(last) < 400
    # The one well-formed request among them (GET /healthz before the garbage) has its access line.
    lines = [line for line in server.process.log[logged:] if " slotbook.access: " not in line]
    assert len(lines) <= len(GARBAGE), lines
    assert lines, "the refusals are logged"
    for line in lines:
        assert " INFO slotbook.http: refused a malformed request from 127.0.0.1: " in line, line
        assert "Traceback" not in line
