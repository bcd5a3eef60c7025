"""Liveness, the API's own description, and what each problem type means."""

from __future__ import annotations

from aiohttp import web

from backend.api.operation import Operation, answer
from backend.problems import PROBLEM_TYPES, ProblemError, shown
from backend.services import services
from shared.wire import Health, ProblemDescription, RulesInForce

OPENAPI_KEY = web.AppKey("openapi", bytes)


async def health(request: web.Request) -> web.Response:
    store = services(request).store
    try:
        await store.check()
    except Exception as error:  # a failing database is what this route exists to report
        return answer(Health(status="failing", database=str(error) or type(error).__name__), 503)
    return answer(Health(status="ok", database=f"ok ({store.engine})"))


async def rules_in_force(request: web.Request) -> web.Response:
    s = services(request).settings
    return answer(
        RulesInForce(
            slot_minutes=s.slot_minutes,
            hold_minutes=s.hold_minutes,
            notice_hours=s.notice_hours,
            max_holds=s.max_holds,
            max_appointment_minutes=s.max_appointment_seconds // 60,
            max_window_days=s.max_window_days,
        )
    )


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_KEY], content_type="application/json")


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
        summary="The booking rules in force: slot length, hold, notice and limits",
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
]
