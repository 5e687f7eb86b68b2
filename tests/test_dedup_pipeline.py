"""`provenance dedup` end to end on real workspaces: rights-aware canonical choice, cluster-wide
consent and revocation, determinism across worker counts, incremental runs, the signature index."""

from __future__ import annotations

import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dedup import synthetic
from dedup.engine import DedupError
from dedup.pipeline import NO_LONGER, DedupOptions, run_dedup
from provenance.ids import doc_id_for_url, domain_of, text_sha256
from provenance.ledger import Ledger
from provenance.records import Document
from provenance.store import DocumentStore, PendingDocument
from provenance.workspace import Workspace

T0 = datetime(2026, 3, 1, 8, 0, 0)
CLUSTER_COLUMNS = "doc_id, dup_cluster, is_canonical, similarity, reason"


def base_texts(n: int, seed: int = 5) -> list[str]:
    return [d.text for d in synthetic.generate(n, seed=seed, copy_fraction=0.0)]


def variant(text: str, k: int) -> str:
    """A near-copy: one word near the end replaced (Jaccard of 5-gram sets stays well above 0.8)."""
    words = text.split(" ")
    words[-3 - k] = f"edited{k}"
    return " ".join(words)


def put(ledger: Ledger, rows: list[tuple], batch: int = 10_000) -> None:
    """Store (url, text, license, consent, fetched_at[, title]) rows, ``batch`` rows per shard."""
    with ledger.writer() as w:
        run = w.start_run("test")
        store = DocumentStore(w, run.run_id, "web")
        for lo in range(0, len(rows), batch):
            pending = []
            for url, text, license, consent, when, *title in rows[lo:lo + batch]:
                doc = Document(doc_id=doc_id_for_url(url), url=url, domain=domain_of(url), source_type="web",
                               fetched_at=when, text_sha256=text_sha256(text), n_chars=len(text), shard="",
                               license=license, consent=consent, title=title[0] if title else None)
                pending.append(PendingDocument(doc=doc, text=text))
            store.write_batch(pending)
        w.finish_run(run)


def dedup(ledger: Ledger, **options):
    return run_dedup(ledger, DedupOptions(**{"workers": 1, **options}))


def clusters(ledger: Ledger) -> list[dict]:
    return ledger.query(f"SELECT {CLUSTER_COLUMNS} FROM clusters ORDER BY doc_id").to_pylist()


def by_url(ledger: Ledger, columns: str = "*") -> dict[str, dict]:
    return {r["url"]: r for r in ledger.query(f"SELECT url, {columns} FROM documents").to_pylist()}


def synthetic_rows(docs: list[synthetic.SyntheticDoc]) -> list[tuple]:
    return [(d.url, d.text, d.license, d.consent, d.fetched_at) for d in docs]


# --- the command ---------------------------------------------------------------------------------

def test_cli_keeps_the_licensed_copy_of_the_sample_corpus(cli, workspace):
    sample = Path(__file__).resolve().parent.parent / "provenance" / "sample" / "corpus.jsonl"
    assert cli("-w", str(workspace.root), "import", str(sample)).code == 0
    result = cli("-w", str(workspace.root), "dedup", "--workers", "1")
    assert result.code == 0, result.err
    assert "1 clusters holding 2 documents" in result.err
    rows = cli("-w", str(workspace.root), "sql", "--format", "json",
               "SELECT url, license, consent, cluster_consent, is_canonical, dup_similarity, dup_reason "
               "FROM documents WHERE dup_cluster IS NOT NULL ORDER BY is_canonical DESC").json()
    assert [r["url"] for r in rows] == ["https://garden-notes.example/articles/00-0",
                                        "https://news.example/syndicated/community-gardens"]
    canonical, copy = rows
    assert canonical["license"] == "CC-BY-4.0" and canonical["is_canonical"] is True
    assert copy["license"] == "LicenseRef-all-rights-reserved" and copy["is_canonical"] is False
    assert canonical["dup_reason"].startswith("canonical: consent granted over unspecified")
    assert copy["dup_reason"].startswith("near duplicate of ")
    assert 0.8 <= copy["dup_similarity"] < 1.0
    assert {r["cluster_consent"] for r in rows} == {"unspecified"}  # the most restrictive member
    summary = cli("-w", str(workspace.root), "sql", "--format", "json", "SELECT * FROM dup_clusters").json()
    assert len(summary) == 1 and summary[0]["canonical_license"] == "CC-BY-4.0"
    assert summary[0]["n_documents"] == 2


def test_engine_ray_without_ray_installed_is_refused_with_what_to_do(cli, workspace, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees where the extra is not installed
    result = cli("-w", str(workspace.root), "dedup", "--engine", "ray")
    assert result.code == 1
    assert "pip install 'corpus-provenance[distributed]'" in result.err and "--engine local" in result.err
    assert not workspace.ledger_path.exists()  # refused before the ledger was touched


def test_ray_address_without_engine_ray_is_refused(cli, workspace):
    result = cli("-w", str(workspace.root), "dedup", "--ray-address", "127.0.0.1:6379")
    assert result.code == 1 and "--engine ray" in result.err


def test_dedup_of_an_empty_workspace_is_a_no_op(workspace):
    summary = dedup(Ledger(workspace))
    assert (summary.documents, summary.clusters, summary.rows_written) == (0, 0, 0)


# --- canonical choice -------------------------------------------------------------------------

def test_canonical_is_the_copy_with_the_clearest_rights_then_the_earliest_fetch(workspace):
    ledger = Ledger(workspace)
    a, b, c, d = base_texts(4)
    h = timedelta(hours=1)
    put(ledger, [
        # 1: granted + open license, and of two such copies the earlier fetch
        ("https://one.example/opted-out", a, "CC-BY-4.0", "opted_out", T0),
        ("https://one.example/unspecified", variant(a, 1), None, "unspecified", T0 + h),
        ("https://one.example/nc", variant(a, 2), "CC-BY-NC-4.0", "granted", T0 + 3 * h),
        ("https://one.example/open-late", variant(a, 3), "CC-BY-4.0", "granted", T0 + 4 * h),
        ("https://one.example/open-early", variant(a, 4), "CC-BY-4.0", "granted", T0 + 2 * h),
        # 2: consent before license
        ("https://two.example/granted", b, None, "granted", T0 + 5 * h),
        ("https://two.example/licensed", variant(b, 1), "CC-BY-4.0", "unspecified", T0),
        # 3: a permission-granting license over an explicit reservation, whatever the fetch times
        ("https://three.example/reserved", c, "LicenseRef-all-rights-reserved", "unspecified", T0),
        ("https://three.example/nc", variant(c, 1), "CC-BY-NC-4.0", "unspecified", T0 + h),
        # 4: everything equal: the smallest doc_id
        ("https://four.example/x", d, "MIT", "granted", T0),
        ("https://four.example/y", variant(d, 1), "MIT", "granted", T0),
    ])
    summary = dedup(ledger)
    assert summary.clusters == 4 and summary.clustered_documents == 11
    docs = by_url(ledger, "dup_cluster, is_canonical, dup_reason")
    canonical = {u for u, r in docs.items() if r["is_canonical"]}
    four = sorted(["https://four.example/x", "https://four.example/y"], key=doc_id_for_url)[0]
    assert canonical == {"https://one.example/open-early", "https://two.example/granted",
                         "https://three.example/nc", four}
    assert docs["https://one.example/open-early"]["dup_reason"].startswith("canonical: earlier first fetch")
    assert docs["https://two.example/granted"]["dup_reason"] == "canonical: consent granted over unspecified"
    assert "a license that grants permission (CC-BY-NC-4.0) over no license (LicenseRef-all-rights-reserved)" \
        in docs["https://three.example/nc"]["dup_reason"]
    assert docs[four]["dup_reason"] == "canonical: equal rights and fetch time; smallest doc_id"
    opted = docs["https://one.example/opted-out"]["dup_reason"]
    assert opted.startswith(f"near duplicate of {doc_id_for_url('https://one.example/open-early')}")
    assert opted.endswith("canonical for consent granted over opted_out")
    # a later observation of the canonical (same text, new title) does not make its text look newer
    put(ledger, [("https://one.example/open-early", variant(a, 4), "CC-BY-4.0", "granted", T0 + 9 * h, "New title")])
    assert ledger.query("SELECT count(*) AS n FROM document_log").to_pylist() == [{"n": 12}]
    assert dedup(ledger).rows_written == 0
    # one cluster id per group, derived from its smallest member doc_id
    for prefix in ("one", "two", "three", "four"):
        members = [u for u in docs if u.startswith(f"https://{prefix}.")]
        assert {docs[u]["dup_cluster"] for u in members} == {"dup-" + min(doc_id_for_url(u) for u in members)}


def test_exact_duplicates_are_joined_by_normalised_text(workspace):
    ledger = Ledger(workspace)
    (a,) = base_texts(1)
    put(ledger, [("https://x.example/a", a, None, "unspecified", T0),
                 ("https://x.example/b", "  " + a.upper().replace(" ", " \n "), None, "unspecified", T0),
                 ("https://x.example/empty-1", "", None, "unspecified", T0),
                 ("https://x.example/short", "tiny", None, "unspecified", T0)])
    summary = dedup(ledger)
    assert summary.exact_duplicates == 1
    docs = by_url(ledger, "dup_cluster, dup_similarity, dup_reason")
    assert docs["https://x.example/a"]["dup_cluster"] == docs["https://x.example/b"]["dup_cluster"] is not None
    member = [r for u, r in docs.items() if u in ("https://x.example/a", "https://x.example/b")
              and not r["dup_reason"].startswith("canonical")][0]
    assert member["dup_similarity"] == 1.0 and member["dup_reason"].startswith("exact duplicate of ")
    assert docs["https://x.example/empty-1"]["dup_cluster"] is None
    assert docs["https://x.example/short"]["dup_cluster"] is None


# --- consent and revocation across a cluster ---------------------------------------------------

def test_an_opt_out_or_revocation_of_any_member_shows_on_the_whole_cluster(workspace):
    ledger = Ledger(workspace)
    a, b = base_texts(2)
    put(ledger, [("https://a.example/1", a, "CC-BY-4.0", "granted", T0),
                 ("https://b.example/1", variant(a, 1), None, "granted", T0),
                 ("https://c.example/1", b, None, "granted", T0)])
    dedup(ledger)
    after_dedup = ledger.query("SELECT max(assigned_at) AS t FROM cluster_log").column("t")[0].as_py()
    docs = by_url(ledger, "cluster_consent, dup_cluster, revoked")
    assert {r["cluster_consent"] for r in docs.values()} == {"granted"}

    # a later observation of one member carries an opt-out: visible on every member at once
    put(ledger, [("https://b.example/1", variant(a, 1), None, "opted_out", T0 + timedelta(days=1))])
    docs = by_url(ledger, "consent, cluster_consent, revoked")
    assert docs["https://a.example/1"]["consent"] == "granted"
    assert docs["https://a.example/1"]["cluster_consent"] == "opted_out"
    assert docs["https://b.example/1"]["cluster_consent"] == "opted_out"
    assert docs["https://c.example/1"]["cluster_consent"] == "granted"  # not in the cluster

    # a revocation of one member's domain revokes the whole cluster
    with ledger.writer() as w:
        w.execute("INSERT INTO revocation_log VALUES ('r1', 'domain', 'b.example', 'owner asked', NULL, ?, 'test')",
                  [T0 + timedelta(days=2)])
    docs = by_url(ledger, "revoked")
    assert docs["https://a.example/1"]["revoked"] and docs["https://b.example/1"]["revoked"]
    assert not docs["https://c.example/1"]["revoked"]

    # as of before the dedup ran, there were no clusters
    before = ledger.query("SELECT count(*) AS n FROM documents_as_of(?) WHERE dup_cluster IS NOT NULL",
                          [after_dedup - timedelta(microseconds=1)]).to_pylist()
    assert before == [{"n": 0}]
    # the next dedup may pick a new canonical (the opted-out copy can no longer be it)
    dedup(ledger)
    docs = by_url(ledger, "is_canonical")
    assert docs["https://a.example/1"]["is_canonical"] and not docs["https://b.example/1"]["is_canonical"]


# --- determinism, incremental runs, the index ----------------------------------------------------

@pytest.fixture(scope="module")
def corpus() -> list[synthetic.SyntheticDoc]:
    return list(synthetic.generate(700, seed=9, copy_fraction=0.4, edit_rates=(0.0, 0.01, 0.02, 0.05, 0.3)))


def test_clusters_do_not_depend_on_the_number_of_workers(tmp_path, corpus):
    results = []
    for workers in (1, 2):
        ledger = Ledger(Workspace(tmp_path / f"ws{workers}"))
        put(ledger, synthetic_rows(corpus), batch=120)  # several shards: several tasks
        summary = dedup(ledger, workers=workers, batch_size=50)
        assert summary.new_signatures == len(corpus)
        results.append(clusters(ledger))
    assert len(results[0]) > 100
    assert results[0] == results[1]


def test_incremental_runs_equal_a_run_from_scratch_and_a_rerun_changes_nothing(tmp_path, corpus):
    half = len(corpus) // 2
    incremental = Ledger(Workspace(tmp_path / "incremental"))
    put(incremental, synthetic_rows(corpus[:half]))
    first = dedup(incremental)
    put(incremental, synthetic_rows(corpus[half:]))
    second = dedup(incremental)
    assert (first.new_signatures, second.new_signatures, second.reused_signatures) == (half, len(corpus) - half, half)

    scratch = Ledger(Workspace(tmp_path / "scratch"))
    put(scratch, synthetic_rows(corpus))
    dedup(scratch)
    assert clusters(incremental) == clusters(scratch)
    assert by_url(incremental, "dup_cluster, is_canonical, dup_similarity, dup_reason, cluster_consent") == \
        by_url(scratch, "dup_cluster, is_canonical, dup_similarity, dup_reason, cluster_consent")

    def state(ledger: Ledger):
        counts = ledger.query("SELECT (SELECT count(*) FROM cluster_log) AS clusters, "
                              "(SELECT count(*) FROM minhash_part_log) AS parts").to_pylist()[0]
        files = sorted(p.name for p in (ledger.workspace.root / "index").rglob("*") if p.is_file())
        return counts, files

    before = state(incremental)
    rerun = dedup(incremental, workers=2)
    assert (rerun.new_signatures, rerun.rows_written) == (0, 0)
    assert state(incremental) == before


SUMMARY_TOTALS = ("documents", "exact_duplicates", "candidate_edges", "clusters", "clustered_documents")


def totals(summary) -> tuple:
    return tuple(getattr(summary, f) for f in SUMMARY_TOTALS)


def boilerplate_family(n: int, seed: int = 3) -> list[synthetic.SyntheticDoc]:
    """``n`` pages sharing a 200-word block, each with its own 28-word tail: pairs sit around the
    0.8 threshold (some verify, some do not) and share LSH buckets often, so buckets are large
    and the pairs found depend on which bucket members are compared."""
    words = [d.text.split() for d in synthetic.generate(n + 1, seed=seed, copy_fraction=0.0, min_words=230)]
    block = " ".join(words[0][:200])
    return [synthetic.SyntheticDoc(url=f"https://boiler.example/{i}", text=f"{block} {' '.join(w[:28])}",
                                   license=None, consent="unspecified", fetched_at=T0 + timedelta(minutes=i))
            for i, w in enumerate(words[1:])]


@pytest.mark.parametrize("max_bucket", [64, 2])
def test_runs_after_each_addition_equal_a_run_from_scratch_on_the_same_documents(tmp_path, corpus, max_bucket):
    """Documents arrive in four batches of unequal size, with a dedup run after each; the clusters
    (members, canonical choice, similarity, reason) and the corpus totals equal a from-scratch run
    over the same ledger history, and a from-scratch run on the same workspace (its dedup state
    deleted) writes no row. With max_bucket 2 every bucket of more than two overflows, so the pairs come from
    the bucket windows, whose stability under additions is what makes the incremental run exact."""
    family = boilerplate_family(60)
    batches = [corpus[:300] + family[:30], corpus[300:310] + family[30:40], corpus[310:311], corpus[311:] + family[40:]]
    incremental = Ledger(Workspace(tmp_path / "incremental"))
    scratch = Ledger(Workspace(tmp_path / "scratch"))
    runs = []
    for batch in batches:
        put(incremental, synthetic_rows(batch))
        put(scratch, synthetic_rows(batch))
        runs.append(dedup(incremental, max_bucket=max_bucket))
    assert [r.mode for r in runs] == ["full", "incremental", "incremental", "incremental"]
    assert [r.new_signatures for r in runs] == [len(b) for b in batches]
    assert runs[-1].reused_signatures == len(corpus) + len(family) - len(batches[-1])
    from_scratch = dedup(scratch, max_bucket=max_bucket)
    assert from_scratch.mode == "full"
    assert totals(runs[-1]) == totals(from_scratch)
    assert clusters(incremental) == clusters(scratch)
    assert len(clusters(scratch)) > 150 and from_scratch.clusters > 50
    columns = "dup_cluster, is_canonical, dup_similarity, dup_reason, cluster_consent"
    assert by_url(incremental, columns) == by_url(scratch, columns)
    # later runs changed earlier documents' rows (new members renamed a cluster, took over the
    # canonical place or merged two clusters), not only the new documents'
    reassigned = incremental.query("SELECT count(*) AS n FROM (SELECT doc_id FROM cluster_log GROUP BY doc_id "
                                   "HAVING count(DISTINCT run_id) > 1)").to_pylist()[0]["n"]
    assert reassigned > 0

    shutil.rmtree(incremental.workspace.root / "index" / "dedup")  # the state lost: rebuilt from the ledger
    rebuilt = dedup(incremental, max_bucket=max_bucket)
    assert (rebuilt.mode, rebuilt.new_signatures, rebuilt.rows_written) == ("full", 0, 0)
    assert totals(rebuilt) == totals(from_scratch)
    assert dedup(incremental, max_bucket=max_bucket).mode == "unchanged"


def test_a_run_killed_after_its_commit_leaves_a_state_the_next_run_does_not_trust(workspace, corpus):
    """The manifest is written after the ledger commit; one that does not name the last finished
    run (here: an older manifest put back) is ignored and the next run is a full one."""
    ledger = Ledger(workspace)
    put(ledger, synthetic_rows(corpus[:200]))
    dedup(ledger)
    manifest = next(p for p in (workspace.root / "index" / "dedup").iterdir() if p.is_dir()) / "manifest.json"
    old = manifest.read_text()
    put(ledger, synthetic_rows(corpus[200:260]))
    assert dedup(ledger).mode == "incremental"
    manifest.write_text(old)  # as if the last run died between its commit and its manifest
    put(ledger, synthetic_rows(corpus[260:300]))
    after = dedup(ledger)
    assert after.mode == "full" and after.new_signatures == 40
    scratch = Ledger(Workspace(workspace.root.parent / "scratch"))
    for lo, hi in ((0, 200), (200, 260), (260, 300)):
        put(scratch, synthetic_rows(corpus[lo:hi]))
    dedup(scratch)
    assert clusters(ledger) == clusters(scratch)


def test_a_changed_text_is_rehashed_and_can_leave_its_cluster(workspace):
    ledger = Ledger(workspace)
    a, b = base_texts(2)
    put(ledger, [("https://a.example/1", a, None, "granted", T0), ("https://b.example/1", variant(a, 1), None, "granted", T0)])
    assert dedup(ledger).clusters == 1
    put(ledger, [("https://b.example/1", b, None, "granted", T0 + timedelta(days=1))])  # rewritten page
    summary = dedup(ledger)
    assert summary.mode == "full"  # a changed text can split a cluster: a full run
    assert (summary.new_signatures, summary.clusters, summary.rows_written) == (1, 0, 2)
    rows = clusters(ledger)
    assert {r["dup_cluster"] for r in rows} == {None} and {r["reason"] for r in rows} == {NO_LONGER}
    assert ledger.query("SELECT count(*) AS n FROM documents WHERE dup_cluster IS NOT NULL").to_pylist() == [{"n": 0}]


def test_pages_in_no_cluster_whose_text_changed_are_redone_incrementally(tmp_path, corpus):
    """Re-crawled pages with new text that were in no cluster: their old node leaves the index
    (nothing else depended on it) and the new text comes in as a new document, some of them now
    copies of clustered pages. Equal to a from-scratch run over the same ledger history."""
    base = corpus[:300]
    ledger = Ledger(Workspace(tmp_path / "ws"))
    put(ledger, synthetic_rows(base))
    first = dedup(ledger)
    in_clusters = {r["doc_id"] for r in clusters(ledger) if r["dup_cluster"]}
    lone = [d for d in base if doc_id_for_url(d.url) not in in_clusters][:6]
    clustered = [d for d in base if doc_id_for_url(d.url) in in_clusters][:3]
    fresh = base_texts(3, seed=17)
    history = [
        [(d.url, t, d.license, d.consent, d.fetched_at + timedelta(days=1)) for d, t in zip(lone[:3], fresh)]
        + [(lone[3].url, variant(clustered[0].text, 3), None, "granted", lone[3].fetched_at + timedelta(days=1))],
        [(lone[4].url, variant(clustered[1].text, 4), lone[4].license, lone[4].consent,
          lone[4].fetched_at + timedelta(days=2)),
         (lone[0].url, lone[0].text, lone[0].license, lone[0].consent, lone[0].fetched_at + timedelta(days=2))],
    ]
    runs = []
    for rows in history:
        put(ledger, rows)
        runs.append(dedup(ledger))
    assert [r.mode for r in runs] == ["incremental", "incremental"]
    assert [r.documents for r in runs] == [first.documents] * 2
    scratch = Ledger(Workspace(tmp_path / "scratch"))
    put(scratch, synthetic_rows(base))
    for rows in history:
        put(scratch, rows)
    from_scratch = dedup(scratch)
    assert totals(runs[-1]) == totals(from_scratch)
    assert clusters(ledger) == clusters(scratch)
    joined = {r["doc_id"]: r["dup_cluster"] for r in clusters(ledger)}
    assert joined[doc_id_for_url(lone[3].url)] == joined[doc_id_for_url(clustered[0].url)]  # now copies
    assert joined[doc_id_for_url(lone[4].url)] == joined[doc_id_for_url(clustered[1].url)]
    shutil.rmtree(ledger.workspace.root / "index" / "dedup")
    rebuilt = dedup(ledger)
    assert (rebuilt.mode, rebuilt.rows_written) == ("full", 0)


def test_a_text_that_comes_back_to_an_earlier_one_is_noticed(tmp_path):
    """A page rewritten and then restored: its restored text's first ledger row is older than the
    last run, yet the stored node holds the rewritten text, so the run must redo it."""
    a, b = base_texts(2)
    history = [[("https://a.example/1", a, None, "granted", T0),
                ("https://b.example/1", variant(a, 1), None, "granted", T0)],
               [("https://b.example/1", b, None, "granted", T0 + timedelta(days=1))],
               [("https://b.example/1", variant(a, 1), None, "granted", T0 + timedelta(days=2))]]
    ledger = Ledger(Workspace(tmp_path / "ws"))
    runs = []
    for rows in history:
        put(ledger, rows)
        runs.append(dedup(ledger))
    assert [r.clusters for r in runs] == [1, 0, 1]
    assert runs[1].mode == "full"  # it left a cluster: a full run
    # a lone page now: incremental (it hashes the restored text again, looking only at the
    # signatures stored since the last run)
    assert runs[2].mode == "incremental" and runs[2].new_signatures == 1
    scratch = Ledger(Workspace(tmp_path / "scratch"))
    for rows in history:
        put(scratch, rows)
    dedup(scratch)
    assert clusters(ledger) == clusters(scratch)


def test_a_rerun_skips_only_while_nothing_the_clusters_depend_on_changed(workspace):
    ledger = Ledger(workspace)
    a, _ = base_texts(2)
    put(ledger, [("https://a.example/1", a, None, "unspecified", T0),
                 ("https://b.example/1", variant(a, 1), None, "unspecified", T0 + timedelta(hours=1))])
    first = dedup(ledger)
    assert not first.unchanged and first.clusters == 1
    assert dedup(ledger).unchanged  # same documents, texts, rights, parameters
    assert not dedup(ledger, threshold=0.7).unchanged  # other parameters: the work is done
    assert dedup(ledger, threshold=0.7).unchanged
    # the later copy gains consent: same texts, but the canonical choice must change
    put(ledger, [("https://b.example/1", variant(a, 1), None, "granted", T0 + timedelta(hours=2))])
    changed = dedup(ledger, threshold=0.7)
    assert not changed.unchanged and changed.new_signatures == 0 and changed.rows_written == 2
    assert changed.mode == "incremental"  # rights only: the cluster's canonical choice is redone
    canonical = {r["doc_id"]: r["is_canonical"] for r in clusters(ledger)}
    assert canonical[doc_id_for_url("https://b.example/1")] is True


def test_a_second_dedup_while_one_runs_is_refused_and_leaves_its_files(workspace):
    ledger = Ledger(workspace)
    a, b = base_texts(2)
    put(ledger, [("https://a.example/1", a, None, "granted", T0), ("https://b.example/1", b, None, "granted", T0)])
    other = ledger.start_run("dedup")  # a live run (this process): its unregistered parts must survive
    part = workspace.root / "index" / "minhash" / DedupOptions().signature_params().key() / f"part-{other.run_id}-00000.parquet"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"being written")
    with pytest.raises(DedupError, match="another dedup run"):
        dedup(ledger)
    assert part.exists()
    ledger.finish_run(other, {}, status="failed")
    assert dedup(ledger).new_signatures == 2
    assert not part.exists()  # swept once its run was over


def test_signatures_of_different_parameters_never_mix(workspace, corpus):
    ledger = Ledger(workspace)
    put(ledger, synthetic_rows(corpus[:150]))
    default = dedup(ledger)
    other = dedup(ledger, num_perm=64)
    wide = dedup(ledger, scheme="affine64")
    again = dedup(ledger)
    assert [s.new_signatures for s in (default, other, wide, again)] == [150, 150, 150, 0]
    assert len({default.index_key, other.index_key, wide.index_key}) == 3
    dirs = sorted(p.name for p in (workspace.root / "index" / "minhash").iterdir())
    assert dirs == sorted({default.index_key, other.index_key, wide.index_key})
    params = ledger.query("SELECT scheme, num_perm, ngram, seed, threshold, bands, rows_per_band, index_key "
                          "FROM dedup_params ORDER BY created_at").to_pylist()
    assert [(p["scheme"], p["num_perm"]) for p in params] == [
        ("affine32", 128), ("affine32", 64), ("affine64", 128), ("affine32", 128)]
    assert params[0]["index_key"] == params[3]["index_key"] == default.index_key
    assert (params[0]["bands"], params[0]["rows_per_band"]) == (default.bands, default.rows)


def test_files_left_by_an_interrupted_run_are_swept(workspace, corpus):
    ledger = Ledger(workspace)
    put(ledger, synthetic_rows(corpus[:100]))
    first = dedup(ledger)
    directory = workspace.root / "index" / "minhash" / first.index_key
    (directory / "part-killed-00000.parquet").write_bytes(b"half written")
    (directory / "part-killed-00001.parquet.tmp").write_bytes(b"")
    state = next(p for p in (workspace.root / "index" / "dedup").iterdir() if p.is_dir())
    kept = sorted(p.name for p in state.iterdir())
    (state / "spill-killed").mkdir()  # a killed full run's band keys
    (state / "spill-killed" / "band-0.u64").write_bytes(b"\0" * 8)
    (state / "nodes-killed.arrow").write_bytes(b"half written")
    again = dedup(ledger)
    assert again.new_signatures == 0
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        Path(p).name for p in ledger.query("SELECT part FROM minhash_part_log").column("part").to_pylist())
    assert sorted(p.name for p in state.iterdir()) == kept  # nothing new: the same files, the others swept


def test_another_license_vocabulary_makes_a_full_run(workspace, corpus, monkeypatch):
    """Which licenses count as open comes from the vocabulary, so a new vocabulary can change the
    canonical choice of clusters whose documents did not change: the next run redoes them all."""
    from provenance import licenses

    ledger = Ledger(workspace)
    put(ledger, synthetic_rows(corpus[:120]))
    dedup(ledger)
    assert dedup(ledger).mode == "unchanged"
    monkeypatch.setattr(licenses, "vocabulary_version", lambda: "a-newer-vocabulary")
    again = dedup(ledger)
    assert (again.mode, again.new_signatures, again.rows_written) == ("full", 0, 0)  # same rules: same clusters
    assert dedup(ledger).mode == "unchanged"


def test_documents_view_keeps_its_columns_and_gains_the_cluster_ones(workspace):
    ledger = Ledger(workspace)
    with ledger.writer():
        pass
    columns = ledger.query("SELECT * FROM documents LIMIT 0").column_names
    for c in ["doc_id", "url", "domain", "source_type", "fetched_at", "run_id", "title", "author", "published",
              "language", "n_chars", "text_sha256", "shard", "license", "license_evidence", "consent",
              "consent_evidence", "dup_cluster", "is_canonical", "revoked", "parent_doc_id",
              "cluster_consent", "dup_similarity", "dup_reason"]:
        assert c in columns
    as_of = ledger.query("SELECT * FROM documents_as_of(TIMESTAMP '2030-01-01') LIMIT 0").column_names
    assert as_of == columns


def test_the_signed_text_is_the_documents_latest_even_when_its_shard_holds_older_ones(workspace):
    ledger = Ledger(workspace)
    a, b = base_texts(2)
    put(ledger, [("https://a.example/1", a, None, "granted", T0), ("https://b.example/1", b, None, "granted", T0),
                 # one batch, one shard: two texts of the same page, the second is its latest state
                 ("https://c.example/1", variant(a, 1), None, "granted", T0),
                 ("https://c.example/1", variant(b, 1), None, "granted", T0 + timedelta(hours=1))])
    assert ledger.query("SELECT count(*) AS n FROM shard_log WHERE shard LIKE 'shards/%'").to_pylist() == [{"n": 1}]
    dedup(ledger)
    docs = by_url(ledger, "dup_cluster")
    assert docs["https://c.example/1"]["dup_cluster"] == docs["https://b.example/1"]["dup_cluster"] is not None
    assert docs["https://a.example/1"]["dup_cluster"] is None


def test_a_missing_shard_is_reported_with_what_to_do(cli, workspace):
    ledger = Ledger(workspace)
    put(ledger, [("https://a.example/1", base_texts(1)[0], None, "granted", T0)])
    shard = ledger.query("SELECT shard FROM documents").column("shard")[0].as_py()
    workspace.absolute(shard).unlink()
    result = cli("-w", str(workspace.root), "dedup", "--workers", "1")
    assert result.code == 1
    assert f"the shard {shard} listed in the ledger is missing" in result.err and "restore it" in result.err
    assert ledger.query("SELECT status FROM runs WHERE command = 'dedup'").to_pylist() == [{"status": "failed"}]


def test_the_documents_a_full_run_reads_are_the_ledgers_in_the_order_texts_arrived(workspace):
    """dedup.corpus holds the documents as keys and codes; read back, they are the documents view,
    in node order (first ledger row of the current text, then doc_id), nulls kept."""
    from dedup.corpus import load_corpus
    from dedup.state import string_keys

    ledger = Ledger(workspace)
    texts = base_texts(6)
    put(ledger, [(f"https://c.example/{i}", texts[i], [None, "CC-BY-4.0"][i % 2],
                  ["granted", "unspecified", "opted_out"][i % 3], T0 + timedelta(hours=i)) for i in (3, 1, 4)])
    put(ledger, [(f"https://c.example/{i}", texts[i], None, "unspecified", T0 + timedelta(days=1, hours=i))
                 for i in (0, 5, 1)])  # 1 again with its same text: it keeps its place
    watermark, corpus = load_corpus(ledger)
    docs = {r["doc_id"]: r for r in ledger.query("SELECT doc_id, url, license, consent, text_sha256, shard "
                                                  "FROM documents").to_pylist()}
    ids = corpus.doc_ids.to_pylist()
    # the first batch's texts, then the second's; document 1 keeps the place of its first row
    assert {docs[d]["url"] for d in ids[:3]} == {f"https://c.example/{i}" for i in (3, 1, 4)}
    assert {docs[d]["url"] for d in ids[3:]} == {f"https://c.example/{i}" for i in (0, 5)}
    assert ids == ledger.query("SELECT doc_id FROM document_log GROUP BY doc_id "
                               "ORDER BY min(seq), doc_id").column("doc_id").to_pylist()
    assert len(ids) == len(docs) == 5
    assert corpus.license.to_pylist() == [docs[d]["license"] for d in ids]
    assert corpus.consent.to_pylist() == [docs[d]["consent"] for d in ids]
    assert corpus.shards.to_pylist() == [docs[d]["shard"] for d in ids]
    assert corpus.doc_keys.tolist() == string_keys(ids).tolist()
    assert corpus.text_keys.tolist() == string_keys([docs[d]["text_sha256"] for d in ids]).tolist()
    assert watermark == ledger.query("SELECT max(seq) AS m FROM document_log").column("m")[0].as_py()


def _writes_hold_whole_groups(ledger: Ledger, run_id: str, before: dict[str, str]) -> int:
    """How many writes a run's cluster rows took, checking that each write held whole groups:
    every cluster the run assigns, with every cluster (``before``: doc_id -> dup_cluster) its
    documents were in, written in one write."""
    rows = ledger.query("SELECT doc_id, dup_cluster, assigned_at FROM cluster_log WHERE run_id = $run",
                        {"run": run_id}).to_pylist()
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for r in rows:  # a document links the cluster it leaves with the one it joins
        ends = [c for c in ("new:" + r["dup_cluster"] if r["dup_cluster"] else None,
                            "old:" + before[r["doc_id"]] if r["doc_id"] in before else None) if c]
        for c in ends[1:]:
            parent[root(c)] = root(ends[0])
    written_at: dict[str, set] = {}
    for r in rows:
        key = "new:" + r["dup_cluster"] if r["dup_cluster"] else "old:" + before[r["doc_id"]]
        written_at.setdefault(root(key), set()).add(r["assigned_at"])
    assert all(len(times) == 1 for times in written_at.values()), "a group of clusters written in two writes"
    return len({r["assigned_at"] for r in rows})


def test_cluster_rows_are_written_in_parts_of_whole_groups_equal_to_one_write(tmp_path, corpus):
    """With more cluster rows than ``commit_rows``, a run writes them in several writes, each of
    whole groups (the clusters it assigns with those their documents leave: each write has its
    own assigned_at, and no group's rows have two), with the same clusters, cluster-wide consent
    and totals as one write: a first run, and a full run over documents already in clusters."""
    columns = "dup_cluster, is_canonical, dup_similarity, dup_reason, cluster_consent, revoked"
    one, parted = Ledger(Workspace(tmp_path / "one")), Ledger(Workspace(tmp_path / "parted"))
    for ledger in (one, parted):
        put(ledger, synthetic_rows(corpus[:600]))
    whole, split = dedup(one), dedup(parted, commit_rows=40)
    assert totals(whole) == totals(split) and whole.rows_written == split.rows_written > 120
    assert clusters(one) == clusters(parted)
    assert by_url(one, columns) == by_url(parted, columns)
    assert _writes_hold_whole_groups(one, whole.run_id, {}) == 1
    assert _writes_hold_whole_groups(parted, split.run_id, {}) > 1
    assert parted.query("SELECT count(*) AS n FROM dedup_param_log WHERE run_id = $run",
                        {"run": split.run_id}).to_pylist()[0]["n"] == 1

    # new documents join and merge clusters, three clustered pages get texts of their own; a full
    # run (the state lost) redoes them all
    before = {r["doc_id"]: r["dup_cluster"] for r in clusters(parted) if r["dup_cluster"]}
    leaving = [d for d in corpus[:600] if doc_id_for_url(d.url) in before][:3]
    changed = [(d.url, text, d.license, d.consent, d.fetched_at + timedelta(days=1))
               for d, text in zip(leaving, base_texts(3, seed=77), strict=True)]
    for ledger in (one, parted):
        put(ledger, synthetic_rows(corpus[600:]) + changed)
        shutil.rmtree(ledger.workspace.root / "index" / "dedup")
    again, again_split = dedup(one), dedup(parted, commit_rows=40)
    assert again.mode == again_split.mode == "full" and again.rows_written == again_split.rows_written > 0
    after = {r["doc_id"]: r["dup_cluster"] for r in clusters(parted)}
    moved = [d for d in before if after.get(d) != before[d]]
    assert len(moved) > 3 and sum(after.get(d) is None for d in moved) >= 3  # some moved, some left every cluster
    assert _writes_hold_whole_groups(parted, again_split.run_id, before) > 1
    assert clusters(one) == clusters(parted)
    assert by_url(one, columns) == by_url(parted, columns)


def test_a_first_run_that_dies_between_its_parts_is_completed_by_the_next_run(tmp_path, corpus, monkeypatch):
    """A first run that dies after its first part has stored whole clusters only, and is stopped;
    the next run (a full one: no state was published) writes what is missing, and the clusters
    equal those of an uninterrupted run."""
    import dedup.pipeline as pipeline

    dying, whole = Ledger(Workspace(tmp_path / "dying")), Ledger(Workspace(tmp_path / "whole"))
    for ledger in (dying, whole):
        put(ledger, synthetic_rows(corpus[:600]))
    real = pipeline.sql_values

    def dies_at_the_second_part(assignments, no_longer, scope, part=None, part_map=None):
        if part == 1:
            raise KeyboardInterrupt
        return real(assignments, no_longer, scope, part, part_map)

    monkeypatch.setattr(pipeline, "sql_values", dies_at_the_second_part)
    with pytest.raises(KeyboardInterrupt):
        dedup(dying, commit_rows=40)
    monkeypatch.setattr(pipeline, "sql_values", real)
    stored = dying.query("SELECT dup_cluster, count(*) AS n FROM clusters GROUP BY ALL").to_pylist()
    dedup(whole)
    complete = {r["dup_cluster"]: r["n"] for r in whole.query(
        "SELECT dup_cluster, count(*) AS n FROM clusters GROUP BY ALL").to_pylist()}
    assert 0 < len(stored) < len(complete)
    assert all(complete[r["dup_cluster"]] == r["n"] for r in stored)  # whole clusters only
    assert dying.query("SELECT status FROM run_log WHERE command = 'dedup'").column("status").to_pylist() == \
        ["stopped"]

    after = dedup(dying, commit_rows=40)
    assert after.mode == "full" and 0 < after.rows_written < whole.query(
        "SELECT count(*) AS n FROM cluster_log").to_pylist()[0]["n"]
    assert clusters(dying) == clusters(whole)
    columns = "dup_cluster, is_canonical, dup_similarity, dup_reason, cluster_consent, revoked"
    assert by_url(dying, columns) == by_url(whole, columns)


def test_an_incremental_run_writes_its_changes_in_parts_of_whole_groups(tmp_path, corpus):
    """An incremental run's changes (its scope: the documents it redid) in parts of whole groups,
    equal to the same run in one write and to a run from scratch."""
    columns = "dup_cluster, is_canonical, dup_similarity, dup_reason, cluster_consent, revoked"
    parted, one = Ledger(Workspace(tmp_path / "parted")), Ledger(Workspace(tmp_path / "one"))
    for ledger in (parted, one):
        put(ledger, synthetic_rows(corpus[:500]))
        dedup(ledger)
    before = {r["doc_id"]: r["dup_cluster"] for r in clusters(parted) if r["dup_cluster"]}
    for ledger in (parted, one):
        put(ledger, synthetic_rows(corpus[500:]))
    split, whole = dedup(parted, commit_rows=10), dedup(one)
    assert split.mode == whole.mode == "incremental" and split.rows_written == whole.rows_written > 20
    assert _writes_hold_whole_groups(parted, split.run_id, before) > 1
    assert _writes_hold_whole_groups(one, whole.run_id, before) == 1
    scratch = Ledger(Workspace(tmp_path / "scratch"))
    put(scratch, synthetic_rows(corpus[:500]))
    put(scratch, synthetic_rows(corpus[500:]))
    dedup(scratch)
    assert clusters(parted) == clusters(one) == clusters(scratch)
    assert by_url(parted, columns) == by_url(one, columns) == by_url(scratch, columns)
