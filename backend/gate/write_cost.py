"""What a write costs its caller's rate limit: one token to be let in, as every call does, and one
more for every SLOTS_PER_TOKEN slots it changed (each slot changed is one change in the log, and
a delivery to every webhook endpoint that takes it), charged once the write is done.

A write is any call but GET, HEAD and OPTIONS (the event stream and the long-polls are reads). A
handler's write says how many slots it changed (`backend.api.idempotency.perform` reads it off the
store's result); the gate (`backend.gate.auth`) charges the extra after the handler to the caller's
write bucket (backend/gate/ratelimit.py), and that charge may take it below zero. So a write that
changes more than a full bucket pays for is still made, and its caller waits until the bucket has
refilled before its next write; its reads go on, at the ordinary rate.
"""

from __future__ import annotations

from aiohttp import web

SLOTS_PER_TOKEN = 100
"""Slots a write may change for each token it costs beyond the first."""

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""The methods that change nothing: every other is a write."""

SLOTS_CHANGED = web.RequestKey("slots_changed", int)
"""How many slots the request's write changed."""


def wrote(request: web.Request, slots: int) -> None:
    """The request's write changed this many slots (more, if called again)."""
    before: int = request.get(SLOTS_CHANGED, 0)
    request[SLOTS_CHANGED] = before + slots


def extra_tokens(request: web.Request) -> float:
    """What the request costs beyond the token it took to be let in."""
    slots: int = request.get(SLOTS_CHANGED, 0)
    return slots / SLOTS_PER_TOKEN


def is_write(request: web.Request) -> bool:
    """Whether the request is a write, which its caller's write debt holds up."""
    return request.method not in READ_METHODS
