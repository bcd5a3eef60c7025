"""Freed time handed to a provider's line, over real HTTP on both stores: thirty clients wait for
one morning in a known order; five of its bookings are cancelled at once while an outsider races
to reserve the freed slots. The first five in line that the freed time suits get one offer each
and nobody else does; the outsider gets 409 every time; a client at the hold limit is passed over
and keeps their place; an entry whose length does not fit a freed slot is skipped; a released
offer passes to the next in line, and lapsed ones (the clock moved on, no sweep) go to the line
before an outsider's reserve may take them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
import pytest

from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from tests.helpers import Api

DAY = "2030-03-06"
MORNING = (f"{DAY} 09:00:00", f"{DAY} 11:00:00")
"""Eight slots, all booked before anyone joins."""
WAITING = [f"w{n:02}" for n in range(30)]
AT_THE_LIMIT = "w01"
"""Holds the most allowed elsewhere: passed over, keeps their place."""
WANTS_AN_HOUR = "w03"
"""No single freed slot fits them: skipped."""


@pytest.fixture
def settings(settings: Settings, db: str) -> Settings:
    return replace(settings, max_holds=2, offer_minutes=20)


async def line(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """p1's line, by client."""
    response = await http.get("/waitlist", params={"providerId": "p1"})
    assert response.status_code == 200, response.text
    return {e["clientId"]: e for e in response.json()["entries"]}


def offered(entries: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Client to the slot they were offered, for the entries holding an offer."""
    return {c: e["offer"]["timeSlotId"] for c, e in entries.items() if e["status"] == "offered"}


async def test_freed_time_goes_to_the_line_in_order_and_never_to_an_outsider(
    api: Api, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert (await api.submit("p1", *MORNING)).status_code == 201
    assert (await api.submit("p2", f"{DAY} 13:00:00", f"{DAY} 14:00:00")).status_code == 201
    morning = await api.open_slots(*MORNING, providerId="p1")
    assert len(morning) == 8
    for n, slot in enumerate(morning):
        assert (await api.reserve(f"b{n}", slot)).status_code == 201
        assert (await api.confirm(slot, f"b{n}")).status_code == 200
    elsewhere = await api.open_slots(f"{DAY} 13:00:00", f"{DAY} 14:00:00", providerId="p2")
    for slot in elsewhere[:2]:
        assert (await api.reserve(AT_THE_LIMIT, slot)).status_code == 201

    for client in WAITING:
        clock.advance(1)
        wish: dict[str, Any] = {"providerId": "p1", "from": MORNING[0], "to": MORNING[1]}
        wish |= {"clientId": client, "minutes": 60 if client == WANTS_AN_HOUR else 15}
        joined = await http.post("/waitlist", json=wish)
        assert joined.status_code == 201, joined.text
        assert joined.json()["entry"]["position"] == len(await line(http))
    assert {e["status"] for e in (await line(http)).values()} == {"waiting"}

    # Five bookings cancelled at once, an outsider trying for each freed slot at the same time.
    freed = morning[1:6]
    cancels = [api.cancel(slot, clientId=f"b{n + 1}") for n, slot in enumerate(freed)]
    grabs = [api.reserve("outsider", slot) for slot in freed for _ in range(2)]
    answers = await asyncio.gather(*cancels, *grabs)
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert [a.status_code for a in answers[5:]] == [409] * 10
    for slot in freed:  # and after the cancels, too
        assert (await api.reserve("outsider", slot)).status_code == 409
    assert await api.reservations("outsider") == []

    entries = await line(http)
    first_five = ["w00", "w02", "w04", "w05", "w06"]
    assert sorted(offered(entries)) == first_five
    assert sorted(offered(entries).values()) == sorted(s["timeSlotId"] for s in freed)
    for client in first_five:
        holds = await api.reservations(client)
        assert [(h["status"], h["timeSlotId"]) for h in holds] == [
            ("RESERVED", entries[client]["offer"]["timeSlotId"])
        ]
        assert holds[0]["expiresAt"] == "2030-03-04 09:20:30"  # 20 minutes from the cancels
    assert (entries[AT_THE_LIMIT]["status"], entries[AT_THE_LIMIT]["position"]) == ("waiting", 1)
    assert (entries[WANTS_AN_HOUR]["status"], entries[WANTS_AN_HOUR]["position"]) == ("waiting", 2)
    assert entries["w07"]["position"] == 3

    # A released offer passes on: past the one at the limit and the one it cannot fit, to w07.
    released = {"timeSlotId": entries["w00"]["offer"]["timeSlotId"]}
    assert (await api.cancel(released, clientId="w00")).status_code == 200
    entries = await line(http)
    assert entries["w00"]["status"] == "declined"
    assert offered(entries)["w07"] == released["timeSlotId"]
    assert entries[AT_THE_LIMIT]["position"] == 1

    # Below the limit again, the client keeps the first place for the next freed time.
    assert (await api.cancel(elsewhere[0], clientId=AT_THE_LIMIT)).status_code == 200
    assert (await line(http))[AT_THE_LIMIT]["status"] == "waiting"

    # The offers lapse (no sweep): the first reserve that would take one hands them all over,
    # and five slots side by side now fit the hour the skipped client waits for.
    clock.advance(20 * 60)
    lapsed = freed[0]
    grab = await api.reserve("outsider", await api.slot_at("p1", lapsed["timestamp"]))
    assert grab.status_code == 409, grab.text
    entries = await line(http)
    assert {c for c, e in entries.items() if e["status"] == "lapsed"} == {*first_five[1:], "w07"}
    assert sorted(offered(entries)) == [AT_THE_LIMIT, WANTS_AN_HOUR]
    hour = await api.reservations(WANTS_AN_HOUR)
    assert [(h["timestamp"], h["minutes"]) for h in hour] == [(f"{DAY} 09:30:00", 60)]
    assert entries["w08"]["position"] == 1
    assert await api.reservations("outsider") == []
