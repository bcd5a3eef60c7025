"""What a write costs its caller's rate limit: one token to be let in, as every call does, and one
more for every SLOTS_PER_TOKEN slots it changed (each slot changed is one change in the log, and
a delivery to every webhook endpoint that takes it), charged once the write is done.

A handler's write says how many slots it changed (`backend.idempotency.perform` reads it off the
store's result); the gate (`backend.auth`) charges the extra after the handler, and that charge
may take the bucket below zero. So a write that changes more than a full bucket pays for is
still made, and its caller waits until the bucket has refilled before its next call.
"""

from __future__ import annotations

from aiohttp import web

SLOTS_PER_TOKEN = 100
"""Slots a write may change for each token it costs beyond the first."""

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
