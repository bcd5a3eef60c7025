from __future__ import annotations

import httpx
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT


async def test_health_reports_the_database(http: httpx.AsyncClient, store_kind: str) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    engine = {"sqlite": "SQLite 3.", "postgresql": "PostgreSQL 1"}[store_kind]
    assert response.json()["database"].startswith(f"ok ({engine}")


async def test_health_fails_when_the_database_stops_answering(
    http: httpx.AsyncClient, server: TestServer
) -> None:
    await server.app[CONTEXT].store.close()
    response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "failing"


async def test_problem_types_explain_themselves(http: httpx.AsyncClient) -> None:
    taken = (await http.get("/problems/slot-taken")).json()
    assert taken == {
        "type": "/problems/slot-taken",
        "title": "Time slot not available",
        "status": 409,
        "advice": "Choose another slot from GET /availability.",
    }
    missing = await http.get("/problems/no-such-thing")
    assert missing.status_code == 404
