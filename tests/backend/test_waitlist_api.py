"""The waitlist over HTTP (POST, GET and DELETE /waitlist), on both stores: places in line kept
in order through joins and leaves, what each role may see and remove, every problem a join can
have (each changes nothing), retries with an Idempotency-Key, and time already free in a window
offered at once, as a hold the change feed names the entry on. (Every route against every kind
of token: tests/backend/test_access_matrix.py; the offer's e-mail:
tests/backend/test_mail_delivery.py.)"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import httpx
import pytest

from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from tests.helpers import People, assert_problem, dump_database

DAY = "2030-03-06"
"""Two days after the clock's start: every start that day has the notice it needs."""

AFTERNOON = {"providerId": "p1", "from": f"{DAY} 14:00:00", "to": f"{DAY} 16:00:00"}
"""A window where p1 has no slots: whoever joins for it waits."""

MAX_WAITLIST = 3
OFFER_MINUTES = 20


# Each names `db` too, so that pytest sees the stores every test runs on through it.


@pytest.fixture
def settings(settings: Settings, db: str) -> Settings:
    return replace(settings, max_waitlist=MAX_WAITLIST, offer_minutes=OFFER_MINUTES)


@pytest.fixture
def secure_settings(secure_settings: Settings, db: str) -> Settings:
    return replace(secure_settings, max_waitlist=MAX_WAITLIST, offer_minutes=OFFER_MINUTES)


def entry_of(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    entry: dict[str, Any] = response.json()["entry"]
    return entry


async def line(http: httpx.AsyncClient, **params: str) -> list[tuple[str, int, str | None]]:
    """GET /waitlist as this caller: each entry's client, place and client name, in order."""
    response = await http.get("/waitlist", params=params)
    assert response.status_code == 200, response.text
    return [(e["clientId"], e["position"], e.get("clientName")) for e in response.json()["entries"]]


# --- a line kept in order --------------------------------------------------------------------


async def test_places_in_line_are_kept_in_order_through_joins_and_leaves(
    people: People, clock: ManualClock
) -> None:
    first = entry_of(await people["c1"].post("/waitlist", json=AFTERNOON), 201)
    assert re.fullmatch(r"[0-9a-f]{32}", first["waitlistId"])
    assert {k: v for k, v in first.items() if k != "waitlistId"} == {
        "providerId": "p1",
        "from": f"{DAY} 14:00:00",
        "to": f"{DAY} 16:00:00",
        "minutes": 15,
        "clientId": "c1",
        "clientName": "Client One",
        "joinedAt": "2030-03-04 09:00:00",
        "status": "waiting",
        "position": 1,
    }
    clock.advance(60)
    second = entry_of(await people["c2"].post("/waitlist", json=AFTERNOON), 201)
    clock.advance(60)
    for_c3 = {**AFTERNOON, "clientId": "c3", "minutes": 60}
    third = entry_of(await people["admin"].post("/waitlist", json=for_c3), 201)
    assert [(e["clientId"], e["position"], e["minutes"]) for e in (second, third)] == [
        ("c2", 2, 15),
        ("c3", 3, 60),
    ]
    everyone = [("c1", 1, "Client One"), ("c2", 2, "Client Two"), ("c3", 3, None)]
    assert await line(people["admin"]) == everyone
    assert await line(people["p1"]) == everyone
    assert await line(people["p2"]) == []
    assert await line(people["c2"]) == [("c2", 2, "Client Two")]
    assert await line(people["c2"], providerId="p1", status="waiting") == [("c2", 2, "Client Two")]
    assert await line(people["admin"], clientId="c3") == [("c3", 3, None)]
    assert await line(people["admin"], status="offered") == []

    left = entry_of(await people["c1"].delete(f"/waitlist/{first['waitlistId']}"))
    assert (left["clientId"], left["status"], left["position"]) == ("c1", "waiting", 1)
    assert await line(people["admin"]) == [("c2", 1, "Client Two"), ("c3", 2, None)]
    shown = entry_of(await people["p1"].get(f"/waitlist/{third['waitlistId']}"))
    assert (shown["clientId"], shown["position"]) == ("c3", 2)
    removed = entry_of(await people["p1"].delete(f"/waitlist/{third['waitlistId']}"))
    assert (removed["clientId"], removed["position"]) == ("c3", 2)
    assert await line(people["admin"]) == [("c2", 1, "Client Two")]
    for gone in (first, third):
        missing = await people["admin"].get(f"/waitlist/{gone['waitlistId']}")
        assert_problem(missing, 404, "waitlist-entry-not-found")


# --- who may ---------------------------------------------------------------------------------


async def test_each_role_sees_and_removes_only_what_it_may(people: People, db: str) -> None:
    theirs = entry_of(await people["c2"].post("/waitlist", json=AFTERNOON), 201)
    path = f"/waitlist/{theirs['waitlistId']}"
    for who in ("c2", "p1", "admin"):
        assert entry_of(await people[who].get(path))["waitlistId"] == theirs["waitlistId"]
    before = dump_database(db)
    refusals: list[tuple[str, str, str, dict[str, str] | None, dict[str, str], int, str]] = [
        # who, method, path, body, query, status, problem
        ("c1", "GET", path, None, {}, 404, "waitlist-entry-not-found"),
        ("p2", "GET", path, None, {}, 404, "waitlist-entry-not-found"),
        ("c1", "DELETE", path, None, {}, 404, "waitlist-entry-not-found"),
        ("p2", "DELETE", path, None, {}, 404, "waitlist-entry-not-found"),
        ("p1", "POST", "/waitlist", AFTERNOON, {}, 403, "forbidden"),
        ("c1", "POST", "/waitlist", {**AFTERNOON, "clientId": "c2"}, {}, 403, "forbidden"),
        ("admin", "POST", "/waitlist", AFTERNOON, {}, 422, "actor-required"),
        ("c1", "GET", "/waitlist", None, {"clientId": "c2"}, 403, "forbidden"),
        ("p2", "GET", "/waitlist", None, {"providerId": "p1"}, 403, "forbidden"),
    ]
    for who, method, where, json, params, status, slug in refusals:
        response = await people[who].request(method, where, json=json, params=params)
        assert_problem(response, status, slug)
        assert dump_database(db) == before, (who, method, where)
    # An entry one may not see is refused exactly as one that does not exist.
    unseen = assert_problem(await people["c1"].get(path), 404)
    nothing = assert_problem(await people["c1"].get(f"/waitlist/{'0' * 32}"), 404)
    assert unseen["detail"].replace(theirs["waitlistId"], "?") == nothing["detail"].replace(
        "0" * 32, "?"
    )


# --- problems --------------------------------------------------------------------------------


async def join(http: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    """A join for c1 in p1's afternoon, with these fields changed (None: left out)."""
    body = {**AFTERNOON, "clientId": "c1", **fields}
    return await http.post("/waitlist", json={k: v for k, v in body.items() if v is not None})


async def open_p1(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """p1's slots on DAY from 10:00 to 11:00 (a provider is known once they have slots)."""
    made = await http.post(
        "/availability",
        json={"providerId": "p1", "startTime": f"{DAY} 10:00:00", "endTime": f"{DAY} 11:00:00"},
    )
    assert made.status_code == 201, made.text
    slots: list[dict[str, Any]] = made.json()["timeSlots"]
    return slots


async def test_a_bad_join_is_a_problem_naming_its_field_and_changes_nothing(
    http: httpx.AsyncClient, db: str
) -> None:
    await open_p1(http)
    types = {}
    for provider, name, minutes in [("p1", "Follow-up", 30), ("p1", "Old", 15), ("p2", "Ot", 15)]:
        offered = await http.post(
            f"/providers/{provider}/services", json={"name": name, "minutes": minutes}
        )
        assert offered.status_code == 201, offered.text
        types[name] = offered.json()["service"]["serviceId"]
    archived = await http.delete(f"/services/{types['Old']}")
    assert archived.status_code == 200, archived.text
    before = dump_database(db)
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        # what the join changes, status, problem, the field it names
        ({"from": "soon"}, 400, "invalid-request", "from"),
        ({"minutes": "15"}, 400, "invalid-request", "minutes"),
        ({"to": f"{DAY} 14:00:00"}, 422, "rule-violation", "to"),
        # The clock says 4 March 09:00 and a booking needs 24 hours' notice.
        ({"from": "2030-03-04 12:00:00", "to": "2030-03-05 09:00:00"}, 422, "rule-violation", "to"),
        ({"from": f"{DAY} 00:00:00", "to": "2030-04-07 00:00:00"}, 422, "rule-violation", "to"),
        ({"minutes": 20}, 422, "rule-violation", "minutes"),
        ({"minutes": 135}, 422, "rule-violation", "minutes"),
        ({"minutes": 30, "serviceId": types["Follow-up"]}, 422, "rule-violation", "minutes"),
        ({"to": f"{DAY} 14:45:00", "minutes": 60}, 422, "rule-violation", "to"),
        ({"to": f"{DAY} 14:15:00", "serviceId": types["Follow-up"]}, 422, "rule-violation", "to"),
        ({"clientId": None}, 422, "actor-required", "clientId"),
        ({"providerId": "nobody"}, 404, "provider-not-found", None),
        ({"serviceId": "0" * 32}, 404, "service-not-found", None),
        ({"serviceId": types["Ot"]}, 404, "service-not-found", None),
        ({"serviceId": types["Old"]}, 409, "service-archived", None),
    ]
    for fields, status, slug, field in cases:
        problem = assert_problem(await join(http, **fields), status, slug)
        if field is not None:
            assert [e["field"] for e in problem["errors"]] == [field], (fields, problem)
        assert dump_database(db) == before, fields
    # Whole slots, in a window as long as the booking window, for a type it fits: all taken.
    longest = await join(http, **{"from": f"{DAY} 11:00:00", "to": "2030-04-06 11:00:00"})
    typed = await join(http, serviceId=types["Follow-up"], to=f"{DAY} 14:30:00")
    long_one = await join(http, minutes=120)
    assert [r.status_code for r in (longest, typed, long_one)] == [201, 201, 201]
    assert [entry_of(r, 201)["minutes"] for r in (typed, long_one)] == [30, 120]
    assert entry_of(typed, 201)["serviceName"] == "Follow-up"
    full = dump_database(db)
    too_many = assert_problem(await join(http), 409, "too-many-waitlist-entries")
    assert f"{MAX_WAITLIST} waitlist entries" in too_many["detail"]
    assert dump_database(db) == full
    for missing in ("0" * 32, "not-an-id"):
        for method in ("GET", "DELETE"):
            response = await http.request(method, f"/waitlist/{missing}")
            assert_problem(response, 404, "waitlist-entry-not-found")
    assert dump_database(db) == full


async def test_a_join_or_a_leave_retried_with_its_key_happens_once(http: httpx.AsyncClient) -> None:
    await open_p1(http)
    key = {"Idempotency-Key": "join-once"}
    body = {**AFTERNOON, "clientId": "c1"}
    first = await http.post("/waitlist", json=body, headers=key)
    again = await http.post("/waitlist", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await line(http) == [("c1", 1, None)]
    path = f"/waitlist/{first.json()['entry']['waitlistId']}"
    leave = {"Idempotency-Key": "leave-once"}
    left = await http.delete(path, headers=leave)
    retried = await http.delete(path, headers=leave)
    assert (left.status_code, retried.status_code) == (200, 200), retried.text
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json() == left.json()
    assert_problem(await http.delete(path), 404, "waitlist-entry-not-found")


# --- offers ----------------------------------------------------------------------------------


async def test_free_time_in_the_window_is_offered_at_once_as_a_hold_the_feed_names(
    people: People,
) -> None:
    opened = await people["p1"].post(
        "/availability", json={"startTime": f"{DAY} 10:00:00", "endTime": f"{DAY} 11:00:00"}
    )
    assert opened.status_code == 201, opened.text
    first_slot = opened.json()["timeSlots"][0]
    after = (await people["admin"].get("/changes")).json()["lastSeq"]
    window = {"providerId": "p1", "from": f"{DAY} 10:00:00", "to": f"{DAY} 12:00:00"}
    offered = entry_of(await people["c1"].post("/waitlist", json={**window, "minutes": 30}), 201)
    assert (offered["status"], offered["position"]) == ("offered", 0)
    assert offered["offer"] == {
        "timeSlotId": first_slot["timeSlotId"],
        "timestamp": f"{DAY} 10:00:00",
        "expiresAt": f"2030-03-04 09:{OFFER_MINUTES}:00",  # --offer-minutes after the join
    }
    (held,) = (await people["c1"].get("/reservations")).json()["reservations"]
    assert (held["timeSlotId"], held["status"], held["minutes"]) == (
        first_slot["timeSlotId"],
        "RESERVED",
        30,
    )
    for who in ("c1", "p1", "admin", "c2"):
        feed = await people[who].get("/changes", params={"since": after})
        assert feed.status_code == 200, feed.text
        reserved = [c for c in feed.json()["changes"] if c["kind"] == "reserved"]
        assert [c["timestamp"] for c in reserved] == [f"{DAY} 10:00:00", f"{DAY} 10:15:00"]
        if who == "c2":  # someone else's hold: the time is taken, whose and why is not said
            assert all("waitlistId" not in c and "clientId" not in c for c in reserved)
        else:
            assert {(c["clientId"], c["waitlistId"]) for c in reserved} == {
                ("c1", offered["waitlistId"])
            }
