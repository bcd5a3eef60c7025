"""Idempotency-Key on writes, with Stripe's semantics.

The first answer to a (caller, key) is stored with the write, in its transaction, for 24 hours. A
retry of the same request (method, path, query and body, compared by what they mean, not byte for
byte) gets that answer again, marked `Idempotent-Replayed: true`; the same key with a different
request is 422; a retry that arrives while the first is still being handled is 409. Requests
refused before they reach the store (a malformed body, a wrong token) store nothing, so they can
be fixed and sent again with the key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from backend.gate.access import Caller
from backend.gate.problems import ProblemError, refusal_answer, respond
from backend.gate.write_cost import wrote
from backend.store.base import Answer, Once, SlotWrite

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

IN_FLIGHT = web.AppKey("idempotency_in_flight", set)

R = TypeVar("R")


def scope_of(caller: Caller) -> str:
    """Keys belong to a caller: two callers may use the same key without meeting."""
    return "no-auth" if caller.trusted or caller.token_id is None else f"token:{caller.token_id}"


async def once_for(
    request: web.Request, caller: Caller, render: Callable[[Any], Answer]
) -> Once | None:
    """The request's claim to act at most once, or None when it sent no Idempotency-Key."""
    keys = request.headers.getall(HEADER, [])
    if not keys:
        return None
    if len(keys) > 1:
        raise ProblemError("invalid-request", f"{HEADER} is given {len(keys)} times; send it once")
    key = keys[0]
    if not _KEY.match(key):
        raise ProblemError(
            "invalid-request",
            f"{HEADER} must be 1-255 visible ASCII characters (a UUID is a good choice)",
        )
    return Once(
        scope=scope_of(caller),
        key=key,
        fingerprint=fingerprint(request.method, request.path, request.query, await request.read()),
        render=render,
        refuse=refusal_answer,
    )


_CANONICAL = msgspec.json.Encoder(order="sorted")


def fingerprint(method: str, path: str, query: Mapping[str, str], body: bytes) -> str:
    """What a request means, hashed: its method, path, query parameters in order of name, and its
    JSON body as canonical JSON (keys sorted, no spaces). A retry that an HTTP library
    re-serialised, with other whitespace or key order, is the same request."""
    try:
        meaning = _CANONICAL.encode(msgspec.json.decode(body) if body.strip() else {})
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        meaning = body  # not JSON: refused before it reaches the store, so never replayed
    params = sorted(query.items())
    digest = hashlib.sha256(_CANONICAL.encode([method, path, params]))
    digest.update(b"\n")
    digest.update(meaning)
    return digest.hexdigest()


@asynccontextmanager
async def exclusive(request: web.Request, once: Once | None) -> AsyncIterator[None]:
    """Refuse a second request with the same key while the first is still being handled."""
    if once is None:
        yield
        return
    in_flight: set[tuple[str, str]] = request.app[IN_FLIGHT]
    claim = (once.scope, once.key)
    if claim in in_flight:
        raise ProblemError(
            "idempotency-key-in-use",
            f"A request with {HEADER} '{once.key}' is still being handled; retry in a moment",
        )
    in_flight.add(claim)
    try:
        yield
    finally:
        in_flight.discard(claim)


async def perform(
    request: web.Request,
    caller: Caller,
    render: Callable[[R], Answer],
    write: Callable[[Once | None], Awaitable[R]],
) -> web.Response:
    """Run a write (at most once, when the request carries an Idempotency-Key) and answer it;
    the slots it changed are noted for the rate limit (a replay changed none)."""
    once = await once_for(request, caller, render)
    async with exclusive(request, once):
        result = await write(once)
    if isinstance(result, SlotWrite):
        wrote(request, result.slots_changed)
    return respond(render(result))
