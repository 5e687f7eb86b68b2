"""Scrapy extensions of the crawl: stop non-text downloads early; a live progress line."""

from __future__ import annotations

import sys
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured, StopDownload

from crawl.middlewares import DOMAIN_FILE_META, KIND_META
from crawl.page import content_type_of
from provenance.progress import Progress

TEXT_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "application/xml", "text/xml", "application/rss+xml",
    "application/atom+xml", "application/rdf+xml",
})
GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/octet-stream"})


class StopNonText:
    """Stops the download of a response whose Content-Type is neither HTML nor XML.

    The spider then records it as 'not_text' without the body having crossed the network.
    Sitemaps and feeds may also arrive gzipped.
    """

    def __init__(self, crawler):
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def headers_received(self, headers, body_length, request, spider) -> None:
        if request.meta.get(DOMAIN_FILE_META):
            return
        ctype = content_type_of(headers.get(b"Content-Type"))
        if ctype is None or ctype in TEXT_TYPES:
            return
        if request.meta.get(KIND_META) in ("sitemap", "feed") and ctype in GZIP_TYPES:
            return
        raise StopDownload(fail=False)


class ProgressLine:
    """The crawl's line in the one progress display (a terminal only): pages/s, documents, skips, errors."""

    INTERVAL_S = 1.0

    def __init__(self, crawler):
        if not crawler.settings.getbool("PROVENANCE_PROGRESS") or not sys.stderr.isatty():
            raise NotConfigured
        self.crawler = crawler
        self._task = None
        self._started = time.monotonic()
        self.progress = Progress("crawl", "pages", fields=("rate", "documents"))
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def spider_opened(self, spider) -> None:
        from twisted.internet import task

        self._started = time.monotonic()
        self.progress.__enter__()
        self._task = task.LoopingCall(self.show)
        self._task.start(self.INTERVAL_S, now=False)

    def show(self) -> None:
        stats = self.crawler.stats
        pages = stats.get_value("response_received_count", 0)
        elapsed = max(time.monotonic() - self._started, 1e-6)
        self.progress.update(
            completed=pages, rate=f"({pages / elapsed:.1f}/s),",
            documents=(f"{stats.get_value('provenance/document', 0)} documents, "
                       f"{stats.get_value('provenance/skipped', 0)} skipped, "
                       f"{stats.get_value('provenance/not_text', 0)} not text, "
                       f"{stats.get_value('provenance/error', 0)} errors"))

    def spider_closed(self, spider, reason) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        self.progress.__exit__(None, None, None)
