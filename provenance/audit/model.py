"""The audit report as data: sections of tables, charts and figures, every number from a named query.

Renderers (HTML, Markdown, JSON) turn one :class:`Report` into text; none of them computes a number.
Each block names the query whose rows it shows, and the report's appendix lists every query's SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One named query, its SQL as run, and its rows."""

    name: str
    title: str
    sql: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    skipped: str | None = None  # why it was not run (a view it needs does not exist)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def first(self) -> dict[str, Any]:
        return self.records()[0] if self.rows else {}


@dataclass(frozen=True, slots=True)
class Figures:
    """A few headline numbers from the single row of a query: (label, column) pairs."""

    query: str
    items: tuple[tuple[str, str], ...]
    kind: Literal["figures"] = "figures"


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of a query; ``columns`` picks and orders them (default: all)."""

    query: str
    caption: str = ""
    columns: tuple[str, ...] = ()
    empty: str = "nothing to show"
    kind: Literal["table"] = "table"


@dataclass(frozen=True, slots=True)
class BarChart:
    """Horizontal bars: one bar per row, labelled by ``label``; ``values`` stack in one bar."""

    query: str
    title: str
    label: str
    values: tuple[str, ...]
    max_bars: int = 15
    percent: bool = False  # values are shares in [0, 1]
    kind: Literal["bar_chart"] = "bar_chart"


@dataclass(frozen=True, slots=True)
class Note:
    """Prose that explains a section; it carries no numbers."""

    text: str
    kind: Literal["note"] = "note"


Block = Figures | Table | BarChart | Note


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    intro: str
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    title: str
    workspace: str
    generated_at: str  # ISO 8601, UTC
    ledger_as_of: str | None  # the latest time any fact in the ledger was recorded
    sections: tuple[Section, ...]
    queries: dict[str, QueryResult] = field(default_factory=dict)

    def result(self, name: str) -> QueryResult:
        return self.queries[name]
