"""Read-only SQL for users: only statements that read, on a read-only connection, with a time limit."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from provenance.errors import ProvenanceError
from provenance.ledger import Ledger

READ_STATEMENTS = {"SELECT", "EXPLAIN"}


class QueryError(ProvenanceError):
    """The SQL was refused or failed; the message carries DuckDB's own words."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but one reading statement (SELECT, EXPLAIN, SHOW, DESCRIBE, FROM ...)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    if not statements:
        raise QueryError("no SQL statement given")
    if len(statements) > 1:
        raise QueryError(f"{len(statements)} statements given: run one statement per call")
    kind = statements[0].type.name
    if kind not in READ_STATEMENTS:
        raise QueryError(
            f"{kind} statements are refused: `provenance sql` only reads the ledger. "
            f"Changes go through the provenance commands (import, crawl, revoke, ...)."
        )


def run_query(ledger: Ledger, sql: str, params: dict[str, Any] | Sequence[Any] | None = None,
              *, max_rows: int | None = None, timeout_s: float | None = None) -> QueryResult:
    with ledger.reader() as con:
        check_read_only(con, sql)
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
            raise QueryError(str(exc)) from exc
        finally:
            if timer:
                timer.cancel()
    return QueryResult(columns, types, rows, truncated)
