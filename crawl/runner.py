"""Running a crawl: ``run_crawl(workspace, seeds, settings) -> CrawlSummary``.

The crawl runs in a child process (``python -m crawl.runner REQUEST.json``): Twisted's reactor
cannot be restarted in one process, so a process that crawls twice (the demo, the tests, a
notebook) must not host it. The child records a run in the ledger, writes its rows in short
batches, keeps its resumable state under ``<workspace>/runs/crawl/<key>/`` and leaves a
``summary.json`` there, which the parent reads back.

Ctrl-C reaches both processes: the child stops gracefully (Scrapy finishes what is in flight and
saves its queue), the parent waits for it; ``--resume`` continues. A second Ctrl-C forces the stop.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawl.config import CrawlSettings
from crawl.seeds import crawl_key, parse_seeds
from crawl.state import CrawlState, state_dir
from provenance.errors import InputError, ProvenanceError
from provenance.workspace import Workspace

if TYPE_CHECKING:
    from provenance.stage import StageRun


@dataclass(frozen=True, slots=True)
class CrawlSummary:
    """What a crawl did (the child's ``summary.json``)."""

    run_id: str | None
    status: str  # 'finished' | 'stopped' | 'failed'
    reason: str | None
    pages: int  # HTTP responses received
    documents: int  # pages stored as documents (new, changed or unchanged)
    documents_new: int  # documents new or changed in the ledger
    skipped: int
    errors: int
    not_text: int
    elapsed_s: float  # the crawl process, start-up included
    crawl_s: float  # Scrapy's own elapsed time (spider opened to closed)
    pages_per_s: float  # pages / crawl_s
    cpu_s: float  # CPU time of the crawl process
    workers_cpu_s: float  # CPU time of its extraction workers
    peak_rss_mb: float  # the crawl process
    analysis_peak_rss_mb: float  # the largest extraction worker
    budget_reached: bool
    state_dir: str
    log_file: str
    invalid_seeds: tuple[str, ...] = ()

    def line(self) -> str:
        budget = " (--max-pages reached)" if self.budget_reached else ""
        return (f"crawl {self.run_id} {self.status}{budget}: {self.pages} pages in {self.elapsed_s:.1f} s "
                f"({self.pages_per_s:.1f} pages/s); {self.documents} documents "
                f"({self.documents_new} new or changed), {self.skipped} skipped, {self.not_text} not text, "
                f"{self.errors} errors; peak memory {self.peak_rss_mb:.0f} MB "
                f"(+{self.analysis_peak_rss_mb:.0f} MB per extraction worker)")


def demo_settings() -> CrawlSettings:
    """Settings for crawling a site served on this machine (the bundled demo site): no delay."""
    return CrawlSettings(delay=0.0, autothrottle=False, max_pages=200, concurrency_per_domain=4, workers=1)


def _settings(settings: CrawlSettings | Mapping[str, Any] | None) -> CrawlSettings:
    if isinstance(settings, CrawlSettings):
        return settings
    return CrawlSettings.from_dict(dict(settings or {}))


def run_crawl(
    workspace: Workspace | str | os.PathLike,
    seeds: Sequence[str],
    settings: CrawlSettings | Mapping[str, Any] | None = None,
    *,
    seeds_file: Path | None = None,
    resume: bool = False,
    timeout_s: float | None = None,
) -> CrawlSummary:
    """Crawl from ``seeds`` (and ``seeds_file``) into ``workspace``, in a child process.

    Invalid seed lines are reported (``CrawlSummary.invalid_seeds``, and rows in ``fetches``) and
    skipped; no valid seed at all raises InputError.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    cfg = _settings(settings)
    valid, invalid = parse_seeds(seeds, seeds_file)
    if not valid:
        problems = "; ".join(i.message() for i in invalid[:5]) or "none given"
        raise InputError(f"no valid seed URL to crawl ({problems}). Give http(s) URLs as arguments "
                         f"or one per line with --seeds FILE.")
    key = crawl_key(valid)
    root = state_dir(ws, key)
    ws.create()
    root.parent.mkdir(parents=True, exist_ok=True)
    request = {
        "workspace": str(ws.root), "key": key, "state_dir": str(root), "resume": resume,
        "seeds": [s.url for s in valid],
        "invalid_seeds": [{"text": i.text, "where": i.where, "reason": i.reason} for i in invalid],
        "settings": cfg.to_dict(),
    }
    request_path = root.parent / f"{key}.request.json"
    request_path.write_text(json.dumps(request, indent=1), encoding="utf-8")
    summary_path = root / "summary.json"
    summary_path.unlink(missing_ok=True)
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.Popen([sys.executable, "-m", "crawl.runner", str(request_path)], env=env)
    code = _wait(proc, timeout_s)
    error_file = root.parent / f"{key}.error.txt"
    if code == 3 and error_file.exists():
        message = error_file.read_text(encoding="utf-8").strip()
        error_file.unlink()
        raise InputError(message)
    try:
        data = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log = root / "crawl.log"
        raise ProvenanceError(f"the crawl process ended (exit status {code}) without a summary; "
                              f"see {log} for what happened") from None
    data["invalid_seeds"] = tuple(i.message() for i in invalid)
    return CrawlSummary(**data)


def _wait(proc: subprocess.Popen, timeout_s: float | None) -> int:
    deadline = time.monotonic() + timeout_s if timeout_s else None
    interrupted = False
    while True:
        try:
            remaining = None if deadline is None else max(0.1, deadline - time.monotonic())
            return proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            if interrupted:
                proc.kill()
                return proc.wait()
            proc.send_signal(signal.SIGINT)  # past the time limit: stop gracefully
            interrupted = True
            deadline = time.monotonic() + 60
        except KeyboardInterrupt:  # the child got the same Ctrl-C and is stopping gracefully
            if interrupted:
                proc.send_signal(signal.SIGINT)
            interrupted = True


# --- the child process --------------------------------------------------------------------------

def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def child_main(request_path: Path) -> int:
    """Run one crawl described by a request file (see :func:`run_crawl`)."""
    request = json.loads(request_path.read_text(encoding="utf-8"))
    try:
        return _crawl(request)
    except ProvenanceError as exc:  # told to the user by the parent, as one message
        (request_path.parent / f"{request['key']}.error.txt").write_text(str(exc), encoding="utf-8")
        return 3


def _crawl(request: dict) -> int:
    from provenance.ledger import Ledger
    from provenance.stage import mark_interrupted, open_run

    ws = Workspace(Path(request["workspace"]))
    cfg = CrawlSettings.from_dict(request["settings"])
    state, mode = CrawlState.prepare(Path(request["state_dir"]), resume=request["resume"], seeds=request["seeds"])
    previous = state.status()
    ledger = Ledger(ws)
    if mode == "recover" and previous.get("run_id") and previous.get("status") == "running":
        mark_interrupted(ledger, previous["run_id"], "crawl", "killed")
    config = {"seeds": request["seeds"], "settings": cfg.to_dict(), "resume": request["resume"], "mode": mode,
              "state_dir": str(state.root.relative_to(ws.root))}
    with open_run(ledger, "crawl", config) as run:
        summary = _crawl_run(run, ws, cfg, state, mode, previous, request)
    tmp = state.root / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    os.replace(tmp, state.summary_file)
    return 0 if summary["status"] != "failed" else 1


def _crawl_run(run: StageRun, ws: Workspace, cfg: CrawlSettings, state: CrawlState, mode: str, previous: dict,
               request: dict) -> dict:
    """The crawl itself, in this process's one Scrapy reactor; returns its summary."""
    from scrapy.crawler import CrawlerProcess

    from crawl.config import ROBOTS_TOKEN, scrapy_settings
    from crawl.scope import host_of
    from crawl.spiders import ProvenanceSpider
    from provenance.net.addresses import parse_address

    state.write_status(status="running", clean=False, pid=os.getpid(), run_id=run.run_id, mode=mode,
                       runs=[*previous.get("runs", []), run.run_id])
    # A seed that *is* an address (http://127.0.0.1:8000/) is the user naming it: that host's
    # private address is allowed. A host name never is (its DNS may answer differently later).
    trusted = sorted({h for h in (host_of(u) for u in request["seeds"]) if parse_address(h) is not None})
    extra = {
        "PROVENANCE_WORKSPACE": str(ws.root), "PROVENANCE_RUN_ID": run.run_id,
        "PROVENANCE_STATE_DIR": str(state.root), "PROVENANCE_ROBOTS_TOKEN": cfg.robots_token or ROBOTS_TOKEN,
        "PROVENANCE_AGENTS_FILE": cfg.agents_file, "PROVENANCE_TRUSTED_HOSTS": trusted,
        "PROVENANCE_ALLOW_PRIVATE": cfg.allow_private, "PROVENANCE_MAX_CRAWL_DELAY": cfg.max_crawl_delay,
        "PROVENANCE_MAX_EXTRACT_BYTES": cfg.max_extract_bytes, "PROVENANCE_WORKERS": cfg.workers,
        "PROVENANCE_EXTRACT_TIMEOUT": cfg.extract_timeout, "PROVENANCE_FLUSH_ITEMS": cfg.flush_items,
        "PROVENANCE_FLUSH_SECONDS": cfg.flush_seconds, "PROVENANCE_PROGRESS": True,
        # FIFO queues, one priority: breadth-first in discovery order (pages near the seeds first,
        # which matters under --max-pages), without per-depth queue directories on disk.
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
    }
    settings = scrapy_settings(cfg, jobdir=str(state.jobdir), log_file=str(state.log_file), extra=extra)
    started = time.monotonic()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ProvenanceSpider)
    process.crawl(crawler, seeds=request["seeds"], settings=cfg.to_dict(), state_dir=str(state.root),
                  mode=mode, invalid_seeds=request["invalid_seeds"])
    process.start()
    elapsed = time.monotonic() - started
    stats = crawler.stats.get_stats()
    final = state.status()
    reason = stats.get("finish_reason")
    status = "finished" if reason == "finished" else ("stopped" if final.get("clean") else "failed")
    pages = int(stats.get("response_received_count", 0))
    crawl_s = float(stats.get("elapsed_time_seconds") or elapsed)
    summary = {
        "run_id": run.run_id, "status": status, "reason": reason, "pages": pages,
        "documents": int(stats.get("provenance/documents_written", 0)),
        "documents_new": int(stats.get("provenance/documents_new", 0)),
        "skipped": int(stats.get("provenance/skipped", 0)), "errors": int(stats.get("provenance/error", 0)),
        "not_text": int(stats.get("provenance/not_text", 0)), "elapsed_s": round(elapsed, 3),
        "crawl_s": round(crawl_s, 3), "pages_per_s": round(pages / crawl_s, 2) if crawl_s > 0 else 0.0,
        "cpu_s": round(_cpu_s(resource.RUSAGE_SELF), 2),
        "workers_cpu_s": round(_cpu_s(resource.RUSAGE_CHILDREN), 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "analysis_peak_rss_mb": round(int(stats.get("provenance/analysis_peak_rss_kb", 0)) / 1024.0, 1),
        "budget_reached": bool(final.get("budget_reached")),
        "state_dir": str(state.root), "log_file": str(state.log_file),
    }
    run.note(**{k: summary[k] for k in ("pages", "documents", "documents_new", "skipped", "errors", "not_text",
                                        "elapsed_s", "pages_per_s", "peak_rss_mb", "reason")})
    if status == "failed":
        run.fail()
    elif status == "stopped":
        run.stop()
    return summary


if __name__ == "__main__":
    sys.exit(child_main(Path(sys.argv[1])))


__all__ = ["CrawlSummary", "demo_settings", "run_crawl"]
