"""A provider's public profile and booking page switch (PATCH and GET /providers/{providerId}),
over real HTTP with tokens, on both stores: set, read back by anyone with a token, cleared; bad
fields each named in one 422 that changes nothing; only the provider or an admin may set it; and
the store's list of the providers whose page is on."""

from __future__ import annotations

from typing import Any

import httpx
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from tests.helpers import JSON, People, assert_problem, dump_database

ADA = {
    "about": "Physiotherapy for runners; sports injuries and recovery",
    "address": "Rua Augusta 27, 1100-048 Lisbon",
    "phone": "+351 21 000 0000",
    "website": "https://physio.example.com/team?who=ana#hours",
}
NOTHING = {"about": None, "address": None, "phone": None, "website": None}


async def profile_of(client: httpx.AsyncClient, provider: str) -> dict[str, Any]:
    answer = await client.get(f"/providers/{provider}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_a_provider_sets_their_profile_anyone_reads_it_and_fields_are_cleared(
    people: People, secure_server: TestServer
) -> None:
    base = str(secure_server.make_url("")).rstrip("/")
    fresh = await profile_of(people["c1"], "p1")
    assert fresh == {
        "providerId": "p1",
        "name": "Dr One",
        "profile": NOTHING,
        "bookingPage": False,
        "bookingPageUrl": None,
    }

    key = {"Idempotency-Key": "ada-profile"}
    body = {"profile": ADA, "bookingPage": True}
    saved = await people["p1"].patch("/providers/p1", json=body, headers=key)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {
        "providerId": "p1",
        "name": "Dr One",
        "profile": ADA,
        "bookingPage": True,
        "bookingPageUrl": f"{base}/book/p1",
    }
    assert await profile_of(people["c2"], "p1") == saved.json()
    again = await people["p1"].patch("/providers/p1", json=body, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == saved.json()

    # A field left out stays; null and "" remove one; an empty body changes nothing.
    cleared = await people["p1"].patch(
        "/providers/p1", json={"profile": {"phone": None, "website": ""}}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["profile"] == {**ADA, "phone": None, "website": None}
    assert cleared.json()["bookingPage"] is True
    for empty in (b"", b"{}", b'{"profile": {}}'):
        same = await people["p1"].patch("/providers/p1", content=empty, headers=JSON)
        assert same.status_code == 200, same.text
        assert same.json() == cleared.json()

    off = await people["p1"].patch("/providers/p1", json={"bookingPage": False})
    assert off.json()["bookingPage"] is False
    assert off.json()["bookingPageUrl"] is None
    assert off.json()["profile"] == cleared.json()["profile"]
    assert (await profile_of(people["p2"], "p2"))["profile"] == NOTHING  # p1's is p1's alone


async def test_every_bad_field_is_named_in_one_422_and_nothing_changes(
    people: People, db: str
) -> None:
    before = dump_database(db)
    bad = {
        "about": "x" * 301,
        "address": "Rua Augusta 27\nLisbon",
        "phone": "\u202e0000 12 153+",
        "website": "physio.example.com",
    }
    refused = await people["p1"].patch("/providers/p1", json={"profile": bad, "bookingPage": True})
    problem = assert_problem(refused, 422, "rule-violation")
    named = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(named) == {f"profile.{name}" for name in bad}
    assert named["profile.about"] == "must be at most 300 characters; this is 301"
    assert "one line" in named["profile.address"]
    assert named["profile.website"].startswith("must start with http:// or https://")

    for website in ("ftp://physio.example.com", "https://ana:secret@example.com", "http://:80"):
        refused = await people["p1"].patch("/providers/p1", json={"profile": {"website": website}})
        problem = assert_problem(refused, 422, "rule-violation")
        assert [e["field"] for e in problem["errors"]] == ["profile.website"], website
    for wrong_type in ({"profile": {"about": 7}}, {"bookingPage": "yes"}, {"profile": {"x": ""}}):
        assert_problem(await people["p1"].patch("/providers/p1", json=wrong_type), 400)
    assert dump_database(db) == before
    longest = await people["p1"].patch("/providers/p1", json={"profile": {"about": "é" * 300}})
    assert longest.json()["profile"]["about"] == "é" * 300


async def test_only_the_provider_or_an_admin_sets_it_and_an_unknown_provider_is_404(
    people: People, anonymous: httpx.AsyncClient, db: str
) -> None:
    before = dump_database(db)
    turn_on = {"bookingPage": True}
    for who in ("p2", "c1"):
        refused = await people[who].patch("/providers/p1", json=turn_on)
        assert (
            "Only provider p1 (or an admin)" in assert_problem(refused, 403, "forbidden")["detail"]
        )
    assert_problem(await anonymous.patch("/providers/p1", json=turn_on), 401)
    assert_problem(await anonymous.get("/providers/p1"), 401)
    unknown = await people["admin"].patch("/providers/nobody", json=turn_on)
    assert "nobody" in assert_problem(unknown, 404, "provider-not-found")["detail"]
    assert_problem(await people["c1"].get("/providers/nobody"), 404, "provider-not-found")
    assert dump_database(db) == before

    by_admin = await people["admin"].patch("/providers/p1", json=turn_on)
    assert by_admin.status_code == 200, by_admin.text
    assert (await profile_of(people["c1"], "p1"))["bookingPage"] is True


async def test_the_booking_pages_are_those_turned_on_by_name_then_id(
    people: People, secure_server: TestServer
) -> None:
    store = secure_server.app[CONTEXT].store
    assert await store.booking_pages() == []  # off until turned on
    admin = people["admin"]
    for subject, name in (("zz", "Ana Silva"), ("p0", "Dr One")):
        made = await admin.post(
            "/tokens", json={"role": "provider", "subject": subject, "name": name}
        )
        assert made.status_code == 201, made.text
        if subject == "zz":  # a provider known only by their token turns their own page on
            headers = {"Authorization": f"Bearer {made.json()['token']}"}
            own = await admin.patch("/providers/zz", json={"bookingPage": True}, headers=headers)
            assert own.status_code == 200, own.text
    window = {"providerId": "nameless", "startTime": "2030-03-06 10:00:00"}
    opened = await admin.post("/availability", json={**window, "endTime": "2030-03-06 11:00:00"})
    assert opened.status_code == 201, opened.text
    assert [p.provider_id for p in await store.booking_pages()] == ["zz"]
    for provider in ("p2", "nameless", "p1", "p0"):
        on = await admin.patch(f"/providers/{provider}", json={"bookingPage": True})
        assert on.status_code == 200, on.text

    pages = await store.booking_pages()
    assert [(p.provider_id, p.name) for p in pages] == [
        ("zz", "Ana Silva"),
        ("p0", "Dr One"),
        ("p1", "Dr One"),
        ("p2", "Dr Two"),
        ("nameless", None),
    ]
    assert all(p.booking_page for p in pages)

    await people["p1"].patch("/providers/p1", json={"bookingPage": False, "profile": ADA})
    assert [p.provider_id for p in await store.booking_pages()] == ["zz", "p0", "p2", "nameless"]
    p1 = await store.provider_profile("p1")
    assert p1 is not None
    assert (p1.about, p1.website, p1.booking_page) == (ADA["about"], ADA["website"], False)
    assert await store.provider_profile("nobody") is None
