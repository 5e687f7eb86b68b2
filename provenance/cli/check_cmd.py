"""``provenance check``: verify that a workspace still holds everything its ledger records."""

from __future__ import annotations

import dataclasses
import json

import click

from provenance.cli.options import workspace_of
from provenance.progress import Progress
from provenance.errors import ProvenanceError


class CheckFailed(ProvenanceError):
    """The workspace lost something its ledger records."""


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object on stdout.")
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Verify the workspace: every registered shard present and readable, every document's text
    in its shard and matching its text_sha256, every ledger reference resolvable.

    Reads only (shards are streamed); exits 1 when anything is lost or changed, naming it.
    """
    from provenance.check import check_workspace

    workspace = workspace_of(ctx)
    with Progress("check: texts", "texts") as bar:
        report = check_workspace(workspace, progress=bar.advance)
    if as_json:
        data = dataclasses.asdict(report)
        data["ok"] = report.ok
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        click.echo(f"workspace {report.workspace}")
        click.echo(f"shards:     {report.shards_present:,} of {report.shards_registered:,} registered present")
        click.echo(f"texts:      {report.texts_matching:,} of {report.texts_checked:,} listed in present "
                   f"shards match their text_sha256")
        click.echo(f"references: {report.references_checked} kinds checked")
        for p in report.problems:
            click.echo(f"  {p.kind}: {p.subject}: {p.detail}")
        shown = len(report.problems)
        total = sum(report.counts.values())
        if total > shown:
            click.echo(f"  ... and {total - shown:,} more (--json lists the same; the counts are complete)")
        if report.ok:
            click.echo("ok: nothing lost or changed")
    if not report.ok:
        summary = ", ".join(f"{n:,} {kind}" for kind, n in sorted(report.counts.items()))
        raise CheckFailed(f"the workspace {report.workspace} lost or changed what its ledger records "
                          f"({summary}): restore shards/ from a backup, or re-import the documents named above")
