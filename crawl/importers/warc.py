"""Import the HTML responses of a WARC file with the crawler's signal capture and extraction.

Each HTTP ``response`` record is treated like a crawled page (:mod:`crawl.page`): its headers
(X-Robots-Tag, TDMRep, Content-Usage, ...), its ``<meta>`` tags and license statements, and the
per-origin files the archive holds: ``robots.txt``, ``ai.txt`` and ``/.well-known/tdmrep.json``
response records are read in a first pass over the file (they are often archived after the pages
they govern), then every page is evaluated against them. Documents are stored as ``web``
documents with the capture time (``WARC-Date``) as ``fetched_at``; every record also leaves a
``fetches`` row (document, not_text, skipped for redirects and revisits, error for 4xx/5xx).

A reader (:func:`read_warc`, in a reader process: :mod:`crawl.importers.readers`) streams the
file twice and analyses its pages; the importing process (:class:`WarcFileImport`) builds the
documents, stages them outside the ledger's lock and stores the file in short write transactions
once it has been read whole. A .gz archive is checked first
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
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path
from urllib.parse import urlsplit

from crawl.analysis import PageAnalysis, PageJob, analyze
from crawl.captures import CAPTURE_KEY, CaptureIndex, as_stored, reresolve
from crawl.domainfiles import FILE_PATHS, DomainFile, DomainPolicy, classify_fetch, origin_of
from crawl.importers.damage import Damage, DamagedInput, LimitedReader, gzip_damage, is_gzip_name, one_line
from crawl.importers.tabular import ImportStats
from crawl.page import (
    HTML_TYPES, KEPT_HEADERS, AgentLists, FetchedPage, build_document, content_type_of, failed_fetch,
    looks_like_html,
)
from crawl.sink import DOMAIN_FILES_TABLE, domain_files_table
from provenance.errors import InputError
from provenance.ids import doc_id_for_url, utcnow
from provenance.ledger import Ledger
from provenance.records import FetchRecord
from provenance.staging import Stager, UniqueRows
from provenance.store import PendingDocument

BATCH_DOCS = 2000  # documents staged together (one shard file each)
CHUNK_RECORDS = 200  # pages and fetch rows a reader sends at a time
RERESOLVE_ORIGINS = 500  # origins re-resolved per write transaction
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
    """A ``WARC-Date`` as naive UTC, read as far as it can be: ISO 8601 (WARC 1.x, with or without
    fractions or an offset), the 14-digit ``YYYYMMDDhhmmss`` of ARC files and WARC 0.1x writers
    (shorter prefixes too), or an RFC 1123 HTTP date; the time of reading when none of these fits."""
    text = (value or "").strip()
    if not text:
        return utcnow()
    parsed: datetime | None = None
    digits = text.rstrip("Zz")
    if digits.isdigit():
        if len(digits) >= 4:
            digits = digits[:14]
            padded = digits + "00000101000000"[len(digits):]  # missing month and day: 01, time: 00
            try:
                parsed = datetime.strptime(padded, "%Y%m%d%H%M%S")
            except ValueError:
                parsed = None
    else:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                parsed = None
    if parsed is None:
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


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How a reader process reads a WARC file (plain data: it travels to worker processes)."""

    skip_bad_rows: bool = False
    strict_digests: bool = False
    extract_timeout_s: float = 20.0
    max_extract_bytes: int = MAX_EXTRACT_BYTES


@dataclass(frozen=True, slots=True)
class AnalysedPage:
    """An HTML page of the archive with what its analysis found, and what is wrong with its record."""

    page: FetchedPage
    analysis: PageAnalysis
    flags: str | None = None
    doc_id: str | None = None  # of the page's URL, computed by the reader


@dataclass(slots=True)
class WarcChunk:
    """A part of one WARC file, read and analysed by a reader (no ledger involved): the first
    chunk holds the file's policy-file captures, the others its pages and fetch rows in order."""

    captures: list[DomainFile] = field(default_factory=list)
    pages: list[AnalysedPage] = field(default_factory=list)
    fetches: list[FetchRecord] = field(default_factory=list)
    rows: int = 0  # records read
    bad_examples: list[str] = field(default_factory=list)  # damage met (with skip_bad_rows)

    def __len__(self) -> int:
        return len(self.pages) + len(self.fetches)


class _TimeLimit(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _TimeLimit


def analyze_limited(job: PageJob, timeout_s: float) -> PageAnalysis:
    """:func:`crawl.analysis.analyze` in this process, stopped after ``timeout_s`` (a real-time
    interval timer, in the main thread of a reader process; elsewhere without a limit)."""
    limited = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    previous = signal.signal(signal.SIGALRM, _on_alarm) if limited else None
    if limited:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return analyze(job)
    except _TimeLimit:
        return PageAnalysis(error=f"extraction took longer than {timeout_s:g} s and was stopped")
    except Exception as exc:  # noqa: BLE001 - the page's error, as in an analysis worker
        return PageAnalysis(error=f"extraction failed: {type(exc).__name__}: {exc}"[:500])
    finally:
        if limited:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def read_warc(path: Path, options: ReadOptions = ReadOptions()) -> Iterator[WarcChunk]:
    """Read and analyse one WARC (or .warc.gz) file: its policy-file captures first, then its pages
    and fetch rows in chunks. Raises DamagedInput (before the first chunk where the damage is
    found by the first pass) when the file is damaged and ``skip_bad_rows`` is not set.

    A record whose payload does not match its WARC digest is read and flagged in its ``fetches``
    row (``strict_digests``: skipped, outcome 'error'); so is a ``WARC-Truncated`` one."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    last_capture: dict[str, int] = {}
    captures, damage = _read_up_to_damage(path, options.skip_bad_rows, options.strict_digests, last_capture)
    yield WarcChunk(captures=captures)
    limit = damage.intact_before if damage is not None else None
    found: list[Damage] = [damage] if damage is not None else []
    chunk = WarcChunk()
    try:
        for rtype, rec in _iter_records(path, responses=lambda url: True, limit=limit):
            chunk.rows += 1
            row = _triage(rtype, rec, options.strict_digests)
            key = None
            if row is None:
                try:
                    key = doc_id_for_url(rec.url)
                except ValueError:
                    key = None
                row = _later_capture(rec, key, last_capture)
            if row is not None:
                chunk.fetches.append(row)
            else:
                headers = {k: v for k, v in rec.headers.items() if k in KEPT_HEADERS}
                page = FetchedPage(url=rec.url, status=rec.status or 200, fetched_at=rec.when, headers=headers,
                                   content_type=content_type_of(rec.content_type), n_bytes=len(rec.body))
                flags = _flags(rec)
                if len(rec.body) > options.max_extract_bytes:
                    chunk.fetches.append(failed_fetch(page, "error", _with(
                        f"page too large to extract: {len(rec.body)} bytes (the cap is {options.max_extract_bytes})",
                        flags)))
                else:
                    job = PageJob(rec.url, rec.body, rec.content_type, want_links=False)
                    chunk.pages.append(AnalysedPage(page, analyze_limited(job, options.extract_timeout_s), flags,
                                                    key))
            if len(chunk) >= CHUNK_RECORDS:
                yield chunk
                chunk = WarcChunk()
    except _Damaged as exc:  # damage only this pass meets (a record of a plain WARC ends early)
        if not options.skip_bad_rows:
            raise DamagedInput(path, exc.damage) from None
        found.append(exc.damage)
    for hurt in found:
        chunk.bad_examples.append(f"{hurt.where(path)}: {hurt.reason}")
        chunk.fetches.append(FetchRecord(
            url=f"import:{hurt.where(path)}", outcome="error", fetched_at=utcnow(),
            reason=f"damaged at byte {hurt.offset:,}: {hurt.reason}; the records from byte "
                   f"{hurt.intact_before or 0:,} on were not read"))
    yield chunk


class WarcFileImport:
    """The importing process's side of one WARC file: each page's document is built against the
    policy-file captures that applied at its fetch time, staged outside the ledger's lock
    (:class:`provenance.staging.Stager`), and stored in short write transactions once the whole
    file has been read (a file that turns out damaged stores nothing)."""

    def __init__(self, ledger: Ledger, run_id: str, part: str, agents: AgentLists,
                 progress: Callable[[int], None] | None = None):
        self.ledger = ledger
        self.run_id = run_id
        self.agents = agents
        self.progress = progress
        self.stager = Stager(ledger, run_id, "web", part=part)
        self.stats = ImportStats()
        self.origins: set[str] = set()  # of the captures the file holds
        self.page_origins: set[str] = set()  # of the pages whose documents it built
        self._index: CaptureIndex | None = None
        self._docs: list[PendingDocument] = []
        self._fetches: list[FetchRecord] = []

    def add(self, chunk: WarcChunk) -> None:
        if self._index is None:  # the first chunk: the file's own captures
            self._index = CaptureIndex(self.ledger, self.agents, chunk.captures)
            self.origins = {c.origin for c in chunk.captures}
            if chunk.captures:
                rows = domain_files_table([as_stored(c) for c in chunk.captures], self.run_id)
                self.stager.add_pending([], signals=[s for f in chunk.captures
                                                     for s in DomainPolicy(f.origin, [f], self.agents.training)
                                                     .unreadable_signals(f.fetched_at)],
                                        extra=[UniqueRows(DOMAIN_FILES_TABLE, rows, CAPTURE_KEY)])
        self.stats.rows += chunk.rows
        self.stats.bad_rows += len(chunk.bad_examples)
        self.stats.bad_examples.extend(chunk.bad_examples)
        self._fetches.extend(chunk.fetches)
        self._index.prefetch(origin_of(item.page.url) for item in chunk.pages)  # one look-up per chunk
        for item in chunk.pages:
            page, analysis = item.page, item.analysis
            if analysis.error is not None:
                self._fetches.append(failed_fetch(page, analysis.error_outcome, _with(analysis.error, item.flags)))
                continue
            self.page_origins.add(origin_of(page.url))
            pending = build_document(page, analysis, self._index.policy_at(page.url, page.fetched_at), self.agents,
                                     doc_id=item.doc_id)
            if item.flags and pending.fetch is not None:
                pending = dataclasses.replace(pending, fetch=dataclasses.replace(pending.fetch, reason=item.flags))
            self._docs.append(pending)
        if len(self._docs) >= BATCH_DOCS or len(self._fetches) >= 10 * BATCH_DOCS:
            self._stage()

    def _stage(self) -> None:
        if self._docs or self._fetches:
            self.stager.add_pending(self._docs, fetches=self._fetches)
        self._docs, self._fetches = [], []

    def commit(self, fetches: Sequence[FetchRecord] = ()) -> ImportStats:
        """Store what was staged (short write transactions; ``fetches`` ride with the last), then
        bring the stored documents of the origins whose captures the file holds up to date
        (:func:`crawl.captures.reresolve`)."""
        self._fetches.extend(fetches)
        self._stage()
        totals = self.stager.commit(self.progress)
        self.stats.documents_new = totals.documents_new
        self.stats.unchanged = totals.documents - totals.documents_new
        self.stats.reresolved = reresolve_origins(self.ledger, self.run_id, self.agents, self.origins)
        return self.stats

    def discard(self) -> None:
        self.stager.discard()


def reresolve_origins(ledger: Ledger, run_id: str, agents: AgentLists, origins: Iterable[str]) -> int:
    """:func:`crawl.captures.reresolve` against every stored capture, a short write per group of origins."""
    ordered = sorted(origins)
    changed = 0
    for start in range(0, len(ordered), RERESOLVE_ORIGINS):
        with ledger.writer() as writer:
            changed += reresolve(writer, run_id, CaptureIndex(writer, agents), ordered[start:start + RERESOLVE_ORIGINS])
    return changed


def _later_capture(rec: _Record, key: str | None, last_capture: dict[str, int]) -> FetchRecord | None:
    """The fetch row of a page that a later record of the same URL in the file replaces
    (``key``: the doc_id of its URL, None for a URL that has none)."""
    if key is None:
        return None
    last = last_capture.get(key, rec.offset)
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


__all__ = ["ReadOptions", "WarcChunk", "WarcFileImport", "read_warc", "reresolve_origins"]
