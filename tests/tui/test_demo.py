"""The demo data, seeded over HTTP into the real app on a real SQLite file, with a fake clock."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.gate.tokens import issue
from backend.runtime.clock import ManualClock
from shared.timefmt import format_time, parse_time
from shared.wire import TimeSlot
from tests.helpers import T0
from tui.client import SlotbookClient
from tui.demo import DEMO_DAYS, DEMO_PROVIDERS, availability, seed_demo
from tui.identities import IdentityStore

BERLIN = ZoneInfo("Europe/Berlin")
FORTNIGHT = (DEMO_DAYS + 1) * 86_400


@pytest.fixture
async def admin(secure_server: TestServer) -> AsyncIterator[SlotbookClient]:
    """The API as an admin of the test server (tokens required, no rate limit)."""
    services = secure_server.app[CONTEXT]
    new, record = issue("admin", None, "Root", services.now())
    await services.store.create_token(record, new.secret_hash)
    client = SlotbookClient(str(secure_server.make_url("")), new.token)
    yield client
    await client.aclose()


@pytest.fixture
def identities(tmp_path: Path) -> IdentityStore:
    return IdentityStore(tmp_path / "identities")


async def every_slot(admin: SlotbookClient, start: float) -> dict[str, list[TimeSlot]]:
    """Each demo provider's slots of the fortnight, whatever their status, by provider name."""
    found: dict[str, list[TimeSlot]] = {}
    for provider in await admin.providers():
        assert provider.name is not None
        found[provider.name] = await admin.provider_slots(
            provider.provider_id, start, start + FORTNIGHT
        )
    return found


def local(slot: TimeSlot, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(parse_time(slot.timestamp), zone)


async def test_seeding_fills_an_empty_server_once(
    admin: SlotbookClient, identities: IdentityStore
) -> None:
    assert await seed_demo(admin, BERLIN, T0, identities=identities) is True
    names = [p.name for p in await admin.providers()]
    assert sorted(n for n in names if n) == sorted(p.name for p in DEMO_PROVIDERS)
    before = await every_slot(admin, T0)
    assert await seed_demo(admin, BERLIN, T0, identities=identities) is False
    assert await every_slot(admin, T0) == before
    assert len(identities.all()) == 4


async def test_sample_providers_offer_their_types_and_one_offers_none(
    admin: SlotbookClient,
) -> None:
    await seed_demo(admin, BERLIN, T0)
    offered = {
        p.name: [s.name for s in await admin.services(p.provider_id)]
        for p in await admin.providers()
    }
    assert offered == {
        "Dr Ada Lovelace": ["Consultation", "Long consultation"],
        "Dr Alan Turing": [],
        "Grace Hopper Physio": ["First assessment", "Follow-up"],
        "Katherine Johnson Dental": ["Check-up", "Cleaning"],
    }


async def test_a_server_with_any_provider_is_left_alone(admin: SlotbookClient) -> None:
    await admin.create_token("provider", "someone", "Someone Else")
    assert await seed_demo(admin, BERLIN, T0) is False
    assert [p.name for p in await admin.providers()] == ["Someone Else"]


async def test_availability_is_open_on_weekdays_and_never_in_the_past(
    admin: SlotbookClient,
) -> None:
    await seed_demo(admin, BERLIN, T0)
    open_slots = await admin.open_slots(T0 - 86_400, T0 + FORTNIGHT)
    starts = [parse_time(s.timestamp) for s in open_slots]
    assert starts
    assert min(starts) > T0
    weekdays = Counter(local(s, BERLIN).weekday() for s in open_slots)
    assert all(weekdays[day] > 0 for day in range(5))
    assert weekdays[6] == 0  # nobody works on Sundays
    assert max(starts) < T0 + DEMO_DAYS * 86_400


async def test_each_provider_keeps_its_own_hours(admin: SlotbookClient) -> None:
    await seed_demo(admin, BERLIN, T0)
    slots = await every_slot(admin, T0)
    for provider in DEMO_PROVIDERS:
        assert slots[provider.name], provider.name
        for slot in slots[provider.name]:
            start = local(slot, BERLIN)
            windows = provider.windows_on(start.date())
            assert any(opens <= start.time() < closes for opens, closes in windows), (
                provider.name,
                start,
            )
    saturdays = {
        name for name, found in slots.items() if any(local(s, BERLIN).weekday() == 5 for s in found)
    }
    assert saturdays == {"Dr Alan Turing"}
    first_ada = min(local(s, BERLIN).time() for s in slots["Dr Ada Lovelace"])
    first_grace = min(local(s, BERLIN).time() for s in slots["Grace Hopper Physio"])
    assert (first_ada, first_grace) == (time(9), time(11))


async def test_demo_clients_hold_and_book_slots_beyond_the_notice_period(
    admin: SlotbookClient,
) -> None:
    await seed_demo(admin, BERLIN, T0)
    slots = await every_slot(admin, T0)
    for provider in DEMO_PROVIDERS:
        statuses = Counter(s.status for s in slots[provider.name])
        assert statuses["RESERVED"] >= 1, provider.name
        assert statuses["CONFIRMED"] >= 1, provider.name
        noted = Counter(s.appointment_id for s in slots[provider.name] if s.note)
        assert list(noted.values()) == [3], f"{provider.name}: one 45-minute booking, with a note"
    taken = [s for found in slots.values() for s in found if s.status != "AVAILABLE"]
    assert all(parse_time(s.timestamp) > T0 + 24 * 3600 for s in taken)
    clients = {s.client_id for s in taken}
    assert len(clients) == 3


async def test_the_providers_become_identities_the_user_can_switch_to(
    admin: SlotbookClient, identities: IdentityStore
) -> None:
    await seed_demo(admin, BERLIN, T0, identities=identities)
    saved = identities.all()
    assert [i.name for i in saved] == [p.name for p in DEMO_PROVIDERS]
    assert {i.role for i in saved} == {"provider"}
    assert identities.current() is None  # the user is not made a demo provider
    ada = identities.use("dr-ada-lovelace", "provider")
    as_ada = SlotbookClient(admin.base_url, ada.token)
    try:
        me = await as_ada.me()
        assert (me.role, me.subject, me.name) == ("provider", "dr-ada-lovelace", "Dr Ada Lovelace")
        week = await as_ada.provider_slots("dr-ada-lovelace", T0, T0 + 7 * 86_400)
        assert week
    finally:
        await as_ada.aclose()


async def test_windows_stay_at_nine_local_across_the_autumn_clock_change(
    admin: SlotbookClient, clock: ManualClock
) -> None:
    # Friday 25 October 2030, 07:00 in Berlin; clocks go back on Sunday the 27th.
    now = parse_time("2030-10-25 05:00:00")
    clock.set(now)
    assert await seed_demo(admin, BERLIN, now) is True
    slots = (await every_slot(admin, now))["Dr Ada Lovelace"]
    first_by_day: dict[str, str] = {}
    for slot in sorted(slots, key=lambda s: s.timestamp):
        first_by_day.setdefault(local(slot, BERLIN).date().isoformat(), slot.timestamp)
    assert first_by_day["2030-10-25"] == "2030-10-25 07:00:00"  # 09:00 CEST
    assert first_by_day["2030-10-28"] == "2030-10-28 08:00:00"  # 09:00 CET
    assert {local_time(t) for t in first_by_day.values()} == {"09:00"}


def local_time(timestamp: str) -> str:
    return datetime.fromtimestamp(parse_time(timestamp), BERLIN).strftime("%H:%M")


async def test_windows_stay_at_nine_local_across_the_spring_clock_change(
    admin: SlotbookClient, clock: ManualClock
) -> None:
    # New York springs forward on Sunday 10 March 2030.
    new_york = ZoneInfo("America/New_York")
    now = parse_time("2030-03-08 12:00:00")
    clock.set(now)
    await seed_demo(admin, new_york, now)
    slots = (await every_slot(admin, now))["Dr Ada Lovelace"]
    starts = {format_time(parse_time(s.timestamp)) for s in slots}
    assert "2030-03-08 14:00:00" in starts  # 09:00 EST
    assert "2030-03-11 13:00:00" in starts  # 09:00 EDT
    assert "2030-03-11 12:00:00" not in starts


# --- the windows, without a server ---------------------------------------------------------------


def test_a_window_that_has_begun_starts_at_the_next_slot() -> None:
    monday = datetime(2030, 3, 4, 10, 7, tzinfo=UTC).timestamp()
    ada = DEMO_PROVIDERS[0]
    windows = list(availability(ada, ZoneInfo("UTC"), monday, 900))
    first = windows[0]
    assert (format_time(first[0]), format_time(first[1])) == (
        "2030-03-04 10:15:00",
        "2030-03-04 12:00:00",
    )


def test_a_day_whose_windows_are_over_is_skipped() -> None:
    evening = datetime(2030, 3, 4, 17, 30, tzinfo=UTC).timestamp()
    windows = list(availability(DEMO_PROVIDERS[0], ZoneInfo("UTC"), evening, 900))
    assert format_time(windows[0][0]) == "2030-03-05 09:00:00"
    assert all(start % 900 == 0 and end % 900 == 0 for start, end in windows)
    assert len(windows) == 2 * 9  # two a weekday: Tuesday to Friday, then the next week's five
