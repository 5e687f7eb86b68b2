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
