"""``export``: the documents a policy clears, with their text, provenance and attribution.

An export computes from one consistent read-only snapshot of the ledger (readers go on meanwhile)
and takes the write lock only for its short writes: opening its run, recording the export with
its members and publishing the directory, and finishing its run. The export is the ledger as it
stood when the snapshot was taken (a revocation committed later shows in ``revocation_impact``).

1. the documents the policy clears go to a temporary table (the policy's SQL predicate over
   ``document_rights``), sorted by ``doc_id``;
2. their text is read from the workspace shards, re-hashed and compared with the ledger's
   ``text_sha256`` (any difference refuses the export, naming the documents), and streamed into
   ``data/train-NNNNN.parquet`` (Hugging Face's layout: ``id`` and ``text`` columns first);
3. ``manifest.parquet`` (with each document's hash; the root hash is computed while it is written),
   ``ATTRIBUTION.md``, ``croissant.json``, ``README.md`` and last the marker
   ``provenance-export.json`` (every file's SHA-256 and the root hash) are written;
4. the snapshot is closed; the export and its members are recorded (``exports``,
   ``export_members``) and the directory is moved into place (:mod:`provenance.outputs`) in one
   short write transaction.

Everything written depends only on the ledger and the policy: the same ledger and policy give
byte-identical files, wherever they are written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from provenance.errors import InputError
from provenance.export import attribution, card, croissant
from provenance.export.files import (CHARS_PER_FILE, ROW_GROUP_ROWS, ROWS_PER_FILE, checksums,
                                     parquet_writer, sha256_file)
from provenance.export.escape import web_url
from provenance.export.integrity import RootHash, write_marker
from provenance.export.summary import ExportSummary, summarize
from provenance.ids import utcnow
from provenance.ledger import Ledger, LedgerMissingError, LedgerView, LedgerWriter
from provenance.outputs import check_directory, staged_directory
from provenance.policies import Policy, ensure_document_classes
from provenance.stage import open_run

TS = pa.timestamp("us", tz="UTC")
MISMATCH_SHOWN = 10  # doc_ids named in the message when texts differ from their hashes
DATA_SCHEMA = pa.schema([
    ("id", pa.string()), ("url", pa.string()), ("domain", pa.string()), ("title", pa.string()),
    ("author", pa.string()), ("published", pa.string()), ("language", pa.string()),
    ("source_type", pa.string()), ("text", pa.string()), ("n_chars", pa.int64()),
    ("text_sha256", pa.string()), ("license", pa.string()), ("license_name", pa.string()),
    ("license_url", pa.string()), ("license_evidence", pa.string()), ("consent", pa.string()),
    ("consent_evidence", pa.string()), ("cluster", pa.string()), ("parent_doc_id", pa.string()),
    ("fetched_at", TS), ("source_run_id", pa.string()),
])
MANIFEST_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("url", pa.string()), ("license", pa.string()), ("consent", pa.string()),
    ("evidence", pa.string()), ("cluster", pa.string()), ("domain", pa.string()), ("title", pa.string()),
    ("author", pa.string()), ("license_url", pa.string()), ("license_evidence", pa.string()),
    ("consent_evidence", pa.string()), ("source_type", pa.string()), ("parent_doc_id", pa.string()),
    ("n_chars", pa.int64()), ("text_sha256", pa.string()), ("fetched_at", TS), ("file", pa.string()),
])
CLEARED = "_export_cleared"
FILES = "_export_files"


class ExportError(InputError):
    """An export that cannot be made; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    export_id: str
    policy: str
    out_dir: Path
    n_documents: int
    n_chars: int
    n_attribution: int
    manifest_sha256: str
    root_sha256: str  # over the documents' (doc_id, text_sha256): see provenance.export.integrity
    files: dict[str, str]  # relative path -> sha256
    recorded: bool  # False when the same export was already recorded (nothing new in the ledger)


def export_policy(ledger: Ledger, policy: Policy, out_dir: Path, *, creator: str | None = None,
                  url: str | None = None, progress: Callable[[int], None] | None = None) -> ExportResult:
    """Export what ``policy`` clears into ``out_dir`` and record it in the ledger.

    ``url``: where the dataset will be published (an http(s) URL, written into croissant.json).
    """
    if url is not None and web_url(url) is None:
        raise ExportError(f"--url {url!r} is not an http(s) URL: give the address where the dataset "
                          f"will be published, e.g. https://huggingface.co/datasets/ORG/NAME")
    out_dir = Path(out_dir).expanduser().resolve()
    _check_target(ledger, out_dir)
    ensure_document_classes(ledger)  # the classes of the licenses documents carry
    with open_run(ledger, "export", {"policy": policy.spec(), "out": str(out_dir)}) as run:
        result = _export(ledger, policy, out_dir, run.run_id, creator, url, progress or (lambda n: None))
        run.note(documents=result.n_documents, characters=result.n_chars, export_id=result.export_id,
                 root_sha256=result.root_sha256)
    return result


def _check_target(ledger: Ledger, out: Path) -> None:
    if not ledger.workspace.exists():
        raise LedgerMissingError(f"there is no ledger in {ledger.workspace.root}: nothing to export. "
                                 f"Create one with `provenance import` or `provenance crawl`, or pass -w DIR.")
    check_directory(out, ledger.workspace)


def _export(ledger: Ledger, policy: Policy, out: Path, run_id: str, creator: str | None,
            url: str | None, progress: Callable[[int], None]) -> ExportResult:
    members = ledger.workspace.runs_dir / run_id / "export-members.parquet"
    members.parent.mkdir(parents=True, exist_ok=True)
    try:
        with staged_directory(out, ledger.workspace) as (tmp, publish):
            with ledger.snapshot() as view:
                made = _compute(view, policy, out, tmp, members, creator, url, progress)
            with ledger.writer() as writer, writer.transaction():
                recorded = _record(writer, made.export_id, policy, out, run_id, made.summary, made.files, members)
                publish()
    finally:
        members.unlink(missing_ok=True)
        try:
            members.parent.rmdir()
        except OSError:
            pass
    summary = made.summary
    return ExportResult(made.export_id, policy.name, out, summary.n_documents, summary.n_chars,
                        made.n_attribution, made.manifest_sha256, made.root_sha256, made.files, recorded)


@dataclass(frozen=True, slots=True)
class _Made:
    """What an export wrote (before it is recorded)."""

    export_id: str
    summary: ExportSummary
    files: dict[str, str]
    n_attribution: int
    manifest_sha256: str
    root_sha256: str


def _compute(view: LedgerView, policy: Policy, out: Path, tmp: Path, members: Path, creator: str | None,
             url: str | None, progress: Callable[[int], None]) -> _Made:
    """Write the export's files into ``tmp`` from one snapshot, and its members to ``members``."""
    relations = {r["name"] for r in view.query(
        "SELECT view_name AS name FROM duckdb_views() UNION SELECT table_name FROM duckdb_tables()"
    ).to_pylist()}
    sql = policy.cleared_sql(has_transcriptions="transcriptions" in relations, columns=(
        "d.doc_id, d.url, d.domain, d.source_type, d.fetched_at, d.run_id, d.title, d.author, "
        "d.published, d.language, d.n_chars, d.text_sha256, d.shard, d.license, d.license_name, "
        "d.license_url, d.license_evidence, d.license_attribution, d.consent, d.consent_evidence, "
        "d.dup_cluster, d.parent_doc_id"))
    view.con.execute(f"CREATE OR REPLACE TEMP TABLE {CLEARED} AS {sql}")
    files_of, arrow_bytes = _write_data(view, tmp, progress)
    view.con.register(FILES, files_of)
    try:
        root_sha = _write_manifest(view, tmp / "manifest.parquet")
        manifest_sha = sha256_file(tmp / "manifest.parquet")
        n_attr = attribution.write(view, CLEARED, tmp / "ATTRIBUTION.md", policy)
        summary = summarize(view, CLEARED, policy, n_attribution=n_attr, data_files=_data_files(tmp),
                            manifest_sha256=manifest_sha, root_sha256=root_sha, creator=creator, url=url,
                            arrow_bytes=arrow_bytes)
        _write_text(tmp / "croissant.json", croissant.render(summary))
        _write_text(tmp / "README.md", card.render(summary))
        files = write_marker(tmp, checksums(tmp), root_sha256=root_sha, n_documents=summary.n_documents)
        export_id = "exp-" + hashlib.sha256(f"{policy.sha256()}\x1f{manifest_sha}\x1f{out}".encode()).hexdigest()[:20]
        # the members, for the short write that records them (streamed: bounded memory)
        view.con.execute(f"""
            COPY (SELECT c.doc_id, c.url, c.domain, c.text_sha256, c.license, c.consent, c.dup_cluster, f.file
                  FROM {CLEARED} c JOIN {FILES} f USING (doc_id))
            TO '{_sql_path(members)}' (FORMAT parquet)""")
    finally:
        _unregister(view, FILES)
        view.con.execute(f"DROP TABLE IF EXISTS {CLEARED}")
    return _Made(export_id, summary, files, n_attr, manifest_sha, root_sha)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def _unregister(writer: LedgerView, name: str) -> None:
    try:
        writer.con.unregister(name)
    except duckdb.Error:  # an aborted transaction refuses it; the view dies with the connection
        pass


def _data_files(root: Path) -> list[tuple[str, str, int]]:
    """(relative path, sha256, bytes) of the data files, in name order."""
    return [(p.relative_to(root).as_posix(), sha256_file(p), p.stat().st_size)
            for p in sorted((root / "data").glob("*.parquet"))]


def _shard_list(writer: LedgerView) -> list[str]:
    shards = writer.query(f"SELECT DISTINCT shard FROM {CLEARED} ORDER BY shard").column("shard").to_pylist()
    missing = [s for s in shards if not writer.workspace.absolute(s).is_file()]
    if missing:
        n = writer.query(f"SELECT count(*) AS n FROM {CLEARED} WHERE shard IN "
                         f"({', '.join(_quote(s) for s in missing)})").column("n")[0].as_py()
        raise ExportError(
            f"the text of {n} cleared documents is in shards missing from the workspace "
            f"({', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}): restore the workspace's "
            f"shards/ directory (or re-import those documents), then export again")
    return shards


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _write_data(writer: LedgerView, root: Path, progress: Callable[[int], None]) -> tuple[pa.Table, int]:
    """Stream the cleared documents with their text into data files; returns doc_id -> file and the
    size of the rows in Arrow's memory format (Hugging Face's ``num_bytes``)."""
    (root / "data").mkdir()
    shards = _shard_list(writer)
    empty = pa.table({"doc_id": pa.array([], pa.string()), "file": pa.array([], pa.string())})
    if not shards:
        return empty, 0
    files_sql = "[" + ", ".join(_quote(s) for s in shards) + "]"
    sql = f"""
        SELECT c.doc_id AS id, c.url, c.domain, c.title, c.author, c.published, c.language, c.source_type,
               t.text, c.n_chars, c.text_sha256, c.license, c.license_name, c.license_url,
               c.license_evidence, c.consent, c.consent_evidence, c.dup_cluster AS cluster,
               c.parent_doc_id, c.fetched_at, c.run_id AS source_run_id,
               t.text IS NOT NULL AND t.actual_sha256 = c.text_sha256 AS _text_ok
        FROM {CLEARED} c
        LEFT JOIN (SELECT doc_id, text_sha256, text, sha256(text) AS actual_sha256
                   FROM read_parquet({files_sql}, union_by_name = true)) t
          ON t.doc_id = c.doc_id AND t.text_sha256 = c.text_sha256
        QUALIFY row_number() OVER (PARTITION BY c.doc_id ORDER BY _text_ok DESC, t.text IS NULL) = 1
        ORDER BY c.doc_id
    """
    ids: list[pa.Array] = []
    names: list[pa.Array] = []
    state: dict[str, Any] = {"index": -1, "writer": None, "rows": 0, "chars": 0, "bytes": 0}
    missing: list[str] = []  # doc_ids whose text is not in the shard the ledger names
    changed: list[str] = []  # doc_ids whose text no longer matches the ledger's text_sha256
    n_missing = n_changed = 0

    def new_file() -> None:
        if state["writer"] is not None:
            state["writer"].close()
        state["index"] += 1
        state["name"] = f"data/train-{state['index']:05d}.parquet"
        state["writer"] = parquet_writer(root / state["name"], DATA_SCHEMA)
        state["rows"] = state["chars"] = 0

    try:
        reader = writer.con.sql(sql).to_arrow_reader(ROW_GROUP_ROWS)
        for batch in reader:
            raw = pa.Table.from_batches([batch])
            bad = raw.filter(pc.invert(raw["_text_ok"]))
            if bad.num_rows or n_missing or n_changed:
                absent = bad.filter(pc.is_null(bad["text"]))["id"].to_pylist()
                differ = bad.filter(pc.is_valid(bad["text"]))["id"].to_pylist()
                n_missing, n_changed = n_missing + len(absent), n_changed + len(differ)
                missing += absent[:MISMATCH_SHOWN - len(missing)]
                changed += differ[:MISMATCH_SHOWN - len(changed)]
                progress(raw.num_rows)
                continue  # nothing more is written: the export will be refused
            table = raw.drop_columns(["_text_ok"]).cast(DATA_SCHEMA)
            start = 0
            chars = table["n_chars"].to_pylist()
            while start < table.num_rows:
                if state["writer"] is None or state["rows"] >= ROWS_PER_FILE or state["chars"] >= CHARS_PER_FILE:
                    new_file()
                end = start
                while end < table.num_rows and state["rows"] < ROWS_PER_FILE and state["chars"] < CHARS_PER_FILE:
                    state["chars"] += chars[end]
                    state["rows"] += 1
                    end += 1
                part = table.slice(start, end - start)
                state["writer"].write_table(part, row_group_size=ROW_GROUP_ROWS)
                state["bytes"] += part.nbytes
                ids.append(part["id"].combine_chunks())
                names.append(pa.array([state["name"]] * part.num_rows, pa.string()))
                start = end
            progress(table.num_rows)
    finally:
        if state["writer"] is not None:
            state["writer"].close()
    if n_changed:
        raise ExportError(
            f"the text of {n_changed} cleared document{'s' if n_changed > 1 else ''} no longer matches the "
            f"text_sha256 the ledger recorded ({_listing(changed, n_changed)}): a shard was changed after "
            f"the fact; nothing was exported. Run `provenance check`, restore the shards (or re-import "
            f"those documents), then export again.")
    if n_missing:
        raise ExportError(
            f"the text of {n_missing} cleared document{'s' if n_missing > 1 else ''} "
            f"({_listing(missing, n_missing)}) is not in the shard the ledger names for it: the "
            f"workspace's shards/ do not match its ledger. Restore them, then export again.")
    if not ids:
        return empty, 0
    return pa.table({"doc_id": pa.concat_arrays(ids), "file": pa.concat_arrays(names)}), state["bytes"]


def _listing(shown: list[str], total: int) -> str:
    more = total - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _write_manifest(writer: LedgerView, path: Path) -> str:
    """Write the manifest (sorted by doc_id); returns the root hash over its documents."""
    root = RootHash()
    reader = writer.con.sql(f"""
        SELECT c.doc_id, c.url, c.license, c.consent,
               concat_ws('; ', 'license: ' || coalesce(c.license_evidence, 'none found'),
                         'consent: ' || coalesce(nullif(c.consent_evidence, ''), c.consent)) AS evidence,
               c.dup_cluster AS cluster, c.domain, c.title, c.author, c.license_url, c.license_evidence,
               c.consent_evidence, c.source_type, c.parent_doc_id, c.n_chars, c.text_sha256,
               c.fetched_at, f.file
        FROM {CLEARED} c JOIN {FILES} f USING (doc_id)
        ORDER BY c.doc_id
    """).to_arrow_reader(ROW_GROUP_ROWS)
    with parquet_writer(path, MANIFEST_SCHEMA) as out:
        for batch in reader:
            table = pa.Table.from_batches([batch]).cast(MANIFEST_SCHEMA)
            root.update(table["doc_id"].to_pylist(), table["text_sha256"].to_pylist())
            out.write_table(table, row_group_size=ROW_GROUP_ROWS)
    return root.hexdigest()


def _record(writer: LedgerWriter, export_id: str, policy: Policy, out: Path, run_id: str,
            summary: ExportSummary, files: dict[str, str], members: Path) -> bool:
    """Record the export and its members; False when this very export was recorded before."""
    seen = writer.query("SELECT count(*) AS n FROM export_log WHERE export_id = ?", [export_id])
    if seen.column("n")[0].as_py():
        return False
    writer.execute(
        "INSERT INTO export_log (export_id, policy, policy_sha256, policy_spec, out_dir, created_at, run_id, "
        "n_documents, n_chars, n_attribution, manifest_sha256, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [export_id, policy.name, policy.sha256(), json.dumps(policy.spec(), sort_keys=True), str(out),
         utcnow(), run_id, summary.n_documents, summary.n_chars, summary.n_attribution,
         summary.manifest_sha256, json.dumps(files, sort_keys=True)])
    writer.execute(f"""
        INSERT INTO export_member_log (export_id, doc_id, url, domain, text_sha256, license, consent,
                                       dup_cluster, file, run_id)
        SELECT ?, doc_id, url, domain, text_sha256, license, consent, dup_cluster, file, ?
        FROM read_parquet('{_sql_path(members)}')
    """, [export_id, run_id])
    return True
