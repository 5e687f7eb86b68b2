"""A long commit phase stores a commit none of whose doc_ids the ledger mentions without joining it
against the whole ledger (provenance.staging's known keys). The ledger it leaves must be the one
that looking everything up leaves: documents already stored, evidence naming a document that was
never stored, and another writer's rows between two commits are all found. Real DuckDB files."""

from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from provenance.ids import doc_id_for_url, text_sha256
from provenance.keyset import KeySet
from provenance.ledger import Ledger
from provenance.schemas import DOCUMENT_SCHEMA, LICENSE_SCHEMA, SIGNAL_SCHEMA, SIGNALS
from provenance.staging import Stager

BATCH = 50
AT = datetime(2026, 12, 1, 12, 0, 0)
ALWAYS_LOOK_UP = 10**9  # known_min_commits no commit phase reaches


def _url(k: int, i: int) -> str:
    return f"https://known{k % 3}.example/{k}/{i}"


def _signals(urls: list[str]) -> pa.Table:
    n = len(urls)
    return pa.table({
        "url": urls, "domain": [u.split("/")[2] for u in urls], "signal": ["tdm-reservation"] * n,
        "value": ["1"] * n, "evidence": [f"header of {u}" for u in urls], "observed_at": pa.array([AT] * n, pa.timestamp("us")),
        "agent": [None] * n, "doc_id": [doc_id_for_url(u) for u in urls],
    }, schema=SIGNAL_SCHEMA)


def _batch(k: int) -> dict:
    urls = [_url(k, i) for i in range(BATCH)]
    texts = [f"text {k} of {u}" for u in urls]
    n = len(urls)
    docs = pa.table({
        "doc_id": [doc_id_for_url(u) for u in urls], "url": urls, "domain": [u.split("/")[2] for u in urls],
        "source_type": ["import"] * n, "fetched_at": pa.array([AT] * n, pa.timestamp("us")),
        "text_sha256": [text_sha256(t) for t in texts], "n_chars": [len(t) for t in texts],
        "shard": [""] * n, "license": ["CC-BY-4.0"] * n, "license_evidence": ["import column"] * n,
        "consent": ["opted_out" if i % 2 else "unspecified" for i in range(n)], "consent_evidence": [None] * n,
        "title": [f"t{i}" for i in range(n)], "author": [None] * n, "published": [None] * n,
        "language": ["en"] * n, "parent_doc_id": [None] * n,
    }, schema=DOCUMENT_SCHEMA)
    licenses = pa.table({
        "url": urls, "source": ["import column"] * n, "raw_value": ["CC-BY-4.0"] * n, "license": ["CC-BY-4.0"] * n,
        "observed_at": pa.array([AT] * n, pa.timestamp("us")), "doc_id": docs.column("doc_id"),
        "in_body": [False] * n, "scope": ["page"] * n, "vocabulary": [None] * n,
    }, schema=LICENSE_SCHEMA)
    # a signal row not tied to any document rides along: it is looked up whatever the commit
    return {"documents": docs, "texts": pa.array(texts),
            "signals": pa.concat_tables([_signals(urls), _signals([f"https://known{k % 3}.example/robots.txt"])
                                         .set_column(7, "doc_id", pa.array([None], pa.string()))]),
            "licenses": licenses}


def _import(ws, batches: list[int], *, known_min_commits: int, between=None) -> tuple[int, int]:
    """Stage ``batches`` in one run, two a commit; returns (documents committed, documents new)."""
    ledger = Ledger(ws)
    run = ledger.start_run("test-known")
    with Stager(ledger, run.run_id, "import", commit_rows=2 * BATCH, bulk_min_documents=10**9,
                known_min_commits=known_min_commits) as stager:
        for k in batches:
            b = _batch(k)
            stager.add(b["documents"], b["texts"], signals=b["signals"], licenses=b["licenses"])
        totals = stager.commit(progress=between)
    ledger.finish_run(run, {})
    return totals.documents, totals.documents_new


def _ledger(ws) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(ws / "ledger.duckdb"), read_only=True)
    try:
        return {
            "documents": con.execute("SELECT doc_id, url, text_sha256, license, consent, title, shard IS NOT NULL "
                                     "FROM documents ORDER BY doc_id").fetchall(),
            "history": con.execute("SELECT doc_id, text_sha256 FROM document_log ORDER BY ALL").fetchall(),
            "signals": con.execute("SELECT row_key, count(*) FROM signal_log GROUP BY 1 ORDER BY 1").fetchall(),
            "licenses": con.execute("SELECT row_key, count(*) FROM license_log GROUP BY 1 ORDER BY 1").fetchall(),
        }
    finally:
        con.close()


def _shard_texts(ws) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT doc_id, text_sha256, count(*) FROM read_parquet('{ws}/shards/**/*.parquet') "
                           "GROUP BY ALL ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_key_set_answers_membership_over_its_merged_parts():
    rng = np.random.default_rng(7)
    keys = KeySet()
    added = []
    for size in (5, 3, 8, 1, 40, 2):
        part = rng.integers(0, 2**63, size, dtype=np.uint64)
        keys.add(part)
        added.append(part)
    every = np.concatenate(added)
    assert len(keys) == len(every)
    assert all(keys.contains_any(np.array([k], np.uint64)) for k in every)
    others = rng.integers(0, 2**63, 1000, dtype=np.uint64)
    others = others[~np.isin(others, every)]
    assert not keys.contains_any(others)
    assert keys.contains_any(np.concatenate([others, every[-1:]]))
    assert not KeySet().contains_any(every) and not keys.contains_any(np.empty(0, np.uint64))
    assert not KeySet().contains_any(np.array([0], np.uint64))  # 0 is not in an empty set


def test_a_long_commit_phase_leaves_the_ledger_that_looking_everything_up_leaves(tmp_path):
    results = {}
    for mode, threshold in (("known keys", 3), ("look up", ALWAYS_LOOK_UP)):
        ws = tmp_path / mode.replace(" ", "_")
        first = _import(ws, [0, 1, 2, 3, 4, 5], known_min_commits=threshold)
        # batches 4 and 5 are stored already (same documents, same texts), 6-9 are new;
        # batch 2's documents come back with another text
        changed = _batch(2)
        second = _import(ws, [4, 5, 6, 7, 8, 9], known_min_commits=threshold)
        ledger = Ledger(ws)
        run = ledger.start_run("test-known-changed")
        docs = changed["documents"]
        texts = pa.array([f"new {t}" for t in changed["texts"].to_pylist()])
        docs = docs.set_column(docs.schema.get_field_index("text_sha256"), "text_sha256",
                               pa.array([text_sha256(t) for t in texts.to_pylist()]))
        with Stager(ledger, run.run_id, "import", commit_rows=17, bulk_min_documents=10**9,
                    known_min_commits=threshold) as stager:  # three commits of 17, 17 and 16
            for start in (0, 17, 34):
                stager.add(docs.slice(start, 17), texts.slice(start, 17),
                           licenses=changed["licenses"].slice(start, 17))
            third = stager.commit()
        ledger.finish_run(run, {})
        results[mode] = (first, second, (third.documents, third.documents_new), _ledger(ws), _shard_texts(ws))
    fast, slow = results["known keys"], results["look up"]
    assert fast[0] == slow[0] == (6 * BATCH, 6 * BATCH)
    assert fast[1] == slow[1] == (6 * BATCH, 4 * BATCH)
    assert fast[2] == slow[2] == (BATCH, BATCH)
    assert fast[3] == slow[3]
    assert len(fast[3]["documents"]) == 10 * BATCH
    assert len(fast[3]["history"]) == 11 * BATCH
    assert all(n == 1 for _, n in fast[3]["signals"]) and len(fast[3]["signals"]) == 10 * BATCH + 3
    assert all(n == 1 for _, n in fast[3]["licenses"]) and len(fast[3]["licenses"]) == 10 * BATCH
    assert fast[4] == slow[4] and all(n == 1 for *_, n in fast[4])  # every text stored once


def test_evidence_naming_a_document_never_stored_is_found(tmp_path):
    ws = tmp_path / "orphan"
    ledger = Ledger(ws)
    run = ledger.start_run("test-orphan")
    orphan = _url(3, 7)  # a signal about this page was recorded, the page itself never stored
    with ledger.writer() as writer:
        writer.append_set(SIGNALS, _signals([orphan]), run.run_id)
    ledger.finish_run(run, {})
    _import(ws, [0, 1, 2, 3, 4, 5], known_min_commits=3)
    signals = _ledger(ws)["signals"]
    assert all(n == 1 for _, n in signals), "the recorded signal was stored again"
    assert len(signals) == 6 * BATCH + 3


def test_another_writers_rows_between_two_commits_are_found(tmp_path):
    ws = tmp_path / "between"
    ledger = Ledger(ws)
    late = _url(5, 3)  # staged in the last commit; another writer records its signal before that
    commits = []

    def between(_n: int) -> None:
        commits.append(_n)
        if len(commits) == 1:
            run = ledger.start_run("test-other-writer")
            with ledger.writer() as writer:
                writer.append_set(SIGNALS, _signals([late]), run.run_id)
            ledger.finish_run(run, {})

    _import(ws, [0, 1, 2, 3, 4, 5], known_min_commits=3, between=between)
    assert len(commits) == 3
    signals = _ledger(ws)["signals"]
    assert all(n == 1 for _, n in signals), "the other writer's signal was stored again"
    assert len(signals) == 6 * BATCH + 3
