"""Display names: who holds or booked a slot, by name as well as by id, in a provider's calendar and
in the change feed; and the one rule for where a provider's or a client's name comes from (its
first token, or a later one made with `rename`), on both stores and across the migration that gave
clients a stored name.

The calls go over real HTTP to the real app (tokens required) on a real SQLite file or PostgreSQL
database; the command-line side of `--rename` is tested with the command in test_tokens.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from httpx_sse import aconnect_sse
from sqlite_utils import Database

from backend.gate.tokens import issue
from backend.rules.booking import Rules
from backend.runtime.clock import ManualClock
from backend.store.base import Store
from backend.store.opening import open_store
from backend.store.postgres.schema import apply_migrations as migrate_postgresql
from backend.store.sqlite.schema import apply_migrations as migrate_sqlite
from tests.helpers import People, assert_problem, dump_database, query
from tests.postgres_server import PostgresForTests, run_sync

DAY = "2030-03-06"
"""Two days after the clock's start: every slot is far enough ahead to hold."""

Seen = tuple[str, str | None, str | None]
"""(kind, clientId, clientName) of a change, as one caller sees it."""


# --- a calendar with a named holder, a named booker and an unnamed one --------------------------


async def post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


async def book_four_slots(people: People) -> list[dict[str, Any]]:
    """p1 opens 11:00-12:00; c1 holds 11:00, c2 books 11:15, an admin holds 11:30 for c9 (who
    has no token, so no name); 11:45 stays open."""
    made = await post(
        people["p1"],
        "/availability",
        {"startTime": f"{DAY} 11:00:00", "endTime": f"{DAY} 12:00:00"},
    )
    slots: list[dict[str, Any]] = made["timeSlots"]

    def hold(slot: dict[str, Any]) -> dict[str, Any]:
        return {"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]}

    await post(people["c1"], "/availability/reserve", hold(slots[0]))
    await post(people["c2"], "/availability/reserve", hold(slots[1]))
    confirmed = await people["c2"].put(
        f"/availability/confirm/{slots[1]['timeSlotId']}", json={"timeSlot": slots[1]["timestamp"]}
    )
    assert confirmed.status_code == 200, confirmed.text
    await post(people["admin"], "/availability/reserve", {"clientId": "c9", **hold(slots[2])})
    return slots


async def calendar(http: httpx.AsyncClient, provider: str = "p1") -> httpx.Response:
    return await http.get(
        f"/providers/{provider}/slots",
        params={"startTime": f"{DAY} 11:00:00", "endTime": f"{DAY} 12:00:00"},
    )


def holders(response: httpx.Response) -> list[tuple[str, str, str | None, str | None]]:
    assert response.status_code == 200, response.text
    return [
        (s["timestamp"][11:16], s["status"], s.get("clientId"), s.get("clientName"))
        for s in response.json()["timeSlots"]
    ]


EVERY_HOLDER = [
    ("11:00", "RESERVED", "c1", "Client One"),
    ("11:15", "CONFIRMED", "c2", "Client Two"),
    ("11:30", "RESERVED", "c9", None),
    ("11:45", "AVAILABLE", None, None),
]

ALL_NAMES: list[Seen] = [
    ("reserved", "c1", "Client One"),
    ("reserved", "c2", "Client Two"),
    ("confirmed", "c2", "Client Two"),
    ("reserved", "c9", None),
]
"""The changes after the four `created`, as those who see every client id see them."""

NOTHING: Seen = ("reserved", None, None)

SEEN_BY: dict[str, list[Seen]] = {
    "admin": ALL_NAMES,
    "p1": ALL_NAMES,
    "c1": [ALL_NAMES[0], NOTHING, ("confirmed", None, None), NOTHING],
    "c2": [NOTHING, ALL_NAMES[1], ALL_NAMES[2], NOTHING],
    "p2": [NOTHING, NOTHING, ("confirmed", None, None), NOTHING],
}


def seen(change: dict[str, Any]) -> Seen:
    return (change["kind"], change.get("clientId"), change.get("clientName"))


async def test_the_calendar_names_each_holder_beside_its_id(
    people: People, clock: ManualClock
) -> None:
    await book_four_slots(people)

    assert holders(await calendar(people["p1"])) == EVERY_HOLDER
    assert holders(await calendar(people["admin"])) == EVERY_HOLDER
    window = {"startTime": f"{DAY} 11:00:00", "endTime": f"{DAY} 12:00:00"}
    again = await people["p1"].post("/availability", json=window)  # the same window, submitted
    assert holders(again) == EVERY_HOLDER  # its answer names them too
    for outsider in ("p2", "c1"):  # another provider, a client: no calendar, so no names
        refused = await calendar(people[outsider])
        assert_problem(refused, 403, "forbidden")
        assert "timeSlots" not in refused.json()
        assert "Client Two" not in refused.text

    clock.advance(Rules().hold_seconds + 1)  # the holds lapse: open again, nobody's name
    assert holders(await calendar(people["p1"])) == [
        ("11:00", "AVAILABLE", None, None),
        ("11:15", "CONFIRMED", "c2", "Client Two"),
        ("11:30", "AVAILABLE", None, None),
        ("11:45", "AVAILABLE", None, None),
    ]


async def test_get_changes_names_the_client_only_to_whom_may_see_its_id(people: People) -> None:
    await book_four_slots(people)

    for who, expected in SEEN_BY.items():
        response = await people[who].get("/changes", params={"since": 4})
        assert response.status_code == 200, response.text
        assert [seen(c) for c in response.json()["changes"]] == expected, who


async def events(http: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """The first `count` changes an /events stream from the start of the log sends."""
    found: list[dict[str, Any]] = []
    async with aconnect_sse(http, "GET", "/events", params={"since": 0}) as source:
        assert source.response.status_code == 200
        async with asyncio.timeout(10):
            async for event in source.aiter_sse():
                if event.data:
                    found.append(event.json())
                if len(found) == count:
                    return found
    raise AssertionError(f"the stream ended after {len(found)} changes")


async def test_the_event_stream_names_the_client_only_to_whom_may_see_its_id(
    people: People,
) -> None:
    await book_four_slots(people)

    for who, expected in SEEN_BY.items():
        sent = await events(people[who], 8)
        assert [seen(c) for c in sent[4:]] == expected, who
        for change in sent:  # a name never comes without the id it belongs to
            assert "clientName" not in change or "clientId" in change, change


# --- the rule: the first token names its subject; `rename` renames it ---------------------------


async def providers(people: People) -> dict[str, str | None]:
    response = await people["c1"].get("/providers")
    assert response.status_code == 200, response.text
    return {p["providerId"]: p["name"] for p in response.json()["providers"]}


async def make_token(people: People, **body: Any) -> dict[str, Any]:
    response = await people["admin"].post("/tokens", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def test_a_later_token_does_not_rename_a_provider_or_a_client(people: People) -> None:
    await book_four_slots(people)
    await make_token(people, role="provider", subject="p1", name="Dr Impostor")
    await make_token(people, role="client", subject="c1", name="c1 on the tablet")

    assert (await providers(people))["p1"] == "Dr One"
    assert holders(await calendar(people["p1"]))[0] == ("11:00", "RESERVED", "c1", "Client One")
    changes = (await people["p1"].get("/changes", params={"since": 4})).json()["changes"]
    assert seen(changes[0]) == ("reserved", "c1", "Client One")
    # The later tokens keep their own names, as labels.
    listed = (await people["admin"].get("/tokens")).json()["tokens"]
    assert {(t["subject"], t["name"]) for t in listed} >= {
        ("p1", "Dr Impostor"),
        ("c1", "c1 on the tablet"),
    }


async def test_rename_makes_the_new_token_name_the_display_name(people: People) -> None:
    await book_four_slots(people)
    await make_token(people, role="provider", subject="p1", name="Dr Uno", rename=True)
    await make_token(people, role="client", subject="c1", name="Grace Hopper", rename=True)

    assert (await providers(people))["p1"] == "Dr Uno"
    assert holders(await calendar(people["p1"]))[0] == ("11:00", "RESERVED", "c1", "Grace Hopper")
    changes = (await people["admin"].get("/changes", params={"since": 4})).json()["changes"]
    assert seen(changes[0]) == ("reserved", "c1", "Grace Hopper")

    # rename: false is what a token without it does.
    await make_token(people, role="client", subject="c1", name="Not Grace", rename=False)
    assert holders(await calendar(people["p1"]))[0][3] == "Grace Hopper"


async def test_a_token_names_a_client_or_provider_the_first_time(people: People) -> None:
    """A provider whose availability came first (listed without a name) and a client who held a
    slot before it had a token are named by their first token, and not by the next."""
    made = await post(
        people["admin"],
        "/availability",
        {"providerId": "p3", "startTime": f"{DAY} 13:00:00", "endTime": f"{DAY} 13:15:00"},
    )
    [slot] = made["timeSlots"]
    body = {"clientId": "c9", "timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]}
    await post(people["admin"], "/availability/reserve", body)
    assert (await providers(people))["p3"] is None

    await make_token(people, role="provider", subject="p3", name="Dr Three")
    await make_token(people, role="client", subject="c9", name="Client Nine")
    await make_token(people, role="provider", subject="p3", name="Dr Later")
    await make_token(people, role="client", subject="c9", name="Client Later")

    assert (await providers(people))["p3"] == "Dr Three"
    shown = await people["admin"].get(
        "/providers/p3/slots", params={"startTime": f"{DAY} 13:00:00", "endTime": f"{DAY} 14:00:00"}
    )
    assert holders(shown) == [("13:00", "RESERVED", "c9", "Client Nine")]


@pytest.mark.parametrize(
    ("request_body", "status", "slug"),
    [
        ({"role": "admin", "name": "Root Two", "rename": True}, 422, "rule-violation"),
        ({"role": "client", "subject": "c1", "name": "X", "rename": "yes"}, 400, "invalid-request"),
    ],
    ids=["admin-with-rename", "rename-not-a-boolean"],
)
async def test_post_tokens_refuses_a_rename_it_cannot_do(
    people: People, db: str, request_body: dict[str, Any], status: int, slug: str
) -> None:
    before = dump_database(db)
    problem = assert_problem(await people["admin"].post("/tokens", json=request_body), status, slug)
    assert [e["field"] for e in problem["errors"]] == ["rename"], problem
    assert dump_database(db) == before


async def test_an_admin_token_without_rename_is_still_made(people: People) -> None:
    made = await make_token(people, role="admin", name="Root Two", rename=False)
    assert (made["role"], made["subject"], made["name"]) == ("admin", None, "Root Two")


# --- the store: one lookup, and the migration that named clients ------------------------------


@pytest.fixture
async def store(db: str) -> AsyncIterator[Store]:
    opened = await open_store(db, Rules())
    yield opened
    await opened.close()


async def test_client_names_are_one_lookup_that_leaves_the_unnamed_out(store: Store) -> None:
    for subject, name, at in [("c1", "First", 1.0), ("c1", "Second", 2.0), ("c2", "Two", 3.0)]:
        new, record = issue("client", subject, name, at)
        await store.create_token(record, new.secret_hash)

    assert await store.client_names(["c1", "c2", "nobody"]) == {"c1": "First", "c2": "Two"}
    assert await store.client_names([]) == {}


OLD_TOKENS = [
    # id, role, subject, name, created_at
    ("0000000000000001", "client", "c1", "Second token of c1", 200.0),
    ("0000000000000002", "client", "c1", "First token of c1", 100.0),
    ("0000000000000003", "client", "c2", "Only token of c2", 150.0),
    ("0000000000000005", "client", "c3", "Tie, later id", 300.0),
    ("0000000000000004", "client", "c3", "Tie, earlier id", 300.0),
    ("0000000000000006", "provider", "p1", "Dr First", 50.0),
    ("0000000000000007", "provider", "p1", "Dr Last", 60.0),
    ("0000000000000008", "admin", None, "Root", 10.0),
]
"""Tokens of a database made before clients had a stored name."""

OLD_PROVIDERS = [("p1", "Dr Last", 50.0), ("p2", None, 70.0)]
"""What the old rule left: p1 renamed by its last token; p2 made by availability, with no name."""


def make_old_sqlite(path: str) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        migrate_sqlite(Database(conn), stop_before="0004_clients")
        assert not Database(conn)["clients"].exists()
        conn.executemany(
            "INSERT INTO tokens (id, role, subject, name, created_at, secret_hash)"
            " VALUES (?, ?, ?, ?, ?, 'x')",
            OLD_TOKENS,
        )
        conn.executemany(
            "INSERT INTO providers (id, name, created_at) VALUES (?, ?, ?)", OLD_PROVIDERS
        )


async def make_old_postgresql(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        assert await migrate_postgresql(conn, stop_before="0003_clients") == [
            "0001_slots_and_changes",
            "0002_tokens_and_idempotency",
        ]
        assert await conn.fetchval("SELECT to_regclass('clients')") is None
        await conn.executemany(
            "INSERT INTO tokens (id, role, subject, name, created_at, secret_hash)"
            " VALUES ($1, $2, $3, $4, $5, 'x')",
            OLD_TOKENS,
        )
        await conn.executemany(
            "INSERT INTO providers (id, name, created_at) VALUES ($1, $2, $3)", OLD_PROVIDERS
        )
    finally:
        await conn.close()


@pytest.fixture
def old_database(store_kind: str, db_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database at the schema before clients had names, holding tokens and providers."""
    if store_kind == "sqlite":
        make_old_sqlite(str(db_path))
        yield str(db_path)
        return
    postgres: PostgresForTests = request.getfixturevalue("postgres")
    url = postgres.copy(template="template0")  # empty: no migration applied yet
    try:
        run_sync(lambda: make_old_postgresql(url))
        yield url
    finally:
        postgres.drop(url)


async def test_the_migration_names_each_client_by_its_earliest_token(old_database: str) -> None:
    assert query(old_database, "SELECT COUNT(*) FROM tokens") == [(len(OLD_TOKENS),)]
    opened = await open_store(old_database, Rules())  # migrates
    try:
        assert await opened.client_names(["c1", "c2", "c3", "p1"]) == {
            "c1": "First token of c1",
            "c2": "Only token of c2",
            "c3": "Tie, earlier id",
        }
        assert [(p.provider_id, p.name) for p in await opened.providers(0.0)] == [
            ("p1", "Dr Last"),  # as they were
            ("p2", None),
        ]
        # From now on the rule holds: p2's first token names it; c1's next one does not.
        for role, subject, name in [("provider", "p2", "Dr Two"), ("client", "c1", "Newer")]:
            new, record = issue(role, subject, name, 400.0)  # type: ignore[arg-type]
            await opened.create_token(record, new.secret_hash)
        assert await opened.client_names(["c1"]) == {"c1": "First token of c1"}
        assert {p.provider_id: p.name for p in await opened.providers(0.0)}["p2"] == "Dr Two"
    finally:
        await opened.close()
    created = query(old_database, "SELECT id, created_at FROM clients ORDER BY id")
    assert created == [("c1", 100.0), ("c2", 150.0), ("c3", 300.0)]
