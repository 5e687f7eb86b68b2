"""A dedup run over what changed since the last one: work in proportion to the change.

Why the result equals a run from scratch (``dedup.pipeline.cluster_documents`` over every
document): there, rows are in node order (``dedup.state``: the order texts arrived in the ledger),
an exact-duplicate group is represented by its earliest row, and an LSH bucket pairs each member
with the ``max_bucket - 1`` members before it. Documents added since the last run come after
every stored node, so none of them displaces an earlier representative or an earlier bucket
neighbour: every edge of the last run is still an edge, and the new edges are exactly those
touching a new node (an exact-duplicate edge to its group's representative, LSH pairs with the
bucket members just before it, verified on the same signatures). The clusters that change are
the components those edges join, plus the clusters whose members' rights changed; only their
members are re-assigned (same canonical rule, same similarities), and only rows that differ
are written.

What this path does not handle falls back to a run from scratch (the caller's job): a document
whose text changed (its old text leaves its buckets, which can split a cluster or shift a
bucket's neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.clusters import Rights, assign, components
from dedup.corpus import LEDGER_MEMORY
from dedup.index import LoadedSignatures
from dedup.lsh import band_keys
from dedup.minhash import estimated_jaccard
from dedup.params import LshParams
from dedup.state import DedupState, Manifest, NodeTable, probe, string_keys
from provenance.ledger import Ledger

MAX_DEAD = 4096  # replaced texts kept out of the index before a full run rebuilds it without them
_RIGHTS_SQL = """
    SELECT d.doc_id, d.consent, d.license, f.first_fetched_at
    FROM documents d
    JOIN (SELECT doc_id, text_sha256, min(fetched_at) AS first_fetched_at FROM document_log
          WHERE doc_id IN (SELECT unnest(?)) GROUP BY doc_id, text_sha256) f USING (doc_id, text_sha256)
    WHERE d.doc_id IN (SELECT unnest(?))
"""


@dataclass(frozen=True)
class Additions:
    """The new nodes of a run: documents first seen after the last run's watermark."""

    docs: pa.Table  # doc_id, text_sha256, consent, license, first_fetched_at; in node order
    loaded: LoadedSignatures  # aligned with docs


@dataclass
class Update:
    assignments: pa.Table  # dedup.clusters.ASSIGNMENT_SCHEMA: every member of a changed cluster
    scope: pa.Array  # doc_ids whose current rows are compared with the assignments
    exact_new: int
    edges_new: int
    clusters_before: int  # clusters among the scope before the run
    clustered_before: int  # clustered documents among the scope before the run
    new_node_groups: dict  # index name -> list of (keys, nodes) groups for its new segment
    node_batch: pa.Table  # the new node rows


def update(ledger: Ledger, state: DedupState, manifest: Manifest, added: Additions, rights_changed: pa.Array,
           lsh: LshParams, max_bucket: int, dead: np.ndarray) -> Update:
    """The clusters touched by ``added`` documents and by documents whose rights changed; ``dead``:
    the stored nodes that no longer take part (sorted)."""
    nodes = NodeTable(state.directory, manifest.nodes)
    n0 = manifest.n_nodes
    k = added.docs.num_rows
    new_nodes = n0 + np.arange(k, dtype=np.int64)
    sigs = added.loaded.signatures
    n_shingles = added.loaded.n_shingles
    norm = added.loaded.norm_sha256()

    # exact duplicates: the group's representative is its earliest node (an old one if any)
    rep_of = new_nodes.copy()
    if k:
        encoded = pc.dictionary_encode(norm)
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        first = np.full(codes.max() + 1, k, np.int64)
        np.minimum.at(first, codes, np.arange(k, dtype=np.int64))
        group_rep = n0 + first
        distinct = encoded.dictionary
        qi, found = _alive(*probe(state.key_runs(manifest, "norms"), 0, string_keys(distinct)), dead)
        if len(qi):
            same = pc.equal(nodes.take(found, ["norm_sha256"]).column(0).combine_chunks(), distinct.take(pa.array(qi))).to_numpy(
                zero_copy_only=False)
            group_rep[qi[same]] = found[same]
        rep_of = group_rep[codes]
    is_rep = rep_of == new_nodes
    exact_left, exact_right = new_nodes[~is_rep], rep_of[~is_rep]

    # LSH: each new representative against the bucket members just before it
    banded = np.flatnonzero(is_rep & (n_shingles > 0))
    pair_a, pair_b = _bucket_pairs(state, manifest, band_keys(sigs, lsh.bands, lsh.rows, banded),
                                   new_nodes[banded], lsh.bands, max_bucket - 1, dead)
    involved = np.unique(np.concatenate([pair_a, pair_b]))
    old_involved = involved[involved < n0]
    old_sigs = nodes.signatures(old_involved)

    def signature_of(node_ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(node_ids), sigs.shape[1]), sigs.dtype)
        old = node_ids < n0
        out[~old] = sigs[node_ids[~old] - n0]
        out[old] = old_sigs[np.searchsorted(old_involved, node_ids[old])]
        return out

    keep = estimated_jaccard(signature_of(pair_a), signature_of(pair_b)) >= lsh.threshold if len(pair_a) else \
        np.zeros(0, bool)
    pair_a, pair_b = pair_a[keep], pair_b[keep]

    # the universe: new nodes, the old nodes they touch, the documents whose rights changed, and
    # every member of a cluster any of those is in
    old_touched = np.unique(np.concatenate([exact_right[exact_right < n0], pair_a[pair_a < n0], pair_b[pair_b < n0]]))
    old_ids = nodes.take(old_touched, ["doc_id"]).column(0).combine_chunks()
    seeds = pa.concat_arrays([old_ids, rights_changed.cast(pa.string())]) if len(rights_changed) else old_ids
    member_ids, member_clusters = _cluster_members(ledger, seeds)
    old_scope = pc.unique(pa.concat_arrays([seeds, member_ids])) if len(member_ids) else pc.unique(seeds)
    old_scope_nodes = _nodes_of(state, manifest, nodes, old_scope, dead)
    order = np.argsort(old_scope_nodes)
    old_scope, old_scope_nodes = old_scope.take(pa.array(order)), old_scope_nodes[order]
    universe = np.concatenate([old_scope_nodes, new_nodes])  # ascending: node order
    m = len(universe)

    left = [np.searchsorted(universe, exact_left), np.searchsorted(universe, pair_a)]
    right = [np.searchsorted(universe, exact_right), np.searchsorted(universe, pair_b)]
    if len(member_ids):  # the clusters as they stand: each member joined to its cluster's first
        position = pc.index_in(member_ids, value_set=old_scope).to_numpy(zero_copy_only=False).astype(np.int64)
        labels = pc.dictionary_encode(member_clusters).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        head = np.full(labels.max() + 1, m, np.int64)
        np.minimum.at(head, labels, position)
        left.append(position)
        right.append(head[labels])
    labels = components(m, np.concatenate(left), np.concatenate(right))

    # rights and signatures of the universe, then the canonical choice
    ids = pa.concat_arrays([old_scope, added.docs.column("doc_id").combine_chunks()])
    rights_table = _rights(ledger, old_scope, added.docs)
    old_norm = nodes.take(old_scope_nodes, ["norm_sha256"]).column(0).combine_chunks()
    all_norm = pa.concat_arrays([old_norm, norm.cast(pa.string())])
    groups = pc.dictionary_encode(all_norm).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    universe_sigs = np.concatenate([nodes.signatures(old_scope_nodes), sigs]) if len(old_scope_nodes) else sigs
    rights = Rights(doc_ids=ids, consent=rights_table.column("consent"), license=rights_table.column("license"),
                    first_fetched_at=rights_table.column("first_fetched_at").to_numpy().astype("datetime64[us]"))

    def similarity(rows: np.ndarray, other: np.ndarray) -> np.ndarray:
        return estimated_jaccard(universe_sigs[rows], universe_sigs[other])

    assignments = assign(labels, rights, similarity, groups)
    node_batch = pa.table({"doc_id": added.docs.column("doc_id"),
                           "text_key": pa.array(string_keys(added.docs.column("text_sha256")), pa.uint64()),
                           "norm_sha256": norm.cast(pa.string()), "n_shingles": pa.array(n_shingles, pa.int64())})
    new_groups = {
        "bands": _band_groups(sigs, banded, new_nodes, lsh),
        "norms": [(string_keys(norm.filter(pa.array(is_rep))), new_nodes[is_rep])],
        "docs": [(string_keys(added.docs.column("doc_id")), new_nodes)],
    }
    return Update(assignments=assignments, scope=ids, exact_new=len(exact_left), edges_new=len(pair_a),
                  clusters_before=len(pc.unique(member_clusters)) if len(member_clusters) else 0,
                  clustered_before=len(member_ids), new_node_groups=new_groups, node_batch=node_batch)


def texts_changed(state: DedupState, manifest: Manifest, doc_ids: pa.Array, text_sha256: pa.Array) -> np.ndarray:
    """Which of these stored documents now have another text than the one their node signed (a
    text can come back to an earlier one, whose first ledger row is older than the watermark)."""
    if len(doc_ids) == 0:
        return np.zeros(0, bool)
    nodes = NodeTable(state.directory, manifest.nodes)
    dead = np.array(sorted(manifest.dead), np.int64)
    stored = nodes.take(_nodes_of(state, manifest, nodes, doc_ids, dead), ["text_key"]).column(0).to_numpy()
    return np.asarray(stored != string_keys(text_sha256))


def _band_groups(sigs: np.ndarray, rows: np.ndarray, node_ids: np.ndarray, lsh: LshParams) -> list:
    keys = band_keys(sigs, lsh.bands, lsh.rows, rows)
    return [(keys[:, band], node_ids[rows]) for band in range(lsh.bands)]


def _alive(i: np.ndarray, nodes: np.ndarray, dead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probe results without the dead nodes."""
    if len(dead) == 0:
        return i, nodes
    keep = ~np.isin(nodes, dead)
    return i[keep], nodes[keep]


def removable(ledger: Ledger, state: DedupState, manifest: Manifest, doc_ids: pa.Array, lsh: LshParams,
              max_bucket: int) -> np.ndarray | None:
    """The stored nodes of documents whose text changed, if taking them out changes nothing else:
    none is in a cluster (so none holds a cluster together or represents exact duplicates) and
    none is in an LSH bucket of more than ``max_bucket`` members (where leaving would move the
    others' windows). None otherwise (a full run redoes them)."""
    if len(manifest.dead) + len(doc_ids) > MAX_DEAD:
        return None
    member_ids, _ = _cluster_members(ledger, doc_ids)
    if len(member_ids) and pc.any(pc.is_in(doc_ids, value_set=member_ids)).as_py():
        return None
    nodes = NodeTable(state.directory, manifest.nodes)
    dead = np.array(sorted(manifest.dead), np.int64)
    old = _nodes_of(state, manifest, nodes, doc_ids, dead)
    banded = np.flatnonzero(nodes.take(old, ["n_shingles"]).column(0).to_numpy() > 0)
    keys = band_keys(nodes.signatures(old), lsh.bands, lsh.rows, banded)
    runs = state.key_runs(manifest, "bands")
    for band in range(lsh.bands if len(banded) else 0):
        qi, _ = _alive(*probe(runs, band, keys[:, band], limit=max_bucket + 1 + len(dead)), dead)
        if len(qi) and np.bincount(qi).max() > max_bucket:
            return None
    return old


def _bucket_pairs(state: DedupState, manifest: Manifest, keys: np.ndarray, banded_nodes: np.ndarray, bands: int,
                  window: int, dead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Node pairs ``(earlier, new)``: each new node (``banded_nodes``, ascending, with band keys
    ``keys``) and the ``window`` members of each of its buckets that come just before it."""
    runs = state.key_runs(manifest, "bands")
    a: list[np.ndarray] = []
    b: list[np.ndarray] = []
    n = len(banded_nodes)
    for band in range(bands if n else 0):
        key = keys[:, band]
        order = np.argsort(key, kind="stable")  # by key, then node
        sorted_key = key[order]
        starts = np.flatnonzero(np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]]))
        group_start = np.repeat(starts, np.diff(np.concatenate([starts, [n]])))
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n) - group_start  # how many new members come before, in this bucket
        for d in range(1, window + 1):  # new with new
            same = np.flatnonzero(sorted_key[:-d] == sorted_key[d:]) if d < n else np.empty(0, np.int64)
            if len(same) == 0:
                break
            a.append(banded_nodes[order[same]])
            b.append(banded_nodes[order[same + d]])
        # the last `window` live stored members of each bucket
        qi, old = _alive(*probe(runs, band, key, limit=window + len(dead)), dead)
        if len(qi):
            block_end = np.searchsorted(qi, qi, "right")
            from_end = block_end - np.arange(len(qi)) - 1  # 0: the last stored member
            take = from_end < window - rank[qi]
            a.append(old[take])
            b.append(banded_nodes[qi[take]])
    if not a:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo, hi = np.concatenate(a), np.concatenate(b)
    codes = np.unique((lo.astype(np.uint64) << np.uint64(32)) | hi.astype(np.uint64))
    return (codes >> np.uint64(32)).astype(np.int64), (codes & np.uint64(0xFFFFFFFF)).astype(np.int64)


def _cluster_members(ledger: Ledger, doc_ids: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Every member (doc_id, dup_cluster) of the clusters these documents are in."""
    if len(doc_ids) == 0:
        return pa.array([], pa.string()), pa.array([], pa.string())
    rows = ledger.query(
        "SELECT doc_id, dup_cluster FROM clusters WHERE dup_cluster IN "
        "(SELECT dup_cluster FROM clusters WHERE doc_id IN (SELECT unnest(?)) AND dup_cluster IS NOT NULL)",
        [doc_ids.to_pylist()], memory_limit=LEDGER_MEMORY)
    return rows.column("doc_id").combine_chunks(), rows.column("dup_cluster").combine_chunks()


def _nodes_of(state: DedupState, manifest: Manifest, nodes: NodeTable, doc_ids: pa.Array,
              dead: np.ndarray) -> np.ndarray:
    """The live node of each stored document (by its id key, confirmed on the id itself)."""
    if len(doc_ids) == 0:
        return np.empty(0, np.int64)
    qi, found = _alive(*probe(state.key_runs(manifest, "docs"), 0, string_keys(doc_ids)), dead)
    same = pc.equal(nodes.take(found, ["doc_id"]).column(0).combine_chunks(), doc_ids.take(pa.array(qi))).to_numpy(zero_copy_only=False)
    qi, found = qi[same], found[same]
    out = np.full(len(doc_ids), -1, np.int64)
    out[qi] = found
    if (out < 0).any():
        lost = doc_ids[int(np.flatnonzero(out < 0)[0])].as_py()
        raise LookupError(f"document {lost} is not in the dedup state")
    return out


def _rights(ledger: Ledger, old_ids: pa.Array, new_docs: pa.Table) -> pa.Table:
    """consent, license, first_fetched_at of the old documents (from the ledger, in this order)
    followed by the new ones'."""
    columns = ["consent", "license", "first_fetched_at"]
    new = new_docs.select(columns)
    if len(old_ids) == 0:
        return new
    ids = old_ids.to_pylist()
    found = ledger.query(_RIGHTS_SQL, [ids, ids], memory_limit=LEDGER_MEMORY)
    at = pc.index_in(old_ids, value_set=found.column("doc_id").combine_chunks())
    old = found.select(columns).take(at)
    return pa.concat_tables([old.cast(new.schema), new])
