"""Liveness, the API's own description, and what each problem type means."""

from __future__ import annotations

from aiohttp import web

from backend.api.context import CONTEXT, context
from backend.api.operation import Operation, answer
from backend.gate.access import caller_of, forbidden
from backend.gate.problems import PROBLEM_TYPES, ProblemError, shown
from backend.runtime.metrics import METRICS_CONTENT_TYPE
from shared.wire import Health, ProblemDescription, RulesInForce

OPENAPI_KEY = web.AppKey("openapi", bytes)


async def health(request: web.Request) -> web.Response:
    store = context(request).store
    try:
        await store.check()
    except Exception as error:  # a failing database is what this route exists to report
        return answer(Health(status="failing", database=str(error) or type(error).__name__), 503)
    return answer(Health(status="ok", database=f"ok ({store.engine})"))


async def rules_in_force(request: web.Request) -> web.Response:
    s = context(request).settings
    return answer(
        RulesInForce(
            slot_minutes=s.slot_minutes,
            hold_minutes=s.hold_minutes,
            notice_hours=s.notice_hours,
            max_holds=s.max_holds,
            max_appointment_minutes=s.max_appointment_seconds // 60,
            max_window_days=s.max_window_days,
            max_waitlist=s.max_waitlist,
            offer_minutes=s.offer_minutes,
        )
    )


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_KEY], content_type="application/json")


async def metrics_page(request: web.Request) -> web.Response:
    caller = caller_of(request)
    if caller.role != "admin":
        raise forbidden(f"Only an admin may read the metrics; {caller.describe()} may not")
    return await metrics_response(request.app)


async def metrics_response(app: web.Application) -> web.Response:
    """The metrics of the application `app` (the main one, also for the --metrics-port one)."""
    ctx = app[CONTEXT]
    body = await ctx.metrics.render(ctx.store, ctx.now())
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def describe_problem(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise ProblemError("not-found", f"No problem type '{shown(slug)}'")
    return answer(
        ProblemDescription(
            type=f"/problems/{slug}", title=kind.title, status=kind.status, advice=kind.advice
        )
    )


OPERATIONS = [
    Operation(
        "GET",
        "/healthz",
        health,
        summary="Liveness, with a database check",
        tag="system",
        public=True,
        answers={
            200: (Health, "The server and its database answer"),
            503: (Health, "The database does not answer"),
        },
    ),
    Operation(
        "GET",
        "/rules",
        rules_in_force,
        summary="The booking rules in force: slot length, hold, notice, limits and the waitlist's",
        tag="system",
        public=True,
        answers={200: (RulesInForce, "The rules")},
    ),
    Operation(
        "GET",
        "/openapi.json",
        openapi_document,
        summary="This document",
        tag="system",
        public=True,
        answers={200: (None, "The OpenAPI 3.1 document the server serves")},
    ),
    Operation(
        "GET",
        "/problems/{slug}",
        describe_problem,
        summary="What a problem type means and what to do about it",
        tag="system",
        public=True,
        path_params={"slug": str},
        answers={200: (ProblemDescription, "The problem type")},
        problems={404: "No such problem type"},
    ),
    Operation(
        "GET",
        "/metrics",
        metrics_page,
        summary="The server's metrics, in Prometheus's text format (admin tokens only)",
        description="Requests by route and status class with a latency histogram; reserves,"
        " confirms, cancels and lapsed holds; the writer's batches, commit time and queue; open"
        " event streams; the webhook backlog; schedule rolls. Each process counts its own."
        " `serve --metrics-port` serves the same without a token on a loopback port.",
        tag="system",
        media_type="text/plain",
        answers={200: (None, "The metrics, in the Prometheus text exposition format")},
        problems={403: "The token is not an admin's"},
    ),
]
