"""One import run: files (JSONL, Parquet, WARC) into a workspace; the library form of ``provenance import``.

:func:`import_files` opens the run, imports every file, and finishes the run in one place
(:func:`_run`): 'finished' when every file was imported, 'failed' when one was not (the others
still are: a file that cannot be imported never stops the files after it) or when the run
stopped. The command line (``provenance/cli/import_cmd.py``) only parses options and prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from crawl.importers.formats import detect_format
from crawl.importers.tabular import ColumnMap, ImportStats, import_tabular
from provenance.errors import InputError
from provenance.ledger import STAGE_LOCK_WAIT_S, Ledger
from provenance.records import Run
from provenance.workspace import Workspace

Advance = Callable[[int], None]
ProgressFactory = Callable[[str], AbstractContextManager[Advance]]
"""``progress(description)`` -> a context manager yielding ``advance(n)`` (the CLI's progress line)."""


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How files are read (the options of ``provenance import``)."""

    fmt: str | None = None  # jsonl, parquet or warc (default: from each file's name)
    columns: ColumnMap = field(default_factory=ColumnMap)
    skip_bad_rows: bool = False
    strict_digests: bool = False

    def config(self, files: Sequence[Path]) -> dict:
        """What the run records as its configuration."""
        return {"files": [str(p.resolve()) for p in files], "format": self.fmt,
                "columns": self.columns.optional() | {"text": self.columns.text},
                "skip_bad_rows": self.skip_bad_rows, "strict_digests": self.strict_digests}


@dataclass(frozen=True, slots=True)
class FileResult:
    """What came of one input file: its stats, or why it was not imported."""

    path: Path
    stats: ImportStats | None = None
    error: InputError | None = None


@dataclass
class ImportSummary:
    run_id: str
    workspace: Path
    files: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.error is not None]

    @property
    def documents(self) -> int:
        return sum(f.stats.documents_new for f in self.files if f.stats is not None)

    def totals(self) -> dict[str, int]:
        done = [f.stats for f in self.files if f.stats is not None]
        return {"files": len(done), "rows": sum(s.rows for s in done),
                "documents": sum(s.documents_new for s in done), "unchanged": sum(s.unchanged for s in done),
                "reresolved": sum(s.reresolved for s in done), "bad_rows": sum(s.bad_rows for s in done),
                "failed_files": len(self.failed)}


def _no_progress(description: str) -> AbstractContextManager[Advance]:
    return nullcontext(lambda n: None)


@contextmanager
def _run(ledger: Ledger, config: dict, summary_of: Callable[[Run], ImportSummary]) -> Iterator[ImportSummary]:
    """The run: opened, and finished 'finished' or 'failed' with its totals (the one place)."""
    run = ledger.start_run("import", config)
    summary = summary_of(run)
    try:
        yield summary
    except BaseException:
        ledger.finish_run(run, summary.totals(), status="failed")
        raise
    ledger.finish_run(run, summary.totals(), status="failed" if summary.failed else "finished")


def import_files(workspace: Workspace | str | os.PathLike, files: Sequence[str | os.PathLike],
                 options: ImportOptions | None = None, *, progress: ProgressFactory | None = None,
                 on_file: Callable[[FileResult], None] | None = None) -> ImportSummary:
    """Import ``files`` into ``workspace`` in one run: text to shards/import/ (web/ for WARC
    pages), facts to the ledger. ``on_file`` hears of each file as it is done (imported or not).

    Raises InputError before the run opens when a file does not exist or its format cannot be
    told; a file that fails later is a :class:`FileResult` with its error, and the run is 'failed'.
    """
    options = options or ImportOptions()
    progress = progress or _no_progress
    paths = [Path(f) for f in files]
    plan = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path} does not exist")
        plan.append((path, detect_format(path, options.fmt)))
    ledger = Ledger(workspace, lock_wait_s=STAGE_LOCK_WAIT_S)
    with _run(ledger, options.config(paths),
              lambda run: ImportSummary(run.run_id, ledger.workspace.root)) as summary:
        for path, file_format in plan:
            try:
                with progress(f"import {path.name}") as advance:
                    stats = _import_one(ledger, summary.run_id, path, file_format, options, advance)
                result = FileResult(path, stats=stats)
            except InputError as exc:  # this file is not imported; the files after it still are
                result = FileResult(path, error=exc)
            summary.files.append(result)
            if on_file is not None:
                on_file(result)
    return summary


def _import_one(ledger: Ledger, run_id: str, path: Path, file_format: str, options: ImportOptions,
                advance: Advance) -> ImportStats:
    if file_format == "warc":
        from crawl.importers.warc import import_warc

        with ledger.writer() as writer:
            return import_warc(writer, run_id, path, progress=advance, skip_bad_rows=options.skip_bad_rows,
                               strict_digests=options.strict_digests)
    return import_tabular(ledger, run_id, path, file_format, options.columns,
                          skip_bad_rows=options.skip_bad_rows, progress=advance)


__all__ = ["FileResult", "ImportOptions", "ImportSummary", "import_files"]
