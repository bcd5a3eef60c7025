"""Readable calls to the API for tests, and a dump of the database to compare before and after."""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.gate.tokens import issue
from shared.timefmt import format_time, parse_time
from tests.postgres_server import run_sync

T0 = parse_time("2030-03-04 09:00:00")
"""The fake clock's starting moment: Monday 4 March 2030, 09:00 UTC."""

JSON = {"Content-Type": "application/json; charset=utf-8"}

TLS = httpx.create_ssl_context()
"""httpx's default certificate check, loaded once for every test client (none of which speaks
https): a client made without it reads the whole certificate bundle, some 20 ms, and the suite
makes thousands."""

STORES = ("sqlite", "postgresql")
"""The stores every database test runs on (the `store_kind` fixture's parameters)."""


def body(response: httpx.Response) -> Any:
    return response.json()


class Api:
    """The seed API's calls, named for what they do (no-auth mode: ids go in the body)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def submit(self, provider: str, start: str, end: str) -> httpx.Response:
        return await self.http.post(
            "/availability", json={"providerId": provider, "startTime": start, "endTime": end}
        )

    async def remove(self, provider: str, start: str, end: str) -> httpx.Response:
        return await self.http.request(
            "DELETE",
            "/availability",
            json={"providerId": provider, "startTime": start, "endTime": end},
        )

    async def open_slots(self, start: str, end: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.http.get(
            "/availability", params={"startTime": start, "endTime": end, **params}
        )
        assert response.status_code == 200, response.text
        slots: list[dict[str, Any]] = response.json()["availableTimeSlots"]
        return slots

    async def slot_at(self, provider: str, timestamp: str) -> dict[str, Any]:
        """The provider's slot starting at this time, whatever its status."""
        end = format_time(parse_time(timestamp) + 3600)
        response = await self.http.get(
            f"/providers/{provider}/slots",
            params={"startTime": timestamp, "endTime": end},
        )
        assert response.status_code == 200, response.text
        for slot in response.json()["timeSlots"]:
            if slot["timestamp"] == timestamp:
                return dict(slot)
        raise AssertionError(f"{provider} has no slot at {timestamp}")

    async def reserve(self, client: str, slot: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            "/availability/reserve",
            json={
                "clientId": client,
                "timeSlot": slot["timestamp"],
                "timeSlotId": slot["timeSlotId"],
            },
        )

    async def confirm(self, slot: dict[str, Any], client: str | None = None) -> httpx.Response:
        payload = {"timeSlot": slot["timestamp"]}
        if client is not None:
            payload["clientId"] = client
        return await self.http.put(f"/availability/confirm/{slot['timeSlotId']}", json=payload)

    async def cancel(self, slot: dict[str, Any], **caller: str) -> httpx.Response:
        return await self.http.delete(f"/reservations/{slot['timeSlotId']}", params=caller)

    async def reservations(self, client: str) -> list[dict[str, Any]]:
        response = await self.http.get("/reservations", params={"clientId": client})
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["reservations"]
        return found


def is_postgresql(db: Path | str) -> bool:
    """Whether a test's database is a PostgreSQL URL (else a SQLite file)."""
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


def dump_database(db: Path | str) -> list[str]:
    """The whole database as text: equal dumps mean equal contents. For a SQLite file, every
    statement needed to rebuild it; for PostgreSQL, every row of every table, as text."""
    if is_postgresql(db):
        return run_sync(lambda: _dump_postgresql(str(db)))
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


async def _dump_postgresql(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        dump: list[str] = []
        for (table,) in tables:
            rows = await conn.fetch(f'SELECT t::text FROM "{table}" AS t ORDER BY 1')
            dump += [f"{table} {row[0]}" for row in rows]
        return dump
    finally:
        await conn.close()


def query(db: Path | str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of one query, on a connection of the test's own, in either store. Parameters are
    written `?` and are renumbered for PostgreSQL."""
    if is_postgresql(db):
        numbers = itertools.count(1)
        numbered = re.sub(r"\?", lambda _: f"${next(numbers)}", sql)

        async def fetch() -> list[tuple[Any, ...]]:
            conn = await asyncpg.connect(str(db))
            try:
                return [tuple(row) for row in await conn.fetch(numbered, *params)]
            finally:
                await conn.close()

        return run_sync(fetch)
    with closing(sqlite3.connect(db)) as conn:
        return [tuple(row) for row in conn.execute(sql, params)]


def assert_problem(
    response: httpx.Response, status: int, slug: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status (and type)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["detail"] == problem["message"]
    assert problem["title"]
    if slug is not None:
        assert problem["type"] == f"/problems/{slug}"
    return problem


class People:
    """HTTP clients of a secure test server, each sending its own token."""

    def __init__(self, base_url: str, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self._clients = {
            who: httpx.AsyncClient(
                base_url=base_url,
                timeout=60,
                headers={"Authorization": f"Bearer {token}"},
                verify=TLS,
            )
            for who, token in tokens.items()
        }

    def __getitem__(self, who: str) -> httpx.AsyncClient:
        return self._clients[who]

    @classmethod
    @asynccontextmanager
    async def issue(cls, server: TestServer) -> AsyncIterator[People]:
        store = server.app[CONTEXT].store
        now = server.app[CONTEXT].now()
        tokens: dict[str, str] = {}
        for who, role, subject, name in [
            ("admin", "admin", None, "Root"),
            ("p1", "provider", "p1", "Dr One"),
            ("p2", "provider", "p2", "Dr Two"),
            ("c1", "client", "c1", "Client One"),
            ("c2", "client", "c2", "Client Two"),
            ("revoked", "client", "c1", "Old token of c1"),
        ]:
            new, record = issue(role, subject, name, now)  # type: ignore[arg-type]
            await store.create_token(record, new.secret_hash)
            tokens[who] = new.token
            if who == "revoked":
                await store.revoke_token(record.token_id, now)
        people = cls(str(server.make_url("")), tokens)
        try:
            yield people
        finally:
            for client in people._clients.values():
                await client.aclose()
