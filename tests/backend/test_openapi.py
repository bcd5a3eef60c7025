"""GET /openapi.json is the spec the server really serves: every route it has, nothing it lacks, and
bodies that match what the server actually sends back.

The answers of real calls are validated against the schemas the document declares, with
jsonschema-rs (the JSON Schema validator schemathesis brings along); importing it in tests is fine.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import jsonschema_rs
import msgspec
import pytest
from aiohttp.test_utils import TestServer

import shared.booking_page_wire
import shared.busy_wire
import shared.calendar_wire
import shared.calendar_write_wire
import shared.conflict_wire
import shared.mail_wire
import shared.manage_wire
import shared.profile_wire
import shared.schedule_wire
import shared.service_wire
import shared.waitlist_wire
import shared.webhook_wire
import shared.wire
from backend.app import OPERATIONS, create_app
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from shared.timefmt import TIME_PATTERN
from tests.backend.webhook_receivers import Receiver, listening
from tests.helpers import JSON

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
SCHEMAS = "#/components/schemas/"
SPEC_URI = "urn:slotbook:openapi"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
async def spec(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/openapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation the document describes."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def refs(node: Any) -> Iterator[str]:
    """Every $ref anywhere below this node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


WIRE_MODULES = (
    shared.wire,
    shared.schedule_wire,
    shared.calendar_wire,
    shared.webhook_wire,
    shared.service_wire,
    shared.mail_wire,
    shared.manage_wire,
    shared.booking_page_wire,
    shared.conflict_wire,
    shared.profile_wire,
    shared.busy_wire,
    shared.calendar_write_wire,
    shared.waitlist_wire,
)
"""The modules of the wire contract: shared/wire.py, and the shapes of schedules, calendar feeds
and webhooks beside it."""


def wire_structs() -> dict[str, type[msgspec.Struct]]:
    """The msgspec Structs that the wire modules define, by name."""
    return {
        name: kind
        for module in WIRE_MODULES
        for name, kind in vars(module).items()
        if inspect.isclass(kind)
        and issubclass(kind, msgspec.Struct)
        and kind.__module__ == module.__name__
    }


# --- the document's shape --------------------------------------------------------------------


async def test_the_document_is_openapi_3_1_with_a_title_and_version(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] == "slotbook"
    assert spec["info"]["version"]
    assert spec["components"]["schemas"]


async def test_every_operation_in_the_route_table_is_documented_with_its_method(
    spec: dict[str, Any],
) -> None:
    for op in OPERATIONS:
        documented = spec["paths"].get(op.path, {}).get(op.method.lower())
        assert documented is not None, f"{op.method} {op.path} is missing from paths"
        assert documented["operationId"] == op.operation_id


async def test_the_router_and_the_paths_list_exactly_the_same_routes(
    spec: dict[str, Any], server: TestServer
) -> None:
    app = server.app
    assert app is not None
    routed = {
        (resource.canonical, route.method.lower())
        for resource in app.router.resources()
        for route in resource
    }
    documented = {(path, method) for path, method, _ in operations(spec)}
    # HEAD is GET without the body (RFC 9110): every GET but the event stream answers it too.
    heads = {(path, "head") for path, method in documented if method == "get"} - {
        ("/events", "head")
    }
    assert {r for r in routed if r[1] == "head"} == heads
    routed -= heads
    assert routed - documented == set(), "routes the document does not describe"
    assert documented - routed == set(), "documented routes the server does not have"


MEDIA_TYPES = {
    "/events": "text/event-stream",
    "/calendar/{secret}.ics": "text/calendar",
    "/metrics": "text/plain",
    "/manage/{secret}": "text/html",
    "/book": "text/html",
    "/book/{providerId}": "text/html",
    "/book/{providerId}/start": "text/html",
    "/book/{providerId}/sent/{ref}": "text/html",
    "/book/{providerId}/book-with-token": "text/html",
    "/confirm/{secret}": "text/html",
    "/assets/{name}": "text/css",
}
"""What the operations that do not answer JSON answer."""

PAGES = {
    "/manage/{secret}",
    "/manage/{secret}/cancel",
    "/manage/{secret}/move",
    "/book",
    "/book/{providerId}",
    "/book/{providerId}/start",
    "/book/{providerId}/hold",
    "/book/{providerId}/book-with-token",
    "/book/{providerId}/sent/{ref}",
    "/confirm/{secret}",
}
"""The server's pages and their forms (the manage link's, the booking page's): a person reads
their answers, refusals included, as HTML, and the forms post as browsers do
(application/x-www-form-urlencoded)."""
HTML = "text/html"
FORM = "application/x-www-form-urlencoded"


async def test_every_operation_has_a_unique_id_and_declares_its_success_statuses(
    spec: dict[str, Any],
) -> None:
    ids = []
    for path, method, operation in operations(spec):
        assert operation.get("operationId"), f"{method} {path} has no operationId"
        ids.append(operation["operationId"])
        successes = [status for status in operation["responses"] if status.startswith("2")]
        see_other = path in PAGES and "303" in operation["responses"]  # a form: back to its page
        assert successes or see_other, f"{method} {path} declares no success status"
        for status in successes:
            media = MEDIA_TYPES.get(path, "application/json")
            assert list(operation["responses"][status]["content"]) == [media]
        for status in (s for s in operation["responses"] if s.startswith("3")):
            assert "content" not in operation["responses"][status], (path, status)  # no body
    assert len(ids) == len(set(ids)), "two operations share an operationId"


async def test_reserve_documents_the_original_calls_query_times_as_deprecated_and_no_more(
    spec: dict[str, Any],
) -> None:
    reserve = spec["paths"]["/availability/reserve"]["post"]
    in_query = {p["name"]: p for p in reserve["parameters"] if p["in"] == "query"}
    assert set(in_query) == {"startTime", "endTime"}
    for param in in_query.values():
        assert param["required"] is False
        assert param["deprecated"] is True
        assert "ignored" in param["schema"]["description"]
        assert param["schema"]["pattern"] == TIME_PATTERN  # checked as a time
    assert "ignored" in reserve["description"]


async def test_every_ref_resolves_to_a_component_schema(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    found = list(refs(spec))
    assert found
    for ref in found:
        assert ref.startswith(SCHEMAS), ref
        assert ref.removeprefix(SCHEMAS) in schemas, f"{ref} points at no schema"


async def test_every_failure_is_a_problem_document_with_the_problem_schema(
    spec: dict[str, Any],
) -> None:
    problem_schema = {"schema": {"$ref": SCHEMAS + "Problem"}}
    page = {HTML: {"schema": {"type": "string"}}}
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) >= 400 and status != "503":
                expected = page if path in PAGES else {PROBLEM_JSON: problem_schema}
                assert response["content"] == expected, (method, path, status)
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "message"}
    assert problem["properties"]["errors"]["items"] == {"$ref": SCHEMAS + "FieldError"}


async def test_operations_that_read_a_body_declare_400_413_and_415(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        if "requestBody" in operation:
            declared = {"400"} if path in PAGES else {"400", "413", "415"}
            assert declared <= set(operation["responses"]), (method, path)


async def test_request_bodies_are_the_wire_structs_of_shared_wire(spec: dict[str, Any]) -> None:
    structs = wire_structs()
    by_route = {(op.path, op.method.lower()): op for op in OPERATIONS}
    for path, method, operation in operations(spec):
        body = operation.get("requestBody")
        if method in {"post", "put"}:
            assert body is not None, f"{method} {path} documents no request body"
        if body is None:
            continue
        media = FORM if path in PAGES else "application/json"
        assert list(body["content"]) == [media]
        name = body["content"][media]["schema"]["$ref"].removeprefix(SCHEMAS)
        assert name in structs, f"{method} {path} takes {name}, which is not a wire Struct"
        op = by_route[path, method]
        assert structs[name] is (op.form if path in PAGES else op.body)
        _, generated = msgspec.json.schema_components(
            [structs[name]], ref_template=SCHEMAS + "{name}"
        )
        assert spec["components"]["schemas"][name] == generated[name]


def test_every_field_of_an_appointment_type_has_an_example(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]

    def example_in(schema: Mapping[str, Any]) -> bool:
        if "examples" in schema or "$ref" in schema:
            return True
        return any(example_in(s) for s in schema.get("anyOf", []))

    for name in ("ServiceRequest", "ServicePatch", "Service", "ServiceAnswer"):
        for field_name, schema in schemas[name]["properties"].items():
            assert example_in(schema) or schema.get("type") == "array", (name, field_name)
    for name in ("TimeSlot", "Change", "ReserveRequest"):
        for field_name, schema in schemas[name]["properties"].items():
            if "service" in field_name or "buffer" in field_name:
                assert example_in(schema), (name, field_name)


# --- who may call what ---------------------------------------------------------------------------

PUBLIC = {
    ("/healthz", "get"),
    ("/rules", "get"),
    ("/openapi.json", "get"),
    ("/problems/{slug}", "get"),
    ("/calendar/{secret}.ics", "get"),
    ("/manage/{secret}", "get"),
    ("/manage/{secret}/cancel", "post"),
    ("/manage/{secret}/move", "post"),
    ("/book", "get"),
    ("/book/{providerId}", "get"),
    ("/book/{providerId}/start", "get"),
    ("/book/{providerId}/hold", "post"),
    ("/book/{providerId}/book-with-token", "post"),
    ("/book/{providerId}/sent/{ref}", "get"),
    ("/confirm/{secret}", "get"),
    ("/confirm/{secret}", "post"),
    ("/assets/{name}", "get"),
}
"""The operations anyone may call, without a token."""


async def test_the_document_declares_bearer_tokens_and_requires_them_by_default(
    spec: dict[str, Any],
) -> None:
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert spec["security"] == [{"bearer": []}]


async def test_public_operations_need_no_token_and_every_other_declares_401(
    spec: dict[str, Any],
) -> None:
    assert {(op.path, op.method.lower()) for op in OPERATIONS if op.public} == PUBLIC
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        if (path, method) in PUBLIC:
            assert operation.get("security") == [], (method, path)
            assert "401" not in responses, (method, path)
        else:
            assert operation.get("security", spec["security"]) == [{"bearer": []}], (method, path)
            assert "401" in responses, (method, path)
            assert "WWW-Authenticate" in responses["401"]["description"], (method, path)


async def test_every_operation_declares_429(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        assert "429" in operation["responses"], (method, path)


# --- real answers against the declared schemas -------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One real answer, and the operation it came from."""

    method: str
    path: str
    """The path template, as the document writes it."""
    response: httpx.Response


@dataclass
class Recorder:
    """Makes calls by path template and remembers every answer."""

    http: httpx.AsyncClient
    seen: list[Seen] = field(default_factory=list)

    async def call(
        self,
        method: str,
        path: str,
        expect: int,
        *,
        ids: Mapping[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        response = await self.http.request(method, path.format_map(ids or {}), **kw)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        self.seen.append(Seen(method.lower(), path, response))
        return response


def closed(components: Mapping[str, Any]) -> dict[str, Any]:
    """The component schemas with no undeclared properties allowed: an answer carrying a field the
    document does not describe fails validation."""
    strict = copy.deepcopy(dict(components))

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for item in node:
                close(item)

    close(strict)
    return strict


def closed_registry(spec: Mapping[str, Any]) -> jsonschema_rs.Registry:
    """The document, its component schemas closed, for resolving the $refs of its schemas."""
    document = {**spec, "components": {"schemas": closed(spec["components"]["schemas"])}}
    return jsonschema_rs.Registry([(SPEC_URI, document)], draft=jsonschema_rs.Draft202012)


def validator_for(schema: Mapping[str, Any], registry: jsonschema_rs.Registry) -> Any:
    """A validator of one of the document's schemas (a $ref into it, or written out)."""
    if "$ref" in schema:
        schema = {"$ref": SPEC_URI + schema["$ref"]}
    return jsonschema_rs.validator_for(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema},
        registry=registry,
    )


WINDOW = {"providerId": "p1", "startTime": "2030-03-06 10:00:00", "endTime": "2030-03-06 11:00:00"}
LISTING = {"startTime": "2030-03-06 00:00:00", "endTime": "2030-03-07 00:00:00"}
RESERVE = "/availability/reserve"
CONFIRM = "/availability/confirm/{timeSlotId}"
CANCEL = "/reservations/{timeSlotId}"


def hold(slot: Mapping[str, Any], client: str) -> dict[str, str]:
    return {"clientId": client, "timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]}


async def exercise_every_operation(rec: Recorder, clock: ManualClock) -> None:
    """Real calls: each operation's successes, and the failures that are easy to provoke."""
    slots = await exercise_availability(rec)
    await exercise_reserve(rec, slots)
    await exercise_confirm(rec, clock, slots)
    await exercise_cancel_and_the_rest(rec, slots)
    await exercise_access(rec)
    await exercise_schedule(rec)
    await exercise_calendar_write(rec)
    await exercise_feed(rec)
    await exercise_calendar_feeds(rec)
    await exercise_webhooks(rec)
    await exercise_services(rec)
    await exercise_busy_sources(rec)
    await exercise_provider_profile(rec)
    await exercise_manage_page(rec)
    await exercise_booking_pages(rec)
    await exercise_waitlist(rec)
    p1 = {"providerId": "p1"}
    await rec.call("GET", "/providers/{providerId}/conflicts", 200, ids=p1)
    busy = "/providers/{providerId}/busy"
    await rec.call("GET", busy, 200, ids=p1, params=LISTING)
    await rec.call("GET", busy, 400, ids=p1, params={**LISTING, "startTime": "soon"})
    await rec.call("GET", busy, 422, ids=p1, params={**LISTING, "endTime": LISTING["startTime"]})


async def exercise_booking_pages(rec: Recorder) -> None:
    """The booking pages of a provider whose page is off, and a confirmation link no hold has
    (the pages at work: tests/backend/test_booking_page.py); forms from another site refused."""
    off = {"providerId": "p1"}
    evil = {"Origin": "https://evil.example"}
    await rec.call("GET", "/book", 200)
    await rec.call("GET", "/book/{providerId}", 404, ids=off)
    start = {"slot": "0" * 32, "at": "1"}
    await rec.call("GET", "/book/{providerId}/start", 404, ids=off, params=start)
    await rec.call("POST", "/book/{providerId}/hold", 403, ids=off, headers=evil)
    await rec.call("POST", "/book/{providerId}/book-with-token", 403, ids=off, headers=evil)
    await rec.call("GET", "/book/{providerId}/sent/{ref}", 404, ids={**off, "ref": "x" * 16})
    nothing = {"secret": "A" * 32}
    await rec.call("GET", "/confirm/{secret}", 404, ids=nothing)
    await rec.call("POST", "/confirm/{secret}", 403, ids=nothing, headers=evil)
    await rec.call("POST", "/confirm/{secret}", 404, ids=nothing, data={})
    await rec.call("GET", "/assets/{name}", 200, ids={"name": "pages.css"})
    await rec.call("GET", "/assets/{name}", 404, ids={"name": "nothing.css"})


async def exercise_manage_page(rec: Recorder) -> None:
    """The manage page and its forms, by an address no appointment has (with real links, in
    tests/backend/test_manage_page.py); a form from another site is refused before it is read."""
    nothing = {"secret": "A" * 32}
    await rec.call("GET", "/manage/{secret}", 404, ids=nothing)
    await rec.call("GET", "/manage/{secret}", 400, ids=nothing, params={"week": "99"})
    await rec.call("POST", "/manage/{secret}/cancel", 404, ids=nothing, data={"token": "x"})
    evil = {"Origin": "https://evil.example"}
    await rec.call("POST", "/manage/{secret}/cancel", 403, ids=nothing, headers=evil)
    await rec.call("POST", "/manage/{secret}/move", 404, ids=nothing, data={"token": "x"})
    await rec.call("POST", "/manage/{secret}/move", 403, ids=nothing, headers=evil)


WAITLIST_ENTRY = "/waitlist/{waitlistId}"


async def exercise_waitlist(rec: Recorder) -> None:
    """c5 waits in p8's line twice: offered at once where p8 has a free start, waiting where it
    has none; listed, read and left; refused when wrong."""
    morning = {"providerId": "p8", "from": "2030-03-06 09:00:00", "to": "2030-03-06 10:00:00"}
    slots = {"providerId": "p8", "startTime": morning["from"], "endTime": morning["to"]}
    await rec.call("POST", "/availability", 201, json=slots)
    afternoon = {**morning, "from": "2030-03-06 14:00:00", "to": "2030-03-06 16:00:00"}
    offered = await rec.call("POST", "/waitlist", 201, json={**morning, "clientId": "c5"})
    assert offered.json()["entry"]["offer"]
    waiting = await rec.call("POST", "/waitlist", 201, json={**afternoon, "clientId": "c5"})
    await rec.call("POST", "/waitlist", 400, json={**afternoon, "clientId": "c5", "minutes": "x"})
    await rec.call("POST", "/waitlist", 422, json={**afternoon, "clientId": "c5", "minutes": 20})
    nobody = {**afternoon, "providerId": "nobody", "clientId": "c5"}
    await rec.call("POST", "/waitlist", 404, json=nobody)
    await rec.call("GET", "/waitlist", 200, params={"clientId": "c5"})
    await rec.call("GET", "/waitlist", 400, params={"status": "gone"})
    shown = {"waitlistId": offered.json()["entry"]["waitlistId"]}
    await rec.call("GET", WAITLIST_ENTRY, 200, ids=shown)
    entry = {"waitlistId": waiting.json()["entry"]["waitlistId"]}
    await rec.call("DELETE", WAITLIST_ENTRY, 200, ids=entry)
    await rec.call("GET", WAITLIST_ENTRY, 404, ids=entry)
    await rec.call("DELETE", WAITLIST_ENTRY, 404, ids=entry)


PROFILE = "/providers/{providerId}"


async def exercise_provider_profile(rec: Recorder) -> None:
    """p1's profile read, set with its booking page on, refused when wrong, and cleared; an
    unknown provider's is not found."""
    p1, nobody = {"providerId": "p1"}, {"providerId": "nobody"}
    await rec.call("GET", PROFILE, 200, ids=p1)
    profile = {"about": "Physiotherapy", "website": "https://physio.example.com"}
    on = await rec.call(
        "PATCH", PROFILE, 200, ids=p1, json={"profile": profile, "bookingPage": True}
    )
    assert on.json()["bookingPageUrl"].endswith("/book/p1")
    await rec.call("PATCH", PROFILE, 422, ids=p1, json={"profile": {"website": "physio"}})
    await rec.call("PATCH", PROFILE, 400, ids=p1, json={"bookingPage": "yes"})
    off = {"profile": {"about": None, "website": ""}, "bookingPage": False}
    await rec.call("PATCH", PROFILE, 200, ids=p1, json=off)
    await rec.call("GET", PROFILE, 404, ids=nobody)
    await rec.call("PATCH", PROFILE, 404, ids=nobody, json={"bookingPage": True})


SERVICE = "/services/{serviceId}"


async def exercise_services(rec: Recorder) -> None:
    """A type offered by p1, listed, read, changed, refused when wrong, booked, and archived."""
    p1 = {"providerId": "p1"}
    offer = {"name": "Follow-up", "minutes": 30, "bufferAfterMinutes": 15, "dailyLimit": 6}
    made = await rec.call("POST", "/providers/{providerId}/services", 201, ids=p1, json=offer)
    await rec.call("POST", "/providers/{providerId}/services", 400, ids=p1, json={"name": "x"})
    odd = {**offer, "minutes": 20}
    await rec.call("POST", "/providers/{providerId}/services", 422, ids=p1, json=odd)
    await rec.call("GET", "/providers/{providerId}/services", 200, ids=p1)
    service = {"serviceId": made.json()["service"]["serviceId"]}
    nothing = {"serviceId": "0" * 32}
    await rec.call("GET", SERVICE, 200, ids=service)
    await rec.call("GET", SERVICE, 404, ids=nothing)
    await rec.call("PATCH", SERVICE, 200, ids=service, json={"maxAdvanceDays": 28})
    await rec.call("PATCH", SERVICE, 400, ids=service, json={"providerId": "p2"})
    await rec.call("PATCH", SERVICE, 422, ids=service, json={"bufferBeforeMinutes": 5})
    await rec.call("PATCH", SERVICE, 404, ids=nothing, json={"name": "x"})
    await rec.call("DELETE", SERVICE, 200, ids=service)
    await rec.call("DELETE", SERVICE, 404, ids=nothing)


BUSY_SOURCES = "/providers/{providerId}/busy-sources"
BUSY_SOURCE = BUSY_SOURCES + "/{sourceId}"


async def exercise_busy_sources(rec: Recorder) -> None:
    """A calendar of p1's added (a public address: nothing resolves here), listed, read, changed
    and removed; refused when wrong (a private address; a password, since this server has no
    secret key)."""
    p1 = {"providerId": "p1"}
    calendar = {"name": "Personal", "kind": "ics", "url": "https://93.184.216.34/p1.ics"}
    made = await rec.call("POST", BUSY_SOURCES, 201, ids=p1, json=calendar)
    await rec.call("POST", BUSY_SOURCES, 400, ids=p1, json={**calendar, "refreshMinutes": "5"})
    private = {**calendar, "url": "http://10.0.0.5/p1.ics"}
    await rec.call("POST", BUSY_SOURCES, 422, ids=p1, json=private)
    await rec.call("GET", BUSY_SOURCES, 200, ids=p1)
    source = {**p1, "sourceId": made.json()["source"]["sourceId"]}
    nothing = {**p1, "sourceId": "0" * 16}
    await rec.call("GET", BUSY_SOURCE, 200, ids=source)
    await rec.call("GET", BUSY_SOURCE, 404, ids=nothing)
    await rec.call("PATCH", BUSY_SOURCE, 200, ids=source, json={"refreshMinutes": 60})
    await rec.call("PATCH", BUSY_SOURCE, 400, ids=source, json={"providerId": "p2"})
    secret = {"username": "ana", "password": "app-password"}
    await rec.call("PATCH", BUSY_SOURCE, 422, ids=source, json=secret)
    await rec.call("PATCH", BUSY_SOURCE, 404, ids=nothing, json={"name": "x"})
    refresh = BUSY_SOURCE + "/refresh"
    await rec.call("POST", refresh, 400, ids=source, json={"now": True})
    await rec.call("POST", refresh, 404, ids=nothing)
    await rec.call("DELETE", BUSY_SOURCE, 200, ids=source)
    await rec.call("DELETE", BUSY_SOURCE, 404, ids=source)


HOOK = "/webhooks/{webhookId}"


async def exercise_webhooks(rec: Recorder) -> None:
    """An endpoint registered (a public address: nothing resolves here), shown, replayed and
    removed; a private one refused."""
    public = {"url": "http://93.184.216.34/hook", "events": ["confirmed"]}
    made = await rec.call("POST", "/webhooks", 201, json=public)
    await rec.call("POST", "/webhooks", 422, json={"url": "http://127.0.0.1:9/hook"})
    await rec.call("POST", "/webhooks", 400, json={"url": 5})
    await rec.call("GET", "/webhooks", 200)
    hook = {"webhookId": made.json()["webhook"]["webhookId"]}
    nobody = {"webhookId": "0" * 16}
    await rec.call("GET", HOOK, 200, ids=hook)
    await rec.call("GET", HOOK, 404, ids=nobody)
    await rec.call("GET", HOOK + "/deliveries", 200, ids=hook)
    await rec.call("GET", HOOK + "/deliveries", 404, ids=nobody)
    await rec.call("POST", HOOK + "/replay", 200, ids=hook, json={"since": 0})
    await rec.call("POST", HOOK + "/replay", 410, ids=hook, json={"since": 10**9})
    await rec.call("POST", HOOK + "/replay", 400, ids=hook, json={"since": -1})
    await rec.call("POST", HOOK + "/replay", 404, ids=nobody, json={"since": 0})
    await rec.call("DELETE", HOOK, 200, ids=hook)
    await rec.call("DELETE", HOOK, 404, ids=hook)


FEED = "/calendar-feeds/{feedId}"


async def exercise_calendar_feeds(rec: Recorder) -> None:
    """A feed made for p1, read (and read again with its ETag), listed, and revoked."""
    await rec.call("POST", "/calendar-feeds", 422)  # no-auth: whose feed must be named
    await rec.call("POST", "/calendar-feeds", 400, json={"providerId": 7})
    made = await rec.call("POST", "/calendar-feeds", 201, json={"providerId": "p1"})
    secret = {"secret": made.json()["url"].rsplit("/", 1)[1].removesuffix(".ics")}
    read = await rec.call("GET", "/calendar/{secret}.ics", 200, ids=secret)
    etag = {"If-None-Match": read.headers["ETag"]}
    await rec.call("GET", "/calendar/{secret}.ics", 304, ids=secret, headers=etag)
    await rec.call("GET", "/calendar/{secret}.ics", 404, ids={"secret": "x"})
    await rec.call("GET", "/calendar-feeds", 200)
    feed = {"feedId": made.json()["feed"]["feedId"]}
    await rec.call("DELETE", FEED, 200, ids=feed)
    await rec.call("DELETE", FEED, 404, ids=feed)
    await rec.call("GET", "/calendar/{secret}.ics", 404, ids=secret)


SCHEDULE = "/providers/{providerId}/schedule"


async def exercise_schedule(rec: Recorder) -> None:
    """p7's schedule set (and set again), shown, refused when wrong, and removed."""
    p7 = {"providerId": "p7"}
    mondays = {
        "timeZone": "Europe/Berlin",
        "weekly": [{"day": "mon", "start": "09:00", "end": "10:00"}],
        "horizonDays": 14,
    }
    await rec.call("GET", SCHEDULE, 404, ids=p7)
    await rec.call("PUT", SCHEDULE, 200, ids=p7, json=mondays)
    await rec.call("GET", SCHEDULE, 200, ids=p7)
    await rec.call("PUT", SCHEDULE, 400, ids=p7, json={**mondays, "horizonDays": 0})
    await rec.call("PUT", SCHEDULE, 422, ids=p7, json={**mondays, "timeZone": "Nowhere"})
    off_grid = {**mondays, "weekly": [{"day": "mon", "start": "09:05", "end": "10:00"}]}
    await rec.call("PUT", SCHEDULE, 422, ids=p7, json=off_grid)
    await rec.call("DELETE", SCHEDULE, 200, ids=p7)
    await rec.call("DELETE", SCHEDULE, 404, ids=p7)


CALENDAR_WRITE = "/providers/{providerId}/calendar-write"


async def exercise_calendar_write(rec: Recorder) -> None:
    """p1's write-back calendar set (a public address: nothing resolves here), set again, shown,
    refused when wrong (a password on a server without --secret-key), and removed."""
    p1 = {"providerId": "p1"}
    calendar = {"url": "http://93.184.216.34/dav/p1/bookings/", "username": "p1"}
    await rec.call("GET", CALENDAR_WRITE, 404, ids=p1)
    await rec.call("PUT", CALENDAR_WRITE, 201, ids=p1, json=calendar)
    await rec.call("PUT", CALENDAR_WRITE, 200, ids=p1, json=calendar)
    await rec.call("PUT", CALENDAR_WRITE, 422, ids=p1, json={**calendar, "password": "secret"})
    await rec.call("PUT", CALENDAR_WRITE, 400, ids=p1, json={"url": 5})
    await rec.call("GET", CALENDAR_WRITE, 200, ids=p1)
    await rec.call("DELETE", CALENDAR_WRITE, 200, ids=p1)
    await rec.call("DELETE", CALENDAR_WRITE, 404, ids=p1)


async def exercise_feed(rec: Recorder) -> None:
    """The change log paged and streamed; a since it does not hold is 410."""
    page = await rec.call("GET", "/changes", 200, params={"since": 0, "limit": 5})
    assert page.json()["changes"]
    await rec.call("GET", "/changes", 200)
    await rec.call("GET", "/changes", 410, params={"since": 10**6})
    await rec.call("GET", "/events", 410, params={"since": 10**6})
    await rec.call("GET", "/changes", 400, params={"since": 0, "wait": 31})
    async with rec.http.stream("GET", "/events", params={"since": 0}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("id: "):
                break
        rec.seen.append(Seen("get", "/events", stream))


async def exercise_availability(rec: Recorder) -> list[dict[str, Any]]:
    """Submit p1's four slots on 6 March (201, then 200), list them in pages; return them."""
    created = await rec.call("POST", "/availability", 201, json=WINDOW)
    await rec.call("POST", "/availability", 200, json=WINDOW)
    page = await rec.call("GET", "/availability", 200, params={**LISTING, "limit": 2})
    cursor = page.json()["nextCursor"]
    await rec.call("GET", "/availability", 200, params={**LISTING, "limit": 2, "cursor": cursor})
    await rec.call("GET", "/availability", 400, params={"startTime": LISTING["startTime"]})
    await rec.call(
        "GET", "/availability", 422, params={**LISTING, "endTime": "2030-05-01 00:00:00"}
    )
    unaligned = {**WINDOW, "startTime": "2030-03-06 10:05:00"}
    await rec.call("POST", "/availability", 422, json=unaligned)
    slots: list[dict[str, Any]] = created.json()["timeSlots"]
    return slots


async def exercise_reserve(rec: Recorder, slots: list[dict[str, Any]]) -> None:
    """c1 holds the first slot; c2 is refused it in every way there is."""
    first, second = slots[0], slots[1]
    await rec.call("POST", RESERVE, 201, json=hold(first, "c1"))
    await rec.call("POST", RESERVE, 200, json=hold(first, "c1"))
    await rec.call("POST", RESERVE, 409, json=hold(first, "c2"))
    await rec.call("POST", RESERVE, 404, json={**hold(first, "c2"), "timeSlotId": "0" * 32})
    mismatch = {**hold(first, "c2"), "timeSlot": second["timestamp"]}
    await rec.call("POST", RESERVE, 422, json=mismatch)
    await rec.call("POST", RESERVE, 400, json={"clientId": "c2"})
    text = {"Content-Type": "text/plain"}
    await rec.call("POST", RESERVE, 415, content=b"clientId=c2", headers=text)
    too_big = b'{"clientId": "' + b"c" * (1024 * 1024) + b'"}'
    await rec.call("POST", RESERVE, 413, content=too_big, headers=JSON)


async def exercise_confirm(rec: Recorder, clock: ManualClock, slots: list[dict[str, Any]]) -> None:
    """c1 confirms (twice); c2 may not; an open slot is not held; c2's own hold lapses."""
    first, second, fourth = slots[0], slots[1], slots[3]
    ids = {"timeSlotId": first["timeSlotId"]}
    timed = {"timeSlot": first["timestamp"]}
    await rec.call("PUT", CONFIRM, 403, ids=ids, json={**timed, "clientId": "c2"})
    await rec.call("PUT", CONFIRM, 200, ids=ids, json={**timed, "clientId": "c1"})
    await rec.call("PUT", CONFIRM, 200, ids=ids, json={**timed, "clientId": "c1"})
    await rec.call("PUT", CONFIRM, 404, ids={"timeSlotId": "f" * 32}, json=timed)
    open_ids = {"timeSlotId": fourth["timeSlotId"]}
    await rec.call("PUT", CONFIRM, 409, ids=open_ids, json={"timeSlot": fourth["timestamp"]})
    await rec.call("POST", RESERVE, 201, json=hold(second, "c2"))
    clock.advance(31 * 60)  # c2's hold lapses: the fake clock moves, nobody waits
    lapsed = {"timeSlot": second["timestamp"], "clientId": "c2"}
    await rec.call("PUT", CONFIRM, 410, ids={"timeSlotId": second["timeSlotId"]}, json=lapsed)


async def exercise_cancel_and_the_rest(rec: Recorder, slots: list[dict[str, Any]]) -> None:
    """c3 holds, lists and cancels the third slot; then the provider and system routes."""
    third = slots[2]
    await rec.call("POST", RESERVE, 201, json=hold(third, "c3"))
    await rec.call("GET", "/reservations", 200, params={"clientId": "c3"})
    await rec.call("GET", "/reservations", 422)
    await rec.call("GET", "/reservations", 400, params={"clientId": ""})
    ids = {"timeSlotId": third["timeSlotId"]}
    await rec.call("DELETE", CANCEL, 403, ids=ids, params={"clientId": "c1"})
    await rec.call("DELETE", CANCEL, 200, ids=ids, params={"clientId": "c3"})
    await rec.call("DELETE", CANCEL, 409, ids=ids, params={"clientId": "c3"})
    await rec.call("DELETE", CANCEL, 404, ids={"timeSlotId": "nope"}, params={"clientId": "c3"})
    await exercise_appointments(rec, slots)

    p1 = {"providerId": "p1"}
    await rec.call("GET", "/providers", 200)
    await rec.call("GET", "/providers/{providerId}/slots", 200, ids=p1, params=LISTING)
    await rec.call("GET", "/providers/{providerId}/slots", 400, ids=p1)
    await rec.call("DELETE", "/availability", 200, json=WINDOW)  # keeps c1's booking
    backwards = {**WINDOW, "endTime": WINDOW["startTime"]}
    await rec.call("DELETE", "/availability", 422, json=backwards)
    await rec.call("GET", "/healthz", 200)
    rules = await rec.call("GET", "/rules", 200)
    assert rules.json() == {
        "slotMinutes": 15,
        "holdMinutes": 30,
        "noticeHours": 24,
        "maxHolds": 5,
        "maxWindowDays": 31,
        "maxAppointmentMinutes": 120,
        "maxWaitlist": 10,
        "offerMinutes": 30,
    }
    await rec.call("GET", "/openapi.json", 200)
    await rec.call("GET", "/problems/{slug}", 200, ids={"slug": "slot-taken"})
    await rec.call("GET", "/problems/{slug}", 404, ids={"slug": "no-such-problem"})


MOVE = "/reservations/{timeSlotId}/move"


async def exercise_appointments(rec: Recorder, slots: list[dict[str, Any]]) -> None:
    """c4 holds half an hour with a note, moves it, changes the note; what can go wrong, does."""
    third, fourth = slots[2], slots[3]
    await rec.call(
        "GET", "/availability", 200, params={**LISTING, "providerId": "p1", "minutes": 30}
    )
    await rec.call("GET", "/availability", 422, params={**LISTING, "minutes": 20})
    await rec.call("POST", RESERVE, 409, json={**hold(fourth, "c4"), "minutes": 30})
    await rec.call("POST", RESERVE, 422, json={**hold(third, "c4"), "minutes": 20})
    held = await rec.call(
        "POST", RESERVE, 201, json={**hold(third, "c4"), "minutes": 15, "note": "Left knee"}
    )
    first = {"timeSlotId": held.json()["reservation"]["timeSlotId"]}
    to_fourth = {"toTimeSlotId": fourth["timeSlotId"], "timeSlot": fourth["timestamp"]}
    await rec.call("POST", MOVE, 403, ids=first, json={**to_fourth, "clientId": "c1"})
    await rec.call("POST", MOVE, 422, ids=first, json={**to_fourth, "timeSlot": third["timestamp"]})
    await rec.call("POST", MOVE, 404, ids=first, json={**to_fourth, "toTimeSlotId": "0" * 32})
    await rec.call("POST", MOVE, 400, ids=first, json={"clientId": "c4"})
    moved = await rec.call("POST", MOVE, 200, ids=first, json={**to_fourth, "clientId": "c4"})
    now_at = {"timeSlotId": moved.json()["reservation"]["timeSlotId"]}
    await rec.call("POST", MOVE, 409, ids=first, json={**to_fourth, "clientId": "c4"})
    await rec.call("PATCH", CANCEL, 200, ids=now_at, json={"note": "Right knee", "clientId": "c4"})
    await rec.call("PATCH", CANCEL, 403, ids=now_at, json={"note": "", "clientId": "c1"})
    await rec.call("PATCH", CANCEL, 409, ids=first, json={"note": "", "clientId": "c4"})
    await rec.call("PATCH", CANCEL, 404, ids={"timeSlotId": "0" * 32}, json={"note": ""})
    await rec.call("PATCH", CANCEL, 400, ids=now_at, json={"note": "a\nb", "clientId": "c4"})
    await rec.call("DELETE", CANCEL, 200, ids=now_at, params={"clientId": "c4"})


TOKEN = "/tokens/{tokenId}"


async def exercise_access(rec: Recorder) -> None:
    """Tokens and /me. Without auth every caller is a trusted admin, so all of these work."""
    dr_nine = {"role": "provider", "subject": "p9", "name": "Dr Nine"}
    made = await rec.call("POST", "/tokens", 201, json=dr_nine)
    assert made.json()["token"]
    key = {"Idempotency-Key": "make-dr-nine"}
    await rec.call("POST", "/tokens", 201, json={**dr_nine, "subject": "p10"}, headers=key)
    replayed = await rec.call(
        "POST", "/tokens", 201, json={**dr_nine, "subject": "p10"}, headers=key
    )
    assert replayed.json()["token"] is None
    await rec.call("POST", "/tokens", 422, json={**dr_nine, "subject": "p11"}, headers=key)
    await rec.call("POST", "/tokens", 400, json={"role": "root", "name": "x"})
    await rec.call("POST", "/tokens", 422, json={"role": "provider", "name": "No Subject"})
    await rec.call("GET", "/tokens", 200)
    ids = {"tokenId": made.json()["tokenId"]}
    await rec.call("DELETE", TOKEN, 200, ids=ids)
    await rec.call("DELETE", TOKEN, 200, ids=ids)  # already revoked: the same answer
    other = {"tokenId": replayed.json()["tokenId"]}
    revoke_key = {"Idempotency-Key": "revoke-dr-nine"}
    await rec.call("DELETE", TOKEN, 200, ids=ids, headers=revoke_key)
    await rec.call("DELETE", TOKEN, 422, ids=other, headers=revoke_key)  # the key, reused
    await rec.call("DELETE", TOKEN, 404, ids={"tokenId": "0123456789abcdef"})
    await rec.call("DELETE", TOKEN, 404, ids={"tokenId": "not-a-token-id"})
    me = await rec.call("GET", "/me", 200)
    assert me.json()["auth"] == "none"
    await rec.call(
        "PATCH", "/me", 403, json={"email": "ana@example.com"}
    )  # no one to keep them for
    await rec.call("PATCH", "/me", 400, json={"email": 7})
    await rec.call("GET", "/notifications", 200, params={"status": "queued"})
    await rec.call("GET", "/notifications", 400, params={"status": "lost"})
    metrics = await rec.call("GET", "/metrics", 200)
    assert "slotbook_reserves_total" in metrics.text


async def test_real_answers_match_the_schemas_the_document_declares(
    spec: dict[str, Any], http: httpx.AsyncClient, clock: ManualClock
) -> None:

    rec = Recorder(http)
    await exercise_every_operation(rec, clock)

    registry = closed_registry(spec)
    failures = []
    for seen in rec.seen:
        where = f"{seen.method.upper()} {seen.path} -> {seen.response.status_code}"
        declared = spec["paths"][seen.path][seen.method]["responses"]
        assert str(seen.response.status_code) in declared, f"{where}: status not declared"
        content = declared[str(seen.response.status_code)].get("content", {})
        if seen.response.status_code == 304:
            assert content == {}, f"{where}: a 304 has no body"
            continue
        media_type = seen.response.headers["content-type"].split(";")[0].strip()
        assert media_type in content, f"{where}: sent {media_type}, declared {list(content)}"
        schema = content[media_type]["schema"]
        if media_type == "text/event-stream":
            continue  # a stream of events, checked by tests/e2e/test_event_stream.py
        if media_type == "text/calendar":
            continue  # iCalendar, read by tests/backend/test_calendar_feeds.py
        if media_type == "text/plain":
            continue  # Prometheus's text format, parsed by tests/backend/test_metrics.py
        if media_type in (HTML, "text/css"):
            continue  # a page (tests/backend/test_manage_page.py, test_booking_page.py), a style
        validator = validator_for(schema, registry)
        failures += [
            f"{where}: {e.message} at {e.instance_path}"
            for e in validator.iter_errors(seen.response.json())
        ]
    assert failures == []


async def test_the_calls_above_reach_every_documented_operation(
    spec: dict[str, Any], http: httpx.AsyncClient, clock: ManualClock
) -> None:
    rec = Recorder(http)
    await exercise_every_operation(rec, clock)
    reached = {(seen.path, seen.method) for seen in rec.seen}
    assert reached == {(path, method) for path, method, _ in operations(spec)}
    for seen in rec.seen:
        declared = spec["paths"][seen.path][seen.method]["responses"]
        assert str(seen.response.status_code) in declared, (seen.method, seen.path)


async def test_webhook_deliveries_match_the_schemas_the_document_declares(
    settings: Settings, clock: ManualClock
) -> None:
    """Real deliveries of each format, against the document's `webhooks`: the body, and the
    signature headers it names."""
    running = TestServer(create_app(replace(settings, allow_private_addresses=True), clock=clock))
    await running.start_server()
    try:
        async with (
            httpx.AsyncClient(base_url=str(running.make_url(""))) as http,
            listening(Receiver()) as batched,
            listening(Receiver()) as single,
        ):
            spec = (await http.get("/openapi.json")).json()
            for receiver, how in ((batched, "batch"), (single, "single")):
                made = await http.post("/webhooks", json={"url": receiver.url, "format": how})
                assert made.status_code == 201, made.text
            assert (await http.post("/availability", json=WINDOW)).status_code == 201
            await batched.wait_for(1)
            await single.wait_for(4)
    finally:
        await running.close()

    assert set(spec["webhooks"]) == {"changes", "change", "conflict", "busy-source-failing"}
    registry = closed_registry(spec)
    failures = []
    for name, receiver in (("changes", batched), ("change", single)):
        sent = spec["webhooks"][name]["post"]
        validator = validator_for(
            sent["requestBody"]["content"]["application/json"]["schema"], registry
        )
        for got in receiver.got:
            assert {p["name"] for p in sent["parameters"]} <= set(got.headers), name
            failures += [
                f"{name}: {e.message} at {e.instance_path}"
                for e in validator.iter_errors(json.loads(got.body))
            ]
    assert failures == []
    assert [len(json.loads(got.body)["changes"]) for got in batched.got] == [4]
