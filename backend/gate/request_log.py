"""Request ids and the access log: every request can be found again from what its caller saw.

A request keeps the `X-Request-Id` it came with (when it is a sensible id: 1-128 visible ASCII
characters), or is given one. The id goes back in the response's `X-Request-Id`, in the
`instance` of any problem document it is answered with (`urn:slotbook:request:<id>`), and in the
one access-log line written for it (method, route name, status, duration, id), so a user's
complaint ("I got a 409, request abc123") leads straight to the line.

The access log is aiohttp's own hook (`AbstractAccessLogger`), under the logger name
`slotbook.access`: plain text by default, a JSON object per line with `--log-format json` (the
fields as keys of their own), written in batches (see `AccessLines`). Every other record is
written by the logging module, as JSON lines by python-json-logger with `--log-format json`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from time import perf_counter
from typing import TextIO

import msgspec
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Middleware
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from pythonjsonlogger.json import JsonFormatter

from backend.gate.problems import PROBLEM_CONTENT_TYPE
from backend.gate.request_trace import REQUEST_ID_HEADER, TRACE, Trace, new_request_id
from backend.runtime.metrics import Metrics

INSTANCE_PREFIX = "urn:slotbook:request:"


ACCESS_LOG = logging.getLogger("slotbook.access")

_SENSIBLE_ID = re.compile(r"[!-~]{1,128}")
"""Visible ASCII, no spaces, at most 128 characters: safe in a header, a URN and a log line."""

MAX_PATH_CHARS = 200

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_id_for(request: web.Request) -> str:
    """The id the caller sent, if it is a sensible one; else a new one."""
    sent = request.headers.get(REQUEST_ID_HEADER)
    if sent is not None and _SENSIBLE_ID.fullmatch(sent):
        return sent
    return new_request_id()


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
        request[TRACE] = trace = Trace(request_id, began)
        status = 499  # unless answered: the caller went away first (nginx's "client closed")
        try:
            response = await handler(request)
            status = response.status
            if (
                status >= 400
                and isinstance(response, web.Response)
                and response.content_type == PROBLEM_CONTENT_TYPE
                and isinstance(response.body, bytes)
                and not response.prepared
            ):
                response.body = with_instance(response.body, request_id)
            if not response.prepared:  # a stream sends it itself (backend/api/changes.py)
                response.headers[REQUEST_ID_HEADER] = request_id
            return response
        except web.HTTPException as passed_on:  # a redirect, which aiohttp answers itself
            status = passed_on.status
            raise
        finally:
            trace.route = route_name(request)
            metrics.observe_request(trace.route, status, perf_counter() - began)

    return identify_and_count


def route_name(request: web.Request) -> str:
    """The operation a routed request was routed to, or what stood in for one."""
    resource = request.match_info.route.resource
    name = None if resource is None else resource.name
    return name or "unrouted"


class AccessLines:
    """Where the access log's lines go: formatted here and written to stderr in batches.

    One line per request is the busiest thing a server logs, so it skips the logging module's
    per-record machinery (a LogRecord, a formatter, a write and a flush each: a tenth of a cached
    GET's time in plain text, a third in JSON) and writes the same line itself: the time prefix is
    formatted once a second, and the lines of up to `FLUSH_SECONDS` go out in one write. A line
    may so trail a record logged through the logging module by that long, and a process killed
    with SIGKILL loses at most that much of its access log. Every other record goes through the
    logging module as configured by `configure_logging`."""

    FLUSH_SECONDS = 0.1
    FLUSH_LINES = 512

    def __init__(self, log_format: str, *, worker: bool, stream: TextIO | None = None) -> None:
        self.json = log_format == "json"
        self.who = f"{ACCESS_LOG.name}[{os.getpid()}]" if worker else ACCESS_LOG.name
        self.pid = os.getpid()
        self.stream = stream
        self._lines: list[str] = []
        self._second = -1
        self._prefix = ""

    def _new_second(self, second: int) -> str:
        """logging's asctime up to the second ("2026-12-02 09:14:03"), formatted once a second."""
        self._second = second
        self._prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return self._prefix

    def add(self, message: str, fields: dict[str, object] | None = None) -> None:
        """One line: the message, and in JSON the fields beside it."""
        now = time.time()
        if self.json:
            record: dict[str, object] = {
                "level": "INFO",
                "logger": ACCESS_LOG.name,
                "process": self.pid,
                "message": message,
                **(fields or {}),
                "time": datetime.fromtimestamp(now, UTC).isoformat(),
            }
            line = msgspec.json.encode(record).decode() + "\n"
        else:
            second = int(now)
            prefix = self._prefix if second == self._second else self._new_second(second)
            line = f"{prefix},{int((now - second) * 1000):03d} INFO {self.who}: {message}\n"
        lines = self._lines
        lines.append(line)
        if len(lines) >= self.FLUSH_LINES:
            self.flush()
        elif len(lines) == 1:
            try:
                asyncio.get_running_loop().call_later(self.FLUSH_SECONDS, self.flush)
            except RuntimeError:  # no loop (a test calling it directly): write at once
                self.flush()

    def flush(self) -> None:
        if not self._lines:
            return
        text = "".join(self._lines)
        self._lines.clear()
        stream = self.stream or sys.stderr
        stream.write(text)
        stream.flush()


_lines = AccessLines("plain", worker=False)
"""The access log's sink, as `configure_logging` last set it up."""


def flush_access_log() -> None:
    """Write the access lines still held (at shutdown)."""
    _lines.flush()


class AccessLogger(AbstractAccessLogger):
    """One line per request (aiohttp calls it once the response is sent), on the access log's
    own sink; `--log-level WARNING` or above leaves the lines out."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        trace = request.get(TRACE)
        if trace is None:  # refused by the HTTP parser: backend/gate/http_log.py wrote its one line
            return
        request_id, route = trace.request_id, trace.route
        millis = (perf_counter() - trace.began) * 1000
        unrouted = route == "unrouted"
        # For an unrouted request, the path as sent (still percent-encoded: one line stays one).
        where = request.raw_path[:MAX_PATH_CHARS] if unrouted else route
        method = request.method
        status = response.status
        message = f"{method} {where} {status} {millis:.2f} ms id={request_id}"
        if not _lines.json:
            _lines.add(message)
            return
        fields: dict[str, object] = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(millis, 2),
            "request_id": request_id,
        }
        if unrouted:
            fields["path"] = where
        _lines.add(message, fields)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def configure_logging(level: str, log_format: str, *, worker: bool) -> None:
    """The server's logging: one line per record on stderr, plain or JSON (compact, as the access
    lines are)."""
    global _lines
    _lines.flush()
    _lines = AccessLines(log_format, worker=worker)
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{process}{message}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",  # ISO 8601, in UTC
                json_serializer=partial(json.dumps, separators=(",", ":")),
            )
        )
    else:
        who = "%(name)s[%(process)d]" if worker else "%(name)s"
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {who}: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
