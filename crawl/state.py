"""Resumable crawl state under ``<workspace>/runs/crawl/<key>/`` (``key``: the seed set).

* ``jobdir/``       Scrapy's JOBDIR: the request queue and seen-request fingerprints, kept by
                    Scrapy across a clean stop (Ctrl-C, SIGTERM).
* ``admitted.log``  every URL the crawl decided to fetch (``depth<TAB>kind<TAB>url``), appended and
                    flushed as it is admitted: the frontier survives any kill.
* ``done.log``      URLs whose outcome is committed to the ledger, appended after each ledger write.
* ``state.json``    status (running / stopped / finished), pid, run ids, requests in flight at a
                    clean stop.
* ``crawl.log``     Scrapy's log. ``summary.json``: the counts of the last run.

Resuming after a clean stop lets Scrapy restore its queue and re-requests what was in flight.
After a kill (no clean stop recorded), Scrapy's queue files cannot be trusted; they are dropped and
every admitted URL not yet done is requested again. Either way at most the pages in flight are
fetched twice, and the ledger's idempotent writes store nothing twice.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.errors import InputError
from provenance.ids import canonical_url, utcnow
from provenance.workspace import Workspace

STATE = "state.json"
ADMITTED = "admitted.log"
DONE = "done.log"
JOBDIR = "jobdir"
LOG = "crawl.log"
SUMMARY = "summary.json"
SCRAPY_STATE_FILES = ("requests.queue", "requests.seen", "spider.state")


def canonical(url: str) -> str:
    """The form URLs are compared in: the project's one canonical URL (provenance.ids)."""
    return canonical_url(url)


def state_dir(workspace: Workspace, key: str) -> Path:
    return workspace.runs_dir / "crawl" / key


def _pid_alive(pid: int | None) -> bool:
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"crawl.runner" in cmdline


@dataclass(frozen=True, slots=True)
class Admitted:
    url: str
    depth: int
    kind: str  # 'page' | 'sitemap' | 'feed'


class CrawlState:
    """The state directory of one crawl (one seed set)."""

    def __init__(self, root: Path):
        self.root = root

    # --- paths ------------------------------------------------------------------------------

    @property
    def jobdir(self) -> Path:
        return self.root / JOBDIR

    @property
    def log_file(self) -> Path:
        return self.root / LOG

    @property
    def summary_file(self) -> Path:
        return self.root / SUMMARY

    # --- status -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        try:
            return json.loads((self.root / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def write_status(self, **changes: Any) -> dict[str, Any]:
        data = {**self.status(), **changes, "updated_at": utcnow().isoformat()}
        tmp = self.root / (STATE + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, self.root / STATE)
        return data

    # --- opening ----------------------------------------------------------------------------

    @classmethod
    def prepare(cls, root: Path, *, resume: bool, seeds: list[str]) -> tuple[CrawlState, str]:
        """Open the state for a new run: returns it and the mode ('fresh', 'clean' or 'recover')."""
        state = cls(root)
        status = state.status()
        if status.get("status") == "running" and _pid_alive(status.get("pid")):
            raise InputError(
                f"a crawl of these seeds is already running (process {status['pid']}); wait for it or "
                f"stop it (Ctrl-C in its terminal) before starting another one")
        if not resume:
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            state.write_status(status="new", seeds=seeds, runs=[])
            return state, "fresh"
        if not status:
            raise InputError(
                f"there is no stopped crawl of these seeds to resume (nothing in {root}); "
                f"run the same command without --resume")
        if status.get("status") == "finished":
            raise InputError(
                f"the crawl of these seeds finished (run {status.get('run_id')}); there is nothing to "
                f"resume. Run the command without --resume to crawl them again.")
        if status.get("status") == "stopped" and status.get("clean"):
            return state, "clean"
        for name in SCRAPY_STATE_FILES:  # killed: Scrapy's queue files were not closed properly
            path = state.jobdir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        return state, "recover"

    # --- admitted and done URLs -------------------------------------------------------------

    def admitted(self) -> dict[str, Admitted]:
        """Every admitted URL (canonical form -> entry), in admission order."""
        out: dict[str, Admitted] = {}
        for line in _read_lines(self.root / ADMITTED):
            parts = line.split("\t", 2)
            if len(parts) != 3 or not parts[0].isdigit():
                continue  # a line cut by a kill
            out.setdefault(canonical(parts[2]), Admitted(parts[2], int(parts[0]), parts[1]))
        return out

    def done(self) -> set[str]:
        return set(_read_lines(self.root / DONE))

    def pending(self) -> list[Admitted]:
        """Admitted URLs whose outcome never reached the ledger."""
        done = self.done()
        return [a for key, a in self.admitted().items() if key not in done]

    def admission_log(self) -> AppendLog:
        """Buffered: the crawl flushes it before every ledger write, so an admitted URL is on disk
        before the page that linked to it is marked done."""
        return AppendLog(self.root / ADMITTED, buffered=True)

    def done_log(self) -> AppendLog:
        return AppendLog(self.root / DONE)


class AppendLog:
    """A line log. ``append`` flushes to the OS (survives a killed process) unless ``buffered``;
    a buffered log is flushed with :meth:`flush` (and on close)."""

    def __init__(self, path: Path, *, buffered: bool = False):
        self.path = path
        self.buffered = buffered
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def append(self, lines: Iterable[str]) -> None:
        for line in lines:
            self._fh.write(line.replace("\n", " ") + "\n")
        if not self.buffered:
            self._fh.flush()

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    lines = text.split("\n")
    return [line for line in lines[:-1] if line]  # the last piece has no newline: cut by a kill
