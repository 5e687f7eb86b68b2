"""Import the HTML responses of a WARC file with the crawler's signal capture and extraction.

Each HTTP ``response`` record is treated like a crawled page (:mod:`crawl.page`): its headers
(X-Robots-Tag, TDMRep, Content-Usage, ...), its ``<meta>`` tags and license statements, and the
per-origin files the archive holds: ``robots.txt``, ``ai.txt`` and ``/.well-known/tdmrep.json``
response records are read in a first pass over the file (they are often archived after the pages
they govern), then every page is evaluated against them. Documents are stored as ``web``
documents with the capture time (``WARC-Date``) as ``fetched_at``; every record also leaves a
``fetches`` row (document, not_text, skipped for redirects and revisits, error for 4xx/5xx).

The file is streamed, read twice, and stored in one transaction. A .gz archive is checked first
(every gzip member's CRC and length): a truncated or corrupt archive fails naming the byte offset
of the damage and stores nothing, or, with ``skip_bad_rows``, the records before the damaged member
are imported and the damage is one ``fetches`` row. An uncompressed archive whose last record ends
early is treated the same way.

One document per doc_id per file: when an archive holds several response records of one URL, the
last one in the file decides (it is imported; the earlier ones are ``fetches`` rows, outcome
'skipped', naming its offset). Policy files (robots.txt, ai.txt, tdmrep.json) are not documents:
each of their captures is kept as such.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from urllib.parse import urlsplit

from crawl.analysis import PageJob
from crawl.captures import CaptureIndex, reresolve, store_captures
from crawl.domainfiles import FILE_PATHS, DomainFile, DomainPolicy, classify_fetch, origin_of
from crawl.importers.damage import Damage, DamagedInput, LimitedReader, gzip_damage, is_gzip_name, one_line
from crawl.importers.tabular import ImportStats
from crawl.page import (
    HTML_TYPES, KEPT_HEADERS, AgentLists, FetchedPage, build_document, content_type_of, failed_fetch,
    looks_like_html,
)
from crawl.pool import AnalysisPool
from provenance.errors import InputError
from provenance.ids import doc_id_for_url, utcnow
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
    digest_problem: str | None = None  # the WARC digest the payload does not match
    warc_truncated: str | None = None  # WARC-Truncated: the crawler cut the payload (length, time, ...)

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


class _Damaged(Exception):
    def __init__(self, damage: Damage):
        super().__init__(damage.reason)
        self.damage = damage


def _first_line(exc: Exception) -> str:
    text = one_line(exc)
    return text if len(text) <= 120 else text[:117] + "..."


def _iter_records(path: Path, *, responses: Callable[[str], bool], limit: int | None = None,
                  last_capture: dict[str, int] | None = None) -> Iterator[tuple[str, _Record]]:
    """``(record type, record)`` of the HTTP response records whose URL ``responses`` accepts,
    and of the revisit records (without a body). Reads only the first ``limit`` bytes when given;
    fills ``last_capture`` (doc_id -> offset of the last response record of that URL) when given.
    Raises _Damaged where the archive cannot be read on."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    with open(path, "rb") as raw:
        fh = raw if limit is None else LimitedReader(raw, limit)
        iterator = None
        try:
            iterator = ArchiveIterator(fh, check_digests=True)  # checked per record, see digest_problem
            for record in iterator:
                # (get_record_offset() reads the record to its end: call it once the body is read)
                rtype = record.rec_type
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                when = _warc_date(record.rec_headers.get_header("WARC-Date"))
                if rtype == "revisit":
                    offset = iterator.get_record_offset()
                    yield rtype, _Record(url, when, None, {}, b"", False, offset)
                    continue
                if rtype != "response" or record.http_headers is None:
                    continue
                wanted = responses(url)
                if last_capture is not None and urlsplit(url).path not in _FILE_KINDS:
                    try:
                        key = doc_id_for_url(url)
                    except ValueError:
                        key = None
                    if key is not None and not wanted:
                        last_capture[key] = iterator.get_record_offset()
                else:
                    key = None
                if not wanted:
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
                    raise _Damaged(Damage(raw.tell(), f"the record of {url} ends early: the file is truncated",
                                          intact_before=iterator.offset, truncated=True))
                offset = iterator.get_record_offset()
                if key is not None and last_capture is not None:
                    last_capture[key] = offset
                checker = getattr(record, "digest_checker", None)
                problems = checker.problems if checker is not None and checker.passed is False else []
                yield rtype, _Record(
                    url=url, when=when, status=status,
                    headers={k: tuple(v) for k, v in headers.items()}, body=body[:MAX_BODY_BYTES],
                    truncated=len(body) > MAX_BODY_BYTES, offset=offset,
                    digest_problem="; ".join(problems) or None,
                    warc_truncated=record.rec_headers.get_header("WARC-Truncated"))
        except ArchiveLoadFailed as exc:  # the end of the last whole record is where reading stopped
            good = iterator.offset if iterator is not None else 0
            raise _Damaged(Damage(good, f"not a readable WARC record ({_first_line(exc)})",
                                  intact_before=good or None)) from exc
        except (OSError, EOFError) as exc:  # a truncated or corrupt gzip member the check did not see
            good = iterator.offset if iterator is not None else 0
            raise _Damaged(Damage(raw.tell(), f"it could not be read to the end ({_first_line(exc)})",
                                  intact_before=good or None)) from exc


def _policy_files(path: Path, limit: int | None, last_capture: dict[str, int],
                  strict_digests: bool = False) -> list[DomainFile]:
    """Every robots.txt / ai.txt / tdmrep.json response archived in the file, each a capture."""

    def is_policy_file(url: str) -> bool:
        return urlsplit(url).path in _FILE_KINDS and not urlsplit(url).query

    found: list[DomainFile] = []
    for rtype, rec in _iter_records(path, responses=is_policy_file, limit=limit, last_capture=last_capture):
        if rtype != "response" or (strict_digests and rec.digest_problem):
            continue
        origin, kind = origin_of(rec.url), _FILE_KINDS[urlsplit(rec.url).path]
        found.append(classify_fetch(origin, kind, rec.url, rec.when, status=rec.status,
                                    body=rec.body, content_type=rec.content_type))
    return found


def _read_up_to_damage(path: Path, skip_bad_rows: bool, strict_digests: bool,
                       last_capture: dict[str, int]) -> tuple[list[DomainFile], Damage | None]:
    """The first pass, and where the archive is damaged (None: nowhere). Without ``skip_bad_rows``
    a damaged archive raises DamagedInput before anything is stored."""
    damage = gzip_damage(path) if is_gzip_name(path) else None
    if damage is not None and not skip_bad_rows:
        raise DamagedInput(path, damage)
    limit = damage.intact_before if damage is not None else None
    try:
        return _policy_files(path, limit, last_capture, strict_digests), damage
    except _Damaged as exc:
        if not skip_bad_rows or exc.damage.intact_before is None:
            raise DamagedInput(path, exc.damage) from None
        last_capture.clear()
        return _policy_files(path, exc.damage.intact_before, last_capture, strict_digests), exc.damage


def import_warc(
    writer: LedgerWriter,
    run_id: str,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    skip_bad_rows: bool = False,
    workers: int | None = None,
    extract_timeout_s: float = 20.0,
    max_extract_bytes: int = MAX_EXTRACT_BYTES,
    agents_file: str | None = None,
    strict_digests: bool = False,
) -> ImportStats:
    """Import one WARC (or .warc.gz) file in one transaction.

    A record whose payload does not match its WARC digest is imported and flagged in its
    ``fetches`` row (``strict_digests``: skipped, outcome 'error'); so is a ``WARC-Truncated`` one."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    agents = AgentLists.load(agents_file)
    last_capture: dict[str, int] = {}
    captures, damage = _read_up_to_damage(path, skip_bad_rows, strict_digests, last_capture)
    limit = damage.intact_before if damage is not None else None
    stats = ImportStats()
    store = DocumentStore(writer, run_id, "web")
    buffer = BatchBuffer(store, progress)
    docs, fetches = buffer.docs, buffer.fetches
    workers = max(1, min(2, os.cpu_count() or 1)) if workers is None else workers

    found: list[Damage] = [damage] if damage is not None else []

    flagged: dict[int, str] = {}  # id(page) -> what is wrong with its record, kept in its fetch row

    def pages() -> Iterator[tuple[FetchedPage, PageJob]]:
        """HTML pages to analyze; every other record leaves its fetch row on the way."""
        try:
            for rtype, rec in _iter_records(path, responses=lambda url: True, limit=limit):
                stats.rows += 1
                row = _triage(rtype, rec, strict_digests)
                if row is None:
                    row = _later_capture(rec, last_capture)
                if row is not None:
                    fetches.append(row)
                    continue
                headers = {k: v for k, v in rec.headers.items() if k in KEPT_HEADERS}
                page = FetchedPage(url=rec.url, status=rec.status or 200, fetched_at=rec.when, headers=headers,
                                   content_type=content_type_of(rec.content_type), n_bytes=len(rec.body))
                flags = _flags(rec)
                if flags:
                    flagged[id(page)] = flags
                if len(rec.body) > max_extract_bytes:
                    fetches.append(failed_fetch(page, "error", f"page too large to extract: {len(rec.body)} "
                                                               f"bytes (the cap is {max_extract_bytes})"))
                    continue
                yield page, PageJob(rec.url, rec.body, rec.content_type, want_links=False)
        except _Damaged as exc:  # damage only this pass meets (a record of a plain WARC ends early)
            if not skip_bad_rows:
                raise DamagedInput(path, exc.damage) from None
            found.append(exc.damage)
        for hurt in found:
            stats.bad_rows += 1
            stats.bad_examples.append(f"{hurt.where(path)}: {hurt.reason}")
            fetches.append(FetchRecord(
                url=f"import:{hurt.where(path)}", outcome="error", fetched_at=utcnow(),
                reason=f"damaged at byte {hurt.offset:,}: {hurt.reason}; the records from byte "
                       f"{hurt.intact_before or 0:,} on were not read"))

    with store.transaction(), AnalysisPool(workers, extract_timeout_s) as pool:
        index = CaptureIndex(writer, agents, captures)
        store_captures(writer, captures, run_id)
        store.write_batch([], signals=[s for f in captures
                                       for s in DomainPolicy(f.origin, [f], agents.training)
                                       .unreadable_signals(f.fetched_at)])
        for page, analysis in pool.analyze_all(pages()):
            flags = flagged.pop(id(page), None)
            if analysis.error is not None:
                fetches.append(failed_fetch(page, analysis.error_outcome, _with(analysis.error, flags)))
            else:
                pending = build_document(page, analysis, index.policy_at(page.url, page.fetched_at), agents)
                if flags and pending.fetch is not None:
                    pending = dataclasses.replace(pending, fetch=dataclasses.replace(pending.fetch, reason=flags))
                docs.append(pending)
            if len(buffer) >= BATCH_DOCS:
                buffer.flush()
        buffer.flush()
        stats.reresolved = reresolve(writer, run_id, index, index.new_origins)
    stats.documents_new, stats.unchanged = buffer.documents_new, buffer.unchanged
    return stats


def _later_capture(rec: _Record, last_capture: dict[str, int]) -> FetchRecord | None:
    """The fetch row of a page that a later record of the same URL in the file replaces."""
    try:
        last = last_capture.get(doc_id_for_url(rec.url), rec.offset)
    except ValueError:
        return None
    if last == rec.offset:
        return None
    return FetchRecord(url=rec.url, outcome="skipped", fetched_at=rec.when, status=rec.status,
                       reason=f"a later capture of the same URL in this file (offset {last}) is imported "
                              f"instead (the last capture of a document in a file wins)",
                       content_type=content_type_of(rec.content_type), n_bytes=len(rec.body))


def _flags(rec: _Record) -> str | None:
    """What a fetch row says about a record that is kept although something is wrong with it."""
    flags = []
    if rec.digest_problem:
        flags.append(f"WARC digest does not verify ({rec.digest_problem}); kept, flagged "
                     f"(--strict-digests skips such records)")
    if rec.warc_truncated:
        flags.append(f"WARC-Truncated: {rec.warc_truncated} (the crawler cut the payload; kept as far as it goes)")
    return "; ".join(flags) or None


def _with(reason: str, flags: str | None) -> str:
    return f"{reason}; {flags}" if flags else reason


def _triage(rtype: str, rec: _Record, strict_digests: bool = False) -> FetchRecord | None:
    """The fetch row of a record that is not an HTML page to analyze (None for one that is)."""
    ctype = content_type_of(rec.content_type)
    flags = _flags(rec)

    def row(outcome: str, reason: str) -> FetchRecord:
        return FetchRecord(url=rec.url, outcome=outcome, fetched_at=rec.when, status=rec.status,  # type: ignore[arg-type]
                           reason=_with(reason, flags), content_type=ctype, n_bytes=len(rec.body))

    if rtype == "response" and strict_digests and rec.digest_problem:
        return FetchRecord(url=rec.url, outcome="error", fetched_at=rec.when, status=rec.status,
                           reason=f"WARC digest does not verify ({rec.digest_problem}); skipped (--strict-digests)",
                           content_type=ctype, n_bytes=len(rec.body))
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
