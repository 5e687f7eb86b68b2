"""``provenance export``: the documents a policy clears, with attribution and provenance."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.cli.jsonout import note_output
from provenance.cli.options import workspace_of
from provenance.progress import Progress


@click.command()
@click.option("--policy", required=True, metavar="NAME_OR_FILE",
              help="A built-in policy (open, research, strict) or a TOML policy file.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Directory to write: new or empty, or an earlier export (replaced only when it holds "
                   "nothing but what that export wrote). Never the workspace, a directory above it, or "
                   "a place inside it other than exports/ and reports/.")
@click.option("--creator", default=None,
              help="Who makes the dataset, for croissant.json (default: your user name).")
@click.option("--url", default=None, metavar="URL",
              help="Where the dataset will be published (an http(s) URL), for croissant.json.")
@click.pass_context
def export(ctx: click.Context, policy: str, out: Path, creator: str | None, url: str | None) -> None:
    """Export the documents a policy clears, in Hugging Face's dataset layout: data/train-*.parquet
    (zstd; id, text and provenance columns), manifest.parquet, ATTRIBUTION.md, croissant.json
    (Croissant 1.1 with RAI fields), a README data card and provenance-export.json (every file's
    SHA-256 and the root hash).

    Every text is re-hashed first: if any differs from the ledger's text_sha256 nothing is written
    and the doc_ids are named. Revoked documents are never exported. The export is recorded in the
    ledger (views exports, export_members); the same ledger and policy give byte-identical files.
    Check a copy anywhere with `provenance verify DIR`.
    """
    from provenance.export import export_policy
    from provenance.ledger import Ledger
    from provenance.policies import load_policy

    chosen = load_policy(policy)
    with Progress(f"export {chosen.name}", "documents") as shown:
        result = export_policy(Ledger(workspace_of(ctx)), chosen, out, creator=creator, url=url,
                               progress=shown.advance)
    note = "" if result.recorded else " (the same export was recorded before: nothing new in the ledger)"
    click.echo(f"export {result.export_id}: {result.n_documents:,} documents ({result.n_chars:,} characters) "
               f"cleared by policy {chosen.name}, {result.n_attribution:,} listed in ATTRIBUTION.md; "
               f"root sha256 {result.root_sha256}{note}", err=True)
    if result.n_documents == 0:
        click.echo("warning: the policy cleared no document; run `provenance audit` to see why", err=True)
    note_output("export", result.out_dir)
    click.echo(str(result.out_dir))
