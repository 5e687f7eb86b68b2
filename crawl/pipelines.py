"""Item pipelines: decide license and consent, then write the ledger in short batches.

``DocumentPipeline``  an analyzed page -> its document (crawl.page): signals + license findings ->
                      license and consent. A page the analysis got no text from is dropped
                      (``PageDropped``) and the drop is recorded in ``fetches`` with its reason.
``LedgerPipeline``    buffered ledger writes in short transactions (crawl.sink); also records
                      dropped pages and the per-origin policy files.
"""

from __future__ import annotations

from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawl.domainfiles import DomainPolicy
from crawl.items import DocumentItem, FetchItem, MediaItem, PageDropped, PageItem
from crawl.middlewares import ADMIT_META, domain_policy_loaded, ledger_write_starting
from crawl.page import AgentLists, build_document, failed_fetch
from crawl.sink import LedgerSink
from crawl.spiders import describe_error
from crawl.state import CrawlState
from provenance.ids import utcnow
from provenance.records import FetchRecord
from provenance.workspace import Workspace

class DocumentPipeline:
    def __init__(self, crawler):
        self.agents = AgentLists.load(crawler.settings.get("PROVENANCE_AGENTS_FILE"))

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if not isinstance(item, PageItem):
            return item
        if item.analysis.error is not None:
            raise PageDropped(item.analysis.error_outcome, item.analysis.error)
        pending = build_document(item.page, item.analysis, item.policy, self.agents)
        return DocumentItem(pending, item.done, item.redirects)


class LedgerPipeline:
    TICK_S = 0.5

    def __init__(self, crawler):
        settings = crawler.settings
        workspace, run_id = settings.get("PROVENANCE_WORKSPACE"), settings.get("PROVENANCE_RUN_ID")
        if not workspace or not run_id:
            raise NotConfigured("PROVENANCE_WORKSPACE and PROVENANCE_RUN_ID are required")
        self.crawler = crawler
        state_root = settings.get("PROVENANCE_STATE_DIR")
        self.done_log = CrawlState(Path(state_root)).done_log() if state_root else None
        self.sink = LedgerSink(
            Workspace(Path(workspace)), run_id,
            flush_items=settings.getint("PROVENANCE_FLUSH_ITEMS", 200),
            flush_seconds=settings.getfloat("PROVENANCE_FLUSH_SECONDS", 2.0),
            on_committed=self.done_log.append if self.done_log is not None else None,
        )
        self._timer = None
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)
        crawler.signals.connect(self.policy_loaded, signal=domain_policy_loaded)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        from twisted.internet import task

        self._timer = task.LoopingCall(self._maybe_write)
        self._timer.start(self.TICK_S, now=False)

    # --- items ----------------------------------------------------------------------------------

    def _count(self, outcome: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"provenance/{outcome}", n)

    def process_item(self, item):
        if isinstance(item, DocumentItem):
            self.sink.add_document(item.pending, item.done)
            self.sink.add_fetches(item.redirects)
            self._count("document")
        elif isinstance(item, FetchItem):
            self.sink.add_fetches(item.fetches, item.done)
            for fetch in item.fetches:
                if not (fetch.outcome == "skipped" and (fetch.reason or "").startswith("redirected")):
                    self._count(fetch.outcome)
        elif isinstance(item, MediaItem):
            self.sink.add_media(item.media)
        self._maybe_write()
        return item

    def item_dropped(self, item, response, exception, spider=None) -> None:
        if isinstance(item, PageItem) and isinstance(exception, PageDropped):
            fetch = failed_fetch(item.page, exception.outcome, exception.reason)
            self.sink.add_fetches([*item.redirects, fetch], item.done)
            self._count(exception.outcome)

    def spider_error(self, failure, response, spider=None) -> None:
        """A response the spider failed on (a crawler bug; Scrapy logs the traceback) still gets
        its ``fetches`` row and counts as done, so no URL ends without a recorded outcome."""
        if not isinstance(response, Response):
            return
        key = response.meta.get(ADMIT_META)
        fetch = FetchRecord(url=response.url, outcome="error", fetched_at=utcnow(), status=response.status,
                            reason=f"crawler error processing the response: {describe_error(failure.value)} "
                                   f"(see crawl.log)")
        self.sink.add_fetches([fetch], (key,) if key else ())
        self._count("error")

    def policy_loaded(self, policy: DomainPolicy) -> None:
        self.sink.add_domain_files(policy.files.values())
        self.sink.add_signals(policy.unreadable_signals(utcnow()))

    # --- writing --------------------------------------------------------------------------------

    def _maybe_write(self) -> None:
        """Write a batch when one is due. In the reactor thread on purpose: a writer thread would
        hold the GIL for its Python work and stall every socket call of the crawl (measured)."""
        if self.sink.due():
            self.crawler.signals.send_catch_log(signal=ledger_write_starting)
            self.sink.flush()

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.crawler.signals.send_catch_log(signal=ledger_write_starting)
        self.sink.close()
        counts = self.sink.counts
        stats = self.crawler.stats
        stats.set_value("provenance/documents_written", counts.documents)
        stats.set_value("provenance/documents_new", counts.documents_new)
        stats.set_value("provenance/ledger_writes", counts.flushes)
        stats.set_value("provenance/ledger_lock_waits", counts.lock_waits)
        if self.done_log is not None:
            self.done_log.close()
