"""The audit as one self-contained HTML file: inline CSS, inline SVG charts, no scripts, no CDN."""

from __future__ import annotations

from html import escape

from provenance.audit.formatting import cell, is_share, label, table_columns
from provenance.audit.model import BarChart, Block, Figures, Note, QueryResult, Report, Table
from provenance.audit.svg import bar_chart

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
       margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 28px; margin-bottom: 4px; }
h2 { font-size: 21px; border-bottom: 2px solid #e0e0e0; padding-bottom: 4px; margin-top: 40px; }
h3 { font-size: 16px; margin: 22px 0 6px; }
.meta { color: #555; margin: 0 0 16px; }
nav ol { columns: 2; padding-left: 20px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px;
           margin: 12px 0; }
.figure { border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px 12px; background: #fafafa; }
.figure .v { font-size: 20px; font-weight: 600; }
.figure .k { color: #555; font-size: 13px; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 13.5px; width: 100%; }
th, td { border: 1px solid #e0e0e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { overflow-wrap: break-word; }
.src { font-size: 12px; color: #666; margin: 0 0 12px; }
.src a { color: #1565c0; }
.empty { color: #666; font-style: italic; }
.skipped { color: #8d6e00; font-style: italic; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 8px 0; }
svg .label, svg .value, svg .legend { font: 12px system-ui, sans-serif; fill: #1b1b1b; }
pre { background: #f6f8fa; border: 1px solid #e0e0e0; padding: 10px; overflow-x: auto;
      font-size: 12.5px; }
.appendix h3 { font-family: ui-monospace, monospace; font-size: 14px; }
@media print { nav { display: none; } h2 { break-before: page; } }
"""


def render_html(report: Report) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>{escape(report.title)}</h1>",
        f'<p class="meta">Workspace <code>{escape(report.workspace)}</code> &middot; generated '
        f"{escape(report.generated_at)} &middot; ledger as of {escape(report.ledger_as_of or 'empty')}</p>",
        "</header>",
        '<nav aria-label="Contents"><h2 id="contents">Contents</h2><ol>',
    ]
    for section in report.sections:
        parts.append(f'<li><a href="#{section.id}">{escape(section.title)}</a></li>')
    parts.append('<li><a href="#appendix">Appendix: the queries</a></li></ol></nav><main>')
    for section in report.sections:
        parts.append(f'<section id="{section.id}"><h2>{escape(section.title)}</h2>')
        parts.append(f"<p>{_inline(section.intro)}</p>")
        for block in section.blocks:
            parts.append(_block(block, report))
        parts.append("</section>")
    parts.append(_appendix(report))
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _inline(text: str) -> str:
    """Escape, then render `code` spans."""
    out = []
    for i, piece in enumerate(escape(text).split("`")):
        out.append(f"<code>{piece}</code>" if i % 2 else piece)
    return "".join(out)


def _source(result: QueryResult) -> str:
    return (f'<p class="src">From query <a href="#q-{result.name}"><code>{escape(result.name)}</code></a>'
            f"</p>")


def _block(block: Block, report: Report) -> str:
    if isinstance(block, Note):
        return f"<p>{_inline(block.text)}</p>"
    result = report.result(block.query)
    if result.skipped:
        title = block.caption if isinstance(block, Table) else getattr(block, "title", result.title)
        return (f"<h3>{escape(title or result.title)}</h3>"
                f'<p class="skipped">Not available: {escape(result.skipped)}.</p>{_source(result)}')
    if isinstance(block, Figures):
        row = result.first()
        items = "".join(f'<div class="figure"><div class="v">{escape(cell(col, row.get(col)))}</div>'
                        f'<div class="k">{escape(name)}</div></div>' for name, col in block.items)
        return f'<div class="figures">{items}</div>{_source(result)}'
    if isinstance(block, BarChart):
        rows = result.records()[: block.max_bars]
        if not rows:
            return ""
        svg = bar_chart(block.title, [str(r[block.label]) for r in rows], block.values,
                        [[r[v] for v in block.values] for r in rows], percent=block.percent)
        return f"<h3>{escape(block.title)}</h3><figure>{svg}</figure>{_source(result)}"
    assert isinstance(block, Table)
    return f"<h3>{escape(block.caption or result.title)}</h3>{_table(block, result)}{_source(result)}"


def _table(block: Table, result: QueryResult) -> str:
    if not result.rows:
        return f'<p class="empty">{escape(block.empty)}.</p>'
    columns = list(table_columns(block, result))
    index = [result.columns.index(c) for c in columns]
    head = "".join(f"<th>{escape(label(c))}</th>" for c in columns)
    body = []
    for row in result.rows:
        cells = []
        for c, i in zip(columns, index):
            value = row[i]
            num = isinstance(value, (int, float)) and not isinstance(value, bool) or is_share(c)
            cls = ' class="num"' if num else ""
            cells.append(f"<td{cls}>{escape(cell(c, value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _appendix(report: Report) -> str:
    parts = ['<section id="appendix" class="appendix"><h2>Appendix: the queries</h2>',
             "<p>Each number above comes from one of these queries over the ledger's views. "
             "Reproduce any of them with <code>provenance -w WORKSPACE sql \"...\"</code>.</p>"]
    for result in report.queries.values():
        note = f' <span class="skipped">(not run: {escape(result.skipped)})</span>' if result.skipped else ""
        parts.append(f'<h3 id="q-{result.name}">{escape(result.name)}</h3>'
                     f"<p>{escape(result.title)}{note}</p><pre><code>{escape(result.sql)}</code></pre>")
    parts.append("</section>")
    return "\n".join(parts)
