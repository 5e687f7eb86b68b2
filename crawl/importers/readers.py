"""Reader processes of a WARC import: each reads and analyses whole files, the importing process stores.

A reader gets one input at a time (a local file, or a URL it downloads first through the guarded
network layer, see :mod:`crawl.importers.sources`), reads it with :func:`crawl.importers.warc.read_warc`
and sends back its chunks in order, then a last message: ``done`` or ``failed`` with the reason.
Readers never touch the ledger; the importing process builds and stores the documents, so how
many readers there are changes how fast a run goes, never what it stores.

Two engines give the same messages: ``local`` (``--workers N`` spawned processes on this machine,
a bounded queue back) and ``ray`` (one Ray streaming-generator task per file, on a local Ray
started for the run or the cluster at ``--ray-address``; every node must see local input files
at the same absolute path). Ray is imported only when that engine is asked for.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from crawl.importers.sources import Source, SourceOptions, is_url, open_source
from crawl.importers.warc import WarcChunk, read_warc
from provenance.errors import InputError
from provenance.version import install_hint

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")
QUEUE_CHUNKS = 4  # chunks waiting per reader (bounds the importing process's memory)
POLL_S = 1.0
INSTALL = install_hint("distributed")


@dataclass(frozen=True, slots=True)
class Failed:
    """The last message of an input that could not be read: why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Done:
    """The last message of an input read whole; ``sha256`` and ``n_bytes`` of the file read."""

    sha256: str
    n_bytes: int


Message = WarcChunk | Failed | Done


def read_source(source: Source, options: SourceOptions) -> Iterator[Message]:
    """Every message of one input, in order (the work of one reader; no ledger involved)."""
    try:
        with open_source(source, options) as local:
            yield from read_warc(local.path, options.read)
            yield Done(local.sha256() if is_url(source) or options.hash_local else "", local.n_bytes)
    except InputError as exc:
        yield Failed(str(exc))


def default_workers(n_inputs: int) -> int:
    """One reader per core, at most one per input."""
    return max(1, min(os.cpu_count() or 1, n_inputs))


# --- local processes ---------------------------------------------------------------------------

def _serve(tasks: Any, results: Any, options: SourceOptions) -> None:
    """A reader process: read inputs until told to stop."""
    from provenance import licenses

    licenses.preload()
    while True:
        task = tasks.get()
        if task is None:
            return
        number, source = task
        results.put((number, os.getpid(), None))
        for message in read_source(source, options):
            results.put((number, os.getpid(), message))


class LocalReaders:
    """``workers`` spawned reader processes (see the module docstring)."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)

    def messages(self, sources: Sequence[Source], options: SourceOptions) -> Iterator[tuple[int, Message]]:
        """``(input number, message)`` as they come, every input ending with Done or Failed."""
        if not sources:
            return
        ctx = multiprocessing.get_context("spawn")
        tasks = ctx.Queue()
        results = ctx.Queue(maxsize=QUEUE_CHUNKS * self.workers)
        for task in enumerate(sources):
            tasks.put(task)
        n_procs = min(self.workers, len(sources))

        def start() -> multiprocessing.process.BaseProcess:
            proc = ctx.Process(target=_serve, args=(tasks, results, options), daemon=True,
                               name="provenance-import-reader")
            proc.start()
            tasks.put(None)  # one stop mark per process started
            return proc

        procs = [start() for _ in range(n_procs)]
        held: dict[int, int] = {}  # pid -> the input it reads
        ended: set[int] = set()
        try:
            while len(ended) < len(sources):
                try:
                    number, pid, message = results.get(timeout=POLL_S)
                except queue.Empty:
                    for i, proc in enumerate(procs):
                        if proc.exitcode is None or proc.exitcode == 0:
                            continue
                        lost = held.pop(proc.pid or -1, None)
                        procs[i] = start()
                        if lost is not None and lost not in ended:
                            ended.add(lost)
                            yield lost, Failed(f"the reader process stopped (exit code {proc.exitcode}) "
                                               f"while reading it; import it again")
                    continue
                if message is None:
                    held[pid] = number
                    continue
                if isinstance(message, (Done, Failed)):
                    ended.add(number)
                    held.pop(pid, None)
                yield number, message
        finally:
            for proc in procs:
                if proc.is_alive():
                    proc.kill()
                proc.join(timeout=5)
            tasks.close()
            results.close()


# --- Ray ---------------------------------------------------------------------------------------

def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as exc:
        raise InputError(f"--engine ray needs Ray, which is not installed here: {INSTALL} "
                         f"(or use --engine local, the default)") from exc
    return ray


class RayReaders:
    """One Ray streaming-generator task per input (see the module docstring)."""

    def __init__(self, workers: int | None = None, address: str | None = None):
        self._ray = import_ray()
        self.workers = workers
        self.address = address

    def messages(self, sources: Sequence[Source], options: SourceOptions) -> Iterator[tuple[int, Message]]:
        ray = self._ray
        owns = False
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            if self.address:
                try:
                    ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING)
                except (ConnectionError, RuntimeError) as exc:
                    raise InputError(f"could not connect to the Ray cluster at {self.address}: {exc}") from exc
            else:
                ray.init(address="local", num_cpus=self.workers or default_workers(len(sources)),
                         include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
            owns = True
        try:
            task = ray.remote(num_cpus=1)(read_source).options(_generator_backpressure_num_objects=QUEUE_CHUNKS)
            waiting = iter(enumerate(sources))
            in_flight = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))  # not all of a long listing at once
            running: dict[Any, int] = {}
            while True:
                while len(running) < in_flight:
                    number, source = next(waiting, (-1, ""))
                    if number < 0:
                        break
                    running[task.remote(source, options)] = number
                if not running:
                    break
                ready, _ = ray.wait(list(running), num_returns=1)
                generator = ready[0]
                number = running[generator]
                try:
                    ref = next(generator)
                except StopIteration:
                    del running[generator]
                    continue
                try:
                    message = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    del running[generator]
                    message = Failed(f"the Ray task reading it failed: {str(exc).splitlines()[0]}")
                yield number, message
        finally:
            if owns:
                ray.shutdown()


def make_readers(engine: str, workers: int | None, n_inputs: int, ray_address: str | None = None
                 ) -> LocalReaders | RayReaders:
    if engine == "ray":
        return RayReaders(workers, ray_address)
    if engine != "local":
        raise InputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    return LocalReaders(workers or default_workers(n_inputs))


__all__ = ["Done", "Failed", "LocalReaders", "Message", "RayReaders", "make_readers", "read_source"]
