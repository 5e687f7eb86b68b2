"""Policy-based exports: cleared documents with text, manifest, attribution, Croissant and a data card.

``export_policy(ledger, policy, out_dir)`` is the whole export (see :mod:`provenance.export.run`);
``audit_and_export(workspace)`` writes the audit report and an export in one call (for the demo);
``verify_export(directory)`` checks an export against its own manifest and marker (no workspace).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provenance.export.run import ExportError, ExportResult, export_policy
from provenance.export.verify import Verification, verify_export
from provenance.workspace import Workspace

__all__ = ["AuditAndExport", "ExportError", "ExportResult", "Verification", "audit_and_export", "export_policy",
           "verify_export"]


@dataclass(frozen=True, slots=True)
class AuditAndExport:
    report: Path
    export: ExportResult


def audit_and_export(workspace: Workspace | str | Path, *, policy: str = "open",
                     report: Path | None = None, out: Path | None = None,
                     fmt: str = "html") -> AuditAndExport:
    """Export with ``policy`` (default ``open``), then write the audit (which then lists the export).

    Defaults: ``<workspace>/exports/<policy>`` and ``<workspace>/reports/audit.<fmt>``.
    """
    from provenance.audit import write_report
    from provenance.ledger import Ledger
    from provenance.policies import load_policy

    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    ledger = Ledger(ws)
    chosen = load_policy(policy)
    result = export_policy(ledger, chosen, out or ws.exports_dir / chosen.name)
    report_path = report or ws.reports_dir / f"audit.{fmt}"
    write_report(ledger, report_path, fmt)
    return AuditAndExport(report_path, result)
