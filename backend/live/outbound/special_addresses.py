"""The address tables the outbound guard decides by, each row with the RFC that defines it.

`IPV4` and `IPV6` are IANA's IPv4 and IPv6 Special-Purpose Address Registries, with multicast
and IPv6's deprecated site-local space added. The server connects to none of their addresses,
except the rows marked `local` (loopback, private-use, shared and unique-local space) where
private addresses are allowed. A row that `carries` an IPv4 address (IPv4-mapped, IPv4-compatible,
NAT64, 6to4, Teredo) is not judged itself: the IPv4 addresses inside are. An IPv6 address in no row
must be in 2000::/3, the global unicast space. `METADATA` lists cloud services' addresses that are
never connected to, whatever is allowed.

Rows are looked up in order, so a narrower row comes before the row that contains it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address

Carried = Callable[[IPv6Address], tuple[IPv4Address, ...]]
"""The IPv4 addresses an IPv6 address of a row carries."""


@dataclass(frozen=True)
class Row:
    network: IPv4Network | IPv6Network
    name: str
    rfc: str
    local: bool = False
    """This machine's or its own network's: admitted where private addresses are allowed."""
    carries: Carried | None = None


def _bits(address: IPv6Address, start: int) -> IPv4Address:
    """The 32 bits of an IPv6 address from bit `start` (0: the first), as an IPv4 address."""
    return IPv4Address((int(address) >> (96 - start)) & 0xFFFF_FFFF)


def _last_32(address: IPv6Address) -> tuple[IPv4Address, ...]:
    return (_bits(address, 96),)


def _sixtofour(address: IPv6Address) -> tuple[IPv4Address, ...]:
    return (_bits(address, 16),)


def _teredo(address: IPv6Address) -> tuple[IPv4Address, ...]:
    """The Teredo server's address (bits 32-63), and the client's (the last 32 bits, inverted)."""
    return (_bits(address, 32), IPv4Address(int(_bits(address, 96)) ^ 0xFFFF_FFFF))


def _row(
    cidr: str, name: str, rfc: str, *, local: bool = False, carries: Carried | None = None
) -> Row:
    return Row(ip_network(cidr), name, rfc, local, carries)


IPV4 = (
    _row("0.0.0.0/8", "'this network'", "RFC 791"),
    _row("10.0.0.0/8", "private-use", "RFC 1918", local=True),
    _row("100.64.0.0/10", "shared address space (carrier-grade NAT)", "RFC 6598", local=True),
    _row("127.0.0.0/8", "loopback", "RFC 1122", local=True),
    _row("169.254.0.0/16", "link-local", "RFC 3927"),
    _row("172.16.0.0/12", "private-use", "RFC 1918", local=True),
    _row("192.0.0.0/24", "IETF protocol assignments", "RFC 6890"),
    _row("192.0.2.0/24", "documentation (TEST-NET-1)", "RFC 5737"),
    _row("192.31.196.0/24", "AS112 DNS sink", "RFC 7535"),
    _row("192.52.193.0/24", "automatic multicast tunneling", "RFC 7450"),
    _row("192.88.99.0/24", "6to4 relay anycast, deprecated", "RFC 7526"),
    _row("192.168.0.0/16", "private-use", "RFC 1918", local=True),
    _row("192.175.48.0/24", "AS112 direct delegation", "RFC 7534"),
    _row("198.18.0.0/15", "benchmarking", "RFC 2544"),
    _row("198.51.100.0/24", "documentation (TEST-NET-2)", "RFC 5737"),
    _row("203.0.113.0/24", "documentation (TEST-NET-3)", "RFC 5737"),
    _row("224.0.0.0/4", "multicast", "RFC 5771"),
    _row("255.255.255.255/32", "limited broadcast", "RFC 919"),
    _row("240.0.0.0/4", "reserved", "RFC 1112"),
)

IPV6 = (
    _row("::1/128", "loopback", "RFC 4291", local=True),
    _row("::/128", "unspecified", "RFC 4291"),
    _row("::ffff:0:0/96", "IPv4-mapped", "RFC 4291", carries=_last_32),
    _row("::/96", "IPv4-compatible, deprecated", "RFC 4291", carries=_last_32),
    _row("64:ff9b::/96", "NAT64", "RFC 6052", carries=_last_32),
    # Where an IPv4 address sits in a local-use NAT64 address depends on the prefix length its
    # network chose (RFC 6052, section 2.2), which the address does not tell: it cannot be judged.
    _row("64:ff9b:1::/48", "local-use NAT64, whose IPv4 address cannot be told", "RFC 8215"),
    _row("100::/64", "discard-only", "RFC 6666"),
    _row("2001::/32", "Teredo", "RFC 4380", carries=_teredo),
    _row("2001::/23", "IETF protocol assignments", "RFC 2928"),
    _row("2001:db8::/32", "documentation", "RFC 3849"),
    _row("2002::/16", "6to4", "RFC 3056", carries=_sixtofour),
    _row("2620:4f:8000::/48", "AS112 direct delegation", "RFC 7534"),
    _row("3fff::/20", "documentation", "RFC 9637"),
    _row("5f00::/16", "segment routing (SRv6) SIDs", "RFC 9602"),
    _row("fc00::/7", "unique-local", "RFC 4193", local=True),
    _row("fe80::/10", "link-local", "RFC 4291"),
    _row("fec0::/10", "site-local, deprecated", "RFC 3879"),
    _row("ff00::/8", "multicast", "RFC 4291"),
)

GLOBAL_UNICAST = Row(ip_network("2000::/3"), "global unicast", "RFC 4291")
"""The only IPv6 space an address in no row of IPV6 may be in."""

METADATA: dict[IPAddress, str] = {
    ip_address(text): what
    for text, what in (
        ("169.254.169.254", "the instance metadata service of AWS, Google Cloud, Azure and others"),
        ("169.254.170.2", "AWS's container credentials service (ECS)"),
        ("169.254.170.23", "AWS's EKS Pod Identity Agent"),
        ("100.100.100.200", "Alibaba Cloud's metadata service"),
        ("192.0.0.192", "Oracle Cloud's metadata service"),
        ("168.63.129.16", "Azure's WireServer, the platform's agent endpoint"),
        ("fd00:ec2::254", "AWS's instance metadata service over IPv6"),
        ("fd00:ec2::23", "AWS's EKS Pod Identity Agent over IPv6"),
        ("fd20:ce::254", "Google Cloud's metadata server over IPv6"),
    )
}
"""Cloud services a server in that cloud reaches, and whose answers are its credentials."""
