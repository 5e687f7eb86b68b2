"""The audit as JSON: the same sections and blocks, every query with its SQL and its rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
from typing import Any

from provenance.audit.model import Report


def _value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    return str(value)


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "title": report.title,
        "workspace": report.workspace,
        "generated_at": report.generated_at,
        "ledger_as_of": report.ledger_as_of,
        "sections": [
            {"id": s.id, "title": s.title, "intro": s.intro,
             "blocks": [dataclasses.asdict(b) for b in s.blocks]}
            for s in report.sections
        ],
        "queries": {
            name: {"title": r.title, "sql": r.sql, "skipped": r.skipped, "columns": list(r.columns),
                   "rows": [{c: _value(v) for c, v in zip(r.columns, row)} for row in r.rows]}
            for name, r in report.queries.items()
        },
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
