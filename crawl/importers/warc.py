"""Import the HTML responses of a WARC file with the crawler's signal capture and extraction.

Each HTTP ``response`` record is treated like a crawled page (:mod:`crawl.page`): its headers
(X-Robots-Tag, TDMRep, Content-Usage, ...), its ``<meta>`` tags and license statements, and the
per-origin files the archive holds: ``robots.txt``, ``ai.txt`` and ``/.well-known/tdmrep.json``
response records are read in a first pass over the file (they are often archived after the pages
they govern), then every page is evaluated against them. Documents are stored as ``web``
documents with the capture time (``WARC-Date``) as ``fetched_at``; every record also leaves a
``fetches`` row (document, not_text, skipped for redirects and revisits, error for 4xx/5xx).

The file is streamed, read twice, and stored in one transaction: a corrupt archive stores nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from urllib.parse import urlsplit

from crawl.analysis import PageJob
from crawl.captures import CaptureIndex, reresolve, store_captures
from crawl.domainfiles import FILE_PATHS, DomainFile, DomainPolicy, classify_fetch, origin_of
from crawl.importers.tabular import ImportStats
from crawl.page import (
    HTML_TYPES, KEPT_HEADERS, AgentLists, FetchedPage, build_document, content_type_of, failed_fetch,
    looks_like_html,
)
from crawl.pool import AnalysisPool
from provenance.errors import InputError
from provenance.ids import utcnow
from provenance.ledger import LedgerWriter
from provenance.records import FetchRecord
from provenance.store import BatchBuffer, DocumentStore

BATCH_DOCS = 500
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_EXTRACT_BYTES = 5 * 1024 * 1024
_FILE_KINDS = {path: kind for kind, path in FILE_PATHS.items()}


@dataclass(frozen=True, slots=True)
class _Record:
    """An HTTP response record, read: URL, capture time, status, headers, body (capped)."""

    url: str
    when: datetime
    status: int | None
    headers: dict[str, tuple[str, ...]]
    body: bytes
    truncated: bool
    offset: int

    @property
    def content_type(self) -> str | None:
        values = self.headers.get("content-type")
        return values[0] if values else None


def _warc_date(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return utcnow()
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _iter_records(path: Path, *, responses: Callable[[str], bool]) -> Iterator[tuple[str, _Record]]:
    """``(record type, record)`` of the HTTP response records whose URL ``responses`` accepts,
    and of the revisit records (without a body)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        with open(path, "rb") as fh:
            iterator = ArchiveIterator(fh, check_digests="raise")  # a truncated record fails its digest
            for record in iterator:
                rtype = record.rec_type
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                when = _warc_date(record.rec_headers.get_header("WARC-Date"))
                if rtype == "revisit":
                    yield rtype, _Record(url, when, None, {}, b"", False, iterator.get_record_offset())
                    continue
                if rtype != "response" or record.http_headers is None or not responses(url):
                    continue
                headers: dict[str, list[str]] = {}
                for name, value in record.http_headers.headers:
                    headers.setdefault(name.lower(), []).append(value)
                try:
                    status = int(record.http_headers.get_statuscode())
                except (TypeError, ValueError):
                    status = None
                stream = record.content_stream()
                body = stream.read(MAX_BODY_BYTES + 1)
                if len(body) <= MAX_BODY_BYTES and getattr(record.raw_stream, "limit", 0) > 0:
                    raise InputError(f"{path}: the record of {url} (offset {iterator.get_record_offset()}) "
                                     f"ends early; the file is truncated. Nothing from it was stored.")
                yield rtype, _Record(
                    url=url, when=when, status=status,
                    headers={k: tuple(v) for k, v in headers.items()}, body=body[:MAX_BODY_BYTES],
                    truncated=len(body) > MAX_BODY_BYTES, offset=iterator.get_record_offset())
    except ArchiveLoadFailed as exc:
        raise InputError(f"{path} is not a readable WARC file: {exc}. Nothing from it was stored.") from exc
    except (OSError, EOFError) as exc:  # a truncated or corrupt gzip member
        raise InputError(f"{path} could not be read to the end ({exc}). Nothing from it was stored.") from exc


def _policy_files(path: Path) -> list[DomainFile]:
    """Every robots.txt / ai.txt / tdmrep.json response archived in the file, each a capture."""

    def is_policy_file(url: str) -> bool:
        return urlsplit(url).path in _FILE_KINDS and not urlsplit(url).query

    found: list[DomainFile] = []
    for rtype, rec in _iter_records(path, responses=is_policy_file):
        if rtype != "response":
            continue
        origin, kind = origin_of(rec.url), _FILE_KINDS[urlsplit(rec.url).path]
        found.append(classify_fetch(origin, kind, rec.url, rec.when, status=rec.status,
                                    body=rec.body, content_type=rec.content_type))
    return found


def import_warc(
    writer: LedgerWriter,
    run_id: str,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    extract_timeout_s: float = 20.0,
    max_extract_bytes: int = MAX_EXTRACT_BYTES,
    agents_file: str | None = None,
) -> ImportStats:
    """Import one WARC (or .warc.gz) file in one transaction."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    agents = AgentLists.load(agents_file)
    captures = _policy_files(path)
    stats = ImportStats()
    store = DocumentStore(writer, run_id, "web")
    buffer = BatchBuffer(store, progress)
    docs, fetches = buffer.docs, buffer.fetches
    workers = max(1, min(2, os.cpu_count() or 1)) if workers is None else workers

    def pages() -> Iterator[tuple[FetchedPage, PageJob]]:
        """HTML pages to analyze; every other record leaves its fetch row on the way."""
        for rtype, rec in _iter_records(path, responses=lambda url: True):
            stats.rows += 1
            row = _triage(rtype, rec)
            if row is not None:
                fetches.append(row)
                continue
            headers = {k: v for k, v in rec.headers.items() if k in KEPT_HEADERS}
            page = FetchedPage(url=rec.url, status=rec.status or 200, fetched_at=rec.when, headers=headers,
                               content_type=content_type_of(rec.content_type), n_bytes=len(rec.body))
            if len(rec.body) > max_extract_bytes:
                fetches.append(failed_fetch(page, "error", f"page too large to extract: {len(rec.body)} "
                                                           f"bytes (the cap is {max_extract_bytes})"))
                continue
            yield page, PageJob(rec.url, rec.body, rec.content_type, want_links=False)

    with store.transaction(), AnalysisPool(workers, extract_timeout_s) as pool:
        index = CaptureIndex(writer, agents, captures)
        store_captures(writer, captures, run_id)
        store.write_batch([], signals=[s for f in captures
                                       for s in DomainPolicy(f.origin, [f], agents.training)
                                       .unreadable_signals(f.fetched_at)])
        for page, analysis in pool.analyze_all(pages()):
            if analysis.error is not None:
                fetches.append(failed_fetch(page, analysis.error_outcome, analysis.error))
            else:
                docs.append(build_document(page, analysis, index.policy_at(page.url, page.fetched_at), agents))
            if len(buffer) >= BATCH_DOCS:
                buffer.flush()
        buffer.flush()
        stats.reresolved = reresolve(writer, run_id, index, index.new_origins)
    stats.documents_new, stats.unchanged = buffer.documents_new, buffer.unchanged
    return stats


def _triage(rtype: str, rec: _Record) -> FetchRecord | None:
    """The fetch row of a record that is not an HTML page to analyze (None for one that is)."""
    ctype = content_type_of(rec.content_type)

    def row(outcome: str, reason: str) -> FetchRecord:
        return FetchRecord(url=rec.url, outcome=outcome, fetched_at=rec.when, status=rec.status,  # type: ignore[arg-type]
                           reason=reason, content_type=ctype, n_bytes=len(rec.body))

    if rtype == "revisit":
        return row("skipped", "WARC revisit record (a duplicate of an earlier capture)")
    kind = _FILE_KINDS.get(urlsplit(rec.url).path)
    if kind is not None:
        return row("not_text", f"{kind}: read as the policy file of {origin_of(rec.url)}")
    if rec.status is None:
        return row("error", "response record without an HTTP status line")
    if 300 <= rec.status < 400:
        location = rec.headers.get("location", ("?",))[0]
        return row("skipped", f"redirected to {location}")
    if not 200 <= rec.status < 300:
        return row("error", f"HTTP {rec.status}")
    if rec.truncated:
        return row("error", f"larger than {MAX_BODY_BYTES} bytes after decompression")
    if ctype not in HTML_TYPES and not (ctype is None and looks_like_html(rec.body)):
        return row("not_text", f"not HTML ({ctype or 'no Content-Type'})")
    return None


__all__ = ["import_warc"]
