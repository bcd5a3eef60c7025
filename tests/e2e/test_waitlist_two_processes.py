"""A provider's waitlist through two server processes over one PostgreSQL database: while clients
join the line through both and the provider cancels bookings through both at once, every freed
start is offered exactly once (no slot held twice, no entry offered twice), and in line order:
those who joined earlier get the offers. The wall clock; slots a few days ahead of today."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from shared.timefmt import format_time
from tests.e2e.test_two_processes import (
    HOUR,
    all_changes,
    bearer,
    first_day,
    make_token,
    open_window,
    two_servers,
)
from tests.postgres_server import PostgresForTests

BOOKED = 8
"""Bookings the provider cancels at once: the starts freed."""
EARLY = 12
"""Clients in line before the cancels."""
LATE = 6
"""Clients joining while the cancels run."""


async def join(http: httpx.AsyncClient, admin: str, client: str, start: int) -> dict[str, Any]:
    window = {"from": format_time(start), "to": format_time(start + 2 * HOUR)}
    answer = await http.post(
        "/waitlist",
        json={"providerId": "p1", **window, "minutes": 15, "clientId": client},
        headers=bearer(admin),
    )
    assert answer.status_code == 201, answer.text
    entry: dict[str, Any] = answer.json()["entry"]
    return entry


async def test_freed_starts_are_offered_once_each_in_line_order_across_processes(
    postgres: PostgresForTests,
) -> None:
    start = first_day() + 9 * HOUR
    async with two_servers(postgres) as two:
        admin, both = two.admin, (two.a, two.b)
        provider = await make_token(two.a, admin, "provider", "p1")
        slots = await open_window(two.a, provider, start, start + 2 * HOUR)  # BOOKED quarters
        assert len(slots) == BOOKED
        for n, slot in enumerate(slots):  # each booked: nothing in the window is open
            body = {"timeSlot": slot["timestamp"], "clientId": f"b{n}"}
            held = await two.a.post(
                "/availability/reserve",
                json={**body, "timeSlotId": slot["timeSlotId"]},
                headers=bearer(admin),
            )
            assert held.status_code == 201, held.text
            path = f"/availability/confirm/{slot['timeSlotId']}"
            booked = await two.b.put(path, json=body, headers=bearer(admin))
            assert booked.status_code == 200, booked.text
        early = [await join(both[n % 2], admin, f"c{n:02d}", start) for n in range(EARLY)]
        assert [e["position"] for e in early] == list(range(1, EARLY + 1))

        async def cancel(n: int, slot: dict[str, Any]) -> None:
            cancelled = await both[n % 2].request(
                "DELETE", f"/reservations/{slot['timeSlotId']}", headers=bearer(provider)
            )
            assert cancelled.status_code == 200, cancelled.text

        cancels = asyncio.gather(*(cancel(n, slot) for n, slot in enumerate(slots)))
        joins = asyncio.gather(
            *(join(both[n % 2], admin, f"c{EARLY + n:02d}", start) for n in range(LATE))
        )
        _, late = await asyncio.gather(cancels, joins)  # all at once, through both

        line = await two.b.get("/waitlist", params={"providerId": "p1"}, headers=bearer(admin))
        assert line.status_code == 200, line.text
        entries = {e["waitlistId"]: e for e in line.json()["entries"]}
        statuses = [entries[e["waitlistId"]]["status"] for e in early]
        assert statuses == ["offered"] * BOOKED + ["waiting"] * (EARLY - BOOKED)
        assert [entries[e["waitlistId"]]["status"] for e in late] == ["waiting"] * LATE
        offered = [entries[e["waitlistId"]]["offer"]["timeSlotId"] for e in early[:BOOKED]]
        assert sorted(offered) == sorted(s["timeSlotId"] for s in slots)

        changes = await all_changes(two.a, admin)
        offers = [c for c in changes if c["kind"] == "reserved" and c.get("waitlistId")]
        assert Counter(c["waitlistId"] for c in offers) == Counter(
            {e["waitlistId"]: 1 for e in early[:BOOKED]}
        )  # no entry offered twice
        assert Counter(c["timeSlotId"] for c in offers) == Counter(offered)  # no slot twice
        for entry in early[:BOOKED]:
            [change] = [c for c in offers if c["waitlistId"] == entry["waitlistId"]]
            assert change["clientId"] == entry["clientId"]
