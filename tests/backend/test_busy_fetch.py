"""Reading a provider's calendars and writing bookings back, against real servers on loopback: the
suite's Radicale (tests/radicale_server.py) for CalDAV, and an aiohttp server of the test's own
serving iCalendar URLs as Google, Outlook or a web host would. Every failure is checked for the
words a provider reads, never a traceback or the password."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import icalendar
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from backend.live.busy.caldav_write import WriteConflict, delete_event, put_event
from backend.live.busy.caldav_xml import calendar_data
from backend.live.busy.calendar_http import MAX_BYTES, calendar_session
from backend.live.busy.fetch import Fetched, FetchFailed, fetch_caldav, fetch_ics
from backend.live.outbound.sessions import guarded_session
from tests.postgres_server import free_port
from tests.radicale_server import CalendarServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


WEEK_START = epoch("2031-03-10T00:00:00")
WEEK_END = epoch("2031-03-17T00:00:00")


def calendar(*events: str, extra: str = "") -> str:
    body = "".join(events)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//slotbook tests//EN\r\n"
        f"{extra}{body}END:VCALENDAR\r\n"
    )


def vevent(uid: str, start: str, end: str, *lines: str) -> str:
    more = "".join(f"{line}\r\n" for line in lines)
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20310101T000000Z\r\n"
        f"DTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{uid}\r\n{more}END:VEVENT\r\n"
    )


def uids(fetched: Fetched) -> dict[str, icalendar.Calendar]:
    """Each document fetched, by the UID of its events."""
    assert fetched.calendars is not None
    found = {}
    for document in fetched.calendars:
        parsed = icalendar.Calendar.from_ical(document)
        (uid,) = {str(event["UID"]) for event in parsed.walk("VEVENT")}
        found[uid] = parsed
    return found


def lines(document: str | bytes) -> list[bytes]:
    """A document's content lines in order of their text: Radicale keeps every line of an event
    put into it, but not their order."""
    return sorted((document.encode() if isinstance(document, str) else document).splitlines())


def held(radicale: CalendarServer, url: str, uid: str) -> tuple[list[bytes], str] | None:
    """The event as the calendar holds it (its lines) and its ETag; None when it has none."""
    got = radicale.get(url, uid)
    return None if got is None else (lines(got[0]), got[1])


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A calendar session that may connect to loopback (where the test servers are)."""
    async with calendar_session(allow_private=True) as opened:
        yield opened


async def caldav_week(
    session: aiohttp.ClientSession, radicale: CalendarServer, url: str, password: str = ""
) -> Fetched:
    login = {**radicale.login, "password": password or radicale.password}
    return await fetch_caldav(session, url, start=WEEK_START, end=WEEK_END, **login)


# CalDAV, against Radicale


async def test_a_time_range_query_answers_the_events_in_the_range_and_only_those(
    session: aiohttp.ClientSession, radicale: CalendarServer
) -> None:
    url = radicale.calendar()
    weekly = calendar(
        vevent(
            "weekly", "20310203T090000Z", "20310203T100000Z",
            "RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE:20310224T090000Z",
        ),
        vevent(
            "weekly", "20310311T150000Z", "20310311T160000Z", "RECURRENCE-ID:20310310T090000Z"
        ),
    )  # fmt: skip
    documents = {
        "inside": calendar(vevent("inside", "20310312T100000Z", "20310312T110000Z")),
        "across-start": calendar(vevent("across-start", "20310309T230000Z", "20310310T010000Z")),
        "weekly": weekly,
        "ends-at-start": calendar(vevent("ends-at-start", "20310309T220000Z", "20310310T000000Z")),
        "starts-at-end": calendar(vevent("starts-at-end", "20310317T000000Z", "20310317T010000Z")),
        "next-month": calendar(vevent("next-month", "20310412T100000Z", "20310412T110000Z")),
        "ended-before": calendar(
            vevent("ended-before", "20310106T090000Z", "20310106T100000Z",
                   "RRULE:FREQ=DAILY;COUNT=3")
        ),
    }  # fmt: skip
    for uid, document in documents.items():
        radicale.put(url, uid, document)

    fetched = await caldav_week(session, radicale, url)

    found = uids(fetched)
    assert sorted(found) == ["across-start", "inside", "weekly"]
    assert (fetched.etag, fetched.last_modified) == (None, None)
    # The recurring event whole: its rule, its exception and its moved instance.
    master, moved = found["weekly"].walk("VEVENT")
    assert master.decoded("RRULE")["FREQ"] == ["WEEKLY"]
    assert "EXDATE" in master
    assert moved.decoded("RECURRENCE-ID") == datetime(2031, 3, 10, 9, tzinfo=UTC)


async def test_an_empty_range_of_a_calendar_answers_no_documents(
    session: aiohttp.ClientSession, radicale: CalendarServer
) -> None:
    url = radicale.calendar()
    radicale.put(url, "later", calendar(vevent("later", "20320101T100000Z", "20320101T110000Z")))
    assert (await caldav_week(session, radicale, url)).calendars == []


async def test_a_wrong_password_is_said_so_and_never_repeated(
    session: aiohttp.ClientSession, radicale: CalendarServer
) -> None:
    url = radicale.calendar()
    wrong = "not the password at all"
    with pytest.raises(FetchFailed) as failed:
        await caldav_week(session, radicale, url, password=wrong)
    assert str(failed.value) == "the calendar refused the user name and password (401)"
    with pytest.raises(FetchFailed) as anonymous:
        await fetch_caldav(
            session, url, username=None, password=None, start=WEEK_START, end=WEEK_END
        )
    assert str(anonymous.value) == "the calendar asks for a user name and password (401)"
    with pytest.raises(FetchFailed) as writing:
        await put_event(session, url, "x", b"", username=radicale.user, password=wrong, etag=None)
    assert str(writing.value) == "the calendar refused the user name and password (401)"


async def test_a_calendar_that_is_not_there_is_a_404(
    session: aiohttp.ClientSession, radicale: CalendarServer
) -> None:
    with pytest.raises(FetchFailed) as failed:
        await caldav_week(session, radicale, f"{radicale.origin}/{radicale.user}/no-such/")
    assert str(failed.value) == "no calendar at this address (404)"


async def test_a_server_stopped_mid_way_says_it_could_not_connect(
    session: aiohttp.ClientSession, radicale: CalendarServer
) -> None:
    url = radicale.calendar()
    radicale.put(url, "inside", calendar(vevent("inside", "20310312T100000Z", "20310312T110000Z")))
    assert sorted(uids(await caldav_week(session, radicale, url))) == ["inside"]
    with radicale.stopped():
        with pytest.raises(FetchFailed) as failed:
            await caldav_week(session, radicale, url)
        assert str(failed.value) == (
            f"could not connect to 127.0.0.1:{radicale.port}: connection refused"
        )
        with pytest.raises(FetchFailed) as writing:
            await put_event(session, url, "new", b"", etag=None, **radicale.login)
        assert str(writing.value) == str(failed.value)
    assert sorted(uids(await caldav_week(session, radicale, url))) == ["inside"]


async def test_an_event_is_written_updated_and_deleted_guarded_by_its_etag(
    session: aiohttp.ClientSession, radicale: CalendarServer
) -> None:
    url, login = radicale.calendar(), radicale.login
    uid = "appointment-1@slotbook.test"
    first = calendar(vevent(uid, "20310312T100000Z", "20310312T110000Z")).encode()
    moved = calendar(vevent(uid, "20310313T100000Z", "20310313T110000Z")).encode()

    etag = await put_event(session, url, uid, first, etag=None, **login)
    assert held(radicale, url, uid) == (lines(first), etag)
    assert sorted(uids(await caldav_week(session, radicale, url))) == [uid]
    # Made again as new: one is there already.
    with pytest.raises(WriteConflict) as exists:
        await put_event(session, url, uid, moved, etag=None, **login)
    assert str(exists.value) == "an event with this UID is already in the calendar (412)"

    moved_etag = await put_event(session, url, uid, moved, etag=etag, **login)
    assert moved_etag != etag
    assert held(radicale, url, uid) == (lines(moved), moved_etag)
    # Written with the ETag it had before the move: refused, and the calendar keeps the move.
    with pytest.raises(WriteConflict) as stale:
        await put_event(session, url, uid, first, etag=etag, **login)
    assert str(stale.value) == "the event was changed in the calendar meanwhile (412)"
    assert held(radicale, url, uid) == (lines(moved), moved_etag)

    await delete_event(session, url, uid, etag=moved_etag, **login)
    assert held(radicale, url, uid) is None
    await delete_event(session, url, uid, etag=moved_etag, **login)  # already gone: fine


async def test_an_event_changed_in_the_calendar_behind_us_is_a_conflict(
    session: aiohttp.ClientSession, radicale: CalendarServer
) -> None:
    url, login = radicale.calendar(), radicale.login
    uid = "appointment-2@slotbook.test"
    ours = calendar(vevent(uid, "20310312T100000Z", "20310312T110000Z")).encode()
    etag = await put_event(session, url, uid, ours, etag=None, **login)
    theirs = calendar(vevent(uid, "20310312T100000Z", "20310312T113000Z", "LOCATION:Room 2"))
    their_etag = radicale.put(url, uid, theirs)  # the provider edits it in their calendar app

    with pytest.raises(WriteConflict) as changed:
        await put_event(session, url, uid, ours, etag=etag, **login)
    assert str(changed.value) == "the event was changed in the calendar meanwhile (412)"
    with pytest.raises(WriteConflict):
        await delete_event(session, url, uid, etag=etag, **login)
    assert held(radicale, url, uid) == (lines(theirs), their_etag)


# iCalendar URLs and odd servers, on an aiohttp server of the test's own


class Site:
    """An aiohttp server on loopback answering each path with a handler the test sets, keeping
    the headers of every request it got."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server = TestServer(web.Application(), host="127.0.0.1")
        self.server.app.router.add_route("*", "/{path:.*}", self._dispatch)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, dict(request.headers)))
        handler = self.routes.get(request.path)
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server.port}{path}"


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    serving = Site()
    await serving.server.start_server()
    try:
        yield serving
    finally:
        await serving.server.close()


BUSY = calendar(vevent("dentist", "20310312T100000Z", "20310312T110000Z")).encode()


async def ics(
    session: aiohttp.ClientSession,
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    return await fetch_ics(
        session,
        url,
        username=username,
        password=password,
        etag=etag,
        last_modified=last_modified,
    )


async def test_an_ics_url_with_an_etag_answers_304_until_it_changes(
    session: aiohttp.ClientSession, site: Site
) -> None:
    versions = [(BUSY, '"v1"')]

    async def feed(request: web.Request) -> web.Response:
        body, etag = versions[-1]
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="text/calendar", headers={"ETag": etag})

    site.routes["/secret/basic.ics"] = feed
    url = site.url("/secret/basic.ics")

    first = await ics(session, url)
    assert first == Fetched([BUSY], '"v1"', None)
    again = await ics(session, url, etag=first.etag)
    assert again == Fetched(None, '"v1"', None)
    assert site.requests[-1][1]["If-None-Match"] == '"v1"'

    changed = calendar(vevent("gym", "20310313T100000Z", "20310313T110000Z")).encode()
    versions.append((changed, '"v2"'))
    assert await ics(session, url, etag=again.etag) == Fetched([changed], '"v2"', None)


async def test_an_ics_url_with_last_modified_answers_304_when_unchanged(
    session: aiohttp.ClientSession, site: Site
) -> None:
    stamp = "Mon, 03 Mar 2031 10:00:00 GMT"

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        # Served as many web hosts serve a .ics file: a type that is not text/calendar.
        return web.Response(
            body=b"\xef\xbb\xbf" + BUSY,
            content_type="application/octet-stream",
            headers={"Last-Modified": stamp},
        )

    site.routes["/cal.ics"] = feed
    first = await ics(session, site.url("/cal.ics"))
    assert first == Fetched([b"\xef\xbb\xbf" + BUSY], None, stamp)
    assert await ics(session, site.url("/cal.ics"), last_modified=stamp) == Fetched(
        None, None, stamp
    )


async def test_an_ics_url_asking_for_a_password_gets_it(
    session: aiohttp.ClientSession, site: Site
) -> None:
    expected = aiohttp.encode_basic_auth("provider", "pässword")

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="cal"'})
        return web.Response(body=BUSY, content_type="text/calendar")

    site.routes["/private.ics"] = feed
    url = site.url("/private.ics")
    fetched = await ics(session, url, username="provider", password="pässword")
    assert fetched.calendars == [BUSY]
    with pytest.raises(FetchFailed) as refused:
        await ics(session, url, username="provider", password="wrong")
    assert str(refused.value) == "the calendar refused the user name and password (401)"


async def test_a_password_is_not_sent_on_to_another_origin(
    session: aiohttp.ClientSession, site: Site
) -> None:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=BUSY, content_type="text/calendar")

    site.routes["/here.ics"] = away_to(site.url("/there.ics", host="localhost"))
    site.routes["/there.ics"] = feed
    fetched = await ics(session, site.url("/here.ics"), username="provider", password="secret")
    assert fetched.calendars == [BUSY]
    here, there = (headers for _, headers in site.requests)
    assert "Authorization" in here
    assert "Authorization" not in there


async def test_an_ics_url_that_redirects_is_followed(
    session: aiohttp.ClientSession, site: Site
) -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/new.ics")

    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=BUSY, content_type="text/calendar")

    site.routes.update({"/old.ics": moved, "/new.ics": feed})
    assert (await ics(session, site.url("/old.ics"))).calendars == [BUSY]


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (404, "no calendar at this address (404)"),
        (403, "this user may not read the calendar (403)"),
        (410, "the calendar is gone from this address (410)"),
        (503, "the calendar server failed (503 Service Unavailable)"),
        (405, "the address does not take this request (405 Method Not Allowed): is it a calendar?"),
        (429, "the calendar server asks for fewer requests (429)"),
        (418, "the calendar server answered 418 I'm a Teapot"),
        (499, "the calendar server answered 499"),
    ],
)
async def test_an_ics_url_that_answers_an_error_says_which(
    status: int, words: str, session: aiohttp.ClientSession, site: Site
) -> None:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(status=status, text="<html>Oops: a traceback here</html>")

    site.routes["/cal.ics"] = feed
    with pytest.raises(FetchFailed) as failed:
        await ics(session, site.url("/cal.ics"))
    assert str(failed.value) == words


async def test_a_web_page_is_not_a_calendar(session: aiohttp.ClientSession, site: Site) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>Sign in</title>", content_type="text/html")

    site.routes["/calendar"] = page
    with pytest.raises(FetchFailed) as failed:
        await ics(session, site.url("/calendar"))
    assert str(failed.value) == "the answer was not a calendar (text/html)"
    with pytest.raises(FetchFailed) as reported:
        await fetch_caldav(
            session, site.url("/calendar"), username="u", password="p", start=0, end=1
        )
    assert str(reported.value) == "the answer was not a calendar (text/html)"


async def test_an_answer_over_the_size_limit_is_refused(
    session: aiohttp.ClientSession, site: Site
) -> None:
    async def declared(request: web.Request) -> web.Response:
        return web.Response(body=BUSY + b" " * MAX_BYTES, content_type="text/calendar")

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/calendar"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(BUSY)
        chunk = b"X-FILLER:" + b"x" * (1024 * 1024)
        for _ in range(11):
            await response.write(chunk)
        await response.write_eof()
        return response

    site.routes.update({"/declared.ics": declared, "/streamed.ics": streamed})
    for path in ("/declared.ics", "/streamed.ics"):
        with pytest.raises(FetchFailed) as failed:
            await ics(session, site.url(path))
        assert str(failed.value) == "the answer is larger than 10 MiB", path


async def test_a_connection_that_breaks_says_how(
    session: aiohttp.ClientSession, site: Site
) -> None:
    async def hang_up(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async def cut_short(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/calendar", "Content-Length": "1000"}
        )
        await response.prepare(request)
        await response.write(BUSY[:20])
        assert request.transport is not None
        request.transport.close()
        return response

    site.routes.update(
        {"/loop.ics": away_to("/loop.ics"), "/hang-up.ics": hang_up, "/cut.ics": cut_short}
    )
    where = f"127.0.0.1:{site.server.port}"
    expected = {
        "/loop.ics": f"more than 5 redirects from {where}",
        "/hang-up.ics": f"{where} closed the connection without answering",
        "/cut.ics": f"the answer from {where} broke off",
    }
    closed = free_port()  # nothing listens there
    site.routes["/gone.ics"] = away_to(f"http://localhost:{closed}/cal.ics")
    expected["/gone.ics"] = f"could not connect to localhost:{closed}: connection refused"
    for path, words in expected.items():
        with pytest.raises(FetchFailed) as failed:
            await ics(session, site.url(path))
        assert str(failed.value) == words, path
    with pytest.raises(FetchFailed) as colon:
        await ics(session, site.url("/loop.ics"), username="a:b", password="p")
    assert str(colon.value) == "the user name may not contain a colon (:)"
    for unusable in ("http://[::1", "webcal://example.org/cal.ics"):
        with pytest.raises(FetchFailed) as refused:
            await ics(session, unusable)
        assert str(refused.value) == "the address is not a URL that can be fetched", unusable


async def test_a_server_that_does_not_answer_times_out(site: Site) -> None:
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        raise AssertionError("never answered")

    site.routes["/slow.ics"] = hang
    async with guarded_session(allow_private=True, timeout=0.3, user_agent="test") as quick:
        with pytest.raises(FetchFailed) as failed:
            await ics(quick, site.url("/slow.ics"))
    assert str(failed.value) == "timed out after 0.3 s"


async def test_a_private_address_is_refused_unless_allowed(site: Site) -> None:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=BUSY, content_type="text/calendar")

    site.routes["/cal.ics"] = feed
    by_address, by_name = site.url("/cal.ics"), site.url("/cal.ics", host="localhost")
    async with calendar_session(allow_private=False) as closed:
        for url, prefix in [(by_address, ""), (by_name, "localhost: ")]:
            with pytest.raises(FetchFailed) as refused:
                await ics(closed, url)
            assert str(refused.value) == (
                f"the address is refused: {prefix}127.0.0.1 is in 127.0.0.0/8, loopback (RFC 1122)"
            )
    assert site.requests == []  # refused before connecting
    async with calendar_session(allow_private=True) as opened:
        assert (await ics(opened, by_address)).calendars == [BUSY]
        assert (await ics(opened, by_name)).calendars == [BUSY]
        # Link-local (cloud metadata) never, even where private addresses are allowed.
        with pytest.raises(FetchFailed) as never:
            await ics(opened, "http://169.254.169.254/latest/meta-data/")
        assert str(never.value) == (
            "the address is refused: 169.254.169.254 is the instance metadata service of AWS,"
            " Google Cloud, Azure and others"
        )


async def test_a_redirect_to_a_refused_address_is_refused(site: Site) -> None:
    site.routes["/meta.ics"] = away_to("http://169.254.169.254/latest/meta-data/")
    async with calendar_session(allow_private=True) as opened:
        with pytest.raises(FetchFailed) as refused:
            await ics(opened, site.url("/meta.ics"))
    assert str(refused.value).startswith("the address is refused: 169.254.169.254 is the")


def away_to(target: str) -> Handler:
    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound(target)

    return away


async def test_a_put_answered_without_an_etag_asks_for_it(
    session: aiohttp.ClientSession, site: Site
) -> None:
    """A CalDAV server that changed what it stored answers a PUT without an ETag (RFC 4791,
    section 5.3.4): the ETag is read back from the event."""
    stored: dict[str, bytes] = {}

    async def resource(request: web.Request) -> web.Response:
        if request.method == "PUT":
            stored[request.path] = await request.read() + b"X-ADDED-BY-SERVER:1\r\n"
            return web.Response(status=201)
        return web.Response(body=stored[request.path], headers={"ETag": '"server-1"'})

    site.routes["/dav/cal/a@b.ics"] = resource
    etag = await put_event(
        session, site.url("/dav/cal/"), "a@b", BUSY, username=None, password=None, etag=None
    )
    assert etag == '"server-1"'
    assert [method for method, _ in site.requests] == ["PUT", "GET"]
    assert site.requests[0][1]["If-None-Match"] == "*"


@pytest.mark.parametrize(
    ("status", "etag", "words"),
    [
        (409, None, "no calendar collection at this address (409)"),
        (507, None, "the calendar has no room left (507)"),
        (403, None, "this user may not store the event in the calendar (403)"),
        (201, None, "the calendar stored the event but gives it no ETag"),
        (201, "403", "this user may not read the calendar (403)"),
    ],
)
async def test_a_write_the_calendar_refuses_says_why(
    status: int, etag: str | None, words: str, session: aiohttp.ClientSession, site: Site
) -> None:
    async def resource(request: web.Request) -> web.Response:
        if request.method == "PUT":
            return web.Response(status=status)
        # The event read back for its ETag (the PUT's answer had none): none given, or refused.
        return web.Response(status=int(etag) if etag else 200, body=BUSY)

    site.routes["/dav/cal/e.ics"] = resource
    with pytest.raises(FetchFailed) as failed:
        await put_event(
            session, site.url("/dav/cal"), "e", BUSY, username="u", password="p", etag=None
        )
    assert str(failed.value) == words


async def test_a_delete_the_calendar_refuses_says_why(
    session: aiohttp.ClientSession, site: Site
) -> None:
    async def resource(request: web.Request) -> web.Response:
        return web.Response(status=403)

    site.routes["/dav/cal/e.ics"] = resource
    with pytest.raises(FetchFailed) as failed:
        await delete_event(
            session, site.url("/dav/cal/"), "e", username="u", password="p", etag='"1"'
        )
    assert str(failed.value) == "this user may not delete the event from the calendar (403)"
    assert site.requests[-1][1]["If-Match"] == '"1"'


async def test_a_caldav_answer_that_is_not_well_formed_says_so(
    session: aiohttp.ClientSession, site: Site
) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(
            status=207, body=b"<d:multistatus xmlns:d='DAV:'><d:response>", content_type="text/xml"
        )

    site.routes["/dav/cal/"] = broken
    with pytest.raises(FetchFailed) as failed:
        await fetch_caldav(
            session, site.url("/dav/cal/"), username=None, password=None, start=0, end=1
        )
    assert str(failed.value).startswith("the calendar's answer could not be read as XML: ")
    assert site.requests[0][0] == "REPORT"
    assert site.requests[0][1]["Depth"] == "1"


def test_an_event_listed_without_its_data_is_not_passed_over() -> None:
    """A multistatus whose event has no calendar data fails the fetch rather than leaving the
    event's busy time out; a resource the server says is gone is left out."""
    answer = b"""<?xml version="1.0"?>
    <D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
      <D:response><D:href>/c/a.ics</D:href>
        <D:propstat><D:prop><C:calendar-data>BEGIN:VCALENDAR</C:calendar-data></D:prop>
        <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
      <D:response><D:href>/c/gone.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status>
      </D:response>
    </D:multistatus>"""
    assert calendar_data(answer) == [b"BEGIN:VCALENDAR"]
    without = answer.replace(
        b"<D:response><D:href>/c/gone.ics</D:href>",
        b"<D:response><D:href>/c/b.ics</D:href><D:propstat><D:prop><C:calendar-data/></D:prop>"
        b"<D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>"
        b"<D:response><D:href>/c/gone.ics</D:href>",
    )
    with pytest.raises(FetchFailed) as failed:
        calendar_data(without)
    assert str(failed.value) == "the calendar listed an event without its data"
    with pytest.raises(FetchFailed) as other:
        calendar_data(b"<D:error xmlns:D='DAV:'/>")
    assert str(other.value) == "the calendar's answer was not a CalDAV list of events"
