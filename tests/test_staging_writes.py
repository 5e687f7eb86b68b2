"""A staged batch's files are written by a thread of the Stager's own: what it writes is what the
commit stores, and a write that fails stops the stage with nothing stored and nothing left behind."""

from __future__ import annotations

import duckdb
import pytest

from provenance.ledger import Ledger
from provenance.staging import MAX_WRITING, Stager
from tests.test_staging_known import BATCH, _batch, _shard_texts


def _documents(ws) -> int:
    con = duckdb.connect(str(ws / "ledger.duckdb"), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM documents").fetchall()[0][0]
    finally:
        con.close()


def test_batches_written_in_the_background_are_all_committed(tmp_path):
    ledger = Ledger(tmp_path / "ws")
    run = ledger.start_run("test-writes")
    n = MAX_WRITING + 3  # more batches than may be in writing at once
    with Stager(ledger, run.run_id, "import", commit_rows=BATCH) as stager:
        for k in range(n):
            b = _batch(k)
            stager.add(b["documents"], b["texts"], signals=b["signals"], licenses=b["licenses"])
        assert len(stager) == n
        totals = stager.commit()
    ledger.finish_run(run, {})
    assert totals.documents == totals.documents_new == n * BATCH
    assert _documents(tmp_path / "ws") == n * BATCH
    assert len(_shard_texts(tmp_path / "ws")) == n * BATCH  # every text in a published shard
    assert not (ledger.workspace.runs_dir / run.run_id / "staging").exists()


def test_a_failed_background_write_stops_the_stage_with_nothing_stored(tmp_path):
    ledger = Ledger(tmp_path / "ws")
    run = ledger.start_run("test-writes")
    # the shards of this source type cannot be written: their folder's name is taken by a file
    ledger.workspace.shards_dir.mkdir(parents=True, exist_ok=True)
    (ledger.workspace.shards_dir / "blocked").write_text("not a folder")
    with pytest.raises(OSError):
        with Stager(ledger, run.run_id, "blocked", commit_rows=BATCH) as stager:
            for k in range(MAX_WRITING + 2):
                b = _batch(k)
                stager.add(b["documents"], b["texts"], signals=b["signals"], licenses=b["licenses"])
            stager.commit()
    assert _documents(tmp_path / "ws") == 0
    assert not (ledger.workspace.runs_dir / run.run_id / "staging").exists()
    assert not [p for p in ledger.workspace.shards_dir.rglob("*") if run.run_id in p.name]  # no shard, no .tmp
