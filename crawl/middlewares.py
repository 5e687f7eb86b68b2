"""Downloader middlewares and the dupefilter of the crawl.

``DomainPolicyMiddleware`` replaces Scrapy's RobotsTxtMiddleware: per origin it fetches robots.txt,
ai.txt and /.well-known/tdmrep.json once per run, refuses what robots.txt disallows for our token
(also when robots.txt is unreadable: RFC 9309), honours ``Crawl-delay``, refuses non-public
addresses for hosts that are not seeds, and hands the origin's :class:`DomainPolicy` to the
response for the consent pipeline. Every refusal raises :class:`PolicySkip`, which the spider's
errback records in ``fetches`` as 'skipped' with the reason.
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urljoin

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.httpobj import urlparse_cached

from crawl import safety
from crawl.domainfiles import FILE_PATHS, DomainFile, DomainPolicy, classify_fetch, origin_of
from crawl.page import AgentLists
from crawl.state import canonical
from provenance.ids import utcnow

POLICY_META = "provenance_policy"
DOMAIN_FILE_META = "provenance_domain_file"
KIND_META = "provenance_kind"  # 'page' | 'sitemap' | 'feed'
ADMIT_META = "provenance_admitted"  # canonical URL the request was admitted as
DEPTH_META = "provenance_depth"
GUESSED_META = "provenance_guessed"  # a /sitemap.xml tried without robots.txt naming it
FILE_PRIORITY = 1000
FILE_TIMEOUT_S = 20.0

# Sent once per origin when its policy files have been read: handlers get ``policy``.
domain_policy_loaded = object()
# Sent right before each ledger write (the admission journal must reach the disk first).
ledger_write_starting = object()


class PolicySkip(IgnoreRequest):
    """A request our policy does not fetch (robots.txt, a non-public address): outcome 'skipped'."""


def header_text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


class DomainPolicyMiddleware:
    """robots.txt, ai.txt, tdmrep.json per origin; Crawl-delay; address safety."""

    def __init__(self, crawler):
        settings = crawler.settings
        self.token = settings.get("PROVENANCE_ROBOTS_TOKEN")
        if not self.token:
            raise NotConfigured("PROVENANCE_ROBOTS_TOKEN is not set")
        self.crawler = crawler
        self.training = AgentLists.load(settings.get("PROVENANCE_AGENTS_FILE")).training
        self.trusted_hosts = {h.lower() for h in settings.getlist("PROVENANCE_TRUSTED_HOSTS")}
        self.allow_private = settings.getbool("PROVENANCE_ALLOW_PRIVATE")
        self.max_crawl_delay = settings.getfloat("PROVENANCE_MAX_CRAWL_DELAY", 30.0)
        self.file_timeout = min(FILE_TIMEOUT_S, settings.getfloat("DOWNLOAD_TIMEOUT", FILE_TIMEOUT_S))
        self._policies: dict[str, DomainPolicy | asyncio.Future] = {}
        self._refusals: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # --- requests -------------------------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            return None
        host = (parts.hostname or "").lower()
        if not self.allow_private and host not in self.trusted_hosts:
            reason = await self._refusal(host, parts.port)
            if reason is not None:
                self.crawler.stats.inc_value("provenance/skipped_address")
                raise PolicySkip(reason)
        if request.meta.get(DOMAIN_FILE_META):
            return None
        policy = await self.policy_for(request.url)
        allowed, reason = policy.may_fetch(request.url, self.token)
        if not allowed:
            self.crawler.stats.inc_value("provenance/skipped_robots")
            raise PolicySkip(reason)
        self._crawl_delay(request, policy)
        return None

    def process_response(self, request: Request, response):
        if not request.meta.get(DOMAIN_FILE_META):
            policy = self._policies.get(origin_of(request.url))
            if isinstance(policy, DomainPolicy):
                request.meta[POLICY_META] = policy  # the same dict as response.meta
        return response

    # --- addresses ------------------------------------------------------------------------------

    async def _refusal(self, host: str, port: int | None) -> str | None:
        if host in self._refusals:
            return self._refusals[host]
        literal = safety.literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError, OSError):
                self._refusals[host] = None  # the download reports the DNS error itself
                return None
            addresses = sorted({info[4][0] for info in infos})
        self._refusals[host] = safety.refusal(host, addresses)
        return self._refusals[host]

    # --- per-origin files -------------------------------------------------------------------------

    async def policy_for(self, url: str) -> DomainPolicy:
        origin = origin_of(url)
        entry = self._policies.get(origin)
        if isinstance(entry, DomainPolicy):
            return entry
        if entry is not None:
            return await asyncio.shield(entry)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._policies[origin] = future
        files = await asyncio.gather(*(self._fetch_file(origin, kind) for kind in FILE_PATHS))
        policy = DomainPolicy(origin, files, self.training)
        self._policies[origin] = policy
        future.set_result(policy)
        for f in files:
            self.crawler.stats.inc_value(f"provenance/domain_files/{f.kind}/{f.state}")
        await self.crawler.signals.send_catch_log_async(signal=domain_policy_loaded, policy=policy)
        return policy

    async def _fetch_file(self, origin: str, kind: str) -> DomainFile:
        url = origin + FILE_PATHS[kind]
        request = Request(url, priority=FILE_PRIORITY, dont_filter=True, callback=NO_CALLBACK,
                          meta={DOMAIN_FILE_META: True, "download_timeout": self.file_timeout})
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # noqa: BLE001 - any failure means "could not be read", recorded as such
            return classify_fetch(origin, kind, url, utcnow(), status=None, body=None,
                                  error=f"{type(exc).__name__}: {exc}"[:300])
        return classify_fetch(origin, kind, url, utcnow(), status=response.status, body=response.body,
                              content_type=header_text(response.headers.get(b"Content-Type")))

    def _crawl_delay(self, request: Request, policy: DomainPolicy) -> None:
        found = policy.crawl_delay(self.token)
        if found is None:
            return
        seconds = min(found[0], self.max_crawl_delay)
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        downloader.per_slot_settings[key] = {"delay": seconds, "concurrency": 1, "jitter": 0.0}
        slot = downloader.slots.get(key)
        if slot is not None:
            slot.delay, slot.concurrency, slot.jitter = seconds, 1, 0.0
        request.meta["autothrottle_dont_adjust_delay"] = True


class RedirectLoopMiddleware:
    """Stops a redirect that leads back to a URL of its own chain, naming the chain."""

    _REDIRECTS = (301, 302, 303, 307, 308)

    def process_response(self, request: Request, response):
        location = response.headers.get(b"Location")
        if response.status not in self._REDIRECTS or location is None:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if canonical(target) in {canonical(u) for u in chain}:
            raise IgnoreRequest(f"redirect loop: {' -> '.join([*chain, target])}")
        return response


class RedirectAwareDupeFilter(RFPDupeFilter):
    """Scrapy's dupefilter, except that a redirect is never dropped as a duplicate.

    Otherwise a redirect loop (or a redirect to a page already seen) ends silently, leaving no
    ``fetches`` row for the URL that was asked for.
    """

    def request_seen(self, request: Request) -> bool:
        if request.meta.get("redirect_times"):
            return False
        return super().request_seen(request)

