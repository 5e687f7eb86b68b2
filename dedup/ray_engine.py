"""``--engine ray``: the signature and banding stages as Ray tasks, on one machine or a cluster.

The tasks are the pure functions the local engine runs: :func:`dedup.engine.compute_task` per row
group of a Parquet shard, :func:`dedup.lsh.band_group_codes` per group of LSH bands and
:func:`dedup.lsh.pair_similarity` per chunk of candidate pairs. The driver (the ``provenance
dedup`` process) plans the tasks, writes each signature batch to the index as it arrives, and runs
the union-find, the canonical choice and the ledger writes itself, so results are identical to
``--engine local``.

Without an address a local Ray is started for the run (``--workers`` CPUs, no dashboard, worker
logs kept out of the terminal) and shut down after it. With ``--ray-address HOST:PORT`` the run
connects to an existing cluster and uses all of its CPUs. Workers open shards by the absolute
path the driver sees, so every node must see the workspace at the same path (the same machine,
or shared storage mounted at the same place), and must have the same version of this package
installed. Ray is imported only here, only when this engine is asked for.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Sequence
from types import ModuleType

import numpy as np

from dedup.tasks import DedupError, EngineUnavailable, SignatureTask, compute_task, default_workers
from dedup.index import SignatureBatch
from dedup.lsh import band_group_codes, pair_similarity, pairs_from_codes, verified
from dedup.params import DEFAULT_BATCH_SIZE, LshParams, SignatureParams
from provenance.version import install_hint

PAIRS_PER_TASK = 1 << 20  # candidate pairs verified per task (bounds each task's memory)
CONNECT_TIMEOUT_S = 10.0
INSTALL = install_hint("distributed")


def import_ray() -> ModuleType:
    """Ray, or an error that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise EngineUnavailable(
            f"--engine ray needs Ray, which is not installed here: {INSTALL} "
            f"(or use --engine local, the default, which runs one worker process per core)"
        ) from exc
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast when nothing listens at a ``HOST:PORT`` (or ``ray://HOST:PORT``) address.

    Ray itself retries an unreachable address for minutes; ``auto`` and other forms are left to it.
    """
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise DedupError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}): check the address (`ray status` "
            f"on the head node shows it; the default port is 6379), or omit --ray-address to start a local Ray"
        ) from exc


class RayEngine:
    """Signature and banding tasks on Ray; see the module docstring."""

    name = "ray"

    def __init__(self, workers: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 address: str | None = None):
        self._ray = import_ray()
        self.address = address
        self.workers = workers or default_workers()
        self.batch_size = batch_size
        self._owns_ray = False

    # --- connection ----------------------------------------------------------------------------

    def __enter__(self) -> RayEngine:
        ray = self._ray
        if ray.is_initialized():
            pass  # this process is already connected (a notebook, a test, a driver script): use it
        elif self.address:
            check_reachable(self.address)
            try:
                ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError) as exc:
                raise DedupError(f"could not connect to the Ray cluster at {self.address}: {exc}") from exc
        else:
            # a private local instance: Ray's default token auth, no usage statistics, no dashboard,
            # worker logs kept out of the terminal, only errors logged
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(address="local", num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
            self._owns_ray = True
        if not self._owns_ray:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._compute = ray.remote(num_cpus=1)(compute_task)
        self._band_codes = ray.remote(num_cpus=1)(band_group_codes)
        self._similarity = ray.remote(num_cpus=1)(pair_similarity)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owns_ray:
            self._ray.shutdown()
            self._owns_ray = False

    # --- stages --------------------------------------------------------------------------------

    def signatures(self, tasks: Sequence[SignatureTask], params: SignatureParams) -> Iterator[SignatureBatch]:
        """One batch per task, in completion order; at most two tasks per CPU in flight."""
        ray = self._ray
        pending = list(reversed(tasks))
        running: dict = {}
        try:
            while pending or running:
                while pending and len(running) < 2 * self.workers:
                    task = pending.pop()
                    running[self._compute.remote(task, params, self.batch_size)] = task
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    yield self._result(ref, running.pop(ref))
        finally:
            for ref in running:
                ray.cancel(ref, force=True)

    def _result(self, ref: object, task: SignatureTask) -> SignatureBatch:
        try:
            return self._ray.get(ref)
        except FileNotFoundError as exc:  # Ray re-raises a task's error as an instance of its cause
            raise DedupError(
                f"a Ray worker could not open the shard {task.shard}: every node must see the workspace at "
                f"the same absolute path as this process (run on the same machine, or mount shared storage "
                f"at that path)"
            ) from exc

    def similar_pairs(self, sigs: np.ndarray, lsh: LshParams, max_bucket: int,
                      subset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs per group of bands, verified per chunk of pairs, all as Ray tasks
        (pairs index into ``subset`` when given, as the local engine's)."""
        ray = self._ray
        if subset is not None:
            sigs = sigs[subset]
        n = len(sigs)
        if n < 2:
            return np.empty((0, 2), np.int64), np.empty(0, np.float64)
        shared = ray.put(sigs)  # one copy in the object store, read in place by every task
        groups = [g for g in np.array_split(np.arange(lsh.bands), min(lsh.bands, self.workers)) if len(g)]
        codes = ray.get([self._band_codes.remote(shared, lsh.rows, int(g[0]), int(g[-1]) + 1, max_bucket)
                         for g in groups])
        pairs = pairs_from_codes(np.unique(np.concatenate(codes)), n)
        if len(pairs) == 0:
            return pairs, np.empty(0, np.float64)
        n_chunks = max(self.workers, -(-len(pairs) // PAIRS_PER_TASK))
        chunks = [c for c in np.array_split(pairs, n_chunks) if len(c)]
        sims = np.concatenate(ray.get([self._similarity.remote(shared, c) for c in chunks]))
        del shared
        return verified(pairs, sims, lsh.threshold)
