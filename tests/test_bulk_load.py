"""A bulk load (a commit phase of many documents) drops the lookup indexes of the current state and
builds them once at its end, instead of every commit's checkpoint rewriting them whole; lookups
answer the same meanwhile, the ledger ends up the same, and a writer re-creates indexes a killed
bulk load left missing. Real DuckDB files throughout."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from provenance.ids import doc_id_for_url, text_sha256, utcnow
from provenance.ledger import LOOKUP_INDEXES, Ledger
from provenance.schemas import DOCUMENT_SCHEMA
from provenance.staging import Stager

BATCH = 100


def _batch(k: int) -> tuple[pa.Table, pa.Array]:
    urls = [f"https://bulk.example/{k}/{i}" for i in range(BATCH)]
    texts = [f"text of {u}" for u in urls]
    n = len(urls)
    docs = pa.table({
        "doc_id": [doc_id_for_url(u) for u in urls], "url": urls, "domain": ["bulk.example"] * n,
        "source_type": ["import"] * n, "fetched_at": pa.array([utcnow()] * n, pa.timestamp("us")),
        "text_sha256": [text_sha256(t) for t in texts], "n_chars": [len(t) for t in texts],
        "shard": [""] * n, "license": ["CC-BY-4.0"] * n, "license_evidence": ["import column"] * n,
        "consent": ["granted" if i % 2 else "unspecified" for i in range(n)], "consent_evidence": [None] * n,
        "title": [f"t{i}" for i in range(n)], "author": [None] * n, "published": [None] * n,
        "language": ["en"] * n, "parent_doc_id": [None] * n,
    }, schema=DOCUMENT_SCHEMA)
    return docs, pa.array(texts)


def _indexes(ws) -> set[str]:
    con = duckdb.connect(str(ws / "ledger.duckdb"), read_only=True)
    try:
        return {name for (name,) in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    finally:
        con.close()


def _load(ws, batches: int, *, bulk_min: int) -> list[tuple[set[str], int]]:
    """Stage ``batches`` batches in one run and commit them, 2 batches a commit; after each commit,
    which indexes a reader finds and how many documents a lookup by url and by doc_id finds."""
    ledger = Ledger(ws)
    run = ledger.start_run("test-bulk")
    seen: list[tuple[set[str], int]] = []

    def after_commit(_n: int) -> None:
        con = duckdb.connect(str(ws / "ledger.duckdb"), read_only=True)
        try:
            url = "https://bulk.example/0/7"
            hits = con.execute("SELECT count(*) FROM documents WHERE url = ?", [url]).fetchall()[0][0]
            hits += con.execute("SELECT count(*) FROM documents WHERE doc_id = ?", [doc_id_for_url(url)]).fetchall()[0][0]
            names = {name for (name,) in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        finally:
            con.close()
        seen.append((names, hits))

    with Stager(ledger, run.run_id, "import", commit_rows=2 * BATCH, bulk_min_documents=bulk_min) as stager:
        for k in range(batches):
            stager.add(*_batch(k))
        stager.commit(progress=after_commit)
    ledger.finish_run(run, {})
    return seen


def _state(ws) -> list[tuple]:
    con = duckdb.connect(str(ws / "ledger.duckdb"), read_only=True)
    try:
        return con.execute("SELECT doc_id, url, domain, n_chars, text_sha256, license, consent, title, language "
                           "FROM documents ORDER BY doc_id").fetchall()
    finally:
        con.close()


def test_a_bulk_load_builds_the_lookup_indexes_once_at_its_end(tmp_path):
    ws = tmp_path / "bulk"
    seen = _load(ws, 10, bulk_min=5 * BATCH)
    assert len(seen) == 5
    # between its commits the indexes are gone, and lookups still find the document (by a scan)
    assert all(names.isdisjoint(LOOKUP_INDEXES) and hits == 2 for names, hits in seen)
    assert set(LOOKUP_INDEXES) <= _indexes(ws)  # built at the end


def test_a_small_commit_phase_keeps_the_indexes(tmp_path):
    ws = tmp_path / "small"
    _load(ws, 10, bulk_min=5 * BATCH)  # a bulk load first: 1,000 documents stored
    seen = _load(ws, 2, bulk_min=5 * BATCH)  # 200 more: not a bulk load
    assert seen and all(set(LOOKUP_INDEXES) <= names for names, _ in seen)


def test_a_bulk_load_stores_what_commits_with_indexes_store(tmp_path):
    bulk, plain = tmp_path / "bulk", tmp_path / "plain"
    _load(bulk, 10, bulk_min=1)
    _load(plain, 10, bulk_min=10**9)
    assert _state(bulk) == _state(plain) and len(_state(bulk)) == 10 * BATCH


def test_a_writer_rebuilds_indexes_a_killed_bulk_load_left_missing(tmp_path):
    ws = tmp_path / "killed"
    _load(ws, 4, bulk_min=10**9)
    with Ledger(ws).writer() as writer:  # what a bulk load killed between two commits leaves
        writer.suspend_lookup_indexes()
    assert _indexes(ws).isdisjoint(LOOKUP_INDEXES)
    with Ledger(ws).writer():  # the next writer process
        pass
    assert set(LOOKUP_INDEXES) <= _indexes(ws)
