"""A writer killed with SIGKILL mid-write never leaves the ledger unreadable or a half-written
shard referenced, and re-running completes with the same result as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provenance.ledger import Ledger
from provenance.workspace import Workspace

N_ROWS = 120_000


def make_corpus(path: Path) -> Path:
    with open(path, "w") as fh:
        for i in range(N_ROWS):
            fh.write(json.dumps({"url": f"https://kill.example/{i}", "text": f"text of document {i} " * 8,
                                 "license": "CC-BY-4.0" if i % 3 else None}) + "\n")
    return path


def import_process(ws: Path, data: Path) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "provenance"
    return subprocess.Popen([str(exe), "-w", str(ws), "import", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def state(ws: Path) -> dict:
    ledger = Ledger(Workspace(ws))
    docs = ledger.query("SELECT count(*) AS n, count(DISTINCT doc_id) AS ids, sum(n_chars) AS chars FROM documents").to_pylist()[0]
    texts = ledger.query("SELECT count(*) AS n FROM corpus c JOIN documents d USING (doc_id, text_sha256)").to_pylist()[0]
    return {**docs, "texts": texts["n"]}


@pytest.fixture(scope="module")
def corpus_and_reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kill")
    data = make_corpus(tmp / "data.jsonl")
    reference = tmp / "reference"
    assert import_process(reference, data).wait(timeout=300) == 0
    expected = state(reference)
    assert expected["n"] == N_ROWS == expected["texts"]
    return data, expected


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.8, 2.2])
def test_import_killed_mid_write_then_rerun_equals_uninterrupted(tmp_path, corpus_and_reference, delay):
    data, expected = corpus_and_reference

    ws = tmp_path / "killed"
    proc = import_process(ws, data)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    # the ledger opens and reads (DuckDB's WAL replays); nothing half-written is referenced
    if (ws / "ledger.duckdb").exists():
        partial = state(ws)
        assert partial["n"] in (0, N_ROWS)  # one transaction per file: all or nothing
        assert partial["texts"] == partial["n"]
    # the re-run completes with exactly the uninterrupted result
    assert import_process(ws, data).wait(timeout=300) == 0
    assert state(ws) == expected
    referenced = {r["shard"] for r in Ledger(Workspace(ws)).query("SELECT shard FROM shard_log").to_pylist()}
    on_disk = {p.relative_to(ws).as_posix() for p in (ws / "shards").rglob("*.parquet")} - {"shards/_empty.parquet"}
    assert on_disk == referenced


def test_a_writer_killed_after_commit_leaves_a_wal_that_replays(tmp_path):
    ws = tmp_path / "ws"
    code = f"""
import os, signal, sys
from provenance.ids import doc_id_for_url, text_sha256
from provenance.ledger import Ledger
from provenance.records import Document
from provenance.store import DocumentStore, PendingDocument
from provenance.ids import utcnow
ledger = Ledger({str(ws)!r})
with ledger.writer() as w:
    w.execute("CHECKPOINT")
    run = w.start_run("wal-test")
    docs = [PendingDocument(Document(doc_id=doc_id_for_url(f"https://wal.example/{{i}}"), url=f"https://wal.example/{{i}}",
            domain="wal.example", source_type="web", fetched_at=utcnow(), text_sha256=text_sha256(f"t{{i}}"),
            n_chars=2, shard=""), f"t{{i}}") for i in range(100)]
    DocumentStore(w, run.run_id, "web").write_batch(docs)  # committed, not yet checkpointed
    print(os.path.exists({str(ws / "ledger.duckdb.wal")!r}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert proc.stdout.strip() == "True"  # the commit lives only in the write-ahead log
    assert (ws / "ledger.duckdb.wal").exists()
    ledger = Ledger(Workspace(ws))
    assert ledger.query("SELECT count(*) AS n FROM documents").to_pylist() == [{"n": 100}]
    assert ledger.query("SELECT count(*) AS n FROM corpus").to_pylist() == [{"n": 100}]
