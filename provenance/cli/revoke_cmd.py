"""``provenance revoke``: record an owner's request to take their work out."""

from __future__ import annotations

import click

from provenance.cli.options import workspace_of


@click.command()
@click.option("--domain", default=None, help="Revoke every document of this domain and its subdomains.")
@click.option("--url", default=None, help="Revoke the document at this URL.")
@click.option("--reason", required=True, help="Why (e.g. \"publisher request 2026-11-02\"); kept in the ledger.")
@click.option("--by", "requested_by", default=None, help="Who asked (default: your user name).")
@click.pass_context
def revoke(ctx: click.Context, domain: str | None, url: str | None, reason: str,
           requested_by: str | None) -> None:
    """Revoke a domain or a URL: who asked, what, when and why go to the ledger.

    The revocation reaches the matching documents and every near-duplicate of them; later exports
    exclude them, the audit shows them, and the view revocation_impact lists each affected export.
    """
    from provenance.ledger import Ledger
    from provenance.revoke import revoke as record

    if (domain is None) == (url is None):
        raise click.UsageError("give exactly one of --domain or --url")
    result = record(Ledger(workspace_of(ctx)), domain=domain, url=url, reason=reason,
                    requested_by=requested_by)
    r = result.revocation
    head = "revoked" if result.new else "already revoked (nothing added)"
    click.echo(f"{head} {r.kind} {r.value} ({r.revocation_id}) at {r.revoked_at:%Y-%m-%d %H:%M:%S} UTC, "
               f"requested by {r.requested_by}: {result.documents_matched:,} documents matched, "
               f"{result.near_duplicates:,} near-duplicates of them", err=True)
    if result.documents_matched == 0:
        click.echo("note: no document matches now; the revocation also applies to documents fetched later",
                   err=True)
    for e in result.exports:
        click.echo(f"  export {e.export_id} (policy {e.policy}, {e.out_dir}, {e.exported_at:%Y-%m-%d %H:%M}) "
                   f"holds {e.documents:,} of them: re-export to drop them", err=True)
    click.echo(r.revocation_id)
