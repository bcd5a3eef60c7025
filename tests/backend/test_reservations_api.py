"""A client's list of holds and bookings, and cancelling them."""

from __future__ import annotations

from typing import Any

import pytest

from backend.runtime.clock import ManualClock
from tests.helpers import Api, assert_problem

DAY = "2030-03-06"


@pytest.fixture
async def slots(api: Api) -> list[dict[str, Any]]:
    response = await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 12:00:00")
    created: list[dict[str, Any]] = response.json()["timeSlots"]
    return created


async def test_my_reservations_are_my_live_holds_and_bookings_soonest_first(
    api: Api, slots: list[dict[str, Any]], clock: ManualClock
) -> None:
    await api.reserve("c1", slots[2])
    await api.reserve("c1", slots[0])
    await api.confirm(slots[0])
    await api.reserve("c2", slots[1])
    mine = await api.reservations("c1")
    assert [(r["timestamp"][11:16], r["status"]) for r in mine] == [
        ("11:00", "CONFIRMED"),
        ("11:30", "RESERVED"),
    ]
    assert {r["clientId"] for r in mine} == {"c1"}
    clock.advance(30 * 60)
    assert [r["status"] for r in await api.reservations("c1")] == ["CONFIRMED"]
    assert await api.reservations("nobody") == []


async def test_a_client_cancels_its_hold_and_the_slot_is_open_again(
    api: Api, slots: list[dict[str, Any]]
) -> None:
    await api.reserve("c1", slots[0])
    response = await api.cancel(slots[0], clientId="c1")
    assert response.status_code == 200
    answer = response.json()
    assert answer["message"] == "Reservation cancelled; the time slot is open again"
    assert answer["timeSlot"] == slots[0]
    assert slots[0] in await api.open_slots(f"{DAY} 11:00:00", f"{DAY} 11:15:00")
    assert (await api.reserve("c2", slots[0])).status_code == 201


async def test_a_provider_cancels_a_booking_on_its_own_slot(
    api: Api, slots: list[dict[str, Any]]
) -> None:
    await api.reserve("c1", slots[0])
    await api.confirm(slots[0])
    assert_problem(await api.cancel(slots[0], providerId="p2"), 403, "not-your-reservation")
    assert (await api.cancel(slots[0], providerId="p1")).status_code == 200
    assert await api.reservations("c1") == []


async def test_the_caller_may_name_itself_in_a_body(api: Api, slots: list[dict[str, Any]]) -> None:
    await api.reserve("c1", slots[0])
    response = await api.http.request(
        "DELETE", f"/reservations/{slots[0]['timeSlotId']}", json={"clientId": "c1"}
    )
    assert response.status_code == 200


async def test_nobody_cancels_someone_elses_reservation(
    api: Api, slots: list[dict[str, Any]]
) -> None:
    await api.reserve("c1", slots[0])
    assert_problem(await api.cancel(slots[0], clientId="c2"), 403, "not-your-reservation")
    assert (await api.slot_at("p1", slots[0]["timestamp"]))["clientId"] == "c1"


async def test_there_is_nothing_to_cancel_on_an_open_or_lapsed_slot(
    api: Api, slots: list[dict[str, Any]], clock: ManualClock
) -> None:
    assert_problem(await api.cancel(slots[0], clientId="c1"), 409, "nothing-to-cancel")
    await api.reserve("c1", slots[1])
    clock.advance(31 * 60)
    assert_problem(await api.cancel(slots[1], clientId="c1"), 409, "nothing-to-cancel")


async def test_a_booking_that_has_started_cannot_be_cancelled(
    api: Api, slots: list[dict[str, Any]], clock: ManualClock
) -> None:
    await api.reserve("c1", slots[0])
    await api.confirm(slots[0])
    clock.advance(2 * 86_400 + 2 * 3600 + 1)  # 2030-03-06 11:00:01
    problem = assert_problem(await api.cancel(slots[0], clientId="c1"), 409, "nothing-to-cancel")
    assert "already started" in problem["detail"]


async def test_cancelling_an_unknown_slot_is_not_found(api: Api) -> None:
    ghost = {"timeSlotId": "f" * 32}
    assert_problem(await api.cancel(ghost, clientId="c1"), 404, "slot-not-found")
