"""Page analysis in worker processes, with a time limit per page.

:func:`crawl.analysis.analyze` runs in spawned child processes (a parent running Twisted/asyncio is
never forked), one job at a time per worker, over a pipe. A page that takes longer than the limit
gets an analysis with ``error`` set and its worker is killed and replaced, so one pathological page
costs one worker restart, not the crawl. No threads are involved: the crawler awaits results on
its event loop (:meth:`AnalysisPool.analyze`), a synchronous caller multiplexes the pipes
(:meth:`AnalysisPool.analyze_all`). ``workers=0`` analyzes in the calling process (no time limit).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import TypeVar

from crawl.analysis import PageAnalysis, PageJob, analyze

STARTUP_TIMEOUT_S = 120.0  # importing trafilatura and lxml in a fresh worker, on a busy machine
RECYCLE_AFTER_JOBS = 5000  # bounds what lxml and trafilatura caches may hold in a worker
T = TypeVar("T")


def _serve(conn: Connection) -> None:
    """Worker process loop: receive jobs, send ``('ok', analysis)`` or ``('error', message)``."""
    import trafilatura  # noqa: F401 - imported before the first page arrives, not while it waits

    from provenance import licenses

    licenses.preload()  # the license tables, likewise
    conn.send(("ready", None))  # a page's deadline counts from here, not from the process start
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        result: tuple[str, PageAnalysis | str]
        try:
            result = ("ok", analyze(job))
        except Exception as exc:  # noqa: BLE001 - reported as the page's error, the worker lives on
            result = ("error", f"{type(exc).__name__}: {exc}"[:500])
        conn.send(result)


def _in_process(job: PageJob) -> PageAnalysis:
    try:
        return analyze(job)
    except Exception as exc:  # noqa: BLE001 - the page's error, as in a worker
        return PageAnalysis(error=f"extraction failed: {type(exc).__name__}: {exc}"[:500])


class _Worker:
    def __init__(self, ctx: multiprocessing.context.BaseContext):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True,  # type: ignore[attr-defined]
                                name="provenance-analysis")
        self.proc.start()
        child.close()
        self.jobs = 0
        self.deadline = 0.0
        self.ready = False

    def _wait_ready(self) -> None:
        """Block until the worker has imported its libraries (once), so start-up time never counts
        against a page's deadline. A worker that dies while starting is seen by ``receive``."""
        if self.ready:
            return
        self.ready = True
        try:
            if self.conn.poll(STARTUP_TIMEOUT_S):
                self.conn.recv()
        except (EOFError, OSError):
            pass

    def send(self, job: PageJob, timeout_s: float) -> None:
        self._wait_ready()
        self.jobs += 1
        self.deadline = time.monotonic() + timeout_s
        self.conn.send(job)

    def receive(self) -> PageAnalysis:
        try:
            kind, payload = self.conn.recv()
        except (EOFError, OSError) as exc:  # the worker died (out of memory, killed)
            return PageAnalysis(error=f"extraction worker died: {type(exc).__name__}: {exc}")
        if kind == "error":
            return PageAnalysis(error=f"extraction failed: {payload}")
        return payload

    def peak_rss_kb(self) -> int | None:
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.kill()
        self.conn.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


class AnalysisPool:
    """``workers`` analysis processes."""

    def __init__(self, workers: int, timeout_s: float):
        self.workers = max(0, int(workers))
        self.timeout_s = float(timeout_s)
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: deque[_Worker] = deque(_Worker(self._ctx) for _ in range(self.workers))
        self._waiters: deque[asyncio.Future] = deque()
        self._peak_rss_kb = 0
        self.timeouts = 0

    # --- workers ----------------------------------------------------------------------------------

    def _note_rss(self, worker: _Worker) -> None:
        self._peak_rss_kb = max(self._peak_rss_kb, worker.peak_rss_kb() or 0)

    def _release(self, worker: _Worker, *, broken: bool) -> None:
        """Return a worker after a job; a broken or worn one is replaced by a fresh process."""
        if broken or worker.jobs % 500 == 0:
            self._note_rss(worker)
        if broken or not worker.proc.is_alive():
            worker.kill()
            worker = _Worker(self._ctx)
        elif worker.jobs >= RECYCLE_AFTER_JOBS:
            worker.stop()
            worker = _Worker(self._ctx)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _timed_out(self) -> PageAnalysis:
        self.timeouts += 1
        return PageAnalysis(error=f"extraction took longer than {self.timeout_s:g} s and was stopped")

    # --- on an asyncio event loop (the crawler) -------------------------------------------------

    async def analyze(self, job: PageJob) -> PageAnalysis:
        if self.workers == 0:
            return _in_process(job)
        loop = asyncio.get_running_loop()
        if self._idle:
            worker = self._idle.popleft()
        else:
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                worker = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._release(waiter.result(), broken=False)
                raise
        ready = loop.create_future()
        fd = worker.conn.fileno()
        broken = True
        try:
            worker.send(job, self.timeout_s)
            loop.add_reader(fd, lambda: None if ready.done() else ready.set_result(None))
            try:
                await asyncio.wait_for(ready, self.timeout_s)
            except TimeoutError:
                return self._timed_out()
            finally:
                loop.remove_reader(fd)
            result = worker.receive()
            broken = False
            return result
        finally:
            self._release(worker, broken=broken)

    # --- synchronously (the WARC importer) ------------------------------------------------------

    def analyze_all(self, items: Iterable[tuple[T, PageJob]]) -> Iterator[tuple[T, PageAnalysis]]:
        """Analyze every ``(key, job)``; yields ``(key, analysis)`` as they complete."""
        if self.workers == 0:
            for key, job in items:
                yield key, _in_process(job)
            return
        while len(self._idle) < self.workers:  # workers abandoned by an earlier call
            self._idle.append(_Worker(self._ctx))
        pending = iter(items)
        busy: dict[Connection, tuple[_Worker, T]] = {}
        try:
            yield from self._run_all(pending, busy)
        finally:  # stopped early (an error reading the input): the jobs in flight are abandoned
            for worker, _ in busy.values():
                worker.kill()

    def _run_all(self, pending: Iterator[tuple[T, PageJob]],
                 busy: dict[Connection, tuple[_Worker, T]]) -> Iterator[tuple[T, PageAnalysis]]:
        exhausted = False
        while True:
            while self._idle and not exhausted:
                try:
                    key, job = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                worker = self._idle.popleft()
                worker.send(job, self.timeout_s)
                busy[worker.conn] = (worker, key)
            if not busy:
                return
            timeout = max(0.0, min(w.deadline for w, _ in busy.values()) - time.monotonic())
            ready = wait(list(busy), timeout=timeout)
            for conn in ready:
                worker, key = busy.pop(conn)  # type: ignore[call-overload]
                result = worker.receive()
                self._release(worker, broken=result.error is not None and "worker died" in result.error)
                yield key, result
            now = time.monotonic()
            for conn in [c for c, (w, _) in busy.items() if w.deadline <= now and c not in ready]:
                worker, key = busy.pop(conn)
                self._release(worker, broken=True)
                yield key, self._timed_out()

    # --- closing --------------------------------------------------------------------------------

    def peak_rss_kb(self) -> int:
        """The largest peak resident memory of any worker so far (kB)."""
        for worker in self._idle:
            self._note_rss(worker)
        return self._peak_rss_kb

    def close(self) -> None:
        while self._idle:
            worker = self._idle.popleft()
            self._note_rss(worker)
            worker.stop()

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
