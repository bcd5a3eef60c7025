"""The address a visitor comes from, for the cap on sessions per address.

It is the connection's peer. Behind a proxy every visitor's peer is the proxy, so there (and only
there: `--public-url` is set, which says a proxy stands in front, and the peer is this machine)
the last `X-Forwarded-For` entry is taken instead: the address the proxy itself saw. Anywhere else
the header is ignored, since whoever connects can write it.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

from tui.web.own_address import is_loopback


def visitor_address(request: web.Request, *, behind_proxy: bool) -> str:
    peer = request.remote or ""
    if not (behind_proxy and is_loopback(peer)):
        return peer
    forwarded = ",".join(request.headers.getall("X-Forwarded-For", ()))
    last = forwarded.rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return peer
