"""The crawl stage: a polite Scrapy crawler that records every consent and license signal.

Scrapy components (built in ``from_crawler``, listed in the settings of :mod:`crawl.config`):
``spiders`` (admission of URLs, response triage), ``middlewares`` (robots.txt, ai.txt and
tdmrep.json per origin, Crawl-delay, address checks, redirects out of scope and loops),
``netguard`` (the DNS resolver that applies provenance.net's private-address guard to every
connection), ``pipelines`` (document decisions, batched ledger writes), ``extensions`` (stop
non-text downloads, progress line).

Plain modules shared with the WARC importer (``importers/warc.py``): ``analysis`` (one parse per
page: text via trafilatura, ``licensing``, ``media``, ``links``, meta tags; run in ``pool``
worker processes), ``decode``, ``tdmrep``, ``domainfiles``, ``signals``, ``page``
(signals + license findings -> a document with its license and consent), ``sink`` (short ledger
writes). ``runner`` runs a crawl in a child process; ``state`` keeps it resumable; ``localsite``
serves a directory on 127.0.0.1 for the demo, the tests and the benchmark.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawl.config import CrawlSettings
    from crawl.importers.run import FileResult, ImportOptions, ImportSummary
    from crawl.runner import CrawlSummary

__all__ = ["crawl", "import_files"]


def crawl(workspace: str | os.PathLike, seeds: Sequence[str],
          settings: CrawlSettings | Mapping[str, Any] | None = None, *, resume: bool = False) -> CrawlSummary:
    """Crawl from ``seeds`` into ``workspace`` (the library form of ``provenance crawl``).

    ``settings`` is a :class:`crawl.config.CrawlSettings` or a mapping of its fields (``max_pages``,
    ``max_depth``, ``allow_private``, ...); the defaults are polite. The crawl runs in a child
    process (Scrapy's reactor cannot restart in one process), so a notebook may call this again.
    """
    from crawl.runner import run_crawl

    return run_crawl(workspace, seeds, settings, resume=resume)


def import_files(workspace: str | os.PathLike, files: Sequence[str | os.PathLike],
                 options: ImportOptions | None = None, *,
                 on_file: Callable[[FileResult], None] | None = None, **kwargs: Any) -> ImportSummary:
    """Import JSONL, Parquet or WARC ``files`` into ``workspace`` in one run (the library form of
    ``provenance import``); see :func:`crawl.importers.run.import_files`."""
    from crawl.importers.run import import_files as run_import

    return run_import(workspace, files, options, on_file=on_file, **kwargs)
