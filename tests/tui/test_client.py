"""SlotbookClient against the real server: answers decoded into Structs, problems into typed errors,
and the change feed followed across a server restart."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from msgspec import UNSET

from backend.runtime.clock import ManualClock
from shared.schedule_wire import ExceptionIn, ScheduleRequest, WeeklyHoursIn
from shared.timefmt import format_time, parse_time
from shared.wire import Change, Problem, Resync, TimeSlot
from tests.tui.harness import BackendThread
from tui.client import Connected, Disconnected, FeedEvent, SlotbookClient
from tui.errors import (
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    RateLimited,
    ServerFailed,
    Unauthorized,
    Unreachable,
    error_for,
)

TUESDAY_10 = parse_time("2030-03-05 10:00:00")
"""Bookable: more than 24 hours after the frozen now (Monday 09:00)."""


@dataclasses.dataclass
class Parties:
    provider: SlotbookClient
    client: SlotbookClient
    other: SlotbookClient
    admin: SlotbookClient


@pytest.fixture
async def parties(backend: BackendThread) -> AsyncIterator[Parties]:
    made = Parties(
        provider=SlotbookClient(backend.url, backend.issue("provider", "ada", "Dr Ada")),
        client=SlotbookClient(backend.url, backend.issue("client", "sam", "Sam")),
        other=SlotbookClient(backend.url, backend.issue("client", "kim", "Kim")),
        admin=SlotbookClient(backend.url, backend.issue("admin", None, "Admin")),
    )
    yield made
    for client in (made.provider, made.client, made.other, made.admin):
        await client.aclose()


async def open_hour(parties: Parties, start: float = TUESDAY_10) -> list[TimeSlot]:
    submitted = await parties.provider.submit(start, start + 3600)
    return submitted.time_slots


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- answers -------------------------------------------------------------------------------------


async def test_reads_come_back_as_the_shared_structs(parties: Parties) -> None:
    me = await parties.client.me()
    assert (me.role, me.subject, me.name) == ("client", "sam", "Sam")
    rules = await parties.client.rules()
    assert (rules.slot_minutes, rules.hold_minutes, rules.notice_hours) == (15, 30, 24)
    providers = await parties.client.providers()
    assert [(p.provider_id, p.name, p.next_available) for p in providers] == [
        ("ada", "Dr Ada", None)
    ]


async def test_a_provider_submits_and_removes_availability(parties: Parties) -> None:
    submitted = await parties.provider.submit(TUESDAY_10, TUESDAY_10 + 3600)
    assert submitted.created == 4
    assert [s.timestamp for s in submitted.time_slots] == [
        f"2030-03-05 10:{m}:00" for m in ("00", "15", "30", "45")
    ]
    again = await parties.provider.submit(TUESDAY_10, TUESDAY_10 + 3600)
    assert again.created == 0, "submitting the same window twice creates nothing new"
    mine = await parties.provider.provider_slots("ada", TUESDAY_10, TUESDAY_10 + 86_400)
    assert len(mine) == 4
    removed = await parties.provider.remove(TUESDAY_10, TUESDAY_10 + 1800)
    assert (removed.deleted, removed.kept) == (2, [])
    left = await parties.provider.provider_slots("ada", TUESDAY_10, TUESDAY_10 + 86_400)
    assert [s.timestamp for s in left] == ["2030-03-05 10:30:00", "2030-03-05 10:45:00"]


async def test_an_admin_names_the_provider_it_acts_for(parties: Parties) -> None:
    submitted = await parties.admin.submit(TUESDAY_10, TUESDAY_10 + 900, "ada")
    assert [s.provider_id for s in submitted.time_slots] == ["ada"]
    removed = await parties.admin.remove(TUESDAY_10, TUESDAY_10 + 900, "ada")
    assert removed.deleted == 1


async def test_a_client_lists_reserves_confirms_and_cancels(parties: Parties) -> None:
    slots = await open_hour(parties)
    listed = await parties.client.open_slots(TUESDAY_10, TUESDAY_10 + 86_400, "ada")
    assert [s.time_slot_id for s in listed] == [s.time_slot_id for s in slots]
    assert len(await parties.client.open_slots(TUESDAY_10, TUESDAY_10 + 86_400)) == 4
    held = await parties.client.reserve(slots[0])
    assert held.reservation.status == "RESERVED"
    assert held.reservation.client_id == "sam"
    assert isinstance(held.reservation.expires_at, str)
    booked = await parties.client.confirm(slots[0])
    assert booked.reservation.status == "CONFIRMED"
    mine = await parties.client.reservations()
    assert [(s.time_slot_id, s.status) for s in mine] == [(slots[0].time_slot_id, "CONFIRMED")]
    cancelled = await parties.client.cancel(slots[0].time_slot_id)
    assert cancelled.time_slot.status == "AVAILABLE"
    assert await parties.client.reservations() == []


async def test_a_client_holds_a_longer_appointment_with_a_note_moves_it_and_changes_the_note(
    parties: Parties,
) -> None:
    slots = await open_hour(parties)
    assert [
        s.timestamp
        for s in await parties.client.open_slots(TUESDAY_10, TUESDAY_10 + 3600, "ada", minutes=45)
    ] == ["2030-03-05 10:00:00", "2030-03-05 10:15:00"], "45 minutes fit from two starts"
    held = (await parties.client.reserve(slots[0], minutes=30, note="First visit")).reservation
    assert (held.minutes, held.note, held.status) == (30, "First visit", "RESERVED")
    assert held.time_slot_ids == [s.time_slot_id for s in slots[:2]]
    (listed,) = await parties.client.reservations()
    assert (listed.time_slot_id, listed.minutes, listed.note) == (
        slots[0].time_slot_id,
        30,
        "First visit",
    )
    moved = (await parties.client.move(slots[0].time_slot_id, slots[1])).reservation
    assert moved.time_slot_ids == [s.time_slot_id for s in slots[1:3]], "overlapping its old place"
    assert (moved.minutes, moved.note, moved.status) == (30, "First visit", "RESERVED")
    noted = (await parties.client.set_note(slots[2].time_slot_id, "Knee")).reservation
    assert (noted.time_slot_id, noted.note) == (slots[1].time_slot_id, "Knee"), "any slot of it"
    booked = (await parties.client.confirm(moved)).reservation
    assert (booked.status, booked.minutes) == ("CONFIRMED", 30)
    cancelled = await parties.client.cancel(slots[1].time_slot_id)
    assert cancelled.time_slot_ids == [s.time_slot_id for s in slots[1:3]]
    assert await parties.client.reservations() == []


async def test_moving_onto_a_taken_slot_is_a_conflict_and_changes_nothing(parties: Parties) -> None:
    slots = await open_hour(parties)
    await parties.other.reserve(slots[3])
    await parties.client.reserve(slots[0], minutes=30)
    with pytest.raises(Conflict):
        await parties.client.move(slots[0].time_slot_id, slots[2])
    (still,) = await parties.client.reservations()
    assert still.time_slot_ids == [s.time_slot_id for s in slots[:2]]


async def test_a_provider_s_calendar_names_each_slot_s_appointment_and_note(
    parties: Parties,
) -> None:
    slots = await open_hour(parties)
    await parties.client.reserve(slots[1], minutes=45, note="Knee")
    calendar = await parties.provider.provider_slots("ada", TUESDAY_10, TUESDAY_10 + 3600)
    assert [(s.status, s.appointment_id, s.note) for s in calendar] == [
        ("AVAILABLE", UNSET, UNSET),
        *[("RESERVED", slots[1].time_slot_id, "Knee")] * 3,
    ]


async def test_a_provider_sets_reads_and_removes_its_schedule(parties: Parties) -> None:
    assert await parties.provider.schedule("ada") is None, "no schedule yet: None, not an error"
    request = ScheduleRequest(
        time_zone="UTC",
        weekly=[WeeklyHoursIn(day="tue", start="10:00", end="11:00")],
        exceptions=[ExceptionIn(date="2030-03-12", hours=[])],
        horizon_days=14,
    )
    answer = await parties.provider.set_schedule("ada", request)
    assert (answer.created, answer.deleted, answer.kept) == (4, 0, [])  # the 12th is closed
    shown = await parties.provider.schedule("ada")
    assert shown == answer.schedule
    assert [(w.day, w.start, w.end) for w in shown.weekly] == [("tue", "10:00", "11:00")]
    assert [(e.date, e.hours) for e in shown.exceptions] == [("2030-03-12", [])]
    assert (shown.time_zone, shown.horizon_days) == ("UTC", 14)
    removed = await parties.provider.remove_schedule("ada")
    assert (removed.deleted, removed.kept) == (4, [])
    assert await parties.provider.schedule("ada") is None
    with pytest.raises(NotFound) as gone:
        await parties.provider.remove_schedule("ada")
    assert gone.value.slug == "schedule-not-found"


async def test_a_zone_the_server_does_not_know_is_invalid_naming_the_field(
    parties: Parties,
) -> None:
    with pytest.raises(Invalid) as refused:
        await parties.provider.set_schedule(
            "ada", ScheduleRequest(time_zone="Mars/Olympus", weekly=[])
        )
    assert [e.field for e in refused.value.errors] == ["timeZone"]
    assert "not the IANA time zone of a place" in refused.value.errors[0].message
    with pytest.raises(Forbidden):
        await parties.client.schedule("ada")


async def test_an_admin_makes_a_token_that_works(parties: Parties, backend: BackendThread) -> None:
    made = await parties.admin.create_token("client", "lee", "Lee")
    assert (made.role, made.subject, made.name) == ("client", "lee", "Lee")
    assert made.token is not None
    lee = SlotbookClient(backend.url, made.token)
    try:
        assert (await lee.me()).subject == "lee"
    finally:
        await lee.aclose()


async def test_head_and_changes_page_through_the_log(parties: Parties) -> None:
    assert await parties.client.head() == 0
    slots = await open_hour(parties)
    assert await parties.client.head() == 4
    page = await parties.client.changes(1, limit=2)
    assert [c.seq for c in page.changes] == [2, 3]
    assert page.last_seq == 3
    assert [c.kind for c in page.changes] == ["created", "created"]
    assert {c.time_slot_id for c in page.changes} <= {s.time_slot_id for s in slots}
    nothing = await parties.client.changes(4, wait=0.05)
    assert (nothing.changes, nothing.last_seq) == ([], 4)


# --- typed errors ------------------------------------------------------------------------------


async def test_an_unknown_token_is_unauthorized(backend: BackendThread) -> None:
    for token in ("not-a-token", None):
        stranger = SlotbookClient(backend.url, token)
        try:
            with pytest.raises(Unauthorized) as raised:
                await stranger.me()
        finally:
            await stranger.aclose()
        assert raised.value.status == 401
        assert raised.value.slug == "unauthorized"
        assert "token" in raised.value.advice


async def test_a_client_submitting_availability_is_forbidden(parties: Parties) -> None:
    with pytest.raises(Forbidden) as raised:
        await parties.client.submit(TUESDAY_10, TUESDAY_10 + 900)
    assert raised.value.status == 403
    assert "Only a provider manages availability" in raised.value.detail


async def test_confirming_an_unknown_slot_is_not_found(parties: Parties) -> None:
    ghost = TimeSlot(
        time_slot_id="0" * 32,
        provider_id="ada",
        timestamp=format_time(TUESDAY_10),
        duration=15,
        status="AVAILABLE",
    )
    with pytest.raises(NotFound) as raised:
        await parties.client.confirm(ghost)
    assert (raised.value.status, raised.value.slug) == (404, "slot-not-found")


async def test_reserving_a_slot_someone_holds_is_a_conflict_with_its_slug(
    parties: Parties,
) -> None:
    slots = await open_hour(parties)
    await parties.other.reserve(slots[0])
    with pytest.raises(Conflict) as raised:
        await parties.client.reserve(slots[0])
    assert (raised.value.status, raised.value.slug) == (409, "slot-taken")
    assert str(raised.value) == raised.value.detail


async def test_confirming_a_lapsed_hold_is_gone(parties: Parties, frozen: ManualClock) -> None:
    slots = await open_hour(parties)
    await parties.client.reserve(slots[1])
    frozen.advance(31 * 60)
    with pytest.raises(Gone) as raised:
        await parties.client.confirm(slots[1])
    assert (raised.value.status, raised.value.slug) == (410, "hold-lapsed")


async def test_a_broken_rule_is_invalid_and_names_the_field(parties: Parties) -> None:
    with pytest.raises(Invalid) as raised:
        await parties.provider.submit(TUESDAY_10 + 7 * 60, TUESDAY_10 + 3600)
    error = raised.value
    assert (error.status, error.slug) == (422, "rule-violation")
    assert [e.field for e in error.errors] == ["startTime"]
    assert "15-minute grid" in error.errors[0].message


async def test_too_soon_to_book_is_invalid(parties: Parties) -> None:
    slots = await open_hour(parties, parse_time("2030-03-04 12:00:00"))
    with pytest.raises(Invalid) as raised:
        await parties.client.reserve(slots[0])
    assert raised.value.slug == "notice-too-short"


async def test_too_many_requests_are_rate_limited_with_a_retry_after(
    tmp_path: Path, frozen: ManualClock
) -> None:
    server = BackendThread(tmp_path / "limited.db", frozen)
    # BackendThread(..., rate=1) collides with the harness's own rate=0, so set it afterwards.
    server.settings = dataclasses.replace(server.settings, rate=1, burst=1)
    server.start()
    client = SlotbookClient(server.url, server.issue("client", "sam", "Sam"))
    try:
        await client.me()
        with pytest.raises(RateLimited) as raised:
            await client.me()
        assert raised.value.status == 429
        assert raised.value.retry_after >= 1
        frozen.advance(raised.value.retry_after)
        assert (await client.me()).subject == "sam", "after waiting, calls go through again"
    finally:
        await client.aclose()
        server.close()


async def test_a_server_that_is_not_there_is_unreachable() -> None:
    nowhere = SlotbookClient(f"http://127.0.0.1:{free_port()}", "token")
    try:
        with pytest.raises(Unreachable) as raised:
            await nowhere.me()
        assert "connection refused" in str(raised.value)
        with pytest.raises(Unreachable):
            await nowhere.cancel("0" * 32)
    finally:
        await nowhere.aclose()


def test_other_statuses_become_server_failures_or_plain_api_errors() -> None:
    problem = Problem(
        type="/problems/internal-error", title="t", status=500, detail="d", message="d"
    )
    failed = error_for(500, problem, 1, "")
    assert isinstance(failed, ServerFailed)
    assert (failed.slug, failed.detail, failed.errors) == ("internal-error", "d", [])
    teapot = error_for(418, None, 1, "short and stout")
    assert type(teapot) is ApiError
    assert (teapot.slug, teapot.detail, teapot.errors) == ("", "short and stout", [])
    assert error_for(502, None, 1, "").detail == "HTTP 502"
    limited = error_for(429, None, 7, "")
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 7


# --- the change feed ---------------------------------------------------------------------------


async def close(feed: AsyncIterator[FeedEvent]) -> None:
    """Stop following (follow is an async generator; its declared type says only iterator)."""
    await cast(AsyncGenerator[FeedEvent, None], feed).aclose()


async def test_follow_says_connected_then_yields_each_change(parties: Parties) -> None:
    feed = parties.client.follow(0)
    try:
        assert await anext(feed) == Connected(0)
        slots = await open_hour(parties)
        seen = [await anext(feed) for _ in slots]
    finally:
        await close(feed)
    assert all(isinstance(event, Change) for event in seen)
    changes = [e for e in seen if isinstance(e, Change)]
    assert [c.seq for c in changes] == [1, 2, 3, 4]
    assert [c.time_slot_id for c in changes] == [s.time_slot_id for s in slots]
    assert {c.kind for c in changes} == {"created"}


async def test_follow_resumes_after_a_server_restart_without_repeats(
    parties: Parties, backend: BackendThread
) -> None:
    feed = parties.client.follow(0, max_backoff=0.5)
    try:
        assert await anext(feed) == Connected(0)
        await parties.provider.submit(TUESDAY_10, TUESDAY_10 + 1800)
        before = [await anext(feed) for _ in range(2)]
        backend.stop()
        dropped = await anext(feed)
        assert isinstance(dropped, Disconnected)
        assert dropped.retry_in == 0.5
        backend.start()
        await parties.provider.submit(TUESDAY_10 + 1800, TUESDAY_10 + 2700)
        after: list[FeedEvent] = []
        while not any(isinstance(e, Change) for e in after):
            after.append(await anext(feed))
    finally:
        await close(feed)
    assert [e.seq for e in before if isinstance(e, Change)] == [1, 2]
    assert Connected(2) in after, "it resumed after the last change it had seen"
    assert [e.seq for e in after if isinstance(e, Change)] == [3]
    assert all(isinstance(e, Connected | Disconnected) for e in after[:-1])


async def test_follow_from_a_place_the_log_does_not_hold_yields_a_resync(
    parties: Parties,
) -> None:
    await open_hour(parties)
    feed = parties.client.follow(1000)
    try:
        event = await anext(feed)
        assert isinstance(event, Resync)
        assert event.last_seq == 4
        assert "no longer holds our place" in event.reason
        assert await anext(feed) == Connected(4), "then it carries on from the head"
    finally:
        await close(feed)


async def test_follow_with_a_refused_token_keeps_reporting_the_drop(
    backend: BackendThread,
) -> None:
    stranger = SlotbookClient(backend.url, "not-a-token")
    feed = stranger.follow(0, max_backoff=0.01)
    try:
        first = await anext(feed)
        assert isinstance(first, Disconnected)
        assert "Unauthorized" in first.reason or "token" in first.reason.lower()
    finally:
        await close(feed)
        await stranger.aclose()


async def test_a_feed_that_goes_quiet_past_the_read_timeout_reconnects(parties: Parties) -> None:
    feed = parties.client.follow(0, read_timeout=0.2, max_backoff=0.1)
    try:
        assert await anext(feed) == Connected(0)
        quiet = await anext(feed)
        assert quiet == Disconnected("timed out", 0.5)
        assert await anext(feed) == Connected(0), "it picks up where it was"
    finally:
        await close(feed)


async def test_against_a_no_auth_server_callers_name_themselves(
    tmp_path: Path, frozen: ManualClock
) -> None:
    server = BackendThread(tmp_path / "open.db", frozen, no_auth=True)
    server.start()
    anyone = SlotbookClient(server.url, None)
    try:
        assert (await anyone.me()).auth == "none"
        slots = (await anyone.submit(TUESDAY_10, TUESDAY_10 + 900, "ada")).time_slots
        held = await anyone.reserve(slots[0], client_id="sam")
        assert held.reservation.client_id == "sam"
        booked = await anyone.confirm(slots[0], client_id="sam")
        assert booked.reservation.status == "CONFIRMED"
        assert [s.time_slot_id for s in await anyone.reservations("sam")] == [slots[0].time_slot_id]
        with pytest.raises(Invalid) as raised:
            await anyone.reservations()
        assert [e.field for e in raised.value.errors] == ["clientId"]
    finally:
        await anyone.aclose()
        server.close()
