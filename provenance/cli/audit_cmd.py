"""``provenance audit``: the licensing and consent audit report (HTML, Markdown or JSON)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provenance.cli.jsonout import note_output
from provenance.cli.options import workspace_of

FORMATS = ("html", "md", "json")


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Report format (default: from the --out file name, else html).")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default=None,
              help="Where to write the report (default: WORKSPACE/reports/audit.FORMAT; - for stdout). "
                   "Never a file of the workspace outside reports/ and exports/, nor an existing file "
                   "that is not an earlier report.")
@click.option("--policy", "policies", multiple=True, metavar="NAME_OR_FILE",
              help="Also show what this policy clears (a built-in name or a TOML file); repeatable. "
                   "The built-ins open, research and strict are always shown.")
@click.pass_context
def audit(ctx: click.Context, fmt: str | None, out: Path | None, policies: tuple[str, ...]) -> None:
    """Write the audit: licenses, consent and its mechanisms, conflicts, transcripts, near-duplicates,
    revocations, what each policy clears, top domains by volume and consent drift.

    Every number comes from a named SQL query listed in the report's appendix, so it can be
    reproduced with `provenance sql`. The HTML file is self-contained: it opens offline.
    """
    from provenance.audit import REPORT_MARK, build_report, format_for, render, save
    from provenance.audit.build import require_ledger
    from provenance.stage import open_run
    from provenance.outputs import check_file
    from provenance.ledger import Ledger
    from provenance.policies import BUILTIN_NAMES, builtins, load_policy

    workspace = workspace_of(ctx)
    to_stdout = out is not None and str(out) == "-"
    if to_stdout and ctx.params.get("as_json"):
        raise click.UsageError("--json prints its object on stdout: give --out a file, not -")
    fmt = format_for(None if to_stdout else out, fmt)
    target = None if to_stdout else out if out is not None else workspace.reports_dir / f"audit.{fmt}"
    if target is not None:  # refuse a harmful destination before the work, not after
        check_file(target, workspace, REPORT_MARK)
    chosen = list(builtins()) + [load_policy(p) for p in policies if p not in BUILTIN_NAMES]
    names = [p.name for p in chosen]
    if len(set(names)) != len(names):
        raise click.UsageError(f"two policies share a name ({', '.join(names)}): give each a distinct `name`")
    ledger = Ledger(workspace)
    require_ledger(ledger)  # refused before a run is recorded (build_report prepares the ledger)
    config = {"policies": names, "format": fmt, "out": "-" if target is None else str(target)}
    with open_run(ledger, "audit", config) as run:
        report = build_report(ledger, chosen)
        text = render(report, fmt)
        totals = report.result("corpus_totals").first()
        cleared = {r["policy"]: r["share_documents"] for r in report.result("policy_clearance").records()}
        run.note(documents=totals.get("documents", 0), cleared=cleared)
        shares = ", ".join(f"{name} {cleared[name] or 0:.1%}" for name in names if name in cleared)
        summary = f"audit of {totals.get('documents', 0):,} documents; cleared: {shares}"
        if to_stdout:
            sys.stdout.write(text)
            click.echo(summary, err=True)
            return
        assert target is not None
        path = save(text, target, workspace)
        run.note(report=str(path))
    note_output("report", path)
    click.echo(f"{summary}; report: {path}", err=True)
    click.echo(str(path))
