"""What dedup keeps between runs so that a run after k new documents costs in proportion to k.

Under ``<workspace>/index/dedup/<state_key>/`` (one directory per signature and banding parameter
set), all files written once under a new name and never changed:

* ``manifest.json``: which finished dedup run the files describe (``run_id``), the largest
  ``document_log.seq`` that run had folded in (``watermark``), the license vocabulary its
  canonical choices used, the corpus totals, and the segment files below. It is replaced
  atomically after the run's ledger commit; a manifest that does not name the workspace's last
  finished dedup run is ignored (the next run rebuilds everything from the ledger), so a run
  killed between its commit and its manifest costs time, never correctness.
* node segments (``nodes-*.arrow``): one row per document text taking part, in node order
  (``node`` = position over the segments in order): ``doc_id``, ``norm_sha256``, ``n_shingles``
  and the MinHash ``signature``. Node order is the order the texts arrived in the ledger
  (``document_log.seq`` of the text's first row, then ``doc_id``), so documents added later
  always come after the ones already there.
* key indexes (``bands-*``, ``norms-*``, ``docs-*``): sorted ``(key, node)`` runs, one record
  batch per group (an LSH band; one group for the others): the band keys of the exact-duplicate
  representatives, their normalised-text keys, and every document's id key. A run appends one
  small segment to each and merges segments of similar size (a log-structured merge: each node
  is rewritten O(log n) times in all, and a probe reads O(log n) segments).

Files are uncompressed Arrow IPC, memory-mapped: a probe (a binary search per key) and the
signatures of a few nodes touch only the pages they need.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import xxhash

STATE_DIR = "index/dedup"
MANIFEST = "manifest.json"
FORMAT = 1
INDEXES = ("bands", "norms", "docs")
NODE_SCHEMA = pa.schema([("doc_id", pa.string()), ("norm_sha256", pa.string()), ("n_shingles", pa.int64())])
KEY_SCHEMA = pa.schema([("key", pa.uint64()), ("node", pa.int64())])
MERGE_RATIO = 2  # merge the newest two segments while the newer holds at least 1/MERGE_RATIO of the older


def string_keys(values: Iterable[str]) -> np.ndarray:
    """64-bit keys of strings (xxh3); a key match is always confirmed on the string itself."""
    return np.fromiter((xxhash.xxh3_64_intdigest(v.encode()) for v in values), np.uint64)


@dataclass
class Manifest:
    run_id: str
    state_key: str
    vocabulary: str
    watermark: int  # largest document_log.seq folded in
    n_nodes: int
    totals: dict  # exact_duplicates, candidate_edges, clusters, clustered_documents of the whole corpus
    nodes: list[list] = field(default_factory=list)  # [file, n_rows] in node order
    bands: list[list] = field(default_factory=list)  # [file, n_rows], oldest first
    norms: list[list] = field(default_factory=list)
    docs: list[list] = field(default_factory=list)
    format: int = FORMAT

    def files(self) -> set[str]:
        return {name for part in (self.nodes, self.bands, self.norms, self.docs) for name, _ in part}


def _open(path: Path) -> ipc.RecordBatchFileReader:
    return ipc.open_file(pa.memory_map(str(path), "r"))


class KeyRun:
    """One sorted segment of a key index, memory-mapped."""

    def __init__(self, path: Path):
        reader = _open(path)
        self.groups = [reader.get_batch(i) for i in range(reader.num_record_batches)]
        self.keys = [b.column(0).to_numpy() for b in self.groups]  # zero copy
        self.nodes = [b.column(1).to_numpy() for b in self.groups]


def write_key_run(path: Path, groups: Iterable[tuple[np.ndarray, np.ndarray]]) -> int:
    """Write one segment: per group, ``(keys, nodes)`` sorted here by (key, node)."""
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with ipc.new_file(str(tmp), KEY_SCHEMA) as writer:
        for keys, nodes in groups:
            order = np.lexsort((nodes, keys))
            writer.write_batch(pa.record_batch([pa.array(keys[order], pa.uint64()), pa.array(nodes[order], pa.int64())],
                                               schema=KEY_SCHEMA))
            n += len(keys)
    _publish(tmp, path)
    return n


def _publish(tmp: Path, final: Path) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)


def probe(runs: list[KeyRun], group: int, keys: np.ndarray, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every stored ``(i, node)`` with ``keys[i]`` equal to a stored key of ``group``; with
    ``limit``, only the ``limit`` largest nodes of each key (over all segments). Sorted by
    ``(i, node)``."""
    found_i: list[np.ndarray] = []
    found_n: list[np.ndarray] = []
    for run in runs:
        stored = run.keys[group]
        lo = np.searchsorted(stored, keys, "left")
        hi = np.searchsorted(stored, keys, "right")
        if limit is not None:
            lo = np.maximum(lo, hi - limit)
        counts = hi - lo
        hit = np.flatnonzero(counts)
        if len(hit) == 0:
            continue
        counts = counts[hit]
        starts = np.repeat(lo[hit] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        found_i.append(np.repeat(hit, counts))
        found_n.append(run.nodes[group][starts])
    if not found_i:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    i, nodes = np.concatenate(found_i), np.concatenate(found_n)
    order = np.lexsort((nodes, i))
    i, nodes = i[order], nodes[order]
    if limit is not None and len(runs) > 1:  # keep the last `limit` of each key over all segments
        ends = np.searchsorted(i, i, "right")
        keep = np.arange(len(i)) >= ends - limit
        i, nodes = i[keep], nodes[keep]
    return i.astype(np.int64), nodes.astype(np.int64)


class NodeTable:
    """The node segments, memory-mapped; rows are taken by node number."""

    def __init__(self, directory: Path, segments: list[list], num_perm: int, dtype: np.dtype):
        self.tables = [_open(directory / name).read_all() for name, _ in segments]
        sizes = [int(n) for _, n in segments]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.num_perm = num_perm
        self.dtype = np.dtype(dtype)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def take(self, nodes: np.ndarray, columns: list[str]) -> pa.Table:
        """The rows of these nodes (in this order)."""
        nodes = np.asarray(nodes, np.int64)
        seg = np.searchsorted(self.starts, nodes, "right") - 1
        order = np.argsort(seg, kind="stable")
        parts = []
        for s in np.unique(seg):
            rows = nodes[order][seg[order] == s] - self.starts[s]
            parts.append(self.tables[s].select(columns).take(pa.array(rows, pa.int64())))
        if not parts:
            return pa.table({c: pa.array([], NODE_SCHEMA.field(c).type if c in NODE_SCHEMA.names else pa.binary())
                             for c in columns})
        merged = pa.concat_tables(parts).combine_chunks()
        back = np.empty(len(nodes), np.int64)
        back[order] = np.arange(len(nodes))
        return merged.take(pa.array(back, pa.int64()))

    def signatures(self, nodes: np.ndarray) -> np.ndarray:
        column = self.take(nodes, ["signature"]).column("signature").combine_chunks()
        return signature_matrix(column, self.num_perm, self.dtype)


def signature_matrix(column: pa.Array, num_perm: int, dtype: np.dtype) -> np.ndarray:
    """The ``(n, num_perm)`` matrix of a fixed-size binary column of little-endian hash values."""
    little = np.dtype(dtype).newbyteorder("<")
    if len(column) == 0:
        return np.empty((0, num_perm), dtype)
    width = column.type.byte_width
    raw = np.frombuffer(column.buffers()[1], np.uint8)[column.offset * width:(column.offset + len(column)) * width]
    return raw.view(little).reshape(len(column), num_perm).astype(dtype, copy=False)


def signature_column(sigs: np.ndarray) -> pa.Array:
    sigs = np.ascontiguousarray(sigs).astype(sigs.dtype.newbyteorder("<"), copy=False)
    width = sigs.shape[1] * sigs.dtype.itemsize
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(sigs), [None, pa.py_buffer(sigs.tobytes())])


def write_nodes(path: Path, batches: Iterator[pa.RecordBatch], width: int) -> int:
    schema = NODE_SCHEMA.append(pa.field("signature", pa.binary(width)))
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with ipc.new_file(str(tmp), schema) as writer:
        for batch in batches:
            writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)
            n += batch.num_rows
    _publish(tmp, path)
    return n


class DedupState:
    """The state directory of one parameter set."""

    def __init__(self, root: Path, state_key: str):
        self.state_key = state_key
        self.directory = root / STATE_DIR / _safe(state_key)

    def manifest(self) -> Manifest | None:
        path = self.directory / MANIFEST
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if data.get("format") != FORMAT or data.get("state_key") != self.state_key:
            return None
        manifest = Manifest(**data)
        if not all((self.directory / name).exists() for name in manifest.files()):
            return None
        return manifest

    def path(self, name: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / name

    def key_runs(self, manifest: Manifest, index: str) -> list[KeyRun]:
        return [KeyRun(self.directory / name) for name, _ in getattr(manifest, index)]

    def merge(self, segments: list[list], index: str, run_id: str) -> list[list]:
        """Merge the newest segments while the newer is at least 1/MERGE_RATIO of the older
        (segments of like size merge: amortised O(log n) rewrites per row)."""
        segments = [list(s) for s in segments]
        step = 0
        while len(segments) >= 2 and segments[-1][1] * MERGE_RATIO >= segments[-2][1]:
            older, newer = segments[-2], segments[-1]
            runs = [KeyRun(self.directory / older[0]), KeyRun(self.directory / newer[0])]
            name = f"{index}-{run_id}-m{step}.arrow"
            n = write_key_run(self.path(name), (
                (np.concatenate([r.keys[g] for r in runs]), np.concatenate([r.nodes[g] for r in runs]))
                for g in range(len(runs[0].keys))))
            del runs
            segments[-2:] = [[name, n]]
            step += 1
        return segments

    def publish(self, manifest: Manifest, previous: Manifest | None) -> None:
        """Replace the manifest atomically, then delete the files only the previous one named and
        this run's own that it does not name (segments merged away)."""
        path = self.path(MANIFEST)
        tmp = path.with_name(MANIFEST + ".tmp")
        tmp.write_text(json.dumps(asdict(manifest), indent=1))
        _publish(tmp, path)
        _fsync_dir(self.directory)
        keep = manifest.files()
        stale = previous.files() - keep if previous else set()
        stale |= {p.name for p in self.directory.iterdir() if f"-{manifest.run_id}" in p.name} - keep - {MANIFEST}
        for name in stale:
            (self.directory / name).unlink(missing_ok=True)

    def sweep(self, live_runs: Iterable[str]) -> None:
        """Delete files no manifest names (left by a killed run), except a live run's."""
        if not self.directory.exists():
            return
        manifest = self.manifest()
        keep = manifest.files() if manifest else set()
        live = tuple(f"-{run_id}-" for run_id in live_runs)
        for path in self.directory.iterdir():
            if path.name == MANIFEST or path.name in keep or any(tag in path.name for tag in live):
                continue
            path.unlink(missing_ok=True)


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in key)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
