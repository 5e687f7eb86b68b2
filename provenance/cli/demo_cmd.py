"""``provenance demo``: the whole pipeline on bundled data, then what the ledger can tell.

1. import a small bring-your-own corpus (``provenance/sample/corpus.jsonl``), then Common-Crawl-style
   page WARCs with their robots.txt subset (``provenance/sample/commoncrawl/``);
2. serve the bundled sample site on 127.0.0.1 and crawl it (licenses, opt-outs, a syndicated
   near-copy, a page with an ``<audio>`` element);
3. transcribe the audio the crawl discovered with the bundled Whisper tiny.en;
4. find near-duplicates; 5. export with the ``open`` policy and write the audit report.

Every step is idempotent: running the demo again adds nothing new to the same workspace.
"""

from __future__ import annotations

from importlib import resources

import click

from provenance.cli.options import workspace_of

DEMO_PORT = 8765  # preferred, so page URLs (and so document ids) stay the same across runs

SUMMARY_QUERIES = (
    ("Documents by source, license and consent",
     "SELECT source_type, coalesce(license, '(none found)') AS license, consent, count(*) AS documents, "
     "sum(n_chars) AS chars FROM documents GROUP BY ALL ORDER BY source_type, documents DESC, license"),
    ("Why crawled pages are opted out",
     "SELECT url, consent_evidence FROM documents WHERE consent = 'opted_out' AND source_type = 'web' ORDER BY url"),
    ("Common Crawl pages: each answered by the robots.txt capture that applied at its fetch time",
     "SELECT url, fetched_at, license, consent, consent_evidence FROM documents "
     "WHERE domain IN ('harbour.example', 'ferry.example', 'lighthouse.example') ORDER BY url"),
    ("Near-duplicates: each cluster keeps the copy with the clearest rights",
     "SELECT dup_cluster, url, license, consent, is_canonical, round(dup_similarity, 2) AS similarity "
     "FROM documents WHERE dup_cluster IS NOT NULL ORDER BY dup_cluster, is_canonical DESC, url"),
    ("Transcripts inherit the license of the page that embedded the audio",
     "SELECT d.url, d.license, d.consent, t.model, t.language, round(t.duration_s, 1) AS seconds, "
     "left(c.text, 60) AS text FROM documents d JOIN transcriptions t USING (doc_id) "
     "JOIN corpus c ON c.doc_id = d.doc_id AND c.text_sha256 = d.text_sha256 ORDER BY d.url"),
)


@click.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Run the whole pipeline on bundled sample data and print what the ledger knows.

    Imports a sample corpus and Common-Crawl-style WARCs with their robots.txt subset, crawls a bundled site served on 127.0.0.1, transcribes its audio
    with the bundled Whisper model, deduplicates, exports with the `open` policy and writes the
    audit report. Uses the workspace given with -w (default ./workspace); running it again adds
    nothing new.
    """
    from crawl import import_files
    from crawl.importers.run import ImportOptions
    from crawl.importers.tabular import ColumnMap, import_tabular
    from crawl.localsite import LocalSite
    from crawl.runner import demo_settings, run_crawl
    from dedup.pipeline import DedupOptions, run_dedup
    from provenance.cli.sql_cmd import render_table
    from provenance.errors import ProvenanceError
    from provenance.export import audit_and_export
    from provenance.ledger import Ledger
    from provenance.queries import run_query
    from provenance.stage import open_run
    from transcribe.model import choose_runtime, resolve_model
    from transcribe.pipeline import Request, Settings, transcribe_media

    workspace = workspace_of(ctx)
    ledger = Ledger(workspace)
    step = _Steps()

    step("Import a bring-your-own corpus (provenance/sample/corpus.jsonl)")
    sample = resources.files("provenance.sample") / "corpus.jsonl"
    with resources.as_file(sample) as path:
        with open_run(ledger, "import", {"files": ["provenance/sample/corpus.jsonl"], "demo": True}) as run:
            stats = import_tabular(ledger, run.run_id, path, "jsonl", ColumnMap())
            run.note(rows=stats.rows, documents=stats.documents_new)
    click.echo(f"   {stats.rows} rows, {stats.documents_new} new or changed documents")

    step("Import Common-Crawl-style WARCs: pages, and the robots.txt subset that decides their consent")
    cc = resources.files("provenance.sample") / "commoncrawl"
    with resources.as_file(cc) as folder:
        imported = import_files(workspace, sorted(folder.glob("*.warc.gz")), ImportOptions(workers=1))
    if imported.failed:
        raise ProvenanceError(f"the demo's WARC import failed: {imported.failed[0].error}")
    click.echo(f"   {len(imported.files)} WARC files, {imported.totals()['rows']} records, "
               f"{imported.documents} new or changed documents")

    site_root = resources.files("provenance.sample") / "site"
    with resources.as_file(site_root) as root, LocalSite.preferring(root, DEMO_PORT) as site:
        step(f"Crawl the sample site served at {site.url('/')}")
        summary = run_crawl(workspace, [site.url("/")], demo_settings())
        click.echo(f"   {summary.line()}")
        if summary.status == "failed":
            raise ProvenanceError(f"the demo crawl failed: {summary.reason}")

        step("Transcribe the audio the crawl discovered (Whisper tiny.en, CPU int8)")
        _, tstats = transcribe_media(ledger, Request(from_ledger=True), resolve_model(None),
                                     choose_runtime("cpu"), Settings(allow_private=True))  # 127.0.0.1
        click.echo(f"   {tstats.done} transcribed, {tstats.skipped_done} already done, {tstats.failed} failed")

    step("Find near-duplicates")
    dedup = run_dedup(ledger, DedupOptions(workers=1))
    click.echo(f"   {dedup.documents} documents, {dedup.clusters} clusters holding "
               f"{dedup.clustered_documents} documents")

    step("Export with the `open` policy and write the audit report")
    done = audit_and_export(workspace, policy="open")
    click.echo(f"   {done.export.n_documents} documents cleared for export")

    click.echo("")
    for title, query in SUMMARY_QUERIES:
        result = run_query(ledger, query)
        click.echo(f"== {title}\n$ provenance sql \"{query}\"")
        click.echo(render_table(result.columns, result.rows) + "\n")
    click.echo(f"Audit report: {done.report}")
    click.echo(f"Export:       {done.export.out_dir}  (manifest.parquet, ATTRIBUTION.md, croissant.json, data/)")
    click.echo(f"Ask your own questions: provenance -w {workspace.root} sql \"SELECT * FROM documents LIMIT 5\"")


class _Steps:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, title: str) -> None:
        self.n += 1
        click.echo(f"{self.n}. {title}")
