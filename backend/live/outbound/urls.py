"""A URL the server is given to connect to later (a webhook's): its form, normalised, and every
address its host has judged by the outbound guard.

The URL is kept as yarl (aiohttp's own parser) writes it: scheme and host lower-cased, the host in
IDNA form, the default port left out, percent-encoding and dot segments normalised and an empty
path made "/". So the address that is checked is the address that aiohttp connects to, and two
spellings of one URL are stored alike.
"""

from __future__ import annotations

import ipaddress

from yarl import URL

from backend.live.outbound.guard import refusal, resolve

MAX_CHARS = 2000


class UrlRefused(ValueError):
    """The URL may not be connected to; the message says why, to follow the word "url"."""


def normalised(text: str) -> str:
    """The URL in its normal form; UrlRefused when it is not an http(s) URL of a host."""
    try:
        url = URL(text)
        url.port  # noqa: B018 - an out-of-range port is found when it is read
    except (ValueError, UnicodeError) as error:
        raise UrlRefused(f"is not a URL: {error}") from None
    if url.scheme not in ("http", "https"):
        raise UrlRefused("must be an http or https URL")
    if not url.raw_host:
        raise UrlRefused("must name a host")
    if url.user is not None or url.password is not None:
        raise UrlRefused(
            "must not carry a user name or password; put a secret in the path if you need one"
        )
    if url.raw_fragment:
        raise UrlRefused("must not have a fragment (#...): it is never sent")
    if url.port == 0:
        raise UrlRefused("must not use port 0")
    host = url.raw_host or ""
    if ":" not in host and host.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise UrlRefused(
                f"has a host of digits, {host}, that is not an IPv4 address written as four"
                " numbers (such as 192.0.2.1)"
            ) from None
    written = str(url)
    if written == str(url.origin()):  # no path and no query: "/", as aiohttp sends it
        written += "/"
    if str(URL(written)) != written:  # checked as aiohttp will read it at each delivery
        raise UrlRefused(f"does not read the same once normalised ({written})")
    if len(written) > MAX_CHARS:
        raise UrlRefused(f"is longer than {MAX_CHARS} characters once percent-encoded")
    return written


async def checked_url(text: str, *, allow_private: bool, opened_by: str) -> str:
    """The URL in its normal form, when its form is right and every address its host has may be
    connected to; else UrlRefused. `opened_by` is the option that allows private addresses."""
    written = normalised(text)
    host = URL(written).raw_host or ""  # as aiohttp connects to it
    try:
        addresses = await resolve(host)
    except OSError as error:
        raise UrlRefused(f"has a host that does not resolve: {host} ({error})") from None
    for address in addresses:
        why = refusal(address, allow_private=allow_private)
        if why is None:
            continue
        what = f"{why}" if str(address) == host else f"{host}: {why}"
        if why.local:
            raise UrlRefused(
                f"cannot be used: {what}; only public addresses are allowed (a server started"
                f" with {opened_by} also allows loopback and private ones)"
            )
        never = f", not even with {opened_by}" if allow_private else ""
        raise UrlRefused(f"cannot be used: {what}; the server never connects there{never}")
    return written
