"""The numbers dedup holds instead of strings (dedup.keys), and the canonical choice made a chunk
of clusters at a time (dedup.clusters.assign): each checked against a plain reference."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from dedup import clusters
from dedup.clusters import Rights, assign, components
from dedup.keys import PairIndex, group_rows, hex_bytes, hex_strings


def sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def test_hex_keys_round_trip_exactly_and_refuse_what_is_not_lowercase_hex():
    values = [sha(i) for i in range(1000)]
    as_bytes = hex_bytes(pa.array(values))
    assert as_bytes.shape == (1000, 32)
    assert as_bytes[7].tobytes() == bytes.fromhex(values[7])
    assert hex_strings(as_bytes).to_pylist() == values
    sliced = pa.array(values).slice(10, 5)  # an offset into the buffers
    assert hex_strings(hex_bytes(sliced)).to_pylist() == values[10:15]
    for bad in ([sha(1).upper()], [sha(1)[:-2]], [sha(1), None], [sha(1)[:-1] + "g"]):
        with pytest.raises(ValueError):
            hex_bytes(pa.array(bad, pa.string()))


def test_rows_with_equal_bytes_share_a_group_and_the_first_row_stands_for_it():
    rng = np.random.default_rng(3)
    texts = rng.integers(0, 50, 2000)
    values = hex_bytes(pa.array([sha(int(t)) for t in texts]))
    group, first = group_rows(values)
    for t in np.unique(texts):
        rows = np.flatnonzero(texts == t)
        assert len(set(group[rows].tolist())) == 1
        assert first[group[rows[0]]] == rows[0]
    assert len(first) == len(np.unique(texts))


def test_rows_that_share_their_first_eight_bytes_but_differ_later_are_not_grouped():
    values = hex_bytes(pa.array([sha(1), sha(2), sha(1)]))
    values[1, :8] = values[0, :8]  # same 64-bit prefix, other text
    group, first = group_rows(values)
    assert group[0] == group[2] != group[1]
    assert sorted(first.tolist()) == [0, 1]


def test_pair_lookups_find_exactly_the_stored_pairs():
    rng = np.random.default_rng(5)
    # a small key space: the same doc key with several texts, and keys that are not stored
    doc_keys = rng.integers(0, 40, 300).astype(np.uint64)
    text_keys = rng.integers(0, 6, 300).astype(np.uint64)
    rows = np.arange(1000, 1300)
    index = PairIndex(doc_keys, text_keys, rows)
    q_doc = rng.integers(0, 50, 500).astype(np.uint64)
    q_text = rng.integers(0, 6, 500).astype(np.uint64)
    i, found = index.find(q_doc, q_text)
    got = sorted(zip(i.tolist(), found.tolist()))
    expected = sorted((qi, int(r)) for qi in range(500) for d, t, r in zip(doc_keys, text_keys, rows)
                      if d == q_doc[qi] and t == q_text[qi])
    assert got == expected and len(expected) > 100


def _rights(n: int, rng: np.random.Generator) -> Rights:
    ids = [f"{i:024x}" for i in rng.permutation(10 * n)[:n]]
    consent = rng.choice(["granted", "unspecified", "opted_out", None], n).tolist()
    license_ = rng.choice(["CC-BY-4.0", "CC-BY-NC-4.0", "LicenseRef-all-rights-reserved", None], n).tolist()
    start = datetime(2026, 1, 1)
    fetched = np.array([start + timedelta(days=int(d)) for d in rng.integers(0, 5, n)], "datetime64[us]")
    return Rights(pa.array(ids), pa.array(consent, pa.string()), pa.array(license_, pa.string()), fetched)


def test_assignments_do_not_depend_on_how_many_clusters_are_made_at_a_time(monkeypatch):
    rng = np.random.default_rng(11)
    n = 3000
    left = rng.integers(0, n, 1500)
    right = np.minimum(n - 1, left + rng.integers(1, 30, 1500))
    labels = components(n, left, right)
    rights = _rights(n, rng)
    exact = rng.integers(0, 2000, n)
    sims = rng.random(n)

    def similarity(rows: np.ndarray, other: np.ndarray) -> np.ndarray:
        return np.round(sims[rows] * sims[other], 6)

    whole = assign(labels, rights, similarity, exact).sort_by("doc_id")
    monkeypatch.setattr(clusters, "CLUSTER_CHUNK", 7)
    chunked = assign(labels, rights, similarity, exact).sort_by("doc_id")
    assert whole.num_rows > 1000 and whole.equals(chunked)
    # every cluster has one canonical member, named after its smallest doc_id
    by_cluster: dict[str, list[dict]] = {}
    for row in whole.to_pylist():
        by_cluster.setdefault(row["dup_cluster"], []).append(row)
    for cid, members in by_cluster.items():
        assert sum(m["is_canonical"] for m in members) == 1
        assert cid == clusters.cluster_id(min(m["doc_id"] for m in members))
