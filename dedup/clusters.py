"""From pairs to clusters: connected components, the canonical member, and why it was chosen.

Pure functions over arrays whose rows are sorted by doc_id. A cluster's id derives from its
smallest member doc_id, so it does not depend on the order work was done in, the number of
workers, or the engine.

Canonical member (DESIGN.md "Near-duplicates"): the clearest rights first (consent granted over
unspecified over opted_out; then an open license over a permission-granting one such as CC BY-NC
over none or all-rights-reserved), then the earliest first fetch of the text, then the smallest
doc_id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from provenance import licenses
from provenance.records import consent_rank

LICENSE_CLASS = ("an open license", "a license that grants permission", "no license")


def cluster_id(smallest_doc_id: str) -> str:
    return f"dup-{smallest_doc_id}"


def license_rank(spdx: str | None) -> int:
    """0: open license; 1: grants permission (e.g. CC BY-NC); 2: none, reserved or unknown."""
    if licenses.is_open(spdx):
        return 0
    if licenses.grants_permission(spdx):
        return 1
    return 2


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of ``n`` nodes and edges ``left[k] -- right[k]``.

    Returns, for every node, the smallest node index of its component (hook-and-jump union-find,
    vectorised; the result does not depend on edge order).
    """
    parent = np.arange(n, dtype=np.int64)
    if len(left) == 0:
        return parent
    left = np.asarray(left, np.int64)
    right = np.asarray(right, np.int64)
    while True:
        pl, pr = parent[left], parent[right]
        if np.array_equal(pl, pr):
            return parent
        low = np.minimum(pl, pr)
        np.minimum.at(parent, pl, low)  # hook each root under the smaller one
        np.minimum.at(parent, pr, low)
        while True:  # pointer jumping until every node points at its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


Column: TypeAlias = Sequence[str | None] | pa.Array | pa.ChunkedArray


@dataclass(frozen=True, slots=True)
class Rights:
    """What the canonical choice looks at, per row (rows sorted by doc_id). The string columns may
    be Arrow arrays: then only the rows that end up in a cluster become Python strings."""

    doc_ids: Column
    consent: Column
    license: Column
    first_fetched_at: np.ndarray  # datetime64[us], UTC: when the current text was first fetched

    def rows(self, rows: np.ndarray) -> Rights:
        """These rows only (in this order)."""
        return Rights(_take(self.doc_ids, rows), _take(self.consent, rows), _take(self.license, rows),
                      self.first_fetched_at[rows])


def _take(values: Column, rows: np.ndarray) -> list:
    taken = _take_column(values, rows)
    return taken.to_pylist() if isinstance(taken, (pa.Array, pa.ChunkedArray)) else list(taken)


def _ranks(values: Column, rank: Callable[[str | None], int]) -> np.ndarray:
    """``rank`` of every value, computed once per distinct value."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        encoded = pc.dictionary_encode(values)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        distinct = encoded.dictionary.to_pylist() + [None]  # the last slot stands for null
        table = np.array([rank(v) for v in distinct], np.int64)
        codes = encoded.indices.fill_null(len(distinct) - 1).to_numpy(zero_copy_only=False)
        return table[codes]
    cache = {v: rank(v) for v in set(values)}
    return np.array([cache[v] for v in values], np.int64)


ASSIGNMENT_SCHEMA = pa.schema([("doc_id", pa.string()), ("dup_cluster", pa.string()), ("is_canonical", pa.bool_()),
                               ("similarity", pa.float64()), ("reason", pa.string())])
CLUSTER_CHUNK = 65_536  # members whose strings are made at a time
SIM_DIGITS = 6  # similarities are stored rounded to this many decimals


def _describe_license(spdx: str | None) -> str:
    return spdx or "no license"


def _when(value: np.datetime64) -> str:
    moment = value.astype("datetime64[s]").astype(datetime)
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def _why(best: int, other: int, rights: Rights, c_rank: np.ndarray, l_rank: np.ndarray) -> str:
    """The first criterion on which row ``best`` beats row ``other``."""
    if c_rank[best] != c_rank[other]:
        return f"consent {rights.consent[best]} over {rights.consent[other] or 'unknown'}"
    if l_rank[best] != l_rank[other]:
        return (f"{LICENSE_CLASS[l_rank[best]]} ({_describe_license(rights.license[best])}) over "
                f"{LICENSE_CLASS[l_rank[other]]} ({_describe_license(rights.license[other])})")
    first, then = rights.first_fetched_at[best], rights.first_fetched_at[other]
    if first != then:
        return f"earlier first fetch ({_when(first)} before {_when(then)})"
    return "equal rights and fetch time; smallest doc_id"


SimilarityFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def doc_id_ranks(doc_ids: Column) -> np.ndarray:
    """The rank of each row's doc_id among the rows (0: the smallest)."""
    values = doc_ids if isinstance(doc_ids, (pa.Array, pa.ChunkedArray)) else pa.array(doc_ids, pa.string())
    order = pc.sort_indices(values).to_numpy()
    ranks = np.empty(len(order), np.int64)
    ranks[order] = np.arange(len(order))
    return ranks


def _firsts(cluster: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Where each cluster's run starts in ``order`` (positions sorted by cluster first)."""
    opens = np.ones(len(order), bool)
    opens[1:] = cluster[order[1:]] != cluster[order[:-1]]
    return np.flatnonzero(opens)


def assign(labels: np.ndarray, rights: Rights, similarity_to: SimilarityFn, exact_group: np.ndarray) -> pa.Table:
    """:func:`assign_batches` as one table."""
    return pa.Table.from_batches(list(assign_batches(labels, rights, similarity_to, exact_group)), ASSIGNMENT_SCHEMA)


def assign_batches(labels: np.ndarray, rights: Rights, similarity_to: SimilarityFn,
                   exact_group: np.ndarray) -> Iterator[pa.RecordBatch]:
    """Cluster assignments (``ASSIGNMENT_SCHEMA``, rows of ``cluster_log``) of every row in a
    component of two or more rows, a batch of whole clusters at a time.

    ``labels``: component label per row (from :func:`components`); ``exact_group``: exact-duplicate
    group per row (rows with equal normalised text share it); ``similarity_to(rows, canonical_rows)``
    gives estimated Jaccard similarities. A cluster's id and the last tie-break go by doc_id, so
    they do not depend on the order of the rows. Only the members are looked at, in numbers; their
    strings are made a chunk of clusters at a time.
    """
    n = len(labels)
    members = np.flatnonzero(np.bincount(labels, minlength=n)[labels] >= 2)
    if len(members) == 0:
        return
    # position k stands for row members[k]; clusters numbered 0..C-1
    cluster = np.unique(labels[members], return_inverse=True)[1].ravel()
    c_rank = _ranks(_take_column(rights.consent, members), consent_rank)
    l_rank = _ranks(_take_column(rights.license, members), license_rank)
    fetched = rights.first_fetched_at[members].astype("datetime64[us]").astype(np.int64)
    rank = doc_id_ranks(_take_column(rights.doc_ids, members))
    # the smallest doc_id of each cluster names it; the first by (consent, license, fetch, doc_id) is canonical
    by_id = np.lexsort((rank, cluster))
    name = by_id[_firsts(cluster, by_id)]
    order = np.lexsort((rank, fetched, l_rank, c_rank, cluster))
    starts = _firsts(cluster, order)
    canonical, runner_up = order[starts], order[starts + 1]
    canon = canonical[cluster]
    sims = similarity_to(members, members[canon])
    exact = exact_group[members] == exact_group[members[canon]]
    sims = np.where(exact, 1.0, sims)

    local = np.empty(len(members), np.int64)
    bounds = np.concatenate([starts, [len(order)]])
    cuts = np.searchsorted(bounds[1:], np.arange(CLUSTER_CHUNK, len(order), CLUSTER_CHUNK)) + 1
    edges = np.unique(np.concatenate([[0], np.minimum(cuts, len(starts)), [len(starts)]]))
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist()):  # a chunk of whole clusters
        chunk = order[bounds[lo]:bounds[hi]]
        local[chunk] = np.arange(len(chunk))
        sub = rights.rows(members[chunk])
        ids = cast(list[str], sub.doc_ids)  # doc_id is never null
        sub_c, sub_l = c_rank[chunk], l_rank[chunk]
        out_cluster, out_canon, out_sim, out_reason = [], [], [], []
        for k, c, label, runner, sim, is_exact in zip(
                range(len(chunk)), local[canon[chunk]].tolist(), local[name[cluster[chunk]]].tolist(),
                local[runner_up[cluster[chunk]]].tolist(), sims[chunk].tolist(), exact[chunk].tolist()):
            out_cluster.append(cluster_id(ids[label]))
            if k == c:
                out_canon.append(True)
                out_sim.append(1.0)
                out_reason.append(f"canonical: {_why(c, runner, sub, sub_c, sub_l)}")
            else:
                out_canon.append(False)
                out_sim.append(round(float(sim), SIM_DIGITS))
                out_reason.append(f"{'exact' if is_exact else 'near'} duplicate of {ids[c]}; canonical for "
                                  f"{_why(c, k, sub, sub_c, sub_l)}")
        yield pa.record_batch([pa.array(ids, pa.string()), pa.array(out_cluster, pa.string()),
                               pa.array(out_canon, pa.bool_()), pa.array(out_sim, pa.float64()),
                               pa.array(out_reason, pa.string())], schema=ASSIGNMENT_SCHEMA)


def _take_column(values: Column, rows: np.ndarray) -> Column:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.take(pa.array(rows, pa.int64()))
    return [values[i] for i in rows.tolist()]
