"""How values look in the human-readable renderings (HTML and Markdown); JSON keeps raw values."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from typing import Any

from provenance.audit.model import Block, QueryResult, Table

EMPTY = "\u2014"  # em dash for NULL


def is_share(column: str) -> bool:
    return column.startswith("share")


def cell(column: str, value: Any) -> str:
    """One value as text: shares as percentages, counts with thousands separators."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if is_share(column) and isinstance(value, (int, float)):
        return f"{value * 100:.1f} %"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(column, v) for v in value)
    return str(value)


def label(column: str) -> str:
    """A column name as a heading: ``share_documents`` -> ``share of documents``."""
    text = column.replace("_", " ")
    if text.startswith("share "):
        text = "share of " + text[len("share "):]
    return text


def table_columns(block: Table, result: QueryResult) -> Sequence[str]:
    return block.columns or result.columns


def numeric(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return 0.0
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(value)
    return 0.0


def block_query(block: Block) -> str | None:
    return getattr(block, "query", None)
