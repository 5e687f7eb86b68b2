"""The one network layer: user agent, private-address guard, robots.txt decision, guarded client.

Every stage that touches the network goes through here. The crawl runs on Scrapy, whose
downloader uses this package's guard through its DNS resolver (``crawl.netguard``); the other
fetchers (transcribe's media and robots.txt) use :class:`Client` and :class:`RobotsCache`.
Both send :func:`user_agent`, obey robots.txt for :data:`ROBOTS_TOKEN` with :func:`may_fetch`,
and refuse non-public addresses unless :class:`AddressPolicy` allows them (``--allow-private``).
"""

from provenance.net.addresses import AddressPolicy, address_problem
from provenance.net.agent import ROBOTS_TOKEN, user_agent, version
from provenance.net.client import (
    MAX_REDIRECTS, AddressRefused, Client, Hop, NetError, Response, TimedOut, TooLarge, TooManyRedirects,
)
from provenance.net.robots import RobotsCache, RobotsFile, RobotsRefused, may_fetch, status_state

__all__ = [
    "MAX_REDIRECTS", "ROBOTS_TOKEN", "AddressPolicy", "AddressRefused", "Client", "Hop", "NetError", "Response",
    "RobotsCache", "RobotsFile", "RobotsRefused", "TimedOut", "TooLarge", "TooManyRedirects", "address_problem", "may_fetch",
    "status_state", "user_agent", "version",
]
