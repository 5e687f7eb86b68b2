"""The private-address guard inside Scrapy: a DNS resolver that only ever hands out checked addresses.

Scrapy connects through Twisted's ``HostnameEndpoint``, which asks the reactor's name resolver
for addresses and connects to exactly those. :class:`GuardedResolver` is that resolver
(``TWISTED_DNS_RESOLVER``): it resolves a host once, checks every address with the crawl's
:class:`~provenance.net.AddressPolicy` and gives the endpoint nothing when one is not public, so
the download fails before any connection is made. The address checked is the address connected,
for every request and every redirect (a redirect is a new request), and a name that answers
public first and 127.0.0.1 later (DNS rebinding) cannot slip through: only checked answers are
cached, and a name is re-checked whenever it is resolved again.

``DomainPolicyMiddleware`` asks the same resolver before a request is sent (so a refused host
gets a 'skipped' row with the reason instead of a DNS error, and its robots.txt is not fetched),
and fails closed if another resolver is installed.
"""

from __future__ import annotations

import socket
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver, IHostResolution
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from provenance.net import AddressPolicy, AddressRefused
from provenance.net.addresses import normalize_host, parse_address
from provenance.net.client import system_resolver

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

RESOLVER_PATH = "crawl.netguard.GuardedResolver"
MAX_REFUSALS_KEPT = 10_000


def policy_from_settings(settings: Any) -> AddressPolicy:
    """The crawl's address policy: ``PROVENANCE_ALLOW_PRIVATE`` and ``PROVENANCE_TRUSTED_HOSTS``."""
    return AddressPolicy.of(allow_private=settings.getbool("PROVENANCE_ALLOW_PRIVATE"),
                            trusted_hosts=settings.getlist("PROVENANCE_TRUSTED_HOSTS"))


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str):
        self.name = name

    def cancel(self) -> None:  # the lookup runs in a thread and cannot be stopped; its result is dropped
        pass


@implementer(IHostnameResolver)
class GuardedResolver:
    """Resolves with ``getaddrinfo`` in the reactor's thread pool; hands out only checked addresses."""

    def __init__(self, reactor: Any, policy: AddressPolicy, *, cache_size: int = 10_000, timeout_s: float = 60.0):
        self.reactor = reactor
        self.policy = policy
        self.cache_size = cache_size
        self.timeout_s = timeout_s
        self._checked: OrderedDict[str, list[str]] = OrderedDict()  # only answers the policy allowed
        self._refusals: OrderedDict[str, str] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        settings = crawler.settings
        cache = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, policy_from_settings(settings), cache_size=cache,
                   timeout_s=settings.getfloat("DNS_TIMEOUT"))

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    # --- the check ------------------------------------------------------------------------------

    def addresses(self, host: str, port: int) -> Deferred[list[str]]:
        """The checked addresses of ``host``; fails with AddressRefused (or the lookup's error)."""
        key = normalize_host(host)
        cached = self._checked.get(key)
        if cached is not None:
            self._checked.move_to_end(key)
            return defer.succeed(cached)
        literal = parse_address(key)
        if literal is not None:
            found: Deferred[list[str]] = defer.succeed([str(literal)])
        else:
            found = deferToThreadPool(self.reactor, self.reactor.getThreadPool(), system_resolver, key, port or 80)
            found.addTimeout(self.timeout_s, self.reactor)
        return found.addCallback(self._check, host, key)

    def _check(self, addresses: Sequence[str], host: str, key: str) -> list[str]:
        reason = self.policy.refusal(host, addresses)
        if reason is not None:
            self._refusals[key] = reason
            self._refusals.move_to_end(key)
            while len(self._refusals) > MAX_REFUSALS_KEPT:
                self._refusals.popitem(last=False)
            raise AddressRefused(f"not fetched: {reason}")
        checked = list(addresses)
        if self.cache_size:
            self._checked[key] = checked
            while len(self._checked) > self.cache_size:
                self._checked.popitem(last=False)
        return checked

    def refusal(self, host: str) -> str | None:
        """Why ``host`` was last refused (None if it never was)."""
        return self._refusals.get(normalize_host(host))

    # --- IHostnameResolver ------------------------------------------------------------------------

    def resolveHostName(self, resolutionReceiver: Any, hostName: str, portNumber: int = 0,
                        addressTypes: Sequence[type] | None = None,
                        transportSemantics: str = "TCP") -> Any:
        """IHostnameResolver: the receiver gets the checked addresses, or none (no connection)."""
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)

        def deliver(addresses: list[str]) -> None:
            for address in addresses:
                ip = parse_address(address)
                kind = IPv6Address if ip is not None and ip.version == 6 else IPv4Address
                if addressTypes is None or kind in addressTypes:
                    resolutionReceiver.addressResolved(kind("TCP", address, portNumber))

        def refused(failure: Any) -> None:
            # no address: HostnameEndpoint fails with DNSLookupError, no connection is attempted
            failure.trap(AddressRefused, OSError, socket.gaierror, defer.TimeoutError, UnicodeError)

        def complete(result: Any) -> Any:
            resolutionReceiver.resolutionComplete()
            return result  # an unexpected failure stays in the chain and is logged

        found = self.addresses(hostName, portNumber)
        found.addCallbacks(deliver, refused)
        found.addBoth(complete)
        return resolution
