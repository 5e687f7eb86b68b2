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

Incremental by construction: stored signatures are reused, and the clusters of all current
documents are recomputed from them (cheap next to hashing), so a run after new documents arrive
gives exactly the clusters a run from scratch would, and a run with nothing new writes no rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.clusters import ClusterAssignment, Rights, assign, components
from dedup.engine import DEFAULT_BATCH_SIZE, Engine, LocalEngine, make_engine, plan_tasks
from dedup.index import SignatureIndex, missing
from dedup.lsh import MAX_BUCKET
from dedup.minhash import estimated_jaccard
from dedup.params import DEFAULT_NGRAM, DEFAULT_NUM_PERM, DEFAULT_SCHEME, DEFAULT_SEED, DEFAULT_THRESHOLD, LshParams, SignatureParams
from provenance.ids import utcnow
from provenance.ledger import LedgerWriter
from provenance.records import Run

NO_LONGER = "no longer a duplicate of another document"
_SIM_DIGITS = 6


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


PairFinder = Callable[[np.ndarray, LshParams, int], tuple[np.ndarray, np.ndarray]]


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
    pairs, _ = (find_pairs or LocalEngine().similar_pairs)(sigs[reps], lsh, max_bucket)
    left = np.concatenate([exact_left, reps[pairs[:, 0]]])
    right = np.concatenate([rep_of[exact_left], reps[pairs[:, 1]]])
    labels = components(n, left, right)
    rights = Rights(
        doc_ids=docs.column("doc_id").to_pylist(),
        consent=docs.column("consent").to_pylist(),
        license=docs.column("license").to_pylist(),
        first_fetched_at=docs.column("first_fetched_at").to_numpy().astype("datetime64[us]"),
    )

    def similarity(rows: np.ndarray, other: np.ndarray) -> np.ndarray:
        return estimated_jaccard(sigs[rows], sigs[other])

    assignments = assign(labels, rights, similarity, groups)
    return ClusterResult(assignments, len(exact_left), len(pairs), np.stack([left, right], axis=1))


def _load_documents(writer: LedgerWriter) -> pa.Table:
    """The latest state of every document, sorted by doc_id, with ``first_fetched_at``: when its
    current text was first fetched (a re-crawl of the same text must not make a copy look newer)."""
    return writer.query("""
        SELECT d.doc_id, d.shard, d.text_sha256, d.license, d.consent, f.first_fetched_at
        FROM documents d
        JOIN (SELECT doc_id, text_sha256, min(fetched_at) AS first_fetched_at
              FROM document_log GROUP BY doc_id, text_sha256) f USING (doc_id, text_sha256)
        ORDER BY d.doc_id
    """)


def _changed_rows(writer: LedgerWriter, assignments: list[ClusterAssignment], run_id: str) -> pa.Table:
    """``cluster_log`` rows for documents whose current assignment differs from the desired one."""
    current = {
        r["doc_id"]: (r["dup_cluster"], r["is_canonical"],
                      None if r["similarity"] is None else round(r["similarity"], _SIM_DIGITS), r["reason"])
        for r in writer.query("SELECT doc_id, dup_cluster, is_canonical, similarity, reason FROM clusters").to_pylist()
    }
    wanted = {a.doc_id: (a.dup_cluster, a.is_canonical, round(a.similarity, _SIM_DIGITS), a.reason) for a in assignments}
    for doc_id, state in current.items():
        if doc_id not in wanted and state[0] is not None:
            wanted[doc_id] = (None, True, None, NO_LONGER)
    changed = sorted(d for d, state in wanted.items() if current.get(d) != state)
    now = utcnow()
    return pa.table({
        "doc_id": pa.array(changed, pa.string()),
        "dup_cluster": pa.array([wanted[d][0] for d in changed], pa.string()),
        "is_canonical": pa.array([wanted[d][1] for d in changed], pa.bool_()),
        "similarity": pa.array([wanted[d][2] for d in changed], pa.float64()),
        "reason": pa.array([wanted[d][3] for d in changed], pa.string()),
        "assigned_at": pa.array([now] * len(changed), pa.timestamp("us")),
        "run_id": pa.array([run_id] * len(changed), pa.string()),
    })


def run_dedup(writer: LedgerWriter, options: DedupOptions = DedupOptions(),
              progress: Callable[[int], None] | None = None,
              on_plan: Callable[[int], None] | None = None) -> DedupSummary:
    """Run dedup on the workspace of ``writer`` (held for the whole run) and record it as a run.

    ``on_plan(n)`` is told how many texts need signatures before hashing starts; ``progress(k)``
    after each batch of ``k`` is stored.
    """
    params = options.signature_params()
    engine = make_engine(options.engine, options.workers, options.batch_size, options.ray_address)
    lsh = LshParams.for_threshold(options.threshold, options.num_perm)
    with engine:  # starts or connects to what the engine runs on (a local Ray, a cluster)
        config = {**asdict(options), "workers": engine.workers, "index_key": params.key(),
                  "bands": lsh.bands, "rows": lsh.rows, "lsh_weights": list(lsh.weights)}
        run = writer.start_run("dedup", config)
        try:
            return _run(writer, run, options, params, lsh, engine, progress, on_plan)
        except BaseException:
            writer.finish_run(run, {}, status="failed")
            raise


def _run(writer: LedgerWriter, run: Run, options: DedupOptions, params: SignatureParams, lsh: LshParams,
         engine: Engine, progress: Callable[[int], None] | None,
         on_plan: Callable[[int], None] | None) -> DedupSummary:
    run_id = run.run_id
    docs = _load_documents(writer)
    index = SignatureIndex(writer, params)
    index.sweep()
    todo = missing(docs.column("doc_id"), docs.column("text_sha256"), index.stored_keys())
    if on_plan:
        on_plan(len(todo))
    if len(todo):
        picked = docs.take(pa.array(todo, pa.int64()))
        tasks = plan_tasks(writer.workspace, picked.column("doc_id").combine_chunks(),
                           picked.column("shard").combine_chunks(), picked.column("text_sha256").combine_chunks())
        for number, batch in enumerate(engine.signatures(tasks, params)):
            index.add(batch, run_id, number)
            if progress:
                progress(len(batch))

    pa.default_memory_pool().release_unused()
    loaded = index.load(docs.column("doc_id").combine_chunks(), docs.column("text_sha256").combine_chunks())
    if not loaded.found.all():
        lost = docs.column("doc_id")[int(np.flatnonzero(~loaded.found)[0])].as_py()
        raise RuntimeError(f"no signature for document {lost} after hashing; this is a bug")
    result = cluster_documents(docs.select(["doc_id", "consent", "license", "first_fetched_at"]), loaded.norm_sha256,
                               loaded.n_shingles, loaded.signatures, lsh, options.max_bucket, engine.similar_pairs)
    rows = _changed_rows(writer, result.assignments, run_id)
    n_clusters = len({a.dup_cluster for a in result.assignments})
    summary = DedupSummary(
        run_id=run_id, documents=docs.num_rows, new_signatures=len(todo),
        reused_signatures=docs.num_rows - len(todo), exact_duplicates=result.exact_duplicates,
        candidate_edges=result.candidate_edges, clusters=n_clusters,
        clustered_documents=len(result.assignments), rows_written=rows.num_rows,
        bands=lsh.bands, rows=lsh.rows, index_key=params.key(),
    )
    with writer.transaction():
        if rows.num_rows:
            seq = writer.query("SELECT nextval('cluster_seq') AS seq FROM range(?)", [rows.num_rows]).column("seq")
            writer.append_rows("cluster_log", rows.add_column(0, "seq", seq.cast(pa.int64())))
        writer.append_rows("dedup_param_log", pa.table({
            "run_id": [run_id], "index_key": [params.key()], "scheme": [params.scheme], "hash": [params.hash],
            "tokenizer": [params.tokenizer], "seed": pa.array([params.seed], pa.int64()),
            "num_perm": pa.array([params.num_perm], pa.int32()), "ngram": pa.array([params.ngram], pa.int32()),
            "threshold": [lsh.threshold], "bands": pa.array([lsh.bands], pa.int32()),
            "rows_per_band": pa.array([lsh.rows], pa.int32()),
            "fp_weight": [float(lsh.weights[0])], "fn_weight": [float(lsh.weights[1])],
            "max_bucket": pa.array([options.max_bucket], pa.int32()), "engine": [engine.name],
            "created_at": pa.array([utcnow()], pa.timestamp("us")),
        }))
        writer.finish_run(run, summary.counts())
    return summary
