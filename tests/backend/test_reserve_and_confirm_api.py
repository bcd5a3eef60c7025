"""Holding and confirming slots over real HTTP, with the fake clock for everything time-bound.

The original take-home had a defect in each of the first few tests below; each test names it.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.runtime.clock import ManualClock
from tests.helpers import Api, assert_problem, dump_database

DAY = "2030-03-06"


@pytest.fixture
async def slots(api: Api) -> list[dict[str, Any]]:
    response = await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 14:00:00")
    created: list[dict[str, Any]] = response.json()["timeSlots"]
    return created


async def test_a_second_client_cannot_reserve_a_held_slot(
    api: Api, slots: list[dict[str, Any]]
) -> None:
    """Seed defect: the second client got 200 "reserved successfully"."""
    first = await api.reserve("c1", slots[0])
    assert first.status_code == 201
    assert first.json()["message"] == "Time slot reserved successfully"
    second = await api.reserve("c2", slots[0])
    problem = assert_problem(second, 409, "slot-taken")
    assert problem["message"] == "Time slot not available"
    assert (await api.slot_at("p1", slots[0]["timestamp"]))["clientId"] == "c1"


async def test_the_listing_shows_neither_held_nor_booked_slots_nor_client_ids(
    api: Api, slots: list[dict[str, Any]]
) -> None:
    """Seed defect: the listing returned RESERVED and CONFIRMED slots, client ids included."""
    await api.reserve("c1", slots[0])
    await api.reserve("c2", slots[1])
    await api.confirm(slots[1])
    listed = await api.open_slots(f"{DAY} 11:00:00", f"{DAY} 12:00:00")
    assert [s["timeSlotId"] for s in listed] == [slots[2]["timeSlotId"], slots[3]["timeSlotId"]]
    assert all(
        set(s) == {"timeSlotId", "providerId", "timestamp", "duration", "status"} for s in listed
    )


async def test_a_reservation_says_who_holds_it_and_until_when(
    api: Api, slots: list[dict[str, Any]]
) -> None:
    reservation = (await api.reserve("c1", slots[0])).json()["reservation"]
    assert reservation == {
        **slots[0],
        "status": "RESERVED",
        "clientId": "c1",
        "reservedAt": "2030-03-04 09:00:00",
        "expiresAt": "2030-03-04 09:30:00",
        "appointmentId": slots[0]["timeSlotId"],
        "minutes": 15,
        "timeSlotIds": [slots[0]["timeSlotId"]],
    }


async def test_the_same_client_repeating_a_reserve_gets_the_same_hold(
    api: Api, slots: list[dict[str, Any]], clock: ManualClock
) -> None:
    first = (await api.reserve("c1", slots[0])).json()["reservation"]
    clock.advance(60)
    again = await api.reserve("c1", slots[0])
    assert again.status_code == 200
    assert again.json()["message"] == "Time slot already reserved by you"
    assert again.json()["reservation"] == first


async def test_a_hold_lapses_is_listed_again_and_the_first_clients_confirm_is_gone(
    api: Api, slots: list[dict[str, Any]], clock: ManualClock
) -> None:
    """Seed defect: a lapsed hold kept the old client id, and confirming it was a plain 400."""
    held = (await api.reserve("c1", slots[0])).json()["reservation"]
    assert held["expiresAt"] == "2030-03-04 09:30:00"
    clock.advance(30 * 60)
    listed = await api.open_slots(f"{DAY} 11:00:00", f"{DAY} 11:15:00")
    assert listed == [slots[0]]
    taken = await api.reserve("c2", slots[0])
    assert taken.status_code == 201
    assert taken.json()["reservation"]["clientId"] == "c2"
    late = await api.confirm(slots[0], client="c1")
    assert_problem(late, 410, "hold-lapsed")
    assert (await api.confirm(slots[0], client="c2")).status_code == 200


async def test_confirming_a_lapsed_hold_that_nobody_took_is_gone_too(
    api: Api, slots: list[dict[str, Any]], clock: ManualClock
) -> None:
    await api.reserve("c1", slots[0])
    clock.advance(30 * 60 + 1)
    assert_problem(await api.confirm(slots[0], client="c1"), 410, "hold-lapsed")
    assert_problem(await api.confirm(slots[0]), 410, "hold-lapsed")
    shown = await api.slot_at("p1", slots[0]["timestamp"])
    assert shown["status"] == "AVAILABLE"
    assert "clientId" not in shown


async def test_nobody_may_confirm_another_clients_hold(
    api: Api, slots: list[dict[str, Any]]
) -> None:
    """Seed defect: anyone could confirm anyone's hold."""
    await api.reserve("c1", slots[0])
    assert_problem(await api.confirm(slots[0], client="c2"), 403, "not-your-reservation")
    assert (await api.slot_at("p1", slots[0]["timestamp"]))["status"] == "RESERVED"


async def test_confirming_twice_says_already_confirmed(
    api: Api, slots: list[dict[str, Any]]
) -> None:
    await api.reserve("c1", slots[0])
    first = await api.confirm(slots[0], client="c1")
    assert first.json()["message"] == "Reservation confirmed successfully"
    booking = first.json()["reservation"]
    assert booking["status"] == "CONFIRMED"
    assert booking["confirmedAt"] == "2030-03-04 09:00:00"
    assert "expiresAt" not in booking
    second = await api.confirm(slots[0], client="c1")
    assert second.status_code == 200
    assert second.json()["message"] == "Reservation already confirmed"
    assert_problem(await api.confirm(slots[0], client="c2"), 403, "not-your-reservation")


async def test_a_booking_stays_put_however_much_time_passes(
    api: Api, slots: list[dict[str, Any]], clock: ManualClock
) -> None:
    await api.reserve("c1", slots[0])
    await api.confirm(slots[0])
    clock.advance(86_400)
    assert_problem(await api.reserve("c2", slots[0]), 409, "slot-taken")
    assert (await api.slot_at("p1", slots[0]["timestamp"]))["clientId"] == "c1"


async def test_an_open_slot_cannot_be_confirmed(api: Api, slots: list[dict[str, Any]]) -> None:
    assert_problem(await api.confirm(slots[0], client="c1"), 409, "not-held")


async def test_the_time_sent_must_be_the_slots_time(api: Api, slots: list[dict[str, Any]]) -> None:
    wrong = {**slots[0], "timestamp": slots[1]["timestamp"]}
    assert_problem(await api.reserve("c1", wrong), 422, "slot-time-mismatch")
    await api.reserve("c1", slots[0])
    assert_problem(await api.confirm(wrong), 422, "slot-time-mismatch")


async def test_unknown_slots_are_not_found(api: Api) -> None:
    ghost = {"timeSlotId": "0" * 32, "timestamp": f"{DAY} 11:00:00"}
    assert_problem(await api.reserve("c1", ghost), 404, "slot-not-found")
    assert_problem(await api.confirm(ghost), 404, "slot-not-found")


async def test_a_slot_inside_the_notice_period_cannot_be_reserved(api: Api) -> None:
    soon = (await api.submit("p1", "2030-03-05 08:00:00", "2030-03-05 09:00:00")).json()
    problem = assert_problem(await api.reserve("c1", soon["timeSlots"][0]), 422, "notice-too-short")
    assert problem["message"] == "Time slot must be at least 24 hours in the future"


async def test_a_hold_ends_when_the_notice_period_begins(api: Api, clock: ManualClock) -> None:
    created = (await api.submit("p1", "2030-03-05 09:00:00", "2030-03-05 09:30:00")).json()
    slot = created["timeSlots"][1]  # 09:15 tomorrow: notice begins in 15 minutes
    held = (await api.reserve("c1", slot)).json()["reservation"]
    assert held["expiresAt"] == "2030-03-04 09:15:00"
    clock.advance(15 * 60)
    assert_problem(await api.confirm(slot, client="c1"), 410, "hold-lapsed")


async def test_a_client_may_hold_only_five_slots_at_once(
    api: Api, slots: list[dict[str, Any]], clock: ManualClock
) -> None:
    for slot in slots[:5]:
        assert (await api.reserve("c1", slot)).status_code == 201
    problem = assert_problem(await api.reserve("c1", slots[5]), 409, "too-many-holds")
    assert "You already hold 5 appointments" in problem["detail"]
    await api.confirm(slots[0])  # a booking is no longer a hold
    assert (await api.reserve("c1", slots[5])).status_code == 201
    clock.advance(30 * 60)  # every hold lapses: the limit frees up
    assert (await api.reserve("c1", slots[6])).status_code == 201


ORIGINAL_QUERY = {"startTime": "2030-03-03 12:00:00", "endTime": "2030-03-03 13:00:00"}
"""What the original take-home README's reserve call sends in its query string: two times."""


async def test_a_reserve_with_the_original_calls_query_times_holds_the_slot(
    api: Api, slots: list[dict[str, Any]]
) -> None:
    body = {"clientId": "c1", "timeSlot": slots[0]["timestamp"]} | {
        "timeSlotId": slots[0]["timeSlotId"]
    }
    answer = await api.http.post("/availability/reserve", params=ORIGINAL_QUERY, json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["message"] == "Time slot reserved successfully"
    assert (await api.slot_at("p1", slots[0]["timestamp"]))["clientId"] == "c1"


@pytest.mark.parametrize(
    ("query", "fields", "message"),
    [
        ({**ORIGINAL_QUERY, "startTime": "tomorrow"}, ["startTime"], "YYYY-MM-DD"),
        ({**ORIGINAL_QUERY, "endTime": "2030-02-30 13:00:00"}, ["endTime"], "not a real date"),
        ({"startTime": "2030-03-03 12:00:00", "endTime": ""}, ["endTime"], "must be a time"),
        ({**ORIGINAL_QUERY, "limit": "5"}, ["limit"], "is not a parameter of this request"),
        ({"providerId": "p1"}, ["providerId"], "is not a parameter of this request"),
        ({"clientId": "c2"}, ["clientId"], "belongs in the JSON body, not the query string"),
    ],
)
async def test_a_reserve_refuses_a_malformed_query_time_and_any_other_parameter(
    api: Api,
    slots: list[dict[str, Any]],
    db: str,
    query: dict[str, str],
    fields: list[str],
    message: str,
) -> None:
    before = dump_database(db)
    body = {"clientId": "c1", "timeSlot": slots[0]["timestamp"]} | {
        "timeSlotId": slots[0]["timeSlotId"]
    }
    answer = await api.http.post("/availability/reserve", params=query, json=body)
    problem = assert_problem(answer, 400, "invalid-request")
    assert [e["field"] for e in problem["errors"]] == fields
    assert message in problem["errors"][0]["message"]
    assert dump_database(db) == before
