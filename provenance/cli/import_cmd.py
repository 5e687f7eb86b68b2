"""``provenance import``: bring-your-own corpora (JSONL, Parquet, WARC)."""

from __future__ import annotations

from pathlib import Path

import click

from crawl.importers.options import ColumnMap, ImportOptions
from provenance.cli.options import workspace_of
from provenance.progress import Progress
from provenance.errors import InputError

_COLUMNS = ColumnMap()  # the CLI's defaults are the library's
_DEFAULTS = ImportOptions()


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["warc", "parquet", "jsonl"]), default=None,
              help="Input format (default: from the file name).")
@click.option("--text-column", default=_COLUMNS.text, show_default=True, help="Column holding the document text.")
@click.option("--url-column", default=_COLUMNS.url, show_default=True, help="Column holding the source URL (optional).")
@click.option("--license-column", default=_COLUMNS.license, show_default=True,
              help="Column holding a license (URL, SPDX id or name), normalised to SPDX (optional).")
@click.option("--consent-column", default=_COLUMNS.consent, show_default=True,
              help="Column holding consent: opted_out, granted or unspecified (optional).")
@click.option("--title-column", default=_COLUMNS.title, show_default=True, help="Column holding a title (optional).")
@click.option("--id-column", default=_COLUMNS.id, help="Column holding a stable id of each row (default: the URL, else the text).")
@click.option("--fetched-at-column", default=_COLUMNS.fetched_at, help="Column holding when the text was fetched (ISO 8601).")
@click.option("--language-column", default=_COLUMNS.language, help="Column holding the language code.")
@click.option("--skip-bad-rows", is_flag=True,
              help="Skip malformed rows, and keep what precedes the damage in a truncated or corrupt file "
                   "(each recorded in `fetches`), instead of stopping with nothing of the file stored.")
@click.option("--strict-digests", is_flag=True,
              help="Skip WARC records whose payload does not match their digest (default: import and flag them).")
@click.option("--workers", type=click.IntRange(1, 1024), default=None, metavar="N",
              help="Processes reading and analysing WARC files side by side, or CPUs of a local Ray "
                   "(default: one per core, at most one per file).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default=_DEFAULTS.engine, show_default=True,
              help="local: reader processes on this machine. ray: one Ray task per WARC file, on a local Ray "
                   "started for the run or the cluster at --ray-address (needs the distributed extra).")
@click.option("--ray-address", metavar="HOST:PORT", default=None,
              help="With --engine ray: the Ray cluster to use; every node must see local input files at the "
                   "same absolute path.")
@click.option("--base", metavar="DIR_OR_URL", default=None,
              help="What the paths of a Common Crawl warc.paths(.gz) listing are relative to: a directory, "
                   "or an http(s) URL such as https://data.commoncrawl.org/ (downloaded through the guarded client).")
@click.option("--allow-private", is_flag=True,
              help="Let --base downloads reach private addresses (a server on this machine or network).")
@click.pass_context
def import_(ctx: click.Context, files: tuple[Path, ...], fmt: str | None, text_column: str,
            url_column: str, license_column: str, consent_column: str, title_column: str,
            id_column: str | None, fetched_at_column: str | None, language_column: str | None,
            skip_bad_rows: bool, strict_digests: bool, workers: int | None, engine: str,
            ray_address: str | None, base: str | None, allow_private: bool) -> None:
    """Import existing corpora: text to shards/import/, facts to the ledger.

    A malformed row, or a truncated or corrupt file, stops that file with its line number or
    byte offset before anything of it is stored (unless --skip-bad-rows). Rows of one file that
    are the same document (same id, else URL, else text; in a WARC the same URL): the last one is
    imported, the earlier ones are recorded in `fetches` as skipped. JSONL and Parquet rows are
    stored in short commits, so `sql` answers while an import runs. Importing the same file
    again adds nothing. A file that cannot be imported does not stop the files after it: the
    command ends with a non-zero exit naming every file that was not imported.

    WARC files are read and analysed by --workers processes (or Ray tasks with --engine ray) while
    this process stores each file in short commits once it has been read whole; the documents
    stored are the same whatever the number of workers. A Common Crawl `warc.paths` or
    `warc.paths.gz` listing stands for the files it names under --base (a directory or an http(s)
    URL); run again, it skips the files already imported.
    """
    from crawl import import_files
    from crawl.importers.run import FileResult, ImportOptions
    from crawl.importers.tabular import ColumnMap

    cols = ColumnMap(text=text_column, url=url_column, license=license_column, consent=consent_column,
                     title=title_column, id=id_column, fetched_at=fetched_at_column, language=language_column)
    if engine == "local" and ray_address is not None:
        raise click.UsageError("--ray-address goes with --engine ray.")
    options = ImportOptions(fmt=fmt, columns=cols, skip_bad_rows=skip_bad_rows, strict_digests=strict_digests,
                            workers=workers, engine=engine, ray_address=ray_address, base=base,
                            allow_private=allow_private)
    progress = Progress("import", "documents")
    single = len(files) == 1 and not files[0].name.lower().endswith((".paths", ".paths.gz"))

    def report(result: FileResult) -> None:
        if result.skipped:
            progress.log(f"{result.path}: skipped, imported whole by an earlier run")
        elif result.error is not None:
            if not single:  # a single file's error ends the command
                progress.log(f"{result.path}: not imported: {result.error}")
        else:
            progress.log(f"{result.path}: {describe(result.stats)}")

    summary = import_files(workspace_of(ctx), files, options, progress=progress, on_file=report)
    failed = summary.failed
    if len(summary.files) == 1 and failed:
        raise failed[0].error  # type: ignore[misc]
    if summary.reresolved:
        click.echo(f"{summary.reresolved} documents re-resolved against the captures of files read side by side",
                   err=True)
    click.echo(f"run {summary.run_id}: {summary.documents} documents stored in {summary.workspace}", err=True)
    if failed:
        raise InputError(f"{len(failed)} of {len(summary.files)} files were not imported (the others were): "
                         f"{' | '.join(str(f.error) for f in failed)}")


def describe(stats) -> str:  # noqa: ANN001 - crawl.importers.tabular.ImportStats
    """One line about a file imported."""
    line = f"{stats.rows} rows, {stats.documents_new} new or changed documents, {stats.unchanged} unchanged"
    if stats.reresolved:
        line += (f", {stats.reresolved} stored documents re-resolved against the robots.txt "
                 f"(ai.txt, tdmrep.json) captures in it")
    if stats.duplicates:
        line += (f", {stats.duplicates} earlier rows of a document replaced by its last row "
                 f"in the file (see `fetches`)")
    if stats.bad_rows:
        line += f", {stats.bad_rows} bad rows skipped (see `fetches`), e.g. {stats.bad_examples[0]}"
    return line
