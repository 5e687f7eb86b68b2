"""The crawl's spider: admission of URLs (scope, depth, page budget, resume), response triage.

Every URL the crawl decides to fetch is *admitted* first: in scope (the seeds' hosts and
``allow_domains``, subdomains included, as Scrapy's ``allowed_domains``), within ``max_depth``
and ``max_pages``, not admitted before. Admissions are journaled in the crawl state, so a resumed
crawl knows its frontier even after a kill. Responses become items: HTML pages (``PageItem``),
sitemaps and feeds (followed; feed enclosures become ``MediaItem``), and everything else a
``FetchItem`` with its outcome and reason.
"""

from __future__ import annotations

import struct
from pathlib import Path
from urllib.parse import urljoin

import scrapy
from scrapy import signals
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

from crawl.analysis import PageJob
from crawl.config import CrawlSettings
from crawl.domainfiles import DomainPolicy, origin_of
from crawl.items import FetchItem, MediaItem, PageItem
from crawl.media import feed_enclosures, is_media_url, looks_like_feed
from crawl.middlewares import (
    ADMIT_META, DEPTH_META, GUESSED_META, KIND_META, POLICY_META, PolicySkip, domain_policy_loaded,
    ledger_write_starting,
)
from crawl.page import HTML_TYPES, KEPT_HEADERS, FetchedPage, content_type_of, looks_like_html
from crawl.pool import AnalysisPool
from crawl.scope import host_of, in_scope
from crawl.state import Admitted, CrawlState, canonical
from provenance.ids import utcnow
from provenance.records import FetchOutcome, FetchRecord, MediaRef

FEED_TYPES = ("application/rss+xml", "application/atom+xml")
MAX_SITEMAP_BYTES = 50 * 1024 * 1024


def _join(base: str, ref: str) -> str:
    """``ref`` resolved against ``base``; empty (never in scope) when it is not a URL."""
    try:
        return urljoin(base, ref)
    except ValueError:
        return ""


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


class ProvenanceSpider(scrapy.Spider):
    name = "provenance"

    def __init__(self, *, seeds: list[str], settings: dict, state_dir: str, mode: str,
                 invalid_seeds: list[dict] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.cfg = CrawlSettings.from_dict(settings)
        self.seed_urls = list(seeds)
        self.invalid_seeds = list(invalid_seeds or [])
        self.allowed_domains = sorted({host_of(u) for u in seeds} | {d.lower() for d in self.cfg.allow_domains})
        self.seed_origins = {origin_of(u) for u in seeds}
        self.crawl_state = CrawlState(Path(state_dir))
        self.mode = mode
        self._admitted: dict[str, Admitted] = self.crawl_state.admitted()
        self._pages = sum(1 for a in self._admitted.values() if a.kind == "page")
        self._journal = self.crawl_state.admission_log()
        self._reached: set[str] = set()
        self.budget_reached = False
        # Links come from the page analysis; this extractor only serves pages too large to analyze.
        self.links = LinkExtractor(unique=True)  # scope is checked in admit(): its domain filter counts the port
        self.pool: AnalysisPool | None = None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.pool = AnalysisPool(crawler.settings.getint("PROVENANCE_WORKERS", 1),
                                   crawler.settings.getfloat("PROVENANCE_EXTRACT_TIMEOUT", 20.0))
        crawler.signals.connect(spider.policy_loaded, signal=domain_policy_loaded)
        crawler.signals.connect(spider.request_reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(spider.flush_journal, signal=ledger_write_starting)
        return spider

    # --- admission ------------------------------------------------------------------------------

    def admit(self, url: str, depth: int, kind: str = "page", *, guessed: bool = False,
              key: str | None = None) -> scrapy.Request | None:
        """A request for ``url`` when it may be crawled and was not admitted before, else None.

        ``key``: the canonical form of ``url`` when the caller has it already.
        """
        if key is None:
            try:
                key = canonical(url)
            except ValueError:  # not a URL (http://[bad, a port out of range): nothing to fetch
                return None
        if key in self._admitted or not in_scope(url, self.allowed_domains):
            return None
        if kind == "page":
            if self.cfg.max_depth is not None and depth > self.cfg.max_depth:
                return None
            if self._pages >= self.cfg.max_pages:
                self.budget_reached = True
                return None
            self._pages += 1
        entry = Admitted(url, depth, kind)
        self._admitted[key] = entry
        self._journal.append([f"{depth}\t{kind}\t{url}"])
        return self.request_for(entry, guessed=guessed, key=key)

    def request_for(self, entry: Admitted, *, dont_filter: bool = False, guessed: bool = False,
                    key: str | None = None) -> scrapy.Request:
        return scrapy.Request(
            entry.url, callback=self.parse, errback=self.errback, dont_filter=dont_filter,
            meta={ADMIT_META: key or canonical(entry.url), DEPTH_META: entry.depth, KIND_META: entry.kind,
                  GUESSED_META: guessed},
        )

    async def start(self):
        now = utcnow()
        for bad in self.invalid_seeds:
            yield FetchItem((FetchRecord(url=bad["text"] or "(empty)", outcome="error", fetched_at=now,
                                         reason=f"invalid seed URL ({bad['where']}): {bad['reason']}"),))
        if self.mode == "clean":
            for depth, kind, url in self.crawl_state.status().get("inflight", []):
                yield self.request_for(Admitted(url, depth, kind), dont_filter=True)
        elif self.mode == "recover":
            for entry in self.crawl_state.pending():
                yield self.request_for(entry)
        for url in self.seed_urls:
            request = self.admit(url, 0)
            if request is not None:
                yield request

    def flush_journal(self) -> None:
        self._journal.flush()

    def request_reached(self, request, spider=None) -> None:
        key = request.meta.get(ADMIT_META)
        if key:
            self._reached.add(key)

    def policy_loaded(self, policy: DomainPolicy) -> None:
        """Sitemaps of a seed origin: robots.txt ``Sitemap:`` lines, else /sitemap.xml."""
        if not self.cfg.sitemaps or policy.origin not in self.seed_origins:
            return
        if not policy.may_fetch(policy.origin + "/", self.cfg.robots_token)[0] and not policy.sitemaps:
            return  # robots.txt unreadable (or the whole site closed to us): nothing to guess
        named = [u for u in (_join(policy.origin + "/", s) for s in policy.sitemaps)
                 if in_scope(u, self.allowed_domains)]
        guesses = [] if named else [policy.origin + "/sitemap.xml"]
        for url in named + guesses:
            request = self.admit(url, 0, "sitemap", guessed=url in guesses)
            if request is not None:
                self.crawler.engine.crawl(request)

    # --- responses ------------------------------------------------------------------------------

    @staticmethod
    def _redirect_rows(meta: dict, final_url: str, when) -> tuple[FetchRecord, ...]:
        urls = list(meta.get("redirect_urls", []))
        reasons = list(meta.get("redirect_reasons", []))
        rows = []
        for i, url in enumerate(urls):
            target = urls[i + 1] if i + 1 < len(urls) else final_url
            status = reasons[i] if i < len(reasons) and isinstance(reasons[i], int) else None
            rows.append(FetchRecord(url=url, outcome="skipped", fetched_at=when, status=status,
                                    reason=f"redirected to {target}"))
        return tuple(rows)

    async def parse(self, response: Response):
        now = utcnow()
        meta = response.meta
        done = (meta[ADMIT_META],) if meta.get(ADMIT_META) else ()
        redirects = self._redirect_rows(meta, response.url, now)
        ctype = content_type_of(response.headers.get(b"Content-Type"))
        kind = meta.get(KIND_META, "page")

        def fetch_item(outcome: FetchOutcome, reason: str | None) -> FetchItem:
            row = FetchRecord(url=response.url, outcome=outcome, fetched_at=now, status=response.status,
                              reason=reason, content_type=ctype, n_bytes=len(response.body))
            return FetchItem((*redirects, row), done)

        if not 200 <= response.status < 300:
            if meta.get(GUESSED_META) and 400 <= response.status < 500:
                yield fetch_item("skipped", f"no sitemap here (HTTP {response.status}); robots.txt names none")
            else:
                yield fetch_item("error", f"HTTP {response.status}")
            return
        if "download_stopped" in response.flags:
            yield fetch_item("not_text", f"not HTML ({ctype}); download stopped after the headers")
            return
        body = response.body
        if body[:2] == b"\x1f\x8b" and kind in ("sitemap", "feed"):
            try:
                body = gunzip(body, max_size=MAX_SITEMAP_BYTES)
            except (ValueError, OSError, EOFError, struct.error) as exc:  # a gzip bomb, a corrupt file
                yield fetch_item("error", f"unreadable compressed {kind}: {describe_error(exc)}")
                return
        head = body[:512].lstrip().lower()
        is_sitemap = head.startswith(b"<?xml") and (b"<urlset" in body[:2048] or b"<sitemapindex" in body[:2048])
        if kind == "sitemap" or is_sitemap:
            for output in self._sitemap(response, body, fetch_item):
                yield output
        elif ctype in FEED_TYPES or looks_like_feed(body):
            for output in self._feed(response, body, now, fetch_item):
                yield output
        elif ctype in HTML_TYPES or (ctype is None and looks_like_html(body)):
            headers = {}
            for name in KEPT_HEADERS:
                values = response.headers.getlist(name)
                if values:
                    headers[name] = tuple(v.decode("latin-1") for v in values)
            page = FetchedPage(url=response.url, status=response.status, fetched_at=now, headers=headers,
                               content_type=ctype, n_bytes=len(body))
            if len(body) > self.cfg.max_extract_bytes:
                for output in list(self._follow_extracted(response)):
                    yield output
                yield fetch_item("error", f"page too large to extract: {len(body)} bytes (the cap is "
                                          f"{self.cfg.max_extract_bytes}; raise --max-extract-bytes)")
                return
            raw_type = headers.get("content-type", (None,))[0]
            assert self.pool is not None, "the analysis pool starts with the spider"
            analysis = await self.pool.analyze(PageJob(response.url, body, raw_type))
            # Links are admitted before the page's item goes out: the admission journal is
            # flushed before the ledger write that marks this page done.
            for output in list(self._follow(analysis, meta.get(DEPTH_META, 0) + 1)):
                yield output
            yield PageItem(page, analysis, meta.get(POLICY_META), done, redirects)
        else:
            yield fetch_item("not_text", f"not HTML ({ctype or 'no Content-Type'})")

    def _follow(self, analysis, depth: int):
        """Requests for the links and feeds the analysis found (already canonical)."""
        for url in analysis.links:
            request = self.admit(url, depth, key=url)
            if request is not None:
                yield request
        for url in analysis.feeds:
            request = self.admit(url, depth, "feed", key=url)
            if request is not None:
                yield request

    def _follow_extracted(self, response: Response):
        """Links of a page too large to analyze, read by Scrapy's LinkExtractor."""
        if not isinstance(response, TextResponse):
            return
        depth = response.meta.get(DEPTH_META, 0) + 1
        for link in self.links.extract_links(response):
            if not is_media_url(link.url):  # media is never downloaded by the crawl
                request = self.admit(link.url, depth)
                if request is not None:
                    yield request

    def _sitemap(self, response: Response, body: bytes, fetch_item):
        try:
            sitemap = Sitemap(body)
            entries = [e.get("loc") for e in sitemap if e.get("loc")]
        except Exception as exc:  # noqa: BLE001 - lxml raises several types for broken XML
            yield fetch_item("error", f"unreadable sitemap: {describe_error(exc)}")
            return
        depth = response.meta.get(DEPTH_META, 0)
        child_kind = "sitemap" if sitemap.type == "sitemapindex" else "page"
        admitted = 0
        for loc in entries:
            try:
                url = response.urljoin((loc or "").strip())
            except ValueError:  # not a URL (http://[bad): no request to make
                continue
            if not in_scope(url, self.allowed_domains):
                continue
            request = self.admit(url, depth if child_kind == "sitemap" else depth + 1, child_kind)
            if request is not None:
                admitted += 1
                yield request
        yield fetch_item("not_text", f"sitemap ({sitemap.type}): {len(entries)} URLs, {admitted} new")

    def _feed(self, response: Response, body: bytes, now, fetch_item):
        from provenance.ids import doc_id_for_url

        enclosures, pages = feed_enclosures(body, response.url)
        media = tuple(MediaRef(media_url=m.url, page_doc_id=doc_id_for_url(m.page_url or response.url),
                               page_url=m.page_url or response.url, discovered_at=now, kind=m.kind,
                               mime_type=m.mime_type, license=m.license, license_evidence=m.license_evidence)
                      for m in enclosures)
        if media:
            yield MediaItem(media)
        depth = response.meta.get(DEPTH_META, 0) + 1
        for url in pages:
            if in_scope(url, self.allowed_domains):
                request = self.admit(url, depth)
                if request is not None:
                    yield request
        yield fetch_item("not_text", f"feed: {len(enclosures)} media enclosures, {len(pages)} item pages")

    def errback(self, failure):
        request = failure.request
        exc = failure.value
        now = utcnow()
        done = (request.meta[ADMIT_META],) if request.meta.get(ADMIT_META) else ()
        redirects = self._redirect_rows(request.meta, request.url, now)
        if isinstance(exc, PolicySkip):
            rows = [FetchRecord(url=request.url, outcome="skipped", fetched_at=now, status=exc.status,
                                reason=str(exc))]
            if exc.target is not None:  # a redirect not followed: the target was considered too
                rows.append(FetchRecord(url=exc.target[0], outcome="skipped", fetched_at=now, reason=exc.target[1]))
        else:
            rows = [FetchRecord(url=request.url, outcome="error", fetched_at=now, reason=describe_error(exc))]
        yield FetchItem((*redirects, *rows), done)

    # --- closing --------------------------------------------------------------------------------

    def closed(self, reason: str) -> None:
        """Record how the crawl stopped; a later --resume reads it (crawl.state)."""
        done = self.crawl_state.done()
        inflight = [(a.depth, a.kind, a.url) for key, a in self._admitted.items()
                    if key in self._reached and key not in done]
        self.crawl_state.write_status(
            status="finished" if reason == "finished" else "stopped", clean=True, reason=reason,
            inflight=inflight, pages_admitted=self._pages, budget_reached=self.budget_reached,
        )
        self._journal.close()
        if self.pool is not None:
            self.crawler.stats.set_value("provenance/analysis_peak_rss_kb", self.pool.peak_rss_kb())
            self.pool.close()
