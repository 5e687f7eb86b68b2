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

Incremental (``dedup.incremental``, ``dedup.state``): a run keeps its state (every document's node,
signature and LSH band keys, in sorted memory-mapped segments) and the ledger watermark it read
up to. The next run reads only the documents with ledger rows past that watermark: new documents
are hashed, probed against the stored band keys and joined to the clusters they touch; documents
whose rights changed have their cluster's canonical choice redone; only rows that differ are
written. Nothing new costs a few small queries. A changed text, other parameters, another license
vocabulary, or a state that does not name the last finished run mean a full run, which gives the
same clusters an incremental one would (tests/test_dedup_pipeline.py checks it).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup import incremental
from dedup.changes import insert_sql, plan_parts, sql_values
from dedup.clusters import ASSIGNMENT_SCHEMA, Rights, assign_batches, components
from dedup.corpus import LEDGER_MEMORY, WATERMARK_SQL, Corpus, load_corpus
from dedup.engine import DEFAULT_BATCH_SIZE, DedupError, Engine, LocalEngine, make_engine, plan_tasks
from dedup.tasks import Wanted
from dedup.incremental import Additions
from dedup.index import LoadedSignatures, SignatureIndex, fill_from_batch
from dedup.keys import PairIndex, group_rows, hex_bytes, hex_strings
from dedup.lsh import MAX_BUCKET, similar_pairs_spilled, spill_band_keys
from dedup.minhash import dtype_for, estimated_jaccard
from dedup.params import DEFAULT_NGRAM, DEFAULT_NUM_PERM, DEFAULT_SCHEME, DEFAULT_SEED, DEFAULT_THRESHOLD, LshParams, SignatureParams
from dedup.state import (STATE_DIR, DedupState, Manifest, SignatureFile, sig_name, string_keys, write_key_run,
                         write_nodes)
from provenance import licenses
from provenance.ids import utcnow
from provenance.ledger import Ledger, LedgerWriter
from provenance.records import Run
from provenance.stage import open_run

NO_LONGER = "no longer a duplicate of another document"
REGISTER_EVERY_S = 5.0  # register finished index parts at most this often (one short write each)
LSH_CACHE = f"{STATE_DIR}/lsh-params.json"  # bands and rows of each threshold, computed once
_STATE_BATCH = 65_536  # node rows per record batch of the dedup state
_SIMILARITY_STEP = 16_384  # rows of signatures compared per step
# A run writes its cluster rows in several short writes of whole groups of clusters
# (dedup.changes), about this many rows each, each under PART_MEMORY: folding rows into
# document_state is an UPDATE, which DuckDB holds in memory until the commit (the 2.6M rows of a
# first run over 10M documents took 3.3 GB in one write; five writes, 1.9 GB at most and 30 s in
# all, against 9 s for one; ten: 1.8 GB, 55 s; ten under 1 GiB: 1.2 GB, 120 s; measured).
COMMIT_ROWS = 524_288
PART_MEMORY = "2GiB"


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
    commit_rows: int = COMMIT_ROWS  # cluster rows per write, about (whole groups of clusters; see _commit)

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
    input_fingerprint: str = ""  # the ledger watermark and parameters this run's clusters describe
    unchanged: bool = False  # nothing changed since the last finished run: the work was skipped
    mode: str = "full"  # "full": every document; "incremental": what changed since the last run; "unchanged"

    def counts(self) -> dict:
        out = asdict(self)
        out.pop("run_id")
        return out


@dataclass(frozen=True)
class ClusterResult:
    assignments: Iterator[pa.RecordBatch]  # dedup.clusters.ASSIGNMENT_SCHEMA, every member of a cluster (read once)
    exact_duplicates: int  # rows joined to an exact duplicate with a smaller doc_id
    candidate_edges: int  # verified near-duplicate pairs
    edges: np.ndarray  # (k, 2) row pairs that were joined: exact duplicates first, then near ones
    representatives: np.ndarray  # the first row of each exact-duplicate group, ascending


PairFinder = Callable[[np.ndarray, LshParams, int, np.ndarray], tuple[np.ndarray, np.ndarray]]


def cluster_documents(rights: Rights, norm: np.ndarray | pa.Array, n_shingles: np.ndarray,
                      sigs: np.ndarray, lsh: LshParams, max_bucket: int = MAX_BUCKET,
                      find_pairs: PairFinder | None = None) -> ClusterResult:
    """Stages 3-5 over documents in node order (``rights`` per row; ``norm``: the normalised
    text's sha256 per row, as ``(n, 32)`` bytes or hex strings; see ``dedup.state``: an
    exact-duplicate group is represented by its first row, and a large LSH bucket pairs each row
    with the rows just before it, so rows added later never change the pairs among earlier ones).
    Cluster ids and the last tie-break go by doc_id, whatever the order.

    ``find_pairs`` runs stage 4 (an engine's ``similar_pairs``; default: in this process); every
    engine returns the same pairs, so the clusters do not depend on it."""
    n = len(n_shingles)
    if n == 0:
        return ClusterResult(iter(()), 0, 0, np.empty((0, 2), np.int64), np.empty(0, np.int64))
    # exact duplicates: group by normalised text hash, the first row (earliest node) represents
    groups, first_row = group_rows(norm if isinstance(norm, np.ndarray) else hex_bytes(norm))
    rep_of = first_row[groups]
    exact_left = np.flatnonzero(rep_of != np.arange(n))
    representatives = np.flatnonzero(rep_of == np.arange(n))
    del rep_of
    # near duplicates among representatives with at least one shingle
    reps = representatives[n_shingles[representatives] > 0]
    pairs, _ = (find_pairs or LocalEngine().similar_pairs)(sigs, lsh, max_bucket, reps)
    left = np.concatenate([exact_left, reps[pairs[:, 0]]])
    right = np.concatenate([first_row[groups[exact_left]], reps[pairs[:, 1]]])
    labels = components(n, left, right)

    def similarity(rows: np.ndarray, other: np.ndarray) -> np.ndarray:
        out = np.empty(len(rows), np.float64)
        for lo in range(0, len(rows), _SIMILARITY_STEP):  # a step at a time: sigs may be a file
            out[lo:lo + _SIMILARITY_STEP] = estimated_jaccard(sigs[rows[lo:lo + _SIMILARITY_STEP]],
                                                              sigs[other[lo:lo + _SIMILARITY_STEP]])
        return out

    return ClusterResult(assign_batches(labels, rights, similarity, groups), len(exact_left), len(pairs),
                         np.stack([left, right], axis=1), representatives)


# documents with a document_log row in (watermark, now]: new ones, and old ones whose text or rights changed
_DELTA_SQL = """
    WITH touched AS (SELECT DISTINCT doc_id FROM document_log WHERE seq > ? AND seq <= ?),
    texts AS (SELECT doc_id, text_sha256, min(fetched_at) AS first_fetched_at, min(seq) AS first_seq
              FROM document_log WHERE doc_id IN (SELECT doc_id FROM touched) GROUP BY doc_id, text_sha256),
    firsts AS (SELECT doc_id, min(first_seq) AS doc_first_seq FROM texts GROUP BY doc_id)
    SELECT d.doc_id, d.shard, d.text_sha256, d.license, d.consent, t.first_fetched_at, t.first_seq, f.doc_first_seq
    FROM documents d JOIN texts t USING (doc_id, text_sha256) JOIN firsts f USING (doc_id)
    ORDER BY t.first_seq, d.doc_id
"""
def _load_delta(ledger: Ledger, since: int) -> tuple[int, pa.Table | None]:
    """The watermark now and the documents with rows past ``since`` (None when there are none)."""
    with ledger.reader(LEDGER_MEMORY) as con:
        watermark = int(con.sql(WATERMARK_SQL).fetchall()[0][0])
        if watermark <= since:
            return since, None
        return watermark, con.sql(_DELTA_SQL, params=[since, watermark]).to_arrow_table()


def state_key(options: DedupOptions, lsh: LshParams) -> str:
    """Names the dedup state of a parameter set: signatures, banding, threshold, bucket cap."""
    return f"{options.signature_params().key()}-b{lsh.bands}x{lsh.rows}-t{lsh.threshold}-m{options.max_bucket}"


def _usable_manifest(ledger: Ledger, state: DedupState, vocabulary: str) -> Manifest | None:
    """The state's manifest if it describes the workspace's last finished dedup run, made with
    this license vocabulary (another vocabulary can rank licenses, so canonical choices, anew)."""
    manifest = state.manifest()
    if manifest is None or manifest.vocabulary != vocabulary:
        return None
    last = ledger.query("SELECT run_id FROM run_log WHERE command = 'dedup' AND status = 'finished' "
                        "ORDER BY finished_at DESC LIMIT 1").column("run_id").to_pylist()
    return manifest if last == [manifest.run_id] else None


def _write_assignments(path: Path, batches: Iterable[pa.RecordBatch]) -> tuple[int, int]:
    """The run's assignments into a Parquet file, a batch at a time; returns how many documents
    are in a cluster and how many clusters there are (one canonical member each)."""
    documents = clusters = 0
    with pq.ParquetWriter(path, ASSIGNMENT_SCHEMA, compression="zstd") as out:
        for batch in batches:
            out.write_batch(batch)
            documents += batch.num_rows
            clusters += int(pc.sum(batch.column("is_canonical")).as_py() or 0)
    return documents, clusters


def run_dedup(ledger: Ledger, options: DedupOptions = DedupOptions(),
              progress: Callable[[int], None] | None = None,
              on_plan: Callable[[int], None] | None = None) -> DedupSummary:
    """Run dedup on the workspace of ``ledger`` and record it as a run (short writes only).

    ``on_plan(n)`` is told how many texts need signatures before hashing starts; ``progress(k)``
    after each batch of ``k`` is stored.
    """
    params = options.signature_params()
    engine = make_engine(options.engine, options.workers, options.batch_size, options.ray_address)
    lsh = LshParams.for_threshold(options.threshold, options.num_perm, cache=ledger.workspace.root / LSH_CACHE)
    with engine:  # starts or connects to what the engine runs on (a local Ray, a cluster)
        config = {**asdict(options), "workers": engine.workers, "index_key": params.key(),
                  "bands": lsh.bands, "rows": lsh.rows, "lsh_weights": list(lsh.weights)}
        with open_run(ledger, "dedup", config) as stage:
            summary = _run(ledger, stage.run, options, params, lsh, engine, progress, on_plan)
            stage.note(**summary.counts())
        return summary


@dataclass(frozen=True)
class _Context:
    ledger: Ledger
    run: Run
    options: DedupOptions
    params: SignatureParams
    lsh: LshParams
    engine: Engine
    index: SignatureIndex
    state: DedupState
    vocabulary: str
    progress: Callable[[int], None] | None
    on_plan: Callable[[int], None] | None


def _run(ledger: Ledger, run: Run, options: DedupOptions, params: SignatureParams, lsh: LshParams,
         engine: Engine, progress: Callable[[int], None] | None,
         on_plan: Callable[[int], None] | None) -> DedupSummary:
    running = ledger.query("SELECT run_id FROM run_log WHERE status = 'running'").column("run_id").to_pylist()
    others = [r for r in ledger.query(
        "SELECT run_id FROM run_log WHERE command = 'dedup' AND status = 'running' AND run_id <> ?",
        [run.run_id]).column("run_id").to_pylist()]
    if others:
        raise DedupError(f"another dedup run ({others[0]}) is in progress on this workspace; wait for it to "
                         f"finish (or stop it), then run dedup again")
    index = SignatureIndex(ledger, params)
    index.sweep()
    state = DedupState(ledger.workspace.root, state_key(options, lsh))
    state.sweep(running)
    ctx = _Context(ledger, run, options, params, lsh, engine, index, state, licenses.vocabulary_version(),
                   progress, on_plan)
    manifest = _usable_manifest(ledger, state, ctx.vocabulary)
    if manifest is not None:
        summary = _run_incremental(ctx, manifest)
        if summary is not None:
            return summary
    return _run_full(ctx)


def _fingerprint(ctx: _Context, watermark: int) -> str:
    return f"{watermark}:{ctx.state.state_key}:{ctx.vocabulary}"


def _run_full(ctx: _Context) -> DedupSummary:
    """Every document's clusters from the stored signatures (hashing the texts that have none);
    writes a fresh dedup state."""
    ledger, run_id, lsh = ctx.ledger, ctx.run.run_id, ctx.lsh
    watermark, corpus = load_corpus(ledger)
    n_docs = len(corpus)
    # the signatures go straight into the new state's matrix file, read back a step at a time
    node_name = f"nodes-{run_id}.arrow"
    sig_file = SignatureFile.create(ctx.state.path(sig_name(node_name)), n_docs, ctx.params.num_perm,
                                    np.dtype(dtype_for(ctx.params.width)))
    loaded = LoadedSignatures.empty(n_docs, ctx.params, sig_file)
    hashed = _signatures(ctx, corpus.doc_ids, corpus.pairs(), loaded, ctx.index.parts(), corpus.wanted)
    sig_file.sync()
    pa.default_memory_pool().release_unused()
    rights = Rights(doc_ids=corpus.doc_ids, consent=corpus.consent, license=corpus.license,
                    first_fetched_at=corpus.first_fetched_at)
    spill = ctx.state.path(f"spill-{run_id}")  # band keys, one file per band (removed below)
    find_pairs = ctx.engine.similar_pairs if ctx.engine.name != "local" else partial(_spilled_pairs, spill)
    result = cluster_documents(rights, loaded.norm, loaded.n_shingles, loaded.signatures, lsh,
                               ctx.options.max_bucket, find_pairs)
    del rights
    spill.mkdir(parents=True, exist_ok=True)
    assignments = spill / "assignments.parquet"
    clustered, clusters = _write_assignments(assignments, result.assignments)
    counts: dict = {"exact_duplicates": result.exact_duplicates, "candidate_edges": result.candidate_edges,
                    "clusters": clusters, "clustered_documents": clustered}
    reps = result.representatives
    del result  # its edges and the assignments' arrays
    manifest = _write_state(ctx, node_name, watermark, corpus, loaded, reps, counts, spill)
    del corpus, loaded
    written = _commit(ledger, ctx.run, ctx.options, ctx.params, lsh, ctx.engine, assignments)
    shutil.rmtree(spill, ignore_errors=True)
    summary = DedupSummary(
        run_id=run_id, documents=n_docs, new_signatures=hashed, reused_signatures=n_docs - hashed,
        rows_written=written, bands=lsh.bands, rows=lsh.rows, index_key=ctx.params.key(),
        input_fingerprint=_fingerprint(ctx, watermark), mode="full", **counts,
    )
    ctx.state.publish(manifest, ctx.state.manifest())
    return summary


def _spilled_pairs(directory: Path, sigs: np.ndarray, lsh: LshParams, max_bucket: int,
                   subset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The local banding stage out of core: band keys spilled to ``directory``, one band grouped at
    a time (the same pairs as the in-memory stage)."""
    return similar_pairs_spilled(sigs, lsh.bands, lsh.rows, lsh.threshold, directory, max_bucket, subset)


def _write_state(ctx: _Context, node_name: str, watermark: int, corpus: Corpus, loaded: LoadedSignatures,
                 reps: np.ndarray, totals: dict, spill: Path) -> Manifest:
    """The dedup state of a full run (its signature matrix is written already): the nodes and the
    key indexes, published after the commit."""
    state, run_id, lsh = ctx.state, ctx.run.run_id, ctx.lsh
    n = len(corpus)
    doc_ids = corpus.doc_ids

    def batches() -> Iterator[pa.RecordBatch]:
        for lo in range(0, n, _STATE_BATCH):
            hi = min(n, lo + _STATE_BATCH)
            yield pa.record_batch([doc_ids.slice(lo, hi - lo).combine_chunks(),
                                   pa.array(corpus.text_keys[lo:hi], pa.uint64()),
                                   hex_strings(loaded.norm[lo:hi]), pa.array(loaded.n_shingles[lo:hi], pa.int64())],
                                  names=["doc_id", "text_key", "norm_sha256", "n_shingles"])

    write_nodes(state.path(node_name), batches())
    # reps: the first row of each exact-duplicate group, ascending (ClusterResult.representatives)
    banded = reps[loaded.n_shingles[reps] > 0]
    band_files = [spill / f"band-{band}.u64" for band in range(lsh.bands)]
    if not all(p.exists() and p.stat().st_size == 8 * len(banded) for p in band_files):  # another engine banded
        band_files = spill_band_keys(loaded.signatures, lsh.bands, lsh.rows, banded, spill)
    node_ids = np.arange(n, dtype=np.int64)

    def band_groups() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for path in band_files:  # one band in memory at a time
            yield np.fromfile(path, np.uint64), banded

    segments: dict = {
        "bands": [[f"bands-{run_id}.arrow", write_key_run(state.path(f"bands-{run_id}.arrow"), band_groups())]],
        "norms": [[f"norms-{run_id}.arrow", write_key_run(state.path(f"norms-{run_id}.arrow"),
                                                          [(_norm_keys(loaded.norm, reps), reps)])]],
        "docs": [[f"docs-{run_id}.arrow", write_key_run(state.path(f"docs-{run_id}.arrow"),
                                                        [(corpus.doc_keys, node_ids)])]],
    }
    return Manifest(run_id=run_id, state_key=state.state_key, vocabulary=ctx.vocabulary, watermark=watermark,
                    n_nodes=n, totals=totals, nodes=[[node_name, n]], **segments)


def _norm_keys(norm: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The state's 64-bit keys (``string_keys``) of these rows' normalised-text hashes."""
    parts = [string_keys(hex_strings(norm[rows[lo:lo + _STATE_BATCH]])) for lo in range(0, len(rows), _STATE_BATCH)]
    return np.concatenate(parts) if parts else np.empty(0, np.uint64)


def _run_incremental(ctx: _Context, manifest: Manifest) -> DedupSummary | None:
    """A run over what changed since the run ``manifest`` describes; None when a change needs a
    full run (a changed text whose old one was in a cluster or a crowded LSH bucket)."""
    ledger, run_id, lsh, state = ctx.ledger, ctx.run.run_id, ctx.lsh, ctx.state
    watermark, delta = _load_delta(ledger, manifest.watermark)
    if delta is None:
        if ctx.on_plan:
            ctx.on_plan(0)
        summary = DedupSummary(run_id=run_id, documents=manifest.n_documents, new_signatures=0,
                               reused_signatures=manifest.n_documents, rows_written=0, bands=lsh.bands, rows=lsh.rows,
                               index_key=ctx.params.key(), input_fingerprint=_fingerprint(ctx, watermark),
                               unchanged=True, mode="unchanged", **manifest.totals)
        _commit(ledger, ctx.run, ctx.options, ctx.params, lsh, ctx.engine, None)
        state.publish(replace(manifest, run_id=run_id), manifest)
        return summary
    is_new = delta.column("doc_first_seq").to_numpy() > manifest.watermark
    # a stored document whose text is not the one its node signed (new, or back to an earlier one)
    replaced = np.zeros(len(is_new), bool)
    replaced[~is_new] = incremental.texts_changed(state, manifest, delta.column("doc_id").filter(pa.array(~is_new)),
                                                  delta.column("text_sha256").filter(pa.array(~is_new)))
    removed = np.empty(0, np.int64)
    if replaced.any():  # its old node leaves, its new text comes in as a new document, if that is all
        found = incremental.removable(ledger, state, manifest,
                                      delta.column("doc_id").filter(pa.array(replaced)).combine_chunks(), lsh,
                                      ctx.options.max_bucket)
        if found is None:
            return None  # leaving changes other pairs or clusters: only a full run redoes them
        removed = found
    new = delta.filter(pa.array(is_new | replaced))  # in node order, as the delta
    rights_changed = delta.filter(pa.array(~is_new & ~replaced)).column("doc_id").combine_chunks()
    doc_ids, texts = new.column("doc_id").combine_chunks(), new.column("text_sha256").combine_chunks()

    def wanted(rows: np.ndarray) -> Wanted:
        picked = new.take(rows)
        return Wanted.of(picked.column("doc_id"), picked.column("shard"), picked.column("text_sha256"))

    loaded = LoadedSignatures.empty(len(doc_ids), ctx.params)
    hashed = _signatures(ctx, doc_ids, PairIndex(string_keys(doc_ids), string_keys(texts)), loaded,
                         ctx.index.parts_after(manifest.run_id), wanted)
    added = Additions(new.select(["doc_id", "text_sha256", "consent", "license", "first_fetched_at"]), loaded)
    dead = np.union1d(np.array(manifest.dead, np.int64), removed)
    upd = incremental.update(ledger, state, manifest, added, rights_changed, lsh, ctx.options.max_bucket, dead)
    totals = dict(manifest.totals)
    totals["exact_duplicates"] += upd.exact_new
    totals["candidate_edges"] += upd.edges_new
    totals["clusters"] += pc.count_distinct(upd.assignments.column("dup_cluster")).as_py() - upd.clusters_before
    totals["clustered_documents"] += upd.assignments.num_rows - upd.clustered_before
    next_manifest = _extend_state(ctx, manifest, upd, loaded, watermark, totals)
    next_manifest.dead = [int(d) for d in dead]
    n_docs = next_manifest.n_documents
    assignments = state.path(f"changes-{run_id}.parquet")  # removed when the manifest is published
    _write_assignments(assignments, upd.assignments.to_batches())
    written = _commit(ledger, ctx.run, ctx.options, ctx.params, lsh, ctx.engine, assignments, upd.scope)
    summary = DedupSummary(
        run_id=run_id, documents=n_docs, new_signatures=hashed, reused_signatures=n_docs - hashed,
        rows_written=written, bands=lsh.bands, rows=lsh.rows, index_key=ctx.params.key(),
        input_fingerprint=_fingerprint(ctx, watermark), mode="incremental", **totals,
    )
    state.publish(next_manifest, manifest)
    return summary


def _extend_state(ctx: _Context, manifest: Manifest, upd: incremental.Update, loaded: LoadedSignatures,
                  watermark: int, totals: dict) -> Manifest:
    """The state after an incremental run: one new segment per file kind, like-sized ones merged."""
    state, run_id = ctx.state, ctx.run.run_id
    k = upd.node_batch.num_rows
    next_manifest = replace(manifest, run_id=run_id, watermark=watermark, n_nodes=manifest.n_nodes + k,
                            totals=totals)
    if k == 0:
        return next_manifest
    name = f"nodes-{run_id}.arrow"
    sig_file = SignatureFile.create(state.path(sig_name(name)), k, ctx.params.num_perm, loaded.signatures.dtype)
    sig_file.write(np.arange(k), loaded.signatures)
    sig_file.sync()
    write_nodes(state.path(name), iter(upd.node_batch.to_batches()))
    next_manifest.nodes = [*manifest.nodes, [name, k]]
    for kind, groups in upd.new_node_groups.items():
        seg = f"{kind}-{run_id}.arrow"
        n = write_key_run(state.path(seg), groups)
        setattr(next_manifest, kind, state.merge([*getattr(manifest, kind), [seg, n]], kind, run_id))
    return next_manifest


def _signatures(ctx: _Context, doc_ids: pa.Array | pa.ChunkedArray, pairs: PairIndex, loaded: LoadedSignatures,
                parts: list[str], wanted: Callable[[np.ndarray], Wanted]) -> int:
    """Stages 1-2 for these documents (``pairs``: their id and text keys, ``loaded``: where their
    signatures go): the ones the index ``parts`` hold, then the rest hashed (``wanted(rows)``
    names them) and put in as each batch arrives. Returns how many were hashed."""
    if parts:
        ctx.index.fill(pairs, loaded, parts)
    todo = np.flatnonzero(~loaded.found)
    if ctx.on_plan:
        ctx.on_plan(len(todo))
    if len(todo):
        _sign(ctx, wanted(todo), pairs, loaded)
    if not loaded.found.all():
        lost = doc_ids[int(np.flatnonzero(~loaded.found)[0])].as_py()
        raise RuntimeError(f"no signature for document {lost} after hashing; this is a bug")
    return len(todo)


def _sign(ctx: _Context, wanted: Wanted, pairs: PairIndex, loaded: LoadedSignatures) -> None:
    """Stage 2: signatures of the ``wanted`` documents' texts, stored as index parts and put into
    ``loaded`` at the rows of their ``pairs``."""
    tasks = plan_tasks(ctx.ledger.workspace, wanted)
    del wanted
    written: list[dict] = []
    last = time.monotonic()
    for number, batch in enumerate(ctx.engine.signatures(tasks, ctx.params)):
        written.append(ctx.index.write(batch, ctx.run.run_id, number))
        fill_from_batch(batch, pairs, loaded)
        if ctx.progress:
            ctx.progress(len(batch))
        if time.monotonic() - last >= REGISTER_EVERY_S:
            ctx.index.register(written)
            written, last = [], time.monotonic()
    ctx.index.register(written)


def _commit(ledger: Ledger, run: Run, options: DedupOptions, params: SignatureParams, lsh: LshParams,
            engine: Engine, assignments: Path | None, scope: pa.Array | None = None) -> int:
    """The run's result writes: the cluster rows that changed (``assignments``: a Parquet file
    of ``dedup.clusters.ASSIGNMENT_SCHEMA``, compared with the current clusters of the ``scope``
    documents, or of every document; :mod:`dedup.changes`) and its parameters. Returns the rows
    written.

    One write, unless more than ``options.commit_rows`` rows change: then they are written in
    parts of about that many rows, each one write under PART_MEMORY, each part holding whole
    groups of clusters, so that a reader between two parts sees each cluster whole, as before
    the run or as after it, and each write's UPDATE of ``document_state`` holds one part in
    memory, not the whole run. No DuckDB memory limit on a single write: DuckDB keeps an
    update's changes in memory until the commit, and does not spill them."""
    parts, part_map = 1, None
    if assignments is not None and pq.ParquetFile(assignments).metadata.num_rows > options.commit_rows:
        part_map = assignments.with_name(f"{assignments.stem}-parts.parquet")
        parts = plan_parts(ledger, assignments, NO_LONGER, scope, options.commit_rows, part_map)
        if parts == 1:
            part_map = None
    written = 0
    try:
        for part in range(parts):
            with ledger.writer() as writer, writer.transaction():
                if part == 0:
                    _write_params(writer, run, options, params, lsh, engine)
                if parts > 1:  # the buffer pool would otherwise keep the blocks each part reads
                    writer.limit_memory(PART_MEMORY)
                if assignments is not None:
                    values = sql_values(assignments, NO_LONGER, scope, part, part_map)
                    written += writer.execute(insert_sql(scope, part_map is not None),
                                              {**values, "run_id": run.run_id, "assigned_at": utcnow()})
    finally:
        if part_map is not None:
            part_map.unlink(missing_ok=True)
    return written


def _write_params(writer: LedgerWriter, run: Run, options: DedupOptions, params: SignatureParams,
                  lsh: LshParams, engine: Engine) -> None:
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
