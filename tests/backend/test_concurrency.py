"""Races over real HTTP against the real app on a real database (a SQLite file, and PostgreSQL):
whoever wins, the answers and the database agree, and nothing is granted twice."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

from tests.helpers import Api, assert_problem, query

DAY = "2030-03-06"
"""Two days after the fake clock's T0: comfortably past the 24-hour notice."""


def changes_of(db: str, slot_id: str) -> list[tuple[str, str | None]]:
    """The change log of one slot, oldest first, as (kind, clientId)."""
    rows = query(db, "SELECT kind, client_id FROM changes WHERE slot_id = ? ORDER BY seq", slot_id)
    return [(str(kind), client) for kind, client in rows]


async def publish(api: Api, provider: str, start: str, end: str) -> list[dict[str, Any]]:
    """Submit a window and return the slots it created."""
    response = await api.submit(provider, f"{DAY} {start}", f"{DAY} {end}")
    assert response.status_code == 201, response.text
    slots: list[dict[str, Any]] = response.json()["timeSlots"]
    return slots


async def test_one_slot_250_clients_exactly_one_wins(api: Api, db: str) -> None:
    [slot] = await publish(api, "p1", "10:00:00", "10:15:00")
    clients = [f"client-{n:03}" for n in range(250)]

    responses = await asyncio.gather(*(api.reserve(client, slot) for client in clients))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 249}
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "slot-taken")
    [won] = [r.json()["reservation"] for r in responses if r.status_code == 201]
    winner = won["clientId"]
    assert winner in clients

    stored = await api.slot_at("p1", f"{DAY} 10:00:00")
    assert stored["status"] == "RESERVED"
    assert stored["clientId"] == winner
    reserved = [c for c in changes_of(db, slot["timeSlotId"]) if c[0] == "reserved"]
    assert reserved == [("reserved", winner)]


async def test_forty_slots_six_racers_each_one_winner_per_slot(api: Api) -> None:
    slots = await publish(api, "p1", "08:00:00", "18:00:00")
    assert len(slots) == 40
    attempts = [(slot, f"racer-{s}-{r}") for s, slot in enumerate(slots) for r in range(6)]
    random.Random(7).shuffle(attempts)

    responses = await asyncio.gather(*(api.reserve(client, slot) for slot, client in attempts))

    winners: dict[str, str] = {}
    for (slot, client), response in zip(attempts, responses, strict=True):
        if response.status_code == 201:
            assert slot["timeSlotId"] not in winners, "two clients won the same slot"
            winners[slot["timeSlotId"]] = client
        else:
            assert_problem(response, 409, "slot-taken")
    assert len(winners) == 40, "every slot has exactly one winner"

    for slot in slots:
        stored = await api.slot_at("p1", slot["timestamp"])
        assert stored["status"] == "RESERVED"
        assert stored["clientId"] == winners[slot["timeSlotId"]]
    for client in winners.values():
        held = await api.reservations(client)
        assert len(held) == 1, f"{client} holds {len(held)} slots"


async def test_twenty_concurrent_confirms_confirm_once(api: Api) -> None:
    [slot] = await publish(api, "p1", "10:00:00", "10:15:00")
    assert (await api.reserve("holder", slot)).status_code == 201

    responses = await asyncio.gather(*(api.confirm(slot, "holder") for _ in range(20)))

    assert [r.status_code for r in responses] == [200] * 20
    messages = Counter(r.json()["message"] for r in responses)
    assert messages == {
        "Reservation confirmed successfully": 1,
        "Reservation already confirmed": 19,
    }
    stored = await api.slot_at("p1", f"{DAY} 10:00:00")
    assert stored["status"] == "CONFIRMED"
    assert stored["clientId"] == "holder"


async def test_hold_limit_holds_under_concurrent_reserves(api: Api) -> None:
    slots = await publish(api, "p1", "10:00:00", "15:00:00")
    assert len(slots) == 20

    responses = await asyncio.gather(*(api.reserve("greedy", slot) for slot in slots))

    assert Counter(r.status_code for r in responses) == {201: 5, 409: 15}
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "too-many-holds")
    held = await api.reservations("greedy")
    won = {r.json()["reservation"]["timeSlotId"] for r in responses if r.status_code == 201}
    assert {s["timeSlotId"] for s in held} == won


async def test_same_window_submitted_ten_times_at_once_creates_slots_once(
    api: Api, db: str
) -> None:
    responses = await asyncio.gather(
        *(api.submit("p1", f"{DAY} 10:00:00", f"{DAY} 12:00:00") for _ in range(10))
    )

    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    created = sorted(r.json()["created"] for r in responses)
    assert created == [0] * 9 + [8]
    windows = {tuple(s["timeSlotId"] for s in r.json()["timeSlots"]) for r in responses}
    assert len(windows) == 1, "every answer lists the same eight slots"
    rows = query(db, "SELECT start, COUNT(*) FROM slots WHERE provider_id = 'p1' GROUP BY start")
    [(created_changes,)] = query(db, "SELECT COUNT(*) FROM changes WHERE kind = 'created'")
    assert len(rows) == 8
    assert all(count == 1 for _, count in rows)
    assert created_changes == 8
