from __future__ import annotations

from tests.helpers import Api


async def test_seed_walkthrough_books_a_slot(api: Api) -> None:
    submitted = await api.submit("p1", "2030-03-06 11:00:00", "2030-03-06 14:00:00")
    assert submitted.status_code == 201
    slots = await api.open_slots("2030-03-06 12:00:00", "2030-03-06 13:00:00")
    assert [s["timestamp"][11:] for s in slots] == ["12:00:00", "12:15:00", "12:30:00", "12:45:00"]
    reserved = await api.reserve("c1", slots[0])
    assert reserved.status_code == 201
    confirmed = await api.confirm(slots[0])
    assert confirmed.status_code == 200
    assert confirmed.json()["message"] == "Reservation confirmed successfully"
