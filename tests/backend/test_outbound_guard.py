"""The outbound address guard, address by address: what it refuses, with and without private
addresses allowed, and why. Every address is judged on what it is, not on how it is written: the
IPv6 forms that carry an IPv4 address are judged by the IPv4 inside. Over HTTP (registration and
delivery) the same guard is exercised in tests/backend/test_webhooks.py."""

from __future__ import annotations

import ipaddress

import pytest

from backend.live.outbound.guard import AddressRefused, GuardedResolver, refusal
from backend.live.outbound.urls import normalised

PUBLIC = None
"""Admitted with and without private addresses allowed."""
LOCAL = "local"
"""Refused unless private addresses are allowed."""
NEVER = "never"
"""Refused even where private addresses are allowed."""

ADDRESSES = [
    # address, verdict, what the refusal says
    ("8.8.8.8", PUBLIC, ""),
    ("2001:4860:4860::8888", PUBLIC, ""),
    ("64:ff9b::808:808", PUBLIC, ""),  # NAT64 of a public address
    ("2002:808:808::1", PUBLIC, ""),  # 6to4 of a public address
    ("::ffff:8.8.8.8", PUBLIC, ""),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", PUBLIC, ""),  # Teredo: server and client public
    # IPv4-compatible, NAT64, 6to4 and IPv4-mapped forms of loopback and private addresses
    ("::127.0.0.1", LOCAL, "carries 127.0.0.1 (IPv4-compatible, deprecated, RFC 4291)"),
    ("::7f00:1", LOCAL, "carries 127.0.0.1 (IPv4-compatible, deprecated, RFC 4291)"),
    ("64:ff9b::7f00:1", LOCAL, "carries 127.0.0.1 (NAT64, RFC 6052)"),
    ("64:ff9b::a00:1", LOCAL, "carries 10.0.0.1 (NAT64, RFC 6052)"),
    ("2002:7f00:1::", LOCAL, "carries 127.0.0.1 (6to4, RFC 3056)"),
    ("::ffff:127.0.0.1", LOCAL, "carries 127.0.0.1 (IPv4-mapped, RFC 4291)"),
    ("::ffff:192.168.1.1", LOCAL, "carries 192.168.1.1 (IPv4-mapped, RFC 4291)"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", LOCAL, "carries 65.54.227.120 and 10.0.0.1 (Teredo"),
    # loopback and private
    ("127.0.0.1", LOCAL, "127.0.0.0/8, loopback (RFC 1122)"),
    ("::1", LOCAL, "::1/128, loopback (RFC 4291)"),
    ("10.1.2.3", LOCAL, "10.0.0.0/8, private-use (RFC 1918)"),
    ("172.31.0.1", LOCAL, "172.16.0.0/12, private-use (RFC 1918)"),
    ("192.168.0.1", LOCAL, "192.168.0.0/16, private-use (RFC 1918)"),
    ("100.64.0.1", LOCAL, "100.64.0.0/10, shared address space (carrier-grade NAT) (RFC 6598)"),
    ("fd12:3456::1", LOCAL, "fc00::/7, unique-local (RFC 4193)"),
    # link-local and cloud metadata, in every spelling
    ("169.254.169.254", NEVER, "instance metadata service"),
    ("169.254.1.1", NEVER, "169.254.0.0/16, link-local (RFC 3927)"),
    ("fe80::1", NEVER, "fe80::/10, link-local (RFC 4291)"),
    ("fe80::1%eth0", NEVER, "fe80::/10, link-local (RFC 4291)"),
    ("64:ff9b::a9fe:a9fe", NEVER, "carries 169.254.169.254 (NAT64, RFC 6052), and 169.254.169.254"),
    ("2002:a9fe:a9fe::", NEVER, "carries 169.254.169.254 (6to4, RFC 3056)"),
    ("::ffff:169.254.169.254", NEVER, "carries 169.254.169.254 (IPv4-mapped, RFC 4291)"),
    ("::a9fe:a9fe", NEVER, "carries 169.254.169.254 (IPv4-compatible"),
    ("2001:0:4136:e378:8000:63bf:5601:5601", NEVER, "and 169.254.169.254 (Teredo, RFC 4380)"),
    ("2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7", NEVER, "169.254.169.254 and 8.8.8.8 (Teredo"),
    ("fd00:ec2::254", NEVER, "AWS's instance metadata service over IPv6"),
    ("fd20:ce::254", NEVER, "Google Cloud's metadata server over IPv6"),
    ("100.100.100.200", NEVER, "Alibaba Cloud's metadata service"),
    ("64:ff9b::6464:64c8", NEVER, "carries 100.100.100.200 (NAT64"),
    ("168.63.129.16", NEVER, "Azure's WireServer"),
    ("192.0.0.192", NEVER, "Oracle Cloud's metadata service"),
    # the rest of the special-purpose registries, and what is outside global unicast
    ("192.0.0.8", NEVER, "192.0.0.0/24, IETF protocol assignments (RFC 6890)"),
    ("0.0.0.0", NEVER, "0.0.0.0/8, 'this network' (RFC 791)"),
    ("0.1.2.3", NEVER, "0.0.0.0/8, 'this network' (RFC 791)"),
    ("192.0.2.1", NEVER, "documentation (TEST-NET-1) (RFC 5737)"),
    ("198.51.100.1", NEVER, "documentation (TEST-NET-2) (RFC 5737)"),
    ("203.0.113.1", NEVER, "documentation (TEST-NET-3) (RFC 5737)"),
    ("198.18.0.1", NEVER, "198.18.0.0/15, benchmarking (RFC 2544)"),
    ("192.88.99.1", NEVER, "6to4 relay anycast, deprecated (RFC 7526)"),
    ("192.31.196.1", NEVER, "AS112 DNS sink (RFC 7535)"),
    ("192.175.48.1", NEVER, "AS112 direct delegation (RFC 7534)"),
    ("192.52.193.1", NEVER, "automatic multicast tunneling (RFC 7450)"),
    ("224.0.0.1", NEVER, "224.0.0.0/4, multicast (RFC 5771)"),
    ("240.0.0.1", NEVER, "240.0.0.0/4, reserved (RFC 1112)"),
    ("255.255.255.255", NEVER, "limited broadcast (RFC 919)"),
    ("::", NEVER, "::/128, unspecified (RFC 4291)"),
    ("::2", NEVER, "carries 0.0.0.2 (IPv4-compatible"),
    ("fec0::1", NEVER, "fec0::/10, site-local, deprecated (RFC 3879)"),
    ("ff02::1", NEVER, "ff00::/8, multicast (RFC 4291)"),
    ("100::1", NEVER, "100::/64, discard-only (RFC 6666)"),
    ("64:ff9b:1::a00:1", NEVER, "local-use NAT64, whose IPv4 address cannot be told (RFC 8215)"),
    ("64:ff9b:1::808:808", NEVER, "local-use NAT64"),
    ("2001:db8::1", NEVER, "2001:db8::/32, documentation (RFC 3849)"),
    ("3fff::1", NEVER, "3fff::/20, documentation (RFC 9637)"),
    ("2001:2::1", NEVER, "2001::/23, IETF protocol assignments (RFC 2928)"),
    ("2620:4f:8000::1", NEVER, "AS112 direct delegation (RFC 7534)"),
    ("5f00::1", NEVER, "segment routing (SRv6) SIDs (RFC 9602)"),
    ("4000::1", NEVER, "outside 2000::/3, the global unicast space (RFC 4291)"),
    ("::ffff:0:7f00:1", NEVER, "outside 2000::/3"),  # IPv4-translated (SIIT): not global unicast
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", NEVER, "and 192.0.2.45 (Teredo, RFC 4380)"),
]


@pytest.mark.parametrize(("text", "verdict", "reason"), ADDRESSES, ids=[a[0] for a in ADDRESSES])
def test_an_address_is_judged_on_what_it_is(text: str, verdict: str | None, reason: str) -> None:
    address = ipaddress.ip_address(text)
    closed = refusal(address, allow_private=False)
    opened = refusal(address, allow_private=True)
    if verdict is PUBLIC:
        assert (closed, opened) == (None, None)
        return
    assert closed is not None
    assert reason in str(closed), closed
    assert closed.local is (verdict == LOCAL)
    if verdict == LOCAL:
        assert opened is None
    else:
        assert opened == closed


@pytest.mark.parametrize(
    ("name", "allow_private", "reason"),
    [
        ("localhost", False, "localhost: 127.0.0.1 is in 127.0.0.0/8, loopback"),
        ("0x7f000001", False, "0x7f000001: 127.0.0.1 is in 127.0.0.0/8, loopback"),
        ("0xa9fea9fe", True, "0xa9fea9fe: 169.254.169.254 is the instance metadata service"),
        ("0xa9.0xfe.0xa9.0xfe", True, "169.254.169.254 is the instance metadata service"),
    ],
)
async def test_the_resolver_refuses_a_name_of_a_refused_address(
    name: str, allow_private: bool, reason: str
) -> None:
    """A name is judged by the addresses it resolves to, when each connection is made."""
    with pytest.raises(AddressRefused) as refused:
        await GuardedResolver(allow_private=allow_private).resolve(name, 80)
    assert reason in str(refused.value)


async def test_the_resolver_gives_an_allowed_name_its_addresses() -> None:
    (found,) = await GuardedResolver(allow_private=True).resolve("0x7f000001", 80)
    assert (found["host"], found["port"]) == ("127.0.0.1", 80)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("HTTP://Bücher.Example:80/Ä?ö=1", "http://xn--bcher-kva.example/%C3%84?%C3%B6=1"),
        ("https://EXAMPLE.org:443", "https://example.org/"),
        ("http://example.org:8080/a/./b/../%7e%41?x=%7e", "http://example.org:8080/a/~A?x=~"),
        ("http://example.org/100%", "http://example.org/100%25"),
    ],
)
def test_a_url_is_kept_in_the_form_aiohttp_connects_to(sent: str, kept: str) -> None:
    """The host in IDNA form (what is resolved and connected to), the default port left out,
    percent-encoding and dot segments normalised (the stored form over HTTP is in
    tests/backend/test_webhooks.py, whose hosts must resolve without a DNS server)."""
    assert normalised(sent) == kept
