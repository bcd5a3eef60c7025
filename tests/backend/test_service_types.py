"""Appointment types over real HTTP against the real app on a real database (a SQLite file, and
PostgreSQL): made, changed and archived; booked with their length, buffers, notice, booking window
and daily limit, each at its edges; listed only where they fit; named in reservations, the change
feed and calendar feeds; and raced by many clients without the buffer rule or a daily limit ever
giving way."""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import httpx

from backend.runtime.clock import ManualClock
from tests.backend.test_appointments import DAY, hold, publish
from tests.helpers import Api, assert_problem, dump_database

FOLLOW_UP = {"name": "Follow-up", "minutes": 30}
ASSESSMENT = {"name": "First assessment", "minutes": 60, "bufferAfterMinutes": 15}


async def offer(http: httpx.AsyncClient, provider: str, **fields: Any) -> dict[str, Any]:
    response = await http.post(f"/providers/{provider}/services", json=fields)
    assert response.status_code == 201, response.text
    service: dict[str, Any] = response.json()["service"]
    return service


def at(slots: list[dict[str, Any]], clock_time: str) -> dict[str, Any]:
    return next(s for s in slots if s["timestamp"] == f"{DAY} {clock_time}")


# --- the types themselves ---------------------------------------------------------------------


async def test_a_type_is_offered_listed_changed_and_archived(api: Api, db: str) -> None:
    http = api.http
    made = await http.post(
        "/providers/p1/services",
        json={**ASSESSMENT, "description": "Bring your scans", "dailyLimit": 3},
    )
    assert made.status_code == 201, made.text
    service = made.json()["service"]
    assert service == {
        "serviceId": service["serviceId"],
        "providerId": "p1",
        "name": "First assessment",
        "minutes": 60,
        "bufferBeforeMinutes": 0,
        "bufferAfterMinutes": 15,
        "noticeMinutes": 1440,  # the server's notice, as GET /rules says it
        "maxAdvanceDays": None,
        "dailyLimit": 3,
        "description": "Bring your scans",
        "archived": False,
    }
    path = f"/services/{service['serviceId']}"
    changed = await http.patch(path, json={"maxAdvanceDays": 28, "dailyLimit": None})
    assert changed.status_code == 200, changed.text
    assert (
        changed.json()["service"]["maxAdvanceDays"],
        changed.json()["service"]["dailyLimit"],
    ) == (
        28,
        None,
    )
    assert (await http.get(path)).json()["service"]["maxAdvanceDays"] == 28
    listed = await http.get("/providers/p1/services")
    assert [s["name"] for s in listed.json()["services"]] == ["First assessment"]
    assert (await http.get("/providers/p2/services")).json() == {"services": []}

    archived = await http.delete(path)
    assert archived.status_code == 200, archived.text
    assert archived.json()["service"]["archived"] is True
    assert (await http.get("/providers/p1/services")).json() == {"services": []}
    everything = await http.get("/providers/p1/services", params={"archived": "true"})
    assert [s["archived"] for s in everything.json()["services"]] == [True]
    restored = await http.patch(path, json={"archived": False})
    assert restored.json()["service"]["archived"] is False


BAD_TYPES = [
    ({"name": "Odd", "minutes": 20}, 422, "minutes"),
    ({"name": "Long", "minutes": 135}, 422, "minutes"),
    ({"name": "Gap", "minutes": 30, "bufferAfterMinutes": 5}, 422, "bufferAfterMinutes"),
    ({"name": "Gap", "minutes": 30, "bufferBeforeMinutes": 135}, 400, "bufferBeforeMinutes"),
    (
        {"name": "Soon", "minutes": 30, "noticeMinutes": 2880, "maxAdvanceDays": 2},
        422,
        "noticeMinutes",
    ),
    ({"name": "", "minutes": 30}, 400, "name"),
    ({"name": "\u202eevil", "minutes": 30}, 400, "name"),
    ({"name": "x" * 81, "minutes": 30}, 400, "name"),
    ({"minutes": 30}, 400, "name"),
    ({"name": "Busy", "minutes": 30, "dailyLimit": 0}, 400, "dailyLimit"),
    ({"name": "Far", "minutes": 30, "maxAdvanceDays": 367}, 400, "maxAdvanceDays"),
    ({"name": "Typo", "minutes": 30, "buffer": 15}, 400, "buffer"),
    ({"name": "Two lines", "minutes": 30, "description": "a\nb"}, 400, "description"),
]
"""(fields sent, status answered, the field the problem names)."""


async def test_a_bad_type_is_a_problem_that_changes_nothing(api: Api, db: str) -> None:
    before = dump_database(db)
    for fields, status, field in BAD_TYPES:
        response = await api.http.post("/providers/p1/services", json=fields)
        problem = assert_problem(response, status)
        assert field in [e["field"] for e in problem["errors"]], (fields, problem)
    assert dump_database(db) == before


async def test_a_bad_change_or_an_unknown_type_changes_nothing(api: Api, db: str) -> None:
    service = await offer(api.http, "p1", **FOLLOW_UP)
    path = f"/services/{service['serviceId']}"
    before = dump_database(db)
    assert_problem(await api.http.patch(path, json={"minutes": 40}), 422, "rule-violation")
    assert_problem(await api.http.patch(path, json={"providerId": "p2"}), 400)
    assert_problem(await api.http.patch("/services/" + "0" * 32, json={}), 404, "service-not-found")
    assert_problem(await api.http.get("/services/nope"), 404, "service-not-found")
    assert dump_database(db) == before


# --- booking one ---------------------------------------------------------------------------------


async def test_a_type_is_held_for_its_length_and_named_wherever_the_booking_shows(
    api: Api,
) -> None:
    service = await offer(api.http, "p1", **ASSESSMENT)
    slots = await publish(api, "p1", "09:00:00", "12:00:00")
    held = await hold(api.http, "c1", slots[0], serviceId=service["serviceId"])
    assert held.status_code == 201, held.text
    reservation = held.json()["reservation"]
    assert (reservation["minutes"], len(reservation["timeSlotIds"])) == (60, 4)
    assert (reservation["serviceId"], reservation["serviceName"]) == (
        service["serviceId"],
        "First assessment",
    )
    again = await hold(api.http, "c1", slots[0], serviceId=service["serviceId"])
    assert again.status_code == 200, again.text  # the same hold, asked for again

    mine = await api.http.get("/reservations", params={"clientId": "c1"})
    assert mine.json()["reservations"][0]["serviceName"] == "First assessment"
    day = await api.http.get(
        "/providers/p1/slots",
        params={"startTime": f"{DAY} 09:00:00", "endTime": f"{DAY} 10:00:00"},
    )
    shown = day.json()["timeSlots"]
    assert {s.get("serviceName") for s in shown} == {"First assessment"}
    assert {(s.get("bufferBeforeMinutes"), s["bufferAfterMinutes"]) for s in shown} == {(None, 15)}
    changes = (await api.http.get("/changes", params={"since": 0})).json()["changes"]
    reserved = [c for c in changes if c["kind"] == "reserved"]
    assert {(c["serviceId"], c["serviceName"]) for c in reserved} == {
        (service["serviceId"], "First assessment")
    }
    confirmed = await api.http.put(
        f"/availability/confirm/{slots[0]['timeSlotId']}", json={"timeSlot": slots[0]["timestamp"]}
    )
    assert confirmed.json()["reservation"]["serviceName"] == "First assessment"

    feed = await api.http.post("/calendar-feeds", json={"providerId": "p1"})
    calendar = await api.http.get(feed.json()["url"])
    assert "SUMMARY:First assessment with c1" in calendar.text


async def test_a_reserve_naming_a_type_must_agree_with_it(api: Api, db: str) -> None:
    mine = await offer(api.http, "p1", **FOLLOW_UP)
    theirs = await offer(api.http, "p2", **FOLLOW_UP)
    slots = await publish(api, "p1", "09:00:00", "10:00:00")
    before = dump_database(db)
    wrong_length = await hold(api.http, "c1", slots[0], serviceId=mine["serviceId"], minutes=45)
    assert "minutes" in [e["field"] for e in assert_problem(wrong_length, 400)["errors"]]
    other = await hold(api.http, "c1", slots[0], serviceId=theirs["serviceId"])
    assert "serviceId" in [
        e["field"] for e in assert_problem(other, 422, "rule-violation")["errors"]
    ]
    unknown = await hold(api.http, "c1", slots[0], serviceId="f" * 32)
    assert_problem(unknown, 404, "service-not-found")
    await api.http.delete(f"/services/{mine['serviceId']}")
    before = dump_database(db)
    archived = await hold(api.http, "c1", slots[0], serviceId=mine["serviceId"])
    assert_problem(archived, 409, "service-archived")
    assert dump_database(db) == before
    same_length = await hold(api.http, "c1", slots[0], serviceId=theirs["serviceId"], minutes=30)
    assert_problem(same_length, 422, "rule-violation")


async def test_buffers_keep_other_appointments_out_at_their_edges(api: Api, db: str) -> None:
    """An hour from 10:00 keeping 15 minutes after it: 11:00 is refused, 11:15 is not; a type
    keeping 15 minutes before it cannot start right after a plain booking, and can 15 later."""
    assessment = await offer(api.http, "p1", **ASSESSMENT)
    careful = await offer(api.http, "p1", name="Careful", minutes=30, bufferBeforeMinutes=15)
    slots = await publish(api, "p1", "10:00:00", "14:00:00")
    held = await hold(api.http, "c1", at(slots, "10:00:00"), serviceId=assessment["serviceId"])
    assert held.status_code == 201, held.text
    first = at(slots, "10:00:00")["timeSlotId"]

    before = dump_database(db)
    inside = await hold(api.http, "c2", at(slots, "11:00:00"))
    problem = assert_problem(inside, 409, "slot-taken")
    assert first in problem["detail"], problem
    assert "15 minutes clear" in problem["detail"], problem
    assert dump_database(db) == before
    assert (await hold(api.http, "c2", at(slots, "11:15:00"))).status_code == 201

    # A plain hour 12:00-13:00 is booked; the careful type keeps 15 minutes before itself.
    plain = await hold(api.http, "c3", at(slots, "12:00:00"), minutes=60)
    assert plain.status_code == 201, plain.text
    right_after = await hold(api.http, "c1", at(slots, "13:00:00"), serviceId=careful["serviceId"])
    assert at(slots, "12:00:00")["timeSlotId"] in assert_problem(right_after, 409)["detail"]
    later = await hold(api.http, "c1", at(slots, "13:15:00"), serviceId=careful["serviceId"])
    assert later.status_code == 201, later.text


async def test_a_buffer_may_lie_outside_the_providers_hours(api: Api) -> None:
    early = await offer(api.http, "p1", name="Early", minutes=30, bufferBeforeMinutes=30)
    slots = await publish(api, "p1", "09:00:00", "10:00:00")
    held = await hold(api.http, "c1", slots[0], serviceId=early["serviceId"])
    assert held.status_code == 201, held.text


async def test_a_move_keeps_the_buffers_it_was_booked_with(api: Api) -> None:
    assessment = await offer(api.http, "p1", **ASSESSMENT)
    slots = await publish(api, "p1", "09:00:00", "13:00:00")
    assert (await hold(api.http, "c2", at(slots, "11:15:00"))).status_code == 201
    held = await hold(api.http, "c1", at(slots, "09:00:00"), serviceId=assessment["serviceId"])
    first = held.json()["reservation"]["timeSlotId"]
    into_buffer = await api.http.post(
        f"/reservations/{first}/move",
        json={"toTimeSlotId": at(slots, "10:15:00")["timeSlotId"], "timeSlot": f"{DAY} 10:15:00"},
    )
    assert_problem(into_buffer, 409, "slot-taken")
    clear = await api.http.post(
        f"/reservations/{first}/move",
        json={"toTimeSlotId": at(slots, "10:00:00")["timeSlotId"], "timeSlot": f"{DAY} 10:00:00"},
    )
    assert clear.status_code == 200, clear.text
    assert clear.json()["reservation"]["serviceName"] == "First assessment"
    other = await publish(api, "p2", "09:00:00", "11:00:00")
    away = await api.http.post(
        f"/reservations/{at(slots, '10:00:00')['timeSlotId']}/move",
        json={"toTimeSlotId": other[0]["timeSlotId"], "timeSlot": other[0]["timestamp"]},
    )
    assert "stays with them" in assert_problem(away, 409, "slot-taken")["detail"]


async def test_a_types_notice_is_kept_at_reserve_and_at_confirm(
    api: Api, clock: ManualClock
) -> None:
    """The clock stands two days before DAY; a type with two days' notice takes 10:00 (exactly
    its notice plus a slot ahead) but not 09:00; its hold lapses when the notice begins, and a
    confirm after that is told about the notice."""
    service = await offer(api.http, "p1", name="Planned", minutes=15, noticeMinutes=2880 + 60)
    slots = await publish(api, "p1", "09:00:00", "11:00:00")
    too_soon = await hold(api.http, "c1", at(slots, "10:00:00"), serviceId=service["serviceId"])
    problem = assert_problem(too_soon, 422, "notice-too-short")
    assert "Planned is booked with 49 hours of notice" in problem["detail"], problem
    held = await hold(api.http, "c1", at(slots, "10:15:00"), serviceId=service["serviceId"])
    assert held.status_code == 201, held.text
    assert held.json()["reservation"]["expiresAt"] == "2030-03-04 09:15:00"
    clock.advance(15 * 60)
    late = await api.http.put(
        f"/availability/confirm/{at(slots, '10:15:00')['timeSlotId']}",
        json={"timeSlot": f"{DAY} 10:15:00", "clientId": "c1"},
    )
    assert_problem(late, 422, "notice-too-short")
    plain = await hold(api.http, "c2", at(slots, "09:30:00"))
    assert plain.status_code == 201, plain.text  # the server's own 24 hours still apply


async def test_a_type_cannot_be_booked_beyond_its_window(api: Api, clock: ManualClock) -> None:
    service = await offer(api.http, "p1", name="Soon", minutes=15, maxAdvanceDays=2)
    slots = await publish(api, "p1", "08:45:00", "09:30:00")  # T0 is 2030-03-04 09:00
    edge = await hold(api.http, "c1", at(slots, "09:00:00"), serviceId=service["serviceId"])
    assert edge.status_code == 201, edge.text  # exactly two days ahead
    beyond = await hold(api.http, "c2", at(slots, "09:15:00"), serviceId=service["serviceId"])
    assert "at most 2 days ahead" in assert_problem(beyond, 422, "too-far-ahead")["detail"]
    whole_day = (f"{DAY} 00:00:00", f"{DAY} 23:00:00")
    listed = await api.open_slots(*whole_day, serviceId=service["serviceId"])
    assert [s["timestamp"][11:16] for s in listed] == ["08:45"]
    clock.advance(15 * 60)  # 09:15 comes within the window
    listed = await api.open_slots(*whole_day, serviceId=service["serviceId"])
    assert [s["timestamp"][11:16] for s in listed] == ["08:45", "09:15"]


async def test_the_daily_limit_counts_the_providers_local_day(api: Api) -> None:
    """In Berlin (UTC+1 in March) 23:00 UTC is already the next day: a limit of one a day lets
    22:45 UTC and 23:00 UTC both be booked, and refuses 23:15."""
    http = api.http
    schedule = {"timeZone": "Europe/Berlin", "weekly": [], "horizonDays": 14}
    assert (await http.put("/providers/p1/schedule", json=schedule)).status_code == 200
    service = await offer(http, "p1", name="Once a day", minutes=15, dailyLimit=1)
    slots = await publish(api, "p1", "22:30:00", "23:45:00")
    assert (
        await hold(http, "c1", at(slots, "22:45:00"), serviceId=service["serviceId"])
    ).status_code == 201
    assert (
        await hold(http, "c2", at(slots, "23:00:00"), serviceId=service["serviceId"])
    ).status_code == 201
    full = await hold(http, "c3", at(slots, "23:15:00"), serviceId=service["serviceId"])
    assert "2030-03-07" in assert_problem(full, 409, "daily-limit-reached")["detail"]
    listed = await api.open_slots(
        f"{DAY} 00:00:00", "2030-03-07 12:00:00", serviceId=service["serviceId"]
    )
    assert listed == []
    plain = await hold(http, "c3", at(slots, "23:15:00"))
    assert plain.status_code == 201, plain.text  # the limit is the type's alone


# --- listing -----------------------------------------------------------------------------------


async def test_a_listing_offers_only_starts_that_break_no_buffer(api: Api) -> None:
    assessment = await offer(api.http, "p1", **ASSESSMENT)
    careful = await offer(api.http, "p1", name="Careful", minutes=30, bufferBeforeMinutes=15)
    slots = await publish(api, "p1", "10:00:00", "13:00:00")
    held = await hold(api.http, "c1", at(slots, "10:00:00"), serviceId=assessment["serviceId"])
    assert held.status_code == 201, held.text
    whole_day = (f"{DAY} 00:00:00", f"{DAY} 23:00:00")
    plain = [s["timestamp"][11:16] for s in await api.open_slots(*whole_day, providerId="p1")]
    assert plain == ["11:15", "11:30", "11:45", "12:00", "12:15", "12:30", "12:45"]
    typed = await api.open_slots(*whole_day, serviceId=careful["serviceId"])
    assert [s["timestamp"][11:16] for s in typed] == [
        "11:15",
        "11:30",
        "11:45",
        "12:00",
        "12:15",
        "12:30",
    ]
    hours = await api.open_slots(*whole_day, serviceId=assessment["serviceId"])
    assert [s["timestamp"][11:16] for s in hours] == ["11:15", "11:30", "11:45", "12:00"]
    disagree = await api.http.get(
        "/availability",
        params={
            "startTime": whole_day[0],
            "endTime": whole_day[1],
            "serviceId": careful["serviceId"],
            "minutes": 60,
        },
    )
    assert_problem(disagree, 400)
    elsewhere = await api.http.get(
        "/availability",
        params={
            "startTime": whole_day[0],
            "endTime": whole_day[1],
            "serviceId": careful["serviceId"],
            "providerId": "p2",
        },
    )
    assert_problem(elsewhere, 422, "rule-violation")


async def test_every_listed_start_of_a_type_is_reservable(api: Api, clock: ManualClock) -> None:
    """Random holds, bookings and cancels of buffered types with limits; after each, one start
    the listing offers is reserved at once, and must be taken."""
    rng = random.Random(29)
    types = [
        await offer(api.http, "p1", **ASSESSMENT, dailyLimit=3),
        await offer(
            api.http, "p1", name="Careful", minutes=30, bufferBeforeMinutes=30, maxAdvanceDays=3
        ),
        await offer(api.http, "p1", name="Quick", minutes=15, noticeMinutes=2880 + 240),
    ]
    for day in ("2030-03-06", "2030-03-07"):
        response = await api.submit("p1", f"{day} 08:00:00", f"{day} 14:00:00")
        assert response.status_code == 201, response.text
    window = ("2030-03-06 00:00:00", "2030-03-08 00:00:00")
    for n in range(25):
        kind = rng.choice([*types, None])
        service = None if kind is None else kind["serviceId"]
        params = {} if service is None else {"serviceId": service}
        listed = await api.open_slots(*window, providerId="p1", **params)
        if listed:
            slot = rng.choice(listed)
            extra = {} if service is None else {"serviceId": service}
            taken = await hold(api.http, f"c{n}", slot, **extra)
            assert taken.status_code == 201, (slot, service, taken.text)
            if rng.random() < 0.5:
                held = taken.json()["reservation"]
                await api.http.put(
                    f"/availability/confirm/{held['timeSlotId']}",
                    json={"timeSlot": held["timestamp"], "clientId": f"c{n}"},
                )
        mine = await api.http.get(
            "/providers/p1/slots", params={"startTime": window[0], "endTime": window[1]}
        )
        booked = {s["appointmentId"] for s in mine.json()["timeSlots"] if "appointmentId" in s}
        if booked and rng.random() < 0.3:
            await api.http.delete(
                f"/reservations/{rng.choice(sorted(booked))}", params={"providerId": "p1"}
            )
        clock.advance(rng.choice([0, 60, 900]))


# --- races -------------------------------------------------------------------------------------


def keep_the_buffer_rule(slots: list[dict[str, Any]], buffers: dict[str, tuple[int, int]]) -> None:
    """Pairwise over the live appointments: B.start - A.end >= max(A.after, B.before)."""
    appointments: dict[str, list[dict[str, Any]]] = {}
    for slot in slots:
        if slot["status"] != "AVAILABLE":
            appointments.setdefault(slot["appointmentId"], []).append(slot)
    spans = []
    for group in appointments.values():
        starts = sorted(int(s["timestamp"][11:13]) * 60 + int(s["timestamp"][14:16]) for s in group)
        before, after = buffers.get(group[0].get("serviceId", ""), (0, 0))
        spans.append((starts[0], starts[-1] + 15, before, after))
    for a, b in itertools.permutations(spans, 2):
        if a[1] <= b[0]:
            assert b[0] - a[1] >= max(a[3], b[2]), (a, b)
        else:
            assert b[1] <= a[0], ("overlap", a, b)


async def test_forty_clients_racing_buffered_types_never_break_the_buffer_rule(api: Api) -> None:
    types = [
        await offer(api.http, "p1", **ASSESSMENT),
        await offer(
            api.http,
            "p1",
            name="Careful",
            minutes=30,
            bufferBeforeMinutes=30,
            bufferAfterMinutes=15,
        ),
        await offer(api.http, "p1", name="Quick", minutes=15, bufferAfterMinutes=15),
    ]
    buffers = {t["serviceId"]: (t["bufferBeforeMinutes"], t["bufferAfterMinutes"]) for t in types}
    slots = await publish(api, "p1", "09:00:00", "13:00:00")
    rng = random.Random(40)
    requests = []
    for n in range(40):
        kind = rng.choice([*types, None])
        extra = {} if kind is None else {"serviceId": kind["serviceId"]}
        requests.append(hold(api.http, f"racer-{n}", rng.choice(slots[:14]), **extra))
    responses = await asyncio.gather(*requests)
    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    won = [r.json()["reservation"] for r in responses if r.status_code == 201]
    assert len(won) >= 3
    day = await api.http.get(
        "/providers/p1/slots", params={"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:00:00"}
    )
    taken = [s for s in day.json()["timeSlots"] if s["status"] != "AVAILABLE"]
    assert sorted(s["timeSlotId"] for s in taken) == sorted(
        i for w in won for i in w["timeSlotIds"]
    )
    keep_the_buffer_rule(day.json()["timeSlots"], buffers)


async def test_a_daily_limit_raced_is_never_exceeded(api: Api) -> None:
    service = await offer(api.http, "p1", name="Few", minutes=15, dailyLimit=3)
    slots = await publish(api, "p1", "09:00:00", "12:00:00")
    responses = await asyncio.gather(
        *(
            hold(api.http, f"racer-{n}", slot, serviceId=service["serviceId"])
            for n, slot in enumerate(slots)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [409] * (len(slots) - 3), [r.text for r in responses]
    refused = {r.json()["type"] for r in responses if r.status_code == 409}
    assert refused == {"/problems/daily-limit-reached"}


async def test_a_changed_type_is_listed_as_it_now_is(api: Api) -> None:
    """A listing kept from before a type changed, or before its provider's zone did (which moves
    the days its limit counts), is not answered again."""
    service = await offer(api.http, "p1", name="Short", minutes=15, dailyLimit=1)
    slots = await publish(api, "p1", "22:30:00", "23:30:00")
    whole = (f"{DAY} 00:00:00", "2030-03-07 12:00:00")
    before = await api.open_slots(*whole, serviceId=service["serviceId"])
    assert [s["timestamp"][11:16] for s in before] == ["22:30", "22:45", "23:00", "23:15"]
    longer = await api.http.patch(f"/services/{service['serviceId']}", json={"minutes": 60})
    assert longer.status_code == 200, longer.text
    after = await api.open_slots(*whole, serviceId=service["serviceId"])
    assert [s["timestamp"][11:16] for s in after] == ["22:30"]

    await api.http.patch(f"/services/{service['serviceId']}", json={"minutes": 15})
    held = await hold(api.http, "c1", at(slots, "22:30:00"), serviceId=service["serviceId"])
    assert held.status_code == 201, held.text
    assert await api.open_slots(*whole, serviceId=service["serviceId"]) == []  # one a UTC day
    # The same hours as a Berlin week (Wednesday 23:30 to Thursday 00:30 there): the last two
    # slots now fall on the next local day, which has room for one.
    late = [{"day": "wed", "start": "23:30", "end": "24:00"}]
    early = [{"day": "thu", "start": "00:00", "end": "00:30"}]
    schedule = {"timeZone": "Europe/Berlin", "weekly": late + early, "horizonDays": 3}
    assert (await api.http.put("/providers/p1/schedule", json=schedule)).status_code == 200
    berlin = await api.open_slots(*whole, serviceId=service["serviceId"])
    assert [s["timestamp"][11:16] for s in berlin] == ["23:00", "23:15"]  # the next Berlin day
