"""The wire shapes of calendar feeds: POST, GET and DELETE /calendar-feeds.

A feed is a secret address (`.../calendar/<secret>.ics`) that a calendar program subscribes to
without a bearer token; the address is shown once, when the feed is made.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from shared.wire import PartyId, ResponseTime, _Answer, _Body

FeedId = Annotated[
    str,
    Meta(
        pattern=r"^[0-9a-f]{16}$",
        description="The feed's public id: 16 lowercase hex digits.",
        examples=["3f9a0c2e6b1d4e8f"],
    ),
]


class CalendarFeedRequest(_Body):
    """POST /calendar-feeds: a feed of the caller's own holds and bookings. A provider's or a
    client's token needs no body; an admin names whose feed it makes, with one of the two ids."""

    provider_id: PartyId | UnsetType = UNSET
    client_id: PartyId | UnsetType = UNSET


class CalendarFeedInfo(_Answer):
    """A feed as listed: whose holds and bookings it shows, never its address."""

    feed_id: FeedId
    role: Literal["provider", "client"]
    """Whose feed: a provider's (its slots' holds and bookings) or a client's (its own)."""
    subject: str
    """The providerId or clientId."""
    created_at: ResponseTime


class CalendarFeedCreated(_Answer):
    """Answer to POST /calendar-feeds. `url` is the subscription address, shown this once: anyone
    who has it can read the feed, so keep it as secret as a token. A replay of the request under
    its Idempotency-Key has it null."""

    message: str
    feed_id: FeedId
    url: str | None
    feed: CalendarFeedInfo


class CalendarFeeds(_Answer):
    """Answer to GET /calendar-feeds: the caller's feeds (every feed, for an admin)."""

    feeds: list[CalendarFeedInfo]


class CalendarFeedRevoked(_Answer):
    """Answer to DELETE /calendar-feeds/{feedId}: its address answers 404 from now on."""

    message: str
    feed: CalendarFeedInfo
