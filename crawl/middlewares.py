"""Downloader middlewares and the dupefilter of the crawl.

``DomainPolicyMiddleware`` replaces Scrapy's RobotsTxtMiddleware: per origin it fetches robots.txt,
ai.txt and /.well-known/tdmrep.json once per run, refuses what robots.txt disallows for our token
(also when robots.txt is unreadable: RFC 9309), honours ``Crawl-delay``, refuses hosts whose
addresses are not public (asking the crawl's guarded resolver, :mod:`crawl.netguard`, which is
also what every connection goes through), and hands the origin's :class:`DomainPolicy` to the
response for the consent pipeline. ``RedirectGuardMiddleware`` stops a redirect that leaves the
crawl's scope or loops. Every refusal raises :class:`PolicySkip`, which the spider's errback
records in ``fetches`` as 'skipped' with the reason (a redirect: the redirecting URL with its
status, and the target it was not followed to).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from crawl.domainfiles import FILE_PATHS, DomainFile, DomainPolicy, classify_fetch, origin_of
from crawl.netguard import RESOLVER_PATH, GuardedResolver
from crawl.page import AgentLists
from crawl.scope import in_scope
from crawl.state import canonical
from provenance.ids import utcnow
from provenance.net import AddressRefused

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
    """A request our policy does not fetch (robots.txt, a non-public address, a redirect out of
    scope): outcome 'skipped'. ``status``: of the response that led here (a redirect's);
    ``target``: the redirect target not followed, with why."""

    def __init__(self, reason: str, *, status: int | None = None, target: tuple[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.target = target


def guarded_resolver() -> GuardedResolver:
    """The resolver every connection of this crawl goes through; fails closed when it is not ours."""
    from twisted.internet import reactor

    resolver = reactor.nameResolver
    if not isinstance(resolver, GuardedResolver):
        raise PolicySkip(f"the private-address guard is not installed (TWISTED_DNS_RESOLVER must be "
                         f"{RESOLVER_PATH}); nothing is fetched without it")
    return resolver


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
        self.max_crawl_delay = settings.getfloat("PROVENANCE_MAX_CRAWL_DELAY", 30.0)
        self.file_timeout = min(FILE_TIMEOUT_S, settings.getfloat("DOWNLOAD_TIMEOUT", FILE_TIMEOUT_S))
        self._policies: dict[str, DomainPolicy | asyncio.Future] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # --- requests -------------------------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            return None
        reason = await self._refusal(parts.hostname or "", parts.port)
        if reason is not None:
            self.crawler.stats.inc_value("provenance/skipped_address")
            raise PolicySkip(reason)
        if request.meta.get(DOMAIN_FILE_META):
            return None
        policy = await self.policy_for(request.url)
        allowed, reason = policy.may_fetch(request.url, self.token)
        if not allowed:
            self.crawler.stats.inc_value("provenance/skipped_robots")
            raise PolicySkip(reason or "robots.txt disallows it")
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
        """Why the guard refuses ``host`` (None: allowed, or a DNS error the download will report).

        The guarded resolver resolves and checks the host now and keeps the checked answer,
        which is what the connection then uses; a refusal is never cached.
        """
        resolver = guarded_resolver()
        try:
            await maybe_deferred_to_future(resolver.addresses(host, port or 80))
        except AddressRefused as exc:
            return str(exc)
        except (OSError, UnicodeError, defer.TimeoutError):
            return None
        return None

    def process_exception(self, request: Request, exception: BaseException):
        """A connection the resolver refused fails as a DNS error: record it as the skip it is."""
        if isinstance(exception, DNSLookupError):
            reason = guarded_resolver().refusal(urlparse_cached(request).hostname or "")
            if reason is not None:
                self.crawler.stats.inc_value("provenance/skipped_address")
                raise PolicySkip(f"not fetched: {reason}")
        return None

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


class RedirectGuardMiddleware:
    """Stops a redirect that leaves the crawl's scope or leads back into its own chain.

    Scrapy would drop an out-of-scope redirect silently when it is scheduled (its offsite
    filter); here it becomes a 'skipped' row for the redirecting URL (with its 3xx status) and
    one for the target, so every fetch attempt is accounted for. A redirect within scope goes on
    as a new request, through robots.txt and the address guard like any other.
    """

    _REDIRECTS = (301, 302, 303, 307, 308)

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request: Request, response):
        location = response.headers.get(b"Location")
        if response.status not in self._REDIRECTS or location is None or request.meta.get(DOMAIN_FILE_META):
            return response
        try:
            target = urljoin(request.url, location.decode("latin-1"))
        except ValueError:
            return response  # Scrapy's redirect middleware ignores it too; the 3xx is recorded
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if canonical(target) in {canonical(u) for u in chain}:
            raise IgnoreRequest(f"redirect loop: {' -> '.join([*chain, target])}")
        domains = getattr(self.crawler.spider, "allowed_domains", None) or []
        if domains and target.lower().startswith(("http://", "https://")) and not in_scope(target, domains):
            self.crawler.stats.inc_value("provenance/skipped_redirect_out_of_scope")
            raise PolicySkip(f"redirected to {target}, outside the crawl's scope: not followed",
                             status=response.status,
                             target=(target, f"outside the crawl's scope ({', '.join(domains[:5])}; "
                                             f"--allow-domain adds hosts): redirect from {request.url} "
                                             f"not followed"))
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

