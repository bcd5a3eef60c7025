"""Where a webhook may be sent: http or https, to public addresses only.

A receiver named by a clinic's admin could otherwise point the server at itself, at a database on
its private network, or at a cloud's metadata service. So every address a host resolves to must be
public, both when the endpoint is registered and when each delivery connects (the connection goes
only to addresses that were checked, so a name that resolves differently the second time gains
nothing); redirects are not followed. `--allow-private-webhooks` opens loopback and private
ranges, for local use and tests; link-local addresses (where metadata services live) stay refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(OSError):
    """The receiver's address is not one a webhook may be sent to; the message says why."""


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why a webhook may not be sent to this address, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local:
        return f"{address} is a link-local address (cloud metadata services live there)"
    if address.is_multicast or address.is_unspecified:
        return f"{address} is not a single host"
    if address.is_global:
        return None
    if allow_private and (address.is_loopback or address.is_private):
        return None
    kind = "loopback" if address.is_loopback else "private or reserved"
    return (
        f"{address} is a {kind} address; webhooks go to public addresses only"
        " (a server started with --allow-private-webhooks also sends to loopback and private ones)"
    )


def url_problem(url: str) -> str | None:
    """What is wrong with a webhook URL's form, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"is not a URL: {error}"
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password; put a secret in the path if you need one"
    if port == 0:
        return "must not use port 0"
    return None


async def check_url(url: str, *, allow_private: bool) -> str | None:
    """Why a webhook may not be sent to this URL (its form, or any address its host has), or
    None when it may."""
    wrong = url_problem(url)
    if wrong is not None:
        return wrong
    host = urlsplit(url).hostname or ""
    try:
        addresses = await resolve(host)
    except OSError as error:
        return f"has a host that does not resolve: {host} ({error})"
    for address in addresses:
        why = refusal(address, allow_private=allow_private)
        if why is not None:
            return f"cannot be used: {why}"
    return None


async def resolve(host: str) -> list[IPAddress]:
    """Every address of a host (itself, when it is one)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing a host any of whose addresses may not be sent to."""

    def __init__(self, *, allow_private: bool) -> None:
        self._resolver = ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        for result in found:
            why = refusal(
                ipaddress.ip_address(result["host"].split("%")[0]),
                allow_private=self._allow_private,
            )
            if why is not None:
                raise AddressRefused(why)
        return found

    async def close(self) -> None:
        await self._resolver.close()


def literal_refusal(url: str, *, allow_private: bool) -> str | None:
    """For a URL whose host is an address (which aiohttp connects to without resolving): why it
    may not be sent to, or None."""
    host = (urlsplit(url).hostname or "").strip("[]")
    try:
        address: Any = ipaddress.ip_address(host)
    except ValueError:
        return None
    return refusal(address, allow_private=allow_private)
