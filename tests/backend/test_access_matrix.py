"""Who may call what: every route against every kind of caller, over real HTTP.

The table ROWS has one row per request and one column per identity: no token, a malformed
Authorization header, a well-formed token that was never issued, a revoked token, then the admin,
the owning provider p1, another provider p2, the owning client c1 and another client c2.

Every cell starts from the same state, built once through the API (with the admin, p1 and c1
tokens) into a template SQLite file that each test copies into a fresh server. Who may do what is
decided above the store (the gate and the handlers), so the table runs over one store: what each
store does with what it is asked is proven over both by the store, API and race tests (the `db`
fixture), and hostile requests meet a PostgreSQL server in tests/backend/test_schema_fuzz.py.
(Over PostgreSQL too, the table cost three minutes of the suite's time and told nothing more.)

    p1 on 2030-03-06: A 11:00 held by c1, B 11:15 booked by c1, C 11:30 open, D 11:45 open
    p2 on 2030-03-06: 11:00 and 11:15 open
    c1's address, so B's confirmation was mailed (to a Maildir) with its manage link, whose
    page's form tokens are kept; B's reminder is queued, not yet due
    a spare client token ("victim", for c3) to revoke
    a calendar feed of p1's ("feed", and its secret address), a webhook of p1's ("hook"), and
    a calendar p1's busy times come from ("busy")
    c1 waiting in p1's line for an afternoon with no slots ("wl"), so that no write of the table
    frees time it would be offered

The refused cells and the reads of a row share one server, and the database dump is compared
before and after each of them: so they changed nothing, and each started from the template state.
Every allowed write gets a server of its own, and the test checks that its effect happened.
"""

from __future__ import annotations

import asyncio
import mailbox
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import httpx
import pytest
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.app import OPERATIONS, create_app
from backend.gate.tokens import split_token
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from backend.store.busy_records import Refreshed
from shared.timefmt import parse_time
from tests.backend.test_manage_page import words_of
from tests.helpers import T0, People, assert_problem, dump_database

Who = Literal["none", "malformed", "unknown", "revoked", "admin", "p1", "p2", "c1", "c2"]
IDENTITIES: tuple[Who, ...] = get_args(Who)

MALFORMED = ("Basic abc", "Bearer", "Bearer not-a-token", "Token sbk_0123456789abcdef_x")
"""Authorization headers that are not a bearer token at all."""

UNKNOWN = "sbk_00000000deadbeef_" + "A" * 43
"""Well formed, but never issued."""

NAMES = {"admin": "Root", "p1": "Dr One", "p2": "Dr Two", "c1": "Client One", "c2": "Client Two"}
ROLES = {"admin": "admin", "p1": "provider", "p2": "provider", "c1": "client", "c2": "client"}
SUBJECTS = {"admin": None, "p1": "p1", "p2": "p2", "c1": "c1", "c2": "c2"}

DAY = "2030-03-06"
A_AT, B_AT, C_AT, D_AT = (f"{DAY} 11:{m}:00" for m in ("00", "15", "30", "45"))
WHOLE_DAY = {"startTime": f"{DAY} 00:00:00", "endTime": "2030-03-07 00:00:00"}
NEW_WINDOW = {"startTime": f"{DAY} 14:00:00", "endTime": f"{DAY} 15:00:00"}
NEW_SLOTS = [f"{DAY} 14:{m}:00" for m in ("00", "15", "30", "45")]
WAITING = {"providerId": "p1", "from": f"{DAY} 16:00:00", "to": f"{DAY} 17:00:00"}
"""A window of p1's with no slots, in which no row of the table makes any: a place there waits."""
PUBLIC_SERVER = "http://93.184.216.34"
PUBLIC_RECEIVER = f"{PUBLIC_SERVER}/hook"
"""A public address (no name to resolve): the webhooks of the table are sent nothing they
could receive, since the changes they would get are made after the template."""
PUBLIC_CALENDAR = "http://93.184.216.34/dav/p1/bookings/"
"""A public address for a write-back calendar: set only in worlds of their own."""
TOKEN_SHAPE = re.compile(r"^sbk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")


# --- the state every cell starts from ----------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A database holding the starting state, and what a test needs to know about it."""

    db: str
    """A SQLite file."""
    tokens: Mapping[str, str]
    """By identity: admin, p1, p2, c1, c2, revoked (of c1), victim (of c3)."""
    ids: Mapping[str, str]
    """Placeholders of requests: A, B, C, D (slot ids) and victim (a token id)."""
    dump: list[str]


def token_id(token: str) -> str:
    parts = split_token(token)
    assert parts is not None, token
    return parts[0]


def secret_of(token: str) -> str:
    parts = split_token(token)
    assert parts is not None, token
    return parts[1]


CLIENT_ADDRESS = "c1@example.com"
FORM_TOKEN = re.compile(
    r'action="[^"]*/(cancel|move)">\s*<input type="hidden" name="token" value="([0-9a-f]+)"'
)
"""A form of the manage page: its action's last step, and its hidden token."""


async def build_template(db: str, mail: Path) -> Template:
    clock = ManualClock(T0)
    server = TestServer(create_app(Settings(db=db, rate=0, mail_dir=str(mail)), clock=clock))
    await server.start_server()
    try:
        async with People.issue(server) as people:
            addressed = await people["c1"].patch("/me", json={"email": CLIENT_ADDRESS})
            assert addressed.status_code == 200, addressed.text
            submitted = await people["p1"].post(
                "/availability", json={"startTime": A_AT, "endTime": f"{DAY} 12:00:00"}
            )
            assert submitted.status_code == 201, submitted.text
            slots = {s["timestamp"]: s for s in submitted.json()["timeSlots"]}
            a, b, c, d = (slots[at] for at in (A_AT, B_AT, C_AT, D_AT))
            theirs = await people["admin"].post(
                "/availability", json={"providerId": "p2", "startTime": A_AT, "endTime": C_AT}
            )
            assert theirs.status_code == 201, theirs.text
            for slot, expected in [(a, 201), (b, 201)]:
                held = await people["c1"].post(
                    "/availability/reserve",
                    json={"timeSlotId": slot["timeSlotId"], "timeSlot": slot["timestamp"]},
                )
                assert held.status_code == expected, held.text
            booked = await people["c1"].put(
                f"/availability/confirm/{b['timeSlotId']}", json={"timeSlot": B_AT}
            )
            assert booked.status_code == 200, booked.text
            victim = await people["admin"].post(
                "/tokens", json={"role": "client", "subject": "c3", "name": "Victim"}
            )
            assert victim.status_code == 201, victim.text
            tokens = {**people.tokens, "victim": victim.json()["token"]}
            feed = await people["p1"].post("/calendar-feeds")
            assert feed.status_code == 201, feed.text
            hook = await people["p1"].post("/webhooks", json={"url": PUBLIC_RECEIVER})
            assert hook.status_code == 201, hook.text
            service = await people["p1"].post(
                "/providers/p1/services", json={"name": "Follow-up", "minutes": 30}
            )
            assert service.status_code == 201, service.text
            ctx = server.app[CONTEXT]
            await ctx.busy.stop()  # the calendar is read by no one: the worlds stay as made
            busy = await people["p1"].post(
                "/providers/p1/busy-sources",
                json={"name": "Personal", "kind": "ics", "url": f"{PUBLIC_SERVER}/p1.ics"},
            )
            assert busy.status_code == 201, busy.text
            unread = Refreshed(None, None, None, None, None, next_due=ctx.now() + 86_400 * 3650)
            source_id = busy.json()["source"]["sourceId"]
            assert await ctx.store.record_busy_refresh(source_id, unread, ctx.now()) is not None
            clock.set(T0 - 60)  # a minute before the worlds' clock: a place joined there is behind
            waiting = await people["c1"].post("/waitlist", json=WAITING)
            assert waiting.status_code == 201, waiting.text
            clock.set(T0)
            await server.app[CONTEXT].mail.deliver_due()
            manage = manage_path(mail)
            page = await people["admin"].get(manage)
            assert page.status_code == 200, page.text
            tokens_of_page = dict(re.findall(FORM_TOKEN, page.text))
    finally:
        await server.close()
    ids = {
        "A": a["timeSlotId"],
        "B": b["timeSlotId"],
        "C": c["timeSlotId"],
        "D": d["timeSlotId"],
        "dAt": str(int(parse_time(D_AT))),
        "victim": token_id(tokens["victim"]),
        "feed": feed.json()["feed"]["feedId"],
        "hook": hook.json()["webhook"]["webhookId"],
        "service": service.json()["service"]["serviceId"],
        "busy": busy.json()["source"]["sourceId"],
        "wl": waiting.json()["entry"]["waitlistId"],
        "feedSecret": feed.json()["url"].rsplit("/", 1)[1].removesuffix(".ics"),
        "manage": manage,
        "cancelToken": tokens_of_page["cancel"],
        "moveToken": tokens_of_page["move"],
    }
    return Template(db, tokens, ids, dump_database(db))


def manage_path(mail: Path) -> str:
    """The manage link's path, from the words of the one letter in the Maildir."""
    (letter,) = list(mailbox.Maildir(mail, create=False))
    found = re.search(r"/manage/[A-Za-z0-9_-]+", words_of(letter))
    assert found is not None
    return found.group(0)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """Built once for the module, in an event loop of its own."""
    path = tmp_path_factory.mktemp("matrix") / "template.db"
    return asyncio.run(build_template(str(path), path.parent / "mail"))


def copy_database(template: Template, folder: Path, n: int) -> str:
    """A new database holding what the template holds: a copy of its file."""
    target = folder / f"world-{n}.db"
    with closing(sqlite3.connect(template.db)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return str(target)


# --- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request of the table. `path` and string values of `json` may name placeholders of the
    template ({A}, {B}, {C}, {D}, {victim}); `route` is the path as the route table writes it."""

    method: str
    route: str
    note: str = ""
    path: str = ""
    json: Mapping[str, Any] | None = None
    params: Mapping[str, str] | None = None
    stream: bool = False
    form: Mapping[str, str] | None = None
    """A body sent as an HTML form sends it."""

    @property
    def label(self) -> str:
        return f"{self.method} {self.path or self.route}" + (f" {self.note}" if self.note else "")

    @property
    def writes(self) -> bool:
        return self.method != "GET"


def fill(text: str, ids: Mapping[str, str]) -> str:
    return text.format_map(ids) if "{" in text else text


def filled(value: Any, ids: Mapping[str, str]) -> Any:
    """A JSON value with the placeholders in its strings filled in."""
    if isinstance(value, str):
        return fill(value, ids)
    if isinstance(value, list):
        return [filled(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: filled(item, ids) for key, item in value.items()}
    return value


@dataclass
class World:
    """A server on a copy of the template database."""

    template: Template
    server: TestServer
    http: httpx.AsyncClient
    db: str

    async def send(self, request: Request, authorization: str | None) -> httpx.Response:
        ids = self.template.ids
        headers = {} if authorization is None else {"Authorization": authorization}
        body = None if request.json is None else filled(request.json, ids)
        form = None if request.form is None else filled(request.form, ids)
        async with self.http.stream(
            request.method,
            fill(request.path or request.route, ids),
            json=body,
            data=form,
            params=request.params,
            headers=headers,
        ) as response:
            if not (request.stream and response.status_code == 200):
                await response.aread()
                return response
            first = await anext(response.aiter_bytes())  # the stream never ends: its first bytes
            return httpx.Response(200, headers=response.headers, content=first)

    def bearer(self, who: str) -> str:
        return f"Bearer {self.template.tokens[who]}"

    async def as_admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        response = await self.http.request(
            method, path, headers={"Authorization": self.bearer("admin")}, **kw
        )
        assert response.status_code < 300, response.text
        return response

    async def calendar(self, provider: str) -> dict[str, dict[str, Any]]:
        """The provider's slots on DAY, by timestamp, as its admin sees them."""
        found = await self.as_admin("GET", f"/providers/{provider}/slots", params=WHOLE_DAY)
        return {s["timestamp"]: s for s in found.json()["timeSlots"]}


WorldMaker = Callable[[], Awaitable[World]]


@pytest.fixture
async def worlds(template: Template, tmp_path: Path) -> AsyncIterator[WorldMaker]:
    """Makes servers, each on its own copy of the template; closes them all afterwards."""
    opened: list[World] = []

    async def open_world() -> World:
        db = copy_database(template, tmp_path, len(opened))
        # Its own Maildir: c1 has an address, so a cancel or a move mails c1.
        mail = str(tmp_path / f"mail-{len(opened)}")
        settings = Settings(db=db, rate=0, mail_dir=mail)
        server = TestServer(create_app(settings, clock=ManualClock(T0)))
        await server.start_server()
        http = httpx.AsyncClient(base_url=str(server.make_url("")), timeout=30)
        world = World(template, server, http, db)
        opened.append(world)
        return world

    yield open_world
    for world in opened:
        await world.http.aclose()
        await world.server.close()


# --- what an allowed call must have done --------------------------------------------------------

Check = Callable[[World, Who, httpx.Response], Awaitable[None]]


async def window_added(world: World, provider: str, response: httpx.Response) -> None:
    made = response.json()
    assert made["created"] == 4
    assert [(s["providerId"], s["timestamp"]) for s in made["timeSlots"]] == [
        (provider, at) for at in NEW_SLOTS
    ]
    calendar = await world.calendar(provider)
    assert all(calendar[at]["status"] == "AVAILABLE" for at in NEW_SLOTS)


async def p1_window_added(world: World, who: Who, response: httpx.Response) -> None:
    await window_added(world, "p1", response)


async def own_window_added(world: World, who: Who, response: httpx.Response) -> None:
    await window_added(world, who, response)
    if who != "p1":
        assert not set(NEW_SLOTS) & set(await world.calendar("p1"))


async def open_slots_listed(world: World, who: Who, response: httpx.Response) -> None:
    listed = response.json()["availableTimeSlots"]
    ids = world.template.ids
    assert {s["timeSlotId"] for s in listed if s["providerId"] == "p1"} == {ids["C"], ids["D"]}
    assert sorted(s["timestamp"] for s in listed if s["providerId"] == "p2") == [A_AT, B_AT]
    assert all(s["status"] == "AVAILABLE" and "clientId" not in s for s in listed)


async def p1_window_removed(world: World, who: Who, response: httpx.Response) -> None:
    removed = response.json()
    ids = world.template.ids
    assert removed["deleted"] == 2
    assert {s["timeSlotId"] for s in removed["kept"]} == {ids["A"], ids["B"]}
    assert sorted(await world.calendar("p1")) == [A_AT, B_AT]


async def p1_schedule_set(world: World, who: Who, response: httpx.Response) -> None:
    """Mondays only: p1's open Wednesday slots go, the held and the booked one stay."""
    answer = response.json()
    ids = world.template.ids
    assert answer["schedule"]["providerId"] == "p1"
    assert answer["deleted"] == 2
    assert {s["timeSlotId"] for s in answer["kept"]} == {ids["A"], ids["B"]}
    assert sorted(await world.calendar("p1")) == [A_AT, B_AT]


async def no_schedule_yet(world: World, who: Who, response: httpx.Response) -> None:
    raise AssertionError("p1 has no schedule in the template: its GET and DELETE are 404")


async def c_held_by(world: World, client: str, response: httpx.Response) -> None:
    held = response.json()["reservation"]
    assert (held["timeSlotId"], held["status"], held["clientId"]) == (
        world.template.ids["C"],
        "RESERVED",
        client,
    )
    slot = (await world.calendar("p1"))[C_AT]
    assert (slot["status"], slot["clientId"]) == ("RESERVED", client)


async def c_held_by_c1(world: World, who: Who, response: httpx.Response) -> None:
    await c_held_by(world, "c1", response)


async def c_held_by_caller(world: World, who: Who, response: httpx.Response) -> None:
    await c_held_by(world, who, response)


async def a_booked(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["message"] == "Reservation confirmed successfully"
    slot = (await world.calendar("p1"))[A_AT]
    assert (slot["status"], slot["clientId"]) == ("CONFIRMED", "c1")


async def c1_reservations(world: World, who: Who, response: httpx.Response) -> None:
    ids = world.template.ids
    found = response.json()["reservations"]
    assert [(s["timeSlotId"], s["status"], s["clientId"]) for s in found] == [
        (ids["A"], "RESERVED", "c1"),
        (ids["B"], "CONFIRMED", "c1"),
    ]


async def own_reservations(world: World, who: Who, response: httpx.Response) -> None:
    if who == "c1":
        await c1_reservations(world, who, response)
    else:
        assert response.json()["reservations"] == []


async def b_open_again(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["timeSlot"]["status"] == "AVAILABLE"
    slot = (await world.calendar("p1"))[B_AT]
    assert slot["status"] == "AVAILABLE"
    assert "clientId" not in slot


async def b_moved_to_d(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["message"] == "Reservation moved"
    calendar = await world.calendar("p1")
    assert calendar[B_AT]["status"] == "AVAILABLE"
    assert (calendar[D_AT]["status"], calendar[D_AT]["clientId"]) == ("CONFIRMED", "c1")


async def a_noted(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["reservation"]["note"] == "Bring the letter"
    assert (await world.calendar("p1"))[A_AT]["note"] == "Bring the letter"


async def providers_named(world: World, who: Who, response: httpx.Response) -> None:
    names = {p["providerId"]: p["name"] for p in response.json()["providers"]}
    assert names == {"p1": "Dr One", "p2": "Dr Two"}


async def p1_calendar(world: World, who: Who, response: httpx.Response) -> None:
    shown = [(s["timestamp"], s["status"], s.get("clientId")) for s in response.json()["timeSlots"]]
    assert shown == [
        (A_AT, "RESERVED", "c1"),
        (B_AT, "CONFIRMED", "c1"),
        (C_AT, "AVAILABLE", None),
        (D_AT, "AVAILABLE", None),
    ]


async def token_made(world: World, who: Who, response: httpx.Response) -> None:
    made = response.json()
    assert TOKEN_SHAPE.match(made["token"]), made
    assert (made["role"], made["subject"], made["name"]) == ("client", "c9", "New")
    me = await world.http.get("/me", headers={"Authorization": f"Bearer {made['token']}"})
    assert me.status_code == 200, me.text
    assert (me.json()["subject"], me.json()["tokenId"]) == ("c9", made["tokenId"])
    listed = (await world.as_admin("GET", "/tokens")).json()["tokens"]
    assert made["tokenId"] in {t["tokenId"] for t in listed}


async def tokens_listed(world: World, who: Who, response: httpx.Response) -> None:
    listed = {t["tokenId"]: t for t in response.json()["tokens"]}
    tokens = world.template.tokens
    assert set(listed) == {token_id(t) for t in tokens.values()}
    for who_else, name in NAMES.items():
        assert listed[token_id(tokens[who_else])]["name"] == name
    assert listed[token_id(tokens["revoked"])]["revokedAt"] is not None
    assert all("token" not in t and "secretHash" not in t for t in listed.values())
    for token in tokens.values():
        assert secret_of(token) not in response.text


async def feed_made(world: World, who: Who, response: httpx.Response) -> None:
    made = response.json()
    assert (made["feed"]["role"], made["feed"]["subject"]) == (ROLES[who], who)
    await feed_answers(world, made)


async def c1_feed_made(world: World, who: Who, response: httpx.Response) -> None:
    made = response.json()
    assert (made["feed"]["role"], made["feed"]["subject"]) == ("client", "c1")
    await feed_answers(world, made)


async def feed_answers(world: World, made: dict[str, Any]) -> None:
    """The address a new feed was given answers, without a token, and is listed by its id."""
    path = urlsplit(made["url"]).path
    feed = await world.http.get(path)
    assert feed.status_code == 200, feed.text
    assert feed.content.startswith(b"BEGIN:VCALENDAR")
    listed = (await world.as_admin("GET", "/calendar-feeds")).json()["feeds"]
    assert made["feed"]["feedId"] in {f["feedId"] for f in listed}


async def feeds_listed(world: World, who: Who, response: httpx.Response) -> None:
    listed = [(f["feedId"], f["subject"]) for f in response.json()["feeds"]]
    p1_feed = (world.template.ids["feed"], "p1")
    assert listed == ([p1_feed] if who in ("admin", "p1") else [])
    assert world.template.ids["feedSecret"] not in response.text


async def feed_revoked(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["feed"]["feedId"] == world.template.ids["feed"]
    gone = await world.http.get(f"/calendar/{world.template.ids['feedSecret']}.ics")
    assert_problem(gone, 404, "calendar-feed-not-found")


async def p1_feed_read(world: World, who: Who, response: httpx.Response) -> None:
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    text = response.text.replace("\r\n ", "")
    assert text.count("BEGIN:VEVENT") == 2
    assert "STATUS:TENTATIVE" in text
    assert "STATUS:CONFIRMED" in text
    assert "Client One" in text


async def webhook_made(world: World, who: Who, response: httpx.Response) -> None:
    made = response.json()
    assert made["secret"].startswith("whsec_")
    assert made["webhook"]["providerId"] == SUBJECTS[who]
    listed = (await world.as_admin("GET", "/webhooks")).json()["webhooks"]
    assert made["webhook"]["webhookId"] in {h["webhookId"] for h in listed}


async def webhooks_listed(world: World, who: Who, response: httpx.Response) -> None:
    listed = [(h["webhookId"], h["providerId"]) for h in response.json()["webhooks"]]
    assert listed == ([(world.template.ids["hook"], "p1")] if who in ("admin", "p1") else [])
    assert "whsec_" not in response.text


async def webhook_shown(world: World, who: Who, response: httpx.Response) -> None:
    shown = response.json()
    assert (shown["webhookId"], shown["enabled"]) == (world.template.ids["hook"], True)
    assert "secret" not in shown


async def webhook_removed(world: World, who: Who, response: httpx.Response) -> None:
    gone = await world.as_admin("GET", "/webhooks")
    assert gone.json()["webhooks"] == []


async def service_offered(world: World, who: Who, response: httpx.Response) -> None:
    made = response.json()["service"]
    assert (made["providerId"], made["name"], made["minutes"]) == ("p1", "Cleaning", 45)
    listed = await world.as_admin("GET", "/providers/p1/services")
    # Oldest first; both were made at the clock's one moment, so by name.
    assert [s["name"] for s in listed.json()["services"]] == ["Cleaning", "Follow-up"]


async def services_listed(world: World, who: Who, response: httpx.Response) -> None:
    listed = [(s["serviceId"], s["name"]) for s in response.json()["services"]]
    assert listed == [(world.template.ids["service"], "Follow-up")]


async def service_shown(world: World, who: Who, response: httpx.Response) -> None:
    shown = response.json()["service"]
    assert (shown["serviceId"], shown["archived"]) == (world.template.ids["service"], False)


async def service_changed(world: World, who: Who, response: httpx.Response) -> None:
    path = f"/services/{world.template.ids['service']}"
    assert (await world.as_admin("GET", path)).json()["service"]["dailyLimit"] == 4


async def service_archived(world: World, who: Who, response: httpx.Response) -> None:
    listed = await world.as_admin("GET", "/providers/p1/services")
    assert listed.json()["services"] == []
    path = f"/services/{world.template.ids['service']}"
    assert (await world.as_admin("GET", path)).json()["service"]["archived"] is True


async def busy_source_added(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["source"]["name"] == "Work"
    listed = await world.as_admin("GET", "/providers/p1/busy-sources")
    assert sorted(s["name"] for s in listed.json()["sources"]) == ["Personal", "Work"]


async def busy_sources_listed(world: World, who: Who, response: httpx.Response) -> None:
    listed = [(s["sourceId"], s["name"]) for s in response.json()["sources"]]
    assert listed == [(world.template.ids["busy"], "Personal")]


async def busy_source_shown(world: World, who: Who, response: httpx.Response) -> None:
    shown = response.json()["source"]
    assert (shown["sourceId"], shown["url"]) == (
        world.template.ids["busy"],
        f"{PUBLIC_SERVER}/p1.ics",
    )


async def busy_source_changed(world: World, who: Who, response: httpx.Response) -> None:
    path = f"/providers/p1/busy-sources/{world.template.ids['busy']}"
    assert (await world.as_admin("GET", path)).json()["source"]["refreshMinutes"] == 60


async def busy_source_read(world: World, who: Who, response: httpx.Response) -> None:
    """Read now: the address serves no calendar (no answer, or not one), and the status says so."""
    path = f"/providers/p1/busy-sources/{world.template.ids['busy']}"
    status = response.json()["source"]["status"]
    assert status == (await world.as_admin("GET", path)).json()["source"]["status"]
    assert status["lastError"] is not None


async def busy_source_removed(world: World, who: Who, response: httpx.Response) -> None:
    listed = await world.as_admin("GET", "/providers/p1/busy-sources")
    assert listed.json() == {"sources": []}


async def p1_profile_shown(world: World, who: Who, response: httpx.Response) -> None:
    shown = response.json()
    assert (shown["providerId"], shown["name"], shown["bookingPage"]) == ("p1", "Dr One", False)


async def p1_page_on(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["bookingPageUrl"].endswith("/book/p1")
    found = (await world.as_admin("GET", "/providers/p1")).json()
    assert (found["profile"]["about"], found["bookingPage"]) == ("Physiotherapy", True)


async def no_deliveries_yet(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json() == {"deliveries": []}


async def webhook_replaying(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["webhook"]["deliveredSeq"] == 0


async def victim_revoked(world: World, who: Who, response: httpx.Response) -> None:
    revoked = response.json()["token"]
    assert (revoked["tokenId"], revoked["name"]) == (world.template.ids["victim"], "Victim")
    assert revoked["revokedAt"] is not None
    refused = await world.http.get("/me", headers={"Authorization": world.bearer("victim")})
    assert_problem(refused, 401, "unauthorized")


async def me_described(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json() == {
        "role": ROLES[who],
        "subject": SUBJECTS[who],
        "name": NAMES[who],
        "tokenId": token_id(world.template.tokens[who]),
        "auth": "token",
        "email": CLIENT_ADDRESS if who == "c1" else None,
        "timeZone": None,
    }


async def details_set(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["details"] == {"email": "someone@example.com", "timeZone": "UTC"}
    me = await world.http.get("/me", headers={"Authorization": world.bearer(who)})
    assert me.json()["email"] == "someone@example.com"


async def notifications_listed(world: World, who: Who, response: httpx.Response) -> None:
    listed = {(n["kind"], n["recipient"], n["status"]) for n in response.json()["notifications"]}
    if who in ("admin", "c1"):  # only c1 has an address: B's confirmation, and its reminder
        assert listed == {
            ("confirmation", CLIENT_ADDRESS, "sent"),
            ("reminder", CLIENT_ADDRESS, "queued"),
        }
    else:
        assert listed == set()


async def changes_listed(world: World, who: Who, response: httpx.Response) -> None:
    assert isinstance(response.json()["changes"], list)
    assert isinstance(response.json()["lastSeq"], int)


async def events_streamed(world: World, who: Who, response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content.startswith(b"retry:")


async def healthy(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["status"] == "ok"


async def metrics_read(world: World, who: Who, response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "slotbook_reserves_total" in response.text


async def rules_described(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["slotMinutes"] == 15


async def spec_served(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["openapi"] == "3.1.0"


async def b_managed(world: World, who: Who, response: httpx.Response) -> None:
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Dr One" in response.text
    assert "Cancel this appointment" in response.text


async def no_pages_yet(world: World, who: Who, response: httpx.Response) -> None:
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "No booking page is open here yet." in response.text


async def no_conflicts(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json() == {"conflicts": []}  # no calendar of p1's in the template


async def no_busy_times(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json() == {"busy": []}  # p1's calendar in the template was never read


async def page_off(world: World, who: Who, response: httpx.Response) -> None:
    raise AssertionError("no booking page is on, and no hold has a link, in the template")


async def style_read(world: World, who: Who, response: httpx.Response) -> None:
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert "prefers" in response.text or "body" in response.text


async def b_cancelled_by_link(world: World, who: Who, response: httpx.Response) -> None:
    assert response.headers["Location"].endswith("?done=cancelled")
    assert (await world.calendar("p1"))[B_AT]["status"] == "AVAILABLE"


async def b_moved_to_d_by_link(world: World, who: Who, response: httpx.Response) -> None:
    assert response.headers["Location"].endswith("?done=moved")
    calendar = await world.calendar("p1")
    assert calendar[B_AT]["status"] == "AVAILABLE"
    assert (calendar[D_AT]["status"], calendar[D_AT]["clientId"]) == ("CONFIRMED", "c1")


async def p1_calendar_write_set(world: World, who: Who, response: httpx.Response) -> None:
    made = response.json()["calendar"]
    assert (made["providerId"], made["url"], made["username"]) == ("p1", PUBLIC_CALENDAR, None)
    shown = (await world.as_admin("GET", "/providers/p1/calendar-write")).json()["calendar"]
    assert shown["url"] == PUBLIC_CALENDAR


async def no_calendar_write_yet(world: World, who: Who, response: httpx.Response) -> None:
    raise AssertionError("p1 has no write-back calendar in the template: GET and DELETE are 404")


async def waitlist_of(world: World) -> list[tuple[str, int]]:
    """p1's line, as the admin sees it: each entry's client and place."""
    listed = (await world.as_admin("GET", "/waitlist")).json()["entries"]
    return [(e["clientId"], e["position"]) for e in listed]


async def joined_waitlist(world: World, who: Who, response: httpx.Response) -> None:
    client = "c1" if who == "admin" else who
    joined = response.json()["entry"]
    assert (joined["clientId"], joined["status"], joined["position"]) == (client, "waiting", 2)
    assert await waitlist_of(world) == [("c1", 1), (client, 2)]


async def waitlist_listed(world: World, who: Who, response: httpx.Response) -> None:
    listed = [(e["waitlistId"], e.get("clientName")) for e in response.json()["entries"]]
    wl = world.template.ids["wl"]
    assert listed == ([(wl, "Client One")] if who in ("admin", "p1", "c1") else [])


async def waitlist_entry_shown(world: World, who: Who, response: httpx.Response) -> None:
    shown = response.json()["entry"]
    assert (shown["waitlistId"], shown["clientId"], shown["position"]) == (
        world.template.ids["wl"],
        "c1",
        1,
    )


async def waitlist_entry_left(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["entry"]["waitlistId"] == world.template.ids["wl"]
    assert await waitlist_of(world) == []


async def problem_described(world: World, who: Who, response: httpx.Response) -> None:
    assert response.json()["type"] == "/problems/slot-taken"
    assert response.json()["status"] == 409


# --- the table ---------------------------------------------------------------------------------

RESERVE, CONFIRM = "/availability/reserve", "/availability/confirm/{timeSlotId}"
CANCEL, CALENDAR, TOKEN = (
    "/reservations/{timeSlotId}",
    "/providers/{providerId}/slots",
    "/tokens/{tokenId}",
)

SUBMIT_FOR_P1 = Request(
    "POST", "/availability", "providerId=p1", json={"providerId": "p1", **NEW_WINDOW}
)
SUBMIT_NO_ID = Request("POST", "/availability", "without providerId", json=NEW_WINDOW)
LIST_OPEN = Request("GET", "/availability", params=WHOLE_DAY)
REMOVE_FOR_P1 = Request(
    "DELETE",
    "/availability",
    "providerId=p1",
    json={"providerId": "p1", "startTime": A_AT, "endTime": f"{DAY} 12:00:00"},
)
RESERVE_C_FOR_C1 = Request(
    "POST", RESERVE, "C clientId=c1", json={"clientId": "c1", "timeSlotId": "{C}", "timeSlot": C_AT}
)
RESERVE_C_NO_ID = Request(
    "POST", RESERVE, "C without clientId", json={"timeSlotId": "{C}", "timeSlot": C_AT}
)
CONFIRM_A = Request("PUT", CONFIRM, path="/availability/confirm/{A}", json={"timeSlot": A_AT})
MY_RESERVATIONS = Request("GET", "/reservations", "without clientId")
RESERVATIONS_OF_C1 = Request("GET", "/reservations", "clientId=c1", params={"clientId": "c1"})
CANCEL_B = Request("DELETE", CANCEL, path="/reservations/{B}")
MOVE_B_TO_D = Request(
    "POST",
    "/reservations/{timeSlotId}/move",
    "B to D",
    path="/reservations/{B}/move",
    json={"toTimeSlotId": "{D}", "timeSlot": D_AT},
)
NOTE_A = Request("PATCH", CANCEL, path="/reservations/{A}", json={"note": "Bring the letter"})
PROVIDERS = Request("GET", "/providers")
P1_CALENDAR = Request("GET", CALENDAR, path="/providers/p1/slots", params=WHOLE_DAY)
MAKE_TOKEN = Request(
    "POST", "/tokens", "client c9", json={"role": "client", "subject": "c9", "name": "New"}
)
LIST_TOKENS = Request("GET", "/tokens")
REVOKE_TOKEN = Request("DELETE", TOKEN, "(c3)", path="/tokens/{victim}")
ME = Request("GET", "/me")
SET_DETAILS = Request("PATCH", "/me", json={"email": "someone@example.com", "timeZone": "UTC"})
NOTIFICATIONS = Request("GET", "/notifications")
CHANGES = Request("GET", "/changes")
EVENTS = Request("GET", "/events", stream=True)
HEALTH = Request("GET", "/healthz")
METRICS = Request("GET", "/metrics")
RULES = Request("GET", "/rules")
SPEC = Request("GET", "/openapi.json")
PROBLEM_TYPE = Request("GET", "/problems/{slug}", path="/problems/slot-taken")
MAKE_FEED = Request("POST", "/calendar-feeds", "own")
MAKE_FEED_FOR_C1 = Request("POST", "/calendar-feeds", "clientId=c1", json={"clientId": "c1"})
LIST_FEEDS = Request("GET", "/calendar-feeds")
REVOKE_FEED = Request("DELETE", "/calendar-feeds/{feedId}", "(p1's)", path="/calendar-feeds/{feed}")
READ_FEED = Request("GET", "/calendar/{secret}.ics", "p1's", path="/calendar/{feedSecret}.ics")
BOOK_INDEX = Request("GET", "/book")
BOOK_P1 = Request("GET", "/book/{providerId}", "(p1's page is off)", path="/book/p1")
NO_SLOT = {"slot": "0" * 32, "at": "1"}
BOOK_START = Request(
    "GET", "/book/{providerId}/start", "(off)", path="/book/p1/start", params=NO_SLOT
)
BOOK_HOLD = Request(
    "POST",
    "/book/{providerId}/hold",
    "(off)",
    path="/book/p1/hold",
    form={**NO_SLOT, "name": "Visitor", "email": "visitor@example.com"},
)
BOOK_WITH_TOKEN = Request(
    "POST",
    "/book/{providerId}/book-with-token",
    "(off)",
    path="/book/p1/book-with-token",
    form={**NO_SLOT, "token": UNKNOWN},
)
BOOK_SENT = Request(
    "GET", "/book/{providerId}/sent/{ref}", "(off)", path="/book/p1/sent/" + "x" * 16
)
CONFIRM_PAGE = Request("GET", "/confirm/{secret}", "(no such link)", path="/confirm/nothing")
CONFIRM_POST = Request(
    "POST",
    "/confirm/{secret}",
    "(a field it takes no)",
    path="/confirm/" + "A" * 32,
    form={"extra": "x"},
)
PAGE_STYLE = Request("GET", "/assets/{name}", path="/assets/pages.css")
P1_CONFLICTS = Request("GET", "/providers/{providerId}/conflicts", path="/providers/p1/conflicts")
P1_BUSY_TIMES = Request(
    "GET", "/providers/{providerId}/busy", path="/providers/p1/busy", params=WHOLE_DAY
)
MANAGE = "/manage/{secret}"
PAGES = ("/manage/", "/book", "/confirm/")
"""The routes of the server's pages, whose every answer is HTML."""
MANAGE_PAGE = Request("GET", MANAGE, "B's", path="{manage}")
MANAGE_CANCEL = Request(
    "POST", MANAGE + "/cancel", "B", path="{manage}/cancel", form={"token": "{cancelToken}"}
)
MANAGE_MOVE = Request(
    "POST",
    MANAGE + "/move",
    "B to D",
    path="{manage}/move",
    form={"token": "{moveToken}", "slot": "{D}", "at": "{dAt}"},
)
WAITLIST_ENTRY = "/waitlist/{waitlistId}"
JOIN_WAITLIST = Request("POST", "/waitlist", "without clientId", json=WAITING)
JOIN_FOR_C1 = Request("POST", "/waitlist", "clientId=c1", json={**WAITING, "clientId": "c1"})
LIST_WAITLIST = Request("GET", "/waitlist")
GET_WAITLIST_ENTRY = Request("GET", WAITLIST_ENTRY, "(c1's)", path="/waitlist/{wl}")
LEAVE_WAITLIST = Request("DELETE", WAITLIST_ENTRY, "(c1's)", path="/waitlist/{wl}")
HOOK = "/webhooks/{webhookId}"
MAKE_WEBHOOK = Request("POST", "/webhooks", json={"url": PUBLIC_RECEIVER})
LIST_WEBHOOKS = Request("GET", "/webhooks")
GET_WEBHOOK = Request("GET", HOOK, "(p1's)", path="/webhooks/{hook}")
DELETE_WEBHOOK = Request("DELETE", HOOK, "(p1's)", path="/webhooks/{hook}")
DELIVERIES = Request("GET", HOOK + "/deliveries", "(p1's)", path="/webhooks/{hook}/deliveries")
REPLAY = Request(
    "POST", HOOK + "/replay", "(p1's)", path="/webhooks/{hook}/replay", json={"since": 0}
)
SERVICES, SERVICE = "/providers/{providerId}/services", "/services/{serviceId}"
MAKE_P1_SERVICE = Request(
    "POST", SERVICES, path="/providers/p1/services", json={"name": "Cleaning", "minutes": 45}
)
LIST_P1_SERVICES = Request("GET", SERVICES, path="/providers/p1/services")
GET_SERVICE = Request("GET", SERVICE, "(p1's)", path="/services/{service}")
CHANGE_SERVICE = Request(
    "PATCH", SERVICE, "(p1's)", path="/services/{service}", json={"dailyLimit": 4}
)
ARCHIVE_SERVICE = Request("DELETE", SERVICE, "(p1's)", path="/services/{service}")
BUSY_SOURCES = "/providers/{providerId}/busy-sources"
BUSY_SOURCE, P1_BUSY = BUSY_SOURCES + "/{sourceId}", "/providers/p1/busy-sources/{busy}"
ADD_P1_BUSY = Request(
    "POST",
    BUSY_SOURCES,
    path="/providers/p1/busy-sources",
    json={"name": "Work", "kind": "ics", "url": f"{PUBLIC_SERVER}/work.ics"},
)
LIST_P1_BUSY = Request("GET", BUSY_SOURCES, path="/providers/p1/busy-sources")
GET_P1_BUSY = Request("GET", BUSY_SOURCE, path=P1_BUSY)
CHANGE_P1_BUSY = Request("PATCH", BUSY_SOURCE, path=P1_BUSY, json={"refreshMinutes": 60})
REMOVE_P1_BUSY = Request("DELETE", BUSY_SOURCE, path=P1_BUSY)
REFRESH_P1_BUSY = Request("POST", BUSY_SOURCE + "/refresh", path=P1_BUSY + "/refresh")
PROFILE = "/providers/{providerId}"
GET_P1_PROFILE = Request("GET", PROFILE, path="/providers/p1")
SET_P1_PROFILE = Request(
    "PATCH",
    PROFILE,
    path="/providers/p1",
    json={"profile": {"about": "Physiotherapy"}, "bookingPage": True},
)
SCHEDULE = "/providers/{providerId}/schedule"
MONDAYS = {"timeZone": "UTC", "weekly": [{"day": "mon", "start": "09:00", "end": "10:00"}]}
PUT_P1_SCHEDULE = Request("PUT", SCHEDULE, path="/providers/p1/schedule", json=MONDAYS)
GET_P1_SCHEDULE = Request("GET", SCHEDULE, path="/providers/p1/schedule")
DELETE_P1_SCHEDULE = Request("DELETE", SCHEDULE, path="/providers/p1/schedule")
CALENDAR_WRITE = "/providers/{providerId}/calendar-write"
P1_CALENDAR_WRITE = "/providers/p1/calendar-write"
PUT_WRITE_CALENDAR = Request(
    "PUT", CALENDAR_WRITE, path=P1_CALENDAR_WRITE, json={"url": PUBLIC_CALENDAR}
)
GET_WRITE_CALENDAR = Request("GET", CALENDAR_WRITE, path=P1_CALENDAR_WRITE)
DEL_WRITE_CALENDAR = Request("DELETE", CALENDAR_WRITE, path=P1_CALENDAR_WRITE)


@dataclass(frozen=True)
class Row:
    request: Request
    expected: dict[Who, int]
    check: Check


def row(
    request: Request,
    none: int,
    malformed: int,
    unknown: int,
    revoked: int,
    admin: int,
    p1: int,
    p2: int,
    c1: int,
    c2: int,
    check: Check,
) -> Row:
    statuses = (none, malformed, unknown, revoked, admin, p1, p2, c1, c2)
    return Row(request, dict(zip(IDENTITIES, statuses, strict=True)), check)


# fmt: off
ROWS = [
    #   request             none malf unkn revk admn p1   p2   c1   c2   what an allowed call did
    row(SUBMIT_FOR_P1,      401, 401, 401, 401, 201, 201, 403, 403, 403, p1_window_added),
    row(SUBMIT_NO_ID,       401, 401, 401, 401, 422, 201, 201, 403, 403, own_window_added),
    row(LIST_OPEN,          401, 401, 401, 401, 200, 200, 200, 200, 200, open_slots_listed),
    row(REMOVE_FOR_P1,      401, 401, 401, 401, 200, 200, 403, 403, 403, p1_window_removed),
    row(RESERVE_C_FOR_C1,   401, 401, 401, 401, 201, 403, 403, 201, 403, c_held_by_c1),
    row(RESERVE_C_NO_ID,    401, 401, 401, 401, 422, 403, 403, 201, 201, c_held_by_caller),
    row(CONFIRM_A,          401, 401, 401, 401, 200, 403, 403, 200, 403, a_booked),
    row(MY_RESERVATIONS,    401, 401, 401, 401, 422, 403, 403, 200, 200, own_reservations),
    row(RESERVATIONS_OF_C1, 401, 401, 401, 401, 200, 403, 403, 200, 403, c1_reservations),
    row(CANCEL_B,           401, 401, 401, 401, 200, 200, 403, 200, 403, b_open_again),
    row(MOVE_B_TO_D,        401, 401, 401, 401, 200, 403, 403, 200, 403, b_moved_to_d),
    row(NOTE_A,             401, 401, 401, 401, 200, 403, 403, 200, 403, a_noted),
    row(JOIN_WAITLIST,      401, 401, 401, 401, 422, 403, 403, 201, 201, joined_waitlist),
    row(JOIN_FOR_C1,        401, 401, 401, 401, 201, 403, 403, 201, 403, joined_waitlist),
    row(LIST_WAITLIST,      401, 401, 401, 401, 200, 200, 200, 200, 200, waitlist_listed),
    row(GET_WAITLIST_ENTRY, 401, 401, 401, 401, 200, 200, 404, 200, 404, waitlist_entry_shown),
    row(LEAVE_WAITLIST,     401, 401, 401, 401, 200, 200, 404, 200, 404, waitlist_entry_left),
    row(PROVIDERS,          401, 401, 401, 401, 200, 200, 200, 200, 200, providers_named),
    row(P1_CALENDAR,        401, 401, 401, 401, 200, 200, 403, 403, 403, p1_calendar),
    row(GET_P1_PROFILE,     401, 401, 401, 401, 200, 200, 200, 200, 200, p1_profile_shown),
    row(SET_P1_PROFILE,     401, 401, 401, 401, 200, 200, 403, 403, 403, p1_page_on),
    row(PUT_P1_SCHEDULE,    401, 401, 401, 401, 200, 200, 403, 403, 403, p1_schedule_set),
    row(GET_P1_SCHEDULE,    401, 401, 401, 401, 404, 404, 403, 403, 403, no_schedule_yet),
    row(DELETE_P1_SCHEDULE, 401, 401, 401, 401, 404, 404, 403, 403, 403, no_schedule_yet),
    row(PUT_WRITE_CALENDAR, 401, 401, 401, 401, 201, 201, 403, 403, 403, p1_calendar_write_set),
    row(GET_WRITE_CALENDAR, 401, 401, 401, 401, 404, 404, 403, 403, 403, no_calendar_write_yet),
    row(DEL_WRITE_CALENDAR, 401, 401, 401, 401, 404, 404, 403, 403, 403, no_calendar_write_yet),
    row(MAKE_TOKEN,         401, 401, 401, 401, 201, 403, 403, 403, 403, token_made),
    row(LIST_TOKENS,        401, 401, 401, 401, 200, 403, 403, 403, 403, tokens_listed),
    row(REVOKE_TOKEN,       401, 401, 401, 401, 200, 403, 403, 403, 403, victim_revoked),
    row(MAKE_FEED,          401, 401, 401, 401, 422, 201, 201, 201, 201, feed_made),
    row(MAKE_FEED_FOR_C1,   401, 401, 401, 401, 201, 403, 403, 201, 403, c1_feed_made),
    row(LIST_FEEDS,         401, 401, 401, 401, 200, 200, 200, 200, 200, feeds_listed),
    row(REVOKE_FEED,        401, 401, 401, 401, 200, 200, 404, 404, 404, feed_revoked),
    row(READ_FEED,          200, 200, 200, 200, 200, 200, 200, 200, 200, p1_feed_read),
    row(MANAGE_PAGE,        200, 200, 200, 200, 200, 200, 200, 200, 200, b_managed),
    row(MANAGE_CANCEL,      303, 303, 303, 303, 303, 303, 303, 303, 303, b_cancelled_by_link),
    row(MANAGE_MOVE,        303, 303, 303, 303, 303, 303, 303, 303, 303, b_moved_to_d_by_link),
    row(BOOK_INDEX,         200, 200, 200, 200, 200, 200, 200, 200, 200, no_pages_yet),
    row(BOOK_P1,            404, 404, 404, 404, 404, 404, 404, 404, 404, page_off),
    row(BOOK_START,         404, 404, 404, 404, 404, 404, 404, 404, 404, page_off),
    row(BOOK_HOLD,          404, 404, 404, 404, 404, 404, 404, 404, 404, page_off),
    row(BOOK_WITH_TOKEN,    404, 404, 404, 404, 404, 404, 404, 404, 404, page_off),
    row(BOOK_SENT,          404, 404, 404, 404, 404, 404, 404, 404, 404, page_off),
    row(CONFIRM_PAGE,       404, 404, 404, 404, 404, 404, 404, 404, 404, page_off),
    row(CONFIRM_POST,       400, 400, 400, 400, 400, 400, 400, 400, 400, page_off),
    row(PAGE_STYLE,         200, 200, 200, 200, 200, 200, 200, 200, 200, style_read),
    row(P1_CONFLICTS,       401, 401, 401, 401, 200, 200, 403, 403, 403, no_conflicts),
    row(P1_BUSY_TIMES,      401, 401, 401, 401, 200, 200, 403, 403, 403, no_busy_times),
    row(MAKE_WEBHOOK,       401, 401, 401, 401, 201, 201, 201, 403, 403, webhook_made),
    row(LIST_WEBHOOKS,      401, 401, 401, 401, 200, 200, 200, 403, 403, webhooks_listed),
    row(GET_WEBHOOK,        401, 401, 401, 401, 200, 200, 404, 403, 403, webhook_shown),
    row(DELETE_WEBHOOK,     401, 401, 401, 401, 200, 200, 404, 403, 403, webhook_removed),
    row(DELIVERIES,         401, 401, 401, 401, 200, 200, 404, 403, 403, no_deliveries_yet),
    row(REPLAY,             401, 401, 401, 401, 200, 200, 404, 403, 403, webhook_replaying),
    row(MAKE_P1_SERVICE,    401, 401, 401, 401, 201, 201, 403, 403, 403, service_offered),
    row(LIST_P1_SERVICES,   401, 401, 401, 401, 200, 200, 200, 200, 200, services_listed),
    row(GET_SERVICE,        401, 401, 401, 401, 200, 200, 200, 200, 200, service_shown),
    row(CHANGE_SERVICE,     401, 401, 401, 401, 200, 200, 404, 403, 403, service_changed),
    row(ARCHIVE_SERVICE,    401, 401, 401, 401, 200, 200, 404, 403, 403, service_archived),
    row(ADD_P1_BUSY,        401, 401, 401, 401, 201, 201, 403, 403, 403, busy_source_added),
    row(LIST_P1_BUSY,       401, 401, 401, 401, 200, 200, 403, 403, 403, busy_sources_listed),
    row(GET_P1_BUSY,        401, 401, 401, 401, 200, 200, 403, 403, 403, busy_source_shown),
    row(CHANGE_P1_BUSY,     401, 401, 401, 401, 200, 200, 403, 403, 403, busy_source_changed),
    row(REMOVE_P1_BUSY,     401, 401, 401, 401, 200, 200, 403, 403, 403, busy_source_removed),
    row(REFRESH_P1_BUSY,    401, 401, 401, 401, 200, 200, 403, 403, 403, busy_source_read),
    row(ME,                 401, 401, 401, 401, 200, 200, 200, 200, 200, me_described),
    row(SET_DETAILS,        401, 401, 401, 401, 403, 200, 200, 200, 200, details_set),
    row(NOTIFICATIONS,      401, 401, 401, 401, 200, 200, 200, 200, 200, notifications_listed),
    row(CHANGES,            401, 401, 401, 401, 200, 200, 200, 200, 200, changes_listed),
    row(EVENTS,             401, 401, 401, 401, 200, 200, 200, 200, 200, events_streamed),
    row(HEALTH,             200, 200, 200, 200, 200, 200, 200, 200, 200, healthy),
    row(METRICS,            401, 401, 401, 401, 200, 403, 403, 403, 403, metrics_read),
    row(RULES,              200, 200, 200, 200, 200, 200, 200, 200, 200, rules_described),
    row(SPEC,               200, 200, 200, 200, 200, 200, 200, 200, 200, spec_served),
    row(PROBLEM_TYPE,       200, 200, 200, 200, 200, 200, 200, 200, 200, problem_described),
]
# fmt: on


def authorizations(who: Who, tokens: Mapping[str, str]) -> tuple[str | None, ...]:
    """The Authorization headers an identity sends (the malformed column tries several)."""
    if who == "none":
        return (None,)
    if who == "malformed":
        return MALFORMED
    if who == "unknown":
        return (f"Bearer {UNKNOWN}",)
    return (f"Bearer {tokens[who]}",)


def assert_unauthorized(response: httpx.Response, authorization: str | None) -> None:
    assert_problem(response, 401, "unauthorized")
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer"), challenge
    if authorization is None:
        assert "error=" not in challenge, challenge
    elif authorization.startswith("Bearer sbk_"):
        assert 'error="invalid_token"' in challenge, challenge


async def run_cell(
    world: World, row: Row, who: Who, authorization: str | None
) -> httpx.Response | None:
    """Send the row's request as this identity; check the answer, and that a refusal (or a read)
    left the database as it was. Returns an allowed answer, for the effect check."""
    expected = row.expected[who]
    where = f"{row.request.label} as {who} ({authorization})"
    before = dump_database(world.db)
    response = await world.send(row.request, authorization)
    assert response.status_code == expected, f"{where}: {response.text}"
    if response.headers.get("content-type", "").startswith("text/html"):
        assert row.request.route.startswith(PAGES), where  # a page's refusal is a page too
    elif expected == 401:
        assert_unauthorized(response, authorization)
    elif expected == 400:
        assert_problem(response, 400, "invalid-request")
    elif expected == 422:  # an admin token that names no one to act for
        assert_problem(response, 422, "actor-required")
    elif expected == 403:
        assert_problem(response, 403)
    if expected >= 400 or not row.request.writes:
        assert dump_database(world.db) == before, f"{where} changed the database"
    return None if expected >= 400 else response


@pytest.mark.parametrize("row", ROWS, ids=[r.request.label for r in ROWS])
async def test_access_matrix_row(row: Row, worlds: WorldMaker) -> None:
    shared = await worlds()
    assert dump_database(shared.db) == shared.template.dump
    for who in IDENTITIES:
        tokens = shared.template.tokens
        for authorization in authorizations(who, tokens):
            allowed = row.expected[who] < 400
            world = await worlds() if allowed and row.request.writes else shared
            response = await run_cell(world, row, who, authorization)
            if response is not None:
                await row.check(world, who, response)
    assert dump_database(shared.db) == shared.template.dump


def test_the_table_has_a_row_for_every_route() -> None:
    routed = {(op.method, op.path) for op in OPERATIONS}
    tabled = {(r.request.method, r.request.route) for r in ROWS}
    assert tabled == routed
    public = {(op.method, op.path) for op in OPERATIONS if op.public}
    for r in ROWS:
        # A public route answers everyone alike (the token changes nothing); any other refuses
        # a caller without one.
        if (r.request.method, r.request.route) in public:
            assert len(set(r.expected.values())) == 1, r.request.label
            assert r.expected["none"] != 401, r.request.label
        else:
            assert r.expected["none"] == 401, r.request.label


# --- ids, query strings, and what one client sees of another ------------------------------------


@dataclass
class Refusal:
    who: str
    method: str
    path: str
    named: str
    json: dict[str, str] | None = None
    params: dict[str, str] = field(default_factory=dict)


async def test_a_token_in_the_query_string_is_not_accepted(worlds: WorldMaker) -> None:
    world = await worlds()
    tokens = world.template.tokens
    for name in ("token", "access_token"):
        for who, method, path, body in [
            ("admin", "GET", "/me", None),
            ("c1", "GET", "/reservations", None),
            ("p1", "POST", "/availability", NEW_WINDOW),
        ]:
            response = await world.http.request(method, path, params={name: tokens[who]}, json=body)
            assert_unauthorized(response, None)
            assert dump_database(world.db) == world.template.dump


async def test_an_id_that_is_not_the_tokens_own_is_refused_with_advice(
    worlds: WorldMaker,
) -> None:
    world = await worlds()
    ids = world.template.ids
    c_hold = {"timeSlotId": ids["C"], "timeSlot": C_AT}
    for case in [
        Refusal("p2", "POST", "/availability", "providerId", {"providerId": "p1", **NEW_WINDOW}),
        Refusal("p2", "DELETE", "/availability", "providerId", {"providerId": "p1", **NEW_WINDOW}),
        Refusal("c2", "POST", "/availability/reserve", "clientId", {"clientId": "c1", **c_hold}),
        Refusal(
            "c1",
            "PUT",
            f"/availability/confirm/{ids['A']}",
            "clientId",
            {"clientId": "c2", "timeSlot": A_AT},
        ),
        Refusal("c2", "GET", "/reservations", "clientId", params={"clientId": "c1"}),
        Refusal("c2", "DELETE", f"/reservations/{ids['B']}", "clientId", {"clientId": "c1"}),
        Refusal("c2", "DELETE", f"/reservations/{ids['B']}", "clientId", params={"clientId": "c1"}),
        Refusal("p2", "DELETE", f"/reservations/{ids['B']}", "providerId", {"providerId": "p1"}),
    ]:
        response = await world.http.request(
            case.method,
            case.path,
            json=case.json,
            params=case.params,
            headers={"Authorization": world.bearer(case.who)},
        )
        problem = assert_problem(response, 403, "forbidden")
        assert f"leave {case.named} out or send your own" in problem["detail"], (case, problem)
        assert dump_database(world.db) == world.template.dump, case


async def test_a_client_never_sees_another_clients_reservations(worlds: WorldMaker) -> None:
    world = await worlds()
    ids = world.template.ids
    theirs = await world.calendar("p2")
    c2 = {"Authorization": world.bearer("c2")}
    for slot in [theirs[A_AT], {"timeSlotId": ids["C"], "timestamp": C_AT}]:
        held = await world.http.post(
            "/availability/reserve",
            json={"timeSlotId": slot["timeSlotId"], "timeSlot": slot["timestamp"]},
            headers=c2,
        )
        assert held.status_code == 201, held.text
    mine = await world.http.get("/reservations", headers={"Authorization": world.bearer("c1")})
    assert mine.status_code == 200, mine.text
    listed = mine.json()["reservations"]
    assert [s["timeSlotId"] for s in listed] == [ids["A"], ids["B"]]
    assert {s["clientId"] for s in listed} == {"c1"}
    assert '"clientId":"c2"' not in mine.text.replace(" ", "")
    seen_by_c2 = (await world.http.get("/reservations", headers=c2)).json()["reservations"]
    assert {s["timeSlotId"] for s in seen_by_c2} == {theirs[A_AT]["timeSlotId"], ids["C"]}
    assert {s["clientId"] for s in seen_by_c2} == {"c2"}
