"""The ledger: the one owner of the DuckDB database of a workspace.

This is the only module that opens DuckDB for writing. Stages hand it typed records (or Arrow
tables of the same shape); it appends them in batches, idempotently, inside transactions.

* Schema: numbered ``migrations/NNNN_name.sql`` files, applied in order on every write open and
  recorded in ``schema_migrations`` in the same transaction.
* History: tables are append-only. A document gets a new row only when its state changed; the
  other logs are sets (a row identical to a stored one, timestamps and run aside, is not added;
  the fetch log's identity includes the fetch time: every capture of a URL is a row of its own).
* Concurrency: one writer at a time (DuckDB's model). A writer or reader that meets the lock
  retries for a while, then raises :class:`LedgerLockedError` naming the process holding it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from provenance.errors import ProvenanceError
from provenance.version import DISTRIBUTION
from provenance.workspace import Workspace

# provenance.ids (w3lib, tldextract), importlib.metadata and socket are imported where a write
# needs them: `provenance sql` and other readers start without them.


def utcnow():  # noqa: ANN201 (provenance.ids.utcnow's type)
    from provenance.ids import utcnow as now

    return now()


if TYPE_CHECKING:  # pyarrow and the records are imported by the write path only: readers start faster
    import numpy as np
    import pyarrow as pa

    from provenance.records import ConsentSignal, Document, FetchRecord, LicenseFinding, MediaRef, Run

    from provenance.schemas import SetTable

_SCHEMA_NAMES = {"TS", "DOCUMENT_SCHEMA", "FETCH_SCHEMA", "SIGNAL_SCHEMA", "LICENSE_SCHEMA", "MEDIA_SCHEMA",
                 "FETCHES", "SIGNALS", "LICENSES", "MEDIA", "records_to_arrow"}


def __getattr__(name: str) -> Any:
    """The Arrow schemas, still importable from here (loaded on first use)."""
    if name in _SCHEMA_NAMES:
        from provenance import schemas

        return getattr(schemas, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

LOCK_WAIT_S = 30.0  # readers (and one-off writes) wait this long for the lock: a stage holds it for one commit at a time
READER_GRACE_S = 5.0  # how long a writer about to open the ledger lets waiting readers go first
STAGE_LOCK_WAIT_S = 600.0  # a stage's short commits wait this long for readers to finish
EMPTY_SHARD = "shards/_empty.parquet"
VERSIONED_PACKAGES = (
    DISTRIBUTION, "duckdb", "pyarrow", "scrapy", "trafilatura", "faster-whisper", "ctranslate2",
    "datasketch", "xxhash", "numpy",
)


class LedgerError(ProvenanceError):
    """A ledger problem with a message that tells the user what to do."""


class LedgerLockedError(LedgerError):
    """Another process holds the ledger's write lock."""


class LedgerMissingError(LedgerError):
    """The workspace has no ledger yet."""


class LedgerOutdatedError(LedgerError):
    """The ledger's schema is older than the code: a writer (``provenance migrate``) upgrades it."""


# The indexes that make point lookups of the current state read one entry (migration 0007). DuckDB
# rewrites a whole index at every checkpoint, so a bulk load drops them and builds them once at its
# end (LedgerWriter.suspend_lookup_indexes / ensure_lookup_indexes); every writer's first open
# re-creates any that a killed bulk load left missing.
LOOKUP_INDEXES = {"document_state_doc_id": ("document_state", "doc_id"),
                  "document_state_url": ("document_state", "url")}
# DuckDB's memory while it builds a lookup index (MiB)...
INDEX_BUILD_MIB = 1024
# ...or more: DuckDB builds an ART index in memory (its documentation: "ART indexes must currently
# be able to fit in memory during index creation"); the two lookup indexes take about 62 bytes a
# document each on disk, and a 100M import failed out of memory under 1 GiB after its commits
# (most likely in this build), so a build may use this much per document.
INDEX_BUILD_BYTES_PER_ROW = 128
# DuckDB's memory in a long stage's commit: its buffer pool would otherwise keep every block of the
# ledger that the commit's joins read; past this it evicts them (they are on disk) and its joins
# spill. A 10M import peaked at 2.1 GB without it, 1.6 GB with it (DuckDB's 1 GiB and the staging's
# Python side).
COMMIT_MEMORY = "1GiB"
# Every column that names a document by its doc_id (LedgerWriter.mentioned_ids).
_ID_COLUMNS = (("document_state", "doc_id"), ("fetch_log", "doc_id"), ("signal_log", "doc_id"),
               ("license_log", "doc_id"), ("media_log", "page_doc_id"))
# Columns that make up a document's state: a new observation is stored only when one changes.
DOCUMENT_STATE_COLUMNS = (
    "url", "source_type", "title", "author", "published", "language", "n_chars", "text_sha256",
    "license", "license_evidence", "consent", "consent_evidence", "parent_doc_id",
)


# A revocation ``rv`` reaches document ``{d}``: its exact URL, or its domain and subdomains.
_REVOKES = ("((rv.kind = 'url' AND {d}.url = rv.value) OR "
            "(rv.kind = 'domain' AND ({d}.domain = rv.value OR {d}.domain LIKE '%.' || rv.value)))")
# The most restrictive consent among rows (a value outside the three counts as opted_out).
def _worst_consent() -> str:
    from provenance.records import consent_of_rank_sql, consent_rank_sql

    return consent_of_rank_sql(f"max({consent_rank_sql('consent')})")


def with_vocabulary(batch: pa.Table) -> pa.Table:
    """License findings stamped with the license vocabulary that read them, where not already."""
    import pyarrow as pa

    from provenance.licenses import vocabulary_version

    if "vocabulary" not in batch.column_names:
        return batch.append_column("vocabulary", pa.array([vocabulary_version()] * batch.num_rows, pa.string()))
    column = batch.column("vocabulary")
    if column.null_count == 0:
        return batch
    import pyarrow.compute as pc

    filled = pc.fill_null(column.cast(pa.string()), vocabulary_version())
    return batch.set_column(batch.column_names.index("vocabulary"), "vocabulary", filled)


def _key_expr(columns: Sequence[str], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    parts = ", ".join(f"coalesce(CAST({prefix}{c} AS VARCHAR), chr(0))" for c in columns)
    return f"md5(concat_ws(chr(31), {parts}))"


def _derived_column(values: pa.ChunkedArray | pa.Array, fn) -> pa.Array | pa.ChunkedArray:  # noqa: ANN001
    """``fn`` of each distinct value of a string column (None stays None), as a string column.

    Identities (``domain``, ``registered_domain``) are computed here, in Python, by the one
    definition in :mod:`provenance.ids`; SQL stores them and never re-derives them.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    distinct = pc.unique(values)
    derived = pa.array([fn(v) if v is not None else None for v in distinct.to_pylist()], pa.string())
    return derived.take(pc.index_in(values, distinct, skip_nulls=False))


def package_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass(frozen=True, slots=True)
class WriteResult:
    """How many rows each log gained from one write."""

    documents: int = 0
    fetches: int = 0
    signals: int = 0
    licenses: int = 0
    media: int = 0


_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<prog>.*?) \(PID (?P<pid>\d+)\)")


def _lock_holder(message: str) -> str:
    match = _LOCK_RE.search(message)
    if not match:
        return "another process"
    return f"process {match['pid']} ({match['prog']})"


def _latest_migration() -> int:
    """The newest migration's number (from the file names only: a reader's check)."""
    names = os.listdir(Path(__file__).with_name("migrations"))
    return max(int(m[1]) for m in (re.fullmatch(r"(\d{4})_\w+\.sql", n) for n in names) if m)


@functools.lru_cache(maxsize=1)  # the package's own files: fixed for the life of the process
def _migrations() -> tuple[tuple[int, str, str], ...]:
    from importlib import resources

    found = []
    for entry in resources.files("provenance.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return tuple(sorted(found))


class Ledger:
    """Entry point: ``Ledger(workspace)``, then ``writer()`` or ``reader()`` as context managers."""

    def __init__(self, workspace: Workspace | str | os.PathLike, *, lock_wait_s: float = LOCK_WAIT_S):
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
        self.lock_wait_s = lock_wait_s
        self._prepared = False  # migrations, dead runs, orphan shards and classes seen to once

    @property
    def path(self) -> Path:
        return self.workspace.ledger_path

    # --- connections ------------------------------------------------------------------------

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the file, retrying while another process holds it.

        Readers and writers take turns: a reader that meets the lock leaves a marker under
        ``runs/.readers-waiting/`` while it retries, and a writer about to open the file waits
        (up to READER_GRACE_S) until no live reader is waiting, so a stage committing batch after
        batch lets readers in between its commits.
        """
        deadline = time.monotonic() + self.lock_wait_s
        delay = 0.02 if read_only else 0.05
        marker: Path | None = None
        if not read_only:
            _yield_to_readers(self.workspace)
        try:
            while True:
                try:
                    con = duckdb.connect(str(self.path), read_only=read_only)
                    break
                except duckdb.IOException as exc:
                    message = str(exc)
                    if "lock" not in message.lower():
                        raise LedgerError(f"cannot open the ledger {self.path}: {message}") from exc
                    if time.monotonic() >= deadline:
                        holder = _lock_holder(message)
                        raise LedgerLockedError(
                            f"the ledger {self.path} is locked by {holder}, which is writing to it. "
                            f"DuckDB allows one writer at a time: wait for that command to finish "
                            f"(or stop it), then run this again."
                        ) from exc
                    if read_only and marker is None:
                        marker = _mark_waiting(self.workspace)
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1 if read_only else 0.5)
        finally:
            if marker is not None:
                marker.unlink(missing_ok=True)
        _exec(con, "SET file_search_path = ?", [str(self.workspace.root)])
        return con

    @contextmanager
    def writer(self) -> Iterator[LedgerWriter]:
        """The write connection, migrations applied. Hold it only as long as a write needs it:
        opening one is cheap after the first (per ``Ledger``), so long stages open one per batch.

        The first open of a ``Ledger`` object applies pending migrations (the one place they run),
        marks runs whose process died and moves aside the shards those runs left unregistered, and
        syncs the license classes when the code's vocabulary changed; later opens do none of it.
        """
        self.workspace.create()
        _ensure_empty_shard(self.workspace)
        con = self._connect(read_only=False)
        try:
            writer = LedgerWriter(con, self.workspace)
            if not self._prepared:
                _migrate(writer)
                dead = writer.mark_dead_runs()
                writer.sweep_orphan_shards(dead)
                _sync_reference_data(writer)
                writer.ensure_lookup_indexes()
                self._prepared = True
            writer.sync_state()
            yield writer
            writer.sync_state()
        finally:
            con.close()

    def migrate(self) -> list[int]:
        """Bring the ledger's schema up to date (what ``provenance migrate`` runs); returns the
        versions applied. Any write command does the same on its first write."""
        self.workspace.create()
        _ensure_empty_shard(self.workspace)
        con = self._connect(read_only=False)
        try:
            writer = LedgerWriter(con, self.workspace)
            applied = _migrate(writer)
            _sync_reference_data(writer)
            writer.sync_state()
            return applied
        finally:
            con.close()

    @contextmanager
    def reader(self, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for the stages' own look-ups (SQL a user wrote goes through
        :mod:`provenance.sandbox` instead); ``memory_limit`` (such as ``'512MiB'``) caps DuckDB's
        memory on it, for a read over the whole ledger whose memory must not grow with it."""
        con = self.open_reader()
        try:
            if memory_limit is not None:
                _limit_memory(con, memory_limit)
            yield con
        finally:
            con.close()

    def open_reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection; the caller closes it. A reader never changes the ledger: one
        whose schema is older than this code raises :class:`LedgerOutdatedError`."""
        if not self.path.exists():
            raise LedgerMissingError(
                f"there is no ledger in {self.workspace.root}. Create one with `provenance import` "
                f"or `provenance crawl`, or pass the right workspace with -w DIR."
            )
        con = self._connect(read_only=True)
        try:
            version = _schema_version(con)
        except BaseException:
            con.close()
            raise
        latest = _latest_migration()
        if version < latest:
            con.close()
            raise LedgerOutdatedError(
                f"the ledger {self.path} has schema version {version}, older than this version of "
                f"provenance ({latest}): upgrade it once with `provenance -w {self.workspace.root} migrate` "
                f"(any write command also does), then run this again."
            )
        return con

    @contextmanager
    def snapshot(self) -> Iterator[LedgerView]:
        """One consistent read-only view for a long computation (an export): readers go on
        meanwhile; writers wait for it to close."""
        con = self.open_reader()
        try:
            yield LedgerView(con, self.workspace)
        finally:
            con.close()

    def start_run(self, command: str, config: dict | None = None) -> Run:
        """Record a run in its own short write (for stages that do not hold the writer throughout)."""
        with self.writer() as w:
            return w.start_run(command, config)

    def finish_run(self, run: Run, counts: dict | None = None, *, status: str = "finished") -> None:
        with self.writer() as w:
            w.finish_run(run, counts, status=status)

    def query(self, sql: str, params: Sequence[Any] | dict | None = None, *,
              memory_limit: str | None = None) -> pa.Table:
        """Run one read query and return its rows as Arrow (stages ask the ledger, not DuckDB)."""
        with self.reader(memory_limit) as con:
            return con.sql(sql, params=params or None).to_arrow_table()


def _waiting_dir(workspace: Workspace) -> Path:
    return workspace.runs_dir / ".readers-waiting"


def _mark_waiting(workspace: Workspace) -> Path | None:
    """Say that this process waits to read (None when the workspace cannot be written to)."""
    try:
        folder = _waiting_dir(workspace)
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / f"{os.getpid()}-{os.urandom(4).hex()}"
        marker.touch()
        return marker
    except OSError:
        return None


def _yield_to_readers(workspace: Workspace) -> None:
    """Before taking the write lock, let readers that are waiting for it go first (bounded)."""
    folder = _waiting_dir(workspace)
    deadline = time.monotonic() + READER_GRACE_S
    while time.monotonic() < deadline:
        try:
            markers = list(folder.iterdir())
        except OSError:
            return
        waiting = False
        for marker in markers:
            pid = marker.name.split("-", 1)[0]
            try:
                stale = not pid.isdigit() or not _process_alive(int(pid)) or \
                    time.time() - marker.stat().st_mtime > READER_GRACE_S * 6
            except OSError:
                continue
            if stale:
                marker.unlink(missing_ok=True)
            else:
                waiting = True
        if not waiting:
            return
        time.sleep(0.02)


def _exec(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict | None = None) -> int:
    """Run a statement to completion; returns the row count a write reports (0 otherwise)."""
    rows = (con.execute(sql, params) if params else con.execute(sql)).fetchall()
    if rows and len(rows[0]) == 1 and isinstance(rows[0][0], int):
        return rows[0][0]
    return 0


def _limit_memory(con: duckdb.DuckDBPyConnection, limit: str) -> None:
    """Cap DuckDB's memory on a connection: its buffer pool evicts the ledger's blocks and
    operators spill past it."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit):
        raise ValueError(f"a memory limit such as '1GiB', not {limit!r}")
    _exec(con, f"SET memory_limit = '{limit}'")


def _unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    try:
        con.unregister(name)
    except duckdb.Error:  # an aborted transaction refuses it; the view dies with the connection
        pass


def _ensure_empty_shard(workspace: Workspace) -> None:
    """An empty shard keeps the ``corpus`` view valid before any text is stored."""
    path = workspace.absolute(EMPTY_SHARD)
    if not path.exists():
        import pyarrow.parquet as pq

        from provenance.shards import SHARD_SCHEMA

        path.parent.mkdir(parents=True, exist_ok=True)
        empty = SHARD_SCHEMA.empty_table()
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(empty, tmp)
        os.replace(tmp, path)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _sync_reference_data(writer: LedgerWriter) -> None:
    """Keep reference tables derived from the code (license classes) in step with it: synced
    when the vocabulary or this package's version differs from the one recorded at the last sync
    (``reference_marks``), not on every open."""
    tables = {r[0] for r in writer.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name IN ('license_vocabulary', 'reference_marks')"
    ).fetchall()}
    if "license_vocabulary" not in tables:
        return
    from provenance.licenses import vocabulary_version
    from provenance.policies import sync_license_classes

    wanted = f"{vocabulary_version()} {_own_version()}"
    if "reference_marks" in tables:
        stored = writer.con.execute(
            "SELECT version FROM reference_marks WHERE name = 'license_classes'").fetchall()
        if stored and stored[0][0] == wanted:
            return
    with writer.transaction():
        sync_license_classes(writer)
        if "reference_marks" in tables:
            _exec(writer.con, "INSERT OR REPLACE INTO reference_marks VALUES ('license_classes', ?)", [wanted])


def reference_data_current(view: LedgerView) -> bool:
    """Whether the reference data (license classes) was last synced by this package's version (a
    read: the vocabulary is not loaded). A write open re-syncs it when the vocabulary differs."""
    has = view.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'reference_marks'").fetchall()[0][0]
    if not has:
        return False
    rows = view.con.execute("SELECT version FROM reference_marks WHERE name = 'license_classes'").fetchall()
    return bool(rows) and rows[0][0].rsplit(" ", 1)[-1] == _own_version()


def _own_version() -> str:
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied to the ledger (0: none)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'").fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]


def _backfill_registered_domain(con: duckdb.DuckDBPyConnection) -> None:
    """Migration registered_domain: compute registered_domain (and re-derive domain, for rows
    whose stored domain the one definition would write differently) in Python, per distinct URL
    and domain, in the migration's transaction."""
    import pyarrow as pa

    from provenance.ids import domain_of, registered_domain

    def derive(source: str, target: str, rule: Callable[[str], str | None]) -> None:
        """Set ``target`` to ``rule(source)`` in both tables, computed once per distinct value."""
        values = con.sql(f"SELECT DISTINCT {source} FROM document_log WHERE {source} IS NOT NULL"
                         ).to_arrow_table().column(source)
        con.register("_derived", pa.table({source: values, target: _derived_column(values, rule)}))
        try:
            for table in ("document_log", "document_state"):
                _exec(con, f"UPDATE {table} t SET {target} = d.{target} FROM _derived d "
                           f"WHERE t.{source} = d.{source} AND t.{target} IS DISTINCT FROM d.{target}")
        finally:
            _unregister(con, "_derived")

    derive("url", "domain", domain_of)
    derive("domain", "registered_domain", registered_domain)


def _fold_pending_history(writer: LedgerWriter) -> None:
    """Migration current_once, before its SQL: fold into document_state every document_log row
    it has not taken in yet (a ledger written before 0007 had no state), so that the migration's
    split into current and superseded rows is exact."""
    marks = dict(writer.con.execute("SELECT log, applied FROM state_marks").fetchall())
    mark = marks.get("document_log", 0)
    total = writer.con.execute("SELECT count(*) FROM document_log").fetchall()[0][0]
    if total > mark:
        writer.fold_log_rows(mark)


# Python steps of migrations, by migration name, run in the migration's transaction before its
# SQL (_BEFORE) or after it (_BACKFILLS).
_BEFORE = {"current_once": _fold_pending_history}
_BACKFILLS = {"registered_domain": _backfill_registered_domain}


def _migrate(writer: LedgerWriter) -> list[int]:
    """Apply pending migrations, each in its own transaction. The only place the schema changes:
    write opens call it; readers never do (they refuse an outdated ledger)."""
    con = writer.con
    _exec(con, """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)""")
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for version, name, sql in _migrations():
        if version in applied:
            continue
        _exec(con, "BEGIN TRANSACTION")
        try:
            before = _BEFORE.get(name)
            if before is not None:
                before(writer)
            _exec(con, sql)
            backfill = _BACKFILLS.get(name)
            if backfill is not None:
                backfill(con)
            _exec(con, "INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utcnow()])
            _exec(con, "COMMIT")
        except duckdb.Error as exc:
            _exec(con, "ROLLBACK")
            raise LedgerError(f"migration {version:04d}_{name} failed: {exc}") from exc
        done.append(version)
    return done


class LedgerView:
    """Reads through one open connection: a read-only one (:meth:`Ledger.snapshot`) or a writer's."""

    def __init__(self, con: duckdb.DuckDBPyConnection, workspace: Workspace):
        self.con = con
        self.workspace = workspace

    def query(self, sql: str, params: Sequence[Any] | dict | None = None) -> pa.Table:
        return self.con.sql(sql, params=params or None).to_arrow_table()


class LedgerWriter(LedgerView):
    """Writes through one open connection. Each ``write`` is one transaction unless the caller
    holds an outer one with :meth:`transaction`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, workspace: Workspace):
        super().__init__(con, workspace)
        self._in_transaction = False

    # --- transactions -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[LedgerWriter]:
        if self._in_transaction:
            yield self
            return
        _exec(self.con, "BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield self
            self.sync_state()  # the current state commits with the facts
        except BaseException:
            _exec(self.con, "ROLLBACK")
            raise
        else:
            _exec(self.con, "COMMIT")
        finally:
            self._in_transaction = False

    # --- runs -------------------------------------------------------------------------------

    def start_run(self, command: str, config: dict | None = None) -> Run:
        import socket

        from provenance.ids import new_run_id
        from provenance.records import Run

        run = Run(run_id=new_run_id(command), command=command, started_at=utcnow(),
                  config=dict(config or {}), versions=package_versions())
        _exec(
            self.con,
            "INSERT INTO run_log (run_id, command, started_at, status, config, versions, pid, host) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
            [run.run_id, run.command, run.started_at, json.dumps(run.config, default=str),
             json.dumps(run.versions), os.getpid(), socket.gethostname()],
        )
        return run

    def finish_run(self, run: Run, counts: dict | None = None, *, status: str = "finished") -> None:
        _exec(
            self.con,
            "UPDATE run_log SET finished_at = ?, status = ?, counts = ? WHERE run_id = ?",
            [utcnow(), status, json.dumps(counts or {}, default=str), run.run_id],
        )

    # --- appends ----------------------------------------------------------------------------

    def write(
        self,
        run_id: str,
        *,
        documents: Iterable[Document] = (),
        fetches: Iterable[FetchRecord] = (),
        signals: Iterable[ConsentSignal] = (),
        licenses: Iterable[LicenseFinding] = (),
        media: Iterable[MediaRef] = (),
    ) -> WriteResult:
        """Append records of one batch in one transaction; returns how many rows were new."""
        from provenance.schemas import (DOCUMENT_SCHEMA, FETCH_SCHEMA, FETCHES, LICENSE_SCHEMA, LICENSES, MEDIA,
                                        MEDIA_SCHEMA, SIGNAL_SCHEMA, SIGNALS, records_to_arrow)

        with self.transaction():
            return WriteResult(
                documents=self.append_documents(records_to_arrow(documents, DOCUMENT_SCHEMA), run_id),
                fetches=self.append_set(FETCHES, records_to_arrow(fetches, FETCH_SCHEMA), run_id),
                signals=self.append_set(SIGNALS, records_to_arrow(signals, SIGNAL_SCHEMA), run_id),
                licenses=self.append_set(LICENSES, records_to_arrow(licenses, LICENSE_SCHEMA), run_id),
                media=self.append_set(MEDIA, records_to_arrow(media, MEDIA_SCHEMA), run_id),
            )

    def append_documents(self, batch: pa.Table, run_id: str, *, unseen: bool = False) -> int:
        """Append document observations (an Arrow table of DOCUMENT_SCHEMA's columns).

        An observation is stored only when the document is new or its state
        (DOCUMENT_STATE_COLUMNS) differs from its current state; within the batch the last row of
        a doc_id wins. Each observation is stored once: a new current one goes to
        ``document_state`` (the one it replaces moves to ``document_past``), one older than the
        current one straight to ``document_past`` (migration 0012). Returns the number of
        observations stored.

        ``unseen``: the caller knows that the ledger mentions no doc_id of the batch
        (:meth:`mentioned_ids`), so every document is new and is stored without a join against
        the current state (which reads the whole ``doc_id`` column).
        """
        from provenance.schemas import DOCUMENT_SCHEMA

        if batch.num_rows == 0:
            return 0
        batch = batch.select(DOCUMENT_SCHEMA.names).cast(DOCUMENT_SCHEMA)
        from provenance.ids import registered_domain

        batch = batch.append_column("registered_domain", _derived_column(batch.column("domain"), registered_domain))
        self.con.register("_doc_batch", batch)
        try:
            with self.transaction():
                n_rows, n_ids = self.con.execute(
                    "SELECT count(*), count(DISTINCT doc_id) FROM _doc_batch").fetchall()[0]
                source = "_doc_batch"
                if n_ids != n_rows:  # the same document twice in one batch: keep its last row
                    source = """(SELECT * EXCLUDE (_pos) FROM (SELECT *, row_number() OVER () AS _pos FROM _doc_batch)
                                QUALIFY row_number() OVER (PARTITION BY doc_id ORDER BY _pos DESC) = 1)"""
                names = [*DOCUMENT_SCHEMA.names, "registered_domain"]
                columns = ", ".join(names)
                seq = self.con.execute("SELECT nextval('document_seq')").fetchall()[0][0]
                has_state = self.con.execute("SELECT EXISTS (SELECT 1 FROM document_state)").fetchall()[0][0]
                revoked = self._revoked_expr("b")
                if unseen or not has_state:  # nothing of the batch stored yet: every row is new and current
                    return _exec(self.con, f"""
                        INSERT INTO document_state (seq, {columns}, run_id, is_canonical, cluster_consent,
                                                    revoked_direct, revoked)
                        SELECT ?, {", ".join(f"b.{c}" for c in names)}, ?, TRUE, b.consent, {revoked}, {revoked}
                        FROM {source} b
                    """, [seq, run_id])
                changed = " OR ".join(f"b.{c} IS DISTINCT FROM cur.{c}" for c in DOCUMENT_STATE_COLUMNS)
                _exec(self.con, "DROP TABLE IF EXISTS _doc_new")
                _exec(self.con, f"""
                    CREATE TEMP TABLE _doc_new AS
                    SELECT ?::BIGINT AS seq, {", ".join(f"b.{c}" for c in names)}, ?::VARCHAR AS run_id,
                           cur.doc_id IS NOT NULL AS _existed,
                           (cur.doc_id IS NULL OR b.fetched_at >= cur.fetched_at) AS _current
                    FROM {source} b LEFT JOIN document_state cur ON cur.doc_id = b.doc_id
                    WHERE cur.doc_id IS NULL OR {changed}
                """, [seq, run_id])
                try:
                    return self._place_observations()
                finally:
                    _exec(self.con, "DROP TABLE IF EXISTS _doc_new")
        finally:
            _unregister(self.con, "_doc_batch")

    def _revoked_expr(self, alias: str) -> str:
        """SQL: whether a revocation reaches the document row ``alias`` (FALSE when none exist)."""
        if not self.con.execute("SELECT EXISTS (SELECT 1 FROM revocation_log)").fetchall()[0][0]:
            return "FALSE"
        return f"EXISTS (SELECT 1 FROM revocation_log rv WHERE {_REVOKES.format(d=alias)})"

    def _place_observations(self) -> int:
        """Store the observations of ``_doc_new``: the current ones in document_state (moving the
        rows they replace to document_past, their cluster columns carried over), the others in
        document_past. Returns how many were stored."""
        cols = self._state_columns()
        listed = ", ".join(cols)
        added = self.con.execute("SELECT count(*), count(*) FILTER (_existed AND _current) FROM _doc_new").fetchall()[0]
        if added[0] == 0:
            return 0
        _exec(self.con, f"INSERT INTO document_past ({listed}) SELECT {listed} FROM _doc_new WHERE NOT _current")
        carried = ("cluster_seq", "cluster_assigned_at", "cluster_run_id", "dup_cluster", "dup_similarity", "dup_reason")
        _exec(self.con, "DROP TABLE IF EXISTS _displaced")
        _exec(self.con, """
            CREATE TEMP TABLE _displaced AS
            SELECT * FROM document_state
            WHERE doc_id IN (SELECT doc_id FROM _doc_new WHERE _existed AND _current)
        """ if added[1] else "CREATE TEMP TABLE _displaced AS SELECT * FROM document_state LIMIT 0")
        try:
            if added[1]:
                _exec(self.con, f"INSERT INTO document_past ({listed}) SELECT {listed} FROM _displaced")
                _exec(self.con, "DELETE FROM document_state WHERE doc_id IN (SELECT doc_id FROM _displaced)")
            revoked = self._revoked_expr("n")
            _exec(self.con, f"""
                INSERT INTO document_state ({listed}, {", ".join(carried)}, is_canonical,
                                            cluster_consent, revoked_direct, revoked)
                SELECT {", ".join(f"n.{c}" for c in cols)}, {", ".join(f"d.{c}" for c in carried)},
                       coalesce(d.is_canonical, TRUE), n.consent, {revoked}, {revoked}
                FROM _doc_new n LEFT JOIN _displaced d ON d.doc_id = n.doc_id
                WHERE n._current
            """)
            # clusters whose members changed: their consent and revocation are recomputed
            self._refresh_clusters("SELECT DISTINCT dup_cluster FROM _displaced WHERE dup_cluster IS NOT NULL")
        finally:
            _exec(self.con, "DROP TABLE IF EXISTS _displaced")
        return added[0]

    # --- current state ----------------------------------------------------------------------

    def sync_state(self) -> None:
        """Fold every cluster_log and revocation_log row not yet in ``document_state`` into it
        (see migration 0007; documents are written to the state directly, migration 0012).

        The write path calls this after each append and before each commit, so the state is
        current in the same transaction as the facts, whoever appended them (a stage's
        ``append_rows`` of cluster rows, a revocation's INSERT).
        """
        marks = dict(self.con.execute("SELECT log, applied FROM state_marks").fetchall())
        counts = dict(self.con.execute(
            "SELECT 'cluster_log', count(*) FROM cluster_log UNION ALL "
            "SELECT 'revocation_log', count(*) FROM revocation_log").fetchall())
        behind = {log: marks.get(log, 0) for log, n in counts.items() if n > marks.get(log, 0)}
        if not behind:
            return
        with self.transaction():
            if "cluster_log" in behind:
                self._fold_clusters(behind["cluster_log"])
            if "revocation_log" in behind:
                self._fold_revocations(behind["revocation_log"])
            for log in behind:
                _exec(self.con, "UPDATE state_marks SET applied = ? WHERE log = ?", [counts[log], log])

    def _state_columns(self) -> list[str]:
        """The columns of an observation (document_past's; document_state has each of them, under
        the same name)."""
        rows = self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'document_past' "
            "AND schema_name = 'main' ORDER BY column_index").fetchall()
        return [r[0] for r in rows]

    def fold_log_rows(self, mark: int) -> None:
        """For migration 0012 only (a ledger whose document_log is still a table): documents
        whose latest observation is among the log rows from ``mark`` get it as their state (their
        cluster columns carried over). Runs inside the migration's transaction."""
        rows = self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'document_log' "
            "AND schema_name = 'main' ORDER BY column_index").fetchall()
        cols = [r[0] for r in rows]
        revoked = self._revoked_expr("n")
        _exec(self.con, "DROP TABLE IF EXISTS _doc_news")
        _exec(self.con, f"""
            CREATE TEMP TABLE _doc_news AS
            SELECT n.*, {revoked} AS _rv, s.doc_id IS NOT NULL AS _existed,
                   s.cluster_seq, s.cluster_assigned_at, s.cluster_run_id, s.dup_cluster, s.is_canonical,
                   s.dup_similarity, s.dup_reason
            FROM (
                SELECT * FROM document_log WHERE rowid >= ?
                QUALIFY row_number() OVER (PARTITION BY doc_id ORDER BY fetched_at DESC, seq DESC) = 1
            ) n
            LEFT JOIN document_state s ON s.doc_id = n.doc_id
            WHERE s.doc_id IS NULL OR n.fetched_at > s.fetched_at OR (n.fetched_at = s.fetched_at AND n.seq > s.seq)
        """, [mark])
        try:
            if self.con.execute("SELECT bool_or(_existed) FROM _doc_news").fetchall()[0][0]:
                _exec(self.con, "DELETE FROM document_state WHERE doc_id IN (SELECT doc_id FROM _doc_news WHERE _existed)")
            carried = ("cluster_seq", "cluster_assigned_at", "cluster_run_id", "dup_cluster", "dup_similarity", "dup_reason")
            _exec(self.con, f"""
                INSERT INTO document_state ({", ".join(cols)}, {", ".join(carried)}, is_canonical,
                                            cluster_consent, revoked_direct, revoked)
                SELECT {", ".join(cols)}, {", ".join(carried)}, coalesce(is_canonical, TRUE),
                       consent, _rv, _rv
                FROM _doc_news
            """)
            self._refresh_clusters("SELECT DISTINCT dup_cluster FROM _doc_news WHERE dup_cluster IS NOT NULL")
        finally:
            _exec(self.con, "DROP TABLE IF EXISTS _doc_news")

    def _fold_clusters(self, mark: int) -> None:
        _exec(self.con, "DROP TABLE IF EXISTS _cluster_news")
        _exec(self.con, """
            CREATE TEMP TABLE _cluster_news AS
            SELECT n.*, s.dup_cluster AS old_cluster FROM (
                SELECT * FROM cluster_log WHERE rowid >= ?
                QUALIFY row_number() OVER (PARTITION BY doc_id ORDER BY assigned_at DESC, seq DESC) = 1
            ) n JOIN document_state s ON s.doc_id = n.doc_id
            WHERE s.cluster_seq IS NULL OR n.assigned_at > s.cluster_assigned_at
               OR (n.assigned_at = s.cluster_assigned_at AND n.seq > s.cluster_seq)
        """, [mark])
        try:
            _exec(self.con, """
                UPDATE document_state s SET
                    cluster_seq = n.seq, cluster_assigned_at = n.assigned_at, cluster_run_id = n.run_id,
                    dup_cluster = n.dup_cluster, is_canonical = coalesce(n.is_canonical, TRUE),
                    dup_similarity = n.similarity, dup_reason = n.reason,
                    cluster_consent = CASE WHEN n.dup_cluster IS NULL THEN s.consent ELSE s.cluster_consent END,
                    revoked = CASE WHEN n.dup_cluster IS NULL THEN s.revoked_direct ELSE s.revoked END
                FROM _cluster_news n WHERE s.doc_id = n.doc_id
            """)
            self._refresh_clusters("""
                SELECT dup_cluster FROM _cluster_news WHERE dup_cluster IS NOT NULL
                UNION SELECT old_cluster FROM _cluster_news WHERE old_cluster IS NOT NULL
            """)
        finally:
            _exec(self.con, "DROP TABLE IF EXISTS _cluster_news")

    def _fold_revocations(self, mark: int) -> None:
        """A revocation only ever adds: the documents it reaches, and their clusters, are revoked."""
        _exec(self.con, "DROP TABLE IF EXISTS _revoked_news")
        _exec(self.con, f"""
            CREATE TEMP TABLE _revoked_news AS
            SELECT d.doc_id, d.dup_cluster FROM document_state d
            JOIN (SELECT * FROM revocation_log WHERE rowid >= ?) rv ON {_REVOKES.format(d='d')}
        """, [mark])
        try:
            _exec(self.con, """
                UPDATE document_state s SET revoked_direct = TRUE, revoked = TRUE
                FROM (SELECT DISTINCT doc_id FROM _revoked_news) n WHERE s.doc_id = n.doc_id
            """)
            self._refresh_clusters("SELECT DISTINCT dup_cluster FROM _revoked_news WHERE dup_cluster IS NOT NULL")
        finally:
            _exec(self.con, "DROP TABLE IF EXISTS _revoked_news")

    def _refresh_clusters(self, clusters_sql: str) -> None:
        """Recompute cluster_consent and revoked for every member of the clusters selected."""
        _exec(self.con, "DROP TABLE IF EXISTS _touched_clusters")
        _exec(self.con, f"CREATE TEMP TABLE _touched_clusters AS {clusters_sql}")
        try:
            if not self.con.execute("SELECT EXISTS (SELECT 1 FROM _touched_clusters)").fetchall()[0][0]:
                return
            _exec(self.con, f"""
                UPDATE document_state s SET cluster_consent = a.cluster_consent,
                                            revoked = s.revoked_direct OR a.any_revoked
                FROM (
                    SELECT dup_cluster, {_worst_consent()} AS cluster_consent, bool_or(revoked_direct) AS any_revoked
                    FROM document_state
                    WHERE dup_cluster IN (SELECT * FROM _touched_clusters)
                    GROUP BY dup_cluster
                ) a
                WHERE s.dup_cluster = a.dup_cluster
            """)
        finally:
            _exec(self.con, "DROP TABLE IF EXISTS _touched_clusters")

    def append_set(self, spec: SetTable, batch: pa.Table, run_id: str, *, unseen: bool = False) -> int:
        """Append rows of a set log (FETCHES, SIGNALS, LICENSES, MEDIA); returns how many were new.

        ``unseen``: the caller knows that the ledger mentions none of the batch's doc_ids
        (:meth:`mentioned_ids`), so a row with a doc_id cannot be stored yet (``doc_id`` is part
        of the row's key) and is appended without looking for it in the whole log; rows without
        a doc_id are looked for as always."""
        if unseen and "doc_id" not in spec.key:
            raise ValueError(f"{spec.table}: rows are not keyed by doc_id, so they cannot be known unseen")
        if batch.num_rows == 0:
            return 0
        if spec.table == "license_log":
            batch = with_vocabulary(batch)
        batch = batch.select(spec.schema.names).cast(spec.schema)
        names = list(spec.schema.names)
        extra_cols = [c for c in spec.extra if c not in names]
        if "domain" in extra_cols:  # the URL's domain, by provenance.ids.domain_of (never in SQL)
            from provenance.ids import domain_of

            batch = batch.append_column("domain", _derived_column(batch.column("url"), domain_of))
            names.append("domain")
            extra_cols.remove("domain")
        extra_sql = [spec.extra[c] for c in extra_cols]
        target = ", ".join(names + extra_cols + ["run_id", "row_key"])
        select = ", ".join([f"b.{c}" for c in names] + extra_sql + ["?", "b.row_key"])
        parts = [(batch, True)]
        if unseen and batch.column("doc_id").null_count == 0:  # no row needs a look-up
            parts = [(batch, False)]
        elif unseen:  # rows with a doc_id need no look-up; the others are looked up
            import pyarrow.compute as pc

            has_id = pc.is_valid(batch.column("doc_id"))
            parts = [(batch.filter(has_id), False), (batch.filter(pc.invert(has_id)), True)]
        added = 0
        for rows, look_up in parts:
            if rows.num_rows == 0:
                continue
            self.con.register("_set_batch", rows)
            try:
                where = f"WHERE NOT EXISTS (SELECT 1 FROM {spec.table} t WHERE t.row_key = b.row_key)" if look_up else ""
                added += _exec(self.con, f"""
                    INSERT INTO {spec.table} ({target})
                    SELECT {select} FROM (  -- DISTINCT ON: a hash aggregate, cheaper than a window
                        SELECT DISTINCT ON (row_key) * FROM (SELECT *, {_key_expr(spec.key)} AS row_key FROM _set_batch)
                    ) b
                    {where}
                    ORDER BY b.row_key  -- one ordered stream: whole row groups, not a part-filled one per thread
                """, [run_id])
            finally:
                _unregister(self.con, "_set_batch")
        return added

    def append_rows(self, table: str, batch: pa.Table) -> int:
        """Append an Arrow table to a stage-owned log table (columns matched by name)."""
        if batch.num_rows == 0:
            return 0
        self.con.register("_rows_batch", batch)
        try:
            cols = ", ".join(batch.column_names)
            return _exec(self.con, f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows_batch")
        finally:
            _unregister(self.con, "_rows_batch")

    def append_unique(self, table: str, batch: pa.Table, key: Sequence[str]) -> int:
        """Append rows whose ``key`` columns match no stored row nor an earlier row of the batch."""
        if batch.num_rows == 0:
            return 0
        self.con.register("_uniq_batch", batch)
        try:
            cols = ", ".join(batch.column_names)
            on = " AND ".join(f"t.{k} IS NOT DISTINCT FROM b.{k}" for k in key)
            part = ", ".join(key)
            return _exec(self.con, f"""
                INSERT INTO {table} ({cols})
                SELECT {cols} FROM (
                    SELECT * FROM _uniq_batch QUALIFY row_number() OVER (PARTITION BY {part}) = 1
                ) b
                WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {on})
            """)
        finally:
            _unregister(self.con, "_uniq_batch")

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> int:
        """Run one write statement of a stage-owned table (returns the affected row count);
        ``params`` by position, or by name (``$name``) as a dict."""
        return _exec(self.con, sql, params)

    def _count(self, table: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]

    # --- look-ups for writers -------------------------------------------------------------------

    def stored_texts(self, pairs: pa.Table) -> dict[tuple[str, str], str]:
        """For (doc_id, text_sha256) pairs, the shard that already holds that text."""
        if pairs.num_rows == 0:
            return {}
        self.con.register("_pairs", pairs)
        try:
            rows = self.con.execute("""
                SELECT d.doc_id, d.text_sha256, min(d.shard)
                FROM document_log d JOIN _pairs p ON p.doc_id = d.doc_id AND p.text_sha256 = d.text_sha256
                GROUP BY ALL
            """).fetchall()
        finally:
            _unregister(self.con, "_pairs")
        return {(r[0], r[1]): r[2] for r in rows}

    def stored_text_shards(self, pairs: pa.Table) -> pa.Table:
        """For (doc_id, text_sha256) pairs, the shard that already holds that text (Arrow:
        doc_id, text_sha256, shard; only pairs found). Only documents already known are looked
        up in the history."""
        import pyarrow as pa

        if pairs.num_rows == 0:
            return pa.table({"doc_id": pa.array([], pa.string()), "text_sha256": pa.array([], pa.string()),
                             "shard": pa.array([], pa.string())})
        self.con.register("_pairs", pairs)
        try:
            return self.con.sql("""
                WITH known AS (
                    SELECT p.doc_id, p.text_sha256 FROM _pairs p SEMI JOIN document_state s ON s.doc_id = p.doc_id
                )
                SELECT d.doc_id, d.text_sha256, min(d.shard) AS shard
                FROM document_log d JOIN known p ON p.doc_id = d.doc_id AND p.text_sha256 = d.text_sha256
                GROUP BY ALL
            """).to_arrow_table()
        finally:
            _unregister(self.con, "_pairs")

    def register_shard(self, shard: str, source_type: str, n_rows: int, n_bytes: int, run_id: str) -> None:
        """Record a shard file; call inside the transaction that appends its documents."""
        _exec(
            self.con,
            "INSERT INTO shard_log VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [shard, source_type, n_rows, n_bytes, utcnow(), run_id],
        )

    def referenced_shards(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT shard FROM shard_log").fetchall()}

    def limit_memory(self, limit: str) -> None:
        """Cap DuckDB's memory on this connection (its buffer pool evicts the ledger's blocks and
        operators spill past it) for a write whose memory must not grow with the ledger."""
        _limit_memory(self.con, limit)

    def count_state(self) -> int:
        """How many documents the ledger holds."""
        return int(self._count("document_state"))

    def mentioned_ids(self) -> np.ndarray:
        """The 64-bit keys (:meth:`id_keys`) of every doc_id the ledger mentions: its documents'
        and those of the fetches, signals, license findings and media rows (a row can name a
        document that was never stored). One scan of those columns; unique, unsorted."""
        union = " UNION ".join(f"SELECT hash({column}) AS k FROM {table} WHERE {column} IS NOT NULL"
                               for table, column in _ID_COLUMNS)
        return self.con.sql(f"SELECT k FROM ({union})").fetchnumpy()["k"]

    def id_keys(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The 64-bit keys of doc_ids (DuckDB's ``hash``, as :meth:`mentioned_ids`; NULLs left out)."""
        import pyarrow as pa

        self.con.register("_ids", pa.table({"v": values}))
        try:
            return self.con.sql("SELECT hash(v) AS k FROM _ids WHERE v IS NOT NULL").fetchnumpy()["k"]
        finally:
            _unregister(self.con, "_ids")

    def write_marks(self) -> tuple[int, ...]:
        """Row counts of the tables :meth:`mentioned_ids` reads. They are append-only (a
        document's state row is replaced, never removed), so while these counts stand still no
        writer added a doc_id to them: a cheap test that the keys read before are still all."""
        counts = ", ".join(f"(SELECT count(*) FROM {table})" for table, _ in _ID_COLUMNS)
        return tuple(self.con.execute(f"SELECT {counts}").fetchall()[0])

    def ensure_lookup_indexes(self, names: Sequence[str] = tuple(LOOKUP_INDEXES)) -> list[str]:
        """Create those of the LOOKUP_INDEXES ``names`` that are missing; returns their names.

        DuckDB's indexes live in its buffer pool, so the build runs under INDEX_BUILD_MIB (2.8 GB
        at 10M documents without), or INDEX_BUILD_BYTES_PER_ROW a document when that is more: a
        build must fit in memory."""
        present = {name for (name,) in self.con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        missing = [name for name in names if name not in present]
        if not missing:
            return []
        mib = max(INDEX_BUILD_MIB, self.count_state() * INDEX_BUILD_BYTES_PER_ROW >> 20)
        self.limit_memory(f"{mib}MiB")
        try:
            for name in missing:
                table, column = LOOKUP_INDEXES[name]
                _exec(self.con, f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})")
        finally:
            _exec(self.con, "RESET memory_limit")
        return missing

    def suspend_lookup_indexes(self) -> None:
        """Drop the LOOKUP_INDEXES for a bulk load (lookups scan meanwhile, with the same answers);
        :meth:`ensure_lookup_indexes` builds them again."""
        for name in LOOKUP_INDEXES:
            _exec(self.con, f"DROP INDEX IF EXISTS {name}")

    def mark_dead_runs(self) -> list[str]:
        """Runs still 'running' whose process on this host is gone were killed: say so."""
        import socket

        host = socket.gethostname()
        rows = self.con.execute(
            "SELECT run_id, pid FROM run_log WHERE status = 'running' AND host = ?", [host]).fetchall()
        dead = [run_id for run_id, pid in rows if pid is None or not _process_alive(pid)]
        for run_id in dead:
            _exec(self.con, "UPDATE run_log SET status = 'interrupted' WHERE run_id = ?", [run_id])
        return dead

    def sweep_orphan_shards(self, runs: Sequence[str] | None = None) -> list[str]:
        """Move shard files no ledger row references (left by a writer killed mid-write) aside.

        ``runs``: only the shards those runs wrote (their names start with the run id) and their
        staging folders; a write open passes the runs it just found dead, so it walks no other
        shard. None: every shard of the workspace.

        A shard is written before the transaction that registers it, possibly outside the write
        lock; so an unreferenced one belongs to a write that never committed, unless its run
        (named at the start of the file name) is still running: then it is left alone. Call
        after :meth:`mark_dead_runs`.
        """
        shards = self.workspace.shards_dir
        if not shards.exists():
            return []
        referenced = self.referenced_shards() | {EMPTY_SHARD}
        running = {r[0] for r in self.con.execute("SELECT run_id FROM run_log WHERE status = 'running'").fetchall()}
        moved = []
        if runs is None:
            candidates = shards.rglob("*")
            stagings = list(self.workspace.runs_dir.glob("*/staging"))
        else:
            candidates = (p for run in runs for p in shards.glob(f"*/{run}-*"))
            stagings = [self.workspace.runs_dir / run / "staging" for run in runs]
        for path in candidates:
            if not path.is_file():
                continue
            if path.name.rsplit("-", 2)[0] in running:  # a live run's shard, written outside the lock
                continue
            rel = self.workspace.relative(path)
            if path.name.endswith(".tmp") or (path.suffix == ".parquet" and rel not in referenced):
                target = self.workspace.runs_dir / "orphaned-shards" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
                moved.append(rel)
        for staging in stagings:  # rows staged by a run that died
            if staging.is_dir() and staging.parent.name not in running:
                import shutil

                shutil.rmtree(staging, ignore_errors=True)
        return moved
