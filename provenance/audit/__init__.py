"""Licensing and consent audit reports (HTML, Markdown, JSON) built from named SQL queries.

``write_report(ledger, path, fmt)`` runs every query of :mod:`provenance.audit.queries` once on a
read-only connection, lays the results out (:mod:`provenance.audit.build`) and renders them; the
report's appendix lists every query, so each number can be reproduced with ``provenance sql``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from provenance.audit.build import build_report
from provenance.audit.model import Report
from provenance.ledger import Ledger
from provenance.outputs import write_file
from provenance.policies import Policy
from provenance.workspace import Workspace

FORMATS = ("html", "md", "json")
REPORT_MARK = "Licensing and consent audit"  # the report's title, in the first bytes of every format
EXTENSIONS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}

__all__ = ["FORMATS", "Report", "build_report", "format_for", "render", "save", "write_report"]


def render(report: Report, fmt: str) -> str:
    """The report as text in ``fmt`` ('html', 'md' or 'json')."""
    if fmt == "html":
        from provenance.audit.render_html import render_html

        return render_html(report)
    if fmt == "md":
        from provenance.audit.render_markdown import render_markdown

        return render_markdown(report)
    if fmt == "json":
        from provenance.audit.render_json import render_json

        return render_json(report)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def format_for(path: Path | None, fmt: str | None) -> str:
    """The format asked for, else the one the file name suggests, else HTML."""
    if fmt:
        return fmt
    if path is not None:
        return EXTENSIONS.get(path.suffix.lower(), "html")
    return "html"


def write_report(ledger: Ledger, path: Path, fmt: str = "html",
                 policies: Sequence[Policy] | None = None) -> Report:
    """Build the audit and write it to ``path`` atomically; returns the report."""
    report = build_report(ledger, policies)
    save(render(report, fmt), path, ledger.workspace)
    return report


def save(text: str, path: Path, workspace: Workspace | None = None) -> Path:
    """Write a report file atomically (a reader never sees half of it) through
    :mod:`provenance.outputs`: never into the workspace's own files or over a file that is not an
    earlier report; returns the resolved path."""
    return write_file(path, text, workspace, REPORT_MARK)
