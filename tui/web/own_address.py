"""slotbook-web's own address, and which requests are addressed to it.

A page from another site can reach slotbook-web in two ways: by opening a WebSocket to it (the
browser then names that site in `Origin`), or by pointing its own host name at this machine (DNS
rebinding: the browser then sends that name as `Host`, and counts the answers as the other site's).
So slotbook-web has one address: `--public-url` when a proxy stands in front of it, else the
loopback address it listens on. A request whose `Host` names anything else is refused, and so is
a WebSocket whose `Origin` is not exactly that address, scheme, host and port.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback(host: str) -> bool:
    """Whether an address to listen on (a name or an IP address) is this machine's alone."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listening_url(host: str, port: int) -> str:
    """The http address of `host` (a name or an IP address) and `port`."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


@dataclass(frozen=True)
class OwnAddress:
    """`url`: scheme and host (and port), as browsers reach slotbook-web."""

    url: str

    @property
    def websocket_url(self) -> str:
        scheme = "wss" if self.url.startswith("https:") else "ws"
        return f"{scheme}:{self.url.split(':', 1)[1]}/ws"

    def names_host(self, host: str | None) -> bool:
        """Whether a request's `Host` header names this address (a port left out being the
        scheme's own, as browsers leave it)."""
        scheme = urlsplit(self.url).scheme
        return host is not None and _place(scheme, host) == _place(scheme, self._netloc)

    def is_origin(self, origin: str) -> bool:
        """Whether a request's `Origin` header is this address, scheme included."""
        scheme, _, netloc = origin.partition("://")
        mine = urlsplit(self.url).scheme
        return scheme.lower() == mine and _place(mine, netloc) == _place(mine, self._netloc)

    @property
    def _netloc(self) -> str:
        return urlsplit(self.url).netloc


def _place(scheme: str, netloc: str) -> tuple[str, int] | None:
    """The host (lower case) and port a `Host` or an origin's host part names; None when it is
    not a host name or address with an optional port (a path, user or query in it, say)."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.path or parts.query:
        return None
    if parts.fragment or netloc.endswith(":"):
        return None
    return parts.hostname, port if port is not None else _DEFAULT_PORTS[scheme]
