"""Storing documents: text into a Parquet shard, facts into the ledger, in one transaction.

Every stage that produces documents (crawl, import, transcribe) hands batches of
:class:`PendingDocument` to a :class:`DocumentStore`. Text already stored for the same document
is not written again; a document whose state did not change adds no ledger row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
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

    def write(self, batch: Batch) -> WriteResult:
        """Store a :class:`Batch` in one transaction: its documents and rows, its stage tables."""
        with self.transaction():
            result = self.write_batch(batch.docs, fetches=batch.fetches, signals=batch.signals,
                                      licenses=batch.licenses, media=batch.media)
            for name, table in batch.tables:
                self.writer.append_rows(name, table)
            for rows in batch.unique:
                self.writer.append_unique(rows.table, rows.rows, rows.key)
        return result

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


@dataclass(frozen=True, slots=True)
class UniqueRows:
    """Rows of a stage-owned table, appended unless a stored row has the same ``key``."""

    table: str
    rows: pa.Table
    key: tuple[str, ...]


@dataclass
class Batch:
    """The one batch buffer of the write path: what one short write of a run stores.

    Documents with their texts; the rows not tied to a document (fetches, signals, license
    findings, media); rows of a stage's own tables, appended as given (``tables``) or unless a
    stored row has the same key (``unique``). Stages fill it and :meth:`DocumentStore.write` stores
    it in one transaction; a batch the ledger could not take is merged back with :meth:`extend`.
    """

    docs: list[PendingDocument] = field(default_factory=list)
    fetches: list[FetchRecord] = field(default_factory=list)
    signals: list[ConsentSignal] = field(default_factory=list)
    licenses: list[LicenseFinding] = field(default_factory=list)
    media: list[MediaRef] = field(default_factory=list)
    tables: list[tuple[str, pa.Table]] = field(default_factory=list)
    unique: list[UniqueRows] = field(default_factory=list)

    def size(self) -> int:
        """Documents and rows of their own (what a flush threshold counts)."""
        return (len(self.docs) + len(self.fetches) + len(self.media)
                + sum(t.num_rows for _, t in self.tables) + sum(u.rows.num_rows for u in self.unique))

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in dataclasses.fields(self))

    def extend(self, other: Batch) -> None:
        """Add ``other``'s records after this batch's (every list field, a subclass's too)."""
        for f in dataclasses.fields(other):
            getattr(self, f.name).extend(getattr(other, f.name))

    def clear(self) -> None:
        """Empty every list in place (a stage may hold on to them)."""
        for f in dataclasses.fields(self):
            getattr(self, f.name).clear()
