"""The signature stage as pure tasks, shared by every engine (local processes, Ray).

A :class:`SignatureTask` names one row group of one shard and the rows in it that need a
signature. :func:`compute_task` is a pure function of the task and the parameters (it reads the
text column of that row group and returns a :class:`~dedup.index.SignatureBatch`), so any engine
that runs it, in whatever order or place, gets the same signatures. :func:`plan_tasks` turns the
documents that need signatures into tasks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup.index import SignatureBatch
from dedup.minhash import Permutations, signatures
from dedup.params import DEFAULT_BATCH_SIZE, SignatureParams
from provenance.errors import ProvenanceError
from provenance.ids import normalized_text_hash
from provenance.workspace import Workspace

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
