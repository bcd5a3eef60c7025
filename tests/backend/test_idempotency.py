"""Idempotency-Key: a retry gets the first answer back, never a second effect."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.api.idempotency import IN_FLIGHT
from backend.runtime.clock import ManualClock
from backend.store.sqlite.store import SQLiteStore
from tests.helpers import People, assert_problem, dump_database, is_postgresql, query

DAY = "2030-03-06"


@pytest.fixture
async def open_slots(people: People) -> list[dict[str, Any]]:
    response = await people["p1"].post(
        "/availability", json={"startTime": f"{DAY} 11:00:00", "endTime": f"{DAY} 12:00:00"}
    )
    slots: list[dict[str, Any]] = response.json()["timeSlots"]
    return slots


def reserve_body(slot: dict[str, Any]) -> dict[str, str]:
    return {"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]}


def send_and_drop_answer(base_url: str, token: str, path: str, key: str, body: bytes) -> None:
    """Send a request over a raw socket and throw the answer away unread, as a flaky network
    would: the server acted, the client never learnt what happened."""
    where = urlsplit(base_url)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {where.hostname}\r\nAuthorization: Bearer {token}\r\n"
        f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    with socket.create_connection((where.hostname, where.port or 80), timeout=30) as conn:
        conn.sendall(request)
        while conn.recv(65536):  # the answer is lost on the way back
            pass


async def test_a_reserve_retried_after_a_lost_answer_holds_once_and_answers_the_same(
    people: People, open_slots: list[dict[str, Any]], secure_server: TestServer, db: str
) -> None:
    body = httpx.Request("POST", "http://x", json=reserve_body(open_slots[0])).content
    await asyncio.to_thread(
        send_and_drop_answer,
        str(secure_server.make_url("")),
        people.tokens["c1"],
        "/availability/reserve",
        "retry-me",
        body,
    )
    retry = await people["c1"].post(
        "/availability/reserve",
        content=body,
        headers={"Idempotency-Key": "retry-me", "Content-Type": "application/json"},
    )
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["message"] == "Time slot reserved successfully"
    again = await people["c1"].post(
        "/availability/reserve",
        content=body,
        headers={"Idempotency-Key": "retry-me", "Content-Type": "application/json"},
    )
    assert again.content == retry.content
    reservations = (await people["c1"].get("/reservations")).json()["reservations"]
    assert [r["timeSlotId"] for r in reservations] == [open_slots[0]["timeSlotId"]]
    assert query(db, "SELECT COUNT(*) FROM changes WHERE kind = 'reserved'") == [(1,)]


async def test_the_same_key_with_another_body_is_refused_and_changes_nothing(
    people: People, open_slots: list[dict[str, Any]], db: str
) -> None:
    first = await people["c1"].post(
        "/availability/reserve",
        json=reserve_body(open_slots[0]),
        headers={"Idempotency-Key": "k-1"},
    )
    assert first.status_code == 201
    before = dump_database(db)
    other = await people["c1"].post(
        "/availability/reserve",
        json=reserve_body(open_slots[1]),
        headers={"Idempotency-Key": "k-1"},
    )
    problem = assert_problem(other, 422, "idempotency-key-reused")
    assert "k-1" in problem["detail"]
    assert dump_database(db) == before


async def test_a_refusal_is_replayed_too_even_after_the_slot_frees_up(
    people: People, open_slots: list[dict[str, Any]]
) -> None:
    await people["c2"].post("/availability/reserve", json=reserve_body(open_slots[0]))
    headers = {"Idempotency-Key": "late"}
    taken = await people["c1"].post(
        "/availability/reserve", json=reserve_body(open_slots[0]), headers=headers
    )
    assert_problem(taken, 409, "slot-taken")
    await people["c2"].delete(f"/reservations/{open_slots[0]['timeSlotId']}")
    replay = await people["c1"].post(
        "/availability/reserve", json=reserve_body(open_slots[0]), headers=headers
    )
    assert replay.status_code == 409
    assert replay.headers["Idempotent-Replayed"] == "true"
    # The same refusal, word for word; only `instance` differs: it names the request it answers,
    # so that each request can be found in the log.
    first, again = taken.json(), replay.json()
    assert again.pop("instance") == f"urn:slotbook:request:{replay.headers['X-Request-Id']}"
    assert first.pop("instance") == f"urn:slotbook:request:{taken.headers['X-Request-Id']}"
    assert again == first


async def test_keys_belong_to_their_caller(
    people: People, open_slots: list[dict[str, Any]]
) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    mine = await people["c1"].post(
        "/availability/reserve", json=reserve_body(open_slots[0]), headers=headers
    )
    theirs = await people["c2"].post(
        "/availability/reserve", json=reserve_body(open_slots[1]), headers=headers
    )
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers


async def test_a_stored_answer_is_forgotten_after_24_hours(
    people: People, open_slots: list[dict[str, Any]], clock: ManualClock
) -> None:
    headers = {"Idempotency-Key": "daily"}
    body = {"startTime": "2030-03-09 09:00:00", "endTime": "2030-03-09 10:00:00"}
    first = await people["p1"].post("/availability", json=body, headers=headers)
    assert first.status_code == 201
    clock.advance(23 * 3600)
    assert (await people["p1"].post("/availability", json=body, headers=headers)).headers[
        "Idempotent-Replayed"
    ] == "true"
    clock.advance(3600)
    fresh = await people["p1"].post("/availability", json=body, headers=headers)
    assert fresh.status_code == 200  # acted again: every slot already existed
    assert "Idempotent-Replayed" not in fresh.headers


@asynccontextmanager
async def writes_held(server: TestServer, db: str) -> AsyncIterator[None]:
    """Writes to the slots wait until the block ends: behind a write that waits at a gate on
    SQLite's writer thread, or behind a table lock taken on a PostgreSQL connection of our own."""
    if is_postgresql(db):
        conn = await asyncpg.connect(db)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE slots IN EXCLUSIVE MODE")
                yield
        finally:
            await conn.close()
        return
    store = server.app[CONTEXT].store
    assert isinstance(store, SQLiteStore)
    gate = threading.Event()
    blocked = asyncio.ensure_future(store._writer.run(lambda _: gate.wait(30)))
    try:
        yield
    finally:
        gate.set()
        await blocked


async def test_a_retry_while_the_first_is_still_running_is_told_to_wait(
    people: People, open_slots: list[dict[str, Any]], secure_server: TestServer, db: str
) -> None:
    headers = {"Idempotency-Key": "slow"}
    async with writes_held(secure_server, db):
        first = asyncio.ensure_future(
            people["c1"].post(
                "/availability/reserve", json=reserve_body(open_slots[0]), headers=headers
            )
        )
        in_flight = secure_server.app[IN_FLIGHT]
        # Wait (briefly) for the first request to be inside the server, held behind the block.
        while not in_flight:  # noqa: ASYNC110 - no event marks that moment
            await asyncio.sleep(0.005)
        second = await people["c1"].post(
            "/availability/reserve", json=reserve_body(open_slots[0]), headers=headers
        )
        assert_problem(second, 409, "idempotency-key-in-use")
    assert (await first).status_code == 201


async def test_every_write_takes_a_key(people: People, open_slots: list[dict[str, Any]]) -> None:
    slot = open_slots[0]
    calls = [
        (
            "p1",
            "DELETE",
            "/availability",
            {"startTime": f"{DAY} 11:45:00", "endTime": f"{DAY} 12:00:00"},
        ),
        ("c1", "POST", "/availability/reserve", reserve_body(slot)),
        (
            "c1",
            "PUT",
            f"/availability/confirm/{slot['timeSlotId']}",
            {"timeSlot": slot["timestamp"]},
        ),
        ("c1", "DELETE", f"/reservations/{slot['timeSlotId']}", None),
        ("admin", "POST", "/tokens", {"role": "client", "subject": "c7", "name": "Seven"}),
    ]
    for n, (who, method, path, body) in enumerate(calls):
        headers = {"Idempotency-Key": f"write-{n}"}
        first = await people[who].request(method, path, json=body, headers=headers)
        again = await people[who].request(method, path, json=body, headers=headers)
        assert first.status_code in (200, 201), first.text
        assert again.status_code == first.status_code
        assert again.headers["Idempotent-Replayed"] == "true", path
        if path != "/tokens":
            assert again.content == first.content


async def test_a_malformed_key_is_refused(people: People, open_slots: list[dict[str, Any]]) -> None:
    response = await people["c1"].post(
        "/availability/reserve",
        json=reserve_body(open_slots[0]),
        headers={"Idempotency-Key": "has spaces in it"},
    )
    assert_problem(response, 400, "invalid-request")
