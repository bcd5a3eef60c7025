"""One HTTP exchange with a provider's calendar server, as the fetchers and the write-back make it:
a session through the outbound guard, Basic auth when a user name is given, answers read within a
size limit, and every way it can fail said in words a provider understands (`FetchFailed`): never
a traceback, never the password, never the URL's path (a secret iCalendar address keeps its
secret there), and no text the server chose but a content type.
"""

from __future__ import annotations

import os
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Literal

import aiohttp
from yarl import URL

from backend.live.outbound.guard import AddressRefused
from backend.live.outbound.sessions import guarded_session

TIMEOUT_SECONDS = 30.0
"""How long one request may take, from connecting to the last byte of its answer."""

MAX_BYTES = 10 * 1024 * 1024
"""The largest answer read (once decompressed): a calendar larger than this is refused."""

MAX_REDIRECTS = 5

USER_AGENT = "slotbook-calendars"

Action = Literal["read", "store", "delete"]
"""What was asked of the calendar, for the words of a refusal."""


class FetchFailed(Exception):
    """A calendar could not be read or written; the message says why, in a provider's words."""


class WriteConflict(FetchFailed):
    """The event was changed (or made) in the calendar since its ETag was known (412)."""


def calendar_session(*, allow_private: bool) -> aiohttp.ClientSession:
    """A session for reading and writing calendars: connections only where the outbound guard
    allows (loopback and private addresses too with `allow_private`), each request limited to
    TIMEOUT_SECONDS. The caller closes it."""
    return guarded_session(
        allow_private=allow_private, timeout=TIMEOUT_SECONDS, user_agent=USER_AGENT
    )


def where(url: str | URL) -> str:
    """The host (and port, when it is not the scheme's usual one) a URL names: what a message may
    say of it."""
    return URL(url).host_port_subcomponent or "?"


@asynccontextmanager
async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    *,
    username: str | None,
    password: str | None,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """The answer to one request, redirects followed (aiohttp sends the user name and password on
    only to the same origin: Basic auth, UTF-8, RFC 7617); a failure to connect, to answer or to
    read the answer in the block raises FetchFailed in words."""
    unusable = FetchFailed("the address is not a URL that can be fetched")
    try:
        asked = URL(url)
        host = where(asked)
    except ValueError:
        raise unusable from None
    sent = dict(headers or {})
    if username is not None:
        if ":" in username:
            raise FetchFailed("the user name may not contain a colon (:)")
        sent["Authorization"] = aiohttp.encode_basic_auth(username, password or "")
    try:
        async with session.request(
            method, url, headers=sent, data=data, max_redirects=MAX_REDIRECTS
        ) as response:
            yield response
    except FetchFailed:
        raise
    except TimeoutError:
        total = session.timeout.total
        raise FetchFailed(
            f"timed out after {total:g} s" if total else f"{host} took too long to answer"
        ) from None
    except aiohttp.ClientConnectorError as failed:
        raise FetchFailed(connect_failure(failed, asked)) from None
    except aiohttp.TooManyRedirects:
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects from {host}") from None
    except aiohttp.ServerDisconnectedError:
        raise FetchFailed(f"{host} closed the connection without answering") from None
    except aiohttp.ClientPayloadError:
        raise FetchFailed(f"the answer from {host} broke off") from None
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
        raise unusable from None
    except aiohttp.ClientError as failed:
        raise FetchFailed(f"the request to {host} failed ({failed.__class__.__name__})") from None


def connect_failure(failed: aiohttp.ClientConnectorError, asked: URL) -> str:
    """Why a connection failed: to the host asked for, or to the one a redirect led to."""
    same = (failed.host, failed.port) == (asked.host, asked.port)
    host = (
        where(asked)
        if same
        else where(URL.build(scheme="http", host=failed.host, port=failed.port))
    )
    cause = failed.os_error
    if isinstance(cause, AddressRefused):
        return f"the address is refused: {cause}"
    if isinstance(failed, aiohttp.ClientConnectorCertificateError):
        why = getattr(failed.certificate_error, "verify_message", None) or "it cannot be verified"
        return f"the certificate of {host} is not valid: {why}"
    if isinstance(failed, aiohttp.ClientSSLError):
        return f"could not make a secure connection to {host}"
    if isinstance(failed, aiohttp.ClientConnectorDNSError):
        words = cause.strerror or str(cause)
        return f"could not find {host}: {words[:1].lower()}{words[1:]}"
    words = os.strerror(cause.errno) if cause.errno else (cause.strerror or str(cause))
    return f"could not connect to {host}: {words[:1].lower()}{words[1:]}"


def status_failure(status: int, *, action: Action, credentials: bool) -> FetchFailed:
    """A calendar's answer that is neither success nor what the caller handles itself, in words;
    `credentials` tells whether a user name was sent."""
    code = f"{status} {phrase(status)}".rstrip()
    if status == 401:
        if credentials:
            return FetchFailed("the calendar refused the user name and password (401)")
        return FetchFailed("the calendar asks for a user name and password (401)")
    if status == 403:
        verb = {"read": "read", "store": "store the event in", "delete": "delete the event from"}
        return FetchFailed(f"this user may not {verb[action]} the calendar (403)")
    if status == 404:
        return FetchFailed("no calendar at this address (404)")
    if status == 405:
        return FetchFailed(f"the address does not take this request ({code}): is it a calendar?")
    if status == 409 and action == "store":
        return FetchFailed("no calendar collection at this address (409)")
    if status == 410:
        return FetchFailed("the calendar is gone from this address (410)")
    if status == 429:
        return FetchFailed("the calendar server asks for fewer requests (429)")
    if status == 507:
        return FetchFailed("the calendar has no room left (507)")
    if status >= 500:
        return FetchFailed(f"the calendar server failed ({code})")
    return FetchFailed(f"the calendar server answered {code}")


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def content_type(response: aiohttp.ClientResponse) -> str:
    """The answer's media type, as a message may quote it (printable, at most 100 characters)."""
    kept = "".join(c for c in response.content_type if c in string.printable[:94])
    return kept[:100] or "no type"


def mebibytes(count: int) -> str:
    return f"{count / (1024 * 1024):g} MiB"


async def read_within(response: aiohttp.ClientResponse, limit: int = MAX_BYTES) -> bytes:
    """The answer's body (decompressed); FetchFailed as soon as it is seen to pass `limit`."""
    too_large = FetchFailed(f"the answer is larger than {mebibytes(limit)}")
    if response.content_length is not None and response.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
