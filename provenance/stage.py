"""The stage contract: every command that does work is one :class:`StageRun`.

``with open_run(ledger, "import", config, progress=Progress("import", "rows")) as run:``

- **opens** a ``run_log`` row (its command, configuration, package versions, pid and host) in a
  short write of its own, so the stage never holds the ledger's writer for its whole run;
- **counts**: ``run.count("documents", n)``; the counts are the run's counts in the ledger and in
  ``--json``;
- **reports progress** through the one display, :class:`provenance.progress.Progress`
  (``run.advance(n)``, ``run.log(message)``);
- **records rejections as data**: ``run.reject(fetch_record)`` keeps what the stage did not take
  as a ``fetches`` row with its reason, buffered and written in batches;
- **finishes**: ``finished`` when the block ends, ``failed`` when it raises or the stage calls
  :meth:`StageRun.fail`, ``stopped`` on Ctrl-C or :meth:`StageRun.stop`. A process that dies
  without finishing leaves its run ``running``; the next writer marks it ``interrupted``
  (:func:`mark_interrupted` when a stage finds its own dead run first).

Batches go through the one batch buffer of the ledger's write path, :class:`provenance.store.Batch`
(documents with their texts, their rows, a stage's own tables), stored in one transaction by
``DocumentStore.write``; bulk imports stage theirs outside the lock with
:class:`provenance.staging.Stager`. This module only owns what every stage's run has in common.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from provenance.progress import Progress, quiet
from provenance.records import FetchRecord, Run

if TYPE_CHECKING:
    from provenance.ledger import Ledger

Status = Literal["finished", "failed", "stopped"]
REJECT_BATCH = 1_000  # rejection rows written per short write


class StageRun:
    """One run of a stage in progress (see the module's docstring)."""

    def __init__(self, ledger: Ledger, run: Run, progress: Progress):
        self.ledger = ledger
        self.run = run
        self.progress = progress
        self.counts: dict[str, Any] = {}
        self.status: Status | None = None
        self._rejected: list[FetchRecord] = []

    @property
    def run_id(self) -> str:
        return self.run.run_id

    # --- counting and progress -----------------------------------------------------------------

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the count ``name``."""
        self.counts[name] = self.counts.get(name, 0) + n

    def note(self, **values: Any) -> None:
        """Set counts and figures (a rate, a reason) recorded with the run."""
        self.counts.update(values)

    def advance(self, n: int = 1) -> None:
        self.progress.advance(n)

    def log(self, message: str) -> None:
        self.progress.log(message)

    # --- rejections ----------------------------------------------------------------------------

    def reject(self, record: FetchRecord) -> None:
        """Keep something the stage did not take, as a ``fetches`` row with its reason."""
        self._rejected.append(record)
        self.count("rejected")
        if len(self._rejected) >= REJECT_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rejections (one short write)."""
        if not self._rejected:
            return
        with self.ledger.writer() as writer:
            writer.write(self.run_id, fetches=self._rejected)
        self._rejected.clear()

    # --- ending --------------------------------------------------------------------------------

    def fail(self, reason: str | None = None) -> None:
        """End as ``failed`` although the block completes (e.g. some input files were refused)."""
        self.status = "failed"
        if reason:
            self.note(reason=reason)

    def stop(self, reason: str | None = None) -> None:
        """End as ``stopped``: a clean stop before the work was done (a budget, a signal)."""
        self.status = "stopped"
        if reason:
            self.note(reason=reason)


def mark_interrupted(ledger: Ledger, run_id: str, command: str, reason: str) -> None:
    """End a run whose process died, found by its own stage (a crawl resumed after a kill):
    ``interrupted``, as the next writer marks any dead run, with the reason."""
    from provenance.ids import utcnow

    ledger.finish_run(Run(run_id, command, utcnow()), {"reason": reason}, status="interrupted")


@contextmanager
def open_run(ledger: Ledger, command: str, config: dict[str, Any] | None = None, *,
             progress: Progress | None = None) -> Iterator[StageRun]:
    """Open a run of ``command``, yield it, and record how it ended with its counts, whatever
    happens inside."""
    record = ledger.start_run(command, config)
    stage = StageRun(ledger, record, progress if progress is not None else quiet())
    status: Status = "failed"
    try:
        with stage.progress:
            yield stage
        status = stage.status or "finished"
    except KeyboardInterrupt:
        status = "stopped"
        stage.note(reason="interrupted by the user")
        raise
    finally:
        try:
            stage.flush()
        finally:
            ledger.finish_run(record, stage.counts, status=status)
