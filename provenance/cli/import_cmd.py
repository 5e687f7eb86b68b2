"""``provenance import``: bring-your-own corpora (JSONL, Parquet, WARC)."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.cli.options import workspace_of
from provenance.cli.progress import progress_counter
from provenance.errors import InputError


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["warc", "parquet", "jsonl"]), default=None,
              help="Input format (default: from the file name).")
@click.option("--text-column", default="text", show_default=True, help="Column holding the document text.")
@click.option("--url-column", default="url", show_default=True, help="Column holding the source URL (optional).")
@click.option("--license-column", default="license", show_default=True,
              help="Column holding a license (URL, SPDX id or name), normalised to SPDX (optional).")
@click.option("--consent-column", default="consent", show_default=True,
              help="Column holding consent: opted_out, granted or unspecified (optional).")
@click.option("--title-column", default="title", show_default=True, help="Column holding a title (optional).")
@click.option("--id-column", default=None, help="Column holding a stable id of each row (default: the URL, else the text).")
@click.option("--fetched-at-column", default=None, help="Column holding when the text was fetched (ISO 8601).")
@click.option("--language-column", default=None, help="Column holding the language code.")
@click.option("--skip-bad-rows", is_flag=True,
              help="Skip malformed rows, and keep what precedes the damage in a truncated or corrupt file "
                   "(each recorded in `fetches`), instead of stopping with nothing of the file stored.")
@click.option("--strict-digests", is_flag=True,
              help="Skip WARC records whose payload does not match their digest (default: import and flag them).")
@click.pass_context
def import_(ctx: click.Context, files: tuple[Path, ...], fmt: str | None, text_column: str,
            url_column: str, license_column: str, consent_column: str, title_column: str,
            id_column: str | None, fetched_at_column: str | None, language_column: str | None,
            skip_bad_rows: bool, strict_digests: bool) -> None:
    """Import existing corpora: text to shards/import/, facts to the ledger.

    A malformed row, or a truncated or corrupt file, stops that file with its line number or
    byte offset before anything of it is stored (unless --skip-bad-rows). Rows of one file that
    are the same document (same id, else URL, else text; in a WARC the same URL): the last one is
    imported, the earlier ones are recorded in `fetches` as skipped. JSONL and Parquet rows are
    stored in short commits, so `sql` answers while an import runs. Importing the same file
    again adds nothing. A file that cannot be imported does not stop the files after it: the
    command ends with a non-zero exit naming every file that was not imported.
    """
    from crawl.importers.formats import detect_format
    from crawl.importers.tabular import ColumnMap, import_tabular
    from provenance.ledger import STAGE_LOCK_WAIT_S, Ledger

    workspace = workspace_of(ctx)
    plan = []
    for path in files:
        if not path.exists():
            raise InputError(f"{path} does not exist")
        plan.append((path, detect_format(path, fmt)))
    cols = ColumnMap(text=text_column, url=url_column, license=license_column, consent=consent_column,
                     title=title_column, id=id_column, fetched_at=fetched_at_column, language=language_column)
    config = {"files": [str(p.resolve()) for p in files], "format": fmt, "columns": cols.optional() | {"text": text_column},
              "skip_bad_rows": skip_bad_rows, "strict_digests": strict_digests}
    totals = {"files": 0, "rows": 0, "documents": 0, "unchanged": 0, "reresolved": 0, "bad_rows": 0}
    ledger = Ledger(workspace, lock_wait_s=STAGE_LOCK_WAIT_S)
    run = ledger.start_run("import", config)
    failed: list[InputError] = []
    try:
        for path, file_format in plan:
            try:
                with progress_counter(f"import {path.name}") as advance:
                    if file_format == "warc":
                        from crawl.importers.warc import import_warc

                        with ledger.writer() as writer:
                            stats = import_warc(writer, run.run_id, path, progress=advance,
                                                skip_bad_rows=skip_bad_rows, strict_digests=strict_digests)
                    else:
                        stats = import_tabular(ledger, run.run_id, path, file_format, cols,
                                               skip_bad_rows=skip_bad_rows, progress=advance)
            except InputError as exc:  # this file is not imported; the files after it still are
                if len(plan) == 1:
                    raise
                failed.append(exc)
                click.echo(f"{path}: not imported: {exc}", err=True)
                continue
            totals["files"] += 1
            totals["rows"] += stats.rows
            totals["documents"] += stats.documents_new
            totals["unchanged"] += stats.unchanged
            totals["reresolved"] += stats.reresolved
            totals["bad_rows"] += stats.bad_rows
            line = (f"{path}: {stats.rows} rows, {stats.documents_new} new or changed documents, "
                    f"{stats.unchanged} unchanged")
            if stats.reresolved:
                line += (f", {stats.reresolved} stored documents re-resolved against the robots.txt "
                         f"(ai.txt, tdmrep.json) captures in it")
            if stats.duplicates:
                line += (f", {stats.duplicates} earlier rows of a document replaced by its last row "
                         f"in the file (see `fetches`)")
            if stats.bad_rows:
                line += f", {stats.bad_rows} bad rows skipped (see `fetches`), e.g. {stats.bad_examples[0]}"
            click.echo(line, err=True)
    except BaseException:
        ledger.finish_run(run, totals, status="failed")
        raise
    ledger.finish_run(run, {**totals, "failed_files": len(failed)}, status="failed" if failed else "finished")
    click.echo(f"run {run.run_id}: {totals['documents']} documents stored in {workspace.root}", err=True)
    if failed:
        raise InputError(f"{len(failed)} of {len(plan)} files were not imported (the others were): "
                         f"{' | '.join(map(str, failed))}")
