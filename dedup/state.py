"""What dedup keeps between runs so that a run after k new documents costs in proportion to k.

Under ``<workspace>/index/dedup/<state_key>/`` (one directory per signature and banding parameter
set), all files written once under a new name and never changed:

* ``manifest.json``: which finished dedup run the files describe (``run_id``), the largest
  ``document_log.seq`` that run had folded in (``watermark``), the license vocabulary its
  canonical choices used, the corpus totals, and the segment files below. It is replaced
  atomically after the run's ledger commit; a manifest that does not name the workspace's last
  finished dedup run is ignored (the next run rebuilds everything from the ledger), so a run
  killed between its commit and its manifest costs time, never correctness.
* node segments (``nodes-*.arrow`` with ``doc_id``, ``text_key`` (the 64-bit key of the signed
  text's ``text_sha256``), ``norm_sha256``, ``n_shingles``, and beside
  each a ``sigs-*.npy`` matrix of the MinHash signatures): one row per document taking part, in
  node order (``node`` = position over the segments in order). Node order is the order the texts arrived in the ledger
  (``document_log.seq`` of the text's first row, then ``doc_id``), so documents added later
  always come after the ones already there.
* key indexes (``bands-*``, ``norms-*``, ``docs-*``): sorted ``(key, node)`` runs, one record
  batch per group (an LSH band; one group for the others): the band keys of the exact-duplicate
  representatives, their normalised-text keys, and every document's id key. A run appends one
  small segment to each and merges segments of similar size (a log-structured merge: each node
  is rewritten O(log n) times in all, and a probe reads O(log n) segments).

Files are uncompressed Arrow IPC and numpy ``.npy``, memory-mapped: a probe (a binary search per
key) and the signatures of a few nodes touch only the pages they need, and a signature matrix of
any size is read a slice or a set of rows at a time (:class:`SignatureFile`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import xxhash

STATE_DIR = "index/dedup"
MANIFEST = "manifest.json"
FORMAT = 3
INDEXES = ("bands", "norms", "docs")
NODE_SCHEMA = pa.schema([("doc_id", pa.string()), ("text_key", pa.uint64()), ("norm_sha256", pa.string()),
                         ("n_shingles", pa.int64())])
KEY_SCHEMA = pa.schema([("key", pa.uint64()), ("node", pa.int64())])
MERGE_RATIO = 2  # merge the newest two segments while the newer holds at least 1/MERGE_RATIO of the older


def string_keys(values: pa.Array | Iterable[str]) -> np.ndarray:
    """64-bit keys of strings (xxh3); a key match is always confirmed on the string itself.
    An Arrow array is read a slice at a time (no Python list of all its strings)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        parts = [string_keys(values.slice(lo, 65_536).to_pylist()) for lo in range(0, len(values), 65_536)]
        return np.concatenate(parts) if parts else np.empty(0, np.uint64)
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
    dead: list[int] = field(default_factory=list)  # nodes of texts replaced since the last full run
    format: int = FORMAT

    @property
    def n_documents(self) -> int:
        return self.n_nodes - len(self.dead)

    def files(self) -> set[str]:
        names = {name for part in (self.nodes, self.bands, self.norms, self.docs) for name, _ in part}
        return names | {sig_name(name) for name, _ in self.nodes}


def sig_name(node_name: str) -> str:
    """The signature matrix beside a node segment."""
    return node_name.replace("nodes-", "sigs-", 1).removesuffix(".arrow") + ".npy"


class SignatureFile:
    """An ``(n, num_perm)`` signature matrix in a ``.npy`` file that reads like an array: each
    read (a slice, a set of rows, a column range) maps the file, copies what was asked for and
    unmaps it, so resident memory holds what a step needs, not the matrix."""

    ndim = 2

    def __init__(self, path: Path):
        self.path = path
        mapped = np.load(path, mmap_mode="r")
        self.shape: tuple[int, int] = mapped.shape
        self.dtype = mapped.dtype
        del mapped

    @classmethod
    def create(cls, path: Path, n: int, num_perm: int, dtype: np.dtype) -> SignatureFile:
        mapped = np.lib.format.open_memmap(path, mode="w+", dtype=np.dtype(dtype), shape=(n, num_perm))
        mapped.flush()
        del mapped
        return cls(path)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: object) -> np.ndarray:
        mapped = np.load(self.path, mmap_mode="r")
        try:
            return np.array(mapped[key])
        finally:
            del mapped

    def write(self, rows: np.ndarray, values: np.ndarray) -> None:
        mapped = np.load(self.path, mmap_mode="r+")
        try:
            mapped[rows] = values
            mapped.flush()
        finally:
            del mapped

    def sync(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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

    def __init__(self, directory: Path, segments: list[list]):
        self.tables = [_open(directory / name).read_all() for name, _ in segments]
        self.sig_files = [SignatureFile(directory / sig_name(name)) for name, _ in segments]
        sizes = [int(n) for _, n in segments]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

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
            return pa.table({c: pa.array([], NODE_SCHEMA.field(c).type) for c in columns})
        merged = pa.concat_tables(parts).combine_chunks()
        back = np.empty(len(nodes), np.int64)
        back[order] = np.arange(len(nodes))
        return merged.take(pa.array(back, pa.int64()))

    def signatures(self, nodes: np.ndarray) -> np.ndarray:
        """The signatures of these nodes (in this order)."""
        nodes = np.asarray(nodes, np.int64)
        first = self.sig_files[0] if self.sig_files else None
        out = np.empty((len(nodes), first.shape[1] if first else 0), first.dtype if first else np.uint32)
        seg = np.searchsorted(self.starts, nodes, "right") - 1
        for s in np.unique(seg):
            at = np.flatnonzero(seg == s)
            out[at] = self.sig_files[s][nodes[at] - self.starts[s]]
        return out


def write_nodes(path: Path, batches: Iterator[pa.RecordBatch]) -> int:
    """A node segment's ``doc_id, text_key, norm_sha256, n_shingles`` (its signatures go beside it)."""
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with ipc.new_file(str(tmp), NODE_SCHEMA) as writer:
        for batch in batches:
            writer.write_batch(batch.cast(NODE_SCHEMA) if batch.schema != NODE_SCHEMA else batch)
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
        stale |= {p.name for p in self.directory.iterdir()
                  if f"-{manifest.run_id}" in p.name and p.is_file()} - keep - {MANIFEST}
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
            if path.is_dir():  # a killed run's spilled band keys
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in key)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
