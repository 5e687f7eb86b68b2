"""The ledger on real DuckDB files: migrations, views, idempotent appends, history, locking."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import duckdb
import pytest

from provenance.ids import doc_id_for_url, domain_of, text_sha256
from provenance.ledger import Ledger, LedgerLockedError, LedgerMissingError, LedgerOutdatedError, _migrations
from provenance.records import ConsentSignal, Document, FetchRecord, LicenseFinding, MediaRef
from provenance.store import DocumentStore, PendingDocument

T0 = datetime(2026, 1, 1, 12, 0, 0)

STABLE_VIEWS = {
    "documents": ["doc_id", "url", "domain", "source_type", "fetched_at", "run_id", "title", "language",
                  "n_chars", "text_sha256", "shard", "license", "license_evidence", "consent",
                  "consent_evidence", "dup_cluster", "is_canonical", "revoked", "parent_doc_id"],
    "corpus": ["doc_id", "url", "text"],
    "fetches": ["url", "status", "outcome", "reason", "fetched_at", "run_id"],
    "consent_signals": ["url", "domain", "signal", "agent", "value", "evidence", "observed_at"],
    "runs": ["run_id", "command", "started_at", "finished_at", "config", "versions", "counts"],
}


def pending(url: str, text: str, *, when: datetime = T0, license: str | None = None,
            consent: str = "unspecified") -> PendingDocument:
    doc = Document(doc_id=doc_id_for_url(url), url=url, domain=domain_of(url), source_type="web",
                   fetched_at=when, text_sha256=text_sha256(text), n_chars=len(text), shard="",
                   license=license, consent=consent, title=url.rsplit("/", 1)[-1])
    return PendingDocument(doc=doc, text=text)


def store(ledger: Ledger, docs: list[PendingDocument], **extra) -> int:
    with ledger.writer() as w:
        run = w.start_run("test")
        result = DocumentStore(w, run.run_id, "web").write_batch(docs, **extra)
        w.finish_run(run, {"documents": result.documents})
    return result.documents


def test_views_exist_with_their_columns(workspace):
    ledger = Ledger(workspace)
    with ledger.writer():
        pass
    con = duckdb.connect(str(workspace.ledger_path), read_only=True)
    con.execute("SET file_search_path = ?", [str(workspace.root)])
    for view, columns in STABLE_VIEWS.items():
        got = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()]
        missing = [c for c in columns if c not in got]
        assert not missing, f"{view} lacks {missing}"
    assert con.execute("SELECT count(*) FROM documents_as_of(TIMESTAMP '2030-01-01')").fetchone()[0] == 0
    con.close()


def test_migrations_are_recorded_and_applied_once(workspace):
    ledger = Ledger(workspace)
    with ledger.writer():
        pass
    with ledger.writer():
        pass
    rows = ledger.query("SELECT version, name FROM schema_migrations ORDER BY version").to_pylist()
    assert rows[0] == {"version": 1, "name": "initial"}
    assert len({r["version"] for r in rows}) == len(rows)


def test_writing_the_same_documents_twice_adds_nothing(workspace):
    ledger = Ledger(workspace)
    docs = [pending(f"https://example.org/{i}", f"text number {i}") for i in range(50)]
    assert store(ledger, docs) == 50
    assert store(ledger, docs) == 0
    assert ledger.query("SELECT count(*) AS n FROM document_log").to_pylist() == [{"n": 50}]
    assert ledger.query("SELECT count(*) AS n FROM documents").to_pylist() == [{"n": 50}]
    assert ledger.query("SELECT count(*) AS n FROM shard_log").to_pylist() == [{"n": 1}]
    texts = ledger.query("SELECT doc_id, text FROM corpus ORDER BY text").to_pylist()
    assert len(texts) == 50 and texts[0]["text"] == "text number 0"


def test_history_keeps_every_state_and_as_of_answers_from_it(workspace):
    ledger = Ledger(workspace)
    url = "https://example.org/a"
    store(ledger, [pending(url, "v1", when=T0, license="CC-BY-4.0", consent="granted")])
    store(ledger, [pending(url, "v1", when=T0 + timedelta(days=1), license="CC-BY-4.0", consent="granted")])
    store(ledger, [pending(url, "v2", when=T0 + timedelta(days=2), consent="opted_out")])
    store(ledger, [pending(url, "v1", when=T0 + timedelta(days=3), license="CC-BY-4.0", consent="granted")])
    history = ledger.query("SELECT fetched_at, consent FROM document_log ORDER BY seq").to_pylist()
    # the unchanged re-observation on day 1 added nothing; going back to an earlier state did
    assert [h["consent"] for h in history] == ["granted", "opted_out", "granted"]
    latest = ledger.query("SELECT consent, license FROM documents").to_pylist()
    assert latest == [{"consent": "granted", "license": "CC-BY-4.0"}]
    as_of = ledger.query(
        "SELECT consent, license FROM documents_as_of(TIMESTAMP '2026-01-03 18:00:00')").to_pylist()
    assert as_of == [{"consent": "opted_out", "license": None}]
    assert ledger.query("SELECT count(*) AS n FROM documents_as_of(TIMESTAMP '2025-12-31')").to_pylist() == [{"n": 0}]
    # both texts stay readable: the corpus holds each (doc, text) once
    assert ledger.query("SELECT count(*) AS n FROM corpus").to_pylist() == [{"n": 2}]


def test_signals_licenses_media_are_sets_and_fetches_are_per_fetch_time(workspace):
    ledger = Ledger(workspace)
    url = "https://www.example.org/page"
    doc = pending(url, "hello")
    extra = dict(
        fetches=[FetchRecord(url=url, outcome="document", fetched_at=T0, status=200, doc_id=doc.doc.doc_id),
                 FetchRecord(url="https://example.org/private", outcome="skipped", fetched_at=T0,
                             reason="robots.txt: Disallow: /private")],
        signals=[ConsentSignal(url=url, domain="example.org", signal="x_robots_tag", value="noai",
                               evidence="X-Robots-Tag: noai", observed_at=T0, doc_id=doc.doc.doc_id)],
        licenses=[LicenseFinding(url=url, source="rel_license", raw_value="https://creativecommons.org/licenses/by/4.0/",
                                 license="CC-BY-4.0", observed_at=T0, doc_id=doc.doc.doc_id)],
        media=[MediaRef(media_url="https://example.org/a.mp3", page_doc_id=doc.doc.doc_id, page_url=url,
                        discovered_at=T0, kind="audio")],
    )
    store(ledger, [doc], **extra)
    later = {k: [dataclasses.replace(r, **{f: T0 + timedelta(hours=1)}) for r in v]
             for k, v in extra.items() for f in [("fetched_at" if k == "fetches" else "observed_at" if k in ("signals", "licenses") else "discovered_at")]}
    store(ledger, [doc], **later)
    counts = ledger.query("""SELECT (SELECT count(*) FROM fetches) f, (SELECT count(*) FROM consent_signals) s,
                                    (SELECT count(*) FROM license_findings) l, (SELECT count(*) FROM media) m""").to_pylist()
    # a fetch at another time is another fetch (the fetch log's identity includes the capture time);
    # the other logs are sets whatever the time
    assert counts == [{"f": 4, "s": 1, "l": 1, "m": 1}]
    assert ledger.query("SELECT DISTINCT domain FROM fetches WHERE outcome = 'skipped'").to_pylist() == [{"domain": "example.org"}]


def test_runs_record_command_config_versions_and_counts(workspace):
    ledger = Ledger(workspace)
    with ledger.writer() as w:
        run = w.start_run("import", {"files": ["a.jsonl"]})
        w.finish_run(run, {"documents": 3})
    row = ledger.query("SELECT * FROM runs").to_pylist()[0]
    assert row["command"] == "import" and row["status"] == "finished"
    assert '"a.jsonl"' in row["config"] and '"duckdb"' in row["versions"]
    assert row["n_documents"] == 3 and row["finished_at"] >= row["started_at"]


def test_revocation_and_cluster_feed_the_documents_view(workspace):
    ledger = Ledger(workspace)
    a, b = pending("https://news.example/a", "story"), pending("https://mirror.example/a", "story copy")
    store(ledger, [a, b])
    with ledger.writer() as w:
        w.con.execute("INSERT INTO cluster_log VALUES (nextval('cluster_seq'), ?, 'c1', TRUE, 1.0, 'test', ?, 'r'),"
                      " (nextval('cluster_seq'), ?, 'c1', FALSE, 0.9, 'test', ?, 'r')",
                      [a.doc.doc_id, T0, b.doc.doc_id, T0])
        w.con.execute("INSERT INTO revocation_log VALUES ('rv1', 'domain', 'news.example', 'publisher request', NULL, ?, 'r')", [T0])
    rows = {r["url"]: r for r in ledger.query("SELECT url, dup_cluster, is_canonical, revoked FROM documents").to_pylist()}
    assert rows["https://news.example/a"] == {"url": "https://news.example/a", "dup_cluster": "c1", "is_canonical": True, "revoked": True}
    # the mirror is revoked through its cluster
    assert rows["https://mirror.example/a"]["revoked"] is True


def test_moved_workspace_still_reads_its_corpus(workspace, tmp_path):
    ledger = Ledger(workspace)
    store(ledger, [pending("https://example.org/x", "portable text")])
    moved = tmp_path / "elsewhere"
    workspace.root.rename(moved)
    got = Ledger(moved).query("SELECT text FROM corpus").to_pylist()
    assert got == [{"text": "portable text"}]


def test_reader_on_missing_ledger_says_how_to_create_one(workspace):
    with pytest.raises(LedgerMissingError, match="provenance import"):
        Ledger(workspace).query("SELECT 1")


def test_second_writer_gets_a_clear_error_naming_the_lock(workspace):
    ledger = Ledger(workspace)
    with ledger.writer():
        pass
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from provenance.ledger import Ledger
        with Ledger({str(workspace.root)!r}).writer():
            print("locked", flush=True)
            time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LedgerLockedError) as info:
            with Ledger(workspace, lock_wait_s=0.5).writer():
                pass
        message = str(info.value)
        assert f"process {holder.pid}" in message and "one writer at a time" in message
    finally:
        holder.kill()
        holder.wait()


def test_orphan_shard_is_swept_and_never_in_corpus(workspace):
    ledger = Ledger(workspace)
    store(ledger, [pending("https://example.org/kept", "kept")])
    # a writer killed after writing its shard (and a half-written one) but before its commit
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os
        import pyarrow as pa
        import pyarrow.parquet as pq
        from provenance.ledger import Ledger
        with Ledger({str(workspace.root)!r}).writer() as w:
            run = w.start_run("doomed")
        web = w.workspace.shards_dir / "web"
        pq.write_table(pa.table({{"doc_id": ["zz"], "url": ["u"], "text": ["half-written"]}}),
                       web / f"{{run.run_id}}-00000-ab12.parquet")
        (web / f"{{run.run_id}}-00001-cd34.parquet.tmp").write_bytes(b"PAR1garbage")
        print(run.run_id)
        os._exit(0)
    """)], capture_output=True, text=True, check=True)
    run_id = proc.stdout.strip()
    orphan = workspace.shards_dir / "web" / f"{run_id}-00000-ab12.parquet"
    assert orphan.exists()
    with Ledger(workspace).writer():  # the next process to write finds the run dead and sweeps its shards
        pass
    assert not orphan.exists() and list((workspace.shards_dir / "web").glob(f"{run_id}-*")) == []
    assert (workspace.runs_dir / "orphaned-shards" / "shards" / "web" / orphan.name).exists()
    assert ledger.query("SELECT text FROM corpus").to_pylist() == [{"text": "kept"}]


def test_failed_batch_leaves_no_rows_and_no_shard(workspace):
    ledger = Ledger(workspace)
    with ledger.writer() as w:
        run = w.start_run("test")
        s = DocumentStore(w, run.run_id, "web")
        with pytest.raises(RuntimeError):
            with s.transaction():
                s.write_batch([pending("https://example.org/1", "one")])
                raise RuntimeError("boom")
    assert ledger.query("SELECT count(*) AS n FROM document_log").to_pylist() == [{"n": 0}]
    assert list((workspace.shards_dir / "web").glob("*")) == []


def test_a_reader_never_migrates_it_names_the_command_that_does(workspace):
    workspace.create()
    con = duckdb.connect(str(workspace.ledger_path))  # a ledger killed before its first migration committed
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
    con.close()
    before = workspace.ledger_path.read_bytes()
    with pytest.raises(LedgerOutdatedError) as info:
        Ledger(workspace).query("SELECT count(*) AS n FROM documents")
    assert "provenance" in str(info.value) and "migrate" in str(info.value) and "\n" not in str(info.value)
    assert workspace.ledger_path.read_bytes() == before  # the reader wrote nothing
    assert Ledger(workspace).migrate() == [v for v, _, _ in _migrations()]
    assert Ledger(workspace).migrate() == []
    assert Ledger(workspace).query("SELECT count(*) AS n FROM documents").to_pylist() == [{"n": 0}]


def test_a_killed_run_is_marked_interrupted_by_the_next_writer(workspace):
    ledger = Ledger(workspace)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os
        from provenance.ledger import Ledger
        with Ledger({str(workspace.root)!r}).writer() as w:
            run = w.start_run("doomed")
        os._exit(0)  # never finishes the run, as a SIGKILL would
    """)])
    assert proc.returncode == 0
    with ledger.writer() as w:
        w.start_run("alive")
    with ledger.writer():
        pass
    status = {r["command"]: r["status"] for r in ledger.query("SELECT command, status FROM runs").to_pylist()}
    assert status == {"doomed": "interrupted", "alive": "running"}


def test_corpus_never_shows_an_unregistered_shard_even_before_the_sweep(workspace):
    ledger = Ledger(workspace)
    store(ledger, [pending("https://example.org/kept", "kept")])
    import pyarrow as pa
    import pyarrow.parquet as pq

    # a writer killed after publishing its shard but before its commit leaves this behind
    pq.write_table(pa.table({"doc_id": ["zz"], "url": ["u"], "text": ["uncommitted"]}),
                   workspace.shards_dir / "web" / "killed-00000-abcdef.parquet")
    assert ledger.query("SELECT text FROM corpus").to_pylist() == [{"text": "kept"}]


def test_revocations_match_domains_subdomains_and_urls_as_of_their_time(workspace):
    ledger = Ledger(workspace)
    docs = [pending(u, u) for u in ("https://news.example/a", "https://blog.news.example/b",
                                    "https://other.example/c", "https://other.example/d", "https://notnews.example/e")]
    store(ledger, docs)
    with ledger.writer() as w:
        w.execute("INSERT INTO revocation_log VALUES ('r1', 'domain', 'news.example', 'publisher', NULL, ?, 'r'),"
                  " ('r2', 'url', 'https://other.example/d', 'author', NULL, ?, 'r')",
                  [T0 + timedelta(days=1), T0 + timedelta(days=2)])

    def revoked(sql):
        return sorted(r["url"] for r in ledger.query(sql).to_pylist())

    assert revoked("SELECT url FROM documents WHERE revoked") == [
        "https://blog.news.example/b", "https://news.example/a", "https://other.example/d"]
    assert revoked("SELECT url FROM documents_as_of(TIMESTAMP '2026-01-02 18:00:00') WHERE revoked") == [
        "https://blog.news.example/b", "https://news.example/a"]
    assert revoked("SELECT url FROM documents_as_of(TIMESTAMP '2026-01-01 18:00:00') WHERE revoked") == []
