"""Near-duplicate quality against brute-force exact Jaccard on the same shingles.

A generated corpus with copies planted at known edit rates is stored in a real workspace and run
through ``run_dedup``; every pair of documents that shares a shingle gets its exact Jaccard
similarity from a sparse incidence matrix, and the clusters in the ledger are scored against it.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest
from scipy import sparse

from dedup import shingles as sh
from dedup import synthetic
from dedup.clusters import Rights
from dedup.minhash import signatures
from dedup.params import LshParams, SignatureParams
from dedup.pipeline import DedupOptions, cluster_documents, run_dedup
from provenance.ids import doc_id_for_url, normalized_text_hash
from provenance.ledger import Ledger

N_DOCS = 2500


def exact_jaccard_pairs(texts: list[str], ngram: int) -> dict[tuple[int, int], float]:
    """Exact Jaccard of every pair of texts sharing at least one shingle (i < j)."""
    ids: dict[bytes, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        for s in set(sh.shingles(text, ngram)):
            rows.append(i)
            cols.append(ids.setdefault(s, len(ids)))
    incidence = sparse.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), shape=(len(texts), len(ids)))
    sizes = np.asarray(incidence.sum(axis=1)).ravel()
    inter = sparse.triu(incidence @ incidence.T, k=1).tocoo()
    jac = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    return {(int(i), int(j)): float(v) for i, j, v in zip(inter.row, inter.col, jac)}


@pytest.fixture(scope="module", params=[(0.8, 5, 128), (0.6, 3, 64)], ids=["t0.8-n5-p128", "t0.6-n3-p64"])
def scored(request, tmp_path_factory):
    threshold, ngram, num_perm = request.param
    docs = list(synthetic.generate(N_DOCS, seed=20, copy_fraction=0.3))
    ledger = Ledger(tmp_path_factory.mktemp("quality") / "ws")
    with ledger.writer() as w:
        run = w.start_run("test")
        synthetic.store(w, docs, run.run_id, batch=1000)
        w.finish_run(run)
    run_dedup(ledger, DedupOptions(threshold=threshold, ngram=ngram, num_perm=num_perm, workers=1))
    rows = ledger.query("SELECT doc_id, dup_cluster FROM clusters WHERE dup_cluster IS NOT NULL").to_pylist()
    clusters = {r["doc_id"]: r["dup_cluster"] for r in rows}
    doc_ids = [doc_id_for_url(d.url) for d in docs]
    truth = exact_jaccard_pairs([d.text for d in docs], ngram)
    return dict(threshold=threshold, ngram=ngram, num_perm=num_perm, docs=docs, doc_ids=doc_ids,
                clusters=clusters, truth=truth)


def same_cluster(s, i: int, j: int) -> bool:
    a, b = s["clusters"].get(s["doc_ids"][i]), s["clusters"].get(s["doc_ids"][j])
    return a is not None and a == b


def test_recall_of_pairs_above_threshold_plus_margin(scored):
    positives = [p for p, j in scored["truth"].items() if j >= scored["threshold"] + 0.05]
    assert len(positives) > 200, "the generated corpus must plant enough near-duplicates"
    found = sum(same_cluster(scored, i, j) for i, j in positives)
    recall = found / len(positives)
    assert recall >= 0.95, f"recall {recall:.3f} over {len(positives)} pairs"


def test_precision_of_joined_pairs(scored):
    """Every pair dedup joined directly (exact, or a verified LSH candidate) is checked against its
    exact Jaccard: at least 95% must be >= threshold - 0.05. (Pairs only chained through a
    third document are not claims of similarity, so they are not counted.)"""
    docs, s = scored["docs"], scored
    order = np.argsort(np.array(s["doc_ids"]))  # the pipeline works on rows sorted by doc_id
    texts = [docs[k].text for k in order]
    table = pa.table({
        "doc_id": [s["doc_ids"][k] for k in order], "consent": [docs[k].consent for k in order],
        "license": [docs[k].license for k in order],
        "first_fetched_at": pa.array([docs[k].fetched_at for k in order], pa.timestamp("us")),
    })
    params = SignatureParams(num_perm=s["num_perm"], ngram=s["ngram"])
    sigs, counts = signatures(pa.array(texts), params)
    norm = pa.array([normalized_text_hash(t) for t in texts])
    rights = Rights(doc_ids=table.column("doc_id"), consent=table.column("consent"), license=table.column("license"),
                    first_fetched_at=table.column("first_fetched_at").to_numpy())
    result = cluster_documents(rights, norm, counts, sigs, LshParams.for_threshold(s["threshold"], params.num_perm))
    assert len(result.edges) > 100
    bad = 0
    for a, b in result.edges.tolist():
        i, j = sorted((int(order[a]), int(order[b])))
        if s["truth"].get((i, j), 0.0) < s["threshold"] - 0.05:
            bad += 1
    precision = 1 - bad / len(result.edges)
    assert precision >= 0.95, f"precision {precision:.3f} over {len(result.edges)} joined pairs"
    # the ledger's clusters are exactly what these pairs join
    ids = table.column("doc_id").to_pylist()
    assert {ids[a] for a in result.edges.ravel().tolist()} == set(s["clusters"])
    for a, b in result.edges.tolist():
        assert s["clusters"][ids[a]] == s["clusters"][ids[b]]


def test_planted_copies_by_edit_rate(scored):
    by_rate = defaultdict(list)
    for k, d in enumerate(scored["docs"]):
        if d.source is not None:
            by_rate[d.edit_rate].append(same_cluster(scored, d.source, k))
    assert all(by_rate[0.0]), "exact duplicates (after normalisation) must always cluster"
    assert np.mean(by_rate[0.005]) >= 0.95
    assert np.mean(by_rate[0.3]) <= 0.05, "copies with 30% of words edited are not near-duplicates"
