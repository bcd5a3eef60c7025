"""Links whose address holds a secret (an e-mail's manage link and confirmation link): the
secret is looked up only for an address that has not tried too many unknown ones, so guessing
goes no faster for a lucky guesser."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from backend.gate.ratelimit import RateLimiter, retry_after_header
from backend.pages.rendering import Refusal
from backend.runtime.clock import Clock

T = TypeVar("T")

MISSES_PER_MINUTE = 10
"""Unknown secrets one address may try a minute (as a burst, then one every 6 seconds)."""
MISSES = web.AppKey("secret_link_misses", RateLimiter)

SECRET = re.compile(r"[A-Za-z0-9_-]{32}")
"""What every link's secret looks like: 24 random bytes, URL-safe base64."""


def miss_limiter(clock: Clock) -> RateLimiter:
    """The buckets of unknown secrets, per address."""
    return RateLimiter(MISSES_PER_MINUTE / 60, MISSES_PER_MINUTE, clock)


async def look_up(
    request: web.Request, find: Callable[[str], Awaitable[T | None]], unknown: Refusal
) -> tuple[str, T]:
    """The secret in the address (`{secret}`) and what `find` finds for it; `unknown` when it
    finds nothing; a 429 page, before any lookup, for an address with too many misses."""
    secret = request.match_info["secret"]
    if not SECRET.fullmatch(secret):
        raise unknown  # no secret has this shape: not a guess worth counting
    refuse_after_misses(request)
    found = await find(secret)
    if found is None:
        request.app[MISSES].take(f"address:{request.remote}", write=False)
        raise unknown
    return secret, found


def refuse_after_misses(request: web.Request) -> None:
    """A 429 page for an address that has tried too many unknown secrets (links or tokens)."""
    wait = request.app[MISSES].waiting(f"address:{request.remote}")
    if wait is not None:
        seconds = retry_after_header(wait)
        raise Refusal(
            429,
            "Too many tries",
            f"Too many links or tokens that are not valid were tried from your address; try"
            f" again in {seconds} seconds.",
            headers={"Retry-After": seconds},
        )
