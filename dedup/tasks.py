"""The signature stage as pure tasks, shared by every engine (local processes, Ray).

A :class:`SignatureTask` names one row group of one shard and the rows in it that need a
signature. :func:`compute_task` is a pure function of the task and the parameters (it reads the
ids and texts of those rows from the row group and returns a :class:`~dedup.index.SignatureBatch`),
so any engine that runs it, in whatever order or place, gets the same signatures.
:func:`plan_tasks` turns the documents that need signatures (:class:`Wanted`, matched by their
64-bit keys, ``dedup.keys``) into tasks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup.index import SignatureBatch
from dedup.keys import PairIndex
from dedup.minhash import Permutations, signatures
from dedup.params import DEFAULT_BATCH_SIZE, SignatureParams
from dedup.state import string_keys
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
    """The rows of one row group of one shard that need signatures (8 bytes a row: the ids and
    texts are read from the shard by whoever runs the task)."""

    shard: str  # absolute path of the Parquet file
    row_group: int
    rows: np.ndarray  # row indices within the row group, ascending

    def __len__(self) -> int:
        return len(self.rows)


def compute_task(task: SignatureTask, params: SignatureParams, batch_size: int = DEFAULT_BATCH_SIZE) -> SignatureBatch:
    """Signatures and exact-duplicate keys of a task's documents (pure; runs in any process)."""
    perms = Permutations.for_params(params)
    with pq.ParquetFile(task.shard) as pf:
        group = pf.read_row_group(task.row_group, columns=["doc_id", "text_sha256", "text"])
    picked = group.take(pa.array(task.rows, pa.int64())).combine_chunks()
    del group
    texts = picked.column("text").chunk(0) if picked.num_rows else pa.array([], pa.string())
    n = len(texts)
    sigs = np.empty((n, params.num_perm), perms.a.dtype)
    counts = np.empty(n, np.int64)
    norm: list[str] = []
    for lo in range(0, n, batch_size):
        part = texts.slice(lo, batch_size)
        sigs[lo:lo + len(part)], counts[lo:lo + len(part)] = signatures(part, params, perms)
        norm.extend(normalized_text_hash(t or "") for t in part.to_pylist())
    return SignatureBatch(doc_id=picked.column("doc_id").combine_chunks(),
                          text_sha256=picked.column("text_sha256").combine_chunks(),
                          norm_sha256=pa.array(norm, pa.string()), n_shingles=counts, signatures=sigs)


@dataclass(frozen=True)
class Wanted:
    """The texts that need signatures: per document its id, its pair keys (``dedup.keys``) and
    the shard that holds its text (a code into ``shard_names``)."""

    doc_ids: pa.Array | pa.ChunkedArray
    doc_keys: np.ndarray  # uint64
    text_keys: np.ndarray  # uint64
    shard_names: list[str]
    shard_codes: np.ndarray  # int, one per document

    @classmethod
    def of(cls, doc_ids: pa.Array, shards: pa.Array, text_sha256: pa.Array) -> Wanted:
        encoded = pc.dictionary_encode(shards)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        return cls(doc_ids, string_keys(doc_ids), string_keys(text_sha256), encoded.dictionary.to_pylist(),
                   encoded.indices.to_numpy(zero_copy_only=False))

    def __len__(self) -> int:
        return len(self.doc_keys)


def plan_tasks(workspace: Workspace, wanted: Wanted) -> list[SignatureTask]:
    """Tasks that cover these documents' texts: one per row group holding any of them.

    Reads only the ``doc_id`` and ``text_sha256`` columns, a row group at a time; a shard holding
    several texts of one document (its history) yields only the rows of the wanted texts, and a
    text stored twice is signed once.
    """
    if len(wanted) == 0:
        return []
    names = wanted.shard_names
    by_shard = np.argsort(wanted.shard_codes, kind="stable")
    bounds = np.searchsorted(wanted.shard_codes[by_shard], np.arange(len(names) + 1))
    tasks: list[SignatureTask] = []
    seen = np.zeros(len(wanted), bool)
    for code in sorted(range(len(names)), key=names.__getitem__):
        shard = names[code]
        mine = by_shard[bounds[code]:bounds[code + 1]]
        if len(mine) == 0:
            continue
        index = PairIndex(wanted.doc_keys[mine], wanted.text_keys[mine], mine)
        path = workspace.absolute(shard)
        if not path.exists():
            raise DedupError(f"the shard {shard} listed in the ledger is missing from {workspace.root}; "
                             f"restore it from a backup of the workspace, then run dedup again")
        with pq.ParquetFile(path) as pf:
            for rg in range(pf.num_row_groups):
                ids = pf.read_row_group(rg, columns=["doc_id", "text_sha256"])
                at, rows = index.find(string_keys(ids.column("doc_id")), string_keys(ids.column("text_sha256")))
                fresh = ~seen[rows]  # the same text twice in a shard: sign it once
                at, rows = at[fresh], rows[fresh]
                _, first = np.unique(rows, return_index=True)
                at, rows = at[first], rows[first]
                seen[rows] = True
                if len(at):
                    tasks.append(SignatureTask(shard=str(path), row_group=rg, rows=np.sort(at)))
        lost = mine[~seen[mine]]
        if len(lost):
            raise DedupError(f"the shard {shard} does not hold the text the ledger lists for document "
                             f"{wanted.doc_ids[int(lost[0])].as_py()} ({len(lost)} texts missing); the workspace "
                             f"is inconsistent: restore the shard, or re-import the documents")
    return tasks
