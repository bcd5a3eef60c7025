"""Authentication and rate limits: one middleware in front of every route.

It reads `Authorization: Bearer <token>`, charges the caller's rate-limit bucket (the token's, or
the address's when there is no valid token, so that guessing tokens is limited too), and refuses a
missing, unknown or revoked token with 401. Public routes (health, the spec, problem types) need no
token. A write that changed slots is charged for them after it, to its caller's write bucket: a
debt there holds up the caller's next write, not its reads (backend/gate/write_cost.py,
backend/gate/ratelimit.py).

A token found valid is trusted until it is revoked: a revoke through this server drops it at
once, and a watch asks the database twice a second which tokens are revoked, so a revoke made
elsewhere (the `token revoke` command, another process over PostgreSQL) takes effect within half
a second. An unknown token is remembered for a second only (it may be created elsewhere). Without
the `auth-cache` lever every token is asked of the database again after a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from backend.gate.access import CALLER, TRUSTED, Caller
from backend.gate.problems import ProblemError
from backend.gate.ratelimit import RateLimiter, retry_after_header
from backend.gate.tokens import secret_matches, split_token
from backend.gate.write_cost import extra_tokens, is_write
from backend.runtime.background import cancel_and_wait
from backend.runtime.clock import Clock
from backend.store.base import Store, StoredToken

CACHE_SECONDS = 1.0
"""How long an unknown token (or, without the auth-cache lever, any token) is remembered without
asking the database again."""

WATCH_SECONDS = 0.5
"""How often the database is asked which tokens are revoked."""


log = logging.getLogger(__name__)

NO_TOKEN = "No token: send 'Authorization: Bearer <token>'"  # noqa: S105 - a message
NOT_BEARER = "Only bearer tokens are accepted"


@dataclass(frozen=True)
class _Cached:
    stored: StoredToken | None
    fetched: float


class Authenticator:
    """Turns an Authorization header into a Caller, or says why it cannot."""

    def __init__(self, store: Callable[[], Store], clock: Clock, *, until_revoked: bool) -> None:
        self._store = store
        self._clock = clock
        self._until_revoked = until_revoked
        self._cache: dict[str, _Cached] = {}
        self._dropped = 0
        """How many times revoked tokens were dropped (a read that spans one is not cached)."""
        self._revoked = -1
        """How many revoked tokens the database had when last asked."""
        self._watch: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._until_revoked:
            self._watch = asyncio.create_task(self._watch_revocations(), name="slotbook-revoked")

    async def stop(self) -> None:
        await cancel_and_wait(self._watch)

    async def _watch_revocations(self) -> None:
        while True:
            try:
                await self.catch_up()
            except Exception:  # the database is away: tokens are checked again when it is back
                log.warning("could not ask which tokens are revoked", exc_info=True)
                self._cache.clear()
            await asyncio.sleep(WATCH_SECONDS)

    async def catch_up(self) -> None:
        """Drop every cached token that has been revoked since the last time asked."""
        revoked = await self._store().revoked_tokens()
        if len(revoked) != self._revoked:
            self._dropped += 1
            for token_id in revoked:
                self._cache.pop(token_id, None)
            self._revoked = len(revoked)

    def _remember(self, token_id: str, stored: StoredToken | None, dropped: int) -> None:
        """Cache what a read found, unless a revocation was seen while it was under way (the
        read may predate it)."""
        if dropped != self._dropped:
            return
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[token_id] = _Cached(stored, self._clock.now())

    async def caller(self, header: str | None) -> Caller | str:
        """The caller, or the reason (for the 401) when there is none."""
        if header is None:
            return NO_TOKEN
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return f"{NOT_BEARER}; send 'Authorization: Bearer <token>'"
        if not token.strip():
            return "Malformed Authorization header: send 'Authorization: Bearer <token>'"
        parts = split_token(token.strip())
        if parts is None:
            return "Unknown token"
        token_id, secret = parts
        stored = await self._lookup(token_id)
        if stored is None or not secret_matches(secret, stored.secret_hash):
            return "Unknown token"
        record = stored.record
        if record.revoked_at is not None:
            return "This token has been revoked"
        return Caller(
            role=record.role, subject=record.subject, name=record.name, token_id=record.token_id
        )

    async def _lookup(self, token_id: str) -> StoredToken | None:
        now = self._clock.now()
        cached = self._cache.get(token_id)
        if cached is not None and (
            0 <= now - cached.fetched < CACHE_SECONDS
            or (self._until_revoked and cached.stored is not None)
        ):
            return cached.stored
        dropped = self._dropped
        stored = await self._store().find_token(token_id)
        self._remember(token_id, stored, dropped)
        return stored

    def forget(self, token_id: str) -> None:
        """Drop a token from the cache (it was revoked here)."""
        self._dropped += 1
        self._cache.pop(token_id, None)

    async def still_valid(self, token_id: str) -> bool:
        """Whether the token still holds, asked of the database (not the cache), for the open
        streams it opened; the answer refreshes the cache too."""
        dropped = self._dropped
        stored = await self._store().find_token(token_id)
        self._remember(token_id, stored, dropped)
        return stored is not None and stored.record.revoked_at is None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _unauthorized(request: web.Request, reason: str) -> ProblemError:
    """The 401, with the challenge RFC 6750 asks for: an error code only when a bearer token was
    sent and is no good."""
    challenge = 'Bearer realm="slotbook"'
    if reason == NO_TOKEN and "access_token" in request.query:
        reason = "A token in the query string is not accepted (it would end up in logs); send it"
        reason += " as 'Authorization: Bearer <token>'"
    elif reason != NO_TOKEN and not reason.startswith(NOT_BEARER):
        challenge += ', error="invalid_token"'
    return ProblemError("unauthorized", reason, headers={"WWW-Authenticate": challenge})


def gate_middleware(
    authenticator: Authenticator,
    limiter: RateLimiter,
    public_routes: Collection[str],
    *,
    no_auth: bool,
) -> Middleware:
    """The middleware: identify, charge the rate limit, then let through or refuse."""

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        # The resource's name is the operation's: a HEAD shares it with its GET.
        resource = request.match_info.route.resource
        route = None if resource is None else resource.name
        known = route is not None and request.match_info.http_exception is None
        caller: Caller | str = (
            TRUSTED if no_auth else await authenticator.caller(request.headers.get("Authorization"))
        )
        bucket = (
            caller.rate_key if isinstance(caller, Caller) else None
        ) or f"address:{request.remote}"
        wait = limiter.take(bucket, write=is_write(request))
        if wait is not None:
            raise ProblemError(
                "rate-limited",
                f"Too many requests; try again in {retry_after_header(wait)} s",
                headers={"Retry-After": retry_after_header(wait)},
            )
        if known and route not in public_routes:
            if isinstance(caller, str):
                raise _unauthorized(request, caller)
            request[CALLER] = caller
        try:
            return await handler(request)
        finally:
            limiter.charge(bucket, extra_tokens(request))  # what a write changed, after it

    return gate
