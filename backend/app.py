"""The application factory: routes from the operation table, the problem, Host and gate
middlewares, and the store opened and closed with the application."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from backend.api import (
    availability,
    busy_sources,
    busy_times,
    calendar_feeds,
    calendar_write,
    changes,
    conflicts,
    me,
    notifications,
    provider_profile,
    providers,
    reservations,
    schedules,
    services,
    system,
    tokens,
    waitlist,
    webhooks,
)
from backend.api.context import CONTEXT, AppContext, rules_from
from backend.api.idempotency import IN_FLIGHT
from backend.api.openapi import build_openapi
from backend.api.operation import Operation, refusing_query
from backend.api.system import OPENAPI_KEY
from backend.gate.auth import gate_middleware
from backend.gate.host_header import host_middleware
from backend.gate.problems import problem_middleware
from backend.gate.ratelimit import RateLimiter
from backend.gate.request_log import request_middleware
from backend.pages import (
    assets,
    booking,
    booking_hold,
    confirm_link,
    manage,
    secret_links,
    token_booking,
)
from backend.runtime.clock import Clock, SystemClock
from backend.runtime.settings import Settings, SettingsError
from backend.runtime.version import slotbook_version
from backend.store import opening
from backend.store.base import Store

MAX_BODY_BYTES = 1024 * 1024

OPERATIONS: list[Operation] = [
    *availability.OPERATIONS,
    *reservations.OPERATIONS,
    *waitlist.OPERATIONS,
    *providers.OPERATIONS,
    *provider_profile.OPERATIONS,
    *schedules.OPERATIONS,
    *conflicts.OPERATIONS,
    *busy_times.OPERATIONS,
    *services.OPERATIONS,
    *busy_sources.OPERATIONS,
    *tokens.OPERATIONS,
    *me.OPERATIONS,
    *notifications.OPERATIONS,
    *calendar_feeds.OPERATIONS,
    *calendar_write.OPERATIONS,
    *manage.OPERATIONS,
    *booking.OPERATIONS,
    *booking_hold.OPERATIONS,
    *confirm_link.OPERATIONS,
    *token_booking.OPERATIONS,
    *assets.OPERATIONS,
    *webhooks.OPERATIONS,
    *changes.OPERATIONS,
    *system.OPERATIONS,
]

StoreFactory = Callable[[AppContext], Awaitable[Store]]


async def open_configured_store(ctx: AppContext) -> Store:
    """The store `--db` names: a SQLite file, or a PostgreSQL database by URL."""
    s = ctx.settings
    return await opening.open_store(
        s.db, ctx.rules, synchronous=s.synchronous, read_threads=s.read_threads, levers=s.levers
    )


def routed_path(path: str) -> str:
    """A path as the router takes it: each `{param}` matches any segment, braces included (the
    router's default refuses them), so that the handler, not the router, says what is wrong with
    an id."""
    return re.sub(r"\{(\w+)\}", r"{\1:[^/]+}", path)


@functools.cache
def openapi_document() -> bytes:
    """GET /openapi.json's body. It depends on the operations and the version alone, so every app
    of a process serves the same one, built once (building and encoding it takes some 40 ms)."""
    spec = build_openapi(
        OPERATIONS, title="slotbook", version=slotbook_version(), outgoing=webhooks.DELIVERIES
    )
    return json.dumps(spec, indent=2).encode()


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    open_store: StoreFactory = open_configured_store,
) -> web.Application:
    """Build the server for these settings. The store opens at start-up and closes at clean-up."""
    ctx = AppContext(settings=settings, rules=rules_from(settings), clock=clock or SystemClock())
    limiter = RateLimiter(settings.rate, settings.burst, ctx.clock)
    public = {op.operation_id for op in OPERATIONS if op.public}
    gate = gate_middleware(ctx.authenticator, limiter, public, no_auth=settings.no_auth)
    app = web.Application(
        middlewares=[request_middleware(ctx.metrics), problem_middleware, host_middleware, gate],
        client_max_size=MAX_BODY_BYTES,
    )
    app[CONTEXT] = ctx
    app[IN_FLIGHT] = set()
    app[OPENAPI_KEY] = openapi_document()
    app[secret_links.MISSES] = secret_links.miss_limiter(ctx.clock)
    app[booking_hold.SENDS] = booking_hold.send_limiter(settings, ctx.clock)
    for op in OPERATIONS:
        handler = refusing_query(op)
        path = routed_path(op.path)
        if op.method == "GET" and op.media_type != "text/event-stream":
            # HEAD as well (what `curl -I` and monitors send); not on a stream, which never ends.
            app.router.add_get(path, handler, name=op.operation_id, allow_head=True)
        else:
            app.router.add_route(op.method, path, handler, name=op.operation_id)

    async def store_lifetime(app: web.Application) -> AsyncIterator[None]:
        store = await open_store(ctx)
        if ctx.settings.secret_box is None and (sealed := await store.sealed_passwords()):
            await store.close()
            stored = f"{sealed} calendar password" + ("s are" if sealed > 1 else " is")
            raise SettingsError(
                f"--secret-key is needed: {stored} stored sealed with it (or SLOTBOOK_SECRET_KEY;"
                " start the server with the key it had before)"
            )
        ctx.open(store)
        await ctx.hub.start()
        ctx.sweeper.start()
        ctx.webhooks.start()
        ctx.mail.start()
        ctx.busy.start()
        ctx.write_back.start()
        ctx.credentials.start()
        ctx.authenticator.start()
        yield
        await ctx.authenticator.stop()
        await ctx.credentials.stop()
        await ctx.write_back.stop()
        await ctx.busy.stop()
        await ctx.mail.stop()
        await ctx.webhooks.stop()
        await ctx.sweeper.stop()
        await ctx.hub.stop()
        await store.close()

    async def end_streams(app: web.Application) -> None:
        await ctx.hub.stop()  # open /events streams end now, so shutdown need not wait for them

    app.cleanup_ctx.append(store_lifetime)
    app.on_shutdown.append(end_streams)
    return app
