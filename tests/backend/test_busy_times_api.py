"""GET /providers/{providerId}/busy over real HTTP on both stores: the busy times of a provider's
own calendars in a range, each event whole again (the store keeps it in pieces of an hour), cut
to the range, by start; two calendars busy at once are two intervals; the provider's own or an
admin's only; a malformed or unreasonable range refused as GET /availability refuses it."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT, AppContext
from backend.store.busy_records import BusySource, Refreshed
from shared.timefmt import parse_time
from tests.backend.test_calendar_feeds import DAY
from tests.helpers import People, assert_problem

NEXT = "2030-03-07"


def at(text: str) -> int:
    return int(parse_time(text))


def calendar(ctx: AppContext, source_id: str, name: str) -> BusySource:
    now = ctx.now()
    return BusySource(
        source_id=source_id, provider_id="p1", name=name, kind="ics",
        url=f"https://calendar.example.org/{source_id}.ics", username=None, password_sealed=None,
        refresh_minutes=15, all_day_events="busy", created_at=now, updated_at=now, due_at=now,
    )  # fmt: skip


async def read(ctx: AppContext, source_id: str, intervals: list[tuple[int, int]]) -> None:
    """The calendar's busy times, written as the refresher writes a good read."""
    refreshed = Refreshed(intervals, len(intervals), None, None, None, 0)
    assert await ctx.store.record_busy_refresh(source_id, refreshed, ctx.now()) is not None


@pytest.fixture
async def two_calendars(people: People, secure_server: TestServer) -> AppContext:
    """p1's Personal calendar: the dentist 10:15-10:45 on DAY, a long lunch 12:00-15:00 (three
    pieces) and a trip from 20:00 that lasts two days (a day's piece, then hours); their Work
    calendar: a meeting 12:30-13:30 on DAY."""
    ctx = secure_server.app[CONTEXT]
    await ctx.store.create_busy_source(calendar(ctx, "0000000000000001", "Personal"))
    await ctx.store.create_busy_source(calendar(ctx, "0000000000000002", "Work"))
    await read(
        ctx,
        "0000000000000001",
        [
            (at(f"{DAY} 10:15:00"), at(f"{DAY} 10:45:00")),
            (at(f"{DAY} 12:00:00"), at(f"{DAY} 15:00:00")),
            (at(f"{DAY} 20:00:00"), at(f"{NEXT} 20:00:00")),
            (at(f"{NEXT} 20:00:00"), at("2030-03-08 20:00:00")),
        ],
    )
    await read(ctx, "0000000000000002", [(at(f"{DAY} 12:30:00"), at(f"{DAY} 13:30:00"))])
    return ctx


def busy(start: str, end: str, source: str) -> dict[str, str]:
    ids = {"Personal": "0000000000000001", "Work": "0000000000000002"}
    return {"startTime": start, "endTime": end, "sourceId": ids[source], "sourceName": source}


async def busy_times(people: People, who: str, start: str, end: str) -> list[dict[str, Any]]:
    answer = await people[who].get(
        "/providers/p1/busy", params={"startTime": start, "endTime": end}
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["busy"]
    return found


async def test_busy_times_come_whole_cut_to_the_range_by_start(
    two_calendars: AppContext, people: People
) -> None:
    stored = await two_calendars.store.busy_intervals(
        "p1", at(f"{DAY} 00:00:00"), at(f"{NEXT} 00:00:00")
    )
    assert len(stored) == 1 + 3 + 4 + 1  # pieces of an hour (of the trip, its first day's)
    assert await busy_times(people, "p1", f"{DAY} 00:00:00", "2030-03-09 00:00:00") == [
        busy(f"{DAY} 10:15:00", f"{DAY} 10:45:00", "Personal"),
        busy(f"{DAY} 12:00:00", f"{DAY} 15:00:00", "Personal"),
        busy(f"{DAY} 12:30:00", f"{DAY} 13:30:00", "Work"),
        busy(f"{DAY} 20:00:00", "2030-03-08 20:00:00", "Personal"),  # two days, one interval
    ]
    # A range that starts inside busy times, or ends inside one, cuts them at its edges; an
    # admin reads them too, and a time with an offset means what it says.
    assert await busy_times(people, "admin", f"{DAY}T14:30:00+01:00", f"{NEXT} 06:00:00") == [
        busy(f"{DAY} 13:30:00", f"{DAY} 15:00:00", "Personal"),
        busy(f"{DAY} 20:00:00", f"{NEXT} 06:00:00", "Personal"),
    ]
    assert await busy_times(people, "p1", f"{DAY} 10:45:00", f"{DAY} 12:00:00") == []


async def test_only_the_provider_or_an_admin_reads_them_and_a_bad_range_is_refused(
    two_calendars: AppContext, people: People
) -> None:
    whole_day = {"startTime": f"{DAY} 00:00:00", "endTime": f"{NEXT} 00:00:00"}
    for who in ("p2", "c1"):
        refused = await people[who].get("/providers/p1/busy", params=whole_day)
        problem = assert_problem(refused, 403, "forbidden")
        assert "p1" in problem["detail"], problem
    malformed = await people["p1"].get(
        "/providers/p1/busy", params={**whole_day, "startTime": "tomorrow"}
    )
    assert_problem(malformed, 400, "invalid-request")
    assert [e["field"] for e in malformed.json()["errors"]] == ["startTime"]
    missing = await people["p1"].get("/providers/p1/busy", params={"startTime": DAY})
    assert_problem(missing, 400, "invalid-request")
    backwards = await people["p1"].get(
        "/providers/p1/busy",
        params={"startTime": whole_day["endTime"], "endTime": whole_day["startTime"]},
    )
    assert_problem(backwards, 422, "rule-violation")
    too_long = await people["p1"].get(
        "/providers/p1/busy", params={**whole_day, "endTime": "2030-05-06 00:00:00"}
    )
    problem = assert_problem(too_long, 422, "rule-violation")
    assert problem["errors"] == [
        {"field": "endTime", "message": "is more than 31 days after startTime"}
    ]
