"""``provenance export``: the documents a policy clears, with attribution and provenance."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.cli.options import workspace_of
from provenance.cli.progress import progress_counter


@click.command()
@click.option("--policy", required=True, metavar="NAME_OR_FILE",
              help="A built-in policy (open, research, strict) or a TOML policy file.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write (new or empty; an earlier export there is replaced).")
@click.option("--creator", default=None,
              help="Who makes the dataset, for croissant.json (default: your user name).")
@click.pass_context
def export(ctx: click.Context, policy: str, out: Path, creator: str | None) -> None:
    """Export the documents a policy clears: zstd Parquet shards of text and provenance,
    manifest.parquet, ATTRIBUTION.md, croissant.json (Croissant 1.1 with RAI fields) and a README
    data card.

    Revoked documents are never exported. The export is recorded in the ledger (views exports,
    export_members); the same ledger and policy give byte-identical files.
    """
    from provenance.export import export_policy
    from provenance.ledger import Ledger
    from provenance.policies import load_policy

    chosen = load_policy(policy)
    with progress_counter(f"export {chosen.name}", "documents") as advance:
        result = export_policy(Ledger(workspace_of(ctx)), chosen, out, creator=creator, progress=advance)
    note = "" if result.recorded else " (the same export was recorded before: nothing new in the ledger)"
    click.echo(f"export {result.export_id}: {result.n_documents:,} documents ({result.n_chars:,} characters) "
               f"cleared by policy {chosen.name}, {result.n_attribution:,} listed in ATTRIBUTION.md; "
               f"manifest sha256 {result.manifest_sha256[:16]}...{note}", err=True)
    if result.n_documents == 0:
        click.echo("warning: the policy cleared no document; run `provenance audit` to see why", err=True)
    click.echo(str(result.out_dir))
