"""The route table's entries, and the parsing every handler shares.

An Operation says what a route accepts and answers; app.py registers it and openapi.py documents
it from the same entry, so the spec cannot drift from the server.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from aiohttp import web
from msgspec import UnsetType

from backend.gate.field_errors import field_error, field_types, rule_of
from backend.gate.problems import ProblemError, invalid, shown
from backend.store.base import Answer
from shared.timefmt import TimeFormatError, TimeOutOfRange, parse_time
from shared.wire import FieldError, encode_line

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
S = TypeVar("S", bound=msgspec.Struct)
T = TypeVar("T")


@dataclass(frozen=True)
class Operation:
    """One route: method, path, handler, and what it accepts and answers (for the spec)."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    answers: Mapping[int, tuple[type | None, str]]
    """Success statuses: (body Struct, description)."""
    problems: Mapping[int, str] = field(default_factory=dict)
    """Failure statuses this route itself produces: description."""
    body: type[msgspec.Struct] | None = None
    body_required: bool = True
    form: type[msgspec.Struct] | None = None
    """A body sent as an HTML form (application/x-www-form-urlencoded), not as JSON."""
    query: type[msgspec.Struct] | None = None
    path_params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    public: bool = False
    """Needs no token (health, the spec, problem types)."""
    media_type: str = "application/json"
    """What a successful answer is sent as."""
    events: Mapping[str, type[msgspec.Struct]] = field(default_factory=dict)
    """For a text/event-stream answer: each event's name, and the Struct its `data` carries."""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


@dataclass(frozen=True)
class Outgoing:
    """A request the server makes to its users' systems (a webhook delivery), for the spec's
    `webhooks`: a POST of a JSON body, with these headers."""

    name: str
    body: type[msgspec.Struct]
    summary: str
    description: str
    headers: Mapping[str, str]
    """Each header sent: what it holds."""
    received: str
    """What a 2xx answer means."""


def answered(body: msgspec.Struct, status: int = 200) -> Answer:
    """A wire Struct as an Answer (what a write stores for its Idempotency-Key)."""
    return Answer(status, encode_line(body))


def answer(body: msgspec.Struct, status: int = 200) -> web.Response:
    """A JSON response from a wire Struct."""
    return web.Response(body=encode_line(body), status=status, content_type="application/json")


@functools.cache
def _fields_of(kind: type[msgspec.Struct]) -> tuple[frozenset[str], tuple[str, ...]]:
    """A Struct's wire field names, and the required ones in order (looked up once per type)."""
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    return (
        frozenset(f.encode_name for f in info.fields),
        tuple(f.encode_name for f in info.fields if f.required),
    )


def convert(
    data: Mapping[str, Any],
    kind: type[S],
    *,
    from_text: bool = False,
    also_required: Iterable[str] = (),
) -> S:
    """Check a decoded object against a Struct, reporting every missing field at once."""
    known, required = _fields_of(kind)
    missing = [name for name in required if name not in data]
    unknown = [str(name) for name in data if name not in known]
    if missing or unknown:
        # A malformed request also hears about the actor ids it lacks; a well-formed one that
        # lacks only those is the handler's to refuse (422, see backend.gate.access).
        missing += [name for name in also_required if name in known and name not in data]
        wrong = [FieldError(field=name, message="is required") for name in missing]
        wrong += [
            FieldError(field=name, message="is not a field of this request") for name in unknown
        ]
        raise invalid(wrong)
    try:
        return msgspec.convert(data, kind, strict=not from_text)
    except msgspec.ValidationError as error:
        raise invalid([field_error(kind, error)]) from None


async def read_body(
    request: web.Request,
    kind: type[S],
    *,
    required: bool = True,
    also_required: Iterable[str] = (),
) -> S:
    """Decode a JSON body into a Struct, or raise the problem that explains why not.

    `also_required` names optional fields this request must nevertheless carry (the actor's id,
    when the server trusts ids in requests), reported with the body's other faults if it has any."""
    raw = await request.read()
    if not raw.strip():
        if not required:
            return kind()
        raise invalid([FieldError(field="body", message="is empty; send a JSON object")])
    if request.content_type != "application/json":
        raise ProblemError(
            "unsupported-media-type",
            f"Body sent as '{request.content_type or 'nothing'}'; send JSON with"
            " 'Content-Type: application/json'",
        )
    if (request.charset or "utf-8").lower() not in {"utf-8", "utf8"}:
        raise ProblemError(
            "unsupported-media-type",
            f"Body sent in charset '{request.charset}'; send JSON in UTF-8",
        )
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise invalid([FieldError(field="body", message=f"is not valid JSON: {error}")]) from None
    except RecursionError:
        raise invalid([FieldError(field="body", message="is nested too deeply")]) from None
    if not isinstance(data, dict):
        raise invalid([FieldError(field="body", message="must be a JSON object")])
    return convert(_whole_numbers(data), kind, also_required=also_required)


def _whole_numbers(value: Any) -> Any:
    """JSON numbers as JSON Schema reads them: 37.0 is the integer 37 (msgspec would refuse it
    for an int field), so a body the spec admits is read as it says."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


_WHOLE = re.compile(r"[0-9]{1,17}")
_DECIMAL = re.compile(r"[0-9]{1,17}(\.[0-9]{1,9})?")


def read_query(request: web.Request, kind: type[S]) -> S:
    """Decode the query string into a Struct; a parameter given twice is an error. Numbers are
    read as people write them (`limit=05`), and only so (not `1e3`)."""
    params: dict[str, str | int | float] = {}
    types = field_types(kind)
    for name, value in request.query.items():
        if name in params:
            raise invalid([FieldError(field=name, message="is given more than once")])
        params[name] = _number(name, value, types.get(name))
    return convert(params, kind, from_text=True)


def _number(name: str, text: str, field: msgspec.inspect.Type | None) -> str | int | float:
    kind = field.type if isinstance(field, msgspec.inspect.Metadata) else field
    if isinstance(kind, msgspec.inspect.IntType):
        shape = _WHOLE
    elif isinstance(kind, msgspec.inspect.FloatType):
        shape = _DECIMAL
    else:
        return text
    if not shape.fullmatch(text):
        raise invalid([FieldError(field=name, message=rule_of(kind) or "must be a number")])
    return int(text) if shape is _WHOLE else float(text)


def refusing_query(op: Operation) -> Handler:
    """The operation's handler, refusing any query parameter the operation does not take rather
    than ignoring it (a `clientId` in a confirm's query string must not pass unseen). An
    operation read from its query alone leaves that to `read_query`; one with a body and a query
    (reserve's two ignored times) refuses every other parameter here, naming the body's."""
    if op.query is not None and op.body is None:
        return op.handler
    taken = _fields_of(op.query)[0] if op.query is not None else frozenset()
    body = op.body or op.form
    in_body = _fields_of(body)[0] if body is not None else frozenset()
    handler = op.handler

    @functools.wraps(handler)
    async def refuse_query(request: web.Request) -> web.StreamResponse:
        unknown = [name for name in request.query if name not in taken]
        if unknown:
            raise invalid(
                [
                    FieldError(
                        field=name,
                        message="belongs in the JSON body, not the query string"
                        if name in in_body
                        else "is not a parameter of this request",
                    )
                    for name in unknown
                ]
            )
        return await handler(request)

    return refuse_query


def parse_times(**texts: str) -> dict[str, float]:
    """Parse several request times, reporting every bad one together: malformed ones (400), or
    else well-formed ones that an offset carries outside the years slotbook handles (422)."""
    parsed: dict[str, float] = {}
    errors: list[FieldError] = []
    outside: list[FieldError] = []
    for name, text in texts.items():
        try:
            parsed[name] = parse_time(text)
        except TimeOutOfRange as error:
            outside.append(FieldError(field=name, message=str(error)))
        except TimeFormatError as error:
            errors.append(FieldError(field=name, message=str(error)))
    if errors:
        raise invalid(errors)
    if outside:
        detail = "; ".join(f"{e.field}: {e.message}" for e in outside)
        raise ProblemError("rule-violation", detail, errors=outside)
    return parsed


_SLOT_ID = re.compile(r"[0-9a-f]{32}")


def slot_id_from_path(request: web.Request) -> str:
    """The {timeSlotId} of the path; one that cannot exist is simply not found."""
    slot_id = request.match_info["timeSlotId"]
    if not _SLOT_ID.fullmatch(slot_id):
        raise ProblemError(
            "slot-not-found",
            f"No time slot has id '{shown(slot_id)}';"
            " ids are the 32 lowercase hex digits that GET /availability gives",
        )
    return slot_id


def none_if_unset(value: T | UnsetType) -> T | None:
    """An optional field's value, or None when the request left it out."""
    return None if isinstance(value, UnsetType) else value
