"""Malformed and refused requests over real HTTP: each gets a 4xx RFC 9457 problem document that
names what was wrong, and none of them changes a single row of the database.

The database is seeded first (through the API) so that there is something to damage: provider p1
has four slots on 7 March 2030 (one open, one held by c1, one booked by c2, one more open) and one
slot three hours after the fake clock's start, inside the 24-hour notice period.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.helpers import Api, assert_problem, dump_database

# --- the seeded state ----------------------------------------------------------------------------

OPEN_AT = "2030-03-07 10:00:00"
HELD_AT = "2030-03-07 10:15:00"  # held by c1
BOOKED_AT = "2030-03-07 10:30:00"  # reserved and confirmed by c2
SOON_AT = "2030-03-04 12:00:00"  # three hours after T0: inside the notice period

UNKNOWN_ID = "0123456789abcdef0123456789abcdef"  # well formed, but no slot has it

PLACEHOLDERS = ("{open}", "{held}", "{booked}", "{soon}")


@pytest.fixture
async def slot_ids(api: Api) -> dict[str, str]:
    """Seed the database through the API; return the ids that the cases' placeholders stand for."""
    later = await api.submit("p1", "2030-03-07 10:00:00", "2030-03-07 11:00:00")
    assert later.status_code == 201, later.text
    soon = await api.submit("p1", "2030-03-04 12:00:00", "2030-03-04 12:30:00")
    assert soon.status_code == 201, soon.text
    by_time = {s["timestamp"]: s for s in later.json()["timeSlots"] + soon.json()["timeSlots"]}

    held = await api.reserve("c1", by_time[HELD_AT])
    assert held.status_code == 201, held.text
    booked = await api.reserve("c2", by_time[BOOKED_AT])
    assert booked.status_code == 201, booked.text
    confirmed = await api.confirm(by_time[BOOKED_AT], client="c2")
    assert confirmed.status_code == 200, confirmed.text

    return {
        "{open}": by_time[OPEN_AT]["timeSlotId"],
        "{held}": by_time[HELD_AT]["timeSlotId"],
        "{booked}": by_time[BOOKED_AT]["timeSlotId"],
        "{soon}": by_time[SOON_AT]["timeSlotId"],
    }


def fill(value: Any, ids: Mapping[str, str]) -> Any:
    """Replace the placeholders ({open}, {held}, ...) in a path or a JSON value with real ids."""
    if isinstance(value, str):
        for placeholder, slot_id in ids.items():
            value = value.replace(placeholder, slot_id)
        return value
    if isinstance(value, bytes):
        return fill(value.decode("latin-1"), ids).encode("latin-1")
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    return value


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Where a case is sent: a method and a path (placeholders and query string included)."""

    method: str
    path: str


@dataclass(frozen=True)
class Case:
    """One malformed or refused request and the problem it must get back."""

    id: str
    route: Route
    status: int
    slug: str
    fields: tuple[str, ...] = ()
    """The `field` of each entry in the problem's `errors` (none when empty)."""
    json: Any = None
    """A JSON value to send as the body (None: send `content` instead, or nothing)."""
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    detail: str | None = None
    allow: frozenset[str] | None = None
    """The methods the `Allow` header must list (405 only)."""


Body = bytes | dict[str, Any] | None
"""Bytes are sent as they are (as application/json unless the case says otherwise); a dict as
JSON; None sends no body."""

JSON_TYPE = {"Content-Type": "application/json"}


def case(
    case_id: str,
    route: Route,
    body: Body,
    status: int,
    slug: str,
    fields: tuple[str, ...] = (),
    *,
    headers: Mapping[str, str] = JSON_TYPE,
    detail: str | None = None,
    allow: frozenset[str] | None = None,
) -> Case:
    if isinstance(body, bytes):
        return Case(case_id, route, status, slug, fields, None, body, headers, detail, allow)
    return Case(case_id, route, status, slug, fields, body, detail=detail, allow=allow)


def bad(case_id: str, route: Route, body: Body, *fields: str, **more: Any) -> Case:
    """A malformed request: 400, naming each bad field."""
    return case(case_id, route, body, 400, "invalid-request", fields, **more)


def breaks_rule(case_id: str, route: Route, body: Body, *fields: str) -> Case:
    """A well-formed request whose values break a booking rule: 422, naming the fields."""
    return case(case_id, route, body, 422, "rule-violation", fields)


def actor_required(case_id: str, route: Route, body: Body, *fields: str) -> Case:
    """A well-formed request that does not name the client or provider it is for, sent by a
    caller who acts for no one in particular (here: no-auth mode): 422, naming the field."""
    return case(case_id, route, body, 422, "actor-required", fields)


def refused(case_id: str, route: Route, body: Body, status: int, slug: str, **more: Any) -> Case:
    """A well-formed request about a slot that the rules refuse, or a route that is not there."""
    return case(case_id, route, body, status, slug, **more)


def window(drop: str = "", **changes: Any) -> dict[str, Any]:
    """A valid availability window for provider p2, with some fields changed or one dropped."""
    body: dict[str, Any] = {
        "providerId": "p2",
        "startTime": "2030-03-08 10:00:00",
        "endTime": "2030-03-08 11:00:00",
    }
    return {k: v for k, v in (body | changes).items() if k != drop}


def hold(drop: str = "", **changes: Any) -> dict[str, Any]:
    """A valid reserve of the open slot by client c3, with some fields changed or one dropped."""
    body: dict[str, Any] = {"clientId": "c3", "timeSlot": OPEN_AT, "timeSlotId": "{open}"}
    return {k: v for k, v in (body | changes).items() if k != drop}


def get(path: str) -> Route:
    return Route("GET", path)


def listing(params: str) -> Route:
    """GET /availability with a valid range and these extra parameters."""
    return get("/availability?startTime=2030-03-07T00:00:00Z&endTime=2030-03-08T00:00:00Z" + params)


def listing_range(start: str, end: str) -> Route:
    return get(f"/availability?startTime={start}&endTime={end}")


def confirm(slot: str) -> Route:
    return Route("PUT", f"/availability/confirm/{slot}")


def cancel(slot: str) -> Route:
    return Route("DELETE", f"/reservations/{slot}")


SUBMIT = Route("POST", "/availability")
REMOVE = Route("DELETE", "/availability")
RESERVE = Route("POST", "/availability/reserve")

FORM = b"providerId=p2&startTime=2030-03-08+10%3A00%3A00&endTime=2030-03-08+11%3A00%3A00"
WINDOW_JSON = json.dumps(window()).encode()
OVER_ONE_MIB = b'{"providerId": "' + b"p" * (1024 * 1024) + b'"}'
NESTED_TOO_DEEP = b"[" * 100_000
HUGE_CURSOR = base64.urlsafe_b64encode(b'[1000000000000000000000000000000, "p1"]').decode()
"""Decodes like a real cursor, but its time is far beyond any SQLite integer."""
DAY_RANGE = "startTime=2030-03-07T00:00:00Z&endTime=2030-03-08T00:00:00Z"
NOTICE = "Time slot must be at least 24 hours in the future"

CASES = [
    # --- bodies that are not a JSON object -------------------------------------------------------
    bad("submit-malformed-json", SUBMIT, b'{"providerId": "p2",', "body"),
    bad("submit-json-with-trailing-garbage", SUBMIT, b"{} {}", "body"),
    bad("submit-json-array", SUBMIT, b'["p2", "2030-03-08 10:00:00"]', "body"),
    bad("submit-json-string", SUBMIT, b'"p2"', "body"),
    bad("submit-json-number", SUBMIT, b"42", "body"),
    bad("submit-json-null", SUBMIT, b"null", "body"),
    bad("submit-json-nested-100000-deep", SUBMIT, NESTED_TOO_DEEP, "body"),
    bad("submit-bytes-not-utf8", SUBMIT, b'{"providerId": "\xff\xfe"}', "body"),
    bad("submit-empty-body", SUBMIT, b"", "body"),
    bad("submit-blank-body-no-content-type", SUBMIT, b"  \n ", "body", headers={}),
    bad("reserve-single-quoted-json", RESERVE, b"{'clientId': 'c3'}", "body"),
    bad("confirm-empty-body", confirm("{held}"), b"", "body"),
    bad("remove-json-array", REMOVE, b"[]", "body"),
    bad("cancel-json-string", cancel("{held}?clientId=c1"), b'"c1"', "body"),
    # --- bodies not sent as JSON -----------------------------------------------------------------
    refused(
        "submit-form-encoded",
        SUBMIT,
        FORM,
        415,
        "unsupported-media-type",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    refused(
        "reserve-json-sent-as-text-plain",
        RESERVE,
        b'{"clientId": "c3", "timeSlot": "2030-03-07 10:00:00", "timeSlotId": "{open}"}',
        415,
        "unsupported-media-type",
        headers={"Content-Type": "text/plain"},
    ),
    refused("submit-body-over-1-MiB", SUBMIT, OVER_ONE_MIB, 413, "body-too-large"),
    # --- a Host header that is no host (absolute addresses are built from it) ---------------------
    bad(
        "submit-host-with-path-and-query",
        SUBMIT,
        WINDOW_JSON,
        headers={**JSON_TYPE, "Host": "a/b?c#d@e"},
        detail="Host 'a/b?c#d@e' is not a host name or an IP address (an IPv6 address in"
        " brackets) with an optional port, such as 'booking.example.org' or '127.0.0.1:8080'",
    ),
    bad(
        "reserve-host-with-user",
        RESERVE,
        json.dumps(hold()).encode(),
        headers={**JSON_TYPE, "Host": "evil@booking.example.org"},
    ),
    # --- missing fields --------------------------------------------------------------------------
    actor_required("submit-missing-providerId", SUBMIT, window(drop="providerId"), "providerId"),
    bad("submit-missing-startTime", SUBMIT, window(drop="startTime"), "startTime"),
    bad("submit-missing-endTime", SUBMIT, window(drop="endTime"), "endTime"),
    bad("submit-empty-object", SUBMIT, {}, "providerId", "startTime", "endTime"),
    actor_required("reserve-missing-clientId", RESERVE, hold(drop="clientId"), "clientId"),
    bad("reserve-missing-timeSlot", RESERVE, hold(drop="timeSlot"), "timeSlot"),
    bad("reserve-missing-timeSlotId", RESERVE, hold(drop="timeSlotId"), "timeSlotId"),
    bad("confirm-missing-timeSlot", confirm("{held}"), {"clientId": "c1"}, "timeSlot"),
    bad("remove-missing-endTime", REMOVE, window(drop="endTime"), "endTime"),
    # --- wrong types -----------------------------------------------------------------------------
    bad("submit-providerId-is-a-number", SUBMIT, window(providerId=7), "providerId"),
    bad("submit-startTime-is-a-bool", SUBMIT, window(startTime=True), "startTime"),
    bad("reserve-timeSlot-is-a-list", RESERVE, hold(timeSlot=[OPEN_AT]), "timeSlot"),
    bad("reserve-clientId-is-an-object", RESERVE, hold(clientId={"id": "c3"}), "clientId"),
    bad("reserve-timeSlotId-is-null", RESERVE, hold(timeSlotId=None), "timeSlotId"),
    bad("cancel-clientId-is-a-number", cancel("{held}"), {"clientId": 1}, "clientId"),
    # --- ids that break the id rules -------------------------------------------------------------
    bad("submit-providerId-empty", SUBMIT, window(providerId=""), "providerId"),
    bad("reserve-clientId-whitespace-only", RESERVE, hold(clientId="   "), "clientId"),
    bad("reserve-clientId-leading-space", RESERVE, hold(clientId=" c3"), "clientId"),
    bad("submit-providerId-129-chars", SUBMIT, window(providerId="p" * 129), "providerId"),
    bad("reserve-clientId-with-NUL", RESERVE, hold(clientId="c\x003"), "clientId"),
    bad("submit-providerId-with-newline", SUBMIT, window(providerId="p\n2"), "providerId"),
    bad("reserve-clientId-trailing-newline", RESERVE, hold(clientId="c3\n"), "clientId"),
    bad("submit-providerId-leading-NEL", SUBMIT, window(providerId="\x85p2"), "providerId"),
    bad("reserve-clientId-trailing-BOM", RESERVE, hold(clientId="c3\ufeff"), "clientId"),
    bad(
        "provider-slots-leading-NEL",
        get(f"/providers/%C2%85p1/slots?{DAY_RANGE}"),
        None,
        "providerId",
    ),
    bad("reserve-timeSlotId-trailing-newline", RESERVE, hold(timeSlotId="{open}\n"), "timeSlotId"),
    bad("reserve-timeSlotId-not-32-hex", RESERVE, hold(timeSlotId="no-such-id"), "timeSlotId"),
    bad("reserve-timeSlotId-uppercase", RESERVE, hold(timeSlotId=UNKNOWN_ID.upper()), "timeSlotId"),
    bad(
        "reservations-clientId-129-chars",
        get("/reservations?clientId=" + "c" * 129),
        None,
        "clientId",
    ),
    bad(
        "provider-slots-control-char", get(f"/providers/p%01/slots?{DAY_RANGE}"), None, "providerId"
    ),
    # --- unknown fields --------------------------------------------------------------------------
    bad(
        "reserve-clientID-typo",
        RESERVE,
        {"clientID": "c3", **hold(drop="clientId")},
        "clientID",
        "clientId",
    ),
    bad("submit-extra-field", SUBMIT, window(duration=15), "duration"),
    # --- times that are not times ----------------------------------------------------------------
    bad("submit-february-30", SUBMIT, window(startTime="2030-02-30 10:00:00"), "startTime"),
    bad("submit-hour-25", SUBMIT, window(endTime="2030-03-08 25:00:00"), "endTime"),
    bad("submit-minute-61", SUBMIT, window(startTime="2030-03-08 10:61:00"), "startTime"),
    bad("submit-month-13", SUBMIT, window(startTime="2030-13-08 10:00:00"), "startTime"),
    bad("submit-offset-over-24h", SUBMIT, window(startTime="2030-03-08T10:00+25:00"), "startTime"),
    bad(
        "submit-times-are-words",
        SUBMIT,
        window(startTime="soon", endTime="later"),
        "startTime",
        "endTime",
    ),
    bad(
        "submit-window-in-year-9999",
        SUBMIT,
        window(startTime="9999-12-31T23:00:00Z", endTime="9999-12-31T23:30:00-01:00"),
        "startTime",
        "endTime",
    ),
    bad("reserve-timeSlot-is-text", RESERVE, hold(timeSlot="next tuesday"), "timeSlot"),
    bad(
        "submit-startTime-wrapped-in-ideographic-space",
        SUBMIT,
        window(startTime="\u30002030-03-08 10:00:00"),
        "startTime",
    ),
    bad(
        "reserve-timeSlot-in-1969", RESERVE, hold(timeSlot="1969-12-31T23:00:00-01:00"), "timeSlot"
    ),
    bad(
        "reserve-timeSlot-before-year-1",
        RESERVE,
        hold(timeSlot="0001-01-01T00:00+01:00"),
        "timeSlot",
    ),
    # --- windows that break a rule (well formed: 422) --------------------------------------------
    breaks_rule(
        "submit-start-before-1970-by-its-offset",
        SUBMIT,
        window(startTime="1970-01-01T00:00:00+01:00"),
        "startTime",
    ),
    breaks_rule(
        "list-end-in-9999-by-its-offset",
        listing_range("2030-03-07T00:00:00Z", "9998-12-31T23:30:00-01:00"),
        None,
        "endTime",
    ),
    breaks_rule(
        "submit-start-off-the-grid", SUBMIT, window(startTime="2030-03-08 10:07:00"), "startTime"
    ),
    breaks_rule(
        "submit-end-off-the-grid", SUBMIT, window(endTime="2030-03-08 10:50:30"), "endTime"
    ),
    breaks_rule(
        "submit-end-equals-start", SUBMIT, window(endTime="2030-03-08 10:00:00"), "endTime"
    ),
    breaks_rule(
        "submit-end-before-start", SUBMIT, window(endTime="2030-03-08 09:00:00"), "endTime"
    ),
    breaks_rule(
        "submit-window-in-the-past",
        SUBMIT,
        window(startTime="2030-03-01 10:00:00", endTime="2030-03-01 11:00:00"),
        "startTime",
    ),
    breaks_rule(
        "submit-window-over-31-days", SUBMIT, window(endTime="2030-04-09 10:15:00"), "endTime"
    ),
    breaks_rule(
        "remove-end-before-start", REMOVE, window(endTime="2030-03-08 09:00:00"), "endTime"
    ),
    # --- listing: the query string ---------------------------------------------------------------
    bad("list-missing-both-times", get("/availability"), None, "startTime", "endTime"),
    bad(
        "list-missing-startTime",
        get("/availability?endTime=2030-03-08T00:00:00Z"),
        None,
        "startTime",
    ),
    bad(
        "list-missing-endTime", get("/availability?startTime=2030-03-07T00:00:00Z"), None, "endTime"
    ),
    bad(
        "list-startTime-given-twice", listing("&startTime=2030-03-07T01:00:00Z"), None, "startTime"
    ),
    bad("list-unknown-parameter", listing("&provider=p1"), None, "provider"),
    bad("list-limit-zero", listing("&limit=0"), None, "limit"),
    bad("list-limit-5001", listing("&limit=5001"), None, "limit"),
    bad("list-limit-not-a-number", listing("&limit=abc"), None, "limit"),
    bad("list-bogus-cursor", listing("&cursor=bogus"), None, "cursor"),
    bad("list-cursor-with-huge-number", listing("&cursor=" + HUGE_CURSOR), None, "cursor"),
    bad("list-cursor-start-16-digits", listing("&cursor=1234567890123456:p1"), None, "cursor"),
    bad("list-cursor-without-provider", listing("&cursor=1914321600:"), None, "cursor"),
    bad("list-providerId-empty", listing("&providerId="), None, "providerId"),
    bad(
        "list-endTime-day-32",
        listing_range("2030-03-07T00:00:00Z", "2030-03-32T00:00:00Z"),
        None,
        "endTime",
    ),
    breaks_rule(
        "list-range-over-31-days",
        listing_range("2030-03-07T00:00:00Z", "2030-04-08T00:00:00Z"),
        None,
        "endTime",
    ),
    breaks_rule(
        "list-end-before-start",
        listing_range("2030-03-08T00:00:00Z", "2030-03-07T00:00:00Z"),
        None,
        "endTime",
    ),
    actor_required("reservations-without-clientId", get("/reservations"), None, "clientId"),
    # --- slots that do not exist -----------------------------------------------------------------
    refused(
        "reserve-unknown-timeSlotId", RESERVE, hold(timeSlotId=UNKNOWN_ID), 404, "slot-not-found"
    ),
    refused(
        "confirm-path-id-not-32-hex",
        confirm("no-such-id"),
        {"timeSlot": HELD_AT},
        404,
        "slot-not-found",
    ),
    refused(
        "confirm-unknown-path-id", confirm(UNKNOWN_ID), {"timeSlot": HELD_AT}, 404, "slot-not-found"
    ),
    refused("cancel-path-id-not-32-hex", cancel("1234?clientId=c1"), None, 404, "slot-not-found"),
    # --- requests the booking rules refuse -------------------------------------------------------
    refused(
        "reserve-timeSlot-mismatch", RESERVE, hold(timeSlot=HELD_AT), 422, "slot-time-mismatch"
    ),
    refused(
        "reserve-inside-notice-period",
        RESERVE,
        hold(timeSlot=SOON_AT, timeSlotId="{soon}"),
        422,
        "notice-too-short",
        detail=NOTICE,
    ),
    refused(
        "reserve-slot-held-by-another",
        RESERVE,
        hold(timeSlot=HELD_AT, timeSlotId="{held}"),
        409,
        "slot-taken",
        detail="Time slot not available",
    ),
    refused(
        "reserve-slot-booked-by-another",
        RESERVE,
        hold(timeSlot=BOOKED_AT, timeSlotId="{booked}"),
        409,
        "slot-taken",
        detail="Time slot not available",
    ),
    refused(
        "confirm-timeSlot-mismatch",
        confirm("{held}"),
        {"timeSlot": OPEN_AT, "clientId": "c1"},
        422,
        "slot-time-mismatch",
    ),
    refused(
        "confirm-by-another-client",
        confirm("{held}"),
        {"timeSlot": HELD_AT, "clientId": "c9"},
        403,
        "not-your-reservation",
    ),
    refused(
        "confirm-open-slot",
        confirm("{open}"),
        {"timeSlot": OPEN_AT, "clientId": "c3"},
        409,
        "not-held",
    ),
    actor_required("cancel-naming-no-caller", cancel("{held}"), None, "clientId"),
    refused("cancel-open-slot", cancel("{open}?clientId=c1"), None, 409, "nothing-to-cancel"),
    refused(
        "cancel-another-clients-booking",
        cancel("{booked}?clientId=c1"),
        None,
        403,
        "not-your-reservation",
    ),
    # --- routing ---------------------------------------------------------------------------------
    refused("unknown-route", get("/appointments"), None, 404, "not-found"),
    refused("unknown-problem-type", get("/problems/no-such-problem"), None, 404, "not-found"),
    refused(
        "PATCH-availability",
        Route("PATCH", "/availability"),
        window(),
        405,
        "method-not-allowed",
        allow=frozenset({"GET", "HEAD", "POST", "DELETE"}),
    ),
    refused(
        "GET-reserve",
        get("/availability/reserve"),
        None,
        405,
        "method-not-allowed",
        allow=frozenset({"POST"}),
    ),
]


def test_the_table_holds_at_least_45_distinct_requests() -> None:
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids), "two cases share an id"
    requests = {(c.route, repr(c.json), c.content, tuple(sorted(c.headers.items()))) for c in CASES}
    assert len(requests) == len(CASES), "two cases send the same request"
    assert len(CASES) >= 45


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_a_malformed_request_gets_a_problem_and_changes_nothing(
    case: Case, http: httpx.AsyncClient, db: str, slot_ids: dict[str, str]
) -> None:
    before = dump_database(db)

    response = await http.request(
        case.route.method,
        fill(case.route.path, slot_ids),
        json=fill(case.json, slot_ids) if case.json is not None else None,
        content=fill(case.content, slot_ids),
        headers=case.headers,
    )

    assert "Traceback" not in response.text
    problem = assert_problem(response, case.status, case.slug)
    assert isinstance(problem["detail"], str)
    assert problem["detail"].strip()
    errors = problem.get("errors", [])
    assert sorted(e["field"] for e in errors) == sorted(case.fields), problem
    assert all(isinstance(e["message"], str) and e["message"] for e in errors), problem
    if case.detail is not None:
        assert problem["detail"] == case.detail
    if case.status == 405:
        allowed = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
        assert allowed, "a 405 must say in `Allow` which methods the route takes"
        if case.allow is not None:
            assert allowed == case.allow
    assert dump_database(db) == before
