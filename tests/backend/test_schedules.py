"""Weekly schedules over real HTTP, on SQLite and on PostgreSQL: wall-clock hours exact across
daylight-saving changes, only open slots touched, hand edits kept as exceptions, the daily roll,
bad input refused. The fake clock stands at Monday 4 March 2030, 09:00 UTC (10:00 in Berlin)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.runtime.clock import ManualClock
from shared.timefmt import format_time, parse_time
from tests.helpers import Api, People, assert_problem, dump_database

Json = dict[str, Any]
BERLIN_MONDAYS = {
    "timeZone": "Europe/Berlin",
    "weekly": [{"day": "mon", "start": "09:00", "end": "12:00"}],
}


def at(text: str) -> int:
    return int(parse_time(text))


async def put(http: httpx.AsyncClient, body: Json, provider: str = "p1") -> httpx.Response:
    return await http.put(f"/providers/{provider}/schedule", json=body)


async def calendar(api: Api, provider: str, start: str, end: str) -> list[Json]:
    response = await api.http.get(
        f"/providers/{provider}/slots", params={"startTime": start, "endTime": end}
    )
    assert response.status_code == 200, response.text
    slots: list[Json] = response.json()["timeSlots"]
    return slots


def times(slots: list[Json]) -> list[str]:
    return [s["timestamp"] for s in slots]


def quarter_hours(first: str, count: int) -> list[str]:
    return [format_time(at(first) + 900 * n) for n in range(count)]


# --- the contract -------------------------------------------------------------------------------


async def test_a_schedule_opens_its_hours_in_the_providers_zone_from_now_to_the_horizon(
    api: Api,
) -> None:
    answer = await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 14})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    # Today (Monday, 10:00 in Berlin): 10:15 to 11:45 is still to come; next Monday all of it.
    assert body["created"] == 7 + 12
    assert (body["deleted"], body["kept"]) == (0, [])
    assert body["schedule"] == {
        "providerId": "p1",
        "timeZone": "Europe/Berlin",
        "weekly": [{"day": "mon", "start": "09:00", "end": "12:00"}],
        "exceptions": [],
        "horizonDays": 14,
        "filledUntil": "2030-03-17",
    }
    slots = await calendar(api, "p1", "2030-03-04 00:00:00", "2030-04-01 00:00:00")
    assert times(slots) == quarter_hours("2030-03-04 09:15:00", 7) + quarter_hours(
        "2030-03-11 08:00:00", 12
    )  # 09:00 in Berlin is 08:00 UTC in winter
    assert (await api.http.get("/providers/p1/schedule")).json() == {"schedule": body["schedule"]}


async def test_the_same_schedule_again_changes_nothing(api: Api) -> None:
    first = await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 30})
    again = await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 30})
    assert first.json()["created"] == 7 + 4 * 12
    assert (again.json()["created"], again.json()["deleted"]) == (0, 0)


async def test_hours_follow_the_wall_clock_across_the_spring_change(api: Api) -> None:
    # Clocks in Berlin go forward on Sunday 31 March 2030, 02:00 -> 03:00.
    sundays = {
        "timeZone": "Europe/Berlin",
        "weekly": [
            {"day": "mon", "start": "09:00", "end": "10:00"},
            {"day": "sun", "start": "01:30", "end": "03:30"},
        ],
        "horizonDays": 29,
    }
    assert (await put(api.http, sundays)).status_code == 200
    slots = times(await calendar(api, "p1", "2030-03-24 00:00:00", "2030-04-02 00:00:00"))
    assert slots == [
        *quarter_hours("2030-03-24 00:30:00", 8),  # Sun 24 March, CET: 01:30-03:30 is 8 slots
        *quarter_hours("2030-03-25 08:00:00", 4),  # Mon 25 March, 09:00 CET
        # Sun 31 March: 02:00-03:00 does not exist; 01:30-02:00 CET and 03:00-03:30 CEST remain
        *quarter_hours("2030-03-31 00:30:00", 2),
        *quarter_hours("2030-03-31 01:00:00", 2),
        *quarter_hours("2030-04-01 07:00:00", 4),  # Mon 1 April, 09:00 CEST is 07:00 UTC
    ]


async def test_a_repeated_hour_in_autumn_makes_slots_for_both_passes(
    api: Api, clock: ManualClock
) -> None:
    clock.set(parse_time("2030-10-21 12:00:00"))  # Berlin falls back on Sunday 27 October
    body = {
        "timeZone": "Europe/Berlin",
        "weekly": [{"day": "sun", "start": "02:00", "end": "03:00"}],
        "horizonDays": 7,
    }
    assert (await put(api.http, body)).json()["created"] == 8
    slots = times(await calendar(api, "p1", "2030-10-26 00:00:00", "2030-10-28 00:00:00"))
    # 02:00-03:00 CEST (00:00 UTC) and 02:00-03:00 CET (01:00 UTC)
    assert slots == quarter_hours("2030-10-27 00:00:00", 8)


async def test_zones_with_quarter_hour_offsets_and_the_southern_summer_work(api: Api) -> None:
    kathmandu = {
        "timeZone": "Asia/Kathmandu",  # +05:45
        "weekly": [{"day": "tue", "start": "09:00", "end": "10:00"}],
        "horizonDays": 3,
    }
    sydney = {
        "timeZone": "Australia/Sydney",  # +11:00 in March (daylight saving until 7 April)
        "weekly": [{"day": "wed", "start": "08:00", "end": "08:30"}],
        "horizonDays": 3,
    }
    assert (await put(api.http, kathmandu, "nepal")).status_code == 200
    assert (await put(api.http, sydney, "sydney")).status_code == 200
    assert times(await calendar(api, "nepal", "2030-03-04 00:00:00", "2030-03-08 00:00:00")) == (
        quarter_hours("2030-03-05 03:15:00", 4)
    )
    assert times(await calendar(api, "sydney", "2030-03-04 00:00:00", "2030-03-08 00:00:00")) == (
        quarter_hours("2030-03-05 21:00:00", 2)
    )


async def test_a_change_of_hours_removes_open_slots_and_keeps_a_clients(api: Api) -> None:
    await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 14})
    monday = await calendar(api, "p1", "2030-03-11 00:00:00", "2030-03-12 00:00:00")
    held = await api.reserve("c1", monday[1])  # 09:15 Berlin
    assert held.status_code == 201, held.text
    later = {
        "timeZone": "Europe/Berlin",
        "weekly": [{"day": "mon", "start": "11:00", "end": "12:00"}],
        "horizonDays": 14,
    }

    answer = (await put(api.http, later)).json()

    assert answer["created"] == 0
    assert answer["deleted"] == 3 + 7  # today 10:15-10:45, next Monday 09:00-10:45 but 09:15
    assert [(s["timestamp"], s["status"], s["clientId"]) for s in answer["kept"]] == [
        ("2030-03-11 08:15:00", "RESERVED", "c1")
    ]
    still = await calendar(api, "p1", "2030-03-11 00:00:00", "2030-03-12 00:00:00")
    assert times(still) == ["2030-03-11 08:15:00", *quarter_hours("2030-03-11 10:00:00", 4)]
    assert still[0]["status"] == "RESERVED"


async def test_every_slot_made_or_removed_is_on_the_change_feed(api: Api) -> None:
    await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 7})
    closed = {"timeZone": "Europe/Berlin", "weekly": [], "horizonDays": 7}
    await put(api.http, closed)
    changes = (await api.http.get("/changes", params={"since": 0})).json()["changes"]
    assert [c["kind"] for c in changes] == ["created"] * 7 + ["deleted"] * 7
    assert len({c["timeSlotId"] for c in changes}) == 7


async def test_painting_or_erasing_by_hand_becomes_that_dates_exception(api: Api) -> None:
    await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 14})
    # Tuesday 12 March 14:00-15:00 Berlin painted by hand; Monday 11 March 09:00-10:00 erased.
    painted = await api.submit("p1", "2030-03-12 13:00:00", "2030-03-12 14:00:00")
    assert painted.status_code == 201, painted.text
    erased = await api.remove("p1", "2030-03-11 08:00:00", "2030-03-11 09:00:00")
    assert erased.json()["deleted"] == 4

    shown = (await api.http.get("/providers/p1/schedule")).json()["schedule"]
    assert shown["exceptions"] == [
        {"date": "2030-03-11", "hours": [{"start": "10:00", "end": "12:00"}]},
        {"date": "2030-03-12", "hours": [{"start": "14:00", "end": "15:00"}]},
    ]
    # Setting the weekly hours again undoes neither.
    again = (await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 14})).json()
    assert (again["created"], again["deleted"]) == (0, 0)
    assert again["schedule"]["exceptions"] == shown["exceptions"]
    # Naming the exceptions replaces them: Monday whole again, Tuesday closed.
    reset = await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 14, "exceptions": []})
    assert (reset.json()["created"], reset.json()["deleted"]) == (4, 4)


async def test_a_day_closed_by_an_exception_and_one_with_other_hours(api: Api) -> None:
    body = {
        **BERLIN_MONDAYS,
        "horizonDays": 14,
        "exceptions": [
            {"date": "2030-03-11", "hours": []},
            {"date": "2030-03-13", "hours": [{"start": "16:00", "end": "16:30"}]},
        ],
    }
    answer = (await put(api.http, body)).json()
    assert answer["created"] == 7 + 2
    slots = times(await calendar(api, "p1", "2030-03-05 00:00:00", "2030-03-18 00:00:00"))
    assert slots == quarter_hours("2030-03-13 15:00:00", 2)


async def test_new_dates_open_within_a_sweep_of_midnight_in_the_schedules_zone(
    api: Api, server: TestServer, clock: ManualClock
) -> None:
    await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 8})  # today and next Monday
    sweeper = server.app[CONTEXT].sweeper
    before = len(await calendar(api, "p1", "2030-03-04 00:00:00", "2030-04-01 00:00:00"))
    # Sunday 17 March 23:59:58 in Berlin: Monday 18 March is not in the horizon yet.
    clock.set(parse_time("2030-03-10 22:59:58"))
    await sweeper.sweep_once()
    assert len(await calendar(api, "p1", "2030-03-18 00:00:00", "2030-03-19 00:00:00")) == 0
    clock.set(parse_time("2030-03-10 23:00:01"))  # just after midnight: Monday 18 March enters
    await sweeper.sweep_once()
    assert times(await calendar(api, "p1", "2030-03-18 00:00:00", "2030-03-19 00:00:00")) == (
        quarter_hours("2030-03-18 08:00:00", 12)
    )
    await sweeper.sweep_once()  # and only once
    after = await calendar(api, "p1", "2030-03-04 00:00:00", "2030-04-01 00:00:00")
    assert len(after) == before + 12
    shown = (await api.http.get("/providers/p1/schedule")).json()["schedule"]
    assert shown["filledUntil"] == "2030-03-18"


async def test_deleting_the_schedule_removes_its_open_slots_and_keeps_the_taken_ones(
    api: Api,
) -> None:
    await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 14})
    by_hand = await api.submit("p1", "2030-03-12 13:00:00", "2030-03-12 13:30:00")
    assert by_hand.status_code == 201
    monday = await calendar(api, "p1", "2030-03-11 00:00:00", "2030-03-12 00:00:00")
    await api.reserve("c1", monday[0])

    gone = await api.http.delete("/providers/p1/schedule")

    assert gone.status_code == 200, gone.text
    assert gone.json()["deleted"] == 7 + 11
    assert [s["timestamp"] for s in gone.json()["kept"]] == ["2030-03-11 08:00:00"]
    left = await calendar(api, "p1", "2030-03-04 00:00:00", "2030-04-01 00:00:00")
    assert times(left) == ["2030-03-11 08:00:00", "2030-03-12 13:00:00", "2030-03-12 13:15:00"]
    assert_problem(await api.http.get("/providers/p1/schedule"), 404, "schedule-not-found")
    assert_problem(await api.http.delete("/providers/p1/schedule"), 404, "schedule-not-found")


# --- who may, and what is refused -----------------------------------------------------------------


async def test_only_the_provider_itself_or_an_admin_manages_its_schedule(people: People) -> None:
    body = {**BERLIN_MONDAYS, "horizonDays": 7}
    for who in ("c1", "p2"):
        assert_problem(await put(people[who], body), 403, "forbidden")
        assert_problem(await people[who].get("/providers/p1/schedule"), 403, "forbidden")
        assert_problem(await people[who].delete("/providers/p1/schedule"), 403, "forbidden")
    assert (await put(people["p1"], body)).status_code == 200
    assert (await put(people["admin"], body, "p2")).status_code == 200
    assert (await people["p1"].get("/providers/p1/schedule")).status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [
        ({"timeZone": "Mars/Olympus"}, 422, "timeZone", "not the IANA time zone of a place"),
        (
            {"weekly": [{"day": "mo", "start": "09:00", "end": "10:00"}]},
            400,
            "weekly[0].day",
            "'mon'",
        ),
        (
            {"weekly": [{"day": "mon", "start": "9:00", "end": "10:00"}]},
            400,
            "weekly[0].start",
            "HH:MM",
        ),
        (
            {"weekly": [{"day": "mon", "start": "24:00", "end": "24:00"}]},
            422,
            "weekly[0].start",
            "24:00",
        ),
        (
            {"weekly": [{"day": "mon", "start": "09:10", "end": "10:00"}]},
            422,
            "weekly[0].start",
            "grid",
        ),
        (
            {"weekly": [{"day": "mon", "start": "10:00", "end": "10:00"}]},
            422,
            "weekly[0].end",
            "after start",
        ),
        (
            {
                "weekly": [
                    {"day": "mon", "start": "09:00", "end": "11:00"},
                    {"day": "mon", "start": "10:30", "end": "12:00"},
                ]
            },
            422,
            "weekly[1]",
            "overlaps",
        ),
        (
            {"exceptions": [{"date": "2030-02-30", "hours": []}]},
            400,
            "exceptions[0].date",
            "real date",
        ),
        (
            {"exceptions": [{"date": "tomorrow", "hours": []}]},
            400,
            "exceptions[0].date",
            "YYYY-MM-DD",
        ),
        (
            {
                "exceptions": [
                    {"date": "2030-03-05", "hours": []},
                    {"date": "2030-03-05", "hours": []},
                ]
            },
            422,
            "exceptions[1].date",
            "repeats",
        ),
        ({"horizonDays": 0}, 400, "horizonDays", "from 1 to 366"),
        ({"horizonDays": 367}, 400, "horizonDays", "from 1 to 366"),
        (
            {"weekly": [{"day": "mon", "start": "09:00", "end": "10:00", "x": 1}]},
            400,
            "weekly[0].x",
            "not a field",
        ),
    ],
)
async def test_a_bad_schedule_is_refused_naming_the_field_and_changes_nothing(
    api: Api, db: str, change: Json, status: int, field: str, words: str
) -> None:
    await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 7})
    before = dump_database(db)
    answer = await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 7, **change})
    problem = assert_problem(answer, status)
    assert [e["field"] for e in problem["errors"]] == [field], problem
    assert words in problem["errors"][0]["message"], problem
    assert dump_database(db) == before


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("localtime", "'localtime' is not the IANA time zone of a place; e.g. 'Europe/Berlin'"),
        ("Factory", "'Factory' is not the IANA time zone of a place; e.g. 'Europe/Berlin'"),
        ("posixrules", "'posixrules' is not the IANA time zone of a place; e.g. 'Europe/Berlin'"),
        ("right/UTC", "'right/UTC' is not the IANA time zone of a place; did you mean 'UTC'?"),
        (
            "posix/Europe/Berlin",
            "'posix/Europe/Berlin' is not the IANA time zone of a place;"
            " did you mean 'Europe/Berlin'?",
        ),
        (
            "europe/berlin",
            "'europe/berlin' is not the IANA time zone of a place; did you mean 'Europe/Berlin'?",
        ),
        (
            "Europe/Berln",
            "'Europe/Berln' is not the IANA time zone of a place; did you mean 'Europe/Berlin'?",
        ),
        ("Tokio", "'Tokio' is not the IANA time zone of a place; did you mean 'Asia/Tokyo'?"),
    ],
)
async def test_a_zone_that_is_no_places_is_refused_suggesting_the_nearest_real_one(
    api: Api, db: str, zone: str, message: str
) -> None:
    await put(api.http, {**BERLIN_MONDAYS, "horizonDays": 7})
    before = dump_database(db)
    answer = await put(api.http, {**BERLIN_MONDAYS, "timeZone": zone, "horizonDays": 7})
    problem = assert_problem(answer, 422, "rule-violation")
    assert problem["errors"] == [{"field": "timeZone", "message": message}]
    assert dump_database(db) == before


@pytest.mark.parametrize(
    "zone", ["EST5EDT", "US/Eastern", "Asia/Calcutta", "Europe/Kiev", "UTC", "Etc/GMT-14"]
)
async def test_zones_of_the_zone_tables_and_their_old_names_are_taken(api: Api, zone: str) -> None:
    answer = await put(api.http, {**BERLIN_MONDAYS, "timeZone": zone, "horizonDays": 7})
    assert answer.status_code == 200, answer.text
    assert answer.json()["schedule"]["timeZone"] == zone
