"""Inline SVG bar charts: no scripts, no external resources, readable without CSS."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from provenance.audit.formatting import cell, numeric

# Series colours: consent values get their own, other series take the palette in order.
SERIES_COLOURS = {"granted": "#2e7d32", "unspecified": "#9e9e9e", "opted_out": "#c62828"}
PALETTE = ("#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#558b2f")

WIDTH = 760
LABEL_W = 230
VALUE_W = 90
BAR_H = 18
GAP = 6
TOP = 8


def _colour(series: str, index: int) -> str:
    return SERIES_COLOURS.get(series, PALETTE[index % len(PALETTE)])


def bar_chart(title: str, labels: Sequence[str], series: Sequence[str],
              values: Sequence[Sequence[object]], *, percent: bool = False) -> str:
    """Horizontal bars, one per label; several series stack in one bar with a legend."""
    rows = list(zip(labels, values))
    legend_h = 22 if len(series) > 1 else 0
    height = TOP + legend_h + len(rows) * (BAR_H + GAP) + 4
    plot_w = WIDTH - LABEL_W - VALUE_W
    totals = [sum(numeric(v) for v in vals) for _, vals in rows]
    scale_max = 1.0 if percent else max(totals, default=0.0)
    scale = plot_w / scale_max if scale_max > 0 else 0.0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
           f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
           f'aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    if legend_h:
        x = float(LABEL_W)
        for i, name in enumerate(series):
            out.append(f'<rect x="{x}" y="{TOP}" width="12" height="12" fill="{_colour(name, i)}"/>')
            out.append(f'<text x="{x + 16}" y="{TOP + 10}" class="legend">{escape(name.replace("_", " "))}</text>')
            x += 24 + 8 * len(name)
    y = TOP + legend_h
    for (name, vals), total in zip(rows, totals):
        shown = name if len(name) <= 34 else name[:33] + "\u2026"
        out.append(f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 5}" text-anchor="end" class="label">'
                   f"<title>{escape(name)}</title>{escape(shown)}</text>")
        x = float(LABEL_W)
        for i, (serie, value) in enumerate(zip(series, vals)):
            w = numeric(value) * scale
            if w <= 0:
                continue
            tip = f"{name}: {serie.replace('_', ' ')} {cell(serie, value)}"
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" '
                       f'fill="{_colour(serie, i)}"><title>{escape(tip)}</title></rect>')
            x += w
        total_text = cell(series[0], vals[0]) if len(series) == 1 else cell("total", int(total))
        out.append(f'<text x="{x + 6:.1f}" y="{y + BAR_H - 5}" class="value">{escape(total_text)}</text>')
        y += BAR_H + GAP
    out.append("</svg>")
    return "".join(out)
