"""Calendar feeds: POST, GET and DELETE /calendar-feeds, and the feed itself at
GET /calendar/{secret}.ics, which a calendar program polls without a bearer token (the secret in
the address is the credential)."""

from __future__ import annotations

import re
import secrets

from aiohttp import web

from backend.api.context import context, public_address
from backend.api.idempotency import exclusive, once_for, perform
from backend.api.operation import Operation, answer, answered, read_body
from backend.gate.access import caller_of, feed_owner, feed_scope
from backend.gate.problems import ProblemError, shown
from backend.gate.tokens import hash_secret
from backend.live.calendars import build_calendar, etag_of
from backend.rules.calendar_ledger import KEEP_SECONDS
from backend.runtime.version import slotbook_version
from backend.store.base import Answer, CalendarFeed
from shared.calendar_wire import (
    CalendarFeedCreated,
    CalendarFeedInfo,
    CalendarFeedRequest,
    CalendarFeedRevoked,
    CalendarFeeds,
)
from shared.timefmt import format_time

_FEED_ID = re.compile(r"[0-9a-f]{16}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")


def feed_info(feed: CalendarFeed) -> CalendarFeedInfo:
    return CalendarFeedInfo(
        feed_id=feed.feed_id,
        role=feed.role,
        subject=feed.subject,
        created_at=format_time(feed.created_at),
    )


def feed_url(request: web.Request, secret: str) -> str:
    """The subscription address: under --public-url when the server has one, else under the
    address this request was made to."""
    return f"{public_address(request)}/calendar/{secret}.ics"


async def create_calendar_feed(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    body = await read_body(request, CalendarFeedRequest, required=False)
    role, subject = feed_owner(caller, body.provider_id, body.client_id)
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed(secrets.token_hex(8), role, subject, ctx.now())

    def created(result: CalendarFeed, url: str | None) -> CalendarFeedCreated:
        message = (
            "Calendar feed made; subscribe to url in your calendar program and keep it secret:"
            " it is shown only this once"
            if url
            else "Calendar feed made by an earlier request with this Idempotency-Key; its url"
            " was shown only then"
        )
        return CalendarFeedCreated(
            message=message, feed_id=result.feed_id, url=url, feed=feed_info(result)
        )

    def stored(result: CalendarFeed) -> Answer:
        # The address is never stored, not even in the answer kept for a retry.
        return answered(created(result, None), status=201)

    once = await once_for(request, caller, stored)
    async with exclusive(request, once):
        await ctx.store.create_calendar_feed(feed, hash_secret(secret), once=once)
    return answer(created(feed, feed_url(request, secret)), 201)


async def list_calendar_feeds(request: web.Request) -> web.Response:
    scope = feed_scope(caller_of(request))
    role, subject = scope if scope is not None else (None, None)
    feeds = await context(request).store.calendar_feeds(role, subject)
    return answer(CalendarFeeds(feeds=[feed_info(f) for f in feeds]))


async def revoke_calendar_feed(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    feed_id = request.match_info["feedId"]
    if not _FEED_ID.fullmatch(feed_id):
        raise ProblemError(
            "calendar-feed-not-found",
            f"No calendar feed has id '{shown(feed_id)}'; GET /calendar-feeds lists yours",
        )
    scope, now = feed_scope(caller), ctx.now()

    def render(feed: CalendarFeed) -> Answer:
        return answered(
            CalendarFeedRevoked(
                message="Calendar feed revoked: its address no longer answers",
                feed=feed_info(feed),
            )
        )

    return await perform(
        request,
        caller,
        render,
        lambda once: ctx.store.delete_calendar_feed(feed_id, scope, now, once=once),
    )


def matches_if_none_match(request: web.Request, etag: str) -> bool:
    """Whether If-None-Match names this feed's current bytes, as RFC 9110 compares it for a GET:
    `*`, or any tag of the list whose opaque value is ours, weak (`W/"..."`) or strong."""
    tags = request.if_none_match  # aiohttp's parse of the list; None without the header
    return tags is not None and any(tag.value in ("*", etag) for tag in tags)


async def calendar_feed(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    secret = request.match_info["secret"]
    feed = (
        await ctx.store.calendar_feed_by_secret(hash_secret(secret))
        if _SECRET.fullmatch(secret)
        else None
    )
    if feed is None:
        raise ProblemError(
            "calendar-feed-not-found",
            "No calendar feed has this address; it may have been revoked",
        )
    now = ctx.now()
    entries = await ctx.store.calendar_entries(feed.role, feed.subject, now - KEEP_SECONDS)
    body = build_calendar(
        entries, feed.role, feed.subject, feed.owner_name, now, slotbook_version()
    )
    etag = etag_of(body)
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"}
    if matches_if_none_match(request, etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers, content_type="text/calendar", charset="utf-8")


OPERATIONS = [
    Operation(
        "POST",
        "/calendar-feeds",
        create_calendar_feed,
        summary="Make a calendar feed: a secret address a calendar program subscribes to",
        tag="calendars",
        description="A provider's feed shows the holds and bookings of its slots, a client's its"
        " own, from 30 days back on; a cancelled one stays 30 days as CANCELLED. A provider's or"
        " client's token needs no body; an admin names whose feed with providerId or clientId.",
        body=CalendarFeedRequest,
        body_required=False,
        answers={201: (CalendarFeedCreated, "The feed; its address is shown only in this answer")},
        problems={
            403: "The token names another provider or client",
            422: "An admin named neither or both of providerId and clientId",
        },
    ),
    Operation(
        "GET",
        "/calendar-feeds",
        list_calendar_feeds,
        summary="The caller's calendar feeds, without their addresses (an admin: every feed)",
        tag="calendars",
        answers={200: (CalendarFeeds, "The feeds")},
    ),
    Operation(
        "DELETE",
        "/calendar-feeds/{feedId}",
        revoke_calendar_feed,
        summary="Revoke a calendar feed: its address answers 404 at once",
        tag="calendars",
        path_params={"feedId": str},
        answers={200: (CalendarFeedRevoked, "Revoked")},
        problems={404: "No feed of the caller's has this id"},
    ),
    Operation(
        "GET",
        "/calendar/{secret}.ics",
        calendar_feed,
        summary="A calendar feed as iCalendar (RFC 5545), for calendar programs to poll",
        tag="calendars",
        description="No bearer token: the secret in the address is the credential. Answers 304"
        " to an If-None-Match that matches (`*`, or a list of tags compared weakly, so"
        ' `W/"..."` matches too), so a poll that finds nothing new is cheap.',
        path_params={"secret": str},
        media_type="text/calendar",
        answers={
            200: (None, "The feed: one VEVENT per hold, booking and recent cancellation"),
            304: (None, "Nothing changed since the ETag sent in If-None-Match"),
        },
        problems={404: "No feed has this address (never made, or revoked)"},
        public=True,
    ),
]
