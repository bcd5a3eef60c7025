"""Busy times from a provider's own calendars close their slots, over real HTTP on both stores:
an open slot that overlaps a busy interval is not listed (one slot, a length, a type), and a hold
or a move onto it is a 409 that says the provider is busy then; holds and bookings already made
stay; a refresh that fails keeps the last good busy times in force; removing the source opens the
slots again. The intervals are written as the refresher writes them (Store.record_busy_refresh);
what a calendar counts as busy is tests/backend/test_busy_times.py's."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT, AppContext
from backend.store.busy_records import BusySource, Refreshed
from shared.timefmt import parse_time
from tests.backend.test_calendar_feeds import DAY, hold, open_morning
from tests.helpers import People, assert_problem

AT = {time: int(parse_time(f"{DAY} {time}:00")) for time in ("10:00", "10:15", "10:30", "10:45")}
BUSY = (AT["10:15"], AT["10:45"])
"""The dentist: 10:15 to 10:45 on DAY."""


def source(ctx: AppContext) -> BusySource:
    now = ctx.now()
    return BusySource(
        source_id="s1", provider_id="p1", name="Personal", kind="ics",
        url="https://calendar.example.org/p1.ics", username=None, password_sealed=None,
        refresh_minutes=15, all_day_events="busy", created_at=now, updated_at=now, due_at=now,
    )  # fmt: skip


async def refreshed(
    ctx: AppContext, intervals: list[tuple[int, int]] | None, error: str | None = None
) -> BusySource:
    found = await ctx.store.record_busy_refresh(
        "s1",
        Refreshed(intervals, None if intervals is None else len(intervals), error, None, None, 0),
        ctx.now(),
    )
    assert found is not None
    ctx.forget_listings("p1")  # as the refresher does
    return found


async def listed(people: People, **params: Any) -> list[int]:
    answer = await people["c1"].get(
        "/availability",
        params={"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:59:00", "providerId": "p1"}
        | params,
    )
    assert answer.status_code == 200, answer.text
    return [int(parse_time(s["timestamp"])) for s in answer.json()["availableTimeSlots"]]


@pytest.fixture
async def busy_p1(people: People, secure_server: TestServer) -> AppContext:
    """p1's morning open, and their calendar busy from 10:15 to 10:45."""
    ctx = secure_server.app[CONTEXT]
    await open_morning(people)
    await ctx.store.create_busy_source(source(ctx))
    await refreshed(ctx, [BUSY])
    return ctx


async def test_a_busy_time_is_not_listed_for_one_slot_a_length_or_a_type(
    busy_p1: AppContext, people: People
) -> None:
    assert await listed(people) == [AT["10:00"], AT["10:45"]]
    assert await listed(people, minutes=30) == []  # 10:00 runs into the dentist; 10:45 past 11
    made = await people["p1"].post(
        "/providers/p1/services", json={"name": "Quick", "minutes": 15, "bufferAfterMinutes": 15}
    )
    assert made.status_code == 201, made.text
    assert await listed(people, serviceId=made.json()["service"]["serviceId"]) == [
        AT["10:00"],
        AT["10:45"],
    ]
    stored = await busy_p1.store.busy_intervals("p1", AT["10:00"], AT["10:45"] + 900)
    assert [(b.start, b.ends) for b in stored] == [BUSY]


async def test_a_hold_or_a_move_onto_a_busy_time_is_refused_and_says_why(
    busy_p1: AppContext, people: People
) -> None:
    slots = {int(parse_time(s["timestamp"])): s for s in await slot_rows(people)}
    for body in (
        {
            "timeSlot": slots[AT["10:15"]]["timestamp"],
            "timeSlotId": slots[AT["10:15"]]["timeSlotId"],
        },
        {
            "timeSlot": slots[AT["10:00"]]["timestamp"],
            "timeSlotId": slots[AT["10:00"]]["timeSlotId"],
            "minutes": 30,
        },
    ):
        refused = await people["c1"].post("/availability/reserve", json=body)
        problem = assert_problem(refused, 409, "provider-busy")
        assert problem["detail"].startswith("The provider is busy then"), problem
        assert f"{DAY} 10:15:00" in problem["detail"], problem
    await hold(people, "c1", slots[AT["10:00"]])
    to = slots[AT["10:30"]]
    moved = await people["c1"].post(
        f"/reservations/{slots[AT['10:00']]['timeSlotId']}/move",
        json={"toTimeSlotId": to["timeSlotId"], "timeSlot": to["timestamp"]},
    )
    assert_problem(moved, 409, "provider-busy")


async def test_what_was_held_stays_a_failed_refresh_keeps_the_busy_times_and_removal_frees(
    people: People, secure_server: TestServer
) -> None:
    ctx = secure_server.app[CONTEXT]
    slots = await open_morning(people)
    await hold(people, "c1", slots[1])  # 10:15, before the calendar said anything
    await ctx.store.create_busy_source(source(ctx))
    await refreshed(ctx, [BUSY])
    mine = (await people["c1"].get("/reservations")).json()["reservations"]
    assert [r["timeSlotId"] for r in mine] == [slots[1]["timeSlotId"]]  # never touched
    conflicts = await people["p1"].get("/providers/p1/conflicts")
    assert conflicts.status_code == 200, conflicts.text
    assert conflicts.json()["conflicts"] == [
        {
            "timeSlotId": slots[1]["timeSlotId"],
            "start": f"{DAY} 10:15:00",
            "end": f"{DAY} 10:30:00",
            "status": "RESERVED",
            "clientId": "c1",
            "sourceId": "s1",
            "sourceName": "Personal",
            "busyStart": f"{DAY} 10:15:00",
            "busyEnd": f"{DAY} 10:45:00",
        }
    ]
    assert (await people["p2"].get("/providers/p1/conflicts")).status_code == 403
    assert (await people["c1"].get("/providers/p1/conflicts")).status_code == 403
    failed = await refreshed(ctx, None, "could not connect to calendar.example.org")
    assert (failed.failures, failed.last_error, failed.busy_intervals) == (
        1,
        "could not connect to calendar.example.org",
        1,
    )
    assert await listed(people) == [AT["10:00"], AT["10:45"]]  # the last good ones in force
    again = await refreshed(ctx, [])
    assert (again.failures, again.last_error, again.busy_intervals) == (0, None, 0)
    assert await listed(people) == [AT["10:00"], AT["10:30"], AT["10:45"]]
    await refreshed(ctx, [(AT["10:00"], AT["10:00"] + 3 * 86_400)])  # three days: 72 hours
    assert len(await ctx.store.busy_intervals("p1", AT["10:00"], AT["10:00"] + 4 * 86_400)) == 72
    assert await listed(people) == []
    assert (await ctx.store.delete_busy_source("s1", ctx.now())).source_id == "s1"
    ctx.forget_listings("p1")
    assert await listed(people) == [AT["10:00"], AT["10:30"], AT["10:45"]]


async def slot_rows(people: People) -> list[dict[str, Any]]:
    day = await people["p1"].get(
        "/providers/p1/slots", params={"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:59:00"}
    )
    assert day.status_code == 200, day.text
    rows: list[dict[str, Any]] = day.json()["timeSlots"]
    return rows
