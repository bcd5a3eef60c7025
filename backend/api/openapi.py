"""The OpenAPI 3.1 document, generated from the route table and the wire Structs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from backend.api.operation import Operation, Outgoing
from backend.gate.problems import PROBLEM_CONTENT_TYPE
from shared.wire import Problem

_REF = "#/components/schemas/{name}"
HTML = "text/html"
"""A page's answers, refusals included (the manage page: a person reads them, not a program)."""

_COMMON_PROBLEMS = {
    400: "Malformed request: the `errors` list names each bad field",
    413: "Body larger than 1 MiB",
    415: "Body not sent as application/json",
}


def _struct_types(operations: Iterable[Operation], outgoing: Iterable[Outgoing]) -> list[type]:
    found: list[type] = [Problem]
    for op in operations:
        found.extend(kind for kind in (op.body, op.form) if kind is not None)
        found.extend(kind for kind, _ in op.answers.values() if kind is not None)
        found.extend(op.events.values())
    found.extend(item.body for item in outgoing)
    return list(dict.fromkeys(found))


WRITE_METHODS = {"POST", "PUT", "DELETE"}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the first answer is stored for 24 hours and given again"
    " (with `Idempotent-Replayed: true`) to a retry of the same request.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _joined(first: str | None, second: str) -> str:
    return second[0].upper() + second[1:] if first is None else f"{first}; or {second}"


def _ref(kind: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=kind.__name__)}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": msgspec.json.schema(kind)}
        for name, kind in op.path_params.items()
    ]
    if op.method in WRITE_METHODS and op.form is None:
        params.append(IDEMPOTENCY_KEY)
    if op.query is not None:
        schema = msgspec.json.schema(op.query)
        body = schema["$defs"][op.query.__name__] if "$defs" in schema else schema
        required = set(body.get("required", []))
        for name, prop in body["properties"].items():
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if prop.get("deprecated"):
                param["deprecated"] = True
            params.append(param)
    return params


def _event_schema(events: Mapping[str, type]) -> dict[str, Any]:
    """One Server-Sent Event, as OpenAPI 3.1 describes the items of a text/event-stream: its
    `event` name, its `id` (a seq, on changes) and its `data`, JSON of the Struct named for it."""
    names_of: dict[type, list[str]] = {}
    for name, kind in events.items():
        names_of.setdefault(kind, []).append(name)
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "event": {"enum": names},
                    "id": {"type": "string", "pattern": "^[0-9]+$"},
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": _ref(kind),
                    },
                },
                "required": ["event", "data"],
            }
            for kind, names in names_of.items()
        ]
    }


def _responses(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, (kind, description) in sorted(op.answers.items()):
        entry: dict[str, Any] = {"description": description}
        if 300 <= status < 400:
            pass  # Not Modified, or See Other: no body
        elif op.events:
            entry["content"] = {op.media_type: {"schema": _event_schema(op.events)}}
        elif op.media_type != "application/json":
            entry["content"] = {op.media_type: {"schema": {"type": "string"}}}
        else:
            schema = {"type": "object"} if kind is None else _ref(kind)
            entry["content"] = {"application/json": {"schema": schema}}
        responses[str(status)] = entry
    problems = dict(op.problems)
    problems.setdefault(429, "Too many requests: wait for the seconds in `Retry-After`")
    if not op.public:
        problems.setdefault(401, "Missing, unknown or revoked token (`WWW-Authenticate: Bearer`)")
    if op.body is not None or op.query is not None or op.path_params:
        problems.setdefault(400, _COMMON_PROBLEMS[400])
    if op.body is not None:
        problems.setdefault(413, _COMMON_PROBLEMS[413])
        problems.setdefault(415, _COMMON_PROBLEMS[415])
    if op.method in WRITE_METHODS and op.form is None:
        problems[409] = _joined(problems.get(409), "a request with this Idempotency-Key is running")
        problems[422] = _joined(
            problems.get(422), "the Idempotency-Key was used for another request"
        )
    refusal = (
        {HTML: {"schema": {"type": "string"}}}
        if op.media_type == HTML
        else {PROBLEM_CONTENT_TYPE: {"schema": _ref(Problem)}}
    )
    for status, description in sorted(problems.items()):
        responses[str(status)] = {
            "description": description,
            "content": refusal,
        }
    return responses


def _outgoing(item: Outgoing) -> dict[str, Any]:
    """A request the server sends, as a Path Item of the document's `webhooks`."""
    return {
        "post": {
            "operationId": f"send_{item.name.replace('-', '_')}",
            "summary": item.summary,
            "description": item.description,
            "tags": ["webhooks"],
            "parameters": [
                {
                    "name": name,
                    "in": "header",
                    "required": True,
                    "description": description,
                    "schema": {"type": "string"},
                }
                for name, description in item.headers.items()
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(item.body)}},
            },
            "responses": {"2XX": {"description": item.received}},
            "security": [],
        }
    }


def build_openapi(
    operations: Sequence[Operation],
    *,
    title: str,
    version: str,
    outgoing: Sequence[Outgoing] = (),
) -> dict[str, Any]:
    """The whole document for these operations, and the requests the server sends (`webhooks`)."""
    _, components = msgspec.json.schema_components(
        _struct_types(operations, outgoing), ref_template=_REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "responses": _responses(op),
        }
        if op.description:
            entry["description"] = op.description
        if op.public:
            entry["security"] = []
        parameters = _parameters(op)
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": _ref(op.body)}},
            }
        if op.form is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": _ref(op.form)}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Providers publish availability, the server cuts it into slots;"
            " clients hold a slot and confirm it. Errors are RFC 9457 problem documents.",
        },
        "paths": paths,
        **({"webhooks": {item.name: _outgoing(item) for item in outgoing}} if outgoing else {}),
        "security": [{"bearer": []}],
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `slotbook-server token create` or POST /tokens."
                    " Servers started with --no-auth ignore it and trust ids in requests.",
                }
            },
        },
    }
