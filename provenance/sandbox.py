"""The read sandbox: every connection that runs SQL a user (or a report) wrote goes through here.

Two layers, because neither is enough alone (measured on DuckDB 2.0.1: with ``allowed_paths``
naming each shard, ``COPY ... TO '<shard>' (USE_TMP_FILE false)`` still overwrites that shard; and a
statement filter alone leaves ``read_csv('/etc/passwd')`` and extension auto-install open):

1. **DuckDB's parser decides what runs** (:func:`judge`): the text must be exactly one statement
   whose type is SELECT (SHOW, DESCRIBE, SUMMARIZE, FROM ..., VALUES and WITH are SELECTs to the
   parser). An EXPLAIN [ANALYZE] is judged by the statement it wraps, found with DuckDB's own
   tokenizer and parser. No text patterns.
2. **The engine's sandbox, sealed before any user text is seen** (:func:`seal`): a read-only
   connection; extension autoload and autoinstall off; file access limited to the workspace's
   registered shard files (``allowed_paths``, set while external access is still on, as DuckDB
   requires), then ``enable_external_access = false`` and ``lock_configuration = true``.

The ``corpus`` view is re-declared as a temporary view over exactly the registered shard files
(the stored view globs ``shards/``, which the sandbox does not allow). When a registered shard is
missing from the workspace, reading ``corpus`` fails with a message naming it, rather than
silently showing fewer documents.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from provenance.errors import ProvenanceError
from provenance.ledger import EMPTY_SHARD, Ledger
from provenance.workspace import Workspace

ALLOWED_STATEMENT = "SELECT"


class QueryError(ProvenanceError):
    """The SQL was refused or failed; the message carries DuckDB's own words."""


def _refused(kind: str, wrapped: bool = False) -> QueryError:
    what = f"EXPLAIN of a {kind} statement is" if wrapped else f"{kind} statements are"
    return QueryError(
        f"{what} refused: SQL here only reads the ledger (SELECT, or EXPLAIN of a SELECT). "
        f"Changes go through the provenance commands (import, crawl, revoke, ...)."
    )


def _parse(sql: str) -> list[duckdb.Statement]:
    if not isinstance(sql, str):
        raise QueryError(f"the query must be text, not {type(sql).__name__}")
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError as exc:  # e.g. undecodable bytes read from stdin or argv
        raise QueryError(f"the query is not valid UTF-8 text (at character {exc.start}): "
                         f"save it as UTF-8 and run it again") from None
    try:
        return duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc).strip().splitlines()[0]) from exc


def judge(sql: str) -> None:
    """Layer 1: accept exactly one SELECT, or an EXPLAIN [ANALYZE] of one; raise QueryError otherwise."""
    statements = _parse(sql)
    if not statements:
        raise QueryError("no SQL statement given")
    if len(statements) > 1:
        raise QueryError(f"{len(statements)} statements given: run one statement per call")
    statement = statements[0]
    kind = statement.type.name
    if kind == "EXPLAIN":
        inner = _explained(statement.query)
        if inner is None:
            raise QueryError("this EXPLAIN could not be read: write EXPLAIN [ANALYZE] SELECT ...")
        inner_kind = inner.type.name
        if inner_kind != ALLOWED_STATEMENT:
            raise _refused(inner_kind, wrapped=True)
        return
    if kind != ALLOWED_STATEMENT:
        raise _refused(kind)


def _explained(sql: str) -> duckdb.Statement | None:
    """The statement an EXPLAIN wraps, per DuckDB's grammar of EXPLAIN:
    ``EXPLAIN [ANALYZE|ANALYSE] [VERBOSE] ['(' options ')'] statement``, read with DuckDB's tokenizer
    (so comments and string constants are never mistaken for keywords). None if it cannot be told."""
    tokens = [(pos, kind) for pos, kind in duckdb.tokenize(sql)]
    spans = []
    for i, (pos, kind) in enumerate(tokens):
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(sql)
        if kind != duckdb.token_type.comment:
            spans.append((pos, kind, sql[pos:end].strip()))
    if not spans or spans[0][2].upper() != "EXPLAIN":
        return None
    i = 1

    def keyword(i: int, *words: str) -> bool:
        return i < len(spans) and spans[i][1] == duckdb.token_type.keyword and spans[i][2].upper() in words

    if keyword(i, "ANALYZE", "ANALYSE"):
        i += 1
    if keyword(i, "VERBOSE"):
        i += 1
    if i < len(spans) and spans[i][1] == duckdb.token_type.operator and spans[i][2].startswith("("):
        whole = _single(sql[spans[i][0]:])  # EXPLAIN (SELECT ...) wraps a parenthesised query
        if whole is not None:
            return whole
        depth = 0
        while i < len(spans):  # skip the option list: '(' ... ')' balanced
            if spans[i][1] == duckdb.token_type.operator:
                depth += spans[i][2].count("(") - spans[i][2].count(")")
            i += 1
            if depth <= 0:
                break
        if depth != 0:
            return None
    if i >= len(spans):
        return None
    return _single(sql[spans[i][0]:])


def _single(sql: str) -> duckdb.Statement | None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        return None
    return statements[0] if len(statements) == 1 else None


# --- layer 2: the engine's sandbox ---------------------------------------------------------------


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def registered_shards(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The shard files the ledger registered (paths relative to the workspace), sorted."""
    return [r[0] for r in con.execute("SELECT shard FROM shard_log ORDER BY shard").fetchall()]


def missing_shard_message(workspace: Workspace, missing: list[str]) -> str:
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return (f"{len(missing)} shard file{'s' if len(missing) != 1 else ''} registered in the ledger "
            f"{'are' if len(missing) != 1 else 'is'} missing from {workspace.root}: {shown}. Their documents' "
            f"text is gone: restore shards/ from a backup (or re-import those documents); "
            f"`provenance check` lists every loss")


def _corpus_sql(workspace: Workspace, shards: list[str]) -> tuple[str, list[str], list[str]]:
    """The temporary ``corpus`` view over exactly the registered shards; with the files it reads."""
    present = [s for s in shards if workspace.absolute(s).is_file()]
    missing = [s for s in shards if s not in set(present)]
    files = [str(workspace.absolute(s)) for s in present]
    empty = workspace.absolute(EMPTY_SHARD)
    if not files and empty.is_file():
        files = [str(empty)]
    if files:
        # every shard has SHARD_SCHEMA (provenance.shards writes no other), so the view binds
        # from the first file's footer: union_by_name would read every shard's footer at each
        # open, a cost that grows with the corpus
        source = f"SELECT c.* FROM read_parquet([{', '.join(_quote(f) for f in files)}]) c"
    else:  # no shard at all, not even the empty one: the shard columns, no rows
        from provenance.shards import SHARD_SCHEMA

        columns = ", ".join(f"NULL::VARCHAR AS {name}" for name in SHARD_SCHEMA.names)
        source = f"SELECT {columns} WHERE false"
    if missing:
        # a one-row side that raises when read: any scan of corpus names the lost shards
        message = missing_shard_message(workspace, missing)
        source = (f"SELECT c.* FROM ({source}) c SEMI JOIN "
                  f"(SELECT error({_quote(message)})::BOOLEAN AS ok) lost ON lost.ok IS NULL OR lost.ok")
    return source, files, missing


def seal(con: duckdb.DuckDBPyConnection, workspace: Workspace) -> duckdb.DuckDBPyConnection:
    """Layer 2 on a read-only connection: after this, nothing the connection runs can change a
    setting, load or install an extension, or touch a file other than the registered shards."""
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET allow_community_extensions = false")
    source, files, _ = _corpus_sql(workspace, registered_shards(con))
    con.execute(f"CREATE OR REPLACE TEMP VIEW corpus AS {source}")
    stored = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'corpus' AND NOT temporary "
                         "AND schema_name = 'main'").fetchall()
    if stored and stored[0][0]:  # the stored view's documentation, one definition
        con.execute(f"COMMENT ON VIEW temp.main.corpus IS {_quote(stored[0][0])}")
    con.execute("SET allowed_directories = []")
    con.execute("SET allowed_paths = ?", [files])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def open_sandboxed(workspace: Ledger | Workspace | str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only, sealed connection to a workspace's ledger with every view ready (the caller closes it)."""
    ledger = workspace if isinstance(workspace, Ledger) else Ledger(
        workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace))
    con = ledger.open_reader()
    try:
        return seal(con, ledger.workspace)
    except BaseException:
        con.close()
        raise


class ReadOnlyConnection:
    """What :func:`provenance.connect` returns: a sealed read-only DuckDB connection whose SQL is
    judged like ``provenance sql``'s. ``execute`` returns this object (as DuckDB's does), so results
    are fetched the usual ways; the raw connection is never handed out.

    It guards against mistakes and against SQL that came from someone else; it is not a jail for
    the Python process that holds it (that process can write files with ``open()`` anyway).
    """

    _FETCH = ("fetchall", "fetchone", "fetchmany", "fetchdf", "df", "fetchnumpy", "fetch_arrow_table",
              "arrow", "pl", "fetch_record_batch", "fetch_df_chunk", "description", "rowcount", "interrupt")

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def execute(self, query: str, parameters: object = None) -> ReadOnlyConnection:
        judge(query)
        self._con.execute(query, parameters)
        return self

    def sql(self, query: str, *, params: object = None) -> duckdb.DuckDBPyRelation:
        judge(query)
        return self._con.sql(query, params=params)

    query = sql

    def table(self, name: str) -> duckdb.DuckDBPyRelation:
        return self._con.table(name)

    def cursor(self) -> ReadOnlyConnection:
        return ReadOnlyConnection(self._con.cursor())

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> ReadOnlyConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> object:
        if name in self._FETCH:
            return getattr(self._con, name)
        raise AttributeError(f"a read-only provenance connection has no {name!r}: it runs SELECT "
                             f"queries (execute, sql, query, table) and fetches their results")


def connect(workspace: Workspace | str | os.PathLike | None = None) -> ReadOnlyConnection:
    """The library's read-only connection (see :class:`ReadOnlyConnection`)."""
    return ReadOnlyConnection(open_sandboxed(workspace))


@contextmanager
def sandboxed(ledger: Ledger) -> Iterator[duckdb.DuckDBPyConnection]:
    """``with sandboxed(ledger) as con:`` a sealed read-only connection, closed afterwards."""
    con = open_sandboxed(ledger)
    try:
        yield con
    finally:
        con.close()
