"""Which addresses this tool may connect to: the private-address (SSRF) guard.

A URL found on a page, in a feed, in an ``<audio src>`` or behind a redirect must not turn the
tool against the network it runs in (``http://169.254.169.254/`` cloud metadata,
``http://10.0.0.1/admin``, ``http://localhost:8080/``). Every address a connection would go to is
checked here, *after* name resolution and on the very address that is then connected (see
:mod:`provenance.net.client` and the crawl's resolver), so a name that resolves to a public
address once and to 127.0.0.1 the next time (DNS rebinding) cannot slip through.

Refused: loopback, RFC 1918 private, link-local, shared/CGNAT (100.64.0.0/10), unspecified,
multicast, broadcast, reserved and every other special-purpose block that is not globally
reachable (documentation, benchmarking, IPv6 ULA and site-local, ...), and IPv6 forms that embed
such an IPv4 address: IPv4-mapped (``::ffff:127.0.0.1``), IPv4-compatible (``::127.0.0.1``), NAT64
(``64:ff9b::/96``, and the local-use ``64:ff9b:1::/48``), 6to4 (``2002::/16``) and Teredo
(``2001::/32``).

:class:`AddressPolicy` carries the one switch that lets private addresses through, for local test
sites: ``allow_private`` (``--allow-private`` on the command line) allows every address, and
``trusted_hosts`` allows the non-public addresses of exactly these hosts (the crawler trusts
seeds that *are* an IP address, such as ``http://127.0.0.1:8000/``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_TEREDO = ipaddress.IPv6Network("2001::/32")
# Blocks of the IANA special-purpose registries that are not globally reachable, listed here so
# the answer does not depend on the Python version's ``is_global`` (3.11 misses some of them).
_V4_SPECIAL = tuple(ipaddress.IPv4Network(n) for n in (
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24"))
_V6_SPECIAL = tuple(ipaddress.IPv6Network(n) for n in ("100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16"))

ALLOW_PRIVATE_HINT = "pass --allow-private to reach private addresses, e.g. a test site on this machine"


def parse_address(text: str) -> IPAddress | None:
    """An IP address from its text (``[::1]`` brackets and an IPv6 ``%zone`` allowed), else None."""
    bare = text.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return None


def _v4_problem(ip: ipaddress.IPv4Address) -> str | None:
    if ip in _THIS_NETWORK:
        return "unspecified ('this network', 0.0.0.0/8)"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _CGNAT:
        return "shared address space (CGNAT, 100.64.0.0/10)"
    if any(ip in net for net in _RFC1918):
        return "private"
    if ip == _BROADCAST:
        return "broadcast"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global or any(ip in net for net in _V4_SPECIAL):
        return "special-purpose, not globally reachable"
    return None


def address_problem(address: str | IPAddress) -> str | None:
    """Why this tool must not connect to ``address`` (a short category), or None when it is public.

    Text that is not an IP address is refused too: only resolved addresses are checked here.
    """
    ip = address if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address) else parse_address(address)
    if ip is None:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_problem(ip)
    embedded: tuple[str, ipaddress.IPv4Address] | None = None
    if ip.ipv4_mapped is not None:
        embedded = ("IPv4-mapped", ip.ipv4_mapped)
    elif ip in _NAT64:
        embedded = ("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    elif ip.sixtofour is not None:
        embedded = ("6to4", ip.sixtofour)
    if embedded is not None:
        form, v4 = embedded
        problem = _v4_problem(v4)
        return f"{form} form of {v4}, {problem}" if problem else None
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip in _IPV4_COMPATIBLE:
        return f"IPv4-compatible form of {ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)} (deprecated, reserved)"
    if ip in _NAT64_LOCAL:
        return "local-use NAT64 (64:ff9b:1::/48)"
    if ip in _TEREDO:
        return "Teredo tunnel (2001::/32)"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_site_local:
        return "site-local (deprecated)"
    if ip.is_private:
        return "private (unique local)" if ip in ipaddress.IPv6Network("fc00::/7") else "special-purpose, not globally reachable"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global or any(ip in net for net in _V6_SPECIAL):
        return "special-purpose, not globally reachable"
    return None


def normalize_host(host: str) -> str:
    """A host as compared here: lower case, no brackets, no trailing dot."""
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which resolved addresses may be connected to.

    ``allow_private``: every address may (local test sites; the documented ``--allow-private``).
    ``trusted_hosts``: hosts (as written in URLs) whose non-public addresses are allowed.
    """

    allow_private: bool = False
    trusted_hosts: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *, allow_private: bool = False, trusted_hosts: Iterable[str] = ()) -> AddressPolicy:
        return cls(allow_private, frozenset(normalize_host(h) for h in trusted_hosts if h))

    def trusts(self, host: str) -> bool:
        return self.allow_private or normalize_host(host) in self.trusted_hosts

    def refusal(self, host: str, addresses: Iterable[str]) -> str | None:
        """Why ``host`` must not be connected to at these (resolved) addresses, or None.

        One non-public address among them refuses the host: a name that mixes public and
        private answers is how DNS rebinding is set up.
        """
        if self.trusts(host):
            return None
        bad = []
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                bad.append(f"{address.split('%', 1)[0]}: {problem}")
        if not bad:
            return None
        what = "is" if parse_address(host) is not None else "resolves to"
        return f"{normalize_host(host)} {what} a non-public address ({'; '.join(bad[:3])}); {ALLOW_PRIVATE_HINT}"
