"""``provenance sql``: read-only SQL over the ledger's views."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import math
import sys
import uuid
from typing import Any

import click

from provenance.cli.options import output_format, workspace_of


def _jsonable(value: Any, type_name: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        if type_name == "JSON" and isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (uuid.UUID, dt.timedelta)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v, "") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, "") for v in value]
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def render_table(columns: list[str], rows: list[tuple], width: int = 60) -> str:
    cells = [[_cell(v).replace("\n", " ") for v in row] for row in rows]
    cells = [[c if len(c) <= width else c[: width - 1] + "…" for c in row] for row in cells]
    widths = [max([len(col)] + [len(row[i]) for row in cells]) for i, col in enumerate(columns)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |", line]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    out.append(line)
    return "\n".join(out)


MAX_TIMEOUT_S = 7 * 24 * 3600.0


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds (0: no limit)")
    return value


@click.command()
@click.argument("query")
@output_format()
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Bind $NAME in the query to VALUE (repeatable).")
@click.option("--max-rows", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Rows shown in table format (csv and json print all).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, max=MAX_TIMEOUT_S), default=300.0,
              show_default=True, callback=_finite, help="Stop the query after this many seconds (0: no limit).")
@click.pass_context
def sql(ctx: click.Context, query: str, fmt: str, params: tuple[tuple[str, str], ...],
        max_rows: int, timeout_s: float) -> None:
    """Run one read-only SQL query over the ledger (QUERY, or - to read it from stdin).

    Views: documents, corpus, fetches, consent_signals, license_findings, media, clusters,
    revocations, runs, transcriptions, segments, dup_clusters, exports, export_members,
    revocation_impact, consent_changes and more (README, "SQL reference"); table macro
    documents_as_of(ts). Only SELECT (or EXPLAIN of a SELECT) runs, on a read-only connection
    that can read no file but the workspace's shards (docs/security.md).
    """
    from provenance.ledger import Ledger
    from provenance.queries import run_query

    if query == "-":
        query = sys.stdin.read()
    bound = {name: value for name, value in params}
    cap = max_rows if fmt == "table" else None
    result = run_query(Ledger(workspace_of(ctx)), query, bound or None, max_rows=cap,
                       timeout_s=timeout_s or None)
    out = sys.stdout
    if fmt == "json":
        records = [{c: _jsonable(v, t) for c, v, t in zip(result.columns, row, result.types)}
                   for row in result.rows]
        out.write(json.dumps(records, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        for row in result.rows:
            writer.writerow(["" if v is None else _jsonable(v, t) if not isinstance(v, str) else v
                             for v, t in zip(row, result.types)])
    else:
        out.write(render_table(result.columns, result.rows) + "\n")
        if result.truncated:
            click.echo(f"(showing the first {max_rows} rows; use --max-rows or --format csv for all)", err=True)
        else:
            click.echo(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})", err=True)
