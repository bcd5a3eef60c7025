"""The small things an API user meets first: methods a client may reasonably send, messages that
state the real limits and say what to do, and query strings that are read or refused, never
ignored. Over real HTTP against the real app; these do not depend on the store, so they run on
SQLite only.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import People, assert_problem, dump_database

DAY = "2030-03-07"
"""Three days after the fake clock's start: past the 24-hour notice."""


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


@pytest.fixture
async def slots(people: People) -> list[dict[str, Any]]:
    """Four open slots of provider p1, 10:00 to 11:00 on DAY."""
    answer = await people["p1"].post(
        "/availability", json={"startTime": f"{DAY} 10:00:00", "endTime": f"{DAY} 11:00:00"}
    )
    assert answer.status_code == 201, answer.text
    found: list[dict[str, Any]] = answer.json()["timeSlots"]
    return found


async def hold(client: httpx.AsyncClient, slot: dict[str, Any]) -> None:
    held = await client.post(
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
    )
    assert held.status_code == 201, held.text


async def test_head_answers_every_get_but_the_stream_with_headers_only(people: People) -> None:
    for path in ("/healthz", "/me", "/providers", "/openapi.json", "/rules"):
        got = await people["c1"].get(path)
        head = await people["c1"].head(path)
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
    stream = await people["c1"].head("/events")  # a stream never ends: no HEAD for it
    assert stream.status_code == 405
    assert stream.headers["Allow"] == "GET"


async def test_head_needs_a_token_as_get_does(anonymous: httpx.AsyncClient) -> None:
    answer = await anonymous.head("/reservations")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="slotbook"'


async def test_options_says_which_methods_a_path_takes(anonymous: httpx.AsyncClient) -> None:
    answer = await anonymous.options("/availability")
    assert answer.status_code == 204
    assert answer.headers["Allow"] == "DELETE,GET,HEAD,OPTIONS,POST"
    assert (await anonymous.options("/availability/confirm/" + "a" * 32)).headers[
        "Allow"
    ] == "OPTIONS,PUT"
    assert_problem(await anonymous.options("/no-such-path"), 404, "not-found")


@pytest.mark.parametrize(
    ("path", "params", "field", "message"),
    [
        ("/changes", {"limit": "5000"}, "limit", "must be a whole number from 1 to 1000"),
        ("/changes", {"limit": "abc"}, "limit", "must be a whole number from 1 to 1000"),
        ("/changes", {"limit": "1e3"}, "limit", "must be a whole number from 1 to 1000"),
        ("/changes", {"wait": "abc"}, "wait", "must be a number from 0 to 30"),
        ("/changes", {"since": "-1"}, "since", "must be a whole number from 0 to"),
        (
            "/availability",
            {"startTime": f"{DAY} 10:00:00", "endTime": f"{DAY} 11:00:00", "limit": "0"},
            "limit",
            "must be a whole number from 1 to 5000",
        ),
        (
            "/availability",
            {"startTime": f"{DAY}T10:00:00 01:00", "endTime": f"{DAY} 11:00:00"},
            "startTime",
            "a '+' in a URL's query string means a space, so write it as %2B",
        ),
        ("/me", {"x": "1"}, "x", "is not a parameter of this request"),
        ("/providers", {"_": "123"}, "_", "is not a parameter of this request"),
    ],
)
async def test_a_query_parameter_is_read_as_written_or_refused_saying_why(
    people: People, path: str, params: dict[str, str], field: str, message: str
) -> None:
    answer = await people["admin"].get(path, params=params)
    problem = assert_problem(answer, 400, "invalid-request")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert message in problem["errors"][0]["message"], problem


async def test_numbers_in_a_query_may_have_leading_zeros(people: People) -> None:
    answer = await people["admin"].get("/changes", params={"since": "00", "limit": "05"})
    assert answer.status_code == 200, answer.text


async def test_a_clientid_in_a_confirms_query_is_refused_not_ignored(
    people: People, slots: list[dict[str, Any]], db: str
) -> None:
    slot = slots[0]
    await hold(people["c1"], slot)
    before = dump_database(db)

    answer = await people["admin"].put(
        f"/availability/confirm/{slot['timeSlotId']}",
        params={"clientId": "c2"},
        json={"timeSlot": slot["timestamp"]},
    )

    problem = assert_problem(answer, 400, "invalid-request")
    assert problem["errors"] == [
        {"field": "clientId", "message": "belongs in the JSON body, not the query string"}
    ]
    assert dump_database(db) == before


async def test_a_removal_sent_in_the_query_string_says_where_the_times_go(
    people: People, slots: list[dict[str, Any]]
) -> None:
    answer = await people["p1"].delete(
        "/availability", params={"startTime": f"{DAY} 10:00:00", "endTime": f"{DAY} 11:00:00"}
    )
    problem = assert_problem(answer, 400, "invalid-request")
    assert {e["field"] for e in problem["errors"]} == {"startTime", "endTime"}
    assert "belongs in the JSON body" in problem["detail"]


async def test_two_idempotency_keys_are_refused(
    people: People, slots: list[dict[str, Any]]
) -> None:
    slot = slots[0]
    answer = await people["c1"].post(
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
        headers=[("Idempotency-Key", "k1"), ("Idempotency-Key", "k2")],
    )
    problem = assert_problem(answer, 400, "invalid-request")
    assert "Idempotency-Key is given 2 times" in problem["detail"]
    assert (await people["c1"].get("/reservations")).json()["reservations"] == []


async def test_a_client_token_naming_a_provider_on_cancel_is_refused(
    people: People, slots: list[dict[str, Any]]
) -> None:
    slot = slots[0]
    await hold(people["c1"], slot)
    by_client = await people["c1"].delete(
        f"/reservations/{slot['timeSlotId']}", params={"providerId": "p2"}
    )
    by_provider = await people["p1"].delete(
        f"/reservations/{slot['timeSlotId']}", params={"clientId": "c1"}
    )
    assert_problem(by_client, 403, "forbidden")
    assert_problem(by_provider, 403, "forbidden")
    assert len((await people["c1"].get("/reservations")).json()["reservations"]) == 1


async def test_the_hold_limit_counts_in_words_that_agree(people: People) -> None:
    answer = await people["p1"].post(
        "/availability", json={"startTime": f"{DAY} 12:00:00", "endTime": f"{DAY} 14:00:00"}
    )
    spare = answer.json()["timeSlots"]
    for slot in spare[:5]:
        await hold(people["c2"], slot)
    refused = await people["c2"].post(
        "/availability/reserve",
        json={"timeSlot": spare[5]["timestamp"], "timeSlotId": spare[5]["timeSlotId"]},
    )
    problem = assert_problem(refused, 409, "too-many-holds")
    assert problem["detail"].startswith("You already hold 5 appointments, the most allowed")
    assert "confirm or cancel one" in problem["detail"]


async def test_a_401_says_what_was_wrong_in_the_words_rfc_6750_uses(
    anonymous: httpx.AsyncClient, people: People
) -> None:
    basic = await anonymous.get("/me", headers={"Authorization": "Basic YTpi"})
    problem = assert_problem(basic, 401, "unauthorized")
    assert problem["detail"].startswith("Only bearer tokens are accepted")
    assert basic.headers["WWW-Authenticate"] == 'Bearer realm="slotbook"'

    in_query = await anonymous.get("/me", params={"access_token": people.tokens["c1"]})
    problem = assert_problem(in_query, 401, "unauthorized")
    assert "A token in the query string is not accepted" in problem["detail"]

    wrong = await anonymous.get("/me", headers={"Authorization": "Bearer sbk_nope"})
    assert wrong.headers["WWW-Authenticate"] == 'Bearer realm="slotbook", error="invalid_token"'


async def test_a_trailing_slash_is_pointed_out(people: People) -> None:
    problem = assert_problem(await people["c1"].get("/providers/"), 404, "not-found")
    assert problem["detail"] == "No route GET /providers/: leave out the trailing '/'"


async def test_a_feed_position_ahead_of_the_log_is_explained(people: People) -> None:
    answer = await people["admin"].get("/changes", params={"since": "99999"})
    problem = assert_problem(answer, 410, "changes-gone")
    assert problem["detail"].startswith("There is no change 99999: the newest in the log is 0")


async def test_a_malformed_body_field_is_explained_in_words_not_a_pattern(
    people: People,
) -> None:
    for body, field, message in [
        ({"role": "Client", "name": "X", "subject": "c9"}, "role", "must be one of"),
        ({"role": "client", "name": "X" * 101, "subject": "c9"}, "name", "must be 1-100 visible"),
        ({"role": "client", "name": " X", "subject": "c9"}, "name", "no space at either end"),
    ]:
        answer = await people["admin"].post("/tokens", json=body)
        problem = assert_problem(answer, 400, "invalid-request")
        assert problem["errors"][0]["field"] == field
        assert message in problem["errors"][0]["message"]
        assert "regex" not in answer.text
    empty = await people["c1"].post(
        "/availability/reserve", json={"timeSlot": "", "timeSlotId": "0" * 32}
    )
    problem = assert_problem(empty, 400, "invalid-request")
    assert problem["errors"][0]["message"].startswith("must be a time of at most 64 characters")
