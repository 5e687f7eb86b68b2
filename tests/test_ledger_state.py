"""document_state: current state kept at write time equals what the history says (as-of), through
re-observations, clusters, revocations and a migration of a ledger written before it existed."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from provenance.ledger import Ledger, LedgerOutdatedError, LedgerWriter, _ensure_empty_shard, _migrations
from provenance.records import Document
from tests.test_ledger import T0, pending, store

VIEW_COLUMNS = ("doc_id, url, domain, source_type, fetched_at, run_id, title, author, published, language, "
                "n_chars, text_sha256, shard, license, license_evidence, consent, consent_evidence, "
                "dup_cluster, is_canonical, revoked, parent_doc_id, cluster_consent, dup_similarity, dup_reason")
FAR = "TIMESTAMP '9999-12-30 00:00:00'"


def current_equals_history(ledger: Ledger) -> list[dict]:
    current = ledger.query(f"SELECT {VIEW_COLUMNS} FROM documents ORDER BY doc_id").to_pylist()
    history = ledger.query(f"SELECT {VIEW_COLUMNS} FROM documents_as_of({FAR}) ORDER BY doc_id").to_pylist()
    assert current == history
    return current


def add_clusters(ledger: Ledger, rows: list[tuple[str, str | None, bool]], when: datetime) -> None:
    with ledger.writer() as w:
        for doc_id, cluster, canonical in rows:
            w.execute("INSERT INTO cluster_log VALUES (nextval('cluster_seq'), ?, ?, ?, 0.9, 'test', ?, 'r')",
                      [doc_id, cluster, canonical, when])


def test_state_follows_history_through_clusters_revocations_and_old_observations(workspace):
    ledger = Ledger(workspace)
    a = pending("https://news.example/a", "story", consent="granted", license="CC-BY-4.0")
    b = pending("https://mirror.example/a", "story copy", consent="granted")
    c = pending("https://sub.blog.example/c", "other", consent="unspecified")
    store(ledger, [a, b, c])
    current_equals_history(ledger)

    add_clusters(ledger, [(a.doc.doc_id, "k1", True), (b.doc.doc_id, "k1", False)], T0 + timedelta(hours=1))
    rows = {r["url"]: r for r in current_equals_history(ledger)}
    assert rows[b.doc.url]["cluster_consent"] == "granted"

    # a member opts out later: the whole cluster's consent follows, in the same write
    store(ledger, [pending(a.doc.url, "story", when=T0 + timedelta(days=1), consent="opted_out")])
    rows = {r["url"]: r for r in current_equals_history(ledger)}
    assert rows[b.doc.url]["cluster_consent"] == "opted_out" and rows[b.doc.url]["consent"] == "granted"

    # an observation older than the current one goes to history only
    store(ledger, [pending(a.doc.url, "story", when=T0 - timedelta(days=1), consent="granted")])
    rows = {r["url"]: r for r in current_equals_history(ledger)}
    assert rows[a.doc.url]["consent"] == "opted_out"

    # a domain revocation reaches subdomains, and the cluster of what it reaches
    with ledger.writer() as w:
        w.execute("INSERT INTO revocation_log VALUES ('r1', 'domain', 'news.example', 'asked', NULL, ?, 'r'),"
                  " ('r2', 'domain', 'blog.example', 'asked', NULL, ?, 'r')",
                  [T0 + timedelta(days=2), T0 + timedelta(days=2)])
    rows = {r["url"]: r for r in current_equals_history(ledger)}
    assert rows[a.doc.url]["revoked"] and rows[b.doc.url]["revoked"] and rows[c.doc.url]["revoked"]

    # b leaves the cluster: it is no longer revoked through it, and its consent is its own again
    add_clusters(ledger, [(b.doc.doc_id, None, True)], T0 + timedelta(days=3))
    rows = {r["url"]: r for r in current_equals_history(ledger)}
    assert rows[b.doc.url]["revoked"] is False and rows[b.doc.url]["cluster_consent"] == "granted"
    assert ledger.query("SELECT count(*) AS n FROM clusters WHERE dup_cluster IS NULL").to_pylist() == [{"n": 1}]

    # as-of still answers from history: before the opt-out and the revocation
    then = ledger.query(f"SELECT url, consent, cluster_consent, revoked FROM documents_as_of("
                        f"TIMESTAMP '{(T0 + timedelta(hours=2)).isoformat(sep=' ')}') ORDER BY url").to_pylist()
    assert {r["url"]: (r["consent"], r["cluster_consent"], r["revoked"]) for r in then} == {
        a.doc.url: ("granted", "granted", False), b.doc.url: ("granted", "granted", False),
        c.doc.url: ("unspecified", "unspecified", False)}


def test_a_new_document_of_a_revoked_domain_is_revoked_when_written(workspace):
    ledger = Ledger(workspace)
    store(ledger, [pending("https://other.example/x", "x")])
    with ledger.writer() as w:
        w.execute("INSERT INTO revocation_log VALUES ('r1', 'url', 'https://news.example/late', 'asked', NULL, ?, 'r')", [T0])
    store(ledger, [pending("https://news.example/late", "late story")])
    rows = {r["url"]: r["revoked"] for r in current_equals_history(ledger)}
    assert rows == {"https://news.example/late": True, "https://other.example/x": False}


def _old_schema_ledger(workspace, docs: list[Document]) -> None:
    """A ledger as the code before document_state wrote it: migrations 0001-0006, rows in the logs."""
    _ensure_empty_shard(workspace)
    con = duckdb.connect(str(workspace.ledger_path))
    con.execute("SET file_search_path = ?", [str(workspace.root)])
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMP NOT NULL)")
    for version, name, sql in _migrations():
        if version >= 7:
            break
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, T0])
    for seq, d in enumerate(docs, start=1):
        con.execute("INSERT INTO document_log (seq, doc_id, url, domain, source_type, fetched_at, run_id, n_chars, "
                    "text_sha256, shard, license, consent) VALUES (?, ?, ?, ?, 'web', ?, 'old-run', ?, ?, 'shards/_empty.parquet', ?, ?)",
                    [seq, d.doc_id, d.url, d.domain, d.fetched_at, d.n_chars, d.text_sha256, d.license, d.consent])
    con.execute("INSERT INTO cluster_log VALUES (1, ?, 'k', TRUE, 1.0, 'old', ?, 'old-run'), (2, ?, 'k', FALSE, 0.9, 'old', ?, 'old-run')",
                [docs[0].doc_id, T0 + timedelta(days=5), docs[2].doc_id, T0 + timedelta(days=5)])
    con.close()


def test_an_existing_workspace_is_migrated_and_its_state_built_from_history(workspace):
    workspace.create()
    a1 = pending("https://a.example/1", "one", consent="granted").doc
    a2 = pending("https://a.example/1", "one v2", when=T0 + timedelta(days=1), consent="opted_out").doc
    b = pending("https://b.example/2", "two", consent="granted", license="CC0-1.0").doc
    _old_schema_ledger(workspace, [a1, a2, b])
    ledger = Ledger(workspace)
    assert ledger.migrate() == [v for v, _, _ in _migrations() if v >= 7]
    rows = {r["url"]: r for r in current_equals_history(ledger)}
    assert rows["https://a.example/1"]["consent"] == "opted_out"
    assert rows["https://b.example/2"]["cluster_consent"] == "opted_out"  # its cluster's
    versions = ledger.query("SELECT max(version) AS v FROM schema_migrations").to_pylist()[0]["v"]
    assert versions == _migrations()[-1][0]
    # new writes continue from the migrated state
    store(ledger, [pending("https://b.example/2", "two", when=T0 + timedelta(days=9), consent="unspecified",
                           license="CC0-1.0")])
    rows = {r["url"]: r for r in current_equals_history(ledger)}
    assert rows["https://b.example/2"]["consent"] == "unspecified"


def _ledger_before_0012(workspace, docs: list[Document]) -> None:
    """A ledger as the code before migration 0012 left it: every observation in the document_log
    table, and the current one of each document copied into document_state (which that code
    did in the same transaction: fold_log_rows is its fold), clusters folded by sync_state."""
    _ensure_empty_shard(workspace)
    con = duckdb.connect(str(workspace.ledger_path))
    con.execute("SET file_search_path = ?", [str(workspace.root)])
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMP NOT NULL)")
    for version, name, sql in _migrations():
        if name == "current_once":
            break
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, T0])
    for seq, d in enumerate(docs, start=1):
        con.execute("INSERT INTO document_log (seq, doc_id, url, domain, source_type, fetched_at, run_id, n_chars, "
                    "text_sha256, shard, license, consent, registered_domain) VALUES "
                    "(?, ?, ?, ?, 'web', ?, 'old-run', ?, ?, 'shards/_empty.parquet', ?, ?, ?)",
                    [seq, d.doc_id, d.url, d.domain, d.fetched_at, d.n_chars, d.text_sha256, d.license, d.consent,
                     d.domain])
    con.execute("INSERT INTO cluster_log VALUES (1, ?, 'k', TRUE, 1.0, 'old', ?, 'old-run'), "
                "(2, ?, 'k', FALSE, 0.9, 'old', ?, 'old-run')",
                [docs[0].doc_id, T0 + timedelta(days=5), docs[-1].doc_id, T0 + timedelta(days=5)])
    writer = LedgerWriter(con, workspace)
    writer.fold_log_rows(0)
    con.execute("UPDATE state_marks SET applied = ? WHERE log = 'document_log'", [len(docs)])
    writer.sync_state()
    con.close()


def test_a_ledger_that_stored_each_document_twice_is_split_by_migrate(workspace, cli):
    workspace.create()
    a1 = pending("https://a.example/1", "one", consent="granted").doc
    a2 = pending("https://a.example/1", "one v2", when=T0 + timedelta(days=1), consent="opted_out").doc
    a0 = pending("https://a.example/1", "one v0", when=T0 - timedelta(days=1), consent="unspecified").doc
    b = pending("https://b.example/2", "two", consent="granted", license="CC0-1.0").doc
    _ledger_before_0012(workspace, [a1, a2, a0, b])
    ledger = Ledger(workspace)
    with pytest.raises(LedgerOutdatedError, match="migrate"):  # a reader refuses, and changes nothing
        ledger.query("SELECT 1")
    old_rows = duckdb.connect(str(workspace.ledger_path), read_only=True).execute(
        "SELECT * EXCLUDE (registered_domain) FROM document_log ORDER BY seq").fetchall()

    out = cli("-w", str(workspace.root), "migrate")
    assert out.code == 0 and "0012" in out.out
    assert cli("-w", str(workspace.root), "migrate").out.strip().endswith("is up to date")

    # each observation once: the current ones in document_state, the others in document_past
    counts = ledger.query("SELECT (SELECT count(*) FROM document_state) AS state, "
                          "(SELECT count(*) FROM document_past) AS past").to_pylist()
    assert counts == [{"state": 2, "past": 2}]
    # the history reads as before the migration, and the current state equals it
    assert ledger.query("SELECT * EXCLUDE (registered_domain) FROM document_log ORDER BY seq").to_pylist() == [
        dict(zip(ledger.query("SELECT * EXCLUDE (registered_domain) FROM document_log LIMIT 0").column_names, r))
        for r in old_rows]
    rows = {r["url"]: r for r in current_equals_history(ledger)}
    assert rows[a1.url]["consent"] == "opted_out" and rows[b.url]["cluster_consent"] == "opted_out"
    then = ledger.query(f"SELECT consent FROM documents_as_of(TIMESTAMP '{T0.isoformat(sep=' ')}') "
                        f"WHERE url = ?", [a1.url]).to_pylist()
    assert then == [{"consent": "granted"}]

    # new observations go on from there: the replaced one moves to document_past
    store(ledger, [pending(b.url, "two", when=T0 + timedelta(days=9), consent="unspecified", license="CC0-1.0")])
    rows = {r["url"]: r for r in current_equals_history(ledger)}
    assert rows[b.url]["consent"] == "unspecified" and rows[b.url]["dup_cluster"] == "k"
    assert ledger.query("SELECT count(*) AS n FROM document_past").to_pylist() == [{"n": 3}]


def test_each_observation_is_stored_once(workspace):
    ledger = Ledger(workspace)
    a = pending("https://a.example/1", "one", consent="granted")
    store(ledger, [a, pending("https://b.example/2", "two")])
    store(ledger, [a])  # unchanged: nothing stored
    store(ledger, [pending(a.doc.url, "one v2", when=T0 + timedelta(days=1))])
    store(ledger, [pending(a.doc.url, "one v0", when=T0 - timedelta(days=1))])  # older: history only
    counts = ledger.query("SELECT (SELECT count(*) FROM document_state) AS state, "
                          "(SELECT count(*) FROM document_past) AS past, "
                          "(SELECT count(*) FROM document_log) AS log").to_pylist()
    assert counts == [{"state": 2, "past": 2, "log": 4}]
    assert ledger.query("SELECT text_sha256 FROM documents WHERE url = ?", [a.doc.url]).to_pylist() == [
        {"text_sha256": pending(a.doc.url, "one v2").doc.text_sha256}]
    current_equals_history(ledger)
