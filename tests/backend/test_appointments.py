"""Appointments longer than one slot, moves and notes, over real HTTP against the real app on a
real database (a SQLite file, and PostgreSQL): what a client and a provider see, and races in
which nobody ever gets half a span, a shared slot, or neither or both places of a move."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlite_utils import Database

from backend.rules.booking import Rules
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings, SettingsError
from backend.store.opening import open_store
from backend.store.postgres.schema import apply_migrations as migrate_postgresql
from backend.store.sqlite.schema import apply_migrations as migrate_sqlite
from tests.helpers import T0, Api, People, assert_problem
from tests.postgres_server import PostgresForTests

DAY = "2030-03-06"
"""Two days after the fake clock's T0: comfortably past the 24-hour notice."""


async def publish(api: Api, provider: str, start: str, end: str) -> list[dict[str, Any]]:
    response = await api.submit(provider, f"{DAY} {start}", f"{DAY} {end}")
    assert response.status_code == 201, response.text
    slots: list[dict[str, Any]] = response.json()["timeSlots"]
    return slots


async def hold(
    http: httpx.AsyncClient, client: str | None, slot: dict[str, Any], **extra: Any
) -> httpx.Response:
    body = {"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"], **extra}
    if client is not None:
        body["clientId"] = client
    return await http.post("/availability/reserve", json=body)


async def move(
    http: httpx.AsyncClient, held: str, to: dict[str, Any], client: str | None = None
) -> httpx.Response:
    body = {"toTimeSlotId": to["timeSlotId"], "timeSlot": to["timestamp"]}
    if client is not None:
        body["clientId"] = client
    return await http.post(f"/reservations/{held}/move", json=body)


async def day_of(api: Api, provider: str) -> list[dict[str, Any]]:
    response = await api.http.get(
        f"/providers/{provider}/slots",
        params={"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:45:00"},
    )
    assert response.status_code == 200, response.text
    slots: list[dict[str, Any]] = response.json()["timeSlots"]
    return slots


# --- length ---------------------------------------------------------------------------------------


async def test_an_hour_is_held_as_one_appointment_and_confirmed_and_cancelled_as_one(
    api: Api,
) -> None:
    slots = await publish(api, "p1", "10:00:00", "12:00:00")
    held = await hold(api.http, "c1", slots[0], minutes=60, note="First visit")
    assert held.status_code == 201, held.text
    reservation = held.json()["reservation"]
    assert reservation["minutes"] == 60
    assert reservation["duration"] == 15
    assert reservation["timeSlotIds"] == [s["timeSlotId"] for s in slots[:4]]
    assert reservation["note"] == "First visit"
    assert reservation["expiresAt"] == "2030-03-04 09:30:00"

    day = await day_of(api, "p1")
    assert [s["status"] for s in day] == ["RESERVED"] * 4 + ["AVAILABLE"] * 4
    assert {s["appointmentId"] for s in day[:4]} == {slots[0]["timeSlotId"]}
    assert {s["expiresAt"] for s in day[:4]} == {"2030-03-04 09:30:00"}
    [listed] = await api.reservations("c1")
    assert listed == reservation

    confirmed = await api.confirm(slots[0], client="c1")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["reservation"]["minutes"] == 60
    assert [s["status"] for s in await day_of(api, "p1")][:5] == ["CONFIRMED"] * 4 + ["AVAILABLE"]

    cancelled = await api.cancel(slots[2], clientId="c1")  # any slot of it names all of it
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["timeSlotIds"] == reservation["timeSlotIds"]
    assert {s["status"] for s in await day_of(api, "p1")} == {"AVAILABLE"}


async def test_a_span_with_a_taken_slot_holds_nothing_and_names_that_slot(api: Api) -> None:
    slots = await publish(api, "p1", "10:00:00", "11:00:00")
    assert (await api.reserve("c2", slots[2])).status_code == 201
    refused = await hold(api.http, "c1", slots[0], minutes=60)
    problem = assert_problem(refused, 409, "slot-taken")
    assert slots[2]["timeSlotId"] in problem["detail"]
    assert "2030-03-06 10:30:00" in problem["detail"]
    assert await api.reservations("c1") == []

    past_the_end = await hold(api.http, "c1", slots[3], minutes=30)
    problem = assert_problem(past_the_end, 409, "slot-taken")
    assert "2030-03-06 11:00:00" in problem["detail"]
    assert await api.reservations("c1") == []


async def test_lengths_must_be_whole_slots_and_not_too_long(api: Api) -> None:
    slots = await publish(api, "p1", "10:00:00", "14:00:00")
    for minutes, message in [
        (20, "minutes must be a whole number of slots (15 minutes each)"),
        (135, "minutes is longer than the longest appointment, 2 hours"),
    ]:
        refused = await hold(api.http, "c1", slots[0], minutes=minutes)
        assert assert_problem(refused, 422, "rule-violation")["detail"] == message
        listed = await api.http.get(
            "/availability",
            params={
                "startTime": f"{DAY} 10:00:00",
                "endTime": f"{DAY} 14:00:00",
                "minutes": minutes,
            },
        )
        assert assert_problem(listed, 422, "rule-violation")["detail"] == message
    assert (await hold(api.http, "c1", slots[0], minutes=120)).status_code == 201


async def test_the_listing_gives_only_starts_where_the_length_fits(api: Api) -> None:
    slots = await publish(api, "p1", "10:00:00", "12:00:00")
    await publish(api, "p2", "10:00:00", "10:30:00")
    assert (await api.reserve("c2", slots[4])).status_code == 201  # 11:00 is taken
    fits = await api.open_slots(f"{DAY} 00:00:00", f"{DAY} 23:00:00", minutes=45)
    assert [(s["providerId"], s["timestamp"][11:16]) for s in fits] == [
        ("p1", "10:00"),
        ("p1", "10:15"),
        ("p1", "11:15"),
    ]


async def test_the_hold_limit_counts_appointments_not_slots(api: Api) -> None:
    slots = await publish(api, "p1", "08:00:00", "18:00:00")
    for n in range(5):
        assert (await hold(api.http, "c1", slots[n * 4], minutes=60)).status_code == 201
    assert len(await api.reservations("c1")) == 5
    assert_problem(await hold(api.http, "c1", slots[24]), 409, "too-many-holds")


async def test_a_repeated_reserve_is_the_same_hold_and_another_length_is_refused(
    api: Api,
) -> None:
    slots = await publish(api, "p1", "10:00:00", "12:00:00")
    first = await hold(api.http, "c1", slots[0], minutes=30)
    again = await hold(api.http, "c1", slots[0], minutes=30)
    assert again.status_code == 200
    assert again.json()["reservation"] == first.json()["reservation"]
    plain = await hold(api.http, "c1", slots[0])  # a seed client repeating without a length
    assert plain.status_code == 200
    assert plain.json()["reservation"]["minutes"] == 30
    longer = await hold(api.http, "c1", slots[0], minutes=60)
    assert "you already hold it" in assert_problem(longer, 409, "slot-taken")["detail"]


# --- moving ---------------------------------------------------------------------------------------


async def test_a_booking_moves_to_another_provider_and_stays_a_booking(api: Api) -> None:
    mine = await publish(api, "p1", "10:00:00", "11:00:00")
    theirs = await publish(api, "p2", "14:00:00", "15:00:00")
    await hold(api.http, "c1", mine[0], minutes=30, note="Knee")
    await api.confirm(mine[0], client="c1")
    since = (await api.http.get("/changes")).json()["lastSeq"]

    moved = await move(api.http, mine[0]["timeSlotId"], theirs[1], "c1")
    assert moved.status_code == 200, moved.text
    reservation = moved.json()["reservation"]
    assert reservation["status"] == "CONFIRMED"
    assert reservation["providerId"] == "p2"
    assert reservation["timestamp"] == f"{DAY} 14:15:00"
    assert reservation["timeSlotIds"] == [theirs[1]["timeSlotId"], theirs[2]["timeSlotId"]]
    assert reservation["note"] == "Knee"
    assert {s["status"] for s in await day_of(api, "p1")} == {"AVAILABLE"}

    changes = (await api.http.get("/changes", params={"since": since})).json()["changes"]
    assert [c["kind"] for c in changes] == ["moved", "moved"]
    assert [(c["fromTimeSlotId"], c["timeSlotId"]) for c in changes] == [
        (mine[1]["timeSlotId"], theirs[2]["timeSlotId"]),
        (mine[0]["timeSlotId"], theirs[1]["timeSlotId"]),
    ]
    assert {(c["fromProviderId"], c["providerId"], c["status"]) for c in changes} == {
        ("p1", "p2", "CONFIRMED")
    }


async def test_a_move_onto_its_own_place_frees_only_what_it_leaves(api: Api) -> None:
    slots = await publish(api, "p1", "10:00:00", "12:00:00")
    await hold(api.http, "c1", slots[0], minutes=60)
    moved = await move(api.http, slots[0]["timeSlotId"], slots[1], "c1")
    assert moved.status_code == 200, moved.text
    day = await day_of(api, "p1")
    assert [s["status"] for s in day] == ["AVAILABLE"] + ["RESERVED"] * 4 + ["AVAILABLE"] * 3
    assert {s["appointmentId"] for s in day[1:5]} == {slots[1]["timeSlotId"]}
    back = await move(api.http, slots[1]["timeSlotId"], slots[0], "c1")
    assert back.status_code == 200, back.text
    assert [s["status"] for s in await day_of(api, "p1")][:5] == ["RESERVED"] * 4 + ["AVAILABLE"]


async def test_a_hold_moved_keeps_its_clock(api: Api, clock: ManualClock) -> None:
    slots = await publish(api, "p1", "10:00:00", "12:00:00")
    await hold(api.http, "c1", slots[0])
    clock.advance(20 * 60)
    moved = await move(api.http, slots[0]["timeSlotId"], slots[5], "c1")
    assert moved.json()["reservation"]["expiresAt"] == "2030-03-04 09:30:00"


async def test_a_move_onto_a_taken_place_changes_nothing(api: Api) -> None:
    slots = await publish(api, "p1", "10:00:00", "12:00:00")
    await hold(api.http, "c1", slots[0], minutes=30)
    await api.reserve("c2", slots[5])
    before = await day_of(api, "p1")
    refused = await move(api.http, slots[0]["timeSlotId"], slots[4], "c1")
    assert slots[5]["timeSlotId"] in assert_problem(refused, 409, "slot-taken")["detail"]
    assert await day_of(api, "p1") == before


async def test_a_booking_inside_its_notice_stays_where_it_is(api: Api, clock: ManualClock) -> None:
    slots = await publish(api, "p1", "10:00:00", "12:00:00")
    await hold(api.http, "c1", slots[0])
    await api.confirm(slots[0], client="c1")
    clock.advance(26 * 3600)  # 10:00 on the 6th is now less than 24 hours away
    refused = await move(api.http, slots[0]["timeSlotId"], slots[4], "c1")
    problem = assert_problem(refused, 422, "too-late-to-move")
    assert "within the 24 hours notice period" in problem["detail"]


async def test_only_the_holder_or_an_admin_moves_and_notes(people: People) -> None:
    window = {"startTime": f"{DAY} 10:00:00", "endTime": f"{DAY} 11:00:00"}
    slots = (await people["p1"].post("/availability", json=window)).json()["timeSlots"]
    assert (await hold(people["c1"], None, slots[0], note="Private")).status_code == 201
    first = slots[0]["timeSlotId"]
    assert_problem(await move(people["c2"], first, slots[2]), 403, "not-your-reservation")
    assert_problem(await move(people["p1"], first, slots[2]), 403, "forbidden")
    noted = await people["c2"].patch(f"/reservations/{first}", json={"note": "mine now"})
    assert_problem(noted, 403, "not-your-reservation")
    assert (await move(people["admin"], first, slots[2])).status_code == 200

    third = slots[2]["timeSlotId"]
    changed = await people["c1"].patch(f"/reservations/{third}", json={"note": "Private, again"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["reservation"]["note"] == "Private, again"
    assert (await people["c1"].patch(f"/reservations/{third}", json={"note": ""})).json()[
        "reservation"
    ].get("note") is None
    await people["c1"].patch(f"/reservations/{third}", json={"note": "Shown to p1"})

    # The note, like the client's id, reaches the provider and admins, and nobody else.
    for who, sees in [("p1", True), ("admin", True), ("c2", False), ("p2", False)]:
        feed = (await people[who].get("/changes", params={"since": 0})).json()["changes"]
        notes = {c.get("note") for c in feed} - {None}
        assert (notes == {"Private", "Private, again", "Shown to p1"}) is sees, (who, notes)
    day = await people["p1"].get("/providers/p1/slots", params=window)
    assert [s.get("note") for s in day.json()["timeSlots"]][2] == "Shown to p1"


async def test_notes_are_plain_text_of_500_characters_at_most(api: Api) -> None:
    slots = await publish(api, "p1", "10:00:00", "11:00:00")
    for note in ["x" * 501, "two\nlines", "bell\x07"]:
        refused = assert_problem(await hold(api.http, "c1", slots[0], note=note), 400)
        assert refused["errors"][0]["field"] == "note"
        assert refused["errors"][0]["message"].startswith(
            "must be at most 500 characters of plain text on one line: visible characters"
        ), refused
    assert await api.reservations("c1") == []
    assert (await hold(api.http, "c1", slots[0], note="é" * 500)).status_code == 201


# --- races ----------------------------------------------------------------------------------------


def holders(day: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Slots by the appointment that holds them."""
    found: dict[str, list[dict[str, Any]]] = {}
    for slot in day:
        if slot["status"] != "AVAILABLE":
            found.setdefault(slot["appointmentId"], []).append(slot)
    return found


async def test_overlapping_hours_raced_by_many_clients_never_share_or_split(api: Api) -> None:
    slots = await publish(api, "p1", "08:00:00", "14:00:00")  # 24 slots
    attempts = [(f"client-{n:02}", slots[n % 21]) for n in range(60)]
    random.Random(13).shuffle(attempts)

    responses = await asyncio.gather(
        *(hold(api.http, client, slot, minutes=60) for client, slot in attempts)
    )

    winners = {}
    for (client, slot), response in zip(attempts, responses, strict=True):
        if response.status_code == 201:
            winners[slot["timeSlotId"]] = client
        else:
            assert_problem(response, 409, "slot-taken")
    assert winners, "somebody won"
    day = await day_of(api, "p1")
    by_appointment = holders(day)
    assert set(by_appointment) == set(winners)
    for first, span in by_appointment.items():
        assert len(span) == 4, "an hour is four slots, never fewer"
        assert span[0]["timeSlotId"] == first
        assert {s["clientId"] for s in span} == {winners[first]}
        starts = [s["timestamp"] for s in span]
        assert starts == [s["timestamp"] for s in day if s["timestamp"] >= starts[0]][:4]
    for client in {c for c, _ in attempts}:
        held = await api.reservations(client)
        assert [r["minutes"] for r in held] == ([60] if client in winners.values() else [])


async def test_moves_racing_reserves_leave_each_mover_exactly_one_place(api: Api) -> None:
    slots = await publish(api, "p1", "08:00:00", "16:00:00")  # 32 slots
    movers = [f"mover-{n}" for n in range(4)]
    for n, client in enumerate(movers):  # 08:00, 09:00, 10:00, 11:00, an hour each
        assert (await hold(api.http, client, slots[4 * n], minutes=60)).status_code == 201
    targets = slots[16:28]  # 12:00 to 14:45: overlapping hours, contested by racers
    rng = random.Random(5)
    requests = [
        move(api.http, slots[4 * n]["timeSlotId"], rng.choice(targets), client)
        for n, client in enumerate(movers)
    ] + [hold(api.http, f"racer-{n}", rng.choice(targets), minutes=30) for n in range(12)]
    order = list(range(len(requests)))
    rng.shuffle(order)
    responses = await asyncio.gather(*(requests[i] for i in order))
    outcome = dict(zip(order, responses, strict=True))

    day = await day_of(api, "p1")
    by_appointment = holders(day)
    held_by: Counter[str] = Counter()
    for span in by_appointment.values():
        [client] = {s["clientId"] for s in span}
        held_by[client] += 1
    for n, client in enumerate(movers):
        assert held_by[client] == 1, f"{client} has {held_by[client]} places"
        [place] = await api.reservations(client)
        assert place["minutes"] == 60
        moved = outcome[n].status_code == 200
        assert (place["timeSlotId"] != slots[4 * n]["timeSlotId"]) is moved
        if not moved:
            assert_problem(outcome[n], 409, "slot-taken")
    assert sum(len(span) for span in by_appointment.values()) == sum(
        1 for s in day if s["status"] != "AVAILABLE"
    )


# --- a database from before appointments ------------------------------------------------------

OLD_SLOTS = [
    # id, provider, start, status, client, reserved_at, held_until, confirmed_at
    ("a" * 32, "p1", T0 + 2 * 86_400, "RESERVED", "c1", T0, T0 + 1800, None),
    ("b" * 32, "p1", T0 + 2 * 86_400 + 900, "CONFIRMED", "c2", T0, None, T0 + 60),
    ("c" * 32, "p1", T0 + 2 * 86_400 + 1800, "AVAILABLE", None, None, None, None),
]
"""A hold, a booking and an open slot, as the release before appointments stored them."""


def make_old_sqlite(path: str) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        migrate_sqlite(Database(conn), stop_before="0007_appointments")
        conn.executemany(
            "INSERT INTO slots (id, provider_id, start, duration, status, client_id, reserved_at,"
            " held_until, confirmed_at, created_at) VALUES (?, ?, ?, 900, ?, ?, ?, ?, ?, 0)",
            OLD_SLOTS,
        )


async def make_old_postgresql(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate_postgresql(conn, stop_before="0006_appointments")
        await conn.executemany(
            "INSERT INTO slots (id, provider_id, start, duration, status, client_id, reserved_at,"
            " held_until, confirmed_at, created_at)"
            " VALUES ($1, $2, $3, 900, $4, $5, $6, $7, $8, 0)",
            OLD_SLOTS,
        )
    finally:
        await conn.close()


async def test_holds_and_bookings_made_before_appointments_carry_on(
    store_kind: str, db_path: Path, request: pytest.FixtureRequest
) -> None:
    if store_kind == "sqlite":
        make_old_sqlite(str(db_path))
        url = str(db_path)
    else:
        postgres: PostgresForTests = request.getfixturevalue("postgres")
        url = postgres.copy(template="template0")
        request.addfinalizer(lambda: postgres.drop(url))
        await make_old_postgresql(url)
    store = await open_store(url, Rules())  # migrates
    try:
        held, booked, free = await store.provider_slots("p1", T0, T0 + 3 * 86_400)
        assert (held.appointment_id, booked.appointment_id, free.appointment_id) == (
            held.id, booked.id, None
        )  # fmt: skip
        assert [r.appointment_id for r in await store.client_reservations("c1", T0)] == [held.id]
        confirmed = await store.confirm(held.id, held.start, "c1", T0 + 60)
        assert confirmed.slots[0].status == "CONFIRMED"
        moved = await store.move(booked.id, free.id, free.start, "c2", T0 + 60)
        assert [s.id for s in moved.slots] == [free.id]
        assert (await store.provider_slots("p1", booked.start, booked.start + 1))[0].status == (
            "AVAILABLE"
        )
    finally:
        await store.close()


def test_the_longest_appointment_is_a_whole_number_of_slots() -> None:
    assert Settings(slot_minutes=45).validate().max_appointment_seconds == 90 * 60
    assert Settings(slot_minutes=60, max_appointment_minutes=30).max_appointment_seconds == 3600
    for refused in (0, 1441):
        with pytest.raises(SettingsError, match=f"--max-appointment-minutes {refused}: must be"):
            Settings(max_appointment_minutes=refused).validate()
