"""Buffered ledger writes for a running crawl.

The crawl holds the ledger's write lock only for short batch writes (every ``flush_items`` items or
``flush_seconds``), so ``provenance sql`` in another terminal gets answers while it runs. A write
that meets the lock (a long query holding it) keeps its rows and tries again at the next flush.
After each committed write, the URLs it completed go to the crawl state's ``done.log``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyarrow as pa

from crawl.decode import valid_text
from crawl.domainfiles import DomainFile
from provenance.errors import ProvenanceError
from provenance.ledger import Ledger, LedgerLockedError, LedgerWriter
from provenance.records import ConsentSignal, FetchRecord, MediaRef
from provenance.store import Batch, DocumentStore, PendingDocument, UniqueRows
from provenance.workspace import Workspace

logger = logging.getLogger(__name__)

DOMAIN_FILES_TABLE = "domain_file_log"
DOMAIN_FILE_SCHEMA = pa.schema([
    ("origin", pa.string()), ("domain", pa.string()), ("kind", pa.string()), ("url", pa.string()),
    ("state", pa.string()), ("status", pa.int32()), ("reason", pa.string()),
    ("content_type", pa.string()), ("body_sha256", pa.string()), ("n_bytes", pa.int64()),
    ("body", pa.string()), ("fetched_at", pa.timestamp("us")), ("run_id", pa.string()),
])


def _refused(pending: PendingDocument, exc: BaseException) -> FetchRecord:
    """The fetch row of a document the ledger would not store."""
    reason = f"the ledger refused to store this page ({type(exc).__name__}: {exc}); see crawl.log"
    if pending.fetch is not None:
        return dataclasses.replace(pending.fetch, outcome="error", doc_id=None, reason=valid_text(reason[:500]))
    return FetchRecord(url=pending.doc.url or "", outcome="error", fetched_at=pending.doc.fetched_at,
                       reason=valid_text(reason[:500]))


def domain_files_table(files: Iterable[DomainFile], run_id: str) -> pa.Table:
    from provenance.ids import domain_of

    rows = [{
        "origin": f.origin, "domain": domain_of(f.url), "kind": f.kind, "url": f.url, "state": f.state,
        "status": f.status, "reason": f.reason, "content_type": f.content_type, "body_sha256": f.sha256,
        "n_bytes": f.n_bytes,
        "body": f.body.decode("utf-8", "replace") if f.body is not None else None,
        "fetched_at": f.fetched_at, "run_id": run_id,
    } for f in files]
    return pa.Table.from_pylist(rows, schema=DOMAIN_FILE_SCHEMA)


@dataclass
class SinkCounts:
    documents: int = 0  # documents written (new or unchanged)
    documents_new: int = 0  # rows added to document_log (new or changed)
    fetches: int = 0
    flushes: int = 0
    lock_waits: int = 0
    refused: int = 0  # documents the ledger would not store (recorded as fetch errors)


@dataclass
class _Buffer(Batch):
    """The write path's batch, plus the crawl-state keys its write completes."""

    done: list[str] = field(default_factory=list)


class LedgerSink:
    """Collects a run's records and writes them in short transactions."""

    def __init__(self, workspace: Workspace, run_id: str, *, flush_items: int = 200,
                 flush_seconds: float = 2.0, lock_wait_s: float = 5.0, source_type: str = "web",
                 on_committed: Callable[[list[str]], None] | None = None):
        self.ledger = Ledger(workspace, lock_wait_s=lock_wait_s)
        self.run_id = run_id
        self.flush_items = flush_items
        self.flush_seconds = flush_seconds
        self.source_type = source_type
        self.on_committed = on_committed
        self.counts = SinkCounts()
        self._buf = _Buffer()
        self._first_at: float | None = None
        self._store: DocumentStore | None = None

    # --- adding ---------------------------------------------------------------------------------

    def _touch(self) -> None:
        if self._first_at is None:
            self._first_at = time.monotonic()

    def add_document(self, pending: PendingDocument, done: Iterable[str] = ()) -> None:
        self._buf.docs.append(pending)
        self._buf.done.extend(done)
        self._touch()

    def add_fetches(self, fetches: Iterable[FetchRecord], done: Iterable[str] = ()) -> None:
        self._buf.fetches.extend(fetches)
        self._buf.done.extend(done)
        self._touch()

    def add_signals(self, signals: Iterable[ConsentSignal]) -> None:
        self._buf.signals.extend(signals)
        self._touch()

    def add_media(self, media: Iterable[MediaRef]) -> None:
        self._buf.media.extend(media)
        self._touch()

    def add_domain_files(self, files: Iterable[DomainFile]) -> None:
        self._buf.unique.append(UniqueRows(DOMAIN_FILES_TABLE, domain_files_table(files, self.run_id), ("run_id", "url")))
        self._touch()

    # --- flushing -------------------------------------------------------------------------------

    def due(self) -> bool:
        if self._first_at is None:
            return False
        return (self._buf.size() >= self.flush_items
                or time.monotonic() - self._first_at >= self.flush_seconds)

    def maybe_flush(self) -> bool:
        return self.flush() if self.due() else False

    def take(self) -> _Buffer | None:
        """Detach what is buffered, for :meth:`write` (possibly in another thread)."""
        if self._first_at is None:
            return None
        buf, self._buf, self._first_at = self._buf, _Buffer(), None
        return buf

    def restore(self, buf: _Buffer) -> None:
        """Put back a batch whose write failed (it goes first, before what came meanwhile)."""
        merged = _Buffer()
        merged.extend(buf)
        merged.extend(self._buf)
        self._buf = merged
        self._first_at = time.monotonic()

    def write(self, buf: _Buffer) -> bool:
        """Write one batch in one transaction; False when the ledger stayed locked.

        A batch the ledger refuses (a record it cannot store: a bug upstream) is written again one
        document at a time, so one bad record costs its own document, recorded in ``fetches`` as an
        error, and never the good pages of its batch. Safe to call from a worker thread as long as
        one write runs at a time.
        """
        refused_before = self.counts.refused
        try:
            with self.ledger.writer() as writer:
                store = self._store_for(writer)
                with store.transaction():
                    documents_new = self._write_rows(store, buf.docs, buf)
        except LedgerLockedError as exc:
            self.counts.lock_waits += 1
            logger.warning("ledger busy, keeping %d records for the next write: %s", buf.size(), exc)
            return False
        except Exception:  # noqa: BLE001 - isolated below: the refused record is logged and recorded
            logger.exception("the ledger refused a batch of %d records; writing its documents one by one",
                             buf.size())
            try:
                documents_new = self._write_one_by_one(buf)
            except LedgerLockedError as exc:
                self.counts.lock_waits += 1
                logger.warning("ledger busy, keeping %d records for the next write: %s", buf.size(), exc)
                return False
        self.counts.documents += len(buf.docs) - (self.counts.refused - refused_before)
        self.counts.documents_new += documents_new
        self.counts.fetches += len(buf.fetches) + sum(1 for p in buf.docs if p.fetch is not None)
        self.counts.flushes += 1
        if self.on_committed is not None and buf.done:
            self.on_committed(buf.done)
        return True

    def _write_rows(self, store: DocumentStore, docs: list[PendingDocument], buf: _Buffer | None) -> int:
        """Documents, plus the batch's other rows when ``buf`` is given; returns new documents."""
        extra = buf or _Buffer()
        result = store.write(Batch(docs=list(docs), fetches=extra.fetches, signals=extra.signals, media=extra.media,
                                   unique=extra.unique))
        return result.documents

    def _write_one_by_one(self, buf: _Buffer) -> int:
        """The rows not tied to a document in one transaction (a refusal there is raised: no page
        is at stake), then each document in its own; a refused document becomes an error row."""
        new = 0
        with self.ledger.writer() as writer:
            store = self._store_for(writer)
            with store.transaction():
                new += self._write_rows(store, [], buf)
            for pending in buf.docs:
                try:
                    with store.transaction():
                        new += self._write_rows(store, [pending], None)
                except Exception as exc:  # noqa: BLE001 - this document's own failure, recorded
                    logger.exception("the ledger refused the document of %s", pending.doc.url)
                    self.counts.refused += 1
                    with store.transaction():
                        store.write(Batch(fetches=[_refused(pending, exc)]))
        return new

    def flush(self) -> bool:
        """Write everything buffered now; False (rows kept) when the ledger is locked."""
        buf = self.take()
        if buf is None:
            return True
        if not self.write(buf):
            self.restore(buf)
            return False
        return True

    def _store_for(self, writer: LedgerWriter) -> DocumentStore:
        """One DocumentStore per run (its shard numbering must not restart), on this write's connection."""
        if self._store is None:
            self._store = DocumentStore(writer, self.run_id, self.source_type)
        else:
            self._store.rebind(writer)
        return self._store

    def close(self, *, attempts: int = 12) -> None:
        """Write what is left, waiting for the lock a while; raises when it never frees."""
        for _ in range(attempts):
            if self.flush():
                return
        raise ProvenanceError(
            f"could not write the last {self._buf.size()} crawl records: the ledger stayed locked. "
            f"Run the crawl again with --resume to fetch those pages again.")
