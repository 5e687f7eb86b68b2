"""``provenance demo``: the pipeline on bundled sample data, then a few answers from the ledger."""

from __future__ import annotations

from importlib import resources

import click

from provenance.cli.options import workspace_of

SUMMARY_QUERIES = (
    ("Documents by license and consent",
     "SELECT coalesce(license, '(none found)') AS license, consent, count(*) AS documents, "
     "sum(n_chars) AS chars FROM documents GROUP BY ALL ORDER BY documents DESC, license"),
    ("Why documents are opted out",
     "SELECT url, consent_evidence FROM documents WHERE consent = 'opted_out' ORDER BY url"),
    ("Runs",
     "SELECT run_id, command, status, counts FROM runs ORDER BY started_at"),
)


@click.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Run the pipeline on the bundled sample corpus and print what the ledger knows.

    Uses the workspace given with -w (default ./workspace); running it again adds nothing new.
    """
    from crawl.importers.tabular import ColumnMap, import_tabular
    from provenance.cli.sql_cmd import render_table
    from provenance.ledger import Ledger
    from provenance.queries import run_query

    workspace = workspace_of(ctx)
    ledger = Ledger(workspace)
    sample = resources.files("provenance.sample") / "corpus.jsonl"
    with resources.as_file(sample) as path, ledger.writer() as writer:
        run = writer.start_run("demo", {"step": "import", "file": "provenance/sample/corpus.jsonl"})
        stats = import_tabular(writer, run.run_id, path, "jsonl", ColumnMap())
        writer.finish_run(run, {"rows": stats.rows, "documents": stats.documents_new})
    click.echo(f"Imported the sample corpus into {workspace.root}: {stats.rows} rows, "
               f"{stats.documents_new} new or changed documents.\n")
    for title, query in SUMMARY_QUERIES:
        result = run_query(ledger, query)
        click.echo(f"== {title}\n$ provenance sql \"{query}\"")
        click.echo(render_table(result.columns, result.rows) + "\n")
    click.echo(f"Ask your own questions: provenance -w {workspace.root} sql \"SELECT * FROM documents LIMIT 5\"")
