"""``provenance migrate``: bring an existing ledger's schema up to this version's."""

from __future__ import annotations

import click

from provenance.cli.options import workspace_of


@click.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Upgrade the workspace's ledger to this version's schema (the migrations it lacks, each in
    its own transaction). Readers (sql, audit, the Python API) never change a ledger: they ask
    for this when the ledger is older than the code. Any write command does the same first.
    """
    from provenance.ledger import Ledger, LedgerMissingError

    workspace = workspace_of(ctx)
    ledger = Ledger(workspace)
    if not ledger.path.exists():
        raise LedgerMissingError(
            f"there is no ledger in {workspace.root} to upgrade: pass the right workspace with -w DIR.")
    applied = ledger.migrate()
    if applied:
        click.echo(f"applied migrations {', '.join(f'{v:04d}' for v in applied)} to {ledger.path}")
    else:
        click.echo(f"{ledger.path} is up to date")
