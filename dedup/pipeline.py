"""``dedup`` end to end: signatures for new texts, then exact and near-duplicate clusters.

Stages (each a pure function over Arrow/numpy, see the modules named):

1. documents: the latest state of every document from the ledger (``documents`` view);
2. signatures (``dedup.engine``): only for texts the index does not hold yet, per Parquet row
   group, in worker processes or Ray tasks; each batch is stored as one index part
   (``dedup.index``) as it arrives, so a killed run keeps the parts it finished;
3. exact duplicates: documents with equal normalised text (``provenance.ids.normalized_text_hash``)
   are joined first and represented by their smallest doc_id;
4. near duplicates (``dedup.lsh``, run by the engine): LSH band keys of the representatives,
   candidate pairs, verified by estimated Jaccard >= threshold;
5. clusters (``dedup.clusters``, on the driver): connected components, canonical member by
   rights, similarity to the canonical, the reason;
6. ledger: ``cluster_log`` rows only for documents whose assignment changed, in one transaction
   with the run's parameters.

The ledger is read through short read-only connections and written in a few short writes (the
run's start, part registrations a few at a time, the final commit), so readers are never locked
out for long and nothing is held while hashing.

Incremental by construction: stored signatures are reused, and the clusters of all current
documents are recomputed from them (cheap next to hashing), so a run after new documents arrive
gives exactly the clusters a run from scratch would. A run whose input (every document's id,
current text, license, consent and first fetch, and the parameters) has the fingerprint of the
last finished run's skips straight to recording itself: nothing new costs one aggregate query.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.clusters import ClusterAssignment, Rights, assign, components
from dedup.engine import DEFAULT_BATCH_SIZE, DedupError, Engine, LocalEngine, make_engine, plan_tasks
from dedup.index import LoadedSignatures, SignatureIndex, missing
from dedup.lsh import MAX_BUCKET
from dedup.minhash import estimated_jaccard
from dedup.params import DEFAULT_NGRAM, DEFAULT_NUM_PERM, DEFAULT_SCHEME, DEFAULT_SEED, DEFAULT_THRESHOLD, LshParams, SignatureParams
from provenance.ids import utcnow
from provenance.ledger import Ledger
from provenance.records import Run
from provenance.stage import open_run

NO_LONGER = "no longer a duplicate of another document"
_SIM_DIGITS = 6
REGISTER_EVERY_S = 5.0  # register finished index parts at most this often (one short write each)


@dataclass(frozen=True, slots=True)
class DedupOptions:
    threshold: float = DEFAULT_THRESHOLD
    num_perm: int = DEFAULT_NUM_PERM
    ngram: int = DEFAULT_NGRAM
    seed: int = DEFAULT_SEED
    scheme: str = DEFAULT_SCHEME
    engine: str = "local"
    workers: int | None = None  # None: one per core (Ray with an address: the cluster's CPUs)
    batch_size: int = DEFAULT_BATCH_SIZE
    ray_address: str | None = None  # --engine ray: an existing cluster; None starts a local Ray
    max_bucket: int = MAX_BUCKET

    def signature_params(self) -> SignatureParams:
        return SignatureParams(num_perm=self.num_perm, ngram=self.ngram, seed=self.seed, scheme=self.scheme)


@dataclass(frozen=True, slots=True)
class DedupSummary:
    run_id: str
    documents: int
    new_signatures: int
    reused_signatures: int
    exact_duplicates: int  # documents whose normalised text equals a smaller doc_id's
    candidate_edges: int  # verified near-duplicate pairs between representatives
    clusters: int
    clustered_documents: int
    rows_written: int
    bands: int
    rows: int
    index_key: str
    input_fingerprint: str = ""  # equal in the next run: nothing to recompute
    unchanged: bool = False  # this run found the input of the last finished run and skipped the work

    def counts(self) -> dict:
        out = asdict(self)
        out.pop("run_id")
        return out


@dataclass(frozen=True)
class ClusterResult:
    assignments: list[ClusterAssignment]
    exact_duplicates: int  # rows joined to an exact duplicate with a smaller doc_id
    candidate_edges: int  # verified near-duplicate pairs
    edges: np.ndarray  # (k, 2) row pairs that were joined: exact duplicates first, then near ones


PairFinder = Callable[[np.ndarray, LshParams, int, np.ndarray], tuple[np.ndarray, np.ndarray]]


def cluster_documents(docs: pa.Table, norm_sha256: pa.Array, n_shingles: np.ndarray,
                      sigs: np.ndarray, lsh: LshParams, max_bucket: int = MAX_BUCKET,
                      find_pairs: PairFinder | None = None) -> ClusterResult:
    """Stages 3-5 over documents sorted by doc_id (``doc_id, consent, license, first_fetched_at``).

    ``find_pairs`` runs stage 4 (an engine's ``similar_pairs``; default: in this process); every
    engine returns the same pairs, so the clusters do not depend on it."""
    n = docs.num_rows
    if n == 0:
        return ClusterResult([], 0, 0, np.empty((0, 2), np.int64))
    # exact duplicates: group by normalised text hash, the first row (smallest doc_id) represents
    groups = pc.dictionary_encode(norm_sha256).indices.to_numpy(zero_copy_only=False)
    groups = groups.astype(np.int64)
    first_row = np.full(groups.max() + 1, n, np.int64)
    np.minimum.at(first_row, groups, np.arange(n, dtype=np.int64))
    rep_of = first_row[groups]
    exact_left = np.flatnonzero(rep_of != np.arange(n))
    # near duplicates among representatives with at least one shingle
    reps = np.flatnonzero((rep_of == np.arange(n)) & (n_shingles > 0))
    pairs, _ = (find_pairs or LocalEngine().similar_pairs)(sigs, lsh, max_bucket, reps)
    left = np.concatenate([exact_left, reps[pairs[:, 0]]])
    right = np.concatenate([rep_of[exact_left], reps[pairs[:, 1]]])
    labels = components(n, left, right)
    rights = Rights(
        doc_ids=docs.column("doc_id"),
        consent=docs.column("consent"),
        license=docs.column("license"),
        first_fetched_at=docs.column("first_fetched_at").to_numpy().astype("datetime64[us]"),
    )

    def similarity(rows: np.ndarray, other: np.ndarray) -> np.ndarray:
        return estimated_jaccard(sigs[rows], sigs[other])

    assignments = assign(labels, rights, similarity, groups)
    return ClusterResult(assignments, len(exact_left), len(pairs), np.stack([left, right], axis=1))


_DOCUMENTS_SQL = """
    SELECT d.doc_id, d.shard, d.text_sha256, d.license, d.consent, f.first_fetched_at
    FROM documents d
    JOIN (SELECT doc_id, text_sha256, min(fetched_at) AS first_fetched_at
          FROM document_log GROUP BY doc_id, text_sha256) f USING (doc_id, text_sha256)
"""


def _load_documents(ledger: Ledger) -> pa.Table:
    """The latest state of every document, sorted by doc_id, with ``first_fetched_at``: when its
    current text was first fetched (a re-crawl of the same text must not make a copy look newer)."""
    return ledger.query(_DOCUMENTS_SQL + " ORDER BY d.doc_id")


def input_fingerprint(ledger: Ledger, options: DedupOptions, lsh: LshParams) -> str:
    """A fingerprint of everything the clusters depend on: the documents' ids, current texts,
    licenses, consents and first fetches (one aggregate in the ledger), and the parameters."""
    row = ledger.query(f"""
        SELECT count(*) AS n, coalesce(bit_xor(hash(doc_id, text_sha256, license, consent, first_fetched_at)), 0) AS h
        FROM ({_DOCUMENTS_SQL})
    """).to_pylist()[0]
    return (f"{row['n']}:{row['h']:016x}:{options.signature_params().key()}:{lsh.threshold}:"
            f"{lsh.bands}x{lsh.rows}:{options.max_bucket}")


def _last_fingerprint(ledger: Ledger) -> str | None:
    rows = ledger.query("SELECT counts FROM run_log WHERE command = 'dedup' AND status = 'finished' "
                        "ORDER BY finished_at DESC LIMIT 1").column("counts").to_pylist()
    if not rows or not rows[0]:
        return None
    return json.loads(rows[0]).get("input_fingerprint")


def _same(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.ChunkedArray:
    """Null-aware equality: equal values, or both null."""
    return pc.or_kleene(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b))).fill_null(False)


def _changed_rows(ledger: Ledger, assignments: list[ClusterAssignment], run_id: str) -> pa.Table:
    """``cluster_log`` rows for documents whose current assignment differs from the desired one
    (a hash join of the desired rows with the ``clusters`` view, in Arrow)."""
    wanted = pa.table({
        "doc_id": pa.array([a.doc_id for a in assignments], pa.string()),
        "dup_cluster": pa.array([a.dup_cluster for a in assignments], pa.string()),
        "is_canonical": pa.array([a.is_canonical for a in assignments], pa.bool_()),
        "similarity": pa.array([round(a.similarity, _SIM_DIGITS) for a in assignments], pa.float64()),
        "reason": pa.array([a.reason for a in assignments], pa.string()),
    })
    current = ledger.query("SELECT doc_id, dup_cluster AS c_cluster, is_canonical AS c_canonical, "
                           "similarity AS c_similarity, reason AS c_reason FROM clusters")
    both = wanted.join(current, "doc_id", join_type="full outer")
    wanted_here = pc.is_valid(both.column("reason"))
    # a document that was in a cluster and is in none now: one row saying so
    leaves = pc.and_(pc.invert(wanted_here), pc.is_valid(both.column("c_cluster")))
    desired = {
        "dup_cluster": both.column("dup_cluster"),
        "is_canonical": pc.if_else(wanted_here, both.column("is_canonical"), True),
        "similarity": both.column("similarity"),
        "reason": pc.if_else(wanted_here, both.column("reason"), NO_LONGER),
    }
    same = pc.and_(pc.and_(_same(desired["dup_cluster"], both.column("c_cluster")),
                           _same(desired["is_canonical"], both.column("c_canonical"))),
                   pc.and_(_same(desired["similarity"], both.column("c_similarity")),
                           _same(desired["reason"], both.column("c_reason"))))
    keep = pc.and_(pc.or_(wanted_here, leaves), pc.invert(same))
    changed = pa.table({"doc_id": both.column("doc_id"), **desired}).filter(keep).sort_by("doc_id")
    now = utcnow()
    n = changed.num_rows
    return changed.append_column("assigned_at", pa.array([now] * n, pa.timestamp("us"))).append_column(
        "run_id", pa.array([run_id] * n, pa.string()))


def run_dedup(ledger: Ledger, options: DedupOptions = DedupOptions(),
              progress: Callable[[int], None] | None = None,
              on_plan: Callable[[int], None] | None = None) -> DedupSummary:
    """Run dedup on the workspace of ``ledger`` and record it as a run (short writes only).

    ``on_plan(n)`` is told how many texts need signatures before hashing starts; ``progress(k)``
    after each batch of ``k`` is stored.
    """
    params = options.signature_params()
    engine = make_engine(options.engine, options.workers, options.batch_size, options.ray_address)
    lsh = LshParams.for_threshold(options.threshold, options.num_perm)
    with engine:  # starts or connects to what the engine runs on (a local Ray, a cluster)
        config = {**asdict(options), "workers": engine.workers, "index_key": params.key(),
                  "bands": lsh.bands, "rows": lsh.rows, "lsh_weights": list(lsh.weights)}
        with open_run(ledger, "dedup", config) as stage:
            summary = _run(ledger, stage.run, options, params, lsh, engine, progress, on_plan)
            stage.note(**summary.counts())
        return summary


def _run(ledger: Ledger, run: Run, options: DedupOptions, params: SignatureParams, lsh: LshParams,
         engine: Engine, progress: Callable[[int], None] | None,
         on_plan: Callable[[int], None] | None) -> DedupSummary:
    run_id = run.run_id
    others = ledger.query("SELECT run_id FROM run_log WHERE command = 'dedup' AND status = 'running' AND run_id <> ?",
                          [run_id]).column("run_id").to_pylist()
    if others:
        raise DedupError(f"another dedup run ({others[0]}) is in progress on this workspace; wait for it to "
                         f"finish (or stop it), then run dedup again")
    index = SignatureIndex(ledger, params)
    index.sweep()
    fingerprint = input_fingerprint(ledger, options, lsh)
    if fingerprint == _last_fingerprint(ledger):
        if on_plan:
            on_plan(0)
        n_docs = int(fingerprint.split(":", 1)[0])
        summary = DedupSummary(run_id=run_id, documents=n_docs, new_signatures=0, reused_signatures=n_docs,
                               exact_duplicates=0, candidate_edges=0, clusters=0, clustered_documents=0,
                               rows_written=0, bands=lsh.bands, rows=lsh.rows, index_key=params.key(),
                               input_fingerprint=fingerprint, unchanged=True)
        _commit(ledger, run, options, params, lsh, engine, summary, None)
        return summary
    docs = _load_documents(ledger)
    n_docs = docs.num_rows
    todo = missing(docs.column("doc_id"), docs.column("text_sha256"), index.stored_keys())
    if on_plan:
        on_plan(len(todo))
    if len(todo):
        _sign(ledger, index, engine, params, run_id, docs if len(todo) == n_docs else docs.take(todo), progress)
    pa.default_memory_pool().release_unused()
    loaded = index.load(docs.column("doc_id").combine_chunks(), docs.column("text_sha256").combine_chunks())
    if not loaded.found.all():
        lost = docs.column("doc_id")[int(np.flatnonzero(~loaded.found)[0])].as_py()
        raise RuntimeError(f"no signature for document {lost} after hashing; this is a bug")
    docs = docs.select(["doc_id", "consent", "license", "first_fetched_at"])  # frees the texts' hashes, shards
    rows, counts = _cluster(ledger, docs, loaded, lsh, options, engine, run_id)
    del docs, loaded
    summary = DedupSummary(
        run_id=run_id, documents=n_docs, new_signatures=len(todo), reused_signatures=n_docs - len(todo),
        rows_written=rows.num_rows, bands=lsh.bands, rows=lsh.rows, index_key=params.key(),
        input_fingerprint=fingerprint, **counts,
    )
    _commit(ledger, run, options, params, lsh, engine, summary, rows)
    return summary


def _sign(ledger: Ledger, index: SignatureIndex, engine: Engine, params: SignatureParams, run_id: str,
          picked: pa.Table, progress: Callable[[int], None] | None) -> None:
    """Stage 2: signatures of the ``picked`` documents' texts, stored as index parts."""
    tasks = plan_tasks(ledger.workspace, picked.column("doc_id").combine_chunks(),
                       picked.column("shard").combine_chunks(), picked.column("text_sha256").combine_chunks())
    del picked
    written: list[dict] = []
    last = time.monotonic()
    for number, batch in enumerate(engine.signatures(tasks, params)):
        written.append(index.write(batch, run_id, number))
        if progress:
            progress(len(batch))
        if time.monotonic() - last >= REGISTER_EVERY_S:
            index.register(written)
            written, last = [], time.monotonic()
    index.register(written)


def _cluster(ledger: Ledger, docs: pa.Table, loaded: LoadedSignatures, lsh: LshParams, options: DedupOptions,
             engine: Engine, run_id: str) -> tuple[pa.Table, dict]:
    """Stages 3-5 and the changed rows."""
    result = cluster_documents(docs, loaded.norm_sha256, loaded.n_shingles, loaded.signatures, lsh,
                               options.max_bucket, engine.similar_pairs)
    rows = _changed_rows(ledger, result.assignments, run_id)
    counts = {"exact_duplicates": result.exact_duplicates, "candidate_edges": result.candidate_edges,
              "clusters": len({a.dup_cluster for a in result.assignments}),
              "clustered_documents": len(result.assignments)}
    return rows, counts


def _commit(ledger: Ledger, run: Run, options: DedupOptions, params: SignatureParams, lsh: LshParams,
            engine: Engine, summary: DedupSummary, rows: pa.Table | None) -> None:
    """The run's one result write: changed cluster rows and its parameters."""
    with ledger.writer() as writer, writer.transaction():
        if rows is not None and rows.num_rows:
            seq = writer.query("SELECT nextval('cluster_seq') AS seq FROM range(?)", [rows.num_rows]).column("seq")
            writer.append_rows("cluster_log", rows.add_column(0, "seq", seq.cast(pa.int64())))
        writer.append_rows("dedup_param_log", pa.table({
            "run_id": [run.run_id], "index_key": [params.key()], "scheme": [params.scheme], "hash": [params.hash],
            "tokenizer": [params.tokenizer], "seed": pa.array([params.seed], pa.int64()),
            "num_perm": pa.array([params.num_perm], pa.int32()), "ngram": pa.array([params.ngram], pa.int32()),
            "threshold": [lsh.threshold], "bands": pa.array([lsh.bands], pa.int32()),
            "rows_per_band": pa.array([lsh.rows], pa.int32()),
            "fp_weight": [float(lsh.weights[0])], "fn_weight": [float(lsh.weights[1])],
            "max_bucket": pa.array([options.max_bucket], pa.int32()), "engine": [engine.name],
            "created_at": pa.array([utcnow()], pa.timestamp("us")),
        }))
