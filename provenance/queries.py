"""Read-only SQL for users: one SELECT, judged by DuckDB's parser, on a sealed read-only
connection (:mod:`provenance.sandbox`), with a time limit."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from provenance.ledger import Ledger
from provenance.sandbox import QueryError, judge, sandboxed

__all__ = ["QueryError", "QueryResult", "run_query"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False


def _one_line(exc: duckdb.Error) -> str:
    """DuckDB's message without its caret drawing (first line; LINE/^ context dropped)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def run_query(ledger: Ledger, sql: str, params: dict[str, Any] | Sequence[Any] | None = None,
              *, max_rows: int | None = None, timeout_s: float | None = None) -> QueryResult:
    if max_rows is not None and max_rows < 0:
        raise QueryError(f"max_rows must be 0 or more, not {max_rows}")
    if timeout_s is not None and timeout_s < 0:
        raise QueryError(f"the timeout must be 0 or more seconds, not {timeout_s:g}")
    judge(sql)  # before the ledger is even opened
    with sandboxed(ledger) as con:
        timer = None
        if timeout_s:
            timer = threading.Timer(timeout_s, con.interrupt)
            timer.start()
        try:
            cursor = con.execute(sql, params or None)
            columns = [d[0] for d in cursor.description or []]
            types = [str(d[1]) for d in cursor.description or []]
            if max_rows is None:
                rows = cursor.fetchall()
                truncated = False
            else:
                rows = cursor.fetchmany(max_rows + 1)
                truncated = len(rows) > max_rows
                rows = rows[:max_rows]
        except duckdb.InterruptException as exc:
            raise QueryError(f"the query ran longer than {timeout_s:g} s and was stopped; "
                             f"raise --timeout or narrow the query") from exc
        except duckdb.Error as exc:
            raise QueryError(_one_line(exc)) from exc
        finally:
            if timer:
                timer.cancel()
    return QueryResult(columns, types, rows, truncated)
