"""The signature index: MinHash signatures kept between runs, one directory per parameter set.

Files: ``<workspace>/index/minhash/<index_key>/part-<run_id>-<n>.parquet`` with ``doc_id``,
``text_sha256`` (which text of the document was signed), ``norm_sha256`` (the exact-duplicate key:
``provenance.ids.normalized_text_hash``), ``n_shingles`` and ``signature`` (the hash values as
little-endian bytes). A file is written to ``.tmp``, flushed to disk, renamed into place and only
then registered in ``minhash_part_log`` (its own commit), so a registered part is always complete;
an unregistered file (from a run killed in between) is deleted by the next run. Parts are
registered a few at a time in one short write each (:meth:`SignatureIndex.register`), so the
ledger is never held while hashing. Signatures live outside ``shards/`` so the ``corpus`` view
never sees them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup.keys import SHA256_BYTES, PairIndex, hex_bytes, hex_strings
from dedup.minhash import dtype_for
from dedup.params import SignatureParams
from dedup.state import SignatureFile, string_keys
from provenance.ids import utcnow

if TYPE_CHECKING:  # workers import this module for SignatureBatch; they never open the ledger
    from provenance.ledger import Ledger

INDEX_DIR = "index/minhash"
PART_SCHEMA = pa.schema([("part", pa.string()), ("index_key", pa.string()), ("n_rows", pa.int64()),
                         ("n_bytes", pa.int64()), ("created_at", pa.timestamp("us")), ("run_id", pa.string())])


@dataclass(frozen=True)
class SignatureBatch:
    """Signatures of some documents (one row group, or part of one)."""

    doc_id: pa.Array
    text_sha256: pa.Array
    norm_sha256: pa.Array
    n_shingles: np.ndarray  # int64
    signatures: np.ndarray  # (n, num_perm) of the scheme's dtype

    def __len__(self) -> int:
        return len(self.doc_id)

    def to_arrow(self) -> pa.Table:
        sigs = np.ascontiguousarray(self.signatures).astype(self.signatures.dtype.newbyteorder("<"), copy=False)
        width = sigs.shape[1] * sigs.dtype.itemsize
        buffer = pa.py_buffer(sigs.tobytes())
        signature = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(self), [None, buffer])
        return pa.table({
            "doc_id": self.doc_id, "text_sha256": self.text_sha256, "norm_sha256": self.norm_sha256,
            "n_shingles": pa.array(self.n_shingles, pa.int64()), "signature": signature,
        })


@dataclass(frozen=True)
class LoadedSignatures:
    """Signatures aligned with a list of documents (row ``i`` belongs to document ``i``)."""

    found: np.ndarray  # bool: the document has a stored signature of its current text
    norm: np.ndarray  # (n, 32) uint8: sha256 of the normalised text (zeros where not found)
    n_shingles: np.ndarray
    signatures: np.ndarray  # or a SignatureFile: the matrix is then never held in memory

    @classmethod
    def empty(cls, n: int, params: SignatureParams, out: SignatureFile | None = None) -> LoadedSignatures:
        sigs = cast(np.ndarray, out) if out is not None else np.empty((n, params.num_perm), dtype_for(params.width))
        return cls(np.zeros(n, bool), np.zeros((n, SHA256_BYTES), np.uint8), np.zeros(n, np.int64), sigs)

    def norm_sha256(self) -> pa.Array:
        """The normalised texts' sha256 as hex strings (null where not found)."""
        return pc.if_else(pa.array(self.found), hex_strings(self.norm), pa.scalar(None, pa.string()))


def _signature_matrix(column: pa.Array | pa.ChunkedArray, params: SignatureParams) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    dtype = np.dtype(dtype_for(params.width)).newbyteorder("<")
    if len(column) == 0:
        return np.empty((0, params.num_perm), dtype_for(params.width))
    width = column.type.byte_width
    raw = np.frombuffer(column.buffers()[1], np.uint8)[column.offset * width:(column.offset + len(column)) * width]
    return raw.view(dtype).reshape(len(column), params.num_perm).astype(dtype_for(params.width))


class SignatureIndex:
    """The stored signatures of one parameter set, read through the ledger and extended with short
    writes."""

    def __init__(self, ledger: Ledger, params: SignatureParams):
        self.ledger = ledger
        self.workspace = ledger.workspace
        self.params = params
        self.key = params.key()
        self.directory = self.workspace.root / INDEX_DIR / self.key

    def parts(self) -> list[str]:
        """Registered part files (relative paths), oldest first."""
        rows = self.ledger.query(
            "SELECT part FROM minhash_part_log WHERE index_key = ? ORDER BY created_at, part", [self.key]
        ).column("part").to_pylist()
        return rows

    def sweep(self) -> list[Path]:
        """Delete files of this index that no ledger row registers (left by an interrupted run),
        except those of a run that is still running."""
        if not self.directory.exists():
            return []
        registered = set(self.parts())
        running = self.ledger.query("SELECT run_id FROM run_log WHERE status = 'running'").column("run_id").to_pylist()
        live = tuple(f"part-{run_id}-" for run_id in running)  # parts of a live run: not registered yet
        removed = []
        for path in sorted(self.directory.iterdir()):
            if path.is_file() and not path.name.startswith(live) and self.workspace.relative(path) not in registered:
                path.unlink()
                removed.append(path)
        return removed

    def parts_after(self, run_id: str) -> list[str]:
        """Parts registered by runs that started after ``run_id`` (a killed run's), oldest first."""
        return self.ledger.query(
            "SELECT p.part FROM minhash_part_log p JOIN run_log r USING (run_id) WHERE p.index_key = ? AND "
            "r.started_at > (SELECT started_at FROM run_log WHERE run_id = ?) ORDER BY p.created_at, p.part",
            [self.key, run_id]).column("part").to_pylist()

    def _readable_parts(self, parts: list[str] | None = None) -> list[Path]:
        chosen = self.parts() if parts is None else parts
        return [p for p in (self.workspace.absolute(rel) for rel in chosen) if p.exists()]

    def write(self, batch: SignatureBatch, run_id: str, number: int) -> dict:
        """Write one part file, complete on disk; returns its ``minhash_part_log`` row, for
        :meth:`register` (until then the next run's sweep deletes it)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"part-{run_id}-{number:05d}.parquet"
        tmp = final.with_name(final.name + ".tmp")
        pq.write_table(batch.to_arrow(), tmp, compression="zstd", use_dictionary=False)
        _fsync(tmp)  # complete on disk before the name and the ledger row can point at it
        os.replace(tmp, final)
        _fsync(self.directory)
        return {"part": self.workspace.relative(final), "index_key": self.key, "n_rows": len(batch),
                "n_bytes": final.stat().st_size, "created_at": utcnow(), "run_id": run_id}

    def register(self, rows: list[dict]) -> None:
        """Register written parts in one short write (a killed run keeps the registered ones)."""
        if not rows:
            return
        table = pa.Table.from_pylist(rows, schema=PART_SCHEMA)
        with self.ledger.writer() as w:
            w.append_rows("minhash_part_log", table)

    def fill(self, pairs: PairIndex, into: LoadedSignatures, parts: list[str] | None = None) -> None:
        """Put the stored signatures of these pairs' texts into ``into`` at the pairs' rows (rows
        already found keep theirs: the first stored copy wins). One part at a time: its key
        columns are matched by number (``dedup.keys``), then its matching rows are read."""
        if len(pairs) == 0:
            return
        for path in self._readable_parts(parts):
            ids = pq.read_table(path, columns=["doc_id", "text_sha256"])
            at, rows = _new_rows(pairs, into, ids.column("doc_id"), ids.column("text_sha256"))
            del ids
            if len(rows) == 0:
                continue
            taken = pq.read_table(path, columns=["norm_sha256", "n_shingles", "signature"]).take(
                pa.array(at, pa.int64()))
            _put(into, rows, _signature_matrix(taken.column("signature"), self.params),
                 taken.column("n_shingles").to_numpy(), taken.column("norm_sha256"))


def fill_from_batch(batch: SignatureBatch, pairs: PairIndex, into: LoadedSignatures) -> None:
    """:meth:`SignatureIndex.fill` from a batch just computed (before or after it is stored), so
    a run need not read back what it hashed."""
    at, rows = _new_rows(pairs, into, batch.doc_id, batch.text_sha256)
    if len(rows):
        take = pa.array(at, pa.int64())
        _put(into, rows, batch.signatures[at], batch.n_shingles[at], batch.norm_sha256.take(take))


def _new_rows(pairs: PairIndex, into: LoadedSignatures, doc_ids: pa.Array | pa.ChunkedArray,
              text_sha256: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(at, row)``: the positions among these ids whose pair is wanted at a row not found yet
    (the first of a text given twice)."""
    at, rows = pairs.find(string_keys(doc_ids), string_keys(text_sha256))
    fresh = ~into.found[rows]
    at, rows = at[fresh], rows[fresh]
    rows, first = np.unique(rows, return_index=True)
    return at[first], rows


def _put(into: LoadedSignatures, rows: np.ndarray, matrix: np.ndarray, n_shingles: np.ndarray,
         norm_sha256: pa.Array | pa.ChunkedArray) -> None:
    if isinstance(into.signatures, SignatureFile):
        into.signatures.write(rows, matrix)
    else:
        into.signatures[rows] = matrix
    into.n_shingles[rows] = n_shingles
    into.norm[rows] = hex_bytes(norm_sha256)
    into.found[rows] = True


def _fsync(path: Path) -> None:
    """Flush a file's (or a directory's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
