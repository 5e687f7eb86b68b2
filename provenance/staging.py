"""Compute outside the write lock, then commit in short transactions.

A long stage (an import of millions of rows) hands its batches to a :class:`Stager`: each
batch's texts go to a shard file (not yet published) and its ledger rows to an Arrow IPC file
under ``runs/<run_id>/staging/``, without touching the ledger. :meth:`Stager.commit` then stores
the batches one short write transaction each (open the ledger, write one batch, publish its
shard, commit, close), so readers get in between batches and see committed batches only.

Nothing is committed before every batch is staged: a malformed row found while staging stops
the stage with nothing stored. A commit phase that is interrupted leaves whole batches, and a
re-run stores the rest (every write is idempotent).
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from provenance.keyset import KeySet
from provenance.ledger import COMMIT_MEMORY, LOOKUP_INDEXES, Ledger, LedgerWriter, WriteResult, with_vocabulary
from provenance.schemas import (DOCUMENT_SCHEMA, FETCH_SCHEMA, FETCHES, LICENSE_SCHEMA, LICENSES, MEDIA, MEDIA_SCHEMA,
                                SIGNAL_SCHEMA, SIGNALS, records_to_arrow)
from provenance.records import ConsentSignal, FetchRecord, MediaRef
from provenance.store import Batch, PendingDocument, UniqueRows
from provenance.shards import SHARD_SCHEMA, WrittenShard, write_shard_table

ROW_GROUP_ROWS = 122_880  # DuckDB's row group
# Documents per write transaction, at most: three row groups. DuckDB compresses the rows of an
# insert of a row group or more as it inserts them, one row group per thread, and what is left at
# the commit's checkpoint: so a commit of one row group ran on one core (about 0.85 s each), and
# one of three uses both. A 3M import took 48 s instead of 66 s (two row groups: 53 s; four:
# 50 s, with commits of 3.7-4.1 s); each commit now holds the lock about 2 s (measured at 3M).
COMMIT_ROWS = 3 * ROW_GROUP_ROWS
# A commit phase of at least this many documents, and at least a quarter of those already stored, is
# a bulk load: it drops the lookup indexes first and builds them once at its end, instead of having
# every commit's checkpoint rewrite them whole (DuckDB does), which costs more with every commit.
BULK_MIN_DOCUMENTS = 4 * ROW_GROUP_ROWS
# A commit phase of at least this many commits reads the keys of every doc_id the ledger mentions
# once, then stores each commit none of whose doc_ids the ledger knows without joining it against
# the whole ledger (the current state, the evidence logs): those joins read columns of every table
# at every commit, which grows with the ledger (0.65 s a commit at 10M documents, measured).
KNOWN_MIN_COMMITS = 3
# Batches whose files may be in writing at once (each held in memory until written).
MAX_WRITING = 2
_KINDS = {"documents": DOCUMENT_SCHEMA, "fetches": FETCH_SCHEMA, "signals": SIGNAL_SCHEMA,
          "licenses": LICENSE_SCHEMA, "media": MEDIA_SCHEMA}


@dataclass
class _Staged:
    number: int
    path: Path  # the batch's ledger rows (Arrow IPC, one record batch per kind)
    shard: WrittenShard | None
    n_documents: int
    extra: list[UniqueRows] = field(default_factory=list)


@dataclass
class StageTotals:
    documents: int = 0  # documents committed
    documents_new: int = 0  # rows added to document_log (new or changed)
    fetches: int = 0
    batches: int = 0


class Stager:
    """Batches of one run and source type, staged outside the lock and committed in short writes."""

    def __init__(self, ledger: Ledger, run_id: str, source_type: str, *, part: str | None = None,
                 commit_rows: int = COMMIT_ROWS, bulk_min_documents: int = BULK_MIN_DOCUMENTS,
                 known_min_commits: int = KNOWN_MIN_COMMITS):
        """``part`` names this stager's own staging folder, for a run that stages several inputs at once."""
        self.commit_rows = commit_rows
        self.known_min_commits = known_min_commits
        self.bulk_min_documents = bulk_min_documents
        self.ledger = ledger
        self.run_id = run_id
        self.source_type = source_type
        self.dir = ledger.workspace.runs_dir / run_id / "staging"
        if part is not None:
            self.dir = self.dir / part
        self._staged: list[_Staged] = []
        self._writing: deque[Future[_Staged]] = deque()  # batches whose files are being written, in order
        self._writer: ThreadPoolExecutor | None = None
        self._shard_index = 0

    def __enter__(self) -> Stager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def add(self, documents: pa.Table, texts: pa.Array | pa.ChunkedArray | None = None, *,
            fetches: pa.Table | None = None, signals: pa.Table | None = None,
            licenses: pa.Table | None = None, media: pa.Table | None = None,
            extra: list[UniqueRows] | None = None) -> None:
        """Stage one batch: ``documents`` (DOCUMENT_SCHEMA's columns; ``shard`` is filled in at
        commit) with ``texts`` aligned to its rows, and the other rows of the batch.

        Rows that do not fit their schema raise here. The batch's files are then written by a
        thread of their own while the caller prepares the next batch (Arrow and Parquet release
        the GIL); an error in writing them comes out of a later ``add``, or out of ``commit``."""
        if documents.num_rows and (texts is None or len(texts) != documents.num_rows):
            raise ValueError("stage documents with their texts, one text per document row")
        self.dir.mkdir(parents=True, exist_ok=True)
        number = len(self)
        texts_table = None
        if documents.num_rows:
            texts_table = (self._shard_index, pa.table({
                "doc_id": documents.column("doc_id"), "url": documents.column("url"), "text": texts,
                "title": documents.column("title"), "source_type": documents.column("source_type"),
                "text_sha256": documents.column("text_sha256"),
            }, schema=SHARD_SCHEMA))
            self._shard_index += 1
        given = {"documents": documents, "fetches": fetches, "signals": signals, "licenses": licenses,
                 "media": media}
        tables = {}
        for kind, schema in _KINDS.items():  # one Arrow IPC file per kind (documents always)
            table = given[kind]
            if kind != "documents" and (table is None or table.num_rows == 0):
                continue
            assert table is not None
            if kind == "licenses":
                table = with_vocabulary(table)
            tables[kind] = table.select(schema.names).cast(schema)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage-writer")
        self._writing.append(self._writer.submit(self._write, number, tables, texts_table, list(extra or ())))
        while len(self._writing) > MAX_WRITING:
            self._staged.append(self._writing.popleft().result())

    def _write(self, number: int, tables: dict[str, pa.Table], texts: tuple[int, pa.Table] | None,
               extra: list[UniqueRows]) -> _Staged:
        """One staged batch's files: its texts' shard and one Arrow IPC file per kind of rows."""
        shard = self._write_texts(*texts) if texts is not None else None
        path = self.dir / f"{number:06d}.arrow"
        try:
            for kind, table in tables.items():
                with pa.OSFile(str(self._path(path, kind)), "wb") as sink:
                    with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as w:
                        w.write_table(table)
        except BaseException:
            if shard is not None:
                shard.discard()
            raise
        return _Staged(number, path, shard, tables["documents"].num_rows, extra)

    def _written(self) -> list[_Staged]:
        """Every staged batch, once its files are written (a failed write raises here)."""
        while self._writing:
            self._staged.append(self._writing.popleft().result())
        self._stop_writer()
        return self._staged

    def _stop_writer(self) -> None:
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None

    def add_pending(self, batch: Sequence[PendingDocument], *, fetches: Sequence[FetchRecord] = (),
                    signals: Sequence[ConsentSignal] = (), media: Sequence[MediaRef] = (),
                    extra: list[UniqueRows] | None = None) -> None:
        """Stage typed records: the documents with their texts and rows, plus rows not tied to a document."""
        self.add_batch(Batch(docs=list(batch), fetches=list(fetches), signals=list(signals), media=list(media),
                             unique=list(extra or ())))

    def add_batch(self, batch: Batch) -> None:
        """Stage a :class:`provenance.store.Batch` (what ``DocumentStore.write`` stores under the lock)."""
        if batch.tables:
            raise ValueError("a staged batch carries its stage tables as unique rows (Batch.unique)")
        docs = batch.docs
        self.add(
            records_to_arrow([p.doc for p in docs], DOCUMENT_SCHEMA),
            pa.array([p.text for p in docs], pa.string()),
            fetches=records_to_arrow([*batch.fetches, *(p.fetch for p in docs if p.fetch is not None)], FETCH_SCHEMA),
            signals=records_to_arrow([*batch.signals, *(x for p in docs for x in p.signals)], SIGNAL_SCHEMA),
            licenses=records_to_arrow([*batch.licenses, *(f for p in docs for f in p.licenses)], LICENSE_SCHEMA),
            media=records_to_arrow([*batch.media, *(m for p in docs for m in p.media)], MEDIA_SCHEMA),
            extra=batch.unique,
        )

    def _write_texts(self, shard_index: int, table: pa.Table) -> WrittenShard:
        # each (doc_id, text) once in the shard
        key = pc.binary_join_element_wise(table.column("doc_id"), table.column("text_sha256"), "\x1f")
        unique = pc.unique(key)
        if len(unique) < table.num_rows:  # the first row of each key
            table = table.take(pc.index_in(unique, key))
        return write_shard_table(self.ledger.workspace, self.source_type, self.run_id, shard_index, table)

    @staticmethod
    def _path(path: Path, kind: str) -> Path:
        return path if kind == "documents" else path.with_suffix(f".{kind}.arrow")

    def _read(self, staged: _Staged, kind: str) -> pa.Table | None:
        path = self._path(staged.path, kind)
        if not path.exists():
            return None
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).read_all()

    def __len__(self) -> int:
        return len(self._staged) + len(self._writing)

    def commit(self, progress: Callable[[int], None] | None = None) -> StageTotals:
        """Store every staged batch: up to ``commit_rows`` documents per short write transaction.

        A bulk load (``bulk_min_documents``, BULK_MIN_DOCUMENTS) drops the lookup indexes in its
        first transaction and builds them at its end, one short write each; if it fails before,
        the next process to write builds them. A phase of ``known_min_commits`` commits or more
        (KNOWN_MIN_COMMITS) keeps the keys of the doc_ids the ledger mentions and stores a commit
        of documents it does not know without looking them up in the whole ledger.
        """
        totals, bulk = self._commit_all(progress)
        if bulk:
            for name in LOOKUP_INDEXES:  # one write each: readers get in between
                with self.ledger.writer() as writer:
                    writer.ensure_lookup_indexes([name])
        return totals

    def _commit_all(self, progress: Callable[[int], None] | None) -> tuple[StageTotals, bool]:
        """The commits; returns their totals and whether they were a bulk load (indexes dropped)."""
        staged_documents = sum(s.n_documents for s in self._written())
        groups = self._groups()
        totals = StageTotals()
        bulk = False
        known: _Known | None = None
        for group in groups:
            with self.ledger.writer() as writer:
                writer.limit_memory(COMMIT_MEMORY)
                if not totals.batches and staged_documents >= self.bulk_min_documents and \
                        staged_documents * 4 >= writer.count_state():
                    writer.suspend_lookup_indexes()
                    bulk = True
                if len(groups) >= self.known_min_commits:
                    known = _Known.current(writer, known)
                result = self._commit_group(writer, group, known)
                if known is not None:
                    known.marks = writer.write_marks()  # after the commit, still holding the lock
            totals.documents += sum(g.n_documents for g in group)
            totals.documents_new += result.documents
            totals.fetches += result.fetches
            totals.batches += len(group)
            for done in group:
                for kind in _KINDS:
                    self._path(done.path, kind).unlink(missing_ok=True)
            if progress:
                progress(sum(g.n_documents for g in group))
        self._staged.clear()
        return totals, bulk

    def _groups(self) -> list[list[_Staged]]:
        """The staged batches in commit order, grouped up to ``commit_rows`` documents a commit."""
        groups: list[list[_Staged]] = []
        for staged in self._staged:
            if groups and sum(g.n_documents for g in groups[-1]) + staged.n_documents <= self.commit_rows:
                groups[-1].append(staged)
            else:
                groups.append([staged])
        return groups

    def _commit_group(self, writer: LedgerWriter, group: list[_Staged], known: _Known | None) -> WriteResult:
        shards: list[WrittenShard] = []

        def merged(kind: str) -> pa.Table | None:
            parts = [t for t in (self._read(g, kind) for g in group) if t is not None]
            return pa.concat_tables(parts) if parts else None

        staged_docs = [self._read(g, "documents") for g in group]
        rows = {kind: merged(kind) for kind in ("fetches", "signals", "licenses", "media")}
        # None of the group's doc_ids is in the ledger: no text of theirs is stored, no document
        # or evidence row of theirs can be found, so nothing is looked up in the whole ledger.
        ids = known.ids(writer, [*staged_docs, *rows.values()]) if known is not None else np.empty(0, np.uint64)
        unseen = known is not None and not known.keys.contains_any(ids)
        with writer.transaction():
            docs_parts = []
            for staged, docs in zip(group, staged_docs, strict=True):
                assert docs is not None
                if docs.num_rows:
                    docs, shard = self._place(writer, docs, staged, unseen)
                    if shard is not None:
                        shards.append(shard)
                docs_parts.append(docs)
            result = WriteResult(
                documents=writer.append_documents(pa.concat_tables(docs_parts), self.run_id, unseen=unseen),
                fetches=_append(writer, FETCHES, rows["fetches"], self.run_id, unseen),
                signals=_append(writer, SIGNALS, rows["signals"], self.run_id, unseen),
                licenses=_append(writer, LICENSES, rows["licenses"], self.run_id, unseen),
                media=_append(writer, MEDIA, rows["media"], self.run_id, False),
            )
            for staged in group:
                for extra in staged.extra:
                    writer.append_unique(extra.table, extra.rows, extra.key)
            for shard in shards:
                shard.publish()  # right before the commit that registers it
        if known is not None:
            known.keys.add(ids)
        return result

    def _place(self, writer: LedgerWriter, docs: pa.Table, staged: _Staged,
               unseen: bool) -> tuple[pa.Table, WrittenShard | None]:
        """Point every document at a shard holding its text; texts already stored are not kept twice."""
        shard = staged.shard
        assert shard is not None
        pairs = docs.select(["doc_id", "text_sha256"])
        stored = pairs.slice(0, 0).append_column("shard", pa.array([], pa.string())) if unseen \
            else writer.stored_text_shards(pairs)
        if stored.num_rows:
            shard = _without(shard, stored)
        new_name = shard.shard if shard is not None else None
        keys = pc.binary_join_element_wise(docs.column("doc_id"), docs.column("text_sha256"), "\x1f")
        stored_keys = pc.binary_join_element_wise(stored.column("doc_id"), stored.column("text_sha256"), "\x1f")
        where = pc.index_in(keys, stored_keys)
        old = pc.take(stored.column("shard"), where)
        shards = pc.if_else(pc.is_valid(where), old, pa.scalar(new_name, pa.string()))
        docs = docs.set_column(docs.schema.get_field_index("shard"), "shard", shards)
        if shard is not None:
            writer.register_shard(shard.shard, self.source_type, shard.n_rows, shard.n_bytes, self.run_id)
        return docs, shard

    def discard(self) -> None:
        """Remove what was staged and not committed (unpublished shards included)."""
        while self._writing:  # let every write end; a failed one has removed its own shard
            done = self._writing.popleft()
            if done.exception() is None:
                self._staged.append(done.result())
        self._stop_writer()
        for staged in self._staged:
            if staged.shard is not None:
                staged.shard.discard()
        self._staged.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
        run_dir = self.ledger.workspace.runs_dir / self.run_id
        for parent in self.dir.parents:  # empty folders up to the run's, which goes too when empty
            if parent == run_dir.parent:
                break
            try:
                parent.rmdir()
            except OSError:
                break


def _append(writer: LedgerWriter, spec, table: pa.Table | None, run_id: str, unseen: bool) -> int:  # noqa: ANN001
    if table is None or table.num_rows == 0:
        return 0
    return writer.append_set(spec, table, run_id, unseen=unseen)


@dataclass
class _Known:
    """The keys of every doc_id the ledger mentions (:meth:`LedgerWriter.mentioned_ids`), kept
    over a commit phase: read once, then each commit's ids added. ``marks`` are the ledger's
    :meth:`LedgerWriter.write_marks` after this phase's last commit; when another writer has
    written in between, the keys are read again."""

    keys: KeySet
    marks: tuple[int, ...]

    @classmethod
    def current(cls, writer: LedgerWriter, known: _Known | None) -> _Known:
        marks = writer.write_marks()
        if known is not None and known.marks == marks:
            return known
        return cls(KeySet(writer.mentioned_ids()), marks)

    @staticmethod
    def ids(writer: LedgerWriter, tables: Sequence[pa.Table | None]) -> np.ndarray:
        """The keys of the doc_ids ``tables`` name (a document's, a row's, a media row's page)."""
        columns = [t.column(name) for t in tables if t is not None
                   for name in ("doc_id", "page_doc_id") if name in t.column_names]
        keys = [writer.id_keys(c) for c in columns]
        return np.concatenate(keys) if keys else np.empty(0, np.uint64)


def _without(shard: WrittenShard, stored: pa.Table) -> WrittenShard | None:
    """The shard rewritten without the texts already stored (None when nothing is left)."""
    import pyarrow.parquet as pq

    table = pq.read_table(shard.tmp_path)
    keys = pc.binary_join_element_wise(table.column("doc_id"), table.column("text_sha256"), "\x1f")
    stored_keys = pc.binary_join_element_wise(stored.column("doc_id"), stored.column("text_sha256"), "\x1f")
    keep = pc.invert(pc.is_in(keys, stored_keys))
    left = table.filter(keep)
    if left.num_rows == 0:
        shard.discard()
        return None
    if left.num_rows == table.num_rows:
        return shard
    from provenance.shards import ROW_GROUP_ROWS

    pq.write_table(left, shard.tmp_path, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return WrittenShard(shard.shard, shard.tmp_path, shard.final_path, left.num_rows, shard.tmp_path.stat().st_size)
