"""The webhook events of a provider's own calendars, over real HTTP on both stores: a refresh that
makes a booking conflict sends one `conflict` event, the conflict as GET .../conflicts lists it,
and a refresh with the same busy times sends nothing more; a calendar failing for three refresh
periods sends one `busy-source-failing` event, none more while it stays failing, and another
only after a success and three more periods of failures. Each event goes alone (a batch of
changes ends before it), to batch and single endpoints, signed as changes are (checked with the
`standardwebhooks` library by receivers on local ports), only to the endpoints that take it (its
provider's and the admins', unless their `events` leave it out), and never to the change feed.
The calendar is an iCalendar URL served by an aiohttp server in the test, read by the server's
own refresher."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, get_args

import msgspec
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT, AppContext
from shared.webhook_wire import BusySourceFailingEvent, ChangeBatch, ConflictEvent, Envelope
from shared.wire import ChangeKind
from tests.backend.test_busy_refresh import (  # noqa: F401 - fixtures: a key, a calendar
    DENTIST,
    LUNCH_IDEA,
    IcsServer,
    ics,
    ics_server,
    refresh,
    secure_settings,
    source,
)
from tests.backend.test_calendar_feeds import confirm, hold, open_morning
from tests.backend.webhook_receivers import Receiver, listening, register
from tests.helpers import People
from tests.radicale_server import PASSWORD

SLOT_KINDS = set(get_args(ChangeKind))
SOURCE = "5b0e9d2c7a1f3e46"
"""The calendar's id (as the API makes them)."""


async def sent_out(ctx: AppContext) -> None:
    """Until the sender has delivered everything due now."""
    await ctx.webhooks.deliver_due()
    await ctx.webhooks.idle()


def envelopes(receiver: Receiver) -> list[Envelope]:
    """What the receiver got, decoded by the envelope union of the wire contract."""
    return [msgspec.json.decode(got.body, type=Envelope) for got in receiver.got]


def events_in(deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in deliveries if d["type"] != "changes"]


async def test_a_refresh_that_makes_a_booking_conflict_sends_one_conflict_event(
    people: People,
    secure_server: TestServer,
    ics_server: tuple[IcsServer, str],  # noqa: F811 - the fixture imported above
) -> None:
    ctx = secure_server.app[CONTEXT]
    served, url = ics_server
    async with (
        listening(Receiver()) as everything,
        listening(Receiver()) as conflicts_only,
        listening(Receiver()) as bookings_only,
        listening(Receiver()) as another_provider,
    ):
        mine = await register(people, "p1", everything.url)
        single = await register(
            people, "p1", conflicts_only.url, events=["conflict"], format="single"
        )
        admins = await register(
            people, "admin", bookings_only.url, events=["reserved", "confirmed"]
        )
        await register(people, "p2", another_provider.url)
        slots = await open_morning(people)
        for who, slot in (("c1", slots[1]), ("c2", slots[0])):  # 10:15, in the dentist's time
            await hold(people, who, slot)
            await confirm(people, who, slot)
        await ctx.store.create_busy_source(replace(source(ctx, "ics", url), source_id=SOURCE))
        served.body = ics(DENTIST)
        await refresh(ctx, SOURCE)
        await sent_out(ctx)
        served.body = ics(DENTIST, LUNCH_IDEA)  # read again, whole: the same busy times
        await refresh(ctx, SOURCE)
        await sent_out(ctx)
        assert served.answered == [200, 200]

        listed = (await people["p1"].get("/providers/p1/conflicts")).json()["conflicts"]
        assert [c["timeSlotId"] for c in listed] == [slots[1]["timeSlotId"]]
        conflict = {"type": "conflict", "data": {**listed[0], "providerId": "p1"}}
        assert events_in(everything.verified(mine["secret"])) == [conflict]
        assert conflicts_only.verified(single["secret"]) == [conflict]
        (event,) = [e for e in envelopes(everything) if not isinstance(e, ChangeBatch)]
        assert isinstance(event, ConflictEvent)
        assert (event.data.provider_id, event.data.client_id) == ("p1", "c1")
        seq = int(conflicts_only.got[0].headers["webhook-id"].rsplit("_", 1)[1])
        assert conflicts_only.got[0].headers["webhook-id"] == (
            f"msg_{single['webhook']['webhookId']}_{seq}"
        )
        bookings = bookings_only.verified(admins["secret"])
        assert bookings, "the admins' endpoint was sent the bookings"
        assert all(d["type"] == "changes" for d in bookings)  # and no event: not asked for
        assert another_provider.got == []  # p1's changes and events are not p2's

        feed = (await people["admin"].get("/changes", params={"since": 0})).json()
        assert {c["kind"] for c in feed["changes"]} <= SLOT_KINDS
        assert seq not in [c["seq"] for c in feed["changes"]]
        assert feed["lastSeq"] >= seq

        # Sent again from the start, the changes before the event make one batch, ending
        # before it; the event follows alone, under the webhook-id it had.
        got_before = len(everything.got)
        replayed = await people["p1"].post(
            f"/webhooks/{mine['webhook']['webhookId']}/replay", json={"since": 0}
        )
        assert replayed.status_code == 200, replayed.text
        await sent_out(ctx)
        again = everything.got[got_before:]
        assert [msgspec.json.decode(r.body, type=Envelope).__class__ for r in again] == [
            ChangeBatch,
            ConflictEvent,
        ]
        first_seqs = {r.headers["webhook-id"] for r in everything.got[:got_before]}
        assert again[1].headers["webhook-id"] in first_seqs
        assert again[0].headers["webhook-id"].endswith(f"_{seq - 1}")


async def test_a_calendar_failing_for_three_periods_sends_one_event_until_it_recovers(
    people: People,
    secure_server: TestServer,
    ics_server: tuple[IcsServer, str],  # noqa: F811 - the fixture imported above
) -> None:
    ctx = secure_server.app[CONTEXT]
    served, url = ics_server
    async with listening(Receiver()) as receiver, listening(Receiver()) as conflicts_only:
        mine = await register(people, "p1", receiver.url)
        await register(people, "admin", conflicts_only.url, events=["conflict"])
        served.broken = 500
        await ctx.store.create_busy_source(
            replace(source(ctx, "ics", url, PASSWORD), source_id=SOURCE)
        )
        refreshes, failing = [], []
        for _ in range(5):
            refreshes.append(await refresh(ctx, SOURCE))
            failing.append(refreshes[-1].failing(ctx.now()))
        await sent_out(ctx)
        assert [r.failures for r in refreshes] == [1, 2, 3, 4, 5]
        assert failing == [False, False, True, True, True]
        became = refreshes[2]
        (delivery,) = receiver.verified(mine["secret"])
        assert PASSWORD.encode() not in receiver.got[0].body
        event = msgspec.json.decode(receiver.got[0].body, type=Envelope)
        assert isinstance(event, BusySourceFailingEvent)
        shown = (await people["p1"].get(f"/providers/p1/busy-sources/{SOURCE}")).json()["source"]
        assert delivery["type"] == "busy-source-failing"
        assert delivery["data"]["providerId"] == "p1"
        assert delivery["data"]["source"].keys() == shown.keys()  # as GET shows it, no password
        status = delivery["data"]["source"]["status"]
        assert status["failing"] is True
        assert status["lastSyncAt"] == event.data.source.status.last_sync_at
        assert event.data.source.status.last_sync_at is not None
        assert became.last_sync_at is not None
        assert status["lastError"] == became.last_error
        assert "500" in status["lastError"]

        served.broken = None
        served.body = ics(DENTIST)
        assert (await refresh(ctx, SOURCE)).failures == 0  # read again: no longer failing
        served.broken = 503
        for _ in range(3):
            await refresh(ctx, SOURCE)
        await sent_out(ctx)
        assert [d["type"] for d in receiver.verified(mine["secret"])] == ["busy-source-failing"] * 2
        assert conflicts_only.got == []  # its endpoint asked for conflicts only
        feed = (await people["p1"].get("/changes", params={"since": 0})).json()
        assert feed["changes"] == []
        assert feed["lastSeq"] > 0  # past the events' rows
