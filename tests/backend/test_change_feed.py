"""GET /changes: every change, once, in commit order, private where it should be."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.runtime.clock import ManualClock
from tests.helpers import Api, People, assert_problem

DAY = "2030-03-06"


async def changes(http: httpx.AsyncClient, since: int, **params: Any) -> dict[str, Any]:
    response = await http.get("/changes", params={"since": since, **params})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_every_kind_of_change_is_logged_in_order(
    api: Api, clock: ManualClock, server: TestServer
) -> None:
    slots = (await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 11:45:00")).json()["timeSlots"]
    await api.reserve("c1", slots[0])
    await api.confirm(slots[0])
    await api.cancel(slots[0], clientId="c1")
    await api.reserve("c2", slots[1])
    clock.advance(30 * 60)
    assert await server.app[CONTEXT].sweeper.sweep_once() == 1
    await api.remove("p1", f"{DAY} 11:30:00", f"{DAY} 11:45:00")
    page = await changes(api.http, 0)
    seen = [
        (c["seq"], c["kind"], c["timestamp"][11:16], c.get("clientId")) for c in page["changes"]
    ]
    assert seen == [
        (1, "created", "11:00", None),
        (2, "created", "11:15", None),
        (3, "created", "11:30", None),
        (4, "reserved", "11:00", "c1"),
        (5, "confirmed", "11:00", "c1"),
        (6, "cancelled", "11:00", "c1"),
        (7, "reserved", "11:15", "c2"),
        (8, "expired", "11:15", "c2"),
        (9, "deleted", "11:30", None),
    ]
    statuses = [c["status"] for c in page["changes"]]
    assert statuses[3:8] == ["RESERVED", "CONFIRMED", "AVAILABLE", "RESERVED", "AVAILABLE"]
    assert page["lastSeq"] == 9
    assert page["changes"][0]["timeSlotId"] == slots[0]["timeSlotId"]


async def test_a_hold_taken_over_after_it_lapsed_logs_its_end_first(
    api: Api, clock: ManualClock
) -> None:
    slot = (await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 11:15:00")).json()["timeSlots"][0]
    await api.reserve("c1", slot)
    clock.advance(31 * 60)
    await api.reserve("c2", slot)
    kinds = [(c["kind"], c.get("clientId")) for c in (await changes(api.http, 1))["changes"]]
    assert kinds == [("reserved", "c1"), ("expired", "c1"), ("reserved", "c2")]


async def test_the_sweeper_announces_each_lapsed_hold_once(
    api: Api, clock: ManualClock, server: TestServer
) -> None:
    slots = (await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 11:30:00")).json()["timeSlots"]
    await api.reserve("c1", slots[0])
    await api.reserve("c2", slots[1])
    await api.confirm(slots[1])
    sweeper = server.app[CONTEXT].sweeper
    assert await sweeper.sweep_once() == 0
    clock.advance(30 * 60)
    assert await sweeper.sweep_once() == 1
    assert await sweeper.sweep_once() == 0
    expired = [c for c in (await changes(api.http, 0))["changes"] if c["kind"] == "expired"]
    assert [(e["timeSlotId"], e["clientId"]) for e in expired] == [(slots[0]["timeSlotId"], "c1")]
    shown = await api.slot_at("p1", slots[0]["timestamp"])
    assert shown["status"] == "AVAILABLE"


async def test_without_since_the_answer_is_where_the_log_stands(api: Api) -> None:
    await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 11:30:00")
    response = (await api.http.get("/changes")).json()
    assert response == {"changes": [], "lastSeq": 2}


async def test_pages_follow_last_seq(api: Api) -> None:
    await api.submit("p1", f"{DAY} 08:00:00", f"{DAY} 10:30:00")  # ten changes
    first = await changes(api.http, 0, limit=4)
    second = await changes(api.http, first["lastSeq"], limit=4)
    third = await changes(api.http, second["lastSeq"], limit=4)
    seqs = [c["seq"] for page in (first, second, third) for c in page["changes"]]
    assert seqs == list(range(1, 11))
    assert third["lastSeq"] == 10
    assert (await changes(api.http, 10))["changes"] == []


async def test_a_since_the_log_no_longer_holds_is_gone(
    api: Api, clock: ManualClock, server: TestServer
) -> None:
    await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 11:30:00")  # seq 1, 2
    clock.advance(8 * 86_400)
    await server.app[CONTEXT].sweeper.sweep_once(purge=True)  # keeps only the newest
    await api.submit("p1", "2030-03-14 11:00:00", "2030-03-14 11:15:00")  # seq 3
    assert [c["seq"] for c in (await changes(api.http, 1))["changes"]] == [2, 3]
    problem = assert_problem(await api.http.get("/changes?since=0"), 410, "changes-gone")
    assert "Reload" in problem["detail"]
    assert_problem(await api.http.get("/changes?since=99"), 410, "changes-gone")


async def test_a_long_poll_answers_as_soon_as_something_happens(api: Api) -> None:
    await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 11:15:00")
    waiting = asyncio.ensure_future(changes(api.http, 1, wait=20))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await api.submit("p1", f"{DAY} 12:00:00", f"{DAY} 12:15:00")
    page = await asyncio.wait_for(waiting, 5)
    assert [c["kind"] for c in page["changes"]] == ["created"]
    assert page["lastSeq"] == 2


async def test_a_long_poll_with_nothing_new_ends_empty_after_its_wait(api: Api) -> None:
    page = await changes(api.http, 0, wait=0.2)
    assert page == {"changes": [], "lastSeq": 0}


@pytest.mark.parametrize("wait", ["31", "-1", "soon"])
async def test_a_wait_beyond_thirty_seconds_is_refused(api: Api, wait: str) -> None:
    assert_problem(await api.http.get(f"/changes?since=0&wait={wait}"), 400, "invalid-request")


async def test_the_feed_stays_gap_free_and_in_commit_order_under_concurrent_writes(
    api: Api,
) -> None:
    created = (await api.submit("p1", f"{DAY} 00:00:00", "2030-03-08 02:00:00")).json()
    slots = created["timeSlots"]
    assert len(slots) == 200
    answers = await asyncio.gather(
        *(api.reserve(f"client-{n % 40}", slot) for n, slot in enumerate(slots))
    )
    won = {a.json()["reservation"]["timeSlotId"] for a in answers if a.status_code == 201}
    assert len(won) == 200  # 40 clients x 5 holds each
    seqs: list[int] = []
    reserved: list[str] = []
    since = 0
    while page := (await changes(api.http, since, limit=97))["changes"]:
        seqs += [c["seq"] for c in page]
        reserved += [c["timeSlotId"] for c in page if c["kind"] == "reserved"]
        since = page[-1]["seq"]
    assert seqs == list(range(1, 401))
    assert sorted(reserved) == sorted(won)
    assert len(reserved) == len(set(reserved))


class TestPrivacy:
    """A caller sees a clientId only on its own reservations, or on its own slots."""

    async def test_each_caller_sees_only_the_client_ids_it_may(self, people: People) -> None:
        slots = (
            await people["p1"].post(
                "/availability", json={"startTime": f"{DAY} 11:00:00", "endTime": f"{DAY} 11:30:00"}
            )
        ).json()["timeSlots"]
        for who, slot in (("c1", slots[0]), ("c2", slots[1])):
            await people[who].post(
                "/availability/reserve",
                json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
            )

        async def client_ids(who: str) -> list[str | None]:
            page = await changes(people[who], 2)
            return [c.get("clientId") for c in page["changes"]]

        assert await client_ids("c1") == ["c1", None]
        assert await client_ids("c2") == [None, "c2"]
        assert await client_ids("p1") == ["c1", "c2"]
        assert await client_ids("p2") == [None, None]
        assert await client_ids("admin") == ["c1", "c2"]

    async def test_the_feed_needs_a_token(self, anonymous: httpx.AsyncClient) -> None:
        assert_problem(await anonymous.get("/changes"), 401, "unauthorized")
        assert_problem(await anonymous.get("/events"), 401, "unauthorized")
