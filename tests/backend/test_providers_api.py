"""Who can be booked, and a provider's own view of its calendar."""

from __future__ import annotations

from backend.runtime.clock import ManualClock
from tests.helpers import Api

DAY = "2030-03-06"


async def test_providers_are_listed_with_their_next_open_slot(api: Api) -> None:
    assert (await api.http.get("/providers")).json() == {"providers": []}
    zed = (await api.submit("zed", f"{DAY} 10:00:00", f"{DAY} 10:30:00")).json()["timeSlots"]
    await api.submit("amy", "2030-03-04 20:00:00", "2030-03-04 21:00:00")  # all inside notice
    await api.reserve("c1", zed[0])
    providers = (await api.http.get("/providers")).json()["providers"]
    assert providers == [
        {"providerId": "amy", "name": None, "nextAvailable": None},
        {"providerId": "zed", "name": None, "nextAvailable": f"{DAY} 10:15:00"},
    ]


async def test_a_providers_calendar_shows_every_status_with_who_and_when(
    api: Api, clock: ManualClock
) -> None:
    slots = (await api.submit("p1", f"{DAY} 10:00:00", f"{DAY} 11:00:00")).json()["timeSlots"]
    await api.reserve("c1", slots[0])
    await api.reserve("c2", slots[1])
    await api.confirm(slots[1])
    clock.advance(60)
    await api.reserve("c3", slots[2])
    clock.advance(30 * 60 - 30)  # c1's hold has lapsed, c3's has not
    response = await api.http.get(
        "/providers/p1/slots", params={"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:00:00"}
    )
    assert response.status_code == 200
    shown = response.json()["timeSlots"]
    assert [(s["status"], s.get("clientId")) for s in shown] == [
        ("AVAILABLE", None),
        ("CONFIRMED", "c2"),
        ("RESERVED", "c3"),
        ("AVAILABLE", None),
    ]
    assert shown[1]["confirmedAt"] == "2030-03-04 09:00:00"
    assert shown[2]["expiresAt"] == "2030-03-04 09:31:00"


async def test_an_unknown_provider_has_an_empty_calendar(api: Api) -> None:
    response = await api.http.get(
        "/providers/nobody/slots",
        params={"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:00:00"},
    )
    assert response.json() == {"timeSlots": []}
