"""Engines run the signature and banding stages; everything after them runs on the driver.

The signature stage is the pure tasks of :mod:`dedup.tasks` (a :class:`~dedup.tasks.SignatureTask`
per row group, :func:`~dedup.tasks.compute_task` for its signatures), so any engine that runs them,
in whatever order or place, gets the same signatures. The banding stage is the pure
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
from typing import Protocol

import numpy as np

from dedup.index import SignatureBatch
from dedup.lsh import similar_pairs
from dedup.params import DEFAULT_BATCH_SIZE, LshParams, SignatureParams
from dedup.tasks import (DedupError, EngineUnavailable, SignatureTask, compute_task,
                         default_workers, plan_tasks)

__all__ = ["DEFAULT_BATCH_SIZE", "ENGINES", "DedupError", "Engine", "EngineUnavailable", "LocalEngine",
           "SignatureTask", "compute_task", "default_workers", "make_engine", "plan_tasks"]

ENGINES = ("local", "ray")
IN_PROCESS_BATCHES = 4  # fewer texts than this many batches per worker are hashed in this process


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
        # a few batches are hashed here: starting worker processes costs seconds
        small = sum(len(t) for t in tasks) < IN_PROCESS_BATCHES * self.batch_size * self.workers
        if self.workers <= 1 or len(tasks) <= 1 or small:
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
