"""``provenance check``: is every receipt of a workspace still backed by what it points at?

* every shard the ledger registered (``shard_log``) is present and readable;
* every text the ledger lists for a document (``document_log``: doc_id, text_sha256, shard) is in
  that shard, and the text there still hashes to ``text_sha256``;
* every other reference resolves: a document row names a registered shard; a document's parent,
  cluster rows, finished transcriptions and their segments, media pages and export members name
  documents and exports the ledger holds.

Shards are streamed one record batch at a time; only one shard's (doc_id, text_sha256) keys are
held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import duckdb

from provenance.ids import text_sha256
from provenance.ledger import Ledger
from provenance.workspace import Workspace

BATCH_ROWS = 2048
SHOWN_PER_SHARD = 20  # problems listed per shard and kind; the count is always complete


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str      # shard_missing | shard_unreadable | shard_unregistered | text_missing | text_changed | dangling
    subject: str   # a shard path, a doc_id or a table
    detail: str


@dataclass(frozen=True, slots=True)
class CheckReport:
    workspace: str
    shards_registered: int = 0
    shards_present: int = 0
    texts_checked: int = 0
    texts_matching: int = 0
    references_checked: int = 0
    problems: tuple[Problem, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)  # problem kind -> how many (complete)

    @property
    def ok(self) -> bool:
        return not self.counts


# (name, tables it needs, SQL giving (subject, detail) of each unresolved reference)
REFERENCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("documents: parent_doc_id", ("document_log",), """
        SELECT DISTINCT d.doc_id, 'its parent_doc_id ' || d.parent_doc_id || ' is no document of the ledger'
        FROM document_log d WHERE d.parent_doc_id IS NOT NULL
          AND d.parent_doc_id NOT IN (SELECT doc_id FROM document_log)"""),
    ("clusters: doc_id", ("cluster_log", "document_log"), """
        SELECT DISTINCT c.doc_id, 'dedup assigned it to a cluster but the ledger holds no such document'
        FROM cluster_log c WHERE c.doc_id NOT IN (SELECT doc_id FROM document_log)"""),
    ("transcriptions: document", ("transcription_log", "document_log"), """
        SELECT DISTINCT t.doc_id, 'its transcription ' || t.transcription_id || ' (text_sha256 '
               || t.text_sha256 || ') has no document row with that text'
        FROM transcription_log t WHERE t.status = 'done' AND NOT EXISTS (
            SELECT 1 FROM document_log d WHERE d.doc_id = t.doc_id AND d.text_sha256 = t.text_sha256)"""),
    ("segments: transcription", ("segment_log", "transcription_log"), """
        SELECT DISTINCT s.doc_id, 'segments of transcription ' || s.transcription_id || ' whose transcription is not recorded'
        FROM segment_log s WHERE s.transcription_id NOT IN (SELECT transcription_id FROM transcription_log)"""),
    ("export members: export", ("export_member_log", "export_log"), """
        SELECT DISTINCT m.export_id, 'members of an export the ledger does not record'
        FROM export_member_log m WHERE m.export_id NOT IN (SELECT export_id FROM export_log)"""),
    ("export members: document", ("export_member_log", "document_log"), """
        SELECT DISTINCT m.doc_id, 'exported by ' || m.export_id || ' but the ledger holds no such document'
        FROM export_member_log m WHERE m.doc_id NOT IN (SELECT doc_id FROM document_log)"""),
)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The ledger's tables and views (document_log is a view since migration 0012)."""
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
        "UNION SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal").fetchall()}


def _shard_batches(path: str) -> Iterator[tuple[list, list, list]]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as pf:
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=["doc_id", "text", "text_sha256"]):
            yield (batch.column(0).to_pylist(), batch.column(1).to_pylist(), batch.column(2).to_pylist())


def check_workspace(workspace: Workspace, progress: Callable[[int], None] | None = None) -> CheckReport:
    """Verify a workspace; returns the report (never raises for a loss it can describe)."""
    import pyarrow as pa

    problems: list[Problem] = []
    counts: dict[str, int] = {}

    def add(kind: str, subject: str, detail: str, shown: bool = True) -> None:
        counts[kind] = counts.get(kind, 0) + 1
        if shown:
            problems.append(Problem(kind, subject, detail))

    with Ledger(workspace).reader() as con:
        tables = _tables(con)
        registered = con.execute("SELECT shard, n_rows FROM shard_log ORDER BY shard").fetchall()
        for shard, n_docs in con.execute("""
                SELECT shard, count(DISTINCT doc_id) FROM document_log
                WHERE shard NOT IN (SELECT shard FROM shard_log) GROUP BY shard ORDER BY shard""").fetchall():
            add("shard_unregistered", shard, f"{n_docs} documents name this shard, which the ledger never registered")
        present = texts_checked = texts_matching = 0
        for shard, _n_rows in registered:
            expected = {(r[0], r[1]) for r in con.execute(
                "SELECT DISTINCT doc_id, text_sha256 FROM document_log WHERE shard = ?", [shard]).fetchall()}
            path = workspace.absolute(shard)
            if not path.is_file():
                add("shard_missing", shard, f"the file is gone: the text of {len({k[0] for k in expected})} "
                                            f"documents was in it")
                continue
            present += 1
            found: set[tuple[str, str]] = set()
            changed = 0
            try:
                for doc_ids, texts, hashes in _shard_batches(str(path)):
                    for doc_id, text, stored in zip(doc_ids, texts, hashes):
                        key = (doc_id, stored)
                        if key not in expected or key in found:
                            continue
                        if text is not None and text_sha256(text) == stored:
                            found.add(key)
                        else:
                            changed += 1
                            found.add(key)
                            add("text_changed", doc_id, f"its text in {shard} no longer hashes to the "
                                                        f"text_sha256 the ledger records ({stored[:12]}...)",
                                shown=changed <= SHOWN_PER_SHARD)
                    if progress:
                        progress(len(doc_ids))
            except (OSError, pa.ArrowException) as exc:
                add("shard_unreadable", shard, f"cannot be read as Parquet: {str(exc).splitlines()[0]}")
                continue
            texts_checked += len(expected)
            texts_matching += len(found) - changed
            for i, (doc_id, sha) in enumerate(sorted(expected - found)):
                add("text_missing", doc_id, f"the ledger lists its text ({sha[:12]}...) in {shard}, "
                                            f"which does not hold it", shown=i < SHOWN_PER_SHARD)
        n_refs = 0
        for _name, needs, sql in REFERENCES:
            if not set(needs) <= tables:
                continue
            n_refs += 1
            for i, (subject, detail) in enumerate(con.execute(sql).fetchall()):
                add("dangling", subject, detail, shown=i < SHOWN_PER_SHARD)
    return CheckReport(
        workspace=str(workspace.root), shards_registered=len(registered), shards_present=present,
        texts_checked=texts_checked, texts_matching=texts_matching, references_checked=n_refs,
        problems=tuple(problems), counts=counts,
    )
