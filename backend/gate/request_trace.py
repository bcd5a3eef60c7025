"""What the server keeps about each request for finding it again: its id and its timing.

`request_log.py` makes a request's `Trace` first thing (outermost middleware) and fills in its
route once it is answered; the problem middleware names the id when it logs an unhandled error,
the event stream sends it in its headers, and the access log writes all of it.
"""

from __future__ import annotations

import itertools
import os

from aiohttp import web

REQUEST_ID_HEADER = "X-Request-Id"

_PROCESS = os.urandom(4).hex()
_NUMBERS = itertools.count(1)


def new_request_id() -> str:
    """A new id, unique in practice across processes and restarts: 8 random hexadecimal digits
    drawn once per process, then this process's request number in 8 more (cheaper than drawing
    random bytes for every request; an id need not be secret, only unique)."""
    return f"{_PROCESS}{next(_NUMBERS) & 0xFFFFFFFF:08x}"


class Trace:
    """A request's id, when the application took it (perf_counter(): aiohttp's own measure has
    the event loop clock's resolution, a millisecond under uvloop) and, once answered, the name
    of its route."""

    __slots__ = ("began", "request_id", "route")

    def __init__(self, request_id: str, began: float) -> None:
        self.request_id = request_id
        self.began = began
        self.route = ""


TRACE = web.RequestKey("trace", Trace)


def request_id_of(request: web.BaseRequest) -> str:
    """The request's id ("-" for one the middleware never saw)."""
    trace = request.get(TRACE)
    return "-" if trace is None else trace.request_id
