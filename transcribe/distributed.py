"""``transcribe --engine ray``: the work on Ray actors; the plan and every ledger write on the driver.

* One actor per GPU (``num_gpus=1`` each) when the cluster has GPUs and the device is ``auto`` or
  ``cuda``; else one actor per CPU worker, each with ``--cpu-threads`` CPUs (default: 4, or all
  CPUs when there are fewer), ``--workers`` of them (default: the cluster's CPUs / threads).
* Each actor (:class:`transcribe.worker.TranscribeWorker`) loads the model once, reports the
  sha256 of the weights it loaded (every actor must have the same), then fetches, decodes and
  transcribes the files the driver sends it, two in flight per actor so decoding overlaps the
  model. Only small results (an :class:`~transcribe.work.Attempt`: transcript and statistics,
  no audio) come back.
* The driver (:class:`transcribe.pipeline.Run`) plans the work (sources, what is done), takes the
  results in input order, decides duplicates, and does all ledger writes: the ledger has one writer.

Workers must see the inputs: local files at the same path on every node (a shared file system),
URLs over the network, and the model directory at the same path. With ``--ray-address`` the run
joins an existing cluster; without it a local Ray is started for the run and stopped after it.
Ray is imported only here, and only when this engine is asked for.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provenance.errors import ProvenanceError
from transcribe.model import ModelError, ModelSpec, Runtime, runtime_with_defaults
from provenance.version import install_hint
from transcribe.pipeline import Settings, TranscribeError
from transcribe.rows import ModelInfo
from transcribe.sources import MediaItem
from transcribe.work import Attempt, skip_state
from transcribe.worker import TranscribeWorker, WorkerInfo

INSTALL_HINT = install_hint("distributed")
DEFAULT_THREADS_PER_WORKER = 4
IN_FLIGHT_PER_WORKER = 2  # one transcribing, one being fetched and decoded
RESULTS_AHEAD_PER_WORKER = 16  # how far results may run ahead of the oldest file still in work
READY_TIMEOUT_S = 600.0  # for the cluster to place the actors and each to load its model


class RayUnavailableError(ProvenanceError):
    """``--engine ray`` without Ray installed, or a cluster that cannot be reached."""


class ClusterTooSmallError(ProvenanceError):
    """What the run asks for (workers, threads, GPUs) does not fit the Ray cluster."""


def import_ray() -> Any:
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailableError(
            f"--engine ray needs Ray, which is not installed in this environment ({exc}). Install the "
            f"distributed extra: {INSTALL_HINT}; or use --engine local."
        ) from exc
    return ray


def local_cpus(workers: int | None, cpu_threads: int) -> int:
    """The CPUs of a local Ray started for the run: this machine's, or more when asked for."""
    cpus = os.cpu_count() or 1
    if workers and cpu_threads:
        cpus = max(cpus, workers * cpu_threads)
    return cpus


class RayCluster:
    """A connection to Ray: the cluster at ``address``, the Ray this process already runs (then it
    is left running), or a local Ray started here and stopped by :meth:`close`."""

    def __init__(self, ray: Any, *, owned: bool, label: str, address: str | None = None):
        self.ray = ray
        self.owned = owned
        self.label = label  # where the work runs, in words
        self.address = address

    @classmethod
    def connect(cls, address: str | None, *, num_cpus: int) -> RayCluster:
        ray = import_ray()
        if ray.is_initialized():
            return cls(ray, owned=False, label="the Ray already running in this process")
        quiet = dict(log_to_driver=False, logging_level=logging.WARNING)
        if address:
            try:
                ray.init(address=address, **quiet)
            except ConnectionError as exc:
                reason = str(exc).rstrip(". ")
                raise RayUnavailableError(
                    f"cannot connect to the Ray cluster at {address}: {reason}. Check the address (`ray status` "
                    f"on the head node prints it), or leave --ray-address out to start a local Ray."
                ) from exc
            return cls(ray, owned=True, label=f"the Ray cluster at {address}", address=address)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report from a local run
        ray.init(num_cpus=num_cpus, include_dashboard=False, **quiet)
        return cls(ray, owned=True, label=f"a local Ray ({num_cpus} CPUs)")

    def resources(self) -> tuple[float, float]:
        """(CPUs, GPUs) of the cluster."""
        total = self.ray.cluster_resources()
        return float(total.get("CPU", 0.0)), float(total.get("GPU", 0.0))

    def close(self) -> None:
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()

    def __enter__(self) -> RayCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    """How many actors, what each one asks Ray for, and the runtime of their models."""

    workers: int
    cpus_per_worker: float
    gpus_per_worker: float
    runtime: Runtime

    def describe(self) -> str:
        each = (f"1 GPU each ({self.runtime.device}, {self.runtime.compute_type})" if self.gpus_per_worker
                else f"{self.runtime.cpu_threads} CPU thread{'s' if self.runtime.cpu_threads != 1 else ''} each "
                     f"({self.runtime.compute_type})")
        return f"{self.workers} Ray worker{'s' if self.workers != 1 else ''}, {each}"


def plan_workers(cpus: float, gpus: float, *, device: str, compute_type: str | None, batch_size: int | None,
                 cpu_threads: int, workers: int | None) -> WorkerPlan:
    """One actor per GPU, or per CPU worker; raises when the cluster cannot hold what is asked."""
    if device not in ("auto", "cpu", "cuda"):
        raise ModelError(f"--device must be auto, cpu or cuda; got {device!r}")
    n_gpus = int(gpus)
    if device == "cuda" and n_gpus == 0:
        raise ModelError("--device cuda, but the Ray cluster has no GPU (`ray status` lists its resources); "
                         "use --device cpu or a cluster with GPUs.")
    if device == "cuda" or (device == "auto" and n_gpus > 0):
        n = workers or n_gpus
        if n > n_gpus:
            raise ClusterTooSmallError(f"--workers {n}, but the Ray cluster has {n_gpus} GPUs: one worker per GPU.")
        if cpus < n:
            raise ClusterTooSmallError(f"{n} GPU workers need a CPU each for decoding; the Ray cluster has {cpus:g}.")
        runtime = runtime_with_defaults("cuda", compute_type, batch_size, cpu_threads)
        return WorkerPlan(n, 1.0, 1.0, runtime)
    n_cpus = int(cpus)
    if n_cpus < 1:
        raise ClusterTooSmallError("the Ray cluster has no CPU to run workers on (`ray status` lists its resources).")
    if workers:
        threads = cpu_threads or max(1, n_cpus // workers)
        if workers * threads > n_cpus:
            raise ClusterTooSmallError(f"--workers {workers} with {threads} CPU threads each need "
                                       f"{workers * threads} CPUs; the Ray cluster has {n_cpus}. "
                                       f"Ask for fewer workers or threads.")
        n = workers
    else:
        threads = cpu_threads or min(DEFAULT_THREADS_PER_WORKER, n_cpus)
        if threads > n_cpus:
            raise ClusterTooSmallError(f"--cpu-threads {threads}, but the Ray cluster has {n_cpus} CPUs.")
        n = max(1, n_cpus // threads)
    runtime = runtime_with_defaults("cpu", compute_type, batch_size, threads)
    return WorkerPlan(n, float(threads), 0.0, runtime)


class RayEngine:
    """Runs a transcribe run's work on Ray actors (see the module's docstring)."""

    def __init__(self, cluster: RayCluster, plan: WorkerPlan, spec: ModelSpec, settings: Settings):
        self.cluster = cluster
        self.plan = plan
        self.spec = spec
        self.settings = settings
        self.model: ModelInfo | None = None
        self.config: dict[str, Any] = {"engine": "ray", "ray": cluster.label, "ray_address": cluster.address,
                                       "workers": plan.workers, "cpus_per_worker": plan.cpus_per_worker,
                                       "gpus_per_worker": plan.gpus_per_worker}
        self._actors: list[Any] = []

    # --- actors ----------------------------------------------------------------------------

    def _start(self, status: Mapping[str, str]) -> list[Any]:
        """Place the actors, wait until every one has loaded its model, check the weights."""
        ray = self.cluster.ray
        actor_class = ray.remote(TranscribeWorker).options(
            num_cpus=self.plan.cpus_per_worker, num_gpus=self.plan.gpus_per_worker,
            max_concurrency=IN_FLIGHT_PER_WORKER, max_restarts=0)
        # the ledger states that make a local file a skip (URLs were decided by the plan)
        skips = ray.put({d: s for d, s in status.items() if skip_state(s, self.settings)})
        self._actors = [actor_class.remote(self.spec, self.plan.runtime, self.settings, skips)
                        for _ in range(self.plan.workers)]
        try:
            infos: list[WorkerInfo] = ray.get([a.ready.remote() for a in self._actors], timeout=READY_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError as exc:
            raise TranscribeError(
                f"the Ray cluster did not start {self.plan.describe()} within {READY_TIMEOUT_S:.0f} s: "
                f"not enough free resources? (`ray status` shows them) Ask for fewer with --workers.") from exc
        except ray.exceptions.RayActorError as exc:
            raise TranscribeError(
                f"a Ray worker could not start ({' '.join(str(exc).split())[:500]}). Every node needs provenance "
                f"installed in the same Python environment as this driver ({INSTALL_HINT} there).") from exc
        errors = [i.error for i in infos if i.error]
        if errors:
            raise ModelError(f"a Ray worker could not load the model {errors[0]}"
                             + (f" ({len(errors) - 1} more workers failed too)" if len(errors) > 1 else ""))
        checksums = {i.weights_sha256 for i in infos}
        if len(checksums) != 1:
            by_host = ", ".join(f"{i.host}: {i.weights_sha256}" for i in infos)
            raise TranscribeError(f"the Ray workers loaded different weights for {self.spec.path} ({by_host}); "
                                  f"every node must have the same model files.")
        self.model = ModelInfo(self.spec, self.plan.runtime, checksums.pop() or "")
        return self._actors

    def _result(self, ref: Any, item: MediaItem) -> Attempt:
        ray = self.cluster.ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            raise TranscribeError(
                f"a Ray worker died while transcribing {item.media_url} ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:300]}). Finished files are kept: run again; if it happens "
                f"again, check the worker's memory and logs (`ray logs`).") from exc

    # --- the work --------------------------------------------------------------------------

    def attempts(self, todo: Sequence[MediaItem], status: Mapping[str, str]) -> Generator[Attempt, None, None]:
        """Attempts in input order; each file goes to the actor with the least work in flight."""
        if not todo:
            return
        ray = self.cluster.ray
        actors = self._start(status)
        load = [0] * len(actors)
        pending: dict[Any, tuple[int, int]] = {}  # ref -> (index in todo, actor)
        finished: dict[int, Attempt] = {}
        window = RESULTS_AHEAD_PER_WORKER * len(actors)
        sent = given = 0
        while given < len(todo):
            while sent < len(todo) and sent - given < window:
                actor = min(range(len(actors)), key=load.__getitem__)
                if load[actor] >= IN_FLIGHT_PER_WORKER:
                    break
                pending[actors[actor].attempt.remote(todo[sent])] = (sent, actor)
                load[actor] += 1
                sent += 1
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                index, actor = pending.pop(ref)
                load[actor] -= 1
                finished[index] = self._result(ref, todo[index])
            while given in finished:
                yield finished.pop(given)
                given += 1

    def close(self) -> None:
        """Remove the actors' temporary files and stop them (their resources go back to the cluster)."""
        ray = self.cluster.ray
        actors, self._actors = self._actors, []
        if not actors:
            return
        try:
            ray.get([a.close.remote() for a in actors], timeout=60)
        except ray.exceptions.RayError:
            pass  # a dead actor has nothing left to clean up; one that hangs is killed below
        for actor in actors:
            ray.kill(actor)
