"""Engines run the signature and banding stages; everything after them runs on the driver.

A :class:`SignatureTask` names one row group of one shard and the rows in it that need a
signature. :func:`compute_task` is a pure function of the task and the parameters (it reads the
text column of that row group and returns a :class:`~dedup.index.SignatureBatch`), so any engine
that runs it, in whatever order or place, gets the same signatures. The banding stage is the pure
functions of ``dedup.lsh`` (band groups are independent; verification is per pair). The local
engine (:class:`LocalEngine`) runs signatures in worker processes, one per core by default, and
banding in this process; the Ray engine (``dedup.ray_engine``, ``--engine ray``) runs the same
functions as Ray tasks. The later stages (``dedup.clusters``: union-find, canonical choice) and the
ledger writes stay on the driver, over numpy arrays sorted by doc_id, so any engine gets the same
pairs, clusters and cluster ids.

An engine is a context manager: entering it starts or connects to what it runs on.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup.index import SignatureBatch
from dedup.lsh import similar_pairs
from dedup.minhash import Permutations, signatures
from dedup.params import LshParams, SignatureParams
from provenance.errors import ProvenanceError
from provenance.ids import normalized_text_hash
from provenance.workspace import Workspace

DEFAULT_BATCH_SIZE = 512  # documents hashed together inside a task (arrays stay near the L2 cache)
ENGINES = ("local", "ray")


class DedupError(ProvenanceError):
    """A dedup problem the user can act on."""


class EngineUnavailable(DedupError):
    """The requested engine cannot run here."""


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class SignatureTask:
    """The rows of one row group of one shard that need signatures."""

    shard: str  # absolute path of the Parquet file
    row_group: int
    rows: np.ndarray  # row indices within the row group, ascending
    doc_id: pa.Array
    text_sha256: pa.Array

    def __len__(self) -> int:
        return len(self.rows)


def compute_task(task: SignatureTask, params: SignatureParams, batch_size: int = DEFAULT_BATCH_SIZE) -> SignatureBatch:
    """Signatures and exact-duplicate keys of a task's documents (pure; runs in any process)."""
    perms = Permutations.for_params(params)
    with pq.ParquetFile(task.shard) as pf:
        column = pf.read_row_group(task.row_group, columns=["text"]).column("text")
    texts = column.take(pa.array(task.rows, pa.int64())).combine_chunks()
    del column
    n = len(texts)
    sigs = np.empty((n, params.num_perm), perms.a.dtype)
    counts = np.empty(n, np.int64)
    norm: list[str] = []
    for lo in range(0, n, batch_size):
        part = texts.slice(lo, batch_size)
        sigs[lo:lo + len(part)], counts[lo:lo + len(part)] = signatures(part, params, perms)
        norm.extend(normalized_text_hash(t or "") for t in part.to_pylist())
    return SignatureBatch(doc_id=task.doc_id, text_sha256=task.text_sha256,
                          norm_sha256=pa.array(norm, pa.string()), n_shingles=counts, signatures=sigs)


def plan_tasks(workspace: Workspace, doc_ids: pa.Array, shards: pa.Array, text_sha256: pa.Array) -> list[SignatureTask]:
    """Tasks that cover these documents' texts: one per row group holding any of them.

    Reads only the ``doc_id`` and ``text_sha256`` columns; a shard holding several texts of one
    document (its history) yields only the rows of the wanted texts.
    """
    if len(doc_ids) == 0:
        return []
    keys_all = pc.binary_join_element_wise(doc_ids, text_sha256, "\x1f")
    encoded = pc.dictionary_encode(shards)
    names = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    by_shard = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_shard], np.arange(len(names) + 1))
    tasks: list[SignatureTask] = []
    for code in sorted(range(len(names)), key=names.__getitem__):
        shard = names[code]
        wanted_keys = keys_all.take(pa.array(by_shard[bounds[code]:bounds[code + 1]], pa.int64()))
        path = workspace.absolute(shard)
        if not path.exists():
            raise DedupError(f"the shard {shard} listed in the ledger is missing from {workspace.root}; "
                             f"restore it from a backup of the workspace, then run dedup again")
        found: set[str] = set()
        with pq.ParquetFile(path) as pf:
            row_groups = [pf.read_row_group(rg, columns=["doc_id", "text_sha256"]) for rg in range(pf.num_row_groups)]
        for rg, ids in enumerate(row_groups):
            keys = pc.binary_join_element_wise(ids.column("doc_id"), ids.column("text_sha256"), "\x1f")
            hits = np.flatnonzero(pc.is_in(keys, value_set=wanted_keys).to_numpy(zero_copy_only=False))
            rows = []
            for row, key in zip(hits.tolist(), keys.take(pa.array(hits, pa.int64())).to_pylist()):
                if key not in found:  # the same text twice in a shard: sign it once
                    found.add(key)
                    rows.append(row)
            if rows:
                picked = ids.take(pa.array(rows, pa.int64()))
                tasks.append(SignatureTask(shard=str(path), row_group=rg, rows=np.array(rows, np.int64),
                                           doc_id=picked.column("doc_id").combine_chunks(),
                                           text_sha256=picked.column("text_sha256").combine_chunks()))
        if len(found) < len(wanted_keys):
            absent = next(k for k in wanted_keys.to_pylist() if k not in found).split("\x1f")[0]
            raise DedupError(f"the shard {shard} does not hold the text the ledger lists for document "
                             f"{absent} ({len(wanted_keys) - len(found)} texts missing); the workspace is "
                             f"inconsistent: restore the shard, or re-import the documents")
    return tasks


class Engine(Protocol):
    """What the pipeline needs of an engine: run :func:`compute_task` over tasks and the banding
    stage over signatures, anywhere, with results that do not depend on where they ran."""

    name: str
    workers: int

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...

    def signatures(self, tasks: Sequence[SignatureTask], params: SignatureParams) -> Iterator[SignatureBatch]: ...

    def similar_pairs(self, sigs: np.ndarray, lsh: LshParams, max_bucket: int,
                      subset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker once the process that started it is gone.

    A dedup killed with SIGKILL cannot shut its pool down, and its workers would otherwise wait
    for work forever (measured: they did, reparented to init)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class LocalEngine:
    """Runs signature tasks in this process (one worker) or in a pool of worker processes, and
    the banding stage in this process."""

    name = "local"

    def __init__(self, workers: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE):
        self.workers = workers or default_workers()
        self.batch_size = batch_size

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def similar_pairs(self, sigs: np.ndarray, lsh: LshParams, max_bucket: int,
                      subset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return similar_pairs(sigs, lsh.bands, lsh.rows, lsh.threshold, max_bucket, subset)

    def signatures(self, tasks: Sequence[SignatureTask], params: SignatureParams) -> Iterator[SignatureBatch]:
        """Yields one batch per task, in completion order (callers must not depend on it)."""
        if self.workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield compute_task(task, params, self.batch_size)
            return
        # spawn: the parent holds DuckDB and Arrow thread pools, which must not be forked
        context = multiprocessing.get_context("spawn")
        workers = min(self.workers, len(tasks))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_exit_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            pending = list(tasks)
            pending.reverse()
            running: set[Future[SignatureBatch]] = set()
            try:
                while pending or running:
                    while pending and len(running) < 2 * workers:  # bounded: memory stays flat
                        running.add(pool.submit(compute_task, pending.pop(), params, self.batch_size))
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
            except BaseException:
                for future in running:
                    future.cancel()
                raise


def make_engine(name: str, workers: int | None, batch_size: int = DEFAULT_BATCH_SIZE,
                ray_address: str | None = None) -> Engine:
    """The engine called ``name``; refuses one that cannot run here, with what to do."""
    if ray_address and name != "ray":
        raise DedupError("--ray-address is only used with --engine ray; add --engine ray, or drop --ray-address")
    if name == "local":
        return LocalEngine(workers, batch_size)
    if name == "ray":
        from dedup.ray_engine import RayEngine  # imports Ray, which only this engine needs

        return RayEngine(workers, batch_size, ray_address)
    raise DedupError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")
