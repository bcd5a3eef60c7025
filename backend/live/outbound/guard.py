"""The outbound address guard: whether the server may connect to an address, and the resolver and
literal check that hold every connection to that.

An address is judged on what it is, not on how it is written: an IPv6 address that carries an
IPv4 address (IPv4-mapped or -compatible, NAT64, 6to4, Teredo) is judged by the IPv4 inside, and
other IPv6 addresses must be global unicast. The tables are in `special_addresses`. Loopback and
private addresses are admitted only where the caller allows private addresses; link-local,
cloud metadata and every other special-purpose address never.

The check runs when a URL is given and again at each connection: aiohttp connects only to the
addresses the resolver returned (so a name that resolves differently the second time gains
nothing), and to an address literal without resolving it, which `literal_refusal` covers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from backend.live.outbound.special_addresses import GLOBAL_UNICAST, IPV4, IPV6, METADATA, IPAddress


class AddressRefused(OSError):
    """The server may not connect to this address; the message says why."""


@dataclass(frozen=True)
class Refusal:
    """Why the server may not connect to an address."""

    reason: str
    """What the address is, with the RFC that says so: "127.0.0.1 is in 127.0.0.0/8, loopback
    (RFC 1122)"."""
    local: bool
    """Loopback or private: refused only because private addresses are not allowed."""

    def __str__(self) -> str:
        return self.reason


def judged(address: IPAddress) -> Refusal | None:
    """Why no connection may go to this address where private ones are not allowed, or None
    (a public address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        address = ipaddress.IPv6Address(int(address))  # the zone changes nothing
    if address in METADATA:
        return Refusal(f"{address} is {METADATA[address]}", local=False)
    table = IPV4 if isinstance(address, ipaddress.IPv4Address) else IPV6
    row = next((r for r in table if address in r.network), None)
    if row is None:
        if isinstance(address, ipaddress.IPv6Address) and address not in GLOBAL_UNICAST.network:
            space = f"{GLOBAL_UNICAST.network}, the {GLOBAL_UNICAST.name} space"
            return Refusal(f"{address} is outside {space} ({GLOBAL_UNICAST.rfc})", local=False)
        return None
    if row.carries is None or not isinstance(address, ipaddress.IPv6Address):
        return Refusal(f"{address} is in {row.network}, {row.name} ({row.rfc})", row.local)
    carried = row.carries(address)
    refused = [r for r in map(judged, carried) if r is not None]
    if not refused:
        return None
    worst = next((r for r in refused if not r.local), refused[0])
    inside = " and ".join(map(str, carried))
    return Refusal(
        f"{address} carries {inside} ({row.name}, {row.rfc}), and {worst}",
        local=all(r.local for r in refused),
    )


def refusal(address: IPAddress, *, allow_private: bool) -> Refusal | None:
    """Why the server may not connect to this address, or None when it may."""
    why = judged(address)
    return None if why is None or (why.local and allow_private) else why


async def resolve(host: str) -> list[IPAddress]:
    """Every address of a host (the host itself, when it is an address)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0])) for info in infos]


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing a host any of whose addresses may not be connected to."""

    def __init__(self, *, allow_private: bool) -> None:
        self._resolver = ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        for result in found:
            address = ipaddress.ip_address(result["host"])
            why = refusal(address, allow_private=self._allow_private)
            if why is not None:
                raise AddressRefused(f"{host}: {why}")
        return found

    async def close(self) -> None:
        await self._resolver.close()


def literal_refusal(url: str, *, allow_private: bool) -> Refusal | None:
    """For a URL whose host is an address (which aiohttp connects to without resolving): why it
    may not be connected to, or None."""
    try:
        address = ipaddress.ip_address(URL(url).raw_host or "")
    except ValueError:
        return None
    return refusal(address, allow_private=allow_private)
