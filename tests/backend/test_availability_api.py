"""Submitting, listing and removing availability over real HTTP."""

from __future__ import annotations

from backend.runtime.clock import ManualClock
from tests.helpers import Api

DAY = "2030-03-06"  # two days after the fake clock's start


async def test_a_window_becomes_fifteen_minute_slots(api: Api) -> None:
    response = await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 14:00:00")
    assert response.status_code == 201
    answer = response.json()
    assert answer["message"] == "Availability submitted successfully"
    assert answer["created"] == 12
    slots = answer["timeSlots"]
    assert [s["timestamp"] for s in slots[:3]] == [
        f"{DAY} 11:00:00",
        f"{DAY} 11:15:00",
        f"{DAY} 11:30:00",
    ]
    assert slots[-1]["timestamp"] == f"{DAY} 13:45:00"
    assert {(s["providerId"], s["duration"], s["status"]) for s in slots} == {
        ("p1", 15, "AVAILABLE")
    }
    assert all(len(s["timeSlotId"]) == 32 for s in slots)


async def test_submitting_the_same_window_again_changes_nothing(api: Api) -> None:
    first = (await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 12:00:00")).json()
    again = await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 12:00:00")
    assert again.status_code == 200
    assert again.json()["created"] == 0
    assert again.json()["timeSlots"] == first["timeSlots"]


async def test_an_overlapping_window_adds_only_the_missing_slots(api: Api) -> None:
    await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 12:00:00")
    response = await api.submit("p1", f"{DAY} 11:30:00", f"{DAY} 12:30:00")
    assert response.status_code == 201
    assert response.json()["created"] == 2
    assert len(response.json()["timeSlots"]) == 4
    assert len(await api.open_slots(f"{DAY} 00:00:00", f"{DAY} 23:59:59")) == 6


async def test_availability_across_midnight_is_cut_and_listed_on_both_days(api: Api) -> None:
    response = await api.submit("p1", "2030-03-06 23:00:00", "2030-03-07 01:00:00")
    assert response.status_code == 201
    assert response.json()["created"] == 8
    across = await api.open_slots("2030-03-06 23:30:00", "2030-03-07 00:30:00")
    assert [s["timestamp"] for s in across] == [
        "2030-03-06 23:30:00",
        "2030-03-06 23:45:00",
        "2030-03-07 00:00:00",
        "2030-03-07 00:15:00",
    ]
    second_day = await api.open_slots("2030-03-07 00:00:00", "2030-03-08 00:00:00")
    assert len(second_day) == 4


async def test_times_with_offsets_are_read_as_utc(api: Api) -> None:
    response = await api.submit("p1", "2030-03-06T13:00:00+02:00", "2030-03-06T11:30:00Z")
    assert response.status_code == 201
    assert [s["timestamp"] for s in response.json()["timeSlots"]] == [
        f"{DAY} 11:00:00",
        f"{DAY} 11:15:00",
    ]


async def test_the_listing_is_sorted_by_time_then_provider_and_filters_by_provider(
    api: Api,
) -> None:
    await api.submit("zed", f"{DAY} 10:00:00", f"{DAY} 10:30:00")
    await api.submit("amy", f"{DAY} 10:15:00", f"{DAY} 10:45:00")
    listed = await api.open_slots(f"{DAY} 00:00:00", f"{DAY} 23:00:00")
    assert [(s["timestamp"][11:16], s["providerId"]) for s in listed] == [
        ("10:00", "zed"),
        ("10:15", "amy"),
        ("10:15", "zed"),
        ("10:30", "amy"),
    ]
    only_amy = await api.open_slots(f"{DAY} 00:00:00", f"{DAY} 23:00:00", providerId="amy")
    assert {s["providerId"] for s in only_amy} == {"amy"}


async def test_the_listing_leaves_out_what_cannot_be_reserved_now(
    api: Api, clock: ManualClock
) -> None:
    await api.submit("p1", "2030-03-05 08:00:00", "2030-03-05 10:30:00")
    slots = await api.open_slots("2030-03-05 00:00:00", "2030-03-06 00:00:00")
    # Only slots starting more than 24 hours after 2030-03-04 09:00 can be reserved.
    assert slots[0]["timestamp"] == "2030-03-05 09:15:00"
    assert (await api.reserve("c1", slots[0])).status_code == 201
    assert (await api.reserve("c2", slots[1])).status_code == 201
    assert (await api.confirm(slots[1])).status_code == 200
    listed = await api.open_slots("2030-03-05 00:00:00", "2030-03-06 00:00:00")
    assert [s["timestamp"][11:16] for s in listed] == ["09:45", "10:00", "10:15"]
    assert all("clientId" not in s and s["status"] == "AVAILABLE" for s in listed)
    clock.advance(45 * 60)  # 09:45 tomorrow is now exactly 24 hours away: too late
    listed = await api.open_slots("2030-03-05 00:00:00", "2030-03-06 00:00:00")
    assert [s["timestamp"][11:16] for s in listed] == ["10:00", "10:15"]


async def test_pages_follow_the_cursor_without_gaps_or_repeats(api: Api) -> None:
    for provider in ("a", "b", "c"):
        await api.submit(provider, f"{DAY} 08:00:00", f"{DAY} 12:00:00")
    everything = await api.open_slots(f"{DAY} 00:00:00", "2030-03-07 00:00:00")
    assert len(everything) == 48
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {
            "startTime": f"{DAY} 00:00:00",
            "endTime": "2030-03-07 00:00:00",
            "limit": 7,
        }
        if cursor:
            params["cursor"] = cursor
        page = (await api.http.get("/availability", params=params)).json()
        seen += [s["timeSlotId"] for s in page["availableTimeSlots"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert pages == 7
    assert seen == [s["timeSlotId"] for s in everything]


async def test_a_full_last_page_says_there_is_nothing_more(api: Api) -> None:
    await api.submit("p1", f"{DAY} 08:00:00", f"{DAY} 09:00:00")
    params: dict[str, str | int] = {
        "startTime": f"{DAY} 00:00:00",
        "endTime": f"{DAY} 23:00:00",
        "limit": 4,
    }
    page = (await api.http.get("/availability", params=params)).json()
    assert len(page["availableTimeSlots"]) == 4
    assert page["nextCursor"] is None


async def test_removing_availability_keeps_held_and_booked_slots(api: Api) -> None:
    created = (await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 12:00:00")).json()["timeSlots"]
    await api.reserve("c1", created[1])
    await api.reserve("c2", created[2])
    await api.confirm(created[2])
    response = await api.remove("p1", f"{DAY} 11:00:00", f"{DAY} 12:00:00")
    assert response.status_code == 200
    answer = response.json()
    assert answer["deleted"] == 2
    assert answer["message"] == "Removed 2 open time slots; kept 2 held or booked"
    assert [(s["timestamp"][11:16], s["status"], s["clientId"]) for s in answer["kept"]] == [
        ("11:15", "RESERVED", "c1"),
        ("11:30", "CONFIRMED", "c2"),
    ]
    assert await api.open_slots(f"{DAY} 00:00:00", f"{DAY} 23:00:00") == []


async def test_removing_takes_a_lapsed_hold_with_the_open_slots(
    api: Api, clock: ManualClock
) -> None:
    created = (await api.submit("p1", f"{DAY} 11:00:00", f"{DAY} 11:30:00")).json()["timeSlots"]
    await api.reserve("c1", created[0])
    clock.advance(31 * 60)
    answer = (await api.remove("p1", f"{DAY} 11:00:00", f"{DAY} 11:30:00")).json()
    assert answer == {"message": "Removed 2 open time slots", "deleted": 2, "kept": []}


async def test_a_slot_in_the_past_does_not_break_later_calls(api: Api, clock: ManualClock) -> None:
    await api.submit("p1", "2030-03-05 10:00:00", "2030-03-05 11:00:00")
    await api.submit("p1", "2030-03-09 10:00:00", "2030-03-09 11:00:00")
    clock.advance(3 * 86_400)  # the first window is now in the past
    listed = await api.open_slots("2030-03-01 00:00:00", "2030-03-10 00:00:00")
    assert {s["timestamp"][:10] for s in listed} == {"2030-03-09"}
    assert (await api.reserve("c1", listed[0])).status_code == 201
    assert (await api.submit("p1", "2030-03-09 11:00:00", "2030-03-09 12:00:00")).status_code == 201
    assert (await api.http.get("/providers")).status_code == 200


async def test_open_slots_too_soon_to_reserve_are_listed_only_when_asked(api: Api) -> None:
    # The fake clock stands at Monday 09:00; the notice is 24 hours, so Tuesday 09:00 is the
    # horizon: Monday 10:00 is open but too soon, Tuesday 10:00 can be reserved.
    submitted = await api.submit("p1", "2030-03-04 09:00:00", "2030-03-04 11:00:00")
    assert submitted.status_code == 201, submitted.text
    await api.submit("p1", "2030-03-05 10:00:00", "2030-03-05 10:30:00")
    everything = ("2030-03-04 00:00:00", "2030-03-06 00:00:00")

    bookable = await api.open_slots(*everything)
    with_soon = await api.open_slots(*everything, includeTooSoon="true")

    assert [s["timestamp"] for s in bookable] == ["2030-03-05 10:00:00", "2030-03-05 10:15:00"]
    assert [s["timestamp"] for s in with_soon] == [
        "2030-03-04 09:15:00",
        "2030-03-04 09:30:00",
        "2030-03-04 09:45:00",
        "2030-03-04 10:00:00",
        "2030-03-04 10:15:00",
        "2030-03-04 10:30:00",
        "2030-03-04 10:45:00",
        "2030-03-05 10:00:00",
        "2030-03-05 10:15:00",
    ]  # not 09:00, which starts as the clock stands
    refused = await api.http.get(
        "/availability",
        params={"startTime": everything[0], "endTime": everything[1], "includeTooSoon": "maybe"},
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "includeTooSoon", "message": "must be true or false"}
    ]
