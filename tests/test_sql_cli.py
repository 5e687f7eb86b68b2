"""`provenance sql`: read-only, formats, parameters, stdin, errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import run_process, write_jsonl


@pytest.fixture
def filled(cli, workspace, tmp_path):
    rows = [{"url": f"https://site{i % 3}.example/{i}", "text": f"text {i}", "license": "CC0-1.0" if i % 2 else None}
            for i in range(10)]
    assert cli("-w", str(workspace.root), "import", str(write_jsonl(tmp_path / "d.jsonl", rows))).code == 0
    return workspace


QUERY = "SELECT domain, count(*) AS n FROM documents GROUP BY domain ORDER BY domain"


def test_json_is_one_array_of_objects_and_nothing_else(cli, filled):
    result = cli("-w", str(filled.root), "sql", QUERY, "--format", "json")
    assert result.code == 0
    assert json.loads(result.out) == [{"domain": "site0.example", "n": 4}, {"domain": "site1.example", "n": 3},
                                      {"domain": "site2.example", "n": 3}]


def test_csv_and_table(cli, filled):
    out = cli("-w", str(filled.root), "sql", QUERY, "--format", "csv").out
    assert list(csv.reader(io.StringIO(out))) == [["domain", "n"], ["site0.example", "4"], ["site1.example", "3"], ["site2.example", "3"]]
    table = cli("-w", str(filled.root), "sql", QUERY)
    assert "| site0.example | 4 |" in table.out and "(3 rows)" in table.err


def test_parameters_and_stdin(cli, filled):
    result = cli("-w", str(filled.root), "sql", "SELECT count(*) AS n FROM documents WHERE domain = $d",
                 "-p", "d", "site1.example", "--format", "json")
    assert result.json() == [{"n": 3}]
    result = cli("-w", str(filled.root), "sql", "-", "--format", "json", stdin="SELECT count(*) AS n FROM corpus")
    assert result.json() == [{"n": 10}]


@pytest.mark.parametrize("statement", [
    "DROP TABLE document_log",
    "DELETE FROM document_log",
    "INSERT INTO revocation_log VALUES ('x','url','u','r',NULL,now(),'r')",
    "ATTACH '/tmp/other.duckdb' AS other",
    "COPY (SELECT 1) TO '/tmp/out.csv'",
    "CREATE TABLE t AS SELECT 1",
    "SET enable_external_access = true",
    "SELECT 1; DROP TABLE document_log",
])
def test_statements_that_write_are_refused(cli, filled, statement):
    result = cli("-w", str(filled.root), "sql", statement)
    assert result.code == 1
    assert "refused" in result.err or "one statement per call" in result.err
    assert cli("-w", str(filled.root), "sql", "SELECT count(*) AS n FROM document_log", "--format", "json").json() == [{"n": 10}]


def test_sql_errors_exit_non_zero_with_duckdbs_message(cli, filled):
    result = cli("-w", str(filled.root), "sql", "SELECT no_such_column FROM documents")
    assert result.code == 1 and "no_such_column" in result.err and result.out == ""


def test_missing_workspace_says_what_to_do(cli, tmp_path):
    result = cli("-w", str(tmp_path / "none"), "sql", "SELECT 1")
    assert result.code == 1 and "no ledger" in result.err and "provenance import" in result.err


def test_console_script_and_environment_workspace(filled):
    result = run_process("sql", "SELECT count(*) AS n FROM documents", "--format", "json",
                         env={"PROVENANCE_WORKSPACE": str(filled.root)})
    assert result.code == 0, result.err
    assert json.loads(result.out) == [{"n": 10}]


def test_help_is_instant_and_lists_every_command():
    import subprocess
    import sys

    code = ("import sys, provenance.cli as c; c.main(['--help'])")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    assert "Usage: provenance" in proc.stdout
    heavy = {"duckdb", "scrapy", "trafilatura", "faster_whisper", "datasketch", "pyarrow", "ctranslate2"}
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert not (heavy & imported), f"--help imported {heavy & imported}"
