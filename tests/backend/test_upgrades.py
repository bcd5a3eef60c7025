"""Upgrades keep the data: a database written by a released slotbook opens with the current code,
migrates in place, and answers as that release did.

tests/fixtures/ keeps, for each release, a small database it wrote (a SQLite file, and a
PostgreSQL dump of its schema and data) and a manifest of what it answered about it, all made by
tests/fixtures/make_release_fixtures.py through the release's own server. Each test here copies a
fixture (the SQLite file to a temporary folder; the dump into an empty database on the suite's
PostgreSQL server, with psql), starts the current app over it, on a clock set to the moment the
release's answers were recorded, and asks over HTTP.

"The data survived" means: every migration of the current code is recorded as applied; every GET
the release answered is answered again with at least what the release said (an upgrade may add
fields to an answer, but every field the release gave keeps its value; lists keep their length
and order; a calendar feed keeps each event's UID, times, status, sequence, summary and
description); the tokens authenticate as before and the revoked one is still refused; answers
stored under an Idempotency-Key are replayed; and the data can be worked on: the held slot
confirmed, new bookings made, a booking cancelled, the schedule set again with nothing to change,
holds lapsing when their time runs out, and the change log going on from where it was.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from aiohttp.test_utils import TestServer
from sqlite_utils import Database

from backend.app import create_app
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from backend.store.postgres.schema import MIGRATIONS
from backend.store.sqlite.schema import migrations
from shared.timefmt import format_time, parse_time
from tests.helpers import is_postgresql, query
from tests.postgres_server import PostgresForTests, find_binaries

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EVENT_FIELDS = ("UID", "DTSTART", "DTEND", "STATUS", "SEQUENCE", "SUMMARY", "DESCRIPTION")
"""What a calendar feed's event must keep across an upgrade: who and when, and what a calendar
shows (not DTSTAMP, CREATED or LAST-MODIFIED, which a migration that rebuilds an entry may move,
nor the calendar's PRODID, which names the version)."""


@dataclass(frozen=True)
class Fixture:
    release: str
    kind: str
    data: Path
    manifest: Path


def fixtures() -> list[Fixture]:
    found: list[Fixture] = []
    for manifest in sorted(FIXTURES.glob("release-*.sqlite3.json")):
        release = manifest.name.removeprefix("release-").removesuffix(".sqlite3.json")
        found.append(Fixture(release, "sqlite", manifest.with_suffix(""), manifest))
    for manifest in sorted(FIXTURES.glob("release-*.postgresql.json")):
        release = manifest.name.removeprefix("release-").removesuffix(".postgresql.json")
        dump = manifest.with_name(f"release-{release}.postgresql.sql")
        found.append(Fixture(release, "postgresql", dump, manifest))
    return found


FOUND = fixtures()


def test_every_release_keeps_both_fixtures() -> None:
    releases = {f.release for f in FOUND}
    assert "0.1.0" in releases
    for release in releases:
        kinds = sorted(f.kind for f in FOUND if f.release == release)
        assert kinds == ["postgresql", "sqlite"], release
    for fixture in FOUND:
        assert fixture.data.exists(), fixture.data


# --- opening a release's database with the current code --------------------------------------


@dataclass
class Upgraded:
    """The current app over a copy of a release's database."""

    manifest: dict[str, Any]
    db: str
    clock: ManualClock
    http: httpx.AsyncClient

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        token = self.manifest["tokens"][who] if who != "revoked" else self.manifest["revokedToken"]
        return {"Authorization": f"Bearer {token}"}

    async def call(
        self, who: str, method: str, path: str, *, expect: int = 200, **options: Any
    ) -> httpx.Response:
        headers = {**self.headers(who), **options.pop("headers", {})}
        response = await self.http.request(method, path, headers=headers, **options)
        assert response.status_code == expect, f"{who} {method} {path}: {response.text}"
        return response

    async def get(self, who: str, path: str, **params: Any) -> Any:
        return (await self.call(who, "GET", path, params=params)).json()


def load_dump(url: str, dump: Path) -> None:
    """Load a plain-SQL dump with psql, from the same PostgreSQL installation the suite's server
    comes from (or else psql on PATH)."""
    binaries = find_binaries()
    psql = str(binaries / "psql") if binaries and (binaries / "psql").exists() else None
    psql = psql or shutil.which("psql")
    assert psql, "psql is needed to load a PostgreSQL dump"
    done = subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", url, "--file", str(dump)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"psql could not load {dump.name}:\n{done.stdout}{done.stderr}"


@pytest.fixture(
    params=[
        pytest.param(f, id=f"{f.release}-{f.kind}", marks=[pytest.mark.postgresql])
        if f.kind == "postgresql"
        else pytest.param(f, id=f"{f.release}-{f.kind}")
        for f in FOUND
    ]
)
def release_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Fixture, str]]:
    """A release's database, copied for the test: a SQLite file, or a new PostgreSQL database
    (made empty from template0, not from the suite's migrated template) with the dump loaded."""
    fixture: Fixture = request.param
    if fixture.kind == "sqlite":
        copy = tmp_path / "slotbook.db"
        shutil.copyfile(fixture.data, copy)
        yield fixture, str(copy)
        return
    postgres: PostgresForTests = request.getfixturevalue("postgres")
    url = postgres.copy(template="template0")
    try:
        load_dump(url, fixture.data)
        yield fixture, url
    finally:
        postgres.drop(url)


@pytest.fixture
async def upgraded(release_db: tuple[Fixture, str]) -> AsyncIterator[Upgraded]:
    """The current app started over the release's database (which migrates it), with tokens
    required, as the release's server ran, at the moment its answers were recorded."""
    fixture, db = release_db
    manifest: dict[str, Any] = json.loads(fixture.manifest.read_text())
    clock = ManualClock(manifest["clock"])
    server = TestServer(create_app(Settings(db=db, rate=0), clock=clock))
    await server.start_server()
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url("")), timeout=30) as http:
            yield Upgraded(manifest, db, clock, http)
    finally:
        await server.close()


# --- comparing answers ---------------------------------------------------------------------------


def differences(was: Any, now: Any, where: str = "") -> list[str]:
    """Where `now` fails to keep `was`: a field gone or changed (fields added are fine), a list
    of another length, a value that differs."""
    if isinstance(was, dict):
        if not isinstance(now, dict):
            return [f"{where or '.'}: was an object, now {now!r}"]
        found: list[str] = []
        for key, value in was.items():
            if key not in now:
                found.append(f"{where}.{key}: gone (was {value!r})")
            else:
                found += differences(value, now[key], f"{where}.{key}")
        return found
    if isinstance(was, list):
        if not isinstance(now, list) or len(now) != len(was):
            return [f"{where or '.'}: was {len(was)} items, now {now!r:.300}"]
        return [
            d
            for n, (a, b) in enumerate(zip(was, now, strict=True))
            for d in differences(a, b, f"{where}[{n}]")
        ]
    return [] if was == now and type(was) is type(now) else [f"{where}: was {was!r}, now {now!r}"]


def events(text: str) -> dict[str, dict[str, str]]:
    """A calendar feed's events by UID: each with the fields an upgrade must keep."""
    calendar = icalendar.Calendar.from_ical(text)
    found: dict[str, dict[str, str]] = {}
    for event in calendar.walk("VEVENT"):
        fields = {name: text_of(event[name].to_ical()) for name in EVENT_FIELDS if name in event}
        found[fields["UID"]] = fields
    return found


def text_of(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def is_feed(path: str) -> bool:
    return path.startswith("/calendar/") and path.endswith(".ics")


# --- the tests -----------------------------------------------------------------------------------


async def test_the_schema_is_brought_to_the_newest_migration(upgraded: Upgraded) -> None:
    if is_postgresql(upgraded.db):
        applied = query(upgraded.db, "SELECT name FROM slotbook_migrations ORDER BY name")
        assert [name for (name,) in applied] == sorted(m.name for m in MIGRATIONS)
    else:
        with closing(Database(upgraded.db)) as db:
            assert migrations.pending(db) == []
            recorded = [m.name for m in migrations.applied(db)]
        assert len(recorded) == len(set(recorded))
    health = await upgraded.get("anonymous", "/healthz")
    assert health


async def test_everything_the_release_answered_is_answered_again(upgraded: Upgraded) -> None:
    recorded = upgraded.manifest["answers"]
    assert len(recorded) > 20
    faults: list[str] = []
    for asked in recorded:
        who, path, params = asked["who"], asked["path"], asked["params"]
        response = await upgraded.http.get(path, params=params, headers=upgraded.headers(who))
        if response.status_code != 200:
            faults.append(f"{who} GET {path}: {response.status_code} {response.text:.200}")
        elif is_feed(path):
            was, now = events(asked["answer"]), events(response.text)
            faults += [f"{path} {d}" for d in differences(was, now)]
        else:
            faults += [
                f"{who} GET {path} {d}" for d in differences(asked["answer"], response.json())
            ]
    assert not faults, "\n".join(faults)


async def test_the_recorded_data_is_what_the_fixture_says(upgraded: Upgraded) -> None:
    """The fixture holds what its script says it made (so the comparison above compares
    something): three providers, a schedule with exceptions, each kind of reservation."""
    manifest = upgraded.manifest
    providers = (await upgraded.get("grace", "/providers"))["providers"]
    assert len(providers) == 3
    assert all(p["name"] for p in providers)
    ada = next(p["providerId"] for p in providers if p["name"] == "Dr Ada Lovelace")
    schedule = (await upgraded.get("ada", f"/providers/{ada}/schedule"))["schedule"]
    assert schedule["timeZone"] == "Europe/Berlin"
    assert len(schedule["weekly"]) == 5
    assert len(schedule["exceptions"]) >= 2
    grace = (await upgraded.get("grace", "/reservations"))["reservations"]
    assert sorted((r["status"], r["minutes"]) for r in grace) == [
        ("CONFIRMED", 45),
        ("RESERVED", 15),
    ]
    assert any(r.get("note") == "First visit; please call the front desk" for r in grace)
    alan = (await upgraded.get("alan", "/reservations"))["reservations"]
    assert any(r.get("note") == "Bring the X-rays" for r in alan)
    kinds = {c["kind"] for c in (await upgraded.get("admin", "/changes", since=0))["changes"]}
    assert {
        "created",
        "deleted",
        "reserved",
        "confirmed",
        "cancelled",
        "expired",
        "moved",
        "noted",
    } <= kinds
    feed = (await upgraded.call("anonymous", "GET", manifest["feeds"]["grace"])).text
    assert len(events(feed)) == 2
    hooks = (await upgraded.get("admin", "/webhooks"))["webhooks"]
    assert sorted(h["failedAttempts"] > 0 for h in hooks) == [False, True]
    assert {h["format"] for h in hooks} == {"single"}, "endpoints from before batches keep theirs"
    (failing,) = [h for h in hooks if h["failedAttempts"]]
    tried = await upgraded.get("admin", f"/webhooks/{failing['webhookId']}/deliveries")
    assert tried["deliveries"]
    assert all(d["firstSeq"] == d["seq"] for d in tried["deliveries"])


async def test_the_tokens_still_authenticate_and_the_revoked_one_does_not(
    upgraded: Upgraded,
) -> None:
    tokens = upgraded.manifest["tokens"]
    assert set(tokens) == {"admin", "ada", "barbara", "edsger", "grace", "alan", "katherine"}
    for who in tokens:
        me = await upgraded.get(who, "/me")
        assert me["auth"] == "token"
        if who != "admin":
            assert me["tokenId"] == upgraded.manifest["tokenIds"][who]
    await upgraded.call("revoked", "GET", "/me", expect=401)
    made = await upgraded.call(
        "admin",
        "POST",
        "/tokens",
        json={"role": "client", "subject": "new-client", "name": "Someone New"},
        expect=201,
    )
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    me = await upgraded.call("anonymous", "GET", "/me", headers=headers)
    assert me.json()["subject"] == "new-client"


async def test_answers_stored_under_an_idempotency_key_are_replayed(upgraded: Upgraded) -> None:
    replays = upgraded.manifest["replays"]
    assert replays
    for stored in replays:
        response = await upgraded.call(
            stored["who"],
            stored["method"],
            stored["path"],
            json=stored["body"],
            headers={"Idempotency-Key": stored["key"]},
            expect=stored["status"],
        )
        assert response.headers.get("Idempotent-Replayed") == "true"
        assert differences(stored["answer"], response.json()) == []


async def test_bookings_go_on_over_the_old_data(upgraded: Upgraded) -> None:
    manifest = upgraded.manifest
    last_seq: int = manifest["lastSeq"]
    feed = manifest["feeds"]["grace"]
    before = events((await upgraded.call("anonymous", "GET", feed)).text)

    # Grace confirms the hold she made under the release; the feed says so, one sequence on.
    held = manifest["held"]
    confirmed = await upgraded.call(
        "grace",
        "PUT",
        f"/availability/confirm/{held['timeSlotId']}",
        json={"timeSlot": held["timestamp"]},
    )
    assert confirmed.json()["reservation"]["status"] == "CONFIRMED"
    after = events((await upgraded.call("anonymous", "GET", feed)).text)
    start = parse_time(held["timestamp"])
    changed = [uid for uid, e in after.items() if e != before.get(uid)]
    assert len(changed) == 1
    assert after[changed[0]]["STATUS"] == "CONFIRMED"
    assert int(after[changed[0]]["SEQUENCE"]) == int(before[changed[0]]["SEQUENCE"]) + 1
    assert after[changed[0]]["DTSTART"].startswith(format_time(start)[:10].replace("-", ""))

    # Katherine books a slot that is still open; Alan cancels the booking he moved.
    window = {
        "startTime": format_time(upgraded.clock.now() // 900 * 900),
        "endTime": format_time(upgraded.clock.now() // 900 * 900 + 14 * 86400),
    }
    open_slots = (await upgraded.get("katherine", "/availability", **window))["availableTimeSlots"]
    slot = open_slots[0]
    await upgraded.call(
        "katherine",
        "POST",
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
        expect=201,
    )
    await upgraded.call(
        "katherine",
        "PUT",
        f"/availability/confirm/{slot['timeSlotId']}",
        json={"timeSlot": slot["timestamp"]},
    )
    mine = (await upgraded.get("katherine", "/reservations"))["reservations"]
    assert slot["timeSlotId"] in [r["timeSlotId"] for r in mine]
    moved = manifest["moved"]
    await upgraded.call("alan", "DELETE", f"/reservations/{moved['timeSlotId']}")
    alan = (await upgraded.get("alan", "/reservations"))["reservations"]
    assert moved["timeSlotId"] not in [r["timeSlotId"] for r in alan]

    # The change log goes on from the release's last seq, with no gap.
    changes = (await upgraded.get("admin", "/changes", since=last_seq))["changes"]
    assert [c["seq"] for c in changes] == list(range(last_seq + 1, last_seq + 1 + len(changes)))
    assert [c["kind"] for c in changes] == [
        "confirmed",
        "reserved",
        "confirmed",
        "cancelled",
        "cancelled",
    ]

    # Setting Ada's schedule again, as it is, changes nothing.
    ada = next(
        p["providerId"]
        for p in (await upgraded.get("ada", "/providers"))["providers"]
        if p["name"] == "Dr Ada Lovelace"
    )
    schedule = (await upgraded.get("ada", f"/providers/{ada}/schedule"))["schedule"]
    again = await upgraded.call(
        "ada",
        "PUT",
        f"/providers/{ada}/schedule",
        json={
            "timeZone": schedule["timeZone"],
            "weekly": schedule["weekly"],
            "horizonDays": schedule["horizonDays"],
        },
    )
    assert (again.json()["created"], again.json()["deleted"]) == (0, 0)


async def test_the_old_holds_lapse_when_their_time_runs_out(upgraded: Upgraded) -> None:
    holds = [
        (who, r)
        for who in ("grace", "alan", "katherine")
        for r in (await upgraded.get(who, "/reservations"))["reservations"]
        if r["status"] == "RESERVED"
    ]
    assert len(holds) == 2
    latest = max(parse_time(r["expiresAt"]) for _, r in holds)
    upgraded.clock.set(latest + 1)
    for who, hold in holds:
        left = (await upgraded.get(who, "/reservations"))["reservations"]
        assert hold["timeSlotId"] not in [r["timeSlotId"] for r in left]
        slot = await upgraded.get(
            "admin",
            f"/providers/{hold['providerId']}/slots",
            startTime=hold["timestamp"],
            endTime=format_time(parse_time(hold["timestamp"]) + 900),
        )
        assert [s["status"] for s in slot["timeSlots"]] == ["AVAILABLE"]
