"""Request ids and the access log: every request can be found again from what its caller saw.

A request keeps the `X-Request-Id` it came with (when it is a sensible id: 1-128 visible ASCII
characters), or is given one. The id goes back in the response's `X-Request-Id`, in the
`instance` of any problem document it is answered with (`urn:slotbook:request:<id>`), and in the
one access-log line written for it (method, route name, status, duration, id), so a user's
complaint ("I got a 409, request abc123") leads straight to the line.

The access log is aiohttp's own hook (`AbstractAccessLogger`), written through the logger
`slotbook.access`: plain text by default, a JSON object per line with `--log-format json`
(python-json-logger, with the fields as keys of their own).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from time import perf_counter

import msgspec
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Middleware
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from pythonjsonlogger.json import JsonFormatter

from backend.metrics import Metrics
from backend.problems import PROBLEM_CONTENT_TYPE, REQUEST_ID

REQUEST_ID_HEADER = "X-Request-Id"
INSTANCE_PREFIX = "urn:slotbook:request:"
BEGAN = web.RequestKey("began", float)
"""When the application took the request (perf_counter()), for the access log's duration:
aiohttp's own measure has the event loop clock's resolution, a millisecond under uvloop."""

ACCESS_LOG = logging.getLogger("slotbook.access")

_SENSIBLE_ID = re.compile(r"[!-~]{1,128}")
"""Visible ASCII, no spaces, at most 128 characters: safe in a header, a URN and a log line."""

MAX_PATH_CHARS = 200

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_request_id() -> str:
    return secrets.token_hex(8)


def request_id_for(request: web.Request) -> str:
    """The id the caller sent, if it is a sensible one; else a new one."""
    sent = request.headers.get(REQUEST_ID_HEADER)
    if sent is not None and _SENSIBLE_ID.fullmatch(sent):
        return sent
    return new_request_id()


def request_id_of(request: BaseRequest) -> str:
    """The request's id ("-" for one that never reached the application)."""
    return str(request.get(REQUEST_ID, "-"))


def with_instance(body: bytes, request_id: str) -> bytes:
    """A problem document with `instance` naming the request it answers."""
    end = body.rfind(b"}")
    if end < 0:  # pragma: no cover - every problem body is a JSON object
        return body
    instance = msgspec.json.encode(INSTANCE_PREFIX + request_id)
    return body[:end] + b',"instance":' + instance + body[end:]


def request_middleware(metrics: Metrics) -> Middleware:
    """The outermost middleware: gives the request its id, names it in the problem document the
    request is answered with, and counts the request and its time by route and status class."""

    @web.middleware
    async def identify_and_count(request: web.Request, handler: Handler) -> web.StreamResponse:
        began = perf_counter()
        request_id = request_id_for(request)
        request[REQUEST_ID] = request_id
        request[BEGAN] = began
        status = 499  # unless answered: the caller went away first (nginx's "client closed")
        try:
            response = await handler(request)
            status = response.status
            if (
                isinstance(response, web.Response)
                and response.content_type == PROBLEM_CONTENT_TYPE
                and isinstance(response.body, bytes)
                and not response.prepared
            ):
                response.body = with_instance(response.body, request_id)
            return response
        except web.HTTPException as passed_on:  # a redirect, which aiohttp answers itself
            status = passed_on.status
            raise
        finally:
            metrics.observe_request(route_name(request), status, perf_counter() - began)

    return identify_and_count


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the id goes back in every response, a stream's as well."""
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id


def route_name(request: BaseRequest) -> str:
    """The operation a request was routed to, or what stood in for one."""
    match_info = getattr(request, "match_info", None)
    if match_info is None:
        return "-"
    resource = match_info.route.resource
    name = None if resource is None else resource.name
    return name or "unrouted"


class AccessLogger(AbstractAccessLogger):
    """One line per request, through the `slotbook.access` logger."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        request_id = request_id_of(request)
        route = route_name(request)
        began = request.get(BEGAN)
        seconds = time if began is None else perf_counter() - began
        millis = round(seconds * 1000, 2)
        fields: dict[str, object] = {
            "method": request.method,
            "route": route,
            "status": response.status,
            "duration_ms": millis,
            "request_id": request_id,
        }
        where = route
        if route == "unrouted":  # the path, as sent (still percent-encoded: one line stays one)
            fields["path"] = where = request.raw_path[:MAX_PATH_CHARS]
        self.logger.info(
            "%s %s %s %.2f ms id=%s",
            request.method,
            where,
            response.status,
            millis,
            request_id,
            extra=fields,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def configure_logging(level: str, log_format: str, *, worker: bool) -> None:
    """The server's logging: one line per record on stderr, plain or JSON."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{process}{message}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",  # ISO 8601, in UTC
            )
        )
    else:
        who = "%(name)s[%(process)d]" if worker else "%(name)s"
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {who}: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
