"""``provenance relicense``: re-read stored license evidence with the current vocabulary."""

from __future__ import annotations

import dataclasses
import json

import click

from provenance.cli.options import workspace_of


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")
@click.pass_context
def relicense(ctx: click.Context, as_json: bool) -> None:
    """Re-read every stored license statement with the current license vocabulary.

    A statement that now reads differently gets a new license_findings row (with the vocabulary
    version), and a document whose license changes gets a new observation; nothing stored is
    changed or removed. Running it again adds nothing.
    """
    from crawl.licensing import decide
    from provenance.ledger import Ledger
    from provenance.relicense import relicense as run

    result = run(Ledger(workspace_of(ctx)), decide=decide)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result)))
        return
    click.echo(f"relicense with vocabulary {result.vocabulary} (run {result.run_id}): "
               f"{result.findings_changed:,} of {result.findings_read:,} statements read differently, "
               f"{result.documents_changed:,} of {result.documents_read:,} documents changed license", err=True)
    click.echo(result.run_id)
