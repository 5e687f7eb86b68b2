"""The audit as Markdown: the same sections, tables and queries; charts become text bars."""

from __future__ import annotations

from provenance.audit.formatting import cell, label, numeric, table_columns
from provenance.audit.model import BarChart, Block, Figures, Note, QueryResult, Report, Table

BAR_WIDTH = 40


def render_markdown(report: Report) -> str:
    out = [f"# {report.title}", "",
           f"Workspace `{report.workspace}` · generated {report.generated_at} · "
           f"ledger as of {report.ledger_as_of or 'empty'}", "", "## Contents", ""]
    for i, section in enumerate(report.sections, start=1):
        out.append(f"{i}. [{section.title}](#{section.id})")
    out.append(f"{len(report.sections) + 1}. [Appendix: the queries](#appendix)")
    for section in report.sections:
        out += ["", f'<a id="{section.id}"></a>', "", f"## {section.title}", "", section.intro]
        for block in section.blocks:
            text = _block(block, report)
            if text:
                out += ["", text]
    out += ["", '<a id="appendix"></a>', "", "## Appendix: the queries", "",
            "Each number above comes from one of these queries over the ledger's views. Reproduce "
            "any of them with `provenance -w WORKSPACE sql \"...\"`."]
    for result in report.queries.values():
        note = f" (not run: {result.skipped})" if result.skipped else ""
        out += ["", f"### {result.name}", "", f"{result.title}{note}", "", "```sql", result.sql, "```"]
    return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
            .replace("<", "&lt;").replace(">", "&gt;"))


def _source(result: QueryResult) -> str:
    return f"_From query `{result.name}`._"


def _block(block: Block, report: Report) -> str:
    if isinstance(block, Note):
        return block.text
    result = report.result(block.query)
    title = block.caption if isinstance(block, Table) else getattr(block, "title", "")
    if result.skipped:
        return f"### {title or result.title}\n\n_Not available: {result.skipped}._ {_source(result)}"
    if isinstance(block, Figures):
        row = result.first()
        lines = [f"- **{name}**: {cell(col, row.get(col))}" for name, col in block.items]
        return "\n".join(lines) + f"\n\n{_source(result)}"
    if isinstance(block, BarChart):
        return _bars(block, result)
    assert isinstance(block, Table)
    return f"### {title or result.title}\n\n{_table(block, result)}\n\n{_source(result)}"


def _bars(block: BarChart, result: QueryResult) -> str:
    rows = result.records()[: block.max_bars]
    if not rows:
        return ""
    totals = [sum(numeric(r[v]) for v in block.values) for r in rows]
    top = 1.0 if block.percent else max(totals, default=0.0)
    width = max(len(str(r[block.label])) for r in rows)
    lines = []
    for r, total in zip(rows, totals):
        n = round(BAR_WIDTH * total / top) if top > 0 else 0
        shown = " + ".join(f"{label(v)} {cell(v, r[v])}" for v in block.values) if len(block.values) > 1 \
            else cell(block.values[0], r[block.values[0]])
        lines.append(f"{str(r[block.label]).ljust(width)}  {'█' * n} {shown}")
    return f"### {block.title}\n\n```text\n" + "\n".join(lines) + f"\n```\n\n{_source(result)}"


def _table(block: Table, result: QueryResult) -> str:
    if not result.rows:
        return f"_{block.empty}._"
    columns = list(table_columns(block, result))
    index = [result.columns.index(c) for c in columns]
    lines = ["| " + " | ".join(_escape(label(c)) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in result.rows:
        lines.append("| " + " | ".join(_escape(cell(c, row[i])) for c, i in zip(columns, index)) + " |")
    return "\n".join(lines)
