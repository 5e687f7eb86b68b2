"""Storing documents: text into a Parquet shard, facts into the ledger, in one transaction.

Every stage that produces documents (crawl, import, transcribe) hands batches of
:class:`PendingDocument` to a :class:`DocumentStore`. Text already stored for the same document
is not written again; a document whose state did not change adds no ledger row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa

from provenance.ledger import LedgerWriter, WriteResult
from provenance.records import ConsentSignal, Document, FetchRecord, LicenseFinding, MediaRef
from provenance.shards import ShardRow, WrittenShard, write_shard


@dataclass(frozen=True, slots=True)
class PendingDocument:
    """A document to store: its facts (``doc.shard`` is filled in by the store) and its text."""

    doc: Document
    text: str
    signals: tuple[ConsentSignal, ...] = ()
    licenses: tuple[LicenseFinding, ...] = ()
    media: tuple[MediaRef, ...] = ()
    fetch: FetchRecord | None = None


class DocumentStore:
    """Writes batches of documents of one run and one source type through a ledger writer."""

    def __init__(self, writer: LedgerWriter, run_id: str, source_type: str):
        self.writer = writer
        self.run_id = run_id
        self.source_type = source_type
        self._shard_index = 0
        self._pending: list[WrittenShard] = []
        self._depth = 0

    def rebind(self, writer: LedgerWriter) -> None:
        """Continue this run's writes on another (short-lived) writer connection."""
        if self._depth:
            raise RuntimeError("cannot rebind a DocumentStore inside a transaction")
        self.writer = writer

    @contextmanager
    def transaction(self) -> Iterator[DocumentStore]:
        """All batches written inside land together, or none do (shards included)."""
        if self._depth:
            yield self
            return
        self._depth = 1
        try:
            with self.writer.transaction():
                yield self
                for shard in self._pending:  # rename into place, then the ledger commits
                    shard.publish()
        except BaseException:
            for shard in self._pending:
                shard.discard()
                shard.final_path.unlink(missing_ok=True)
            raise
        finally:
            self._pending.clear()
            self._depth = 0

    def write_batch(
        self,
        batch: Sequence[PendingDocument],
        *,
        fetches: Sequence[FetchRecord] = (),
        signals: Sequence[ConsentSignal] = (),
        licenses: Sequence[LicenseFinding] = (),
        media: Sequence[MediaRef] = (),
    ) -> WriteResult:
        """Store one batch; extra fetches/signals/... not tied to a document may ride along."""
        with self.transaction():
            docs = self._place_texts(batch)
            return self.writer.write(
                self.run_id,
                documents=docs,
                fetches=[*fetches, *(p.fetch for p in batch if p.fetch is not None)],
                signals=[*signals, *(s for p in batch for s in p.signals)],
                licenses=[*licenses, *(f for p in batch for f in p.licenses)],
                media=[*media, *(m for p in batch for m in p.media)],
            )

    def _place_texts(self, batch: Sequence[PendingDocument]) -> list[Document]:
        """Point every document at a shard holding its text, writing one shard for new texts."""
        if not batch:
            return []
        pairs = pa.table({
            "doc_id": [p.doc.doc_id for p in batch],
            "text_sha256": [p.doc.text_sha256 for p in batch],
        })
        stored = self.writer.stored_texts(pairs)
        new_rows: list[ShardRow] = []
        seen: set[tuple[str, str]] = set()
        for p in batch:
            key = (p.doc.doc_id, p.doc.text_sha256)
            if key in stored or key in seen:
                continue
            seen.add(key)
            new_rows.append(ShardRow(p.doc.doc_id, p.doc.url, p.text, p.doc.title,
                                     p.doc.source_type, p.doc.text_sha256))
        new_shard = None
        if new_rows:
            new_shard = write_shard(self.writer.workspace, self.source_type, self.run_id,
                                    self._shard_index, new_rows)
            self._shard_index += 1
            self._pending.append(new_shard)
            self.writer.register_shard(new_shard.shard, self.source_type, new_shard.n_rows,
                                       new_shard.n_bytes, self.run_id)
        docs = []
        for p in batch:
            key = (p.doc.doc_id, p.doc.text_sha256)
            shard = stored.get(key) or new_shard.shard  # type: ignore[union-attr]
            docs.append(dataclasses.replace(p.doc, shard=shard))
        return docs


@dataclass
class BatchBuffer:
    """Documents and fetch rows of one run, written through a DocumentStore in batches.

    ``flush()`` writes what is buffered (inside the store's transaction when one is open) and
    counts how many documents were new or changed; ``progress(n)`` hears of every row written.
    """

    store: DocumentStore
    progress: Callable[[int], None] | None = None
    docs: list[PendingDocument] = field(default_factory=list)
    fetches: list[FetchRecord] = field(default_factory=list)
    documents_new: int = 0
    unchanged: int = 0

    def __len__(self) -> int:
        return len(self.docs) + len(self.fetches)

    def flush(self) -> None:
        if not (self.docs or self.fetches):
            return
        result = self.store.write_batch(self.docs, fetches=self.fetches)
        self.documents_new += result.documents
        self.unchanged += len(self.docs) - result.documents
        if self.progress:
            self.progress(len(self))
        self.docs.clear()
        self.fetches.clear()
