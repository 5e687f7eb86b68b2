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

from collections.abc import Callable, Sequence
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
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.take(pa.array(rows, pa.int64())).to_pylist()
    return [values[i] for i in rows.tolist()]


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


@dataclass(frozen=True, slots=True)
class ClusterAssignment:
    """One document's place in a duplicate cluster (a row of ``cluster_log``)."""

    doc_id: str
    dup_cluster: str
    is_canonical: bool
    similarity: float
    reason: str


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


def assign(labels: np.ndarray, rights: Rights, similarity_to: SimilarityFn, exact_group: np.ndarray,
           id_rank: np.ndarray | None = None) -> list[ClusterAssignment]:
    """Cluster assignments of every row in a component of two or more rows.

    ``labels``: component label per row (from :func:`components`); ``exact_group``: exact-duplicate
    group per row (rows with equal normalised text share it); ``similarity_to(rows, canonical_rows)``
    gives estimated Jaccard similarities; ``id_rank``: each row's doc_id rank (default: the row
    index, for rows sorted by doc_id). A cluster's id and the last tie-break go by doc_id, so they
    do not depend on the order of the rows.
    """
    n = len(labels)
    sizes = np.bincount(labels, minlength=n)
    members = np.flatnonzero(sizes[labels] >= 2)
    if len(members) == 0:
        return []
    c_rank = _ranks(rights.consent, consent_rank)
    l_rank = _ranks(rights.license, license_rank)
    fetched = rights.first_fetched_at.astype("datetime64[us]").astype(np.int64)
    rank = np.arange(n, dtype=np.int64) if id_rank is None else np.asarray(id_rank, np.int64)
    # the smallest doc_id of each component names it
    by_id = members[np.lexsort((rank[members], labels[members]))]
    opens = np.ones(len(by_id), bool)
    opens[1:] = labels[by_id[1:]] != labels[by_id[:-1]]
    name_row = dict(zip(labels[by_id[opens]].tolist(), by_id[opens].tolist()))

    # order members by (cluster, consent, license, fetch, doc_id): the first of each cluster wins
    order = members[np.lexsort((rank[members], fetched[members], l_rank[members], c_rank[members], labels[members]))]
    first = np.ones(len(order), bool)
    first[1:] = labels[order[1:]] != labels[order[:-1]]
    canonical_of_label = dict(zip(labels[order[first]].tolist(), order[first].tolist()))
    runner_up = {int(labels[order[k]]): int(order[k + 1]) for k in np.flatnonzero(first)}

    canon = np.array([canonical_of_label[int(lab)] for lab in labels[members]], np.int64)
    sims = similarity_to(members, canon)
    exact = exact_group[members] == exact_group[canon]
    sims = np.where(exact, 1.0, sims)

    # from here on only member rows are looked at: position k stands for row members[k]
    at = np.full(n, -1, np.int64)
    at[members] = np.arange(len(members))
    sub = rights.rows(members)
    doc_ids = cast(list[str], sub.doc_ids)  # doc_id is never null
    c_rank, l_rank = c_rank[members], l_rank[members]
    out = []
    names = np.array([name_row[int(lab)] for lab in labels[members]], np.int64)
    for k, c, label, sim, is_exact in zip(range(len(members)), at[canon].tolist(), at[names].tolist(),
                                          sims.tolist(), exact.tolist()):
        cid = cluster_id(doc_ids[label])
        if k == c:
            why = _why(c, int(at[runner_up[int(labels[members[k]])]]), sub, c_rank, l_rank)
            out.append(ClusterAssignment(doc_ids[k], cid, True, 1.0, f"canonical: {why}"))
        else:
            kind = "exact" if is_exact else "near"
            why = _why(c, k, sub, c_rank, l_rank)
            out.append(ClusterAssignment(doc_ids[k], cid, False, float(sim),
                                         f"{kind} duplicate of {doc_ids[c]}; canonical for {why}"))
    return out
