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

import numpy as np

from provenance import licenses

CONSENT_RANK = {"granted": 0, "unspecified": 1, "opted_out": 2}  # anything else ranks as opted_out
LICENSE_CLASS = ("an open license", "a license that grants permission", "no license")


def cluster_id(smallest_doc_id: str) -> str:
    return f"dup-{smallest_doc_id}"


def consent_rank(consent: str | None) -> int:
    return CONSENT_RANK.get(consent or "", 2)


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


@dataclass(frozen=True, slots=True)
class Rights:
    """What the canonical choice looks at, per row (rows sorted by doc_id)."""

    doc_ids: Sequence[str]
    consent: Sequence[str | None]
    license: Sequence[str | None]
    first_fetched_at: np.ndarray  # datetime64[us], UTC: when the current text was first fetched


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


def assign(labels: np.ndarray, rights: Rights, similarity_to: SimilarityFn, exact_group: np.ndarray) -> list[ClusterAssignment]:
    """Cluster assignments of every row in a component of two or more rows.

    ``labels``: component label per row (from :func:`components`); ``exact_group``: exact-duplicate
    group per row (rows with equal normalised text share it); ``similarity_to(rows, canonical_rows)``
    gives estimated Jaccard similarities.
    """
    n = len(labels)
    sizes = np.bincount(labels, minlength=n)
    members = np.flatnonzero(sizes[labels] >= 2)
    if len(members) == 0:
        return []
    c_rank = np.array([consent_rank(c) for c in rights.consent], np.int64)
    lic_values = {v: license_rank(v) for v in set(rights.license)}
    l_rank = np.array([lic_values[v] for v in rights.license], np.int64)
    fetched = rights.first_fetched_at.astype("datetime64[us]").astype(np.int64)

    # order members by (cluster, consent, license, fetch, row): the first of each cluster wins
    order = members[np.lexsort((members, fetched[members], l_rank[members], c_rank[members], labels[members]))]
    first = np.ones(len(order), bool)
    first[1:] = labels[order[1:]] != labels[order[:-1]]
    canonical_of_label = dict(zip(labels[order[first]].tolist(), order[first].tolist()))
    runner_up = {int(labels[order[k]]): int(order[k + 1]) for k in np.flatnonzero(first)}

    canon = np.array([canonical_of_label[int(lab)] for lab in labels[members]], np.int64)
    sims = similarity_to(members, canon)
    exact = exact_group[members] == exact_group[canon]
    sims = np.where(exact, 1.0, sims)

    out = []
    for row, c, sim, is_exact in zip(members.tolist(), canon.tolist(), sims.tolist(), exact.tolist()):
        cid = cluster_id(rights.doc_ids[int(labels[row])])
        if row == c:
            why = _why(c, runner_up[int(labels[row])], rights, c_rank, l_rank)
            out.append(ClusterAssignment(rights.doc_ids[row], cid, True, 1.0, f"canonical: {why}"))
        else:
            kind = "exact" if is_exact else "near"
            why = _why(c, row, rights, c_rank, l_rank)
            out.append(ClusterAssignment(rights.doc_ids[row], cid, False, float(sim),
                                         f"{kind} duplicate of {rights.doc_ids[c]}; canonical for {why}"))
    return out
