"""One import run: files (JSONL, Parquet, WARC, a Common Crawl listing) into a workspace; the library
form of ``provenance import``.

:func:`import_files` is one stage run (:func:`provenance.stage.open_run`): 'finished' when every
input was imported, 'failed' when one was not (the others still are: an input that cannot be
imported never stops the ones after it). JSONL and Parquet files are imported one after another
(:mod:`crawl.importers.tabular`). WARC files, and the files a ``warc.paths`` listing names, are
read and analysed by reader processes (:mod:`crawl.importers.readers`: ``workers`` local
processes, or Ray tasks) while this process builds their documents and stores each file in short
write transactions once it has been read whole, so ``provenance sql`` is never locked out for
long. The stored documents do not depend on how many readers there are or which finishes first:
when files were read side by side, the consent of the documents of every origin whose
robots.txt (ai.txt, tdmrep.json) captures the run brought is re-resolved once more at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crawl.importers.formats import detect_format
from crawl.importers.readers import Done, Failed, make_readers
from crawl.importers.sources import (IMPORTED, Source, SourceOptions, already_imported, imported_row, is_listing,
                                     is_url, read_listing, sha256_of_reason)
from crawl.importers.options import ImportOptions
from crawl.importers.tabular import ImportStats, import_tabular
from crawl.importers.warc import ReadOptions, WarcChunk, WarcFileImport, reresolve_origins
from crawl.page import AgentLists
from provenance.errors import InputError
from provenance.ledger import STAGE_LOCK_WAIT_S, Ledger
from provenance.progress import Progress
from provenance.stage import StageRun, open_run
from provenance.workspace import Workspace


ROBOTS_SUBSET = "robotstxt"  # in the path of each file of Common Crawl's robots.txt subset


@dataclass(frozen=True, slots=True)
class FileResult:
    """What came of one input: its stats, why it was not imported, or that an earlier run had."""

    path: Path | str  # a file, or the URL a listing names
    stats: ImportStats | None = None
    error: InputError | None = None
    skipped: bool = False  # a listed file an earlier run imported whole


@dataclass
class ImportSummary:
    run_id: str
    workspace: Path
    files: list[FileResult] = field(default_factory=list)
    reresolved: int = 0  # documents re-resolved once more at the end (files read side by side)

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
                "reresolved": sum(s.reresolved for s in done) + self.reresolved,
                "bad_rows": sum(s.bad_rows for s in done), "failed_files": len(self.failed),
                "skipped_files": sum(f.skipped for f in self.files)}


@dataclass(frozen=True, slots=True)
class _Input:
    label: Path | str
    fmt: str
    source: Source
    listed: bool = False  # named by a listing: recorded when read whole, skipped on a re-run


def _plan(files: Sequence[Path], options: ImportOptions) -> list[_Input]:
    plan: list[_Input] = []
    for path in files:
        if not path.exists():
            raise InputError(f"{path} does not exist")
        if options.fmt is None and is_listing(path):
            plan.extend(_Input(s if is_url(s) else Path(s), "warc", s, listed=True)
                        for s in read_listing(path, options.base))
        else:
            plan.append(_Input(path, detect_format(path, options.fmt), str(path.resolve())))
    return plan


def import_files(workspace: Workspace | str | os.PathLike, files: Sequence[str | os.PathLike],
                 options: ImportOptions | None = None, *, progress: Progress | None = None,
                 on_file: Callable[[FileResult], None] | None = None) -> ImportSummary:
    """Import ``files`` into ``workspace`` in one run: text to shards/import/ (shards/web/ for WARC
    pages), facts to the ledger. A ``warc.paths(.gz)`` listing stands for the WARC files it names
    (``options.base``). ``on_file`` hears of each input as it is done (imported, not, or skipped).

    Raises InputError before the run opens when a file does not exist, its format cannot be told,
    or a listing has no base; an input that fails later is a :class:`FileResult` with its error,
    and the run is 'failed'.
    """
    options = options or ImportOptions()
    paths = [Path(f) for f in files]
    plan = _plan(paths, options)
    readers = make_readers(options.engine, options.workers, len(plan), options.ray_address)  # Ray missing: now
    ledger = Ledger(workspace, lock_wait_s=STAGE_LOCK_WAIT_S)
    notify = on_file or (lambda result: None)
    with open_run(ledger, "import", options.config(paths),
                  progress=progress) as run:
        summary = ImportSummary(run.run_id, ledger.workspace.root)
        results: dict[int, FileResult] = {}

        def done(number: int, result: FileResult) -> None:
            results[number] = result
            summary.files = [results[k] for k in sorted(results)]
            run.note(**summary.totals())
            notify(result)

        warcs: list[tuple[int, _Input]] = []
        for number, item in enumerate(plan):
            if item.fmt == "warc":
                warcs.append((number, item))
                continue
            try:
                stats = import_tabular(ledger, run.run_id, Path(item.source), item.fmt, options.columns,
                                       skip_bad_rows=options.skip_bad_rows, progress=run.advance)
                done(number, FileResult(item.label, stats=stats))
            except InputError as exc:  # this file is not imported; the files after it still are
                done(number, FileResult(item.label, error=exc))
        recorded = _recorded(ledger, [item.source for _, item in warcs if item.listed])
        todo = []
        for number, item in warcs:
            if item.listed and already_imported(recorded, item.source):
                done(number, FileResult(item.label, skipped=True))
            else:
                todo.append((number, item))
        if todo:
            # robots.txt subsets first (Common Crawl names them so): their captures are stored before
            # the pages they answer are decided, instead of re-resolving those pages after them
            todo.sort(key=lambda pair: (ROBOTS_SUBSET not in str(pair[1].label).lower(), pair[0]))
            stale = _import_warcs(ledger, run, todo, options, readers, done)
            if stale:
                summary.reresolved = reresolve_origins(ledger, run.run_id, AgentLists.load(), stale)
        run.note(**summary.totals())
        if summary.failed:
            run.fail(f"{len(summary.failed)} of {len(plan)} inputs were not imported")
    return summary


def _import_warcs(ledger: Ledger, run: StageRun, todo: list[tuple[int, _Input]], options: ImportOptions,
                  readers, done: Callable[[int, FileResult], None]) -> set[str]:  # noqa: ANN001 - LocalReaders | RayReaders
    """Import the WARC inputs; returns the origins whose documents may have been decided without
    captures another file committed meanwhile (files read side by side): those to re-resolve."""
    agents = AgentLists.load()
    source_options = SourceOptions(
        read=ReadOptions(skip_bad_rows=options.skip_bad_rows, strict_digests=options.strict_digests),
        download_dir=str(ledger.workspace.runs_dir / run.run_id / "downloads"),
        allow_private=options.allow_private, hash_local=any(item.listed for _, item in todo))
    open_files: dict[int, WarcFileImport] = {}
    committed: list[frozenset[str]] = []  # the capture origins of each file stored, in order
    opened_at: dict[int, int] = {}  # input -> how many files were stored when its documents began
    stale: set[str] = set()
    try:
        for position, message in readers.messages([item.source for _, item in todo], source_options):
            number, item = todo[position]
            current = open_files.get(position)
            if current is None:
                current = open_files[position] = WarcFileImport(ledger, run.run_id, f"{position:06d}", agents,
                                                                run.advance)
                opened_at[position] = len(committed)
            if isinstance(message, WarcChunk):
                current.add(message)
                continue
            del open_files[position]
            if isinstance(message, Failed):
                current.discard()
                done(number, FileResult(item.label, error=InputError(message.reason)))
                continue
            assert isinstance(message, Done)
            extra = ([imported_row(item.source, message.sha256, message.n_bytes, current.stats.rows)]
                     if item.listed else [])
            try:
                stats = current.commit(extra)
            finally:
                current.discard()
            stale |= current.page_origins & frozenset().union(*committed[opened_at[position]:])
            committed.append(frozenset(current.origins))
            done(number, FileResult(item.label, stats=stats))
    finally:
        for leftover in open_files.values():
            leftover.discard()
        try:
            Path(source_options.download_dir or "").rmdir()  # downloads are removed once read
        except OSError:
            pass
    return stale


def _recorded(ledger: Ledger, sources: list[str]) -> dict[str, set[str]]:
    """source -> the sha256s of its rows saying it was imported whole."""
    if not sources or not ledger.path.exists():
        return {}
    rows = ledger.query("SELECT url, reason FROM fetches WHERE url IN (SELECT unnest(?)) AND starts_with(reason, ?)",
                        [sources, IMPORTED]).to_pylist()
    out: dict[str, set[str]] = {}
    for row in rows:
        sha = sha256_of_reason(row["reason"])
        if sha:
            out.setdefault(row["url"], set()).add(sha)
    return out


__all__ = ["FileResult", "ImportOptions", "ImportSummary", "import_files"]
