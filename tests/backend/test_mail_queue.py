"""Who is told what, queued in the transaction of the change: parties' addresses and zones
(PATCH /me), the notifications a confirm, a move and a cancel queue (GET /notifications), the
client's reminders following a move and dropped by a cancel; over real HTTP on both stores."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from tests.backend.test_calendar_feeds import DAY, cancel, confirm, hold, open_morning
from tests.helpers import People, assert_problem


async def set_email(people: People, who: str, email: str, zone: str | None = None) -> None:
    body = {"email": email} if zone is None else {"email": email, "timeZone": zone}
    response = await people[who].patch("/me", json=body)
    assert response.status_code == 200, response.text


async def listed(people: People, who: str, **params: str) -> list[dict[str, Any]]:
    response = await people[who].get("/notifications", params=params)
    assert response.status_code == 200, response.text
    notifications: list[dict[str, Any]] = response.json()["notifications"]
    return notifications


def kinds(notifications: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return sorted((n["kind"], n["recipient"], n["sequence"]) for n in notifications)


async def test_details_are_set_shown_and_removed(people: People) -> None:
    me = (await people["c1"].get("/me")).json()
    assert (me["email"], me["timeZone"]) == (None, None)
    response = await people["c1"].patch(
        "/me", json={"email": "Ana.Lopez@Example.COM", "timeZone": "Europe/Lisbon"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["details"] == {
        "email": "Ana.Lopez@example.com",
        "timeZone": "Europe/Lisbon",
    }
    me = (await people["c1"].get("/me")).json()
    assert (me["email"], me["timeZone"]) == ("Ana.Lopez@example.com", "Europe/Lisbon")
    await people["c1"].patch("/me", json={"email": ""})
    me = (await people["c1"].get("/me")).json()
    assert (me["email"], me["timeZone"]) == (None, "Europe/Lisbon")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": "ana@example.com\r\nBcc: all@example.org"}, "email"),
        ({"email": "ana@localhost"}, "email"),
        ({"timeZone": "Europe/Lisbn"}, "timeZone"),
        ({"mail": "ana@example.com"}, "mail"),
    ],
)
async def test_bad_details_are_refused_and_change_nothing(
    people: People, body: dict[str, str], field: str
) -> None:
    await set_email(people, "c1", "ana@example.com", "Europe/Lisbon")
    problem = assert_problem(
        await people["c1"].patch("/me", json=body), 422 if field != "mail" else 400
    )
    assert any(error["field"] == field for error in problem["errors"])
    me = (await people["c1"].get("/me")).json()
    assert (me["email"], me["timeZone"]) == ("ana@example.com", "Europe/Lisbon")


async def test_an_admin_has_no_details(people: People) -> None:
    assert_problem(await people["admin"].patch("/me", json={"email": "a@example.com"}), 403)


async def test_confirm_move_cancel_queue_one_invitation_and_reminders_follow(
    people: People,
) -> None:
    await set_email(people, "c1", "client@example.com")
    await set_email(people, "p1", "doctor@example.com")
    slots = await open_morning(people)
    await hold(people, "c1", slots[0])
    assert await listed(people, "c1") == []  # a hold tells nobody
    await confirm(people, "c1", slots[0])
    mine = await listed(people, "c1")
    assert kinds(mine) == [
        ("confirmation", "client@example.com", 1),
        ("reminder", "client@example.com", 1),
    ]
    reminder = next(n for n in mine if n["kind"] == "reminder")
    assert reminder["dueAt"] == f"{_day_before(DAY)} 10:00:00"
    # The server's own sender may already have sent the confirmation (a confirm wakes it); the
    # reminder waits for its day.
    assert all(n["status"] in ("queued", "sent") for n in mine)
    assert reminder["status"] == "queued"
    assert reminder["attempts"] == 0
    assert kinds(await listed(people, "p1")) == [("confirmation", "doctor@example.com", 1)]

    moved = await people["c1"].post(
        f"/reservations/{slots[0]['timeSlotId']}/move",
        json={"toTimeSlotId": slots[2]["timeSlotId"], "timeSlot": slots[2]["timestamp"]},
    )
    assert moved.status_code == 200, moved.text
    mine = await listed(people, "c1")
    assert kinds(mine) == [
        ("confirmation", "client@example.com", 1),
        ("reminder", "client@example.com", 2),
        ("update", "client@example.com", 2),
    ]  # the old reminder is gone, a new one follows the appointment
    reminder = next(n for n in mine if n["kind"] == "reminder")
    assert reminder["dueAt"] == f"{_day_before(DAY)} 10:30:00"

    await cancel(people, "c1", slots[2])
    mine = await listed(people, "c1")
    assert kinds(mine) == [
        ("cancellation", "client@example.com", 3),
        ("confirmation", "client@example.com", 1),
        ("update", "client@example.com", 2),
    ]
    assert kinds(await listed(people, "p1", kind="cancellation")) == [
        ("cancellation", "doctor@example.com", 3)
    ]
    everyone = await listed(people, "admin")
    assert len(everyone) == 6
    assert {n["appointmentId"] for n in everyone} == {
        slots[0]["timeSlotId"],
        slots[2]["timeSlotId"],
    }


async def test_no_address_no_mail_and_nobody_sees_anothers(people: People) -> None:
    await set_email(people, "p1", "doctor@example.com")
    slots = await open_morning(people)
    await hold(people, "c1", slots[0])
    await confirm(people, "c1", slots[0])
    assert await listed(people, "c1") == []  # the client has no address: no reminder either
    assert kinds(await listed(people, "p1")) == [("confirmation", "doctor@example.com", 1)]
    assert await listed(people, "c2") == []
    assert_problem(await people["c2"].get("/notifications", params={"partyId": "p1"}), 403)


def _day_before(day: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


async def test_mail_is_forgotten_a_month_after_it_went_and_queued_mail_never(
    people: People, secure_server: TestServer
) -> None:
    await set_email(people, "c1", "client@example.com")
    slots = await open_morning(people)
    await hold(people, "c1", slots[0])
    await confirm(people, "c1", slots[0])
    ctx = secure_server.app[CONTEXT]
    await ctx.mail.deliver_due()
    ctx.clock.advance(31 * 86_400)  # type: ignore[attr-defined]
    await ctx.store.purge(ctx.now(), keep_changes_seconds=7 * 86_400)
    left = await listed(people, "c1")
    assert [(n["kind"], n["status"]) for n in left] == [("reminder", "queued")]
