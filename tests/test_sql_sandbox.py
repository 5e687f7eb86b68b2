"""The read sandbox of `provenance sql` and `provenance.connect()` (docs/security.md).

Every statement of HOSTILE must fail, through the CLI and through connect(), WITHOUT EFFECT: the
ledger's and every shard's hash unchanged, no file created, changed or removed anywhere under the
test's root (the workspace, the current directory, a fake $HOME), the real home's ~/.duckdb
untouched. The cases were written for this project from DuckDB's documented statements
(duckdb.org/docs, MIT) and the routes found in issue 12.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import provenance
from provenance.sandbox import QueryError, judge
from tests.conftest import run_process, write_jsonl

# {shard}: a registered shard (absolute); {ws}: the workspace; {ledger}: its ledger file;
# {outside}: a Parquet file outside the workspace; {home}: the fake $HOME; {cwd}: the current directory
HOSTILE = [
    # writing files
    "COPY (SELECT 1) TO 'out.csv'",
    "COPY (SELECT 1 AS a) TO '{shard}' (FORMAT parquet, USE_TMP_FILE false)",
    "COPY (SELECT * FROM corpus) TO '{ws}/shards/import/new.parquet' (FORMAT parquet)",
    "COPY document_log TO '{cwd}/dump.parquet'",
    "EXPORT DATABASE '{cwd}/dump'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO 'out.csv'",
    "EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{shard}' (FORMAT parquet, USE_TMP_FILE false)",
    "EXPLAIN (ANALYZE, FORMAT json) COPY (SELECT 1) TO 'out.json'",
    "EXPLAIN /* SELECT 1 */ ANALYZE -- SELECT\n COPY (SELECT 1) TO 'out.csv'",
    "EXPLAIN ANALYZE INSERT INTO revocation_log SELECT * FROM revocation_log",
    "EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1",
    # other databases, extensions, settings, secrets
    "ATTACH '{cwd}/other.duckdb' AS other",
    "ATTACH '{ledger}' AS again",
    "DETACH ledger",
    "USE memory",
    "INSTALL httpfs",
    "FORCE INSTALL json",
    "LOAD httpfs",
    "LOAD '{cwd}/evil.duckdb_extension'",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "RESET allowed_paths",
    "SET VARIABLE x = 1",
    "PRAGMA enable_profiling = 'json'",
    "PRAGMA profile_output = '{cwd}/profile.json'",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    # reading outside the workspace's shards
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_blob('{root}/d.jsonl')",
    "SELECT * FROM read_text('{ws}/../d.jsonl')",
    "SELECT * FROM read_parquet('{outside}')",
    "SELECT * FROM '{outside}'",
    "SELECT * FROM read_json_auto('{home}/notes.json')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM glob('{ws}/**')",
    "SELECT * FROM ledger.corpus",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM query('COPY (SELECT 1) TO ''out.csv''')",
    # changing the ledger
    "CREATE TABLE t AS SELECT 1",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE VIEW v AS SELECT 1",
    "CREATE OR REPLACE VIEW documents AS SELECT 1",
    "CREATE MACRO m(x) AS x + 1",
    "INSERT INTO revocation_log SELECT * FROM revocation_log",
    "UPDATE document_log SET title = 'x'",
    "DELETE FROM document_log",
    "DROP VIEW documents",
    "ALTER TABLE document_log ADD COLUMN x INTEGER",
    "COPY document_log FROM '/etc/passwd'",
    "CHECKPOINT",
    "CALL checkpoint()",
    "CALL force_checkpoint()",
    "VACUUM",
    "BEGIN TRANSACTION",
    "PIVOT documents ON domain",
    # several statements, statements hidden by comments
    "SELECT 1; COPY (SELECT 1) TO 'out.csv'",
    "SELECT 1; -- harmless\nATTACH '{cwd}/x.duckdb' AS x",
    "SELECT 1 /* ; */ ; INSTALL httpfs",
    "/* SELECT */ COPY (SELECT 1) TO 'out.csv'",
    "-- SELECT 1\nLOAD httpfs",
    "",
    "   -- only a comment",
]

VALID = [
    ("SELECT count(*) AS n FROM corpus", [{"n": 6}]),
    ("SELECT count(*) AS n FROM documents d JOIN corpus c USING (doc_id, text_sha256)", [{"n": 6}]),
    ("FROM documents SELECT count(DISTINCT domain) AS n", [{"n": 3}]),
    ("WITH x AS (SELECT doc_id FROM documents) SELECT count(*) AS n FROM x", [{"n": 6}]),
    ("SELECT count(*) AS n FROM read_parquet('{shard}')", [{"n": 6}]),
    ("VALUES (1)", [{"col0": 1}]),
]


def _tree(*roots: Path) -> dict[str, str]:
    """Every file under the roots with its sha256 (and every directory, as 'dir')."""
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_dir():
                found[str(path)] = "dir"
            else:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox")
    ws, cwd, home = root / "ws", root / "cwd", root / "home"
    cwd.mkdir()
    home.mkdir()
    (home / "notes.json").write_text(json.dumps({"secret": 1}))
    rows = [{"url": f"https://site{i % 3}.example/{i}", "text": f"text {i}"} for i in range(6)]
    data = write_jsonl(root / "d.jsonl", rows)
    result = run_process("-w", str(ws), "import", str(data))
    assert result.code == 0, result.err
    outside = root / "outside.parquet"
    pq.write_table(pa.table({"secret": ["outside"]}), outside)
    con = duckdb.connect(str(ws / "ledger.duckdb"), read_only=True)
    shard = ws / con.execute("SELECT min(shard) FROM shard_log").fetchone()[0]
    con.close()
    return {"root": root, "ws": ws, "cwd": cwd, "home": home, "shard": shard, "outside": outside,
            "ledger": ws / "ledger.duckdb"}


@pytest.fixture
def env(place, monkeypatch):
    monkeypatch.chdir(place["cwd"])
    monkeypatch.setenv("HOME", str(place["home"]))
    return place


def _fill(statement: str, place: dict) -> str:
    return statement.format(**{k: str(v) for k, v in place.items()})


def _real_duckdb_home() -> dict[str, str]:
    real = Path(os.path.expanduser("~")) / ".duckdb"
    return _tree(real) if real.exists() else {}


REAL_HOME = _real_duckdb_home()


@pytest.mark.parametrize("statement", HOSTILE)
def test_hostile_statement_fails_without_effect(cli, env, statement):
    sql = _fill(statement, env)
    before = _tree(env["root"])
    result = cli("-w", str(env["ws"]), "sql", "--", sql)
    assert result.code != 0
    assert result.out == ""
    message = result.err.strip()
    assert message.startswith("Error: ") and "\n" not in message and "Traceback" not in message
    assert _tree(env["root"]) == before

    with provenance.connect(env["ws"]) as con, pytest.raises((QueryError, duckdb.Error)):
        con.execute(sql).fetchall()
    assert _tree(env["root"]) == before
    assert _real_duckdb_home() == REAL_HOME


def test_the_table_is_large_enough():
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize("statement", [
    "COPY (SELECT 1 AS a) TO '{shard}' (FORMAT parquet, USE_TMP_FILE false)",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO 'out.csv'",
    "LOAD httpfs",
])
def test_hostile_statement_as_a_real_process(env, statement):
    before = _tree(env["root"])
    result = run_process("-w", str(env["ws"]), "sql", _fill(statement, env), cwd=env["cwd"],
                         env={"HOME": str(env["home"])})
    assert result.code == 1 and "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    assert _tree(env["root"]) == before


@pytest.mark.parametrize(("statement", "expected"), VALID)
def test_reading_still_works(cli, env, statement, expected):
    sql = _fill(statement, env)
    result = cli("-w", str(env["ws"]), "sql", sql, "--format", "json")
    assert result.code == 0, result.err
    assert result.json() == expected
    with provenance.connect(env["ws"]) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        assert [dict(zip(names, row)) for row in cursor.fetchall()] == expected


@pytest.mark.parametrize("statement", ["EXPLAIN SELECT count(*) FROM corpus",
                                       "EXPLAIN ANALYZE SELECT count(*) FROM documents",
                                       "EXPLAIN (FORMAT json) SELECT 1",
                                       "EXPLAIN (SELECT 1) UNION ALL (SELECT 2)"])
def test_explain_of_a_select_works(cli, env, statement):
    result = cli("-w", str(env["ws"]), "sql", statement, "--format", "json")
    assert result.code == 0, result.err
    assert result.json()[0]["explain_key"] in ("physical_plan", "analyzed_plan")
    with provenance.connect(env["ws"]) as con:
        assert con.execute(statement).fetchall()


def test_explain_is_judged_by_what_it_wraps():
    judge("EXPLAIN ANALYZE SELECT 1")
    judge("EXPLAIN (ANALYZE, FORMAT json) (SELECT 1)")
    for wrapped in ("COPY (SELECT 1) TO 'x.csv'", "CREATE TABLE t AS SELECT 1", "DELETE FROM t",
                    "INSERT INTO t VALUES (1)"):
        for prefix in ("EXPLAIN ", "EXPLAIN ANALYZE ", "EXPLAIN (ANALYZE, FORMAT json) ",
                       "EXPLAIN /* (SELECT 1) */ ANALYZE "):
            with pytest.raises(QueryError, match="refused"):
                judge(prefix + wrapped)


def test_connect_hands_out_no_raw_connection(env):
    with provenance.connect(env["ws"]) as con:
        with pytest.raises(AttributeError):
            con.install_extension("httpfs")
        with pytest.raises(AttributeError):
            con.load_extension("httpfs")
        cursor = con.cursor()
        with pytest.raises(QueryError):
            cursor.execute("COPY (SELECT 1) TO 'out.csv'")
        assert con.table("documents").count("*").fetchall()[0][0] == 6


def test_audit_runs_in_the_sandbox(cli, env, tmp_path):
    out = tmp_path / "audit.json"
    result = cli("-w", str(env["ws"]), "audit", "--out", str(out))
    assert result.code == 0, result.err
    assert json.loads(out.read_text())


@pytest.mark.parametrize("option", [("--max-rows", "-5"), ("--timeout", "-1"), ("--max-rows", "many")])
def test_bad_limits_are_one_line_errors(env, option):
    result = run_process("-w", str(env["ws"]), "sql", "SELECT 1", *option)
    assert result.code == 2 and "Traceback" not in result.err
    assert option[0] in result.err


def test_a_missing_shard_is_named_not_dropped(tmp_path, cli):
    ws = tmp_path / "ws"
    rows = [{"url": f"https://a.example/{i}", "text": f"text {i}"} for i in range(3)]
    assert cli("-w", str(ws), "import", str(write_jsonl(tmp_path / "d.jsonl", rows))).code == 0
    shard = next((ws / "shards").rglob("*-00000-*.parquet"))
    shard.rename(tmp_path / "moved.parquet")
    result = cli("-w", str(ws), "sql", "SELECT count(*) FROM corpus")
    assert result.code == 1
    assert shard.relative_to(ws).as_posix() in result.err and "missing" in result.err
    assert cli("-w", str(ws), "sql", "SELECT count(*) AS n FROM documents", "--format", "json").json() == [{"n": 3}]
    with provenance.connect(ws) as con, pytest.raises(duckdb.Error, match="missing"):
        con.execute("SELECT * FROM corpus LIMIT 1").fetchall()


def test_a_query_that_is_not_utf8_is_a_one_line_error(env):
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "provenance"
    proc = subprocess.run([str(exe), "-w", str(env["ws"]), "sql", "-"], input=b"SELECT '\xff\xfe'",
                          capture_output=True, cwd=env["cwd"])
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr
    assert b"not valid UTF-8" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
