"""A provider's calendars over real HTTP on both stores: added, listed, read, changed and
removed by that provider (or an admin); the password stored sealed and never shown again, in
no answer, no log line and not in the change feed; every refusal a 4xx that names the field and
changes nothing. What a calendar's busy times do to slots is tests/backend/test_busy_intervals.py's.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.runtime.clock import ManualClock
from backend.runtime.secret_box import SecretBox, new_key
from backend.runtime.settings import Settings
from backend.store.busy_records import Refreshed
from tests.backend.test_busy_intervals import AT, BUSY, listed
from tests.backend.test_calendar_feeds import open_morning
from tests.helpers import People, assert_problem, dump_database, query

KEY = new_key()
PASSWORD = "correct horse battery staple"
SOURCES = "/providers/p1/busy-sources"
CALENDAR: dict[str, Any] = {
    "name": "Personal",
    "kind": "caldav",
    "url": "HTTPS://93.184.216.34:443/dav/ana/personal/",
    "username": "ana",
    "password": PASSWORD,
}
"""A calendar at a public address (nothing resolves it: no name to look up), read with a
password."""


@pytest.fixture
def secure_settings(db: str, db_path: Path) -> Settings:
    """The tokens' server with a secret key, and private addresses allowed (link-local ones are
    refused all the same)."""
    return Settings(
        db=db,
        rate=0,
        mail_dir=str(db_path.parent / "mail"),
        secret_key=KEY,
        allow_private_addresses=True,
    )


@pytest.fixture(autouse=True)
async def unread(secure_server: TestServer) -> None:
    """The calendars here are never read (their reading is tests/backend/test_busy_refresh.py's):
    the server's refresher stays still, so what changes is what the requests change."""
    await secure_server.app[CONTEXT].busy.stop()


def row_of(db: str, source_id: str) -> dict[str, Any]:
    columns = ("password_sealed", "due_at", "etag", "username", "url")
    (found,) = query(db, f"SELECT {', '.join(columns)} FROM busy_sources WHERE id = ?", source_id)
    return dict(zip(columns, found, strict=True))


async def test_a_provider_adds_reads_changes_and_removes_a_calendar_whose_password_stays_sealed(
    people: People,
    secure_server: TestServer,
    secure_settings: Settings,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = secure_server.app[CONTEXT]
    answers: list[httpx.Response] = []
    await open_morning(people)

    key = {"Idempotency-Key": "add-personal"}
    made = await people["p1"].post(SOURCES, json=CALENDAR, headers=key)
    again = await people["p1"].post(SOURCES, json=CALENDAR, headers=key)
    answers += [made, again]
    assert made.status_code == 201, made.text
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    source = made.json()["source"]
    source_id = source["sourceId"]
    assert source == {
        "sourceId": source_id,
        "name": "Personal",
        "kind": "caldav",
        "url": "https://93.184.216.34/dav/ana/personal/",  # normalised
        "username": "ana",
        "refreshMinutes": 15,
        "allDayEvents": "busy",
        "status": {
            "lastSyncAt": None,
            "lastSuccessAt": None,
            "lastError": None,
            "events": 0,
            "busyIntervals": 0,
            "failing": False,
        },
    }
    row = row_of(secure_settings.db, source_id)
    assert row["due_at"] == clock.now()  # read at once
    assert row["password_sealed"] != PASSWORD
    assert SecretBox(KEY).open(row["password_sealed"]) == PASSWORD
    assert not [line for line in dump_database(secure_settings.db) if PASSWORD in line]

    listed_sources = await people["admin"].get(SOURCES)
    shown = await people["p1"].get(f"{SOURCES}/{source_id}")
    answers += [listed_sources, shown]
    assert listed_sources.json() == {"sources": [source]}
    assert shown.json() == {"source": source}

    # The calendar was read (with an ETag) and busy from 10:15 to 10:45; then its reads fail.
    await ctx.store.record_busy_refresh(
        source_id, Refreshed([BUSY], 1, None, '"v1"', None, clock.now() + 900), clock.now()
    )
    ctx.forget_listings("p1")
    for _ in range(3):
        clock.advance(15 * 60)
        failed = Refreshed(None, None, "timed out after 30 s", None, None, clock.now() + 900)
        await ctx.store.record_busy_refresh(source_id, failed, clock.now())
    status = (await people["p1"].get(f"{SOURCES}/{source_id}")).json()["source"]["status"]
    assert (status["lastError"], status["busyIntervals"], status["failing"]) == (
        "timed out after 30 s",
        1,
        True,
    )

    renamed = await people["p1"].patch(
        f"{SOURCES}/{source_id}", json={"name": "Home", "refreshMinutes": 60}
    )
    answers.append(renamed)
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["source"]["name"], renamed.json()["source"]["refreshMinutes"]) == (
        "Home",
        60,
    )
    assert row_of(secure_settings.db, source_id)["etag"] == '"v1"'  # still the same calendar

    clock.advance(60)
    moved = await people["p1"].patch(
        f"{SOURCES}/{source_id}",
        json={"url": "https://93.184.216.34/dav/ana/work/", "username": None, "password": None},
    )
    answers.append(moved)
    assert moved.status_code == 200, moved.text
    assert moved.json()["source"]["username"] is None
    assert row_of(secure_settings.db, source_id) == {
        "password_sealed": None,
        "due_at": clock.now(),  # the new calendar is read at once, without the old ETag
        "etag": None,
        "username": None,
        "url": "https://93.184.216.34/dav/ana/work/",
    }
    assert await listed(people) == [AT["10:00"], AT["10:45"]]  # busy until the new one is read

    removed = await people["p1"].delete(f"{SOURCES}/{source_id}")
    answers.append(removed)
    assert removed.status_code == 200, removed.text
    assert removed.json()["source"]["sourceId"] == source_id
    assert await listed(people) == [AT["10:00"], AT["10:15"], AT["10:30"], AT["10:45"]]
    assert await ctx.store.busy_intervals("p1", AT["10:00"], AT["10:45"]) == []
    assert_problem(await people["p1"].get(f"{SOURCES}/{source_id}"), 404, "busy-source-not-found")
    assert (await people["p1"].get(SOURCES)).json() == {"sources": []}

    changes = await people["admin"].get("/changes", params={"since": 0})
    assert changes.status_code == 200, changes.text
    for response in [*answers, changes]:
        assert PASSWORD not in response.text
    assert caplog.records  # the access log, at least
    assert PASSWORD not in caplog.text


async def test_refusals_name_the_field_and_change_nothing(
    people: People, secure_settings: Settings
) -> None:
    wrong: list[tuple[dict[str, Any], str]] = [
        ({"kind": "webcal"}, "kind"),
        ({"refreshMinutes": 4}, "refreshMinutes"),
        ({"refreshMinutes": 1441}, "refreshMinutes"),
        ({"allDayEvents": "free"}, "allDayEvents"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),  # link-local: never
        ({"url": "https://ana:secret@93.184.216.34/dav/"}, "url"),  # a password in the address
        ({"username": "ana:b"}, "username"),
        ({"username": None, "password": PASSWORD}, "username"),  # a password needs a name
    ]
    before = dump_database(secure_settings.db)
    for change, field in wrong:
        body = {k: v for k, v in (CALENDAR | change).items() if v is not None}
        problem = assert_problem(await people["p1"].post(SOURCES, json=body), 422, "rule-violation")
        assert [e["field"] for e in problem["errors"]] == [field], (change, problem)
        assert PASSWORD not in str(problem)
    assert dump_database(secure_settings.db) == before

    both = await people["p1"].post(
        SOURCES, json=CALENDAR | {"kind": "webcal", "url": "http://169.254.169.254/"}
    )
    assert [e["field"] for e in assert_problem(both, 422)["errors"]] == ["kind", "url"]
    loopback = await people["p1"].post(SOURCES, json=CALENDAR | {"url": "http://127.0.0.1:9/"})
    assert loopback.status_code == 201, loopback.text  # allowed by --allow-private-addresses
    source = f"{SOURCES}/{loopback.json()['source']['sourceId']}"

    before = dump_database(secure_settings.db)
    for change, field in wrong[:-1]:
        refused = await people["p1"].patch(source, json=change)
        problem = assert_problem(refused, 422, "rule-violation")
        assert [e["field"] for e in problem["errors"]] == [field], (change, problem)
    unnamed = await people["p1"].patch(source, json={"username": None})  # the password stays
    assert [e["field"] for e in assert_problem(unnamed, 422)["errors"]] == ["username"]
    assert dump_database(secure_settings.db) == before


async def test_only_the_provider_or_an_admin_reaches_its_calendars(people: People) -> None:
    made = await people["admin"].post(SOURCES, json=CALENDAR)
    assert made.status_code == 201, made.text
    source_id = made.json()["source"]["sourceId"]
    for who in ("p2", "c1"):
        assert_problem(await people[who].get(SOURCES), 403, "forbidden")
        assert_problem(await people[who].post(SOURCES, json=CALENDAR), 403, "forbidden")
        assert_problem(await people[who].delete(f"{SOURCES}/{source_id}"), 403, "forbidden")
    theirs = f"/providers/p2/busy-sources/{source_id}"  # p1's calendar under p2's path
    assert_problem(await people["p2"].get(theirs), 404, "busy-source-not-found")
    assert_problem(await people["p2"].patch(theirs, json={"name": "Mine"}), 404)
    assert_problem(await people["p2"].delete(theirs), 404, "busy-source-not-found")
    for unknown in ("0123456789abcdef", "not-an-id"):
        assert_problem(await people["p1"].get(f"{SOURCES}/{unknown}"), 404, "busy-source-not-found")
    assert (await people["p1"].get(SOURCES)).json()["sources"][0]["name"] == "Personal"


async def test_the_eleventh_calendar_is_refused(people: People) -> None:
    for n in range(10):
        made = await people["p1"].post(SOURCES, json=CALENDAR | {"name": f"Calendar {n}"})
        assert made.status_code == 201, made.text
    refused = await people["p1"].post(SOURCES, json=CALENDAR | {"name": "One more"})
    assert (
        "already has 10 calendars"
        in assert_problem(refused, 409, "too-many-busy-sources")["detail"]
    )
    assert len((await people["p1"].get(SOURCES)).json()["sources"]) == 10
    other = await people["p2"].post("/providers/p2/busy-sources", json=CALENDAR)
    assert other.status_code == 201, other.text  # ten each


async def test_a_server_without_a_key_or_the_flag_refuses_a_password_and_a_private_address(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    before = dump_database(settings.db)
    refused = await http.post(SOURCES, json=CALENDAR | {"url": "http://10.0.0.5/cal.ics"})
    problem = assert_problem(refused, 422, "rule-violation")
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(messages) == {"password", "url"}
    assert "--secret-key" in messages["password"]
    assert "private" in messages["url"]
    assert "--allow-private-addresses" in messages["url"]
    assert dump_database(settings.db) == before
    without = {k: v for k, v in CALENDAR.items() if k not in ("username", "password")}
    made = await http.post(SOURCES, json=without | {"kind": "ics"})
    assert made.status_code == 201, made.text  # a calendar that needs no password
    source = f"{SOURCES}/{made.json()['source']['sourceId']}"
    late = await http.patch(source, json={"username": "ana", "password": PASSWORD})
    assert [e["field"] for e in assert_problem(late, 422)["errors"]] == ["password"]
