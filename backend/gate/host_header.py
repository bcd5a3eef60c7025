"""The Host header: a host name or an IP address (IPv6 in brackets), with an optional port, or the
request is refused with 400 before anything else looks at it (RFC 9112, section 3.2: a Host with
an invalid value is a bad request).

Without --public-url the server builds the absolute addresses it hands out (a calendar feed's)
from the Host a request came with, so a Host such as `a/b?c#d@e` would otherwise end up in them.
A request without a Host (HTTP/1.0) is let through: aiohttp then uses the address it came to.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from backend.gate.problems import ProblemError, shown

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
"""A host name (letters, digits, hyphens and underscores in dot-separated labels) or an IPv4
address, which is written the same way."""
_HOST_PORT = re.compile(r"(?:\[(?P<ipv6>[^\]]*)\]|(?P<name>[^:\[\]]*))(?::(?P<port>[0-9]{1,5}))?")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@functools.lru_cache(maxsize=256)  # every request asks; a server sees a handful of Hosts
def is_valid_host(value: str) -> bool:
    """Whether a Host header's value is a host name, an IPv4 address or a bracketed IPv6 address,
    with an optional port (1-65535)."""
    parts = _HOST_PORT.fullmatch(value)
    if parts is None or (parts["port"] is not None and not 0 < int(parts["port"]) <= 65535):
        return False
    if parts["name"] is not None:
        return len(parts["name"]) <= 253 and _NAME.fullmatch(parts["name"]) is not None
    try:
        ipaddress.IPv6Address(parts["ipv6"])
    except ValueError:
        return False
    return "%" not in parts["ipv6"]  # a zone names this machine's interface: not for a Host


@web.middleware
async def host_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a request whose Host is not a host with an optional port (aiohttp's parser
    refuses two Host headers already)."""
    host = request.headers.get(hdrs.HOST)
    if host is not None and not is_valid_host(host):
        raise ProblemError(
            "invalid-request",
            f"Host '{shown(host)}' is not a host name or an IP address (an IPv6 address in"
            " brackets) with an optional port, such as 'booking.example.org' or '127.0.0.1:8080'",
        )
    return await handler(request)
