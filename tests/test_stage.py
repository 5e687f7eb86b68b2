"""The stage contract (provenance/stage.py) and the one progress display, on a real ledger."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from provenance.ids import utcnow
from provenance.ledger import Ledger
from provenance.progress import Progress, quiet
from provenance.records import FetchRecord
from provenance.stage import REJECT_BATCH, open_run


def _run_row(ledger: Ledger, run_id: str) -> dict:
    row = ledger.query("SELECT status, counts, finished_at, config FROM run_log WHERE run_id = ?", [run_id]).to_pylist()
    assert len(row) == 1
    return row[0]


def test_a_run_that_completes_is_finished_with_its_counts_and_config(workspace):
    ledger = Ledger(workspace)
    with open_run(ledger, "import", {"files": ["a.jsonl"]}) as run:
        run.count("rows", 3)
        run.count("rows", 2)
        run.note(rate=1.5)
        assert _run_row(ledger, run.run_id)["status"] == "running"  # visible to readers while it runs
    row = _run_row(ledger, run.run_id)
    assert row["status"] == "finished" and row["finished_at"] is not None
    assert json.loads(row["counts"]) == {"rows": 5, "rate": 1.5}
    assert json.loads(row["config"]) == {"files": ["a.jsonl"]}


def test_an_exception_marks_the_run_failed_and_propagates(workspace):
    ledger = Ledger(workspace)
    with pytest.raises(RuntimeError, match="boom"):
        with open_run(ledger, "dedup") as run:
            run.count("documents", 7)
            raise RuntimeError("boom")
    row = _run_row(ledger, run.run_id)
    assert row["status"] == "failed" and json.loads(row["counts"]) == {"documents": 7}


def test_ctrl_c_marks_the_run_stopped(workspace):
    ledger = Ledger(workspace)
    with pytest.raises(KeyboardInterrupt):
        with open_run(ledger, "transcribe") as run:
            raise KeyboardInterrupt
    row = _run_row(ledger, run.run_id)
    assert row["status"] == "stopped"
    assert json.loads(row["counts"])["reason"] == "interrupted by the user"


def test_fail_and_stop_end_a_run_that_completes(workspace):
    ledger = Ledger(workspace)
    with open_run(ledger, "import") as failed:
        failed.fail("2 of 3 files were not imported")
    with open_run(ledger, "crawl") as stopped:
        stopped.stop("page budget reached")
    assert _run_row(ledger, failed.run_id)["status"] == "failed"
    assert json.loads(_run_row(ledger, failed.run_id)["counts"])["reason"] == "2 of 3 files were not imported"
    assert _run_row(ledger, stopped.run_id)["status"] == "stopped"


def test_rejections_are_data_in_fetches_even_when_the_stage_fails(workspace):
    ledger = Ledger(workspace)
    n = REJECT_BATCH + 5  # one batch written while running, the rest at the end
    with pytest.raises(ValueError):
        with open_run(ledger, "import") as run:
            for i in range(n):
                run.reject(FetchRecord(f"https://example.org/{i}", "skipped", utcnow(), reason="not text"))
            rows_while_running = ledger.query("SELECT count(*) AS n FROM fetches WHERE run_id = ?",
                                              [run.run_id]).to_pylist()[0]["n"]
            raise ValueError("a bad row")
    assert rows_while_running == REJECT_BATCH
    rows = ledger.query("SELECT url, outcome, reason FROM fetches WHERE run_id = ? ORDER BY url",
                        [run.run_id]).to_pylist()
    assert len(rows) == n
    assert {(r["outcome"], r["reason"]) for r in rows} == {("skipped", "not text")}
    assert json.loads(_run_row(ledger, run.run_id)["counts"])["rejected"] == n


def _writer_in_another_process(workspace) -> subprocess.CompletedProcess:
    code = ("import sys; from pathlib import Path; from provenance.workspace import Workspace; "
            "from provenance.ledger import Ledger; "
            "w = Ledger(Workspace(Path(sys.argv[1])), lock_wait_s=3).writer().__enter__(); print('in')")
    return subprocess.run([sys.executable, "-c", code, str(workspace.root)], capture_output=True, text=True,
                          timeout=120)


def test_the_run_never_holds_the_writer_while_the_stage_works(workspace):
    ledger = Ledger(workspace)
    with open_run(ledger, "import") as run:
        other = _writer_in_another_process(workspace)  # another process writes in between
        assert other.returncode == 0 and other.stdout.strip() == "in", other.stderr
        with ledger.writer():  # the check above can fail: not while a writer is held
            held = _writer_in_another_process(workspace)
        assert held.returncode != 0 and "lock" in held.stderr.lower()
        run.count("rows")
    assert _run_row(ledger, run.run_id)["status"] == "finished"


def test_progress_counts_and_logs_without_a_terminal(capsys):
    with Progress("import x", "rows", enabled=False) as progress:
        progress.advance(3)
        progress.update(completed=10, total=20)
        progress.log("x.parquet: 10 rows")
    assert progress.completed == 10 and progress.total == 20
    assert capsys.readouterr().err == "x.parquet: 10 rows\n"
    with quiet() as silent:
        silent.log("nobody hears this")
    assert capsys.readouterr().err == ""


def test_progress_refuses_a_field_it_did_not_declare():
    with Progress("transcribe", "files", fields=("audio",), enabled=True) as progress:
        progress.update(audio="1.0 min")
        with pytest.raises(ValueError, match="rate"):
            progress.update(rate="RTF 0.1")


def test_every_command_that_does_work_is_a_recorded_run_with_its_counts(cli, workspace, tmp_path):
    from tests.conftest import write_jsonl

    data = write_jsonl(tmp_path / "a.jsonl", [{"url": f"https://example.org/{i}", "text": f"text number {i}",
                                                "license": "CC-BY-4.0"} for i in range(4)])
    ws = str(workspace.root)
    assert cli("-w", ws, "import", str(data)).code == 0
    assert cli("-w", ws, "dedup").code == 0
    assert cli("-w", ws, "revoke", "--url", "https://example.org/1", "--reason", "owner asked").code == 0
    report = tmp_path / "audit.md"
    assert cli("-w", ws, "audit", "--out", str(report)).code == 0
    runs = Ledger(workspace).query("SELECT command, status, counts FROM run_log ORDER BY started_at").to_pylist()
    assert [(r["command"], r["status"]) for r in runs] == [
        ("import", "finished"), ("dedup", "finished"), ("revoke", "finished"), ("audit", "finished")]
    audit = json.loads(runs[-1]["counts"])
    assert audit["documents"] == 4 and audit["report"] == str(report.resolve())
    assert json.loads(runs[2]["counts"])["documents"] == 1


def test_an_audit_of_a_workspace_without_a_ledger_records_nothing(cli, workspace):
    result = cli("-w", str(workspace.root), "audit")
    assert result.code == 1 and "no ledger" in result.err
    assert not workspace.ledger_path.exists()


@pytest.mark.parametrize("value", ["granted", "unspecified", "opted_out", "yes", "", None])
def test_the_consent_order_reads_the_same_in_python_and_in_sql(value):
    import duckdb

    from provenance.records import CONSENT_ORDER, consent_of_rank_sql, consent_rank, consent_rank_sql

    con = duckdb.connect()
    rank = con.execute(f"SELECT {consent_rank_sql('$v')} AS r", {"v": value}).fetchone()[0]
    assert rank == consent_rank(value)
    back = con.execute(f"SELECT {consent_of_rank_sql('$r')}", {"r": rank}).fetchone()[0]
    assert back == (value if value in CONSENT_ORDER else "opted_out")


def _domain_file_rows(run_id: str, url: str):
    from crawl.domainfiles import DomainFile
    from crawl.sink import domain_files_table

    return domain_files_table([DomainFile("https://example.org", "robots.txt", url, "ok",
                                          utcnow().replace(tzinfo=None), status=200)], run_id)


def test_one_batch_is_one_write_of_documents_rows_and_stage_tables(workspace):
    from provenance.store import Batch, DocumentStore, UniqueRows
    from tests.test_ledger import pending

    ledger = Ledger(workspace)
    run = ledger.start_run("crawl")
    robots = "https://example.org/robots.txt"
    batch = Batch(docs=[pending("https://example.org/a", "alpha text")],
                  fetches=[FetchRecord("https://example.org/b.pdf", "not_text", utcnow(), reason="application/pdf")],
                  unique=[UniqueRows("domain_file_log", _domain_file_rows(run.run_id, robots), ("run_id", "url"))])
    assert batch.size() == 3 and batch
    again = Batch()
    again.extend(batch)  # what a failed write merges back
    assert again.size() == 3
    with ledger.writer() as writer:
        assert DocumentStore(writer, run.run_id, "web").write(batch).documents == 1
        DocumentStore(writer, run.run_id, "web").write(again)  # the same again: nothing new
    counts = ledger.query("""SELECT (SELECT count(*) FROM documents) AS docs,
                                    (SELECT count(*) FROM fetches WHERE outcome = 'not_text') AS fetches,
                                    (SELECT count(*) FROM domain_files) AS files""").to_pylist()[0]
    assert counts == {"docs": 1, "fetches": 1, "files": 1}
    batch.clear()
    assert not batch and batch.size() == 0


def test_a_batch_the_ledger_refuses_stores_nothing_of_it(workspace):
    import pyarrow as pa

    from provenance.store import Batch, DocumentStore
    from tests.test_ledger import pending

    ledger = Ledger(workspace)
    run = ledger.start_run("transcribe")
    batch = Batch(docs=[pending("https://example.org/a", "alpha text")],
                  tables=[("segment_log", pa.table({"no_such_column": [1]}))])
    with ledger.writer() as writer, pytest.raises(Exception, match="no_such_column|column"):
        DocumentStore(writer, run.run_id, "web").write(batch)
    assert ledger.query("SELECT count(*) AS n FROM documents").to_pylist() == [{"n": 0}]
    assert not list((workspace.root / "shards").rglob("web/**/*.parquet"))  # the text shard was discarded
