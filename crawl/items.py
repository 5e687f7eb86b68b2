"""The items the spider yields and the pipelines turn into ledger records.

``PageItem`` (an analyzed HTML page) -> ``DocumentPipeline`` -> ``DocumentItem`` ->
``LedgerPipeline``. ``FetchItem`` (a URL that gave no
document: skipped, error, not text) and ``MediaItem`` (feed enclosures) go straight to the ledger.
Every item carries ``done``: the admitted URLs (canonical form) whose outcome it records.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.exceptions import DropItem

from crawl.analysis import PageAnalysis
from crawl.domainfiles import DomainPolicy
from crawl.page import FetchedPage
from provenance.records import FetchRecord, MediaRef
from provenance.store import PendingDocument


@dataclass(frozen=True, slots=True, repr=False)
class PageItem:
    """An HTML page and what its analysis read (text, licenses, metas, media)."""

    page: FetchedPage
    analysis: PageAnalysis
    policy: DomainPolicy | None
    done: tuple[str, ...] = ()
    redirects: tuple[FetchRecord, ...] = ()  # rows of the URLs that redirected here

    def __repr__(self) -> str:
        return f"<PageItem {self.page.url} {self.page.status} {self.page.n_bytes} bytes>"


@dataclass(frozen=True, slots=True, repr=False)
class DocumentItem:
    pending: PendingDocument
    done: tuple[str, ...] = ()
    redirects: tuple[FetchRecord, ...] = ()

    def __repr__(self) -> str:
        d = self.pending.doc
        return f"<DocumentItem {d.url} license={d.license} consent={d.consent}>"


@dataclass(frozen=True, slots=True)
class FetchItem:
    fetches: tuple[FetchRecord, ...]
    done: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MediaItem:
    media: tuple[MediaRef, ...]


class PageDropped(DropItem):
    """A fetched page that yields no document; ``outcome`` and the message go to ``fetches``."""

    def __init__(self, outcome: str, reason: str):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
